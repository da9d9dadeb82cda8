import { LIMITS, normalizeText } from '@tradepulse/contracts'
import { DEFAULT_INGEST_LIMITS, parseRawRecord } from '@tradepulse/ingest'
import { InvalidArgumentError } from 'commander'
import { describe, expect, it } from 'vitest'
import { sourceName } from './option-values.ts'

/**
 * Whether ingest stamps a raw headline with `source` whole, as normalised (not its default, not the dlq,
 * not cut to the limit: eb7338c cuts a longer one where it used to dead-letter the headline).
 */
function ingestKeeps(source: string): boolean {
  const raw = Buffer.from(JSON.stringify({ headline: 'US raises tariffs on steel', source }))
  const r = parseRawRecord(raw, Date.now(), DEFAULT_INGEST_LIMITS, 'the-default')
  return r.ok && r.headline.source !== 'the-default' && r.headline.source === normalizeText(source)
}

const takes = (name: string) => {
  try {
    sourceName(name)
    return true
  } catch (err) {
    if (err instanceof InvalidArgumentError) return false
    throw err
  }
}

describe('sourceName (replay --source)', () => {
  it('refuses a name that NFKC takes past 100 characters, which ingest cuts, naming its length', () => {
    // U+FDFA is one character and 18 once normalised: ten of them passed the check of the name as given,
    // and every row stamped with it went to the dlq (schema_invalid) while replay exited 0.
    const name = '\ufdfa'.repeat(10)
    expect(name.length).toBeLessThanOrEqual(LIMITS.maxSourceChars)
    expect(() => sourceName(name)).toThrow(
      new InvalidArgumentError(
        `Expected a source name of at most ${LIMITS.maxSourceChars} characters once normalised as ingest normalises it (NFKC expands some characters); this one is 180 (ingest cuts a longer source to that, so no headline would carry this name).`,
      ),
    )
  })

  it('takes exactly the names ingest stamps as given, at the limit either side of normalisation', () => {
    const names = [
      'reuters',
      'x'.repeat(LIMITS.maxSourceChars),
      'x'.repeat(LIMITS.maxSourceChars + 1),
      '\ufdfa'.repeat(5), // 90 once normalised
      '\ufdfa'.repeat(6), // 108
      `${'\ufdfa'.repeat(5)}${'x'.repeat(10)}`, // 100
      `${'\ufdfa'.repeat(5)}${'x'.repeat(11)}`, // 101
      '\u3392'.repeat(34), // each "MHz": 102
      '\u3392'.repeat(33), // 99
      // Shorter once normalised: white space runs one space, invisible characters gone.
      `${'x'.repeat(90)}${'\u200b'.repeat(10)}`,
      `${'x'.repeat(95)}${' '.repeat(6)}`,
      '\u200b',
      ' ',
    ]
    const verdicts = names.map((n) => [n, takes(n)])
    expect(verdicts).toEqual(names.map((n) => [n, ingestKeeps(n)]))
    // Both ways among them: the comparison means something.
    expect(new Set(verdicts.map(([, v]) => v))).toEqual(new Set([true, false]))
  })
})
