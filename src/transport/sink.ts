/**
 * Where framed records go: stdout, a file, a syslog server, an HTTP API. Every sink takes records
 * already encoded and framed by a codec (src/formats), in order, and says when they are delivered.
 *
 * `write` resolves when the sink has taken the record (it may still be buffered); `flush`
 * resolves when everything written so far is delivered as far as the sink can know (on disk,
 * acknowledged by the server); `close` flushes and releases. An outside failure rejects with
 * an OutsideError (exit 3) naming the destination and what failed, never with a raw socket error.
 */
export interface Sink {
  /** Names the destination for messages, with any secret (token, password) left out. */
  readonly name: string
  write(record: string): Promise<void>
  /** Already encoded records (UTF-8), after those written before; where absent, `write` takes their text. */
  writeBytes?(bytes: Uint8Array): Promise<void>
  flush(): Promise<void>
  close(): Promise<void>
}
