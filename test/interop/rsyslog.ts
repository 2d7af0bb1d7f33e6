import {type ChildProcess, spawn} from 'node:child_process'
import {createSocket} from 'node:dgram'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {connect, createServer} from 'node:net'
import {join} from 'node:path'

import {tempDir} from '../helpers.js'

/** A field of what rsyslog received, as the template below writes it. */
export interface Received {
  facility: number
  severity: number
  hostname: string
  app: string
  msgid: string
  sd: string
  msg: string
}

/** A free loopback port for TCP and UDP alike (bound then released). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const {port: p} = server.address() as {port: number}
        server.close(() => resolve(p))
      })
    })
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = createSocket('udp4')
      socket.once('error', () => resolve(false))
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)))
    })
    if (udpFree) return port
  }
}

/**
 * An rsyslogd of our own on loopback: its config, pid file, work directory and output in a temp
 * directory, never the system's; UDP, TCP and (with certificates) TLS inputs; no imuxsock or
 * imklog. Each received message becomes one line of `out`.
 */
export class Rsyslog {
  readonly dir = tempDir('rsyslog-')
  readonly out = join(this.dir, 'received.log')
  private child: ChildProcess | undefined
  udpPort = 0
  tcpPort = 0
  tlsPort = 0

  constructor(private readonly tls?: {cert: string; key: string}) {}

  /** Writes the config (ports chosen once, kept across restarts) and starts rsyslogd; resolves when TCP accepts. */
  async start(): Promise<void> {
    if (!this.udpPort) {
      this.udpPort = await freePort()
      this.tcpPort = await freePort()
      this.tlsPort = this.tls ? await freePort() : 0
    }
    mkdirSync(join(this.dir, 'work'), {recursive: true})
    const conf = join(this.dir, 'rsyslog.conf')
    const tlsGlobal = this.tls
      ? `global(DefaultNetstreamDriverCAFile="${this.tls.cert}" DefaultNetstreamDriverCertFile="${this.tls.cert}" DefaultNetstreamDriverKeyFile="${this.tls.key}")`
      : ''
    const tlsInput = this.tls
      ? `input(type="imtcp" port="${this.tlsPort}" address="127.0.0.1" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")`
      : ''
    writeFileSync(
      conf,
      `
global(workDirectory="${join(this.dir, 'work')}")
${tlsGlobal}
main_queue(queue.type="Direct")
module(load="imudp")
module(load="imtcp" maxSessions="100")
input(type="imudp" port="${this.udpPort}" address="127.0.0.1" rcvbufSize="16m")
input(type="imtcp" port="${this.tcpPort}" address="127.0.0.1")
${tlsInput}
template(name="fields" type="string" string="%syslogfacility%|%syslogseverity%|%hostname%|%app-name%|%msgid%|%structured-data%|%msg%\\n")
action(type="omfile" file="${this.out}" template="fields")
`,
    )
    this.child = spawn('rsyslogd', ['-n', '-f', conf, '-i', join(this.dir, 'rsyslogd.pid')], {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    this.child.stderr?.on('data', (d) => {
      stderr += d
    })
    const end = Date.now() + 20_000
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`rsyslogd exited: ${stderr}`)
      const up = await new Promise<boolean>((resolve) => {
        const socket = connect(this.tcpPort, '127.0.0.1', () => {
          socket.destroy()
          resolve(true)
        }).on('error', () => resolve(false))
      })
      if (up) return
      if (Date.now() > end) throw new Error(`rsyslogd did not start: ${stderr}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /** The running rsyslogd's process id (for CPU accounting in benchmarks). */
  get pid(): number | undefined {
    return this.child?.pid
  }

  /** How many messages arrived so far (counted without parsing). */
  count(): number {
    if (!existsSync(this.out)) return 0
    const text = readFileSync(this.out)
    let n = 0
    for (let i = text.indexOf(10); i >= 0; i = text.indexOf(10, i + 1)) n++
    return n
  }

  /** Stops rsyslogd with a signal (SIGKILL: as a crash) and waits for it to be gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve())
      child.kill(signal)
    })
    this.child = undefined
  }

  /** Every message received so far. */
  received(): Received[] {
    if (!existsSync(this.out)) return []
    return readFileSync(this.out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const parts = line.split('|')
        const [facility, severity, hostname, app, msgid, sd] = parts
        return {facility: Number(facility), severity: Number(severity), hostname, app, msgid, sd, msg: parts.slice(6).join('|')}
      })
  }

  /** Waits until `count` messages arrived (or the time is up), and returns what did. */
  async waitFor(count: number, ms = 30_000): Promise<Received[]> {
    const end = Date.now() + ms
    let got = this.received()
    while (got.length < count && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100))
      got = this.received()
    }
    return got
  }
}
