import type {Worker} from 'node:worker_threads'

import {startWorker} from '../../threads.js'
import type {Buffers} from './blocks.js'
import type {ScanRequest, ScanResult} from './scan.js'

// Run from source (tests, tsx), the worker is TypeScript and needs the tsx loader too.
/** Round-robin worker threads running scanBlock. */
export class Pool {
  private readonly workers: Worker[] = []
  private readonly waiting = new Map<number, {resolve: (r: ScanResult) => void; reject: (e: Error) => void}>()
  private nextId = 0

  constructor(
    size: number,
    private readonly buffers: Buffers,
  ) {
    for (let i = 0; i < size; i++) {
      const worker = startWorker('worker', import.meta.url, {
        resourceLimits: {maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 16},
      })
      worker.on('message', ({id, result, buf}: {id: number; result: ScanResult; buf: Uint8Array}) => {
        this.buffers.release(buf.buffer as ArrayBuffer)
        this.waiting.get(id)?.resolve(result)
        this.waiting.delete(id)
      })
      worker.on('error', (error) => {
        for (const w of this.waiting.values()) w.reject(error)
        this.waiting.clear()
      })
      this.workers.push(worker)
    }
  }

  scan(request: ScanRequest): Promise<ScanResult> {
    const id = this.nextId++
    const worker = this.workers[id % this.workers.length]
    return new Promise((resolve, reject) => {
      this.waiting.set(id, {resolve, reject})
      worker.postMessage({...request, id}, [request.buf.buffer as ArrayBuffer])
    })
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()))
  }
}
