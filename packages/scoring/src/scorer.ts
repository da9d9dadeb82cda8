// The scorer: tokenize, match lexicon phrases, attach negators/hedges/intensifiers to what follows
// them, bind each predicate to the nearest target in its clause, and add the weighted cues up per
// dimension. Every step is a bounded scan over the tokens, so time is linear in the text's length.
import type { Cue, Entities, EventType, ScoreResult, SentimentLabel, TradeEvent } from '@tradepulse/contracts'
import { RULES } from './data/rules.ts'
import {
  type Entry,
  insertPhrase,
  LEXICON,
  newEntry,
  type PredRole,
  phraseKeys,
  type TargetRole,
  type TrieNode,
  trieChild,
  UNIT_SCALE,
} from './lexicon.ts'
import { BREAK, createTokenBuffer, NUMBER, tokenize, WORD } from './tokenizer.ts'
import { SCORER_VERSION } from './version.ts'
import { cloneVocabulary, freeze, lookupWord, type Vocabulary } from './vocabulary.ts'
import type { Watchlist } from './watchlist.ts'

export interface ScorerOptions {
  watchlist?: Watchlist
  /** Characters scored at most (headline first, then body); the rest is cut and `truncated` set. */
  maxChars?: number
}

export interface ScoreInput {
  headline: string
  body?: string
}

export interface Scorer {
  score(input: ScoreInput): ScoreResult
}

type Field = 'headline' | 'body'

// Dimension slots in the accumulators.
const T = 0
const S = 1
const M = 2

const NUM_UP: PredRole = {
  id: 'rate-up',
  sign: 1,
  rightSign: 1,
  marketSign: 0,
  fixed: 0,
  kind: 'more',
  policy: false,
  marketOk: true,
  strength: 1,
  threat: false,
}
const NUM_DOWN: PredRole = { ...NUM_UP, id: 'rate-down', sign: -1, rightSign: -1, kind: 'cut' }

function numberEntry(pred: PredRole, key: string): Entry {
  // Same fields in the same order as every lexicon entry (one object shape for the hot path).
  return { ...newEntry(key), pred }
}
const NUM_UP_ENTRY = numberEntry(NUM_UP, 'figure up (to x from y)')
/** "+4%", "-17.5%": a signed change carries market tone of its own. */
const PCT_UP_ENTRY: Entry = {
  ...numberEntry(NUM_UP, 'signed change up'),
  pred: null,
  tone: 0.5,
  hasTone: true,
}
const PCT_DOWN_ENTRY: Entry = { ...PCT_UP_ENTRY, key: 'signed change down', tone: -0.5 }
const NUM_DOWN_ENTRY = numberEntry(NUM_DOWN, 'figure down (to x from y)')

const UNIT_BY_ID = new Map<number, number>()
for (const [word, scale] of Object.entries(UNIT_SCALE)) {
  const id = lookupWord(LEXICON.vocab, word)
  if (id >= 0) UNIT_BY_ID.set(id, scale)
}

interface Accumulator {
  sum: Float64Array
  abs: Float64Array
  threatAbs: Float64Array
  count: Int32Array
  topic: Float64Array
  uncertainty: number
  threats: number
  /** Context-marker factors of the field (see CONTEXT_MARKERS), applied once the field is matched. */
  directionScale: number
  supplyScale: number
}

function newAccumulator(): Accumulator {
  return {
    sum: new Float64Array(3),
    abs: new Float64Array(3),
    threatAbs: new Float64Array(3),
    count: new Int32Array(3),
    topic: new Float64Array(2),
    uncertainty: 0,
    threats: 0,
    directionScale: 1,
    supplyScale: 1,
  }
}

function resetAccumulator(a: Accumulator): void {
  for (let d = 0; d < 3; d++) {
    a.sum[d] = 0
    a.abs[d] = 0
    a.threatAbs[d] = 0
    a.count[d] = 0
  }
  a.topic[0] = 0
  a.topic[1] = 0
  a.uncertainty = 0
  a.threats = 0
  a.directionScale = 1
  a.supplyScale = 1
}

function eventDirection(x: number): -1 | 0 | 1 {
  return x > 0 ? 1 : x < 0 ? -1 : 0
}

function labelOf(score: number, band: number): SentimentLabel {
  return score > band ? 'positive' : score < -band ? 'negative' : 'neutral'
}

// Most headlines touch no dimension at all, so the final formulas mostly see zeros: these skip the
// library call then, with exactly its result (exp(±0) is 1, tanh(±0) is the same zero).
function exp(x: number): number {
  return x === 0 ? 1 : Math.exp(x)
}

function tanh(x: number): number {
  return x === 0 ? x : Math.tanh(x)
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4
}

export function createScorer(options: ScorerOptions = {}): Scorer {
  const maxChars = options.maxChars ?? RULES.defaultMaxChars
  if (!Number.isInteger(maxChars) || maxChars < 1) throw new RangeError('maxChars must be a positive integer')

  // A watchlist adds words to a private copy of the vocabulary and its own trie of company names.
  let vocab: Vocabulary = LEXICON.vocab
  let companies: (TrieNode | undefined)[] | null = null
  if (options.watchlist && options.watchlist.entities.length > 0) {
    vocab = cloneVocabulary(LEXICON.vocab)
    companies = []
    for (const entity of options.watchlist.entities) {
      for (const name of [entity.id, ...entity.names]) {
        if (phraseKeys(name).length === 0) continue
        const e = insertPhrase(vocab, companies, name)
        if (e && !e.company) e.company = entity.id
      }
    }
    freeze(vocab)
  }
  const { trie, notId, usId, toId, fromId, units, compareIds, fillerIds, negativeIds, comparedId, causeIds } =
    LEXICON

  const trieRoot = trie.root
  const trieEntry = trie.entry

  const tb = createTokenBuffer()
  // Items: matched phrases of the current field, in parallel arrays reused across calls.
  const itEntry: Entry[] = []
  const itS: number[] = []
  const itE: number[] = []
  const itClause: number[] = []
  const itNeg: number[] = []
  const itHedge: number[] = []
  /** Item index of the hedge word that weakened this item, or -1. */
  const itHedgeSrc: number[] = []
  const itIntens: number[] = []
  const itBound: number[] = []
  const itPredOn: number[] = []
  const itTarget: number[] = []
  let items = 0
  /** Token index of the last contrast word of the field, or -1. */
  let contrastTok = -1

  const accH = newAccumulator()
  const accB = newAccumulator()

  // Per-call outputs.
  let cues: Cue[] = []
  let events: TradeEvent[] = []
  let regions: string[] = []
  let commodities: string[] = []
  let sectors: string[] = []
  let companyIds: string[] = []

  function pushItem(e: Entry, s: number, end: number, clause: number): void {
    const k = items++
    itEntry[k] = e
    itS[k] = s
    itE[k] = end
    itClause[k] = clause
    itNeg[k] = 0
    itHedge[k] = 1
    itHedgeSrc[k] = -1
    itIntens[k] = 1
    itBound[k] = 0
    itPredOn[k] = e.pred ? 1 : 0
    itTarget[k] = -1
  }

  /** Skips unit words (and currency codes) from token j, at most 3. */
  function skipUnits(j: number, count: number): number {
    let k = 0
    while (j < count && k < 3 && tb.kind[j] === WORD && units.has(tb.id[j] as number)) {
      j++
      k++
    }
    return j
  }

  function scaleAfter(j: number, count: number): number {
    if (j < count && tb.kind[j] === WORD) return UNIT_BY_ID.get(tb.id[j] as number) ?? 1
    return 1
  }

  /**
   * "to 25% from 10%" / "from 10% to 25%": returns the token index after the pattern and sets
   * numberDir to +1 or -1, or returns i when there is no such pattern.
   */
  let numberDir = 0
  function matchNumberChange(i: number, count: number): number {
    const first = tb.id[i]
    const second = first === toId ? fromId : toId
    let j = skipUnits(i + 1, count)
    if (j >= count || tb.kind[j] !== NUMBER) return i
    const a = (tb.num[j] as number) * scaleAfter(j + 1, count)
    j = skipUnits(j + 1, count)
    if (j >= count || tb.kind[j] !== WORD || tb.id[j] !== second) return i
    j = skipUnits(j + 1, count)
    if (j >= count || tb.kind[j] !== NUMBER) return i
    const b = (tb.num[j] as number) * scaleAfter(j + 1, count)
    j = skipUnits(j + 1, count)
    const newer = first === toId ? a : b
    const older = first === toId ? b : a
    if (newer === older) return i
    numberDir = newer > older ? 1 : -1
    return j
  }

  /** A bare year ("in 2008") is a date, not a figure to compare. */
  function isYear(j: number, count: number): boolean {
    const v = tb.num[j] as number
    return (
      v >= 1900 && v <= 2100 && Number.isInteger(v) && tb.percent[j] === 0 && scaleAfter(j + 1, count) === 1
    )
  }

  /**
   * "EUR 0.25 versus EUR 0.42", "EUR 5 mn compared with EUR 7 mn", "EUR 1 mn, up from a loss of
   * EUR 2 mn": a figure, a comparison word, fillers, another figure. Returns the index after the
   * pattern (numberDir set) or i.
   */
  function matchComparison(i: number, count: number): number {
    if (isYear(i, count)) return i
    const a = (tb.num[i] as number) * scaleAfter(i + 1, count)
    let j = skipUnits(i + 1, count)
    if (j < count && tb.kind[j] === BREAK) j++
    if (j >= count || tb.kind[j] !== WORD) return i
    const link = tb.id[j] as number
    if (link === comparedId) j++
    else if (compareIds.has(link)) j++
    else return i
    let negative = false
    let skipped = 0
    while (j < count && tb.kind[j] === WORD && skipped < 5 && fillerIds.has(tb.id[j] as number)) {
      if (negativeIds.has(tb.id[j] as number)) negative = true
      j++
      skipped++
    }
    if (j >= count || tb.kind[j] !== NUMBER || isYear(j, count)) return i
    const b = (tb.num[j] as number) * scaleAfter(j + 1, count) * (negative ? -1 : 1)
    if (a === b) return i
    numberDir = a > b ? 1 : -1
    return skipUnits(j + 1, count)
  }

  function matchField(): void {
    const count = tb.count
    items = 0
    contrastTok = -1
    let clause = 0
    let i = 0
    while (i < count) {
      const kind = tb.kind[i]
      if (kind === BREAK) {
        clause++
        i++
        continue
      }
      if (kind === NUMBER) {
        const end = matchComparison(i, count)
        if (end > i) pushItem(numberDir > 0 ? NUM_UP_ENTRY : NUM_DOWN_ENTRY, i, end, clause)
        else if (tb.sign[i] !== 0 && tb.percent[i] === 1)
          pushItem(tb.sign[i] === 1 ? PCT_UP_ENTRY : PCT_DOWN_ENTRY, i, i + 1, clause)
        i = end > i ? end : i + 1
        continue
      }
      const id = tb.id[i] as number
      if (id === toId || id === fromId) {
        const end = matchNumberChange(i, count)
        if (end > i) {
          pushItem(numberDir > 0 ? NUM_UP_ENTRY : NUM_DOWN_ENTRY, i, end, clause)
          i = end
          continue
        }
      }
      let best: Entry | null = null
      let bestEnd = i
      if (companies) {
        let node = id >= 0 ? companies[id] : undefined
        let j = i
        while (node) {
          j++
          if (node.entry) {
            best = node.entry
            bestEnd = j
          }
          if (!node.next || j >= count || tb.kind[j] !== WORD) break
          node = node.next.get(tb.id[j] as number)
        }
      }
      // Watchlist words have ids past the lexicon's and start no lexicon phrase.
      let node = id >= 0 && id < trieRoot.length ? (trieRoot[id] as number) : -1
      let j = i
      while (node >= 0) {
        j++
        const entry = trieEntry[node] as Entry | null
        if (entry !== null && j > bestEnd) {
          best = entry
          bestEnd = j
        }
        if (j >= count || tb.kind[j] !== WORD) break
        node = trieChild(trie, node, tb.id[j] as number)
      }
      if (best === null || (id === usId && bestEnd === i + 1 && tb.caps[i] === 0 && !best.company)) {
        // Unknown word, or lower-case "us" (the pronoun, not the country).
        i++
        continue
      }
      pushItem(best, i, bestEnd, clause)
      if (best.clauseBreak) clause++
      if (best.contrast) contrastTok = i
      i = bestEnd
    }
  }

  /** Attaches negators, hedges and intensifiers to the next predicate, target or tone word in scope. */
  function attachModifiers(): void {
    const scope = RULES.modifierScopeTokens
    let negEnd = -1
    let negClause = -1
    let hedge = 1
    let hedgeEnd = -1
    let hedgeClause = -1
    let hedgeItem = -1
    let hedgeSrc = -1
    let intens = 1
    let intensEnd = -1
    let intensClause = -1
    let lightItem = -1
    for (let k = 0; k < items; k++) {
      const e = itEntry[k] as Entry
      const s = itS[k] as number
      const clause = itClause[k] as number
      if (e.clauseBreak) {
        negEnd = -1
        hedgeEnd = -1
        intensEnd = -1
        lightItem = -1
        continue
      }
      if (e.pred || e.target || e.hasTone) {
        if (negEnd >= 0 && clause === negClause && s - negEnd <= scope) {
          itNeg[k] = 1
          negEnd = -1
        }
        if (hedgeEnd >= 0 && clause === hedgeClause && s - hedgeEnd <= scope) {
          itHedge[k] = hedge
          itHedgeSrc[k] = hedgeSrc
          // "threatens to impose tariffs": the threat verb hands its hedge to the real predicate.
          if (hedgeItem >= 0 && e.pred && !e.pred.threat) itPredOn[hedgeItem] = 0
          if (e.pred || e.target) hedgeEnd = -1
        }
        if (intensEnd >= 0 && clause === intensClause && s - intensEnd <= scope) {
          itIntens[k] = (itIntens[k] as number) * intens
          intensEnd = -1
        }
      }
      if (lightItem >= 0) {
        // "agree to suspend tariffs", "sign order imposing tariffs": a light verb followed by the
        // real act hands it its negation and hedge and stays out of the score.
        if (
          e.pred &&
          itPredOn[k] === 1 &&
          clause === itClause[lightItem] &&
          s - (itE[lightItem] as number) <= scope
        ) {
          itPredOn[lightItem] = 0
          if (itNeg[lightItem] === 1) itNeg[k] = 1
          if ((itHedge[lightItem] as number) < (itHedge[k] as number)) {
            itHedge[k] = itHedge[lightItem] as number
            itHedgeSrc[k] = itHedgeSrc[lightItem] as number
          }
          lightItem = -1
        } else if (e.target && bindable((itEntry[lightItem] as Entry).pred as PredRole, k)) lightItem = -1
      }
      if (e.light && e.pred && itPredOn[k] === 1) lightItem = k
      if (e.negator) {
        negEnd = itE[k] as number
        negClause = clause
      }
      if (e.hedge < 1) {
        hedge = e.hedge
        hedgeEnd = itE[k] as number
        hedgeClause = clause
        hedgeItem = e.pred?.threat ? k : -1
        hedgeSrc = k
      }
      if (e.intens !== 1 && !e.pred && !e.target) {
        intens = e.intens
        intensEnd = itE[k] as number
        intensClause = clause
      }
    }
  }

  /** A target item a predicate may take: not itself an active predicate, and market-only targets only for marketOk predicates. */
  function bindable(pred: PredRole, k: number): boolean {
    const e = itEntry[k] as Entry
    const t = e.target
    if (!t || (itPredOn[k] === 1 && e.pred)) return false
    // A verb of fixed direction (harm, stance) has nothing to say about a quantity that moves no
    // dimension ("falling oil prices hurt miners"): it looks further or keeps its own tone.
    if (pred.fixed !== 0 && t.tariff === 0 && t.supply === 0 && t.market === 0) return false
    return pred.marketOk || t.tariff !== 0 || t.supply !== 0
  }

  /** True when a cause preposition ("on", "over") stands among tokens [from, to). */
  function causeBefore(from: number, to: number): boolean {
    for (let j = from; j < to; j++) if (tb.kind[j] === WORD && causeIds.has(tb.id[j] as number)) return true
    return false
  }

  /** Binds each predicate to the nearest target in its clause (see RULES.bindWindowTokens). */
  function bindPredicates(): void {
    const window = RULES.bindWindowTokens
    const penalty = RULES.sidePenaltyTokens
    for (let k = 0; k < items; k++) {
      if (itPredOn[k] === 0) continue
      const e = itEntry[k] as Entry
      const pred = e.pred as PredRole
      const clause = itClause[k]
      const s = itS[k] as number
      const end = itE[k] as number
      let left = -1
      let leftD = Number.POSITIVE_INFINITY
      for (let l = k - 1; l >= 0; l--) {
        if (itClause[l] !== clause) break
        const gap = s - (itE[l] as number)
        if (gap > window) break
        if (bindable(pred, l)) {
          left = l
          leftD = gap + (pred.policy ? penalty : 0)
          break
        }
      }
      let right = -1
      let rightD = Number.POSITIVE_INFINITY
      for (let r = k + 1; r < items; r++) {
        if (itClause[r] !== clause) break
        const gap = (itS[r] as number) - end
        if (gap > window) break
        // "shares slump on Brexit fears": after a reported move, "on"/"over" introduces its cause.
        if (!pred.policy && (itEntry[r] as Entry).target?.frame && causeBefore(end, itS[r] as number)) break
        if (bindable(pred, r)) {
          right = r
          rightD = gap + (pred.policy ? 0 : penalty)
          break
        }
      }
      let t = -1
      if (left >= 0 && (right < 0 || leftD < rightD || (leftD === rightD && !pred.policy))) t = left
      else if (right >= 0) t = right
      if (t >= 0) {
        itTarget[k] = t
        itBound[t] = 1
      }
    }
    // A trade or supply target directly before an unbound frame noun is read through the frame
    // (bound = 2: no bare weight of its own; see emit).
    for (let k = 1; k < items; k++) {
      const f = (itEntry[k] as Entry).target
      if (!f?.frame || itBound[k] !== 0 || itE[k - 1] !== itS[k]) continue
      const p = (itEntry[k - 1] as Entry).target
      if (
        p &&
        !p.frame &&
        itBound[k - 1] === 0 &&
        itPredOn[k - 1] === 0 &&
        (p.tariff !== 0 || p.supply !== 0)
      )
        itBound[k - 1] = 2
    }
  }

  function addCue(
    acc: Accumulator,
    dim: number,
    weight: number,
    threat: boolean,
    cue: string,
    field: Field,
    start: number,
    end: number,
  ): void {
    if (weight === 0) return
    acc.sum[dim] = (acc.sum[dim] as number) + weight
    const a = Math.abs(weight)
    acc.abs[dim] = (acc.abs[dim] as number) + a
    acc.count[dim] = (acc.count[dim] as number) + 1
    if (threat) acc.threatAbs[dim] = (acc.threatAbs[dim] as number) + a
    if (cues.length < RULES.maxCues) {
      cues.push({
        dimension: dim === T ? 'tariff' : dim === S ? 'supplyChain' : 'market',
        cue,
        weight: round(weight),
        span: { field, start, end },
      })
    }
  }

  /** An uncertainty cue: explanation only (the uncertainty sum is kept apart from the dimension sums). */
  function addUncertaintyCue(cue: string, weight: number, field: Field, start: number, end: number): void {
    if (cues.length < RULES.maxCues) {
      cues.push({ dimension: 'uncertainty', cue, weight: round(weight), span: { field, start, end } })
    }
  }

  function addEvent(
    type: EventType | undefined,
    target: TargetRole,
    direction: number,
    threat: boolean,
    negated: boolean,
    field: Field,
    start: number,
    end: number,
  ): void {
    if (!type || events.length >= RULES.maxEvents) return
    const dimension = target.tariff >= target.supply ? 'tariff' : 'supplyChain'
    events.push({
      type,
      dimension,
      direction: eventDirection(direction),
      threat,
      negated,
      span: { field, start, end },
    })
  }

  /** Adds the weight of `dir` on each of the target's dimensions. */
  function applyToTarget(
    acc: Accumulator,
    target: TargetRole,
    dir: number,
    marketOnly: boolean,
    threat: boolean,
    cue: string,
    field: Field,
    start: number,
    end: number,
  ): void {
    if (marketOnly) {
      addCue(acc, M, dir * 0.6, threat, cue, field, start, end)
      return
    }
    if (target.tariff !== 0) addCue(acc, T, dir * target.tariff, threat, cue, field, start, end)
    if (target.supply !== 0) addCue(acc, S, dir * target.supply, threat, cue, field, start, end)
    if (target.market !== 0) addCue(acc, M, dir * target.market, threat, cue, field, start, end)
  }

  function pushUnique(list: string[], value: string): void {
    if (!list.includes(value) && list.length < 32) list.push(value)
  }

  function emit(acc: Accumulator, field: Field): void {
    const keep = RULES.negationKeep
    const contrastBefore = RULES.contrastBeforeWeight
    for (let k = 0; k < items; k++) {
      const e = itEntry[k] as Entry
      const s = tb.start[itS[k] as number] as number
      const end = tb.end[(itE[k] as number) - 1] as number
      const negated = itNeg[k] === 1
      const hedge = itHedge[k] as number
      const intens = (itIntens[k] as number) * ((itS[k] as number) < contrastTok ? contrastBefore : 1)
      const negFactor = negated ? -keep : 1

      if (e.region) pushUnique(regions, e.region)
      if (e.directionScale < acc.directionScale || e.supplyScale < acc.supplyScale) {
        acc.directionScale = Math.min(acc.directionScale, e.directionScale)
        acc.supplyScale = Math.min(acc.supplyScale, e.supplyScale)
        if (cues.length < RULES.maxCues) {
          // Weight 0: the marker scales the field's trade and supply cues rather than adding one.
          const dim = e.supplyScale < 1 ? 'supplyChain' : 'tariff'
          cues.push({ dimension: dim, cue: `context: ${e.key}`, weight: 0, span: { field, start: s, end } })
        }
      }
      if (e.commodities) for (const c of e.commodities) pushUnique(commodities, c)
      if (e.sector) pushUnique(sectors, e.sector)
      if (e.company) pushUnique(companyIds, e.company)
      acc.topic[T] = (acc.topic[T] as number) + e.topicTariff
      acc.topic[S] = (acc.topic[S] as number) + e.topicSupply
      if (e.uncertainty > 0) {
        acc.uncertainty += e.uncertainty
        addUncertaintyCue(e.key, e.uncertainty, field, s, end)
      }
      if (hedge < 1) {
        acc.threats++
        // The cue spans the hedge or threat word and what it weakened ("threatens ... tariffs").
        const h = itHedgeSrc[k] as number
        const hs = h >= 0 ? (tb.start[itS[h] as number] as number) : s
        const hk = h >= 0 ? `${(itEntry[h] as Entry).key} + ${e.key}` : e.key
        addUncertaintyCue(hk, RULES.uncertaintyPerThreat, field, Math.min(hs, s), end)
      }

      const t = itTarget[k] as number
      if (itPredOn[k] === 1 && t >= 0) {
        // A predicate bound to its target: direction = sign x polarity (or fixed), then modifiers.
        const pred = e.pred as PredRole
        const te = itEntry[t] as Entry
        const target = te.target as TargetRole
        const threat = pred.threat || hedge < 1 || (itHedge[t] as number) < 1
        if (target.polarity === 0 && pred.fixed === 0) continue
        const marketTarget = target.tariff === 0 && target.supply === 0
        const sign =
          marketTarget && pred.marketSign !== 0 ? pred.marketSign : t > k ? pred.rightSign : pred.sign
        const base = pred.fixed !== 0 ? pred.fixed : sign * target.polarity
        const magnitude =
          pred.strength * intens * (itIntens[t] as number) * Math.min(hedge, itHedge[t] as number)
        const neg = negated || itNeg[t] === 1
        const dir = base * magnitude * (neg ? -keep : 1)
        const marketOnly = target.policyOnly && !pred.policy
        const ts = tb.start[itS[t] as number] as number
        const tend = tb.end[(itE[t] as number) - 1] as number
        const start = Math.min(s, ts)
        const stop = Math.max(end, tend)
        const cue = `${e.key} + ${te.key}`
        applyToTarget(acc, target, dir, marketOnly, threat, cue, field, start, stop)
        // Harm verbs on a measure ("hit by tariffs") describe its effect, and stance words
        // ("optimistic on NAFTA") an opinion of it, not a new event.
        if (
          !marketOnly &&
          pred.kind !== 'stance' &&
          !(pred.fixed !== 0 && !pred.threat && target.polarity < 0)
        ) {
          const type =
            target.events[pred.kind] ??
            (pred.fixed !== 0 || sign < 0 ? target.events.less : target.events.more)
          addEvent(type, target, dir, threat, neg, field, start, stop)
        }
        // Frame nouns pass the move on: "trade war fears ebb" also eases the trade war.
        if (target.frame) {
          for (let m = t - 1; m >= 0 && m >= t - 2; m--) {
            const me = itEntry[m] as Entry
            if (!me.target || me.target.frame || itE[m] !== itS[m + 1]) break
            itBound[m] = 1
            const mt = me.target
            const mdir = (pred.fixed !== 0 ? pred.fixed : sign * mt.polarity) * magnitude * (neg ? -keep : 1)
            const ms = tb.start[itS[m] as number] as number
            applyToTarget(acc, mt, mdir, false, threat, `${e.key} + ${me.key}`, field, Math.min(s, ms), stop)
          }
        }
        continue
      }
      if (e.target && itBound[k] === 0) {
        const target = e.target
        // "trade talk concerns", "supply worries", "deal hopes": an unbound frame noun right after a
        // trade or supply target gives that target the frame's direction.
        const compound = target.frame && k > 0 && itE[k - 1] === itS[k] && itBound[k - 1] === 2
        // "no tariff fears": a negator before the compound negates all of it, wherever it attached.
        const nf = compound && !negated && itNeg[k - 1] === 1 ? -keep : negFactor
        if (compound) {
          const pe = itEntry[k - 1] as Entry
          const pt = pe.target as TargetRole
          const dir = target.polarity * target.bare * 2 * intens * hedge * nf
          const ps = tb.start[itS[k - 1] as number] as number
          if (pt.tariff !== 0)
            addCue(acc, T, dir * pt.tariff, hedge < 1, `${pe.key} ${e.key}`, field, ps, end)
          if (pt.supply !== 0)
            addCue(acc, S, dir * pt.supply, hedge < 1, `${pe.key} ${e.key}`, field, ps, end)
        }
        if (target.bare !== 0) {
          const dir = target.polarity * target.bare * intens * hedge * nf
          applyToTarget(acc, target, dir, false, hedge < 1, e.key, field, s, end)
          addEvent(target.events.bare, target, dir, hedge < 1, nf !== 1, field, s, end)
        }
        if (e.hasTone && target.market === 0) {
          addCue(acc, M, e.tone * intens * hedge * nf, hedge < 1, e.key, field, s, end)
        }
        continue
      }
      if (e.target) continue
      if (e.hasTone) addCue(acc, M, e.tone * intens * hedge * negFactor, hedge < 1, e.key, field, s, end)
    }
  }

  function scoreField(text: string, field: Field, acc: Accumulator): void {
    resetAccumulator(acc)
    if (text.length === 0) return
    tokenize(text, vocab, notId, tb)
    matchField()
    attachModifiers()
    bindPredicates()
    emit(acc, field)
    if (acc.directionScale < 1 || acc.supplyScale < 1) {
      // Overviews ("Factbox:") keep their relevance but lose most direction; OPEC output policy is
      // not supply-chain news at all.
      for (let d = T; d <= S; d++) {
        const rel = d === S ? acc.supplyScale : 1
        acc.sum[d] = (acc.sum[d] as number) * acc.directionScale * rel
        acc.abs[d] = (acc.abs[d] as number) * rel
        acc.threatAbs[d] = (acc.threatAbs[d] as number) * rel
        acc.topic[d] = (acc.topic[d] as number) * rel
      }
    }
  }

  function combine(h: number, b: number, nb: number): number {
    return h + (RULES.bodyWeight * b) / Math.sqrt(Math.max(1, nb))
  }

  function dimension(dim: number, topicDim: number): ScoreResult['scores']['tariff'] {
    const nb = accB.count[dim] as number
    const sum = combine(accH.sum[dim] as number, accB.sum[dim] as number, nb)
    const abs = combine(accH.abs[dim] as number, accB.abs[dim] as number, nb)
    const threatAbs = combine(accH.threatAbs[dim] as number, accB.threatAbs[dim] as number, nb)
    // Topic words of the body count half, capped, so a long body cannot make any headline relevant.
    const topic =
      (accH.topic[topicDim] as number) + RULES.bodyWeight * Math.min(3, accB.topic[topicDim] as number)
    const relevance = 1 - exp(-(topic + RULES.relevanceCueShare * abs))
    const score = tanh(RULES.scoreGain * sum)
    let confidence = relevance * 0.25
    if (abs > 0) {
      const agreement = Math.abs(sum) / abs
      const threatShare = threatAbs / abs
      confidence = relevance * (1 - Math.exp(-1.5 * Math.abs(sum))) * agreement * (1 - 0.4 * threatShare)
    }
    const label = relevance >= RULES.relevanceMin ? labelOf(score, RULES.neutralBand) : null
    return { score: round(score), relevance: round(relevance), confidence: round(confidence), label }
  }

  function score(input: ScoreInput): ScoreResult {
    let headline = input.headline ?? ''
    let body = input.body ?? ''
    let truncated = false
    if (headline.length > maxChars) {
      headline = headline.slice(0, maxChars)
      truncated = true
    }
    const room = maxChars - headline.length
    if (body.length > room) {
      body = body.slice(0, room)
      truncated = true
    }
    cues = []
    events = []
    regions = []
    commodities = []
    sectors = []
    companyIds = []
    scoreField(headline, 'headline', accH)
    scoreField(body, 'body', accB)

    const tariff = dimension(T, T)
    const supplyChain = dimension(S, S)
    const nbM = accB.count[M] as number
    const marketSum =
      combine(accH.sum[M] as number, accB.sum[M] as number, nbM) +
      RULES.marketFromTariff *
        combine(accH.sum[T] as number, accB.sum[T] as number, accB.count[T] as number) +
      RULES.marketFromSupply * combine(accH.sum[S] as number, accB.sum[S] as number, accB.count[S] as number)
    const marketScore = tanh(RULES.marketGain * marketSum)
    let u =
      combine(accH.uncertainty, accB.uncertainty, 4) +
      RULES.uncertaintyPerThreat * combine(accH.threats, accB.threats, 4)
    if (tariff.relevance >= RULES.relevanceMin) u *= RULES.uncertaintyTradeBoost
    const entities: Entities = { regions, commodities, sectors, companies: companyIds }
    return {
      scores: {
        tariff,
        supplyChain,
        market: { score: round(marketScore), label: labelOf(marketScore, RULES.marketNeutralBand) },
        uncertainty: round(1 - exp(-u)),
      },
      events,
      entities,
      explanation: cues,
      scorerVersion: SCORER_VERSION,
      truncated,
    }
  }

  return { score }
}
