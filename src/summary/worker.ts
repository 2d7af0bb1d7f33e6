import {parentPort, workerData} from 'node:worker_threads'

import type {Profile} from '../events/model.js'
import {summarizeFile, type SummaryTask} from './summarize.js'

// Aggregates one file per message and posts the result back.
const {profile} = workerData as {profile?: Profile}
parentPort!.on('message', async ({file, filter}: SummaryTask) => {
  const {aggregate, diagnostics} = await summarizeFile(file, filter, profile)
  parentPort!.postMessage({aggregate: aggregate.toJSON(), diagnostics: diagnostics.toJSON()})
})
