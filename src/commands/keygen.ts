import {Flags} from '@oclif/core'

import {AuditCommand, UserError} from '../cli/base.js'
import {jsonFlag} from '../cli/flags.js'
import {print, printJson} from '../cli/output.js'
import {paragraphs} from '../cli/text.js'
import {CheckpointError, generateKeyPair} from '../integrity/checkpoint.js'

export default class Keygen extends AuditCommand {
  static override summary = 'Make an Ed25519 key pair for signing checkpoints (audit seal)'
  static override description =
    paragraphs`Writes audit-seal.key (the private key, PEM PKCS#8, mode 0600) and audit-seal.pub (the public key,
PEM SPKI) into the directory given, creating it with mode 0700. Never overwrites an existing key.
Keep the private key away from the logs (another user, host or a secrets store): whoever can write
the logs must not be able to sign checkpoints. Give the public key to whoever runs audit verify.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --out /etc/auditkit/keys',
    '<%= config.bin %> <%= command.id %> --out ~/.config/auditkit/keys --json',
  ]

  // No log directory is involved: --dir would only mislead in the help.
  static override baseFlags: typeof AuditCommand.baseFlags = {...AuditCommand.baseFlags, dir: {...AuditCommand.baseFlags.dir, hidden: true}}

  static override flags = {
    out: Flags.string({required: true, description: 'directory to write audit-seal.key and audit-seal.pub into (created 0700 if absent)'}),
    json: jsonFlag('print the paths and key id as one JSON document'),
  }

  async run(): Promise<KeyPairFiles> {
    const {flags} = await this.parse(Keygen)
    let result: KeyPairFiles
    try {
      result = await generateKeyPair(flags.out)
    } catch (error) {
      if (error instanceof CheckpointError) throw new UserError(error.message)
      throw error
    }
    if (flags.json) printJson(result, 2)
    else print(`private key: ${result.privatePath}\npublic key:  ${result.publicPath}\nkey id:      ${result.keyId}\n`)
    return result
  }
}

/** The key pair written: its two files and the public key's id. */
export type KeyPairFiles = Awaited<ReturnType<typeof generateKeyPair>>
