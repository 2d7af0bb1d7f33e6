import {createRequire} from 'node:module'

type Crypto = typeof import('node:crypto')
type OneShot = (algorithm: string, data: string | Uint8Array, outputEncoding: 'hex') => string

// node:crypto loads at the first hash, not with this module: readers import it for the rare torn
// line, and `audit tail` would otherwise pay about 5 ms of start-up for a hash it never takes.
const require = createRequire(import.meta.url)
let loaded: Crypto | undefined
const crypto = (): Crypto => (loaded ??= require('node:crypto') as Crypto)

/**
 * crypto.hash (one-shot, Node >= 20.12 / 21.7) is markedly faster than createHash for the small
 * inputs a hash chain hashes, one per line; undefined where Node lacks it.
 */
let oneShot: OneShot | null | undefined
const hashOnce = (): OneShot | undefined => {
  if (oneShot === undefined) {
    const {hash} = crypto() as {hash?: unknown}
    oneShot = typeof hash === 'function' ? (hash as OneShot) : null
  }
  return oneShot ?? undefined
}

/** Lowercase hex SHA-256 of `data` (a string is hashed as UTF-8). */
export function sha256Hex(data: string | Uint8Array): string {
  const once = hashOnce()
  return once ? once('sha256', data, 'hex') : crypto().createHash('sha256').update(data).digest('hex')
}

/** A SHA-256 fed in pieces, whose hex digest so far can be read at any point. */
export class Sha256Stream {
  private readonly hash = crypto().createHash('sha256')

  update(data: string | Uint8Array): void {
    this.hash.update(data)
  }

  /** The hex digest of everything fed so far; feeding may go on. */
  peek(): string {
    return this.hash.copy().digest('hex')
  }
}

/** SHA-256 of `data` as 32 raw bytes, written into `into` at `offset`. */
export function sha256Into(data: Uint8Array, into: Buffer, offset: number): void {
  const once = hashOnce() as unknown as ((algorithm: string, data: Uint8Array, outputEncoding: 'buffer') => Buffer) | undefined
  into.set(once ? once('sha256', data, 'buffer') : crypto().createHash('sha256').update(data).digest(), offset)
}
