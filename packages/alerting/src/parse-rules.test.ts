import { LIMITS } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import { ALERTING_DEFAULTS } from './alerting-defaults.ts'
import { parseDesks } from './parse-desks.ts'
import { parseRules } from './parse-rules.ts'

const shock = {
  id: 'tariff_shock',
  kind: 'headline_shock',
  dimensions: ['tariff'],
  threshold: 0.7,
  severity: 'warning',
}

/** An indicator level rule on the tariff mean, for variations. */
const level = { id: 'l', kind: 'level', dimensions: ['tariff'], severity: 'info' }

const json = (rules: unknown[], version: unknown = '1') => JSON.stringify({ version, rules })

function errorsOf(text: string, format: 'yaml' | 'json' = 'json') {
  const r = parseRules(text, format)
  if (r.ok) throw new Error('expected the file to be refused')
  return r.errors
}

describe('parseRules', () => {
  it('parses YAML and fills the defaults', () => {
    const r = parseRules(
      `version: '2025.1'
rules:
  # a comment
  - id: cn_tone
    kind: level
    dimensions: [tariff]
    scopes: [region:CN]
    direction: down
    threshold: -0.5
    severity: warning
`,
      'yaml',
    )
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.version).toBe('2025.1')
    expect(r.rulesVersion).toMatch(/^2025\.1\+[0-9a-f]{12}$/)
    expect(r.rules[0]).toMatchObject({
      id: 'cn_tone',
      enabled: true,
      field: 'mean',
      window: ALERTING_DEFAULTS.meanWindow,
      hysteresis: ALERTING_DEFAULTS.hysteresis.level,
      cooldownMs: ALERTING_DEFAULTS.cooldownMs,
      minVolume: 0,
    })
  })

  it('defaults scopes to every scope and direction to both', () => {
    const r = parseRules(json([shock]), 'json')
    expect(r.ok && r.rules[0]).toMatchObject({ scopes: ['*'], direction: 'both' })
  })

  it('gives the same rulesVersion for the same rules in YAML, JSON or with other comments', () => {
    const a = parseRules(json([shock]), 'json')
    const b = parseRules(
      `version: "1"\nrules:\n  - {id: tariff_shock, kind: headline_shock, dimensions: [tariff], threshold: 0.7, severity: warning} # hi\n`,
      'yaml',
    )
    const c = parseRules(json([{ ...shock, threshold: 0.71 }]), 'json')
    expect(a.ok && b.ok && c.ok).toBe(true)
    if (!a.ok || !b.ok || !c.ok) return
    expect(b.rulesVersion).toBe(a.rulesVersion)
    expect(c.rulesVersion).not.toBe(a.rulesVersion)
  })

  it('accepts a numeric version', () => {
    const r = parseRules('version: 3\nrules: []\n', 'yaml')
    expect(r.ok && r.version).toBe('3')
  })

  it('takes a version written as a number as the author wrote it, where YAML and JSON read 1.10 as 1.1', () => {
    const version = (text: string, format: 'yaml' | 'json') => {
      const r = parseRules(text, format)
      return r.ok ? [r.version, r.rulesVersion.split('+')[0]] : r.errors
    }
    expect(version('version: 1.10\nrules: []\n', 'yaml')).toEqual(['1.10', '1.10'])
    expect(version('version: 2.0 # the second\nrules: []\n', 'yaml')).toEqual(['2.0', '2.0'])
    expect(version('{version: 1.20, rules: []}', 'yaml')).toEqual(['1.20', '1.20'])
    expect(version('{"version": 1.10, "rules": []}', 'json')).toEqual(['1.10', '1.10'])
    expect(version('{"rules": [], "version": 1e3}', 'json')).toEqual(['1e3', '1e3'])
    // A number elsewhere in the file is no version: only the top level's is read as text.
    expect(version(json([{ ...shock, threshold: 0.7 }], '2'), 'json')).toEqual(['2', '2'])
    // Quoted, a version was always text.
    expect(version('version: "1.10"\nrules: []\n', 'yaml')).toEqual(['1.10', '1.10'])
  })

  it('refuses a version that is neither text nor a number, saying to quote it', () => {
    expect(errorsOf('version: true\nrules: []\n', 'yaml')).toEqual([
      { path: 'version', message: 'expected the version as text, such as "2025.1" (in quotes) (line 1)' },
    ])
    expect(errorsOf('{"version": ["1"], "rules": []}', 'json')).toEqual([
      { path: 'version', message: 'expected the version as text, such as "2025.1" (in quotes)' },
    ])
  })

  it.each([
    ['a wrong type', [{ ...shock, threshold: 'high' }], 'rules[0].threshold', /expected number/],
    ['a missing field', [{ ...shock, severity: undefined }], 'rules[0].severity', /required/],
    ['an unknown field', [{ ...shock, treshold: 0.5 }], 'rules[0].treshold', /unknown field/],
    ['an unknown kind', [{ ...shock, kind: 'spike' }], 'rules[0].kind', /discriminator/],
    ['a bad id', [{ ...shock, id: 'Tariff Shock' }], 'rules[0].id', /lower-case/],
    ['a bad scope filter', [{ ...shock, scopes: ['region:CN', 'country:US'] }], 'rules[0].scopes[1]', /kind/],
    ['a threshold out of range', [{ ...shock, threshold: 1.5 }], 'rules[0].threshold', /1/],
    ['a negative cooldown', [{ ...shock, cooldownMs: -1 }], 'rules[0].cooldownMs', /0/],
    ['an unknown severity', [shock, { ...shock, id: 'b', severity: 'urgent' }], 'rules[1].severity', /info/],
    [
      'a repeated dimension',
      [{ ...shock, dimensions: ['tariff', 'tariff'] }],
      'rules[0].dimensions',
      /each dimension once/,
    ],
    [
      'a headline shock on uncertainty',
      [{ ...shock, dimensions: ['uncertainty'] }],
      'rules[0].dimensions[0]',
      /tariff/,
    ],
    [
      'a buzz spike going down',
      [
        {
          id: 'b',
          kind: 'buzz_spike',
          dimensions: ['tariff'],
          threshold: 3,
          severity: 'info',
          direction: 'down',
        },
      ],
      'rules[0].direction',
      /only goes up/,
    ],
    [
      'a level with direction both and a negative threshold',
      [
        {
          id: 'l',
          kind: 'level',
          dimensions: ['tariff'],
          direction: 'both',
          threshold: -0.5,
          severity: 'info',
        },
      ],
      'rules[0].threshold',
      /magnitude/,
    ],
    [
      'a mean threshold beyond 1',
      [{ id: 'l', kind: 'level', dimensions: ['tariff'], direction: 'up', threshold: 2, severity: 'info' }],
      'rules[0].threshold',
      /\(-1, 1\)/,
    ],
    [
      'a window on a field without windows',
      [
        {
          id: 'l',
          kind: 'level',
          dimensions: ['tariff'],
          field: 'buzz',
          window: '1h',
          threshold: 2,
          severity: 'info',
          direction: 'up',
        },
      ],
      'rules[0].window',
      /mean and volume/,
    ],
    [
      'a window on a headline uncertainty rule',
      [
        {
          id: 'u',
          kind: 'uncertainty_spike',
          source: 'headline',
          window: '1h',
          threshold: 0.5,
          severity: 'info',
        },
      ],
      'rules[0].window',
      /indicator only/,
    ],
    [
      'relevantTo on an indicator uncertainty rule',
      [
        {
          id: 'u',
          kind: 'uncertainty_spike',
          source: 'indicator',
          relevantTo: ['tariff'],
          threshold: 0.5,
          severity: 'info',
        },
      ],
      'rules[0].relevantTo',
      /headline only/,
    ],
    [
      'hysteresis on a headline uncertainty rule, which no volume or band holds back',
      [
        {
          id: 'u',
          kind: 'uncertainty_spike',
          source: 'headline',
          threshold: 0.5,
          severity: 'info',
          hysteresis: 0.1,
        },
      ],
      'rules[0].hysteresis',
      /hysteresis applies to source indicator only/,
    ],
    [
      'minVolume on a headline uncertainty rule, which no volume or band holds back',
      [
        {
          id: 'u',
          kind: 'uncertainty_spike',
          source: 'headline',
          threshold: 0.5,
          severity: 'info',
          minVolume: 3,
        },
      ],
      'rules[0].minVolume',
      /minVolume applies to source indicator only/,
    ],
    [
      'volumeWindow on a headline uncertainty rule, which no volume or band holds back',
      [
        {
          id: 'u',
          kind: 'uncertainty_spike',
          source: 'headline',
          threshold: 0.5,
          severity: 'info',
          volumeWindow: '1h',
        },
      ],
      'rules[0].volumeWindow',
      /volumeWindow applies to source indicator only/,
    ],
    [
      'minRelevance on an indicator uncertainty rule',
      [
        {
          id: 'u',
          kind: 'uncertainty_spike',
          source: 'indicator',
          minRelevance: 0.6,
          threshold: 0.5,
          severity: 'info',
        },
      ],
      'rules[0].minRelevance',
      /source headline with relevantTo only/,
    ],
    [
      'minRelevance on a headline uncertainty rule without relevantTo, where no relevance is read',
      [
        {
          id: 'u',
          kind: 'uncertainty_spike',
          source: 'headline',
          minRelevance: 0.6,
          threshold: 0.5,
          severity: 'info',
        },
      ],
      'rules[0].minRelevance',
      /source headline with relevantTo only/,
    ],
    [
      'a diffusion level beyond 1',
      [{ ...level, field: 'diffusion', direction: 'up', threshold: 3 }],
      'rules[0].threshold',
      /never be reached: diffusion on tariff is \[-1, 1\]/,
    ],
    [
      'a downward volume line below 0',
      [{ ...level, field: 'volume', direction: 'down', threshold: -1 }],
      'rules[0].threshold',
      /never be reached: volume on tariff is at least 0/,
    ],
    [
      'a down line on the uncertainty mean, which is never negative',
      [{ ...level, dimensions: ['uncertainty'], direction: 'down', threshold: -0.2 }],
      'rules[0].threshold',
      /never be reached: mean on uncertainty is \[0, 1\)/,
    ],
    // Uncertainty diffusion is never negative (a headline carries uncertainty cues or not, never against
    // them): these were taken, and the down line never fired, the up line paged once and never re-armed.
    [
      'a down line on uncertainty diffusion, which is never negative',
      [{ ...level, field: 'diffusion', dimensions: ['uncertainty'], direction: 'down', threshold: -0.2 }],
      'rules[0].threshold',
      /never be reached: diffusion on uncertainty is \[0, 1\]/,
    ],
    [
      'an up line on uncertainty diffusion whose re-arm point is below 0',
      [
        {
          ...level,
          field: 'diffusion',
          dimensions: ['uncertainty'],
          direction: 'up',
          threshold: 0.5,
          hysteresis: 0.6,
        },
      ],
      'rules[0].hysteresis',
      /up line at 0.5 would never re-arm \(it needs a value below -0.1,/,
    ],
    [
      'direction both on uncertainty diffusion',
      [{ ...level, field: 'diffusion', dimensions: ['uncertainty'], direction: 'both', threshold: 0.5 }],
      'rules[0].direction',
      /the down line at -0.5 can never be reached \(diffusion on uncertainty is \[0, 1\]\).*use direction up/,
    ],
    [
      'a momentum shift beyond 1 on uncertainty',
      [{ ...level, kind: 'momentum_shift', dimensions: ['uncertainty'], threshold: 1.5 }],
      'rules[0].threshold',
      /never be reached: momentum_shift on uncertainty is \(-1, 1\)/,
    ],
    [
      'a mean level at -1 (the prior keeps every mean above it)',
      [{ ...level, id: 'mean_floor', field: 'mean', direction: 'down', threshold: -1 }],
      'rules[0].threshold',
      /^rule "mean_floor" can never be reached: mean on tariff is \(-1, 1\)$/,
    ],
    [
      'a mean level at ±1 with direction both',
      [{ ...level, direction: 'both', threshold: 1 }],
      'rules[0].threshold',
      /rule "l" can never be reached: mean on tariff is \(-1, 1\)/,
    ],
    [
      'an indicator uncertainty spike at 1',
      [{ id: 'u1', kind: 'uncertainty_spike', source: 'indicator', threshold: 1, severity: 'info' }],
      'rules[0].threshold',
      /rule "u1" can never be reached: uncertainty mean on uncertainty is \[0, 1\)/,
    ],
    [
      'a momentum level at 2',
      [{ ...level, field: 'momentum', direction: 'up', threshold: 2 }],
      'rules[0].threshold',
      /can never be reached: momentum on tariff is \(-2, 2\)/,
    ],
    [
      'a line on count going up (the lifetime total only grows: it would never re-arm)',
      [{ ...level, id: 'count_up', field: 'count', direction: 'up', threshold: 5, hysteresis: 1 }],
      'rules[0].field',
      /^rule "count_up": count is the indicator's lifetime total of headlines and only grows/,
    ],
    [
      'a line on count going down (past it only on the first updates of a scope)',
      [{ ...level, id: 'count_down', field: 'count', direction: 'down', threshold: 5, hysteresis: 1 }],
      'rules[0].field',
      /^rule "count_down": count .* use volume/,
    ],
    [
      'a hysteresis wider than the mean can come back',
      [{ ...level, direction: 'up', threshold: 0.5, hysteresis: 1.5 }],
      'rules[0].hysteresis',
      /up line at 0.5 would never re-arm \(it needs a value below -1/,
    ],
    [
      'a down line whose re-arm point is above 1',
      [{ ...level, direction: 'down', threshold: -0.2, hysteresis: 1.2 }],
      'rules[0].hysteresis',
      /down line at -0.2 would never re-arm/,
    ],
    [
      'an upward volume line at 0 (always past, never back)',
      [{ ...level, field: 'volume', direction: 'up', threshold: 0, hysteresis: 0 }],
      'rules[0].hysteresis',
      /never re-arm.*at least 0/,
    ],
    [
      'an uncertainty spike whose hysteresis reaches 0',
      [
        {
          id: 'u',
          kind: 'uncertainty_spike',
          source: 'indicator',
          threshold: 0.3,
          hysteresis: 0.3,
          severity: 'info',
        },
      ],
      'rules[0].hysteresis',
      /never re-arm/,
    ],
    [
      'direction both on volume, whose down line is never reached',
      [
        {
          ...level,
          id: 'busy',
          field: 'volume',
          window: '1h',
          direction: 'both',
          threshold: 5,
          hysteresis: 2,
        },
      ],
      'rules[0].direction',
      /^rule "busy": with direction both, the down line at -5 can never be reached \(volume on tariff is at least 0\), so only the up line would fire: use direction up$/,
    ],
    [
      'direction both on the uncertainty mean, which is never negative',
      [{ ...level, dimensions: ['uncertainty'], direction: 'both', threshold: 0.4, hysteresis: 0.1 }],
      'rules[0].direction',
      /the down line at -0.4 can never be reached \(mean on uncertainty is \[0, 1\)\).*use direction up/,
    ],
    [
      'minRelevance on a market-only headline rule (a market score has no relevance)',
      [{ ...shock, dimensions: ['market'], minRelevance: 0.8 }],
      'rules[0].minRelevance',
      /^minRelevance applies to tariff and supplyChain, and this rule watches market only: a market score has no relevance/,
    ],
    [
      'minConfidence on a market-only headline rule',
      [{ ...shock, dimensions: ['market'], minConfidence: 0.5 }],
      'rules[0].minConfidence',
      /^minConfidence applies to tariff and supplyChain, .*no confidence/,
    ],
    [
      'includeThreats on a market-only headline rule without eventTypes',
      [{ ...shock, dimensions: ['market'], includeThreats: false }],
      'rules[0].includeThreats',
      /^includeThreats applies to eventTypes, or without them to tariff and supplyChain, .*never on market/,
    ],
    [
      'cooldownBy event without eventTypes',
      [{ ...shock, cooldownBy: 'event' }],
      'rules[0].cooldownBy',
      /needs eventTypes/,
    ],
  ])('refuses %s, naming the field', (_, rules, path, message) => {
    const errors = errorsOf(json(rules))
    expect(errors).toContainEqual({ path, message: expect.stringMatching(message) })
  })

  it('refuses a scope filter naming an id longer than any scope id, naming the rule and the filter', () => {
    // Scope.id is at most LIMITS.maxScopeIdChars (contracts): no alert or update carries a longer one, so
    // such a filter matched nothing, silently, where the rule seemed to watch that scope.
    const longest = 'x'.repeat(LIMITS.maxScopeIdChars)
    const fits = parseRules(json([{ ...shock, scopes: [`entity:${longest}`, 'region:*'] }]), 'json')
    expect(fits.ok).toBe(true)
    const text = `version: "1"
rules:
  - id: cn_tone
    kind: level
    dimensions: [tariff]
    threshold: 0.5
    severity: info
    scopes:
      - region:CN
      - entity:${longest}x
`
    expect(errorsOf(text, 'yaml')).toEqual([
      {
        path: 'rules[0].scopes[1]',
        message: `the id is ${LIMITS.maxScopeIdChars + 1} characters, and a scope id is at most ${LIMITS.maxScopeIdChars}: it would match nothing (line 10)`,
      },
    ])
    // Blanks around an entry are trimmed before it is measured; a long id is cut in no message.
    const spaced = parseRules(json([{ ...shock, scopes: [`  entity:${longest}  `] }]), 'json')
    expect(spaced.ok).toBe(true)
    const huge = errorsOf(json([shock, { ...shock, id: 'b', scopes: [`sector:${'y'.repeat(100_000)}`] }]))
    expect(huge).toEqual([
      { path: 'rules[1].scopes[0]', message: expect.stringMatching(/^the id is 100000 characters/) },
    ])
  })

  it('refuses duplicate rule ids, naming the second', () => {
    const errors = errorsOf(json([shock, { ...shock, id: 'other' }, shock]))
    expect(errors).toEqual([
      { path: 'rules[2].id', message: 'duplicate rule id "tariff_shock" (first at rules[0])' },
    ])
  })

  it('refuses a missing version and a missing rules list', () => {
    expect(errorsOf('{}').map((e) => e.path)).toEqual(['version', 'rules'])
  })

  it('refuses invalid YAML and JSON with the reason', () => {
    expect(errorsOf('version: 1\nrules: [\n', 'yaml')[0]).toEqual({
      path: '(root)',
      message: expect.stringMatching(/^invalid YAML: .*line 3/),
    })
    expect(errorsOf('version: 1\nversion: 2\nrules: []\n', 'yaml')[0]?.message).toMatch(/unique/)
    expect(errorsOf('{"version": "1", "rules": [', 'json')[0]).toEqual({
      path: '(root)',
      message: expect.stringMatching(/^invalid JSON/),
    })
  })

  it('refuses a key written twice in one JSON object, as YAML does, rather than keep the last silently', () => {
    // The second threshold made a "down at -0.5" rule a "down at 0.5" one: firing on nearly every update.
    const text = `{
  "version": "1",
  "rules": [
    {"id": "cn_tone", "kind": "level", "dimensions": ["tariff"], "severity": "info",
     "direction": "down", "threshold": -0.5,
     "threshold": 0.5}
  ]
}`
    expect(errorsOf(text, 'json')).toEqual([
      {
        path: 'rules[0].threshold',
        message:
          'invalid JSON: key written twice in one object (lines 5 and 6), and JSON would keep the last',
      },
    ])
    // Escapes are read as JSON reads them: "a" and "\u0061" are one key.
    expect(errorsOf('{"version": "1", "rules": [], "\\u0076ersion": "2"}', 'json')).toEqual([
      {
        path: 'version',
        message:
          'invalid JSON: key written twice in one object (lines 1 and 1), and JSON would keep the last',
      },
    ])
    // The same key in two objects, or as a string value, is no repeat.
    const twice = { version: '1', rules: [shock, { ...shock, id: 'b', description: 'threshold' }] }
    expect(parseRules(JSON.stringify(twice, null, '\t'), 'json').ok).toBe(true)
  })

  it('names the line of a refused field in a YAML file, where counting rules to the nth is no help', () => {
    const text = `version: "1"
rules:
  - id: cn_tone
    kind: level
    dimensions: [tariff]
    direction: down
    threshold: -0.5
    severity: warning
  - id: cn_turn
    kind: momentum_shift
    dimensions: [tariff]
    threshold: 2.5
    severity: info
  - id: cn_shock
    kind: headline_shock
    dimensions: [tariff]
    treshold: 0.7
    severity: info
  - id: cn_tone
    kind: buzz_spike
    dimensions: [tariff]
    threshold: 3
`
    expect(errorsOf(text, 'yaml')).toEqual([
      { path: 'rules[1].threshold', message: expect.stringMatching(/^Too big: .* \(line 12\)$/) },
      { path: 'rules[2].threshold', message: 'required (line 14)' },
      { path: 'rules[2].treshold', message: 'unknown field (line 17)' },
      { path: 'rules[3].severity', message: 'required (line 19)' },
    ])
    // Checks across fields and rules, after the schema: the line of the field they name.
    const crossed = text.replace('threshold: 2.5', 'threshold: 0.5').replace('treshold', 'threshold')
    expect(errorsOf(crossed.replace('threshold: 3\n', 'threshold: 3\n    severity: info\n'), 'yaml')).toEqual(
      [{ path: 'rules[3].id', message: 'duplicate rule id "cn_tone" (first at rules[0]) (line 19)' }],
    )
  })

  it('refuses a file beyond the size limit before parsing it', () => {
    const errors = errorsOf(' '.repeat(ALERTING_DEFAULTS.maxFileChars + 1))
    expect(errors[0]?.message).toMatch(/longer than/)
  })

  it('refuses window labels the indicator config does not have, when told the labels', () => {
    const rule = {
      id: 'l',
      kind: 'level',
      dimensions: ['tariff'],
      window: '2h',
      direction: 'up',
      threshold: 0.5,
      severity: 'info',
    }
    expect(parseRules(json([rule]), 'json').ok).toBe(true)
    const r = parseRules(json([rule]), 'json', { halfLifeLabels: ['15m', '1h', '24h'], windowLabels: ['1h'] })
    expect(r.ok ? [] : r.errors).toEqual([
      { path: 'rules[0].window', message: expect.stringMatching(/unknown label "2h"/) },
    ])
  })

  it('accepts lines within reach on some dimension, and buzz lines anywhere', () => {
    const rules = [
      // both on tariff and uncertainty: the down line at -0.5 is out of reach on uncertainty, the up one is not
      { ...level, dimensions: ['tariff', 'uncertainty'], direction: 'both', threshold: 0.5, hysteresis: 0.2 },
      { ...level, id: 'v', field: 'volume', direction: 'up', threshold: 5, hysteresis: 4.5 },
      { ...level, id: 'b', field: 'buzz', direction: 'down', threshold: -40, hysteresis: 100 },
      { ...level, id: 'm', kind: 'momentum_shift', threshold: 1.5, hysteresis: 3 },
      { ...level, id: 'd', field: 'diffusion', direction: 'up', threshold: 1, hysteresis: 1.9 },
      // Every headline without uncertainty cues gives an uncertainty mean of exactly 0.
      { ...level, id: 'u0', dimensions: ['uncertainty'], direction: 'down', threshold: 0, hysteresis: 0.1 },
      { ...level, id: 'near', direction: 'down', threshold: -0.99, hysteresis: 0.1 },
    ]
    const r = parseRules(json(rules), 'json')
    expect(r.ok ? 'ok' : r.errors).toBe('ok')
  })

  it('keeps the fields a market rule reads, and those others read on a rule with market among its dimensions', () => {
    const rules = [
      // Relevance, confidence and threats are read on tariff.
      {
        ...shock,
        dimensions: ['tariff', 'market'],
        minRelevance: 0.6,
        minConfidence: 0.4,
        includeThreats: false,
      },
      // With eventTypes, includeThreats drops threatened events, whatever the dimension.
      { ...shock, id: 'm', dimensions: ['market'], eventTypes: ['tariff_raised'], includeThreats: false },
      // A volume line going up, and a floor turned off with its window left in place.
      {
        ...level,
        id: 'v',
        field: 'volume',
        window: '1h',
        direction: 'up',
        threshold: 5,
        hysteresis: 2,
        minVolume: 0,
        volumeWindow: '24h',
      },
    ]
    const r = parseRules(json(rules), 'json')
    expect(r.ok ? 'ok' : r.errors).toBe('ok')
  })

  it('names the line of a direction that watches one side only, in a YAML file', () => {
    const text = `version: "1"
rules:
  - id: cn_busy
    kind: level
    dimensions: [tariff]
    field: volume
    window: 1h
    direction: both
    threshold: 10
    severity: info
`
    expect(errorsOf(text, 'yaml')).toEqual([
      { path: 'rules[0].direction', message: expect.stringMatching(/use direction up \(line 8\)$/) },
    ])
  })

  it('names a never-firing dimension once when several share its range', () => {
    const errors = errorsOf(
      json([{ ...level, dimensions: ['tariff', 'market'], direction: 'up', threshold: 0.5, hysteresis: 2 }]),
    )
    expect(errors).toEqual([
      { path: 'rules[0].hysteresis', message: expect.stringMatching(/mean on tariff, market is \(-1, 1\)/) },
    ])
  })
})

describe('a rules or desks file with a byte-order mark', () => {
  it('reads a JSON file starting with one as it reads the file without it', () => {
    // Windows editors save one; JSON.parse refused it: "invalid JSON: Unexpected token '﻿'", the mark unseen.
    const text = `\uFEFF${json([shock], 1.1)}`
    expect(parseRules(text, 'json')).toEqual(parseRules(json([shock], 1.1), 'json'))
    expect(parseRules(text, 'json')).toMatchObject({ ok: true, version: '1.1' })
    const desks = parseDesks('\uFEFF{"version": "1", "desks": [{"id": "a"}]}', 'json')
    expect(desks.ok && desks.desks.map((d) => d.id)).toEqual(['a'])
    // A key written twice is still found, at its own lines.
    expect(errorsOf(`\uFEFF{"version": "1",\n"version": "2", "rules": []}`)).toEqual([
      { path: 'version', message: expect.stringContaining('(lines 1 and 2)') },
    ])
  })

  it('reads the mark as text anywhere else', () => {
    expect(errorsOf(`\uFEFF\uFEFF${json([shock])}`)[0]!.message).toMatch(/^invalid JSON: /)
  })
})
