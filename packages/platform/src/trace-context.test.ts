import { describe, expect, it } from 'vitest'
import { TRACESTATE_MAX_CHARS, traceContext, traceHeaders, validTraceparent } from './trace-context.ts'

const VALID = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

describe('validTraceparent', () => {
  it('keeps a well-formed traceparent', () => {
    expect(validTraceparent(VALID)).toBe(VALID)
    expect(traceHeaders({ traceparent: VALID, other: 'x' })).toEqual({ traceparent: VALID })
  })

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['nonsense', 'nonsense'],
    ['upper case', VALID.toUpperCase()],
    ['short ids', '00-XYZ-123-01'],
    ['trailing data', `${VALID}-extra`],
    ['a trailing newline', `${VALID}\n`],
    ['a megabyte', `${VALID}${'0'.repeat(1024 * 1024)}`],
    ['version ff', `ff${VALID.slice(2)}`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-b7ad6b7169203331-01`],
    ['an all-zero parent id', `00-0af7651916cd43dd8448eb211c80319c-${'0'.repeat(16)}-01`],
  ])('refuses one that is %s', (_, value) => {
    expect(validTraceparent(value)).toBeUndefined()
    expect(traceHeaders(value === undefined ? {} : { traceparent: value })).toBeUndefined()
  })
})

const OTHER = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
/** A record as the Kafka runner gives it: text headers (a repeated one's last value) and every value. */
const kafkaRecord = (raw: Record<string, string | Buffer | (string | Buffer)[]>) => ({
  headers: Object.fromEntries(
    Object.entries(raw).map(([k, v]) => [k, String(Array.isArray(v) ? v[v.length - 1] : v)]),
  ),
  rawHeaders: raw,
})

describe('traceContext', () => {
  it('carries nothing on from a record with two traceparent headers, valid or not, nor its tracestate', () => {
    for (const parents of [
      [VALID, OTHER],
      [VALID, VALID],
      ['nonsense', VALID],
    ])
      expect(
        traceContext(kafkaRecord({ traceparent: parents, tracestate: 'congo=t61rcWkgMzE' })),
      ).toBeUndefined()
  })

  it('reads one traceparent given as bytes, and ignores a header value without bytes', () => {
    expect(traceContext(kafkaRecord({ traceparent: Buffer.from(VALID) }))).toEqual({ traceparent: VALID })
    expect(traceContext({ headers: {}, rawHeaders: { traceparent: [null, Buffer.from(VALID)] } })).toEqual({
      traceparent: VALID,
    })
  })

  it('carries a tracestate on with a valid traceparent, its headers combined in order', () => {
    expect(
      traceContext(
        kafkaRecord({ traceparent: VALID, tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE' }),
      ),
    ).toEqual({
      traceparent: VALID,
      tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    })
    expect(
      traceContext(
        kafkaRecord({
          traceparent: VALID,
          tracestate: ['foo=1,bar=2', Buffer.from('rojo=1,congo=2'), 'baz=3'],
        }),
      ),
    ).toEqual({ traceparent: VALID, tracestate: 'foo=1,bar=2,rojo=1,congo=2,baz=3' })
    // Optional white space and empty members are left out; a value's leading space is its own.
    expect(
      traceContext(kafkaRecord({ traceparent: VALID, tracestate: ['', ' \tfoo=1 \t, , bar= 2\t', ''] })),
    ).toEqual({
      traceparent: VALID,
      tracestate: 'foo=1,bar= 2',
    })
    // From text headers alone (a record made in memory) too.
    expect(traceHeaders({ traceparent: VALID, tracestate: 'congo=t61rcWkgMzE' })).toEqual({
      traceparent: VALID,
      tracestate: 'congo=t61rcWkgMzE',
    })
  })

  it('carries no tracestate without a valid traceparent', () => {
    expect(traceContext(kafkaRecord({ tracestate: 'congo=t61rcWkgMzE' }))).toBeUndefined()
    expect(
      traceContext(kafkaRecord({ traceparent: 'nonsense', tracestate: 'congo=t61rcWkgMzE' })),
    ).toBeUndefined()
  })

  it('takes every key and value the grammar allows', () => {
    const key = `abcdefghijklmnopqrstuvwxyz0123456789_-*/`
    const value = Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => String.fromCharCode(0x20 + i))
      .filter((c) => c !== ',' && c !== '=')
      .join('')
    const tracestate = `${key}=${value},${key}@a-z0-9_-*/=${value.trim()},0tenant@vendor=x`
    expect(traceContext(kafkaRecord({ traceparent: VALID, tracestate }))?.tracestate).toBe(
      `${key}=${value},${key}@a-z0-9_-*/=${value.trim()},0tenant@vendor=x`,
    )
  })

  it.each([
    ['a key twice', 'foo=1,foo=2'],
    ['a key twice across headers', ['foo=1', 'foo=1']],
    ['a key in upper case', 'FOO=1'],
    ['a space in a key', 'foo =1'],
    ['a dot in a key', 'foo.bar=1'],
    ['an empty tenant', '@foo=1,bar=2'],
    ['an empty system', 'foo@=1,bar=2'],
    ['two @', 'foo@bar@baz=1,bar=2'],
    ['a system id of 15 characters', 'foo@abcdefghijklmno=1'],
    ['a key of 257 characters', `${'a'.repeat(257)}=1`],
    ['no value', 'foo=,bar=2'],
    ['no "="', 'foo,bar=2'],
    ['a value holding "="', 'foo=a=b'],
    ['a control character in a value', 'foo=a\u0001b'],
    ['a character past ASCII in a value', 'foo=café'],
    ['a value of 257 characters', `foo=${'x'.repeat(257)}`],
    ['33 members', Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')],
    ['a megabyte', `foo=1${' '.repeat(1024 * 1024)}`],
    ['a million headers', Array.from({ length: 1_000_000 }, () => '')],
    // Read by index: a regex anchored at the end would go over this run once per space.
    ['no "=" around a long run of spaces', `a${' '.repeat(30_000)}b`],
  ])('drops a tracestate with %s, and keeps its traceparent', (_, tracestate) => {
    expect(traceContext(kafkaRecord({ traceparent: VALID, tracestate }))).toEqual({ traceparent: VALID })
  })

  it('keeps 32 members, and cuts a tracestate past 512 characters by whole entries: those over 128 first, then from the end', () => {
    const members = Array.from({ length: 32 }, (_, i) => `k${i}=v`)
    expect(traceContext(kafkaRecord({ traceparent: VALID, tracestate: members.join(',') }))?.tracestate).toBe(
      members.join(','),
    )
    const long = `long=${'x'.repeat(200)}`
    const mid = (i: number) => `m${i}=${'y'.repeat(100)}`
    // 200 + 5 × 105 characters: the long one goes, then the last of the others until they fit.
    const cut = traceContext(
      kafkaRecord({
        traceparent: VALID,
        tracestate: [mid(0), long, mid(1), mid(2), mid(3), mid(4)].join(','),
      }),
    )?.tracestate
    expect(cut).toBe([mid(0), mid(1), mid(2), mid(3)].join(','))
    expect(cut!.length).toBeLessThanOrEqual(TRACESTATE_MAX_CHARS)
  })
})
