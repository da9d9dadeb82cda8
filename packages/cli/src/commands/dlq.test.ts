import { InvalidArgumentError } from 'commander'
import { describe, expect, it } from 'vitest'
import { formatReplayRecord, sinceTime } from './dlq.ts'

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
