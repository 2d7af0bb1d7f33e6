/** Commands write their answer through the stdout sink; `Output` is its name there. */
export {StreamSink as Output} from '../transport/stream.js'
