// Used as spawnAudit's wrapper: runs the argv after `node bin/run.js` through oclif alone, as
// bin/run.js did before its fast path, so a test can compare the two paths.
import {dirname, join} from 'node:path'

import {execute} from '@oclif/core'

import {guardStdout} from '../../../dist/cli/stdout-guard.js'

const [, , , bin, ...args] = process.argv
guardStdout()
// The package's root, named as bin/run.js names it.
await execute({dir: join(dirname(bin), '..'), args})
