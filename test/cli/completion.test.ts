import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {CODEC_NAMES} from '../../src/formats/registry.js'
import {runAudit, tempDir} from '../helpers.js'

async function script(shell: string): Promise<string> {
  const r = await runAudit(['completion', shell])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stderr, '')
  return r.stdout
}

describe('audit completion', () => {
  it('bash: commands, flags and the fixed values of a flag, through bash itself', async () => {
    const file = join(tempDir('completion-'), 'audit.bash')
    writeFileSync(file, await script('bash'))
    /** What bash offers for the words typed so far (the last one being completed). */
    const complete = (...typed: string[]): string[] => {
      const words = ['audit', ...typed].map((w) => `'${w}'`).join(' ')
      const r = spawnSync(
        'bash',
        [
          '--norc',
          '-c',
          `source '${file}'; COMP_WORDS=(${words}); COMP_CWORD=${typed.length}; _audit_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        {encoding: 'utf8'},
      )
      assert.equal(r.status, 0, r.stderr)
      assert.equal(r.stderr, '')
      return r.stdout.split('\n').filter(Boolean).sort()
    }
    assert.deepEqual(complete('se'), ['seal', 'search'])
    assert.deepEqual(complete('search', '--format', ''), [...CODEC_NAMES].sort())
    assert.deepEqual(complete('tail', '-o', 'js'), ['json', 'jsonl'])
    assert.deepEqual(complete('summary', '--level', 'w'), ['warn', 'warning'])
    assert.deepEqual(complete('verify', '--profile', ''), ['loki', 'native'])
    assert.deepEqual(complete('log', '-l', 'e'), ['err', 'error'])
    assert.deepEqual(complete('completion', ''), ['bash', 'fish', 'zsh'])
    assert.ok(complete('search', '--').includes('--where'))
    assert.ok(complete('search', '--').includes('--from'), 'aliases too')
    assert.ok(!complete('keygen', '--').includes('--dir'), 'no hidden flag')
    assert.deepEqual(complete('help', 'ta'), ['tail'])
  })

  it('zsh: a #compdef function with the fixed values and one-name flags spelled out', async () => {
    const text = await script('zsh')
    assert.match(text, /^#compdef audit\n/)
    assert.match(
      text,
      new RegExp(String.raw`'\(--format -o\)'\{--format,-o\}'\[output format[^\]]*\]:format:\(${CODEC_NAMES.join(' ')}\)'`),
    )
    assert.match(text, /'\(--profile\)--profile\[[^\]]*\]:profile:\(native loki\)'/)
    assert.match(text, /'\*'\{--event,-e\}'\[/)
    assert.doesNotMatch(text, /\{[^,{}]*\}'\[/, 'a brace group with one name is no expansion in zsh')
    assert.doesNotMatch(text, /<%=/)
  })

  it('fish: one line per command and flag, fixed values with -x -a', async () => {
    const text = await script('fish')
    assert.match(text, /^complete -c audit -n __fish_use_subcommand -a search -d 'Find entries/m)
    assert.match(
      text,
      new RegExp(`^complete -c audit -n '__fish_seen_subcommand_from search' -l format -s o -x -a '${CODEC_NAMES.join(' ')}' -d `, 'm'),
    )
    assert.match(
      text,
      /^complete -c audit -n '__fish_seen_subcommand_from tail' -l level -s l -x -a 'debug info warning error warn err' -d /m,
    )
    assert.match(text, /^complete -c audit -n '__fish_seen_subcommand_from search' -l since -l from -s S -r -F -d /m)
  })

  it('an unknown shell is a usage error', async () => {
    const r = await runAudit(['completion', 'tcsh'])
    assert.equal(r.code, 2)
    assert.equal(r.stderr.split('\n').length, 2, r.stderr)
  })
})
