/**
 * Fixture logs for the verify tests and benchmark, in both profiles: native lines via the writer's
 * own serializeBody/chainLine, loki-mode lines as Python's json.dumps writes them (insertion order,
 * ", " and ": ", ensure_ascii) hashed with loki-mode's canonical JSON (loki-canonical.ts).
 */
import {GENESIS, chainLine, serializeBody, splitChainedLine} from '../src/chain/native.js'
import {LOKI_HASH_KEY, lokiEntryHash} from '../src/integrity/loki-canonical.js'

export type FixtureProfile = 'native' | 'loki'

/** Python json.dumps(value) with default settings, for the values the fixtures use. */
export function pyDumps(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'string')
    return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (Array.isArray(value)) return `[${value.map(pyDumps).join(', ')}]`
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${pyDumps(k)}: ${pyDumps(v)}`)
    .join(', ')}}`
}

/** A loki-mode line for an entry written without its hash (`{...}`), chained from `prev`. */
export function lokiLine(withoutHash: string, prev: string): {line: string; hash: string} {
  const result = lokiEntryHash(prev, withoutHash)
  if (!result.ok) throw new Error(`not a loki entry: ${result.reason}`)
  return {line: `${withoutHash.slice(0, -1)}, "${LOKI_HASH_KEY}": "${result.computed}"}`, hash: result.computed}
}

const ACTIONS = ['login', 'create', 'update', 'delete', 'view']
const USERS = ['alice', 'bob', 'carol']

/** Entry `i` of a fixture log: native or loki, stamped on `day`. */
export function fixtureBody(profile: FixtureProfile, day: string, i: number): string {
  const second = String(i % 60).padStart(2, '0')
  const minute = String(Math.floor(i / 60) % 60).padStart(2, '0')
  const hour = String(8 + (Math.floor(i / 3600) % 10)).padStart(2, '0')
  if (profile === 'native') {
    return serializeBody({
      timestamp: `${day}T${hour}:${minute}:${second}.000Z`,
      event: `auth.${ACTIONS[i % 5]}`,
      level: 'info',
      actor: USERS[i % 3],
      details: {ip: `10.0.0.${i % 250}`, n: i},
      metadata: {hostname: 'test', pid: 1, version: '0.0.0'},
    })
  }
  return pyDumps({
    timestamp: `${day}T${hour}:${minute}:${second}.${String(i % 1_000_000).padStart(6, '0')}+00:00`,
    action: ACTIONS[i % 5],
    resource_type: 'session',
    resource_id: `session-${i}`,
    user_id: USERS[i % 3],
    token_id: null,
    ip_address: '10.0.0.4',
    user_agent: 'curl/8.5.0',
    success: i % 7 !== 0,
    error: null,
    details: {source: 'dashboard', provider: 'claude', n: i, note: i % 11 === 0 ? 'caf\u00e9 \u{1F680}' : 'plain'},
  })
}

/** Chains bodies (native JSON without chain_hash, loki JSON without _integrity_hash) from `prev`. */
export function chain(profile: FixtureProfile, bodies: string[], prev = GENESIS): {lines: string[]; head: string} {
  const lines: string[] = []
  for (const body of bodies) {
    const next = profile === 'native' ? chainLine(body, prev) : lokiLine(body, prev)
    lines.push(next.line)
    prev = next.hash
  }
  return {lines, head: prev}
}

/** The body of a chained line (what `chain` takes back). */
export function unchain(profile: FixtureProfile, line: string): string {
  if (profile === 'native') return splitChainedLine(line)!.body
  return line.replace(/, "_integrity_hash": "[0-9a-f]{64}"}$/, '}')
}

/** The stored hash of a chained line. */
export function storedHash(line: string): string {
  return /"([0-9a-f]{64})"}$/.exec(line)![1]
}
