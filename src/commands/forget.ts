import {Args} from '@oclif/core'

import {AuditCommand, UserError} from '../cli/base.js'
import {jsonFlag} from '../cli/flags.js'
import {print, printJson} from '../cli/output.js'
import {paragraphs} from '../cli/text.js'
import type {AuditEntry} from '../events/model.js'
import {subjectIdOf} from '../privacy/forget.js'
import {LogWriter} from '../store/writer.js'
import {writerSettings} from '../store/writer-settings.js'

export default class Forget extends AuditCommand {
  static override summary = "Erase a subject's sealed data by destroying its key; the chain stays intact"
  static override description = paragraphs`With privacy.fields and privacy.keystore configured, the writer stores those fields of every
entry sealed under a key of the entry's actor. forget destroys that subject's key (overwritten,
unlinked, the keystore directory synced) after appending an audit.erasure event that names the
subject's blind index, never the subject. From then on, readers show [erased] for those values, and
no log file, summary cache or export reveals them; audit verify stays VALID and every checkpoint
holds, because no stored byte changed. SUBJECT is the actor as written, or blind:INDEX as readers
show it without keystore access. Idempotent: a subject without a key (already forgotten, or never
written) is reported and nothing is appended.
Exit 0 when the subject has no key left, 2 on bad usage or without privacy configured, 3 when the
keystore or the log directory cannot be used.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> alice',
    '<%= config.bin %> <%= command.id %> blind:29CAH7uIH4nmhjwMLSa-8Q --json',
  ]

  static override args = {
    subject: Args.string({required: true, description: 'the actor to erase, or blind:INDEX'}),
  }

  static override flags = {
    json: jsonFlag('print the outcome as one JSON document'),
  }

  async run(): Promise<ForgetAnswer> {
    const {args, flags} = await this.parse(Forget)
    const config = this.settings(flags)
    if (config.privacy.fields.length === 0)
      throw new UserError('privacy.fields is empty: nothing is sealed, so there is no key to destroy (see "Erasure" in the README)')
    const writer = await LogWriter.open(config.dir, writerSettings(config), {
      onError: (error) => this.warnLine(`audit forget: warning: ${error.message}`),
    })
    let answer: ForgetAnswer
    try {
      const subject = subjectIdOf(args.subject, (actor) => writer.subjectOf(actor) as string)
      const written = await writer.erase(subject)
      answer = {subject: `blind:${subject}`, erased: written !== undefined, ...(written ? {event: written.entry} : {})}
    } finally {
      await writer.close()
    }
    if (flags.json) printJson(answer)
    else if (answer.erased) print(`erased ${answer.subject}: its key is destroyed and the erasure recorded\n`)
    else print(`${answer.subject}: no key (never written, or forgotten already); nothing to do\n`)
    return answer
  }
}

/** What forget did: the subject's blind index, whether a key was destroyed now, and the audit.erasure event then. */
export interface ForgetAnswer {
  subject: string
  erased: boolean
  event?: AuditEntry
}
