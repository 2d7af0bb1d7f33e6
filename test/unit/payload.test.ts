import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {createReadStream, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {buffer} from 'node:stream/consumers'
import {pipeline} from 'node:stream/promises'
import {test} from 'node:test'
import {gzipSync} from 'node:zlib'

import {armor, Decrypter, generateIdentity, identityToRecipient} from 'age-encryption'

import {Diagnostics} from '../../src/store/diagnostics.js'
import {AGE_DAMAGED, AGE_NO_IDENTITY, AGE_WRONG_IDENTITY, listLogFiles} from '../../src/store/files.js'
import {IdentityFileError, isAgeRecipient, loadIdentityFile} from '../../src/store/age-keys.js'
import {AgeEncryptStream, IDENTITY_ENV, plaintextStream} from '../../src/store/payload.js'
import {readEntries} from '../../src/store/reader.js'
import {chainedLines, tempDir} from '../helpers.js'

const dir = tempDir('payload-')
const identity = await generateIdentity()
const recipient = await identityToRecipient(identity)
const identityFile = join(dir, 'key.txt')
writeFileSync(identityFile, `# created: test\n# public key: ${recipient}\n${identity}\n`, {mode: 0o600})
const otherIdentity = await generateIdentity()
const otherFile = join(dir, 'other.txt')
writeFileSync(otherFile, `${otherIdentity}\n`, {mode: 0o600})

async function encrypt(plain: Buffer, to = [recipient]): Promise<Buffer> {
  return buffer(Readable.from([plain]).pipe(await AgeEncryptStream.to(to)))
}

async function plaintextOf(path: string, gzip: boolean): Promise<Buffer> {
  return buffer(plaintextStream({path, gzip}, createReadStream(path, {highWaterMark: 100_000}), 1024 * 1024))
}

function withIdentity<T>(path: string | undefined, run: () => Promise<T>): Promise<T> {
  const before = process.env[IDENTITY_ENV]
  if (path === undefined) delete process.env[IDENTITY_ENV]
  else process.env[IDENTITY_ENV] = path
  return run().finally(() => {
    if (before === undefined) delete process.env[IDENTITY_ENV]
    else process.env[IDENTITY_ENV] = before
  })
}

// Sizes around the 64 KiB chunk: empty, one byte, exactly one chunk, one chunk and one byte, many chunks.
const SIZES = [0, 1, 65_536, 65_537, 3 * 65_536, 1_000_000]

test('what AgeEncryptStream writes, the age-encryption package decrypts to the same bytes', async () => {
  for (const size of SIZES) {
    const plain = randomBytes(size)
    const sealed = await encrypt(plain)
    const d = new Decrypter()
    d.addIdentity(identity)
    assert.deepEqual(Buffer.from(await d.decrypt(new Uint8Array(sealed))), plain, `size ${size}`)
  }
})

test('the opener gives the plaintext of all four forms: plain, gzip, age, gzip then age', async () => {
  const plain = Buffer.from(Array.from({length: 5000}, (_, i) => `{"n":${i}}\n`).join(''))
  writeFileSync(join(dir, 'a.jsonl'), plain)
  writeFileSync(join(dir, 'a.jsonl.gz'), gzipSync(plain))
  writeFileSync(join(dir, 'a.jsonl.age'), await encrypt(plain))
  writeFileSync(join(dir, 'a.jsonl.gz.age'), await encrypt(gzipSync(plain)))
  await withIdentity(identityFile, async () => {
    assert.deepEqual(await plaintextOf(join(dir, 'a.jsonl'), false), plain)
    assert.deepEqual(await plaintextOf(join(dir, 'a.jsonl.gz'), true), plain)
    assert.deepEqual(await plaintextOf(join(dir, 'a.jsonl.age'), false), plain)
    assert.deepEqual(await plaintextOf(join(dir, 'a.jsonl.gz.age'), true), plain)
  })
  for (const size of SIZES) {
    const random = randomBytes(size)
    writeFileSync(join(dir, 'r.jsonl.age'), await encrypt(random))
    await withIdentity(identityFile, async () =>
      assert.deepEqual(await plaintextOf(join(dir, 'r.jsonl.age'), false), random, `size ${size}`),
    )
  }
})

async function failure(path: string, gzip = false): Promise<NodeJS.ErrnoException> {
  return plaintextOf(path, gzip).then(
    () => assert.fail(`${path} read without error`),
    (error: NodeJS.ErrnoException) => error,
  )
}

test('no identity, or another one: an error that says so, with its own code (not damage)', async () => {
  const path = join(dir, 'b.jsonl.age')
  writeFileSync(path, await encrypt(Buffer.from('{"x":1}\n')))
  const none = await withIdentity(undefined, () => failure(path))
  assert.equal(none.code, AGE_NO_IDENTITY)
  assert.match(none.message, /encrypted \(age\) and no --identity given/)
  const wrong = await withIdentity(otherFile, () => failure(path))
  assert.equal(wrong.code, AGE_WRONG_IDENTITY)
  // Encrypted to several recipients: any one identity reads it.
  writeFileSync(path, await encrypt(Buffer.from('{"x":1}\n'), [await identityToRecipient(otherIdentity), recipient]))
  await withIdentity(identityFile, async () => assert.equal((await plaintextOf(path, false)).toString(), '{"x":1}\n'))
})

test('a truncated, torn or changed age file is damage (its MAC fails), never a crash', async () => {
  const plain = randomBytes(200_000)
  const sealed = await encrypt(plain)
  const path = join(dir, 'c.jsonl.age')
  const headerEnd = sealed.indexOf('\n--- ') + 1
  const cases: Array<[string, Buffer]> = [
    ['cut in the payload', sealed.subarray(0, sealed.length - 1000)],
    // 200,000 bytes: three whole 64 KiB chunks and a last one of 3,392 (each sealed with a 16-byte tag).
    ['last chunk dropped, at a chunk boundary', sealed.subarray(0, sealed.length - (200_000 % 65_536) - 16)],
    [
      'one bit flipped in the payload',
      Buffer.from(sealed).fill(sealed[sealed.length - 5000] ^ 1, sealed.length - 5000, sealed.length - 4999),
    ],
    ['one bit flipped in the header MAC', Buffer.from(sealed).fill(sealed[headerEnd + 6] === 65 ? 66 : 65, headerEnd + 6, headerEnd + 7)],
    ['cut in the header', sealed.subarray(0, 30)],
    ['empty', Buffer.alloc(0)],
    ['not age at all', Buffer.from('{"timestamp":"2026-01-01T00:00:00Z"}\n')],
    ['bytes appended', Buffer.concat([sealed, Buffer.from('extra')])],
  ]
  for (const [what, bytes] of cases) {
    writeFileSync(path, bytes)
    const error = await withIdentity(identityFile, () => failure(path))
    assert.equal(error.code, AGE_DAMAGED, `${what}: ${error.message}`)
  }
})

test('an armored age file (age -a) reads as the binary one does, whatever its read chunks; a bent armor is damage', async () => {
  const plain = randomBytes(200_000)
  const armored = armor.encode(new Uint8Array(await encrypt(plain)))
  const path = join(dir, 'armored.jsonl.age')
  const forms: Array<[string, string]> = [
    ['as age writes it', armored],
    ['CRLF line ends', armored.replaceAll('\n', '\r\n')],
    ['whitespace around it', `\n  ${armored}\n\n`],
  ]
  for (const [what, text] of forms) {
    writeFileSync(path, text)
    for (const highWaterMark of [1, 7, 100_000]) {
      const got = await withIdentity(identityFile, () =>
        buffer(plaintextStream({path, gzip: false}, createReadStream(path, {highWaterMark}), 1024 * 1024)),
      )
      assert.deepEqual(got, plain, `${what}, read ${highWaterMark} bytes at a time`)
    }
  }
  const lines = armored.split('\n')
  const damaged: Array<[string, string]> = [
    ['no END line', lines.slice(0, -2).join('\n')],
    ['a body line one column short', [...lines.slice(0, 3), lines[3].slice(1), ...lines.slice(4)].join('\n')],
    ['a line that is not base64', [...lines.slice(0, 3), `${lines[3].slice(0, 63)}*`, ...lines.slice(4)].join('\n')],
    ['text after the END line', `${armored}junk\n`],
    ['a payload byte changed', armored.replace(lines[5], lines[5].startsWith('A') ? `B${lines[5].slice(1)}` : `A${lines[5].slice(1)}`)],
  ]
  for (const [what, text] of damaged) {
    writeFileSync(path, text)
    const error = await withIdentity(identityFile, () => failure(path))
    assert.equal(error.code, AGE_DAMAGED, `${what}: ${error.message}`)
  }
  writeFileSync(path, armored)
  assert.equal((await withIdentity(undefined, () => failure(path))).code, AGE_NO_IDENTITY)
})

test('identity files: owner-only, age keys only, never echoed', () => {
  assert.equal(loadIdentityFile(identityFile).length, 1)
  const loose = join(dir, 'loose.txt')
  writeFileSync(loose, `${identity}\n`, {mode: 0o644})
  assert.throws(
    () => loadIdentityFile(loose),
    (e: Error) => e instanceof IdentityFileError && /mode 0644\); chmod 600/.test(e.message),
  )
  const garbage = join(dir, 'garbage.txt')
  writeFileSync(garbage, 'AGE-SECRET-KEY-1NOTAKEY\n', {mode: 0o600})
  assert.throws(
    () => loadIdentityFile(garbage),
    (e: Error) =>
      e instanceof IdentityFileError && /garbage\.txt:1: not a valid age identity/.test(e.message) && !e.message.includes('NOTAKEY'),
  )
  const empty = join(dir, 'empty.txt')
  writeFileSync(empty, '# nothing\n', {mode: 0o600})
  assert.throws(() => loadIdentityFile(empty), /holds no age identity/)
  assert.throws(() => loadIdentityFile(join(dir, 'missing.txt')), /no such file/)
  assert.equal(isAgeRecipient(recipient), true)
  assert.equal(isAgeRecipient(`${recipient.slice(0, -1)}${recipient.endsWith('q') ? 'p' : 'q'}`), false)
})

test('the reader reads .age parts in chain order and lists each file it could not read', async () => {
  const logs = tempDir('payload-log-')
  const day = '2026-11-02'
  const spec = (i: number) => ({timestamp: `${day}T10:00:${String(i).padStart(2, '0')}.000Z`, event: 'auth.login', details: {i}})
  const first = chainedLines([0, 1, 2].map(spec))
  const second = chainedLines([3, 4].map(spec), first.head)
  const third = chainedLines([5].map(spec), second.head)
  writeFileSync(join(logs, `audit-${day}.001.jsonl.age`), await encrypt(Buffer.from(`${first.lines.join('\n')}\n`)))
  writeFileSync(join(logs, `audit-${day}.002.jsonl.gz.age`), await encrypt(gzipSync(`${second.lines.join('\n')}\n`)))
  writeFileSync(join(logs, `audit-${day}.jsonl`), `${third.lines.join('\n')}\n`)
  assert.deepEqual(
    (await listLogFiles(logs)).map((f) => [f.name, f.gzip, f.age]),
    [
      [`audit-${day}.001.jsonl.age`, false, true],
      [`audit-${day}.002.jsonl.gz.age`, true, true],
      [`audit-${day}.jsonl`, false, false],
    ],
  )
  const read = async () => {
    const diagnostics = new Diagnostics()
    const seen: number[] = []
    for await (const e of readEntries(logs, {diagnostics})) seen.push(e.entry.details.i as number)
    return {seen, diagnostics}
  }
  const ok = await withIdentity(identityFile, read)
  assert.deepEqual(ok.seen, [0, 1, 2, 3, 4, 5])
  assert.equal(ok.diagnostics.total, 0)
  const without = await withIdentity(undefined, read)
  assert.deepEqual(without.seen, [5], 'the rest of the log is still read')
  assert.deepEqual(without.diagnostics.lines(), [
    `audit: cannot read ${join(logs, `audit-${day}.001.jsonl.age`)}: encrypted (age) and no --identity given`,
    `audit: cannot read ${join(logs, `audit-${day}.002.jsonl.gz.age`)}: encrypted (age) and no --identity given`,
  ])
  // The listing survives a round trip between threads.
  assert.deepEqual(Diagnostics.fromJSON(without.diagnostics.toJSON()).lines(), without.diagnostics.lines())
})

test('Debian age decrypts what AgeEncryptStream wrote (when /usr/bin/age is here)', {skip: !hasAge()}, async () => {
  const plain = randomBytes(150_000)
  const path = join(dir, 'd.age')
  await pipeline(Readable.from([plain]), await AgeEncryptStream.to([recipient]), (await import('node:fs')).createWriteStream(path))
  assert.deepEqual(execFileSync('age', ['-d', '-i', identityFile, path]), plain)
  assert.equal(statSync(path).size, readFileSync(path).length)
})

test('what Debian age -a armors, the reader reads (when /usr/bin/age is here)', {skip: !hasAge()}, async () => {
  const plain = randomBytes(150_000)
  const path = join(dir, 'e.jsonl.age')
  execFileSync('age', ['-a', '-r', recipient, '-o', path], {input: plain})
  assert.ok(readFileSync(path, 'latin1').startsWith('-----BEGIN AGE ENCRYPTED FILE-----'))
  assert.deepEqual(await withIdentity(identityFile, () => plaintextOf(path, false)), plain)
})

function hasAge(): boolean {
  try {
    execFileSync('age', ['--version'])
    return true
  } catch {
    return false
  }
}
