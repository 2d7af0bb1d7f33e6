import {serveTasks} from '../../threads.js'
import {type ScanRequest, type ScanResult, scanBlock} from './scan.js'

// Worker thread: scans the blocks the verifier sends, in the verifier's shared buffers.
serveTasks<ScanRequest, ScanResult>(scanBlock)
