// The rebuild's throwaway group commits no offset, and kafkajs fetches from the committed offsets after
// every join (a new OffsetManager at each group sync): once its consumer rejoins (a crash kafkajs restarts
// from, a coordinator move, a session timeout while Redis was down), the rebuild is given again what it
// applied since it started. Here kafkajs is a stand-in (rebuild-kafka-stand-in.ts) that hands eachBatch
// the fetches a rejoin makes.
import { createLogger, createMemoryIndicatorStore } from '@tradepulse/platform'
import { waitFor } from '@tradepulse/testing'
import { describe, expect, it, vi } from 'vitest'
import { rebuildIndicators } from './rebuild.ts'
import { fetched as fetchedBy, STAND_IN_TOPIC, type StandInState } from './rebuild-kafka-stand-in.ts'
import { HOUR_MS, scoredSeries } from './scored-fixtures.ts'

const T0 = Date.parse('2026-03-02T00:00:00Z')
const HIGH = 30

const kafka = vi.hoisted((): StandInState => ({ eachBatch: undefined, high: 30 }))

vi.mock('@tradepulse/platform', async (importOriginal) => ({
  ...(await importOriginal<typeof import('@tradepulse/platform')>()),
  createKafka: (await import('./rebuild-kafka-stand-in.ts')).standInKafka(kafka),
}))

describe('the rebuild, given again records it applied (its consumer rejoined)', () => {
  const series = scoredSeries(HIGH, { startMs: T0, spanMs: HOUR_MS, idPrefix: 'refetch' })
  /** The fetch of offsets [from, to), handed to the rebuild; the offsets it resolved. */
  const fetched = (from: number, to: number) => fetchedBy(kafka, series, T0 + HOUR_MS, from, to)

  it('resolves a fetch it applied already, so that kafkajs fetches on from there, and completes', async () => {
    const rebuilt = rebuildIndicators({
      brokers: ['stand-in:9092'],
      topic: STAND_IN_TOPIC,
      sinceMs: 0,
      store: createMemoryIndicatorStore({ config: { graceMs: 600_000 } }),
      log: createLogger({ level: 'silent' }),
      graceMs: 600_000,
    })
    await waitFor(() => kafka.eachBatch !== undefined, { what: 'the replay running' })
    expect(await fetched(0, 10)).toEqual(['9'])
    // Rejoined: kafkajs fetches from the group's offsets, the replay's start, again. Before, a fetch all
    // below what was applied returned unresolved: kafkajs fetched the same offset again, for ever.
    expect(await fetched(0, 10)).toEqual(['9'])
    // One part applied, the rest not: what was applied is resolved before the rest is taken.
    expect(await fetched(0, 20)).toEqual(['9', '19'])
    expect(await fetched(20, HIGH)).toEqual([String(HIGH - 1)])
    await expect(rebuilt).resolves.toMatchObject({ records: HIGH, headlines: HIGH, invalid: 0 })
  })
})
