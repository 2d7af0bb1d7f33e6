import {defineCodec, NO_OPTIONS} from './codec.js'
import {prettyEncoder} from './entry-text.js'

export {compactDetails, prettyEncoder} from './entry-text.js'

export const prettyCodec = defineCodec({
  name: 'pretty',
  summary: 'for a terminal: time, level, event, actor, details; coloured on a TTY',
  options: NO_OPTIONS,
  framing: 'newline',
  mediaType: 'text/plain',
  extension: 'txt',
  create: (_options, context) => prettyEncoder(context),
})
