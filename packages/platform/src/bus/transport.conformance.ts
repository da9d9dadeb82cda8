import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { BaseConfig, loadConfig } from '../config.ts'
import { TradepulseError } from '../errors.ts'
import type { BatchHandler, OutRecord } from '../kafka/records.ts'
import { createKafkaWorker } from '../kafka-worker.ts'
import { createLogger } from '../logger.ts'
import type { Transport } from './transport.ts'

/** What the suite needs from a bus beyond the transport: a way to put records in and read a topic back. */
export type TransportHarness = {
  transport: Transport
  env: Record<string, string>
  produce(records: OutRecord[]): Promise<void>
  /** Everything on a topic so far, in partition order then offset order. */
  read(topic: string): Promise<{ key: string | null; value: string; partition: number }[]>
  close(): Promise<void>
  /** A fresh name for one test's topics and group (default: "conf-" and random hex), e.g. the test run's randomName. */
  name?: (prefix: string) => string
}

const silent = createLogger({ level: 'silent' })

async function until<T>(check: () => Promise<T | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v !== false) return v
    if (Date.now() > deadline) throw new Error(`not met within ${timeoutMs} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/**
 * The guarantees every worker relies on, run against the in-memory bus and against Kafka: order per key,
 * output before commit, redelivery after a fault, a new member of the group resuming where the last
 * committed, dlq records with the origin.
 */
export function describeTransportConformance(
  name: string,
  makeHarness: () => Promise<TransportHarness>,
): void {
  describe(`transport conformance: ${name}`, () => {
    const cleanups: (() => Promise<unknown>)[] = []
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c()
    })

    async function setup() {
      const h = await makeHarness()
      cleanups.push(() => h.close())
      const base = h.name?.('conf') ?? `conf-${randomBytes(5).toString('hex')}`
      const topics = { in: `${base}.in`, out: `${base}.out`, dlq: `${base}.dlq` }
      await h.transport.ensureTopics(
        Object.values(topics).map((n) => ({
          name: n,
          partitions: 2,
          retentionMs: 3_600_000,
          compacted: false,
          schema: undefined as never,
        })),
      )
      const worker = (handler: BatchHandler) => {
        const config = loadConfig(BaseConfig, {
          ...h.env,
          KAFKA_GROUP_ID: base,
          HTTP_PORT: '0',
          RETRY_BASE_MS: '10',
          RETRY_MAX_MS: '30',
        })
        const w = createKafkaWorker({
          worker: 'conf',
          config,
          log: silent,
          inputTopics: [topics.in],
          dlqTopic: topics.dlq,
          handler,
          defaultHttpPort: 0,
          transport: h.transport,
        })
        cleanups.push(() => w.stop())
        return w
      }
      return { h, topics, worker }
    }
    const echo =
      (topic: string): BatchHandler =>
      async (records) =>
        records.map((r) => ({
          kind: 'ok' as const,
          out: [{ topic, key: r.key?.toString() ?? null, value: r.value ?? '' }],
        }))

    it('keeps order per key', async () => {
      const { h, topics, worker } = await setup()
      await worker(echo(topics.out)).start()
      const input = Array.from({ length: 60 }, (_, i) => ({
        topic: topics.in,
        key: `k${i % 3}`,
        value: String(i),
      }))
      await h.produce(input)
      const out = await until(async () => {
        const r = await h.read(topics.out)
        return r.length >= 60 && r
      }, '60 records out')
      for (const k of ['k0', 'k1', 'k2']) {
        const values = out.filter((r) => r.key === k).map((r) => Number(r.value))
        expect(values).toEqual([...values].sort((a, b) => a - b))
        expect(values).toHaveLength(20)
      }
    })

    it('retries a batch after a fault and produces it, committing only after', async () => {
      const { h, topics, worker } = await setup()
      let faults = 2
      const inner = echo(topics.out)
      await worker(async (records, ctx) => {
        if (faults-- > 0) throw new TradepulseError('INFRA_REDIS', 'store down')
        return inner(records, ctx)
      }).start()
      await h.produce([{ topic: topics.in, key: 'a', value: 'x' }])
      const out = await until(async () => {
        const r = await h.read(topics.out)
        return r.length >= 1 && r
      }, 'record out after faults')
      expect(out.map((r) => r.value)).toEqual(['x'])
    })

    it('lets a new member of the group resume after the last commit, losing nothing', async () => {
      const { h, topics, worker } = await setup()
      const first = worker(echo(topics.out))
      await first.start()
      await h.produce(
        Array.from({ length: 10 }, (_, i) => ({ topic: topics.in, key: `k${i}`, value: `a${i}` })),
      )
      await until(async () => (await h.read(topics.out)).length >= 10 || false, 'first 10')
      await first.stop()
      await h.produce(
        Array.from({ length: 10 }, (_, i) => ({ topic: topics.in, key: `k${i}`, value: `b${i}` })),
      )
      await worker(echo(topics.out)).start()
      const out = await until(async () => {
        const r = await h.read(topics.out)
        return r.length >= 20 && r
      }, 'all 20 after restart')
      expect(new Set(out.map((r) => r.value)).size).toBe(20)
    })

    it('sends dlq outcomes to the dlq with reason and origin, and the rest on', async () => {
      const { h, topics, worker } = await setup()
      await worker(async (records) =>
        records.map((r) =>
          r.value?.toString() === 'bad'
            ? { kind: 'dlq' as const, reason: 'invalid_json', message: 'nope' }
            : { kind: 'ok' as const, out: [{ topic: topics.out, key: null, value: r.value ?? '' }] },
        ),
      ).start()
      await h.produce(['ok1', 'bad', 'ok2'].map((v) => ({ topic: topics.in, key: 'same', value: v })))
      const dlq = await until(async () => {
        const r = await h.read(topics.dlq)
        return r.length >= 1 && r
      }, 'dlq record')
      const letter = JSON.parse(dlq[0]!.value)
      expect(letter).toMatchObject({ reason: 'invalid_json', payload: 'bad', origin: { topic: topics.in } })
      await until(async () => (await h.read(topics.out)).length >= 2 || false, 'two good records out')
    })
  })
}
