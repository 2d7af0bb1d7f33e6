// Loaded with --import: on exit, writes to $FAST_PATH_PROBE whether oclif was loaded.
import {writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'

const require = createRequire(import.meta.url)
process.on('exit', () => {
  const oclif = Object.keys(require.cache).some((path) => path.includes('@oclif/core'))
  writeFileSync(process.env.FAST_PATH_PROBE, oclif ? 'oclif' : 'fast')
})
