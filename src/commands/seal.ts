import {Flags} from '@oclif/core'

import {AuditCommand, EXIT, UserError} from '../cli/base.js'
import {jsonFlag} from '../cli/flags.js'
import {print, printJson} from '../cli/output.js'
import {paragraphs} from '../cli/text.js'
import {CheckpointError, loadPrivateKey} from '../integrity/checkpoint.js'
import {SealError, type SealResult, sealDirectory} from '../integrity/seal.js'
import {count, type VerifyReport, VerifyError} from '../integrity/verify/index.js'
import {formatProblem} from '../integrity/render.js'

export default class Seal extends AuditCommand {
  static override summary = 'Append a signed checkpoint of the chain head (run it from cron)'
  static override description = paragraphs`Verifies the log directory (and the checkpoints so far, with the key's public half) and, when
everything holds, appends a checkpoint signed with the Ed25519 private key: entries so far, head file
and line, head hash, time, the hash of the previous checkpoint, and what pins every byte up to the
head (the head file's length and the digest of its lines that are not entries, and each file
completed since the previous checkpoint, whole). A checkpoint lets audit verify find entries cut
from the end, deleted files, a chain rewritten after an edit, and any line inserted, removed or
changed below it, whatever it looks like.
The checkpoint file defaults to audit.checkpoints in the log directory; it is safer elsewhere (another
host, user or append-only storage), out of reach of whoever can write the logs.
Overlapping seals of one checkpoint file take turns: each holds <checkpoint file>.lock (0600) while
it verifies and appends, so every checkpoint names the one before it.
Exit 0 when sealed, 1 when the log does not verify (nothing is sealed), 2 on bad usage, 3 when
another seal held the lock for too long.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --key /etc/auditkit/keys/audit-seal.key',
    {
      description: 'Keep the checkpoints out of reach of whoever writes the logs:',
      command:
        '<%= config.bin %> <%= command.id %> --dir /var/log/myapp/audit --key /etc/auditkit/keys/audit-seal.key --checkpoints /srv/seal/myapp.checkpoints',
    },
  ]

  static override flags = {
    key: Flags.string({char: 'k', required: true, description: 'Ed25519 private key (PEM, from audit keygen)'}),
    checkpoints: Flags.string({description: 'checkpoint file to append to (default: audit.checkpoints in the log directory)'}),
    json: jsonFlag('print the checkpoint (or the failed verification) as one JSON document'),
  }

  async run(): Promise<SealAnswer> {
    const {flags} = await this.parse(Seal)
    const config = this.settings(flags)
    let result: SealResult
    try {
      const key = await loadPrivateKey(flags.key)
      // The retention policy (config retention_days) holds for what is sealed as for what is verified.
      result = await sealDirectory(config.dir, key, {
        checkpoints: flags.checkpoints,
        retentionDays: config.retention_days,
        onProblem: flags.json ? undefined : (p) => this.warnLine(formatProblem(p)),
      })
    } catch (error) {
      if (error instanceof VerifyError || error instanceof CheckpointError) throw new UserError(error.message)
      if (error instanceof SealError) throw new UserError(error.message, EXIT.negative)
      throw error
    }
    const {checkpoint, report, path, warning} = result
    if (warning) this.warnLine(`audit seal: warning: ${warning}`)
    const answer: SealAnswer = checkpoint ? {sealed: true, path, checkpoint} : {sealed: false, path, report}
    if (flags.json) {
      printJson(answer, 2)
    } else if (checkpoint) {
      print(
        `sealed checkpoint #${checkpoint.index}: ${count(checkpoint.entries, 'entry', 'entries')}, head ${checkpoint.file}:${checkpoint.line} ${checkpoint.hash} -> ${path}\n`,
      )
    } else {
      const n = report.problems.length + report.problemsOmitted
      this.warnLine(`audit seal: not sealed: the log does not verify (${count(n, 'problem')}; see audit verify)`)
    }
    process.exitCode = checkpoint ? EXIT.ok : EXIT.negative
    return answer
  }
}

/** A seal's answer (its --json document): the checkpoint appended, or the verification that refused it. */
export type SealAnswer =
  | {sealed: true; path: string; checkpoint: NonNullable<SealResult['checkpoint']>}
  | {sealed: false; path: string; report: VerifyReport}
