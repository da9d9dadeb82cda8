import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CONTRACT_VERSION } from './contract-version.ts'
import {
  CONTRACT_VERSION_KEYWORD,
  exportJsonSchemas,
  jsonSchemaFiles,
  unversionedChanges,
} from './json-schema.ts'
import { TOPIC_VERSION_SUFFIX } from './topics.ts'

// The JSON Schema files consuming teams take are committed (packages/contracts/json-schema), each stating
// the contract version it follows. Any change of them (a bound, a rule, a field, a description) fails here
// until CONTRACT_VERSION is bumped and `pnpm contracts:schema` run, which refuses to write a change under the
// version the files state: no change of meaning reaches consumers under a version they already hold.

const DIR = join(import.meta.dirname, '..', 'json-schema')
const committed = Object.fromEntries(
  readdirSync(DIR)
    .filter((f) => f.endsWith('.schema.json'))
    .map((f) => [f, readFileSync(join(DIR, f), 'utf8')]),
)
const generated = jsonSchemaFiles()

describe('the committed JSON Schema files (golden)', () => {
  it('are what the schemas generate, byte for byte, or the contract version was bumped', () => {
    const changed = Object.keys({ ...committed, ...generated })
      .sort()
      .filter((f) => committed[f] !== generated[f])
    const stated = new Set(Object.values(committed).map((t) => JSON.parse(t)[CONTRACT_VERSION_KEYWORD]))
    const advice = stated.has(CONTRACT_VERSION)
      ? `changed under contract version ${CONTRACT_VERSION}: bump CONTRACT_VERSION (contract-version.ts), then run pnpm contracts:schema`
      : `contract version is now ${CONTRACT_VERSION}: run pnpm contracts:schema and commit the files`
    expect(changed, advice).toEqual([])
  })

  it('are generated the same way every time (key order, text)', () => {
    expect(jsonSchemaFiles()).toEqual(generated)
  })

  it('each name itself and the contract version it follows; the version major is the topics’', () => {
    const ids = new Set<string>()
    for (const [name, schema] of Object.entries(exportJsonSchemas()) as [string, Record<string, unknown>][]) {
      expect(Object.keys(schema).slice(0, 4), name).toEqual([
        '$schema',
        '$id',
        'title',
        CONTRACT_VERSION_KEYWORD,
      ])
      expect(schema.$id, name).toMatch(/^urn:tradepulse:contract:[a-z-]+(:strict)?:v[0-9]+$/)
      expect(schema[CONTRACT_VERSION_KEYWORD], name).toBe(CONTRACT_VERSION)
      expect(schema.title, name).toBe(name.replace('.strict', ' (strict)'))
      ids.add(schema.$id as string)
    }
    expect(ids.size).toBe(Object.keys(generated).length)
    expect(exportJsonSchemas().Alert).toMatchObject({ $id: 'urn:tradepulse:contract:alert:v1' })
    expect(CONTRACT_VERSION).toMatch(/^[0-9]+\.[0-9]+\.[0-9]+$/)
    expect(`.v${CONTRACT_VERSION.split('.')[0]}`).toBe(TOPIC_VERSION_SUFFIX)
  })
})

describe('unversionedChanges (pnpm contracts:schema refuses to write them)', () => {
  const file = (version: string | undefined, maxLength: number) =>
    `${JSON.stringify({ ...(version ? { [CONTRACT_VERSION_KEYWORD]: version } : {}), maxLength })}\n`
  const next = { 'A.schema.json': file(CONTRACT_VERSION, 2) }

  it('names a file changed, added or removed under the version the written files state', () => {
    expect(unversionedChanges({ 'A.schema.json': file(CONTRACT_VERSION, 1) }, next)).toEqual([
      'A.schema.json',
    ])
    const old = { 'A.schema.json': file(CONTRACT_VERSION, 2), 'B.schema.json': file(CONTRACT_VERSION, 1) }
    expect(unversionedChanges(old, next)).toEqual(['B.schema.json'])
    expect(unversionedChanges(old, { ...next, 'C.schema.json': '{}\n' })).toEqual([
      'B.schema.json',
      'C.schema.json',
    ])
  })

  it('takes files of another version, of none (made before versions), none at all, or the same', () => {
    expect(unversionedChanges({ 'A.schema.json': file('0.9.0', 1) }, next)).toEqual([])
    expect(unversionedChanges({ 'A.schema.json': file(undefined, 1) }, next)).toEqual([])
    expect(unversionedChanges({}, next)).toEqual([])
    expect(unversionedChanges(next, next)).toEqual([])
  })
})
