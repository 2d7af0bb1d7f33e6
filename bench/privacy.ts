/**
 * What crypto-shredding costs: the writer appending N entries with privacy.fields [actor,
 * details.ip, details.email] sealed against the same writer without them, and reading those entries
 * with the reveal step against reading them only. Runs alternate (plain, sealed, plain, …) so load
 * on the machine hits both alike; the ratios of the medians are the result. Prints a markdown section.
 *
 *   node --import tsx bench/privacy.ts [--entries 20000] [--runs 5]
 */
import {mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

import {AuditWriter, readEntries} from '../src/index.js'
import {Revealer} from '../src/privacy/privacy.js'

const {values} = parseArgs({options: {entries: {type: 'string', default: '20000'}, runs: {type: 'string', default: '5'}}})
const N = Number(values.entries)
const RUNS = Number(values.runs)
const root = mkdtempSync(join(tmpdir(), 'bench-privacy-'))
const keystore = join(root, 'keys')
mkdirSync(keystore, {mode: 0o700})
const PRIVACY = {fields: ['actor', 'details.ip', 'details.email'], keystore}

async function write(dir: string, sealed: boolean): Promise<number> {
  const writer = await AuditWriter.open(dir, {fsync: 'never', privacy: sealed ? PRIVACY : {fields: [], keystore: ''}})
  const start = process.hrtime.bigint()
  const pending: Promise<unknown>[] = []
  for (let i = 0; i < N; i++) {
    const user = `user${i % 500}`
    pending.push(
      writer.write({event: 'auth.login', actor: user, details: {ip: `10.0.${i % 250}.${i % 200}`, email: `${user}@example.org`, ok: true}}),
    )
  }
  await Promise.all(pending)
  await writer.close()
  return Number(process.hrtime.bigint() - start) / 1e9
}

async function read(dir: string, revealer: Revealer | undefined): Promise<number> {
  const start = process.hrtime.bigint()
  let n = 0
  for await (const located of readEntries(dir)) if ((revealer ? revealer.reveal(located) : located).entry.actor) n++
  if (n !== N) throw new Error(`read ${n} entries, expected ${N}`)
  return Number(process.hrtime.bigint() - start) / 1e9
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const load = loadavg()[0].toFixed(2)
const times = {writePlain: [] as number[], writeSealed: [] as number[], readPlain: [] as number[], readRevealed: [] as number[]}
for (let run = 0; run < RUNS; run++) {
  const plainDir = join(root, `plain-${run}`)
  const sealedDir = join(root, `sealed-${run}`)
  times.writePlain.push(await write(plainDir, false))
  times.writeSealed.push(await write(sealedDir, true))
  times.readPlain.push(await read(plainDir, undefined))
  times.readRevealed.push(await read(sealedDir, Revealer.open(PRIVACY, sealedDir)))
}
rmSync(root, {recursive: true, force: true})
const rate = (s: number) => `${Math.round(N / s).toLocaleString('en-US')}/s`
const [wp, ws, rp, rr] = [times.writePlain, times.writeSealed, times.readPlain, times.readRevealed].map(median)
console.log(`## Crypto-shredding cost (${N} entries, ${RUNS} alternating runs, load average ${load} at start)

| | plain | sealed | ratio |
| --- | --- | --- | --- |
| write (library writer, fsync never) | ${rate(wp)} | ${rate(ws)} | ${(ws / wp).toFixed(2)}x |
| read (+ reveal of 3 fields) | ${rate(rp)} | ${rate(rr)} | ${(rr / rp).toFixed(2)}x |
`)
