/** `audit analyze` as a real process: detectors, the LLM part against the fake Ollama server and its faults, formats, exit codes. */
import assert from 'node:assert/strict'
import {once} from 'node:events'
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {after, before, test} from 'node:test'

import {z} from 'zod'

import {llmAnswerSchema} from '../../src/analyze/llm/llm.js'
import {type AnalyzeReport, reportSchema} from '../../src/analyze/report.js'
import {type FakeOllama, startFakeOllama} from '../fakes/ollama.js'
import {type EntrySpec, runAudit, tempDir} from '../helpers.js'
import {at, incidentDir} from './analyze-fixture.js'

const RANGE = ['--since', '2026-11-04T10:00:00Z', '--until', '2026-11-04T12:00:00Z']

let fake: FakeOllama
let dir: string
/** A loopback port nothing listens on. */
let closedPort: number
before(async () => {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  closedPort = (server.address() as AddressInfo).port
  await new Promise((resolve) => server.close(resolve))
  fake = await startFakeOllama()
  dir = incidentDir()
})
after(() => fake.close())

async function analyze(
  args: string[],
  options: {env?: Record<string, string>} = {},
): Promise<{code: number | null; stdout: string; stderr: string; report?: AnalyzeReport}> {
  const result = await runAudit(['analyze', '--dir', dir, ...RANGE, '--ollama-host', fake.url, ...args], options)
  let report: AnalyzeReport | undefined
  if (args.includes('--json')) report = reportSchema.parse(JSON.parse(result.stdout))
  return {...result, report}
}

/** A model answer citing the first sample entry of the request, and one citing nothing real. */
function citingAnswer(request: {body?: any}) {
  const input = JSON.parse(request.body.messages[1].content)
  // A part call cites its sample; the merge call cites the parts' evidence.
  const ref = input.sample?.[0]?.ref ?? input.partial_analyses[0].findings[0].evidence[0]
  return {
    reply: {
      summary: 'One account is under attack.',
      findings: [
        {
          title: 'Password guessing against mallory',
          severity: 'high',
          category: 'security',
          actors: ['mallory'],
          ips: ['203.0.113.9'],
          explanation: 'Repeated bad passwords.',
          recommendation: 'Lock the account.',
          evidence: [ref, 'nowhere.jsonl:999'],
        },
        {
          title: 'Invented problem',
          severity: 'critical',
          category: 'integrity',
          actors: [],
          ips: [],
          explanation: 'Made up.',
          recommendation: 'None.',
          evidence: ['audit-2026-11-04.jsonl:100000'],
        },
      ],
    },
  }
}

test('--no-llm: the detectors alone; Ollama is not asked', async () => {
  const before = fake.requests.length
  const {code, report} = await analyze(['--no-llm', '--json'])
  assert.equal(code, 0)
  assert.equal(fake.requests.length, before)
  const ids = report!.findings.map((f) => f.id)
  for (const id of [
    'brute-force:actor:mallory',
    'brute-force:ip:203.0.113.9',
    'first-seen:actor:mallory',
    'first-seen:ip:203.0.113.9',
    'first-seen:event:auth.fail',
  ])
    assert.ok(ids.includes(id), `${id} in ${ids}`)
  const brute = report!.findings.find((f) => f.id === 'brute-force:actor:mallory')!
  assert.equal(brute.count, 12)
  const lines = readFileSync(join(dir, 'audit-2026-11-04.jsonl'), 'utf8').split('\n')
  for (const e of brute.evidence) assert.match(lines[e.line - 1], /"event":"auth.fail".*"actor":"mallory"/)
  assert.equal(report!.llm.status, 'skipped')
  assert.equal(report!.totals.entries, 36)
})

test('the LLM part: what is sent (schema, temperature, seed, num_ctx, redaction) and what the report keeps', async () => {
  fake.script(citingAnswer)
  const before = fake.generations.length
  const {code, report, stderr} = await analyze(['--json', '--num-ctx', '4096', '--redact', 'details.ip', '--prompt', 'security'])
  assert.equal(code, 0, stderr)
  const sent = fake.generations.slice(before)
  assert.equal(sent.length, 1)
  const body = sent[0].body
  assert.deepEqual(body.format, z.toJSONSchema(llmAnswerSchema))
  assert.equal(body.stream, false)
  assert.equal(body.model, 'llama3.1:8b')
  assert.deepEqual(
    {temperature: body.options.temperature, seed: body.options.seed, num_ctx: body.options.num_ctx},
    {temperature: 0, seed: 42, num_ctx: 4096},
  )
  assert.match(body.messages[0].content, /security analyst/)
  const user = body.messages[1].content
  assert.ok(!user.includes('203.0.113.9') && !user.includes('10.0.0.1'), 'redacted values never leave')
  assert.match(user, /\[redacted\]/)
  assert.ok(user.length / 4 < 4096, 'the input fits the context')
  assert.equal(report!.llm.status, 'ok')
  assert.equal(report!.llm.dropped_findings, 1)
  assert.equal(report!.llm.summary, 'One account is under attack.')
  const llm = report!.findings.filter((f) => f.source === 'llm')
  assert.equal(llm.length, 1)
  assert.equal(llm[0].evidence.length, 1, 'the made-up reference is removed')
  assert.ok(report!.findings.some((f) => f.source === 'brute-force'))
})

test('a large sample goes in several calls and a merge call, each within the context', async () => {
  const noisy: EntrySpec[] = Array.from({length: 150}, (_, i) => ({
    timestamp: at('2026-11-04T10:30:00.000Z', i / 10),
    event: 'api.error',
    level: 'error' as const,
    actor: 'bob',
    details: {error: `failure kind ${'x'.repeat(i % 50)} ${String.fromCharCode(97 + (i % 26))}${i}`, padding: 'p'.repeat(300)},
  }))
  const big = incidentDir(noisy)
  fake.defaultScript = citingAnswer
  const before = fake.generations.length
  try {
    const result = await runAudit(['analyze', '--dir', big, ...RANGE, '--ollama-host', fake.url, '--num-ctx', '2048', '--json'])
    assert.equal(result.code, 0, result.stderr)
    const report = reportSchema.parse(JSON.parse(result.stdout))
    assert.equal(report.llm.status, 'ok', report.llm.reason)
    const sent = fake.generations.slice(before)
    assert.ok(sent.length >= 3, `${sent.length} calls`)
    assert.match(sent.at(-1)!.body.messages[0].content, /merging the partial analyses/)
    for (const s of sent) assert.ok(JSON.stringify(s.body.messages).length / 4 < 2048, 'each call within num_ctx')
    assert.equal(report.llm.calls, sent.length)
    assert.equal(report.llm.status, 'ok')
  } finally {
    fake.defaultScript = {}
  }
})

const FAULTS: Array<{
  name: string
  script?: Parameters<FakeOllama['script']>
  host?: () => string
  args?: string[]
  reason: RegExp
  calls?: number
}> = [
  {name: 'unreachable', host: () => `http://127.0.0.1:${closedPort}`, reason: /unreachable at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/},
  {name: 'model missing', args: ['--model', 'nope:1b'], reason: /model nope:1b is not on the Ollama server .*ollama pull nope:1b/},
  {
    name: 'server error',
    script: [{status: 500, error: 'llama runner process has terminated: signal: killed'}],
    reason: /answered 500: llama runner process has terminated/,
  },
  {
    name: 'busy',
    script: [{status: 503, error: 'server busy, please try again.  maximum pending requests exceeded'}],
    reason: /answered 503: server busy/,
  },
  {name: 'timeout', script: [{delayMs: 4000}], args: ['--timeout', '1'], reason: /no answer within 1 s/},
  {name: 'connection closed', script: [{closeMidStream: true}], reason: /closed the connection|unreachable/},
  {name: 'a path that is not Ollama (text 404)', host: () => `${fake.url}/not-ollama`, reason: /answered 404: 404 page not found/},
  {
    name: 'cut twice (done_reason length)',
    script: [
      {doneReason: 'length', reply: '{"summary":"x","findings":[{"ti'},
      {doneReason: 'length', reply: '{"sum'},
    ],
    reason: /cut at the length limit.*again after a retry with less input; the LLM part was given up/,
    calls: 2,
  },
  {
    name: 'invalid JSON twice',
    script: [{reply: 'I think the log looks fine.'}, {reply: '{"summary": '}],
    reason: /not valid JSON.*given up/,
    calls: 2,
  },
  {
    name: 'wrong shape twice',
    script: [{reply: {summary: 1}}, {reply: {findings: 'none'}}],
    reason: /did not match the schema.*given up/,
    calls: 2,
  },
]

for (const fault of FAULTS) {
  test(`LLM fault: ${fault.name} — the report still comes out, with one line why; exit 0, or 3 with --strict`, async () => {
    for (const strict of [false, true]) {
      if (fault.script) fake.script(...fault.script)
      const before = fake.generations.length
      const host = fault.host?.() ?? fake.url
      const result = await runAudit([
        'analyze',
        '--dir',
        dir,
        ...RANGE,
        '--ollama-host',
        host,
        '--json',
        ...(fault.args ?? []),
        ...(strict ? ['--strict'] : []),
      ])
      assert.equal(result.code, strict ? 3 : 0, result.stderr)
      const report = reportSchema.parse(JSON.parse(result.stdout)) // stdout holds the report alone
      assert.equal(report.llm.status, 'failed')
      assert.match(report.llm.reason!, fault.reason)
      assert.ok(
        report.findings.some((f) => f.id === 'brute-force:actor:mallory'),
        "the detectors' findings are kept",
      )
      const lines = result.stderr
        .trim()
        .split('\n')
        .filter((l) => /LLM part failed/.test(l))
      assert.equal(lines.length, 1, result.stderr)
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
      if (fault.calls) assert.equal(fake.generations.length - before, fault.calls)
    }
  })
}

test('a retry after a cut answer sends less input, and its good answer is used', async () => {
  fake.script({doneReason: 'length', reply: '{"summary":"'}, {reply: {summary: 'fine', findings: []}})
  const before = fake.generations.length
  const {code, report} = await analyze(['--json'])
  assert.equal(code, 0)
  const [first, second] = fake.generations.slice(before).map((r) => JSON.parse(r.body.messages[1].content))
  assert.ok(second.sample.length < first.sample.length, `${second.sample.length} < ${first.sample.length}`)
  assert.equal(report!.llm.status, 'ok')
  assert.equal(report!.llm.calls, 2)
  assert.ok(report!.notes.some((n) => /asked again with/.test(n)))
})

test('OLLAMA_HOST is read by the CLI; --ollama-host wins over it', async () => {
  fake.script({reply: {summary: 'via env', findings: []}})
  const result = await runAudit(['analyze', '--dir', dir, ...RANGE, '--json'], {env: {OLLAMA_HOST: fake.url}})
  assert.equal(reportSchema.parse(JSON.parse(result.stdout)).llm.summary, 'via env')
  const wins = await runAudit(['analyze', '--dir', dir, ...RANGE, '--json', '--ollama-host', `http://127.0.0.1:${closedPort}`], {
    env: {OLLAMA_HOST: fake.url},
  })
  assert.match(reportSchema.parse(JSON.parse(wins.stdout)).llm.reason!, new RegExp(`127\\.0\\.0\\.1:${closedPort}`))
})

test('--fail-on: exit 1 when a finding is at or above the severity', async () => {
  assert.equal((await analyze(['--no-llm', '--fail-on', 'high'])).code, 1)
  assert.equal((await analyze(['--no-llm', '--fail-on', 'critical'])).code, 0)
})

test('formats: terminal grouped by severity with evidence, markdown, self-contained HTML, --output 0600', async () => {
  const terminal = await analyze(['--no-llm'])
  assert.match(terminal.stdout, /^HIGH \(\d+\)$/m)
  assert.match(terminal.stdout, /evidence: audit-2026-11-04\.jsonl:\d+/)
  assert.ok(terminal.stdout.indexOf('HIGH') < terminal.stdout.indexOf('MEDIUM'))
  const markdown = await analyze(['--no-llm', '--format', 'markdown'])
  assert.match(markdown.stdout, /^## High \(\d+\)$/m)
  const out = join(tempDir(), 'report.html')
  const html = await analyze(['--no-llm', '--format', 'html', '--output', out])
  assert.equal(html.stdout, '')
  const page = readFileSync(out, 'utf8')
  assert.equal(statSync(out).mode & 0o777, 0o600)
  assert.match(page, /<svg[^>]*aria-label="entries per hour/)
  assert.doesNotMatch(page, /<script|https?:\/\/(?!www\.w3\.org)/, 'no script, no outside resource')
})

test('hostile log content does not reach the terminal or the HTML raw', async () => {
  const evil = incidentDir(
    Array.from({length: 12}, (_, i) => ({
      timestamp: at('2026-11-04T11:30:00.000Z', i / 4),
      event: 'auth.fail',
      level: 'warning' as const,
      actor: '\u001b]0;pwned\u0007<img src=x onerror=alert(1)>\u001b[31m',
      details: {ip: '198.51.100.1'},
    })),
  )
  const terminal = await runAudit(['analyze', '--dir', evil, ...RANGE, '--no-llm'])
  assert.doesNotMatch(terminal.stdout, /\u001b|\u0007/)
  const html = await runAudit(['analyze', '--dir', evil, ...RANGE, '--no-llm', '--format', 'html'])
  assert.doesNotMatch(html.stdout, /<img/)
  assert.match(html.stdout, /&lt;img/)
})

test('--input: syslog lines from a file and from standard input', async () => {
  const lines = ['Nov  4 11:00:00 host sshd[1]: Accepted password for alice from 10.0.0.1 port 22 ssh2']
  for (let i = 0; i < 11; i++)
    lines.push(
      `Nov  4 11:0${Math.floor(i / 2)}:${String(10 + i).padStart(2, '0')} host sshd[2]: Failed password for invalid user admin from 203.0.113.50 port 4${i} ssh2`,
    )
  lines.push('not a log line at all')
  const file = join(tempDir(), 'auth.log')
  writeFileSync(file, `${lines.join('\n')}\n`)
  for (const args of [
    ['--input', file],
    ['--input', '-'],
  ]) {
    const result = await runAudit(['analyze', ...args, '--no-llm', '--json'], {input: lines.join('\n')})
    assert.equal(result.code, 0, result.stderr)
    const report = reportSchema.parse(JSON.parse(result.stdout))
    const brute = report.findings.find((f) => f.id === 'brute-force:ip:203.0.113.50')
    assert.ok(brute, JSON.stringify(report.findings.map((f) => f.id)))
    assert.equal(brute.evidence[0].line, 2)
    assert.match(result.stderr, /1 malformed line, at (auth\.log|-):13/)
  }
})

test('usage errors: --notify without a URL, a missing --input file', async () => {
  const noUrl = await analyze(['--no-llm', '--notify', 'slack'])
  assert.equal(noUrl.code, 2)
  assert.match(noUrl.stderr, /no webhook URL/)
  const missing = await runAudit(['analyze', '--input', '/nonexistent/file.log', '--no-llm'])
  assert.equal(missing.code, 2)
  assert.equal(missing.stderr.trim().split('\n').length, 1)
})

test('a server that silently truncated the prompt (prompt_eval_count far below what was sent) is noted', async () => {
  fake.script({promptEvalCount: 10, reply: {summary: 'partial view', findings: []}})
  const {report} = await analyze(['--json'])
  assert.equal(report!.llm.status, 'ok')
  assert.ok(
    report!.notes.some((n) => /read 10 prompt tokens of about \d+ sent: it probably truncated/.test(n)),
    report!.notes.join('\n'),
  )
})

test('--no-llm with filters: only the selected actor is analysed', async () => {
  const {report} = await analyze(['--no-llm', '--json', '--actor', 'alice'])
  assert.equal(report!.totals.entries, 24)
  assert.ok(!report!.findings.some((f) => f.actors.includes('mallory')))
})
