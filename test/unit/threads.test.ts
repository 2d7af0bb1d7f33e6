import assert from 'node:assert/strict'
import {test} from 'node:test'

import {runTasks, WorkerPool} from '../../src/threads.js'
import type {PoolAnswer, PoolTask} from './threads-worker.js'

const WORKER = {name: 'threads-worker', from: import.meta.url}

test('a worker with several tasks in flight answers each its own, though the first takes longest', async () => {
  const pool = new WorkerPool<PoolTask, PoolAnswer>(1, WORKER)
  try {
    const answers = await Promise.all([5, 4, 3, 2, 1].map((value) => pool.run({value, wait: value * 20})))
    assert.deepEqual(
      answers.map((a) => a.doubled),
      [10, 8, 6, 4, 2],
    )
  } finally {
    await pool.close()
  }
})

test('transferred bytes move to the worker and back, not copied', async () => {
  const pool = new WorkerPool<PoolTask, PoolAnswer>(2, WORKER)
  try {
    const bytes = new Uint8Array([1, 2, 3])
    const answer = await pool.run({value: 1, bytes}, [bytes.buffer])
    assert.equal(bytes.byteLength, 0, 'detached here once sent')
    assert.deepEqual([...answer.bytes!], [1, 2, 3])
  } finally {
    await pool.close()
  }
})

test('a task that throws in the worker fails, and so does every task after it', async () => {
  const pool = new WorkerPool<PoolTask, PoolAnswer>(1, WORKER)
  try {
    await assert.rejects(pool.run({value: 7, fail: true}), /task 7 failed/)
    await assert.rejects(pool.run({value: 8}), /task 7 failed/)
  } finally {
    await pool.close()
  }
})

test('a worker that exits without an error fails its tasks instead of leaving them waiting', async () => {
  const pool = new WorkerPool<PoolTask, PoolAnswer>(1, WORKER)
  try {
    await assert.rejects(pool.run({value: 1, exit: true}), /worker thread exited \(code 3\) before answering/)
  } finally {
    await pool.close()
  }
})

test('runTasks shares the tasks between this thread and the workers and keeps their order', async () => {
  const tasks = Array.from({length: 12}, (_, i) => ({value: i, wait: (i % 3) * 5}))
  const where: string[] = []
  const results = await runTasks<PoolTask, PoolAnswer, number>(
    tasks,
    3,
    async (task) => {
      where.push('here')
      return task.value * 2
    },
    {
      ...WORKER,
      decode: (answer) => {
        where.push('worker')
        return answer.doubled
      },
    },
  )
  assert.deepEqual(
    results,
    tasks.map((t) => t.value * 2),
  )
  assert.ok(where.includes('here') && where.includes('worker'), `both kinds of thread took tasks: ${where.join(' ')}`)
})

test('runTasks keeps a worker supplied while this thread runs tasks that never yield', async () => {
  const answered = new Int32Array(new SharedArrayBuffer(4))
  const where: string[] = []
  await runTasks<PoolTask, PoolAnswer, number>(
    Array.from({length: 10}, (_, value) => ({value})),
    2,
    async (task) => {
      // Blocks this thread until the worker answers one more task (at most 5 s): it can only have
      // one to answer if it was handed a new one while this thread was busy with the last.
      Atomics.wait(answered, 0, Atomics.load(answered, 0), 5000)
      where.push('here')
      return task.value
    },
    {
      ...WORKER,
      workerData: {answered},
      decode: (answer) => {
        where.push('worker')
        return answer.doubled / 2
      },
    },
  )
  const byWorker = where.filter((w) => w === 'worker').length
  assert.ok(byWorker >= 4, `the worker answered ${byWorker} of 10: ${where.join(' ')}`)
})

test('runTasks with one thread runs everything here, starting no worker', async () => {
  const results = await runTasks<PoolTask, PoolAnswer, number>([{value: 1}, {value: 2}], 1, async (t) => t.value * 2, {
    ...WORKER,
    decode: () => assert.fail('no worker should answer'),
  })
  assert.deepEqual(results, [2, 4])
})
