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
import { RepeatedReplyError } from './reply-breaker.ts'

// A handler writing each record to Redis under a key of its own, over a real server: a key Redis refuses
// for good (WRONGTYPE) sends its record to the dlq and lets the others through, where the reply was
// taken for an outage and the batch retried for ever (the partition stalled); Redis unreachable still
// fails the batch retriable, for the runner to wait out. Record after record failing on the same reply
// to a key they all write is no record's fault: the batch fails with a RepeatedReplyError, for the
// runner to stop on, where the whole stream went to the dlq.

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

/**
 * A processor whose handler marks `<prefix>:<value>` seen (a hash field; idempotent), record by record;
 * with `shared`, it also counts each record in `shared(record)` (a hash every record writes, as an
 * indicator key is) when that gives a key. `replyFailuresMax` as the runner passes it.
 */
function marking(
  redis: Redis,
  prefix: string,
  opts: { shared?: (r: InRecord) => string | undefined; replyFailuresMax?: number } = {},
) {
  const written: OutRecord[] = []
  const handled: string[][] = []
  const process = createBatchProcessor({
    handler: async (records) => {
      handled.push(records.map((r) => r.offset))
      for (const r of records) {
        await redis.hset(`${prefix}:${r.value}`, 'seen', '1')
        const shared = opts.shared?.(r)
        if (shared !== undefined) await redis.hincrby(shared, 'records', 1)
      }
      return records.map(() => ({ kind: 'ok', out: [{ topic: 'out', key: null, value: 'done' }] }))
    },
    ...(opts.replyFailuresMax === undefined ? {} : { replyFailuresMax: opts.replyFailuresMax }),
    worker: 'test',
    dlqTopic: 'dlq',
    log,
    metrics: createMetrics('test'),
    signal: new AbortController().signal,
    produce: async (records) => {
      written.push(...records)
    },
  })
  return { process, written, handled }
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

  /** A Redis client and a random key prefix whose keys `keys` are deleted after the test. */
  function redisWithPrefix(keys: (prefix: string) => string[]) {
    const redis = createRedis(redisUrl(), log, 'processor-breaker-test')
    const prefix = `tp-processor-${randomBytes(6).toString('hex')}`
    cleanups.push(async () => {
      await redis.del(...keys(prefix))
      await closeRedis(redis)
    })
    return { redis, prefix }
  }
  const values = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}:${i + 1}`)

  it('stops once records in a row fail on the same reply to a key every record writes, dead-lettering none of the batch and naming the key and the reply', async () => {
    const { redis, prefix } = redisWithPrefix((p) => [`${p}:shared`, ...values(p, 6)])
    const shared = `${prefix}:shared`
    await redis.set(shared, 'a string, not a hash') // an operator's mistake
    const { process, written, handled } = marking(redis, prefix, {
      shared: () => shared,
      replyFailuresMax: 3,
    })

    const err = await process([rec(1), rec(2), rec(3), rec(4), rec(5), rec(6)]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RepeatedReplyError)
    expect(err).toMatchObject({ code: 'INFRA_REDIS', retriable: false })
    expect((err as Error).message).toBe(
      `3 records in a row failed on the same Redis reply to HINCRBY on key "${shared}": WRONGTYPE Operation against a key holding the wrong kind of value. A key every record writes holds what the worker does not expect (the wrong type, after a manual change?): fix or delete it, then start the worker again. Consuming stopped: the records from there on are neither dead-lettered nor committed (REDIS_REPLY_FAILURES_MAX=3)`,
    )
    // The batch, then its records one at a time up to the third failure: none of the rest is tried.
    expect(handled).toEqual([['1', '2', '3', '4', '5', '6'], ['1'], ['2'], ['3']])
    expect(written).toEqual([])
  })

  it('counts the run across batches: records of batches before it are dead-lettered, the one that reaches the limit is not', async () => {
    const { redis, prefix } = redisWithPrefix((p) => [`${p}:shared`, ...values(p, 3)])
    const shared = `${prefix}:shared`
    await redis.set(shared, 'a string, not a hash')
    const { process, written } = marking(redis, prefix, { shared: () => shared, replyFailuresMax: 3 })

    await process([rec(1)])
    await process([rec(2)])
    await expect(process([rec(3)])).rejects.toBeInstanceOf(RepeatedReplyError)
    expect(written.map((r) => r.topic)).toEqual(['dlq', 'dlq'])
  })

  it('dead-letters every record whose own key Redis refuses, however many in a row, and a run broken by a record handled', async () => {
    const { redis, prefix } = redisWithPrefix((p) => [
      `${p}:shared`,
      ...values(p, 6),
      ...values(`${p}:own`, 6),
    ])
    // Each record's own key refused: the same reply, to the same command, on keys of their own.
    for (let i = 1; i <= 4; i++) await redis.set(`${prefix}:own:${i}`, 'a string, not a hash')
    const own = marking(redis, prefix, { shared: (r) => `${prefix}:own:${r.value}`, replyFailuresMax: 3 })
    await own.process([rec(1), rec(2), rec(3), rec(4)])
    expect(own.written.map((r) => r.topic)).toEqual(['dlq', 'dlq', 'dlq', 'dlq'])

    // The shared key refused for every other record only: each run of failures is one long.
    const shared = `${prefix}:shared`
    await redis.set(shared, 'a string, not a hash')
    const every = marking(redis, prefix, {
      shared: (r) => (Number(r.offset) % 2 === 1 ? shared : undefined),
      replyFailuresMax: 2,
    })
    await every.process([rec(1), rec(2), rec(3), rec(4), rec(5), rec(6)])
    expect(every.written.map((r) => r.topic)).toEqual(['dlq', 'out', 'dlq', 'out', 'dlq', 'out'])
  })

  it("names the key a script's records all passed when its reply does not say which (a Lua script's WRONGTYPE)", async () => {
    const { redis, prefix } = redisWithPrefix((p) => [`${p}:shared`, ...values(`${p}:own`, 3)])
    const shared = `${prefix}:shared`
    await redis.set(shared, 'a string, not a hash')
    // A script writing a record's own key and the shared one, as the aggregator's do.
    const script = `redis.call('HSET', KEYS[1], 'seen', '1'); return redis.call('HINCRBY', KEYS[2], 'records', 1)`
    const written: OutRecord[] = []
    const process = createBatchProcessor({
      handler: async (records) => {
        for (const r of records) await redis.eval(script, 2, `${prefix}:own:${r.offset}`, shared)
        return records.map(() => ({ kind: 'ok' }))
      },
      worker: 'test',
      dlqTopic: 'dlq',
      log,
      metrics: createMetrics('test'),
      signal: new AbortController().signal,
      produce: async (records) => {
        written.push(...records)
      },
      replyFailuresMax: 3,
    })
    const err = await process([rec(1), rec(2), rec(3)]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RepeatedReplyError)
    expect((err as Error).message).toMatch(
      new RegExp(`^3 records in a row failed on the same Redis reply to EVAL on key "${shared}": WRONGTYPE `),
    )
    expect(written).toEqual([])
  })
})
