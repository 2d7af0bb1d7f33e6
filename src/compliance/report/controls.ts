import type {ComplianceFacts, Ref} from './facts.js'

export const STANDARDS = ['soc2', 'hipaa', 'gdpr'] as const
export type Standard = (typeof STANDARDS)[number]

/** `unknown`: the log cannot establish it — the report says why instead of guessing. */
export const STATUSES = ['met', 'attention', 'not-met', 'unknown'] as const
export type Status = (typeof STATUSES)[number]
export const STATUS_LABEL: Record<Status, string> = {
  met: 'met',
  attention: 'attention',
  'not-met': 'not met',
  unknown: 'cannot be established from the log',
}

export interface Evidence {
  label: string
  value: string
  refs?: Ref[]
}

export interface Control {
  id: string
  title: string
  status: Status
  /** One sentence: why this status. */
  reason: string
  evidence: Evidence[]
}

export interface ComplianceReport {
  standard: Standard
  title: string
  generated: string
  dir: string
  range: {since: string | null; until: string}
  /** The worst status of any control. */
  verdict: Status
  controls: Control[]
  usage: {
    entries: number
    requests: number
    unique_users: number
    error_rate: number
    models: Array<{name: string; count: number; share: number}>
  }
}

const TITLES: Record<Standard, string> = {
  soc2: 'SOC 2 — logical access, system monitoring, incident response',
  hipaa: 'HIPAA — audit controls, retention, encryption at rest',
  gdpr: 'GDPR — personal data, storage limitation, erasure',
}
const SIX_YEARS_DAYS = 6 * 366
const DAY_MS = 86_400_000

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`
const worst = (statuses: Status[]): Status =>
  (['not-met', 'attention', 'unknown', 'met'] as const).find((s) => statuses.includes(s)) ?? 'met'

/** Judges the facts against one standard's controls; pure, so every status is testable from facts alone. */
export function evaluate(standard: Standard, facts: ComplianceFacts): ComplianceReport {
  const now = Date.parse(facts.generated)
  const controls = {soc2: soc2Controls, hipaa: hipaaControls, gdpr: gdprControls}[standard](facts, now)
  const u = facts.usage
  return {
    standard,
    title: TITLES[standard],
    generated: facts.generated,
    dir: facts.dir,
    range: facts.range,
    verdict: worst(controls.map((c) => c.status)),
    controls,
    usage: {
      entries: u.total,
      requests: u.by_event.find((e) => e.name === 'api.request')?.count ?? 0,
      unique_users: u.unique_actors,
      error_rate: u.failures.error_rate,
      models: u.models?.by_model ?? [],
    },
  }
}

function soc2Controls(f: ComplianceFacts, now: number): Control[] {
  return [accessControl(f), monitoringControl(f, now), incidentControl(f)]
}

function accessControl(f: ComplianceFacts): Control {
  const {success, failure} = f.auth
  const total = success.count + failure.count
  const evidence: Evidence[] = [
    {label: 'Successful authentications', value: String(success.count), refs: success.refs},
    {label: 'Failed authentications', value: String(failure.count), refs: failure.refs},
    ...f.keyLifecycle.map((k) => ({label: `Key/token lifecycle: ${k.event}`, value: String(k.count), refs: k.refs})),
    ...f.privileged.map((p) => ({label: `Privileged actions by ${p.actor}`, value: String(p.count), refs: p.refs})),
  ]
  const bruteForce = f.detectors.ran ? f.detectors.findings.filter((x) => x.id.startsWith('brute-force')) : []
  for (const b of bruteForce) evidence.push({label: `Detector: ${b.title}`, value: `${b.count} events`, refs: b.evidence})
  const control = {id: 'CC6.1', title: 'Logical access', evidence}
  if (total === 0) {
    return {
      ...control,
      status: 'unknown',
      reason: 'no authentication events in the range (compliance.auth_events), so access cannot be shown',
    }
  }
  if (bruteForce.length > 0) {
    return {
      ...control,
      status: 'attention',
      reason: `${plural(bruteForce.length, 'brute-force finding')} against ${plural(total, 'authentication')}`,
    }
  }
  return {
    ...control,
    status: 'met',
    reason: `${plural(total, 'authentication')} recorded (${failure.count} failed); ${plural(f.privileged.length, 'actor')} with privileged actions`,
  }
}

function monitoringControl(f: ComplianceFacts, now: number): Control {
  const evidence: Evidence[] = []
  const attention: string[] = []
  let failed: string | undefined
  const v = f.verify
  if (v.ran) {
    const where = v.firstProblem ? ('line' in v.firstProblem ? `${v.firstProblem.file}:${v.firstProblem.line}` : v.firstProblem.file) : ''
    evidence.push({
      label: 'Hash chain (audit verify)',
      value: v.valid
        ? `VALID, ${plural(v.entries, 'entry', 'entries')} checked`
        : `INVALID, ${plural(v.problems, 'problem')}, first at ${where}`,
      refs: v.firstProblem && 'line' in v.firstProblem ? [v.firstProblem] : undefined,
    })
    if (!v.valid) failed = `the hash chain does not verify (${plural(v.problems, 'problem')})`
    if (v.unchained > 0) attention.push(`${plural(v.unchained, 'entry', 'entries')} without a chain hash`)
    const cp = v.checkpoints
    if (cp?.lastSealed) {
      const ageHours = Math.round((now - Date.parse(cp.lastSealed)) / 3_600_000)
      evidence.push({
        label: 'Last checkpoint',
        value: `${cp.lastSealed} (${ageHours} h ago, ${plural(cp.count, 'checkpoint')}, signatures ${cp.signaturesChecked ? 'checked' : 'NOT checked: no --pubkey'})`,
      })
      if (ageHours > f.settings.checkpointMaxAgeHours)
        attention.push(`the last checkpoint is ${ageHours} h old (limit ${f.settings.checkpointMaxAgeHours} h)`)
      if (!cp.signaturesChecked) attention.push('checkpoint signatures were not checked (give --pubkey)')
    } else {
      evidence.push({label: 'Last checkpoint', value: 'none (audit seal was never run)'})
      attention.push('no signed checkpoint: dropping the newest entries would go unnoticed')
    }
    evidence.push({label: 'Entries after the last checkpoint (not sealed)', value: String(v.notSealed)})
  } else {
    evidence.push({label: 'Hash chain (audit verify)', value: `not run: ${v.reason}`})
    failed = `verify could not run: ${v.reason}`
  }
  const g = f.gaps
  evidence.push({
    label: `Silences longer than ${g.maxMinutes} min`,
    value: g.count === 0 ? 'none' : `${g.count}; longest ${g.longest.map((x) => `${x.from} – ${x.to} (${x.minutes} min)`).join('; ')}`,
    refs: g.longest.flatMap((x) => (x.after ? [x.after] : [])),
  })
  if (g.count > 0) attention.push(`${plural(g.count, 'silence')} longer than ${g.maxMinutes} min`)
  evidence.push({label: 'Days without entries', value: f.daysWithout.length === 0 ? 'none' : f.daysWithout.join(', ')})
  if (f.daysWithout.length > 0) attention.push(`${plural(f.daysWithout.length, 'day')} without entries`)
  evidence.push({label: 'Forwarding off the host (syslog)', value: f.settings.forwarding ?? 'not configured'})
  if (!f.settings.forwarding) attention.push('no forwarding configured: the only copy is on this host')
  const control = {id: 'CC7.2', title: 'System monitoring: coverage and integrity', evidence}
  if (f.usage.total === 0) return {...control, status: 'unknown', reason: 'no entries in the range'}
  if (failed) return {...control, status: 'not-met', reason: failed}
  if (attention.length > 0) return {...control, status: 'attention', reason: attention.join('; ')}
  return {...control, status: 'met', reason: 'the chain verifies, checkpoints are fresh, no silences or empty days, forwarding configured'}
}

function incidentControl(f: ComplianceFacts): Control {
  const evidence: Evidence[] = []
  const control = {id: 'CC7.3', title: 'Incident response', evidence}
  const alerts = f.alerts
  evidence.push({label: 'Alert channels (analyze.notify)', value: alerts.webhooks.length ? alerts.webhooks.join(', ') : 'none configured'})
  evidence.push({label: 'Alerts sent in the range', value: alerts.sent === null ? 'unknown (no analyze alert state)' : String(alerts.sent)})
  if (!f.detectors.ran) {
    evidence.push({label: 'Detectors (audit analyze)', value: `not run: ${f.detectors.reason}`})
    return {...control, status: 'unknown', reason: `the detectors could not run: ${f.detectors.reason}`}
  }
  const findings = f.detectors.findings
  for (const x of findings) evidence.push({label: `Finding (${x.severity}): ${x.title}`, value: `${x.count} events`, refs: x.evidence})
  if (findings.length === 0) evidence.push({label: 'Detector findings', value: 'none'})
  const serious = findings.filter((x) => x.severity === 'high' || x.severity === 'critical')
  if (serious.length > 0 && alerts.webhooks.length === 0) {
    return {...control, status: 'not-met', reason: `${plural(serious.length, 'high or critical finding')} and no alert channel configured`}
  }
  if (serious.length > 0)
    return {...control, status: 'attention', reason: `${plural(serious.length, 'high or critical finding')} to follow up`}
  if (alerts.webhooks.length === 0) return {...control, status: 'attention', reason: 'no alert channel configured (analyze.notify)'}
  return {
    ...control,
    status: 'met',
    reason: `${plural(findings.length, 'finding')}, none high or critical; alerts go to ${alerts.webhooks.join(', ')}`,
  }
}

function hipaaControls(f: ComplianceFacts, now: number): Control[] {
  return [
    retentionHipaa(f, now),
    encryptionControl(f),
    readsControl(f),
    {...monitoringControl(f, now), id: '164.312(b)', title: 'Audit controls: coverage and integrity'},
  ]
}

function retentionHipaa(f: ComplianceFacts, now: number): Control {
  const days = f.settings.retentionDays
  const oldestDays = f.oldest ? Math.floor((now - Date.parse(f.oldest)) / DAY_MS) : null
  const evidence: Evidence[] = [
    {label: 'Retention configured (retention_days)', value: days === 0 ? 'keep everything' : `${days} days`},
    {label: 'Oldest entry kept', value: f.oldest ? `${f.oldest} (${oldestDays} days ago)` : 'none'},
    {label: 'Retention runs recorded (audit.retention)', value: String(f.audits.retention.count), refs: f.audits.retention.refs},
  ]
  const control = {id: '164.316(b)(2)', title: 'Retention of audit records (six years)', evidence}
  if (days !== 0 && days < SIX_YEARS_DAYS) {
    return {...control, status: 'not-met', reason: `retention_days ${days} removes records before six years (${SIX_YEARS_DAYS} days)`}
  }
  return {
    ...control,
    status: 'met',
    reason:
      days === 0 ? 'nothing is removed; the log reaches back to its first entry' : `records are kept ${days} days, at least six years`,
  }
}

function encryptionControl(f: ComplianceFacts): Control {
  const {closedParts, encrypted} = f.encryption
  const evidence = [{label: 'Closed log parts encrypted (.age)', value: `${encrypted} of ${closedParts}`}]
  const control = {id: '164.312(a)(2)(iv)', title: 'Encryption at rest', evidence}
  if (closedParts === 0) return {...control, status: 'unknown', reason: 'no closed log part yet'}
  if (encrypted === closedParts) return {...control, status: 'met', reason: 'every closed part is encrypted'}
  return {...control, status: 'not-met', reason: `${closedParts - encrypted} of ${plural(closedParts, 'closed part')} stored in plaintext`}
}

function readsControl(f: ComplianceFacts): Control {
  const reads = f.audits.reads
  const evidence = [{label: 'Reads of the audit log (compliance.read_events)', value: String(reads.count), refs: reads.refs}]
  const control = {id: '164.312(b)-access', title: 'Who read the audit records', evidence}
  if (reads.count === 0) {
    return {...control, status: 'unknown', reason: 'reads of the audit log are not logged here (no compliance.read_events in the range)'}
  }
  return {...control, status: 'met', reason: `${plural(reads.count, 'read')} of the audit records logged`}
}

function gdprControls(f: ComplianceFacts, now: number): Control[] {
  return [personalControl(f), storageControl(f, now), erasureControl(f), exportControl(f)]
}

function personalControl(f: ComplianceFacts): Control {
  const evidence = f.personal.map((p) => ({label: `${p.path} (${p.kind})`, value: `${p.count} entries`, refs: p.refs}))
  const control = {id: 'Art. 30/32', title: 'Personal data in the log', evidence}
  if (f.usage.total === 0) return {...control, status: 'unknown', reason: 'no entries in the range'}
  if (f.personal.length === 0) return {...control, status: 'met', reason: 'no field holds personal data in the range'}
  return {
    ...control,
    status: 'attention',
    reason: `${plural(f.personal.length, 'field')} hold personal data in plaintext: list them in privacy.fields (records of processing) and pseudonymise exports`,
  }
}

function storageControl(f: ComplianceFacts, now: number): Control {
  const days = f.settings.retentionDays
  const oldestDays = f.oldest ? Math.floor((now - Date.parse(f.oldest)) / DAY_MS) : null
  const evidence: Evidence[] = [
    {label: 'Retention policy (retention_days)', value: days === 0 ? 'none: everything is kept' : `${days} days`},
    {label: 'Oldest entry kept', value: f.oldest ? `${f.oldest} (${oldestDays} days ago)` : 'none'},
  ]
  const control = {id: 'Art. 5(1)(e)', title: 'Storage limitation', evidence}
  if (days === 0) return {...control, status: 'attention', reason: 'no retention limit is configured'}
  // A day of slack: retention runs at the writer's day change, not at the exact hour.
  if (oldestDays !== null && oldestDays > days + 1) {
    return {...control, status: 'not-met', reason: `the oldest entry is ${oldestDays} days old, past the ${days}-day policy`}
  }
  return {...control, status: 'met', reason: `nothing older than the ${days}-day policy is kept`}
}

function erasureControl(f: ComplianceFacts): Control {
  const e = f.audits.erasures
  return {
    id: 'Art. 17',
    title: 'Erasures performed',
    evidence: [{label: 'audit.erasure events', value: String(e.count), refs: e.refs}],
    status: 'met',
    reason: e.count === 0 ? 'no erasure recorded in the range' : `${plural(e.count, 'erasure')} recorded`,
  }
}

function exportControl(f: ComplianceFacts): Control {
  const evidence = [
    {label: 'Pseudonymisation key for exports (export.pseudonymize_key)', value: f.settings.pseudonymizeKey ? 'set' : 'not set'},
  ]
  const control = {id: 'Art. 25', title: 'Exports redacted', evidence}
  if (f.settings.pseudonymizeKey) return {...control, status: 'met', reason: 'exports can pseudonymise addresses (--pseudonymize-ip)'}
  return {...control, status: 'unknown', reason: 'whether exports were redacted is not logged, and no pseudonymisation key is configured'}
}
