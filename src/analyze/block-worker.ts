import type {TransferListItem} from 'node:worker_threads'

import type {ScanRequest, ScanResult} from '../integrity/verify/scan.js'
import {serveTasks} from '../threads.js'
import {type BlockRows, scanWithRows} from './block-rows.js'

// Worker thread: verify's scan of each block, and analyze's rows of it (block-rows.ts); the columns move back, not copied.
serveTasks<ScanRequest, ScanResult>(scanWithRows, (answer): TransferListItem[] => {
  const rows = answer.extra as BlockRows | undefined
  return rows ? [rows.ints, rows.times, rows.failures].map((column) => column.buffer as ArrayBuffer) : []
})
