/** HTTP Basic credentials from a URL's user info (`https://user:pass@host/…`), which are then removed from it. */
export function basicAuth(url: URL): string | undefined {
  if (!url.username && !url.password) return undefined
  const value = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
  url.username = ''
  url.password = ''
  return value
}
