import { describe, expect, it } from 'vitest'
import { ipOf, parseTrustedProxies, type TrustedProxies } from './trusted-proxies.ts'

function trusted(text: string): TrustedProxies {
  const p = parseTrustedProxies(text)
  if (!p.ok) throw new Error(p.error)
  return p.value
}
const refusal = (text: string) => {
  const p = parseTrustedProxies(text)
  return p.ok ? 'accepted' : p.error
}

describe('ipOf', () => {
  it('writes an address one way: IPv6 compressed in lower case, an IPv4-mapped one as IPv4', () => {
    expect(ipOf('10.0.0.1')).toEqual({ address: '10.0.0.1', family: 'ipv4' })
    expect(ipOf('2001:DB8:0:0::1')).toEqual({ address: '2001:db8::1', family: 'ipv6' })
    for (const mapped of ['::ffff:10.0.0.1', '::FFFF:10.0.0.1', '::ffff:a00:1', '0:0:0:0:0:ffff:10.0.0.1'])
      expect(ipOf(mapped)).toEqual({ address: '10.0.0.1', family: 'ipv4' })
  })

  it('takes nothing that is not one bare address', () => {
    for (const bad of [
      '',
      'unknown',
      'lb.internal',
      '10.0.0.1:8080',
      '[2001:db8::1]',
      '010.0.0.1',
      '10.0.0',
      'fe80::1%eth0',
      ' 10.0.0.1',
    ])
      expect(ipOf(bad)).toBeUndefined()
  })
})

describe('parseTrustedProxies', () => {
  it('takes addresses and ranges of both families, and matches an IPv4-mapped address as IPv4', () => {
    const t = trusted(' 10.0.0.0/8, 192.168.1.7 ,2001:db8::/32,fd00::1')
    expect(t.entries).toEqual(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', 'fd00::1'])
    expect(JSON.stringify({ t })).toBe('{"t":"10.0.0.0/8,192.168.1.7,2001:db8::/32,fd00::1"}')
    for (const yes of ['10.0.0.1', '10.255.255.255', '192.168.1.7', '2001:db8:ffff::9', 'fd00::1'])
      expect([yes, t.has(yes)]).toEqual([yes, true])
    for (const no of ['11.0.0.1', '192.168.1.8', '2001:db9::1', 'fd00::2', '::1'])
      expect([no, t.has(no)]).toEqual([no, false])
    // A mapped address given or asked for, either way round.
    expect(t.has(ipOf('::ffff:10.0.0.1')!.address)).toBe(true)
    expect(trusted('::ffff:10.0.0.1').has('10.0.0.1')).toBe(true)
    expect(trusted('::ffff:10.0.0.0/104').has('10.9.9.9')).toBe(true)
    // Bits past the prefix are ignored, as every router does.
    expect(trusted('10.1.2.3/8').has('10.200.0.1')).toBe(true)
  })

  it('names each bad entry once, with what is wrong with it', () => {
    expect(refusal('10.0.0.1,lb.internal')).toBe(
      '"lb.internal" is not an IP address or CIDR range (10.0.0.0/8, 2001:db8::/32; names are not resolved)',
    )
    expect(refusal('10.0.0.0/33,2001:db8::/129,10.0.0.0/x,10.0.0.0/-1')).toBe(
      [
        '"10.0.0.0/33" needs a prefix length from 1 to 32',
        '"2001:db8::/129" needs a prefix length from 1 to 128',
        '"10.0.0.0/x" needs a prefix length from 1 to 32',
        '"10.0.0.0/-1" needs a prefix length from 1 to 32',
      ].join(', '),
    )
    expect(refusal('0.0.0.0/0')).toBe(
      `"0.0.0.0/0" trusts every address (name the proxies' addresses or ranges)`,
    )
    expect(refusal('::/0')).toMatch(/^"::\/0" trusts every address/)
    expect(refusal('10.0.0.1,,10.0.0.2,')).toBe('an empty entry')
    for (const bad of ['10.0.0.1:80', '10.0.0.0/8/8', '[::1]', 'fe80::1%eth0', '10.0.0.0/'])
      expect(refusal(bad)).toMatch(new RegExp(`^${JSON.stringify(bad).replace(/[[\]/.]/g, '\\$&')} `))
  })
})
