/**
 * Generates a realistic native audit log directory with a valid chain: sessions, logins and their
 * failures, API calls to local models, configuration changes, errors. Deterministic for a seed.
 *
 *   node --import tsx scripts/generate-logs.ts --out examples/logs --entries 3000 --days 5
 *   node --import tsx scripts/generate-logs.ts --out bench/corpus --entries 1000000 --days 7 --max-file-size 64
 */
import {createWriteStream, mkdirSync, renameSync} from 'node:fs'
import {once} from 'node:events'
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import {pipeline} from 'node:stream/promises'
import {createReadStream} from 'node:fs'
import {unlink} from 'node:fs/promises'
import {createGzip} from 'node:zlib'

import {chainLine, GENESIS, serializeBody} from '../src/chain/native.js'
import type {Level} from '../src/events/model.js'

const {values} = parseArgs({
  options: {
    out: {type: 'string'},
    entries: {type: 'string', default: '3000'},
    days: {type: 'string', default: '5'},
    end: {type: 'string', default: '2026-11-20T18:00:00.000Z'},
    seed: {type: 'string', default: '42'},
    'max-file-size': {type: 'string', default: '0'},
    gzip: {type: 'boolean', default: false},
  },
})
if (!values.out) {
  console.error('usage: generate-logs.ts --out DIR [--entries N] [--days D] [--end ISO] [--seed S] [--max-file-size MB] [--gzip]')
  process.exit(2)
}

let state = Number(values.seed) >>> 0
/** mulberry32: small, fast, deterministic. */
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0
  let t = state
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]

const users = [
  'alice',
  'bob',
  'carol',
  'dave',
  'erin',
  'frank',
  'grace',
  'heidi',
  'ivan',
  'judy',
  'mallory',
  'niaj',
  'olivia',
  'peggy',
  'rupert',
  'sybil',
  'trent',
  'victor',
  'walter',
  'yolanda',
]
const services = ['svc-backup', 'svc-ci', 'svc-reporting']
const models = ['llama3.2:3b', 'qwen2.5-coder:7b', 'mistral:7b', 'nomic-embed-text']
const hosts = ['web-1', 'web-2', 'worker-1']
const paths = ['/api/chat', '/api/generate', '/api/embed', '/api/tags']
const ip = () => `10.0.${Math.floor(random() * 8)}.${1 + Math.floor(random() * 60)}`

interface Draft {
  event: string
  level: Level
  actor: string
  details: Record<string, unknown>
}

function draft(): Draft {
  const r = random()
  const user = random() < 0.9 ? pick(users) : pick(services)
  if (r < 0.16) return {event: 'session.start', level: 'info', actor: user, details: {session: `s-${Math.floor(random() * 1e6)}`, ip: ip()}}
  if (r < 0.3) return {event: 'session.end', level: 'info', actor: user, details: {duration_s: Math.floor(random() * 7200)}}
  if (r < 0.42) return {event: 'auth.login', level: 'info', actor: user, details: {ip: ip(), method: pick(['password', 'sso', 'key'])}}
  if (r < 0.47)
    return {
      event: 'auth.fail',
      level: 'warning',
      actor: random() < 0.3 ? 'mallory' : user,
      details: {ip: ip(), reason: pick(['bad password', 'unknown user', 'expired token'])},
    }
  if (r < 0.52) return {event: 'auth.logout', level: 'info', actor: user, details: {}}
  if (r < 0.72) {
    const model = pick(models)
    const status = random() < 0.04 ? 500 : 200
    return {
      event: 'api.request',
      level: status === 200 ? 'info' : 'error',
      actor: user,
      details: {
        method: 'POST',
        path: pick(paths),
        model,
        status,
        duration_ms: Math.floor(20 + random() * 4000),
        request_id: `req-${Math.floor(random() * 1e9).toString(16)}`,
        user_agent: pick(['ollama-js/0.6.4', 'curl/8.5.0', 'python-requests/2.32']),
        prompt_tokens: Math.floor(random() * 2000),
        completion_tokens: Math.floor(random() * 800),
        ip: ip(),
      },
    }
  }
  if (r < 0.74)
    return {
      event: 'api.error',
      level: 'error',
      actor: user,
      details: {path: pick(paths), model: pick(models), error: pick(['model not found', 'context length exceeded', 'upstream timeout'])},
    }
  if (r < 0.86)
    return {
      event: pick(['file.read', 'file.write']),
      level: 'info',
      actor: user,
      details: {path: `/srv/data/${pick(['reports', 'exports', 'configs'])}/${Math.floor(random() * 500)}.json`},
    }
  if (r < 0.91)
    return {
      event: 'config.change',
      level: 'warning',
      actor: pick(['alice', 'bob', 'svc-ci']),
      details: {
        key: pick(['retention_days', 'max_file_size', 'syslog.host', 'level']),
        old: String(Math.floor(random() * 30)),
        new: String(Math.floor(random() * 30)),
      },
    }
  if (r < 0.95)
    return {
      event: 'user.permission_change',
      level: 'warning',
      actor: pick(['alice', 'bob']),
      details: {target: pick(users), role: pick(['viewer', 'editor', 'admin'])},
    }
  if (r < 0.97)
    return {event: 'policy.deny', level: 'error', actor: user, details: {resource: pick(['billing', 'secrets', 'admin-panel']), ip: ip()}}
  return {
    event: 'job.run',
    level: pick(['debug', 'info'] as const),
    actor: pick(services),
    details: {job: pick(['backup', 'reindex', 'export']), ok: random() < 0.95},
  }
}

const out = values.out
const total = Number(values.entries)
const days = Number(values.days)
const end = Date.parse(values.end!)
const start = end - days * 86_400_000
const maxBytes = Number(values['max-file-size']) * 1024 * 1024
mkdirSync(out, {recursive: true, mode: 0o700})

let prev = GENESIS
let day = ''
let part = 0
let size = 0
let stream: ReturnType<typeof createWriteStream> | undefined
const closed: string[] = []

async function closeFile(rotateTo?: string): Promise<void> {
  if (!stream) return
  stream.end()
  await once(stream, 'close')
  stream = undefined
  if (rotateTo) {
    renameSync(join(out, `audit-${day}.jsonl`), join(out, rotateTo))
    closed.push(rotateTo)
  } else {
    closed.push(`audit-${day}.jsonl`)
  }
}

const step = (end - start) / total
for (let i = 0; i < total; i++) {
  // An even spread with jitter; timestamps stay in order, as a single writer's do.
  const time = Math.floor(start + i * step + random() * step * 0.9)
  const timestamp = new Date(time).toISOString()
  const entryDay = timestamp.slice(0, 10)
  if (entryDay !== day) {
    await closeFile()
    day = entryDay
    part = 0
    size = 0
    stream = createWriteStream(join(out, `audit-${day}.jsonl`), {mode: 0o600})
  } else if (maxBytes > 0 && size >= maxBytes) {
    part++
    await closeFile(`audit-${day}.${String(part).padStart(3, '0')}.jsonl`)
    size = 0
    stream = createWriteStream(join(out, `audit-${day}.jsonl`), {mode: 0o600})
  }
  const d = draft()
  const body = serializeBody({
    timestamp,
    event: d.event,
    level: d.level,
    actor: d.actor,
    details: d.details,
    metadata: {hostname: pick(hosts), pid: 4000 + Math.floor(random() * 50), version: '1.4.2'},
  })
  const {line, hash} = chainLine(body, prev)
  prev = hash
  size += line.length + 1
  if (!stream!.write(`${line}\n`)) await once(stream!, 'drain')
}
await closeFile()

if (values.gzip) {
  // Compress the closed numbered parts, as a writer with `compress: true` does.
  for (const name of closed.filter((n) => /\.\d{3}\.jsonl$/.test(n))) {
    await pipeline(createReadStream(join(out, name)), createGzip(), createWriteStream(join(out, `${name}.gz`), {mode: 0o600}))
    await unlink(join(out, name))
  }
}
console.error(`wrote ${out} (chain head ${prev})`)
