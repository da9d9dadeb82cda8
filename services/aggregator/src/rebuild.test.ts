import { TradepulseError } from '@tradepulse/platform'
import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import {
  catchUpOptions,
  catchUpStep,
  crashFailsRebuild,
  interruptionText,
  RebuildInterruptedError,
} from './rebuild.ts'

describe('crashFailsRebuild', () => {
  const spent = (cause: Error) =>
    new KafkaJSNumberOfRetriesExceeded(cause, { retryCount: 5, retryTime: 1_000 })

  it('lets a crash kafkajs restarts from, for a fault that passes, go on', () => {
    expect(crashFailsRebuild({ error: new KafkaJSConnectionError('broker gone'), restart: true })).toBe(false)
    const outage = new TradepulseError('INFRA_REDIS', 'Command timed out')
    expect(crashFailsRebuild({ error: spent(outage), restart: true })).toBe(false)
  })

  it('fails on a crash kafkajs gives up on, or whose cause retrying cannot mend', () => {
    expect(crashFailsRebuild({ error: new KafkaJSConnectionError('broker gone'), restart: false })).toBe(true)
    const bug = new TradepulseError('INFRA_REDIS', 'script error', { retriable: false })
    expect(crashFailsRebuild({ error: spent(bug), restart: true })).toBe(true)
    expect(crashFailsRebuild({ error: spent(new TypeError('x is undefined')), restart: true })).toBe(true)
  })
})

describe('catchUpStep', () => {
  const o = catchUpOptions({ graceMs: 600_000 })

  it('defaults: 1,000 records, a quarter of the grace, 20 passes', () => {
    expect(o).toEqual({ switchLagRecords: 1_000, switchPassMs: 150_000, maxPasses: 20 })
    expect(catchUpOptions({ graceMs: 60_000 }).switchPassMs).toBe(15_000)
  })

  it('switches after a pass that left few records behind, or a short one on a busy stream', () => {
    expect(catchUpStep({ pass: 1, behind: 1_000, passMs: 3_600_000 }, o)).toBe('switch')
    expect(catchUpStep({ pass: 3, behind: 250_000, passMs: 150_000 }, o)).toBe('switch')
  })

  it('goes on while passes are long, and past the last pass while they shrink; gives up once they do not', () => {
    expect(catchUpStep({ pass: 1, behind: 50_000, passMs: 600_000 }, o)).toBe('continue')
    expect(catchUpStep({ pass: 19, behind: 50_000, prevBehind: 50_000, passMs: 160_000 }, o)).toBe('continue')
    expect(catchUpStep({ pass: 20, behind: 50_000, prevBehind: 50_000, passMs: 160_000 }, o)).toBe('give-up')
    expect(catchUpStep({ pass: 20, behind: 51_000, prevBehind: 50_000, passMs: 160_000 }, o)).toBe('give-up')
    // A replay 1.3 times as fast as the stream: each pass about 0.77 of the one before.
    expect(catchUpStep({ pass: 20, behind: 38_500, prevBehind: 50_000, passMs: 160_000 }, o)).toBe('continue')
    expect(catchUpStep({ pass: 100, behind: 38_500, prevBehind: 50_000, passMs: 160_000 }, o)).toBe('give-up')
  })
})

describe('interruptionText', () => {
  const i = {
    started: true,
    namespace: 'rmxcpnwtp',
    previous: 'v1',
    groupId: 'tp.aggregator.rebuild.rmxcpnwtp',
    records: 5_000,
  }

  it('says what went and where readers stay', () => {
    expect(interruptionText({ ...i, clearedKeys: 88 })).toBe(
      'rebuild interrupted before readers were switched: deleted namespace rmxcpnwtp (88 keys) and consumer group tp.aggregator.rebuild.rmxcpnwtp; readers stay on namespace v1',
    )
    expect(interruptionText({ ...i, clearedKeys: 0 }, 'SIGTERM')).toMatch(
      /^rebuild interrupted by SIGTERM before readers were switched: deleted namespace rmxcpnwtp \(0 keys\)/,
    )
  })

  it('names what could not be deleted, why, and when it goes by itself', () => {
    expect(interruptionText({ ...i, clearedKeys: 0, namespaceLeft: 'Connection is closed.' })).toBe(
      "rebuild interrupted before readers were switched: deleted consumer group tp.aggregator.rebuild.rmxcpnwtp; could not delete namespace rmxcpnwtp's keys (Connection is closed.; they expire with their TTL); readers stay on namespace v1",
    )
    expect(
      interruptionText({
        ...i,
        clearedKeys: 0,
        namespaceLeft: 'Connection is closed.',
        groupLeft: 'NON_EMPTY_GROUP',
      }),
    ).toBe(
      "rebuild interrupted before readers were switched: could not delete namespace rmxcpnwtp's keys (Connection is closed.; they expire with their TTL) nor consumer group tp.aggregator.rebuild.rmxcpnwtp (NON_EMPTY_GROUP; Kafka drops it after offsets.retention.minutes); readers stay on namespace v1",
    )
  })

  it('says when it was stopped before it made anything', () => {
    expect(interruptionText({ ...i, started: false, records: 0, clearedKeys: 0 }, 'SIGINT')).toBe(
      'rebuild interrupted by SIGINT before it started: nothing made; readers stay on namespace v1',
    )
  })

  it('is the message of the error, which keeps the fields and is not retriable', () => {
    const err = new RebuildInterruptedError({ ...i, clearedKeys: 3 })
    expect(err.message).toBe(interruptionText({ ...i, clearedKeys: 3 }))
    expect(err).toMatchObject({
      name: 'RebuildInterruptedError',
      code: 'REBUILD_INTERRUPTED',
      retriable: false,
    })
    expect(err.interruption.records).toBe(5_000)
  })
})
