import {readSync} from 'node:fs'

import {MAX_LINE_BYTES} from '../events/model.js'

/**
 * Line framing over a file's bytes, forwards and backwards: where lines end (LF; a CR before it is
 * left to the line's reader), lines longer than a line may be (passed over without being gathered,
 * so a 50 MB line costs no more memory than the limit), and the unterminated last line (a write in
 * progress or a torn write). What a line's bytes mean (UTF-8, JSON, blank) is for the caller.
 */

export const LF = 10
const COUNT_CHUNK_BYTES = 1024 * 1024

/** LF bytes in block[from, to). */
export function countLineFeeds(block: Buffer, from = 0, to = block.length): number {
  let n = 0
  for (let i = block.indexOf(LF, from); i >= 0 && i < to; i = block.indexOf(LF, i + 1)) n++
  return n
}

/** LF bytes in the first `end` bytes of an open file: the number of the line starting at `end`, less one. */
export function countFileLineFeeds(fd: number, end: number): number {
  const buf = Buffer.allocUnsafe(COUNT_CHUNK_BYTES)
  let count = 0
  for (let pos = 0; pos < end; ) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos)
    if (n === 0) break
    count += countLineFeeds(buf, 0, n)
    pos += n
  }
  return count
}

/** A line over the limit, passed over: its length so far, and whether its end (LF) was reached. */
export interface OverLong {
  overLong: number
  ended: boolean
}

/** What framing hands out, in file order: a block of whole lines (each ending with LF), or an over-long line. */
export type Framed = Buffer | OverLong

/**
 * Frames a stream of chunks (plain file reads or gunzipped output) into blocks of whole lines.
 * A line is carried from one chunk to the next, and copied only once; a partial line that grows
 * past the limit is reported once (`ended: false`) when found, skipped to its LF, and reported
 * again with its full length (`ended: true`) when that LF comes. A line wholly inside a block can
 * still exceed the limit when its chunk is bigger than the limit, or joined with a carried start:
 * whoever splits a block checks each line's length.
 */
export class ForwardFramer {
  private carry: Buffer | undefined
  private consumed: number
  /** Inside an over-long line that was reported, its end not read yet. */
  skipping: boolean
  private skipped = 0

  constructor(
    start = 0,
    skipping = false,
    private readonly limit = MAX_LINE_BYTES,
  ) {
    this.consumed = start
    this.skipping = skipping
  }

  /** Byte offset just after the last whole line handed out or passed over. */
  get offset(): number {
    return this.consumed - (this.carry?.length ?? 0)
  }

  /** Bytes of the partial line carried to the next chunk. */
  get carried(): number {
    return this.carry?.length ?? 0
  }

  /**
   * Copies the carried partial line into `target` at `at` and forgets it: the caller reads the next
   * bytes right after it and pushes the two together (verify's blocks keep the carry in front, in
   * the same buffer, so no block is joined from two). Returns the bytes copied.
   */
  moveCarry(target: Buffer, at: number): number {
    const {carry} = this
    if (!carry) return 0
    carry.copy(target, at)
    this.carry = undefined
    this.consumed -= carry.length
    return carry.length
  }

  /** The next bytes of the file: the blocks and over-long lines they complete, in file order. */
  push(chunk: Buffer): Framed[] {
    this.consumed += chunk.length
    const out: Framed[] = []
    let buf = chunk
    if (this.carry) {
      // Finish the carried line without copying this whole chunk.
      const nl = buf.indexOf(LF)
      if (nl < 0) {
        buf = Buffer.concat([this.carry, buf])
      } else {
        out.push(Buffer.concat([this.carry, buf.subarray(0, nl + 1)]))
        buf = buf.subarray(nl + 1)
      }
      this.carry = undefined
    }
    if (this.skipping) {
      const nl = buf.indexOf(LF)
      if (nl < 0) {
        this.skipped += buf.length
        return out
      }
      out.push({overLong: this.skipped + nl, ended: true})
      this.skipping = false
      this.skipped = 0
      buf = buf.subarray(nl + 1)
    }
    const last = buf.lastIndexOf(LF)
    if (last >= 0) out.push(buf.subarray(0, last + 1))
    const rest = buf.subarray(last + 1)
    if (rest.length > this.limit) {
      this.skipping = true
      this.skipped = rest.length
      out.push({overLong: rest.length, ended: false})
    } else if (rest.length > 0) {
      this.carry = Buffer.from(rest) // a copy, so the whole chunk is not retained
    }
    return out
  }

  /**
   * At the end of the input: the unterminated last line (its bytes), or the over-long line it ended
   * inside (reported when found; here with its length), or undefined when the input ended with LF.
   */
  finish(): Buffer | OverLong | undefined {
    if (this.skipping) return {overLong: this.skipped, ended: false}
    const {carry} = this
    this.carry = undefined
    return carry && carry.length > 0 ? carry : undefined
  }

  /** Forgets the carried line (after a read error: what was read before is all there is). */
  drop(): void {
    this.carry = undefined
  }
}

/** A line found reading backwards: its bytes (without the LF), its offset, and its rank from the end (1: the last whole line). */
export interface BackLine {
  bytes: Buffer
  offset: number
  rank: number
}

/** An over-long line found reading backwards, passed over: its length, offset and rank. */
export interface BackOverLong {
  overLong: number
  offset: number
  rank: number
}

/** Reads `length` bytes at `position` into `buffer` from offset 0; resolves with the bytes read. */
export type ReadAt = (buffer: Buffer, length: number, position: number) => Promise<number>

/**
 * Frames a file backwards from `size`, a block at a time, so reading the last lines costs what
 * they take, not the file's size. What follows the last LF (a write in progress) is left out;
 * `end` is the offset after that LF once found. An over-long line is passed over block by block
 * without being gathered, and handed out with its length.
 */
export class BackwardFramer {
  /** Offset just after the last LF; -1 until found (or when the file has none). */
  end = -1
  /** Whole lines passed so far, from the end. */
  passed = 0
  private pos: number
  private readonly block: Buffer
  private partial: Buffer = Buffer.alloc(0) // the partial line after pos, with the LF that ends it
  private skipping = -1 // inside an over-long line whose start is not found yet: the offset of its LF

  constructor(
    private readonly read: ReadAt,
    size: number,
    blockBytes = 64 * 1024,
    private readonly limit = MAX_LINE_BYTES,
  ) {
    this.pos = size
    this.block = Buffer.allocUnsafe(blockBytes)
  }

  /** True once the start of the file was read. */
  get done(): boolean {
    return this.pos <= 0
  }

  /**
   * The whole lines of the next block back, in file order (empty when the block held none), or
   * undefined at the start of the file.
   */
  async previous(): Promise<Array<BackLine | BackOverLong> | undefined> {
    if (this.pos <= 0) return undefined
    const size = Math.min(this.block.length, this.pos)
    this.pos -= size
    const pos = this.pos
    const read = await this.read(this.block, size, pos)
    const found: Array<BackLine | BackOverLong> = [] // right to left
    const overLong = (bytes: number, offset: number) => found.push({overLong: bytes, offset, rank: ++this.passed})
    const take = (bytes: Buffer, offset: number) => {
      if (bytes.length > this.limit) overLong(bytes.length, offset)
      else found.push({bytes, offset, rank: ++this.passed})
    }
    let buf: Buffer
    if (this.end < 0 || this.skipping >= 0) {
      // Nothing after this block is kept: the unterminated end, or the rest of an over-long line.
      const lastLf = this.block.lastIndexOf(LF, read - 1)
      if (lastLf < 0) {
        if (this.skipping >= 0 && pos === 0) overLong(this.skipping, 0)
        return found
      }
      if (this.end < 0) this.end = pos + lastLf + 1
      else overLong(this.skipping - (pos + lastLf + 1), pos + lastLf + 1)
      this.skipping = -1
      buf = Buffer.from(this.block.subarray(0, lastLf + 1))
    } else {
      buf = Buffer.concat([this.block.subarray(0, read), this.partial])
    }
    // Split off whole lines from the right; keep the leftmost partial line for the next block.
    let right = buf.length - 1 // index of the LF ending the current line
    // right > 0: lastIndexOf counts a negative start from the end of the buffer.
    for (let lf = right > 0 ? buf.lastIndexOf(LF, right - 1) : -1; lf >= 0; lf = right > 0 ? buf.lastIndexOf(LF, right - 1) : -1) {
      take(buf.subarray(lf + 1, right), pos + lf + 1)
      right = lf
    }
    this.partial = Buffer.from(buf.subarray(0, right + 1))
    if (pos === 0 && right >= 0) {
      take(buf.subarray(0, right), 0)
      this.partial = Buffer.alloc(0)
    } else if (right > this.limit) {
      this.skipping = pos + right
      this.partial = Buffer.alloc(0)
    }
    return found.reverse()
  }
}
