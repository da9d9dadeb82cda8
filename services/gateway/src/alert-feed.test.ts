import { describe, expect, it } from 'vitest'
import { createAlertFeed, type FeedEntry, matches, parseAlertFilter } from './alert-feed.ts'
import { testAlert } from './fixtures.ts'

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
