import { createManualClock } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import { type AlertClaim, readClaimedAlerts } from './alert-store.ts'
import { createMemoryAlertStore } from './memory-alert-store.ts'
import { claimedAlertFixture } from './test-handler.ts'

const H = 3_600_000
const claim = (stream: string, alertId: string, atH: number): AlertClaim => ({
  stream,
  alertId,
  eventMs: atH * H,
  cooldownMs: H,
  origin: `o/0/${stream}-${alertId}`,
})

describe('memory alert store: bounded fired sets', () => {
  it('past maxEntries fired times all told, the sets of the streams fired longest ago go first', async () => {
    const store = createMemoryAlertStore({
      dedupWindowMs: 24 * H,
      clock: createManualClock(0),
      maxEntries: 4,
    })
    const decide = async (...cs: AlertClaim[]) => store.claim(cs)
    expect(await decide(claim('s1', 'a', 0), claim('s1', 'b', 2), claim('s2', 'c', 0))).toEqual([
      'fire',
      'fire',
      'fire',
    ])
    expect(await decide(claim('s1', 'x', 0.5), claim('s2', 'y', 0.5))).toEqual(['cooldown', 'cooldown'])
    // s1 fires again (now the newest), s2 twice: five fired times, s2's set is kept, s1's goes.
    expect(await decide(claim('s1', 'd', 4), claim('s2', 'e', 2), claim('s2', 'f', 4))).toEqual([
      'fire',
      'fire',
      'fire',
    ])
    expect(await decide(claim('s1', 'z', 3.5), claim('s2', 'w', 3.5))).toEqual(['fire', 'cooldown'])
  })
})

describe('memory alert store: outbox entries', () => {
  it('last the dedup window (or the longest cooldown held) on its clock', async () => {
    const clock = createManualClock(0)
    const store = createMemoryAlertStore({ dedupWindowMs: 24 * H, clock })
    const short = claimedAlertFixture('a', 0)
    const long = claimedAlertFixture('b', 0, { cooldownMs: 48 * H })
    await store.holdClaims(
      new Map([
        ['t/0/1', [short]],
        ['t/0/2', [short, long]],
      ]),
    )
    clock.set(24 * H - 1)
    expect([...(await store.claimedFor(['t/0/1', 't/0/2'])).keys()]).toEqual(['t/0/1', 't/0/2'])
    clock.set(24 * H)
    expect(await store.claimedFor(['t/0/1', 't/0/2'])).toEqual(new Map([['t/0/2', [short, long]]]))
    clock.set(48 * H)
    expect(await store.claimedFor(['t/0/1', 't/0/2'])).toEqual(new Map())
  })

  it('past maxEntries, the entries written longest ago go first; each read is a copy', async () => {
    const store = createMemoryAlertStore({
      dedupWindowMs: 24 * H,
      clock: createManualClock(0),
      maxEntries: 2,
    })
    const [a, b, c] = ['a', 'b', 'c'].map((id) => claimedAlertFixture(id, 0))
    await store.holdClaims(new Map([['t/0/1', [a!]]]))
    await store.holdClaims(new Map([['t/0/2', [b!]]]))
    await store.holdClaims(new Map([['t/0/1', [a!, c!]]])) // rewritten: now the newest
    await store.holdClaims(new Map([['t/0/3', [c!]]]))
    const read = await store.claimedFor(['t/0/1', 't/0/2', 't/0/3'])
    expect(read).toEqual(
      new Map([
        ['t/0/1', [a, c]],
        ['t/0/3', [c]],
      ]),
    )
    read.get('t/0/1')![0]!.alert.message = 'changed by a reader'
    expect((await store.claimedFor(['t/0/1'])).get('t/0/1')![0]).toEqual(a)
  })
})

describe('memory alert store: hysteresis entries', () => {
  const reading = (count: number) => ({ asOfMs: 0, count, mean: {}, weight: {}, exact: true })
  it('forgets at a read without a cutoff the fields no rule in force reads (a rule removed or edited), as the Redis store does', async () => {
    const store = createMemoryAlertStore({ dedupWindowMs: H, clock: createManualClock(0) })
    await store.commit([], new Map([['i1', { kept: reading(1), edited: reading(2), removed: reading(3) }]]))
    await store.commit([], new Map([['i2', { other: reading(4) }]]))
    // After a reload: `edited` is read under its new field, `removed` by no rule.
    const read = await store.readHysteresis(new Map([['i1', { fields: ['kept', 'edited-new'] }]]))
    expect(read.get('i1')).toEqual({ kept: reading(1) })
    const again = await store.readHysteresis(
      new Map([
        ['i1', { fields: ['kept', 'edited', 'removed'] }],
        ['i2', { fields: ['other'] }],
      ]),
    )
    expect(again.get('i1')).toEqual({ kept: reading(1) })
    // An indicator read for no field (and the others) is left as it was.
    expect(again.get('i2')).toEqual({ other: reading(4) })
    await store.readHysteresis(new Map([['i2', { fields: [] }]]))
    expect((await store.readHysteresis(new Map([['i2', { fields: ['other'] }]]))).get('i2')).toEqual({
      other: reading(4),
    })
  })
})

describe('readClaimedAlerts', () => {
  const ok = claimedAlertFixture('ok', 0)
  it('reads the entries written, in order, a headline only where there was one', () => {
    const withHeadline = claimedAlertFixture('h', 0, { headline: 'h1' })
    expect(readClaimedAlerts(JSON.stringify([ok, withHeadline]))).toEqual([ok, withHeadline])
    expect(readClaimedAlerts(JSON.stringify([ok]))[0]).not.toHaveProperty('headline')
  })
  it('skips what does not parse, and drops fields it does not know', () => {
    expect(readClaimedAlerts('not json')).toEqual([])
    expect(readClaimedAlerts('{"alerts":[]}')).toEqual([])
    expect(readClaimedAlerts(JSON.stringify([null, { ...ok, desks: 'cn' }, ok]))).toEqual([ok])
    const newer = { ...ok, priority: 1, alert: { ...ok.alert, region: 'EMEA' } }
    expect(readClaimedAlerts(JSON.stringify([newer]))).toEqual([ok])
  })
})
