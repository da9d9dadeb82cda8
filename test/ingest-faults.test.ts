import { type Headline, listTopics } from '@tradepulse/contracts'
import { collectTopic, testKafka, waitFor } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { useWorkerProcess } from './worker-process.ts'

const INGEST_MAIN = 'services/ingest/src/main.ts'

describe('ingest as a process: crashes, signals and bad config', () => {
  const t = useWorkerProcess({
    name: 'faults',
    main: INGEST_MAIN,
    worker: 'ingest',
    topics: (topics) => listTopics(topics).map((topic) => ({ name: topic.name, partitions: 3 })),
    env: () => ({
      // A killed member holds its partitions until its session expires; keep that short for the test.
      KAFKA_SESSION_TIMEOUT_MS: '3000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '300',
      KAFKA_MAX_BATCH: '200',
      SHUTDOWN_DEADLINE_MS: '10000',
    }),
  })
  const start = () => t.start()
  const ids = (msgs: { value: Buffer | null }[]) =>
    msgs.map((m) => (JSON.parse(m.value!.toString()) as Headline).id)

  async function produceValid(topic: string, n: number, idPrefix: string): Promise<Set<string>> {
    const expected = new Set<string>()
    for (let i = 0; i < n; i += 1_000) {
      const messages = []
      for (let j = i; j < Math.min(n, i + 1_000); j++) {
        const id = `${idPrefix}-${j}`
        expected.add(id)
        messages.push({
          key: id,
          value: JSON.stringify({ id, source: 'test', headline: `Headline number ${j} about tariffs` }),
        })
      }
      await t.producer.send({ topic, messages })
    }
    return expected
  }

  it('loses nothing when killed with SIGKILL three times over 20,000 messages', async () => {
    const topics = t.topics
    const out = await collectTopic(t.kafkaBrokers, topics.headlines.name)
    t.stops.push(out.stop)
    const expected = await produceValid(topics.raw.name, 20_000, 'm')
    // Kill points at random shares of the work, spread so each falls while the worker is busy.
    const cuts = [0.1 + Math.random() * 0.15, 0.35 + Math.random() * 0.15, 0.6 + Math.random() * 0.15].map(
      (f) => Math.floor(f * 20_000),
    )
    let worker = start()
    for (const cut of cuts) {
      await waitFor(() => out.messages.length >= cut, { timeoutMs: 60_000, what: `${cut} headlines out` })
      worker.child.kill('SIGKILL')
      expect((await worker.exited).signal).toBe('SIGKILL')
      worker = start()
    }
    await waitFor(() => new Set(ids(out.messages)).size >= expected.size, {
      timeoutMs: 90_000,
      what: 'every id on headlines',
    })
    const seen = new Set(ids(out.messages))
    expect([...expected].filter((id) => !seen.has(id))).toEqual([])
    expect([...seen].filter((id) => !expected.has(id))).toEqual([])
    // Redeliveries after a kill may repeat a headline; they are the only extra records.
    expect(out.messages.length).toBeGreaterThanOrEqual(expected.size)
  })

  it('on SIGTERM mid-stream exits 0 within the deadline, having produced everything it committed', async () => {
    const topics = t.topics
    const out = await collectTopic(t.kafkaBrokers, topics.headlines.name)
    const raw = await collectTopic(t.kafkaBrokers, topics.raw.name)
    t.stops.push(out.stop, raw.stop)
    const expected = await produceValid(topics.raw.name, 6_000, 's')
    const worker = start()
    await waitFor(() => out.messages.length >= 500, { timeoutMs: 60_000, what: 'some headlines out' })
    const t0 = Date.now()
    worker.child.kill('SIGTERM')
    const exit = await worker.exited
    expect({ code: exit.code, elapsedOk: Date.now() - t0 < 10_000 }).toEqual({ code: 0, elapsedOk: true })
    expect(worker.output()).toContain('stopped cleanly')

    // Every raw record below the committed offsets has its headline out: nothing committed was lost.
    const admin = testKafka(t.kafkaBrokers).admin()
    await admin.connect()
    const [committed] = await admin.fetchOffsets({ groupId: `${t.prefix}ingest`, topics: [topics.raw.name] })
    await admin.disconnect()
    await waitFor(() => raw.messages.length >= expected.size, { what: 'raw read back' })
    // The worker has exited: every headline it produced is on the topic, and read once the collector has
    // caught up (before, one not yet fetched read as a committed record lost).
    await out.caughtUp()
    const seen = new Set(ids(out.messages))
    const committedIds = raw.messages
      .filter((m) => {
        const p = committed!.partitions.find((x) => x.partition === m.partition)
        return p && Number(m.offset) < Number(p.offset)
      })
      .map((m) => m.key!)
    expect(committedIds.length).toBeGreaterThan(0)
    expect(committedIds.filter((id) => !seen.has(id))).toEqual([])

    // A restart finishes the rest.
    start()
    await waitFor(() => new Set(ids(out.messages)).size >= expected.size, {
      timeoutMs: 60_000,
      what: 'all after restart',
    })
  })

  it('refuses a bad variable with a non-zero exit that names it', async () => {
    const w = t.start({ KAFKA_BROKERS: 'no-port-here', INGEST_DEDUP_WINDOW_MS: 'soon' })
    const exit = await w.exited
    expect(exit.code).toBe(78)
    expect(w.output()).toMatch(/KAFKA_BROKERS: .*no-port-here/)
    expect(w.output()).toMatch(/INGEST_DEDUP_WINDOW_MS: /)
  })
})
