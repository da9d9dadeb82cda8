// The learned tariff layer: a multinomial logistic regression over the rule scorer's own output (its
// score, relevance, cue sums and events) and the lexicon words of the headline. The rules find the
// cues; the model, trained on our labelled headlines (bench/src/train), learns how far to trust them:
// when a measure in the background of other news is no escalation, when talks named bare are neutral,
// which words make a headline an overview. Pure: the weights come in as data, no I/O.
//
// Its words are the lexicon's own (the vocabulary ids the tokenizer already found), so the layer
// builds no string and probes no table per word: a headline costs an array load per word.
import type { ScoreResult } from '@tradepulse/contracts'
import { RULES } from './data/rules.ts'

/** The model's classes, in the order of every weight vector. */
export const TARIFF_CLASSES = ['none', 'negative', 'neutral', 'positive'] as const
export type TariffClass = (typeof TARIFF_CLASSES)[number]

const K = 4
const NONE = 0
const NEG = 1
const NEU = 2
const POS = 3

/** What a trained model file holds (packages/scoring/src/data/tariff-model.json). */
export interface TariffModelData {
  format: 3
  /** Subtracted from the neutral logit before deciding: the decision prior chosen by cross-validation. */
  neutralBias: number
  /**
   * Feature name → one weight per class of TARIFF_CLASSES. Names: `w=<word>` for a word of the
   * lexicon's vocabulary, and the rule features of ruleFeatures.
   */
  weights: Record<string, number[]>
  /** How the file was made: rows, regularisation, epochs (documentation only). */
  trainedOn?: Record<string, unknown>
}

/** A feature: its name and value. */
export type Feature = [name: string, value: number]

/**
 * The features read off the rules' result: its label, score, relevance and confidence, the sums of
 * its escalating and easing tariff cues, its tariff events, the market tone and uncertainty.
 */
export function ruleFeatures(rule: ScoreResult): Feature[] {
  const t = rule.scores.tariff
  let neg = 0
  let pos = 0
  let n = 0
  for (const c of rule.explanation) {
    if (c.dimension !== 'tariff') continue
    n++
    if (c.weight < 0) neg += c.weight
    else pos += c.weight
  }
  const f: Feature[] = [
    ['bias', 1],
    [`rule=${t.label ?? 'none'}`, 1],
    ['score', t.score],
    ['score+', Math.max(0, t.score)],
    ['score-', Math.min(0, t.score)],
    ['abs', Math.abs(t.score)],
    ['relevance', t.relevance],
    ['confidence', t.confidence],
    ['cues-', neg],
    ['cues+', pos],
    ['cues', Math.min(n, 5) / 5],
    ['uncertainty', rule.scores.uncertainty],
    ['market', rule.scores.market.score],
  ]
  for (const e of rule.events) {
    if (e.dimension === 'tariff') f.push([eventFeature(e.type, e.threat, e.negated), 1])
  }
  return f
}

function eventFeature(type: string, threat: boolean, negated: boolean): string {
  return `ev=${type}${threat ? ':threat' : ''}${negated ? ':not' : ''}`
}

/** All features of a headline by name: the rule features, then each lexicon word, as often as it comes. */
export function tariffFeatures(rule: ScoreResult, words: readonly string[]): Feature[] {
  const f = ruleFeatures(rule)
  for (const w of words) f.push([`w=${w}`, 1])
  return f
}

/** The words the model may know: the lexicon's vocabulary (ids 0 … size-1). */
export interface ModelVocabulary {
  size: number
  /** The id of a word, or -1. */
  idOf(word: string): number
}

/** The model's reading of one headline. */
export interface TariffReading {
  /** Probability of each class of TARIFF_CLASSES, after the neutral prior. */
  p: Float64Array
  score: number
  relevance: number
  confidence: number
  label: 'negative' | 'neutral' | 'positive' | null
}

export interface TariffModel {
  /**
   * The reading of a headline from the rules' result and the vocabulary ids of its words, written
   * into `out` (one object reused for every headline: the scorer allocates nothing here).
   */
  read(rule: ScoreResult, ids: Int32Array, count: number, out: TariffReading): TariffReading
  /** The same reading from features by name (training and tests; builds strings). */
  readNamed(rule: ScoreResult, features: readonly Feature[], out?: TariffReading): TariffReading
}

function addRow(z: Float64Array, w: Float32Array, row: number, v: number): void {
  const at = row * K
  z[0] = (z[0] as number) + (w[at] as number) * v
  z[1] = (z[1] as number) + (w[at + 1] as number) * v
  z[2] = (z[2] as number) + (w[at + 2] as number) * v
  z[3] = (z[3] as number) + (w[at + 3] as number) * v
}

/** The numeric rule features, in the order of the model's first rows (see ruleFeatures). */
const NUMERIC = [
  'bias',
  'score',
  'score+',
  'score-',
  'abs',
  'relevance',
  'confidence',
  'cues-',
  'cues+',
  'cues',
  'uncertainty',
  'market',
] as const
const RULE_LABELS = ['rule=none', 'rule=negative', 'rule=neutral', 'rule=positive'] as const

/** A reading to write into (see TariffModel.read). */
export function newReading(): TariffReading {
  return { p: new Float64Array(K), score: 0, relevance: 0, confidence: 0, label: null }
}

/**
 * A model over `data`. Relevance is the probability that the headline is about trade policy at all;
 * below RULES.relevanceMin the label is null, as with the rules. Otherwise the label is the likeliest of
 * negative, neutral and positive, and the score the expected direction among them, in [-1, 1].
 */
export function createTariffModel(data: TariffModelData, vocabulary: ModelVocabulary): TariffModel {
  if (data.format !== 3) throw new Error(`tariff model: unknown format ${String(data.format)}`)
  // Every weight in one packed array, four per row: the numeric rule features (rows 0-11, in the
  // order of NUMERIC), the rule label (12-15), the events, then the words. One allocation keeps the
  // few hundred bytes a headline reads close together.
  const rowOfName = new Map<string, number>()
  const rows: number[][] = []
  const addName = (name: string, w: number[]): number => {
    rowOfName.set(name, rows.length)
    rows.push(w)
    return rows.length - 1
  }
  const zeros = [0, 0, 0, 0]
  for (const name of [...NUMERIC, ...RULE_LABELS]) addName(name, data.weights[name] ?? zeros)
  // Word id → its row (-1: a word the model gives no weight); event type → the rows of its four
  // variants (plain, threat, negated, both), -1 where the model has none.
  const rowOf = new Int32Array(vocabulary.size).fill(-1)
  const eventRows = new Map<string, Int32Array>()
  for (const [name, w] of Object.entries(data.weights)) {
    if (w.length !== K) throw new Error(`tariff model: feature ${name} has ${w.length} weights`)
    if (rowOfName.has(name)) continue
    if (name.startsWith('w=')) {
      const id = vocabulary.idOf(name.slice(2))
      if (id < 0 || id >= vocabulary.size)
        throw new Error(`tariff model: "${name.slice(2)}" is not a lexicon word; retrain (pnpm train tariff)`)
      rowOf[id] = addName(name, w)
    } else if (name.startsWith('ev=')) {
      const [type = '', ...flags] = name.slice(3).split(':')
      const variant = (flags.includes('threat') ? 1 : 0) + (flags.includes('not') ? 2 : 0)
      const variants = eventRows.get(type) ?? new Int32Array(4).fill(-1)
      variants[variant] = addName(name, w)
      eventRows.set(type, variants)
    } else throw new Error(`tariff model: unknown feature ${name}`)
  }
  const W = new Float32Array(rows.length * K)
  for (const [row, w] of rows.entries()) W.set(w, row * K)
  const z = new Float64Array(K)

  function decide(rule: ScoreResult, out: TariffReading): TariffReading {
    z[NEU] = (z[NEU] as number) - data.neutralBias
    const max = Math.max(z[0] as number, z[1] as number, z[2] as number, z[3] as number)
    let sum = 0
    for (let c = 0; c < K; c++) {
      z[c] = Math.exp((z[c] as number) - max)
      sum += z[c] as number
    }
    const p = out.p
    p[NONE] = (z[NONE] as number) / sum
    p[NEG] = (z[NEG] as number) / sum
    p[NEU] = (z[NEU] as number) / sum
    p[POS] = (z[POS] as number) / sum
    const pNeg = p[NEG] as number
    const pNeu = p[NEU] as number
    const pPos = p[POS] as number
    const relevance = 1 - (p[NONE] as number)
    const score = (pPos - pNeg) / Math.max(relevance, 1e-12)
    let label: TariffReading['label'] = null
    let pLabel = 0
    if (relevance >= RULES.relevanceMin) {
      // A tie goes to neutral: a direction is claimed only when it is the likelier reading.
      label = pNeg > pNeu && pNeg >= pPos ? 'negative' : pPos > pNeu && pPos > pNeg ? 'positive' : 'neutral'
      pLabel = label === 'negative' ? pNeg : label === 'positive' ? pPos : pNeu
    }
    // A threatened measure is not a measure taken: confidence drops with the share of threats.
    let events = 0
    let threats = 0
    for (const e of rule.events) {
      if (e.dimension !== 'tariff') continue
      events++
      if (e.threat) threats++
    }
    const threatShare = events === 0 ? 0 : threats / events
    const confidence = pLabel * (1 - 0.4 * threatShare)
    out.score = Math.max(-1, Math.min(1, score))
    out.relevance = relevance
    out.confidence = confidence
    out.label = label
    return out
  }

  return {
    read(rule, ids, count, out) {
      z.fill(0)
      // ruleFeatures, written out by row.
      const t = rule.scores.tariff
      let neg = 0
      let pos = 0
      let n = 0
      const cues = rule.explanation
      for (let q = 0; q < cues.length; q++) {
        const c = cues[q] as ScoreResult['explanation'][number]
        if (c.dimension !== 'tariff') continue
        n++
        if (c.weight < 0) neg += c.weight
        else pos += c.weight
      }
      addRow(z, W, 0, 1)
      addRow(z, W, 1, t.score)
      addRow(z, W, 2, Math.max(0, t.score))
      addRow(z, W, 3, Math.min(0, t.score))
      addRow(z, W, 4, Math.abs(t.score))
      addRow(z, W, 5, t.relevance)
      addRow(z, W, 6, t.confidence)
      addRow(z, W, 7, neg)
      addRow(z, W, 8, pos)
      addRow(z, W, 9, Math.min(n, 5) / 5)
      addRow(z, W, 10, rule.scores.uncertainty)
      addRow(z, W, 11, rule.scores.market.score)
      addRow(
        z,
        W,
        t.label === 'negative' ? 13 : t.label === 'neutral' ? 14 : t.label === 'positive' ? 15 : 12,
        1,
      )
      const events = rule.events
      for (let q = 0; q < events.length; q++) {
        const e = events[q] as ScoreResult['events'][number]
        if (e.dimension !== 'tariff') continue
        const variants = eventRows.get(e.type)
        const row =
          variants === undefined ? -1 : (variants[(e.threat ? 1 : 0) + (e.negated ? 2 : 0)] as number)
        if (row >= 0) addRow(z, W, row, 1)
      }
      for (let i = 0; i < count; i++) {
        const row = rowOf[ids[i] as number] as number
        if (row >= 0) addRow(z, W, row, 1)
      }
      return decide(rule, out)
    },
    readNamed(rule, features, out = newReading()) {
      z.fill(0)
      for (const [name, v] of features) {
        const row = rowOfName.get(name)
        if (row !== undefined) addRow(z, W, row, v)
      }
      return decide(rule, out)
    },
  }
}
