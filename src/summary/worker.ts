import {workerData} from 'node:worker_threads'

import type {Profile} from '../events/model.js'
import {serveTasks} from '../threads.js'
import {summarizeFile, type SummaryTask, type WireSummary} from './summarize.js'

// Aggregates one file per task posted by summarize().
const {profile} = workerData as {profile?: Profile}
serveTasks<SummaryTask, WireSummary>(async ({file, filter}) => {
  const {aggregate, diagnostics} = await summarizeFile(file, filter, profile)
  return {aggregate: aggregate.toJSON(), diagnostics: diagnostics.toJSON()}
})
