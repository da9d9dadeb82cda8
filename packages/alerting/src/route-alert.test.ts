import { type Alert, createTopicCatalogue, DESK_ID_MAX_CHARS, LIMITS } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import { MAX_SECRET_ENV_CHARS } from './desk-schema.ts'
import { type DeskRuleFacts, deskRuleRefusals, parseDesks } from './parse-desks.ts'
import { routeAlert } from './route-alert.ts'

const desksYaml = `
version: 1
desks:
  - id: tariff
    dimensions: [tariff, uncertainty]
    scopes: [region:CN, region:US, region:EU]
    minSeverity: info
  - id: supply_chain
    dimensions: [supplyChain]
    scopes: [commodity:rare_earths, commodity:semiconductors, commodity:magnets]
    minSeverity: warning
  - id: risk
    scopes: ['*']
    minSeverity: critical
  - id: momentum_only
    dimensions: [tariff]
    scopes: ['region:*']
    rules: [tariff_turn]
`

function desks() {
  const r = parseDesks(desksYaml, 'yaml')
  if (!r.ok) throw new Error(JSON.stringify(r.errors))
  return r.desks
}

/** Rules of the rules file as the desks check reads them: a tariff rule of `severity` per id. */
const rulesOf = (ids: string[], severity: DeskRuleFacts['severity'] = 'info'): DeskRuleFacts[] =>
  ids.map((id) => ({ id, dimensions: ['tariff'], severity }))

const alert = (over: Partial<Alert>): Pick<Alert, 'dimension' | 'scope' | 'severity' | 'rule'> => ({
  dimension: 'tariff',
  scope: { kind: 'region', id: 'CN' },
  severity: 'info',
  rule: 'r',
  ...over,
})

describe('routeAlert', () => {
  it('routes by dimension and scope', () => {
    expect(routeAlert(alert({}), desks())).toEqual(['tariff'])
    expect(
      routeAlert(alert({ dimension: 'uncertainty', scope: { kind: 'region', id: 'US' } }), desks()),
    ).toEqual(['tariff'])
    expect(routeAlert(alert({ dimension: 'market' }), desks())).toEqual([])
    expect(routeAlert(alert({ scope: { kind: 'region', id: 'JP' } }), desks())).toEqual([])
  })

  it('routes by minimum severity', () => {
    const magnets = {
      dimension: 'supplyChain' as const,
      scope: { kind: 'commodity' as const, id: 'magnets' },
    }
    expect(routeAlert(alert({ ...magnets, severity: 'info' }), desks())).toEqual([])
    expect(routeAlert(alert({ ...magnets, severity: 'warning' }), desks())).toEqual(['supply_chain'])
    expect(routeAlert(alert({ ...magnets, severity: 'critical' }), desks())).toEqual(['supply_chain', 'risk'])
  })

  it('sends every critical alert to an all-critical desk, whatever its scope', () => {
    expect(
      routeAlert(
        alert({ dimension: 'market', scope: { kind: 'sector', id: 'autos' }, severity: 'critical' }),
        desks(),
      ),
    ).toEqual(['risk'])
  })

  it('narrows to the listed rules when a desk names them', () => {
    expect(routeAlert(alert({ scope: { kind: 'region', id: 'JP' }, rule: 'tariff_turn' }), desks())).toEqual([
      'momentum_only',
    ])
  })
})

describe('parseDesks', () => {
  it('fills the defaults', () => {
    const risk = desks()[2]
    expect(risk).toEqual({
      id: 'risk',
      dimensions: ['tariff', 'supplyChain', 'market', 'uncertainty'],
      scopes: ['*'],
      minSeverity: 'critical',
    })
  })

  it.each([
    ['a bad desk id', { id: 'Tariff Desk' }, 'desks[0].id'],
    ['a bad scope', { id: 'a', scopes: ['region'] }, 'desks[0].scopes[0]'],
    ['a bad severity', { id: 'a', minSeverity: 'high' }, 'desks[0].minSeverity'],
    [
      'a webhook without a URL',
      { id: 'a', webhook: { url: 'not a url', secretEnv: 'X' } },
      'desks[0].webhook.url',
    ],
    [
      'a webhook secret that is not an env var name',
      { id: 'a', webhook: { url: 'https://x.test/h', secretEnv: 's3cret!' } },
      'desks[0].webhook.secretEnv',
    ],
    [
      'a webhook missing its secret',
      { id: 'a', webhook: { url: 'https://x.test/h' } },
      'desks[0].webhook.secretEnv',
    ],
    ['an unknown field', { id: 'a', minSeverty: 'info' }, 'desks[0].minSeverty'],
  ])('refuses %s, naming the field', (_, desk, path) => {
    const r = parseDesks(JSON.stringify({ version: '1', desks: [desk] }), 'json')
    expect(r.ok ? [] : r.errors.map((e) => e.path)).toContain(path)
  })

  it('takes a version written as a number as the author wrote it (1.10, not 1.1)', () => {
    const r = parseDesks(desksYaml.replace('version: 1\n', 'version: 1.10\n'), 'yaml')
    expect(r.ok && r.version).toBe('1.10')
    const j = parseDesks('{"version": 2.50, "desks": []}', 'json')
    expect(j.ok && j.version).toBe('2.50')
    expect(parseDesks(desksYaml, 'yaml')).toMatchObject({ ok: true, version: '1' })
  })

  it('refuses duplicate desk ids', () => {
    const r = parseDesks(JSON.stringify({ version: '1', desks: [{ id: 'a' }, { id: 'a' }] }), 'json')
    expect(r.ok ? [] : r.errors).toEqual([
      { path: 'desks[1].id', message: 'duplicate desk id "a" (first at desks[0])' },
    ])
  })

  it('refuses a dimension or a rule a desk lists twice, naming the desk, the value and its line', () => {
    // Taken silently (routing takes a repeat as one), while it is most likely a slip for another value the
    // desk then never got; the rules file refuses a rule's repeated dimension alike.
    const text = desksYaml
      .replace('dimensions: [tariff, uncertainty]', 'dimensions: [tariff, uncertainty, tariff]')
      .replace('rules: [tariff_turn]', 'rules:\n      - tariff_turn\n      - tariff_up\n      - tariff_turn')
    const r = parseDesks(text, 'yaml')
    expect(r.ok ? [] : r.errors).toEqual([
      {
        path: 'desks[0].dimensions[2]',
        message:
          'desk "tariff" lists dimension "tariff" twice (first at desks[0].dimensions[0]): list each dimension once (line 5)',
      },
      {
        path: 'desks[3].rules[2]',
        message:
          'desk "momentum_only" lists rule "tariff_turn" twice (first at desks[3].rules[0]): list each rule once (line 21)',
      },
    ])
    // In JSON too (no line); a rule the rules file lacks is named once, at its first place.
    const desk = { id: 'a', dimensions: ['tariff'], rules: ['nope', 'nope'] }
    const j = parseDesks(JSON.stringify({ version: '1', desks: [desk] }), 'json', { rules: rulesOf(['x']) })
    expect(j.ok ? [] : j.errors).toEqual([
      {
        path: 'desks[0].rules[1]',
        message: 'desk "a" lists rule "nope" twice (first at desks[0].rules[0]): list each rule once',
      },
      {
        path: 'desks[0].rules[0]',
        message:
          'desk "a" names rule "nope", which the rules file does not have, so the desk would get nothing of it (its rules: x)',
      },
    ])
  })

  it('names the line of a refused field in a YAML desks file', () => {
    const r = parseDesks(desksYaml.replace('minSeverity: warning', 'minSeverity: urgent'), 'yaml')
    expect(r.ok ? [] : r.errors).toEqual([
      { path: 'desks[1].minSeverity', message: expect.stringMatching(/ \(line 11\)$/) },
    ])
  })

  it.each(['_emea', '-x', 'd'.repeat(64)])(
    'refuses the desk id %s, which can name no topic, naming the id, the rule and the line',
    (id) => {
      // The schema took these, and the alerter then threw building the desk's topic (exit 1, a stack trace).
      const r = parseDesks(desksYaml.replace('id: risk', `id: "${id}"`), 'yaml')
      expect(r.ok ? [] : r.errors).toEqual([
        {
          path: 'desks[2].id',
          message: `invalid desk id "${id}": a desk id is 1 to 63 characters of a-z, 0-9, "_" and "-", the first a letter or digit (it names the topic alerts.desk.<id>.v1) (line 12)`,
        },
      ])
    },
  )

  it('takes every desk id the topic catalogue takes, up to 63 characters', () => {
    for (const id of ['0', 'fx', 'a_-', 'd'.repeat(63)]) {
      const r = parseDesks(desksYaml.replace('id: risk', `id: "${id}"`), 'yaml')
      expect(r.ok && r.desks[2]!.id).toBe(id)
      expect(createTopicCatalogue('').deskAlerts(id).name).toBe(`alerts.desk.${id}.v1`)
    }
  })

  it('refuses a desk scope filter naming an id longer than any scope id, naming the desk, the filter and the line', () => {
    // No alert carries a scope id past LIMITS.maxScopeIdChars: the desk would get nothing of that scope.
    const long = `commodity:${'m'.repeat(LIMITS.maxScopeIdChars + 1)}`
    const r = parseDesks(desksYaml.replace('commodity:magnets', long), 'yaml')
    expect(r.ok ? [] : r.errors).toEqual([
      {
        path: 'desks[1].scopes[2]',
        message: `the id is ${LIMITS.maxScopeIdChars + 1} characters, and a scope id is at most ${LIMITS.maxScopeIdChars}: it would match nothing (line 10)`,
      },
    ])
    const longest = `commodity:${'m'.repeat(LIMITS.maxScopeIdChars)}`
    expect(parseDesks(desksYaml.replace('commodity:magnets', longest), 'yaml').ok).toBe(true)
  })

  it('refuses a webhook secretEnv longer than a variable name it takes, naming the desk, the field and the line', () => {
    // Unbounded, a megabyte name was taken: every worker then measured each unknown-looking variable
    // against it (edit distance) and the alerter quoted it whole in its start-up lines.
    const withSecret = (name: string) =>
      `${desksYaml}    webhook:\n      url: https://hooks.example.com/t\n      secretEnv: ${name}\n`
    const over = `DESK_${'S'.repeat(MAX_SECRET_ENV_CHARS - 4)}`
    const r = parseDesks(withSecret(over), 'yaml')
    expect(r.ok ? [] : r.errors).toEqual([
      {
        path: 'desks[3].webhook.secretEnv',
        message: `desk "momentum_only" names a variable of ${MAX_SECRET_ENV_CHARS + 1} characters, and a secretEnv is at most ${MAX_SECRET_ENV_CHARS} (line 21)`,
      },
    ])
    const longest = over.slice(1)
    expect(parseDesks(withSecret(longest), 'yaml')).toMatchObject({ ok: true })
    expect(MAX_SECRET_ENV_CHARS).toBeGreaterThanOrEqual(
      'TRADEPULSE_WEBHOOK_SECRET_'.length + DESK_ID_MAX_CHARS,
    )
    // Refused for one reason: a name that is no variable name is told so, whatever its length.
    const j = parseDesks(
      JSON.stringify({
        version: '1',
        desks: [{ id: 'a', webhook: { url: 'https://x.test/h', secretEnv: `${over}!` } }],
      }),
      'json',
    )
    expect(j.ok ? [] : j.errors).toEqual([
      {
        path: 'desks[0].webhook.secretEnv',
        message: 'expected an environment variable name such as DESK_TARIFF_SECRET',
      },
    ])
    // The check reads the desk as written, also when it is no object.
    expect(parseDesks('{"version": "1", "desks": [null]}', 'json').ok).toBe(false)
  })

  it('keeps the webhook as given', () => {
    const webhook = { url: 'https://hooks.example.com/t', secretEnv: 'DESK_T_SECRET' }
    const r = parseDesks(JSON.stringify({ version: '1', desks: [{ id: 'a', webhook }] }), 'json')
    expect(r.ok && r.desks[0]!.webhook).toEqual(webhook)
  })

  it("refuses a desk naming a rule the rules file does not have, naming the desk, the rule, the file's rules and the line", () => {
    // Taken, the desk got nothing of the rule it asked for (a typo, a rule renamed), and nothing said so.
    const text = desksYaml.replace('rules: [tariff_turn]', 'rules: [tariff_up, tarif_turn]')
    const r = parseDesks(text, 'yaml', { rules: rulesOf(['tariff_up', 'tariff_turn']) })
    expect(r.ok ? [] : r.errors).toEqual([
      {
        path: 'desks[3].rules[1]',
        message:
          'desk "momentum_only" names rule "tarif_turn", which the rules file does not have, so the desk would get nothing of it (its rules: tariff_up, tariff_turn) (line 18)',
      },
    ])
    // Every rule it names known (a disabled one is still in the file): taken; without the rules file's ids
    // (the CLI's topics create --desks), not checked.
    expect(parseDesks(desksYaml, 'yaml', { rules: rulesOf(['tariff_turn']) }).ok).toBe(true)
    expect(parseDesks(text, 'yaml').ok).toBe(true)
  })

  it("lists at most 20 of the rules file's ids, and says when it has none", () => {
    const desk = { id: 'a', rules: ['x'], dimensions: ['tariff' as const], minSeverity: 'info' as const }
    const [many] = deskRuleRefusals([desk], rulesOf(Array.from({ length: 25 }, (_, i) => `r${i}`)))
    expect(many!.message).toMatch(/\(its rules: r0, r1, .*, r19, … \(25\)\)$/)
    const [none] = deskRuleRefusals([desk], [])
    expect(none!.message).toMatch(/\(it has none\)$/)
  })

  it('refuses a desk naming a rule that alerts on none of its dimensions, or below its minSeverity', () => {
    // Taken, the desk got nothing of it: an alert is on one of its rule's dimensions, with its rule's
    // severity, and the desk takes only its own dimensions from minSeverity up.
    const text = desksYaml.replace(
      'rules: [tariff_turn]',
      'minSeverity: warning\n    rules: [supply_turn, tariff_turn, tariff_info]',
    )
    const rules: DeskRuleFacts[] = [
      { id: 'supply_turn', dimensions: ['supplyChain', 'market'], severity: 'critical' },
      { id: 'tariff_turn', dimensions: ['supplyChain', 'tariff'], severity: 'warning' },
      { id: 'tariff_info', dimensions: ['tariff'], severity: 'info' },
    ]
    const r = parseDesks(text, 'yaml', { rules })
    expect(r.ok ? [] : r.errors).toEqual([
      {
        path: 'desks[3].rules[0]',
        message:
          'desk "momentum_only" names rule "supply_turn", which alerts on supplyChain, market and the desk follows tariff only, so the desk would get nothing of it (line 19)',
      },
      {
        path: 'desks[3].rules[2]',
        message:
          'desk "momentum_only" names rule "tariff_info", whose alerts are info, below the desk\'s minSeverity warning, so the desk would get nothing of it (line 19)',
      },
    ])
  })

  it('refuses a desk naming a rule that watches none of its scopes, and takes one that may share a scope', () => {
    // Taken, the desk got nothing of it: an alert is on a scope its rule watches, and the desk takes only
    // the scopes it follows (momentum_only follows region:*).
    const text = desksYaml.replace('rules: [tariff_turn]', 'rules: [sector_turn, jp_turn, cn_turn, any_turn]')
    const rule = (id: string, scopes: string[]): DeskRuleFacts => ({
      id,
      dimensions: ['tariff'],
      severity: 'info',
      scopes,
    })
    const rules = [
      rule('sector_turn', ['sector:autos', 'commodity:*']),
      rule('jp_turn', ['region:jp']),
      rule('cn_turn', ['sector:*', 'region:CN']),
      rule('any_turn', ['*']),
    ]
    const r = parseDesks(text, 'yaml', { rules })
    expect(r.ok ? [] : r.errors).toEqual([
      {
        path: 'desks[3].rules[0]',
        message:
          'desk "momentum_only" names rule "sector_turn", which watches sector:autos, commodity:* and the desk follows region:* only, so the desk would get nothing of it (line 18)',
      },
    ])
    // A desk on exact regions: a rule on another region reaches it not, one on the same (any case) does.
    const exact = desksYaml.replace("scopes: ['region:*']", 'scopes: [region:CN, region:US]')
    const e = parseDesks(exact.replace('rules: [tariff_turn]', 'rules: [jp_turn, cn_turn]'), 'yaml', {
      rules: [rule('jp_turn', ['region:jp']), rule('cn_turn', ['region:cn'])],
    })
    expect(e.ok ? [] : e.errors.map((x) => [x.path, x.message.slice(0, 60)])).toEqual([
      ['desks[3].rules[0]', 'desk "momentum_only" names rule "jp_turn", which watches reg'],
    ])
  })

  it('refuses a webhook URL with credentials in it, naming the desk and the line, never the password', () => {
    // Taken, every POST failed (fetch sends no such request), and the failure's warning and dead letter
    // quoted the URL whole, the password in it. Only the alerter refused it, and only with webhooks on.
    const text = `${desksYaml}    webhook:\n      url: https://desk:hook-pw-1@hooks.example.com/t\n      secretEnv: DESK_SECRET\n`
    const r = parseDesks(text, 'yaml')
    expect(r.ok ? [] : r.errors).toEqual([
      {
        path: 'desks[3].webhook.url',
        message:
          'desk "momentum_only" has credentials in its URL (user:password@), which fetch never sends, so every POST would fail (take them out: the webhook is signed with its secretEnv; a token the endpoint needs goes in its path) (line 20)',
      },
    ])
    expect(JSON.stringify(r)).not.toContain('hook-pw-1')
    // A user name alone, too; said beside the desk's other faults, not after they are mended.
    const desk = { id: 'a', minSeverity: 'high', webhook: { url: 'http://desk@x.test/h', secretEnv: 'X' } }
    const j = parseDesks(JSON.stringify({ version: '1', desks: [desk] }), 'json')
    expect(j.ok ? [] : j.errors.map((e) => e.path)).toEqual(['desks[0].minSeverity', 'desks[0].webhook.url'])
  })
})
