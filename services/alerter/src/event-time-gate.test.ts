import {
  createBatchStages,
  createLogger,
  createMetrics,
  type InRecord,
  type Outcome,
  TradepulseError,
} from '@tradepulse/platform'
import { KafkaJSProtocolError } from 'kafkajs'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { gateInEventTime } from './event-time-gate.ts'

const MIN = 60_000
const rec = (partition: number, offset: number, atMin: number | undefined): InRecord => ({
  topic: 't',
  partition,
  offset: String(offset),
  key: null,
  value: Buffer.from(atMin === undefined ? 'x' : String(atMin)),
  headers: {},
  timestamp: 0,
})
const eventMs = (r: InRecord) => {
  const n = Number(r.value!.toString())
  return Number.isNaN(n) ? undefined : n * MIN
}
const name = (r: InRecord) => `p${r.partition}@${r.value!.toString()}`
const ctx = { signal: new AbortController().signal }

/** An inner handler that logs what it is handed, round by round, and answers ok for each. */
function recorder(fail?: (round: number) => boolean) {
  const rounds: string[][] = []
  const inner = async (records: InRecord[]): Promise<Outcome[]> => {
    rounds.push(records.map(name))
    if (fail?.(rounds.length)) throw new TradepulseError('INFRA_REDIS', 'redis down')
    return records.map((r) => ({ kind: 'drop', reason: name(r) }) as Outcome)
  }
  return { inner, rounds }
}

/**
 * An inner handler that refuses for good any round holding a record `refused` picks (a Redis WRONGTYPE on
 * a key of its own), throws what `fault` gives for the n-th call (if anything), answers ok otherwise.
 */
function refusing(refused: (r: InRecord) => boolean, fault?: (call: number) => unknown) {
  const rounds: string[][] = []
  const inner = async (records: InRecord[]): Promise<Outcome[]> => {
    rounds.push(records.map(name))
    const thrown = fault?.(rounds.length)
    if (thrown) throw thrown
    const bad = records.find(refused)
    if (bad) throw new TradepulseError('INFRA_REDIS', `WRONGTYPE (${name(bad)})`, { retriable: false })
    return records.map(() => ({ kind: 'ok' }) as Outcome)
  }
  return { inner, rounds }
}

describe('gateInEventTime', () => {
  it('hands the partitions of one fetch on in event-time order, a partition ahead waiting for the chunks behind it', async () => {
    const { inner, rounds } = recorder()
    const gate = gateInEventTime(inner, { aheadMs: MIN, eventMs })
    // Partition 1 in chunks, as the runner hands a batch on: the next chunk once the last was handled.
    const chunks = [[1, 2, 3], [4, 5], [40]]
    const p1 = (async () => {
      const out: Outcome[] = []
      let offset = 0
      for (const c of chunks)
        out.push(
          ...(await gate(
            c.map((m) => rec(1, offset++, m)),
            ctx,
          )),
        )
      return out
    })()
    const p0 = gate([rec(0, 0, 52)], ctx)
    const [o1, o0] = await Promise.all([p1, p0])
    expect(rounds).toEqual([['p1@1', 'p1@2', 'p1@3'], ['p1@4', 'p1@5'], ['p1@40'], ['p0@52']])
    // Each submission gets its own records' outcomes, in its order.
    expect(o1.map((o) => (o as { reason: string }).reason)).toEqual([
      'p1@1',
      'p1@2',
      'p1@3',
      'p1@4',
      'p1@5',
      'p1@40',
    ])
    expect(o0).toEqual([{ kind: 'drop', reason: 'p0@52' }])
  })

  it('merges what lies within aheadMs into one round, sorted by event time, and lets through records without one', async () => {
    const { inner, rounds } = recorder()
    const gate = gateInEventTime(inner, { aheadMs: 10 * MIN, eventMs })
    await Promise.all([
      gate([rec(0, 0, 5), rec(0, 1, 9)], ctx),
      gate([rec(1, 0, 3), rec(1, 1, undefined), rec(1, 2, 7)], ctx),
    ])
    expect(rounds).toEqual([['p1@x', 'p1@3', 'p0@5', 'p1@7', 'p0@9']])
  })

  it('fails every submission waiting when a round fails on a fault, and goes on with the next ones', async () => {
    const { inner, rounds } = recorder((round) => round === 1)
    const gate = gateInEventTime(inner, { aheadMs: MIN, eventMs })
    const a = gate([rec(0, 0, 1)], ctx)
    const b = gate([rec(1, 0, 30)], ctx)
    await expect(a).rejects.toThrow('redis down')
    await expect(b).rejects.toThrow('redis down')
    expect(rounds).toEqual([['p0@1']])
    expect(await gate([rec(1, 0, 30)], ctx)).toEqual([{ kind: 'drop', reason: 'p1@30' }])
  })

  it('hands a lone partition on at once, whatever its times', async () => {
    const { inner, rounds } = recorder()
    const gate = gateInEventTime(inner, { aheadMs: 0, eventMs })
    await gate([rec(2, 0, 500), rec(2, 1, 1)], ctx)
    expect(rounds).toEqual([['p2@1', 'p2@500']])
  })

  it('hands a round that fails on a bug on again part by part: only the part holding the bad record fails', async () => {
    const rounds: string[][] = []
    const inner = async (records: InRecord[]): Promise<Outcome[]> => {
      rounds.push(records.map(name))
      if (records.some((r) => r.value!.toString() === '7')) throw new Error('cannot read record')
      return records.map(() => ({ kind: 'ok' }) as Outcome)
    }
    const gate = gateInEventTime(inner, { aheadMs: 10 * MIN, eventMs })
    const bad = gate([rec(0, 0, 5), rec(0, 1, 7)], ctx)
    const good = gate([rec(1, 0, 6)], ctx)
    bad.catch(() => {})
    await expect(good).resolves.toEqual([{ kind: 'ok' }])
    await expect(bad).rejects.toThrow('cannot read record')
    expect(rounds).toEqual([['p0@5', 'p1@6', 'p0@7'], ['p0@5', 'p0@7'], ['p1@6']])
  })

  it('fails every submission of a round that fails on a fault (retriable), as before', async () => {
    const inner = async (): Promise<Outcome[]> => {
      throw new TradepulseError('INFRA_REDIS', 'redis down')
    }
    const gate = gateInEventTime(inner, { aheadMs: 10 * MIN, eventMs })
    const a = gate([rec(0, 0, 5)], ctx)
    const b = gate([rec(1, 0, 6)], ctx)
    await expect(a).rejects.toThrow('redis down')
    await expect(b).rejects.toThrow('redis down')
  })

  it('fails only the submission whose record the handler cannot take: one waiting newer than the bound, never handed on with it, goes on in the next round', async () => {
    const { inner, rounds } = refusing((r) => r.partition === 0 && r.value!.toString() === '7')
    const gate = gateInEventTime(inner, { aheadMs: MIN, eventMs })
    const bad = gate([rec(0, 0, 5), rec(0, 1, 7)], ctx)
    const good = gate([rec(1, 0, 30)], ctx)
    bad.catch(() => {})
    // Before, it was rejected with partition 0's WRONGTYPE.
    await expect(good).resolves.toEqual([{ kind: 'ok' }])
    await expect(bad).rejects.toMatchObject({ message: 'WRONGTYPE (p0@7)' })
    expect(rounds).toEqual([['p0@5', 'p0@7'], ['p1@30']])
  })

  it("through the runner's batch stages: the failed chunk's records come again one at a time ahead of the partition waiting, and only the bad one is dead-lettered", async () => {
    const { inner, rounds } = refusing((r) => r.partition === 0 && r.value!.toString() === '7')
    const stages = createBatchStages({
      handler: gateInEventTime(inner, { aheadMs: MIN, eventMs }),
      worker: 'alerter',
      dlqTopic: 'dlq',
      log: createLogger({ level: 'silent' }),
      metrics: createMetrics('alerter', new Registry()),
      signal: ctx.signal,
      produce: async () => {},
    })
    const [a, b] = await Promise.all([
      stages.prepare([rec(0, 0, 5), rec(0, 1, 7)]),
      stages.prepare([rec(1, 0, 30)]),
    ])
    // Before, partition 1's record was dead-lettered with partition 0's error.
    expect(b.outcomes).toEqual([{ kind: 'ok' }])
    expect(a.outcomes).toEqual([
      { kind: 'ok' },
      { kind: 'dlq', reason: 'handler_error', message: 'INFRA_REDIS: WRONGTYPE (p0@7)' },
    ])
    // Partition 1 (23 minutes ahead) still waits for partition 0's records as they come again.
    expect(rounds).toEqual([['p0@5', 'p0@7'], ['p0@5'], ['p0@7'], ['p1@30']])
  })

  it.each([
    ['a fault to retry', () => new TradepulseError('INFRA_REDIS', 'Connection is closed.')],
    [
      'Kafka refusing the credentials (waited out by the runner)',
      () => new TradepulseError('KAFKA_AUTH', 'SASL authentication failed'),
    ],
    [
      'Kafka refusing the ACL (waited out by the runner)',
      () =>
        new KafkaJSProtocolError(
          Object.assign(new Error('Not authorized to access topics: [Topic authorization failed]'), {
            type: 'TOPIC_AUTHORIZATION_FAILED',
            code: 29,
            retriable: false,
          }),
        ),
    ],
  ])('fails every submission waiting on %s while the round goes part by part', async (_what, fault) => {
    const { inner, rounds } = refusing(
      (r) => r.partition === 0 && r.value!.toString() === '7',
      (n) => (n === 2 ? fault() : undefined),
    )
    const gate = gateInEventTime(inner, { aheadMs: 10 * MIN, eventMs })
    const subs = [
      gate([rec(0, 0, 5), rec(0, 1, 7)], ctx),
      gate([rec(1, 0, 6)], ctx),
      gate([rec(2, 0, 30)], ctx), // newer than the bound: not in the round
    ]
    const settled = await Promise.allSettled(subs)
    // Before, partitions 1 and 2 were decided while partition 0 was to come again later.
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected'])
    expect(rounds).toEqual([
      ['p0@5', 'p1@6', 'p0@7'],
      ['p0@5', 'p0@7'],
    ])
  })

  it('hands a round on at most maxRound records, the oldest first, the rest in the rounds after', async () => {
    // Before, a backlog of the 12 partitions handled at once merged into rounds of ~15,600 records, parsed
    // and evaluated in one go. Three partitions of 400 records each, interleaved in event time.
    const { inner, rounds } = recorder()
    const gate = gateInEventTime(inner, { aheadMs: 10_000 * MIN, eventMs, maxRound: 250 })
    const outs = await Promise.all(
      [0, 1, 2].map((p) =>
        gate(
          Array.from({ length: 400 }, (_, i) => rec(p, i, i * 3 + p)),
          ctx,
        ),
      ),
    )
    expect(rounds.map((r) => r.length)).toEqual([250, 250, 250, 250, 200])
    // In event-time order across the rounds, every record once.
    const handed = rounds.flat()
    const times = handed.map((n) => Number(n.split('@')[1]))
    expect(times).toEqual(Array.from({ length: 1_200 }, (_, k) => k))
    // Each submission gets its own records' outcomes, in its order, once its last record was handed on.
    for (const [p, o] of outs.entries())
      expect(o.map((x) => (x as { reason: string }).reason)).toEqual(
        Array.from({ length: 400 }, (_, i) => `p${p}@${i * 3 + p}`),
      )
  })
})
