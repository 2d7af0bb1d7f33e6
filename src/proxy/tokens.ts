import {createHash, timingSafeEqual} from 'node:crypto'
import {readFileSync, statSync} from 'node:fs'

import {AuditError} from '../errors.js'

/** A token name: it becomes the actor of the entries, so it is kept to a plain identifier. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/
/** Shortest token accepted: a guessable token is no access control. */
const MIN_TOKEN_LENGTH = 16

interface NamedToken {
  name: string
  /** sha256 of the token: every comparison is between 32-byte digests, whatever the lengths given. */
  digest: Buffer
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}

/**
 * Named bearer tokens read from a file: one `NAME TOKEN` per line, `#` comments and blank lines
 * ignored. The tokens themselves are kept only as digests and never appear in a message.
 */
export class TokenStore {
  private constructor(
    private readonly tokens: NamedToken[],
    readonly file: string,
  ) {}

  /** Reads the file; any bad line fails the whole load with the file:line and what is wrong. */
  static load(file: string): TokenStore {
    let text: string
    try {
      const info = statSync(file)
      if (!info.isFile()) throw new AuditError(`--tokens ${file}: not a regular file`)
      text = readFileSync(file, 'utf8')
    } catch (error) {
      if (error instanceof AuditError) throw error
      const code = (error as NodeJS.ErrnoException).code
      throw new AuditError(
        `--tokens ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message}`,
      )
    }
    const tokens: NamedToken[] = []
    const names = new Set<string>()
    const digests = new Set<string>()
    const lines = text.split('\n')
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim()
      if (line === '' || line.startsWith('#')) continue
      const where = `${file}:${i + 1}`
      const parts = line.split(/\s+/)
      // The line may hold a token: only the name is ever quoted back.
      if (parts.length !== 2) throw new AuditError(`${where}: expected "NAME TOKEN"`)
      const [name, token] = parts
      if (!NAME.test(name)) throw new AuditError(`${where}: token name must be 1-64 of [A-Za-z0-9._@-], starting with a letter or digit`)
      if (token.length < MIN_TOKEN_LENGTH)
        throw new AuditError(`${where}: the token of "${name}" is shorter than ${MIN_TOKEN_LENGTH} characters`)
      if (names.has(name)) throw new AuditError(`${where}: token name "${name}" given twice`)
      const d = digest(token)
      if (digests.has(d.toString('hex'))) throw new AuditError(`${where}: the token of "${name}" is also another name's token`)
      names.add(name)
      digests.add(d.toString('hex'))
      tokens.push({name, digest: d})
    }
    if (tokens.length === 0) throw new AuditError(`--tokens ${file}: no tokens (expected "NAME TOKEN" lines)`)
    return new TokenStore(tokens, file)
  }

  get size(): number {
    return this.tokens.length
  }

  /**
   * The name of the token an Authorization header carries, or why there is none. Every stored
   * token is compared, in constant time, so the answer's timing says nothing about which one nearly matched.
   */
  check(authorization: string | undefined): {name: string} | {failure: 'missing' | 'malformed' | 'unknown'} {
    if (authorization === undefined || authorization === '') return {failure: 'missing'}
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)
    if (!match) return {failure: 'malformed'}
    const given = digest(match[1])
    let found: string | undefined
    for (const token of this.tokens) {
      if (timingSafeEqual(given, token.digest) && found === undefined) found = token.name
    }
    return found === undefined ? {failure: 'unknown'} : {name: found}
  }
}
