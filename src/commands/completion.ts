import {Args} from '@oclif/core'

import {AuditCommand} from '../cli/base.js'
import {completionScript, type CompletionCommand, SHELLS} from '../cli/completion.js'
import {print} from '../cli/output.js'
import {paragraphs} from '../cli/text.js'

export default class Completion extends AuditCommand {
  static override summary = 'Print the shell completion script for bash, zsh or fish'
  static override description = paragraphs`Prints a script that completes audit's commands, their flags, and the values of the flags
that take one of a fixed set (formats, levels, profiles); other values complete as file names.
The script is made from the same metadata as --help, so it never lists a flag that does not exist.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> bash > ~/.local/share/bash-completion/completions/audit',
    {
      description: 'bash, for this shell (add the line to ~/.bashrc to keep it):',
      command: 'source <(<%= config.bin %> <%= command.id %> bash)',
    },
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, not a template
    {description: 'zsh, into a directory of $fpath:', command: '<%= config.bin %> <%= command.id %> zsh > "${fpath[1]}/_audit"'},
    {description: 'fish:', command: '<%= config.bin %> <%= command.id %> fish > ~/.config/fish/completions/audit.fish'},
  ]

  static override args = {
    shell: Args.string({description: 'the shell: bash, zsh or fish', options: [...SHELLS], required: true}),
  }

  // No log directory nor configuration is involved.
  static override baseFlags: typeof AuditCommand.baseFlags = {
    dir: {...AuditCommand.baseFlags.dir, hidden: true},
    config: {...AuditCommand.baseFlags.config, hidden: true},
    'no-color': {...AuditCommand.baseFlags['no-color'], hidden: true},
  }

  /** The script printed. */
  async run(): Promise<string> {
    const {args} = await this.parse(Completion)
    const commands: CompletionCommand[] = this.config.commands
      .filter((c) => !c.hidden)
      .map((c) => ({
        id: c.id,
        summary: (c.summary ?? c.description?.split('\n', 1)[0])?.replaceAll('<%= config.bin %>', this.config.bin),
        argOptions: Object.values(c.args ?? {})[0]?.options,
        flags: Object.values(c.flags)
          .filter((f) => !f.hidden)
          .map((f) => ({
            name: f.name,
            char: f.char,
            aliases: f.aliases,
            description: f.summary ?? f.description,
            takesValue: f.type === 'option',
            options: f.type === 'option' ? f.options : undefined,
            multiple: f.type === 'option' && f.multiple,
          })),
      }))
    const script = completionScript(args.shell as (typeof SHELLS)[number], this.config.bin, commands)
    print(script)
    return script
  }
}
