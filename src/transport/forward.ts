import {AuditError} from '../errors.js'
import type {Config} from '../config/schema.js'
import type {LocatedEntry} from '../events/model.js'
import type {Encoder} from '../formats/codec.js'
import {codecOptions, getCodec} from '../formats/registry.js'
import type {CursorFile} from './cursor.js'
import {openSink, type OpenSinkOptions} from './index.js'
import type {Sink} from './sink.js'

/** The formats a syslog destination takes. */
export const FORWARD_FORMATS = ['rfc5424', 'rfc3164', 'syslog'] as const
export type ForwardFormat = (typeof FORWARD_FORMATS)[number]

/** The encoder of a forward format with its options checked (records without framing: the sink frames them). */
export function forwardEncoder(format: string, options: unknown, origin: string, local = false): Encoder {
  const codec = getCodec(format)
  return codec.create(codecOptions(codec, options, origin), {local})
}

/** Resolves when `work` does, or when the signal fires first (then with `aborted`). */
function unlessAborted(work: Promise<void>, signal: AbortSignal | undefined): Promise<'done' | 'aborted'> {
  if (!signal) return work.then(() => 'done')
  if (signal.aborted) return Promise.resolve('aborted')
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve('aborted')
    signal.addEventListener('abort', onAbort, {once: true})
    work.then(
      () => {
        signal.removeEventListener('abort', onAbort)
        resolve('done')
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

/**
 * Hands batches of entries to a sink in order; after each batch is flushed (taken by the kernel
 * or the server), the cursor records its last entry. A full queue or a server that is away makes
 * this wait, so reading pauses and nothing is skipped. Ends when the batches do or the signal
 * fires; returns how many entries were handed over.
 */
export async function forwardBatches(
  batches: AsyncIterable<LocatedEntry[]>,
  sink: Sink,
  encoder: Encoder,
  options: {cursor?: CursorFile; signal?: AbortSignal} = {},
): Promise<number> {
  let count = 0
  for await (const batch of batches) {
    if (batch.length === 0) continue
    const sending = (async () => {
      for (const located of batch) await sink.write(encoder.encode(located))
      await sink.flush()
    })()
    if ((await unlessAborted(sending, options.signal)) === 'aborted') {
      sending.catch(() => undefined)
      break
    }
    count += batch.length
    options.cursor?.save(batch[batch.length - 1])
    if (options.signal?.aborted) break
  }
  return count
}

/**
 * Forwarding from the writer, fire-and-forget: entries are handed over only once they are in the
 * file, a dead or slow server never blocks or fails an append (a full queue drops its oldest
 * record), and problems are told to `onError` once per outage.
 */
export class WriterForwarder {
  private constructor(
    private readonly sink: Promise<Sink | undefined>,
    private readonly encoder: Encoder,
    private readonly onError: (error: Error) => void,
  ) {}

  /** A forwarder for the `syslog` settings, or undefined when forwarding is off (no url, no host). */
  static fromSettings(settings: Config['syslog'], onError: (error: Error) => void): WriterForwarder | undefined {
    const url =
      settings.url ||
      (settings.host ? `${settings.proto}://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${settings.port}` : '')
    if (!url) return undefined
    const origin = settings.url ? 'config syslog.url' : 'config syslog.host'
    const encoder = forwardEncoder(settings.format, {facility: settings.facility}, `config syslog`)
    const options: OpenSinkOptions = {
      format: settings.format,
      origin,
      ca: settings.ca || undefined,
      failFast: false,
      overflow: 'drop',
      unref: true,
      closeTimeoutMs: 1000,
      onWarning: (message) => onError(new Error(`syslog ${message}`)),
    }
    const sink = openSink(url, options).catch((error: unknown) => {
      onError(error instanceof AuditError ? error : new Error(`syslog ${url}: ${(error as Error).message}`))
      return undefined
    })
    return new WriterForwarder(sink, encoder, onError)
  }

  /** Hands one appended entry over; never throws, never waits. */
  send(located: LocatedEntry): void {
    let record: string
    try {
      record = this.encoder.encode(located)
    } catch (error) {
      this.onError(error as Error)
      return
    }
    void this.sink.then((sink) => sink?.write(record)).catch((error: Error) => this.report(error))
  }

  /** Gives queued records a short while (closeTimeoutMs) to leave, then lets go. */
  async close(): Promise<void> {
    const sink = await this.sink
    await sink?.close().catch((error: Error) => this.report(error))
  }

  private reported = false
  private report(error: Error): void {
    if (this.reported) return
    this.reported = true
    this.onError(error)
  }
}
