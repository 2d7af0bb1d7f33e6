import {randomBytes} from 'node:crypto'
import {closeSync, openSync, readFileSync, readlinkSync, statSync, writeSync} from 'node:fs'
import {hostname, uptime} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {OutsideError} from '../errors.js'
import {unlinkQuiet} from './rotate.js'

/**
 * The cross-process lock of a log directory: a file `.audit.lock` created with O_EXCL that names
 * its holder (`pid host nonce`). Why our own and not proper-lockfile: proper-lockfile (mkdir plus an
 * mtime heartbeat) can only call a lock stale after its `stale` time (at least 2 s) and two
 * contenders that both judge it stale can both remove it and both "hold" it. Here a lock left by a
 * killed writer on this host is recognised at once (its pid is gone), breaking it is serialised by
 * a second O_EXCL file and only removes the exact lock that was judged stale, and taking and
 * dropping the lock are two synchronous syscalls, which is what lets one process append tens of
 * thousands of entries a second.
 */
export const LOCK_NAME = '.audit.lock'

/** A break file, held for a few syscalls, is left alone this long even when its holder is gone. */
const BREAKER_STALE_MS = 5_000

/** A lock whose holder cannot be checked (another host, or unreadable) is stale after this long. */
const FOREIGN_STALE_MS = 60_000

/**
 * Who we are: the host name, the pid namespace (two containers that share a host name but not their
 * pids never judge each other's locks by pid) and the boot (a lock left before a reboot may name a
 * pid that was reused since).
 */
const HOST = (() => {
  const read = (path: string, get: (p: string) => string) => {
    try {
      return get(path)
    } catch {
      return '?'
    }
  }
  const pidNamespace = read('/proc/self/ns/pid', (p) => readlinkSync(p).replace(/\D/g, ''))
  const boot = read('/proc/sys/kernel/random/boot_id', (p) => readFileSync(p, 'utf8').trim())
  return `${hostname()}/${pidNamespace}/${boot}`
})()

/** Nonces of the locks this process holds right now (a lock naming our pid with another nonce is a leftover). */
const heldHere = new Set<string>()

export class LockTimeoutError extends OutsideError {}

interface Observed {
  text: string
  ageMs: number
}

function readLock(path: string): Observed | undefined {
  try {
    const text = readFileSync(path, 'utf8')
    return {text, ageMs: Date.now() - statSync(path).mtimeMs}
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}

/** True when the holder named in a lock file cannot still be running. */
function isStale({text, ageMs}: Observed): boolean {
  const [pidText, host, nonce] = text.split(' ')
  const pid = Number(pidText)
  // Empty or odd content: a holder between creating and filling the file, or garbage.
  if (!Number.isInteger(pid) || pid <= 0 || !host || !nonce) return ageMs > FOREIGN_STALE_MS
  if (host !== HOST) {
    // Written on this host before it last booted: its holder is gone.
    if (host.split('/')[0] === hostname() && ageMs > uptime() * 1000) return true
    return ageMs > FOREIGN_STALE_MS
  }
  if (pid === process.pid) return !heldHere.has(nonce.trim())
  return !pidAlive(pid)
}

function describeHolder(observed: Observed | undefined): string {
  if (!observed) return 'another writer'
  const [pid, host] = observed.text.split(' ')
  return `pid ${pid} on ${host ?? '?'} for ${Math.round(observed.ageMs / 1000)} s`
}

function createExclusive(path: string, text: string): boolean {
  let fd: number
  try {
    fd = openSync(path, 'wx', 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
  try {
    writeSync(fd, text)
  } finally {
    closeSync(fd)
  }
  return true
}

/**
 * Removes a stale lock, but only the one observed: breakers take `.audit.lock.break` first, so no
 * two remove locks at once, and a fresh lock taken in between is left alone.
 */
function breakStale(path: string, observed: Observed): void {
  const breakPath = `${path}.break`
  const me = `${process.pid} ${HOST} ${randomBytes(8).toString('hex')}`
  if (!createExclusive(breakPath, me)) {
    // Someone is breaking it now, or a breaker died holding the break file. A live breaker holds
    // it for a few syscalls: only one judged stale, left a while, and unchanged since is removed.
    const breaker = readLock(breakPath)
    if (breaker && breaker.ageMs > BREAKER_STALE_MS && isStale(breaker) && readLock(breakPath)?.text === breaker.text)
      unlinkQuiet(breakPath)
    return
  }
  try {
    if (readLock(path)?.text === observed.text) unlinkQuiet(path)
  } finally {
    unlinkQuiet(breakPath)
  }
}

export interface LockOptions {
  /** Give up waiting after this long. */
  timeoutMs?: number
  /** The lock file's name in the directory (default `.audit.lock`, the log directory's lock). */
  name?: string
}

/** A lock file in a directory: by default the log directory's own. Not re-entrant: one acquire, then one release. */
export class DirectoryLock {
  readonly path: string
  private nonce: string | undefined
  private readonly timeoutMs: number

  constructor(dir: string, options: LockOptions = {}) {
    this.path = join(dir, options.name ?? LOCK_NAME)
    this.timeoutMs = options.timeoutMs ?? 60_000
  }

  /** One attempt, without waiting; breaks a stale lock on the way. */
  tryAcquire(): boolean {
    if (this.create()) return true
    const observed = readLock(this.path)
    if (!observed || !isStale(observed)) return false
    breakStale(this.path, observed)
    return this.create()
  }

  private create(): boolean {
    const nonce = randomBytes(8).toString('hex')
    // Registered first, so a contender in this process never takes our lock for a leftover.
    heldHere.add(nonce)
    if (createExclusive(this.path, `${process.pid} ${HOST} ${nonce}`)) {
      this.nonce = nonce
      return true
    }
    heldHere.delete(nonce)
    return false
  }

  /** Waits for the lock: an immediate retry or two, then short randomised sleeps. */
  async acquire(): Promise<void> {
    const start = Date.now()
    for (let attempt = 0; ; attempt++) {
      if (this.tryAcquire()) return
      if (Date.now() - start > this.timeoutMs) {
        throw new LockTimeoutError(`could not lock ${this.path}: held by ${describeHolder(readLock(this.path))}`)
      }
      const ms = attempt < 2 ? 0 : Math.min(8, 2 ** (attempt - 2)) * Math.random()
      await (ms === 0 ? new Promise((resolve) => setImmediate(resolve)) : sleep(ms))
    }
  }

  release(): void {
    if (this.nonce === undefined) return
    heldHere.delete(this.nonce)
    this.nonce = undefined
    unlinkQuiet(this.path)
  }
}
