// The alerter lets the event loop turn while it works through a large round (a backlog caught up over
// its 12 input partitions at once): before, the event-time gate merged the partitions into rounds of
// ~15,600 records, which the handler parsed and evaluated in one go (0.2-0.8 s), /healthz and the live
// alerts of other partitions waiting. Observed by order (a setImmediate scheduled as the batch starts runs
// before its last record is read), not by time; and the batch decides the same either way.
import { parseRules, type RuleSet } from '@tradepulse/alerting'
import { createTopicCatalogue } from '@tradepulse/contracts'
import type { InRecord } from '@tradepulse/platform'
import { describe, expect, it } from 'vitest'
import { createMemoryAlertStore } from './memory-alert-store.ts'
import { SCENARIO_RULES } from './scenario-fixtures.ts'
import {
  cnHeadline,
  cnTariffUpdate,
  indicatorRecord,
  scoredRecords,
  testAlerterHandler,
} from './test-handler.ts'

const topics = createTopicCatalogue('t.')
const ctx = { signal: new AbortController().signal }
const T0 = Date.parse('2026-03-02T08:00:00Z')
const parsed = parseRules(SCENARIO_RULES, 'yaml')
if (!parsed.ok) throw new Error('rules do not parse')
const rules: RuleSet = parsed

/** 320 headlines on CN (a tariff shock every 40th) and 320 updates of CN's tariff indicator. */
function batch(): InRecord[] {
  const headlines = Array.from({ length: 320 }, (_, i) =>
    cnHeadline(`h-${i}`, T0 + i * 60_000, i % 40 === 0 ? { tariff: -0.9 } : { tariff: null, market: 0.2 }),
  )
  // The mean goes past the line and back every 50 updates: alerts, cooled down or not, and re-arms.
  const updates = Array.from({ length: 320 }, (_, i) =>
    indicatorRecord(topics.indicators.name, cnTariffUpdate(T0, i, i % 50 < 25 ? -0.8 : 0), i, T0),
  )
  return [...scoredRecords(topics.scored.name, headlines, 0, () => T0), ...updates]
}

/** The records, each noting in `events` when its value is read (`read <index>`). */
function watched(records: readonly InRecord[], events: string[]): InRecord[] {
  return records.map((r, i) => {
    const { value, ...rest } = r
    return Object.defineProperty({ ...rest }, 'value', {
      enumerable: true,
      get: () => {
        events.push(`read ${i}`)
        return value
      },
    }) as InRecord
  })
}

const handlerWith = (sliceMs?: number) =>
  testAlerterHandler({
    topics,
    rules,
    store: createMemoryAlertStore({ dedupWindowMs: 86_400_000, clock: { now: () => T0 + 86_400_000 } }),
    nowMs: T0 + 6 * 3_600_000,
    ...(sliceMs !== undefined ? { sliceMs } : {}),
  })

describe('alerter handler and the event loop', { timeout: 30_000 }, () => {
  it('lets the event loop turn while it parses and evaluates a large batch', async () => {
    const { handler } = handlerWith(0)
    const events: string[] = []
    const records = watched(batch(), events)
    setImmediate(() => events.push('turn'))
    const outcomes = await handler(records, ctx)
    expect(outcomes.every((o) => o.kind === 'ok')).toBe(true)
    // Before: the memory store answers in promises alone, and every record was read before any turn.
    expect(events).toContain('turn')
    expect(events.indexOf('turn')).toBeLessThan(events.lastIndexOf(`read ${records.length - 1}`))
    expect(events.indexOf('turn')).toBeLessThan(events.lastIndexOf('read 319'))
  })

  it('decides a batch the same with turns of the event loop as without', async () => {
    const turning = handlerWith(0)
    const whole = handlerWith(60_000)
    const records = batch()
    const a = await turning.handler(records, ctx)
    const b = await whole.handler(records, ctx)
    expect(a).toEqual(b)
    const alerts = (out: typeof turning.published) =>
      out.map((r) => {
        const { detectedAt: _d, latencyMs: _l, ...alert } = JSON.parse(r.value!.toString())
        return `${r.topic} ${JSON.stringify(alert)}`
      })
    expect(turning.published.length).toBeGreaterThan(8)
    expect(alerts(turning.published)).toEqual(alerts(whole.published))
  })
})
