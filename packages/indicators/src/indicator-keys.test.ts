import { describe, expect, it } from 'vitest'
import { createIndicatorKeys, indicatorKey, parseIndicatorKey } from './indicator-keys.ts'

describe('indicator keys', () => {
  it('puts the whole indicator key in one hash tag, shared by its state and ids', () => {
    const keys = createIndicatorKeys('tp', 'v1')
    expect(keys.state('tariff', { kind: 'region', id: 'CN' })).toBe('tp:v1:ind:{tariff|region:CN}')
    expect(keys.ids('tariff', { kind: 'region', id: 'CN' })).toBe('tp:v1:ind:{tariff|region:CN}:ids')
    expect(keys.scopes('region')).toBe('tp:v1:scopes:{region}')
  })

  it('escapes braces in scope ids and round-trips', () => {
    const scope = { kind: 'entity' as const, id: 'A{b}%c|d:e' }
    const key = indicatorKey('market', scope)
    expect(key).not.toMatch(/[{}]/)
    expect(parseIndicatorKey(key)).toEqual({ dimension: 'market', scope })
  })

  it('rejects a prefix that would break the hash tag', () => {
    expect(() => createIndicatorKeys('t{p}', 'v1')).toThrow()
    expect(() => createIndicatorKeys('tp', '')).toThrow()
  })
})
