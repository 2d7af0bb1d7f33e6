import {Flags} from '@oclif/core'

import {AuditCommand, UserError} from '../cli/base.js'
import {print} from '../cli/output.js'
import type {Config} from '../config/schema.js'
import {WriterThread} from '../proxy/event-sink.js'
import {listValues, proxyOptions} from '../proxy/options.js'
import {FORWARD_FORMATS} from '../transport/forward.js'
import {AuditProxy} from '../proxy/server.js'

export default class ProxyCommand extends AuditCommand {
  static override summary = 'Audit proxy in front of an Ollama server: one audit trail entry per request'
  static override description =
    `A reverse proxy for the whole Ollama HTTP API that records every request in the audit log: api.request (method, path, model, client IP, user agent, request id, prompt size and sha256 — the prompt text only with --log-prompts), then api.response (status, duration, time to first byte, token counts, done_reason, bytes) or api.error (upstream unreachable: 502; client gone; timeout: 504). Streams pass through chunk by chunk. Optional bearer tokens (--tokens; auth.token.use or auth.fail and 401), a per-client rate limit (429) and a model allow-list (403). The token file is read again on SIGHUP. --forward also sends every event to a syslog server (after it is in the file; a dead server never holds the proxy up). Events wait for the disk in a bounded buffer: when it is full (a stalled disk, a lock held elsewhere) new requests get 503 rather than go unaudited. SIGTERM or SIGINT: stop accepting, let in-flight requests finish (--shutdown-grace), write every event, exit 0. Prints "listening on HOST:PORT" on stdout once ready.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --listen 127.0.0.1:11435 --upstream http://127.0.0.1:11434',
    '<%= config.bin %> <%= command.id %> --tokens proxy.tokens --rate-limit 60/m --allow-models "llama3*"',
  ]

  static override flags = {
    listen: Flags.string({description: 'address to listen on, HOST:PORT (default: config proxy.listen, 127.0.0.1:11435)'}),
    upstream: Flags.string({description: 'the Ollama server (default: config proxy.upstream, else ollama.host / $OLLAMA_HOST)'}),
    tokens: Flags.string({
      description: 'file of named bearer tokens, "NAME TOKEN" per line; required on every request, reloaded on SIGHUP',
    }),
    'rate-limit': Flags.string({description: 'requests per client (token name, else IP), e.g. 60/m, 5/s, 1000/h; over it: 429'}),
    'allow-models': Flags.string({
      multiple: true,
      description: 'models clients may use, names or globs, comma-separated or repeated; others: 403',
    }),
    'trust-proxy': Flags.string({
      multiple: true,
      description: 'reverse proxy address or CIDR whose X-Forwarded-For is believed (repeatable)',
    }),
    'log-prompts': Flags.boolean({description: 'also record the prompt text (up to 64 KiB) in api.request; prompts may hold secrets'}),
    'max-body': Flags.integer({description: 'largest request body in MiB (default 16); over it: 413', min: 1}),
    timeout: Flags.integer({description: "seconds to wait for Ollama's next byte (default 300); then 504 or a cut stream", min: 1}),
    'shutdown-grace': Flags.integer({description: 'seconds in-flight requests get to finish on SIGTERM (default 10)', min: 0}),
    'event-buffer': Flags.integer({description: 'events that may wait for the disk before requests get 503 (default 10000)', min: 16}),
    forward: Flags.string({
      description:
        'also send every event to a syslog server, fire-and-forget once it is in the file: udp://HOST[:514], tcp://HOST[:514][?framing=octet-counting], tls://HOST[:6514] (default: config syslog)',
      helpGroup: 'FORWARD',
    }),
    'forward-format': Flags.option({
      description: 'what --forward sends: rfc5424, rfc3164 or syslog (default: config syslog.format, rfc5424)',
      options: FORWARD_FORMATS,
      helpGroup: 'FORWARD',
    })(),
    facility: Flags.string({
      description: 'syslog facility for --forward: local0 … local7, user, auth, … or 0-23 (default: config syslog.facility, local0)',
      helpGroup: 'FORWARD',
    }),
  }

  async run(): Promise<ProxyAnswer> {
    const {flags} = await this.parse(ProxyCommand)
    const overrides: Partial<Config['proxy']> = {
      listen: flags.listen,
      upstream: flags.upstream,
      tokens: flags.tokens,
      rate_limit: flags['rate-limit'],
      allow_models: flags['allow-models'] && listValues(flags['allow-models']),
      trust_proxy: flags['trust-proxy'] && listValues(flags['trust-proxy']),
      log_prompts: flags['log-prompts'] || undefined,
      max_body_mb: flags['max-body'],
      timeout_s: flags.timeout,
      shutdown_grace_s: flags['shutdown-grace'],
      event_buffer: flags['event-buffer'],
    }
    if (flags.forward && !/^(udp|tcp|tls):\/\/[^/]/.test(flags.forward))
      throw new UserError(`--forward "${flags.forward}": expected udp://HOST[:514], tcp://HOST[:514] or tls://HOST[:6514]`)
    const syslog = {url: flags.forward, format: flags['forward-format'], facility: flags.facility}
    const config = this.settings(flags, {proxy: overrides, syslog})
    const warn = (line: string) => this.warnLine(line)
    const options = proxyOptions(config.proxy, config.ollama.host, warn)

    let proxy: AuditProxy | undefined
    const sink = await WriterThread.open(config.dir, config, (message) => warn(`audit proxy: warning: ${message}`))
    try {
      proxy = await AuditProxy.start(sink, options)
    } catch (error) {
      await sink.close()
      throw error
    }
    const address = proxy.address // asked now: a stopped server has none
    print(`audit proxy: listening on ${address}, forwarding to ${options.upstream.origin}${options.upstream.pathname.replace(/\/$/, '')}\n`)
    process.on('SIGHUP', () => proxy!.reloadTokens())
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'))
      process.once('SIGINT', () => resolve('SIGINT'))
    })
    // stop() closes the listening socket before its first await: the line means no new connection is taken.
    const stopped = proxy.stop(signal)
    print(`audit proxy: ${signal}: not accepting connections; finishing requests in flight\n`)
    await stopped
    await sink.close()
    return {address, signal}
  }
}

/** Where the proxy listened, and the signal that stopped it. */
export interface ProxyAnswer {
  address: string
  signal: string
}
