import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { clientKeyOf, createClientOf, forwardedAddressOf } from './client-address.ts'
import { ipOf, parseTrustedProxies, type TrustedProxies } from './trusted-proxies.ts'

function trusted(text: string): TrustedProxies {
  const p = parseTrustedProxies(text)
  if (!p.ok) throw new Error(p.error)
  return p.value
}

/** A request from `peer` (its connection's remote address) with these X-Forwarded-For lines, if any. */
function request(peer: string | undefined, forwardedFor?: string): IncomingMessage {
  return {
    socket: { remoteAddress: peer },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  } as unknown as IncomingMessage
}

describe('createClientOf', () => {
  const proxies = trusted('10.0.0.0/8,2001:db8:1::/48')
  const clientOf = createClientOf(proxies)

  it('is the remote address when no proxy is trusted: a forwarded header is never read', () => {
    const plain = createClientOf()
    expect(plain(request('10.0.0.5', '203.0.113.7'))).toBe('10.0.0.5')
    expect(plain(request('::ffff:10.0.0.5'))).toBe('10.0.0.5')
    expect(plain(request(undefined))).toBe('')
  })

  it('ignores the header of a peer that is not a trusted proxy, whatever it says', () => {
    expect(clientOf(request('198.51.100.9', '203.0.113.7'))).toBe('198.51.100.9')
    expect(clientOf(request('198.51.100.9', '10.0.0.1'))).toBe('198.51.100.9')
    expect(clientOf(request('2001:db8:2::9', '203.0.113.7'))).toBe('2001:db8:2::/64')
  })

  it("takes a trusted proxy's forwarded address, and the proxy's own when it forwards none", () => {
    expect(clientOf(request('10.0.0.1', '203.0.113.7'))).toBe('203.0.113.7')
    expect(clientOf(request('10.0.0.1'))).toBe('10.0.0.1')
    expect(clientOf(request('10.0.0.1', ''))).toBe('10.0.0.1')
  })

  it('reads right to left through trusted proxies, to the first address that is not one', () => {
    // The reader, then the edge proxy, then the inner one the gateway is connected to.
    expect(clientOf(request('10.0.0.2', '203.0.113.7, 10.0.0.1'))).toBe('203.0.113.7')
    // Repeated header lines (node joins them with ", ") are one list, in order.
    expect(clientOf(request('10.0.0.2', '203.0.113.7,10.0.0.3, 10.0.0.1'))).toBe('203.0.113.7')
    // What a reader set itself stands left of what its first proxy appended: never reached.
    expect(clientOf(request('10.0.0.2', '1.2.3.4, 5.6.7.8, 203.0.113.7, 10.0.0.1'))).toBe('203.0.113.7')
    expect(clientOf(request('10.0.0.2', '10.0.0.9, 203.0.113.7, 10.0.0.1'))).toBe('203.0.113.7')
    // Every hop trusted: the one farthest from the gateway (a request from the proxies' own network).
    expect(clientOf(request('10.0.0.2', '10.0.0.9, 10.0.0.1'))).toBe('10.0.0.9')
  })

  it('reads IPv6 peers and hops, writing each /64 one way', () => {
    expect(clientOf(request('2001:db8:1::1', '2001:DB8:AB:0::7'))).toBe('2001:db8:ab::/64')
    expect(clientOf(request('2001:db8:1::1', '2001:db8:ab::7, 10.0.0.1'))).toBe('2001:db8:ab::/64')
    expect(clientOf(request('10.0.0.1', '2001:db8:ab::7, 2001:db8:1::5'))).toBe('2001:db8:ab::/64')
    // A link-local proxy with its zone: the zone is this host's interface, not part of the address.
    expect(createClientOf(trusted('fe80::/10'))(request('fe80::1%eth0', '203.0.113.7'))).toBe('203.0.113.7')
  })

  it('matches an IPv4-mapped peer or hop against the IPv4 ranges, and counts it as its IPv4 address', () => {
    expect(clientOf(request('::ffff:10.0.0.1', '203.0.113.7'))).toBe('203.0.113.7')
    expect(clientOf(request('::ffff:10.0.0.1', '::ffff:203.0.113.7'))).toBe('203.0.113.7')
    expect(clientOf(request('::ffff:10.0.0.2', '203.0.113.7, ::ffff:10.0.0.1'))).toBe('203.0.113.7')
    expect(clientOf(request('::ffff:198.51.100.9', '203.0.113.7'))).toBe('198.51.100.9')
  })

  it('stops at an entry that is no address: the trusted hop that handed it on is the client', () => {
    expect(clientOf(request('10.0.0.1', 'unknown'))).toBe('10.0.0.1')
    expect(clientOf(request('10.0.0.1', '203.0.113.7:99999'))).toBe('10.0.0.1')
    expect(clientOf(request('10.0.0.1', '[203.0.113.7]:80'))).toBe('10.0.0.1')
    expect(clientOf(request('10.0.0.2', '203.0.113.7, garbage, 10.0.0.1'))).toBe('10.0.0.1')
    expect(clientOf(request('10.0.0.2', '203.0.113.7, 10.0.0.1,'))).toBe('10.0.0.2')
    // Past the client, a malformed entry is never reached.
    expect(clientOf(request('10.0.0.1', 'garbage, 203.0.113.7'))).toBe('203.0.113.7')
  })

  it('reads an entry with the port it was connected from as its address, the port ignored', () => {
    expect(clientOf(request('10.0.0.1', '203.0.113.7:51234'))).toBe('203.0.113.7')
    expect(clientOf(request('10.0.0.1', '[2001:db8:ab::7]:443'))).toBe('2001:db8:ab::/64')
    // Through trusted hops written with ports too, to the first that is not one.
    expect(clientOf(request('10.0.0.2', '198.51.100.4:1, 203.0.113.7:5678, 10.0.0.1:8080'))).toBe(
      '203.0.113.7',
    )
    expect(clientOf(request('10.0.0.2', '[2001:db8:ab::7]:443,[2001:db8:1::5]:80'))).toBe('2001:db8:ab::/64')
  })

  it('counts an IPv6 reader by its /64, whatever address in it it takes; an IPv4 one by its address, mapped or not', () => {
    const plain = createClientOf()
    const sameHost = [
      '2001:db8:1:2::1',
      '2001:db8:1:2::2',
      '2001:db8:1:2:a1b2:c3d4:e5f6:789',
      '2001:DB8:1:2::ff',
    ]
    expect(sameHost.map((a) => plain(request(a)))).toEqual(sameHost.map(() => '2001:db8:1:2::/64'))
    expect(plain(request('2001:db8:1:3::1'))).toBe('2001:db8:1:3::/64')
    expect(plain(request('fe80::1%eth0'))).toBe('fe80::/64')
    expect([
      plain(request('10.0.0.1')),
      plain(request('::ffff:10.0.0.1')),
      plain(request('10.0.0.2')),
    ]).toEqual(['10.0.0.1', '10.0.0.1', '10.0.0.2'])
    // Forwarded for by a trusted proxy: the same.
    expect(clientOf(request('10.0.0.1', '2001:db8:1:2:dead:beef::1'))).toBe('2001:db8:1:2::/64')
    expect(clientOf(request('10.0.0.1', '::ffff:203.0.113.7'))).toBe('203.0.113.7')
  })
})

describe('clientKeyOf', () => {
  it('keys an IPv6 address by its /64 in one written form, an IPv4 address by itself', () => {
    const key = (text: string) => clientKeyOf(ipOf(text)!)
    expect(
      [
        '2001:db8:1:2:3:4:5:6',
        '2001:db8::1',
        '2001:db8:0:0:1::1',
        '2001:0:0:1::',
        '1::2:3:4:5:6',
        '1:2:3:4:5:6:7::',
        '::1',
        '::',
        '::1.2.3.4',
        '64:ff9b::192.0.2.1',
        'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
        '10.0.0.1',
        '::ffff:10.0.0.1',
      ].map(key),
    ).toEqual([
      '2001:db8:1:2::/64',
      '2001:db8::/64',
      '2001:db8::/64',
      '2001:0:0:1::/64',
      '1:0:0:2::/64',
      '1:2:3:4::/64',
      '::/64',
      '::/64',
      '::/64',
      '64:ff9b::/64',
      'ffff:ffff:ffff:ffff::/64',
      '10.0.0.1',
      '10.0.0.1',
    ])
  })
})

describe('forwardedAddressOf', () => {
  it('takes a bare address, an IPv4 one with a port, an IPv6 one in brackets with or without one', () => {
    const of = (entry: string) => forwardedAddressOf(entry)?.address
    expect(
      [
        '203.0.113.7',
        '203.0.113.7:5678',
        '203.0.113.7:0',
        '203.0.113.7:65535',
        '2001:db8::1',
        '[2001:db8::1]:443',
        '[2001:DB8:0::1]',
        '[::ffff:203.0.113.7]:80',
        // Unbracketed, the last group is the address's own.
        '2001:db8::1:443',
      ].map(of),
    ).toEqual([
      '203.0.113.7',
      '203.0.113.7',
      '203.0.113.7',
      '203.0.113.7',
      '2001:db8::1',
      '2001:db8::1',
      '2001:db8::1',
      '203.0.113.7',
      '2001:db8::1:443',
    ])
  })

  it('takes nothing else', () => {
    for (const bad of [
      '',
      'unknown',
      '_hidden',
      'proxy.internal:80',
      '203.0.113.7:',
      '203.0.113.7:65536',
      '203.0.113.7:123456',
      '203.0.113.7:http',
      '203.0.113.7:80:90',
      '[203.0.113.7]:80',
      '[2001:db8::1',
      '2001:db8::1]:443',
      '[2001:db8::1]:',
      '[2001:db8::1]:65536',
      '[2001:db8::1]443',
      '[fe80::1%eth0]:80',
      '[[2001:db8::1]]:443',
      '010.0.0.1:80',
    ])
      expect([bad, forwardedAddressOf(bad)]).toEqual([bad, undefined])
  })
})
