import { EventEmitter } from 'node:events'
import { TradepulseError } from '@tradepulse/platform'
import { InvalidArgumentError } from 'commander'
import type { Producer } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import {
  afterOffsets,
  filterOf,
  formatReplayRecord,
  rangesAfter,
  reasonCode,
  replayProgress,
  sinceTime,
} from './dlq.ts'

describe('dlq --since', () => {
  const now = () => Date.parse('2026-03-02T14:00:00Z')

  it('reads an ISO time with its zone, or a span back from now', () => {
    expect(sinceTime('2026-03-02T15:00:00+01:00', now).ms).toBe(Date.parse('2026-03-02T14:00:00Z'))
    expect(sinceTime('2h', now)).toEqual({ text: '2h', ms: Date.parse('2026-03-02T12:00:00Z') })
    // Before 1970: from the start of the topic (Kafka refuses a negative time).
    expect(sinceTime('0001-01-01T00:00:00Z', now).ms).toBe(0)
    expect(sinceTime('100000d', now).ms).toBe(0)
  })

  it('refuses anything else as a bad option value: no time read in the local zone', () => {
    for (const text of ['yesterday', '2026-03-02T14:00:00', '2026-02-30T00:00:00Z', ' 2h', '0m', '']) {
      expect(() => sinceTime(text, now), text).toThrow(InvalidArgumentError)
      expect(() => sinceTime(text, now), text).toThrow(/^Expected an ISO 8601 time with Z or an offset/)
    }
  })
})

describe('dlq replay --dry-run', () => {
  it("prints the original's time, topic, key and value, bytes that are not text by their count", () => {
    expect(
      formatReplayRecord({
        topic: 't.headlines.raw.v1',
        key: Buffer.from('h-1'),
        value: Buffer.from('{"id":"h-1"}'),
        headers: {},
        timestamp: Date.parse('2023-11-14T22:13:20.123Z'),
      }),
    ).toBe('2023-11-14T22:13:20.123Z  t.headlines.raw.v1  key h-1  {"id":"h-1"}')
    expect(
      formatReplayRecord({
        topic: 't',
        key: Buffer.from([0xff]),
        value: Buffer.from([0xc3, 0x28]),
        headers: {},
      }),
    ).toBe('(no timestamp)            t  key (1 byte, not UTF-8)  (2 bytes, not UTF-8)')
  })
})

// A mistyped --reason or --topic selected nothing, and list and replay exited 0 as if there were nothing.
describe('dlq --reason and --topic', () => {
  it('--reason takes the reasons workers dead-letter for, and refuses any other naming them', () => {
    expect(reasonCode('webhook_failed', reasonCode('schema_invalid'))).toEqual([
      'schema_invalid',
      'webhook_failed',
    ])
    for (const text of ['schema-invalid', 'SCHEMA_INVALID', 'later', ' tombstone']) {
      expect(() => reasonCode(text), text).toThrow(InvalidArgumentError)
      expect(() => reasonCode(text), text).toThrow(
        /^Expected a reason workers dead-letter for: tombstone, empty_record, .*, webhook_failed\.$/,
      )
    }
  })

  it('--topic: a topic of the catalogue by its full name; one that names none is refused (exit 78), naming it', () => {
    expect(filterOf('replay', { topic: ['headlines.raw.v1', 'alerts.desk.fx'] }, 'tp.')).toEqual({
      topics: ['tp.headlines.raw.v1', 'tp.alerts.desk.fx.v1'],
    })
    const refusal = () => filterOf('replay', { topic: ['headlines.raw', 'headline.raw.v1'] }, 'tp.')
    expect(refusal).toThrow(TradepulseError)
    expect(refusal).toThrow(
      'dlq replay: --topic "headline.raw.v1" names no topic of the catalogue: headlines.raw, headlines, headlines.scored, indicators, alerts, dlq, alerts.desk.<desk id>, with or without .v1, or in full (tp.headlines.raw.v1: TRADEPULSE_TOPIC_PREFIX "tp.")',
    )
    try {
      refusal()
    } catch (err) {
      expect(err).toMatchObject({ code: 'CONFIG_INVALID' })
    }
  })
})

describe('dlq replay interrupted (SIGINT, SIGTERM)', () => {
  const TOPIC = 'tp.dlq.v1'
  const sendable = (partition: number, offset: number) => ({
    record: { topic: 'tp.headlines.raw.v1', key: null, value: Buffer.from('{}'), headers: {} },
    partition,
    offset: String(offset),
  })

  /** A replay's progress on a stand-in signal source and a producer whose requests wait to be answered. */
  function interruptible() {
    const from = new EventEmitter()
    const written: string[] = []
    const exits: number[] = []
    const answers: (() => void)[] = []
    const producer = {
      requests: 0,
      sendBatch: () => {
        producer.requests++
        return new Promise((resolve) => answers.push(() => resolve([])))
      },
    }
    const progress = replayProgress(TOPIC, {
      from,
      out: { write: (line: string) => written.push(line) > 0 },
      exit: (code) => void exits.push(code),
    })
    return { from, written, exits, answers, producer, progress }
  }
  const turn = () => new Promise((r) => setImmediate(r))

  it('sends no further request, says once the one being sent is acknowledged how many went and up to where, and exits with the signal code', async () => {
    // It ended by the signal's default: no count, and a replay run again sent every letter again (a replay
    // marks the records it sends, not the letters it sent them from).
    const { from, written, exits, answers, producer, progress } = interruptible()
    const p = producer as unknown as Producer
    await Promise.all([
      progress.send(p, [sendable(0, 3), sendable(2, 5)]).then(() => progress.send(p, [sendable(0, 4)])),
      (async () => {
        answers.shift()!()
        await turn()
        from.emit('SIGINT', 'SIGINT')
        await turn()
        // The second request is in flight: the line waits for its answer.
        expect([producer.requests, written, exits]).toEqual([2, [], []])
        answers.shift()!()
      })(),
    ])
    await turn()
    expect(exits).toEqual([130])
    expect(written).toEqual([
      `dlq replay: interrupted by SIGINT: 3 records sent, of the letters up to ${TOPIC}[0]@4 and ${TOPIC}[2]@5; the rest not sent (--after 0@4,2@5 with the same options sends the rest, not these again)\n`,
    ])
    // No request once interrupted: it never settles, and the process exits.
    let settled = false
    void progress.send(p, [sendable(0, 6)]).finally(() => {
      settled = true
    })
    await turn()
    expect([producer.requests, settled]).toEqual([2, false])
  })

  it('exits at once with nothing sent before any request, and at a second signal while one is answered', async () => {
    const idle = interruptible()
    idle.from.emit('SIGTERM', 'SIGTERM')
    await turn()
    expect([idle.written, idle.exits]).toEqual([
      ['dlq replay: interrupted by SIGTERM: nothing sent\n'],
      [143],
    ])

    const busy = interruptible()
    void busy.progress.send(busy.producer as unknown as Producer, [sendable(1, 0)])
    busy.from.emit('SIGINT', 'SIGINT')
    busy.from.emit('SIGTERM', 'SIGTERM')
    expect([busy.written, busy.exits]).toEqual([[], [143]])
    busy.progress.release()
    expect(busy.from.listenerCount('SIGINT') + busy.from.listenerCount('SIGTERM')).toBe(0)
  })
})

describe('dlq --after', () => {
  it('reads PARTITION@OFFSET lists, joined when given again; refuses anything else as a bad option value', () => {
    expect(afterOffsets('2@7', afterOffsets('0@41'))).toEqual(
      new Map([
        [0, 41],
        [2, 7],
      ]),
    )
    expect(afterOffsets('0@0,3@12')).toEqual(
      new Map([
        [0, 0],
        [3, 12],
      ]),
    )
    for (const text of [
      '',
      '0',
      '@4',
      '0@',
      '0@-1',
      '0@4,',
      '0@4, 1@2',
      '0x1@4',
      '01@4',
      '0@1e3',
      '0@4,0@5',
    ]) {
      expect(() => afterOffsets(text), text).toThrow(InvalidArgumentError)
    }
  })

  it('starts each partition named after its offset, and refuses one the dlq does not have (exit 78)', () => {
    const ranges = [
      { partition: 0, start: 0, end: 10 },
      { partition: 1, start: 5, end: 10 },
      { partition: 2, start: 0, end: 3 },
    ]
    expect(
      rangesAfter(
        'replay',
        'tp.dlq.v1',
        ranges,
        new Map([
          [0, 4],
          [1, 2],
          [2, 9],
        ]),
      ),
    ).toEqual([
      { partition: 0, start: 5, end: 10 },
      { partition: 1, start: 5, end: 10 },
      { partition: 2, start: 3, end: 3 },
    ])
    expect(rangesAfter('replay', 'tp.dlq.v1', ranges, undefined)).toBe(ranges)
    const refusal = () => rangesAfter('list', 'tp.dlq.v1', ranges, new Map([[3, 0]]))
    expect(refusal).toThrow(
      'dlq list: --after 3@0 names partition 3, which tp.dlq.v1 does not have (partitions 0, 1, 2)',
    )
    expect(refusal).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }))
  })
})
