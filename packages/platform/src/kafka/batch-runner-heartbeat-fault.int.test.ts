import net from 'node:net'
import type { ISocketFactory } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { createCapturingLogger } from '../logger.ts'
import {
  probeInput,
  probeRunner,
  quietKafka,
  randomName,
  testCleanups,
  until,
  waitFor,
} from './int-test-support.ts'
import type { BatchHandler } from './records.ts'

/** Kafka's Heartbeat request (api key 12): a request starts with its size (int32), then its api key (int16). */
const HEARTBEAT_API_KEY = 12

/**
 * kafkajs's own socket factory (no TLS here), except that while `drops` is above 0 a Heartbeat request
 * written is not sent, and counted: the coordinator never answers it, and kafkajs fails it with
 * KafkaJSRequestTimeoutError after its request timeout. Everything else goes through untouched (kafkajs
 * writes each request whole, in one write).
 */
function droppingHeartbeats() {
  const state = { drops: 0, dropped: 0 }
  const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    const socket = net.connect({ host, port }, onConnect)
    socket.setKeepAlive(true, 60_000)
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean
    socket.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (
        state.drops > 0 &&
        Buffer.isBuffer(chunk) &&
        chunk.length >= 6 &&
        chunk.readInt16BE(4) === HEARTBEAT_API_KEY
      ) {
        state.drops--
        state.dropped++
        return true
      }
      return write(chunk, ...rest)
    }) as typeof socket.write
    return socket
  }
  return { state, socketFactory }
}

describe('batch runner through a heartbeat fault that is no rebalance', () => {
  const { cleanups, connected } = testCleanups()

  it('goes on with the batch when the heartbeat after a chunk times out: nothing handled twice, all committed', async () => {
    const name = randomName('heartbeat-fault')
    const { producer, topic, groupId, committed } = await probeInput(name, connected, cleanups)

    // 30 records in one request: the runner's first fetch hands them over as one batch, handled in three
    // chunks of 10.
    const values = Array.from({ length: 30 }, (_, i) => `v${i}`)
    await producer.send({ topic, messages: values.map((value) => ({ value })) })

    // The runner's client: a heartbeat dropped times out after 2 s (well within the 6 s session).
    const { state, socketFactory } = droppingHeartbeats()
    const kafka = quietKafka(name, { socketFactory, requestTimeout: 2_000 })
    const handled: string[] = []
    const handler: BatchHandler = async (records) => {
      const got = records.map((r) => r.value!.toString())
      handled.push(...got)
      if (got.includes('v0')) {
        // The first chunk: the next heartbeat sent (the stage's, within its 200 ms interval) goes
        // unanswered, and the one after the chunk is resolved joins it and fails with it.
        state.drops = 1
        await waitFor(() => (state.dropped > 0 ? true : undefined), 'a heartbeat dropped')
      }
      return records.map(() => ({ kind: 'ok' as const }))
    }
    const { log, lines } = createCapturingLogger()
    const runner = probeRunner(kafka, topic, groupId, handler, cleanups, { log, over: { maxBatch: 10 } })
    await runner.start()

    await until(async () => (await committed()) === values.length, 'all 30 records committed')
    expect(state.dropped).toBe(1)
    // Nothing was handled twice: before, the batch was given up at the failure and the records after
    // the first chunk (the second chunk's handled early) were fetched and handled again.
    expect(handled).toEqual(values)
    // The heartbeat after the first chunk failed and the batch went on.
    expect(lines.filter((l) => l.msg.startsWith('heartbeat failed (not a rebalance)'))).toHaveLength(1)
  })
})
