// syslog-client 1.1.1 ships no types; only what auditkit uses is declared.
declare module 'syslog-client' {
  import {EventEmitter} from 'node:events'

  export const Transport: {Tcp: number; Udp: number}
  export interface ClientOptions {
    port?: number
    transport?: number
    tcpTimeout?: number
    syslogHostname?: string
    appName?: string
    rfc3164?: boolean
  }
  export interface LogOptions {
    facility: number
    severity: number
    rfc3164?: boolean
    appName?: string
    syslogHostname?: string
    msgid?: string
  }
  export class Client extends EventEmitter {
    log(message: string, options: LogOptions, callback: (error?: Error) => void): this
    close(): this
  }
  export function createClient(target: string, options?: ClientOptions): Client
}
