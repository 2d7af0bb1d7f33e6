import * as crypto from 'node:crypto'

type OneShot = (algorithm: string, data: string | Uint8Array, outputEncoding: 'hex') => string

// crypto.hash (one-shot, Node >= 20.12 / 21.7) is markedly faster than createHash for the small
// inputs a hash chain hashes, one per line.
const oneShot: OneShot | undefined = typeof (crypto as {hash?: unknown}).hash === 'function' ? (crypto.hash as OneShot) : undefined

/** Lowercase hex SHA-256 of `data` (a string is hashed as UTF-8). */
export const sha256Hex: (data: string | Uint8Array) => string = oneShot
  ? (data) => oneShot('sha256', data, 'hex')
  : (data) => crypto.createHash('sha256').update(data).digest('hex')

/** A SHA-256 fed in pieces, whose hex digest so far can be read at any point. */
export class Sha256Stream {
  private readonly hash = crypto.createHash('sha256')

  update(data: string | Uint8Array): void {
    this.hash.update(data)
  }

  /** The hex digest of everything fed so far; feeding may go on. */
  peek(): string {
    return this.hash.copy().digest('hex')
  }
}

const oneShotBytes = oneShot as unknown as ((algorithm: string, data: Uint8Array, outputEncoding: 'buffer') => Buffer) | undefined

/** SHA-256 of `data` as 32 raw bytes, written into `into` at `offset`. */
export function sha256Into(data: Uint8Array, into: Buffer, offset: number): void {
  into.set(oneShotBytes ? oneShotBytes('sha256', data, 'buffer') : crypto.createHash('sha256').update(data).digest(), offset)
}
