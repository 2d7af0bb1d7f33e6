#!/usr/bin/env node
import {execute} from '@oclif/core'

import {guardStdout} from '../dist/cli/stdout-guard.js'

// Help and the version are written before any command runs: guard them too.
guardStdout()

await execute({dir: import.meta.url})
