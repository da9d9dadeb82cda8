import { BlockList, isIP, SocketAddress } from 'node:net'

/**
 * The proxies whose X-Forwarded-For the gateway believes (GATEWAY_TRUSTED_PROXIES): addresses and CIDR
 * ranges, IPv4 and IPv6, matched by node:net's BlockList. An IPv4-mapped IPv6 address (::ffff:10.0.0.1,
 * as a dual-stack socket gives an IPv4 peer) matches an IPv4 range and the other way round.
 */
export type TrustedProxies = {
  /** The entries as given (trimmed), for a configuration shown whole. */
  readonly entries: readonly string[]
  /** Whether `address` (an address ipOf accepts) is one of them. */
  has(address: string): boolean
  toJSON(): string
}

export type Ip = { address: string; family: 'ipv4' | 'ipv6' }

const MAPPED_IPV4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/

/**
 * `text` as one IP address in a single written form, or undefined when it is none: IPv6 compressed and in
 * lower case, an IPv4-mapped one as its IPv4 address, so one client is one key however a hop wrote it.
 * A zone (fe80::1%eth0) is refused: it names an interface of the host that wrote it, nobody's address.
 */
export function ipOf(text: string): Ip | undefined {
  const family = isIP(text)
  if (family === 4) return { address: text, family: 'ipv4' }
  if (family !== 6 || text.includes('%')) return undefined
  const address = new SocketAddress({ address: text, family: 'ipv6' }).address
  const mapped = MAPPED_IPV4.exec(address)
  return mapped ? { address: mapped[1]!, family: 'ipv4' } : { address, family: 'ipv6' }
}

const BITS = { ipv4: 32, ipv6: 128 }

/** What is wrong with one entry, or undefined when it is an address or a range (added to `list`). */
function addEntry(list: BlockList, entry: string): string | undefined {
  if (entry === '') return 'an empty entry'
  const q = JSON.stringify(entry)
  const [text = '', prefix, ...more] = entry.split('/')
  const ip = ipOf(text)
  if (!ip || more.length > 0)
    return `${q} is not an IP address or CIDR range (10.0.0.0/8, 2001:db8::/32; names are not resolved)`
  // The range as written, so an IPv6 range of mapped addresses (::ffff:10.0.0.0/104) keeps its prefix.
  const family = isIP(text) === 4 ? 'ipv4' : 'ipv6'
  if (prefix === undefined) {
    list.addAddress(text, family)
    return undefined
  }
  const bits = Number(prefix)
  if (!/^\d{1,3}$/.test(prefix) || bits > BITS[family])
    return `${q} needs a prefix length from 1 to ${BITS[family]}`
  // Every address: any reader could then set X-Forwarded-For and pass for as many clients as it likes.
  if (bits === 0) return `${q} trusts every address (name the proxies' addresses or ranges)`
  list.addSubnet(text, bits, family)
  return undefined
}

/**
 * GATEWAY_TRUSTED_PROXIES, comma-separated: the proxies, or what is wrong with each bad entry (one message
 * naming them all, each once). A range's bits past its prefix are ignored (10.1.2.3/8 is 10.0.0.0/8).
 */
export function parseTrustedProxies(
  text: string,
): { ok: true; value: TrustedProxies } | { ok: false; error: string } {
  const entries = text.split(',').map((e) => e.trim())
  const list = new BlockList()
  const bad = entries.flatMap((e) => addEntry(list, e) ?? [])
  if (bad.length > 0) return { ok: false, error: [...new Set(bad)].join(', ') }
  return {
    ok: true,
    value: {
      entries,
      has: (address) => list.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6'),
      toJSON: () => entries.join(','),
    },
  }
}
