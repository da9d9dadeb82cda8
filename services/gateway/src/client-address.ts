import type { IncomingMessage } from 'node:http'
import { ipOf, type TrustedProxies } from './trusted-proxies.ts'

/**
 * Who a request's reader is, for GATEWAY_MAX_STREAMS_PER_CLIENT: the connection's remote address or,
 * when that is a trusted proxy (GATEWAY_TRUSTED_PROXIES), the address it says it forwards for. Each proxy
 * appends the address it was connected from to X-Forwarded-For, so the header is read right to left,
 * from the hop next to the gateway: the first address that is not a trusted proxy is the client. What
 * stands left of it was written by the reader, or by proxies nobody vouches for, and is never read: a
 * reader that sets the header itself cannot pass for other clients. An entry that is no IP address
 * (`unknown`, one with a port, a garbled header) ends the walk at the trusted hop that handed it on, which
 * is then the client: its readers share one count rather than have a made-up one each.
 *
 * Without trusted proxies, or from any other peer, no header is read. Addresses are in one written form
 * (ipOf): a reader connected over IPv4 to a dual-stack socket (::ffff:10.0.0.1) is 10.0.0.1.
 */
export function createClientOf(trusted?: TrustedProxies): (req: IncomingMessage) => string {
  return (req) => {
    const remote = req.socket?.remoteAddress ?? ''
    // A link-local peer's zone (fe80::1%eth0) names this host's interface, not the peer.
    const peer = ipOf(remote.replace(/%.*$/, ''))
    if (!peer) return remote
    if (!trusted?.has(peer.address)) return peer.address
    // Node joins the header's repeated lines with ", ", in the order they came: one list.
    const header = req.headers['x-forwarded-for']
    if (typeof header !== 'string') return peer.address
    let client = peer.address
    const hops = header.split(',')
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = ipOf(hops[i]!.trim())
      if (!hop) break
      client = hop.address
      if (!trusted.has(client)) break
    }
    return client
  }
}
