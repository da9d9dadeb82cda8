import { loadConfig } from '@tradepulse/platform'
import { numberNotations } from '@tradepulse/platform/config-test-support'
import { describe, expect, it } from 'vitest'
import { DEFAULT_MAX_STREAMS_PER_CLIENT, GatewayConfig, streamsPerClient } from './config.ts'

function refusal(env: Record<string, string>): string {
  try {
    loadConfig(GatewayConfig, env)
  } catch (err) {
    return (err as Error).message
  }
  return 'accepted'
}

describe('GatewayConfig', () => {
  it('takes GATEWAY_MAX_STREAMS_PER_CLIENT, by default 20 or GATEWAY_MAX_STREAMS when that is lower', () => {
    const perClient = (env: Record<string, string>) => streamsPerClient(loadConfig(GatewayConfig, env))
    expect(perClient({})).toBe(DEFAULT_MAX_STREAMS_PER_CLIENT)
    expect(DEFAULT_MAX_STREAMS_PER_CLIENT).toBe(20)
    // A gateway set to fewer streams in all is not refused for a default nobody set.
    expect(perClient({ GATEWAY_MAX_STREAMS: '5' })).toBe(5)
    expect(perClient({ GATEWAY_MAX_STREAMS_PER_CLIENT: '3' })).toBe(3)
    expect(perClient({ GATEWAY_MAX_STREAMS: '5', GATEWAY_MAX_STREAMS_PER_CLIENT: '5' })).toBe(5)
    expect(perClient({ GATEWAY_MAX_STREAMS_PER_CLIENT: '200' })).toBe(200)
  })

  it('refuses GATEWAY_MAX_STREAMS_PER_CLIENT above GATEWAY_MAX_STREAMS, or not a count, naming it', () => {
    expect(refusal({ GATEWAY_MAX_STREAMS: '10', GATEWAY_MAX_STREAMS_PER_CLIENT: '11' })).toBe(
      'invalid configuration:\n  GATEWAY_MAX_STREAMS_PER_CLIENT: must be at most GATEWAY_MAX_STREAMS (got 11 and 10)',
    )
    expect(refusal({ GATEWAY_MAX_STREAMS_PER_CLIENT: '201' })).toBe(
      'invalid configuration:\n  GATEWAY_MAX_STREAMS_PER_CLIENT: must be at most GATEWAY_MAX_STREAMS (got 201 and 200)',
    )
    for (const bad of ['0', '1.5', 'many'])
      expect(refusal({ GATEWAY_MAX_STREAMS_PER_CLIENT: bad })).toMatch(
        /^invalid configuration:\n {2}GATEWAY_MAX_STREAMS_PER_CLIENT: .+\(got "[^"]+"\)$/,
      )
    // Over the bound of both: one line for it, not a second comparing it with the total.
    expect(refusal({ GATEWAY_MAX_STREAMS_PER_CLIENT: '20000' }).split('\n')).toEqual([
      'invalid configuration:',
      expect.stringMatching(/^ {2}GATEWAY_MAX_STREAMS_PER_CLIENT: .*10000/),
    ])
  })
  it('refuses a stream heartbeat not below 90 % of the max age (the soonest a stream is closed), naming both', () => {
    // Each stream is closed after 90 to 100 % of GATEWAY_STREAM_MAX_AGE_MS: a heartbeat at or past that
    // share left streams closed before their first heartbeat.
    const message = (heartbeat: number, maxAge: number) =>
      `invalid configuration:\n  GATEWAY_STREAM_HEARTBEAT_MS: must be below 90 % of GATEWAY_STREAM_MAX_AGE_MS, the soonest a stream is closed (got ${heartbeat} and ${maxAge}): a stream closed before its first heartbeat never has one`
    for (const [heartbeat, maxAge] of [
      [60_000, 60_000],
      [120_000, 60_000],
      [2_700, 3_000],
      [15_000, 10_000],
    ] as const)
      expect(
        refusal({
          GATEWAY_STREAM_HEARTBEAT_MS: String(heartbeat),
          GATEWAY_STREAM_MAX_AGE_MS: String(maxAge),
        }),
      ).toBe(message(heartbeat, maxAge))
    expect(refusal({ GATEWAY_STREAM_HEARTBEAT_MS: '2699', GATEWAY_STREAM_MAX_AGE_MS: '3000' })).toBe(
      'accepted',
    )
    expect(refusal({ GATEWAY_STREAM_HEARTBEAT_MS: '1000', GATEWAY_STREAM_MAX_AGE_MS: '3000' })).toBe(
      'accepted',
    )
    // A value past its own bounds is its own line only.
    expect(refusal({ GATEWAY_STREAM_MAX_AGE_MS: '999' }).split('\n')).toEqual([
      'invalid configuration:',
      expect.stringMatching(/^ {2}GATEWAY_STREAM_MAX_AGE_MS: /),
    ])
    // The stall limit runs only while a socket is full, when no heartbeat is written: any order of the two
    // is taken (http-api.test.ts keeps such a stream open).
    expect(refusal({ GATEWAY_STREAM_HEARTBEAT_MS: '120000', GATEWAY_STREAM_STALL_MS: '1000' })).toBe(
      'accepted',
    )
  })
  it('takes GATEWAY_TRUSTED_PROXIES, none when unset or blank, and refuses a bad entry naming it', () => {
    expect(loadConfig(GatewayConfig, {}).GATEWAY_TRUSTED_PROXIES).toBeUndefined()
    expect(
      loadConfig(GatewayConfig, { GATEWAY_TRUSTED_PROXIES: '  ' }).GATEWAY_TRUSTED_PROXIES,
    ).toBeUndefined()
    const t = loadConfig(GatewayConfig, { GATEWAY_TRUSTED_PROXIES: '10.0.0.0/8, 2001:db8::/32' })
      .GATEWAY_TRUSTED_PROXIES!
    expect([t.entries, t.has('10.1.2.3'), t.has('2001:db8::1'), t.has('192.0.2.1')]).toEqual([
      ['10.0.0.0/8', '2001:db8::/32'],
      true,
      true,
      false,
    ])
    expect(refusal({ GATEWAY_TRUSTED_PROXIES: '10.0.0.0/8,10.0.0.0/40,lb' })).toBe(
      'invalid configuration:\n  GATEWAY_TRUSTED_PROXIES: "10.0.0.0/40" needs a prefix length from 1 to 32, "lb" is not an IP address or CIDR range (10.0.0.0/8, 2001:db8::/32; names are not resolved)',
    )
    expect(refusal({ GATEWAY_TRUSTED_PROXIES: '0.0.0.0/0' })).toBe(
      `invalid configuration:\n  GATEWAY_TRUSTED_PROXIES: "0.0.0.0/0" trusts every address (name the proxies' addresses or ranges)`,
    )
  })
})

describe('GatewayConfig: GATEWAY_ALLOWED_HOSTS', () => {
  it("takes names and IP addresses, or * alone; unset or blank, none (the bind's default)", () => {
    expect(loadConfig(GatewayConfig, {}).GATEWAY_ALLOWED_HOSTS).toBeUndefined()
    expect(loadConfig(GatewayConfig, { GATEWAY_ALLOWED_HOSTS: ' ' }).GATEWAY_ALLOWED_HOSTS).toBeUndefined()
    expect(loadConfig(GatewayConfig, { GATEWAY_ALLOWED_HOSTS: '*' }).GATEWAY_ALLOWED_HOSTS).toBe('*')
    expect(
      loadConfig(GatewayConfig, { GATEWAY_ALLOWED_HOSTS: 'Alerts.Example.com, localhost,[::1]' })
        .GATEWAY_ALLOWED_HOSTS,
    ).toEqual(['alerts.example.com', 'localhost', '::1'])
  })

  it('refuses an empty entry, a URL and a port at start, naming the variable', () => {
    expect(refusal({ GATEWAY_ALLOWED_HOSTS: 'alerts.example.com,' })).toBe(
      'invalid configuration:\n  GATEWAY_ALLOWED_HOSTS: an empty entry',
    )
    expect(refusal({ GATEWAY_ALLOWED_HOSTS: 'https://alerts.example.com' })).toBe(
      'invalid configuration:\n  GATEWAY_ALLOWED_HOSTS: "https://alerts.example.com" is a URL or path: give the host name only, as a Host header names it (gateway.example.com)',
    )
    expect(refusal({ GATEWAY_ALLOWED_HOSTS: 'localhost:9405' })).toMatch(
      /^invalid configuration:\n {2}GATEWAY_ALLOWED_HOSTS: "localhost:9405" has a port/,
    )
  })
})

describe('GatewayConfig: numeric variables', () => {
  it('reads each in decimal digits only, its own as the shared ones, naming one given otherwise', () => {
    // The schema alone took 1e4, 0x10 and +5 (Number(), z.coerce): only loadConfig's check of the text
    // besides refused them.
    const { numeric, taken } = numberNotations(GatewayConfig)
    expect(numeric).toEqual(
      expect.arrayContaining([
        'GATEWAY_RECENT_ALERTS',
        'GATEWAY_RECENT_ALERTS_MAX_BYTES',
        'GATEWAY_ALERT_LISTS_MAX_UNSENT_BYTES',
        'GATEWAY_MAX_STREAMS',
        'GATEWAY_MAX_STREAMS_PER_CLIENT',
        'GATEWAY_STREAM_HEARTBEAT_MS',
        'GATEWAY_STREAM_STALL_MS',
        'GATEWAY_STREAM_MAX_AGE_MS',
      ]),
    )
    expect(taken).toEqual([])
    expect(() =>
      loadConfig(GatewayConfig, {
        GATEWAY_STREAM_MAX_AGE_MS: '36e5',
        GATEWAY_MAX_STREAMS_PER_CLIENT: '0x10',
      }),
    ).toThrow(
      'invalid configuration:\n  GATEWAY_MAX_STREAMS_PER_CLIENT: a whole number in decimal digits (0-9) only (got "0x10")\n  GATEWAY_STREAM_MAX_AGE_MS: a whole number in decimal digits (0-9) only (got "36e5")',
    )
  })
})
