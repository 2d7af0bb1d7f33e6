import type {ChalkInstance} from 'chalk'

/** The few text styles the terminal formats use; `plain` when colour is off. */
export interface Paint {
  bold(text: string): string
  dim(text: string): string
  red(text: string): string
  green(text: string): string
  yellow(text: string): string
  cyan(text: string): string
}

const same = (text: string) => text

export const plain: Paint = {bold: same, dim: same, red: same, green: same, yellow: same, cyan: same}

export function chalkPaint(chalk: ChalkInstance): Paint {
  return {bold: chalk.bold, dim: chalk.dim, red: chalk.red, green: chalk.green, yellow: chalk.yellow, cyan: chalk.cyan}
}

/** chalk costs more to load than a short command takes to run, so it is loaded only for colour. */
export async function loadPaint(color: boolean): Promise<Paint> {
  if (!color) return plain
  const {Chalk} = await import('chalk')
  return chalkPaint(new Chalk({level: 1}))
}
