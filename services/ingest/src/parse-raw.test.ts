import { createHash } from 'node:crypto'
import {
  Headline,
  ISO_TIME_MIN_MS,
  ISO_TIME_OUT_OF_RANGE,
  LIMITS,
  RawHeadlineReader,
} from '@tradepulse/contracts'
import { duplicateKeyPath, parseJsonRecord } from '@tradepulse/platform'
import { describe, expect, it } from 'vitest'
import { contentId, DEFAULT_INGEST_LIMITS, MIN_ENTRY_MS, parseRawRecord, rawEventMs } from './parse-raw.ts'

const T = Date.parse('2025-01-02T03:04:05Z')
const parse = (v: string | Buffer | null, limits = DEFAULT_INGEST_LIMITS) =>
  parseRawRecord(typeof v === 'string' ? Buffer.from(v) : v, T, limits, 'unknown', T)

describe('parseRawRecord', () => {
  it('accepts a minimal raw headline and fills in source, id and times', () => {
    const r = parse(JSON.stringify({ headline: 'EU weighs tariffs on Chinese EVs' }))
    expect(r.ok && r.headline).toEqual({
      id: contentId('unknown', 'EU weighs tariffs on Chinese EVs'),
      source: 'unknown',
      headline: 'EU weighs tariffs on Chinese EVs',
      publishedAt: '2025-01-02T03:04:05.000Z',
      ingestedAt: '2025-01-02T03:04:05.000Z',
      truncated: false,
    })
  })
  it('ignores a field it does not know (a feed that adds one goes on) and passes none on', () => {
    const plain = { id: 'f-1', headline: 'EU weighs tariffs', publishedAt: '2025-01-02T03:00:00Z' }
    const r = parse(JSON.stringify({ ...plain, lang: 'en', meta: { desk: 'fx', text: '\ud800' } }))
    expect(r).toEqual(parse(JSON.stringify(plain)))
    // A known field is still checked: of the wrong type, or missing, it is refused with its name.
    expect(parse(JSON.stringify({ ...plain, lang: 'en', publishedAt: 3 }))).toMatchObject({
      ok: false,
      reason: 'schema_invalid',
      message: expect.stringMatching(/^publishedAt: /),
    })
    expect(parse(JSON.stringify({ id: 'f-1', lang: 'en' }))).toMatchObject({
      ok: false,
      reason: 'schema_invalid',
      message: expect.stringMatching(/^headline: /),
    })
  })
  it('takes null in an optional field as the field absent (Jackson, Go pointer fields, Python None write it)', () => {
    const OPTIONAL = ['id', 'source', 'body', 'url', 'publishedAt']
    const text = 'EU weighs tariffs on Chinese EVs'
    const bare = parse(JSON.stringify({ headline: text }))
    expect(bare.ok).toBe(true)
    for (const field of OPTIONAL)
      expect([field, parse(JSON.stringify({ headline: text, [field]: null }))]).toStrictEqual([field, bare])
    const allNull = Object.fromEntries(OPTIONAL.map((f) => [f, null]))
    expect(parse(JSON.stringify({ ...allNull, headline: text }))).toStrictEqual(bare)
    // The id generated and the entry time taken, as for a record without them; no null passed on.
    expect(bare.ok && [bare.headline.id, bare.headline.publishedAt, 'body' in bare.headline]).toStrictEqual([
      contentId('unknown', text),
      '2025-01-02T03:04:05.000Z',
      false,
    ])
    // The other fields given are kept, whichever are null.
    const given = {
      id: 'rt-9',
      source: 'wire',
      body: 'Brussels said.',
      url: 'https://e.x/1',
      publishedAt: '2025-01-02T03:00:00Z',
    }
    for (const field of OPTIONAL) {
      const { [field as keyof typeof given]: _, ...rest } = given
      expect([field, parse(JSON.stringify({ ...given, headline: text, [field]: null }))]).toStrictEqual([
        field,
        parse(JSON.stringify({ ...rest, headline: text })),
      ])
    }
    // Also where zod decides, not the fast path (an id of 101 astral characters: 202 UTF-16 units).
    const astral = '📈'.repeat(101)
    expect(parse(JSON.stringify({ ...allNull, id: astral, headline: text }))).toStrictEqual(
      parse(JSON.stringify({ id: astral, headline: text })),
    )
  })
  it.each([
    ['alone', { headline: null }],
    ['with null optional fields', { headline: null, body: null, id: null, publishedAt: null }],
    ['with the others given', { id: 'rt-1', source: 'wire', headline: null, body: 'b' }],
  ])('refuses a null headline (%s) as schema_invalid, naming headline', (_, raw) => {
    const r = parse(JSON.stringify(raw))
    expect(r.ok ? 'ok' : [r.reason, r.message]).toEqual([
      'schema_invalid',
      'headline: Invalid input: expected string, received null',
    ])
  })
  it('skips a UTF-8 byte-order mark before the JSON, and still refuses invalid UTF-8 after one', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf])
    const r = parse(
      Buffer.concat([bom, Buffer.from(JSON.stringify({ id: 'b-1', headline: 'Tariffs rise' }))]),
    )
    expect(r.ok && r.headline.id).toBe('b-1')
    expect(parse(bom)).toMatchObject({ ok: false, reason: 'empty_record' })
    expect(parse(Buffer.concat([bom, Buffer.from([0x7b, 0xff, 0x7d])]))).toMatchObject({
      ok: false,
      reason: 'invalid_utf8',
    })
  })
  it('says a record of a byte-order mark alone is that, not a value of 0 bytes', () => {
    expect(parse(Buffer.from([0xef, 0xbb, 0xbf]))).toEqual({
      ok: false,
      reason: 'empty_record',
      message: 'record value is only a UTF-8 byte-order mark (3 bytes)',
    })
  })

  it('gives each record the ISO time of its own timestamp, one after another', () => {
    const at = (ms: number) =>
      parseRawRecord(Buffer.from('{"headline":"x"}'), ms, DEFAULT_INGEST_LIMITS, 's', ms)
    const times = [T, T, T + 1, T].map((ms) => {
      const r = at(ms)
      return r.ok && [r.headline.ingestedAt, r.headline.publishedAt]
    })
    expect(times).toEqual([
      ['2025-01-02T03:04:05.000Z', '2025-01-02T03:04:05.000Z'],
      ['2025-01-02T03:04:05.000Z', '2025-01-02T03:04:05.000Z'],
      ['2025-01-02T03:04:05.001Z', '2025-01-02T03:04:05.001Z'],
      ['2025-01-02T03:04:05.000Z', '2025-01-02T03:04:05.000Z'],
    ])
  })
  it("keeps the source's id and published time", () => {
    const r = parse(
      JSON.stringify({ id: 'rt-1', source: 'wire', headline: 'x', publishedAt: '2024-12-31T23:00:00+01:00' }),
    )
    expect(r.ok && [r.headline.id, r.headline.publishedAt]).toEqual(['rt-1', '2024-12-31T22:00:00.000Z'])
  })
  it('takes a source that shows nothing after normalisation as none: the default source, as INGEST_DEFAULT_SOURCE is held to', () => {
    const none = parse(JSON.stringify({ headline: 'EU weighs tariffs' }))
    // White space was already none; a Hangul filler (NFKC: U+1160), the braille blank, zero-width and
    // bidi characters, a variation selector and tag characters came out as a source no reader can see.
    for (const source of [
      '   ',
      '\u3164',
      '\u200b\u2800',
      '\u2800',
      '\u115f',
      '\ufe0f',
      '\u{e0041}',
      '\u200e \u3164',
    ])
      expect([source, parse(JSON.stringify({ headline: 'EU weighs tariffs', source }))]).toEqual([
        source,
        none,
      ])
    // A source with something to see keeps it, its invisible characters removed as before.
    const r = parse(JSON.stringify({ headline: 'EU weighs tariffs', source: '\u200bwire\u2800' }))
    expect(r.ok && r.headline.source).toBe('wire\u2800')
  })
  it('cuts a source that normalising takes past its limit, as a headline is cut, rather than dead-letter the headline', () => {
    // Ten characters the raw contract takes; NFKC makes each U+FDFA 18 characters, each ligature 2.
    for (const given of ['\ufdfa'.repeat(10), `Reuters ${'\ufb01'.repeat(60)}`]) {
      const r = parse(JSON.stringify({ id: 'rt-1', headline: 'EU weighs tariffs', source: given }))
      const normalised = given.normalize('NFKC')
      expect(normalised.length).toBeGreaterThan(LIMITS.maxSourceChars)
      expect(
        r.ok ? [r.headline.source, r.headline.sourceTruncated, r.sourceCutFrom] : [r.reason, r.message],
      ).toEqual([normalised.slice(0, LIMITS.maxSourceChars).trimEnd(), true, normalised.length])
      expect(r.ok && Headline.safeParse(r.headline).success).toBe(true)
    }
  })
  it('publishes a headline whose url is past its limit without the url, flagged urlDropped, and says so, rather than dead-letter it', () => {
    // A tracking link of 5,000 characters: the raw contract refused it, and the headline was lost.
    const url = `https://news.example/a?utm=${'x'.repeat(5_000 - 27)}`
    expect(url.length).toBe(5_000)
    const r = parse(JSON.stringify({ id: 'rt-1', headline: 'EU weighs tariffs', url }))
    expect(r.ok ? [r.headline, r.urlDropped] : [r.reason, r.message]).toEqual([
      {
        id: 'rt-1',
        source: 'unknown',
        headline: 'EU weighs tariffs',
        publishedAt: '2025-01-02T03:04:05.000Z',
        ingestedAt: '2025-01-02T03:04:05.000Z',
        truncated: false,
        urlDropped: true,
      },
      { reason: 'too_long', message: `5000 characters; the limit is ${LIMITS.maxUrlChars}` },
    ])
    expect(r.ok && Headline.safeParse(r.headline).success).toBe(true)
    // One of the limit exactly is passed on as given, and nothing said.
    const edge = `https://news.example/${'x'.repeat(LIMITS.maxUrlChars - 21)}`
    const e = parse(JSON.stringify({ id: 'rt-2', headline: 'EU weighs tariffs', url: edge }))
    expect(e.ok && [e.headline.url === edge, 'urlDropped' in e, 'urlDropped' in e.headline]).toEqual([
      true,
      false,
      false,
    ])
  })
  it.each([
    ['javascript:alert(1)'],
    ['data:text/html,<script>alert(1)</script>'],
    ['ftp://news.example/a'],
    ['/news/2025/tariffs'],
    ['news.example/a'],
    ['https://'],
    ['https://news.example/a\\u0007b'],
    ['https://news.example/a\\nb'],
    ['https://news.example/\\ud800'],
  ])(
    'drops a url that is not an absolute http or https URL (%s), publishing the headline without it, flagged',
    (given) => {
      const url = JSON.parse(`"${given}"`) as string
      const r = parse(JSON.stringify({ id: 'rt-1', headline: 'EU weighs tariffs', url }))
      expect(
        r.ok ? [r.headline.url, r.headline.urlDropped, r.urlDropped?.reason] : [r.reason, r.message],
      ).toEqual([undefined, true, 'invalid'])
      expect(r.ok && Headline.safeParse(r.headline).success).toBe(true)
    },
  )
  it.each([
    ['https://news.example/a?b=c#d'],
    ['HTTP://NEWS.EXAMPLE/A'],
    ['https://news.example/a b'],
    ['https://news.example/März'],
  ])('passes on an http or https url as given (%s), and says nothing', (url) => {
    const r = parse(JSON.stringify({ id: 'rt-1', headline: 'EU weighs tariffs', url }))
    expect(
      r.ok ? [r.headline.url, 'urlDropped' in r, 'urlDropped' in r.headline] : [r.reason, r.message],
    ).toEqual([url, false, false])
  })
  it('tells a url dropped from none given: only the dropped one is flagged', () => {
    const none = parse(JSON.stringify({ id: 'rt-1', headline: 'EU weighs tariffs' }))
    const dropped = parse(JSON.stringify({ id: 'rt-1', headline: 'EU weighs tariffs', url: '/relative' }))
    expect([none, dropped].map((r) => r.ok && [r.headline.url, r.headline.urlDropped])).toEqual([
      [undefined, undefined],
      [undefined, true],
    ])
  })
  it('cuts a source past its limit as given to the limit, flagged sourceTruncated, and says so, rather than dead-letter the headline', () => {
    const given = `Reuters ${'wire '.repeat(60)}`.slice(0, 300)
    expect(given.length).toBe(300)
    const r = parse(JSON.stringify({ headline: 'EU weighs tariffs', source: given }))
    const cut = given.slice(0, LIMITS.maxSourceChars).trimEnd()
    expect(
      r.ok
        ? [r.headline.source, r.headline.id, r.headline.sourceTruncated, r.sourceCutFrom]
        : [r.reason, r.message],
    ).toEqual([cut, contentId(cut, 'EU weighs tariffs'), true, 300])
    expect(r.ok && Headline.safeParse(r.headline).success).toBe(true)
    // One of the limit exactly is kept whole, and nothing said.
    const edge = 's'.repeat(LIMITS.maxSourceChars)
    const e = parse(JSON.stringify({ headline: 'EU weighs tariffs', source: edge }))
    expect(e.ok && [e.headline.source, 'sourceCutFrom' in e, 'sourceTruncated' in e.headline]).toEqual([
      edge,
      false,
      false,
    ])
  })
  it('gives the same content id to a headline with an invisible character inside an accented letter', () => {
    const id = (headline: string) => {
      const r = parse(JSON.stringify({ headline, source: 'wire' }))
      return r.ok ? [r.headline.headline, r.headline.id] : r.reason
    }
    expect(id('Me\u00ad\u0301xico raises tariffs')).toEqual(id('M\u00e9xico raises tariffs'))
    expect(id('Me\u200b\u0301xico raises tariffs')).toEqual(id('Me\u0301xico raises tariffs'))
  })
  it('gives the same content id whatever the case and spacing', () => {
    const a = parse(JSON.stringify({ headline: 'China  HALTS rare earth exports' }))
    const b = parse(JSON.stringify({ headline: 'china halts rare earth exports' }))
    expect(a.ok && b.ok && a.headline.id === b.headline.id).toBe(true)
  })
  it("keeps a body's line breaks (the scorer ends a clause there) and folds a headline's into spaces", () => {
    const r = parse(
      JSON.stringify({
        headline: 'US lifts\ntariffs',
        body: 'Tariffs were lifted.\r\n\r\nChina halts exports',
      }),
    )
    expect(r.ok && [r.headline.headline, r.headline.body]).toEqual([
      'US lifts tariffs',
      'Tariffs were lifted.\nChina halts exports',
    ])
  })

  it('cuts a long headline and body to their limits and flags it', () => {
    const r = parse(JSON.stringify({ headline: 'a'.repeat(50), body: 'b'.repeat(50) }), {
      ...DEFAULT_INGEST_LIMITS,
      maxHeadlineChars: 10,
      maxBodyChars: 20,
    })
    expect(r.ok && [r.headline.headline.length, r.headline.body?.length, r.headline.truncated]).toEqual([
      10,
      20,
      true,
    ])
  })
  it.each([
    ['tombstone', null],
    ['empty_record', ''],
    ['too_large', JSON.stringify({ headline: 'x'.repeat(70_000) })],
    ['invalid_utf8', Buffer.from([0xc3, 0x28])],
    ['invalid_json', 'not json'],
    ['schema_invalid', '[]'],
    ['schema_invalid', JSON.stringify({ headline: '' })],
    ['schema_invalid', JSON.stringify({ headline: 'x', publishedAt: 'yesterday' })],
    ['invalid_text', '{"headline":"a\\udc00b"}'],
    ['empty_headline', JSON.stringify({ headline: '\u200b' })],
  ])('rejects with %s', (reason, value) => {
    const r = parse(value)
    expect(r.ok ? 'ok' : r.reason).toBe(reason)
    if (!r.ok) expect(r.message.length).toBeGreaterThan(5)
  })
  it('takes a publishedAt more than maxFutureMs ahead of the entry as the entry time, and says so', () => {
    const at = (publishedAt: string) => parse(JSON.stringify({ headline: 'x', publishedAt }))
    const iso = (ms: number) => new Date(ms).toISOString()
    const soon = at(iso(T + 4 * 60_000)) // within 5 min: a feed clock a little fast
    expect(soon.ok && [soon.headline.publishedAt, soon.futureMs]).toEqual([iso(T + 4 * 60_000), undefined])
    const later = at(iso(T + 8 * 3_600_000)) // local time written as UTC
    expect(later.ok && [later.headline.publishedAt, later.futureMs]).toEqual([iso(T), T + 8 * 3_600_000])
    const far = at('9999-12-31T23:59:59Z') // the last second a time of the contract can name
    expect(far.ok && [far.headline.publishedAt, far.futureMs]).toEqual([
      iso(T),
      Date.parse('9999-12-31T23:59:59Z'),
    ])
    const past = at('2019-05-10T13:00:00Z') // a replay of old news keeps its time
    expect(past.ok && [past.headline.publishedAt, past.futureMs]).toEqual([
      '2019-05-10T13:00:00.000Z',
      undefined,
    ])
  })
  it.each([
    ['9999-12-31T23:59:59-23:59', 'past year 9999 in UTC'],
    ['9999-12-31T23:00:00-05:00', 'year 10000 in UTC'],
    ['0001-01-01T00:59:59.999+01:00', 'year 0 in UTC'],
    ['0000-06-01T00:00:00Z', 'year 0'],
  ])(
    'refuses a publishedAt of %s (%s), a time no worker can write back, as schema_invalid naming it, as it does 30 February',
    (publishedAt) => {
      const r = parse(JSON.stringify({ headline: 'x', publishedAt }))
      expect(r.ok ? 'ok' : [r.reason, r.message]).toEqual([
        'schema_invalid',
        `publishedAt: ${ISO_TIME_OUT_OF_RANGE}`,
      ])
    },
  )
  it("takes a publishedAt before 2000, a producer's zero time, as the entry time, and says so", () => {
    const at = (publishedAt: string) => parse(JSON.stringify({ headline: 'x', publishedAt }))
    const iso = (ms: number) => new Date(ms).toISOString()
    for (const zero of ['0001-01-01T00:00:00Z', '1970-01-01T00:00:00Z', '1999-12-31T23:59:59.999Z']) {
      const r = at(zero)
      expect(r.ok && [r.headline.publishedAt, r.pastMs, r.futureMs], zero).toEqual([
        iso(T),
        Date.parse(zero),
        undefined,
      ])
    }
    const from = at('2000-01-01T00:00:00Z')
    expect(from.ok && [from.headline.publishedAt, from.pastMs]).toEqual([
      '2000-01-01T00:00:00.000Z',
      undefined,
    ])
  })
  it.each([
    ['Hangul filler U+3164', '\u3164'],
    ['halfwidth Hangul filler U+FFA0', '\uffa0 \uffa0'],
    ['Hangul choseong filler U+115F', '\u115f'],
    ['braille blank U+2800', '\u2800\u2800'],
    ['variation selector U+FE0F', '\ufe0f'],
    ['tag characters U+E0041…', '\u{e0041}\u{e0042}\u{e007f}'],
    ['combining grapheme joiner U+034F', '\u034f'],
    ['interlinear annotation anchor U+FFF9', '\ufff9'],
    ['a lone combining mark', '\u0301'],
    ['punctuation and symbols only', '!!! --- 📈'],
    // Readable only past the 1,000 characters kept: what goes on is the blank part.
    ['braille blanks, then words past the cut', `${'\u2800 '.repeat(600)}Tariffs raised`],
  ])('rejects a headline of %s as empty_headline', (_, headline) => {
    const r = parse(JSON.stringify({ headline }))
    expect(r.ok ? 'ok' : [r.reason, r.message]).toEqual([
      'empty_headline',
      'headline has no letter or digit after normalisation',
    ])
  })
  it.each([['한국 관세 인상'], ['2025'], ['Ü'], ['e\u0301'], ['📈 Stocks']])(
    'accepts %j, which has a letter or digit',
    (headline) => {
      expect(parse(JSON.stringify({ headline })).ok).toBe(true)
    },
  )
  it("keeps the producer's id as given, so ids that normalise alike stay distinct", () => {
    const ids = [
      'rt-1',
      ' rt-1',
      'RT-1',
      'ｒｔ-1',
      'rt\u200b-1',
      'rt  1',
      'rt 1',
      '\u3300'.repeat(200),
      'rt-1 📈',
    ]
    const got = ids.map((id) => {
      const r = parse(JSON.stringify({ id, headline: 'x' }))
      return r.ok ? r.headline.id : r.message
    })
    expect(got).toEqual(ids)
  })
  it.each([
    ['blank', ' \t ', /^id: is blank/],
    ['invisible only', '\u200b\u2060\ufeff', /^id: is blank/],
    ['braille blanks', '\u2800\u2800', /^id: is blank/],
    ['a newline', 'rt-1\n', /^id: holds a control character/],
    ['a NUL', 'rt\u0000-1', /^id: holds a control character/],
    ['a C1 control', 'rt\u0085-1', /^id: holds a control character/],
    ['a lone surrogate', 'rt-\ud800', /^id: holds a lone surrogate/],
  ])('refuses an id that is %s as schema_invalid, naming id', (_, id, message) => {
    const r = parse(JSON.stringify({ headline: 'x', id }))
    expect(r.ok ? 'ok' : [r.reason, r.message]).toEqual(['schema_invalid', expect.stringMatching(message)])
  })
  it('takes the wall clock as the entry time when the record timestamp is implausible, and says so', () => {
    const now = Date.parse('2026-03-02T08:00:00Z')
    const year = 365 * 24 * 3_600_000
    const value = Buffer.from(JSON.stringify({ headline: 'x' }))
    const at = (timestamp: number) => parseRawRecord(value, timestamp, DEFAULT_INGEST_LIMITS, 'unknown', now)
    const iso = (ms: number) => new Date(ms).toISOString()
    const entry = (timestamp: number) => {
      const r = at(timestamp)
      return r.ok ? [r.headline.ingestedAt, r.headline.publishedAt, r.implausibleTimestamp] : r.message
    }
    // Plausible: kept, old news replayed with its old timestamps included.
    for (const ts of [
      now,
      now + 4 * 60_000,
      now - 3 * 3_600_000,
      Date.parse('2018-05-01T00:00:00Z'),
      MIN_ENTRY_MS,
    ])
      expect(entry(ts)).toEqual([iso(ts), iso(ts), undefined])
    for (const ts of [
      now + 6 * 60_000, // past the allowed skew
      now + year, // a producer clock a year ahead
      Math.floor(now / 1000), // seconds
      now * 1000, // microseconds
      now * 1_000_000, // nanoseconds: past what a Date holds ("Invalid time value")
      MIN_ENTRY_MS - 1,
      0,
      -1,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.MAX_SAFE_INTEGER,
    ])
      expect(entry(ts)).toEqual([iso(now), iso(now), ts])
  })
  it('judges a publishedAt ahead against the plausible entry time, not the bad record timestamp', () => {
    const now = Date.parse('2026-03-02T08:00:00Z')
    const publishedAt = '2026-03-02T09:00:00.000Z' // an hour ahead of the wall clock
    const r = parseRawRecord(
      Buffer.from(JSON.stringify({ headline: 'x', publishedAt })),
      now * 1000,
      DEFAULT_INGEST_LIMITS,
      'unknown',
      now,
    )
    expect(r.ok && [r.headline.publishedAt, r.futureMs]).toEqual([
      new Date(now).toISOString(),
      Date.parse(publishedAt),
    ])
  })
  it('names the invalid field in the message', () => {
    const r = parse(JSON.stringify({ headline: 'x', source: 7 }))
    expect(!r.ok && r.message).toMatch(/^source: /)
  })
  it("refuses what platform's parseJsonRecord refuses, with its reason and words", () => {
    const values = [
      '',
      'not json',
      '{"headline":',
      '[]',
      '"x"',
      'null',
      '{}',
      '{"headline":3}',
      '{"headline":""}',
      '{"headline":"x","id":""}',
      `{"headline":"x","id":"${'a'.repeat(201)}"}`,
      '{"headline":"x","publishedAt":"2026-02-30T00:00:00Z"}',
      '{"headline":"x","publishedAt":"2026-03-02T08:00:00"}',
      '{"headline":"x","body":null,"source":7}',
      '{"headline":null}',
      '{"headline":null,"id":null,"body":null}',
      '{"headline":"x","id":null,"url":null,"publishedAt":"2026-02-30T00:00:00Z"}',
      '{"headline":"x","headline":"y"}',
      '{"headline":"x", "headline" : "x"}',
      '{"id":1,"headline":"x","id":"y"}',
      '{"meta":{"a":"1"},"headline":"x","meta":"y"}',
      '{"headline":"x","meta":{"a":"1","a":"2"}}',
      '{"headline":"say \\"hi\\"","headline":"x"}',
      '{"\\u0068eadline":"x","headline":"y"}',
      '{"__proto__":"a","headline":"x","__proto__":"b"}',
    ].map((v) => Buffer.from(v))
    values.push(Buffer.from([0xc3, 0x28]))
    for (const value of values) {
      const platform = parseJsonRecord(RawHeadlineReader, value)
      expect(platform.ok, value.toString()).toBe(false)
      const r = parse(value)
      expect(r.ok ? 'ok' : [r.reason, r.message]).toEqual(
        platform.ok ? 'ok' : [platform.reason, platform.message],
      )
    }
  })
  it('refuses a key given twice wherever it is, and takes records that give none twice', () => {
    const twice = [
      '{"headline":"a","headline":"b"}',
      '{"headline":"a","id":"x","headline":"a"}',
      '{ "headline" : "a" ,\n "headline" : "b" }',
      '{"headline":"a","id":1,"id":"x"}',
      // A number (no quote) in place of a string value where a key is given twice: as many quotes as
      // an object of string values with none given twice.
      '{"n":1,"m":2,"headline":"a","n":"x"}',
      '{"x":{"k":"1"},"headline":"a","x":"y"}',
      '{"x":["a","b"],"headline":"a","x":"y"}',
      '{"x":null,"headline":"a","x":"y"}',
      '{"headline":"a","x":{"k":"1","k":"2"}}',
      '{"headline":"a","x":[{"k":"1","k":"2"}]}',
      '{"headline":"\\"quoted\\"","headline":"b"}',
      '{"\\u0069d":"x","headline":"a","id":"y"}',
      `{"headline":"a",${Array.from({ length: 20 }, (_, i) => `"k${i}":"v"`).join(',')},"k3":"w"}`,
    ]
    for (const text of twice) {
      const r = parse(text)
      expect(r.ok ? 'ok' : [r.reason, r.message], text).toEqual([
        'schema_invalid',
        `${duplicateKeyPath(text)!.join('.')}: key given more than once in one object (JSON.parse would keep the last silently)`,
      ])
    }
    const once = [
      '{"headline":"a"}',
      '{"headline":"a","id":"x","source":"s"}',
      '{ "headline" : "a" , "id" : "x" }',
      '{"headline":"a: \\"b\\"","x":{"headline":"c"}}',
      '{"headline":"a","headlines":"b","x":{"k":"1"},"y":{"k":"1"}}',
      `{"headline":"a",${Array.from({ length: 20 }, (_, i) => `"k${i}":"v"`).join(',')}}`,
    ]
    for (const text of once) expect(parse(text).ok, text).toBe(true)
  })
  it('refuses a headline holding a lone surrogate, whatever the other fields hold', () => {
    const message = (raw: Record<string, string>) => {
      const r = parse(JSON.stringify(raw))
      return r.ok ? 'ok' : [r.reason, r.message]
    }
    expect(message({ headline: 'a\ud800' })).toEqual(['invalid_text', 'headline contains a lone surrogate'])
    expect(message({ url: '\udc00', body: '\ud800', headline: 'x\udfff', source: 's\udc00' })).toEqual([
      'invalid_text',
      'headline contains a lone surrogate',
    ])
    // But the url: dropped, the headline published (drops a url that is not...).
    expect(message({ headline: 'x', url: 'https://e.x/\ud800' })).toBe('ok')
  })
  it('replaces the lone surrogates of a source or body by U+FFFD, flagged and said, rather than dead-letter the headline', () => {
    // A producer's string cut inside an emoji (a high surrogate left at its end), and stray halves.
    const r = parse(
      JSON.stringify({
        id: 'rt-1',
        source: 'Wire \ud83d',
        headline: 'US raises tariffs on steel',
        body: 'China \udc00 retaliates.\n\ud83d\udcc9 Markets \ud800\ud800 fall',
      }),
    )
    expect(r.ok ? [r.headline, r.surrogatesReplaced] : [r.reason, r.message]).toEqual([
      {
        id: 'rt-1',
        source: 'Wire \ufffd',
        headline: 'US raises tariffs on steel',
        // A pair (📉) kept; the text keeps its length in UTF-16 units.
        body: 'China \ufffd retaliates.\n📉 Markets \ufffd\ufffd fall',
        publishedAt: '2025-01-02T03:04:05.000Z',
        ingestedAt: '2025-01-02T03:04:05.000Z',
        truncated: false,
        surrogatesReplaced: true,
      },
      ['source', 'body'],
    ])
    expect(r.ok && Headline.safeParse(r.headline).success).toBe(true)
    // One field alone is named alone; the content id is of the source as replaced.
    const body = parse(JSON.stringify({ headline: 'x', body: '\udfff' }))
    expect(
      body.ok && [body.headline.body, body.headline.surrogatesReplaced, body.surrogatesReplaced],
    ).toEqual(['\ufffd', true, ['body']])
    const source = parse(JSON.stringify({ headline: 'x', source: '\ud800' }))
    expect(source.ok && [source.headline.source, source.headline.id, source.surrogatesReplaced]).toEqual([
      '\ufffd',
      contentId('\ufffd', 'x'),
      ['source'],
    ])
    // Well formed: nothing flagged, nothing said.
    const fine = parse(JSON.stringify({ headline: 'x', source: 'Wire 📰', body: 'b 📉' }))
    expect(fine.ok && ['surrogatesReplaced' in fine, 'surrogatesReplaced' in fine.headline]).toEqual([
      false,
      false,
    ])
  })
  it('gives the content id of the source, a NUL and the lower-cased headline, as one hash', () => {
    const texts = [
      '',
      'x',
      'Tariffs RISE',
      'Ünïcödé',
      '📈 chips',
      '\ud83d',
      'a\udc00',
      'nul\u0000in',
      '\u0130',
    ]
    for (const source of ['unknown', '', 'wire\ud800', '\udc00', 'Reuters 📰'])
      for (const headline of texts) {
        const threeUpdates = createHash('sha256')
          .update(source)
          .update('\u0000')
          .update(headline.toLowerCase())
          .digest('hex')
          .slice(0, 32)
        expect(contentId(source, headline)).toBe(`h${threeUpdates}`)
      }
  })
  it('writes publishedAt as toISOString writes its time, whatever form it came in', () => {
    let seed = 7
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      return seed / 2 ** 32
    }
    // Every time the contract holds, years 1 to 9999 in UTC (Date.UTC takes year 0 as 1900).
    const min = ISO_TIME_MIN_MS
    const max = Date.parse('9999-12-31T23:59:59.999Z')
    const times = [
      Date.parse('2024-02-29T23:59:59.999Z'),
      Date.parse('2000-02-29T00:00:00.000Z'),
      Date.parse('1900-03-01T00:00:00.000Z'),
      min,
      max,
      ...Array.from({ length: 300 }, () => Math.floor(min + random() * (max - min))),
    ]
    for (const ms of times) {
      const iso = new Date(ms).toISOString()
      const forms = [
        iso,
        iso.replace(/\.\d{3}Z$/, 'Z'),
        iso.replace(/\.(\d{3})Z$/, '.$10Z'),
        iso.replace(/\.(\d)\d\dZ$/, '.$1Z'),
        iso.replace(/Z$/, '+00:00'),
        iso.replace(/Z$/, '-00:00'),
      ]
      for (const publishedAt of forms) {
        const r = parseRawRecord(
          Buffer.from(JSON.stringify({ headline: 'x', publishedAt })),
          T,
          { ...DEFAULT_INGEST_LIMITS, maxFutureMs: Number.POSITIVE_INFINITY },
          'unknown',
          T,
        )
        // Before 2000 a time is a producer's zero time, taken as the entry time (the test above).
        const expected = new Date(ms < MIN_ENTRY_MS ? T : Date.parse(publishedAt)).toISOString()
        expect(r.ok ? r.headline.publishedAt : r.message, publishedAt).toBe(expected)
      }
    }
  })
})

describe('rawEventMs', () => {
  it('gives each record the event time parseRawRecord stamps its headline with', () => {
    const maxFutureMs = DEFAULT_INGEST_LIMITS.maxFutureMs
    const eventMs = rawEventMs(maxFutureMs, () => T)
    const cases: [string, number][] = [
      [JSON.stringify({ headline: 'Tariffs rise', publishedAt: '2024-06-01T12:00:00+02:00' }), T - 3_600_000],
      [JSON.stringify({ headline: 'Tariffs rise' }), T - 3_600_000],
      [JSON.stringify({ headline: 'Tariffs rise', publishedAt: new Date(T).toISOString() }), T - 3_600_000],
      [JSON.stringify({ headline: 'Tariffs rise', publishedAt: '0001-01-01T00:00:00Z' }), T - 3_600_000],
      [JSON.stringify({ headline: 'Tariffs rise', publishedAt: null }), T - 3_600_000],
      [JSON.stringify({ headline: 'Tariffs rise', publishedAt: '2024-06-01T12:00:00Z' }), T * 1_000],
      ['not json', T - 60_000],
    ]
    for (const [value, timestamp] of cases) {
      const parsed = parseRawRecord(Buffer.from(value), timestamp, DEFAULT_INGEST_LIMITS, 'unknown', T)
      const expected = parsed.ok ? Date.parse(parsed.headline.publishedAt) : timestamp
      expect(eventMs({ value: Buffer.from(value), timestamp }), value).toBe(expected)
    }
    expect(eventMs({ value: null, timestamp: T - 60_000 })).toBe(T - 60_000)
  })
})
