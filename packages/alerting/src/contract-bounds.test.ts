// What a rules file may name is what the contracts let an alert carry: a rule id is Alert.rule, a rule's
// kind Alert.ruleKind, the id a scope filter names a Scope.id, a window label a key of IndicatorUpdate.mean
// and volume, and the file's version the start of Alert.rulesVersion. The bounds come from packages/contracts'
// LIMITS, so they cannot drift.
import { LIMITS } from '@tradepulse/contracts'
import { describe, expect, it, vi } from 'vitest'
import { parseRules } from './parse-rules.ts'
import { MAX_FILE_VERSION_CHARS, Rule, RuleId } from './rule-schema.ts'
import { ScopeFilter } from './scope-filter.ts'

const level = (change: Record<string, unknown>) => ({
  id: 'l',
  kind: 'level',
  dimensions: ['tariff'],
  severity: 'info',
  threshold: 0.5,
  ...change,
})

describe("a rules file's bounds are the contracts'", () => {
  it('takes a rule id as long as Alert.rule may be, and no longer; every rule kind fits Alert.ruleKind', () => {
    expect(RuleId.safeParse('a'.repeat(LIMITS.maxRuleIdChars)).success).toBe(true)
    expect(RuleId.safeParse('a'.repeat(LIMITS.maxRuleIdChars + 1)).success).toBe(false)
    for (const option of Rule.options)
      expect(option.shape.kind.value.length).toBeLessThanOrEqual(LIMITS.maxRuleIdChars)
  })

  it("takes a window label as long as an indicator update's label may be, and no longer", () => {
    expect(Rule.safeParse(level({ window: 'a'.repeat(LIMITS.maxLabelChars) })).success).toBe(true)
    expect(Rule.safeParse(level({ volumeWindow: 'a'.repeat(LIMITS.maxLabelChars) })).success).toBe(true)
    expect(Rule.safeParse(level({ window: 'a'.repeat(LIMITS.maxLabelChars + 1) })).success).toBe(false)
  })

  it("takes a scope filter's id as long as a Scope.id may be, and no longer", () => {
    expect(ScopeFilter.safeParse([`entity:${'a'.repeat(LIMITS.maxScopeIdChars)}`]).success).toBe(true)
    expect(ScopeFilter.safeParse([`entity:${'a'.repeat(LIMITS.maxScopeIdChars + 1)}`]).success).toBe(false)
  })

  it("takes a file version whose rulesVersion (version, '+', 12 hex) fits Alert.rulesVersion, and no longer", () => {
    const longest = 'v'.repeat(MAX_FILE_VERSION_CHARS)
    const r = parseRules(JSON.stringify({ version: longest, rules: [level({})] }), 'json')
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.rulesVersion.length).toBeLessThanOrEqual(LIMITS.maxVersionChars)
    const over = parseRules(JSON.stringify({ version: `${longest}v`, rules: [level({})] }), 'json')
    expect(over.ok).toBe(false)
  })

  it("moves with LIMITS: a rule id, a window label and a scope filter's id follow the contracts when they change", async () => {
    vi.resetModules()
    vi.doMock('@tradepulse/contracts', async (importOriginal) => {
      const actual = await importOriginal<typeof import('@tradepulse/contracts')>()
      return {
        ...actual,
        LIMITS: { ...actual.LIMITS, maxRuleIdChars: 80, maxLabelChars: 40, maxScopeIdChars: 90 },
      }
    })
    try {
      const schema = await import('./rule-schema.ts')
      expect(schema.RuleId.safeParse('a'.repeat(80)).success).toBe(true)
      expect(schema.RuleId.safeParse('a'.repeat(81)).success).toBe(false)
      expect(schema.Rule.safeParse(level({ window: 'a'.repeat(40) })).success).toBe(true)
      expect(schema.Rule.safeParse(level({ window: 'a'.repeat(41) })).success).toBe(false)
      expect(schema.Rule.safeParse(level({ scopes: [`region:${'a'.repeat(90)}`] })).success).toBe(true)
      expect(schema.Rule.safeParse(level({ scopes: [`region:${'a'.repeat(91)}`] })).success).toBe(false)
    } finally {
      vi.doUnmock('@tradepulse/contracts')
      vi.resetModules()
    }
  })
})
