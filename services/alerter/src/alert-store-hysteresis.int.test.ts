import { hysteresisKeysFor, parseRules, READING_FIELD, type RuleSet } from '@tradepulse/alerting'
import { type Alert, createTopicCatalogue, type IndicatorUpdate } from '@tradepulse/contracts'
import { createKeys, type InRecord, type OutRecord } from '@tradepulse/platform'
import { randomName, testInfra } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { type AlertStore, createRedisAlertStore } from './alert-store.ts'
import { createMemoryAlertStore } from './memory-alert-store.ts'
import { cnLevelRule } from './scenario-fixtures.ts'
import { cnTariffUpdate, indicatorRecord, testAlerterHandler } from './test-handler.ts'

const H = 3_600_000

/** A level rule on region CN's tariff 15m or 24h mean, going down past `threshold`. */
const levelRule = (id: string, window: string, threshold: number) => `  - id: ${id}
    kind: level
    dimensions: [tariff]
    scopes: [region:CN]
    field: mean
    window: ${window}
    direction: down
    threshold: ${threshold}
    hysteresis: 0.1
    severity: warning
    cooldownMs: ${H}
`

function rules(version: string, body: string): RuleSet {
  const parsed = parseRules(`version: ${version}\nrules:\n${body}`, 'yaml')
  if (!parsed.ok) throw new Error('rules do not parse')
  return parsed
}

describe("the alerter's hysteresis hash on Redis keeps only what the rules in force read", () => {
  const { redisUrl } = testInfra()
  const redis = new Redis(redisUrl)
  afterAll(() => redis.quit())

  it('a rules reload: the entries of a rule removed or edited to another line go at the next update, those of an unchanged rule stay', async () => {
    const prefix = randomName('alerts')
    const store = createRedisAlertStore(redis, { prefix, dedupWindowMs: 24 * H, hysteresisTtlMs: 24 * H })
    const topics = createTopicCatalogue('t.')
    const before = rules(
      'r-1',
      cnLevelRule(H) + levelRule('tariff_edited', '15m', -0.4) + levelRule('tariff_removed', '24h', -0.3),
    )
    // tariff_level_cn as it was; tariff_edited's line moved; tariff_removed gone.
    const after = rules('r-2', cnLevelRule(H) + levelRule('tariff_edited', '15m', -0.45))
    let inForce = before
    const published: OutRecord[] = []
    const T0 = Date.parse('2026-03-02T08:00:00Z')
    const { handler } = testAlerterHandler({
      topics,
      rules: () => inForce,
      store,
      nowMs: T0 + 1_000 * 60_000,
      publish: async (out) => {
        published.push(...out)
      },
    })
    const ctx = { signal: new AbortController().signal }
    const recordOf = (u: IndicatorUpdate, offset: number) =>
      indicatorRecord(topics.indicators.name, u, offset, T0)
    const rulesFired = () => {
      const out = published
        .filter((r) => r.topic === topics.alerts.name)
        .map((r) => (JSON.parse(r.value as string) as Alert).rule)
      published.length = 0
      return out.sort()
    }
    const first = cnTariffUpdate(T0, 50, -0.6)
    const hash = createKeys(prefix).alertHysteresis(first.key)
    /** The fields the hash holds that `ruleSet` reads for the indicator (hysteresisKeysFor), and the others. */
    const fieldsOf = async (ruleSet: RuleSet) => {
      const read = new Set(hysteresisKeysFor(ruleSet, first))
      const held = await redis.hkeys(hash)
      return { read: held.filter((f) => read.has(f)).sort(), other: held.filter((f) => !read.has(f)).sort() }
    }

    // All three lines crossed: each fires and is left disarmed.
    await handler([recordOf(first, 0)], ctx)
    expect(rulesFired()).toEqual(['tariff_edited', 'tariff_level_cn', 'tariff_removed'])
    const lineOf = (ruleId: string, ruleSet: RuleSet) =>
      hysteresisKeysFor(ruleSet, first).find((f) => f.startsWith(`${ruleId}|`) && f.includes('@'))!
    expect(await fieldsOf(before)).toEqual({
      read: [
        READING_FIELD,
        lineOf('tariff_edited', before),
        lineOf('tariff_level_cn', before),
        lineOf('tariff_removed', before),
      ].sort(),
      other: [],
    })

    inForce = after
    await handler([recordOf(cnTariffUpdate(T0, 115, -0.7), 1)], ctx)
    // The unchanged rule's line kept its state across the reload: still disarmed, it did not fire again.
    // The edited rule's new line starts armed (the value is past it): it fires.
    expect(rulesFired()).toEqual(['tariff_edited'])
    expect(await fieldsOf(after)).toEqual({
      read: [READING_FIELD, lineOf('tariff_edited', after), lineOf('tariff_level_cn', after)].sort(),
      other: [],
    })
    expect(await redis.pttl(hash)).toBeGreaterThan(23 * H)
  })

  // The Redis store and the embedded one (memory-alert-store.ts) forget the same fields at a read.
  const stores: [
    string,
    (T0: number) => { store: AlertStore; entry: (key: string, field: string) => Promise<unknown> },
  ][] = [
    [
      'Redis',
      () => {
        const prefix = randomName('alerts')
        const store = createRedisAlertStore(redis, { prefix, dedupWindowMs: 24 * H, hysteresisTtlMs: 24 * H })
        const entry = async (key: string, field: string) =>
          JSON.parse((await redis.hget(createKeys(prefix).alertHysteresis(key), field)) ?? 'null')
        return { store, entry }
      },
    ],
    [
      'memory',
      (T0) => {
        const store = createMemoryAlertStore({ dedupWindowMs: 24 * H, clock: { now: () => T0 } })
        // Read as the handler reads it before an evaluation (every field the rules keep), so the read
        // itself forgets nothing the next update would not.
        const entry = async (key: string, field: string) => {
          const ruleSet = rules('r-1', cnLevelRule(H) + levelRule('tariff_level_cn_4h', '4h', -0.5))
          const scope = { kind: 'region' as const, id: 'CN' }
          const read = await store.readHysteresis(
            new Map([[key, { fields: hysteresisKeysFor(ruleSet, { dimension: 'tariff', scope }) }]]),
          )
          return read.get(key)?.[field] ?? null
        }
        return { store, entry }
      },
    ],
  ]

  it.each(stores)(
    "%s: aggregators of different windows side by side: an update without a rule's window keeps its disarmed line, so the rule does not page again",
    async (_, open) => {
      const T0 = Date.parse('2026-03-02T08:00:00Z')
      const { store, entry } = open(T0)
      const topics = createTopicCatalogue('t.')
      // tariff_level_cn reads the 1h mean, which both aggregators publish; tariff_level_cn_4h reads a 4h
      // half-life only one of them has.
      const ruleSet = rules('r-1', cnLevelRule(H) + levelRule('tariff_level_cn_4h', '4h', -0.5))
      const published: OutRecord[] = []
      const { handler } = testAlerterHandler({
        topics,
        rules: ruleSet,
        store,
        nowMs: T0 + 1_000 * 60_000,
        publish: async (out) => {
          published.push(...out)
        },
      })
      const ctx = { signal: new AbortController().signal }
      const recordOf = (u: IndicatorUpdate, offset: number) =>
        indicatorRecord(topics.indicators.name, u, offset, T0)
      const rulesFired = () => {
        const out = published
          .filter((r) => r.topic === topics.alerts.name)
          .map((r) => (JSON.parse(r.value as string) as Alert).rule)
        published.length = 0
        return out.sort()
      }
      /** The update of the aggregator with a 4h half-life (15m, 1h, 4h); cnTariffUpdate is the default one's. */
      const with4h = (atMin: number, mean: number): IndicatorUpdate => {
        const u = cnTariffUpdate(T0, atMin, mean)
        return { ...u, mean: { '15m': mean, '1h': mean, '4h': mean } }
      }
      const key = with4h(0, 0).key
      const line4h = hysteresisKeysFor(ruleSet, with4h(0, 0)).find((f) =>
        f.startsWith('tariff_level_cn_4h|tariff|region:CN|down|4h mean@'),
      )!

      await handler([recordOf(with4h(50, -0.6), 0)], ctx)
      expect(rulesFired()).toEqual(['tariff_level_cn', 'tariff_level_cn_4h'])
      // The default aggregator's update: no 4h mean, so the 4h rule reads nothing on it.
      await handler([recordOf(cnTariffUpdate(T0, 55, -0.6), 1)], ctx)
      expect(rulesFired()).toEqual([])
      const kept = await entry(key, line4h)
      // Past the cooldown, still past the line: the 4h line is still disarmed from its crossing at 50
      // min, so no second page (a new alert id: another hour's bucket) for the same crossing.
      await handler([recordOf(with4h(130, -0.7), 2)], ctx)
      expect(rulesFired()).toEqual([])
      // The default aggregator's update left the 4h line's entry as the crossing wrote it.
      expect(kept).toMatchObject({ armed: false, asOfMs: T0 + 50 * 60_000 })
      expect(await entry(key, line4h)).toMatchObject({ armed: false, lastValue: -0.7 })
    },
  )

  it('a read of the fields the rules read without a cutoff deletes the others in the same call, and leaves the TTL alone', async () => {
    const prefix = randomName('alerts')
    const store = createRedisAlertStore(redis, { prefix, dedupWindowMs: 24 * H, hysteresisTtlMs: 24 * H })
    const keys = createKeys(prefix)
    const entry = (asOfMs: number) => ({ armed: false, lastValue: -0.7, asOfMs })
    const reading = { asOfMs: 6, count: 9, mean: { '1h': -0.1 }, weight: { '1h': 2.5 }, exact: false }
    await store.commit(
      [],
      new Map([
        ['ind1', { kept: entry(1), gone: entry(2), alsoGone: entry(3), [READING_FIELD]: reading }],
        ['ind2', { other: entry(4) }],
      ]),
    )
    await redis.pexpire(keys.alertHysteresis('ind1'), 5 * H)

    const got = await store.readHysteresis(new Map([['ind1', { fields: ['kept', 'absent', READING_FIELD] }]]))
    expect(got).toEqual(new Map([['ind1', { kept: entry(1), [READING_FIELD]: reading }]]))
    expect((await redis.hkeys(keys.alertHysteresis('ind1'))).sort()).toEqual([READING_FIELD, 'kept'].sort())
    const ttl = await redis.pttl(keys.alertHysteresis('ind1'))
    expect(ttl).toBeGreaterThan(4 * H)
    expect(ttl).toBeLessThanOrEqual(5 * H)
    // An indicator not read is left alone.
    expect(await redis.hkeys(keys.alertHysteresis('ind2'))).toEqual(['other'])
  })

  it('reads, decodes and deletes in parts past a thousand fields, each value in its place', async () => {
    const prefix = randomName('alerts')
    const store = createRedisAlertStore(redis, { prefix, dedupWindowMs: 24 * H, hysteresisTtlMs: 24 * H })
    const entry = (asOfMs: number) => ({ armed: false, lastValue: -0.7, asOfMs })
    const fields = Object.fromEntries(Array.from({ length: 3_500 }, (_, i) => [`f${i}`, entry(i)]))
    await store.commit([], new Map([['ind1', fields]]))
    // 1,501 fields asked for (two parts of HMGET): 1,001 held, 500 absent; the other 2,499 are decoded (three
    // parts): those about a time before 2,000 go (two HDELs), the rest stay.
    const asked = Array.from({ length: 1_501 }, (_, i) => (i % 3 === 2 ? `absent${i}` : `f${i * 2}`))
    const read = (keepUnlistedSinceMs?: number) =>
      store.readHysteresis(
        new Map([
          ['ind1', { fields: asked, ...(keepUnlistedSinceMs !== undefined ? { keepUnlistedSinceMs } : {}) }],
        ]),
      )
    const present = asked.filter((f) => f.startsWith('f'))
    const held = async () => (await redis.hkeys(createKeys(prefix).alertHysteresis('ind1'))).sort()
    expect((await read(2_000)).get('ind1')).toEqual(Object.fromEntries(present.map((f) => [f, fields[f]])))
    const recent = Object.keys(fields).filter((f, i) => i >= 2_000 && !present.includes(f))
    expect(await held()).toEqual([...present, ...recent].sort())
    // Without a cutoff, every field not asked for goes.
    expect((await read()).get('ind1')).toEqual(Object.fromEntries(present.map((f) => [f, fields[f]])))
    expect(await held()).toEqual(present.sort())
  })

  it('with a cutoff, deletes a field not asked for whose value holds no numeric asOfMs (the JSON it cannot decode included)', async () => {
    const prefix = randomName('alerts')
    const store = createRedisAlertStore(redis, { prefix, dedupWindowMs: 24 * H, hysteresisTtlMs: 24 * H })
    const hash = createKeys(prefix).alertHysteresis('ind1')
    await redis.hset(hash, {
      line: JSON.stringify({ armed: false, lastValue: -0.7, asOfMs: 5 }),
      recent: JSON.stringify({ armed: false, lastValue: -0.7, asOfMs: 5 }),
      old: JSON.stringify({ armed: false, lastValue: -0.7, asOfMs: 4 }),
      noTime: JSON.stringify({ armed: false, lastValue: -0.7 }),
      textTime: JSON.stringify({ armed: false, lastValue: -0.7, asOfMs: '5' }),
      nullTime: '{"armed":false,"lastValue":-0.7,"asOfMs":null}',
      array: '[5]',
      number: '5',
      notJson: '{armed',
    })
    const got = await store.readHysteresis(new Map([['ind1', { fields: ['line'], keepUnlistedSinceMs: 5 }]]))
    expect(got.get('ind1')).toEqual({ line: { armed: false, lastValue: -0.7, asOfMs: 5 } })
    expect((await redis.hkeys(hash)).sort()).toEqual(['line', 'recent'])
  })

  // The same fixture through the Redis store (read-hysteresis-2.lua) and the embedded one.
  it.each([
    [
      'Redis',
      () =>
        createRedisAlertStore(redis, {
          prefix: randomName('alerts'),
          dedupWindowMs: 24 * H,
          hysteresisTtlMs: 24 * H,
        }),
    ],
    ['memory', () => createMemoryAlertStore({ dedupWindowMs: 24 * H, clock: { now: () => 0 } })],
  ] as const)(
    '%s: a read with a cutoff keeps the fields not asked for about a time at or after it, and deletes the older ones',
    async (_, open) => {
      const store = open()
      const entry = (asOfMs: number) => ({ armed: false, lastValue: -0.7, asOfMs })
      const reading = (asOfMs: number) => ({
        asOfMs,
        count: 9,
        mean: { '1h': -0.1 },
        weight: { '1h': 2.5 },
        exact: false,
      })
      await store.commit(
        [],
        new Map([
          [
            'ind1',
            { asked: entry(1), at: entry(3), after: entry(4), before: entry(2), [READING_FIELD]: reading(2) },
          ],
        ]),
      )
      // Asked for: read whatever its age. The others: kept at or after 3, deleted before.
      const first = await store.readHysteresis(
        new Map([['ind1', { fields: ['asked', 'absent'], keepUnlistedSinceMs: 3 }]]),
      )
      expect(first.get('ind1')).toEqual({ asked: entry(1) })
      const all = ['asked', 'at', 'after', 'before', READING_FIELD]
      // A second read asking for every field: what the first one kept.
      const second = await store.readHysteresis(new Map([['ind1', { fields: all }]]))
      expect(second.get('ind1')).toEqual({ asked: entry(1), at: entry(3), after: entry(4) })
    },
  )
})

describe("two rules versions side by side on one indicator's hysteresis hash", () => {
  const { redisUrl } = testInfra()
  const redis = new Redis(redisUrl)
  afterAll(() => redis.quit())
  const T0 = Date.parse('2026-03-02T08:00:00Z')
  const MIN = 60_000
  const key = cnTariffUpdate(T0, 0, 0).key
  const scope = { kind: 'region' as const, id: 'CN' }

  // A rolling restart with a rules change, or instances reloaded (SIGHUP) at different times: the
  // partition of an indicator moves between members of the two versions, each reading the hash with its
  // own rules. The Redis store and the embedded one (memory-alert-store.ts) keep and forget alike.
  const stores: [string, () => { store: AlertStore; held: (field: string) => Promise<boolean> }][] = [
    [
      'Redis',
      () => {
        const prefix = randomName('alerts')
        const store = createRedisAlertStore(redis, { prefix, dedupWindowMs: 24 * H, hysteresisTtlMs: 24 * H })
        const held = async (field: string) =>
          (await redis.hexists(createKeys(prefix).alertHysteresis(key), field)) === 1
        return { store, held }
      },
    ],
    [
      'memory',
      () => {
        const store = createMemoryAlertStore({ dedupWindowMs: 24 * H, clock: { now: () => T0 } })
        // A read that keeps every field it is not asked for (none is that old): only looks.
        const held = async (field: string) => {
          const read = await store.readHysteresis(
            new Map([[key, { fields: [field], keepUnlistedSinceMs: Number.MIN_SAFE_INTEGER }]]),
          )
          return read.get(key)?.[field] !== undefined
        }
        return { store, held }
      },
    ],
  ]

  /**
   * Alerters over one store, with the given prune grace: `alerter(rules)` is an alerter of that rules
   * version, which given region CN's tariff update at `atMin` minutes (mean `mean`) answers the rules it
   * paged. Every record has an offset of its own (its origin), whichever alerter reads it.
   */
  function sideBySide(store: AlertStore, graceMs: number) {
    const topics = createTopicCatalogue('t.')
    const ctx = { signal: new AbortController().signal }
    const published: OutRecord[] = []
    let offset = 0
    return (ruleSet: RuleSet) => {
      const { handler } = testAlerterHandler({
        topics,
        rules: ruleSet,
        store,
        nowMs: T0 + 1_000 * MIN,
        hysteresisPruneGraceMs: graceMs,
        publish: async (out) => {
          published.push(...out)
        },
      })
      return async (atMin: number, mean: number) => {
        const u = cnTariffUpdate(T0, atMin, mean)
        const record: InRecord = {
          topic: topics.indicators.name,
          partition: 0,
          offset: String(offset++),
          key: Buffer.from(u.key),
          value: Buffer.from(JSON.stringify(u)),
          headers: {},
          timestamp: T0 + atMin * MIN,
        }
        await handler([record], ctx)
        const fired = published
          .filter((r) => r.topic === topics.alerts.name)
          .map((r) => (JSON.parse(r.value as string) as Alert).rule)
        published.length = 0
        return fired.sort()
      }
    }
  }
  /** The field of the one line of rule `ruleId` in `ruleSet` on region CN's tariff indicator. */
  const lineOf = (ruleSet: RuleSet, ruleId: string) =>
    hysteresisKeysFor(ruleSet, { dimension: 'tariff', scope }).find(
      (f) => f.startsWith(`${ruleId}|`) && f.includes('@'),
    )!

  it.each(stores)(
    "%s: an added rule's disarmed line outlives the old version's reads, so it does not page again past its cooldown",
    async (_, open) => {
      const { store, held } = open()
      const oldRules = rules('r-1', cnLevelRule(H))
      const newRules = rules('r-2', cnLevelRule(H) + levelRule('tariff_added', '24h', -0.5))
      const alerter = sideBySide(store, H)
      const [before, after] = [alerter(oldRules), alerter(newRules)]
      expect(await before(50, -0.6)).toEqual(['tariff_level_cn'])
      expect(await after(55, -0.6)).toEqual(['tariff_added'])
      // The old version lists no tariff_added: its read kept the line, which its version rewrote 5 min before.
      expect(await before(60, -0.6)).toEqual([])
      expect(await held(lineOf(newRules, 'tariff_added'))).toBe(true)
      // Past tariff_added's cooldown, still past its line, still disarmed: no second page of one crossing.
      expect(await after(130, -0.7)).toEqual([])
      expect(await before(135, -0.7)).toEqual([])
      expect(await after(200, -0.7)).toEqual([])
    },
  )

  it.each(stores)(
    "%s: an edited rule's new line outlives the old version's reads, so it does not page again past its cooldown",
    async (_, open) => {
      const { store, held } = open()
      const oldRules = rules('r-1', cnLevelRule(H) + levelRule('tariff_edited', '24h', -0.4))
      const newRules = rules('r-2', cnLevelRule(H) + levelRule('tariff_edited', '24h', -0.45))
      const alerter = sideBySide(store, H)
      const [before, after] = [alerter(oldRules), alerter(newRules)]
      expect(await after(50, -0.6)).toEqual(['tariff_edited', 'tariff_level_cn'])
      // The old line (armed: absent) is crossed too, held back by the cooldown of the stream both lines share.
      expect(await before(55, -0.6)).toEqual([])
      expect(await held(lineOf(newRules, 'tariff_edited'))).toBe(true)
      expect(await after(130, -0.7)).toEqual([])
    },
  )

  it.each(stores)(
    "%s: a removed rule's line goes once the indicator's event time is past it by the grace, and not before (an older update read later deletes nothing)",
    async (_, open) => {
      const { store, held } = open()
      const withRule = rules('r-1', cnLevelRule(H) + levelRule('tariff_removed', '15m', -0.5))
      const without = rules('r-2', cnLevelRule(H))
      const removed = lineOf(withRule, 'tariff_removed')
      const kept = lineOf(without, 'tariff_level_cn')
      const alerter = sideBySide(store, H)
      expect(await alerter(withRule)(50, -0.6)).toEqual(['tariff_level_cn', 'tariff_removed'])
      // The rule removed (one version from here on): its entry, at 50 min, is kept within the hour's grace.
      const after = alerter(without)
      await after(60, -0.6)
      expect(await held(removed)).toBe(true)
      // An update about an earlier time (late, or a replay) moves the cutoff back, not forward.
      await after(20, -0.6)
      expect(await held(removed)).toBe(true)
      await after(110, -0.6)
      expect(await held(removed)).toBe(true)
      await after(111, -0.6)
      expect(await held(removed)).toBe(false)
      expect(await held(kept)).toBe(true)
    },
  )

  it.each(stores)('%s: a grace of 0 forgets the lines the rules no longer list at once', async (_, open) => {
    const { store, held } = open()
    const withRule = rules('r-1', cnLevelRule(H) + levelRule('tariff_removed', '15m', -0.5))
    const without = rules('r-2', cnLevelRule(H))
    const alerter = sideBySide(store, 0)
    expect(await alerter(withRule)(50, -0.6)).toEqual(['tariff_level_cn', 'tariff_removed'])
    await alerter(without)(51, -0.6)
    expect(await held(lineOf(withRule, 'tariff_removed'))).toBe(false)
    expect(await held(lineOf(without, 'tariff_level_cn'))).toBe(true)
  })
})
