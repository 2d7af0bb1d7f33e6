import {setTimeout as sleep} from 'node:timers/promises'

import {workerData} from 'node:worker_threads'

import {serveTasks} from '../../src/threads.js'

/** When given, a counter of the answers sent, bumped (and waiters woken) as each goes. */
const answered = (workerData as {answered?: Int32Array} | undefined)?.answered

/** What threads.test.ts asks of this worker. */
export interface PoolTask {
  value: number
  /** Milliseconds to wait before answering: later tasks finish their own work first. */
  wait?: number
  fail?: boolean
  exit?: boolean
  /** Sent back, so the test can see it moved both ways. */
  bytes?: Uint8Array
}

export interface PoolAnswer {
  doubled: number
  bytes?: Uint8Array
}

serveTasks<PoolTask, PoolAnswer>(
  async (task) => {
    if (task.wait) await sleep(task.wait)
    if (task.fail) throw new Error(`task ${task.value} failed`)
    if (task.exit) process.exit(3)
    if (answered) {
      Atomics.add(answered, 0, 1)
      Atomics.notify(answered, 0)
    }
    return {doubled: task.value * 2, ...(task.bytes ? {bytes: task.bytes} : {})}
  },
  (answer) => (answer.bytes ? [answer.bytes.buffer as ArrayBuffer] : []),
)
