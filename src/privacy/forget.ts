import {AuditError} from '../errors.js'

const BLIND_FORM = /^blind:([A-Za-z0-9_-]{22})$/

/**
 * The subject id `audit forget` acts on: a subject as the actor was written (`alice`), or its blind
 * index as readers show it without the keystore (`blind:<index>`), for erasing someone whose name
 * the operator should not have to type into a shell history.
 */
export function subjectIdOf(subject: string, subjectOf: (actor: string) => string): string {
  if (subject === '') throw new AuditError('SUBJECT: empty; give the actor as written, or blind:INDEX')
  return BLIND_FORM.exec(subject)?.[1] ?? subjectOf(subject)
}
