import {parentPort, Worker, type WorkerOptions} from 'node:worker_threads'

/** Below this much data to read, starting threads costs more than it saves. */
export const PARALLEL_BYTES = 16 * 1024 * 1024

/**
 * Starts a worker thread running the module `name` that sits beside the caller (`from` is the
 * caller's import.meta.url): `name.js` when built, `name.ts` when run from source through tsx, whose
 * loader Node 20 does not apply to workers by itself.
 */
export function startWorker(name: string, from: string, options: WorkerOptions = {}): Worker {
  if (from.endsWith('.ts')) {
    const url = new URL(`./${name}.ts`, from)
    return new Worker(
      `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}) })`,
      {...options, eval: true},
    )
  }
  return new Worker(new URL(`./${name}.js`, from), options)
}

/** How a task is handed to a worker module and its answer read back. */
export interface RemoteTasks<W, R> {
  /** The worker module beside `from` (see startWorker); it answers each task with serveTasks. */
  name: string
  from: string
  workerData?: unknown
  decode: (message: W) => R
}

/**
 * Runs the tasks on this thread and on `threads - 1` workers, each taking the next task when it is
 * free, so a large file or a busy thread does not hold the others up. Results keep task order.
 */
export async function runTasks<T, W, R>(
  tasks: T[],
  threads: number,
  here: (task: T) => Promise<R>,
  remote: RemoteTasks<W, R>,
): Promise<R[]> {
  const results: R[] = []
  let next = 0
  const onThisThread = async () => {
    for (let i = next++; i < tasks.length; i = next++) results[i] = await here(tasks[i])
  }
  const onAWorker = async () => {
    const worker = startWorker(remote.name, remote.from, {workerData: remote.workerData})
    try {
      for (let i = next++; i < tasks.length; i = next++) results[i] = remote.decode(await ask<W>(worker, tasks[i]))
    } finally {
      await worker.terminate()
    }
  }
  await Promise.all([...Array.from({length: Math.max(threads, 1) - 1}, onAWorker), onThisThread()])
  return results
}

function ask<W>(worker: Worker, task: unknown): Promise<W> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => settle(() => reject(error))
    // A worker that dies without an error event (process.exit, out of memory) must not hang us.
    const onExit = (code: number) => settle(() => reject(new Error(`worker thread exited (code ${code}) before answering`)))
    const onMessage = (message: W) => settle(() => resolve(message))
    const settle = (done: () => void) => {
      worker.off('error', onError).off('exit', onExit).off('message', onMessage)
      done()
    }
    worker.on('error', onError).on('exit', onExit).on('message', onMessage)
    worker.postMessage(task)
  })
}

/** In a worker module: answers each task posted by runTasks with one message. */
export function serveTasks<T, W>(handle: (task: T) => Promise<W>): void {
  parentPort!.on('message', async (task: T) => parentPort!.postMessage(await handle(task)))
}
