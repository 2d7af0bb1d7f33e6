import {MAX_LINE_BYTES} from '../../events/model.js'
import {AGE_DAMAGED, describeFsError, isIdentityError, isWholeFileOnly, UnreadableFileError} from '../../store/files.js'
import {plaintextStream} from '../../store/payload.js'
import {HEADROOM} from './scan.js'
import {type Opened, openLate} from './snapshot.js'

/**
 * Framing: a log file read as LF-terminated blocks for scanBlock. Verify's own line splitting, kept
 * whole here so one shared splitter can take its place.
 */

const BLOCK_BYTES = 1024 * 1024

/** Block buffers come back from the workers and are used again, so memory stays flat. */
export class Buffers {
  private readonly free: ArrayBuffer[] = []

  /** A buffer of at least `size` bytes. */
  take(size: number): Buffer {
    const reused = this.free.pop()
    if (reused && reused.byteLength >= size) return Buffer.from(reused, 0, size)
    // Room for a carried partial line too, so the next block fits a reused buffer.
    return Buffer.from(Buffer.allocUnsafeSlow(Math.max(size, HEADROOM + BLOCK_BYTES + 64 * 1024)).buffer, 0, size)
  }

  release(buffer: ArrayBuffer): void {
    if (buffer.byteLength >= HEADROOM + BLOCK_BYTES && this.free.length < 16) this.free.push(buffer)
  }
}

export interface FileEnd {
  /** Bytes after the last LF. */
  tail?: Buffer
  error?: {kind: 'truncated-gzip' | 'damaged-age' | 'unreadable'; reason: string}
}

/** Cuts a block at its last LF: the block to scan (or undefined) and the bytes to carry on. */
function cut(block: Buffer, filled: number): {block?: Buffer; carry: Buffer} {
  const last = block.lastIndexOf(10, filled - 1)
  if (last < HEADROOM) return {carry: Buffer.from(block.subarray(HEADROOM, filled))}
  return {block: block.subarray(0, last + 1), carry: Buffer.from(block.subarray(last + 1, filled))}
}

/**
 * Streams a file as LF-terminated blocks, each in its own buffer with HEADROOM free bytes in
 * front (so it can be moved to a worker and hashed in place). What follows the last LF and any
 * read error land in `end`. Plain files are read straight into the block buffers. A line longer
 * than a line may be (no LF for over MAX_LINE_BYTES: a zero-filled tail after a power loss, say)
 * is skipped, not gathered, and comes as its length in bytes.
 */
export async function* fileBlocks(file: Opened, end: FileEnd, buffers: Buffers): AsyncGenerator<Buffer | number> {
  let carry: Buffer = Buffer.alloc(0)
  let skipping = 0 // bytes so far of an over-long line being skipped
  let form: {path: string; gzip: boolean} = file
  const next = (size: number): Buffer => {
    const block = buffers.take(HEADROOM + carry.length + size)
    carry.copy(block, HEADROOM)
    return block
  }
  /** Takes a block filled up to `filled`: yields what is complete, keeps the rest. */
  function* settle(block: Buffer, filled: number): Generator<Buffer | number> {
    if (skipping > 0) {
      const lf = block.indexOf(10, HEADROOM)
      if (lf < 0 || lf >= filled) {
        skipping += filled - HEADROOM
        return
      }
      yield skipping + lf - HEADROOM
      skipping = 0
      carry = Buffer.from(block.subarray(lf + 1, filled))
      block = next(0)
      filled = HEADROOM + carry.length
    }
    const parts = cut(block, filled)
    carry = parts.carry
    if (parts.block) yield parts.block
    if (carry.length > MAX_LINE_BYTES) {
      skipping = carry.length
      carry = Buffer.alloc(0)
    }
  }
  try {
    if (file.error) throw file.error
    let handle = file.handle
    if (!handle) ({handle, ...form} = await openLate(file))
    file.handle = handle
    if (isWholeFileOnly(form)) {
      const source = handle.createReadStream({start: 0, highWaterMark: BLOCK_BYTES, autoClose: false})
      try {
        for await (const chunk of plaintextStream(form, source, BLOCK_BYTES) as AsyncIterable<Buffer>) {
          const block = next(chunk.length)
          chunk.copy(block, HEADROOM + carry.length)
          yield* settle(block, HEADROOM + carry.length + chunk.length)
        }
      } finally {
        source.destroy()
      }
    } else {
      for (let position = 0; ; ) {
        const block = next(BLOCK_BYTES)
        const {bytesRead} = await handle.read(block, HEADROOM + carry.length, BLOCK_BYTES, position)
        if (bytesRead === 0) break
        position += bytesRead
        yield* settle(block, HEADROOM + carry.length + bytesRead)
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
  if (skipping > 0) yield skipping
  if (carry.length > 0) end.tail = carry
}
