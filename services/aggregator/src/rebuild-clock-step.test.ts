// A wall clock stepped during a catch-up pass (an NTP step, a VM snapshot restored): the pass is timed on
// the monotonic clock, so a step back does not make a long pass look short (readers switched while the
// rebuild is far behind), nor a step forward a short one long (the rebuild given up). Here kafkajs is a
// stand-in (rebuild-kafka-stand-in.ts): one partition whose end the test moves.
import { createManualClock } from '@tradepulse/contracts'
import { createLogger, createMemoryIndicatorStore } from '@tradepulse/platform'
import { waitFor } from '@tradepulse/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type RebuildStep, rebuildIndicators } from './rebuild.ts'
import { fetched as fetchedBy, STAND_IN_TOPIC, type StandInState } from './rebuild-kafka-stand-in.ts'
import { HOUR_MS, scoredSeries } from './scored-fixtures.ts'

const T0 = Date.parse('2026-03-02T00:00:00Z')

const kafka = vi.hoisted((): StandInState => ({ eachBatch: undefined, high: 0 }))

vi.mock('@tradepulse/platform', async (importOriginal) => ({
  ...(await importOriginal<typeof import('@tradepulse/platform')>()),
  createKafka: (await import('./rebuild-kafka-stand-in.ts')).standInKafka(kafka),
}))

afterEach(() => {
  vi.restoreAllMocks()
  kafka.eachBatch = undefined
})

describe('the rebuild, its wall clock stepped an hour during a catch-up pass', () => {
  const FIRST = 30
  const LATER = 80
  const SWITCH_PASS_MS = 1_000
  const series = scoredSeries(LATER, { startMs: T0, spanMs: HOUR_MS, idPrefix: `step-${Math.random()}` })
  /** The fetch of offsets [from, to), handed to the rebuild. */
  const fetched = (from: number, to: number) => fetchedBy(kafka, series, T0 + HOUR_MS, from, to)

  /** A rebuild of the stand-in's partition, pass 1 under way (its start taken) when it returns. */
  async function passOne(extra: { maxCatchUpPasses?: number } = {}) {
    kafka.high = FIRST
    const monotonic = createManualClock(5_000)
    const steps: RebuildStep['step'][] = []
    const phases: string[] = []
    const rebuilt = rebuildIndicators({
      brokers: ['stand-in:9092'],
      topic: STAND_IN_TOPIC,
      sinceMs: 0,
      store: createMemoryIndicatorStore({ config: { graceMs: 600_000 } }),
      log: createLogger({ level: 'silent' }),
      graceMs: 600_000,
      switchLagRecords: 10,
      switchPassMs: SWITCH_PASS_MS,
      ...extra,
      monotonic,
      onStep: ({ step }) => steps.push(step),
      onProgress: ({ phase }) => {
        if (phases.at(-1) !== phase) phases.push(phase)
      },
    })
    // Awaited by the test; a failure before then is kept for its waits, not left unhandled.
    let failed = false
    rebuilt.catch(() => {
      failed = true
    })
    await waitFor(() => kafka.eachBatch !== undefined && phases.includes('replay'), { what: 'pass 1' })
    /** Sets the host's clock `ms` off the real one (an NTP step, a VM snapshot restored). */
    const stepWall = (ms: number) => {
      const wallMs = Date.now()
      vi.spyOn(Date, 'now').mockImplementation(() => wallMs + ms)
    }
    return { rebuilt, monotonic, steps, phases, stepWall, failed: () => failed }
  }

  it('does not switch readers after a long pass that left many records behind', async () => {
    const { rebuilt, monotonic, steps, phases, stepWall } = await passOne()
    // The clock set back an hour while pass 1 runs on for longer than switchPassMs, and the live stream
    // appends far more than switchLagRecords.
    stepWall(-HOUR_MS)
    monotonic.advance(SWITCH_PASS_MS + 1)
    await fetched(0, FIRST)
    kafka.high = LATER
    // After pass 1 it either goes on (pass 2, 'catch-up') or switches: wait for whichever comes.
    await waitFor(() => phases.includes('catch-up') || steps.includes('switching'), { what: 'pass 1 judged' })
    // Before, timed on the wall clock, the pass took minus an hour: "short", so readers were switched
    // with LATER - FIRST records yet to apply, which the live worker's newer headlines would make late.
    expect(steps).toEqual(['started'])
    await fetched(FIRST, LATER)
    // Its elapsedMs is on the monotonic clock too: before, about minus an hour.
    await expect(rebuilt).resolves.toMatchObject({
      records: LATER,
      headlines: LATER,
      invalid: 0,
      elapsedMs: SWITCH_PASS_MS + 1,
    })
    expect(steps).toEqual(['started', 'switching'])
    expect(phases).toEqual(['replay', 'catch-up'])
  })

  it('switches after a short pass on a busy stream, though the clock was set forward an hour, rather than give up', async () => {
    // One pass allowed: a long one that brings many records gives up at once.
    const { rebuilt, steps, phases, stepWall, failed } = await passOne({ maxCatchUpPasses: 1 })
    stepWall(HOUR_MS)
    await fetched(0, FIRST)
    kafka.high = LATER
    // Before, the pass took an hour on the wall clock: the rebuild gave up, readers left behind.
    await waitFor(() => steps.includes('switching') || failed(), { what: 'the switch or the failure' })
    if (!failed()) await fetched(FIRST, LATER)
    await expect(rebuilt).resolves.toMatchObject({ records: LATER, headlines: LATER, invalid: 0 })
    expect(phases).toEqual(['replay', 'final'])
  })
})
