#!/usr/bin/env -S node --import tsx
// Runs the commands from src/ without a build (development only). CommonJS, as bin/run.js.
const {join} = require('node:path')

import('@oclif/core').then(({execute}) => execute({development: true, dir: join(__dirname, '..')}))
