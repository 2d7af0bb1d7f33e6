/**
 * Encryption at rest. Two measurements, each a ratio taken in the same run with alternating
 * runs (the machine is shared; absolute times are inflated):
 *
 * 1. The age payload cipher on 50 MB: node:crypto's ChaCha20-Poly1305 (src/store/payload.ts) against
 *    the age-encryption package's pure-JS stream, decrypting the same file (Debian's `age -d` too,
 *    when installed, as a reference).
 * 2. Decrypt-and-search: `search --count` and `summary --no-cache --all` over the corpus given
 *    (bench/corpus: 1M entries, 7 days) with its closed days encrypted (.jsonl.age, copy in
 *    bench/.cache/age-corpus) against the plain corpus.
 *
 *   node --import tsx bench/age.ts bench/corpus [--runs 3]
 */
import {spawnSync} from 'node:child_process'
import {createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {loadavg} from 'node:os'
import {join} from 'node:path'
import {Readable, Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {parseArgs} from 'node:util'

import {Decrypter, generateIdentity, identityToRecipient} from 'age-encryption'

import {listLogFiles} from '../src/store/files.js'
import {AgeDecryptStream, AgeEncryptStream, IDENTITY_ENV} from '../src/store/payload.js'

const ROOT = new URL('..', import.meta.url).pathname
const BIN = join(ROOT, 'bin', 'run.js')
const {values, positionals} = parseArgs({allowPositionals: true, options: {runs: {type: 'string', default: '3'}}})
const RUNS = Number(values.runs)
const corpus = positionals[0]
if (!corpus || !existsSync(corpus)) {
  console.error('usage: bench/age.ts <corpus dir> [--runs N]')
  process.exit(2)
}

const work = join(ROOT, 'bench', '.cache', 'age')
rmSync(work, {recursive: true, force: true})
mkdirSync(work, {recursive: true, mode: 0o700})
const secret = await generateIdentity()
const recipient = await identityToRecipient(secret)
const identity = join(work, 'key.txt')
writeFileSync(identity, `${secret}\n`, {mode: 0o600})
process.env[IDENTITY_ENV] = identity

const seconds = async (run: () => Promise<unknown> | unknown): Promise<number> => {
  const start = process.hrtime.bigint()
  await run()
  return Number(process.hrtime.bigint() - start) / 1e9
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const sink = () =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback()
    },
  })

// 1. The payload cipher on 50 MB of log.
const SAMPLE = 50 * 1024 * 1024
const [firstFile] = await listLogFiles(corpus)
const sample = join(work, 'sample.jsonl.age')
await pipeline(createReadStream(firstFile.path, {end: SAMPLE - 1}), await AgeEncryptStream.to([recipient]), createWriteStream(sample))
const load1 = loadavg()[0]
const cipher = {native: [] as number[], js: [] as number[], cli: [] as number[], encrypt: [] as number[]}
const hasCli = spawnSync('age', ['--version']).status === 0
for (let i = 0; i < RUNS; i++) {
  cipher.native.push(await seconds(() => pipeline(createReadStream(sample), new AgeDecryptStream(sample), sink())))
  cipher.js.push(
    await seconds(async () => {
      const d = new Decrypter()
      d.addIdentity(secret)
      const out = await d.decrypt(Readable.toWeb(createReadStream(sample)) as ReadableStream<Uint8Array>)
      for await (const _ of out as unknown as AsyncIterable<Uint8Array>);
    }),
  )
  if (hasCli) cipher.cli.push(await seconds(() => spawnSync('age', ['-d', '-i', identity, '-o', '/dev/null', sample])))
  cipher.encrypt.push(
    await seconds(async () =>
      pipeline(createReadStream(firstFile.path, {end: SAMPLE - 1}), await AgeEncryptStream.to([recipient]), sink()),
    ),
  )
}
const mbps = (s: number) => `${(SAMPLE / 1024 / 1024 / s).toFixed(0)} MiB/s`

// 2. The corpus, closed days encrypted.
const files = await listLogFiles(corpus)
const encrypted = join(work, 'corpus')
mkdirSync(encrypted, {mode: 0o700})
for (const [i, file] of files.entries()) {
  const last = i === files.length - 1
  const target = join(encrypted, last ? file.name : `${file.name}.age`)
  const stages: NodeJS.ReadWriteStream[] = last ? [] : [await AgeEncryptStream.to([recipient])]
  await pipeline([createReadStream(file.path), ...stages, createWriteStream(target, {mode: 0o600})])
}
const audit = (args: string[]) => () => {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {...process.env, [IDENTITY_ENV]: identity},
  })
  if (r.status !== 0) throw new Error(`audit ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return r.stdout.toString()
}
const load2 = loadavg()[0]
const rows: string[] = []
for (const [label, args] of [
  ['search --count', ['search', '--count']],
  ['search --count --event auth.login', ['search', '--count', '--event', 'auth.login']],
  ['summary --no-cache --all', ['summary', '--no-cache', '--all']],
] as const) {
  const plain: number[] = []
  const enc: number[] = []
  assert(audit([...args, '--dir', corpus])() === audit([...args, '--dir', encrypted])(), `${label}: same answer`)
  for (let i = 0; i < RUNS; i++) {
    plain.push(await seconds(audit([...args, '--dir', corpus])))
    enc.push(await seconds(audit([...args, '--dir', encrypted])))
  }
  rows.push(`| \`${label}\` | ${median(plain).toFixed(2)} s | ${median(enc).toFixed(2)} s | ${(median(enc) / median(plain)).toFixed(2)}× |`)
}
const corpusBytes = files.reduce((n, f) => n + statSync(f.path).size, 0)

console.log(`## Encryption at rest (\`node --import tsx bench/age.ts ${corpus}\`, ${new Date().toISOString().slice(0, 10)})

Payload cipher, decrypting the same 50 MiB age file (median of ${RUNS}, alternating; load average ${load1.toFixed(1)}):

| decrypter | time | throughput | vs node:crypto |
| --- | --- | --- | --- |
| node:crypto ChaCha20-Poly1305 (auditkit) | ${median(cipher.native).toFixed(3)} s | ${mbps(median(cipher.native))} | 1.00× |
| age-encryption 0.3.1 stream (pure JS) | ${median(cipher.js).toFixed(3)} s | ${mbps(median(cipher.js))} | ${(median(cipher.js) / median(cipher.native)).toFixed(2)}× slower |
${hasCli ? `| Debian \`age -d\` (Go, a process) | ${median(cipher.cli).toFixed(3)} s | ${mbps(median(cipher.cli))} | ${(median(cipher.cli) / median(cipher.native)).toFixed(2)}× |\n` : ''}
Encrypting 50 MiB (node:crypto, as the writer does): ${median(cipher.encrypt).toFixed(3)} s, ${mbps(median(cipher.encrypt))}.

Decrypt-and-search over ${readdirSync(corpus).length} files, ${(corpusBytes / 1024 / 1024).toFixed(0)} MiB: the closed days encrypted (.jsonl.age) against plain (median of ${RUNS}, alternating; load average ${load2.toFixed(1)}):

| command | plain | encrypted | ratio |
| --- | --- | --- | --- |
${rows.join('\n')}
`)

function assert(ok: boolean, what: string): void {
  if (!ok) throw new Error(`mismatch: ${what}`)
}
