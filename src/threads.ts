import {existsSync} from 'node:fs'
import {parentPort, type ResourceLimits, type TransferListItem, Worker, type WorkerOptions} from 'node:worker_threads'

/** Below this much data to read, starting threads costs more than it saves. */
export const PARALLEL_BYTES = 16 * 1024 * 1024

/**
 * Starts a worker thread running the module `name` that sits beside the caller (`from` is the
 * caller's import.meta.url): `name.js` when built (or its one-file CommonJS bundle `name.cjs`, which
 * boots sooner, when scripts/build-fast.ts made one), `name.ts` when run from source through tsx,
 * whose loader Node 20 does not apply to workers by itself.
 */
export function startWorker(name: string, from: string, options: WorkerOptions = {}): Worker {
  if (from.endsWith('.ts')) {
    const url = new URL(`./${name}.ts`, from)
    return new Worker(
      `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}) })`,
      {...options, eval: true},
    )
  }
  const bundle = new URL(`./${name}.cjs`, from)
  return new Worker(existsSync(bundle) ? bundle : new URL(`./${name}.js`, from), options)
}

/** A worker module beside `from` (see startWorker) that answers each task with serveTasks. */
export interface WorkerModule {
  name: string
  from: string
  workerData?: unknown
  resourceLimits?: ResourceLimits
}

/** How a task is handed to a worker module and its answer read back. */
export interface RemoteTasks<W, R> extends WorkerModule {
  decode: (message: W) => R
}

interface PoolWorker<W> {
  worker: Worker
  /** Tasks handed over and not yet answered, oldest first: serveTasks answers in order. */
  waiting: Array<{resolve: (answer: W) => void; reject: (error: Error) => void}>
}

/**
 * Worker threads running one module. A task goes to the worker with the fewest unanswered, so the
 * caller may hand tasks over faster than they are answered (verify keeps blocks in flight) or one
 * at a time (runTasks). Once a worker fails, every unanswered and later task fails with its error.
 */
export class WorkerPool<T, W> {
  private readonly workers: PoolWorker<W>[] = []
  private failure: Error | undefined
  private closing = false

  constructor(size: number, module: WorkerModule) {
    for (let i = 0; i < size; i++) {
      const entry: PoolWorker<W> = {
        worker: startWorker(module.name, module.from, {workerData: module.workerData, resourceLimits: module.resourceLimits}),
        waiting: [],
      }
      entry.worker
        .on('message', (answer: W) => entry.waiting.shift()?.resolve(answer))
        .on('error', (error) => this.fail(error))
        // A worker that dies without an error event (process.exit, out of memory) must not hang us.
        .on('exit', (code) => {
          if (!this.closing) this.fail(new Error(`worker thread exited (code ${code}) before answering`))
        })
      this.workers.push(entry)
    }
  }

  get size(): number {
    return this.workers.length
  }

  /** Hands a task to a worker; `transfer` lists what moves to it rather than being copied. */
  run(task: T, transfer: readonly TransferListItem[] = []): Promise<W> {
    if (this.failure) return Promise.reject(this.failure)
    const entry = this.workers.reduce((least, w) => (w.waiting.length < least.waiting.length ? w : least))
    return new Promise((resolve, reject) => {
      entry.waiting.push({resolve, reject})
      entry.worker.postMessage(task, transfer)
    })
  }

  /** Ends the threads; what they had not answered is dropped unanswered. */
  async close(): Promise<void> {
    this.closing = true
    await Promise.all(this.workers.map(({worker}) => worker.terminate()))
  }

  private fail(error: Error): void {
    this.failure ??= error
    for (const {waiting} of this.workers) for (const w of waiting.splice(0)) w.reject(error)
  }
}

/**
 * Runs the tasks on this thread and on `threads - 1` workers, each taking the next task when it is
 * free, so a large file or a busy thread does not hold the others up. Results keep task order.
 * `started`: workers of the module started earlier, used (and closed) instead of starting them here.
 */
export async function runTasks<T, W, R>(
  tasks: T[],
  threads: number,
  here: (task: T) => Promise<R>,
  remote: RemoteTasks<W, R>,
  started?: WorkerPool<T, W>,
): Promise<R[]> {
  const results: R[] = []
  let next = 0
  const take = async (run: (task: T) => Promise<R>, yieldFirst = false): Promise<void> => {
    for (;;) {
      // A task run here may not await anything real: without a turn of the event loop, the workers'
      // answers would wait until this thread had taken every task, the workers idle meanwhile.
      if (yieldFirst) await new Promise(setImmediate)
      const i = next++
      if (i >= tasks.length) return
      results[i] = await run(tasks[i])
    }
  }
  const pool = started ?? new WorkerPool<T, W>(Math.max(threads, 1) - 1, remote)
  try {
    const onAWorker = async (task: T) => remote.decode(await pool.run(task))
    // Two tasks in flight per worker: the next is there when one is done, whatever this thread is busy with.
    await Promise.all([...Array.from({length: pool.size * 2}, () => take(onAWorker)), take(here, pool.size > 0)])
  } finally {
    await pool.close()
  }
  return results
}

/**
 * In a worker module: answers each task posted by WorkerPool (or runTasks) with one message, in
 * the order the tasks came; `transfer` lists what of an answer moves back rather than being copied.
 */
export function serveTasks<T, W>(handle: (task: T) => Promise<W> | W, transfer?: (answer: W) => readonly TransferListItem[]): void {
  let previous = Promise.resolve()
  parentPort!.on('message', (task: T) => {
    // One at a time, so answers come back in order even when handling one awaits.
    previous = previous.then(async () => {
      const answer = await handle(task)
      parentPort!.postMessage(answer, transfer?.(answer))
    })
  })
}
