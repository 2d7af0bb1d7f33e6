#!/usr/bin/env node
// `audit --version`, a plain `audit tail`, `audit search --count` and a plain `audit summary` are
// answered without loading oclif (src/cli/fast.ts); everything else, and anything the fast path is
// unsure of, goes to oclif before any output. This file and the fast path's bundle are CommonJS
// (bin/package.json): Node starts those sooner than its ESM loader. oclif and the commands are ESM,
// loaded by import().
const {join} = require('node:path')
const {runFast} = require('../dist/cli/fast.cjs')

runFast(process.argv.slice(2)).then(async (answered) => {
  if (answered) return
  const [{execute}, {guardStdout}] = await Promise.all([import('@oclif/core'), import('../dist/cli/stdout-guard.js')])
  // Help and the version are written before any command runs: guard them too.
  guardStdout()
  // The package's root, named: oclif would take bin/ for it, as it holds a package.json.
  await execute({dir: join(__dirname, '..')})
})
