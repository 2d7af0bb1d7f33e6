import {createSocket, type Socket} from 'node:dgram'
import {lookup} from 'node:dns/promises'
import {isIP} from 'node:net'

import {netFailure} from './net-error.js'
import type {Sink} from './sink.js'

/** RFC 5426 §3.2: the largest UDP payload over IPv4 (65535 − 8 − 20). */
export const MAX_DATAGRAM = 65_507

/** The longest prefix of `bytes` of at most `limit` bytes that does not cut a UTF-8 sequence. */
export function utf8Prefix(bytes: Buffer, limit: number): Buffer {
  if (bytes.length <= limit) return bytes
  let end = limit
  // Back up over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--
  return bytes.subarray(0, end)
}

/**
 * Syslog over UDP (RFC 5426): one message per datagram, no trailing LF, a message longer than a
 * datagram truncated at a character boundary. UDP has no acknowledgement: a datagram the server
 * or the network drops is lost without a trace; only local send errors are seen.
 */
export class SyslogUdpSink implements Sink {
  private failure: Error | undefined

  private constructor(
    readonly name: string,
    private readonly socket: Socket,
    private readonly address: string,
    private readonly port: number,
  ) {
    socket.on('error', (error) => {
      this.failure = error
    })
  }

  static async open(name: string, host: string, port: number, options: {unref?: boolean} = {}): Promise<SyslogUdpSink> {
    let address = host
    let family = isIP(host)
    if (family === 0) {
      try {
        ;({address, family} = await lookup(host))
      } catch (error) {
        throw netFailure(name, error)
      }
    }
    const socket = createSocket(family === 6 ? 'udp6' : 'udp4')
    if (options.unref) socket.unref()
    return new SyslogUdpSink(name, socket, address, port)
  }

  /** Resolves when the datagram is handed to the kernel (sent one at a time, so a burst is not dropped locally). */
  write(record: string): Promise<void> {
    if (this.failure) return Promise.reject(netFailure(this.name, this.failure))
    const payload = utf8Prefix(Buffer.from(record), MAX_DATAGRAM)
    return new Promise((resolve, reject) => {
      this.socket.send(payload, this.port, this.address, (error) => (error ? reject(netFailure(this.name, error)) : resolve()))
    })
  }

  async flush(): Promise<void> {
    if (this.failure) throw netFailure(this.name, this.failure)
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.socket.close(() => resolve())
    })
  }
}
