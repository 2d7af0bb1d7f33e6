import {AGE_DAMAGED, describeFsError, isIdentityError, isWholeFileOnly, UnreadableFileError} from '../../store/files.js'
import {ForwardFramer} from '../../store/lines.js'
import {plaintextStream} from '../../store/payload.js'
import {HEADROOM} from './scan.js'
import {type Opened, openLate} from './snapshot.js'

/** A log file read as LF-terminated blocks for scanBlock. */

const BLOCK_BYTES = 1024 * 1024

/**
 * Block buffers, used again once a block is scanned, so memory stays flat. They are shared memory:
 * a worker scans a block where it lies, and handing it over neither copies nor detaches it.
 */
export class Buffers {
  private readonly free: SharedArrayBuffer[] = []

  /** A buffer of at least `size` bytes. */
  take(size: number): Buffer {
    const reused = this.free.pop()
    if (reused && reused.byteLength >= size) return Buffer.from(reused, 0, size)
    // Room for a carried partial line too, so the next block fits a reused buffer.
    return Buffer.from(new SharedArrayBuffer(Math.max(size, HEADROOM + BLOCK_BYTES + 64 * 1024)), 0, size)
  }

  /** A block's buffer, once nothing reads or writes it any more. */
  release(buffer: SharedArrayBuffer): void {
    if (buffer.byteLength >= HEADROOM + BLOCK_BYTES && this.free.length < 16) this.free.push(buffer)
  }
}

export interface FileEnd {
  /** Bytes after the last LF. */
  tail?: Buffer
  error?: {kind: 'truncated-gzip' | 'damaged-age' | 'unreadable'; reason: string}
}

/**
 * Streams a file as LF-terminated blocks, each in its own buffer with HEADROOM free bytes in
 * front (so it can be moved to a worker and hashed in place). What follows the last LF and any
 * read error land in `end`. Plain files are read straight into the block buffers. A line longer
 * than a line may be (no LF for over MAX_LINE_BYTES: a zero-filled tail after a power loss, say)
 * is skipped, not gathered, and comes as its length in bytes once its end (or the file's) is read.
 * The framing is store/lines.ts's ForwardFramer, with the carried partial line moved in front of
 * each read so a block is never joined from two buffers.
 */
export async function* fileBlocks(file: Opened, end: FileEnd, buffers: Buffers): AsyncGenerator<Buffer | number> {
  const framer = new ForwardFramer()
  /** A block for the next `size` bytes, the carried line already in it: the block and where to put them. */
  const next = (size: number): {block: Buffer; at: number} => {
    const block = buffers.take(HEADROOM + framer.carried + size)
    return {block, at: HEADROOM + framer.moveCarry(block, HEADROOM)}
  }
  /** The block filled up to `filled`: the lines it completes, each widened by its headroom. */
  function* settle(block: Buffer, filled: number): Generator<Buffer | number> {
    for (const framed of framer.push(block.subarray(HEADROOM, filled))) {
      // No carry is left in the framer when it is pushed to, so each frame lies in `block` after at least HEADROOM bytes.
      if (Buffer.isBuffer(framed)) yield Buffer.from(framed.buffer, framed.byteOffset - HEADROOM, framed.length + HEADROOM)
      else if (framed.ended) yield framed.overLong
    }
  }
  let form: {path: string; gzip: boolean} = file
  try {
    if (file.error) throw file.error
    let handle = file.handle
    if (!handle) ({handle, ...form} = await openLate(file))
    file.handle = handle
    if (isWholeFileOnly(form)) {
      const source = handle.createReadStream({start: 0, highWaterMark: BLOCK_BYTES, autoClose: false})
      try {
        for await (const chunk of plaintextStream(form, source, BLOCK_BYTES) as AsyncIterable<Buffer>) {
          const {block, at} = next(chunk.length)
          chunk.copy(block, at)
          yield* settle(block, at + chunk.length)
        }
      } finally {
        source.destroy()
      }
    } else {
      for (let position = 0; ; ) {
        const {block, at} = next(BLOCK_BYTES)
        let bytesRead: number
        try {
          ;({bytesRead} = await handle.read(block, at, BLOCK_BYTES, position))
        } catch (error) {
          framer.push(block.subarray(HEADROOM, at)) // the carried line back to the framer, for end.tail
          throw error
        }
        // Pushed also at the end of the file (nothing read), so the framer holds the carried line again.
        yield* settle(block, at + bytesRead)
        if (bytesRead === 0) break
        position += bytesRead
      }
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // Not readable by this user (or without the age identity): nothing can be said about the file, which is no sign of tampering.
    if (code === 'EACCES' || code === 'EPERM' || isIdentityError(error)) throw new UnreadableFileError(form.path, error)
    end.error =
      form.gzip && code?.startsWith('Z_')
        ? {
            kind: 'truncated-gzip',
            reason: `truncated or corrupt gzip (${(error as Error).message}); the entries before the damage were checked`,
          }
        : code === AGE_DAMAGED
          ? {kind: 'damaged-age', reason: `${(error as Error).message}; the entries before the damage were checked`}
          : {kind: 'unreadable', reason: `cannot be read (${describeFsError(error)})`}
  } finally {
    const {handle} = file
    file.handle = undefined
    await handle?.close().catch(() => {})
  }
  const rest = framer.finish()
  if (Buffer.isBuffer(rest)) end.tail = rest
  else if (rest) yield rest.overLong
}
