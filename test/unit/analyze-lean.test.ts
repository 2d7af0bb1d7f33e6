import assert from 'node:assert/strict'
import {join} from 'node:path'
import {test} from 'node:test'

import {logItems, type SourceItem} from '../../src/analyze/sources.js'
import {chainLine, GENESIS, serializeBody} from '../../src/chain/native.js'
import type {FilterSpec} from '../../src/events/filter.js'
import {Diagnostics} from '../../src/store/diagnostics.js'
import {writeMixedFile} from '../canonical-fuzz.js'
import {tempDir, seededRandom} from '../helpers.js'

const {random, pick} = seededRandom(5)

const DETAILS: Array<Record<string, unknown>> = [
  {},
  {ip: '10.0.0.1', reason: 'bad password 42'},
  {client_ip: '', src_ip: '10.0.0.9', model: 'llama3'},
  {model: 'gpt-x', error: 'timeout after 30s'},
  {ip: 7, message: 'x'},
  {nested: {ip: '1.1.1.1'}},
  {error: null, reason: 'denied for 10.1.2.3', message: 'm'},
  {error: 5, reason: 'r'},
  {message: 'a,b}c:"', 'odd,"key}': 'x', ip_address: '10.0.0.3', ip: ''},
  {remote_addr: '10.9.9.9', source_ip: '10.8.8.8', model: '', reason: true},
  {message: -1.5e-3, error: false, model: null},
]

function randomLine(minute: number): string {
  const body = serializeBody({
    timestamp: new Date(Date.UTC(2026, 10, 2, 10, minute, Math.floor(random() * 60))).toISOString(),
    event: pick(['auth.login', 'auth.fail', 'api.request', 'token.revoke', 'x.y.error']),
    level: pick(['info', 'warning', 'error', 'debug']),
    actor: pick(['alice', 'bob', 'eve', 'ünï']),
    details: pick(DETAILS),
    metadata: {hostname: 'web-1', pid: 4000},
  })
  const line = random() < 0.8 ? chainLine(body, GENESIS).line : body
  switch (Math.floor(random() * 8)) {
    case 0:
      return line.replace('"actor":"', '"actor":"\\u0061') // an escape: the full decoder's
    case 1:
      return line.replace('"level":"warning"', '"level":"WARN"')
    case 2:
      // duplicate members: the last wins
      return line.replace('"details":{', pick(['"details":{"ip":"9.9.9.9",', '"details":{"error":"e 1","model":"m",', '"details":{"x":1,']))
    case 3:
      return `${line} `
    default:
      return line
  }
}

/** Canonical and bent lines, torn lines (mostly followed by their recovery record), bad UTF-8, blanks. */
function writeMixed(path: string, lines: number): void {
  const minute = (i: number) => Math.floor((i / lines) * 60)
  writeMixedFile(path, lines, {
    random,
    line: (i) => randomLine(minute(i)),
    recoveryTime: (i) => new Date(Date.UTC(2026, 10, 2, 10, minute(i))).toISOString(),
    unterminated: true,
  })
}

/** What the detectors and the LLM sample take from an item. */
const view = ({time, event, level, actor, ip, model, failure, file, line, reason}: SourceItem) => ({
  time,
  event,
  level,
  actor,
  ip,
  model,
  failure,
  file,
  line,
  reason,
})

async function collect(dir: string, filter: FilterSpec) {
  const diagnostics = new Diagnostics()
  const items: ReturnType<typeof view>[] = []
  for await (const batch of logItems(dir, filter, undefined, diagnostics)) for (const item of batch) items.push(view(item))
  return {items, problems: diagnostics.toJSON()}
}

test('a time range reads canonical lines by position and gives what the search reader gives, problems included', async () => {
  const dir = tempDir()
  writeMixed(join(dir, 'audit-2026-11-02.001.jsonl'), 3000)
  writeMixed(join(dir, 'audit-2026-11-02.jsonl'), 3000)
  for (const range of [{}, {since: Date.UTC(2026, 10, 2, 10, 20), until: Date.UTC(2026, 10, 2, 10, 45)}]) {
    const lean = await collect(dir, range)
    // Any other filter takes the search reader; `*` matches every event.
    const searched = await collect(dir, {...range, events: ['*']})
    assert.deepEqual(lean, searched)
    assert.ok(lean.items.length > 1000)
    assert.ok(lean.problems.length >= 3, JSON.stringify(lean.problems))
  }
})
