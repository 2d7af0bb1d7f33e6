import type {KeyObject} from 'node:crypto'
import {readdir, readFile} from 'node:fs/promises'
import {basename} from 'node:path'

import {defaultStatePath, runAnalyze} from '../../analyze/run.js'
import type {Config} from '../../config/schema.js'
import {type FilterSpec, globToRegExp} from '../../events/filter.js'
import type {AuditEntry, Profile} from '../../events/model.js'
import {groupKey, sealedBlind} from '../../privacy/sealed-form.js'
import {readCheckpointText} from '../../integrity/checkpoint.js'
import {verifyDirectory} from '../../integrity/verify/index.js'
import {Diagnostics} from '../../store/diagnostics.js'
import {listLogFiles} from '../../store/files.js'
import {queryEntries} from '../../store/query.js'
import {buildReport, isFailure, SummaryAggregate, type SummaryReport} from '../../summary/aggregate.js'

/** A representative entry: the file (name only) and its 1-based line. */
export interface Ref {
  file: string
  line: number
}

/** How many, and where to look. */
export interface Tally {
  count: number
  refs: Ref[]
}

export interface Gap {
  from: string
  to: string
  minutes: number
  /** The entry that ended the silence; absent when the range ended silent. */
  after?: Ref
}

export interface PersonalField {
  path: string
  kind: 'email' | 'ip' | 'identifier' | 'name' | 'phone'
  count: number
  refs: Ref[]
}

/** Everything a compliance report states, gathered once; the controls judge it without reading anything. */
export interface ComplianceFacts {
  generated: string
  dir: string
  range: {since: string | null; until: string}
  usage: SummaryReport
  auth: {success: Tally; failure: Tally}
  keyLifecycle: Array<{event: string} & Tally>
  privileged: Array<{actor: string} & Tally>
  audits: {reads: Tally; erasures: Tally; retention: Tally}
  /** Silences longer than the configured gap, longest first (at most MAX_GAPS), and how many there were. */
  gaps: {maxMinutes: number; count: number; longest: Gap[]}
  daysWithout: string[]
  personal: PersonalField[]
  /** The whole log's oldest entry, whatever the range: retention is about what is still kept. */
  oldest: string | null
  verify:
    | {
        ran: true
        valid: boolean
        problems: number
        firstProblem: Ref | {file: string} | null
        entries: number
        unchained: number
        notSealed: number
        checkpoints: {count: number; lastSealed: string | null; signaturesChecked: boolean} | null
      }
    | {ran: false; reason: string}
  detectors:
    | {ran: true; findings: Array<{id: string; title: string; severity: string; count: number; evidence: Ref[]}>}
    | {ran: false; reason: string}
  alerts: {webhooks: string[]; sent: number | null}
  encryption: {closedParts: number; encrypted: number}
  settings: {
    retentionDays: number
    checkpointMaxAgeHours: number
    forwarding: string | null
    pseudonymizeKey: boolean
  }
  /** Malformed or unreadable input met on the way, by kind. */
  problems: Record<string, number>
}

export interface GatherOptions {
  config: Config
  filter: FilterSpec
  profile?: Profile
  now: number
  /** Ed25519 public key: checkpoint signatures are checked only with it. */
  pubkey?: KeyObject
  /** Where malformed and unreadable input is reported. */
  diagnostics?: Diagnostics
  /**
   * The plaintext behind `blind:INDEX` actor names, for a reader holding the keystore (the CLI's
   * revealBlindActors); names it does not give stay blind.
   */
  revealNames?: (names: string[]) => Promise<Map<string, string>>
}

/** Shows the actors the facts name by blind index as `revealNames` reveals them. */
export async function revealFacts(facts: ComplianceFacts, revealNames: GatherOptions['revealNames']): Promise<void> {
  if (!revealNames) return
  const {usage} = facts
  const names = await revealNames([
    ...facts.privileged.map((p) => p.actor),
    ...usage.top_actors.map((r) => r.name),
    ...usage.failures.latest.map((f) => f.actor),
  ])
  if (names.size === 0) return
  for (const p of facts.privileged) p.actor = names.get(p.actor) ?? p.actor
  for (const row of usage.top_actors) row.name = names.get(row.name) ?? row.name
  for (const failure of usage.failures.latest) failure.actor = names.get(failure.actor) ?? failure.actor
}

const MAX_REFS = 3
const MAX_GAPS = 5
const MAX_ROWS = 10
const MAX_DEPTH = 4
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/
const IPV6 = /^[0-9a-f]*:[0-9a-f:]+$/i
const PHONE = /^\+?[\d ()-]{7,}$/
const NAME_KEYS = /^(?:name|full_?name|first_?name|last_?name|display_?name)$/i
const ID_KEYS = /^(?:user|user_?id|username|login|email|subject|customer|patient|account)$/i

class Tallies<K> {
  readonly map = new Map<K, Tally>()
  add(key: K, ref: Ref): void {
    let t = this.map.get(key)
    if (!t) this.map.set(key, (t = {count: 0, refs: []}))
    t.count++
    if (t.refs.length < MAX_REFS) t.refs.push(ref)
  }
  get(key: K): Tally {
    return this.map.get(key) ?? {count: 0, refs: []}
  }
  ranked(): Array<[K, Tally]> {
    return [...this.map].sort((a, b) => b[1].count - a[1].count || String(a[0]).localeCompare(String(b[0]))).slice(0, MAX_ROWS)
  }
}

const matcher = (globs: string[]) => {
  const res = globs.map(globToRegExp)
  return (event: string) => res.some((re) => re.test(event))
}

function personalKind(key: string, value: string): PersonalField['kind'] | undefined {
  // Sealed under a subject key (privacy.fields): not plaintext personal data.
  if (sealedBlind(value) !== undefined) return undefined
  if (EMAIL.test(value)) return 'email'
  if (IPV4.test(value) || (value.includes(':') && IPV6.test(value))) return 'ip'
  if (NAME_KEYS.test(key)) return 'name'
  if (ID_KEYS.test(key)) return 'identifier'
  if (/phone|mobile|tel/i.test(key) && PHONE.test(value)) return 'phone'
  return undefined
}

/** Walks details for string values that hold personal data, by path (array indexes folded into []). */
function scanPersonal(
  value: unknown,
  path: string,
  key: string,
  depth: number,
  seen: (path: string, kind: PersonalField['kind']) => void,
): void {
  if (typeof value === 'string') {
    const kind = personalKind(key, value)
    if (kind) seen(path, kind)
  } else if (depth < MAX_DEPTH && value !== null && typeof value === 'object') {
    if (Array.isArray(value)) for (const item of value) scanPersonal(item, `${path}[]`, key, depth + 1, seen)
    else for (const [k, v] of Object.entries(value)) scanPersonal(v, `${path}.${k}`, k, depth + 1, seen)
  }
}

/** Reads the range once (and verify and the detectors over what they need) and returns the facts. */
export async function gatherFacts(dir: string, options: GatherOptions): Promise<ComplianceFacts> {
  const {config, filter, now} = options
  const settings = config.compliance
  const until = filter.until ?? now
  const diagnostics = options.diagnostics ?? new Diagnostics()
  const isAuth = matcher(settings.auth_events)
  const isKey = matcher(settings.key_events)
  const isPrivileged = matcher(settings.privileged_events)
  const isRead = matcher(settings.read_events)
  const maxGapMs = config.analyze.silence.max_gap_minutes * 60_000

  const agg = new SummaryAggregate()
  const auth = new Tallies<'success' | 'failure'>()
  const keys = new Tallies<string>()
  const privileged = new Tallies<string>()
  const audits = new Tallies<'reads' | 'erasures' | 'retention'>()
  const personal = new Tallies<string>()
  const personalKinds = new Map<string, PersonalField['kind']>()
  const gaps: Gap[] = []
  let gapCount = 0
  let previous = filter.since
  const files = new Set<string>()
  const noteGap = (from: number, to: number, after?: Ref) => {
    if (to - from <= maxGapMs) return
    gapCount++
    gaps.push({from: new Date(from).toISOString(), to: new Date(to).toISOString(), minutes: Math.round((to - from) / 60_000), after})
    gaps.sort((a, b) => b.minutes - a.minutes)
    if (gaps.length > MAX_GAPS) gaps.pop()
  }

  for await (const batch of queryEntries(dir, {filter, profile: options.profile, diagnostics})) {
    for (const {entry, time, file, line} of batch) {
      const ref = {file: basename(file), line}
      files.add(ref.file)
      agg.add(entry, time, ref.file, line)
      if (previous !== undefined && time > previous) noteGap(previous, time, ref)
      if (previous === undefined || time > previous) previous = time
      const event = entry.event
      if (isAuth(event)) auth.add(isFailure(entry) ? 'failure' : 'success', ref)
      if (isKey(event)) keys.add(event, ref)
      // A sealed actor (privacy.fields) differs in every entry; its blind index names the subject.
      if (isPrivileged(event)) privileged.add(groupKey(entry.actor), ref)
      if (isRead(event)) audits.add('reads', ref)
      if (event === 'audit.erasure') audits.add('erasures', ref)
      if (event === 'audit.retention') audits.add('retention', ref)
      notePersonal(entry, (path, kind) => {
        personal.add(path, ref)
        personalKinds.set(path, kind)
      })
    }
  }
  if (previous !== undefined) noteGap(previous, until)

  const usage = buildReport(agg, {
    since: filter.since,
    until,
    files: [...files],
    problems: diagnostics.counts() as Record<string, number>,
    topActors: 10,
  })
  const daysWithout = emptyDays(usage, filter.since, until)
  const [oldest, verify, detectors, alerts, encryption] = await Promise.all([
    oldestEntry(dir, options.profile),
    verifyFacts(dir, options, config.retention_days),
    detectorFacts(options),
    alertFacts(config, filter.since ?? 0),
    encryptionFacts(dir, now),
  ])
  const syslog = config.syslog
  return {
    generated: new Date(now).toISOString(),
    dir,
    range: {since: filter.since === undefined ? null : new Date(filter.since).toISOString(), until: new Date(until).toISOString()},
    usage,
    auth: {success: auth.get('success'), failure: auth.get('failure')},
    keyLifecycle: keys.ranked().map(([event, t]) => ({event, ...t})),
    privileged: privileged.ranked().map(([actor, t]) => ({actor, ...t})),
    audits: {reads: audits.get('reads'), erasures: audits.get('erasures'), retention: audits.get('retention')},
    gaps: {maxMinutes: config.analyze.silence.max_gap_minutes, count: gapCount, longest: gaps},
    daysWithout,
    personal: personal.ranked().map(([path, t]) => ({path, kind: personalKinds.get(path)!, ...t})),
    oldest,
    verify,
    detectors,
    alerts,
    encryption,
    settings: {
      retentionDays: config.retention_days,
      checkpointMaxAgeHours: settings.checkpoint_max_age_hours,
      forwarding: syslog.url !== '' ? syslog.url : syslog.host !== '' ? `${syslog.proto}://${syslog.host}:${syslog.port}` : null,
      pseudonymizeKey: config.export.pseudonymize_key !== '',
    },
    problems: diagnostics.counts() as Record<string, number>,
  }
}

function notePersonal(entry: AuditEntry, seen: (path: string, kind: PersonalField['kind']) => void): void {
  if (entry.actor !== '') {
    const kind = personalKind('user', entry.actor)
    seen('actor', kind === 'email' || kind === 'ip' ? kind : 'identifier')
  }
  scanPersonal(entry.details, 'details', 'details', 0, seen)
}

/** UTC days of the range with no entry (the range's first and last day count only when whole). */
function emptyDays(usage: SummaryReport, since: number | undefined, until: number): string[] {
  const counted = new Map(usage.per_day.map((d) => [d.day, d.count]))
  const start = since ?? (usage.range.present.first ? Date.parse(usage.range.present.first) : until)
  const days: string[] = []
  for (let day = Math.ceil(start / 86_400_000) * 86_400_000; day + 86_400_000 <= until && days.length < 400; day += 86_400_000) {
    const name = new Date(day).toISOString().slice(0, 10)
    if (!counted.get(name)) days.push(name)
  }
  return days
}

async function oldestEntry(dir: string, profile?: Profile): Promise<string | null> {
  for await (const batch of queryEntries(dir, {filter: {}, profile, limit: 1})) if (batch[0]) return batch[0].entry.timestamp
  return null
}

async function verifyFacts(dir: string, options: GatherOptions, retentionDays: number): Promise<ComplianceFacts['verify']> {
  try {
    const r = await verifyDirectory(dir, {pubkey: options.pubkey, profile: options.profile, retentionDays: retentionDays || undefined})
    const first = r.firstProblem
    return {
      ran: true,
      valid: r.valid,
      problems: r.problems.length + r.problemsOmitted,
      firstProblem: first ? (first.line === undefined ? {file: first.file} : {file: first.file, line: first.line}) : null,
      entries: r.entries,
      unchained: r.unchained,
      notSealed: r.notSealed,
      checkpoints: r.checkpoints
        ? {
            count: r.checkpoints.count,
            lastSealed: await lastCheckpointTime(r.checkpoints.file),
            signaturesChecked: r.checkpoints.signaturesChecked,
          }
        : null,
    }
  } catch (error) {
    return {ran: false, reason: (error as Error).message}
  }
}

/** The time the newest checkpoint was sealed (verify has checked the file when it says VALID). */
async function lastCheckpointTime(file: string): Promise<string | null> {
  try {
    const {checkpoints} = readCheckpointText(await readFile(file, 'utf8'))
    return checkpoints.at(-1)?.time ?? null
  } catch {
    return null
  }
}

async function detectorFacts(options: GatherOptions): Promise<ComplianceFacts['detectors']> {
  try {
    const {report} = await runAnalyze({config: options.config, filter: options.filter, profile: options.profile, now: options.now})
    return {
      ran: true,
      findings: report.findings.map((f) => ({
        id: f.id,
        title: f.title,
        severity: f.severity,
        count: f.count,
        evidence: f.evidence.slice(0, MAX_REFS).map((e) => ({file: basename(e.file), line: e.line})),
      })),
    }
  } catch (error) {
    return {ran: false, reason: (error as Error).message}
  }
}

/** Alerts analyze sent since the range began, from its dedup state file (the log itself does not record them). */
async function alertFacts(config: Config, since: number): Promise<ComplianceFacts['alerts']> {
  const notify = config.analyze.notify
  const webhooks = [notify.discord_webhook !== '' ? 'discord' : '', notify.slack_webhook !== '' ? 'slack' : ''].filter(Boolean)
  try {
    const sent = JSON.parse(await readFile(notify.state_file || defaultStatePath(), 'utf8')) as Record<string, unknown>
    return {webhooks, sent: Object.values(sent).filter((at) => typeof at === 'number' && at >= since).length}
  } catch {
    return {webhooks, sent: null}
  }
}

/** Closed parts (every log file but today's live one) and how many of them are age-encrypted. */
async function encryptionFacts(dir: string, now: number): Promise<ComplianceFacts['encryption']> {
  const today = `audit-${new Date(now).toISOString().slice(0, 10)}.jsonl`
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return {closedParts: 0, encrypted: 0}
  }
  const logs = names.filter((n) => /^audit-\d{4}-\d{2}-\d{2}(\.\d+)?\.jsonl(\.gz)?(\.age)?$/.test(n) && n !== today)
  // listLogFiles knows the plain names; .age parts are counted by their suffix.
  const plain = (await listLogFiles(dir).catch(() => [])).filter((f) => f.name !== today).length
  const encrypted = logs.filter((n) => n.endsWith('.age')).length
  return {closedParts: plain + encrypted, encrypted}
}
