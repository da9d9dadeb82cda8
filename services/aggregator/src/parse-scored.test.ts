import { LIMITS } from '@tradepulse/contracts'
import { contributionsOf } from '@tradepulse/indicators'
import { describe, expect, it } from 'vitest'
import { parseScoredRecord, scoredEventMs } from './aggregator-handler.ts'
import { MIN_MS, scoredSeries } from './scored-fixtures.ts'

const [good] = scoredSeries(1, { startMs: Date.UTC(2025, 0, 6), spanMs: MIN_MS })
const record = (value: unknown) => Buffer.from(JSON.stringify(value))

describe('parseScoredRecord (what indicators read of a scored headline)', () => {
  it('keeps exactly the fields contributions are computed from, and the entry time updates carry on', () => {
    const parsed = parseScoredRecord(record(good))
    expect(parsed.ok).toBe(true)
    if (!parsed.ok) return
    expect(Object.keys(parsed.value).sort()).toEqual([
      'entities',
      'id',
      'ingestedAt',
      'publishedAt',
      'scores',
    ])
    expect(parsed.value.scores).toEqual(good!.scores)
    expect(parsed.value.entities).toEqual(good!.entities)
  })

  it('does not judge fields it does not use (the alerter reads those)', () => {
    const parsed = parseScoredRecord(record({ ...good, explanation: 'not a list', headline: 42 }))
    expect(parsed.ok).toBe(true)
  })

  it('reads a record a newer scorer wrote, with fields it does not know at any depth, as without them', () => {
    const newer = {
      ...good,
      sentiment: { v2: 0.3 },
      scores: {
        ...good!.scores,
        sentimentV2: -0.4,
        tariff: { ...good!.scores.tariff, calibrated: true },
      },
      entities: { ...good!.entities, people: ['Lutnick'] },
    }
    const parsed = parseScoredRecord(record(newer))
    expect(parsed).toEqual(parseScoredRecord(record(good)))
  })

  it('checks the fields it uses as strictly as the full contract, naming them', () => {
    const cases: [unknown, RegExp][] = [
      [{ ...good, publishedAt: 'yesterday' }, /publishedAt/],
      [{ ...good, ingestedAt: 'yesterday' }, /ingestedAt/],
      [{ ...good, id: '' }, /^id:/],
      [
        { ...good, scores: { ...good!.scores, tariff: { ...good!.scores.tariff, relevance: 2 } } },
        /scores\.tariff/,
      ],
      [
        { ...good, scores: { ...good!.scores, market: { score: '0.2', label: 'positive' } } },
        /scores\.market/,
      ],
      [{ ...good, entities: { ...good!.entities, regions: 'US' } }, /entities\.regions/],
    ]
    for (const [value, field] of cases) {
      const parsed = parseScoredRecord(record(value))
      expect(parsed.ok).toBe(false)
      if (parsed.ok) continue
      expect(parsed.reason).toBe('schema_invalid')
      expect(parsed.message).toMatch(field)
    }
  })

  it('dead-letters an entity id longer than a scope id may be, naming it: no Redis key or update is made of it', () => {
    const named = (companies: string[]) =>
      parseScoredRecord(record({ ...good, entities: { ...good!.entities, companies } }))
    // The longest watchlist id, every character one its indicator key escapes: taken.
    expect(named(['{'.repeat(LIMITS.maxScopeIdChars)]).ok).toBe(true)
    for (const id of ['x'.repeat(LIMITS.maxScopeIdChars + 1), 'x'.repeat(1_000_000)]) {
      const parsed = named(['TSLA', id])
      expect(parsed).toMatchObject({ ok: false, reason: 'schema_invalid' })
      if (parsed.ok) continue
      expect(parsed.message).toBe('entities.companies.1: Too big: expected string to have <=64 characters')
    }
  })
})

describe('scoredEventMs (the event time the runner aligns partitions by)', () => {
  it('reads the event time contributions carry, without parsing the record', () => {
    const parsed = parseScoredRecord(record(good))
    if (!parsed.ok) throw new Error(parsed.message)
    expect(scoredEventMs(record(good))).toBe(contributionsOf(parsed.value)[0]!.eventMs)
    expect(scoredEventMs(record(good))).toBe(Date.parse(good!.publishedAt))
  })

  it('is not fooled by the key written inside a string, and reads JSON written with spaces', () => {
    const quoted = { note: 'a "publishedAt":"1999-01-01T00:00:00Z" b', ...good } // the note is written first
    expect(scoredEventMs(record(quoted))).toBe(Date.parse(good!.publishedAt))
    expect(scoredEventMs(Buffer.from(JSON.stringify(good, null, 2)))).toBe(Date.parse(good!.publishedAt))
  })

  it('gives nothing for a record the handler sends to the dlq', () => {
    expect(scoredEventMs(null)).toBeUndefined()
    expect(scoredEventMs(Buffer.from('not json'))).toBeUndefined()
    expect(scoredEventMs(record({ ...good, publishedAt: 'yesterday' }))).toBeUndefined()
    expect(scoredEventMs(record({ ...good, publishedAt: undefined }))).toBeUndefined()
  })
})
