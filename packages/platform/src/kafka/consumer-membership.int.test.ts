import net from 'node:net'
import type { Consumer, ISocketFactory } from 'kafkajs'
import { afterEach, describe, expect, it, vi } from 'vitest'
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

const HOUR_MS = 3_600_000

/** Kafka's api keys (a request starts with its size, int32, then its api key and version, int16 each, then its correlation id, int32). */
const OFFSET_COMMIT_API_KEY = 8
const HEARTBEAT_API_KEY = 12

/**
 * kafkajs's own socket factory (no TLS here), with two faults to switch on:
 * - `fakeHeartbeats`: a Heartbeat request is not sent but answered here at once with no error, as if the
 *   coordinator had heard it: the member believes all is well while the coordinator hears nothing and
 *   evicts it after its session timeout (what a wall clock stepped back did to kafkajs's heartbeats);
 * - `dropCommits`: an OffsetCommit request is not sent, so never answered (kafkajs times it out).
 * kafkajs writes each request whole, in one write. An answer made here goes to kafkajs between two of
 * the broker's, never inside one.
 */
function faultySockets() {
  const state = { fakeHeartbeats: false, faked: 0, dropCommits: false, dropped: 0 }
  const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    const socket = net.connect({ host, port }, onConnect)
    socket.setKeepAlive(true, 60_000)
    let deliver: ((b: Buffer) => void) | undefined
    let partial = Buffer.alloc(0)
    const fakes: Buffer[] = []
    const flushFakes = () => {
      if (partial.length === 0) for (let f = fakes.shift(); f; f = fakes.shift()) deliver?.(f)
    }
    const on = socket.on.bind(socket) as (event: string, fn: (...args: unknown[]) => void) => net.Socket
    socket.on = ((event: string, fn: (...args: unknown[]) => void) => {
      if (event !== 'data') return on(event, fn)
      deliver = fn
      // Whole answers only, so that one made here never lands inside one of the broker's.
      return on('data', (chunk) => {
        partial = Buffer.concat([partial, chunk as Buffer])
        while (partial.length >= 4 && partial.length >= 4 + partial.readInt32BE(0)) {
          const size = 4 + partial.readInt32BE(0)
          const frame = partial.subarray(0, size)
          partial = partial.subarray(size)
          fn(frame)
        }
        flushFakes()
      })
    }) as typeof socket.on
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean
    socket.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (Buffer.isBuffer(chunk) && chunk.length >= 12) {
        const apiKey = chunk.readInt16BE(4)
        if (state.fakeHeartbeats && apiKey === HEARTBEAT_API_KEY) {
          // Heartbeat response: v0 error_code; v1-v3 throttle_time_ms, error_code (all 0 here).
          const version = chunk.readInt16BE(6)
          const body = 4 + (version >= 1 ? 4 : 0) + 2
          const reply = Buffer.alloc(4 + body)
          reply.writeInt32BE(body, 0)
          reply.writeInt32BE(chunk.readInt32BE(8), 4) // the correlation id
          state.faked++
          fakes.push(reply)
          setImmediate(flushFakes)
          return true
        }
        if (state.dropCommits && apiKey === OFFSET_COMMIT_API_KEY) {
          state.dropped++
          return true
        }
      }
      return write(chunk, ...rest)
    }) as typeof socket.write
    return socket
  }
  return { state, socketFactory }
}

/** The members of `groupId` as the coordinator has them. */
async function members(admin: ReturnType<ReturnType<typeof quietKafka>['admin']>, groupId: string) {
  return (await admin.describeGroups([groupId])).groups[0]!.members.map((m) => m.memberId)
}

describe('a consumer in its group', () => {
  const { cleanups, connected } = testCleanups()
  afterEach(() => {
    vi.restoreAllMocks()
  })

  // kafkajs sent a heartbeat once `Date.now() >= lastRequest + interval`: with the host's clock stepped
  // back an hour (an NTP step, a VM snapshot restored) it sent none for an hour, the coordinator evicted
  // the member after its session timeout, and the member went on fetching and handling partitions the
  // group had given another (every record read twice). The patched kafkajs reads the monotonic clock.
  it('keeps heartbeating and its membership when the wall clock steps back an hour while it is idle', async () => {
    const name = randomName('clock-back')
    const { admin, producer, topic, groupId, committed } = await probeInput(name, connected, cleanups)
    const handled: string[] = []
    const handler: BatchHandler = async (records) => {
      handled.push(...records.map((r) => r.value!.toString()))
      return records.map(() => ({ kind: 'ok' as const }))
    }
    const joins: string[] = []
    let heartbeats = 0
    const runner = probeRunner(quietKafka(name), topic, groupId, handler, cleanups, {
      seen: (c: Consumer) => {
        c.on(c.events.GROUP_JOIN, (e) => joins.push(e.payload.memberId))
        c.on(c.events.HEARTBEAT, () => heartbeats++)
      },
    })
    await runner.start()
    await runner.joined()
    await producer.send({ topic, messages: [{ value: 'v0' }] })
    await until(async () => (await committed()) === 1, 'v0 committed')

    // The wall clock an hour back from here on (waitFor's deadline below is read on it too).
    const real = Date.now.bind(Date)
    vi.spyOn(Date, 'now').mockImplementation(() => real() - HOUR_MS)
    const from = heartbeats
    // Idle, kafkajs heartbeats after each empty fetch once its interval (200 ms) has passed: 40 of them
    // outlast the session timeout (6 s) whatever the pace.
    await waitFor(
      () => heartbeats - from >= 40,
      'heartbeats sent for longer than the session timeout, with the clock stepped back',
    )
    expect(joins).toHaveLength(1)
    expect(await members(admin, groupId)).toEqual([joins[0]])
    expect((await runner.health()).status).toBe('ok')

    await producer.send({ topic, messages: [{ value: 'v1' }] })
    await until(async () => (await committed()) === 2, 'v1 committed')
    expect(handled).toEqual(['v0', 'v1'])
    expect(joins).toHaveLength(1)
  })

  // A member the coordinator evicted while it believed its heartbeats answered had every commit refused
  // (UNKNOWN_MEMBER_ID), logged "retrying at the next interval", and went on handling its partitions:
  // kafkajs rejoins on that answer only from a heartbeat or eachBatch, never from a commit made beside
  // them. Now the refused commit makes the next batch throw it, and kafkajs rejoins.
  it('rejoins when its commit is refused for a member the group evicted, instead of handling on', async () => {
    const name = randomName('evicted')
    const { admin, producer, topic, groupId, committed } = await probeInput(name, connected, cleanups)
    const { state, socketFactory } = faultySockets()
    const kafka = quietKafka(name, { socketFactory })
    const joins: string[] = []
    /** Each value handled, with how many times the member had joined then. */
    const handled: { value: string; joins: number }[] = []
    const handler: BatchHandler = async (records) => {
      for (const r of records) handled.push({ value: r.value!.toString(), joins: joins.length })
      return records.map(() => ({ kind: 'ok' as const }))
    }
    const { log, lines } = createCapturingLogger()
    const runner = probeRunner(kafka, topic, groupId, handler, cleanups, {
      log,
      seen: (c) => c.on(c.events.GROUP_JOIN, (e) => joins.push(e.payload.memberId)),
    })
    await runner.start()
    await runner.joined()
    await producer.send({ topic, messages: [{ value: 'v0' }] })
    await until(async () => (await committed()) === 1, 'v0 committed')

    // The coordinator hears no more heartbeats; the member hears them answered.
    state.fakeHeartbeats = true
    await until(async () => (await members(admin, groupId)).length === 0, 'the member evicted')
    // v1 is fetched and handled all the same (nothing tells the member before its commit is refused).
    await producer.send({ topic, messages: [{ value: 'v1' }] })
    await waitFor(
      () => lines.some((l) => l.msg.startsWith('offset commit failed')),
      'the commit of v1 refused',
    )
    expect(joins).toHaveLength(1)
    const refusal = lines.find((l) => l.msg.startsWith('offset commit failed'))!
    expect(refusal.msg).toMatch(/\((UNKNOWN_MEMBER_ID|ILLEGAL_GENERATION)\); the consumer rejoins/)
    // Health says so until the member has joined again.
    expect(await runner.health()).toMatchObject({ status: 'degraded', ready: false })
    expect((await runner.health()).detail).toMatch(
      /^offset commit refused .*: the group no longer has this member/,
    )

    // v2 is handled only once the member has joined again (before: by the evicted member, at once).
    await producer.send({ topic, messages: [{ value: 'v2' }] })
    await waitFor(() => handled.some((h) => h.value === 'v2'), 'v2 handled')
    expect(handled.filter((h) => h.value === 'v2').map((h) => h.joins)).not.toContain(1)
    expect(joins.length).toBeGreaterThanOrEqual(2)
    state.fakeHeartbeats = false
    await until(async () => (await committed()) === 3, 'v1 and v2 committed by the member joined again')
    expect(await members(admin, groupId)).toEqual([joins[joins.length - 1]])
    await until(async () => (await runner.health()).status === 'ok', 'health ok again')
  })

  it('reports degraded health while its commits do not go through for longer than the session timeout', async () => {
    const name = randomName('commit-stuck')
    const { producer, topic, groupId, committed } = await probeInput(name, connected, cleanups)
    const { state, socketFactory } = faultySockets()
    const kafka = quietKafka(name, { socketFactory, requestTimeout: 2_000 })
    const handled: string[] = []
    const handler: BatchHandler = async (records) => {
      handled.push(...records.map((r) => r.value!.toString()))
      return records.map(() => ({ kind: 'ok' as const }))
    }
    const runner = probeRunner(kafka, topic, groupId, handler, cleanups)
    await runner.start()
    await runner.joined()
    state.dropCommits = true
    await producer.send({ topic, messages: [{ value: 'v0' }] })
    await waitFor(() => handled.includes('v0') && state.dropped > 0, 'v0 handled, its commit lost')
    await until(
      async () => /^offset commits not going through for \d+ ms/.test((await runner.health()).detail ?? ''),
      'health telling the commits not going through',
    )
    expect(await runner.health()).toMatchObject({ status: 'degraded', ready: false })
    state.dropCommits = false
    await until(async () => (await committed()) === 1, 'v0 committed once commits go through')
    await until(async () => (await runner.health()).status === 'ok', 'health ok again')
  })
})
