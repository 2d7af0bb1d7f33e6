import {parentPort, workerData} from 'node:worker_threads'

import type {Profile} from '../events/model.js'
import {summarizeFile, type SummaryTask} from './summarize.js'

// Aggregates its share of the files and posts the results back in the same order.
const {tasks, profile} = workerData as {tasks: SummaryTask[]; profile?: Profile}
const results = []
for (const {file, filter} of tasks) {
  const {aggregate, diagnostics} = await summarizeFile(file, filter, profile)
  results.push({aggregate: aggregate.toJSON(), diagnostics: diagnostics.toJSON()})
}
parentPort!.postMessage(results)
