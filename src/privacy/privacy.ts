import {statSync} from 'node:fs'
import {join} from 'node:path'

import type {LocatedEntry} from '../events/model.js'
import {Keystore, KeystoreError} from './keystore.js'
import {blindIndexer, openSealed, replaceFields, sealValue} from './seal.js'
import {ERASED, parseSealed, UNDECRYPTABLE} from './sealed-form.js'

/** Config `privacy`: the entry fields that hold personal data, and where their keys live. */
export interface PrivacySettings {
  /** Entry paths (`actor`, `details.ip`, `details.email`) whose values are stored sealed. */
  fields: string[]
  /** The keystore directory, outside the log directory. */
  keystore: string
}

export const PRIVACY_OFF: PrivacySettings = {fields: [], keystore: ''}

/** Whether privacy fields are configured (and so a keystore is needed to write). */
export function privacyOn(settings: PrivacySettings | undefined): settings is PrivacySettings {
  return settings !== undefined && settings.fields.length > 0
}

/**
 * The writer's side: seals the privacy fields of an entry under its actor's key. The actor is the
 * subject of every privacy value of its entry (an entry about alice written by the admin is sealed
 * under the admin's key: erasure follows the actor). The keystore is opened when the writer opens,
 * so a missing or unreadable one fails before anything is written.
 */
export class Sealer {
  private readonly keys = new Map<string, {key: Buffer; ino: number}>()
  private readonly blind: (value: unknown) => string

  constructor(
    readonly settings: PrivacySettings,
    readonly keystore: Keystore,
  ) {
    this.blind = blindIndexer(keystore.indexKey())
  }

  static open(settings: PrivacySettings, logDir: string): Sealer {
    return new Sealer(settings, Keystore.open(settings.keystore, logDir, {write: true}))
  }

  /** The subject id (blind index) of an actor. */
  subjectOf(actor: string): string {
    return this.blind(actor)
  }

  /** The entry with each privacy field's value sealed; throws KeystoreError when a key cannot be had. */
  seal<T extends {event: string; actor: string; details: Record<string, unknown>}>(entry: T): T {
    const subject = this.blind(entry.actor)
    let key: Buffer | undefined
    return replaceFields(entry, this.settings.fields, (value, field) => {
      // A value sealed already (a copied line written again) stays as it is.
      if (parseSealed(value)) return value
      key ??= this.subjectKey(subject)
      return sealValue(value, {field, event: entry.event, subject, key, blind: this.blind(value)})
    })
  }

  /** The subject's key, re-read when its file changed (another process may have forgotten the subject). */
  private subjectKey(subject: string): Buffer {
    const ino = statSync(join(this.keystore.dir, `${subject}.key`), {throwIfNoEntry: false})?.ino
    const cached = this.keys.get(subject)
    if (cached && cached.ino === ino) return cached.key
    const key = this.keystore.subjectKeyForWriting(subject)
    const now = statSync(join(this.keystore.dir, `${subject}.key`), {throwIfNoEntry: false})?.ino
    if (now !== undefined) this.keys.set(subject, {key, ino: now})
    return key
  }
}

/**
 * The readers' side, at one place: a located entry with its sealed values shown as the reader may
 * see them — the plaintext with the keystore readable and the subject's key present, `[erased]` when
 * the key was destroyed, `blind:<index>` without keystore access (or with `reveal` off, for exports).
 */
export class Revealer {
  private readonly keys = new Map<string, Buffer | undefined>()
  private readonly blind: ((value: unknown) => string) | undefined

  private constructor(
    readonly fields: readonly string[],
    private readonly keystore: Keystore | undefined,
    /** Why the keystore could not be used, when it could not (readers then show blind indexes). */
    readonly problem: string | undefined,
  ) {
    this.blind = keystore && blindIndexer(keystore.indexKey())
  }

  /**
   * The revealer for a log directory's readers. `reveal` false (exports without --reveal) never
   * opens the keystore. A keystore that cannot be opened is not an error for readers: they show
   * blind indexes and `problem` says why.
   */
  static open(settings: PrivacySettings | undefined, logDir: string, options: {reveal: boolean} = {reveal: true}): Revealer | undefined {
    if (!privacyOn(settings)) return undefined
    if (!options.reveal || settings.keystore === '') return new Revealer(settings.fields, undefined, undefined)
    try {
      return new Revealer(settings.fields, Keystore.open(settings.keystore, logDir, {write: false}), undefined)
    } catch (error) {
      if (!(error instanceof KeystoreError)) throw error
      return new Revealer(settings.fields, undefined, error.message)
    }
  }

  /** Whether values open (a readable keystore), not only show as blind indexes. */
  get canOpen(): boolean {
    return this.keystore !== undefined
  }

  /** The blind index of a value, for filters (undefined without keystore access). */
  blindOf(value: unknown): string | undefined {
    return this.blind?.(value)
  }

  /** The located entry with its sealed values revealed (the same object when it holds none). */
  reveal(located: LocatedEntry): LocatedEntry {
    const {entry} = located
    const actor = parseSealed(entry.actor)
    const revealed = replaceFields(entry, this.fields, (value, field) => {
      const parts = parseSealed(value)
      if (!parts) return value
      if (!this.keystore) return `blind:${parts.blind}`
      // A sealed value belongs to its entry's actor: one copied from another subject's entry is refused.
      const entrySubject = actor ? actor.subject : this.blindOf(entry.actor)
      if (parts.subject !== entrySubject) return UNDECRYPTABLE
      const key = this.subjectKey(parts.subject)
      if (!key) return ERASED
      const opened = openSealed(parts, {field, event: entry.event, key})
      return opened ? opened.value : UNDECRYPTABLE
    })
    return revealed === entry ? located : {...located, entry: revealed}
  }

  private subjectKey(subject: string): Buffer | undefined {
    if (!this.keys.has(subject)) this.keys.set(subject, this.keystore?.subjectKey(subject))
    return this.keys.get(subject)
  }
}
