/*
 * Names met again and again in a log (events, actors, models, IP addresses), known by their bytes:
 * the summary scan looks a name up without making a string of it, and counts against the entry.
 */

/** A name once seen; `count` is its count in the range being scanned (`epoch`, 0 for none), `failed` the caller's to fill. */
export interface Interned {
  /** The name's text (its own string, not a view of a block). */
  text: string
  /** What the summary counts it under (groupKey for actors and addresses). */
  key: string
  count: number
  epoch: number
  failed: boolean | undefined
}

interface Slot extends Interned {
  bytes: Uint8Array
  hash: number
}

/** Longer names are not kept: a log's writer may choose them (an actor), and a line may be 1 MiB. */
export const MAX_INTERNED_BYTES = 256

/**
 * Bytes to strings, keeping at most `limit` names of at most MAX_INTERNED_BYTES: for any other,
 * get() answers a new entry each time (counted alone, added up by key), so memory stays bounded
 * whatever a log holds.
 */
export class ByteInterner {
  private slots = new Int32Array(256)
  private readonly entries: Slot[] = []

  constructor(
    private readonly keyOf: (text: string) => string,
    private readonly limit = 65_536,
  ) {}

  get(buf: Buffer, start: number, end: number): Interned {
    if (end - start > MAX_INTERNED_BYTES) return this.alone(buf.toString('utf8', start, end))
    let hash = 0x811c9dc5
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ buf[i], 0x01000193)
    const mask = this.slots.length - 1
    let s = hash & mask
    for (let at = this.slots[s]; at !== 0; s = (s + 1) & mask, at = this.slots[s]) {
      const entry = this.entries[at - 1]
      if (entry.hash === hash && sameBytes(entry.bytes, buf, start, end)) return entry
    }
    const text = buf.toString('utf8', start, end)
    if (this.entries.length >= this.limit) return this.alone(text)
    const entry: Slot = {
      text,
      key: this.keyOf(text),
      count: 0,
      epoch: 0,
      failed: undefined,
      bytes: new Uint8Array(buf.subarray(start, end)),
      hash,
    }
    this.entries.push(entry)
    this.slots[s] = this.entries.length
    if (this.entries.length * 2 > this.slots.length) this.grow()
    return entry
  }

  /** An entry for a name that is not kept. */
  private alone(text: string): Interned {
    return {text, key: this.keyOf(text), count: 0, epoch: 0, failed: undefined}
  }

  private grow(): void {
    const slots = new Int32Array(this.slots.length * 2)
    const mask = slots.length - 1
    for (const [index, {hash}] of this.entries.entries()) {
      let s = hash & mask
      while (slots[s] !== 0) s = (s + 1) & mask
      slots[s] = index + 1
    }
    this.slots = slots
  }
}

function sameBytes(bytes: Uint8Array, buf: Buffer, start: number, end: number): boolean {
  if (bytes.length !== end - start) return false
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== buf[start + i]) return false
  return true
}
