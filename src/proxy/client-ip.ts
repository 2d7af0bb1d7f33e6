import {BlockList, isIP} from 'node:net'

import {AuditError} from '../errors.js'

/** "::ffff:10.0.0.5" (an IPv4 client on a dual-stack socket) is 10.0.0.5. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address
}

/**
 * The reverse proxies whose X-Forwarded-For is believed (--trust-proxy): addresses or CIDR ranges.
 * From any other peer the header is ignored, since a client can put anything in it.
 */
export class TrustedProxies {
  private readonly list = new BlockList()
  readonly empty: boolean

  constructor(specs: string[], source = '--trust-proxy') {
    this.empty = specs.length === 0
    for (const spec of specs) {
      const [address, bits, extra] = spec.split('/')
      const family = isIP(address)
      const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits)
      if (
        family === 0 ||
        extra !== undefined ||
        !Number.isInteger(prefix) ||
        prefix < 0 ||
        prefix > (family === 6 ? 128 : 32) ||
        (bits !== undefined && !/^\d+$/.test(bits))
      ) {
        throw new AuditError(`${source} "${spec}": expected an IP address or CIDR range (e.g. 10.0.0.1, 10.0.0.0/8, fd00::/8)`)
      }
      this.list.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4')
    }
  }

  has(address: string): boolean {
    const family = isIP(address)
    return family !== 0 && this.list.check(address, family === 6 ? 'ipv6' : 'ipv4')
  }

  /**
   * The client's address: the peer's, or, when the peer is a trusted proxy, the rightmost address of
   * X-Forwarded-For that is not itself a trusted proxy (entries left of it could be forged).
   */
  clientIp(peer: string | undefined, forwardedFor: string | string[] | undefined): string {
    let client = plainAddress(peer ?? '')
    if (this.empty || forwardedFor === undefined || !this.has(client)) return client
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map((h) => plainAddress(h.trim()))
    for (let i = hops.length - 1; i >= 0; i--) {
      if (isIP(hops[i]) === 0) break
      client = hops[i]
      if (!this.has(client)) break
    }
    return client
  }
}
