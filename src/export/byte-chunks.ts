import type {ByteOut} from '../formats/record-bytes.js'

const CHUNK_BYTES = 1024 * 1024

/**
 * Text written as UTF-8 into buffers of about a MiB, each on an ArrayBuffer of its own (never
 * Buffer's shared pool), so a worker can transfer them to another thread instead of posting the
 * text: no copy, no UTF-16, and no long string built by concatenation first. Encoders that write
 * bytes themselves (ByteOut) write into the same buffers.
 */
export class ByteChunks implements ByteOut {
  private readonly chunks: Array<Uint8Array<ArrayBuffer>> = []
  buf = Buffer.allocUnsafeSlow(CHUNK_BYTES)
  pos = 0

  write(text: string): void {
    // A UTF-16 code unit takes at most 3 bytes of UTF-8 (a surrogate pair, 2 units, takes 4).
    const most = text.length * 3
    if (this.pos + most > this.buf.length) {
      this.seal()
      if (most > CHUNK_BYTES) {
        const own = Buffer.allocUnsafeSlow(Buffer.byteLength(text))
        own.write(text, 0)
        this.chunks.push(own)
        return
      }
    }
    this.pos += this.buf.write(text, this.pos)
  }

  /** Room for `bytes` (at most a chunk) at `pos`. */
  reserve(bytes: number): void {
    if (this.pos + bytes > this.buf.length) this.seal()
  }

  /** The bytes written, in order; the writer is not to be used after. */
  finish(): Array<Uint8Array<ArrayBuffer>> {
    this.seal()
    return this.chunks
  }

  private seal(): void {
    if (this.pos === 0) return
    this.chunks.push(this.buf.subarray(0, this.pos))
    this.buf = Buffer.allocUnsafeSlow(CHUNK_BYTES)
    this.pos = 0
  }
}
