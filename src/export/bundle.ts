import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {getCodec} from '../formats/registry.js'
import {listLogFiles} from '../store/files.js'
import {FileSink} from '../transport/file.js'
import {type ArchiveKind, chainEvidence, type Manifest, writeBundle} from './archive.js'
import {exportCodecName} from './encode.js'
import {type ExportRequest, type ExportResult, runExport} from './run.js'

export interface BundleRequest extends Omit<ExportRequest, 'sink' | 'beforeState'> {
  output: string
  kind: ArchiveKind
  includeSource: boolean
  toolVersion: string
  /** The query as the user gave it (flags), for the manifest. */
  query: Record<string, unknown>
  since?: number
  until?: number
}

/**
 * Exports into a private temp directory, then writes the bundle (export, sources, manifest) over
 * `output` atomically; the --since-last state advances only once the bundle is in place.
 */
export async function exportBundle(request: BundleRequest): Promise<{result: ExportResult; manifest: Manifest}> {
  const work = await mkdtemp(join(tmpdir(), 'auditkit-export-'))
  try {
    const codec = getCodec(exportCodecName(request.format))
    const exportName = `audit-export.${codec.extension}`
    const exportPath = join(work, exportName)
    const sink = await FileSink.open(exportPath)
    let manifest: Manifest | undefined
    const result = await runExport({
      ...request,
      sink,
      beforeState: async (done) => {
        const files: Array<[string, string]> = [[exportName, exportPath]]
        if (request.includeSource) {
          const listed = await listLogFiles(request.dir)
          for (const file of listed) if (done.perFile[file.name]) files.push([`source/${file.name}`, file.path])
        }
        manifest = await writeBundle({
          path: request.output,
          kind: request.kind,
          files,
          manifest: {
            manifest_version: 1,
            tool: {name: 'auditkit', version: request.toolVersion},
            created: new Date().toISOString(),
            query: request.query,
            format: codec.name,
            entries: done.exported,
            time_range: {
              first: done.first?.timestamp ?? null,
              last: done.last?.timestamp ?? null,
              since: iso(request.since),
              until: iso(request.until),
            },
            sources: Object.entries(done.perFile).map(([file, entries]) => ({file, entries})),
          },
          evidence: () => chainEvidence(request.dir),
        })
      },
    })
    return {result, manifest: manifest!}
  } finally {
    await rm(work, {recursive: true, force: true})
  }
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString()
}
