import { parseRules, type RuleSet } from '@tradepulse/alerting'
import { createTopicCatalogue } from '@tradepulse/contracts'
import { createLogger, type InRecord, type OutRecord, TradepulseError } from '@tradepulse/platform'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import type { AlertStore } from './alert-store.ts'
import { createAlerterHandler } from './alerter-handler.ts'
import { createAlerterMetrics } from './alerter-metrics.ts'
import { createHeadlineMemory } from './headline-memory.ts'
import { createMemoryAlertStore } from './memory-alert-store.ts'
import { SCENARIO_RULES, scenarioHeadlines } from './scenario-fixtures.ts'

describe('alerter handler', () => {
  const topics = createTopicCatalogue('t.')
  const parsed = parseRules(SCENARIO_RULES, 'yaml')
  if (!parsed.ok) throw new Error('scenario rules do not parse')
  const rules: RuleSet = parsed
  const ctx = { signal: new AbortController().signal }

  /** The scenario's scored headlines as records of headlines.scored, each at its own offset. */
  const records = (): InRecord[] =>
    scenarioHeadlines(Date.now()).map((h, i) => ({
      topic: topics.scored.name,
      partition: 0,
      offset: String(i),
      key: Buffer.from(h.id),
      value: Buffer.from(JSON.stringify(h)),
      headers: {},
      timestamp: Date.now(),
    }))

  function setup(store: AlertStore) {
    const published: OutRecord[] = []
    const handler = createAlerterHandler({
      topics,
      rules: () => rules,
      desks: [],
      store,
      memory: createHeadlineMemory({ maxScopes: 100, perScope: 5 }),
      publish: async (out) => {
        published.push(...out)
      },
      log: createLogger({ level: 'silent' }),
      metrics: createAlerterMetrics(new Registry()),
    })
    return { handler, published }
  }

  it('does not publish an acknowledged alert again when the batch is retried after its confirmation failed', async () => {
    const memory = createMemoryAlertStore({ dedupWindowMs: 86_400_000, clock: { now: () => Date.now() } })
    let failures = 1
    const store: AlertStore = {
      ...memory,
      async commit(sent, moved) {
        if (failures-- > 0) throw new TradepulseError('INFRA_REDIS', 'Command timed out')
        return memory.commit(sent, moved)
      },
    }
    const { handler, published } = setup(store)
    const batch = records()
    await expect(handler(batch, ctx)).rejects.toThrow('Command timed out')
    const first = published.map((r) => r.key)
    expect(first.length).toBeGreaterThan(0)
    // The runner retries the same records: the alerts already acknowledged are only confirmed.
    await handler(batch, ctx)
    expect(published.map((r) => r.key)).toEqual(first)
    // Confirmed now: a third pass (a redelivery after a restart) finds them sent.
    await handler(batch, ctx)
    expect(published.map((r) => r.key)).toEqual(first)
  })

  it('publishes again what a fresh process claimed but never confirmed (a crash after the claim)', async () => {
    const memory = createMemoryAlertStore({ dedupWindowMs: 86_400_000, clock: { now: () => Date.now() } })
    const crashed: AlertStore = {
      ...memory,
      async commit() {
        throw new TradepulseError('INFRA_REDIS', 'connection lost')
      },
    }
    const before = setup(crashed)
    const batch = records()
    await expect(before.handler(batch, ctx)).rejects.toThrow('connection lost')
    // A new process (nothing in memory) redelivers the same records: "resend", published again.
    const after = setup(memory)
    await after.handler(batch, ctx)
    expect(after.published.map((r) => r.key)).toEqual(before.published.map((r) => r.key))
  })
})
