import assert from 'node:assert/strict'
import {readFileSync, renameSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'

import type {LocatedEntry} from '../../src/events/model.js'
import {Diagnostics} from '../../src/store/diagnostics.js'
import {CursorFile, entriesAfterCursor} from '../../src/transport/cursor.js'
import {chainedLines, tempDir, writeLog} from '../helpers.js'

function log(n: number) {
  const dir = tempDir()
  const {lines} = chainedLines(
    Array.from({length: n}, (_, i) => ({timestamp: `2026-11-02T10:00:0${i}.000Z`, event: 'api.request', details: {i}})),
  )
  const file = writeLog(dir, 'audit-2026-11-02.jsonl', lines)
  return {dir, file, hashes: lines.map((l) => (JSON.parse(l) as {chain_hash: string}).chain_hash)}
}

/** The first batch after the cursor (the follower then waits for more, so it is stopped). */
async function firstBatch(dir: string, cursor: CursorFile): Promise<LocatedEntry[]> {
  const stop = new AbortController()
  for await (const batch of entriesAfterCursor(dir, cursor.read()!, '--cursor', {
    diagnostics: new Diagnostics(),
    signal: stop.signal,
    pollMs: 10,
  })) {
    stop.abort()
    return batch
  }
  return []
}

test('cursor: saved 0600 with file, inode, line and chain hash; resumes right after that entry, also after a rename into a part', async () => {
  const {dir, file, hashes} = log(5)
  const cursor = new CursorFile(join(tempDir(), 'c.json'))
  assert.equal(cursor.read(), undefined)
  cursor.save({entry: {chain_hash: hashes[1]} as LocatedEntry['entry'], file, line: 2, time: 0, raw: '', profile: 'native'})
  assert.equal(statSync(cursor.path).mode & 0o777, 0o600)
  assert.deepEqual(JSON.parse(readFileSync(cursor.path, 'utf8')), {file, line: 2, ino: statSync(file).ino, chain_hash: hashes[1]})
  assert.deepEqual(
    (await firstBatch(dir, cursor)).map((l) => l.entry.chain_hash),
    hashes.slice(2),
  )
  renameSync(file, join(dir, 'audit-2026-11-02.001.jsonl'))
  assert.deepEqual(
    (await firstBatch(dir, cursor)).map((l) => l.entry.chain_hash),
    hashes.slice(2),
    'found by inode',
  )
})

test('cursor: an entry that is not the recorded one, or a file that is no cursor, is a one-line error', async () => {
  const {dir, file} = log(3)
  const cursor = new CursorFile(join(tempDir(), 'c.json'))
  writeFileSync(cursor.path, JSON.stringify({file, line: 2, ino: statSync(file).ino, chain_hash: 'f'.repeat(64)}))
  await assert.rejects(
    firstBatch(dir, cursor),
    /--cursor: .*audit-2026-11-02\.jsonl:2 is not the entry the cursor recorded \(chain hash differs\)/,
  )
  writeFileSync(cursor.path, 'garbage')
  assert.throws(() => cursor.read(), /not a cursor file/)
})
