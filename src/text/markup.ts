import {sanitizeLine, sanitizeText} from './sanitize.js'

/**
 * Log text as Markdown: one line, control sequences gone, and every character that can start
 * emphasis, code, a link, HTML or a table cell escaped (parentheses only act after a `]`).
 */
export const escapeMarkdown = (text: string): string => sanitizeLine(text).replace(/[\\`*_[\]<>|~]/g, '\\$&')

const HTML_ENTITIES: Record<string, string> = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}

/** Log text as HTML text or attribute value: control sequences gone, markup characters as entities. */
export const escapeHtml = (text: string): string => sanitizeText(text).replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]!)
