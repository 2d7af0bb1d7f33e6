import {randomBytes} from 'node:crypto'
import {
  accessSync,
  closeSync,
  constants,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  realpathSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import {join, relative, resolve, isAbsolute} from 'node:path'

import {AuditError, OutsideError} from '../errors.js'

/** Bytes of every key: AES-256 subject keys and the HMAC-SHA256 blind-index key. */
export const KEY_BYTES = 32
/** The keystore-wide key of the blind index. */
const INDEX_KEY = 'index.key'
/** A subject id is a blind index: base64url, so it is safe as a file name. */
const SUBJECT_ID = /^[A-Za-z0-9_-]{22}$/

/** The keystore could not be used (missing, unreadable, not writable, a bad key file): exit 3. */
export class KeystoreError extends OutsideError {}

/**
 * The directory of privacy keys (config `privacy.keystore`): one random 256-bit key per subject,
 * `<subject id>.key`, and `index.key` for the blind index. 0700 directory, 0600 files, each key
 * created atomically (written to a temporary name, then linked into place, so two writers racing
 * for the same subject end with one key). It must exist: auditkit does not create it, so a keystore
 * that went missing is an error and never a silent new one.
 */
export class Keystore {
  private indexKeyCache: Buffer | undefined

  private constructor(
    readonly dir: string,
    readonly writable: boolean,
  ) {}

  /**
   * Opens the keystore for reading (readers) or writing (the writer, forget). Throws KeystoreError
   * when it is missing, not a directory, or not readable (writable, for writing); AuditError (usage)
   * when it lies inside the log directory, where it would be backed up, bundled and shipped with the log.
   */
  static open(dir: string, logDir: string, options: {write: boolean}): Keystore {
    if (dir === '') throw new AuditError('privacy.fields is set but privacy.keystore is empty: name a directory outside the log directory')
    const path = resolve(dir)
    if (inside(path, resolve(logDir)) || inside(real(path), real(resolve(logDir)))) {
      throw new AuditError(`privacy.keystore ${path} is inside the log directory ${resolve(logDir)}: keys must live apart from the log`)
    }
    let info: ReturnType<typeof statSync>
    try {
      info = statSync(path)
      accessSync(path, constants.R_OK | constants.X_OK | (options.write ? constants.W_OK : 0))
    } catch (error) {
      throw new KeystoreError(`privacy keystore ${path}: ${describe(error)}`)
    }
    if (!info.isDirectory()) throw new KeystoreError(`privacy keystore ${path}: not a directory`)
    if ((info.mode & 0o077) !== 0) {
      throw new KeystoreError(`privacy keystore ${path}: mode ${(info.mode & 0o777).toString(8)} lets others in; chmod 700 it`)
    }
    const keystore = new Keystore(path, options.write)
    // Read (or, writing, made) now, so an unreadable keystore fails before anything is written.
    keystore.indexKey()
    return keystore
  }

  /** The blind-index key; created on the first write. */
  indexKey(): Buffer {
    if (!this.indexKeyCache) {
      this.indexKeyCache = this.readKey(INDEX_KEY) ?? (this.writable ? this.createKey(INDEX_KEY) : undefined)
      if (!this.indexKeyCache) throw new KeystoreError(`privacy keystore ${this.dir}: ${INDEX_KEY} is missing`)
    }
    return this.indexKeyCache
  }

  /** A subject's key, or undefined when it has none (never had, or forgotten). */
  subjectKey(subject: string): Buffer | undefined {
    return this.readKey(subjectFile(subject))
  }

  /** A subject's key, created when it has none. */
  subjectKeyForWriting(subject: string): Buffer {
    return this.subjectKey(subject) ?? this.createKey(subjectFile(subject))
  }

  /** Whether the subject has a key; a key file that cannot be examined is an error. */
  hasSubjectKey(subject: string): boolean {
    return this.subjectKey(subject) !== undefined
  }

  /**
   * Destroys a subject's key: overwritten with zeros and synced, unlinked, the directory synced.
   * False when there was none.
   */
  destroySubjectKey(subject: string): boolean {
    const path = join(this.dir, subjectFile(subject))
    let fd: number
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw new KeystoreError(`privacy keystore ${path}: ${describe(error)}`)
    }
    try {
      // On a copy-on-write or journalling filesystem the old blocks may survive; the unlink is what counts.
      writeSync(fd, Buffer.alloc(KEY_BYTES), 0, KEY_BYTES, 0)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    unlinkSync(path)
    syncDir(this.dir)
    return true
  }

  private readKey(name: string): Buffer | undefined {
    const path = join(this.dir, name)
    let key: Buffer
    try {
      const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW)
      try {
        key = readFileSync(fd)
      } finally {
        closeSync(fd)
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new KeystoreError(`privacy keystore ${path}: ${describe(error)}`)
    }
    if (key.length !== KEY_BYTES)
      throw new KeystoreError(`privacy keystore ${path}: not a key (${key.length} bytes, expected ${KEY_BYTES})`)
    return key
  }

  /** A new random key under `name`; when another process made one first, that one. */
  private createKey(name: string): Buffer {
    const path = join(this.dir, name)
    const temp = join(this.dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
    const key = randomBytes(KEY_BYTES)
    try {
      const fd = openSync(temp, 'wx', 0o600)
      try {
        writeSync(fd, key)
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
      try {
        linkSync(temp, path)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
        const theirs = this.readKey(name)
        if (!theirs) throw error
        return theirs
      } finally {
        unlinkSync(temp)
      }
      syncDir(this.dir)
    } catch (error) {
      if (error instanceof KeystoreError) throw error
      throw new KeystoreError(`privacy keystore ${this.dir}: cannot create ${name}: ${describe(error)}`)
    }
    return key
  }
}

function subjectFile(subject: string): string {
  // Never a path: the id comes from our own blind index or a sealed value read from a log.
  if (!SUBJECT_ID.test(subject)) throw new AuditError(`not a subject id: ${JSON.stringify(subject.slice(0, 40))}`)
  return `${subject}.key`
}

function inside(path: string, dir: string): boolean {
  const rel = relative(dir, path)
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
}

function real(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException
  switch (e.code) {
    case 'ENOENT':
      return 'missing (create it: install -d -m 700 DIR)'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'ENOTDIR':
      return 'not a directory'
    case 'ELOOP':
      return 'a symbolic link, refused'
    default:
      return e.code ?? e.message
  }
}
