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

/** The numeric rule features, in the order of the model's first rows (see ruleValues). */
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
/** How many values ruleValues writes: the numeric features, then the rule label one-hot. */
const RULE_VALUES = NUMERIC.length + RULE_LABELS.length

/**
 * The values of the rule features into x[0, RULE_VALUES): NUMERIC (the rules' score and its positive
 * and negative parts, relevance, confidence, the sums of the escalating and easing tariff cues, the cue
 * count, uncertainty, the market tone), then the rule label one-hot (RULE_LABELS). The one definition
 * of these features, for the names (ruleFeatures) and for the scorer's reading (TariffModel.read).
 */
function ruleValues(rule: ScoreResult, x: Float64Array): void {
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
  x[0] = 1
  x[1] = t.score
  x[2] = Math.max(0, t.score)
  x[3] = Math.min(0, t.score)
  x[4] = Math.abs(t.score)
  x[5] = t.relevance
  x[6] = t.confidence
  x[7] = neg
  x[8] = pos
  x[9] = Math.min(n, 5) / 5
  x[10] = rule.scores.uncertainty
  x[11] = rule.scores.market.score
  x[12] = t.label === null ? 1 : 0
  x[13] = t.label === 'negative' ? 1 : 0
  x[14] = t.label === 'neutral' ? 1 : 0
  x[15] = t.label === 'positive' ? 1 : 0
}

/**
 * The features read off the rules' result by name: the bias, the rule label, the other numeric
 * features (ruleValues), then each tariff event with its threat and negation flags.
 */
export function ruleFeatures(rule: ScoreResult): Feature[] {
  const x = new Float64Array(RULE_VALUES)
  ruleValues(rule, x)
  const label = RULE_LABELS.findIndex((_, q) => x[NUMERIC.length + q] === 1)
  const f: Feature[] = [
    [NUMERIC[0], 1],
    [RULE_LABELS[label] as string, 1],
    ...NUMERIC.slice(1).map((name, q): Feature => [name, x[q + 1] as number]),
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

/** Bits of the acts the rules read as done in a text: an easing one, an escalating one. */
export const ACT_EASING = 1
export const ACT_ESCALATING = 2

/**
 * Whether the learned layer reads a headline, from the rules' tariff scores and the acts they read as
 * done (`actsDone`: ACT_EASING | ACT_ESCALATING of the tariff events a verb binds, neither threatened
 * nor negated): those the rules label, short of a strong score (RULES.learnedScoreMax: above it,
 * cross-validated, the layer changed 3 labels of 619), and not where an act done goes the way of the
 * rules' label ("U.S. pauses new chip export rules"), which the layer may not overturn. A measure or a
 * deal only named ("France says any U.S. trade deal should be reciprocal") is no act done: that is
 * what the layer is for. (The scorer also leaves it out when a body comes with the headline.)
 */
export function learnedReads(t: ScoreResult['scores']['tariff'], actsDone = 0): boolean {
  if (t.label === null || Math.abs(t.score) >= RULES.learnedScoreMax) return false
  if (t.label === 'positive') return (actsDone & ACT_EASING) === 0
  if (t.label === 'negative') return (actsDone & ACT_ESCALATING) === 0
  return true
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
  // The values of the first RULE_VALUES rows for one headline (ruleValues).
  const x = new Float64Array(RULE_VALUES)
  const neutralBias = data.neutralBias

  /** z = the logits: the sum of W's rows[q] times vals[q], q < n. */
  function logits(rows: Int32Array, vals: Float64Array, n: number): void {
    let z0 = 0
    let z1 = 0
    let z2 = 0
    let z3 = 0
    for (let q = 0; q < n; q++) {
      const at = (rows[q] as number) * K
      const v = vals[q] as number
      z0 += (W[at] as number) * v
      z1 += (W[at + 1] as number) * v
      z2 += (W[at + 2] as number) * v
      z3 += (W[at + 3] as number) * v
    }
    z[0] = z0
    z[1] = z1
    z[2] = z2
    z[3] = z3
  }

  function decide(rule: ScoreResult, out: TariffReading): TariffReading {
    const z0 = z[NONE] as number
    const z1 = z[NEG] as number
    const z2 = (z[NEU] as number) - neutralBias
    const z3 = z[POS] as number
    const max = Math.max(z0, z1, z2, z3)
    const e0 = Math.exp(z0 - max)
    const e1 = Math.exp(z1 - max)
    const e2 = Math.exp(z2 - max)
    const e3 = Math.exp(z3 - max)
    const sum = e0 + e1 + e2 + e3
    const p = out.p
    p[NONE] = e0 / sum
    const pNeg = e1 / sum
    const pNeu = e2 / sum
    const pPos = e3 / sum
    p[NEG] = pNeg
    p[NEU] = pNeu
    p[POS] = pPos
    const relevance = 1 - e0 / sum
    const score = (pPos - pNeg) / Math.max(relevance, 1e-12)
    let label: TariffReading['label'] = null
    let pLabel = 0
    if (relevance >= RULES.relevanceMin) {
      // A tie goes to neutral: a direction is claimed only when it is the likelier reading.
      label = pNeg > pNeu && pNeg > pPos ? 'negative' : pPos > pNeu && pPos > pNeg ? 'positive' : 'neutral'
      pLabel = label === 'negative' ? pNeg : label === 'positive' ? pPos : pNeu
    }
    // A threatened measure is not a measure taken: confidence drops with the share of threats.
    let events = 0
    let threats = 0
    const list = rule.events
    for (let q = 0; q < list.length; q++) {
      const e = list[q] as ScoreResult['events'][number]
      if (e.dimension !== 'tariff') continue
      events++
      if (e.threat) threats++
    }
    const threatShare = events === 0 ? 0 : threats / events
    out.score = Math.max(-1, Math.min(1, score))
    out.relevance = relevance
    out.confidence = pLabel * (1 - 0.4 * threatShare)
    out.label = label
    return out
  }

  // The rows one headline reads, with their values: the rule features, its events, its words.
  let rowsRead = new Int32Array(64)
  let valsRead = new Float64Array(64)
  function room(n: number): void {
    if (rowsRead.length >= n) return
    rowsRead = new Int32Array(n * 2)
    valsRead = new Float64Array(n * 2)
  }

  return {
    read(rule, ids, count, out) {
      ruleValues(rule, x)
      const events = rule.events
      room(RULE_VALUES + events.length + count)
      let m = 0
      for (let q = 0; q < RULE_VALUES; q++) {
        const v = x[q] as number
        if (v === 0) continue
        rowsRead[m] = q
        valsRead[m++] = v
      }
      for (let q = 0; q < events.length; q++) {
        const e = events[q] as ScoreResult['events'][number]
        if (e.dimension !== 'tariff') continue
        const variants = eventRows.get(e.type)
        const row =
          variants === undefined ? -1 : (variants[(e.threat ? 1 : 0) + (e.negated ? 2 : 0)] as number)
        if (row < 0) continue
        rowsRead[m] = row
        valsRead[m++] = 1
      }
      for (let i = 0; i < count; i++) {
        const row = rowOf[ids[i] as number] as number
        if (row < 0) continue
        rowsRead[m] = row
        valsRead[m++] = 1
      }
      logits(rowsRead, valsRead, m)
      return decide(rule, out)
    },
    readNamed(rule, features, out = newReading()) {
      room(features.length)
      let m = 0
      for (const [name, v] of features) {
        const row = rowOfName.get(name)
        if (row === undefined) continue
        rowsRead[m] = row
        valsRead[m++] = v
      }
      logits(rowsRead, valsRead, m)
      return decide(rule, out)
    },
  }
}
