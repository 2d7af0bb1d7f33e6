import {Flags} from '@oclif/core'

import {AuditCommand, EXIT, UserError} from '../cli/base.js'
import {identityFlag, jsonFlag, profileFlag} from '../cli/flags.js'
import {print, printJson} from '../cli/output.js'
import {Progress} from '../cli/progress.js'
import {paragraphs} from '../cli/text.js'
import {formatProblem, renderReport} from '../integrity/render.js'
import {CheckpointError, loadPublicKey} from '../integrity/checkpoint.js'
import {type VerifyReport, VerifyError, verifyDirectory} from '../integrity/verify/index.js'

export default class Verify extends AuditCommand {
  static override summary = 'Verify the hash chain and the signed checkpoints of a log directory'
  static override description = paragraphs`Checks every entry of the directory as one chain, across parts, days and .gz files, in chain
order (never by mtime). Native files are hashed byte for byte; loki-mode dashboard logs with their own
canonical JSON (recognised per file by content, or forced with --profile). Reports one line per
problem on stderr (file, line, what is wrong), then a summary on stdout: files valid and invalid,
entries checked, the first bad location, the chain head, and the entries not sealed by a checkpoint.
With a checkpoint file (audit seal) it also finds entries cut from the end, deleted files and a
rewritten chain; with --pubkey it checks every checkpoint's signature and their sequence.
Files removed by auditkit's own retention (an audit.retention entry) and torn lines repaired by
the writer (an audit.recovery entry on the line right after the torn one) are accepted and noted,
once the entry's claims hold: a retention record's retention_days, its time against its neighbours',
each file's day and last entry, and its counts against the checkpoints. --retention-days (or the
config's retention_days) states the policy: a file pruned younger than that is a problem. A last line still being written is
not checked. A directory with no log files is a problem, not a pass (a wrong --dir, or the logs
deleted). With --pubkey and no --checkpoints, a missing audit.checkpoints in the log directory is a
problem too: deleting it is how a cut from the end would be hidden.

The log may be appended to, rotated and compressed while verify runs: it opens every file when it
lists the directory and checks the state it saw.

By default a native line whose hash links is not parsed: that is what makes verify fast, and such a
line, however odd (a duplicate key, re-ordered members, an entry the writer would refuse), can only
come from someone who recomputed the chain after it, which checkpoints catch. --strict parses every
line as well and reports those flaws; it costs about half the speed (see man/verify-notes.md).
Exit 0 when everything holds, 1 when tampering or damage was found, 2 on bad usage.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --dir /var/log/myapp/audit',
    {
      description: 'Check the checkpoints kept on another host, and their signatures:',
      command: '<%= config.bin %> <%= command.id %> --pubkey /etc/auditkit/audit-seal.pub --checkpoints /srv/seal/audit.checkpoints',
    },
    '<%= config.bin %> <%= command.id %> --dir ~/.loki/dashboard/audit --profile loki --json',
    '<%= config.bin %> <%= command.id %> --pubkey /etc/auditkit/audit-seal.pub --retention-days 90',
  ]

  static override flags = {
    profile: profileFlag({description: 'verify every file with this profile instead of recognising each by content', helpGroup: undefined}),
    identity: identityFlag,
    pubkey: Flags.string({description: 'Ed25519 public key (PEM, from audit keygen) to check checkpoint signatures with'}),
    checkpoints: Flags.string({
      description: 'checkpoint file written by audit seal (default: audit.checkpoints in the log directory, when present)',
    }),
    strict: Flags.boolean({
      description:
        'also parse every line whose hash links: duplicate keys, members not as the writer writes them, entries failing the event model (slower)',
    }),
    'retention-days': Flags.integer({
      min: 0,
      description:
        'the retention policy: a file pruned before its entries were this many days old is a problem, whatever its audit.retention entry says (default: config retention_days, $AUDIT_RETENTION_DAYS; 0: no policy)',
    }),
    verbose: Flags.boolean({char: 'v', description: 'list valid files too'}),
    json: jsonFlag('print the report as one JSON document (problems included, nothing on stderr)'),
  }

  async run(): Promise<VerifyReport> {
    const {flags} = await this.parse(Verify)
    const config = this.settings(flags, flags['retention-days'] === undefined ? {} : {retention_days: flags['retention-days']})
    let report: VerifyReport
    try {
      const pubkey = flags.pubkey ? await loadPublicKey(flags.pubkey) : undefined
      const progress = Progress.forTerminal(!flags.json)
      report = await verifyDirectory(config.dir, {
        profile: flags.profile,
        checkpoints: flags.checkpoints,
        pubkey,
        strict: flags.strict,
        retentionDays: config.retention_days,
        onProblem: flags.json
          ? undefined
          : (p) => {
              progress?.clear()
              this.warnLine(formatProblem(p))
            },
        onProgress: progress && ((p) => progress.show(`verifying: ${p.entries} entries, file ${p.fileIndex + 1}/${p.files}`)),
      })
      progress?.clear()
    } catch (error) {
      if (error instanceof VerifyError || error instanceof CheckpointError) throw new UserError(error.message)
      throw error
    }
    if (flags.json) printJson(report, 2)
    else print(renderReport(report, flags.verbose))
    process.exitCode = report.valid ? EXIT.ok : EXIT.negative
    return report
  }
}

/** A one-line progress display on a terminal's stderr, redrawn at most every 200 ms. */
