import {closeSync, openSync, readSync} from 'node:fs'

/**
 * At most `limit` + 1 bytes of what `path` names (a file, a pipe, a device): one byte more than
 * allowed tells the input is too long, without reading an endless source such as /dev/zero.
 */
export function readAtMost(path: string, limit: number): Buffer {
  const fd = openSync(path, 'r')
  try {
    const chunks: Buffer[] = []
    let total = 0
    while (total <= limit) {
      const buf = Buffer.allocUnsafe(Math.min(64 * 1024, limit + 1 - total))
      const n = readSync(fd, buf, 0, buf.length, null)
      if (n === 0) break
      chunks.push(buf.subarray(0, n))
      total += n
    }
    return Buffer.concat(chunks)
  } finally {
    closeSync(fd)
  }
}
