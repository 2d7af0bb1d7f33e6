import {serveTasks} from '../../threads.js'
import {type ScanAnswer, type ScanRequest, scanBlock} from './scan.js'

// Worker thread: scans the blocks the verifier sends; each block goes back to be filled again.
serveTasks<ScanRequest, ScanAnswer>(
  (request) => ({result: scanBlock(request), buf: request.buf}),
  (answer) => [answer.buf.buffer as ArrayBuffer],
)
