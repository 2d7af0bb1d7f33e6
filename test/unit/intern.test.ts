import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {ByteInterner, MAX_INTERNED_BYTES} from '../../src/store/intern.js'

/** `name` inside a larger buffer, as the scans meet names inside a block. */
function inBlock(name: string): {buf: Buffer; start: number; end: number} {
  const buf = Buffer.from(`{"actor":"${name}"}\n`)
  const start = '{"actor":"'.length
  return {buf, start, end: buf.length - 3}
}

describe('ByteInterner', () => {
  it('answers the same entry for the same bytes, with the UTF-8 text and its key', () => {
    const names = new ByteInterner((text) => text.toUpperCase())
    const a = inBlock('zoë')
    const first = names.get(a.buf, a.start, a.end)
    assert.equal(first.text, 'zoë')
    assert.equal(first.key, 'ZOË')
    const again = inBlock('zoë')
    assert.equal(names.get(again.buf, again.start, again.end), first)
    const other = inBlock('zoe')
    assert.notEqual(names.get(other.buf, other.start, other.end), first)
  })

  it('keeps no name longer than MAX_INTERNED_BYTES (a writer may choose them): right text, a new entry each time', () => {
    const names = new ByteInterner((text) => text)
    const long = 'x'.repeat(MAX_INTERNED_BYTES + 1)
    const a = inBlock(long)
    const first = names.get(a.buf, a.start, a.end)
    assert.equal(first.text, long)
    assert.notEqual(names.get(a.buf, a.start, a.end), first)
    const edge = inBlock('y'.repeat(MAX_INTERNED_BYTES))
    assert.equal(names.get(edge.buf, edge.start, edge.end), names.get(edge.buf, edge.start, edge.end))
  })

  it('keeps at most `limit` names; later ones are answered afresh each time, with the right text', () => {
    const names = new ByteInterner((text) => text, 3)
    const kept = ['a', 'b', 'c'].map((n) => {
      const at = inBlock(n)
      return names.get(at.buf, at.start, at.end)
    })
    const d = inBlock('d')
    const fresh = names.get(d.buf, d.start, d.end)
    assert.equal(fresh.text, 'd')
    assert.notEqual(names.get(d.buf, d.start, d.end), fresh)
    const a = inBlock('a')
    assert.equal(names.get(a.buf, a.start, a.end), kept[0])
  })
})
