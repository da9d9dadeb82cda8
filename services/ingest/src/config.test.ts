import { loadConfig } from '@tradepulse/platform'
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
