import assert from 'node:assert/strict'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {readDefaults} from '../../src/config/load.js'
import type {LocatedEntry} from '../../src/events/model.js'
import {checkWriteInput, jsonProblem, WriteInputError} from '../../src/events/write-input.js'
import {type EntryForwarder, LogWriter} from '../../src/store/writer.js'
import {resolveWriterSettings, writerSettings} from '../../src/store/writer-settings.js'
import {tempDir} from '../helpers.js'

const DEFAULTS = writerSettings(readDefaults())

describe('write input, checked without a writer', () => {
  it('gives the entry parts: level defaults to info and takes its aliases, details are the caller object', () => {
    const details = {id: 7}
    assert.deepEqual(checkWriteInput({event: 'user.delete'}), {event: 'user.delete', level: 'info', actor: undefined, details: {}})
    const checked = checkWriteInput({event: 'user.delete', level: 'WARN', actor: 'alice', details})
    assert.equal(checked.level, 'warning')
    assert.equal(checked.actor, 'alice')
    assert.equal(checked.details, details)
  })

  it('refuses what the writer refuses, with the same one-line messages', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{event: 'Auth.Login'}, /^event "Auth.Login": expected category.action/],
      [{event: 'audit.retention'}, /^event "audit.retention": the "audit." category is reserved/],
      [{event: `a.${'b'.repeat(200)}`}, /^event: 202 characters; an event name has at most 128$/],
      [{event: 'a.b', level: 'loud'}, /^level "loud": expected one of debug, info, warning, error$/],
      [{event: 'a.b', details: 'text'}, /^details: expected an object$/],
      [{event: 'a.b', details: {n: Number.POSITIVE_INFINITY}}, /^details.n: Infinity is not a JSON number$/],
      [{event: 'a.b', colour: 'red'}, /^unknown member "colour"$/],
      [null, /expected object/],
    ]
    for (const [input, message] of bad)
      assert.throws(
        () => checkWriteInput(input as never),
        (error: Error) => error instanceof WriteInputError && message.test(error.message),
        JSON.stringify(input),
      )
  })

  it('jsonProblem: integers beyond 2^53 only when asked (values read from JSON text)', () => {
    assert.equal(jsonProblem({n: 2 ** 60}, 'details'), undefined)
    assert.match(jsonProblem({n: 2 ** 60}, 'details', {exactIntegers: true}) ?? '', /^details.n: an integer beyond 2\^53/)
    assert.equal(jsonProblem({n: 2 ** 53 - 1, s: 'x', b: true, z: null, a: [1, {c: 2}]}, 'details', {exactIntegers: true}), undefined)
  })
})

describe('writer settings', () => {
  it('resolves given settings over the defaults: a partial syslog keeps the other keys, a whole Config its writer keys', () => {
    const settings = resolveWriterSettings({max_file_size: 5, syslog: {url: 'udp://127.0.0.1:5514'}, level: undefined}, DEFAULTS)
    assert.equal(settings.max_file_size, 5)
    assert.equal(settings.level, DEFAULTS.level)
    assert.deepEqual(settings.syslog, {...DEFAULTS.syslog, url: 'udp://127.0.0.1:5514'})
    const config = {...readDefaults(), dir: '/elsewhere', retention_days: 9}
    assert.deepEqual(resolveWriterSettings(config, DEFAULTS), {...DEFAULTS, retention_days: 9})
    assert.deepEqual(writerSettings(config), {...DEFAULTS, retention_days: 9})
  })

  it('refuses unknown keys and bad values as WriteInputError, naming the key', () => {
    assert.throws(() => resolveWriterSettings({colour: 'red'}, DEFAULTS), /^Error: AuditWriter options: unknown member "colour"$/)
    assert.throws(
      () => resolveWriterSettings({fsync: 'sometimes'}, DEFAULTS),
      (error: Error) => error instanceof WriteInputError && /^AuditWriter options: fsync: /.test(error.message),
    )
  })
})

describe('LogWriter with a forwarder it was given', () => {
  it('hands each entry over once it is in the file, closes the forwarder on close; none is made when writing is disabled', async () => {
    const dir = tempDir()
    const sent: LocatedEntry[] = []
    let closed = 0
    let made = 0
    const forwarder = (onError: (error: Error) => void): EntryForwarder => {
      made++
      assert.equal(typeof onError, 'function')
      return {
        send(located) {
          // Already in the file when it is handed over.
          const file = readdirSync(dir).find((n) => n.endsWith('.jsonl'))!
          assert.ok(readFileSync(join(dir, file), 'utf8').includes(located.raw))
          sent.push(located)
        },
        close: async () => {
          closed++
        },
      }
    }
    const writer = await LogWriter.open(dir, {...DEFAULTS, fsync: 'never'}, {forwarder})
    const written = await writer.write({event: 'user.delete', actor: 'alice', details: {id: 7}})
    await writer.close()
    assert.equal(made, 1)
    assert.equal(closed, 1)
    assert.equal(sent.length, 1)
    assert.equal(sent[0].raw, written!.line)
    assert.equal(sent[0].entry.chain_hash, written!.entry.chain_hash)

    const off = join(tempDir(), 'off')
    const disabled = await LogWriter.open(off, {...DEFAULTS, enabled: false}, {forwarder})
    assert.equal(await disabled.write({event: 'user.delete'}), undefined)
    await disabled.close()
    assert.equal(made, 1)
    assert.equal(existsSync(off), false)
  })
})
