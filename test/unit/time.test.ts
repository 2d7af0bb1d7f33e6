import assert from 'node:assert/strict'
import {test} from 'node:test'

import {formatTime, parseTimeExpression, TimeExpressionError} from '../../src/events/time.js'

// Wednesday 2026-11-04 15:30:00 UTC
const NOW = Date.parse('2026-11-04T15:30:00.000Z')
const p = (text: string, local = false) => parseTimeExpression(text, {now: NOW, local})
const iso = (text: string, local = false) => new Date(p(text, local)).toISOString()

test('RFC 3339 with Z, offsets and fractions', () => {
  assert.equal(iso('2026-11-02T10:00:00Z'), '2026-11-02T10:00:00.000Z')
  assert.equal(iso('2026-11-02T10:00:00.123Z'), '2026-11-02T10:00:00.123Z')
  assert.equal(iso('2026-11-02T10:00:00+02:00'), '2026-11-02T08:00:00.000Z')
  assert.equal(iso('2026-11-02T10:00:00-0530'), '2026-11-02T15:30:00.000Z')
  assert.equal(iso('2026-03-01T08:02:26.797926+00:00'), '2026-03-01T08:02:26.797Z')
})

test('a date, and a date with a time, are UTC by default', () => {
  assert.equal(iso('2026-11-02'), '2026-11-02T00:00:00.000Z')
  assert.equal(iso('2026-11-02 10:00'), '2026-11-02T10:00:00.000Z')
  assert.equal(iso('2026-11-02T10:00:05'), '2026-11-02T10:00:05.000Z')
})

test('relative expressions: bare durations and minus mean ago, plus means ahead', () => {
  assert.equal(p('15m'), NOW - 15 * 60_000)
  assert.equal(p('3h'), NOW - 3 * 3_600_000)
  assert.equal(p('7d'), NOW - 7 * 86_400_000)
  assert.equal(p('-3h'), NOW - 3 * 3_600_000)
  assert.equal(p('+2h'), NOW + 2 * 3_600_000)
  assert.equal(p('1 hour ago'), NOW - 3_600_000)
  assert.equal(p('2 days ago'), NOW - 2 * 86_400_000)
  assert.equal(p('90 seconds ago'), NOW - 90_000)
  assert.equal(p('1.5h'), NOW - 5_400_000)
  assert.equal(p('  30 MIN  '), NOW - 30 * 60_000)
})

test('named times: now, today, yesterday, this-week (Monday), recent (10 minutes)', () => {
  assert.equal(p('now'), NOW)
  assert.equal(iso('today'), '2026-11-04T00:00:00.000Z')
  assert.equal(iso('yesterday'), '2026-11-03T00:00:00.000Z')
  assert.equal(iso('this-week'), '2026-11-02T00:00:00.000Z')
  assert.equal(p('recent'), NOW - 10 * 60_000)
  assert.equal(iso('Today'), '2026-11-04T00:00:00.000Z')
  // on a Monday, this-week is that Monday; on a Sunday, the Monday before
  assert.equal(
    new Date(parseTimeExpression('this-week', {now: Date.parse('2026-11-02T01:00:00Z')})).toISOString(),
    '2026-11-02T00:00:00.000Z',
  )
  assert.equal(
    new Date(parseTimeExpression('this-week', {now: Date.parse('2026-11-08T23:00:00Z')})).toISOString(),
    '2026-11-02T00:00:00.000Z',
  )
})

test('@epoch seconds', () => {
  assert.equal(p('@1700000000'), 1_700_000_000_000)
})

test('bad expressions throw TimeExpressionError with the input in the message', () => {
  for (const bad of [
    '',
    'bogus',
    '3 fortnights',
    '2026-02-30',
    '2026-13-01',
    '2026-11-02T25:00',
    '+3h ago',
    '2026/11/02',
    'next tuesday',
  ]) {
    assert.throws(
      () => p(bad),
      (e: Error) => e instanceof TimeExpressionError && (bad === '' || e.message.includes(bad)),
      bad,
    )
  }
})

test('--local: dates and day names in the local zone, across a DST change', () => {
  const saved = process.env.TZ
  process.env.TZ = 'Europe/Berlin'
  try {
    // winter: UTC+1
    assert.equal(iso('2026-11-02', true), '2026-11-01T23:00:00.000Z')
    assert.equal(iso('2026-11-02 10:00', true), '2026-11-02T09:00:00.000Z')
    // an explicit zone wins over --local
    assert.equal(iso('2026-11-02T10:00:00Z', true), '2026-11-02T10:00:00.000Z')
    assert.equal(iso('today', true), '2026-11-03T23:00:00.000Z')
    // 2026-03-29 is the DST change in Berlin (23 hours long): yesterday is its local midnight
    const afterDst = Date.parse('2026-03-30T12:00:00Z')
    assert.equal(new Date(parseTimeExpression('yesterday', {now: afterDst, local: true})).toISOString(), '2026-03-28T23:00:00.000Z')
    assert.equal(new Date(parseTimeExpression('today', {now: afterDst, local: true})).toISOString(), '2026-03-29T22:00:00.000Z')
    // the week of 2026-03-30 (a Monday) starts that Monday; on Wednesday 2026-04-01 it still does
    assert.equal(
      new Date(parseTimeExpression('this-week', {now: Date.parse('2026-04-01T12:00:00Z'), local: true})).toISOString(),
      '2026-03-29T22:00:00.000Z',
    )
    // the week of Sunday 2026-03-29 started on Monday 2026-03-23, local midnight (UTC+1)
    assert.equal(
      new Date(parseTimeExpression('this-week', {now: Date.parse('2026-03-29T20:00:00Z'), local: true})).toISOString(),
      '2026-03-22T23:00:00.000Z',
    )
    assert.equal(formatTime(Date.parse('2026-11-02T09:00:00.000Z'), true), '2026-11-02T10:00:00.000+01:00')
  } finally {
    if (saved === undefined) delete process.env.TZ
    else process.env.TZ = saved
  }
})

test('formatTime in UTC is RFC 3339 with milliseconds and Z', () => {
  assert.equal(formatTime(Date.parse('2026-11-02T09:00:00Z')), '2026-11-02T09:00:00.000Z')
})

test('months and years, as journalctl reads them: M/mo/month and y/year; m stays minutes', () => {
  const month = 2_629_800_000
  assert.equal(p('1M'), NOW - month)
  assert.equal(p('2mo'), NOW - 2 * month)
  assert.equal(p('1 month ago'), NOW - month)
  assert.equal(p('3 months ago'), NOW - 3 * month)
  assert.equal(p('1m'), NOW - 60_000)
  assert.equal(p('1y'), NOW - 31_557_600_000)
  assert.equal(p('2 years ago'), NOW - 2 * 31_557_600_000)
  assert.equal(p('1 Hour ago'), NOW - 3_600_000, 'word units are read in any case')
})

test('an unknown unit names the valid ones', () => {
  assert.throws(
    () => p('3 fortnights'),
    (error: Error) =>
      error instanceof TimeExpressionError &&
      /unknown time unit "fortnights" in "3 fortnights" \(units: s, sec, second\(s\); m, min, minute\(s\); .*M, mo, month\(s\); y, yr, year\(s\)\)/.test(
        error.message,
      ),
  )
})
