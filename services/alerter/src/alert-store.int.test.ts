import { hysteresisKeysFor, lineEntry, parseRules, READING_FIELD, type RuleSet } from '@tradepulse/alerting'
import {
  type Alert,
  createManualClock,
  createTopicCatalogue,
  type IndicatorUpdate,
} from '@tradepulse/contracts'
import { type OutRecord, TradepulseError } from '@tradepulse/platform'
import { randomName, testInfra } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { type AlertClaim, type AlertStore, createRedisAlertStore } from './alert-store.ts'
import { createMemoryAlertStore } from './memory-alert-store.ts'
import { cnLevelRule } from './scenario-fixtures.ts'
import { claimedAlertFixture, cnTariffUpdate, indicatorRecord, testAlerterHandler } from './test-handler.ts'

const H = 3_600_000
const claim = (
  stream: string,
  alertId: string,
  eventMs: number,
  origin: string,
  cooldownMs = H,
): AlertClaim => ({
  stream,
  alertId,
  eventMs,
  cooldownMs,
  origin,
})

const READING = { asOfMs: 6, count: 9, mean: { '1h': -0.1 }, weight: { '1h': 2.5 }, exact: false }

/** One script of claims and commits; both adapters must decide every step the same way. */
async function scenario(store: AlertStore) {
  const d: string[] = []
  const step = async (c: AlertClaim) => d.push(...(await store.claim([c])))
  await step(claim('s1', 'a1', 10 * H, 'o/0/1')) // fire
  await step(claim('s1', 'a1', 10 * H, 'o/0/1')) // same record again, not confirmed: resend
  await store.commit([{ stream: 's1', alertId: 'a1', origin: 'o/0/1' }], new Map())
  await step(claim('s1', 'a1', 10 * H, 'o/0/1')) // sent for this very record: sent (nothing to publish)
  await step(claim('s1', 'a1', 10 * H, 'o/0/9')) // another record, same alert: duplicate
  await step(claim('s1', 'a2', 10.5 * H, 'o/0/2')) // within the cooldown: suppressed
  await step(claim('s1', 'a2', 10.5 * H, 'o/0/2')) // and stays suppressed on replay
  await step(claim('s1', 'a3', 12 * H, 'o/0/3')) // past the cooldown: fire
  await step(claim('s1', 'a0', 8 * H, 'o/0/4')) // older but outside the cooldown: fire, moves nothing
  await step(claim('s2', 'b1', 10 * H, 'o/1/1', 0)) // no cooldown
  await step(claim('s2', 'b2', 10 * H, 'o/1/2', 0))
  // An id held back, then raised again by a later event (an id's time bucket is as long as the cooldown).
  await step(claim('s3', 'c1', 20 * H, 'o/2/1')) // fire
  await step(claim('s3', 'c2', 20.9 * H, 'o/2/2')) // within c1's cooldown: suppressed
  await step(claim('s3', 'c2', 20.9 * H, 'o/2/2')) // and stays suppressed on replay
  await step(claim('s3', 'c2', 21.5 * H, 'o/2/3')) // the same id past c1's cooldown: fire, not held 2 cooldowns
  await step(claim('s3', 'c2', 20.9 * H, 'o/2/2')) // the first event replayed: its id went out, a duplicate
  await store.commit(
    [],
    new Map([
      [
        'ind1',
        {
          f1: { armed: false, lastValue: -0.7, asOfMs: 5 },
          old: { armed: false, lastValue: -0.6, asOfMs: 4 },
        },
      ],
    ]),
  )
  // null deletes a field (an entry under its old name, once its line wrote its own).
  await store.commit([], new Map([['ind1', { old: null, f2: { armed: true, lastValue: -0.1, asOfMs: 6 } }]]))
  // The indicator's reading, beside its lines' entries (what a disarmed line's re-arming needs).
  await store.commit([], new Map([['ind1', { [READING_FIELD]: READING }]]))
  const hyst = await store.readHysteresis(
    new Map([
      ['ind1', { fields: ['f1', 'f2', 'old', READING_FIELD] }],
      ['ind2', { fields: ['f1'] }],
    ]),
  )
  return { decisions: d, hysteresis: Object.fromEntries(hyst) }
}

describe('alert store: Redis and memory decide alike', () => {
  const redis = new Redis(testInfra().redisUrl)
  afterAll(() => redis.quit())

  it('runs the same claims to the same decisions and hysteresis', async () => {
    const viaRedis = await scenario(
      createRedisAlertStore(redis, {
        prefix: randomName('alerts'),
        dedupWindowMs: 24 * H,
        hysteresisTtlMs: 24 * H,
      }),
    )
    const viaMemory = await scenario(
      createMemoryAlertStore({ dedupWindowMs: 24 * H, clock: createManualClock(0) }),
    )
    expect(viaRedis.decisions).toEqual([
      'fire',
      'resend',
      'sent',
      'duplicate',
      'cooldown',
      'cooldown',
      'fire',
      'fire',
      'fire',
      'fire',
      'fire',
      'cooldown',
      'cooldown',
      'fire',
      'duplicate',
    ])
    expect(viaMemory).toEqual(viaRedis)
    expect(viaRedis.hysteresis).toEqual({
      ind1: {
        f1: { armed: false, lastValue: -0.7, asOfMs: 5 },
        f2: { armed: true, lastValue: -0.1, asOfMs: 6 },
        [READING_FIELD]: READING,
      },
      ind2: {},
    })
  })
})

/** Claims as resends only, and releases of refused alerts; both adapters must decide every step alike. */
async function resendAndReleaseScenario(store: AlertStore) {
  const d: string[] = []
  const step = async (c: AlertClaim) => d.push(...(await store.claim([c])))
  const resend = (c: AlertClaim): AlertClaim => ({ ...c, resendOnly: true })
  await step(resend(claim('r1', 'a1', 10 * H, 'o/0/1'))) // held, never claimed: unclaimed, nothing written
  await step(claim('r1', 'a2', 10.5 * H, 'o/0/2')) // so nothing holds this one back: fire
  await step(resend(claim('r1', 'a2', 10.5 * H, 'o/0/2'))) // its record's claim stands: resend
  await step(resend(claim('r1', 'a2', 10.5 * H, 'o/0/3'))) // another record's claim: duplicate
  await step(claim('r1', 'a3', 11 * H, 'o/0/4')) // within a2's cooldown: suppressed
  await step(resend(claim('r1', 'a3', 11 * H, 'o/0/4'))) // as first decided
  await step(resend(claim('r1', 'a3', 12 * H, 'o/0/5'))) // held back once, past its holder: not claimed now
  await store.commit([{ stream: 'r1', alertId: 'a2', origin: 'o/0/2' }], new Map())
  await step(resend(claim('r1', 'a2', 10.5 * H, 'o/0/2'))) // sent for it
  await step(claim('r2', 'b1', 10 * H, 'o/1/1')) // fire
  await step(claim('r2', 'b2', 12 * H, 'o/1/2')) // fire
  await store.release([{ stream: 'r2', alertId: 'b2', eventMs: 12 * H, origin: 'o/1/9' }]) // not its claim
  await step(claim('r2', 'b3', 12.5 * H, 'o/1/3')) // b2 still holds it back: suppressed
  await store.release([{ stream: 'r2', alertId: 'b2', eventMs: 12 * H, origin: 'o/1/2' }]) // refused: released
  await step(claim('r2', 'b4', 12.4 * H, 'o/1/4')) // b2 gone, b1 2.4 h before: fire
  await step(claim('r2', 'b2', 12 * H, 'o/1/2')) // the released id, decided afresh: within b4's cooldown
  await step(claim('r2', 'b5', 10.5 * H, 'o/1/5')) // within b1's: suppressed
  await store.commit([{ stream: 'r2', alertId: 'b1', origin: 'o/1/1' }], new Map())
  await store.release([{ stream: 'r2', alertId: 'b1', eventMs: 10 * H, origin: 'o/1/1' }]) // sent: kept
  await step(claim('r2', 'b1', 10 * H, 'o/1/1')) // sent for it
  await step(claim('r2', 'b6', 10.9 * H, 'o/1/6')) // b1 still holds its stream: suppressed
  return d
}

describe('alert store: resend-only claims and releases, Redis and memory alike', () => {
  const redis = new Redis(testInfra().redisUrl)
  afterAll(() => redis.quit())
  const redisStore = (prefix: string) =>
    createRedisAlertStore(redis, { prefix, dedupWindowMs: 24 * H, hysteresisTtlMs: 24 * H })

  it('claims a held alert only as a resend, and undoes the unconfirmed claim of a refused one', async () => {
    const viaRedis = await resendAndReleaseScenario(redisStore(randomName('alerts')))
    const viaMemory = await resendAndReleaseScenario(
      createMemoryAlertStore({ dedupWindowMs: 24 * H, clock: createManualClock(0) }),
    )
    expect(viaRedis).toEqual([
      'unclaimed',
      'fire',
      'resend',
      'duplicate',
      'cooldown',
      'cooldown',
      'unclaimed',
      'sent',
      'fire',
      'fire',
      'cooldown',
      'fire',
      'cooldown',
      'cooldown',
      'sent',
      'cooldown',
    ])
    expect(viaMemory).toEqual(viaRedis)
  })

  it("on Redis: a release puts the stream's old cooldown key back on the newest alert left (a previous version reads only it), or deletes it", async () => {
    const prefix = randomName('alerts')
    const store = redisStore(prefix)
    const oldKey = `${prefix}:alert:cd:{s}`
    await store.claim([claim('s', 'x1', 10 * H, 'o/0/1'), claim('s', 'x2', 12 * H, 'o/0/2')])
    expect(await redis.get(oldKey)).toBe(`${12 * H}|x2`)
    await store.release([{ stream: 's', alertId: 'x2', eventMs: 12 * H, origin: 'o/0/2' }])
    expect(await redis.get(oldKey)).toBe(`${10 * H}|x1`)
    expect(await redis.pttl(oldKey)).toBeGreaterThan(23 * H)
    expect(await redis.exists(`${prefix}:alert:sent:{s}:x2`)).toBe(0)
    await store.release([{ stream: 's', alertId: 'x1', eventMs: 10 * H, origin: 'o/0/1' }])
    expect(await redis.keys(`${prefix}:*`)).toEqual([])
  })
})

/** One script of outbox writes, reads and settlements; both adapters must answer every read the same way. */
async function outboxScenario(store: AlertStore) {
  const T = Date.parse('2026-03-02T08:00:00Z')
  const x1 = claimedAlertFixture('x1', T, { headline: 'h-x1' })
  const x2 = claimedAlertFixture('x2', T + 60_000, { desks: [] })
  const y1 = claimedAlertFixture('y1', T, { stream: 'level|tariff|region:CN|down', cooldownMs: 0 })
  const [o1, o2, o3] = ['t.scored/0/7', 't.scored/0/8', 't.indicators/3/7']
  const reads: Map<string, unknown>[] = []
  const read = async (...origins: string[]) => reads.push(await store.claimedFor(origins))
  await read(o1, o2, o3) // nothing held
  await store.holdClaims(
    new Map([
      [o1, [x1, x2]],
      [o3, [y1]],
    ]),
  )
  await read(o1, o2, o3, o1) // each record's entry, in order; o2 absent; o1 asked twice
  await store.holdClaims(new Map([[o1, [x2]]])) // replaces o1's entry
  await read(o1)
  await store.commit([], new Map(), [o1, o2]) // settles o1 (o2 had nothing)
  await read(o1, o3)
  await store.commit([{ stream: y1.stream, alertId: y1.alert.id, origin: o3 }], new Map(), [o3])
  await read(o3)
  return {
    reads,
    expected: [
      new Map(),
      new Map([
        [o1, [x1, x2]],
        [o3, [y1]],
      ]),
      new Map([[o1, [x2]]]),
      new Map([[o3, [y1]]]),
      new Map(),
    ],
  }
}

describe('alert store outbox: Redis and memory hold, read and settle the alerts claimed for a record alike', () => {
  const redis = new Redis(testInfra().redisUrl)
  afterAll(() => redis.quit())
  const redisStore = (prefix = randomName('alerts'), dedupWindowMs = 24 * H) =>
    createRedisAlertStore(redis, { prefix, dedupWindowMs, hysteresisTtlMs: 24 * H })

  it('reads back what was held, per record, until the record is settled', async () => {
    const viaRedis = await outboxScenario(redisStore())
    expect(viaRedis.reads).toEqual(viaRedis.expected)
    const viaMemory = await outboxScenario(
      createMemoryAlertStore({ dedupWindowMs: 24 * H, clock: createManualClock(0) }),
    )
    expect(viaMemory.reads).toEqual(viaMemory.expected)
  })

  it('on Redis: one key per record, tagged by its topic and partition, lasting the dedup window (or a longer cooldown)', async () => {
    const prefix = randomName('alerts')
    const store = redisStore(prefix)
    const T = Date.parse('2026-03-02T08:00:00Z')
    await store.holdClaims(
      new Map([
        ['t.scored/0/7', [claimedAlertFixture('a', T)]],
        ['t.scored/0/8', [claimedAlertFixture('b', T), claimedAlertFixture('c', T, { cooldownMs: 48 * H })]],
        ['t.indicators/2/7', [claimedAlertFixture('d', T)]],
      ]),
    )
    const keys = (await redis.keys(`${prefix}:*`)).sort()
    expect(keys).toEqual([
      `${prefix}:alert:outbox:{t.indicators/2}:7`,
      `${prefix}:alert:outbox:{t.scored/0}:7`,
      `${prefix}:alert:outbox:{t.scored/0}:8`,
    ])
    const ttls = await Promise.all(keys.map((k) => redis.pttl(k)))
    for (const [i, ttl] of ttls.entries()) {
      const want = keys[i]!.endsWith(':8') ? 48 * H : 24 * H
      expect(ttl).toBeGreaterThan(want - 60_000)
      expect(ttl).toBeLessThanOrEqual(want)
    }
  })

  it('on Redis: an entry that does not parse is skipped, the readable alerts of a record kept', async () => {
    const prefix = randomName('alerts')
    const store = redisStore(prefix)
    const T = Date.parse('2026-03-02T08:00:00Z')
    const ok = claimedAlertFixture('ok', T)
    await redis.set(`${prefix}:alert:outbox:{t.scored/0}:1`, 'not json')
    await redis.set(`${prefix}:alert:outbox:{t.scored/0}:2`, JSON.stringify([{ stream: 's' }, ok, 7]))
    await redis.set(`${prefix}:alert:outbox:{t.scored/0}:3`, JSON.stringify({ alerts: [ok] }))
    expect(await store.claimedFor(['t.scored/0/1', 't.scored/0/2', 't.scored/0/3'])).toEqual(
      new Map([['t.scored/0/2', [ok]]]),
    )
  })

  it('on Redis: a commit whose writes fail keeps the entries it was to settle (deleted only after the sent marks)', async () => {
    const prefix = randomName('alerts')
    const store = redisStore(prefix)
    const held = claimedAlertFixture('a', Date.parse('2026-03-02T08:00:00Z'))
    const origin = 't.scored/0/5'
    await store.holdClaims(new Map([[origin, [held]]]))
    expect(
      await store.claim([
        { stream: held.stream, alertId: 'a', eventMs: held.eventMs, cooldownMs: H, origin },
      ]),
    ).toEqual(['fire'])
    // The hysteresis hash of an indicator is a string (an operator's mistake): the commit fails.
    await redis.set(`${prefix}:alert:hys:{ind1}`, 'x')
    const sent = [{ stream: held.stream, alertId: 'a', origin }]
    const moved = new Map([['ind1', { f1: { armed: false, lastValue: -0.7, asOfMs: 5 } }]])
    await expect(store.commit(sent, moved, [origin])).rejects.toThrow('WRONGTYPE')
    expect(await store.claimedFor([origin])).toEqual(new Map([[origin, [held]]]))
    await redis.del(`${prefix}:alert:hys:{ind1}`)
    await store.commit(sent, moved, [origin])
    expect(await store.claimedFor([origin])).toEqual(new Map())
  })
})

describe('alerter: a fresh process after a half-written commit (sent mark written, hysteresis not)', () => {
  const { redisUrl } = testInfra()
  const topics = createTopicCatalogue('t.')
  const ctx = { signal: new AbortController().signal }
  const parsed = parseRules(`version: t-1\nrules:\n${cnLevelRule(H)}`, 'yaml')
  if (!parsed.ok) throw new Error('rules do not parse')
  const ruleSet: RuleSet = parsed
  const T0 = Date.parse('2026-03-02T08:00:00Z')
  const _scope = { kind: 'region' as const, id: 'CN' }
  const updateAt = (atMin: number, mean: number) => cnTariffUpdate(T0, atMin, mean)
  // The line is at -0.5, re-armed above -0.35; the cooldown (and the alert id's bucket) is an hour.
  const steps = [
    updateAt(50, -0.6), // crosses: fires
    updateAt(115, -0.7), // still past the line, the cooldown over: nothing, the line is disarmed
    updateAt(130, -0.2), // back past the band: re-armed
    updateAt(185, -0.7), // crosses again: fires
  ]
  const recordOf = (u: IndicatorUpdate, offset: number) =>
    indicatorRecord(topics.indicators.name, u, offset, T0)
  const records = steps.map(recordOf)
  const fields = hysteresisKeysFor(ruleSet, steps[0]!)

  /** One alerter process's handler over the store; what it publishes goes to `published`. */
  const processOver = (store: AlertStore, published: OutRecord[]) =>
    testAlerterHandler({
      topics,
      rules: ruleSet,
      store,
      nowMs: T0 + 1_000 * 60_000,
      publish: async (out) => {
        published.push(...out)
      },
    }).handler
  const alertsOf = (published: OutRecord[]) =>
    published
      .filter((r) => r.topic === topics.alerts.name)
      .map((r) => JSON.parse(r.value as string) as Alert)
      .map((a) => `${a.publishedAt} ${a.id}`)
  const lineOf = async (store: AlertStore) =>
    (await store.readHysteresis(new Map([[steps[0]!.key, { fields }]]))).get(steps[0]!.key)

  /** Without a fault: the alerts, and the line as the first update's commit left it. */
  async function cleanRun(store: AlertStore) {
    const published: OutRecord[] = []
    const handler = processOver(store, published)
    await handler(records.slice(0, 1), ctx)
    const line = await lineOf(store)
    for (const r of records.slice(1)) await handler([r], ctx)
    return { alerts: alertsOf(published), line }
  }

  /**
   * A process killed between the two writes of its commit (the sent mark written, the hysteresis not),
   * then a fresh process (nothing in memory; `open()` gives a store over the same state, on Redis with
   * its own connection) that gets the first record again, then the rest.
   */
  async function crashRun(open: () => AlertStore) {
    const killedStore = open()
    const killed: OutRecord[] = []
    const halfCommit: AlertStore = {
      ...killedStore,
      async commit(sent) {
        await killedStore.commit(sent, new Map()) // the sent marks made it, the hysteresis did not
        throw new TradepulseError('INFRA_REDIS', 'process killed')
      },
    }
    await expect(processOver(halfCommit, killed)(records.slice(0, 1), ctx)).rejects.toThrow('process killed')
    expect(alertsOf(killed)).toHaveLength(1)
    expect(await lineOf(killedStore)).toEqual({}) // half-written: the line as armed as before the alert
    const freshStore = open()
    const fresh: OutRecord[] = []
    const handler = processOver(freshStore, fresh)
    await handler(records.slice(0, 1), ctx)
    expect(alertsOf(fresh)).toEqual([]) // sent already, for this very record
    const line = await lineOf(freshStore)
    for (const r of records.slice(1)) await handler([r], ctx)
    return { alerts: [...alertsOf(killed), ...alertsOf(fresh)], line }
  }

  const expectAsIfCommitted = async (clean: () => AlertStore, crashed: () => AlertStore) => {
    const expected = await cleanRun(clean())
    expect(expected.alerts).toHaveLength(2)
    // The line's entry, disarmed, and the indicator's reading kept for its re-arming.
    expect(Object.keys(expected.line ?? {}).sort()).toEqual([...fields.slice(0, 1), READING_FIELD].sort())
    expect(lineEntry(expected.line?.[fields[0]!])?.armed).toBe(false)
    // The redelivery finishes the commit: the line disarmed as the alert left it, so no second alert at 115.
    const got = await crashRun(crashed)
    expect(got.line).toEqual(expected.line)
    expect(got.alerts).toEqual(expected.alerts)
  }

  it('on Redis, the redelivered record leaves the line disarmed and sends no other alert', async () => {
    const connections: Redis[] = []
    const opener = () => {
      const prefix = randomName('alerts')
      return () => {
        const redis = new Redis(redisUrl)
        connections.push(redis)
        return createRedisAlertStore(redis, { prefix, dedupWindowMs: 24 * H, hysteresisTtlMs: 24 * H })
      }
    }
    try {
      await expectAsIfCommitted(opener(), opener())
    } finally {
      await Promise.all(connections.map((c) => c.quit()))
    }
  })

  it('in memory, likewise', async () => {
    const opener = () => {
      const store = createMemoryAlertStore({ dedupWindowMs: 24 * H, clock: createManualClock(T0) })
      return () => store
    }
    await expectAsIfCommitted(opener(), opener())
  })
})
