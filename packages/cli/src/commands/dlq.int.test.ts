import { spawn } from 'node:child_process'
import { createTopicCatalogue } from '@tradepulse/contracts'
import {
  cloudEventHeaders,
  DEAD_LETTER_CE_TYPE,
  DLQ_HEADERS,
  deadLetterRecord,
  type InRecord,
  REPLAY_HEADERS,
  toInRecord,
} from '@tradepulse/platform'
import { createTopics, randomName, testInfra, testProducer, waitFor } from '@tradepulse/testing'
import { testKafka } from '@tradepulse/testing/kafka'
import type { KafkaMessage } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { cli, expectOneLine, MAIN } from '../test-helpers.ts'

const SECOND_MS = 1_000

describe('tradepulse dlq on Kafka', { timeout: 120_000 }, () => {
  const { kafkaBrokers } = testInfra()

  /**
   * A fresh catalogue with dead letters on its dlq (three partitions, the middle one empty), written by
   * platform's deadLetterRecord as the workers write them:
   *   a  ingest      headlines.raw  empty_headline  key h-1, a traceparent header          dlq partition 0
   *   b  ingest      headlines.raw  invalid_utf8    a key and a value that are not UTF-8     dlq partition 2
   *   c  scorer      headlines      schema_invalid  key h-3                                  dlq partition 0
   *   d  ingest      headlines.raw  tombstone       no value                                 dlq partition 2
   *   e  alerter     alerts.desk.gone (no such topic)  webhook_failed                        dlq partition 0
   * and, on partition 2, a record that is no dead letter. Each written a second after the one before,
   * the last a minute ago; each original stamped a day before its letter.
   */
  async function seeded() {
    const prefix = `${randomName('cli-dlq')}.`
    const topics = createTopicCatalogue(prefix)
    await createTopics(kafkaBrokers, [
      { name: topics.dlq.name, partitions: 3 },
      { name: topics.raw.name, partitions: 2 },
      { name: topics.headlines.name, partitions: 2 },
    ])
    const base = Date.now() - 60 * SECOND_MS - 5 * SECOND_MS
    const originals: Record<
      string,
      { worker: string; reason: string; message: string; rec: InRecord; p: number }
    > = {}
    const rec = (topic: string, offset: number, over: Partial<InRecord>): InRecord => ({
      topic,
      partition: 1,
      offset: String(offset),
      key: null,
      value: null,
      headers: {},
      timestamp: 0,
      ...over,
    })
    const letters = [
      [
        'a',
        'ingest',
        'empty_headline',
        'headline has no letter or digit',
        0,
        rec(topics.raw.name, 41, {
          key: Buffer.from('h-1'),
          value: Buffer.from('{"id":"h-1","headline":"  "}'),
          headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
          rawHeaders: { traceparent: Buffer.from('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01') },
        }),
      ],
      [
        'b',
        'ingest',
        'invalid_utf8',
        'not UTF-8',
        2,
        rec(topics.raw.name, 42, {
          key: Buffer.from([0xff, 0x01]),
          value: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]),
        }),
      ],
      [
        'c',
        'scorer',
        'schema_invalid',
        'headline: expected string',
        0,
        rec(topics.headlines.name, 7, {
          key: Buffer.from('h-3'),
          value: Buffer.from('{"id":"h-3","headline":3}'),
        }),
      ],
      ['d', 'ingest', 'tombstone', 'null value', 2, rec(topics.raw.name, 43, { key: Buffer.from('h-4') })],
      [
        'e',
        'alerter',
        'webhook_failed',
        'desk gone: POST failed',
        0,
        rec(topics.deskAlerts('gone').name, 0, {
          key: Buffer.from('region:CN'),
          value: Buffer.from('{"id":"a-1"}'),
        }),
      ],
    ] as const
    const producer = await testProducer(kafkaBrokers)
    try {
      for (const [i, [name, worker, reason, message, p, r]] of letters.entries()) {
        const failedAt = new Date(base + i * SECOND_MS)
        const original = { ...r, timestamp: failedAt.getTime() - 86_400_000 }
        originals[name] = { worker, reason, message, rec: original, p }
        const out = deadLetterRecord(topics.dlq.name, worker, original, reason, message, failedAt)
        await producer.send({
          topic: topics.dlq.name,
          messages: [
            {
              key: out.key,
              value: out.value,
              headers: out.headers,
              partition: p,
              timestamp: String(failedAt.getTime()),
            },
          ],
        })
      }
      await producer.send({
        topic: topics.dlq.name,
        messages: [{ value: 'not a letter', partition: 2, timestamp: String(base + 5 * SECOND_MS) }],
      })
    } finally {
      await producer.disconnect()
    }
    const env = { KAFKA_BROKERS: kafkaBrokers.join(','), TRADEPULSE_TOPIC_PREFIX: prefix }
    return { prefix, topics, originals, env, base }
  }

  /** The records of a topic, raw (key and headers as bytes), once there are `n`. */
  async function readAll(topic: string, n: number): Promise<KafkaMessage[]> {
    const messages: KafkaMessage[] = []
    const consumer = testKafka(kafkaBrokers).consumer({
      groupId: randomName('dlq-check'),
      maxWaitTimeInMs: 50,
    })
    await consumer.connect()
    try {
      await consumer.subscribe({ topic, fromBeginning: true })
      await consumer.run({ eachMessage: async ({ message }) => void messages.push(message) })
      await waitFor(() => messages.length >= n, { what: `${n} records on ${topic}` })
      return messages
    } finally {
      await consumer.disconnect()
    }
  }

  /** How many records each topic holds (their partitions' ends): what a command has sent, once it exited. */
  async function counts(...topics: string[]): Promise<number[]> {
    const admin = testKafka(kafkaBrokers).admin()
    await admin.connect()
    try {
      const out: number[] = []
      for (const t of topics)
        out.push((await admin.fetchTopicOffsets(t)).reduce((n, p) => n + Number(p.high), 0))
      return out
    } finally {
      await admin.disconnect()
    }
  }

  const time = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19)

  it('lists every dead letter in one line each, names a record that is none (exit 65), filters by reason, topic and time, and refuses a reason or topic that names nothing workers write (exit 78)', async () => {
    const { topics, originals, env, base } = await seeded()
    const all = await cli(['dlq', 'list'], env)
    expect(all.code, all.stderr).toBe(65)
    // Partitions are read side by side: in offset order within each.
    const lines = all.stdout.trimEnd().split('\n')
    expect([...lines].sort()).toEqual(
      [
        `${time(base)}  ${topics.raw.name}[1]@41  empty_headline    h-1  headline has no letter or digit`,
        `${time(base + SECOND_MS)}  ${topics.raw.name}[1]@42  invalid_utf8      -  not UTF-8`,
        `${time(base + 2 * SECOND_MS)}  ${topics.headlines.name}[1]@7  schema_invalid    h-3  headline: expected string`,
        `${time(base + 3 * SECOND_MS)}  ${topics.raw.name}[1]@43  tombstone         -  null value`,
        `${time(base + 4 * SECOND_MS)}  ${topics.deskAlerts('gone').name}[1]@0  webhook_failed    a-1  desk gone: POST failed`,
      ].sort(),
    )
    const at = (reason: string) => lines.findIndex((l) => l.includes(`  ${reason} `))
    expect(at('empty_headline')).toBeLessThan(at('schema_invalid'))
    expect(at('schema_invalid')).toBeLessThan(at('webhook_failed'))
    expect(at('invalid_utf8')).toBeLessThan(at('tombstone'))
    expect(all.stderr).toBe(
      `dlq list: ${topics.dlq.name}[2]@2: not a dead letter: not JSON\ndlq list: 5 of 5 dead letters in ${topics.dlq.name}; 1 record of it not read as a dead letter (named above)\n`,
    )

    const json = await cli(
      ['dlq', 'list', '--ndjson', '--reason', 'schema_invalid', '--reason', 'tombstone'],
      env,
    )
    const rows = json.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(rows.map((r) => r.letter.reason).sort()).toEqual(['schema_invalid', 'tombstone'])
    const c = rows.find((r) => r.letter.reason === 'schema_invalid')
    expect(c).toMatchObject({
      dlq: { partition: 0, offset: '1', timestampMs: base + 2 * SECOND_MS },
      id: 'h-3',
      originTimestampMs: originals.c!.rec.timestamp,
      letter: {
        worker: 'scorer',
        origin: { topic: topics.headlines.name, partition: 1, offset: '7' },
        payload: '{"id":"h-3","headline":3}',
      },
    })

    const raw = await cli(['dlq', 'list', '--topic', 'headlines.raw'], env)
    expect(
      raw.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.split('  ')[2]?.trim())
        .sort(),
    ).toEqual(['empty_headline', 'invalid_utf8', 'tombstone'])
    // A mistyped value selected nothing and exited 0, as if the dlq held no such letter.
    const reason = await cli(['dlq', 'replay', '--reason', 'schema-invalid'], env)
    expect(reason.code).toBe(78)
    expectOneLine(
      reason.stderr,
      /^tradepulse: dlq replay: option '--reason <code>' argument 'schema-invalid' is invalid\. Expected a reason workers dead-letter for: tombstone, .*, webhook_failed\. \(see tradepulse dlq replay --help\)$/,
    )
    const topic = await cli(['dlq', 'list', '--topic', 'headline.raw'], env)
    expect(topic.code).toBe(78)
    expectOneLine(
      topic.stderr,
      /^tradepulse: dlq list: --topic "headline\.raw" names no topic of the catalogue: /,
    )
    const versioned = await cli(['dlq', 'list', '--topic', 'headlines.raw.v1'], env)
    expect(versioned.stdout.trimEnd().split('\n')).toHaveLength(3)
    expect(versioned.stderr.trimEnd().split('\n').at(-1)).toBe(
      `dlq list: 3 of 5 dead letters in ${topics.dlq.name}; 1 record of it not read as a dead letter (named above)`,
    )
    const full = await cli(['dlq', 'list', '--topic', topics.deskAlerts('gone').name], env)
    expect(full.stdout).toMatch(/ webhook_failed /)
    expect(full.stdout.trimEnd().split('\n')).toHaveLength(1)

    // By the time the letter was written: the last two (and the record that is none, after them).
    const since = await cli(['dlq', 'list', '--since', new Date(base + 3 * SECOND_MS).toISOString()], env)
    expect(
      since.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.split('  ')[2]?.trim())
        .sort(),
    ).toEqual(['tombstone', 'webhook_failed'])
    const none = await cli(['dlq', 'list', '--since', '1ms'], env)
    expect(none).toMatchObject({
      code: 0,
      stdout: '',
      stderr: `dlq list: 0 of 0 dead letters in ${topics.dlq.name}\n`,
    })
  })

  it('replays the original value, key, headers and timestamp to the origin topic; refuses, sending nothing, when a selected letter cannot be sent', async () => {
    const { topics, originals, env } = await seeded()
    const a = originals.a!.rec
    const b = originals.b!.rec
    const c = originals.c!.rec

    // The tombstone has no value, and the desk topic is gone: nothing is sent, each is named.
    const refused = await cli(['dlq', 'replay'], env)
    expect(refused.code, refused.stderr).toBe(65)
    expect(refused.stdout).toBe('')
    const said = refused.stderr.trimEnd().split('\n')
    expect(said).toContain(`dlq replay: ${topics.dlq.name}[2]@2: not a dead letter: not JSON`)
    expect(said).toContain(
      `dlq replay: cannot send ${topics.dlq.name}[2]@1 (${topics.raw.name}[1]@43, tombstone): no original value (the record had a null value)`,
    )
    expect(said).toContain(
      `dlq replay: cannot send ${topics.dlq.name}[0]@2 (${topics.deskAlerts('gone').name}[1]@0, webhook_failed): Kafka at ${kafkaBrokers.join(',')} (KAFKA_BROKERS) has no topic ${topics.deskAlerts('gone').name}, its origin`,
    )
    expect(said.at(-1)).toBe(
      'dlq replay: refused: 2 of 5 selected (of 5 dead letters read) cannot be sent as the original record; nothing was sent (--skip-unreplayable sends the other 3; --reason, --topic and --since select fewer)',
    )
    expect(await counts(topics.raw.name, topics.headlines.name)).toEqual([0, 0])

    // A dry run prints what it would send and sends nothing.
    const select = ['--topic', 'headlines.raw', '--reason', 'empty_headline', '--reason', 'invalid_utf8']
    const dry = await cli(['dlq', 'replay', '--dry-run', ...select], env)
    expect(dry.code, dry.stderr).toBe(65) // the record that is no dead letter
    expect(dry.stdout.trimEnd().split('\n').sort()).toEqual(
      [
        `${new Date(a.timestamp).toISOString()}  ${topics.raw.name}  key h-1  {"id":"h-1","headline":"  "}`,
        `${new Date(b.timestamp).toISOString()}  ${topics.raw.name}  key (2 bytes, not UTF-8)  (4 bytes, not UTF-8)`,
      ].sort(),
    )
    expect(dry.stderr.trimEnd().split('\n').at(-1)).toBe(
      `dlq replay: dry run: would send 2 records of 2 selected (of 5 dead letters read) to ${topics.raw.name} (2); 1 record of the dlq not read as a dead letter; nothing was sent`,
    )
    expect(await counts(topics.raw.name)).toEqual([0])

    const before = Date.now()
    const sent = await cli(['dlq', 'replay', ...select], env)
    expect(sent.stderr.trimEnd().split('\n').at(-1)).toBe(
      `dlq replay: sent 2 records of 2 selected (of 5 dead letters read) to ${topics.raw.name} (2); 1 record of the dlq not read as a dead letter`,
    )
    const replayed = await readAll(topics.raw.name, 2)
    const byKey = (k: Buffer) => replayed.find((m) => m.key?.equals(k))
    expect(byKey(a.key!)).toMatchObject({ value: a.value, timestamp: String(a.timestamp) })
    // Marked as a replay: when (the alerter's webhook lane counts a resend's age from it), and from where.
    const marks = byKey(a.key!)?.headers ?? {}
    expect(marks).toEqual({
      [REPLAY_HEADERS.replayedAt]: expect.any(Buffer),
      [REPLAY_HEADERS.replayOf]: Buffer.from(`${topics.dlq.name}[0]@0`),
      traceparent: Buffer.from(String(a.headers.traceparent)),
    })
    const replayedAt = Date.parse(String(marks[REPLAY_HEADERS.replayedAt]))
    expect(replayedAt).toBeGreaterThanOrEqual(before)
    expect(replayedAt).toBeLessThanOrEqual(Date.now())
    expect(byKey(b.key!)).toMatchObject({ value: b.value, timestamp: String(b.timestamp) })
    expect(byKey(b.key!)?.headers).toEqual({
      [REPLAY_HEADERS.replayedAt]: marks[REPLAY_HEADERS.replayedAt],
      [REPLAY_HEADERS.replayOf]: Buffer.from(`${topics.dlq.name}[2]@0`),
    })
    expect(await counts(topics.raw.name, topics.headlines.name)).toEqual([2, 0])

    // --skip-unreplayable sends the others, names each left out, and exits 65.
    const skipped = await cli(
      ['dlq', 'replay', '--skip-unreplayable', '--reason', 'schema_invalid', '--reason', 'tombstone'],
      env,
    )
    expect(skipped.code).toBe(65)
    expect(skipped.stderr).toMatch(/cannot send \S+\[2\]@1 \(\S+, tombstone\): no original value/)
    expect(skipped.stderr.trimEnd().split('\n').at(-1)).toBe(
      `dlq replay: sent 1 record of 2 selected (of 5 dead letters read) to ${topics.headlines.name} (1); 1 left out (named above); 1 record of the dlq not read as a dead letter`,
    )
    const [h] = await readAll(topics.headlines.name, 1)
    expect(h).toMatchObject({ key: c.key, value: c.value, timestamp: String(c.timestamp) })
    expect(await counts(topics.raw.name, topics.headlines.name)).toEqual([2, 1])
  })

  it("writes a letter whose CloudEvents headers are its own, the original's kept aside, and replays the original with them; a letter written before replays too", async () => {
    const prefix = `${randomName('cli-dlq-ce')}.`
    const topics = createTopicCatalogue(prefix)
    const desk = topics.deskAlerts('fx').name
    await createTopics(kafkaBrokers, [{ name: topics.dlq.name }, { name: desk }, { name: topics.raw.name }])
    const env = { KAFKA_BROKERS: kafkaBrokers.join(','), TRADEPULSE_TOPIC_PREFIX: prefix }
    const alertId = randomName('alert')
    const alertHeaders = {
      ...cloudEventHeaders({
        id: alertId,
        type: 'dev.tradepulse.alert.v1',
        source: '/tradepulse/alerter/spike',
        time: '2026-03-03T09:00:00.000Z',
        subject: 'ticker:AAPL',
      }),
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    }
    // A headline whose producer sent CloudEvents headers of its own, dead-lettered before letters had theirs.
    const headlineHeaders = {
      ce_id: 'feed-7',
      ce_type: 'com.example.news',
      'content-type': 'application/json',
    }
    const producer = await testProducer(kafkaBrokers)
    try {
      const stamp = Date.now() - 86_400_000
      await producer.send({
        topic: desk,
        messages: [
          {
            key: 'ticker:AAPL',
            value: `{"id":"${alertId}"}`,
            headers: alertHeaders,
            timestamp: String(stamp),
          },
        ],
      })
      await producer.send({
        topic: topics.raw.name,
        messages: [{ key: 'h-9', value: '{"id":"h-9"}', headers: headlineHeaders, timestamp: String(stamp) }],
      })
      const [alert] = await readAll(desk, 1)
      const [headline] = await readAll(topics.raw.name, 1)
      const letter = deadLetterRecord(
        topics.dlq.name,
        'alerter',
        toInRecord(desk, 0, alert!),
        'webhook_failed',
        'POST failed',
        new Date(),
      )
      // As letters were written before: the original headers as the letter's own, then the dlq's.
      const made = deadLetterRecord(
        topics.dlq.name,
        'ingest',
        toInRecord(topics.raw.name, 0, headline!),
        'schema_invalid',
        'm',
        new Date(),
      )
      const dlqOwn = Object.fromEntries(
        Object.entries(made.headers!).filter(([k]) => (Object.values(DLQ_HEADERS) as string[]).includes(k)),
      )
      await producer.send({
        topic: topics.dlq.name,
        messages: [
          { key: letter.key, value: letter.value, headers: letter.headers },
          { key: made.key, value: made.value, headers: { ...headline!.headers, ...dlqOwn } },
        ],
      })

      // On the dlq, the letter is an event of its own; before, it had the alert's ce_type and ce_id.
      const [onDlq] = await readAll(topics.dlq.name, 2)
      const h = Object.fromEntries(Object.entries(onDlq!.headers!).map(([k, v]) => [k, String(v)]))
      expect(h).toMatchObject({
        ce_specversion: '1.0',
        ce_type: DEAD_LETTER_CE_TYPE,
        ce_source: '/tradepulse/alerter',
        ce_subject: `${desk}[0]@0`,
        'content-type': 'application/json',
        'tp-original-ce_id': alertId,
        'tp-original-ce_type': 'dev.tradepulse.alert.v1',
        'tp-original-content-type': 'application/json',
        [DLQ_HEADERS.reason]: 'webhook_failed',
      })
      expect(h.ce_id).not.toBe(alertId)

      const sent = await cli(['dlq', 'replay'], env)
      expect(sent.code, sent.stderr).toBe(0)
      const withoutMarks = (m: KafkaMessage) =>
        Object.fromEntries(
          Object.entries(m.headers ?? {}).filter(
            ([k]) => k !== REPLAY_HEADERS.replayedAt && k !== REPLAY_HEADERS.replayOf,
          ),
        )
      // Each original as it was: key, value, timestamp, and its headers byte for byte, in their order.
      const marked = (m: KafkaMessage) => m.headers?.[REPLAY_HEADERS.replayOf] !== undefined
      const again = (await readAll(desk, 2)).find(marked)
      expect(again).toMatchObject({ key: alert!.key, value: alert!.value, timestamp: alert!.timestamp })
      expect(Object.keys(withoutMarks(again!))).toEqual(Object.keys(alert!.headers!))
      expect(withoutMarks(again!)).toEqual(alert!.headers)
      const headlineAgain = (await readAll(topics.raw.name, 2)).find(marked)
      expect(headlineAgain).toMatchObject({ key: headline!.key, value: headline!.value })
      expect(withoutMarks(headlineAgain!)).toEqual(headline!.headers)
    } finally {
      await producer.disconnect()
    }
  })

  it('refuses a letter of a compacted topic unless --allow-compacted, and skips letters of records a replay sent unless --include-replayed', async () => {
    const prefix = `${randomName('cli-dlq-again')}.`
    const topics = createTopicCatalogue(prefix)
    await createTopics(kafkaBrokers, [
      { name: topics.dlq.name },
      { name: topics.raw.name },
      { name: topics.indicators.name, config: { 'cleanup.policy': 'compact' } },
    ])
    const env = { KAFKA_BROKERS: kafkaBrokers.join(','), TRADEPULSE_TOPIC_PREFIX: prefix }
    const original = (topic: string, key: string): InRecord => ({
      topic,
      partition: 0,
      offset: '3',
      key: Buffer.from(key),
      value: Buffer.from(`{"id":"${key}"}`),
      headers: {},
      timestamp: Date.now() - 86_400_000,
    })
    const producer = await testProducer(kafkaBrokers)
    const write = async (rec: InRecord, worker: string) => {
      const out = deadLetterRecord(topics.dlq.name, worker, rec, 'schema_invalid', 'm', new Date())
      await producer.send({
        topic: topics.dlq.name,
        messages: [{ key: out.key, value: out.value, headers: out.headers }],
      })
    }
    try {
      await write(original(topics.raw.name, 'h-1'), 'ingest')
      // Made the indicator's newest reading on the compacted topic: the last record of its key.
      await write(original(topics.indicators.name, 'tariff:global'), 'alerter')

      const refused = await cli(['dlq', 'replay'], env)
      expect(refused.code, refused.stderr).toBe(65)
      expect(refused.stderr).toContain(
        `dlq replay: cannot send ${topics.dlq.name}[0]@1 (${topics.indicators.name}[0]@3, schema_invalid): its origin ${topics.indicators.name} is compacted: a reader starting afresh takes each key's last record there for its newest value, which this old one would be until the key's next update; --allow-compacted sends it all the same`,
      )
      expect(await counts(topics.raw.name, topics.indicators.name)).toEqual([0, 0])
      const allowed = await cli(['dlq', 'replay', '--allow-compacted', '--topic', 'indicators'], env)
      expect(allowed.code, allowed.stderr).toBe(0)
      expect(await counts(topics.indicators.name)).toEqual([1])

      // The replayed headline fails again: ingest dead-letters it as it came, the replay's marks with it.
      expect((await cli(['dlq', 'replay', '--topic', 'headlines.raw'], env)).code).toBe(0)
      const [replayed] = await readAll(topics.raw.name, 1)
      await write(toInRecord(topics.raw.name, 0, replayed!), 'ingest')

      // list said nothing of the marks: the letter read as an original one.
      const at = String(replayed!.headers?.[REPLAY_HEADERS.replayedAt])
      const listed = await cli(['dlq', 'list', '--topic', 'headlines.raw'], env)
      expect(listed.code, listed.stderr).toBe(0)
      const [first, second] = listed.stdout.trimEnd().split('\n')
      expect(first).toMatch(/ {2}schema_invalid {4}h-1 {2}m$/)
      expect(second).toMatch(
        new RegExp(
          ` {2}schema_invalid {4}h-1 {2}\\(replay of ${topics.dlq.name.replaceAll('.', '\\.')}\\[0\\]@0 at ${at.replace('T', ' ').slice(0, 19)}\\) {2}m$`,
        ),
      )
      const json = await cli(['dlq', 'list', '--ndjson', '--topic', 'headlines.raw'], env)
      const rows = json.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l))
      expect(rows.map((r) => r.replay)).toEqual([undefined, { of: `${topics.dlq.name}[0]@0`, at }])

      const again = await cli(['dlq', 'replay', '--topic', 'headlines.raw'], env)
      expect(again.code, again.stderr).toBe(0)
      expect(again.stderr.trimEnd()).toBe(
        `dlq replay: sent 1 record of 2 selected (of 3 dead letters read) to ${topics.raw.name} (1); 1 skipped: a letter of a record an earlier replay from this dlq sent (${REPLAY_HEADERS.replayOf}), the letter each was replayed from being the one to replay (--include-replayed sends these too)`,
      )
      expect(await counts(topics.raw.name)).toEqual([2])
      const both = await cli(
        ['dlq', 'replay', '--dry-run', '--include-replayed', '--topic', 'headlines.raw'],
        env,
      )
      expect(both.stderr.trimEnd().split('\n').at(-1)).toBe(
        `dlq replay: dry run: would send 2 records of 2 selected (of 3 dead letters read) to ${topics.raw.name} (2); nothing was sent`,
      )
    } finally {
      await producer.disconnect()
    }
  })

  it('sends each original once when several workers dead-lettered it, counting the duplicates, and selects by --worker', async () => {
    // The aggregator and the alerter both read headlines.scored and each dead-lettered the records both
    // failed on: a replay sent one record per letter, each original twice (16 sent for 9 originals).
    const prefix = `${randomName('cli-dlq-dup')}.`
    const topics = createTopicCatalogue(prefix)
    await createTopics(kafkaBrokers, [
      { name: topics.dlq.name, partitions: 2 },
      { name: topics.scored.name, partitions: 2 },
      { name: topics.raw.name },
    ])
    const env = { KAFKA_BROKERS: kafkaBrokers.join(','), TRADEPULSE_TOPIC_PREFIX: prefix }
    const original = (topic: string, offset: number): InRecord => ({
      topic,
      partition: 1,
      offset: String(offset),
      key: Buffer.from(`h-${offset}`),
      value: Buffer.from(`{"id":"h-${offset}"}`),
      headers: {},
      timestamp: Date.now() - 86_400_000,
    })
    // scored@0-2 by both, @0 by the alerter once more (a batch taken again after a restart), the
    // alerter's letters on the other dlq partition; raw@0 by ingest alone.
    const letters: [string, InRecord, number][] = [
      ['aggregator', original(topics.scored.name, 0), 0],
      ['aggregator', original(topics.scored.name, 1), 0],
      ['aggregator', original(topics.scored.name, 2), 0],
      ['alerter', original(topics.scored.name, 0), 1],
      ['alerter', original(topics.scored.name, 1), 1],
      ['alerter', original(topics.scored.name, 2), 1],
      ['alerter', original(topics.scored.name, 0), 1],
      ['ingest', original(topics.raw.name, 0), 0],
    ]
    const producer = await testProducer(kafkaBrokers)
    try {
      for (const [worker, rec, partition] of letters) {
        const out = deadLetterRecord(topics.dlq.name, worker, rec, 'handler_error', 'm', new Date())
        await producer.send({
          topic: topics.dlq.name,
          messages: [{ key: out.key, value: out.value, headers: out.headers, partition }],
        })
      }
    } finally {
      await producer.disconnect()
    }

    const dry = await cli(['dlq', 'replay', '--dry-run'], env)
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout.trimEnd().split('\n')).toHaveLength(4)
    expect(dry.stderr.trimEnd()).toBe(
      `dlq replay: dry run: would send 4 records of 8 selected (of 8 dead letters read) to ${topics.scored.name} (3), ${topics.raw.name} (1); 4 duplicates skipped: letters of an original another letter sends (the same origin topic[partition]@offset, dead-lettered by several workers or more than once); nothing was sent`,
    )
    expect(await counts(topics.scored.name, topics.raw.name)).toEqual([0, 0])

    const alerter = await cli(['dlq', 'replay', '--worker', 'alerter'], env)
    expect(alerter.code, alerter.stderr).toBe(0)
    expect(alerter.stderr.trimEnd()).toBe(
      `dlq replay: sent 3 records of 4 selected (of 8 dead letters read) to ${topics.scored.name} (3); 1 duplicate skipped: a letter of an original another letter sends (the same origin topic[partition]@offset, dead-lettered by several workers or more than once)`,
    )
    const sent = await readAll(topics.scored.name, 3)
    expect(sent.map((m) => String(m.key)).sort()).toEqual(['h-0', 'h-1', 'h-2'])
    // Each from an alerter letter: dlq partition 1.
    expect(sent.map((m) => String(m.headers?.[REPLAY_HEADERS.replayOf])).sort()).toEqual([
      `${topics.dlq.name}[1]@0`,
      `${topics.dlq.name}[1]@1`,
      `${topics.dlq.name}[1]@2`,
    ])
    expect(await counts(topics.scored.name, topics.raw.name)).toEqual([3, 0])

    const all = await cli(['dlq', 'replay', '--worker', 'ingest', '--worker', 'aggregator'], env)
    expect(all.code, all.stderr).toBe(0)
    expect(all.stderr.trimEnd()).toBe(
      `dlq replay: sent 4 records of 4 selected (of 8 dead letters read) to ${topics.scored.name} (3), ${topics.raw.name} (1)`,
    )
    expect(await counts(topics.scored.name, topics.raw.name)).toEqual([6, 1])

    const listed = await cli(['dlq', 'list', '--worker', 'ingest'], env)
    expect(listed.stdout.trimEnd().split('\n')).toEqual([
      expect.stringContaining(`${topics.raw.name}[1]@0  handler_error`),
    ])
    // A mistyped worker selected nothing and exited 0.
    const typo = await cli(['dlq', 'replay', '--worker', 'alerters'], env)
    expect(typo.code).toBe(78)
    expectOneLine(
      typo.stderr,
      /^tradepulse: dlq replay: option '--worker <name>' argument 'alerters' is invalid\. Expected a worker: ingest, scorer, aggregator, alerter, gateway\. \(see tradepulse dlq replay --help\)$/,
    )
  })

  it('ends at the end the dlq had when it started, while letters keep coming', async () => {
    const { topics, env } = await seeded()
    const producer = await testProducer(kafkaBrokers)
    let writing = true
    let written = 0
    const writer = (async () => {
      const rec: InRecord = {
        topic: topics.raw.name,
        partition: 0,
        offset: '0',
        key: null,
        value: Buffer.from('{}'),
        headers: {},
        timestamp: 0,
      }
      while (writing) {
        const out = deadLetterRecord(
          topics.dlq.name,
          'ingest',
          rec,
          'handler_error',
          'written meanwhile',
          new Date(),
        )
        await producer.send({
          topic: topics.dlq.name,
          messages: [{ key: out.key, value: out.value, headers: out.headers }],
        })
        written++
        await new Promise((r) => setTimeout(r, 20))
      }
    })()
    try {
      await waitFor(() => written >= 5, { what: 'letters written meanwhile' })
      // Read to the live end, it would follow the writer, which stops only once it has exited.
      const listed = await cli(['dlq', 'list', '--reason', 'handler_error'], env)
      expect(listed.code, listed.stderr).toBe(65)
      const n = listed.stdout.trimEnd().split('\n').length
      expect(n).toBeGreaterThanOrEqual(5)
      expect(n).toBeLessThan(written)
    } finally {
      writing = false
      await writer
      await producer.disconnect()
    }
  })

  it('sends with --after only the letters past the offsets an interrupted replay printed, none of those before again', async () => {
    // An interrupted replay could not be resumed: the letters it sent are not marked, so a run again sent
    // each of them once more.
    const { topics, originals, env } = await seeded()
    const select = ['--topic', 'headlines.raw', '--reason', 'empty_headline', '--reason', 'invalid_utf8']
    // a (dlq [0]@0) sent, b ([2]@0) not: as an interruption after a's request would leave it.
    const first = await cli(['dlq', 'replay', ...select, '--after', '2@0'], env)
    expect(first.code, first.stderr).toBe(65) // the record that is no dead letter
    expect(first.stderr.trimEnd().split('\n').at(-1)).toBe(
      `dlq replay: sent 1 record of 1 selected (of 4 dead letters read) to ${topics.raw.name} (1); 1 record of the dlq not read as a dead letter`,
    )
    const rest = await cli(['dlq', 'replay', ...select, '--after', '0@0'], env)
    expect(rest.stderr.trimEnd().split('\n').at(-1)).toBe(
      `dlq replay: sent 1 record of 1 selected (of 4 dead letters read) to ${topics.raw.name} (1); 1 record of the dlq not read as a dead letter`,
    )
    const sent = await readAll(topics.raw.name, 2)
    expect(sent.map((m) => m.key!).sort(Buffer.compare)).toEqual(
      [originals.a!.rec.key!, originals.b!.rec.key!].sort(Buffer.compare),
    )
    expect(await counts(topics.raw.name)).toEqual([2])
    // list takes it too; a partition the dlq does not have, or a bad value, is refused (exit 78).
    const listed = await cli(['dlq', 'list', '--after', '0@1,2@1'], env)
    expect(listed.stdout.trimEnd().split('\n')).toHaveLength(1)
    expect(listed.stdout).toContain('webhook_failed')
    const missing = await cli(['dlq', 'replay', '--after', '7@0'], env)
    expect(missing.code).toBe(78)
    expectOneLine(
      missing.stderr,
      /^tradepulse: dlq replay: --after 7@0 names partition 7, which \S+ does not have \(partitions 0, 1, 2\)$/,
    )
    const bad = await cli(['dlq', 'replay', '--after', '0:4'], env)
    expect(bad.code).toBe(78)
    expectOneLine(
      bad.stderr,
      /^tradepulse: dlq replay: option '--after <positions>' argument '0:4' is invalid/,
    )
  })

  it("says on SIGINT that it sent nothing while checking the letters, and exits with the signal's code", async () => {
    // It ended by the signal's default, with no line. A dry run whose stdout is not read blocks once the
    // pipe is full: the signal lands while it checks the letters, every time.
    const prefix = `${randomName('cli-dlq-signal')}.`
    const topics = createTopicCatalogue(prefix)
    await createTopics(kafkaBrokers, [{ name: topics.dlq.name }, { name: topics.raw.name }])
    const producer = await testProducer(kafkaBrokers)
    try {
      const messages = Array.from({ length: 3_000 }, (_, i) => {
        const rec: InRecord = {
          topic: topics.raw.name,
          partition: 0,
          offset: String(i),
          key: Buffer.from(`h-${i}`),
          value: Buffer.from(JSON.stringify({ id: `h-${i}`, headline: 'x'.repeat(200) })),
          headers: {},
          timestamp: Date.now() - 86_400_000,
        }
        const out = deadLetterRecord(topics.dlq.name, 'ingest', rec, 'schema_invalid', 'm', new Date())
        return { key: out.key, value: out.value, headers: out.headers }
      })
      for (let i = 0; i < messages.length; i += 500)
        await producer.send({ topic: topics.dlq.name, messages: messages.slice(i, i + 500) })
    } finally {
      await producer.disconnect()
    }
    const child = spawn(process.execPath, [MAIN, 'dlq', 'replay', '--dry-run'], {
      env: {
        PATH: process.env.PATH ?? '',
        KAFKA_BROKERS: kafkaBrokers.join(','),
        TRADEPULSE_TOPIC_PREFIX: prefix,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d) => {
      stderr += d
    })
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('exit', (code, signal) => resolve([code, signal])),
    )
    // Its first lines: it is checking the letters, its signal handling in place. Nothing more is read,
    // so it blocks on the full pipe, 3,000 lines from its end.
    let printing = false
    child.stdout.once('readable', () => {
      printing = true
    })
    await waitFor(() => printing, { what: 'the dry run printing' })
    child.kill('SIGINT')
    child.stdout.resume()
    expect(await exited, stderr).toEqual([130, null])
    expect(stderr).toBe('dlq replay: interrupted by SIGINT: nothing sent\n')
    expect(await counts(topics.raw.name)).toEqual([0])
  })

  it('refuses a prefix whose dlq Kafka does not have in one line (exit 78), and reads an empty one at once', async () => {
    const prefix = `${randomName('cli-dlq-none')}.`
    const env = { KAFKA_BROKERS: kafkaBrokers.join(','), TRADEPULSE_TOPIC_PREFIX: prefix }
    const missing = await cli(['dlq', 'replay'], env)
    expect(missing.code).toBe(78)
    expectOneLine(
      missing.stderr,
      new RegExp(
        `^tradepulse: dlq replay: Kafka at \\S+ \\(KAFKA_BROKERS\\) has no topic ${prefix.replaceAll('.', '\\.')}dlq\\.v1 \\(TRADEPULSE_TOPIC_PREFIX "${prefix.replaceAll('.', '\\.')}"; the workers create it as they start, as does tradepulse topics create\\)$`,
      ),
    )
    await createTopics(kafkaBrokers, [{ name: createTopicCatalogue(prefix).dlq.name, partitions: 2 }])
    const empty = await cli(['dlq', 'list'], env)
    expect(empty).toMatchObject({ code: 0, stdout: '' })
    expect(empty.stderr).toMatch(/^dlq list: 0 of 0 dead letters in /)
  })
})
