// Loaded with --import: on exit, writes to $FAST_PATH_PROBE which path answered: `oclif` when it was
// loaded, `fast` when the fast path's CommonJS bundle (dist/cli/fast.cjs) answered without it.
import {writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {join} from 'node:path'

const require = createRequire(import.meta.url)
process.on('exit', () => {
  const loaded = Object.keys(require.cache)
  const oclif = loaded.some((path) => path.includes('@oclif/core'))
  const bundle = loaded.some((path) => path.endsWith(join('dist', 'cli', 'fast.cjs')))
  writeFileSync(process.env.FAST_PATH_PROBE, oclif ? 'oclif' : bundle ? 'fast' : 'neither')
})
