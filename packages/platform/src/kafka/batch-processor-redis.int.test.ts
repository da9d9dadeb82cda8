import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { DeadLetter } from '@tradepulse/contracts'
import type { Redis } from 'ioredis'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { createLogger } from '../logger.ts'
import { createMetrics } from '../metrics.ts'
import { closeRedis, createRedis } from '../redis-client.ts'
import { createBatchProcessor } from './batch-processor.ts'
import type { InRecord, OutRecord } from './records.ts'

// A handler writing each record to Redis under a key of its own, over a real server: a key Redis refuses
// for good (WRONGTYPE) sends its record to the dlq and lets the others through, where the reply was
// taken for an outage and the batch retried for ever (the partition stalled); Redis unreachable still
// fails the batch retriable, for the runner to wait out.

function redisUrl(): string {
  const provided = (inject as (key: string) => unknown)('redisUrl')
  return typeof provided === 'string' ? provided : (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
}

const log = createLogger({ level: 'silent' })

const rec = (offset: number): InRecord => ({
  topic: 'in',
  partition: 0,
  offset: String(offset),
  key: null,
  value: Buffer.from(String(offset)),
  headers: {},
  timestamp: 0,
})

/** A processor whose handler marks `<prefix>:<value>` seen (a hash field; idempotent), record by record. */
function marking(redis: Redis, prefix: string) {
  const written: OutRecord[] = []
  const process = createBatchProcessor({
    handler: async (records) => {
      for (const r of records) await redis.hset(`${prefix}:${r.value}`, 'seen', '1')
      return records.map(() => ({ kind: 'ok', out: [{ topic: 'out', key: null, value: 'done' }] }))
    },
    worker: 'test',
    dlqTopic: 'dlq',
    log,
    metrics: createMetrics('test'),
    signal: new AbortController().signal,
    produce: async (records) => {
      written.push(...records)
    },
  })
  return { process, written }
}

describe('batch processor over a real Redis', () => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('dead-letters the record whose key Redis refuses (WRONGTYPE), naming the reply, and passes the others', async () => {
    const redis = createRedis(redisUrl(), log, 'processor-replies-test')
    const prefix = `tp-processor-${randomBytes(6).toString('hex')}`
    cleanups.push(async () => {
      await redis.del(`${prefix}:1`, `${prefix}:2`, `${prefix}:3`)
      await closeRedis(redis)
    })
    await redis.set(`${prefix}:2`, 'a string, not a hash')
    const { process, written } = marking(redis, prefix)

    await process([rec(1), rec(2), rec(3)])
    expect(written.map((r) => r.topic)).toEqual(['out', 'dlq', 'out'])
    const letter = DeadLetter.parse(JSON.parse(String(written[1]!.value)))
    expect(letter).toMatchObject({ reason: 'handler_error', origin: { offset: '2' } })
    expect(letter.message).toMatch(/^INFRA_REDIS \(ReplyError\): WRONGTYPE Operation against a key/)
    expect(await redis.hget(`${prefix}:3`, 'seen')).toBe('1')
  })

  it('fails the batch retriable while Redis cannot be reached, dead-lettering nothing', async () => {
    // A port nothing listens on: ioredis fails each command once its retries per request are spent.
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    await new Promise<void>((resolve) => server.close(() => resolve()))
    const redis = createRedis(`redis://127.0.0.1:${port}`, log, 'processor-outage-test', { timeoutMs: 1_000 })
    cleanups.push(() => closeRedis(redis))
    const { process, written } = marking(redis, `tp-processor-${randomBytes(6).toString('hex')}`)

    const err = await process([rec(1), rec(2)]).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'INFRA_REDIS', retriable: true })
    expect(written).toEqual([])
  })
})
