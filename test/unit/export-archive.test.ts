import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {execFileSync} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {gzipSync} from 'node:zlib'

import yauzl from 'yauzl'

import {checkBundle, type Manifest, writeBundle} from '../../src/export/archive.js'
import {seededRandom, tempDir} from '../helpers.js'

// writeBundle hashes each file on its way into the archive and finds the chain evidence meanwhile.

const manifest: Omit<Manifest, 'files' | 'verify' | 'checkpoint'> = {
  manifest_version: 1,
  tool: {name: 'auditkit', version: '0.0.0'},
  created: '2026-11-02T10:00:00.000Z',
  query: {},
  format: 'jsonl',
  entries: 0,
  time_range: {first: null, last: null, since: null, until: null},
  sources: [],
}
const evidence = async (): Promise<Pick<Manifest, 'verify' | 'checkpoint'>> => ({
  verify: {valid: true, entries: 0, problems: 0, first_problem: null, head: null, not_sealed: 0},
  checkpoint: null,
})

/** Files of a few MiB each (more than a stream's buffer), one of them gzip. */
function files(): Array<[string, string]> {
  const dir = tempDir()
  const {random} = seededRandom(7)
  const text = Array.from({length: 40_000}, (_, i) => `{"n":${i},"r":${random()}}\n`).join('')
  writeFileSync(join(dir, 'export.jsonl'), text)
  writeFileSync(join(dir, 'audit-2026-11-01.jsonl.gz'), gzipSync(text))
  writeFileSync(join(dir, 'audit-2026-11-02.jsonl'), text.slice(0, 1000))
  return [
    ['audit-export.jsonl', join(dir, 'export.jsonl')],
    ['source/audit-2026-11-01.jsonl.gz', join(dir, 'audit-2026-11-01.jsonl.gz')],
    ['source/audit-2026-11-02.jsonl', join(dir, 'audit-2026-11-02.jsonl')],
  ]
}

function zipMethods(path: string): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const methods: Record<string, number> = {}
    yauzl.open(path, {lazyEntries: false}, (error, zip) => {
      if (error) return reject(error)
      zip.on('entry', (entry: yauzl.Entry) => {
        methods[entry.fileName] = entry.compressionMethod
      })
      zip.on('end', () => resolve(methods))
      zip.on('error', reject)
    })
  })
}

describe('writeBundle', () => {
  it('holds one file open at a time: a bundle of more files than the descriptor limit is written', () => {
    const dir = tempDir()
    const block = 'x'.repeat(200 * 1024) // more than a read stream takes at once
    const listed = Array.from({length: 150}, (_, i): [string, string] => {
      const source = join(dir, `part-${i}.jsonl`)
      writeFileSync(source, block)
      return [`part-${i}.jsonl`, source]
    })
    const script = join(dir, 'bundle.mts')
    const archive = new URL('../../src/export/archive.ts', import.meta.url).href
    writeFileSync(
      script,
      `import {writeBundle} from ${JSON.stringify(archive)}
const [manifest, files, path] = JSON.parse(process.argv[2])
const full = await writeBundle({path, kind: 'zip', files, manifest, evidence: async () => ({verify: null, checkpoint: null})})
console.log(full.files.length)\n`,
    )
    const path = join(dir, 'b.zip')
    // util-linux prlimit: 64 descriptors, fewer than the files.
    const out = execFileSync(
      'prlimit',
      ['--nofile=64:64', process.execPath, '--import', 'tsx', script, JSON.stringify([manifest, listed, path])],
      {
        encoding: 'utf8',
      },
    )
    assert.equal(out.trim(), '150')
    assert.ok(existsSync(path))
  })

  for (const kind of ['zip', 'tar.gz'] as const) {
    it(`${kind}: every file's size and sha256 in the manifest, which comes last with the evidence; --check passes`, async () => {
      const listed = files()
      const path = join(tempDir(), `b.${kind}`)
      const full = await writeBundle({path, kind, files: listed, manifest, evidence})
      assert.deepEqual(
        full.files,
        listed.map(([name, source]) => {
          const data = readFileSync(source)
          return {name, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex')}
        }),
      )
      assert.deepEqual(full.verify, (await evidence()).verify)
      const checked = await checkBundle(path)
      assert.deepEqual(checked.problems, [])
      assert.deepEqual(checked.manifest, full)
      const names = (kind === 'zip' ? execFileSync('unzip', ['-Z1', path]) : execFileSync('tar', ['-tzf', path]))
        .toString()
        .trim()
        .split('\n')
      assert.deepEqual(names, [...listed.map(([name]) => name), 'manifest.json'])
    })
  }

  it('zip: a gzip member is stored as it is, the others deflated', async () => {
    const path = join(tempDir(), 'b.zip')
    await writeBundle({path, kind: 'zip', files: files(), manifest, evidence})
    assert.deepEqual(await zipMethods(path), {
      'audit-export.jsonl': 8,
      'source/audit-2026-11-01.jsonl.gz': 0,
      'source/audit-2026-11-02.jsonl': 8,
      'manifest.json': 8,
    })
  })

  it('evidence that cannot be found: the error, and neither the bundle nor its temp file', async () => {
    const dir = tempDir()
    const path = join(dir, 'b.zip')
    await assert.rejects(
      writeBundle({
        path,
        kind: 'zip',
        files: files(),
        manifest,
        evidence: async () => {
          throw new Error('the log went away')
        },
      }),
      /the log went away/,
    )
    assert.equal(existsSync(path), false)
    assert.deepEqual(readdirSync(dir), [])
  })
})
