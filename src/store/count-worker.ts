import {workerData} from 'node:worker_threads'

import type {Profile} from '../events/model.js'
import {serveTasks} from '../threads.js'
import {type CountResult, type CountTask, runCountTask} from './count.js'

// Counts the matches of each file or byte range posted by countMatches().
const {profile} = workerData as {profile?: Profile}
serveTasks<CountTask, CountResult>((task) => runCountTask(task, profile))
