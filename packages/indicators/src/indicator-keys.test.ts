import { describe, expect, it } from 'vitest'
import { createIndicatorKeys, indicatorKey, parseIndicatorKey, readIndicatorKey } from './indicator-keys.ts'

describe('indicator keys', () => {
  it("puts every key of a scope's indicators in one hash tag, shared by their state and ids", () => {
    const keys = createIndicatorKeys('tp', 'v1')
    expect(keys.state('tariff', { kind: 'region', id: 'CN' })).toBe('tp:v1:ind:{region:CN}:tariff')
    expect(keys.ids('tariff', { kind: 'region', id: 'CN' })).toBe('tp:v1:ind:{region:CN}:tariff:ids')
    // Each indicator its own: uncertainty's ids are not market's (dedup-per-kind.int.test.ts).
    expect(keys.ids('uncertainty', { kind: 'global', id: 'all' })).toBe(
      'tp:v1:ind:{global:all}:uncertainty:ids',
    )
    expect(keys.state('market', { kind: 'region', id: 'C{N}' })).toBe('tp:v1:ind:{region:C%7BN%7D}:market')
    expect(keys.scopes('region')).toBe('tp:v1:scopes:{region}')
  })

  it('escapes braces in scope ids and round-trips', () => {
    const scope = { kind: 'entity' as const, id: 'A{b}%c|d:e' }
    const key = indicatorKey('market', scope)
    expect(key).not.toMatch(/[{}]/)
    expect(parseIndicatorKey(key)).toEqual({ dimension: 'market', scope })
  })

  it('reads a key indicatorKey did not write as none, saying why: parseIndicatorKey throws on it rather than naming a dimension or kind there is none of', () => {
    const cases: [string, string][] = [
      ['garbage', 'not of the form <dimension>|<kind>:<id>'],
      ['market:global|all', 'not of the form <dimension>|<kind>:<id>'],
      ['|global:all', 'no dimension ""'],
      ['sentiment|global:all', 'no dimension "sentiment"'],
      ['market|planet:earth', 'no scope kind "planet"'],
      ['market|global:', 'an empty scope id'],
      // Read, these would name another key than themselves (a raw brace, a `%` not escaped).
      ['market|entity:A{b}', 'a scope id not escaped as indicatorKey writes it'],
      ['market|entity:100%', 'a scope id not escaped as indicatorKey writes it'],
      ['market|entity:a%7bb', 'a scope id not escaped as indicatorKey writes it'],
    ]
    for (const [key, problem] of cases) {
      expect(readIndicatorKey(key), key).toEqual({ ok: false, problem })
      expect(() => parseIndicatorKey(key), key).toThrow(`not an indicator key (${problem}): ${key}`)
    }
    expect(readIndicatorKey(`${'x'.repeat(1_000)}|global:all`)).toEqual({
      ok: false,
      problem: `no dimension "${'x'.repeat(32)}…"`,
    })
    // Every key indicatorKey writes reads back, a scope past the contract's bounds too (the contract checks those).
    for (const scope of [
      { kind: 'global' as const, id: 'all' },
      { kind: 'entity' as const, id: 'A{b}%c|d:e' },
      { kind: 'commodity' as const, id: '%'.repeat(1_000) },
    ])
      expect(readIndicatorKey(indicatorKey('supplyChain', scope))).toEqual({
        ok: true,
        target: { dimension: 'supplyChain', scope },
      })
  })

  it("puts a born time's checks in its slot", () => {
    // What Redis Cluster hashes: the first {…} holding something, else the whole key.
    const hashed = (key: string) => /^[^{]*\{([^}]+)\}/.exec(key)?.[1] ?? key
    const keys = createIndicatorKeys('tp', 'v1')
    expect(keys.bornCheck('ab12')).toBe('tp:v1:born-check:ab12:{tp:v1:born}')
    expect(hashed(keys.bornCheck('ab12'))).toBe(hashed(keys.born))
    expect(hashed(keys.state('market', { kind: 'region', id: 'CN' }))).toBe('region:CN')
  })

  it('rejects a prefix that would break the hash tag', () => {
    expect(() => createIndicatorKeys('t{p}', 'v1')).toThrow()
    expect(() => createIndicatorKeys('tp', '')).toThrow()
  })

  it('rejects a namespace named after another key family under the prefix, whose keys clearing it would delete', () => {
    for (const name of ['indicators', 'alert', 'align', 'applied', 'dedup', 'state-marker'])
      expect(() => createIndicatorKeys('tp', name), name).toThrow(/is reserved/)
    // Clearing a namespace deletes its pattern: no allowed name's pattern reaches the pointer readers use.
    const keys = createIndicatorKeys('tp', 'v1')
    expect(keys.activeNamespace.startsWith(keys.pattern.slice(0, -1))).toBe(false)
    expect(createIndicatorKeys('tp', 'indicators2').pattern).toBe('tp:indicators2:*')
  })

  it("rejects a namespace named dirty, whose clearing would delete the aggregator's held-back update marks", () => {
    // The aggregator keeps `<prefix>:dirty:{<group>}` (services/aggregator dirty-keys.ts), which a
    // namespace `dirty`'s pattern `<prefix>:dirty:*` matches.
    expect(() => createIndicatorKeys('tp', 'dirty')).toThrow(/is reserved/)
  })
})
