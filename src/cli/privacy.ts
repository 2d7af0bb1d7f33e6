import type {Config} from '../config/schema.js'
import type {FilterSpec} from '../events/filter.js'
import {Revealer} from '../privacy/privacy.js'

const WHERE_EQUAL = /^([A-Za-z0-9_.@-]+)(!=|=)(.*)$/s
const BLIND = /^blind:([A-Za-z0-9_-]{22})$/

/**
 * The privacy side of a reading command (config `privacy`): the revealer its output goes through,
 * and its filter with the blind index of each value it compares on a sealed field, so `--actor alice`
 * and `--where details.ip=…` find sealed values. `blind:<index>` (as readers show without keystore
 * access) is taken as the index itself. Without keystore access plaintext values cannot be matched:
 * `warn` says why.
 */
export function readerPrivacy(
  config: Config,
  spec: FilterSpec,
  warn: (line: string) => void,
  options: {reveal: boolean} = {reveal: true},
): {spec: FilterSpec; revealer?: Revealer} {
  const revealer = Revealer.open(config.privacy, config.dir, options)
  if (!revealer) return {spec}
  if (revealer.problem) warn(`warning: ${revealer.problem}; privacy fields show as blind indexes`)
  const fields = config.privacy.fields
  const compared = [
    ...(fields.includes('actor') ? (spec.actors ?? []) : []),
    ...(spec.where ?? []).flatMap((w) => {
      const m = WHERE_EQUAL.exec(w)
      return m && fields.includes(m[1]) ? [m[3]] : []
    }),
  ]
  const blinds: Record<string, string> = {}
  const unmatched: string[] = []
  for (const value of compared) {
    const blind = BLIND.exec(value)?.[1] ?? revealer.blindOf(value)
    if (blind) blinds[value] = blind
    else unmatched.push(value)
  }
  if (unmatched.length > 0) warn(`warning: without the keystore, sealed values match only blind:INDEX, not ${JSON.stringify(unmatched[0])}`)
  return {spec: {...spec, privacy: {fields, blinds}}, revealer}
}

/**
 * The plaintext behind `blind:<index>` names (summary rows grouped by blind index, revealed only
 * here, at render): the first sealed actor of each index is found (streaming, stopping once all are) and revealed. Names that stay
 * blind (no keystore access, or not found) are left out; an erased subject maps to `[erased]`.
 */
export async function revealBlindActors(config: Config, names: string[], revealer: Revealer | undefined): Promise<Map<string, string>> {
  const shown = new Map<string, string>()
  const blinds = Object.fromEntries(names.flatMap((name) => (BLIND.test(name) ? [[name, name.slice('blind:'.length)]] : [])))
  if (!revealer?.canOpen || !config.privacy.fields.includes('actor') || Object.keys(blinds).length === 0) return shown
  const {queryEntries} = await import('../store/query.js')
  const {sealedBlind} = await import('../privacy/sealed-form.js')
  const filter = {actors: Object.keys(blinds), privacy: {fields: ['actor'], blinds}}
  for await (const batch of queryEntries(config.dir, {filter})) {
    for (const located of batch) {
      const name = `blind:${sealedBlind(located.entry.actor)}`
      if (!shown.has(name)) shown.set(name, String(revealer.reveal(located).entry.actor))
    }
    if (shown.size === Object.keys(blinds).length) break
  }
  return shown
}
