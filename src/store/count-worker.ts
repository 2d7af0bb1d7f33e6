import {workerData} from 'node:worker_threads'

import type {Profile} from '../events/model.js'
import {serveTasks} from '../threads.js'
import {type CountResult, type CountTask, type FindResult, runCountTask} from './count.js'

// Counts the matches of each file or byte range posted by countMatches(), or finds them for findEntryBatches().
const {profile} = workerData as {profile?: Profile}
serveTasks<CountTask, CountResult | FindResult>((task) => runCountTask(task, profile))
