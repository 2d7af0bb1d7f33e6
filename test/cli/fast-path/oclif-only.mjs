// Used as spawnAudit's wrapper: runs the argv after `node bin/run.js` through oclif alone, as
// bin/run.js did before its fast path, so a test can compare the two paths.
import {pathToFileURL} from 'node:url'

import {execute} from '@oclif/core'

import {guardStdout} from '../../../dist/cli/stdout-guard.js'

const [, , , bin, ...args] = process.argv
guardStdout()
await execute({dir: pathToFileURL(bin).href, args})
