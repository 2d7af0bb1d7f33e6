import {json, type Step, startFake} from './http-base.js'

/**
 * Elasticsearch `_bulk` as its reference documents it: POST /_bulk or /<index>/_bulk with
 * `Content-Type: application/x-ndjson`, action and source lines ending in a newline; HTTP 200 with
 * `errors` and one item per action, `create` of an existing `_id` a 409 version conflict.
 * `itemFailures` scripts per-request item errors: request n → {item index: status}; `idFailures` per
 * document, whichever request carries it: `_id` → the statuses of its first attempts (so a test does
 * not depend on the order in which concurrent requests arrive).
 */
export async function startElasticsearch(
  options: {
    script?: Step[]
    itemFailures?: Record<number, Record<number, number>>
    idFailures?: Record<string, number[]>
    apiKey?: string
  } = {},
) {
  const idFailures = new Map(Object.entries(options.idFailures ?? {}).map(([id, statuses]) => [id, [...statuses]]))
  const documents = new Map<string, unknown>()
  let bulkRequests = 0
  const fake = await startFake((req, res) => {
    const path = req.path.split('?')[0]
    const match = /^\/(?:([^/_][^/]*)\/)?_bulk$/.exec(path)
    if (req.method !== 'POST' || !match)
      return json(res, 404, {error: {type: 'no_handler_found_exception', reason: `no handler found for uri [${path}]`}, status: 404})
    if (options.apiKey && req.headers.authorization !== `ApiKey ${options.apiKey}`)
      return json(res, 401, {error: {type: 'security_exception', reason: 'missing authentication credentials'}, status: 401})
    if (
      !String(req.headers['content-type']).startsWith('application/x-ndjson') &&
      !String(req.headers['content-type']).startsWith('application/json')
    ) {
      return json(res, 406, {error: 'Content-Type header is not supported', status: 406})
    }
    if (!req.body.endsWith('\n'))
      return json(res, 400, {
        error: {type: 'illegal_argument_exception', reason: 'The bulk request must be terminated by a newline [\\n]'},
        status: 400,
      })
    const lines = req.body.slice(0, -1).split('\n')
    // Every action of these kinds is followed by its source line, and every line is JSON.
    if (lines.length % 2 !== 0)
      return json(res, 400, {
        error: {type: 'action_request_validation_exception', reason: 'Validation Failed: 1: source is missing;'},
        status: 400,
      })
    const unparsable = lines.findIndex((line) => !isJsonObject(line))
    if (unparsable >= 0)
      return json(res, 400, {
        error: {type: 'x_content_parse_exception', reason: `[${unparsable + 1}:1] Malformed content, expected a JSON object`},
        status: 400,
      })
    const failures = options.itemFailures?.[bulkRequests++] ?? {}
    const items: unknown[] = []
    for (let i = 0; i < lines.length; i += 2) {
      const action = JSON.parse(lines[i]) as Record<string, {_index?: string; _id?: string}>
      const [kind, meta] = Object.entries(action)[0]
      const index = meta._index ?? match[1] ?? 'missing'
      const scripted = failures[i / 2] ?? (meta._id === undefined ? undefined : idFailures.get(meta._id)?.shift())
      if (scripted) {
        const type = scripted === 429 ? 'es_rejected_execution_exception' : 'mapper_parsing_exception'
        items.push({[kind]: {_index: index, _id: meta._id, status: scripted, error: {type, reason: `scripted ${scripted}`}}})
        continue
      }
      const source = JSON.parse(lines[i + 1])
      const id = meta._id ?? `auto-${documents.size}`
      if (kind === 'create' && documents.has(`${index}/${id}`)) {
        items.push({
          create: {
            _index: index,
            _id: id,
            status: 409,
            error: {type: 'version_conflict_engine_exception', reason: `[${id}]: version conflict, document already exists`},
          },
        })
        continue
      }
      documents.set(`${index}/${id}`, source)
      items.push({[kind]: {_index: index, _id: id, _version: 1, result: 'created', status: 201}})
    }
    const errors = items.some((item) => Object.values(item as Record<string, {status: number}>)[0].status >= 300)
    const filter = new URLSearchParams(req.path.split('?')[1] ?? '').get('filter_path')
    const answer = {took: 1, errors, items}
    json(res, 200, filter ? (filterPath(answer, filter.split(',')) ?? {}) : answer)
  }, options.script)
  return {...fake, documents}
}

/**
 * The response filter every Elasticsearch API takes (`filter_path=a.b,c.*.d`): only the fields on a
 * listed path are kept, arrays do not use up a path segment, `*` matches one key, and an object or
 * array left empty is dropped (so `items.*.error` alone keeps only the failed items).
 */
export function filterPath(value: unknown, paths: string[]): unknown {
  const filter = (node: unknown, patterns: string[][]): unknown => {
    if (patterns.some((p) => p.length === 0)) return node
    if (Array.isArray(node)) {
      const kept = node.map((element) => filter(element, patterns)).filter((element) => element !== undefined)
      return kept.length > 0 ? kept : undefined
    }
    if (typeof node !== 'object' || node === null) return undefined
    const kept: Record<string, unknown> = {}
    for (const [key, child] of Object.entries(node)) {
      const rest = patterns.filter((p) => p[0] === '*' || p[0] === key).map((p) => p.slice(1))
      const result = rest.length > 0 ? filter(child, rest) : undefined
      if (result !== undefined) kept[key] = result
    }
    return Object.keys(kept).length > 0 ? kept : undefined
  }
  return filter(
    value,
    paths.map((path) => path.split('.')),
  )
}

function isJsonObject(line: string): boolean {
  try {
    const value = JSON.parse(line)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
  } catch {
    return false
  }
}
