/**
 * Bundles the start-up fast path (src/cli/fast.ts and every module it loads) into one CommonJS
 * file, dist/cli/fast.cjs, which bin/run.js requires: Node starts CommonJS sooner than its ESM
 * loader, and one file reads sooner than twenty. Packages stay outside, loaded from node_modules as
 * dist/ loads them. Modules the bundle imports by import() are evaluated only when first imported.
 * The count's worker module is bundled the same way (dist/store/count-worker.cjs, which startWorker
 * prefers): a worker that boots sooner takes its share of the ranges sooner.
 */
import {readFile, rm} from 'node:fs/promises'
import {dirname, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

import {build, type Plugin} from 'esbuild'

const src = fileURLToPath(new URL('../src/', import.meta.url))
const dist = fileURLToPath(new URL('../dist/', import.meta.url))

/** Bundles src/`entry`.ts into dist/`entry`.cjs. */
async function bundle(entry: string): Promise<void> {
  const home = dirname(`${src}${entry}`)
  // Each module keeps the import.meta.url of its twin in dist/ (config/load.ts finds defaults.json
  // beside itself, store/count.ts its worker module): that path from the bundle's own directory.
  const ownUrl: Plugin = {
    name: 'own-import-meta-url',
    setup(b) {
      b.onLoad({filter: /\.ts$/}, async ({path}) => {
        const twin = relative(home, path).replace(/\.ts$/, '.js')
        const text = await readFile(path, 'utf8')
        return {contents: text.replaceAll('import.meta.url', `__distUrl(${JSON.stringify(twin)})`), loader: 'ts'}
      })
    },
  }
  await build({
    entryPoints: [`${src}${entry}.ts`],
    outfile: `${dist}${entry}.cjs`,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    plugins: [ownUrl],
    // Defined before any module runs: a module may name its own `require` (createRequire).
    banner: {
      js: '"use strict";\nconst __distUrl = ((url, path) => (twin) => url.pathToFileURL(path.join(__dirname, twin)).href)(require("node:url"), require("node:path"));',
    },
    // threads.ts reads import.meta.resolve only when run from source (a .ts caller), never from the bundle.
    logOverride: {'empty-import-meta': 'silent'},
    logLevel: 'warning',
  })
}

await Promise.all([bundle('cli/fast'), bundle('store/count-worker')])
// tsc's output of the modules only the fast path loads: nothing imports it, the bundle is what runs.
await Promise.all(
  ['cli/fast', 'cli/fast-summary'].flatMap((module) => ['.js', '.d.ts'].map((ext) => rm(`${dist}${module}${ext}`, {force: true}))),
)
