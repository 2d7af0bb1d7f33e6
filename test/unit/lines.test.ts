import assert from 'node:assert/strict'
import {test} from 'node:test'

import {type BackLine, type BackOverLong, BackwardFramer, type Framed, ForwardFramer, LF} from '../../src/store/lines.js'

/** What a framing produced, as text: a line (its bytes as latin1, so any byte shows), or `long:N` / `long-start:N`. */
function forward(input: Buffer, cuts: number[], limit: number): {items: string[]; end?: string; offsets: number[]} {
  const framer = new ForwardFramer(0, false, limit)
  const items: string[] = []
  const offsets: number[] = []
  const take = (framed: Framed[]) => {
    for (const f of framed) {
      if (!Buffer.isBuffer(f)) items.push(`${f.ended ? 'long' : 'long-start'}:${f.overLong}`)
      else for (const line of f.subarray(0, -1).toString('latin1').split('\n')) items.push(line)
    }
  }
  let at = 0
  for (const cut of [...cuts, input.length]) {
    take(framer.push(input.subarray(at, cut)))
    offsets.push(framer.offset)
    at = cut
  }
  const last = framer.finish()
  const end = last === undefined ? undefined : Buffer.isBuffer(last) ? `torn:${last.toString('latin1')}` : `long-unended:${last.overLong}`
  return {items, end, offsets}
}

/** Every way of cutting `input` into two chunks, and a few into many. */
function cutsOf(input: Buffer): number[][] {
  const all: number[][] = [[]]
  for (let i = 1; i < input.length; i++) all.push([i])
  for (let step = 1; step <= 5; step++) all.push(Array.from({length: Math.floor((input.length - 1) / step)}, (_, i) => (i + 1) * step))
  return all
}

test('forward: the same lines and over-long lines however the bytes are cut into chunks', () => {
  const input = Buffer.from('a\r\nbb\nLONG-LONG-LONG\nc\n\nXXXXXXXXXXXXXXXXXXX\nd\ntorn')
  for (const cuts of cutsOf(input)) {
    const {items, end, offsets} = forward(input, cuts, 10)
    // An over-long line is framed (found, then ended with its length) when it crosses a chunk's end;
    // wholly inside a block, the one who splits the block sees its length.
    const lines = items
      .filter((i) => !i.startsWith('long-start:'))
      .map((i) => (!i.startsWith('long:') && i.length > 10 ? `long:${i.length}` : i))
    assert.deepEqual(lines, ['a\r', 'bb', 'long:14', 'c', '', 'long:19', 'd'], `cuts ${cuts}`)
    assert.equal(
      items.filter((i) => i.startsWith('long-start:')).length,
      items.filter((i) => i.startsWith('long:')).length,
      'each framed one found, then ended',
    )
    assert.equal(end, 'torn:torn')
    assert.equal(offsets.at(-1), input.length - 4, 'the offset stops before the torn line')
  }
})

test('forward: an over-long line is never gathered; its length is told when its LF comes', () => {
  const framer = new ForwardFramer(0, false, 8)
  assert.deepEqual(framer.push(Buffer.from('ok\n0123456789')), [Buffer.from('ok\n'), {overLong: 10, ended: false}])
  assert.equal(framer.carried, 0)
  assert.deepEqual(framer.push(Buffer.from('x'.repeat(1000))), [])
  assert.equal(framer.carried, 0) // skipped, not kept
  assert.deepEqual(framer.push(Buffer.from('yy\nnext\n')), [{overLong: 1012, ended: true}, Buffer.from('next\n')])
  assert.equal(framer.offset, 3 + 10 + 1000 + 8)
  assert.equal(framer.finish(), undefined)
})

test('forward: a file ending inside an over-long line, or with a torn line, or with LF', () => {
  const long = new ForwardFramer(0, false, 4)
  long.push(Buffer.from('a\nbbbbbbb'))
  assert.deepEqual(long.finish(), {overLong: 7, ended: false})
  const torn = new ForwardFramer(0, false, 4)
  torn.push(Buffer.from('a\nb'))
  torn.push(Buffer.from('c'))
  assert.equal(torn.offset, 2) // after the last whole line: a follower reads the torn one again
  assert.deepEqual(torn.finish(), Buffer.from('bc'))
  const whole = new ForwardFramer(0, false, 4)
  whole.push(Buffer.from('a\n'))
  assert.equal(whole.finish(), undefined)
})

test('forward: bytes that are not UTF-8, even a character cut between chunks, pass through unchanged', () => {
  const line = Buffer.from([0x7b, 0xe2, 0x82, 0xac, 0xff, 0xfe, 0xc3, 0x7d, LF])
  for (let cut = 1; cut < line.length; cut++) {
    const framer = new ForwardFramer()
    const blocks = [...framer.push(line.subarray(0, cut)), ...framer.push(line.subarray(cut))]
    assert.deepEqual(Buffer.concat(blocks as Buffer[]), line)
  }
})

test('forward: starting at an offset inside an over-long line (a follower resuming) skips to its end', () => {
  const framer = new ForwardFramer(100, true, 8)
  assert.deepEqual(framer.push(Buffer.from('rest of it\nnext\n')), [{overLong: 10, ended: true}, Buffer.from('next\n')])
  assert.equal(framer.offset, 116)
  assert.equal(framer.skipping, false)
})

test('forward, as verify reads: the carry moved in front of each read, one block per read, in the same buffer', () => {
  const HEADROOM = 64
  const lines = Array.from({length: 200}, (_, i) => `{"n":${i},"pad":"${'p'.repeat(i % 37)}"}`)
  const file = Buffer.from(`${lines.join('\n')}\ntorn`)
  const READ = 100
  const framer = new ForwardFramer()
  const seen: string[] = []
  for (let position = 0; position < file.length; ) {
    const block = Buffer.alloc(HEADROOM + framer.carried + READ)
    const at = HEADROOM + framer.moveCarry(block, HEADROOM)
    const bytesRead = file.copy(block, at, position, position + READ)
    position += bytesRead
    const framed = framer.push(block.subarray(HEADROOM, at + bytesRead))
    assert.ok(framed.length <= 1, 'one block a read')
    for (const f of framed) {
      assert.ok(Buffer.isBuffer(f))
      assert.equal(f.buffer, block.buffer, 'the block is the read buffer itself')
      assert.equal(f.byteOffset - block.byteOffset, HEADROOM, 'with its headroom in front')
      seen.push(...f.subarray(0, -1).toString().split('\n'))
    }
  }
  assert.deepEqual(seen, lines)
  assert.deepEqual(framer.finish(), Buffer.from('torn'))
})

/** Frames `file` backwards with blocks of `blockBytes`, counting reads and bytes read. */
async function backward(file: Buffer, blockBytes: number, limit: number, stopAfter = Number.POSITIVE_INFINITY) {
  let reads = 0
  let bytes = 0
  const framer = new BackwardFramer(
    async (buffer, length, position) => {
      reads++
      bytes += length
      return file.copy(buffer, 0, position, position + length)
    },
    file.length,
    blockBytes,
    limit,
  )
  const found: Array<string> = []
  const offsets: number[] = []
  for (;;) {
    const block: Array<BackLine | BackOverLong> | undefined = await framer.previous()
    if (!block) break
    for (let i = block.length - 1; i >= 0; i--) {
      const f: BackLine | BackOverLong = block[i]
      found.push('overLong' in f ? `long:${f.overLong}` : f.bytes.toString('latin1'))
      offsets.push(f.offset)
      assert.equal(f.rank, found.length)
    }
    if (found.length >= stopAfter && framer.end >= 0) break
  }
  return {found, offsets, end: framer.end, reads, bytes}
}

test('backward: the lines of the forward reading, right to left, with offsets, for every block size; a torn end left out', async () => {
  const text = '\nfirst\r\n\n\nXXXXXXXXXXXXXXXXXXXXXXX\nsecond line\nYYYYYYYYYYYY\n\nlast\ntorn'
  const file = Buffer.from(text)
  const lines = text.slice(0, text.lastIndexOf('\n')).split('\n')
  const expected = lines.map((l) => (l.length > 10 ? `long:${l.length}` : l)).reverse()
  const offsets = lines.map((_, i) => lines.slice(0, i).reduce((n, l) => n + l.length + 1, 0)).reverse()
  for (let blockBytes = 1; blockBytes <= file.length + 1; blockBytes++) {
    const got = await backward(file, blockBytes, 10)
    assert.deepEqual(got.found, expected, `block ${blockBytes}`)
    assert.deepEqual(got.offsets, offsets, `block ${blockBytes}`)
    assert.equal(got.end, text.lastIndexOf('\n') + 1)
  }
})

test('backward: a file without LF has no whole line; one ending in an over-long line reports it', async () => {
  assert.deepEqual((await backward(Buffer.from('no newline at all'), 4, 10)).found, [])
  assert.equal((await backward(Buffer.from('no newline at all'), 4, 10)).end, -1)
  assert.deepEqual((await backward(Buffer.from('ok\nZZZZZZZZZZZZZZZZ\n'), 3, 10)).found, ['long:16', 'ok'])
})

test('backward: each byte is read once, and only as far back as the lines wanted (no rescans, however many lines)', async () => {
  // Blocks that start with LF (the case that once made the split run from the block's end again).
  const file = Buffer.from('abc\n'.repeat(50_000))
  const all = await backward(file, 4, 10)
  assert.equal(all.found.length, 50_000)
  assert.equal(all.bytes, file.length)
  assert.equal(all.reads, file.length / 4)
  const few = await backward(file, 64, 10, 20)
  assert.ok(few.found.length >= 20)
  assert.equal(few.reads, 2)
})
