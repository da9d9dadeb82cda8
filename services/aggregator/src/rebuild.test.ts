import { TradepulseError } from '@tradepulse/platform'
import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { catchUpOptions, catchUpStep, crashFailsRebuild } from './rebuild.ts'

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
