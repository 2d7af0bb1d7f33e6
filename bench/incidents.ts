/**
 * The labelled incident corpus for `audit analyze`: copies a generated log (scripts/generate-logs.ts)
 * with six incidents injected among its normal entries, re-chained, one file per day, and writes
 * `incidents.json` beside it: each incident's label, the detector expected to find it, when it
 * happened and the `file:line` of every injected entry.
 *
 *   node --import tsx bench/incidents.ts --from bench/corpus --out bench/corpus-incidents
 *
 * The incidents assume the generator's default end (2026-11-20T18:00Z) and 7 days; the range to
 * analyse is the last day: --since 2026-11-19T18:00:00Z --until 2026-11-20T18:00:00Z.
 */
import {once} from 'node:events'
import {createWriteStream, mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

import type {AuditEntry} from '../src/events/model.js'
import {chainLine, GENESIS, serializeBody} from '../src/chain/native.js'
import {listLogFiles} from '../src/store/files.js'
import {readEntryBatches} from '../src/store/reader.js'

export interface Incident {
  label: string
  /** The detector that must find it. */
  detector: string
  /** When it happened: a finding of that detector overlapping this window (± slack) matches. */
  from: string
  to: string
  /** The injected entries, `file:line` (none for silence, which removes entries). */
  refs: string[]
}

export const RANGE = {since: '2026-11-19T18:00:00.000Z', until: '2026-11-20T18:00:00.000Z'}

interface Planned {
  label: string
  detector: string
  from: number
  to: number
  entries: AuditEntry[]
  /** Normal entries in [from, to) are dropped (silence). */
  drop?: boolean
}

const meta = {hostname: 'bench', pid: 1, version: '0.0.0'}
const t = (iso: string) => Date.parse(iso)
const entry = (
  time: number,
  event: string,
  actor: string,
  details: Record<string, unknown>,
  level: AuditEntry['level'] = 'info',
): AuditEntry => ({timestamp: new Date(time).toISOString(), event, level, actor, details, metadata: meta})
const series = (n: number, start: number, stepMs: number, make: (time: number, i: number) => AuditEntry) =>
  Array.from({length: n}, (_, i) => make(start + i * stepMs, i))

export function plan(): Planned[] {
  return [
    {
      label: 'brute force: 15 bad passwords for eve from one IP in 5 minutes',
      detector: 'brute-force',
      from: t('2026-11-20T09:00:00Z'),
      to: t('2026-11-20T09:05:00Z'),
      entries: series(15, t('2026-11-20T09:00:00Z'), 20_000, (time) =>
        entry(time, 'auth.fail', 'eve', {ip: '198.51.100.66', reason: 'bad password'}, 'warning'),
      ),
    },
    {
      label: 'token-revoke storm: 600 revocations by carol in 2 minutes',
      detector: 'rate-spike',
      from: t('2026-11-20T14:00:00Z'),
      to: t('2026-11-20T14:02:00Z'),
      entries: series(600, t('2026-11-20T14:00:00Z'), 200, (time, i) =>
        entry(time, 'token.revoke', 'carol', {token_id: `tok-${i}`, ip: '10.0.3.7'}, 'warning'),
      ),
    },
    {
      label: 'off-hours config change by dave at 02:30 UTC',
      detector: 'off-hours',
      from: t('2026-11-20T02:30:00Z'),
      to: t('2026-11-20T02:30:01Z'),
      entries: [entry(t('2026-11-20T02:30:00Z'), 'config.change', 'dave', {key: 'integrity', old: 'true', new: 'false'}, 'warning')],
    },
    {
      label: 'first-seen IP: alice logs in from 192.0.2.200',
      detector: 'first-seen',
      from: t('2026-11-20T11:00:00Z'),
      to: t('2026-11-20T11:00:01Z'),
      entries: [entry(t('2026-11-20T11:00:00Z'), 'auth.login', 'alice', {ip: '192.0.2.200', method: 'password'})],
    },
    {
      label: 'rate spike: 1,500 API requests from bob in 3 minutes',
      detector: 'rate-spike',
      from: t('2026-11-19T21:00:00Z'),
      to: t('2026-11-19T21:03:00Z'),
      entries: series(1500, t('2026-11-19T21:00:00Z'), 120, (time, i) =>
        entry(time, 'api.request', 'bob', {
          method: 'POST',
          path: '/api/chat',
          model: 'llama3.2:3b',
          status: 200,
          request_id: `burst-${i}`,
          ip: '10.0.2.9',
        }),
      ),
    },
    {
      label: 'silence: nothing logged from 05:00 to 07:00 UTC',
      detector: 'silence',
      from: t('2026-11-20T05:00:00Z'),
      to: t('2026-11-20T07:00:00Z'),
      entries: [],
      drop: true,
    },
  ]
}

/** Copies `from` to `out` with the incidents injected; returns them with their line references. */
export async function injectIncidents(from: string, out: string): Promise<Incident[]> {
  mkdirSync(out, {recursive: true, mode: 0o700})
  const planned = plan()
  const injected = planned
    .flatMap((p, index) => p.entries.map((e) => ({e, index, time: Date.parse(e.timestamp)})))
    .sort((a, b) => a.time - b.time)
  const refs: string[][] = planned.map(() => [])
  const dropping = planned.filter((p) => p.drop)
  let prev = GENESIS
  let day = ''
  let lineNo = 0
  let stream: ReturnType<typeof createWriteStream> | undefined
  let pending: string[] = []
  const flush = async () => {
    if (pending.length && stream && !stream.write(pending.join(''))) await once(stream, 'drain')
    pending = []
  }
  const write = async (e: AuditEntry, index?: number) => {
    const d = e.timestamp.slice(0, 10)
    if (d !== day) {
      await flush()
      if (stream) {
        stream.end()
        await once(stream, 'close')
      }
      day = d
      lineNo = 0
      stream = createWriteStream(join(out, `audit-${day}.jsonl`), {mode: 0o600})
    }
    const {line, hash} = chainLine(serializeBody(e), prev)
    prev = hash
    lineNo++
    pending.push(`${line}\n`)
    if (pending.length >= 5000) await flush()
    if (index !== undefined) refs[index].push(`audit-${day}.jsonl:${lineNo}`)
  }
  let next = 0
  for await (const batch of readEntryBatches(await listLogFiles(from))) {
    for (const {entry: e, time} of batch) {
      while (next < injected.length && injected[next].time <= time) await write(injected[next].e, injected[next++].index)
      if (dropping.some((p) => time >= p.from && time < p.to)) continue
      const {chain_hash: _, ...body} = e
      await write(body)
    }
  }
  while (next < injected.length) await write(injected[next].e, injected[next++].index)
  await flush()
  if (stream) {
    stream.end()
    await once(stream, 'close')
  }
  const incidents = planned.map((p, i) => ({
    label: p.label,
    detector: p.detector,
    from: new Date(p.from).toISOString(),
    to: new Date(p.to).toISOString(),
    refs: refs[i],
  }))
  writeFileSync(join(out, 'incidents.json'), `${JSON.stringify({range: RANGE, incidents}, null, 2)}\n`, {mode: 0o600})
  return incidents
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const {values} = parseArgs({options: {from: {type: 'string'}, out: {type: 'string'}}})
  if (!values.from || !values.out) {
    console.error('usage: incidents.ts --from CORPUS_DIR --out DIR')
    process.exit(2)
  }
  if (readdirSync(values.from).length === 0) throw new Error(`${values.from} is empty`)
  const incidents = await injectIncidents(values.from, values.out)
  for (const i of incidents) console.error(`${i.label}: ${i.refs.length} entries`)
}
