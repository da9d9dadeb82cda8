import type { IncomingMessage } from 'node:http'
import { isIP, SocketAddress } from 'node:net'
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

const IPV4_PORT = /^(\d+\.\d+\.\d+\.\d+):(\d{1,5})$/
const BRACKETED = /^\[([^\]]+)\](?::(\d{1,5}))?$/

/**
 * The address of one X-Forwarded-For entry, or undefined when it is none: a bare address, or one with the
 * port it was connected from, as some proxies write it (`203.0.113.7:5678`, `[2001:db8::1]:443`, and an
 * IPv6 address in brackets without one); the port is not read. An IPv6 address with a port must be in
 * brackets: unbracketed, `2001:db8::1:443` is an address itself, and read as written.
 */
export function forwardedAddressOf(entry: string): Ip | undefined {
  const bare = ipOf(entry)
  if (bare) return bare
  const v4 = IPV4_PORT.exec(entry)
  if (v4) return Number(v4[2]) > 65_535 ? undefined : ipOf(v4[1]!)
  const v6 = BRACKETED.exec(entry)
  if (!v6 || Number(v6[2] ?? 0) > 65_535 || isIP(v6[1]!) !== 6) return undefined
  return ipOf(v6[1]!)
}

/**
 * Who a request's reader is, for GATEWAY_MAX_STREAMS_PER_CLIENT: the connection's remote address or,
 * when that is a trusted proxy (GATEWAY_TRUSTED_PROXIES), the address it says it forwards for. Each proxy
 * appends the address it was connected from to X-Forwarded-For, so the header is read right to left,
 * from the hop next to the gateway: the first address that is not a trusted proxy is the client. What
 * stands left of it was written by the reader, or by proxies nobody vouches for, and is never read: a
 * reader that sets the header itself cannot pass for other clients. An entry is an IP address, with or
 * without a port (forwardedAddressOf); one that is none (`unknown`, an obfuscated identifier, a garbled
 * header) ends the walk at the trusted hop that handed it on, which is then the client: its readers share
 * one count rather than have a made-up one each.
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
      const hop = forwardedAddressOf(hops[i]!.trim())
      if (!hop) break
      client = hop
      if (!trusted.has(client.address)) break
    }
    return clientKeyOf(client)
  }
}
