import {workerData} from 'node:worker_threads'

import type {Profile} from '../events/model.js'
import {serveTasks} from '../threads.js'
import {runSummaryTask, type SummaryTask, toWire, type WireSummary} from './summarize.js'

// Aggregates each task (a file or a byte range of one) posted by summarize().
const {profile} = workerData as {profile?: Profile}
serveTasks<{task: SummaryTask; index: number}, WireSummary & {index: number}>(async ({task, index}) => ({
  ...toWire(await runSummaryTask(task, profile)),
  index,
}))
