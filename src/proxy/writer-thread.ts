import {parentPort, workerData} from 'node:worker_threads'

import type {Config} from '../config/schema.js'
import {AuditError} from '../errors.js'
import type {WriteInput} from '../events/write-input.js'
import {LogWriter} from '../store/writer.js'
import {writerSettings} from '../store/writer-settings.js'
import {WriterForwarder} from '../transport/forward.js'
import type {FromWriterThread, ToWriterThread} from './event-sink.js'

// The proxy's AuditWriter, on its own thread: the writer's file and lock calls are synchronous, and
// on a slow disk they would otherwise hold up every stream the proxy is passing on.
const {dir, config} = workerData as {dir: string; config: Config}
const port = parentPort!
const post = (message: FromWriterThread) => port.postMessage(message)

let writer: LogWriter
try {
  writer = await LogWriter.open(dir, writerSettings(config), {
    onError: (error) => post({type: 'warning', message: error.message}),
    forwarder: (onError) => WriterForwarder.fromSettings(config.syslog, onError),
  })
  post({type: 'ready'})
} catch (error) {
  const {message, code, path} = error as NodeJS.ErrnoException
  post({type: 'open-failed', message, code, path, exitCode: error instanceof AuditError ? error.exitCode : undefined})
  port.close()
}

port.on('message', async (message: ToWriterThread) => {
  if (message.type === 'write') {
    // Handed over together, so the writer appends them in one batch, in this order.
    const results = await Promise.allSettled(message.events.map((event: WriteInput) => writer.write(event)))
    post({
      type: 'written',
      id: message.id,
      failures: results.map((r) => (r.status === 'rejected' ? String((r.reason as Error)?.message ?? r.reason) : null)),
    })
  } else {
    await writer.close()
    post({type: 'closed'})
    port.close()
  }
})
