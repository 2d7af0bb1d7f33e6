#!/usr/bin/env node
// `audit --version`, a plain `audit tail` and `audit search --count` are answered without loading oclif (src/cli/fast.ts);
// everything else, and anything the fast path is unsure of, goes to oclif before any output.
import {runFast} from '../dist/cli/fast.js'

if (!(await runFast(process.argv.slice(2)))) {
  const [{execute}, {guardStdout}] = await Promise.all([import('@oclif/core'), import('../dist/cli/stdout-guard.js')])
  // Help and the version are written before any command runs: guard them too.
  guardStdout()
  await execute({dir: import.meta.url})
}
