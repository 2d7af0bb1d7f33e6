/**
 * A writer process for the concurrency and crash tests (run with `node --import tsx`).
 * CHILD_MODE=append: CHILD_COUNT sequential appends, the clock starting CHILD_CLOCK_START
 * and advancing 1 ms per append (so processes cross midnight while they interleave).
 * CHILD_MODE=flood: large entries in big concurrent batches until killed, or until a write fails
 * (then prints the error's code and exits 0); prints "ready" first.
 * CHILD_MODE=settled: CHILD_COUNT concurrent writes; prints which resolved.
 * CHILD_MODE=runs: what back-to-back `audit log` runs do, without starting a process each: a writer
 * opened with the config the binary would load (AUDIT_* included), one entry, closed; again until
 * SIGTERM, which ends the loop after the entry in hand; CHILD_PAUSE_MS between runs (a process
 * start's worth, so a test's directory does not fill with thousands of parts). Prints a line per entry.
 */
import {setTimeout as sleep} from 'node:timers/promises'

import {AuditWriter, loadConfig} from '../../src/index.js'

const dir = process.env.CHILD_DIR!
const mode = process.env.CHILD_MODE
const maxFileSize = Number(process.env.CHILD_MAX_FILE_SIZE ?? 10)

if (mode === 'append') {
  let tick = 0
  const start = Date.parse(process.env.CHILD_CLOCK_START!)
  const writer = await AuditWriter.open(dir, {
    max_file_size: maxFileSize,
    compress: process.env.CHILD_COMPRESS === '1',
    now: () => start + tick,
  })
  const count = Number(process.env.CHILD_COUNT)
  for (let seq = 0; seq < count; seq++) {
    await writer.write({event: 'test.append', actor: `p${process.pid}`, details: {pid: process.pid, seq}})
    tick++
  }
  await writer.close()
} else if (mode === 'flood') {
  const writer = await AuditWriter.open(dir, {max_file_size: maxFileSize, fsync: 'never'})
  process.stdout.write('ready\n')
  const pad = 'x'.repeat(20_000)
  try {
    for (let round = 0; ; round++) {
      await Promise.all(Array.from({length: 300}, (_, i) => writer.write({event: 'test.flood', details: {round, i, pad}})))
    }
  } catch (error) {
    process.stdout.write(`${(error as NodeJS.ErrnoException).code}\n`)
  }
} else if (mode === 'settled') {
  // CHILD_COUNT concurrent writes (one batch); prints which resolved, as JSON.
  const writer = await AuditWriter.open(dir, {fsync: 'always'})
  const pad = 'x'.repeat(200)
  const settled = await Promise.allSettled(
    Array.from({length: Number(process.env.CHILD_COUNT)}, (_, i) => writer.write({event: 'test.settled', details: {i, pad}})),
  )
  process.stdout.write(`${JSON.stringify(settled.map((r) => r.status === 'fulfilled'))}\n`)
} else if (mode === 'runs') {
  let stopping = false
  process.on('SIGTERM', () => {
    stopping = true
  })
  const {config} = loadConfig()
  for (let i = 0; !stopping; i++) {
    const writer = await AuditWriter.open(dir, config)
    await writer.write({event: 'test.rotate', details: {w: process.env.CHILD_NAME, i: String(i)}})
    await writer.close()
    process.stdout.write(`${i}\n`)
    await sleep(Number(process.env.CHILD_PAUSE_MS ?? 0))
  }
} else {
  throw new Error(`unknown CHILD_MODE ${mode}`)
}
