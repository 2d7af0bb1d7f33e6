import {createCipheriv, createDecipheriv, hkdfSync, randomBytes} from 'node:crypto'
import {type Readable, Transform, type TransformCallback} from 'node:stream'
import {createGunzip} from 'node:zlib'

// Only its type here: the package (and its pure-JS ciphers) loads when an age file is met, not with every command.
import type {Decrypter} from 'age-encryption'

import {AGE_DAMAGED, AGE_NO_IDENTITY, AGE_WRONG_IDENTITY} from './files.js'

/**
 * The plaintext of a log file, whatever form it is in: plain, gzip, age (https://age-encryption.org/v1)
 * or gzip then age. The age header (recipient stanzas, header MAC) is the age-encryption package's;
 * the payload stream is node:crypto's ChaCha20-Poly1305, several times faster than the package's
 * pure-JS cipher (bench/age.ts measures both).
 */

/** The variable that names the identity file (as --identity and config `encryption.identity` do). */
export const IDENTITY_ENV = 'AUDIT_IDENTITY'

const CHUNK = 64 * 1024
const TAG = 16
const SEALED_CHUNK = CHUNK + TAG
const NONCE = 16
/** An age header is a few hundred bytes per recipient; more than this is not a header we wrote or can trust. */
const MAX_HEADER = 64 * 1024
const MAC_LINE = Buffer.from('\n--- ')
const VERSION_LINE = Buffer.from('age-encryption.org/v1\n')
const ARMOR_BEGIN = '-----BEGIN AGE ENCRYPTED FILE-----'
const ARMOR_END = '-----END AGE ENCRYPTED FILE-----'
const BASE64_LINE = /^[A-Za-z0-9+/=]+$/
/** First bytes of an armored file: `-` of its BEGIN line, or the whitespace the spec allows before it. */
const ARMOR_FIRST = new Set([0x2d, 0x20, 0x09, 0x0a, 0x0d])

let loaded: {path: string; decrypter: Decrypter} | undefined

/**
 * The identities readers decrypt with: those of the file $AUDIT_IDENTITY names. An environment
 * variable rather than a parameter, so the worker threads the readers start have it too; the CLI
 * sets it from --identity or the config.
 */
async function decrypter(): Promise<Decrypter | undefined> {
  const path = process.env[IDENTITY_ENV]
  if (!path) return undefined
  if (loaded?.path !== path) {
    // Key parsing (bech32) loads only when an encrypted file is met: not on every reader's start-up.
    const keys = (await import('./age-keys.js')).loadIdentityFile(path)
    const d = new (await import('age-encryption')).Decrypter()
    for (const key of keys) d.addIdentity(key)
    loaded = {path, decrypter: d}
  }
  return loaded.decrypter
}

/** An error of an age file, with the code readers tell apart: no identity, another's, or damage. */
function ageError(path: string, code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), {code, path})
}

/** The 12-byte ChaCha20-Poly1305 nonce of a STREAM chunk: 11-byte big-endian counter, then the last-chunk flag. */
function chunkNonce(counter: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12)
  nonce.writeUIntBE(counter, 5, 6) // counters past 2^48 chunks (16 EiB) are not reached
  nonce[11] = last ? 1 : 0
  return nonce
}

function payloadKey(fileKey: Uint8Array, nonce: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32))
}

/**
 * Undoes age's ASCII armor (`age -a`) as it streams: the BEGIN line, base64 lines of exactly 64
 * columns but the last (a multiple of 4), the END line, whitespace around them and CRLF allowed —
 * the age spec's strict subset of PEM, checked as strictly as the age tools check it. Any other
 * shape is damage. Memory: one partial line.
 */
class Dearmor {
  private partial = ''
  private state: 'begin' | 'body' | 'short' | 'ended' = 'begin'

  constructor(private readonly path: string) {}

  /** The binary bytes of the whole lines in `chunk` (and those before it). */
  take(chunk: Buffer): Buffer {
    const lines = (this.partial + chunk.toString('latin1')).split('\n')
    this.partial = lines.pop() as string
    return this.decode(lines)
  }

  end(): Buffer {
    const out = this.decode([this.partial])
    this.partial = ''
    if (this.state !== 'ended') throw ageError(this.path, AGE_DAMAGED, 'truncated armored age file (no END line)')
    return out
  }

  private decode(lines: string[]): Buffer {
    let base64 = ''
    for (const raw of lines) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
      if (this.state === 'begin') {
        if (line.trim() === '') continue
        if (line.trimStart() !== ARMOR_BEGIN) throw ageError(this.path, AGE_DAMAGED, 'armored age file without its BEGIN line')
        this.state = 'body'
      } else if (this.state === 'ended') {
        if (line.trim() !== '') throw ageError(this.path, AGE_DAMAGED, 'text after the END line of an armored age file')
      } else if (line.trimEnd() === ARMOR_END) {
        this.state = 'ended'
      } else if (this.state === 'short' || !BASE64_LINE.test(line) || line.length > 64 || line.length % 4 !== 0) {
        throw ageError(this.path, AGE_DAMAGED, 'damaged armored age file (a base64 line of the wrong length or alphabet)')
      } else {
        if (line.length < 64) this.state = 'short'
        base64 += line
      }
    }
    return Buffer.from(base64, 'base64')
  }
}

/**
 * Decrypts an age file's bytes as they stream through: header, payload nonce, then 64 KiB chunks,
 * each authenticated before its plaintext is passed on; armored files (`age -a`) are de-armored
 * first. Memory: one header and one read chunk.
 */
export class AgeDecryptStream extends Transform {
  private pending: Buffer = Buffer.alloc(0)
  private key: Buffer | undefined
  private counter = 0
  /** Set by the first byte: a binary age file starts `age-`, an armored one with whitespace or `-----BEGIN`. */
  private dearmor: Dearmor | null | undefined

  constructor(private readonly path: string) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.dearmor === undefined && chunk.length > 0) this.dearmor = ARMOR_FIRST.has(chunk[0]) ? new Dearmor(this.path) : null
    let bytes: Buffer
    try {
      bytes = this.dearmor ? this.dearmor.take(chunk) : chunk
    } catch (error) {
      callback(error as Error)
      return
    }
    this.accept(bytes, callback)
  }

  private accept(bytes: Buffer, callback: TransformCallback): void {
    this.pending = this.pending.length === 0 ? bytes : Buffer.concat([this.pending, bytes])
    if (this.key) {
      this.drain(false, callback)
      return
    }
    this.readHeader().then(
      (ready) => (ready ? this.drain(false, callback) : callback()),
      (error: Error) => callback(error),
    )
  }

  override _flush(callback: TransformCallback): void {
    if (this.dearmor) {
      let rest: Buffer
      try {
        rest = this.dearmor.end()
      } catch (error) {
        callback(error as Error)
        return
      }
      this.dearmor = null
      // The armor's last line may complete the header: take it as a chunk, then finish.
      this.accept(rest, (error, data) => {
        if (error) callback(error)
        else {
          if (data) this.push(data)
          this._flush(callback)
        }
      })
      return
    }
    if (!this.key) {
      callback(ageError(this.path, AGE_DAMAGED, this.pending.length === 0 ? 'empty file, not age' : 'truncated age header'))
      return
    }
    this.drain(true, callback)
  }

  /** Takes the header and payload nonce once they are all in; false while more bytes are needed. */
  private async readHeader(): Promise<boolean> {
    const head = this.pending
    if (!head.subarray(0, VERSION_LINE.length).equals(VERSION_LINE.subarray(0, Math.min(head.length, VERSION_LINE.length))))
      throw ageError(this.path, AGE_DAMAGED, 'not an age file (no age-encryption.org/v1 header)')
    const mac = head.indexOf(MAC_LINE)
    const end = mac < 0 ? -1 : head.indexOf(10, mac + 1)
    if (end < 0 || head.length < end + 1 + NONCE) {
      if (head.length > MAX_HEADER) throw ageError(this.path, AGE_DAMAGED, 'age header over 64 KiB')
      return false
    }
    const d = await decrypter()
    if (!d) throw ageError(this.path, AGE_NO_IDENTITY, 'encrypted (age) and no --identity given')
    let fileKey: Uint8Array
    try {
      fileKey = await d.decryptHeader(head.subarray(0, end + 1))
    } catch (error) {
      const message = (error as Error).message
      if (/no identity matched/.test(message))
        throw ageError(this.path, AGE_WRONG_IDENTITY, 'encrypted (age) to recipients the --identity does not hold')
      throw ageError(this.path, AGE_DAMAGED, `damaged age header (${message})`)
    }
    this.key = payloadKey(fileKey, head.subarray(end + 1, end + 1 + NONCE))
    this.pending = head.subarray(end + 1 + NONCE)
    return true
  }

  /** Decrypts the whole chunks buffered (all but one unless at the end: the last chunk is flagged). */
  private drain(atEnd: boolean, callback: TransformCallback): void {
    const key = this.key as Buffer
    const out: Buffer[] = []
    let at = 0
    try {
      while (this.pending.length - at > SEALED_CHUNK) {
        out.push(this.open(key, this.pending.subarray(at, at + SEALED_CHUNK), false))
        at += SEALED_CHUNK
      }
      if (atEnd) {
        const rest = this.pending.length - at
        if (rest < TAG || (rest === TAG && this.counter > 0))
          throw ageError(this.path, AGE_DAMAGED, 'truncated age file (its last chunk is missing)')
        out.push(this.open(key, this.pending.subarray(at), true))
        at = this.pending.length
      }
    } catch (error) {
      callback(error as Error)
      return
    }
    this.pending = at === 0 ? this.pending : Buffer.from(this.pending.subarray(at))
    callback(null, out.length === 0 ? undefined : out.length === 1 ? out[0] : Buffer.concat(out))
  }

  private open(key: Buffer, sealed: Buffer, last: boolean): Buffer {
    const decipher = createDecipheriv('chacha20-poly1305', key, chunkNonce(this.counter, last), {authTagLength: TAG})
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG))
    const plain = decipher.update(sealed.subarray(0, sealed.length - TAG))
    try {
      decipher.final()
    } catch {
      throw ageError(
        this.path,
        AGE_DAMAGED,
        `age payload fails its authentication at chunk ${this.counter} (byte ${this.counter * CHUNK} of the plaintext): truncated or changed`,
      )
    }
    this.counter++
    return plain
  }
}

/**
 * Encrypts what streams through to age recipients (`age1…`): the header comes first, then the
 * payload in 64 KiB chunks, the last one flagged.
 */
export class AgeEncryptStream extends Transform {
  private pending: Buffer = Buffer.alloc(0)
  private counter = 0
  private started = false

  private constructor(
    private readonly header: Buffer,
    private readonly key: Buffer,
  ) {
    super()
  }

  /** A stream encrypting to the recipients; throws on a recipient that is not a valid age public key. */
  static async to(recipients: string[]): Promise<AgeEncryptStream> {
    if (recipients.length === 0) throw new Error('no age recipients')
    let fileKey: Uint8Array | undefined
    const encrypter = new (await import('age-encryption')).Encrypter()
    // The package wraps the file key for each recipient and writes the header; this recipient only
    // keeps the key (adding no stanza), so the payload can be encrypted here.
    encrypter.addRecipient({
      wrapFileKey: (key: Uint8Array) => {
        fileKey = key
        return []
      },
    })
    for (const r of recipients) encrypter.addRecipient(r)
    // An empty file: header, payload nonce (16 bytes), one empty final chunk (16): only the header is kept.
    const empty = await encrypter.encrypt(new Uint8Array(0))
    if (!fileKey) throw new Error('age: no file key')
    const header = Buffer.from(empty.subarray(0, empty.length - NONCE - TAG))
    const nonce = randomBytes(NONCE)
    return new AgeEncryptStream(Buffer.concat([header, nonce]), payloadKey(fileKey, nonce))
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    const out: Buffer[] = this.begin()
    let at = 0
    // A full chunk is sealed only once more follows: the last chunk, full or not, carries the flag.
    while (this.pending.length - at > CHUNK) {
      out.push(this.seal(this.pending.subarray(at, at + CHUNK), false))
      at += CHUNK
    }
    this.pending = at === 0 ? this.pending : Buffer.from(this.pending.subarray(at))
    callback(null, out.length === 0 ? undefined : Buffer.concat(out))
  }

  override _flush(callback: TransformCallback): void {
    const out = this.begin()
    out.push(this.seal(this.pending, true))
    callback(null, Buffer.concat(out))
  }

  private begin(): Buffer[] {
    if (this.started) return []
    this.started = true
    return [this.header]
  }

  private seal(plain: Buffer, last: boolean): Buffer {
    const cipher = createCipheriv('chacha20-poly1305', this.key, chunkNonce(this.counter++, last), {authTagLength: TAG})
    const sealed = cipher.update(plain)
    cipher.final()
    return Buffer.concat([sealed, cipher.getAuthTag()])
  }
}

/** True for the name of an age-encrypted log file. */
export function isEncryptedPath(path: string): boolean {
  return path.endsWith('.age')
}

/**
 * The plaintext byte stream of a log file from its raw bytes: decrypted when its name ends in .age,
 * gunzipped when it is gzip. An error of any stage reaches the stream returned (the file's own
 * errors too: pipe() does not pass them on), with Z_* codes for gzip damage and AGE_* for age.
 */
export function plaintextStream(file: {path: string; gzip: boolean}, raw: Readable, chunkBytes: number): Readable {
  const stages: Transform[] = []
  if (isEncryptedPath(file.path)) stages.push(new AgeDecryptStream(file.path))
  if (file.gzip) stages.push(createGunzip({chunkSize: chunkBytes}))
  let stream = raw
  for (const stage of stages) {
    stream.on('error', (error) => stage.destroy(error))
    stream = stream.pipe(stage)
  }
  return stream
}
