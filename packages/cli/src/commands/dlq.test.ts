import { TradepulseError } from '@tradepulse/platform'
import { InvalidArgumentError } from 'commander'
import { describe, expect, it } from 'vitest'
import { filterOf, formatReplayRecord, reasonCode, sinceTime } from './dlq.ts'

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
