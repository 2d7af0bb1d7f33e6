import {parentPort} from 'node:worker_threads'

import {type ScanRequest, scanBlock} from './verify-scan.js'

/** Worker thread: scans the blocks the verifier sends, one message each. */
parentPort?.on('message', (message: ScanRequest & {id: number}) => {
  parentPort?.postMessage({id: message.id, result: scanBlock(message)})
})
