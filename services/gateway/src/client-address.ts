import type { IncomingMessage } from 'node:http'
import { SocketAddress } from 'node:net'
import { type Ip, ipOf, type TrustedProxies } from './trusted-proxies.ts'

/** The 16-bit groups of part of a written IPv6 address (a dotted IPv4 tail as two: its value unread). */
const groupsOf = (part: string) =>
  part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]))

/**
 * Who an address is, as a client: an IPv4 address itself, an IPv6 address its /64 network
 * (`2001:db8:1:2::/64`). A host is given a /64 (SLAAC, privacy addresses, a provider's delegation), and
 * takes any address in it at will: counted by its addresses, a reader rotating them would never reach
 * its limit. (An IPv4-mapped address is IPv4 already: ipOf.)
 */
export function clientKeyOf(ip: Ip): string {
  if (ip.family === 'ipv4') return ip.address
  const [head = '', tail] = ip.address.split('::')
  const left = groupsOf(head)
  const right = tail === undefined ? [] : groupsOf(tail)
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
  const network = new SocketAddress({ address: `${groups.slice(0, 4).join(':')}::`, family: 'ipv6' })
  return `${network.address}/64`
}

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
 * Without trusted proxies, or from any other peer, no header is read. The client is keyed by clientKeyOf:
 * an IPv4 address (a reader connected over IPv4 to a dual-stack socket, ::ffff:10.0.0.1, is 10.0.0.1),
 * or an IPv6 address's /64.
 */
export function createClientOf(trusted?: TrustedProxies): (req: IncomingMessage) => string {
  return (req) => {
    const remote = req.socket?.remoteAddress ?? ''
    // A link-local peer's zone (fe80::1%eth0) names this host's interface, not the peer.
    const peer = ipOf(remote.replace(/%.*$/, ''))
    if (!peer) return remote
    if (!trusted?.has(peer.address)) return clientKeyOf(peer)
    // Node joins the header's repeated lines with ", ", in the order they came: one list.
    const header = req.headers['x-forwarded-for']
    if (typeof header !== 'string') return clientKeyOf(peer)
    let client = peer
    const hops = header.split(',')
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = ipOf(hops[i]!.trim())
      if (!hop) break
      client = hop
      if (!trusted.has(client.address)) break
    }
    return clientKeyOf(client)
  }
}
