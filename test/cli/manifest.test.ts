import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'
import {pathToFileURL} from 'node:url'

import {ROOT} from '../helpers.js'

const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
  version: string
  commands: Record<string, {summary?: string; description?: string; flags: Record<string, unknown>}>
}

test('the oclif manifest (which --help and the man pages read) matches the built commands', async () => {
  const ids = readdirSync(join(ROOT, 'dist', 'commands'))
    .filter((f) => f.endsWith('.js'))
    .map((f) => f.slice(0, -3))
    .sort()
  assert.deepEqual(Object.keys(manifest.commands).sort(), ids, 'commands: run npm run build')
  assert.equal(manifest.version, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version)
  for (const id of ids) {
    const {default: command} = await import(pathToFileURL(join(ROOT, 'dist', 'commands', `${id}.js`)).href)
    const entry = manifest.commands[id]
    assert.deepEqual(
      Object.keys(entry.flags).sort(),
      Object.keys({...command.baseFlags, ...command.flags}).sort(),
      `${id} flags: run npm run build`,
    )
    assert.equal(entry.summary, command.summary, `${id} summary`)
    assert.equal(entry.description, command.description, `${id} description`)
  }
})
