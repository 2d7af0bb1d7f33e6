import {workerData} from 'node:worker_threads'

import {serveTasks} from '../threads.js'
import {type FileExport, type FileExportJob, type FileExportTask, exportFile} from './parallel.js'

// Decodes and encodes each log file posted by parallelExport.
const job = workerData as FileExportJob
serveTasks<FileExportTask, FileExport>(
  (task) => exportFile(job, task),
  (answer) => answer.bytes.map((chunk) => chunk.buffer),
)
