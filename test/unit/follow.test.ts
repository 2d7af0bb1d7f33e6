import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {appendFileSync, readFileSync, renameSync, truncateSync, unlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {promisify} from 'node:util'
import {gzipSync} from 'node:zlib'

import type {LocatedEntry} from '../../src/events/model.js'
import {Diagnostics} from '../../src/store/diagnostics.js'
import {listLogFiles} from '../../src/store/files.js'
import {followEntries} from '../../src/store/follow.js'
import {type FilePosition, readLastEntries} from '../../src/store/tail.js'
import {AuditWriter} from '../../src/index.js'
import {chainedLines, liveFile, tempDir, writeLog} from '../helpers.js'

const DEADLINE_MS = 20_000 // a correctness deadline for a loaded machine, not a timing assertion
const POLL_MS = 20

/** A chain of `n` native lines, handed out in order with `take`. */
function chain(n: number) {
  const specs = Array.from({length: n}, (_, i) => ({
    timestamp: `2026-03-01T10:00:${String(i % 60).padStart(2, '0')}.000Z`,
    event: 'test.step',
    details: {i},
  }))
  const {lines} = chainedLines(specs)
  let next = 0
  return {
    all: lines,
    take(k: number): string[] {
      assert.ok(next + k <= lines.length, 'chain too short for the test')
      next += k
      return lines.slice(next - k, next)
    },
  }
}

const text = (lines: string[]) => lines.map((l) => `${l}\n`).join('')
const hashOf = (line: string) => (JSON.parse(line) as {chain_hash: string}).chain_hash

/** Runs followEntries in the background, collecting what it yields. */
function follow(dir: string, start?: FilePosition) {
  const controller = new AbortController()
  const diagnostics = new Diagnostics()
  const got: LocatedEntry[] = []
  const done = (async () => {
    for await (const batch of followEntries(dir, {start, diagnostics, pollMs: POLL_MS, signal: controller.signal})) got.push(...batch)
  })()
  let failure: unknown
  done.catch((error: unknown) => {
    failure = error
  })
  return {
    got,
    diagnostics,
    hashes: () => got.map((e) => e.entry.chain_hash),
    /** Waits until `count` entries have arrived (or the follower failed, or the deadline passed). */
    async until(count: number): Promise<void> {
      const deadline = Date.now() + DEADLINE_MS
      while (got.length < count && failure === undefined && Date.now() < deadline) await sleep(5)
      if (failure !== undefined) throw failure
      assert.ok(got.length >= count, `only ${got.length} of ${count} entries arrived`)
    },
    async stop(): Promise<void> {
      controller.abort()
      await done
    },
  }
}

/**
 * Checks that exactly the given lines arrived, in order. A last line is appended and awaited first,
 * so a repeat of anything before it would have shown up by then.
 */
async function expectExactly(f: ReturnType<typeof follow>, livePath: string, expected: string[], sentinel: string): Promise<void> {
  appendFileSync(livePath, `${sentinel}\n`)
  await f.until(expected.length + 1)
  assert.deepEqual(f.hashes(), [...expected, sentinel].map(hashOf))
  assert.deepEqual(f.diagnostics.lines(), [])
}

function gzipPart(dir: string, name: string): void {
  const plain = join(dir, name)
  writeFileSync(`${plain}.gz`, gzipSync(readFileSync(plain)))
  unlinkSync(plain)
}

/**
 * A writer in another process, so its rotations really race the follower: appends each line, rotates
 * the live file into the next part (link, then unlink, as the writer does) every ~1 KB and gzips most
 * parts at once, and starts the next day half way. Paced at about a line a millisecond, so the
 * follower keeps up and meets the live file as it is rotated, not only closed parts.
 */
const RACING_WRITER = `
const fs = require('node:fs'), path = require('node:path'), zlib = require('node:zlib')
const [dir, linesFile] = process.argv.slice(1)
const lines = JSON.parse(fs.readFileSync(linesFile, 'utf8'))
const tick = new Int32Array(new SharedArrayBuffer(4))
let day = '2026-03-01', part = 0
const live = () => path.join(dir, 'audit-' + day + '.jsonl')
lines.forEach((line, i) => {
  if (i === lines.length >> 1) { day = '2026-03-02'; part = 0 }
  Atomics.wait(tick, 0, 0, 1)
  fs.appendFileSync(live(), line + '\\n')
  if (fs.statSync(live()).size < 1024) return
  const name = path.join(dir, 'audit-' + day + '.' + String(++part).padStart(3, '0') + '.jsonl')
  fs.linkSync(live(), name)
  fs.unlinkSync(live())
  fs.writeFileSync(live(), '', {flag: 'wx'})
  if (i % 5 !== 0) {
    fs.writeFileSync(name + '.gz', zlib.gzipSync(fs.readFileSync(name)))
    fs.unlinkSync(name)
  }
})
`

describe('followEntries', () => {
  it('goes on from the end readLastEntries returns, with the right line numbers', async () => {
    const dir = tempDir()
    const c = chain(10)
    const live = writeLog(dir, 'audit-2026-03-01.jsonl', c.take(3))
    const {end} = await readLastEntries(await listLogFiles(dir), 0)
    assert.ok(end)
    const f = follow(dir, end)
    try {
      const more = c.take(2)
      appendFileSync(live, text(more))
      await f.until(2)
      assert.deepEqual(
        f.got.map((e) => [e.file, e.line]),
        [
          [live, 4],
          [live, 5],
        ],
      )
      await expectExactly(f, live, more, c.take(1)[0])
    } finally {
      await f.stop()
    }
  })

  it('resumes with the same line numbers whether or not the reading before counted them (CRLF, a torn line, an over-long line)', async () => {
    const dir = tempDir()
    const c = chain(20)
    const [a, b, d] = c.take(3)
    // CRLF ends, a blank line, a torn line, a 1.5 MB line and a line that is not JSON before the resume point.
    const before = `${a}\r\n\n{"timestamp":"2026-\n${'x'.repeat(1.5 * 1024 * 1024)}\n${b}\r\n{not json\n${d}\n`
    const live = join(dir, 'audit-2026-03-01.jsonl')
    writeFileSync(live, before, {mode: 0o600})
    for (const numberLines of [false, true]) {
      const linesBefore = readFileSync(live, 'latin1').split('\n').length - 1
      const {end} = await readLastEntries(await listLogFiles(dir), 1, {numberLines, diagnostics: new Diagnostics()})
      assert.ok(end)
      // Counted only when csv numbers were shown (or a problem was met); else the follower counts them when needed.
      assert.equal(end.line, numberLines ? linesBefore : undefined)
      const f = follow(dir, end)
      try {
        const more = c.take(2)
        appendFileSync(live, `${more[0]}\r\n{bad\n${more[1]}\n`)
        await f.until(2)
        const base = linesBefore
        assert.deepEqual(
          f.got.map((e) => e.line),
          [base + 1, base + 3],
        )
        assert.match(f.diagnostics.lines().join('\n'), new RegExp(`1 malformed line, at audit-2026-03-01\\.jsonl:${base + 2} `))
      } finally {
        await f.stop()
      }
    }
  })

  it('resumes after a gzip part with the next file, from its start', async () => {
    const dir = tempDir()
    const c = chain(10)
    writeLog(dir, 'audit-2026-03-01.001.jsonl', c.take(3))
    gzipPart(dir, 'audit-2026-03-01.001.jsonl')
    const {end} = await readLastEntries(await listLogFiles(dir), 2)
    assert.ok(end?.path.endsWith('.001.jsonl.gz'))
    const f = follow(dir, end)
    try {
      const next = c.take(2)
      const live = writeLog(dir, 'audit-2026-03-01.jsonl', next)
      await f.until(2)
      assert.deepEqual(
        f.got.map((e) => e.line),
        [1, 2],
      )
      await expectExactly(f, live, next, c.take(1)[0])
    } finally {
      await f.stop()
    }
  })

  it('waits for files in an empty directory and reads them from their start', async () => {
    const dir = tempDir()
    const c = chain(10)
    const f = follow(dir)
    try {
      const first = c.take(3)
      const live = writeLog(dir, 'audit-2026-03-01.jsonl', first)
      await expectExactly(f, live, first, c.take(1)[0])
    } finally {
      await f.stop()
    }
  })

  it('goes on into the next day at midnight, reading what was added to the old day just before', async () => {
    const dir = tempDir()
    const c = chain(20)
    const expected: string[] = []
    const day1 = writeLog(dir, 'audit-2026-03-01.jsonl', [])
    const f = follow(dir)
    try {
      expected.push(...c.take(2))
      appendFileSync(day1, text(expected))
      await f.until(2)
      // The writer's last lines in the old day, then the new day's file, with no poll in between.
      const last = c.take(2)
      const next = c.take(2)
      appendFileSync(day1, text(last))
      const day2 = writeLog(dir, 'audit-2026-03-02.jsonl', next)
      expected.push(...last, ...next)
      await f.until(expected.length)
      assert.equal(f.got.at(-1)?.file, day2)
      assert.equal(f.got.at(-1)?.line, 2)
      await expectExactly(f, day2, expected, c.take(1)[0])
    } finally {
      await f.stop()
    }
  })

  it('settles the unterminated last line of the old file, as a reader would, once the next file begins', async () => {
    const dir = tempDir()
    const c = chain(10)
    const day1 = writeLog(dir, 'audit-2026-03-01.jsonl', [])
    const f = follow(dir)
    try {
      const [one, two] = c.take(2)
      appendFileSync(day1, `${one}\n${two}`) // a whole entry, but its LF never came
      await f.until(1)
      const day2 = writeLog(dir, 'audit-2026-03-02.jsonl', [])
      // Not an entry without its LF: reported, as search reports it, and not shown.
      const sentinel = c.take(1)[0]
      appendFileSync(day2, `${sentinel}\n`)
      await f.until(2)
      assert.deepEqual(f.hashes(), [one, sentinel].map(hashOf))
      assert.deepEqual(f.diagnostics.lines(), [
        `warning: 1 unterminated last line, at audit-2026-03-01.jsonl:2 (${Buffer.byteLength(two)} bytes without a final newline)`,
      ])
    } finally {
      await f.stop()
    }
  })

  it('goes on across size rotation: the live file renamed to the next part, a new live file', async () => {
    const dir = tempDir()
    const c = chain(20)
    writeLog(dir, 'audit-2026-03-01.001.jsonl', c.take(2)) // an older part
    const live = writeLog(dir, 'audit-2026-03-01.jsonl', c.take(2))
    const {end} = await readLastEntries(await listLogFiles(dir), 0)
    const f = follow(dir, end)
    try {
      const expected = c.take(2)
      appendFileSync(live, text(expected))
      await f.until(2)
      const tailOfOld = c.take(1)
      appendFileSync(live, text(tailOfOld))
      renameSync(live, join(dir, 'audit-2026-03-01.002.jsonl'))
      const fresh = c.take(2)
      writeLog(dir, 'audit-2026-03-01.jsonl', fresh)
      expected.push(...tailOfOld, ...fresh)
      await expectExactly(f, live, expected, c.take(1)[0])
    } finally {
      await f.stop()
    }
  })

  it('neither skips the new live file nor re-reads the old part when it is gzipped right after the rename', async () => {
    const dir = tempDir()
    const c = chain(30)
    const live = join(dir, 'audit-2026-03-01.jsonl')
    const expected = c.take(3)
    writeLog(dir, 'audit-2026-03-01.jsonl', expected)
    const f = follow(dir)
    try {
      await f.until(3)
      // Two size rotations, each part gzipped at once, all before the follower looks again: the
      // file it holds is gone from the directory and must be recognised as the first .gz.
      const lastOfA = c.take(1)
      appendFileSync(live, text(lastOfA))
      renameSync(live, join(dir, 'audit-2026-03-01.001.jsonl'))
      const b = c.take(2)
      writeLog(dir, 'audit-2026-03-01.jsonl', b)
      gzipPart(dir, 'audit-2026-03-01.001.jsonl')
      renameSync(live, join(dir, 'audit-2026-03-01.002.jsonl'))
      gzipPart(dir, 'audit-2026-03-01.002.jsonl')
      const cLines = c.take(2)
      writeLog(dir, 'audit-2026-03-01.jsonl', cLines)
      expected.push(...lastOfA, ...b, ...cLines)
      await expectExactly(f, live, expected, c.take(1)[0])
    } finally {
      await f.stop()
    }
  })

  it('orders loki-mode rotation names (audit-D.HHMMSS.jsonl) like numbered parts', async () => {
    const dir = tempDir()
    const c = chain(20)
    const live = join(dir, 'audit-2026-03-01.jsonl')
    const expected = c.take(2)
    writeLog(dir, 'audit-2026-03-01.jsonl', expected)
    const f = follow(dir)
    try {
      await f.until(2)
      renameSync(live, join(dir, 'audit-2026-03-01.101500.jsonl'))
      const fresh = c.take(2)
      writeLog(dir, 'audit-2026-03-01.jsonl', fresh)
      expected.push(...fresh)
      await expectExactly(f, live, expected, c.take(1)[0])
    } finally {
      await f.stop()
    }
  })

  it('starts again from the top after copytruncate', async () => {
    const dir = tempDir()
    const c = chain(20)
    const live = writeLog(dir, 'audit-2026-03-01.jsonl', [])
    const f = follow(dir)
    try {
      const before = c.take(3)
      appendFileSync(live, text(before))
      await f.until(3)
      truncateSync(live, 0)
      const after = c.take(1)
      appendFileSync(live, text(after))
      await f.until(4)
      assert.equal(f.got[3].line, 1)
      await expectExactly(f, live, [...before, ...after], c.take(1)[0])
    } finally {
      await f.stop()
    }
  })

  it('holds back a line until its LF arrives', async () => {
    const dir = tempDir()
    const c = chain(10)
    const live = writeLog(dir, 'audit-2026-03-01.jsonl', [])
    const f = follow(dir)
    try {
      const [one, two] = c.take(2)
      appendFileSync(live, `${one}\n${two.slice(0, 40)}`)
      await f.until(1)
      await sleep(POLL_MS * 5) // several polls see the half line (the check below holds however few ran)
      assert.equal(f.got.length, 1)
      appendFileSync(live, `${two.slice(40)}\n`)
      await f.until(2)
      assert.equal(f.got[1].raw, two)
      assert.equal(f.got[1].line, 2)
      await expectExactly(f, live, [one, two], c.take(1)[0])
    } finally {
      await f.stop()
    }
  })

  it('does not report a torn line that the writer recovered on restart (moved into a part, recorded, then a new live file)', async () => {
    const dir = tempDir()
    const first = await AuditWriter.open(dir)
    await first.write({event: 'test.before', details: {}})
    await first.close()
    const live = liveFile(dir)
    const f = follow(dir)
    try {
      await f.until(1)
      appendFileSync(live, '{"timestamp":"2026-') // a crash mid-append
      await sleep(POLL_MS * 3)
      const restarted = await AuditWriter.open(dir)
      await restarted.write({event: 'test.after', details: {}})
      await restarted.close()
      await f.until(3)
      assert.deepEqual(
        f.got.map((e) => e.entry.event),
        ['test.before', 'audit.recovery', 'test.after'],
      )
      assert.deepEqual(f.diagnostics.lines(), [])
    } finally {
      await f.stop()
    }
  })

  it('reports a bad line with its number and goes on', async () => {
    const dir = tempDir()
    const c = chain(10)
    const live = writeLog(dir, 'audit-2026-03-01.jsonl', [])
    const f = follow(dir)
    try {
      const [one, two] = c.take(2)
      appendFileSync(live, `${one}\n{not json\n${two}\n`)
      await f.until(2)
      assert.deepEqual(
        f.got.map((e) => e.line),
        [1, 3],
      )
      assert.match(f.diagnostics.lines().join('\n'), /1 malformed line, at audit-2026-03-01\.jsonl:2/)
    } finally {
      await f.stop()
    }
  })

  it('keeps every entry exactly once through many rotations racing the follower', async () => {
    const dir = tempDir()
    const c = chain(400)
    const live = join(dir, 'audit-2026-03-01.jsonl')
    writeLog(dir, 'audit-2026-03-01.jsonl', [])
    const f = follow(dir)
    const expected: string[] = []
    let part = 0
    let seed = 7
    const random = (n: number) => {
      seed = (seed * 48_271) % 2_147_483_647
      return seed % n
    }
    try {
      for (let round = 0; round < 40; round++) {
        const lines = c.take(1 + random(4))
        appendFileSync(live, text(lines))
        expected.push(...lines)
        if (random(3) === 0) {
          const name = `audit-2026-03-01.${String(++part).padStart(3, '0')}.jsonl`
          renameSync(live, join(dir, name))
          writeLog(dir, 'audit-2026-03-01.jsonl', [])
          if (random(2) === 0) gzipPart(dir, name)
        }
        // Sometimes let the follower catch up, sometimes not at all.
        const pace = random(4)
        if (pace < 2) await f.until(expected.length)
        else if (pace === 2) await sleep(random(3) * POLL_MS)
      }
      await expectExactly(f, live, expected, c.take(1)[0])
    } finally {
      await f.stop()
    }
  })
  it('keeps every entry exactly once while a writer process rotates and compresses every few entries', async () => {
    const dir = tempDir()
    const c = chain(2000)
    const lines = c.take(1999)
    const linesFile = join(tempDir(), 'lines.json')
    writeFileSync(linesFile, JSON.stringify(lines))
    const f = follow(dir)
    try {
      await promisify(execFile)(process.execPath, ['-e', RACING_WRITER, dir, linesFile])
      await expectExactly(f, join(dir, 'audit-2026-03-02.jsonl'), lines, c.take(1)[0])
    } finally {
      await f.stop()
    }
  })
})
