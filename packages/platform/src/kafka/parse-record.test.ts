import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  duplicateKeyPath,
  indicatorAsOfMs,
  jsonTimeField,
  parseJsonRecord,
  publishedAtMs,
  topLevelKeyCount,
} from './parse-record.ts'

const Payload = z.object({ text: z.string() }).strict()

describe('parseJsonRecord', () => {
  it('parses a valid payload, multi-byte UTF-8 included', () => {
    expect(
      parseJsonRecord(Payload, Buffer.from(JSON.stringify({ text: 'Zölle auf Stahl 关税 📈' }))),
    ).toEqual({
      ok: true,
      value: { text: 'Zölle auf Stahl 关税 📈' },
    })
  })

  it.each([
    ['a lone continuation byte', [0x80]],
    ['a truncated sequence', [0xc3]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a byte never used in UTF-8', [0xff]],
  ])('dead-letters a value holding %s as invalid_utf8, not as text with U+FFFD', (_, bytes) => {
    const value = Buffer.concat([Buffer.from('{"text":"tariffs '), Buffer.from(bytes), Buffer.from('"}')])
    expect(parseJsonRecord(Payload, value)).toEqual({
      ok: false,
      reason: 'invalid_utf8',
      message: 'record value is not valid UTF-8',
    })
  })

  it('tells a tombstone (a null value) from an empty value, in the reason and the message', () => {
    // Both were empty_record, "record has no value": their dead letters were the same.
    expect(parseJsonRecord(Payload, null)).toEqual({
      ok: false,
      reason: 'tombstone',
      message: 'record is a tombstone: its value is null (not empty)',
    })
    expect(parseJsonRecord(Payload, Buffer.alloc(0))).toEqual({
      ok: false,
      reason: 'empty_record',
      message: 'record value is empty (0 bytes)',
    })
  })

  it.each([
    ['tombstone', null],
    ['empty_record', Buffer.alloc(0)],
    ['invalid_json', Buffer.from('{"text":')],
    ['schema_invalid', Buffer.from('{"text":7}')],
  ])('dead-letters as %s', (reason, value) => {
    expect(parseJsonRecord(Payload, value)).toMatchObject({ ok: false, reason })
  })
})

describe('parseJsonRecord: a fast path and a quote count', () => {
  const buf = (text: string) => Buffer.from(text, 'utf8')
  it('takes what the fast path returns, and leaves zod to decide what it does not', () => {
    const fast = (json: unknown) =>
      typeof json === 'object' && json !== null && (json as { text?: unknown }).text === 'fast'
        ? { text: 'fast' }
        : undefined
    expect(parseJsonRecord(Payload, buf('{"text":"fast"}'), fast)).toEqual({
      ok: true,
      value: { text: 'fast' },
    })
    expect(parseJsonRecord(Payload, buf('{"text":"slow"}'), fast)).toEqual({
      ok: true,
      value: { text: 'slow' },
    })
    expect(parseJsonRecord(Payload, buf('{"text":1}'), fast)).toMatchObject({
      ok: false,
      reason: 'schema_invalid',
    })
  })
  it('still finds a key given twice where the object holds only strings (the quote count says no)', () => {
    for (const text of ['{"text":"a","text":"b"}', '{"text":"a","text":1}', '{"text":"a\\"","text":"b"}'])
      expect(parseJsonRecord(Payload, buf(text)), text).toMatchObject({ ok: false, reason: 'schema_invalid' })
    expect(parseJsonRecord(Payload, buf('{"text":"a \\"quoted\\" b"}'))).toEqual({
      ok: true,
      value: { text: 'a "quoted" b' },
    })
  })
})

describe('parseJsonRecord: a key given twice', () => {
  const Headlineish = z.strictObject({ id: z.string(), headline: z.string() })
  const Loose = z.record(z.string(), z.unknown())

  it("dead-letters the reviewer's record as schema_invalid naming the key, where the last value passed", () => {
    const value = Buffer.from('{"id":"g5","headline":"Tariffs lifted","headline":"Tariffs raised"}')
    expect(parseJsonRecord(Headlineish, value)).toEqual({
      ok: false,
      reason: 'schema_invalid',
      message: 'headline: key given more than once in one object (JSON.parse would keep the last silently)',
    })
  })

  it.each([
    ['nested', '{"a":{"b":[1,{"c":1,"d":2,"c":3}]}}', 'a.b.1.c'],
    ['spelt with an escape', '{"text":1,"\\u0074ext":2}', 'text'],
    ['with white space around the colon', '{ "a" : 1 ,\n "a" : 2 }', 'a'],
    ['named __proto__', '{"__proto__":{},"__proto__":1}', '__proto__'],
    ['after many keys', `{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')},"k3":0}`, 'k3'],
  ])('finds it %s', (_, text, path) => {
    expect(parseJsonRecord(Loose, Buffer.from(text))).toMatchObject({
      ok: false,
      reason: 'schema_invalid',
      message: expect.stringMatching(
        new RegExp(`^${path.replace(/[.\\]/g, '\\$&')}: key given more than once`),
      ),
    })
  })

  it.each([
    ['one key in sibling objects', '[{"a":1},{"a":2}]'],
    ['one key at several depths', '{"a":{"a":{"a":1}}}'],
    ['a value that reads like a key', '{"a":"\\"a\\":1,","b":1}'],
    ['a key ending in a backslash', '{"a\\\\":1,"a":2}'],
    ['a value ending in a backslash', '{"a":"\\\\","b":"\\\\\\""}'],
    ['no object', '"a string"'],
  ])('passes %s', (_, text) => {
    expect(JSON.parse(text)).toBeDefined()
    expect(duplicateKeyPath(text)).toBeUndefined()
    expect(parseJsonRecord(Loose.or(z.unknown()), Buffer.from(text))).toMatchObject({ ok: true })
  })

  it('agrees with a reference on random JSON with random spacing, escapes and repeats', () => {
    // A small deterministic generator (no dependency): objects whose key lists may repeat a key,
    // written with random white space and keys spelt with \u escapes at random.
    let seed = 42
    const rnd = (n: number) => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4_294_967_296) * n)
    }
    const space = () => [' ', '', '\n', '\t', '', ''][rnd(6)]!
    const keyText = (k: string) =>
      `"${[...k].map((c) => (rnd(4) === 0 ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c)).join('')}"`
    type Gen = { text: string; firstDup: (string | number)[] | undefined; at: number }
    // Returns the value's text and the first duplicate found in text order (the position of the second key).
    function value(depth: number, path: (string | number)[], offset: number): Gen {
      const kind = depth > 3 ? 0 : rnd(4)
      if (kind === 0) {
        const t = ['1', '"s"', 'null', '"x\\"y"', '"\\\\"'][rnd(5)]!
        return { text: t, firstDup: undefined, at: Number.POSITIVE_INFINITY }
      }
      if (kind === 1) {
        let text = '['
        let best: Gen = { text: '', firstDup: undefined, at: Number.POSITIVE_INFINITY }
        const n = rnd(4)
        for (let i = 0; i < n; i++) {
          if (i > 0) text += `,${space()}`
          const v = value(depth + 1, [...path, i], offset + text.length)
          if (v.at < best.at) best = v
          text += v.text
        }
        return { ...best, text: `${text}]` }
      }
      let text = `{${space()}`
      let best: Gen = { text: '', firstDup: undefined, at: Number.POSITIVE_INFINITY }
      const seen = new Set<string>()
      const n = rnd(5)
      for (let i = 0; i < n; i++) {
        if (i > 0) text += `,${space()}`
        const key = ['a', 'b', 'c', 'd', 'e', 'f'][rnd(6)]!
        const keyAt = offset + text.length
        if (seen.has(key) && keyAt < best.at) best = { text: '', firstDup: [...path, key], at: keyAt }
        seen.add(key)
        text += `${keyText(key)}${space()}:${space()}`
        const v = value(depth + 1, [...path, key], offset + text.length)
        if (v.at < best.at) best = v
        text += v.text
      }
      return { ...best, text: `${text}${space()}}` }
    }
    let withDup = 0
    for (let run = 0; run < 2_000; run++) {
      const g = value(0, [], 0)
      expect(() => JSON.parse(g.text)).not.toThrow()
      expect(duplicateKeyPath(g.text), g.text).toEqual(g.firstDup)
      if (g.firstDup) withDup++
    }
    expect(withDup).toBeGreaterThan(200)
  })
})

describe('topLevelKeyCount', () => {
  it('counts a key of the top-level object only', () => {
    expect(topLevelKeyCount('{"id":"a","x":{"id":1},"y":[{"id":2}]}', 'id')).toBe(1)
    expect(topLevelKeyCount(' {"id":"a", "\\u0069d" : "b"}', 'id')).toBe(2)
    expect(topLevelKeyCount('[{"id":1},{"id":2}]', 'id')).toBe(0)
    expect(topLevelKeyCount(' [ "id" , "id" ]', 'id')).toBe(0)
    expect(topLevelKeyCount('{"a":"\\"id\\":1"}', 'id')).toBe(0)
  })
})

const T = Date.parse('2026-03-04T09:40:00Z')

describe('jsonTimeField', () => {
  it("reads a record's top-level time without parsing it, spaces around the colon included", () => {
    expect(
      publishedAtMs(Buffer.from(`{"id":"a","publishedAt":"2026-03-04T09:40:00.000Z","headline":"x"}`)),
    ).toBe(T)
    expect(publishedAtMs(Buffer.from(`{"id":"a", "publishedAt" : "2026-03-04T09:40:00Z"}`))).toBe(T)
    expect(indicatorAsOfMs(Buffer.from(`{"key":"k","asOf":"2026-03-04T09:40:00.000Z","mean":{}}`))).toBe(T)
  })

  it('is undefined for no record, a record that is not JSON, a missing field or a time that is none', () => {
    expect(publishedAtMs(null)).toBeUndefined()
    expect(publishedAtMs(Buffer.from('not json'))).toBeUndefined()
    expect(indicatorAsOfMs(Buffer.from('{"publishedAt":"2026-03-04T09:40:00Z"}'))).toBeUndefined()
    expect(publishedAtMs(Buffer.from('{"publishedAt":"soon"}'))).toBeUndefined()
    expect(jsonTimeField('at')(Buffer.from('[1,2]'))).toBeUndefined()
    expect(jsonTimeField('at')(Buffer.from('null'))).toBeUndefined()
  })

  it('finds the key only as a key: a quote inside a string is escaped', () => {
    const value = JSON.stringify({
      headline: 'says "publishedAt":"1999-01-01T00:00:00Z"',
      publishedAt: '2026-03-04T09:40:00Z',
    })
    expect(publishedAtMs(Buffer.from(value))).toBe(T)
  })
})

describe('jsonTimeField: the top-level key only', () => {
  const OLD = '1999-01-01T00:00:00Z'
  const NOW = '2026-03-04T09:40:00Z'

  it.each([
    ['a nested object', `{"id":"a","meta":{"publishedAt":"${OLD}"},"publishedAt":"${NOW}"}`],
    ['a deeper nested object', `{"a":{"b":{"c":[{"publishedAt":"${OLD}"}]}},"publishedAt":"${NOW}"}`],
    [
      'an array of objects',
      `{"history":[{"publishedAt":"${OLD}"},{"publishedAt":"${OLD}"}],"publishedAt":"${NOW}"}`,
    ],
    [
      'an array of strings holding the key',
      `{"notes":["\\"publishedAt\\":\\"${OLD}\\""],"publishedAt":"${NOW}"}`,
    ],
    [
      'a string value holding the key',
      `{"headline":"says \\"publishedAt\\":\\"${OLD}\\"","publishedAt":"${NOW}"}`,
    ],
    ['a key ending in the key after an escaped quote', `{"a\\"publishedAt":"${OLD}","publishedAt":"${NOW}"}`],
    [
      'a value ending in escaped backslashes',
      `{"a":"\\\\\\\\","b":"x\\\\\\"publishedAt\\":","publishedAt":"${NOW}"}`,
    ],
    ['a nested key after an escaped quote', `{"m":{"x\\"publishedAt":"${OLD}"},"publishedAt":"${NOW}"}`],
    ['white space everywhere', ` \n{ "m" : { "publishedAt" : "${OLD}" } ,\t"publishedAt"\r\n:  "${NOW}" } `],
    ['the key spelt with an escape', `{"m":{"publishedAt":"${OLD}"},"\\u0070ublishedAt":"${NOW}"}`],
    [
      'the time spelt with an escape',
      `{"m":{"publishedAt":"${OLD}"},"publishedAt":"2026-03-04T09:40:00\\u005a"}`,
    ],
  ])('reads the top-level publishedAt past %s', (_, text) => {
    expect(JSON.parse(text).publishedAt).toMatch(/^2026/)
    expect(publishedAtMs(Buffer.from(text))).toBe(T)
  })

  it.each([
    ['only in a nested object', `{"id":"a","meta":{"publishedAt":"${NOW}"}}`],
    ['only in an array', `{"id":"a","seen":[{"publishedAt":"${NOW}"}]}`],
    ['only inside a string', `{"headline":"\\"publishedAt\\":\\"${NOW}\\""}`],
    ['only the end of another key', `{"x\\"publishedAt":"${NOW}"}`],
    ['in an object inside a top-level array', `[{"publishedAt":"${NOW}"}]`],
    ['at the top with a number', `{"m":{"publishedAt":"${NOW}"},"publishedAt":1772617200000}`],
    ['in a second object after the record (no JSON)', `{"a":1}{"b":1,"publishedAt":"${NOW}"}`],
    ['after a quote left out (no JSON)', `{"a":"x,"publishedAt":"${NOW}"}`],
  ])('is undefined when the key is %s', (_, text) => {
    expect(publishedAtMs(Buffer.from(text))).toBeUndefined()
  })

  it("reads an indicator's asOf past a scope that carries one", () => {
    const text = `{"key":"k","scope":{"kind":"region","id":"US","asOf":"${OLD}"},"asOf":"${NOW}","mean":{}}`
    expect(indicatorAsOfMs(Buffer.from(text))).toBe(T)
  })

  it('agrees with JSON.parse on random records with the key at every depth, in strings and in other keys', () => {
    let seed = 7
    const rnd = (n: number) => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4_294_967_296) * n)
    }
    const pick = <X>(xs: X[]): X => xs[rnd(xs.length)]!
    const space = () => pick(['', '', ' ', '\n', '\t '])
    const time = () => new Date(Date.UTC(2000 + rnd(30), rnd(12), 1 + rnd(28), rnd(24))).toISOString()
    const keys = ['publishedAt', 'a', 'x"publishedAt', 'publishedAt\\', '"publishedAt":"', 'publishedA']
    function value(depth: number): unknown {
      const kind = depth > 3 ? rnd(3) : rnd(6)
      if (kind === 0) return time()
      // Strings of every length around where the scan stops reading bytes one by one and searches (32).
      if (kind === 1) return pick([1, null, true, '\\', 'x\\"', `${'a'.repeat(rnd(70))}"\\`])
      if (kind === 2) return `say "publishedAt":"${time()}"\\`
      if (kind === 3) return Array.from({ length: rnd(3) }, () => value(depth + 1))
      return object(depth + 1)
    }
    function object(depth: number): Record<string, unknown> {
      const o: Record<string, unknown> = {}
      for (let i = rnd(5); i > 0; i--) o[pick(keys)] = value(depth)
      return o
    }
    /** `v` as JSON with random white space between tokens and, at random, a key spelt with \u escapes. */
    function write(v: unknown): string {
      if (Array.isArray(v)) return `[${space()}${v.map(write).join(`${space()},${space()}`)}${space()}]`
      if (typeof v !== 'object' || v === null) return JSON.stringify(v)
      const members = Object.entries(v).map(([k, x]) => {
        const key =
          rnd(4) === 0
            ? `"${[...k].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`
            : JSON.stringify(k)
        return `${key}${space()}:${space()}${write(x)}`
      })
      return `{${space()}${members.join(`${space()},${space()}`)}${space()}}`
    }
    let found = 0
    let nestedOnly = 0
    for (let run = 0; run < 3_000; run++) {
      const record = object(0)
      // Half the records have a time at the top, with more members after it at random.
      if (rnd(2) === 0) Object.assign(record, { publishedAt: time() }, object(1))
      const text = `${space()}${write(record)}${space()}`
      const top = (JSON.parse(text) as Record<string, unknown>).publishedAt
      const ms = typeof top === 'string' ? Date.parse(top) : Number.NaN
      const expected = Number.isNaN(ms) ? undefined : ms
      expect(publishedAtMs(Buffer.from(text)), text).toBe(expected)
      if (expected !== undefined) found++
      else if (text.includes('"publishedAt":"') || text.includes('"publishedAt" :')) nestedOnly++
    }
    // Both kinds are common: a top-level time, and the key's text elsewhere with none at the top.
    expect(found).toBeGreaterThan(1_000)
    expect(nestedOnly).toBeGreaterThan(300)
  })
})
