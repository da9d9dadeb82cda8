import { ScoreResult } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import TARIFF_MODEL from './data/tariff-model.json' with { type: 'json' }
import {
  createScorer,
  learnedReads,
  lexiconTariffModel,
  RULES_FINGERPRINT,
  SCORER_VERSION,
  TARIFF_CLASSES,
  type TariffModelData,
} from './index.ts'
import { ACT_EASING, ACT_ESCALATING, createTariffModel, newReading, ruleFeatures } from './learned.ts'

const rules = createScorer({ learned: false })
const full = createScorer()

/** A vocabulary of three words for hand-made models. */
const VOCAB = ['raises', 'tariffs', 'talks']
const vocabulary = { size: VOCAB.length, idOf: (w: string) => VOCAB.indexOf(w) }

/** A hand-made model: the named weights, every other weight zero. */
function model(weights: Record<string, number[]>, neutralBias = 0) {
  return createTariffModel({ format: 3, neutralBias, weights }, vocabulary)
}

const h = 'U.S. raises tariffs on Chinese goods'
const r = rules.score({ headline: h })

describe('ruleFeatures', () => {
  it('reads the rules’ label, score, cue sums and events', () => {
    const threat = 'Trump threatens new tariffs on Chinese goods as talks stall'
    const f = new Map(ruleFeatures(rules.score({ headline: threat })))
    expect(f.get('bias')).toBe(1)
    expect(f.get('rule=negative')).toBe(1)
    expect(f.get('score')).toBeLessThan(0)
    expect(f.get('score-')).toBe(f.get('score'))
    expect(f.get('score+')).toBe(0)
    expect(f.get('cues-')).toBeLessThan(0)
    expect(f.get('cues+')).toBe(0)
    expect(f.get('ev=tariff_raised:threat')).toBe(1)
    expect(f.get('ev=talks_breakdown')).toBe(1)
  })
})

describe('learnedReads', () => {
  const t = { score: 0.3, relevance: 0.8, confidence: 0.5, label: 'positive' as const }

  it('reads what the rules label, short of a strong score', () => {
    expect(learnedReads(t)).toBe(true)
    expect(learnedReads({ ...t, score: -0.5999, label: 'negative' })).toBe(true)
    expect(learnedReads({ ...t, score: -0.6, label: 'negative' })).toBe(false)
    expect(learnedReads({ ...t, score: 0.9 })).toBe(false)
    expect(learnedReads({ ...t, score: 0, label: 'neutral' })).toBe(true)
    expect(learnedReads({ ...t, label: null })).toBe(false)
  })

  it('leaves to the rules an act done that goes the way of their label, and only that', () => {
    expect(learnedReads(t, ACT_EASING)).toBe(false)
    expect(learnedReads(t, ACT_ESCALATING)).toBe(true)
    expect(learnedReads({ ...t, score: -0.3, label: 'negative' }, ACT_ESCALATING)).toBe(false)
    expect(learnedReads({ ...t, score: -0.3, label: 'negative' }, ACT_EASING)).toBe(true)
    expect(learnedReads({ ...t, score: 0, label: 'neutral' }, ACT_EASING | ACT_ESCALATING)).toBe(true)
  })

  it('counts an act a verb binds, done, and not a measure or a deal only named or threatened', () => {
    const reads = (headline: string) => rules.features({ headline }).reads
    // "pauses" binds the export rules: an easing act done.
    expect(rules.score({ headline: 'U.S. pauses new chip export rules' }).scores.tariff.label).toBe(
      'positive',
    )
    expect(reads('U.S. pauses new chip export rules')).toBe(false)
    // A deal named bare, with no verb acting on it.
    const named = rules.score({ headline: 'France says any U.S. trade deal should be reciprocal' })
    expect(named.events.some((e) => e.type === 'deal')).toBe(true)
    expect(reads('France says any U.S. trade deal should be reciprocal')).toBe(true)
    // A threatened act is no act done.
    expect(reads('EU weighs tariffs on U.S. whiskey')).toBe(true)
    expect(full.score({ headline: 'U.S. pauses new chip export rules' }).scores.tariff.label).toBe('positive')
  })
})

describe('createTariffModel', () => {
  it('refuses another format, a weight vector of the wrong length, a word not in the lexicon, an unknown feature', () => {
    expect(() =>
      createTariffModel({ format: 2, neutralBias: 0, weights: {} } as unknown as TariffModelData, vocabulary),
    ).toThrow(/unknown format 2/)
    expect(() => model({ bias: [1, 2, 3] })).toThrow(/feature bias has 3 weights/)
    expect(() => model({ 'w=tarifs': [0, 0, 0, 0] })).toThrow(/"tarifs" is not a lexicon word; retrain/)
    expect(() => model({ colour: [0, 0, 0, 0] })).toThrow(/unknown feature colour/)
  })

  it('gives relevance as the probability of any class but none, and no label below the rules’ minimum', () => {
    const out = model({ bias: [Math.log(2.9), 0, 0, 0] }).readNamed(r, ruleFeatures(r))
    // exp: 2.9, 1, 1, 1 → p(none) = 2.9 / 5.9, just under a half; a three-way tie among the
    // directions goes to neutral.
    expect(out.p[0]).toBeCloseTo(2.9 / 5.9, 6)
    expect(out.relevance).toBeCloseTo(3 / 5.9, 6)
    expect(out.label).toBe('neutral')
    const below = model({ bias: [Math.log(3.1), 0, 0, 0] }).readNamed(r, ruleFeatures(r))
    expect(below.relevance).toBeLessThan(0.5)
    expect(below.label).toBeNull()
    expect(below.confidence).toBe(0)
  })

  it('labels the likeliest direction and scores the expected direction among the relevant classes', () => {
    const neg = model({ 'w=raises': [0, 2, 0, 0] }).readNamed(r, [['w=raises', 1]])
    expect(neg.label).toBe('negative')
    expect(neg.score).toBeCloseTo(
      ((neg.p[3] as number) - (neg.p[1] as number)) / (1 - (neg.p[0] as number)),
      6,
    )
    expect(neg.score).toBeLessThan(0)
    const pos = model({ 'w=raises': [0, 0, 0, 2] }).readNamed(r, [['w=raises', 1]])
    expect(pos.label).toBe('positive')
    expect(pos.score).toBeCloseTo(-neg.score, 6)
  })

  it('gives a tie between the two directions to neutral', () => {
    const out = model({ bias: [0, 1, 0, 1] }).readNamed(r, [['bias', 1]])
    expect(out.p[1]).toBe(out.p[3])
    expect(out.label).toBe('neutral')
  })

  it('takes the neutral prior off the neutral logit before deciding', () => {
    const weights = { 'w=tariffs': [0, 1, 1.25, 0] }
    expect(model(weights).readNamed(r, [['w=tariffs', 1]]).label).toBe('neutral')
    expect(model(weights, 0.5).readNamed(r, [['w=tariffs', 1]]).label).toBe('negative')
  })

  it('reads words by vocabulary id as it reads them by name, each time a word comes', () => {
    const m = model({ 'w=talks': [0, 0.5, 0, 0.25], 'w=raises': [0, 1, 0, 0], bias: [0.5, 0, 0, 0] })
    const byId = m.read(r, Int32Array.from([2, 0, 2]), 3, newReading())
    const byName = m.readNamed(r, [...ruleFeatures(r), ['w=talks', 1], ['w=raises', 1], ['w=talks', 1]])
    expect([...byId.p]).toEqual([...byName.p])
    expect(byId.label).toBe(byName.label)
    // Only the first `count` ids are read.
    expect([...m.read(r, Int32Array.from([1, 0]), 1, newReading()).p]).not.toEqual([...byId.p])
  })

  it('reads each event variant (plain, threat, negated, both) as its own row, by id as by name', () => {
    const weights = {
      'ev=tariff_imposed': [0, 1, 0, 0],
      'ev=tariff_imposed:threat': [0, 0, 1, 0],
      'ev=tariff_imposed:not': [0, 0, 0, 1],
      'ev=tariff_imposed:threat:not': [3, 0, 0, 0],
    }
    const m = model(weights)
    for (const [headline, want] of [
      ['U.S. imposes new tariffs on steel', 'negative'],
      ['U.S. threatens to impose new tariffs on steel', 'neutral'],
      ['U.S. has no plans to impose tariffs on steel', 'positive'],
    ] as const) {
      const rule = rules.score({ headline })
      const byId = m.read(rule, new Int32Array(0), 0, newReading())
      expect(byId.label, headline).toBe(want)
      expect([...byId.p], headline).toEqual([...m.readNamed(rule, ruleFeatures(rule)).p])
    }
    const both = rules.score({ headline: 'U.S. does not threaten to impose tariffs on steel' })
    const e = both.events.find((x) => x.type === 'tariff_imposed')
    if (e?.threat && e.negated) expect(m.read(both, new Int32Array(0), 0, newReading()).label).toBeNull()
  })

  it('lowers confidence when the tariff events are threats', () => {
    const m = model({ bias: [0, 2, 0, 0] })
    const done = rules.score({ headline: 'U.S. imposes new tariffs on steel' })
    const threat = rules.score({ headline: 'U.S. threatens new tariffs on steel' })
    const d = m.readNamed(done, [['bias', 1]])
    const t = m.readNamed(threat, [['bias', 1]])
    expect([...d.p]).toEqual([...t.p])
    expect(t.confidence).toBeCloseTo(d.confidence * 0.6, 12)
  })
})

describe('the scorer with its learned layer', () => {
  it('leaves a headline the rules give no tariff label untouched', () => {
    for (const headline of ['Netflix communications chief quits over remark', 'China stocks close higher']) {
      expect(full.score({ headline })).toEqual({
        ...rules.score({ headline }),
        scorerVersion: SCORER_VERSION,
      })
    }
  })

  it('leaves a strong rule reading alone', () => {
    const headline = 'Trump threatens new tariffs on Chinese goods as talks stall'
    expect(Math.abs(rules.score({ headline }).scores.tariff.score)).toBeGreaterThanOrEqual(0.6)
    expect(full.score({ headline })).toEqual({ ...rules.score({ headline }), scorerVersion: SCORER_VERSION })
  })

  it('reads a weaker one, and says so in the explanation', () => {
    const headline = 'EU and Japan discuss tariffs on cars'
    const ruled = rules.score({ headline })
    const f = full.score({ headline })
    expect(ScoreResult.safeParse(f).success).toBe(true)
    const { rule, features } = rules.features({ headline })
    expect(rule).toEqual(ruled)
    const m = lexiconTariffModel(TARIFF_MODEL as TariffModelData).readNamed(rule, features)
    expect(m.label).toBe('neutral')
    expect(f.scores.tariff.label).toBe('neutral')
    // The layer agrees with the rules here: the score and relevance stay theirs, confidence is at most its own.
    expect(f.scores.tariff.score).toBe(ruled.scores.tariff.score)
    expect(f.scores.tariff.relevance).toBe(ruled.scores.tariff.relevance)
    expect(f.scores.tariff.confidence).toBeCloseTo(Math.min(ruled.scores.tariff.confidence, m.confidence), 4)
    const cue = f.explanation.at(-1)
    expect(cue?.cue).toBe('learned: neutral')
    expect(cue?.weight).toBe(0)
    expect(cue?.span).toEqual({ field: 'headline', start: 0, end: headline.length })
    expect(f.explanation.slice(0, -1)).toEqual(ruled.explanation)
    // Only the tariff scores change.
    expect(f.scores.supplyChain).toEqual(ruled.scores.supplyChain)
    expect(f.scores.market).toEqual(ruled.scores.market)
    expect(f.events).toEqual(ruled.events)
  })

  it('leaves the rules to decide when a body comes with the headline', () => {
    const headline = 'EU and Japan discuss tariffs on cars'
    const body = 'Officials met in Brussels.'
    expect(full.score({ headline, body })).toEqual({
      ...rules.score({ headline, body }),
      scorerVersion: SCORER_VERSION,
    })
    expect(full.score({ headline }).explanation.at(-1)?.cue).toBe('learned: neutral')
    // A body of blanks is no body.
    expect(full.score({ headline, body: ' \n\t ' })).toEqual(full.score({ headline }))
  })

  it('reads no words left over from the text scored before', () => {
    const s = createScorer()
    const fresh = createScorer().score({ headline: '', body: 'Officials discussed tariffs on steel.' })
    s.score({ headline: 'China vows to open its markets further' })
    expect(s.score({ headline: '', body: 'Officials discussed tariffs on steel.' })).toEqual(fresh)
    const t = createScorer().score({ headline: 'EU and Japan discuss tariffs on cars' })
    s.score({ headline: 'China vows to open its markets further, cuts tariffs on cars' })
    expect(s.score({ headline: 'EU and Japan discuss tariffs on cars' })).toEqual(t)
  })

  it('stamps the rules-only version on a scorer without the layer', () => {
    expect(rules.score({ headline: 'U.S. raises tariffs' }).scorerVersion).toBe(`${SCORER_VERSION}+rules`)
    expect(full.score({ headline: 'U.S. raises tariffs' }).scorerVersion).toBe(SCORER_VERSION)
  })

  it('reads the same words whether or not a body follows, and only the lexicon’s', () => {
    const headline = 'Tesla says U.S. tariffs on Chinese parts will not raise prices'
    const watch = createScorer({ watchlist: { entities: [{ id: 'TSLA', names: ['Tesla'] }] } })
    const a = watch.score({ headline })
    expect(a.entities.companies).toEqual(['TSLA'])
    expect(a.scores.tariff).toEqual(full.score({ headline }).scores.tariff)
    const words = rules.features({ headline }).features.filter(([k]) => k.startsWith('w='))
    expect(words.map(([k]) => k)).not.toContain('w=tesla')
    expect(words.map(([k]) => k)).toContain('w=tariffs')
    // A body changes the rules' sums, not the words the layer reads.
    const withBody = rules
      .features({ headline, body: 'Shares rose.' })
      .features.filter(([k]) => k.startsWith('w='))
    expect(withBody).toEqual(words)
  })

  it('labels as the layer read by name decides, with the rules’ strength in its direction', () => {
    const m = lexiconTariffModel(TARIFF_MODEL as TariffModelData)
    const headlines = [
      'U.S. raises tariffs on Chinese goods',
      'China cuts tariffs on U.S. cars as trade truce holds',
      'EU says it won’t retaliate against U.S. steel tariffs',
      'Factbox: What’s in the U.S.-China phase one trade deal',
      'U.S. and China to hold trade talks next week',
      'China vows to open its markets further',
      'Beijing rules out new tariffs on U.S. goods',
      'Exporters expect uncertainty from protectionism next year',
    ]
    let changed = 0
    for (const headline of headlines) {
      const { rule, features } = rules.features({ headline })
      const r0 = rule.scores.tariff
      if (!rules.features({ headline }).reads) {
        expect(full.score({ headline }).scores.tariff, headline).toEqual(r0)
        continue
      }
      const want = m.readNamed(rule, features)
      const t = full.score({ headline }).scores.tariff
      expect(t.label, headline).toBe(want.label)
      if (t.label !== r0.label) changed++
      expect(t.confidence, headline).toBeLessThanOrEqual(r0.confidence)
      if (t.label === null) {
        expect(t.relevance, headline).toBeLessThan(0.5)
      } else if (t.label === 'neutral') {
        expect(Math.abs(t.score), headline).toBeLessThanOrEqual(0.12)
        expect(t.score, headline).toBe(Math.max(-0.12, Math.min(0.12, r0.score)))
      } else {
        expect(Math.sign(t.score), headline).toBe(t.label === 'positive' ? 1 : -1)
        expect(Math.abs(t.score), headline).toBeCloseTo(Math.max(Math.abs(r0.score), 0.1201), 4)
      }
    }
    // Expecting uncertainty from protectionism reads as escalation to the layer (the rules: neutral).
    expect(changed).toBeGreaterThanOrEqual(1)
  })

  it('keeps the explanation within the cue limit', () => {
    // Rises and cuts in turn: 48 cues that cancel out, which the rules read neutral and the layer reads.
    const r = rules.score({ headline: 'U.S. raises tariffs, China cuts tariffs; '.repeat(30) })
    const f = full.score({ headline: 'U.S. raises tariffs, China cuts tariffs; '.repeat(30) })
    expect(r.explanation).toHaveLength(48)
    expect(f.explanation).toHaveLength(48)
    expect(f.explanation.at(-1)?.cue).toMatch(/^learned: /)
    expect(f.explanation.slice(0, 47)).toEqual(r.explanation.slice(0, 47))
  })

  it('ships a model trained on our labels, in the version hash', () => {
    const data = TARIFF_MODEL as TariffModelData
    expect(data.format).toBe(3)
    expect(Object.keys(data.weights).length).toBeGreaterThan(500)
    for (const w of Object.values(data.weights)) expect(w).toHaveLength(TARIFF_CLASSES.length)
    expect(SCORER_VERSION).toMatch(/^scoring-2\./)
  })

  it('was trained under the rules it reads (after a rule change: pnpm train tariff)', () => {
    expect((TARIFF_MODEL as TariffModelData).trainedOn?.rules).toBe(RULES_FINGERPRINT)
  })
})
