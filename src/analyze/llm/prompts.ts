import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

export const PROMPTS = ['general', 'security', 'performance'] as const
export type PromptName = (typeof PROMPTS)[number]

/** config/prompts of the package (shipped with it: package.json `files` holds config/), from src or dist alike. */
export const PROMPT_DIR = fileURLToPath(new URL('../../../config/prompts/', import.meta.url))

export function readPrompt(name: PromptName | 'merge'): string {
  return readFileSync(`${PROMPT_DIR}${name}.md`, 'utf8')
}
