import { TradepulseError } from '@tradepulse/platform'
import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { crashFailsRebuild } from './rebuild.ts'

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
