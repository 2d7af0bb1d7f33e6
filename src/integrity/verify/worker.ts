import {parentPort} from 'node:worker_threads'

import {type ScanRequest, scanBlock} from './scan.js'

/** Worker thread: scans the blocks the verifier sends, one message each. */
parentPort?.on('message', (message: ScanRequest & {id: number}) => {
  const result = scanBlock(message)
  // The block goes back to be filled again.
  parentPort?.postMessage({id: message.id, result, buf: message.buf}, [message.buf.buffer as ArrayBuffer])
})
