/**
 * Exit codes shared by every command (DESIGN.md), plus sysexits' EX_SOFTWARE for a bug, so a crash
 * never reads as an answer. A leaf module: any layer may throw these, and the CLI maps them.
 */
export const EXIT = {ok: 0, negative: 1, usage: 2, outside: 3, internal: 70} as const

export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/**
 * An error the user or the environment caused, not a bug: printed as one line, never with a
 * stack, and the process exits with its code (usage by default).
 */
export class AuditError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.usage,
  ) {
    super(message)
  }
}

/**
 * An outside part failed (a syslog server, an HTTP endpoint, Ollama, a webhook, the storage or a
 * lock another writer holds): exit 3, so a script can tell it from a negative answer.
 */
export class OutsideError extends AuditError {
  constructor(message: string) {
    super(message, EXIT.outside)
  }
}
