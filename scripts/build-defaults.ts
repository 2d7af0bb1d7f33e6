/**
 * Converts config/default.yaml into dist/config/defaults.json, validated against the schema,
 * so that commands read their defaults without loading a YAML parser or zod.
 */
import {readFileSync, writeFileSync} from 'node:fs'

import {parse} from 'yaml'

import {z} from 'zod'

import {makeConfigSchemas} from '../src/config/schema.js'

const {configSchema} = makeConfigSchemas(z)

const parsed = configSchema.safeParse(parse(readFileSync('config/default.yaml', 'utf8')))
if (!parsed.success) {
  console.error(`config/default.yaml: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  process.exit(1)
}
writeFileSync('dist/config/defaults.json', `${JSON.stringify(parsed.data, null, 2)}\n`)
