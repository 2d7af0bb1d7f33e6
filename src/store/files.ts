import {readdir, stat} from 'node:fs/promises'
import {join} from 'node:path'

/**
 * A log file recognised by its name: `audit-YYYY-MM-DD[.PART].jsonl[.gz]`, where PART is a numbered
 * size-rotated part (`001`) or a loki-mode rotation time (`HHMMSS`). The unsuffixed file is the day's
 * live, newest part.
 */
export interface LogFile {
  path: string
  name: string
  /** UTC day, `YYYY-MM-DD`. */
  day: string
  /** Part number; `Infinity` for the live file so it sorts after its day's closed parts. */
  part: number
  gzip: boolean
}

const NAME = /^audit-(\d{4}-\d{2}-\d{2})(?:\.(\d{3}|\d{6}))?\.jsonl(\.gz)?$/

export function parseLogFileName(name: string): Omit<LogFile, 'path'> | undefined {
  const m = NAME.exec(name)
  if (!m) return undefined
  const [, day, part, gz] = m
  if (Number.isNaN(Date.parse(`${day}T00:00:00Z`))) return undefined
  return {name, day, part: part === undefined ? Number.POSITIVE_INFINITY : Number(part), gzip: gz !== undefined}
}

/** A log file's name without `.gz`: a part keeps its identity when it is compressed. */
export function plainName(name: string): string {
  return name.replace(/\.gz$/, '')
}

/** Chain order: by day, then numbered parts ascending, then the live file. Never by mtime. */
export function compareLogFiles(a: Omit<LogFile, 'path'>, b: Omit<LogFile, 'path'>): number {
  if (a.day !== b.day) return a.day < b.day ? -1 : 1
  if (a.part !== b.part) return a.part < b.part ? -1 : 1
  // The same part both plain and gzipped happens only mid-compression: plain first.
  return Number(a.gzip) - Number(b.gzip)
}

export class LogDirectoryError extends Error {}

/** Epoch ms of the start of a `YYYY-MM-DD` UTC day. */
export function dayStart(day: string): number {
  return Date.parse(`${day}T00:00:00.000Z`)
}

export const DAY_MS = 86_400_000
/** Writers stamp an entry before they pick its file, so an entry may sit a little outside its file's day. */
export const DAY_SLACK_MS = 10 * 60_000

/**
 * Lists a directory's log files in chain order. When a part exists both plain and gzipped
 * (a compression in progress), only the plain one is returned, as it is complete.
 * With a range, files whose day cannot hold entries in it are left out without being opened.
 */
export async function listLogFiles(dir: string, range: {since?: number; until?: number} = {}): Promise<LogFile[]> {
  let names: string[]
  try {
    const info = await stat(dir)
    if (!info.isDirectory()) throw new LogDirectoryError(`${dir}: not a directory`)
    names = await readdir(dir)
  } catch (error) {
    if (error instanceof LogDirectoryError) throw error
    const code = (error as NodeJS.ErrnoException).code
    const reason = code === 'ENOENT' ? 'no such directory' : code === 'EACCES' ? 'permission denied' : (error as Error).message
    throw new LogDirectoryError(`${dir}: ${reason}`)
  }

  const files: LogFile[] = []
  for (const name of names) {
    const parsed = parseLogFileName(name)
    if (!parsed) continue
    const start = dayStart(parsed.day)
    if (range.until !== undefined && start - DAY_SLACK_MS >= range.until) continue
    if (range.since !== undefined && start + DAY_MS + DAY_SLACK_MS <= range.since) continue
    files.push({...parsed, path: join(dir, name)})
  }
  files.sort(compareLogFiles)
  return files.filter((f, i) => !(f.gzip && i > 0 && files[i - 1].day === f.day && files[i - 1].part === f.part))
}
