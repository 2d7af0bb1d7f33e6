import {AuditError} from '../errors.js'

/** `--fields` keeps only these dotted paths of each exported document; `--exclude-fields` drops these. */
export interface Projection {
  fields?: string[]
  exclude?: string[]
}

const PATH = /^[^.\s]+(\.[^.\s]+)*$/

/** Splits comma-separated flag values into checked dotted paths. */
export function parsePaths(values: string[] | undefined, flag: string): string[] | undefined {
  if (!values) return undefined
  const paths = values
    .flatMap((v) => v.split(','))
    .map((p) => p.trim())
    .filter((p) => p !== '')
  for (const path of paths) if (!PATH.test(path)) throw new AuditError(`${flag} "${path}": expected a dotted field path such as user.name`)
  return paths
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function pick(document: Record<string, unknown>, path: string[], into: Record<string, unknown>): void {
  const [head, ...rest] = path
  if (!Object.hasOwn(document, head)) return
  const value = document[head]
  if (rest.length === 0) {
    into[head] = value
    return
  }
  if (!isObject(value)) return
  const child = isObject(into[head]) ? (into[head] as Record<string, unknown>) : {}
  pick(value, rest, child)
  if (Object.keys(child).length > 0) into[head] = child
}

function omit(document: Record<string, unknown>, path: string[]): Record<string, unknown> {
  const [head, ...rest] = path
  if (!Object.hasOwn(document, head)) return document
  const copy = {...document}
  if (rest.length === 0) delete copy[head]
  else if (isObject(copy[head])) copy[head] = omit(copy[head] as Record<string, unknown>, rest)
  return copy
}

/** The document with only the kept fields (in the document's order of paths given), less the excluded ones. */
export function project(document: Record<string, unknown>, {fields, exclude}: Projection): Record<string, unknown> {
  let out = document
  if (fields) {
    out = {}
    for (const path of fields) pick(document, path.split('.'), out)
  }
  for (const path of exclude ?? []) out = omit(out, path.split('.'))
  return out
}
