import { describe, expect, it } from 'vitest'
import { createCapturingLogger } from '../logger.ts'
import { createMetrics } from '../metrics.ts'
import { probeRunner, quietKafka, randomName, testCleanups, waitFor } from './int-test-support.ts'
import { createTopicsWithLeaders } from './kafka-client.ts'
import type { BatchHandler } from './records.ts'

const MIN = 60_000

describe('batch runner when event-time alignment forces a step', () => {
  const { cleanups, connected } = testCleanups()

  // The aligner forces a step when nothing else would take anything, and counted it (forced()), but
  // nothing read the count: records could come late with no metric or line saying so.
  it('counts it in tradepulse_align_forced_total and warns of it, naming the partitions', async () => {
    const name = randomName('align-forced')
    const topic = `${name}.in`
    const admin = await connected(quietKafka(`${name}-admin`).admin())
    await createTopicsWithLeaders(admin, [{ topic, numPartitions: 2, replicationFactor: 1 }])
    cleanups.push(() => admin.deleteTopics({ topics: [topic] }))
    const producer = await connected(quietKafka(`${name}-producer`).producer())
    // Event times in minutes. Partition 0 in order per key, not per partition (its last record 40 minutes
    // older than its first); partition 1 in between. One partition handled at once: each, handled apart,
    // is bounded by the other's held records, and only a forced step takes them on.
    const times = [
      [157.3, 157.3, 156.4, 157.3, 116.6],
      [117.8, 118.5],
    ]
    await producer.send({
      topic,
      messages: times.flatMap((ts, partition) => ts.map((t) => ({ partition, value: String(t) }))),
    })
    const handled: number[] = []
    const handler: BatchHandler = async (records) => {
      handled.push(...records.map((r) => Number(r.value!.toString())))
      return records.map(() => ({ kind: 'ok' as const }))
    }
    const { log, lines } = createCapturingLogger<{ msg: string; level: number; partitions?: string[] }>()
    const metrics = createMetrics('probe')
    const runner = probeRunner(quietKafka(`${name}-runner`), topic, randomName('group'), handler, cleanups, {
      over: {
        partitionsConcurrency: 1,
        align: { aheadMs: MIN, eventMs: (r) => Number(r.value!.toString()) * MIN },
      },
      log,
      metrics,
    })
    await runner.start()
    await waitFor(() => handled.length === 7, 'every record handled')
    const forced = (await metrics.alignForced.get()).values[0]?.value ?? 0
    expect(forced).toBeGreaterThanOrEqual(1)
    const warned = lines.filter((l) => l.msg.startsWith('event-time alignment forced a step'))
    expect(warned).toHaveLength(1)
    expect(warned[0]!.level).toBe(40)
    expect(warned[0]!.partitions?.every((p) => p === `${topic}/0` || p === `${topic}/1`)).toBe(true)
    expect(warned[0]!.partitions?.length).toBeGreaterThan(0)
  })
})
