import { loadConfig, MAX_DURATION_MS } from '@tradepulse/platform'
import { numberNotations } from '@tradepulse/platform/config-test-support'
import { describe, expect, it } from 'vitest'
import { IngestConfig } from './config.ts'

const source = (value: string) =>
  loadConfig(IngestConfig, { INGEST_DEFAULT_SOURCE: value }).INGEST_DEFAULT_SOURCE

describe('IngestConfig: INGEST_DEFAULT_SOURCE', () => {
  it('is normalised as a headline source is', () => {
    expect(source('unknown')).toBe('unknown')
    expect(source('  Reuters \u00a0 Wire ')).toBe('Reuters Wire')
    expect(source('Re\u200buters')).toBe('Reuters')
    expect(source('ＡＰ')).toBe('AP') // NFKC
    expect(loadConfig(IngestConfig, {}).INGEST_DEFAULT_SOURCE).toBe('unknown')
  })

  it.each([
    ['a zero-width space', '\u200b', '"\\u200B"'],
    ['a word joiner and a no-break space', '\u2060\u00a0', '"\\u2060\\u00A0"'],
    ['a Hangul filler', '\u3164', '"\\u3164"'],
    ['the braille blank', '\u2800', '"\\u2800"'],
  ])(
    'refuses %s, which would be the source of every headline naming none, naming the variable',
    (_, value, shown) => {
      expect(() => source(value)).toThrow(
        `invalid configuration:\n  INGEST_DEFAULT_SOURCE: shows nothing after normalisation (white space or invisible characters only) (got ${shown})`,
      )
    },
  )

  it('measures its length after normalisation', () => {
    // U+FDFA takes 18 characters in NFKC: 6 of them make 108, past the 100 a source may have.
    expect(() => source('\ufdfa'.repeat(6))).toThrow(
      /INGEST_DEFAULT_SOURCE: at most 100 characters after normalisation/,
    )
    expect(source('s'.repeat(100))).toHaveLength(100)
  })
})

describe('IngestConfig: durations that set no timer', () => {
  // INGEST_DEDUP_WINDOW_MS is a Redis PX and the end of a refill shown as a date after a Redis loss;
  // INGEST_MAX_FUTURE_MS bounds the entry times taken, each written as a date: 2^53 - 1 was taken, and
  // the date a window past the clock is no Date (toISOString throws).
  it.each(['INGEST_DEDUP_WINDOW_MS', 'INGEST_MAX_FUTURE_MS', 'INGEST_ALIGN_AHEAD_MS'])(
    'refuses %s past the longest duration a date can be moved by, naming it',
    (name) => {
      expect(() => loadConfig(IngestConfig, { [name]: '9007199254740991' })).toThrow(
        `invalid configuration:\n  ${name}: at most ${MAX_DURATION_MS} ms (about 265,000 years)`,
      )
      expect(
        loadConfig(IngestConfig, { [name]: String(MAX_DURATION_MS) })[name as 'INGEST_MAX_FUTURE_MS'],
      ).toBe(MAX_DURATION_MS)
    },
  )
})

describe('IngestConfig: numeric variables', () => {
  it('reads each in decimal digits only, its own as the shared ones, naming one given otherwise', () => {
    // The schema alone took 1e4, 0x10 and +5 (Number(), z.coerce): only loadConfig's check of the text
    // besides refused them.
    const { numeric, taken } = numberNotations(IngestConfig)
    expect(numeric).toEqual(
      expect.arrayContaining([
        'INGEST_DEDUP_WINDOW_MS',
        'INGEST_MAX_RECORD_BYTES',
        'INGEST_MAX_FUTURE_MS',
        'INGEST_ALIGN_AHEAD_MS',
      ]),
    )
    expect(taken).toEqual([])
    expect(() =>
      loadConfig(IngestConfig, { INGEST_DEDUP_WINDOW_MS: '1e4', INGEST_MAX_FUTURE_MS: '0x10' }),
    ).toThrow(
      'invalid configuration:\n  INGEST_DEDUP_WINDOW_MS: a whole number in decimal digits (0-9) only (got "1e4")\n  INGEST_MAX_FUTURE_MS: a whole number in decimal digits (0-9) only (got "0x10")',
    )
  })
})

describe('IngestConfig: catching up in event time', () => {
  it('keeps raw partitions within a minute of each other by default, and handles all six at once', () => {
    const config = loadConfig(IngestConfig, {})
    expect(config.INGEST_ALIGN_AHEAD_MS).toBe(60_000)
    // Fewer slots than raw partitions would have them take turns while catching up.
    expect(config.KAFKA_PARTITIONS_CONCURRENCY).toBe(6)
    expect(loadConfig(IngestConfig, { KAFKA_PARTITIONS_CONCURRENCY: '2' }).KAFKA_PARTITIONS_CONCURRENCY).toBe(
      2,
    )
  })

  it('refuses a bound under a second, naming it', () => {
    expect(() => loadConfig(IngestConfig, { INGEST_ALIGN_AHEAD_MS: '999' })).toThrow(/INGEST_ALIGN_AHEAD_MS/)
  })
})
