import type {Worker} from 'node:worker_threads'

import type {Config} from '../config/schema.js'
import {AuditError, type ExitCode} from '../errors.js'
import type {WriteInput} from '../events/write-input.js'
import type {LogWriter} from '../store/writer.js'
import {startWorker} from '../threads.js'

/** Where the EventBuffer hands its events: resolves, per event in order, with null or why it was not written. */
export interface EventSink {
  write(events: WriteInput[]): Promise<Array<string | null>>
  close(): Promise<void>
}

/** An AuditWriter on this thread (tests, and the library user who wants no thread). */
export function writerSink(writer: LogWriter): EventSink {
  return {
    async write(events) {
      const results = await Promise.allSettled(events.map((e) => writer.write(e)))
      return results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : null))
    },
    close: () => writer.close(),
  }
}

export type ToWriterThread = {type: 'write'; id: number; events: WriteInput[]} | {type: 'close'}
export type FromWriterThread =
  | {type: 'ready'}
  | {type: 'open-failed'; message: string; code?: string; path?: string; exitCode?: ExitCode}
  | {type: 'written'; id: number; failures: Array<string | null>}
  | {type: 'warning'; message: string}
  | {type: 'closed'}

/**
 * An AuditWriter on its own thread (writer-thread.ts): the proxy's event loop never waits for the
 * disk or the log lock. Opening fails as AuditWriter.open would (same message, code and path).
 */
export class WriterThread implements EventSink {
  private nextId = 0
  private readonly waiting = new Map<number, {count: number; resolve: (failures: Array<string | null>) => void}>()
  private closed: (() => void) | undefined

  private constructor(private readonly worker: Worker) {}

  static open(dir: string, config: Config, onWarning: (message: string) => void): Promise<WriterThread> {
    const worker = startWorker('writer-thread', import.meta.url, {workerData: {dir, config}})
    const thread = new WriterThread(worker)
    return new Promise((resolve, reject) => {
      worker.on('message', (message: FromWriterThread) => {
        switch (message.type) {
          case 'ready':
            resolve(thread)
            break
          // Rebuilt as thrown there, so the command maps it to the same exit code.
          case 'open-failed':
            reject(
              message.exitCode === undefined
                ? Object.assign(new Error(message.message), {code: message.code, path: message.path})
                : new AuditError(message.message, message.exitCode),
            )
            break
          case 'written': {
            thread.waiting.get(message.id)?.resolve(message.failures)
            thread.waiting.delete(message.id)
            break
          }
          case 'warning':
            onWarning(message.message)
            break
          case 'closed':
            thread.closed?.()
            break
        }
      })
      worker.on('error', (error) => {
        reject(error)
        thread.failAll(`writer thread failed: ${error.message}`)
      })
      worker.on('exit', () => {
        reject(new Error('writer thread exited before opening the log'))
        thread.failAll('writer thread exited')
        thread.closed?.()
      })
    })
  }

  write(events: WriteInput[]): Promise<Array<string | null>> {
    const id = this.nextId++
    return new Promise((resolve) => {
      this.waiting.set(id, {count: events.length, resolve})
      this.worker.postMessage({type: 'write', id, events} satisfies ToWriterThread)
    })
  }

  /** Writes what was handed over, closes the writer (sync, close the file) and ends the thread. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.closed = resolve
      this.worker.postMessage({type: 'close'} satisfies ToWriterThread)
    })
  }

  private failAll(reason: string): void {
    for (const {count, resolve} of this.waiting.values()) resolve(Array(count).fill(reason))
    this.waiting.clear()
  }
}
