import { describe, expect, it } from 'vitest'
import type { z } from 'zod'
import { formatIssues } from './format-issues.ts'
import { exportJsonSchemas } from './json-schema.ts'
import { Headline, HeadlineReader, RawHeadline, RawHeadlineReader, ScoredHeadlineReader } from './schemas.ts'

const T = '2025-06-02T08:00:00.000Z'
/** RawHeadline's optional fields: what Jackson, Go pointer fields, Python's None and ORMs write as null. */
const OPTIONAL = ['id', 'source', 'body', 'url', 'publishedAt'] as const

const verdict = (schema: z.ZodType, value: unknown) => {
  const r = schema.safeParse(value)
  return r.success ? 'ok' : formatIssues(r.error)
}

describe('RawHeadline: null in an optional field is the field absent', () => {
  it.each([
    ['the strict schema', RawHeadline],
    ['the reader', RawHeadlineReader],
  ] as const)('%s takes null in each optional field, alone and all at once', (_, schema) => {
    for (const field of OPTIONAL) expect(verdict(schema, { headline: 'x', [field]: null }), field).toBe('ok')
    const all = Object.fromEntries(OPTIONAL.map((f) => [f, null]))
    expect(verdict(schema, { headline: 'Tariffs rise', ...all })).toBe('ok')
    // Null is no licence for anything else: a value given is checked as before.
    expect(verdict(schema, { headline: 'x', body: null, id: '' })).toMatch(/^id: /)
    expect(verdict(schema, { headline: 'x', publishedAt: null, url: 3 })).toMatch(/^url: /)
  })
  it.each([
    ['the strict schema', RawHeadline],
    ['the reader', RawHeadlineReader],
  ] as const)('%s still refuses a null headline (required), naming it', (_, schema) => {
    expect(verdict(schema, { headline: null })).toBe(
      'headline: Invalid input: expected string, received null',
    )
    expect(verdict(schema, { headline: null, id: null, body: 'b' })).toMatch(/^headline: /)
  })
  it('leaves the internal topics strict: a headline written with a null is refused, naming the field', () => {
    const headline: Headline = {
      id: 'h-1',
      source: 'wire',
      headline: 'Tariffs rise',
      publishedAt: T,
      ingestedAt: T,
      truncated: false,
    }
    for (const schema of [Headline, HeadlineReader])
      for (const field of ['body', 'url', 'id', 'source', 'publishedAt'])
        expect(verdict(schema, { ...headline, [field]: null }), field).toMatch(new RegExp(`^${field}: `))
    expect(verdict(ScoredHeadlineReader, { ...headline, body: null })).toMatch(/^body: /)
  })
})

describe('RawHeadline: a long source or url is no reason to refuse the headline', () => {
  it.each([
    ['the strict schema', RawHeadline],
    ['the reader', RawHeadlineReader],
  ] as const)(
    '%s takes a url of 5,000 characters and a source of 300 (ingest drops the one, cuts the other)',
    (_, schema) => {
      const url = `https://news.example/?utm=${'x'.repeat(5_000 - 26)}`
      expect(verdict(schema, { headline: 'Tariffs rise', url, source: 's'.repeat(300) })).toBe('ok')
      // Their type and the source's minimum are still held.
      expect(verdict(schema, { headline: 'Tariffs rise', source: '' })).toMatch(/^source: /)
    },
  )
})

describe('RawHeadline JSON Schema', () => {
  type Node = { type?: string | string[]; anyOf?: Node[]; oneOf?: Node[] }
  const allowsNull = (n: Node | undefined): boolean =>
    !!n &&
    (n.type === 'null' ||
      (Array.isArray(n.type) && n.type.includes('null')) ||
      !!n.anyOf?.some(allowsNull) ||
      !!n.oneOf?.some(allowsNull))
  const schemas = exportJsonSchemas() as Record<
    string,
    { properties: Record<string, Node>; required: string[] }
  >

  it('says each optional field may be null, and the headline may not, to consumers and producers alike', () => {
    for (const name of ['RawHeadline', 'RawHeadline.strict']) {
      const { properties, required } = schemas[name]!
      for (const field of OPTIONAL) expect(allowsNull(properties[field]), `${name} ${field}`).toBe(true)
      expect(allowsNull(properties.headline), name).toBe(false)
      expect(required, name).toEqual(['headline'])
    }
  })
  it('bounds neither source nor url, and says what ingest does with a long one', () => {
    for (const name of ['RawHeadline', 'RawHeadline.strict']) {
      const { properties } = schemas[name]!
      const text = JSON.stringify([properties.source, properties.url])
      expect(text, name).not.toMatch(/maxLength/)
      expect(text, name).toMatch(/cuts it to 100 characters/)
      expect(text, name).toMatch(/at most 2000 characters .*dropped/)
    }
  })
  it('gives the headlines topic no null', () => {
    for (const name of ['Headline', 'Headline.strict']) {
      const { properties } = schemas[name]!
      for (const [field, node] of Object.entries(properties))
        expect(allowsNull(node), `${name} ${field}`).toBe(false)
    }
  })
})
