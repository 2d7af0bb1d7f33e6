import {Worker, type WorkerOptions} from 'node:worker_threads'

/**
 * Starts a worker thread running the module `name` that sits beside the caller (`from` is the
 * caller's import.meta.url): `name.js` when built, `name.ts` when run from source through tsx, whose
 * loader Node 20 does not apply to workers by itself.
 */
export function startWorker(name: string, from: string, options: WorkerOptions = {}): Worker {
  if (from.endsWith('.ts')) {
    const url = new URL(`./${name}.ts`, from)
    return new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}) })`, {...options, eval: true})
  }
  return new Worker(new URL(`./${name}.js`, from), options)
}
