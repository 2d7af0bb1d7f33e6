import {OutsideError} from '../errors.js'

const PHRASES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  EPIPE: 'connection closed by the server',
  ETIMEDOUT: 'timed out',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed (temporary)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'address not available',
  EMSGSIZE: 'message too long for a datagram',
}

/** A socket or TLS failure as a short phrase: `connection refused`, `TLS: certificate has expired`. */
export function describeNetError(error: unknown): string {
  const {code, message} = error as NodeJS.ErrnoException
  if (code && PHRASES[code]) return PHRASES[code]
  // TLS verification and handshake failures carry OpenSSL's codes (CERT_*, ERR_TLS_*, ERR_SSL_*).
  if (code && /CERT|TLS|SSL|SELF_SIGNED|VERIFY|ALTNAME/.test(code)) return `TLS: ${message}`
  return message.split('\n', 1)[0]
}

/** One line naming the destination and what failed; exit 3. */
export function netFailure(destination: string, error: unknown): OutsideError {
  return new OutsideError(`${destination}: ${describeNetError(error)}`)
}
