import { testAlert } from '@tradepulse/testing'
import { describe, expect, it, vi } from 'vitest'
import { createAlertFeed, type FeedEntry, matches, parseAlertFilter } from './alert-feed.ts'

describe('alert feed', () => {
  it('holds each alert id once, newest last, up to its capacity', () => {
    const feed = createAlertFeed(3)
    const told: FeedEntry[] = []
    feed.subscribe((e) => told.push(e))
    expect(feed.add(testAlert('a'))).toBe(true)
    expect(feed.add(testAlert('a', { message: 'again' }))).toBe(false)
    for (const id of ['b', 'c', 'd']) feed.add(testAlert(id))
    expect(feed.size).toBe(3)
    expect(feed.recent({}, 10).map((a) => a.id)).toEqual(['d', 'c', 'b'])
    expect(told.map((e) => [e.seq, e.alert.id])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
      [4, 'd'],
    ])
    // Once evicted, an id is no longer known: the alerter's id comes again only in a replay.
    expect(feed.add(testAlert('a'))).toBe(true)
    expect(feed.after(3).map((e) => e.alert.id)).toEqual(['d', 'a'])
    expect(feed.after(0, 2).map((e) => e.alert.id)).toEqual(['c', 'd'])
    expect(feed.firstSeq).toBe(3)
    expect(feed.entryOf('d')?.seq).toBe(4)
    expect(feed.entryOf('b')).toBeUndefined()
    expect(feed.lastSeq).toBe(5)
  })

  it('keeps order, eviction and lookup by id across many turns of its capacity', () => {
    const feed = createAlertFeed(5)
    expect([feed.size, feed.firstSeq, feed.lastSeq, feed.after(0)]).toEqual([0, 1, 0, []])
    for (let i = 1; i <= 23; i++) feed.add(testAlert(`a${i}`, i % 3 ? {} : { severity: 'info' }))
    const ids = (entries: FeedEntry[]) => entries.map((e) => e.alert.id)
    expect([feed.size, feed.firstSeq, feed.lastSeq]).toEqual([5, 19, 23])
    expect(feed.recent({}, 10).map((a) => a.id)).toEqual(['a23', 'a22', 'a21', 'a20', 'a19'])
    expect(feed.recent({ severity: ['info'] }, 10).map((a) => a.id)).toEqual(['a21'])
    expect(feed.recent({}, 2).map((a) => a.id)).toEqual(['a23', 'a22'])
    expect(ids(feed.after(0))).toEqual(['a19', 'a20', 'a21', 'a22', 'a23'])
    expect(ids(feed.after(20))).toEqual(['a21', 'a22', 'a23'])
    expect(ids(feed.after(19, 2))).toEqual(['a20', 'a21'])
    expect(feed.after(23)).toEqual([])
    expect(feed.after(19, 0)).toEqual([])
    expect(feed.after(21).map((e) => e.seq)).toEqual([22, 23])
    expect(feed.entryOf('a18')).toBeUndefined()
    expect(feed.entryOf('a19')?.seq).toBe(19)
    expect(feed.entryOf('a23')?.alert.id).toBe('a23')
    // An evicted id comes back as a new entry; a held one is a duplicate.
    expect(feed.add(testAlert('a19'))).toBe(false)
    expect(feed.add(testAlert('a1'))).toBe(true)
    expect(ids(feed.after(0))).toEqual(['a20', 'a21', 'a22', 'a23', 'a1'])
    expect(feed.entryOf('a19')).toBeUndefined()
  })

  it('evicts the oldest alerts past its byte budget, as past its count, and says why', () => {
    const reasons: string[] = []
    const feed = createAlertFeed(4, { maxBytes: 1_000, evicted: (r) => reasons.push(r) })
    const ids = () => feed.after(0).map((e) => e.alert.id)
    for (const id of ['a', 'b', 'c']) feed.add(testAlert(id), 300)
    expect([ids(), feed.bytes, reasons]).toEqual([['a', 'b', 'c'], 900, []])
    // 1,200 bytes: the oldest goes.
    feed.add(testAlert('d'), 300)
    expect([ids(), feed.bytes, feed.firstSeq, reasons]).toEqual([['b', 'c', 'd'], 900, 2, ['bytes']])
    expect(feed.entryOf('a')).toBeUndefined()
    // As many go as it takes.
    feed.add(testAlert('e'), 700)
    expect([ids(), feed.bytes, feed.size, feed.firstSeq]).toEqual([['d', 'e'], 1_000, 2, 4])
    expect(feed.recent({}, 10).map((a) => a.id)).toEqual(['e', 'd'])
    expect(reasons).toEqual(['bytes', 'bytes', 'bytes'])
    // An alert heavier than the whole budget is held, alone, until the next.
    feed.add(testAlert('f'), 5_000)
    expect([ids(), feed.bytes, feed.size]).toEqual([['f'], 5_000, 1])
    feed.add(testAlert('g'), 10)
    expect([ids(), feed.bytes]).toEqual([['g'], 10])
    // Small ones meet the count bound first.
    reasons.length = 0
    for (const id of ['h', 'i', 'j', 'k']) feed.add(testAlert(id), 10)
    expect([ids(), feed.bytes, reasons]).toEqual([['h', 'i', 'j', 'k'], 40, ['count']])
    // A byte-evicted id is no longer known: it comes back as a new entry.
    expect(feed.add(testAlert('a'), 10)).toBe(true)
    // Each weighed as its JSON when not told.
    const plain = createAlertFeed(10, { maxBytes: 10_000 })
    plain.add(testAlert('x'))
    expect(plain.bytes).toBe(Buffer.byteLength(JSON.stringify(testAlert('x'))))
  })

  it('holds what a plain list within both bounds holds, across many turns of its ring', () => {
    let state = 7
    const next = () => {
      state = (state * 1_103_515_245 + 12_345) % 2_147_483_648
      return state / 2_147_483_648
    }
    const feed = createAlertFeed(8, { maxBytes: 2_000 })
    let model: { id: string; bytes: number }[] = []
    for (let i = 0; i < 500; i++) {
      const bytes = 1 + Math.floor(next() * (next() < 0.1 ? 2_500 : 400))
      feed.add(testAlert(`a${i}`), bytes)
      model.push({ id: `a${i}`, bytes })
      if (model.length > 8) model = model.slice(1)
      while (model.length > 1 && model.reduce((n, m) => n + m.bytes, 0) > 2_000) model = model.slice(1)
      expect(feed.after(0).map((e) => e.alert.id)).toEqual(model.map((m) => m.id))
      expect(feed.bytes).toBe(model.reduce((n, m) => n + m.bytes, 0))
      expect(feed.firstSeq).toBe(i + 2 - model.length)
      expect(feed.entryOf(model[0]!.id)?.seq).toBe(feed.firstSeq)
      if (i >= model.length) expect(feed.entryOf(`a${i - model.length}`)).toBeUndefined()
    }
  })

  it('tells of each entry it evicts, the oldest first, past its count or its byte budget', () => {
    const feed = createAlertFeed(3, { maxBytes: 1_000 })
    const evicted: string[] = []
    const stop = feed.onEvicted((e) => evicted.push(`${e.seq} ${e.alert.id}`))
    for (const id of ['a', 'b', 'c', 'd']) feed.add(testAlert(id), 100)
    expect(evicted).toEqual(['1 a'])
    // Past the byte budget: two go for one.
    feed.add(testAlert('e'), 850)
    expect(evicted).toEqual(['1 a', '2 b', '3 c'])
    stop()
    feed.add(testAlert('f'), 100)
    expect(evicted).toEqual(['1 a', '2 b', '3 c'])
    expect(feed.after(0).map((e) => e.alert.id)).toEqual(['e', 'f'])
  })

  it('finds the held entries before a seq written from a time, as a scan of the feed would', () => {
    let seed = 7
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed / 2 ** 31
    }
    const t0 = Date.parse('2026-03-02T00:00:00Z')
    const feed = createAlertFeed(200)
    const parses = vi.spyOn(Date, 'parse')
    try {
      // Record times rising a minute an alert, each up to 3 minutes off (partitions read in step, leaders'
      // clocks); one far ahead (a leader's clock set wrong); every tenth off Kafka, with none.
      for (let i = 0; i < 500; i++) {
        const ms = i === 420 ? t0 + 10 ** 9 : t0 + i * 60_000 + Math.round((random() - 0.5) * 360_000)
        feed.add(
          testAlert(`a${i}`),
          undefined,
          i % 10 === 9 ? undefined : { partition: 0, offset: i, timestamp: ms },
        )
      }
      const scan = (fromMs: number, beforeSeq: number) =>
        feed
          .after(feed.firstSeq - 1)
          .filter((e) => e.seq < beforeSeq && e.origin !== undefined && e.origin.timestamp >= fromMs)
          .map((e) => e.alert.id)
      for (let n = 0; n < 300; n++) {
        const before = feed.firstSeq + Math.floor(random() * (feed.size + 5))
        const from = t0 + Math.round(random() * 520 * 60_000)
        expect(feed.writtenSince(from, before).map((e) => e.alert.id)).toEqual(scan(from, before))
      }
      expect(feed.writtenSince(Number.NaN, feed.lastSeq + 1)).toEqual([])
      // Not the detection time: an alert detected long before its record was written is found by its record.
      const late = createAlertFeed(10)
      late.add(testAlert('late', { detectedAt: '2026-03-01T00:00:00.000Z' }), undefined, {
        partition: 0,
        offset: 0,
        timestamp: t0,
      })
      expect(late.writtenSince(t0, 2).map((e) => e.alert.id)).toEqual(['late'])
      // Nothing is parsed to look up.
      parses.mockClear()
      expect(feed.writtenSince(t0 + 400 * 60_000, feed.lastSeq).length).toBeGreaterThan(0)
      expect(parses).not.toHaveBeenCalled()
    } finally {
      parses.mockRestore()
    }
  })

  it('gives the newest matching alerts first, at most the limit', () => {
    const feed = createAlertFeed(10)
    feed.add(testAlert('1', { severity: 'info', scope: { kind: 'region', id: 'US' } }))
    feed.add(testAlert('2', { dimension: 'supplyChain', scope: { kind: 'commodity', id: 'rare_earths' } }))
    feed.add(testAlert('3', { severity: 'warning' }))
    feed.add(testAlert('4'))
    const ids = (q: string, limit = 10) => {
      const f = parseAlertFilter(new URLSearchParams(q))
      if (!f.ok) throw new Error(f.error)
      return feed.recent(f.value, limit).map((a) => a.id)
    }
    expect(ids('')).toEqual(['4', '3', '2', '1'])
    expect(ids('', 2)).toEqual(['4', '3'])
    expect(ids('severity=warning,critical')).toEqual(['4', '3', '2'])
    expect(ids('scope=region:US')).toEqual(['1'])
    expect(ids('scope=commodity')).toEqual(['2'])
    expect(ids('dimension=tariff&severity=critical')).toEqual(['4'])
    expect(ids('rule=nothing_like_it')).toEqual([])
  })

  it('matches a scope id in any case, as the rules and desks files do; the kind as named', () => {
    const feed = createAlertFeed(10)
    feed.add(testAlert('cn'))
    feed.add(testAlert('earths', { scope: { kind: 'commodity', id: 'rare_earths' } }))
    const ids = (q: string) => {
      const f = parseAlertFilter(new URLSearchParams(q))
      if (!f.ok) throw new Error(f.error)
      return feed.recent(f.value, 10).map((a) => a.id)
    }
    expect(ids('scope=region:cn')).toEqual(['cn'])
    expect(ids('scope=region:Cn,commodity:RARE_EARTHS')).toEqual(['earths', 'cn'])
    expect(ids('scope=region:US')).toEqual([])
    // A kind is one of the lower-case names: another is a 400, not a filter matching nothing.
    expect(parseAlertFilter(new URLSearchParams('scope=Region:CN')).ok).toBe(false)
  })

  it('takes the wildcards of the rules and desks files: <kind>:* as a bare kind, * as every scope', () => {
    const feed = createAlertFeed(10)
    feed.add(testAlert('cn'))
    feed.add(testAlert('us', { scope: { kind: 'region', id: 'US' } }))
    feed.add(testAlert('other', { scope: { kind: 'region', id: 'other' } }))
    feed.add(testAlert('earths', { scope: { kind: 'commodity', id: 'rare_earths' } }))
    const ids = (q: string) => {
      const f = parseAlertFilter(new URLSearchParams(q))
      if (!f.ok) throw new Error(f.error)
      return feed.recent(f.value, 10).map((a) => a.id)
    }
    // Before, region:* was taken and matched nothing, and * was refused.
    expect(ids('scope=region:*')).toEqual(['other', 'us', 'cn'])
    expect(ids('scope=region:*')).toEqual(ids('scope=region'))
    expect(ids('scope=commodity:*,region:US')).toEqual(['earths', 'us'])
    expect(ids('scope=*')).toEqual(['earths', 'other', 'us', 'cn'])
    const error = (q: string) => {
      const f = parseAlertFilter(new URLSearchParams(q))
      return f.ok ? 'ok' : f.error
    }
    // A "*" inside an id, taken before, matched nothing: refused as the rules refuse it.
    expect(error('scope=region:C*')).toMatch(
      /^scope: "region:C\*": "\*" is a whole id \("region:\*", every region scope\)/,
    )
    expect(error('scope=region:*N')).toMatch(/^scope: /)
    expect(error('scope=region:')).toMatch(/^scope: no id after "region:"/)
    expect(error('scope=')).toMatch(/^scope: kind must be one of global, region.* \(got ""\)/)
  })

  it('reads an id with spaces around it as the id, and refuses one longer than any scope id', () => {
    const feed = createAlertFeed(10)
    feed.add(testAlert('cn'))
    const f = parseAlertFilter(new URLSearchParams('scope=region: cn ,region:US'))
    if (!f.ok) throw new Error(f.error)
    // Before, " cn" matched nothing.
    expect(feed.recent(f.value, 10).map((a) => a.id)).toEqual(['cn'])
    const long = parseAlertFilter(new URLSearchParams(`scope=entity:${'x'.repeat(65)}`))
    expect(long.ok ? 'ok' : long.error).toBe(
      'scope: the id is 65 characters, and a scope id is at most 64: it would match nothing',
    )
    expect(parseAlertFilter(new URLSearchParams(`scope=entity:${'x'.repeat(64)}`)).ok).toBe(true)
  })

  it('refuses a bad filter, naming the parameter', () => {
    const error = (q: string, extra: string[] = []) => {
      const f = parseAlertFilter(new URLSearchParams(q), extra)
      return f.ok ? 'ok' : f.error
    }
    expect(error('severity=loud')).toMatch(/^severity: .*info.*warning.*critical/)
    expect(error('dimension=tarif')).toMatch(/^dimension: /)
    expect(error('scope=planet:mars')).toMatch(/^scope: kind must be one of global, region/)
    expect(error('colour=red')).toBe('colour: unknown parameter')
    expect(error('severity=info&severity=loud')).toMatch(/^severity: given more than once/)
    // Names an Object has already are parameters like any other: unknown, not "given more than once".
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty'])
      expect(error(`${name}=1`)).toBe(`${name}: unknown parameter`)
    expect(error('limit=5', ['limit'])).toBe('ok')
    expect(matches({ scope: ['region:CN'] }, testAlert('x'))).toBe(true)
  })
})
