// The scorer: tokenize, match lexicon phrases, attach negators/hedges/intensifiers to what follows
// them, bind each predicate to the nearest target in its clause, and add the weighted cues up per
// dimension. Every step is a bounded scan over the tokens, so time is linear in the text's length.
import type { Cue, Entities, EventType, ScoreResult, SentimentLabel, TradeEvent } from '@tradepulse/contracts'
import { NAME_LEADS } from './data/entities.ts'
import {
  AVERT_WORDS,
  CONDITIONAL_WORDS,
  DATE_NAMES,
  LIST_COUNTS,
  RELATIVE_PRONOUNS,
  TALK_WORDS,
} from './data/lexicon.ts'
import { RULES } from './data/rules.ts'
import TARIFF_MODEL from './data/tariff-model.json' with { type: 'json' }
import {
  ACT_EASING,
  ACT_ESCALATING,
  createTariffModel,
  type Feature,
  learnedReads,
  newReading,
  type TariffModel,
  type TariffModelData,
  tariffFeatures,
} from './learned.ts'
import * as lex from './lexicon.ts'
import {
  type Entry,
  type EntryTable,
  entryTable,
  insertPhrase,
  LEXICON,
  newEntry,
  onlyFunctionWords,
  type PredRole,
  phraseKeys,
  type TargetRole,
  type TrieNode,
  trieChild,
  UNIT_SCALE,
} from './lexicon.ts'
import * as tok from './tokenizer.ts'
import { createTokenBuffer, tokenize } from './tokenizer.ts'
import { RULES_ONLY_VERSION, SCORER_VERSION, watchlistStamp } from './version.ts'
import {
  cloneVocabulary,
  freeze,
  hashEnd,
  hashStart,
  hashStep,
  lookupChars,
  lookupWord,
  type Vocabulary,
} from './vocabulary.ts'
import type { Watchlist } from './watchlist.ts'

// Optimized code reads an imported binding through a cell, with checks, on every use; a module
// constant is folded in. The hot loops use these copies.
const WORD = tok.WORD
const NUMBER = tok.NUMBER
const BREAK = tok.BREAK
const E_HEDGE = lex.E_HEDGE
const E_INTENS = lex.E_INTENS
const E_RELIEF = lex.E_RELIEF
const E_TONE = lex.E_TONE
const E_TOPIC_S = lex.E_TOPIC_S
const E_TOPIC_T = lex.E_TOPIC_T
const E_UNCERTAINTY = lex.E_UNCERTAINTY
const F_CLAUSE_BREAK = lex.F_CLAUSE_BREAK
const F_CONCESSIVE = lex.F_CONCESSIVE
const F_CONDITION = lex.F_CONDITION
const F_CONDITION_NEAR = lex.F_CONDITION_NEAR
const F_INITIAL = lex.F_INITIAL
const F_PRESENT_S = lex.F_PRESENT_S
const F_PAST = lex.F_PAST
const F_SHORT_NEG = lex.F_SHORT_NEG
const F_SETTING = lex.F_SETTING
const F_CAPITALISED = lex.F_CAPITALISED
const F_COMPANY = lex.F_COMPANY
const F_CONTEXT = lex.F_CONTEXT
const F_CONTRAST = lex.F_CONTRAST
const F_ENTITY = lex.F_ENTITY
const F_ANSWERS = lex.F_ANSWERS
const F_PAUSE = lex.F_PAUSE
const F_HALT = lex.F_HALT
const F_OPPOSE = lex.F_OPPOSE
const F_PROSPECT = lex.F_PROSPECT
const F_TALKS = lex.F_TALKS
const F_DENIES_REPORT = lex.F_DENIES_REPORT
const F_FRAME = lex.F_FRAME
const F_HEDGE = lex.F_HEDGE
const F_INTENS = lex.F_INTENS
const F_LIGHT = lex.F_LIGHT
const F_NEGATOR = lex.F_NEGATOR
const F_PRED = lex.F_PRED
const F_TARGET = lex.F_TARGET
const F_THREAT = lex.F_THREAT
const F_TONE = lex.F_TONE
const F_UNCERTAINTY = lex.F_UNCERTAINTY

export interface ScorerOptions {
  watchlist?: Watchlist
  /**
   * Whether the learned tariff layer (learned.ts) reads the rules' result (default true). Off, the
   * tariff scores are the rules' alone: what the model is trained on.
   */
  learned?: boolean
  /** Characters scored at most (headline first, then body); the rest is cut and `truncated` set. */
  maxChars?: number
}

export interface ScoreInput {
  headline: string
  body?: string
}

export interface Scorer {
  score(input: ScoreInput): ScoreResult
  /**
   * What the learned tariff layer reads for `input`, by name: the rules' result (as with
   * `learned: false`) and the features of learned.ts. The trainer learns from these.
   */
  features(input: ScoreInput): { rule: ScoreResult; features: Feature[]; reads: boolean }
}

type Field = 'headline' | 'body'

/** The explanation's cue for the learned layer's reading, by its label. */
const LEARNED_CUE = {
  negative: 'learned: negative',
  neutral: 'learned: neutral',
  positive: 'learned: positive',
  none: 'learned: not trade policy',
} as const

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
  objectOnly: false,
  deniedHolds: false,
  takesTopic: false,
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

/** Columns of the lexicon's entries and the number entries above, shared by scorers without a watchlist. */
const BASE_ENTRIES: readonly Entry[] = [
  ...LEXICON.entries,
  NUM_UP_ENTRY,
  NUM_DOWN_ENTRY,
  PCT_UP_ENTRY,
  PCT_DOWN_ENTRY,
]
const BASE_TABLE = entryTable(BASE_ENTRIES)
/** The entry of "until" (see bindOne). */
const untilEntry = BASE_ENTRIES.find((e) => e.key === 'until')?.index ?? -1
/** The entries of "decline(s) to", a refusal only before a verb (see LEVEL_LEADS). */
const DECLINE_TO_ENTRIES: ReadonlySet<number> = new Set(
  BASE_ENTRIES.filter((e) => /^declin(e|es|ed|ing) to$/.test(e.key)).map((e) => e.index),
)

/**
 * 1 at the entries of a strike, begun or called off (lexicon `stoppage_ended`, and the `logistics`
 * stoppages named as strikes), whose strikers may stop no supply (see matchField).
 */
const STRIKE_AT: Uint8Array = (() => {
  const at = new Uint8Array(BASE_ENTRIES.length)
  for (const e of BASE_ENTRIES)
    if (
      e.target?.id === 'stoppage_ended' ||
      (e.target?.id === 'logistics' &&
        /\bstrikes?\b/.test(e.key) &&
        // (Not where the phrase names whose strike it is: "truckers strike", "mine strike".)
        !/\b(port|dock|rail|truckers?|dockworkers?|dockers|mine|plant|factory|refinery)\b/.test(e.key))
    )
      at[e.index] = 1
  return at
})()
/**
 * Strikers whose strike stops no supply ("Junior doctors call off strike", "Hollywood writers' strike
 * ends"), a hunger strike, and a strike that is an attack ("called off strike on Iran").
 */
const NOT_SUPPLY_STRIKES: WordsByLength = byLength([
  ...['teacher', 'teachers', 'doctor', 'doctors', 'nurse', 'nurses', 'actor', 'actors', 'writer', 'writers'],
  ...['pilot', 'pilots', 'crew', 'lecturers', 'students', 'civil', 'hunger', 'school', 'schools'],
  ...['hospital', 'hospitals', 'nhs', 'hollywood', 'sag', 'airline', 'airlines', 'university', 'military'],
  ...['air', 'drone', 'missile'],
])

/** Words that open an object's noun phrase (see nounPhraseAt). */
const NP_STARTS: WordsByLength = byLength([
  ...['a', 'an', 'the', 'its', 'their', 'his', 'her', 'our', 'some', 'many', 'most', 'all'],
  ...['top', 'key', 'major', 'biggest', 'largest', 'more', 'thousands', 'millions', 'billions', 'jobs'],
])
/** Verbs that make another do something ("shortage forces automakers to idle plants"; see bindOne). */
const CAUSATIVES: WordsByLength = byLength([
  ...['force', 'forces', 'forced', 'forcing', 'prompt', 'prompts', 'prompted', 'prompting'],
  ...['cause', 'causes', 'caused', 'causing', 'compel', 'compels', 'compelled', 'compelling'],
  ...['lead', 'leads', 'led', 'leading', 'push', 'pushes', 'pushed', 'pushing'],
])
/** Particles of a phrasal verb (see nounPhraseAt). */
const PARTICLES: WordsByLength = byLength(['out', 'off', 'up', 'down', 'back', 'away'])
/** Verbs of a start said after "since" (the lexicon's `resume` predicates; see bindOne). */
const BEGAN_WORDS: WordsByLength = byLength(['began', 'begun', 'started'])
const SINCE_WORDS: WordsByLength = byLength(['since'])

/** The target role of lexicon id `id` (the roles the scorer puts in place of another's). */
function roleOf(id: string): TargetRole {
  const role = LEXICON.entries.find((e) => e.target?.id === id)?.target
  if (!role) throw new Error(`lexicon: no ${id} target`)
  return role
}
/** Exports, and sales to a blacklisted firm (see salesRole). */
const EXPORTS_ROLE = roleOf('exports')
/**
 * Exports that a country halts, caps, bans or resumes: an export control, trade policy in full ("Vietnam
 * halts rice exports", "Russia to cap grain exports"), where a firm's halted exports are its business.
 */
const CONTROLLED_EXPORTS_ROLE: TargetRole = { ...EXPORTS_ROLE, tariff: 1 }
/**
 * The verbs of control that make a country's exports an export control: not volume moves ("Russia boosts
 * seaborne oil exports", "Vietnam cuts coffee exports"), which are the market's.
 */
const CONTROL_VERBS: WordsByLength = byLength(
  [
    ['ban', 'bans', 'banned', 'banning'],
    ['halt', 'halts', 'halted', 'halting'],
    ['suspend', 'suspends', 'suspended', 'suspending'],
    ['cap', 'caps', 'capped', 'capping'],
    ['restrict', 'restricts', 'restricted', 'restricting'],
    ['curb', 'curbs', 'curbed', 'curbing'],
    ['block', 'blocks', 'blocked', 'blocking'],
    ['stop', 'stops', 'stopped', 'stopping'],
    ['freeze', 'freezes', 'froze', 'frozen', 'freezing'],
    ['resume', 'resumes', 'resumed', 'resuming'],
    ['allow', 'allows', 'allowed', 'allowing'],
    ['permit', 'permits', 'permitted', 'permitting'],
  ].flat(),
)
/**
 * Causes that make a halt of exports a disruption, not a policy ("Nigeria halts Forcados crude exports
 * after pipeline leak", "Chile resumes copper exports after port strike").
 */
const DISRUPTION_CAUSES: WordsByLength = byLength([
  ...['storm', 'storms', 'hurricane', 'typhoon', 'cyclone', 'flood', 'floods', 'flooding', 'drought'],
  ...['leak', 'leaks', 'spill', 'outage', 'outages', 'blackout', 'blackouts', 'fire', 'explosion'],
  ...['attack', 'attacks', 'missile', 'strike', 'strikes', 'war', 'sabotage', 'blockade', 'blockades'],
  ...['repair', 'repairs', 'damage', 'damaged', 'maintenance', 'accident', 'majeure', 'pipeline', 'weather'],
  ...['protest', 'protests'],
])
const LISTED_SALES_ROLE = roleOf('listed_sales')

/** The date a tariff takes effect or a deal is due (lexicon `tariff_deadline`; see deadlineOf). */
const DEADLINE_ROLE: TargetRole = roleOf('tariff_deadline')
/**
 * Quantities of supply that a verb of taking away raises when they follow it, as it raises the market's
 * ("lifts output", "lifting iron ore supply"): none is a measure to take away. (Exports and imports are
 * not here: a verb of policy on them is an act of policy, see TargetRole.policyOnly. Nor a supply chain
 * before the verb: "cautious on supply chain once Boeing grounding lifted".)
 */
const RAISED_BY_LIFT: ReadonlySet<TargetRole> = new Set([
  roleOf('supply'),
  roleOf('production'),
  roleOf('delivery_any'),
])
/** An entry index by vocabulary id, -1 elsewhere: a typed-array load per token, where a Map lookup was 2 %. */
function entryByWord(pairs: readonly (readonly [string, string])[]): Int32Array {
  const at = new Int32Array(LEXICON.vocab.words.length).fill(-1)
  for (const [word, key] of pairs) {
    const e = BASE_ENTRIES.find((x) => x.key === key)
    const id = lookupWord(LEXICON.vocab, word)
    if (e && id >= 0) at[id] = e.index
  }
  return at
}
/** The entries of "end strike" by the verb's form (see matchField: "ending East Coast strike"). */
const END_STRIKE: Int32Array = entryByWord(
  ['end', 'ends', 'ended', 'ending'].map((v) => [v, `${v} strike`] as const),
)
/** The entries of "delay" by the form of "push" (see matchField: "pushes chip plant to 2030"). */
const PUSH_DELAY: Int32Array = entryByWord([
  ['push', 'delay'],
  ['pushes', 'delays'],
  ['pushed', 'delayed'],
  ['pushing', 'delaying'],
])
/** The entries of "seal" by the form of "cut" (see matchField: "cuts a deal with Mexico"). */
const CUT_SEAL: Int32Array = entryByWord([
  ['cut', 'seal'],
  ['cuts', 'seals'],
  ['cutting', 'sealing'],
])
/** The entry of the verb "hoped" by the present forms of "hope" (see matchField: "hopes U.S. will lift"). */
const HOPE_VERB: Int32Array = entryByWord([
  ['hope', 'hoped'],
  ['hopes', 'hoped'],
])
/**
 * 1 at the vocabulary ids of the words whose reading matchField may change by what follows them
 * (PUSH_DELAY's, END_STRIKE's, CUT_SEAL's and HOPE_VERB's): the one load per token matchField makes for
 * them (a byte per word, 6 KB, where the entry arrays are 24 KB each).
 */
const RESHAPED: Uint8Array = (() => {
  const at = new Uint8Array(LEXICON.vocab.words.length)
  for (let id = 0; id < at.length; id++)
    if (PUSH_DELAY[id] !== -1 || END_STRIKE[id] !== -1 || CUT_SEAL[id] !== -1 || HOPE_VERB[id] !== -1)
      at[id] = 1
  return at
})()
/** Words between "cut" and "deal" of a deal cut (see dealAfterCut). */
const CUT_DEAL_FILLERS: WordsByLength = byLength(['a', 'an', 'trade', 'new'])
const DEAL_WORDS: WordsByLength = byLength(['deal', 'deals'])
/** Words of what is cut, right before a cut that is then a noun ("oil cut deal": the deal on cuts). */
const CUT_NOUNS: WordsByLength = byLength(['oil', 'output', 'production', 'crude', 'supply', 'opec'])
/** Words after the year a thing is pushed to that leave it a date (see pushedToYear). */
const YEAR_ENDS: WordsByLength = byLength(['from', 'as', 'amid', 'after', 'and', 'on', 'due', 'citing'])
const STOPPAGE_WORDS: WordsByLength = byLength(['strike', 'walkout', 'stoppage', 'lockout'])
/** Words that say where or whose a strike is, between "ending" and "strike" (see namedStrikeAfter). */
const STRIKE_NAMERS: WordsByLength = byLength([
  ...['port', 'ports', 'dock', 'dockworkers', 'dockworker', 'rail', 'railway', 'mine', 'plant', 'factory'],
  ...['refinery', 'the', 'its', 'their', 'a', 'two', 'three', 'week', 'weeks', 'day', 'days', 'month'],
  ...['long', 'national', 'nationwide', 'coast', 'coastwide', 'union', 'workers'],
])
/** States a thing is kept in, besides past participles (see stateAfter). */
const STATE_WORDS: WordsByLength = byLength(['shut', 'open', 'idle'])
/** Predicates that take a port standing before them as their subject (see bindOne). */
const SUBJECT_ACTS: ReadonlySet<string> = new Set(['halt', 'resume', 'pause', 'harm', 'cut', 'fall'])
/** 1 at the entries of a shortage followed by a bare "over" (lexicon supply_eased; see matchField). */
const SHORTAGE_OVER_AT: Uint8Array = (() => {
  const at = new Uint8Array(BASE_ENTRIES.length)
  for (const e of BASE_ENTRIES)
    if (e.target?.id === 'supply_eased' && /shortages? over$/.test(e.key)) at[e.index] = 1
  return at
})()
/** Words after a shortage's "over" that leave it ended: the clause goes on (see matchField). */
const OVER_ENDS: WordsByLength = byLength([
  'as',
  'after',
  'while',
  'with',
  'says',
  'said',
  'say',
  'and',
  'but',
  // "Adderall shortage over for most doses", "chip shortage over for most automakers".
  'for',
])
/** Words that put goods on a measure's list or take them off it (see listAfter). */
const LIST_LINKS: WordsByLength = byLength(['to', 'on', 'onto', 'from', 'off'])
/** Verbs of easing, which loosen an allowance's limit where a cut lowers its level (see emit). */
const EASING_WORDS: WordsByLength = byLength([
  ...['ease', 'eases', 'eased', 'easing', 'loosen', 'loosens', 'loosened', 'loosening'],
  ...['relax', 'relaxes', 'relaxed', 'relaxing', 'soften', 'softens', 'softened', 'softening'],
])
/** A measure's severity compared with what was expected ("softer than feared"; see bindOne). */
const COMPARED_PREDS: ReadonlySet<string> = new Set(['milder_than_feared', 'harsher_than_feared'])
/** Predicates of a level raised or cut, which move an allowance the other way (TargetRole.allowance). */
const LEVEL_PREDS: ReadonlySet<string> = new Set([
  'raise',
  'cut',
  'rise',
  'fall',
  'rate-up',
  'rate-down',
  // An allowance granted lets more in ("US grants additional sugar quota to Mexico").
  'grant',
])

/** The entries of a (watchlist) trie, each once. */
function trieEntries(root: readonly (TrieNode | undefined)[]): Entry[] {
  const out: Entry[] = []
  const walk = (node: TrieNode) => {
    if (node.entry) out.push(node.entry)
    if (node.next) for (const child of node.next.values()) walk(child)
  }
  for (const node of root) if (node) walk(node)
  return out
}

// Bits of the per-word flags (indexed by vocabulary id) read by the number, cause and negation
// patterns, so those checks are one typed-array load instead of a Set lookup per token.
const W_UNIT = 1
const W_COMPARE = 2
const W_FILLER = 4
const W_NEGATIVE = 8
const W_CAUSE = 16
const W_AUX = 32
const W_PERFECT = 64
const W_PREP = 128
const W_MODAL = 256
/**
 * The word continues a lexicon phrase (it is a word of an edge of the trie). About half of the
 * steps into the trie that find nothing are at words that continue no phrase at all, which this bit
 * tells from one load instead of a search among the node's edges.
 */
const W_CONTINUES = 512

/** Flags and unit multipliers of each word id of `words` ids (see W_UNIT...). */
function wordTables(words: number): { flags: Uint16Array; unitScale: Float64Array } {
  const flags = new Uint16Array(words)
  const unitScale = new Float64Array(words).fill(1)
  const mark = (ids: Iterable<number>, bit: number) => {
    for (const id of ids) if (id >= 0 && id < words) flags[id] = (flags[id] as number) | bit
  }
  mark(LEXICON.units, W_UNIT)
  mark(LEXICON.compareIds, W_COMPARE)
  mark(LEXICON.fillerIds, W_FILLER)
  mark(LEXICON.negativeIds, W_NEGATIVE)
  mark(LEXICON.causeIds, W_CAUSE)
  mark(LEXICON.auxIds, W_AUX)
  mark(LEXICON.perfectIds, W_PERFECT)
  mark(LEXICON.prepIds, W_PREP)
  mark(LEXICON.modalIds, W_MODAL)
  mark(LEXICON.trie.edgeWord, W_CONTINUES)
  for (const [word, scale] of Object.entries(UNIT_SCALE)) {
    const id = lookupWord(LEXICON.vocab, word)
    if (id >= 0 && id < words) unitScale[id] = scale
  }
  return { flags, unitScale }
}

interface Accumulator {
  sum: Float64Array
  abs: Float64Array
  threatAbs: Float64Array
  count: Int32Array
  topic: Float64Array
  uncertainty: number
  threats: number
  /** False while every field is as resetAccumulator leaves it (an empty body skips the reset). */
  used: boolean
  /** Context-marker factors of the field (see CONTEXT_MARKERS), applied once the field is matched. */
  directionScale: number
  supplyScale: number
  tradeScale: number
  /** Tariff weight (signed, and its absolute) of bare measures in the opening setting clause. */
  settingSum: number
  settingAbs: number
  /** Market weight of cues that are not trade or supply measures ("opens", "drop", "record"). */
  plainTone: number
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
    used: false,
    directionScale: 1,
    supplyScale: 1,
    tradeScale: 1,
    settingSum: 0,
    settingAbs: 0,
    plainTone: 0,
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
  a.used = false
  a.directionScale = 1
  a.supplyScale = 1
  a.tradeScale = 1
  a.settingSum = 0
  a.settingAbs = 0
  a.plainTone = 0
}

function eventDirection(x: number): -1 | 0 | 1 {
  return x > 0 ? 1 : x < 0 ? -1 : 0
}

/** True for the character code of a capital letter A-Z. */
function isCapital(c: number): boolean {
  return c >= 65 && c <= 90
}

/** Days and months, which a capital does not make a name (see namedObjectAfter). */
const DATE_WORDS = new Set(DATE_NAMES)

/** Relative pronouns ("relief that depends on"; see markConditions). */
const RELATIVES = new Set(RELATIVE_PRONOUNS)

/**
 * Cue labels joined with +, not template literals: emit builds one per bound pair, and the ToString
 * call a template makes per part was 1 % of the scorer's profile where the parts are always strings
 * (no change the bench could tell from its noise).
 */
function joinCue(a: string, sep: string, b: string): string {
  return a + sep + b
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

/** The label of a dimension with no topic word and no cue (relevance 0). */
const ZERO_LABEL: SentimentLabel | null = 0 >= RULES.relevanceMin ? labelOf(0, RULES.neutralBand) : null

/** Matched phrases of a field, in parallel arrays indexed by item. */
interface Items {
  cap: number
  /** Entry.index of each item (its row in the entry table). */
  idx: Int32Array
  /** Token span [s, e) of each item. */
  s: Int32Array
  e: Int32Array
  clause: Int32Array
  neg: Uint8Array
  hedge: Float64Array
  /** Item index of the hedge word that weakened this item, or -1. */
  hedgeSrc: Int32Array
  intens: Float64Array
  bound: Uint8Array
  /**
   * 1 + the item index of a coping predicate ("adapt to", "bypass") that took this target, or 0:
   * words between the two ("adapt to higher duties") describe the measure coped with, not a move.
   */
  held: Int32Array
  predOn: Uint8Array
  target: Int32Array
  /** 1 where easing is only offered on terms (see CONDITIONS, markConditions); set when the field has a condition. */
  cond: Uint8Array
  /**
   * Factor on escalation in the noun phrase a condition makes depend on terms, which is then only
   * threatened (see CONDITIONS `hedge`, markConditions); 1 elsewhere. Set when the field has a condition.
   */
  condHedge: Float64Array
  /** Item index of the condition word that set condHedge, or -1. */
  condSrc: Int32Array
  /** 1 where the item is talk, not an act: after a talk word in its clause, or on a condition (see markTalk). */
  talk: Uint8Array
}

function newItems(n: number): Items {
  const cap = Math.max(64, n)
  return {
    cap,
    idx: new Int32Array(cap),
    s: new Int32Array(cap),
    e: new Int32Array(cap),
    clause: new Int32Array(cap),
    neg: new Uint8Array(cap),
    hedge: new Float64Array(cap),
    hedgeSrc: new Int32Array(cap),
    intens: new Float64Array(cap),
    bound: new Uint8Array(cap),
    held: new Int32Array(cap),
    predOn: new Uint8Array(cap),
    target: new Int32Array(cap),
    cond: new Uint8Array(cap),
    condHedge: new Float64Array(cap),
    condSrc: new Int32Array(cap),
    talk: new Uint8Array(cap),
  }
}

interface Outputs {
  cues: Cue[]
  events: TradeEvent[]
}

/** The empty event list results share until an event is found (most headlines have none); frozen. */
const NO_EVENTS: TradeEvent[] = Object.freeze([]) as unknown as TradeEvent[]

function newOutputs(): Outputs {
  return { cues: [], events: NO_EVENTS }
}

// Entity lists, by slot in the scorer's scratch lists (see pushUnique and EntryTable.entitySlot).
const REGIONS = lex.ENTITY_REGIONS
const COMMODITIES = lex.ENTITY_COMMODITIES
const SECTORS = lex.ENTITY_SECTORS
const COMPANIES = lex.ENTITY_COMPANIES

/**
 * The empty entity list every result shares (most headlines name no commodity, sector or company):
 * frozen, so a consumer that tried to add to it would fail loudly instead of changing other results.
 */
const NO_ENTITIES: string[] = Object.freeze([]) as unknown as string[]

/** The first n values of `list` in an array of their own, no longer than needed. */
function take(list: readonly string[], n: number): string[] {
  if (n === 0) return NO_ENTITIES
  if (n === 1) return [list[0] as string]
  return list.slice(0, n)
}

/** Whether a text has nothing but spaces, tabs and line breaks (stops at the first other character). */
function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return false
  }
  return true
}

// Word sets of the rules, shared by every scorer (module constants: no heap per scorer).
/** Words of a ruling, before which "tariffs are illegal" is one (see the ruled_illegal role). */
const RULING_WORDS: ReadonlySet<number> = new Set(
  ['rule', 'rules', 'ruled', 'ruling', 'court', 'judge', 'judges', 'panel', 'tribunal', 'justices']
    .map((w) => lookupWord(LEXICON.vocab, w))
    .filter((id) => id >= 0),
)
/**
 * Words grouped by length, for wordIn: a token is compared only with the words of its own length, and
 * only when its first two characters could begin one of them. wordIn runs at most words of a field
 * (TALK_UNKNOWN at every word the vocabulary lacks), and nearly always says no: `seconds` says most of
 * those noes from one load, where a look-up by length and a compare per word of the bucket cost about
 * 5 % of the scorer's time.
 */
interface WordsByLength {
  /** The words by length (index; empty for a length none has). */
  readonly byLen: readonly (readonly string[])[]
  /** One more than the longest word's length. */
  readonly limit: number
  /**
   * At length * 27 + class of a first character (charClass): the bit set of the classes of the second
   * characters of the words of that length and first character (all set for one-letter words), 0
   * where no word begins so.
   */
  readonly seconds: Uint32Array
}
/** A character's class for WordsByLength.seconds: 0-25 for a-z, 26 for any other. */
function charClass(c: number): number {
  const k = c - 97
  return k >= 0 && k < 26 ? k : 26
}
function byLength(words: readonly string[]): WordsByLength {
  let limit = 1
  for (const w of words) {
    // wordIn reads no token of no characters.
    if (w.length === 0) throw new Error('byLength: an empty word')
    limit = Math.max(limit, w.length + 1)
  }
  const byLen: string[][] = Array.from({ length: limit }, () => [])
  const seconds = new Uint32Array(limit * 27)
  for (const w of words) {
    ;(byLen[w.length] as string[]).push(w)
    const at = w.length * 27 + charClass(w.charCodeAt(0))
    seconds[at] = (seconds[at] as number) | (w.length > 1 ? 1 << charClass(w.charCodeAt(1)) : 0x7ffffff)
  }
  return { byLen, limit, seconds }
}
const ON_WORD = byLength(['on'])
const OF_WORD = byLength(['of'])
const OVER_WORD = byLength(['over'])
/**
 * Nouns of an attempt at an act ("bid to end the trade war", "push to lift tariffs"): when the attempt
 * then fails, the act is undone (see markFailedAttempts).
 */
const ATTEMPT_WORDS: WordsByLength = byLength([
  'bid',
  'bids',
  'push',
  'effort',
  'efforts',
  'attempt',
  'attempts',
  'plan',
  'plans',
  'proposal',
  'proposals',
  'move',
  'moves',
  'drive',
  'campaign',
  'initiative',
  'bill',
  'legislation',
  'vote',
  'votes',
  'motion',
  'resolution',
  'scheme',
  'offer',
  'deal',
  'pact',
  'agreement',
  'talks',
  'order',
])
/**
 * Predicates that, said of an attempt, make it fail: it stalls, collapses, is scrapped, halted. Not harm:
 * a plan that hurts farmers goes ahead.
 */
const FAILING_PREDS: ReadonlySet<string> = new Set(['fall', 'remove', 'pause', 'halt'])
/**
 * Words of failing that are no such predicate (a market word, a negator): "bid fails", "plan rejected".
 * Only lexicon words are items the scorer sees ("vetoed", "defeated" are none), so by vocabulary id.
 */
const FAILING_WORDS: ReadonlySet<number> = new Set(
  ['fail', 'fails', 'failed', 'rejected', 'killed', 'abandoned', 'flops']
    .map((w) => lookupWord(LEXICON.vocab, w))
    .filter((id) => id >= 0),
)
/** Cases at law a court may void in place of the measure they are about (see bindOne). */
const LITIGATION_WORDS: WordsByLength = byLength([
  'appeal',
  'appeals',
  'challenge',
  'challenges',
  'lawsuit',
  'lawsuits',
  'suit',
  'case',
  'complaint',
  'settlement',
  'ruling',
  'rulings',
  'verdict',
  'judgment',
  'injunction',
  'subpoena',
  'claim',
  'claims',
  'petition',
  'order',
  'decision',
])
/** Levels a price or an index hits ("hits three-month high", "hits weakest since 2008"). */
const LEVEL_WORDS: WordsByLength = byLength([
  'high',
  'highs',
  'low',
  'lows',
  'highest',
  'lowest',
  'strongest',
  'weakest',
  'peak',
  'record',
  'bottom',
])
/**
 * Words after "declined to" that make it a fall to a level, not a refusal ("declined to a record low",
 * "declines to lowest since 2016", "declined to about $5 billion"; a figure does too).
 */
const LEVEL_LEADS: WordsByLength = byLength([
  ...LEVEL_WORDS.byLen.flat(),
  'a',
  'an',
  'the',
  'its',
  'their',
  'near',
  'about',
  'around',
  'nearly',
  'roughly',
  'just',
  'below',
  'under',
  'zero',
  'multi',
  'one',
  // Counts ("declined to two-year low").
  ...LIST_COUNTS,
])
/** First words of coming into force ("takes effect", "kicks in", "enters into force"; see stalledActs). */
const IN_FORCE_LEADS: WordsByLength = byLength([
  'take',
  'takes',
  'took',
  'taken',
  'taking',
  'kick',
  'kicks',
  'kicked',
  'kicking',
  'come',
  'comes',
  'came',
  'coming',
  'enter',
  'enters',
  'entered',
  'entering',
  'go',
  'goes',
  'went',
  'going',
])
/** Verbs of an effort stalling, which stop an act named before them as a pause does (see stalledActs). */
const STALL_WORDS: WordsByLength = byLength([
  'stalls',
  'stalled',
  'falters',
  'faltered',
  'founders',
  'foundered',
])
/** Vocabulary ids of words the lexicon knows, for checks by token id (one load, no text compare). */
function lexiconIds(words: readonly string[]): ReadonlySet<number> {
  const ids = new Set<number>()
  for (const w of words) {
    const id = lookupWord(LEXICON.vocab, w)
    if (id < 0) throw new Error(`lexicon: "${w}" is no word of the vocabulary`)
    ids.add(id)
  }
  return ids
}

/** Verbs that give a deadline more time ("extends March 1 deadline for tariff hike"; see deadlineOf). */
const EXTEND_WORDS: ReadonlySet<number> = lexiconIds([
  'extend',
  'extends',
  'extended',
  'extending',
  'renew',
  'renews',
  'renewed',
  'prolong',
  'prolongs',
  'prolonged',
])
/** What the measure opening a clause covers starts with these (see measureSubject). */
const SUBJECT_COVERAGE_WORDS: ReadonlySet<number> = lexiconIds([
  'on',
  'for',
  'against',
  'of',
  'with',
  'from',
  'over',
])
/** What a measure covers starts with these (see coverageBetween). */
const COVERAGE_WORDS: ReadonlySet<number> = lexiconIds(['on', 'for', 'against'])
/** Where sales bound are exports a policy act moves (see salesRole). */
const CHINA_WORDS: WordsByLength = byLength(['china', 'chinese', 'beijing', 'russia', 'iran'])
const LISTED_FIRMS: WordsByLength = byLength(['huawei', 'zte', 'smic'])
/** Closing, which a deal is brought to, not shut by (see emit). */
const CLOSE_WORDS: ReadonlySet<number> = lexiconIds(['close', 'closes', 'closed', 'closing'])
/**
 * Verbs of winning something in talks, and the rate so won: a partner that "secures 15% tariff rate in
 * deal" won a rate lower than it was threatened with (see emit). (Tariffs won, "steelmakers win tariffs on
 * imports", are protection granted: more of them.)
 */
const WON_WORDS: ReadonlySet<number> = lexiconIds([
  'win',
  'wins',
  'won',
  'secure',
  'secures',
  'secured',
  'land',
  'lands',
  'landed',
])
const RATE_WORDS: ReadonlySet<number> = lexiconIds(['rate', 'rates'])
/** "ship", which names the vessel as often as the act: never an act on a port (see bindOne). */
const SHIP_WORDS: ReadonlySet<number> = lexiconIds(['ship', 'ships'])
/** Verbs of coming to terms ("fail to agree on steel quotas", "no agreement reached on duties"; see emit). */
const ACCORD_WORDS: ReadonlySet<number> = lexiconIds([
  'agree',
  'agrees',
  'agreed',
  'reach',
  'reaches',
  'reached',
  'settle',
  'settles',
  'settled',
])
/** "set", whose participle has no -ed (see emit). */
const SET_WORDS: ReadonlySet<number> = lexiconIds(['set'])
/** The past perfect's auxiliary, and what it may stand before (see backgroundActs). */
const HAD_WORD: WordsByLength = byLength(['had'])
const BEEN_WORD: WordsByLength = byLength(['been'])
/** Verbs that report speech: a past perfect after them is the news told in it (see backgroundActs). */
const REPORTING_WORDS: WordsByLength = byLength([
  'said',
  'says',
  'say',
  'told',
  'announced',
  'confirmed',
  'stated',
  'wrote',
  'according',
])
/** Words that may stand between "had" and its participle ("had quietly lifted", "had not lifted"). */
const PERFECT_GAP_WORDS: WordsByLength = byLength([
  'not',
  'already',
  'also',
  'just',
  'previously',
  'earlier',
  'since',
  'briefly',
  'quietly',
  'never',
])
/** Acts that stopping counters rather than undoes (see pausedActs). */
const MISDEED_WORDS: WordsByLength = byLength(['dumping', 'stealing', 'cheating', 'smuggling'])
/** Words that join noun phrases rather than stand inside one (see plainWordBetween). */
const LINKING_WORDS: WordsByLength = byLength([
  'and',
  'or',
  'as',
  'amid',
  'after',
  'before',
  'under',
  'than',
  'but',
  'while',
  'despite',
  'until',
  'via',
  'vs',
  'if',
  'that',
  'which',
  'who',
])
/**
 * Words that make curbs a domestic rule ("relaxes coal mine safety curbs", "steel output curbs"), which a
 * compound past a good does not reach across (see plainWordBetween).
 */
const DOMESTIC_RULE_WORDS: WordsByLength = byLength([
  'safety',
  'output',
  'production',
  'capacity',
  'pollution',
  'environmental',
  'emission',
  'emissions',
  'purchase',
  'buying',
  'lending',
  'lockdown',
  'price',
  'mining',
  'plant',
  'mill',
  'home',
  'property',
  'housing',
  'credit',
  'smoking',
  'lottery',
])
/** A deadline named before or after the measure it is set for (see deadlineOf). */
const DEADLINE_WORDS: ReadonlySet<number> = lexiconIds(['deadline', 'deadlines'])
const FOR_ON_WORDS: ReadonlySet<number> = lexiconIds(['for', 'on'])
/**
 * What a figure compared by "lower than" or "below" must be said to be: threatened, proposed or in force
 * before, not another partner's or what an industry sought (see figureStatusAt).
 */
const FIGURE_STATUS_WORDS: WordsByLength = byLength([
  'threatened',
  'feared',
  'proposed',
  'provisional',
  'preliminary',
  'planned',
  'announced',
  'initially',
  'initial',
  'originally',
  'earlier',
  'previous',
  'previously',
  'current',
  'existing',
  'expected',
  'imposed',
  'levied',
])
/** Measures in force, whose deadline is their end (see deadlineOf). */
const IN_FORCE_WORDS: WordsByLength = byLength(['safeguard', 'safeguards', 'quota', 'quotas'])

const PERMIT_WORDS: WordsByLength = byLength([
  'allow',
  'allows',
  'allowed',
  'allowing',
  'let',
  'lets',
  'letting',
  'permit',
  'permits',
  'permitted',
  'force',
  'forces',
  'forced',
  'cause',
  'causes',
  'caused',
  'want',
  'wants',
  'wanted',
  'expect',
  'expects',
  'expected',
  'need',
  'needs',
  'needed',
])
/** Goods listed before the measure on them (see goodsListComma). */
const LISTED_GOODS: WordsByLength = byLength([
  'steel',
  'aluminum',
  'aluminium',
  'solar',
  'washer',
  'washers',
  'lumber',
  'timber',
  'auto',
  'autos',
  'car',
  'cars',
  'chip',
  'chips',
  'coal',
  'copper',
  'pharma',
  'chemicals',
  'soybean',
  'soybeans',
  'pork',
  'beef',
  'whiskey',
  'wine',
  'cheese',
  'dairy',
  'farm',
  'aircraft',
  'plane',
  'planes',
  'tech',
  'textile',
  'textiles',
  'furniture',
  'tire',
  'tires',
  'tyre',
  'tyres',
  'paper',
  'glass',
  'cement',
  'fertilizer',
  'laptops',
  'laptop',
  'phones',
  'phone',
  'smartphones',
  'toys',
  'clothing',
  'apparel',
  'shoes',
  'footwear',
  'electronics',
  'computers',
  'consoles',
  'gallium',
  'germanium',
  'graphite',
  'antimony',
  'rice',
  'wheat',
  'corn',
  'sugar',
  'seafood',
  'poultry',
  'nickel',
  'cobalt',
  'lithium',
  'magnets',
  'batteries',
  'drones',
])
/** The weight of measures kept in place in a clause after a relief (see statusQuoBesideRelief). */
const STATUS_QUO_WEIGHT = 0.3
/** Flows a measure after a list of goods may name first ("rice, sugar export curbs"). */
const TRADE_FLOWS: WordsByLength = byLength([
  'export',
  'exports',
  'import',
  'imports',
  'shipment',
  'shipments',
])
/** Measure words a list of goods stands before ("steel, aluminum tariffs"). */
const MEASURE_HEADS: WordsByLength = byLength([
  'tariff',
  'tariffs',
  'duties',
  'duty',
  'levies',
  'levy',
  'quotas',
  'curbs',
  'bans',
  'ban',
  'restrictions',
  'controls',
  'embargo',
])
/**
 * Words of a report whose content a later REPORT_DENIALS word denies (see deniedReports). Not "claims"
 * ("claims for tariff refunds") or "story" ("story stock").
 */
const REPORT_WORDS: WordsByLength = byLength([
  'report',
  'reports',
  'reported',
  'rumor',
  'rumors',
  'rumour',
  'rumours',
])
/** Words that open another clause, where the search for a report word stops (see deniedReports). */
const CLAUSE_OPENERS: WordsByLength = byLength(['as', 'while', 'after', 'amid', 'when', 'because'])
/** Words that may stand between what a report said and its denial ("reports talks stalled are false"). */
const COPULAS: WordsByLength = byLength(['is', 'are', 'was', 'were', 'be', 'been', 'being'])
/** Verbs of saying, which may follow a denial word ("untrue, says ministry"). */
const SAY_WORDS: WordsByLength = byLength(['says', 'say', 'said', 'saying'])
/** Tokens that avoidedByMaking and deniedReports look back over at most: a headline's clause. */
const LOOK_BACK_TOKENS = 16
/** "avoid" as a verb (see avoidedByMaking). */
const AVOID_WORDS: WordsByLength = byLength(['avoid', 'avoids', 'avoided', 'avoiding'])
/** See TALK_WORDS, CONDITIONAL_WORDS and markTalk. */
const TALK: WordsByLength = byLength(TALK_WORDS)
const CONDITIONALS: WordsByLength = byLength(CONDITIONAL_WORDS)
/**
 * The talk words and conditionals by whether the vocabulary has them: a token of a known one has its id
 * (talkById), one of the others has none (-1) and is compared by its text. markTalk passes over a field
 * holding none of either (most headlines) with one load per token.
 */
const TALK_KNOWN_IDS: readonly number[] = [...TALK_WORDS, ...CONDITIONAL_WORDS]
  .map((w) => lookupWord(LEXICON.vocab, w))
  .filter((id) => id >= 0)
const TALK_UNKNOWN: WordsByLength = byLength(
  [...TALK_WORDS, ...CONDITIONAL_WORDS].filter((w) => lookupWord(LEXICON.vocab, w) < 0),
)
const TO_WORD: WordsByLength = byLength(['to'])
const CLOSE_WORD: WordsByLength = byLength(['close'])
/** Talk words that govern only in their phrase: "reserves the right to", "no choice but to" (see talkWord). */
const RIGHT_WORD: WordsByLength = byLength(['right'])
const CHOICE_WORD: WordsByLength = byLength(['choice'])
const BUT_WORD: WordsByLength = byLength(['but'])
/** "will", talk unless its clause dates what it announces (SCHEDULE_WORDS; see talkWord). */
const WILL_WORD: WordsByLength = byLength(['will'])
/**
 * Words that date or schedule what "will" announces ("tariffs will take effect on Monday", "will raise
 * tariffs on Friday", "will come into force Sept. 1"): a measure decided, not talk.
 */
const SCHEDULE_WORDS: WordsByLength = byLength([
  ...DATE_NAMES,
  ...['today', 'tomorrow', 'tonight', 'midnight', 'next', 'effect', 'force', 'starting', 'beginning'],
])
/**
 * Words right before a talk word's participle that make it describe the noun after it ("long-expected
 * trade deal", "widely expected hike", "much-threatened tariffs"; determiners are NP_STARTS).
 */
const ATTRIBUTIVE_LEADS: WordsByLength = byLength([
  ...['long', 'widely', 'much', 'well', 'largely', 'broadly', 'generally', 'eagerly', 'highly'],
  ...['hotly', 'keenly', 'closely', 'often', 'oft', 'already', 'once', 'previously', 'repeatedly'],
])
/** See AVERT_WORDS. */
const AVERTS: WordsByLength = byLength(AVERT_WORDS)
/**
 * Words of a firm making things elsewhere ("shift production", "move output", "new plants", "more
 * deliveries from Mobile"): what it does "to avoid tariffs" copes with the measure, which stays. Not
 * "move" or "shift" alone ("EU moves to avoid trade war", "Canada shifts stance to avoid tariffs").
 */
const MAKING_WORDS: WordsByLength = byLength([
  'relocate',
  'relocates',
  'relocated',
  'relocating',
  'relocation',
  'production',
  'output',
  'manufacturing',
  'assembly',
  'factory',
  'factories',
  'plant',
  'plants',
  'deliveries',
  'supplier',
  'suppliers',
  'stockpile',
  'stockpiles',
])
/**
 * Words that end the search for MAKING_WORDS before "avoid": another clause ("output rises after Mexico
 * avoids tariffs") or an offer that does the avoiding ("agrees to steel output quota to avoid tariffs").
 */
const AVOID_STOPS: WordsByLength = byLength([
  'as',
  'after',
  'while',
  'when',
  'amid',
  'because',
  'since',
  'help',
  'helps',
  'let',
  'lets',
  'allow',
  'allows',
  'agree',
  'agrees',
  'agreed',
  'pledge',
  'pledges',
  'pledged',
  'deal',
  'quota',
  'quotas',
  'offer',
  'offers',
])
/** Negators of refusal, which pass over the other side's measure (see attachModifiers). */
const REFUSE_WORDS: WordsByLength = byLength([
  'refuse',
  'refuses',
  'refused',
  'refusing',
  'reject',
  'rejects',
  'rejected',
  'rejecting',
])
/** Words that open no object after a verb (see objectWordAt); prepositions are flagged W_PREP. */
const NOT_OBJECT_WORDS: ReadonlySet<string> = new Set([
  'as',
  'while',
  'until',
  'till',
  'pending',
  'after',
  'before',
  'over',
  'for',
  'amid',
  'again',
  'briefly',
  'temporarily',
  'indefinitely',
  'further',
  'today',
  'tomorrow',
  'overnight',
  'when',
  'since',
  'despite',
  'during',
  'through',
  'into',
  'ahead',
  'and',
  'but',
  'or',
  'on',
  'in',
  'at',
  'to',
  'from',
  'with',
  'by',
  'once',
  'if',
  'unless',
  'so',
  'then',
  'now',
  // When or how much, not whom ("plan to cut tariffs scrapped this week", "dropped entirely", "Friday").
  'this',
  'last',
  'next',
  'late',
  'early',
  'entirely',
  'outright',
  'altogether',
  'completely',
  'yet',
  'soon',
  'quietly',
  'gradually',
  ...DATE_NAMES,
])

/** "strike" and "strikes", the noun of a stoppage or the verb of a deal struck (see bindOne). */
const STRIKE_WORDS: ReadonlySet<number> = new Set(
  ['strike', 'strikes'].map((w) => lookupWord(LEXICON.vocab, w)).filter((id) => id >= 0),
)

/** Words of the shared lexicon: the only words the learned layer reads (a watchlist's are not). */
const LEXICON_WORDS = LEXICON.vocab.words.length

// Gates of the steps of bindPredicates that act only on a predicate of a kind most fields lack: matchField
// gathers them from the field's predicates (see gatesSeen), and a step none of whose gates is seen is
// skipped, having nothing to act on.
/** A predicate right after "to" (markFailedAttempts, lettingActs). */
const G_TO_PRED = 1
/** A predicate stalledActs may read: first word in STALL_WORDS or IN_FORCE_LEADS, or a ruling. */
const G_STALL = 2
/** A predicate of persisting ("keeps", "remains"; "announce" for "in place"): statusQuoBesideRelief. */
const G_STATUS_QUO = 4
/**
 * G_STALL at the vocabulary id of each lexicon word of STALL_WORDS and IN_FORCE_LEADS. A predicate starts
 * at a lexicon word (or a figure), so one written as a word of those lists has that word's id; list
 * words outside the lexicon start no predicate.
 */
const WORD_GATES: Uint8Array = (() => {
  const gates = new Uint8Array(LEXICON_WORDS)
  for (const list of [STALL_WORDS, IN_FORCE_LEADS])
    for (const words of list.byLen)
      for (const w of words) {
        const id = lookupWord(LEXICON.vocab, w)
        if (id >= 0) gates[id] = (gates[id] as number) | G_STALL
      }
  return gates
})()
let sharedModel: TariffModel | undefined

/** A learned tariff layer over the shared lexicon's words (the trainer's cross-validation reads these). */
export function lexiconTariffModel(data: TariffModelData): TariffModel {
  return createTariffModel(data, { size: LEXICON_WORDS, idOf: (w) => lookupWord(LEXICON.vocab, w) })
}

/** The shipped learned tariff layer, built once for all scorers. */
function learnedModel(): TariffModel {
  sharedModel ??= lexiconTariffModel(TARIFF_MODEL as TariffModelData)
  return sharedModel
}

export function createScorer(options: ScorerOptions = {}): Scorer {
  const maxChars = options.maxChars ?? RULES.defaultMaxChars
  const model = options.learned === false ? null : learnedModel()
  if (!Number.isInteger(maxChars) || maxChars < 1) throw new RangeError('maxChars must be a positive integer')

  // A watchlist adds words to a private copy of the vocabulary and its own trie of company names.
  let vocab: Vocabulary = LEXICON.vocab
  let companies: (TrieNode | undefined)[] | null = null
  let table: EntryTable = BASE_TABLE
  if (options.watchlist && options.watchlist.entities.length > 0) {
    vocab = cloneVocabulary(LEXICON.vocab)
    companies = []
    for (const entity of options.watchlist.entities) {
      // An id that is a word of grammar (a ticker "IT", "ON") is not read as a name: it would tag most
      // headlines (names of that kind the watchlist refuses).
      const names = onlyFunctionWords(entity.id) ? entity.names : [entity.id, ...entity.names]
      for (const name of names) {
        if (phraseKeys(name).length === 0) continue
        const e = insertPhrase(vocab, companies, name)
        if (e && !e.company) e.company = entity.id
      }
    }
    freeze(vocab)
    // Company entries are numbered after the shared ones, in this scorer's own table.
    table = entryTable([...BASE_ENTRIES, ...trieEntries(companies)])
  }
  const stamp = watchlistStamp(options.watchlist)
  const versionWithModel = `${SCORER_VERSION}${stamp}`
  const versionRulesOnly = `${RULES_ONLY_VERSION}${stamp}`
  const {
    entries: colEntry,
    keys: colKey,
    entityAt: entAt,
    entitySlot: entSlot,
    entityIds: entIds,
    data: entData,
    ints: entInts,
    preds: predOf,
    targets: targetOf,
    directionScale: colDirScale,
    supplyScale: colSupScale,
    tradeScale: colTradeScale,
  } = table
  // Entry x: flags at entInts[x << 4], roles at (x << 4) + 1, numbers at entData[(x << 3) + E_...].
  /** The predicate role of entry x (which has F_PRED). */
  function predAt(x: number): PredRole {
    return predOf[((entInts[(x << 4) + 1] as number) & 0xffff) - 1] as PredRole
  }
  /** The target role of entry x (which has F_TARGET). */
  function targetAt(x: number): TargetRole {
    return targetOf[((entInts[(x << 4) + 1] as number) >>> 16) - 1] as TargetRole
  }
  const { trie, notId, usId, toId, fromId, comparedId } = LEXICON
  const { flags: wordFlags, unitScale } = wordTables(vocab.words.length)
  const talkById = new Uint8Array(vocab.words.length)
  for (const id of TALK_KNOWN_IDS) talkById[id] = 1
  const inId = lookupWord(LEXICON.vocab, 'in')
  const onId = lookupWord(LEXICON.vocab, 'on')
  const ofId = lookupWord(LEXICON.vocab, 'of')
  const forId = lookupWord(LEXICON.vocab, 'for')
  const threatId = lookupWord(LEXICON.vocab, 'threat')
  const placeId = lookupWord(LEXICON.vocab, 'place')
  const threatsId = lookupWord(LEXICON.vocab, 'threats')
  const ifId = lookupWord(LEXICON.vocab, 'if')
  const shelvesId = lookupWord(LEXICON.vocab, 'shelves')
  const hitId = lookupWord(LEXICON.vocab, 'hit')
  const hitsId = lookupWord(LEXICON.vocab, 'hits')
  const amidId = lookupWord(LEXICON.vocab, 'amid')
  const andId = lookupWord(LEXICON.vocab, 'and')
  const endId = lookupWord(LEXICON.vocab, 'end')
  const noId = lookupWord(LEXICON.vocab, 'no')
  const againstId = lookupWord(LEXICON.vocab, 'against')
  const underId = lookupWord(LEXICON.vocab, 'under')
  const byId = lookupWord(LEXICON.vocab, 'by')
  const idsOf = (words: readonly string[]) =>
    new Set(words.map((w) => lookupWord(LEXICON.vocab, w)).filter((id) => id >= 0))
  /** Words of direction that compare a figure with another after it ("20%, down from 46%"). */
  const FIGURE_COMPARATIVES = idsOf(['down', 'up', 'lower', 'higher', 'below', 'above', 'less', 'short'])
  /** Degree words before such a comparative ("far below", "well short of"). */
  const FIGURE_DEGREES = idsOf(['far', 'well', 'much', 'sharply', 'slightly', 'significantly'])
  /** What links the comparative to the other figure ("lower than", "down from", "short of"). */
  const FIGURE_LINKS = idsOf(['than', 'from', 'of'])
  /** Tokens between an adjective and its noun that adjectiveOf looks across at most. */
  const ADJECTIVE_REACH = 6
  /** Words that name what talks are about ("talks on export curbs"; see markTalkTopics). */
  const TOPIC_WORDS = new Set(['on', 'over', 'about'].map((w) => lookupWord(LEXICON.vocab, w)))
  /** Words after which a capital-only name in a Title Case field is the name (see capitalisedName). */
  const NAME_LEAD_WORDS: ReadonlySet<string> = new Set(NAME_LEADS)
  /** Articles, which may open a noun phrase (see objectRightAfter). */
  const ARTICLES = new Set(
    ['a', 'an', 'the'].map((w) => lookupWord(LEXICON.vocab, w)).filter((id) => id >= 0),
  )
  /** The word flags (W_UNIT...) of token j, 0 for numbers, breaks and unknown words. */
  /** Whether token j is a word whose vocabulary id is in `ids`. */
  function idIn(j: number, ids: ReadonlySet<number>): boolean {
    return tb.kind[j] === WORD && ids.has(tb.id[j] as number)
  }

  function wordFlagsAt(j: number): number {
    const id = tb.id[j] as number
    return id >= 0 && tb.kind[j] === WORD ? (wordFlags[id] as number) : 0
  }

  const trieEntry = trie.entryIndex
  /** Gates (G_...) by predicate role, as predAt numbers them. */
  const predGates = Uint8Array.from(
    predOf,
    (p) =>
      (p.id === 'persist' || p.id === 'announce' ? G_STATUS_QUO : 0) |
      (p.id === 'ruled_illegal' ? G_STALL : 0),
  )
  const wordInfo = LEXICON.wordInfo
  const lexWords = LEXICON.vocab.words.length

  const tb = createTokenBuffer()
  /** The text of the field being scored, as written (tb.chars holds it case-folded). */
  let text0 = ''
  // Items: matched phrases of the current field, in parallel typed arrays reused across calls (see
  // Items). Each hot function copies the arrays it uses into locals first: the compiler checks a
  // local's type once, where every read of a reassignable closure variable is checked again.
  const it = newItems(64)
  let items = 0

  /** An item takes at least one token, so the items are sized like the token buffer. */
  function sizeItems(n: number): void {
    if (n > it.cap) Object.assign(it, newItems(n))
  }
  /** Clauses a conditional makes talk (see markTalk); reused. */
  const talkConds: number[] = []
  /** Token index of the last contrast word of the field, or -1. */
  let contrastTok = -1
  /** Clause opened by the last concessive word of the field ("despite ..."), or -1. */
  let concessiveClause = -1
  /** Clause opened by a setting word at the start of the field ("After sanctions, ..."), or -1. */
  let settingClause = -1
  /** Whether the field has a phrase that is both a predicate and a target (see bindPredicates). */
  let dualSeen = false
  /** Whether the field has a condition word (see markConditions). */
  let conditionSeen = false
  /**
   * The flags (F_...) of the field's items or'ed together: a step with nothing to act on in the
   * field is skipped (most headlines have no negator, hedge or intensifier, many no predicate).
   */
  let flagsSeen = 0
  /** The gates (G_...) of the field's predicates or'ed together (see G_TO_PRED). */
  let gatesSeen = 0

  const accH = newAccumulator()
  const accB = newAccumulator()

  // Per-call outputs.
  // Per-call outputs, in one object made per call (one store into this long-lived closure per call
  // instead of one per list).
  let out = newOutputs()
  /** ACT_EASING / ACT_ESCALATING of the tariff acts done in this call (see addEvent, learnedReads). */
  let actsDone = 0
  // Entity ids found so far in this call (lexicon strings, so nothing the call made is kept here):
  // the lists are reused and copied out at the end at their exact size.
  const entityLists: string[][] = [[], [], [], []]
  /** Deadline roles by the target they are the deadline of (see deadlineRole). */
  const deadlineRoles = new Map<TargetRole, TargetRole>()
  const entityCounts = new Int32Array(4)

  /** Skips unit words (and currency codes) from token j, at most 3. */
  function skipUnits(j: number, count: number): number {
    let k = 0
    while (j < count && k < 3 && (wordFlagsAt(j) & W_UNIT) !== 0) {
      j++
      k++
    }
    return j
  }

  function scaleAfter(j: number, count: number): number {
    if (j < count && tb.kind[j] === WORD) {
      const id = tb.id[j] as number
      if (id >= 0) return unitScale[id] as number
    }
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
  function matchComparison(i: number, count: number, comparatives: boolean): number {
    if (isYear(i, count)) return i
    const a = (tb.num[i] as number) * scaleAfter(i + 1, count)
    let j = skipUnits(i + 1, count)
    if (j < count && tb.kind[j] === BREAK) j++
    if (j >= count || tb.kind[j] !== WORD) return i
    const link = tb.id[j] as number
    // Set where a figure is compared with one that was only threatened or proposed, not with one
    // before it ("lower than the 25% threatened", not "lower than the 20% on EU goods").
    let againstStatus = false
    if (link === comparedId) j++
    else if (link >= 0 && ((wordFlags[link] as number) & W_COMPARE) !== 0) j++
    else if (comparatives) {
      // "sets tariff at 20%, down from 46%", "15%, lower than the 25% threatened", "17%, far below
      // the 60% preliminary rate": the figure set against a figure it is compared with.
      if (FIGURE_DEGREES.has(link) && j + 1 < count && tb.kind[j + 1] === WORD) j++
      if (!FIGURE_COMPARATIVES.has(tb.id[j] as number)) return i
      j++
      const linkWord = j < count && tb.kind[j] === WORD ? (tb.id[j] as number) : -1
      if (FIGURE_LINKS.has(linkWord)) j++
      // "down from", "up from": the figure before; "lower than", "below": one named as threatened.
      againstStatus = linkWord !== fromId
    } else return i
    let negative = false
    let skipped = 0
    while (j < count && skipped < 5 && (wordFlagsAt(j) & W_FILLER) !== 0) {
      if ((wordFlagsAt(j) & W_NEGATIVE) !== 0) negative = true
      j++
      skipped++
    }
    if (j >= count || tb.kind[j] !== NUMBER || isYear(j, count)) return i
    const b = (tb.num[j] as number) * scaleAfter(j + 1, count) * (negative ? -1 : 1)
    if (a === b) return i
    let end = skipUnits(j + 1, count)
    if (againstStatus) {
      const status = figureStatusAt(end, count)
      if (status < 0) return i
      end = status + 1
    }
    numberDir = a > b ? 1 : -1
    return end
  }

  /**
   * The word saying a compared figure was only threatened, proposed or in force before ("the 25%
   * threatened", "the 46% Trump announced in April", "the 39% levied in August"), at most three words
   * after the figure and before any "on", "for" or "against" (another partner's rate: "the 20% on EU
   * goods", "the 20% imposed on EU goods"): its token, or -1.
   */
  function figureStatusAt(from: number, count: number): number {
    for (let j = from; j < count && j < from + 3; j++) {
      if (tb.kind[j] !== WORD || idIn(j, COVERAGE_WORDS)) return -1
      if (!wordIn(j, FIGURE_STATUS_WORDS)) continue
      const next = j + 1
      return next < count && tb.kind[next] === WORD && idIn(next, COVERAGE_WORDS) ? -1 : j
    }
    return -1
  }

  /** The vocabulary id of figure token j as written ("232"), or -1: only plain digits, no sign or %. */
  function figureWord(j: number): number {
    if (tb.percent[j] === 1 || tb.sign[j] !== 0) return -1
    const chars = tb.chars
    const s = tb.start[j] as number
    const e = tb.end[j] as number
    let h = hashStart()
    for (let q = s; q < e; q++) h = hashStep(h, chars[q] as number)
    return lookupChars(vocab, chars, s, e, hashEnd(h))
  }

  function matchField(): void {
    const count = tb.count
    const tKind = tb.kind
    const tId = tb.id
    const tCaps = tb.caps
    const {
      idx: itIdx,
      s: itS,
      e: itE,
      clause: itClause,
      neg: itNeg,
      hedge: itHedge,
      hedgeSrc: itHedgeSrc,
      intens: itIntens,
      bound: itBound,
      held: itHeld,
      predOn: itPredOn,
      target: itTarget,
      talk: itTalk,
    } = it
    let n = 0
    contrastTok = -1
    concessiveClause = -1
    settingClause = -1
    let duals = false
    let conditions = false
    let seen = 0
    let gates = 0
    let clause = 0
    let i = 0
    while (i < count) {
      const kind = tKind[i]
      if (kind === BREAK) {
        if (!goodsListComma(i)) clause++
        i++
        continue
      }
      // The phrase found at i: entry `best` over tokens [i, bestEnd).
      let best = -1
      let bestEnd = i
      if (kind === NUMBER) {
        // The figure compared with a word of direction ("20%, down from 46%") only after a trade
        // measure of its clause; elsewhere those words keep their own market tone ("sales ... down from").
        let measureBefore = false
        for (let m = n - 1; m >= 0 && m >= n - 4 && itClause[m] === clause; m--) {
          const mx = itIdx[m] as number
          if (((entInts[mx << 4] as number) & F_TARGET) !== 0 && targetAt(mx).tariff !== 0)
            measureBefore = true
        }
        const end = matchComparison(i, count, measureBefore)
        if (end > i) {
          best = numberDir > 0 ? NUM_UP_ENTRY.index : NUM_DOWN_ENTRY.index
          bestEnd = end
        } else if (tb.sign[i] !== 0 && tb.percent[i] === 1) {
          best = tb.sign[i] === 1 ? PCT_UP_ENTRY.index : PCT_DOWN_ENTRY.index
          bestEnd = i + 1
        } else {
          i++
          continue
        }
      } else {
        const id = tId[i] as number
        const changeEnd = id === toId || id === fromId ? matchNumberChange(i, count) : i
        if (changeEnd > i) {
          best = numberDir > 0 ? NUM_UP_ENTRY.index : NUM_DOWN_ENTRY.index
          bestEnd = changeEnd
        } else {
          if (companies) {
            let node = id >= 0 ? companies[id] : undefined
            let j = i
            while (node) {
              j++
              if (node.entry) {
                best = node.entry.index
                bestEnd = j
              }
              if (!node.next || j >= count || tKind[j] !== WORD) break
              node = node.next.get(tId[j] as number)
            }
          }
          // Watchlist words have ids past the lexicon's and start no lexicon phrase.
          if (id >= 0 && id < lexWords) {
            const single = wordInfo[id * 2] as number
            if (single >= 0 && i + 1 > bestEnd) {
              best = single
              bestEnd = i + 1
            }
            let node = wordInfo[id * 2 + 1] as number
            let j = i + 1
            while (node >= 0 && j < count) {
              // A figure inside a phrase ("Section 232 probe", "phase 1 deal") is read as the word
              // it is written as.
              const kj = tKind[j]
              const next = kj === WORD ? (tId[j] as number) : kj === NUMBER ? figureWord(j) : -1
              if (next < 0 || ((wordFlags[next] as number) & W_CONTINUES) === 0) break
              node = trieChild(trie, node, next)
              if (node < 0) break
              j++
              const entry = trieEntry[node] as number
              if (entry >= 0 && j > bestEnd) {
                best = entry
                bestEnd = j
              }
            }
          }
          // "exports declined to $5 billion", "declined to China": a fall to a level or a place, no
          // refusal; the verb alone (in Title Case too, where a verb after it has its capital).
          if (
            best >= 0 &&
            bestEnd === i + 2 &&
            DECLINE_TO_ENTRIES.has(best) &&
            (bestEnd >= count ||
              tKind[bestEnd] !== WORD ||
              isCapital(text0.charCodeAt(tb.start[bestEnd] as number)) ||
              wordIn(bestEnd, LEVEL_LEADS))
          ) {
            best = wordInfo[id * 2] as number
            bestEnd = i + 1
          }
          // "FDA declares semaglutide shortage over": a shortage over, where the clause ends, is one ended; with
          // a word after it "over" names its cause ("supply shortage over virus", "shortages over
          // coronavirus"), and the shortage is read alone.
          if (best >= 0 && SHORTAGE_OVER_AT[best] === 1 && bestEnd < count && tKind[bestEnd] === WORD) {
            if (!wordIn(bestEnd, OVER_ENDS)) {
              // The shortage's own phrase, one word shorter ("chip shortage" in "chip shortage over virus").
              bestEnd--
              let node = wordInfo[id * 2 + 1] as number
              for (let j = i + 1; j < bestEnd && node >= 0; j++)
                node = trieChild(trie, node, tId[j] as number)
              best =
                bestEnd === i + 1
                  ? (wordInfo[id * 2] as number)
                  : node >= 0
                    ? (trieEntry[node] as number)
                    : -1
            }
          }
          // "Intel pushes first Ohio chip plant to 2030": pushed to a later year is delayed, as "pushed back"
          // is (see pushedToYear).
          // (By vocabulary id: a string made per word here cost a quarter of the scorer's time.)
          // "ending East Coast strike", "ends two-week port strike": a strike ended, named by where or whose it
          // is (capitalised names or STRIKE_NAMERS, up to three words), as "ends strike" is.
          if (bestEnd <= i + 1 && id >= 0 && id < lexWords && RESHAPED[id] === 1) {
            const delayed = PUSH_DELAY[id] as number
            if (delayed >= 0 && pushedToYear(i + 1, count)) {
              best = delayed
              bestEnd = i + 1
            }
            const ended = END_STRIKE[id] as number
            if (bestEnd === i + 1 && ended >= 0) {
              const strikeAt = namedStrikeAfter(i + 1, count)
              if (strikeAt > 0) {
                best = ended
                bestEnd = strikeAt + 1
              }
            }
            // "Mexico cuts a deal with U.S.", "U.S., China cut trade deal": a deal cut is one struck, as a
            // deal sealed is; "OPEC+ outlines oil cut deal" names the deal on output cuts (no verb).
            const sealed = CUT_SEAL[id] as number
            if (bestEnd === i + 1 && sealed >= 0 && dealAfterCut(i + 1, count))
              best = i > 0 && tKind[i - 1] === WORD && wordIn(i - 1, CUT_NOUNS) ? -1 : sealed
            // "China says it hopes U.S. will work on basis of equality", "hopes Canada will return to NAFTA
            // talks": a hope with a clause after it (its subject, then a modal) is the verb, which only wants
            // what the clause says, as "hopes to" does; the noun is the market's ("trade hopes").
            const hoped = HOPE_VERB[id] as number
            if (hoped >= 0 && modalClauseAfter(i + 1, count)) {
              best = hoped
              bestEnd = i + 1
            }
          }
          // "extends ban on food imports to end-2026", "until end 2025": the end of a year is a date, no act
          // of ending (joined to the year, or with the year ending the clause; "to end 2019 tariff
          // exclusions" ends them).
          if (
            best >= 0 &&
            id === endId &&
            bestEnd === i + 1 &&
            bestEnd < count &&
            tKind[bestEnd] === NUMBER &&
            tb.percent[bestEnd] === 0 &&
            (tb.num[bestEnd] as number) >= 1900 &&
            (tb.num[bestEnd] as number) <= 2100 &&
            (text0.charCodeAt(tb.end[i] as number) === 45 ||
              bestEnd + 1 >= count ||
              tKind[bestEnd + 1] === BREAK)
          )
            best = -1
          // "Pfizer's Rocky Mount plant", "Canopy Growth", "Alison Rose": a word of a market move written
          // with its capital right after a capitalised word and before a word in lower case, in a field not
          // in Title Case, is part of a name (a Title Case line inside a body, "Talks Show Progress", is not;
          // nor an act of policy, "Mazda Halts output", "China Restricts exports", written so).
          if (
            best >= 0 &&
            bestEnd === i + 1 &&
            i > 0 &&
            bestEnd < count &&
            ((entInts[best << 4] as number) & (F_PRED | F_TARGET)) === F_PRED &&
            isCapital(text0.charCodeAt(tb.start[i] as number)) &&
            tCaps[i] === 0 &&
            tKind[i - 1] === WORD &&
            tKind[bestEnd] === WORD &&
            isCapital(text0.charCodeAt(tb.start[i - 1] as number)) &&
            !isCapital(text0.charCodeAt(tb.start[bestEnd] as number)) &&
            !predAt(best).policy &&
            !titleCase()
          )
            best = -1
          // A strike, begun or called off, is one of supply unless the field says whose it is not
          // (NOT_SUPPLY_STRIKES: "Brussels Airlines pilots begin strike", "Teachers go on strike").
          if (best >= 0 && STRIKE_AT[best] === 1 && notSupplyStrike(bestEnd)) best = -1
          if (
            best < 0 ||
            (id === usId &&
              bestEnd === i + 1 &&
              tCaps[i] === 0 &&
              ((entInts[best << 4] as number) & F_COMPANY) === 0)
          ) {
            // Unknown word, or lower-case "us" (the pronoun, not the country).
            i++
            continue
          }
        }
      }
      const f = entInts[best << 4] as number
      seen |= f
      if ((f & F_PRED) !== 0) {
        gates |= predGates[((entInts[(best << 4) + 1] as number) & 0xffff) - 1] as number
        // (A figure's id is UNKNOWN.)
        const first = tId[i] as number
        if (first >= 0 && first < lexWords) gates |= WORD_GATES[first] as number
        if (i > 0 && tKind[i - 1] === WORD && tId[i - 1] === toId) gates |= G_TO_PRED
      }
      // A clause break that is also a predicate ("on hopes of ...") opens the clause it acts in.
      if ((f & F_CLAUSE_BREAK) !== 0 && (f & F_PRED) !== 0) clause++
      const k = n++
      itIdx[k] = best
      itS[k] = i
      itE[k] = bestEnd
      itClause[k] = clause
      itNeg[k] = 0
      itHedge[k] = 1
      itHedgeSrc[k] = -1
      itIntens[k] = 1
      itBound[k] = 0
      itHeld[k] = 0
      // A word that is a verb as well as a noun, right before "of", is the noun ("threatens supply of
      // chip material", "a halt of shipments"): no verb is followed by "of" (see ofAfter).
      itPredOn[k] = (f & F_PRED) !== 0 && !((f & F_TARGET) !== 0 && ofAfter(bestEnd)) ? 1 : 0
      itTarget[k] = -1
      // (markTalk sets it where a field has talk: most have none, and pass over it.)
      itTalk[k] = 0
      if ((f & F_CLAUSE_BREAK) !== 0 && (f & F_PRED) === 0) clause++
      // A capital-only name read as the verb after its subject ("Gold gains trump tariff worries",
      // "Tech Gains Trump China Tariff Worries"; see capitalisedName) ends the subject: what stands
      // on either side of it is read apart, so "gains" does not take "tariff worries", and what it
      // outweighs is weighed as after "despite".
      else if ((f & F_CAPITALISED) !== 0 && i > 0 && tKind[i - 1] === WORD && !capitalisedName(i, bestEnd)) {
        clause++
        concessiveClause = clause
      }
      if ((f & F_CONTRAST) !== 0) contrastTok = i
      if ((f & F_CONCESSIVE) !== 0) concessiveClause = clause
      if ((f & F_SETTING) !== 0 && (i === 0 || tKind[i - 1] === BREAK)) settingClause = clause
      if ((f & F_PRED) !== 0 && (f & F_TARGET) !== 0) duals = true
      if ((f & F_CONDITION) !== 0) conditions = true
      i = bestEnd
    }
    items = n
    dualSeen = duals
    conditionSeen = conditions
    flagsSeen = seen
    gatesSeen = gates
  }

  /**
   * "to <year>" within seven words from j, the year ending its clause or followed by a word that leaves it
   * a date (YEAR_ENDS: "pushes first Ohio chip plant to 2030, sets slower pace", "pushes production to 2027
   * from 2025"), where "to 2019 highs" or "to 25%" is a level.
   */
  function pushedToYear(j: number, count: number): boolean {
    for (let q = j; q + 1 < count && q <= j + 7; q++) {
      if (tb.kind[q] !== WORD) return false
      if (tb.id[q] !== toId || tb.kind[q + 1] !== NUMBER || !isYear(q + 1, count)) continue
      return q + 2 >= count || tb.kind[q + 2] !== WORD || wordIn(q + 2, YEAR_ENDS)
    }
    return false
  }

  /** One to three words from token j, then a modal ("U.S. will", "the two sides can"), in one clause. */
  function modalClauseAfter(j: number, count: number): boolean {
    for (let q = j; q < count && q <= j + 3; q++) {
      if (tb.kind[q] !== WORD) return false
      if (q > j && (wordFlagsAt(q) & W_MODAL) !== 0) return true
    }
    return false
  }

  /** A deal ("deal", "a deal", "a new trade deal") starts at token j, right after a cut. */
  function dealAfterCut(j: number, count: number): boolean {
    let q = j
    while (q < count && q < j + 3 && tb.kind[q] === WORD && wordIn(q, CUT_DEAL_FILLERS)) q++
    return q < count && tb.kind[q] === WORD && wordIn(q, DEAL_WORDS)
  }

  /**
   * The token of "strike" (walkout, stoppage, lockout) after at most three words from j that name where
   * or whose it is (capitalised, or STRIKE_NAMERS: "East Coast strike", "two-week port strike"), or -1.
   */
  function namedStrikeAfter(j: number, count: number): number {
    for (let q = j; q < count && q <= j + 3; q++) {
      if (tb.kind[q] !== WORD) return -1
      if (q > j && wordIn(q, STOPPAGE_WORDS)) return q
      if (!isCapital(text0.charCodeAt(tb.start[q] as number)) && !wordIn(q, STRIKE_NAMERS)) return -1
    }
    return -1
  }

  /**
   * Token j is a comma listing goods before the measure on them ("steel, aluminum tariffs", "coal,
   * pharma, chemicals tariffs"): a goods word on either side and a measure word or another listed good
   * right after the next one; or after the measure and "on" ("tariffs on Chinese laptops, phones").
   * Such a comma ends no clause.
   */
  function goodsListComma(j: number): boolean {
    if (j < 1 || j + 2 >= tb.count || text0.charCodeAt(tb.start[j] as number) !== 44) return false
    if (tb.kind[j - 1] !== WORD || tb.kind[j + 1] !== WORD) return false
    if (!wordIn(j - 1, LISTED_GOODS) || !wordIn(j + 1, LISTED_GOODS)) return false
    if (measureOnBefore(j)) return true
    if (tb.kind[j + 2] !== WORD) return goodsListComma(j + 2)
    // The list may end in "and" and one more good ("gallium, germanium and antimony export ban").
    let m = j + 2
    if (tb.id[m] === andId && m + 2 < tb.count && tb.kind[m + 1] === WORD && wordIn(m + 1, LISTED_GOODS))
      m += 2
    // The measure right after the list, or after "export"/"import" ("rice, sugar export curbs").
    return (
      (tb.kind[m] === WORD && wordIn(m, MEASURE_HEADS)) ||
      (m + 1 < tb.count &&
        tb.kind[m] === WORD &&
        tb.kind[m + 1] === WORD &&
        wordIn(m, TRADE_FLOWS) &&
        wordIn(m + 1, MEASURE_HEADS))
    )
  }

  /**
   * The goods-list comma j stands after "<measure> on" and at most one word ("Tariffs on Chinese
   * laptops, phones delayed"), or after an earlier comma of the same list ("curbs on rice, sugar, wheat").
   */
  function measureOnBefore(j: number): boolean {
    for (let q = j - 2; q >= 1 && q >= j - 3; q--)
      if (
        tb.kind[q] === WORD &&
        tb.kind[q - 1] === WORD &&
        wordIn(q, ON_WORD) &&
        wordIn(q - 1, MEASURE_HEADS)
      )
        return true
    const c = j - 2
    return (
      c >= 1 &&
      tb.kind[c] !== WORD &&
      text0.charCodeAt(tb.start[c] as number) === 44 &&
      tb.kind[c - 1] === WORD &&
      wordIn(c - 1, LISTED_GOODS) &&
      measureOnBefore(c)
    )
  }

  /**
   * The verb starting at token v follows a modal ("will", "can"; "will not") that stands at least one
   * word after token `from` (the end of an earlier verb): a subject and its modal open a clause there.
   */
  function modalClauseAt(from: number, v: number): boolean {
    let m = v - 1
    if (m > from && tb.id[m] === notId) m--
    return m > from && tb.kind[m] === WORD && (wordFlagsAt(m) & W_MODAL) !== 0 && tb.kind[m - 1] === WORD
  }

  /** Token j is the word "of". */
  function ofAfter(j: number): boolean {
    return j < tb.count && tb.kind[j] === WORD && tb.id[j] === ofId
  }

  /** Attaches negators, hedges and intensifiers to the next predicate, target or tone word in scope. */
  function attachModifiers(): void {
    const {
      idx: itIdx,
      s: itS,
      e: itE,
      clause: itClause,
      neg: itNeg,
      hedge: itHedge,
      hedgeSrc: itHedgeSrc,
      intens: itIntens,
      predOn: itPredOn,
    } = it
    const scope = RULES.modifierScopeTokens
    let negEnd = -1
    let negClause = -1
    let negScope: number = scope
    let negShort = false
    let negRefuse = false
    let hedge = 1
    let hedgeEnd = -1
    let hedgeClause = -1
    let hedgeItem = -1
    let hedgeSrc = -1
    let intens = 1
    let intensEnd = -1
    let intensClause = -1
    let lightItem = -1
    // A request verb whose hedge went to its object, waiting for the act asked for ("wants the
    // tariffs removed"), or -1.
    let requestItem = -1
    for (let k = 0; k < items; k++) {
      const x = itIdx[k] as number
      const f = entInts[x << 4] as number
      const s = itS[k] as number
      const clause = itClause[k] as number
      if ((f & F_CLAUSE_BREAK) !== 0) {
        negEnd = -1
        hedgeEnd = -1
        intensEnd = -1
        lightItem = -1
        requestItem = -1
        continue
      }
      const isTarget = (f & F_TARGET) !== 0
      // (A verb-and-noun before "of" is the noun: matchField.)
      const isPred = (f & F_PRED) !== 0 && !(isTarget && ofAfter(itE[k] as number))
      if ((f & (F_PRED | F_TARGET | F_TONE)) !== 0) {
        // "dismissed the claim and threatened countermeasures": a verb after "and", with words
        // between it and the negator, opens a second act the negation does not reach.
        if (negEnd >= 0 && isPred && s - negEnd > 1 && wordBefore(s, andId)) negEnd = -1
        // "Beijing refuses US tariffs": refusing the other side's measure, named so, is defiance, not
        // undoing it, and the negation passes over it to what follows ("rejects steel tariff exclusion
        // requests": the relief is withheld). Refusing one's own ("refuses retaliatory tariffs") is
        // restraint, negated as any.
        const refusedMeasure =
          negEnd >= 0 &&
          negRefuse &&
          isTarget &&
          !isPred &&
          targetAt(x).polarity < 0 &&
          (namedOwner(k) || reliefRightAfter(k))
        if (
          negEnd >= 0 &&
          !refusedMeasure &&
          clause === negClause &&
          s - negEnd <= negScope &&
          // "no illusions about tariffs": a determiner's noun phrase ends at a preposition.
          !(negShort && prepBetween(negEnd, s))
        ) {
          itNeg[k] = 1
          // "no plans to impose new tariffs": the negation covers the verb phrase up to its object.
          // A verb known only for its tone ("not holding tariff talks") passes it on to its object.
          // A good right before the noun it names ("denies report of chip tariff delay", "no rare earth
          // export ban": the delay, the ban) passes it on to that head, as if the good were not there.
          const goodOfHead =
            isTarget &&
            k + 1 < items &&
            it.s[k + 1] === it.e[k] &&
            targetAt(x).bare === 0 &&
            ((entInts[(it.idx[k + 1] as number) << 4] as number) & F_TARGET) !== 0
          if (goodOfHead) negEnd += (it.e[k] as number) - s
          else if (isTarget || (!isPred && (f & F_TONE) === 0)) negEnd = -1
        }
        if (hedgeEnd >= 0 && clause === hedgeClause && s - hedgeEnd <= scope) {
          itHedge[k] = hedge
          itHedgeSrc[k] = hedgeSrc
          // "threatens to impose tariffs": the threat verb hands its hedge to the real predicate.
          if (hedgeItem >= 0 && isPred && (f & F_THREAT) === 0) itPredOn[hedgeItem] = 0
          else if (
            hedgeItem >= 0 &&
            isTarget &&
            (entData[((itIdx[hedgeItem] as number) << 3) + E_RELIEF] as number) < 1
          )
            requestItem = hedgeItem
          if (isPred || isTarget) hedgeEnd = -1
        } else if (
          requestItem >= 0 &&
          isPred &&
          (f & F_THREAT) === 0 &&
          itPredOn[k] === 1 &&
          clause === itClause[requestItem] &&
          s - (itE[requestItem] as number) <= scope
        ) {
          // "wants retaliatory tariffs removed": the act asked for comes after its object.
          itPredOn[requestItem] = 0
          const h = entData[((itIdx[requestItem] as number) << 3) + E_HEDGE] as number
          if (h < (itHedge[k] as number)) {
            itHedge[k] = h
            itHedgeSrc[k] = requestItem
          }
          requestItem = -1
        }
        if (intensEnd >= 0 && clause === intensClause && s - intensEnd <= scope) {
          itIntens[k] = (itIntens[k] as number) * intens
          intensEnd = -1
        }
      }
      if (lightItem >= 0) {
        // "agree to suspend tariffs", "sign order imposing tariffs": a light verb followed by the
        // real act hands it its negation and hedge and stays out of the score.
        // A participle right before its noun describes the object, not a second act ("sign
        // revised trade deal" signs the deal).
        const attributive = (f & F_PAST) !== 0 && targetRightAfter(k)
        if (
          isPred &&
          !attributive &&
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
        } else if (isTarget && bindable(predAt(itIdx[lightItem] as number), k)) lightItem = -1
      }
      if ((f & F_LIGHT) !== 0 && isPred && itPredOn[k] === 1) lightItem = k
      if ((f & F_NEGATOR) !== 0) {
        // "refuses to drop threat to raise tariffs", "did not rule out tariffs", "not unwilling to": a
        // negation reaching another negator cancels it, and what follows is affirmed.
        if (
          negEnd >= 0 &&
          clause === negClause &&
          s - negEnd <= negScope &&
          !(negShort && prepBetween(negEnd, s))
        )
          negEnd = -1
        else {
          negEnd = itE[k] as number
          // ("refuses to ban Huawei" refuses an act: negated as any.)
          negRefuse = wordIn(s, REFUSE_WORDS) && tb.id[(itE[k] as number) - 1] !== toId
          negClause = clause
          negShort = (f & F_SHORT_NEG) !== 0
          negScope = negShort ? RULES.determinerScopeTokens : scope
        }
      }
      if ((f & F_HEDGE) !== 0) {
        // "will not sit idly by if U.S. escalates trade war": a negation does not reach into the
        // condition after "if" ("unless" is a negator of its own).
        if (tb.id[itS[k] as number] === ifId) negEnd = -1
        const h = entData[(x << 3) + E_HEDGE] as number
        // "signals it may halt soybean purchases", "threatens he could raise tariffs": a modal after a
        // verb of intent, before its act, keeps that verb waiting for the act (which it hands its
        // hedge to), where the modal had taken its place and the verb the act's object.
        const chained =
          hedgeItem >= 0 &&
          (f & (F_THREAT | F_PRED | F_TARGET)) === 0 &&
          hedgeEnd >= 0 &&
          clause === hedgeClause &&
          s - hedgeEnd <= scope
        hedge = chained ? Math.min(hedge, h) : h
        hedgeEnd = itE[k] as number
        hedgeClause = clause
        if (!chained) {
          hedgeItem = (f & F_THREAT) !== 0 ? k : -1
          hedgeSrc = k
        }
      }
      if ((f & F_INTENS) !== 0 && !isPred && !isTarget) {
        intens = entData[(x << 3) + E_INTENS] as number
        intensEnd = itE[k] as number
        intensClause = clause
      }
    }
  }

  /** A target item a predicate may take: not itself an active predicate, and market-only targets only for marketOk predicates. */
  function bindable(pred: PredRole, k: number): boolean {
    const x = it.idx[k] as number
    const f = entInts[x << 4] as number
    if ((f & F_TARGET) === 0 || (it.predOn[k] === 1 && (f & F_PRED) !== 0)) return false
    if (it.bound[k] === 3) return false
    const t = targetAt(x)
    if (t.stanceOnly && !pred.takesTopic) return false
    // A port is moved by acts on it, not by threats, plans, stances or wins (TargetRole.actedOn).
    if (t.actedOn && (pred.threat || pred.kind === 'stance' || pred.id === 'progress' || pred.id === 'gain'))
      return false
    // "not even close" and "is close" take only talks and deals, "flexibility on" only measures (see
    // their roles).
    if ((pred.id === 'not_close' || pred.id === 'is_close') && t.events.less !== 'talks_breakdown')
      return false
    if (pred.id === 'flexibility' && !(t.polarity < 0 && t.tariff !== 0 && !t.contest && !t.frame))
      return false
    // A figure's change ("to 35% from 25%") is a rate's or an amount's, never a deal's or talks' ("tariff
    // on Canadian goods outside USMCA to 35% from 25%": the tariff rises, not the agreement).
    if ((pred === NUM_UP || pred === NUM_DOWN) && t.events.less === 'talks_breakdown') return false
    // A verb of fixed direction (harm, stance) has nothing to say about a quantity that moves no
    // dimension ("falling oil prices hurt miners"): it looks further or keeps its own tone.
    if (pred.fixed !== 0 && t.tariff === 0 && t.supply === 0 && t.market === 0) return false
    return pred.marketOk || t.tariff !== 0 || t.supply !== 0
  }

  /**
   * Verb k wins or secures the rate t after it ("Japan secures 15% tariff rate in deal", "EU wins 15%
   * rate on most goods"): a measure whose phrase ends in "rate" and a verb of winning (WON_WORDS).
   */
  function rateWon(k: number, t: number, polarity: number): boolean {
    if (t <= k || polarity >= 0) return false
    const last = (it.e[t] as number) - 1
    return idIn(last, RATE_WORDS) && idIn(it.s[k] as number, WON_WORDS) && it.e[k] === (it.s[k] as number) + 1
  }

  /** Item k is an input or a good and nothing else (no bare weight, no measure: "gallium", "chips"). */
  function inputOnly(k: number): boolean {
    const x = it.idx[k] as number
    if (((entInts[x << 4] as number) & (F_TARGET | F_PRED)) !== F_TARGET) return false
    const t = targetAt(x)
    return t.supply !== 0 && t.bare === 0 && t.polarity > 0
  }

  /** Right after item t stands a predicate in its past participle, or "shut" or "open" (see bindOne). */
  function stateAfter(t: number): boolean {
    const r = t + 1
    if (r >= items || it.s[r] !== it.e[t] || it.predOn[r] !== 1) return false
    const f = entInts[(it.idx[r] as number) << 4] as number
    return (f & F_PRED) !== 0 && ((f & F_PAST) !== 0 || wordIn(it.s[r] as number, STATE_WORDS))
  }

  /** Item k is a target moved only by acts on it (see TargetRole.actedOn). */
  function actedOnAt(k: number): boolean {
    const x = it.idx[k] as number
    return ((entInts[x << 4] as number) & F_TARGET) !== 0 && targetAt(x).actedOn
  }

  /** Item k is a contest target (see TargetRole.contest). */
  function isContest(k: number): boolean {
    const x = it.idx[k] as number
    return ((entInts[x << 4] as number) & F_TARGET) !== 0 && targetAt(x).contest
  }

  /** Whether the word at token j ends in "ing" ("easing", "imposing"). */
  /**
   * Item k ends in a noun's ending ("withdrawal", "suspension", "postponement", and their plurals),
   * which no verb form of a predicate has.
   */
  function nounForm(k: number): boolean {
    let e = tb.end[(it.e[k] as number) - 1] as number
    const st = tb.start[(it.e[k] as number) - 1] as number
    if (e - st < 5) return false
    if ((text0.charCodeAt(e - 1) | 32) === 115) e--
    const c1 = text0.charCodeAt(e - 1) | 32
    const c2 = text0.charCodeAt(e - 2) | 32
    const c3 = text0.charCodeAt(e - 3) | 32
    const c4 = text0.charCodeAt(e - 4) | 32
    // -al, -ion, -ment
    return (
      (c1 === 108 && c2 === 97) ||
      (c1 === 110 && c2 === 111 && c3 === 105) ||
      (c1 === 116 && c2 === 110 && c3 === 101 && c4 === 109)
    )
  }

  /**
   * "U.S. exempts 110 Chinese products from tariffs, keeps duties on rest", "extends Huawei licence by 90
   * days, keeps firm on blacklist": measures kept in place in a clause after a relief is the status quo
   * beside the news, which is the relief: the keeping weighs STATUS_QUO_WEIGHT.
   */
  function statusQuoBesideRelief(): void {
    let reliefClause = -1
    for (let k = 0; k < items; k++) {
      const t = it.target[k] as number
      if (it.predOn[k] !== 1 || t < 0 || it.neg[k] === 1) continue
      const pred = predAt(it.idx[k] as number)
      const target = targetAt(it.idx[t] as number)
      if (target.tariff === 0) continue
      // ("keeps", "stays", "remains"; "in place" after the measure.)
      if (pred.id === 'persist' || (pred.id === 'announce' && tb.id[it.s[k] as number] === placeId)) {
        if (reliefClause >= 0 && (it.clause[k] as number) > reliefClause && target.polarity < 0)
          it.intens[k] = (it.intens[k] as number) * STATUS_QUO_WEIGHT
      } else if (reliefClause < 0 && (pred.fixed !== 0 ? pred.fixed : pred.sign * target.polarity) > 0) {
        reliefClause = it.clause[k] as number
      }
    }
  }

  /** Item t is a target of the market alone (orders, sales, profit), of no trade or supply. */
  function businessOnly(t: number): boolean {
    const x = it.idx[t] as number
    if (((entInts[x << 4] as number) & F_TARGET) === 0) return false
    const g = targetAt(x)
    return g.tariff === 0 && g.supply === 0 && !g.frame
  }

  /** Item t is the bare word "threat" or "threats". */
  function threatNoun(t: number): boolean {
    const j = it.s[t] as number
    return it.e[t] === j + 1 && (tb.id[j] === threatId || tb.id[j] === threatsId)
  }

  /** Item t is a name or a topic word (a firm, a place), neither a predicate nor a target. */
  function nameOnly(t: number): boolean {
    return ((entInts[(it.idx[t] as number) << 4] as number) & (F_PRED | F_TARGET)) === 0
  }

  function endsInIng(j: number): boolean {
    const e = tb.end[j] as number
    return (
      e - (tb.start[j] as number) > 4 &&
      text0.charCodeAt(e - 1) === 103 &&
      text0.charCodeAt(e - 2) === 110 &&
      text0.charCodeAt(e - 3) === 105
    )
  }

  /** True when the word right before token j is the word `id`. */
  function wordBefore(j: number, id: number): boolean {
    return j > 0 && tb.kind[j - 1] === WORD && tb.id[j - 1] === id
  }

  /** True when token j follows "in" or "amid": a contest named there is the setting ("in a trade spat"). */
  function isAfterSetting(j: number): boolean {
    return wordBefore(j, inId) || wordBefore(j, amidId)
  }

  /**
   * True when token j follows a perfect auxiliary, right before it or with one word between ("has
   * granted licences", "has reportedly granted"): the participle there is an act done.
   */
  function afterPerfect(j: number): boolean {
    if (j > 0 && (wordFlagsAt(j - 1) & W_PERFECT) !== 0) return true
    return j > 1 && tb.kind[j - 1] === WORD && (wordFlagsAt(j - 2) & W_PERFECT) !== 0
  }

  /** True when the word `id` stands among tokens [from, to). */
  function wordBetween(from: number, to: number, id: number): boolean {
    for (let j = from; j < to; j++) if (tb.kind[j] === WORD && tb.id[j] === id) return true
    return false
  }

  /**
   * True when item r begins the noun phrase right after predicate item k: between them at most
   * RULES.objectLeadTokens tokens, each an article or part of a phrase that is no predicate ("eases
   * U.S.-China trade worries"), and no listing comma ("If Demand Drops, Exports Drop"), which the
   * tokenizer drops.
   */
  function objectRightAfter(k: number, r: number): boolean {
    const from = it.e[k] as number
    const to = it.s[r] as number
    if (to - from > RULES.objectLeadTokens) return false
    let m = k + 1
    for (let j = from; j <= to; j++) {
      for (let c = tb.end[j - 1] as number; c < (tb.start[j] as number); c++)
        if (text0.charCodeAt(c) === 44) return false
      if (j === to) break
      while (m < r && (it.e[m] as number) <= j) m++
      if (m < r && (it.s[m] as number) <= j) {
        if (it.predOn[m] === 1) return false
      } else if (!(tb.kind[j] === WORD && ARTICLES.has(tb.id[j] as number))) return false
    }
    return true
  }

  /**
   * Whether the field is written in Title Case (1) or not (0), -1 until titleCase() has read it: every
   * word of four letters or more after the first (which has a capital either way) starts with a
   * capital, and there are two such words at least. Names alone do not make it so ("Germany, France
   * blast Trump over Group of Seven U-turn" has "blast").
   */
  let titleCaseField = -1

  /** See titleCaseField: one pass over the field's tokens, made only when a capital-only name is seen. */
  function titleCase(): boolean {
    if (titleCaseField < 0) {
      let words = 0
      titleCaseField = 1
      for (let j = 1; j < tb.count; j++) {
        if (tb.kind[j] !== WORD || (tb.end[j] as number) - (tb.start[j] as number) < 4) continue
        words++
        if (!isCapital(text0.charCodeAt(tb.start[j] as number))) {
          titleCaseField = 0
          break
        }
      }
      if (words < 2) titleCaseField = 0
    }
    return titleCaseField === 1
  }

  /**
   * Whether a capital-only name (CAPITALISED_NAMES) over tokens [from, to) is the name: written with a
   * capital, and in a Title Case field ("Upbeat Earnings Trump Trade Jitters", "Automakers Polish EV
   * Plans"), where every word has one, also where a verb could not stand: opening the field or a part
   * of it ("Trump Slaps Tariffs on China"), after a preposition, conjunction, auxiliary, modal or
   * "says" ("Stocks Slip as Trump Threatens Tariffs", "Offerings to Trump", "Will Trump Delay"), after
   * "Donald" or "President", or in the possessive ("Trump's Tariffs"). A verb "trump" follows its
   * subject, a noun.
   */
  function capitalisedName(from: number, to: number): boolean {
    if (!isCapital(text0.charCodeAt(tb.start[from] as number))) return false
    if (!titleCase() || from === 0 || tb.kind[from - 1] !== WORD) return true
    if ((wordFlagsAt(from - 1) & (W_PREP | W_AUX | W_MODAL)) !== 0) return true
    const after = tb.end[to - 1] as number
    const apostrophe = text0.charCodeAt(after)
    if ((apostrophe === 39 || apostrophe === 8217) && (text0.charCodeAt(after + 1) | 32) === 115) return true
    // Not all lexicon words, so read from the text.
    const before = text0.slice(tb.start[from - 1] as number, tb.end[from - 1] as number).toLowerCase()
    return NAME_LEAD_WORDS.has(before)
  }

  /** True when a preposition stands among tokens [from, to). */
  function prepBetween(from: number, to: number): boolean {
    for (let j = from; j < to; j++) if ((wordFlagsAt(j) & W_PREP) !== 0) return true
    return false
  }

  /**
   * True when a plain "not", not after a modal ("will not"), stands in the 3 tokens before `s`, in
   * the same clause.
   */
  function setAsideByNot(s: number): boolean {
    for (let j = s - 1; j >= 0 && j >= s - 3; j--) {
      if (tb.kind[j] === BREAK) return false
      if (tb.kind[j] !== WORD || tb.id[j] !== notId) continue
      return j === 0 || (wordFlagsAt(j - 1) & W_MODAL) === 0
    }
    return false
  }

  /** True when a cause preposition ("on", "over") stands among tokens [from, to). */
  function causeBefore(from: number, to: number): boolean {
    for (let j = from; j < to; j++) if ((wordFlagsAt(j) & W_CAUSE) !== 0) return true
    return false
  }

  /** Binds predicate item k to the nearest target in its clause (see RULES.bindWindowTokens). */
  function bindOne(k: number): void {
    const { idx: itIdx, s: itS, e: itE, clause: itClause, bound: itBound, target: itTarget } = it
    const window = RULES.bindWindowTokens
    const penalty = RULES.sidePenaltyTokens
    const pred = predAt(itIdx[k] as number)
    const clause = itClause[k]
    const s = itS[k] as number
    const end = itE[k] as number
    // "Strike halts production at Boeing": "strike" right before a verb in the -s form is the stoppage
    // that does it, no deal struck (the -s verb then takes its object in its own right).
    if (pred.id === 'progress' && STRIKE_WORDS.has(tb.id[s] as number) && verbRightAfter(k)) return
    // "tariffs are illegal" is a ruling only after a ruling word (see the ruled_illegal role).
    if (pred.id === 'ruled_illegal' && !wordAmong(0, s, RULING_WORDS)) return
    if (pred.id === 'harm' && levelHit(s, end)) {
      it.predOn[k] = 0
      return
    }
    // "pull liquor from shelves": shelves after a preposition are no verb of change ("from cuts to
    // tariffs" keeps its cuts: a noun of the same change).
    if (tb.id[s] === shelvesId && s > 0 && (wordFlagsAt(s - 1) & W_PREP) !== 0 && !wordBefore(s, toId)) {
      it.predOn[k] = 0
      return
    }
    // "U.S. reneges on deal reached in talks": a participle right after the object another verb took
    // ("reached in talks", "agreed last year") describes that object; it is no act of its own.
    if (
      k > 1 &&
      ((entInts[(itIdx[k] as number) << 4] as number) & F_PAST) !== 0 &&
      itE[k - 1] === s &&
      itBound[k - 1] === 1 &&
      it.predOn[k - 1] === 0 &&
      itTarget[k - 2] === k - 1 &&
      it.predOn[k - 2] === 1 &&
      // (Not after an act attempted: "plan to impose tariffs scrapped" undoes the plan; see markFailedAttempts.)
      !wordBefore(itS[k - 2] as number, toId)
    ) {
      it.predOn[k] = 0
      return
    }
    const shipWord = idIn(s, SHIP_WORDS)
    let left = -1
    let leftD = Number.POSITIVE_INFINITY
    for (let l = k - 1; l >= 0; l--) {
      if (itClause[l] !== clause) break
      const gap = s - (itE[l] as number)
      if (gap > window) break
      // "Export curbs hinge on Commerce review": a word in the terms does not reach back over a
      // condition word that makes them pending (CONDITIONS; not "tied to", after which "take effect"
      // is said of the measure) to what depends on them, which is read in its own right.
      if (
        conditionSeen &&
        ((entInts[(itIdx[l] as number) << 4] as number) & (F_CONDITION | F_CONDITION_NEAR)) === F_CONDITION
      )
        break
      // "Tariffs to remain until China meets demands": a verb after "until" is said in its own clause,
      // not of the measure before it.
      if (itIdx[l] === untilEntry) break
      // A port before a verb is taken only by acts that stop, start or harm it ("Montreal port reopens",
      // "port hit by strike"); before any other it is where the subject acts ("lorries using Dover port
      // raises fears", "port raises fees"), passed over as a plain word.
      // Nor is it shipped ("Cruise ship docks at port": the ship is no verb on the port).
      if (actedOnAt(l) && (!SUBJECT_ACTS.has(pred.id) || shipWord)) continue
      // "Trump Says Pharma Tariffs Coming Soon, Drugmakers Fall": a reported move after a comma is said
      // of what follows the comma (the market's reaction), not of a measure before it. The tokenizer
      // keeps such a comma between capitalised words in one clause (it may list names). Checked only at
      // a target the verb could take: a comma before one item is before every item further left.
      if (bindable(pred, l)) {
        if (!pred.policy && commaBetween(itE[l] as number, s)) break
        left = l
        leftD = gap + (pred.policy ? penalty : 0)
        break
      }
    }
    // "Shortage of chips eases", "Ban on chip exports lifted": the verb after a noun phrase is said of its
    // head, the trade or supply condition before the preposition, not of what that covers.
    if (left > 0 && itBound[left] === 0) {
      const h = headBeforePrep(pred, left, k)
      if (h === -2) {
        itBound[left] = 3
        left = -1
        leftD = Number.POSITIVE_INFINITY
      } else if (h >= 0) {
        itBound[left] = 3
        left = h
        leftD = s - (itE[h] as number) + (pred.policy ? penalty : 0)
      }
    }
    // "Capacitor shortage forces electronics makers to delay product launches": what a verb after "forces X
    // to" acts on is not the cause before "forces".
    if (left >= 0 && wordBefore(s, toId) && causativeBetween(itE[left] as number, s)) {
      left = -1
      leftD = Number.POSITIVE_INFINITY
    }
    // "COFCO buys U.S. wheat for first time since trade war began": what began after "since" is the time
    // of the news, not news of its own.
    if (left >= 0 && pred.id === 'resume' && wordIn(s, BEGAN_WORDS) && sinceBefore(itS[left] as number)) {
      left = -1
      leftD = Number.POSITIVE_INFINITY
    }
    // "cuts import tariffs on medical supplies": a word that is a noun as well as a verb, after a
    // preposition (at most two words of its phrase between), is that noun, which takes nothing before the
    // preposition ("supplies + import tariffs" had read more tariffs; "factor in U.S. ban" banned the row
    // before it). It may act on its own phrase ("talk of trade deal breakthrough") and on what follows
    // it ("exemption from soybean tariffs"). Not after "to", where it is the verb ("deal to supply chips").
    // So is a predicate in a noun's form ("has no plans to retaliate against U.S. GSP withdrawal"), but not
    // after "for", where it is what is planned for its subject ("tariffs slated for removal").
    const dualNoun = ((entInts[(itIdx[k] as number) << 4] as number) & F_TARGET) !== 0
    if (left >= 0 && (dualNoun || nounForm(k))) {
      const p = prepBefore(s)
      if (p >= 0 && (itE[left] as number) <= p && (dualNoun || tb.id[p] !== forId)) {
        left = -1
        leftD = Number.POSITIVE_INFINITY
      }
    }
    // "Safeguard duty is delaying solar projects", "China tariffs shut out top buyer", "tariffs cut U.S.
    // manufacturing employment": a verb with an object of its own after it, in the -ing form after an
    // auxiliary or in no past form right after the measure, is said by the measure, which does the
    // delaying ("tariff hike is delayed", "tariffs cut on 300 goods" and "tariffs lifted Friday" still
    // take it; a singular measure before a bare verb names a compound: "tariff drop a salve for traders").
    // After a verb in the present the object must start as a noun phrase does (NP_STARTS, a name, a place
    // or a target): "tariffs ease slightly", "duties fall ten percent" and "tariffs delay gives retailers
    // breathing room" still take the measure. A disruption likewise ("Protest blockades halt CN Rail's
    // network"), after a verb in the present only.
    // Only a measure: in "chip shortage is easing faster" the word after the verb is an adverb,
    // which the object check cannot tell from a noun. A verb of harm keeps it: its direction is its own,
    // and the measure that hurts is the news ("tariffs are hurting farmers").
    if (
      left >= 0 &&
      pred.fixed === 0 &&
      ((end - s === 1 && s > 0 && (wordFlagsAt(s - 1) & W_AUX) !== 0 && isMeasure(left) && endsInIng(s)) ||
        (itE[left] === s &&
          (isMeasure(left) || isDisruption(left)) &&
          !endsInIng(s) &&
          presentAfter(left, k) &&
          nounPhraseAt(k, end))) &&
      objectWordAt(end)
    ) {
      left = -1
      leftD = Number.POSITIVE_INFINITY
    }
    // "U.S. tariffs depend on Congress vote": a condition word (CONDITIONS) takes only its terms, on its
    // right; the noun phrase before it is what depends (see markConditions), read in its own right.
    if (left >= 0 && ((entInts[(itIdx[k] as number) << 4] as number) & F_CONDITION) !== 0) {
      left = -1
      leftD = Number.POSITIVE_INFINITY
    }
    // "vows to cut tariffs and open the economy": a verb right after "and" starts a second act; the
    // object the first verb took is not its subject.
    // Nor is it when the word right after "and" stands before a noun it describes ("trade war and
    // sagging prices").
    if (left >= 0 && wordBefore(s, andId) && (itBound[left] !== 0 || targetRightAfter(k))) {
      left = -1
      leftD = Number.POSITIVE_INFINITY
    }
    // "ends waivers allowing Samsung to ship tools": a participle of letting right after a noun, with
    // an object of its own, says what the noun allows; the noun is not what is allowed.
    if (left >= 0 && itE[left] === s && endsInIng(s) && objectWordAt(end) && wordIn(s, PERMIT_WORDS)) {
      left = -1
      leftD = Number.POSITIVE_INFINITY
    }
    // A bare deal or talks that a verb before it took as its object are not the subject of a verb
    // after them ("secures deal to open stores", "signs deal backing vaccine": the deal is secured,
    // it opens nothing).
    if (left >= 0 && targetAt(itIdx[left] as number).objectOnce && takerFromLeft(left, k) >= 0) {
      left = -1
      leftD = Number.POSITIVE_INFINITY
    }
    // "offers to buy more U.S. chips to cut trade surplus": a verb after "to" whose noun on the left
    // another verb took, with a word right after it to act on, is a purpose of the first act; the
    // noun taken is not its subject. Not after a verb of letting ("allows tariffs to end next year":
    // what is let is the subject).
    if (left >= 0 && wordBefore(s, toId) && objectWordAt(end)) {
      const taker = takerFromLeft(left, k)
      if (taker >= 0 && !wordIn(itS[taker] as number, PERMIT_WORDS)) {
        left = -1
        leftD = Number.POSITIVE_INFINITY
      }
    }
    // A participle is said of the noun right before it ("wants U.S. tariffs rolled back in the
    // deal") or, after "be", of its subject ("the tariff could be removed if a deal is reached");
    // otherwise it describes the noun after it ("revised tariff list").
    const participle = ((entInts[(itIdx[k] as number) << 4] as number) & F_PAST) !== 0
    const past = pred.policy && participle
    // "sanctions on delayed Russia-to-Germany gas pipeline": a participle right after a preposition
    // describes the noun after it; the noun before the preposition is not what it is said of. Not
    // after "in", which is mostly a particle ("tariffs set to kick in delayed"), nor with no word
    // after the participle for it to describe.
    if (
      left >= 0 &&
      participle &&
      s > 0 &&
      (wordFlagsAt(s - 1) & W_PREP) !== 0 &&
      !wordBefore(s, inId) &&
      end < tb.count &&
      tb.kind[end] === WORD
    ) {
      left = -1
      leftD = Number.POSITIVE_INFINITY
    }
    // "Tariffs on $200 billion of Chinese goods will be raised", "Sanctions on Russian aluminium giant
    // Rusal to be lifted": a participle after "be" is said of its clause's subject, the measure, relief
    // or truce named first, however much of what it covers stands between.
    // A measure in reach binds as it did ("Huawei ban to be lifted"), unless it is what the subject covers
    // ("Exemptions from steel tariffs to be scrapped").
    if (past && s > 0 && (wordFlagsAt(s - 1) & W_AUX) !== 0) {
      const l = measureSubject(pred, k)
      if (
        l >= 0 &&
        l !== left &&
        (left < 0 || !isMeasure(left) || (itS[left] as number) > (itE[l] as number))
      ) {
        if (left >= 0 && itBound[left] === 0) itBound[left] = 3
        left = l
        leftD = 0
      }
    }
    // "Exclusions from China tariffs allowed to expire": a relief named with the measure it spares after
    // "from" heads the phrase; the verb acts on the relief.
    if (left > 0 && isMeasure(left)) {
      const r = reliefBefore(left)
      if (r >= 0 && bindable(pred, r)) {
        if (itBound[left] === 0) itBound[left] = 3
        left = r
      }
    }
    const passive = past && left >= 0 && (itE[left] === s || (s > 0 && (wordFlagsAt(s - 1) & W_AUX) !== 0))
    // "tariffs on Chinese imports may be averted": a flow right after a measure names what the
    // measure covers, and the measure is what the verb acts on.
    if (left > 0 && targetAt(itIdx[left] as number).policyOnly) {
      for (let l = left - 1; l >= 0 && itClause[l] === clause && s - (itE[l] as number) <= window; l--) {
        if (!bindable(pred, l)) continue
        const m = targetAt(itIdx[l] as number)
        if (!m.policyOnly && m.polarity < 0 && m.tariff !== 0) {
          left = l
          leftD = s - (itE[l] as number) + (pred.policy ? penalty : 0)
        }
        break
      }
    }
    if (passive && left > 0 && !isMeasure(left)) {
      const l = measureHeading(pred, left, s)
      if (l >= 0) {
        // What the measure covers is bound with it (a dual word there is no verb of its own).
        if (itBound[left] === 0) itBound[left] = 3
        left = l
        leftD = s - (itE[l] as number) + (pred.policy ? penalty : 0)
      }
    }
    let right = -1
    let rightFirst = -1
    let rightD = Number.POSITIVE_INFINITY
    const leftTarget = left >= 0 ? targetAt(itIdx[left] as number) : null
    const tradeSubject = leftTarget !== null && (leftTarget.tariff !== 0 || leftTarget.frame)
    // "Growth curbed by tariffs", "exports may be stalled by no-deal Brexit": after a participle, "by"
    // names the agent that did the act, never what it was done to. (A verb of harm keeps it: "farmers
    // hit by tariffs" is harm done by the measure, which is the news.)
    const agentAfter = participle && pred.fixed === 0 && end < tb.count && tb.id[end] === byId
    for (let r = agentAfter ? items : k + 1; r < items; r++) {
      if (itClause[r] !== clause) break
      const gap = (itS[r] as number) - end
      if (gap > window) break
      // "ministers signal optimism Britain will avoid 'no-deal Brexit'": a verb after a modal, with its
      // subject between the two verbs, heads a clause of its own; what follows it is its object.
      if (it.predOn[r] === 1 && modalClauseAt(end, itS[r] as number)) break
      // "shares slump on Brexit fears", "stocks ease on the trade deal": after a reported move,
      // "on"/"over" introduces its cause, which the move does not act on.
      if (!pred.policy && causeBefore(end, itS[r] as number)) break
      // "tariffs could be dropped if talks go well": what follows "if" is the condition, not the object.
      if (wordBetween(end, itS[r] as number, ifId)) break
      // A purpose clause ("buys more U.S. goods to avert tariffs"): what follows "to <verb>" is
      // that verb's to take. (Coping reaches through it: "rush to beat the levies" copes with them.)
      if (
        pred.kind !== 'cope' &&
        it.predOn[r] === 1 &&
        wordBefore(itS[r] as number, toId) &&
        !bindable(pred, r) &&
        // "a halt to new tariffs": a noun followed by "to" and a word right before its noun opens
        // no purpose clause ("pressure on Congress to approve the deal" still does).
        !(itS[r] === end + 1 && targetRightAfter(r))
      )
        break
      // So is a verb-and-noun after "to" with its object right after it ("introduces bill to ban imports of
      // Chinese-made drones": the bill bans; the verbs-and-nouns are not yet read as verbs here).
      if (
        pred.kind !== 'cope' &&
        (itS[r] as number) > end + 1 &&
        ((entInts[(itIdx[r] as number) << 4] as number) & (F_PRED | F_TARGET)) === (F_PRED | F_TARGET) &&
        wordBefore(itS[r] as number, toId) &&
        targetRightAfter(r)
      )
        break
      // "stops buying U.S. LNG in a trade spat": the contest is where the act happens, not its object.
      // (Also past words the lexicon does not name: "cancels U.S. cargoes in tariff dispute".)
      if ((r > k + 1 || (itS[r] as number) - end > 2) && isAfterSetting(itS[r] as number) && isContest(r))
        break
      // "Tariffs on steel lifted under new deal", "halved under phase one deal": what stands after
      // "under" is the frame the act is done in, not its object, which a verb of less would undo (a
      // deal lifted: talks broken down). A verb of more keeps it ("ramp up buys under trade deal": on
      // the streams, dropping the deal there cost more readings than it mended).
      if (pred.sign < 0 && wordBetween(end, itS[r] as number, underId)) break
      // So is a deal or talks after "in" and a cut named as a noun ("Swiss win reduction to 15% in trade
      // deal": the reduction is won in the deal, which it does not cut; "progress stalls in trade talks"
      // still stalls them).
      if (
        pred.sign < 0 &&
        nounForm(k) &&
        wordBetween(end, itS[r] as number, inId) &&
        ((entInts[(itIdx[r] as number) << 4] as number) & F_TARGET) !== 0 &&
        targetAt(itIdx[r] as number).events.less === 'talks_breakdown'
      )
        break
      // "grants automakers relief on tariffs": what is granted is the relief, which acts on the measure
      // in its own right; the grant does not reach past it (granting tariffs would raise them).
      if (pred.id === 'grant' && reliefNoun(r)) break
      if (shipWord && actedOnAt(r)) continue
      // Nor is a port what one goes to ("Cruise ships return to Vancouver port").
      if (actedOnAt(r) && wordBetween(end, itS[r] as number, toId)) continue
      if (bindable(pred, r)) {
        right = r
        rightFirst = r
        // After a trade subject, an amount between the verb and its object is the act's size, not
        // distance ("trade uncertainty to trim USD 850 billion of global output" acts on the output).
        rightD = gap - (tradeSubject ? amountTokens(end, itS[r] as number) : 0) + (pred.policy ? 0 : penalty)
        // "suspends gallium and germanium export ban", "gallium, germanium and antimony export ban": inputs
        // joined by "and" or a listing comma right before a measure name what it covers, as one input does
        // ("suspends gallium export ban"); the measure heads them.
        {
          let last = right
          while (
            last + 1 < items &&
            itClause[last + 1] === clause &&
            itS[last + 1] === (itE[last] as number) + 1 &&
            (tb.id[itE[last] as number] === andId ||
              text0.charCodeAt(tb.start[itE[last] as number] as number) === 44) &&
            inputOnly(last) &&
            inputOnly(last + 1) &&
            bindable(pred, last + 1)
          )
            last++
          if (last > right && last + 1 < items && itS[last + 1] === itE[last] && isMeasure(last + 1))
            right = last
        }
        // A trade noun compound is headed by its last noun ("ends Iran oil sanction waivers" ends
        // the waivers): the verb takes the head, and the nouns before it only name what it covers.
        // A supply condition after an input likewise ("eases rare earth shortage": the shortage eases).
        // So is one with a plain noun inside ("scales back chip tool curbs"): a measure one plain word on
        // from a noun that names no act when bare (a good, not a relief: "extends tariff pause citing").
        // And a frame right after a trade or supply target ("easing chip supply worries", "stokes trade
        // deal fears"): the verb moves the worry or the hope, which passes it on (see emit). Not a frame
        // word that is itself the verb, an object after it ("Cut in Russian gas supply worries German industry").
        while (
          right + 1 < items &&
          itClause[right + 1] === clause &&
          (itS[right + 1] === itE[right] || itS[right + 1] === (itE[right] as number) + 1) &&
          bindable(pred, right + 1) &&
          (targetAt(itIdx[right + 1] as number).tariff !== 0 ||
            (itS[right + 1] === itE[right] &&
              targetAt(itIdx[right + 1] as number).frame &&
              !objectWordAt(itE[right + 1] as number) &&
              (targetAt(itIdx[right] as number).tariff !== 0 ||
                targetAt(itIdx[right] as number).supply !== 0)) ||
            (itS[right + 1] === itE[right] &&
              targetAt(itIdx[right] as number).supply !== 0 &&
              targetAt(itIdx[right] as number).bare === 0 &&
              targetAt(itIdx[right + 1] as number).supply !== 0 &&
              targetAt(itIdx[right + 1] as number).polarity !== 0)) &&
          (itS[right + 1] === itE[right] ||
            (targetAt(itIdx[right + 1] as number).polarity < 0 &&
              targetAt(itIdx[right] as number).bare === 0 &&
              !endsInIng(itE[right] as number) &&
              plainWordBetween(itE[right] as number, itS[right + 1] as number)))
        )
          right++
        if (right + 1 < items) right = headAfter(pred, right)
        break
      }
    }
    // "quashes appeal against steel tariffs": what a court annuls is the case named first, not the measure
    // it is about ("voids most of Trump's tariffs" annuls them).
    if (pred.id === 'void' && right >= 0 && litigationBetween(end, itS[rightFirst] as number)) {
      right = -1
      rightFirst = -1
      rightD = Number.POSITIVE_INFINITY
    }
    // The noun on the left is not this word's to take:
    // - "trade fears sink global shares", "trade uncertainty to trim global output": a verb of a move
    //   between a trade subject and a quantity of the market or the economy right after it is said
    //   of that quantity; the subject is its cause, named in its own right;
    // - "trade worries dampen upbeat earnings": a word right before its noun, with a verb between it
    //   and the noun on its left, describes the noun after it; the verb has the one before. A word of
    //   stance there is an adjective whatever comes between ("worries overshadow upbeat earnings");
    // - "truce lifts exporters' mood", "truce removes a major drag on growth": a good thing on the left of a
    //   verb of less in -s or -ed with an object right after it (no trade target there) is its subject,
    //   which acts; it is not taken away (goodSubjectActing).
    if (
      left >= 0 &&
      ((right >= 0 &&
        pred.fixed === 0 &&
        !participle &&
        subjectOf(left, k) &&
        (right === k + 1 || rightD - (pred.policy ? 0 : penalty) <= 1) &&
        causedQuantity(left, right)) ||
        (targetRightAfter(k) && (pred.kind === 'stance' || predBetween(left, k))) ||
        (!participle && namedObjectAfter(pred, left, k, right)) ||
        goodSubjectActing(pred, left, k, right))
    ) {
      left = -1
      leftD = Number.POSITIVE_INFINITY
    }
    // "order postponing the higher tariffs": an article right after the verb opens its object, which
    // it takes over the noun on its left (a measure's adjective between them left the object further).
    if (left >= 0 && right >= 0 && !passive && end < tb.count && idIn(end, ARTICLES)) {
      left = -1
      leftD = Number.POSITIVE_INFINITY
    }
    let t = -1
    // An act in the present tense has its subject on the left and its object on the right
    // ("trade war ends the jobs promise"): it takes the object when there is one.
    const presentS = ((entInts[(itIdx[k] as number) << 4] as number) & F_PRESENT_S) !== 0
    const active = pred.policy && presentS
    // So does a reported move in the -s or -ed form with a noun phrase right after it: its object
    // ("tariff relief eases trade war fears", "deal eases U.S.-China trade worries", "truce eased
    // tensions") or the noun it describes ("eased curbs"), which is what moves, not the subject on the
    // left (as in "trade tensions ease"). Not the -ing form: on the streams that moved a dozen
    // readings, some for the worse ("or risk losing license").
    const transitive =
      right >= 0 &&
      objectRightAfter(k, rightFirst) &&
      (presentS || participle || measureActsOn(pred, left, k, right))
    // "Port strike shuts terminals", "magnet shortage halts car lines": a disruption right before a verb
    // of stopping in the -s form, with words after it, is its subject and does the stopping; taken on
    // the left, the strike itself was stopped (supply restored). It is said of the disruption as a
    // participle ("strike halted") or with nothing after it ("strike halts").
    if (
      presentS &&
      left >= 0 &&
      (pred.id === 'halt' || pred.id === 'pause') &&
      (subjectOf(left, k) || (left === k - 1 && s - (itE[left] as number) <= 3)) &&
      isDisruption(left) &&
      objectWordAt(end)
    ) {
      left = -1
      leftD = Number.POSITIVE_INFINITY
    }
    if (pred.objectOnly && right < 0 && !passive) t = -1
    // (An end put to what follows takes it over a nearer noun before it: "orders end to Hong Kong's special
    // trade status".)
    else if (pred.id === 'end_to' && right >= 0) t = right
    else if (passive) t = left
    else if ((active || past || transitive) && right >= 0) t = right
    // "signs order easing auto tariffs": an act in -ing right after a noun of business (orders, sales)
    // describes it by what it does to the trade or supply target after it, which it takes.
    else if (
      right >= 0 &&
      left === k - 1 &&
      itE[left] === s &&
      endsInIng(s) &&
      businessOnly(left) &&
      (targetAt(itIdx[right] as number).tariff !== 0 || targetAt(itIdx[right] as number).supply !== 0)
    )
      t = right
    else if (left >= 0 && (right < 0 || leftD < rightD || (leftD === rightD && !pred.policy))) t = left
    else if (right >= 0) t = right
    // "China adds lithium battery technology to export control list", "removes graphite from export control
    // list": goods put on or taken off a measure's list are what the list covers; the verb adds to the list
    // or takes from it (with goods that are no target it already took the list).
    if (t >= 0 && t === right && !isMeasure(t) && (pred.id === 'raise' || pred.id === 'remove')) {
      const m = listAfter(k, t)
      if (m >= 0) {
        for (let q = rightFirst; q < m; q++) if (itBound[q] === 0) itBound[q] = 3
        t = m
        right = m
        rightFirst = m
      }
    }
    // "exempts semiconductors from reciprocal tariffs", "spares Brazilian orange juice, aircraft from the
    // 50% tariff": relief names what it spares, then the measure after "from", which is what it undoes.
    // So does taking goods off a measure's list ("removes smart watches, car seats from tariff list"),
    // when the goods are no target ("ending exemptions from oil sanctions" ends the exemptions).
    // Said of the goods before it, as a participle ("Smartphones, computers and chips exempted from
    // reciprocal tariffs"), it undoes the measure after "from" just the same: the goods are spared.
    if (
      (pred.id === 'exempt' &&
        (t < 0 || (t === right && !isMeasure(t)) || (t === left && passive && !isMeasure(t)))) ||
      (pred.id === 'remove' && t < 0)
    ) {
      const m = measureAfterFrom(k, Math.max(k, t))
      if (m >= 0) {
        t = m
        right = m
        rightFirst = m
      }
    }
    // "agree to a ceasefire in the trade war": a contest after "in" right after the object is where
    // the act happens, bound with it rather than read as more of the contest.
    if (
      t >= 0 &&
      t + 1 < items &&
      itBound[t + 1] === 0 &&
      isTruce(t) &&
      isContest(t + 1) &&
      itClause[t + 1] === clause
    ) {
      const c = itS[t + 1] as number
      // (Names the lexicon does not know may stand between: "truce in Airbus-Boeing tariff row".)
      if (wordBetween(itE[t] as number, c, inId) && c - (itE[t] as number) <= 4) itBound[t + 1] = 3
    }
    // "keep Umm Qasr port closed", "keeps plants shut": the participle right after the object is the state
    // kept, which acts on it in its own right; keeping only holds it so.
    if (t >= 0 && t === right && pred.id === 'persist' && stateAfter(t)) t = -1
    // "put the trade war on hold": the phrase after the object is the act; putting only places it.
    if (t >= 0 && t === right && pred.kind === 'impose' && pausedAfter(t)) t = -1
    // "as Chilean mine workers strike": "strike" strikes only what follows it ("strike trade deal"); what
    // stands before it is where the strikers work, no deal struck there.
    if (t >= 0 && t < k && pred.id === 'progress' && STRIKE_WORDS.has(tb.id[s] as number)) t = -1
    if (t >= 0) {
      itTarget[k] = t
      itBound[t] = 1
      // A participle right before its noun describes it ("the signed deal", "stalled talks"):
      // a state, weaker news than an act.
      if (participle && t === right && itS[rightFirst] === end && !afterPerfect(s))
        it.intens[k] = (it.intens[k] as number) * RULES.attributiveWeight
      // The nouns of the compound before a head taken on the right are bound with it.
      if (t === right) for (let m = rightFirst; m < t; m++) if (itBound[m] === 0) itBound[m] = 3
      if (pred.kind === 'cope' || deniedHold(pred, k, t) || avoidedByMaking(pred, k)) it.held[t] = k + 1
      // "new export rules less restrictive than feared": the measure compared with what was expected is
      // read by the comparison alone ("new" was part of what was expected).
      else if (COMPARED_PREDS.has(pred.id)) it.held[t] = k + 1
    }
    // "tariffs have not hurt its margins": a denied harm also holds the measure that is its subject.
    if (left >= 0 && left !== t && itBound[left] === 0 && deniedHold(pred, k, left)) {
      itBound[left] = 1
      it.held[left] = k + 1
    }
  }

  /**
   * "Sanctions expected to prevent Rusal from servicing debt", "tariffs stop Huawei from buying": a
   * verb that undoes (remove, halt) right after a measure, or a hedge or "to" after it, and followed
   * by a name it takes as its object (or anyone it keeps "from" something), has the measure as its
   * subject, which it does not undo.
   */
  /** See bindOne: a deal or truce on the left acting on an object of its own. */
  function goodSubjectActing(pred: PredRole, left: number, k: number, right: number): boolean {
    // (Not the verbs of cut, "ease", "stall": "trade deal stalled because of Hong Kong legislation".)
    if (right >= 0 || pred.kind !== 'less' || pred.fixed !== 0) return false
    if (((entInts[(it.idx[k] as number) << 4] as number) & (F_PRESENT_S | F_PAST)) === 0) return false
    // A deal or truce with some weight as trade's topic (a truce, a trade deal; not a bare "deal",
    // "ceasefire deal ends fighting in Gaza"), and not a flow of goods ("production stopped due to a
    // strike") nor a hope.
    const x = it.idx[left] as number
    const subject = targetAt(x)
    if (subject.polarity <= 0 || subject.tariff === 0 || subject.supply !== 0 || subject.frame) return false
    if ((entData[(x << 3) + E_TOPIC_T] as number) < 0.4) return false
    const j = it.e[k] as number
    if (!objectWordAt(j)) return false
    const start = tb.start[j] as number
    // A date is when ("truce ends Friday"), not what.
    return !DATE_WORDS.has(text0.slice(start, tb.end[j] as number).toLowerCase())
  }

  function namedObjectAfter(pred: PredRole, left: number, k: number, right: number): boolean {
    if (pred.kind !== 'less' || pred.fixed !== 0 || !pred.policy) return false
    const subject = targetAt(it.idx[left] as number)
    if (subject.polarity >= 0 || subject.tariff === 0 || subject.policyOnly) return false
    // Only a hedge ("expected to"), a modal or "to" between: "Sanctions-hit Deripaska quits"
    // has its own subject.
    for (let j = it.e[left] as number; j < (it.s[k] as number); j++) {
      let covered = j - (it.e[left] as number) < 2 && (tb.id[j] === toId || (wordFlagsAt(j) & W_MODAL) !== 0)
      for (let m = left + 1; m < k && !covered; m++)
        covered = (it.s[m] as number) <= j && j < (it.e[m] as number)
      if (!covered) return false
    }
    const j = it.e[k] as number
    if (j >= tb.count || tb.kind[j] !== WORD) return false
    // A trade word there is what the verb acts on in its own right ("sanctions end trade talks").
    if (
      k + 1 < items &&
      it.s[k + 1] === j &&
      ((entInts[(it.idx[k + 1] as number) << 4] as number) & F_TARGET) !== 0
    )
      return false
    // Whom the verb keeps from something ("safeguards to prevent drivers from sleeping"); what
    // follows "from" is another verb's.
    for (let q = j + 1; q <= j + 3 && q < tb.count && tb.kind[q] === WORD; q++)
      if (tb.id[q] === fromId) return true
    if (right >= 0) return false
    const start = tb.start[j] as number
    const c = text0.charCodeAt(start)
    // A date is when ("sanctions end Monday"), not whom.
    return c >= 65 && c <= 90 && !DATE_WORDS.has(text0.slice(start, tb.end[j] as number).toLowerCase())
  }

  /** True when the item right after item t is a pause said of it ("tariffs on hold"). */
  function pausedAfter(t: number): boolean {
    // Right after the object, or after what it is with or against ("puts WTO dispute with Tokyo on hold").
    let p = t + 1
    while (p < items && it.predOn[p] !== 1 && (it.s[p] as number) - (it.e[t] as number) <= 3) p++
    if (p >= items || it.predOn[p] !== 1) return false
    const from = it.e[t] as number
    const gap = (it.s[p] as number) - from
    if (gap !== 0) {
      if (gap > 3 || (wordFlagsAt(from) & W_PREP) === 0) return false
      for (let j = from; j < (it.s[p] as number); j++) if (tb.kind[j] === BREAK) return false
    }
    const x = it.idx[p] as number
    return ((entInts[x << 4] as number) & F_PRED) !== 0 && predAt(x).kind === 'pause'
  }

  /** True when an item strictly between items a and b is a predicate. */
  function predBetween(a: number, b: number): boolean {
    for (let m = a + 1; m < b; m++) if (it.predOn[m] === 1) return true
    return false
  }

  /** How many tokens of [from, to) are numbers or unit words ("850", "billion", "pct"). */
  function amountTokens(from: number, to: number): number {
    let n = 0
    for (let j = from; j < to; j++) if (tb.kind[j] === NUMBER || (wordFlagsAt(j) & W_UNIT) !== 0) n++
    return n
  }

  /**
   * "Tariffs slow exports", "export curbs ease chip imports": a measure right before a reported move in
   * the base form, with a flow right after the verb, is the verb's subject, and the verb acts on the flow
   * (as the -s form does: "Tariff slows exports"); taken on the left, the measure itself was slowed, a
   * cut. A measure or a fear of one ("trade fears slow exports"), no contest ("tensions heighten trade
   * deal worries" keeps its reading), and only a flow that more of is good (no measure in its turn).
   */
  function measureActsOn(pred: PredRole, l: number, k: number, r: number): boolean {
    if (pred.policy || l < 0 || !subjectOf(l, k)) return false
    if (((entInts[(it.idx[k] as number) << 4] as number) & F_PAST) !== 0) return false
    const a = targetAt(it.idx[l] as number)
    const b = targetAt(it.idx[r] as number)
    return a.polarity < 0 && a.tariff !== 0 && !a.contest && !a.policyOnly && b.polarity > 0 && !b.frame
  }

  /** True when one of `ids` is a word among tokens [from, to). */
  function wordAmong(from: number, to: number, ids: ReadonlySet<number>): boolean {
    for (let j = from; j < to; j++) if (tb.kind[j] === WORD && ids.has(tb.id[j] as number)) return true
    return false
  }

  /** True when a comma stands between token `from - 1` and token `to` (from <= to). */
  function commaBetween(from: number, to: number): boolean {
    let commas = 0
    for (let c = tb.end[from - 1] as number; c < (tb.start[to] as number); c++)
      if (text0.charCodeAt(c) === 44) commas++
    // (Not one in a list of goods: "Export curbs on rice, sugar eased".)
    for (let j = from; commas > 0 && j < to; j++) if (tb.kind[j] !== WORD && goodsListComma(j)) commas--
    return commas > 0
  }

  /** Item r is a relief noun acting as a predicate ("relief", "exemptions": see the exempt_noun role). */
  function reliefNoun(r: number): boolean {
    const x = it.idx[r] as number
    return (
      it.predOn[r] === 1 && ((entInts[x << 4] as number) & F_PRED) !== 0 && predAt(x).id === 'exempt_noun'
    )
  }

  /**
   * Token j may open the object of a verb before it: a word that is no preposition, conjunction or
   * adverb of time ("Port strike halts for a week", "strike pauses while union votes", "halts again").
   */
  /** Item k is right after a name that is no target or predicate (a region: "U.S. tariffs"). */
  function namedOwner(k: number): boolean {
    if (k === 0 || it.e[k - 1] !== it.s[k]) return false
    const f = entInts[(it.idx[k - 1] as number) << 4] as number
    return (f & F_ENTITY) !== 0 && (f & (F_TARGET | F_PRED)) === 0
  }

  /** The item right after item k, with no word between, is relief ("tariff exclusion", "duty exemption"). */
  function reliefRightAfter(k: number): boolean {
    if (k + 1 >= items || it.s[k + 1] !== it.e[k]) return false
    const x = it.idx[k + 1] as number
    return ((entInts[x << 4] as number) & F_TARGET) !== 0 && targetAt(x).polarity > 0
  }

  /** True when a word of a case at law (appeal, lawsuit, ruling...) stands among tokens [from, to). */
  function litigationBetween(from: number, to: number): boolean {
    for (let j = from; j < to; j++) if (tb.kind[j] === WORD && wordIn(j, LITIGATION_WORDS)) return true
    return false
  }

  /**
   * Token j's text, in lower case, is one of `words` (grouped by length: see byLength). Compared
   * character by character: no string is built, so it may run at every comma or predicate.
   *
   * The first two characters are looked at first, case-folded in tb.chars (which folds what the compare
   * below folds, and Latin-1 capitals too, which are no a-z either way: the classes agree): a token
   * they rule out could match no word of the list.
   */
  function wordIn(j: number, words: WordsByLength): boolean {
    const start = tb.start[j] as number
    const len = (tb.end[j] as number) - start
    // (Not `len >= limit`: a token past the buffer reads undefined, and NaN must say no too.)
    if (!(len > 0 && len < words.limit)) return false
    const chars = tb.chars
    const seconds = words.seconds[len * 27 + charClass(chars[start] as number)] as number
    if (seconds === 0) return false
    if (len > 1 && (seconds & (1 << charClass(chars[start + 1] as number))) === 0) return false
    next: for (const w of words.byLen[len] as readonly string[]) {
      for (let i = 0; i < w.length; i++) {
        let c = text0.charCodeAt(start + i)
        if (c >= 65 && c <= 90) c += 32
        if (c !== w.charCodeAt(i)) continue next
      }
      return true
    }
    return false
  }

  function objectWordAt(j: number): boolean {
    if (j >= tb.count || tb.kind[j] !== WORD || (wordFlagsAt(j) & (W_PREP | W_AUX | W_MODAL)) !== 0)
      return false
    // By its text: most of these words are in no lexicon phrase, so they have no vocabulary id.
    return !NOT_OBJECT_WORDS.has(text0.slice(tb.start[j] as number, tb.end[j] as number).toLowerCase())
  }

  /**
   * The preposition (not "to") that token j follows, at most two words of its phrase between: its token,
   * or -1 (see bindOne).
   */
  function prepBefore(j: number): number {
    for (let i = j - 1; i >= 0 && i >= j - 3; i--) {
      if (tb.kind[i] !== WORD) return -1
      const flags = wordFlagsAt(i)
      if ((flags & W_PREP) !== 0) return tb.id[i] === toId ? -1 : i
      if ((flags & (W_AUX | W_MODAL)) !== 0) return -1
    }
    return -1
  }

  /**
   * Predicate k right after item l reads as a verb in the present said by it: in the -s form, or bare
   * after a plural ("tariffs cut", not "tariff drop"); never in a past form (see bindOne).
   */
  function presentAfter(l: number, k: number): boolean {
    const f = entInts[(it.idx[k] as number) << 4] as number
    if ((f & F_PAST) !== 0) return false
    if ((f & F_PRESENT_S) !== 0) return true
    const last = (tb.end[(it.e[l] as number) - 1] as number) - 1
    return text0.charCodeAt(last) === 115 || text0.charCodeAt(last) === 83
  }

  /**
   * Token j, right after predicate k, starts a noun phrase: a determiner or a word that mostly opens an
   * object (NP_STARTS), or an item that names something (a target or an entity) (see bindOne).
   */
  function nounPhraseAt(k: number, j0: number): boolean {
    // (Past a particle of the verb: "shut out top buyer".)
    const j = j0 < tb.count && tb.kind[j0] === WORD && wordIn(j0, PARTICLES) ? j0 + 1 : j0
    if (j >= tb.count || tb.kind[j] !== WORD) return false
    if (wordIn(j, NP_STARTS)) return true
    // A name the lexicon does not know, written with its capital in a field that is not in Title Case
    // ("Chip export curbs sink Nvidia").
    if ((tb.id[j] as number) < 0 && isCapital(text0.charCodeAt(tb.start[j] as number)) && !titleCase())
      return true
    const m = k + 1
    return (
      m < items &&
      (it.s[m] as number) === j &&
      ((entInts[(it.idx[m] as number) << 4] as number) & (F_TARGET | F_ENTITY)) !== 0 &&
      ((entInts[(it.idx[m] as number) << 4] as number) & F_PRED) === 0
    )
  }

  /** A causative verb (CAUSATIVES) among tokens [from, to). */
  function causativeBetween(from: number, to: number): boolean {
    for (let j = from; j < to; j++) if (tb.kind[j] === WORD && wordIn(j, CAUSATIVES)) return true
    return false
  }

  /** "since" within the two words before token j ("since trade war began", "since the curbs began"). */
  function sinceBefore(j: number): boolean {
    for (let i = j - 1; i >= 0 && i >= j - 2; i--)
      if (tb.kind[i] === WORD && wordIn(i, SINCE_WORDS)) return true
    return false
  }

  /** A word of NOT_SUPPLY_STRIKES in the field, or "on" at token `after` (see matchField). */
  function notSupplyStrike(after: number): boolean {
    if (after < tb.count && tb.id[after] === onId) return true
    for (let j = 0; j < tb.count; j++) if (tb.kind[j] === WORD && wordIn(j, NOT_SUPPLY_STRIKES)) return true
    return false
  }

  /** Item t is a truce (its bare event is one): a ceasefire, a detente, a thaw. */
  function isTruce(t: number): boolean {
    const x = it.idx[t] as number
    return ((entInts[x << 4] as number) & F_TARGET) !== 0 && targetAt(x).events.bare === 'truce'
  }

  /** Item l is a disruption of supply: a shortage, a strike, congestion (no trade measure). */
  function isDisruption(l: number): boolean {
    const a = targetAt(it.idx[l] as number)
    return a.polarity < 0 && a.supply !== 0 && a.tariff === 0
  }

  /** The item right after predicate item k is a predicate in the -s form, with no word between. */
  function verbRightAfter(k: number): boolean {
    const n = k + 1
    return (
      n < items &&
      it.s[n] === it.e[k] &&
      it.predOn[n] === 1 &&
      ((entInts[(it.idx[n] as number) << 4] as number) & F_PRESENT_S) !== 0
    )
  }

  /**
   * The trade measure after "from" that relief predicate item k reaches past what it took (item
   * `after`): within twice the binding window, with no other predicate between, or -1. Across the
   * commas of a list of what is spared ("exempts smartphones, computers from tariffs"), which end a
   * clause for the tokenizer.
   */
  function measureAfterFrom(k: number, after: number): number {
    const end = it.e[k] as number
    for (let r = after + 1; r < items; r++) {
      if ((it.s[r] as number) - end > 2 * RULES.bindWindowTokens) break
      const x = it.idx[r] as number
      // An adjective of its measure is passed over ("exempts pork and soybeans from extra tariffs",
      // "from new 50% tariff").
      if (it.predOn[r] === 1 && ((entInts[x << 4] as number) & F_PRED) !== 0 && !adjectiveOf(r)) break
      if (((entInts[x << 4] as number) & F_TARGET) === 0) continue
      if (isMeasure(r) && wordBetween(it.e[after] as number, it.s[r] as number, fromId)) return r
    }
    return -1
  }

  /**
   * The item of a measure's list (entity list, export control list, blacklist) after item `after`, with
   * "to", "on", "from" or "off" before it and no act between, or -1 (see bindOne).
   */
  function listAfter(k: number, after: number): number {
    const end = it.e[k] as number
    for (let r = after + 1; r < items && it.clause[r] === it.clause[k]; r++) {
      if ((it.s[r] as number) - end > 2 * RULES.bindWindowTokens) break
      const x = it.idx[r] as number
      if (it.predOn[r] === 1 && ((entInts[x << 4] as number) & F_PRED) !== 0) break
      if (!isMeasure(r)) continue
      if (!(colKey[x] as string).endsWith('list') && !(colKey[x] as string).endsWith('lists')) return -1
      for (let j = it.e[after] as number; j < (it.s[r] as number); j++)
        if (tb.kind[j] === WORD && wordIn(j, LIST_LINKS)) return r
      return -1
    }
    return -1
  }

  /**
   * Item m stands right before the next target, with at most an amount between (or one word, for a
   * word of more): an adjective of its noun ("new 50% tariff", "new steel duties").
   */
  function adjectiveOf(m: number): boolean {
    // The next target, past names that are neither targets nor predicates ("new steel duties").
    // (A few tokens at most, so that the look stays constant in the field's length.)
    let q = m + 1
    while (
      q < items &&
      (it.s[q] as number) - (it.e[m] as number) <= ADJECTIVE_REACH &&
      ((entInts[(it.idx[q] as number) << 4] as number) & (F_TARGET | F_PRED)) === 0
    )
      q++
    if (q >= items || ((entInts[(it.idx[q] as number) << 4] as number) & F_TARGET) === 0) return false
    const gap = (it.s[q] as number) - (it.e[m] as number) - amountTokens(it.e[m] as number, it.s[q] as number)
    // A word of more that only takes what follows ("new", "extra") may have a noun between; an adjective
    // of more, a plain word of the noun phrase ("pauses higher reciprocal tariffs").
    const p = predAt(it.idx[m] as number)
    if (gap === 0) return true
    if (gap !== 1 || p.kind !== 'more') return false
    if (p.objectOnly) return true
    // (One word, no verb form: "higher", not "raises", "plans to".)
    const f = entInts[(it.idx[m] as number) << 4] as number
    return (
      (it.e[m] as number) - (it.s[m] as number) === 1 &&
      (f & (F_PRESENT_S | F_PAST)) === 0 &&
      !endsInIng(it.s[m] as number) &&
      plainWordBetween(it.e[m] as number, it.s[q] as number)
    )
  }

  /**
   * "resume talks on export curbs", "talks over tariffs collapse": a measure named after talks or a
   * deal and "on", "over" or "about" is what they are about. It is neither news of itself nor the
   * object of a verb outside the phrase (bound = 3: no bare weight, and bindable takes it not).
   */
  function markTalkTopics(): void {
    for (let k = 1; k < items; k++) {
      if (it.bound[k] !== 0 || it.predOn[k] !== 0 || !isMeasure(k) || it.clause[k - 1] !== it.clause[k])
        continue
      const px = it.idx[k - 1] as number
      if (((entInts[px << 4] as number) & F_TARGET) === 0 || targetAt(px).events.less !== 'talks_breakdown')
        continue
      const j = it.e[k - 1] as number
      // Up to two plain words between, which describe the measure ("talks on global digital tax").
      const gap = (it.s[k] as number) - (j + 1)
      let plain = gap <= 2
      for (let q = j + 1; plain && q < (it.s[k] as number); q++)
        plain = tb.kind[q] === WORD && (wordFlagsAt(q) & (W_PREP | W_AUX | W_MODAL)) === 0
      if (plain && tb.kind[j] === WORD && TOPIC_WORDS.has(tb.id[j] as number)) it.bound[k] = 3
    }
  }

  /**
   * "Yuan hits three-month high on trade deal hopes", "hits strongest in months": "hit" before a level,
   * the head of its phrase (not "peak season"), is a level reached, not a blow to what follows.
   */
  function levelHit(s: number, end: number): boolean {
    if (tb.id[s] !== hitId && tb.id[s] !== hitsId) return false
    for (let q = end; q < end + 3 && q < tb.count; q++) {
      const head = q + 1 >= tb.count || tb.kind[q + 1] !== WORD || !objectWordAt(q + 1)
      if (tb.kind[q] === WORD && head && wordIn(q, LEVEL_WORDS)) return true
    }
    return false
  }

  /**
   * "Tariffs on Chinese medical supplies lifted": a participle said of a noun phrase headed by a measure
   * is said of the measure, not of what it covers after "on" (goods that are also supplies). The measure
   * item, or -1.
   */
  function measureHeading(pred: PredRole, left: number, s: number): number {
    const clause = it.clause[left]
    for (
      let l = left - 1;
      l >= 0 && it.clause[l] === clause && s - (it.e[l] as number) <= RULES.bindWindowTokens;
      l--
    ) {
      if (!bindable(pred, l)) continue
      // Past goods listed before it ("Tariffs on Chinese laptops, phones delayed").
      if (!isMeasure(l) && it.e[l] === (it.s[l + 1] as number) - 1 && goodsListComma(it.e[l] as number))
        continue
      return isMeasure(l) && wordBetween(it.e[l] as number, it.s[left] as number, onId) ? l : -1
    }
    return -1
  }

  /**
   * The head of the phrase a verb takes at item `right`, further on: through a list of goods to the
   * measure after it ("lifts steel, aluminum tariffs"), or a contest one name on ("backs down in NAFTA
   * dairy dispute"; not past a plain word: "extends tariff pause citing trade war").
   */
  function headAfter(pred: PredRole, right: number): number {
    const clause = it.clause[right]
    while (
      right + 2 < items &&
      it.s[right + 1] === (it.e[right] as number) + 1 &&
      goodsListComma(it.e[right] as number) &&
      it.s[right + 2] === it.e[right + 1] &&
      it.clause[right + 2] === clause &&
      bindable(pred, right + 2) &&
      targetAt(it.idx[right + 2] as number).tariff !== 0
    )
      right += 2
    let h = right + 1
    // (a name there is no target: "dairy")
    while (h < items && ((entInts[(it.idx[h] as number) << 4] as number) & (F_TARGET | F_PRED)) === 0) h++
    const gapAt = it.e[right] as number
    if (
      h > right + 1 &&
      h < items &&
      it.s[h] === gapAt + 1 &&
      it.clause[h] === clause &&
      tb.kind[gapAt] === WORD &&
      (wordFlagsAt(gapAt) & (W_PREP | W_AUX | W_MODAL)) === 0 &&
      isContest(h) &&
      bindable(pred, h)
    )
      return h
    return right
  }

  /** Item r is a trade measure (a tariff, a ban, a curb): no contest, no frame of one. */
  /**
   * The measure (or trade relief or deal) that opens item k's clause as its subject (see bindOne), at most LOOK_BACK_TOKENS
   * before k, with no verb of its own between: its item, or -1.
   */
  function measureSubject(pred: PredRole, k: number): number {
    const clause = it.clause[k]
    const s = it.s[k] as number
    let first = -1
    for (
      let m = k - 1;
      m >= 0 && it.clause[m] === clause && s - (it.e[m] as number) <= LOOK_BACK_TOKENS;
      m--
    ) {
      const f = entInts[(it.idx[m] as number) << 4] as number
      // "Tariffs hurt firms that will be hit": another verb takes the subject.
      if (it.predOn[m] === 1 && (f & F_TARGET) === 0) return -1
      if ((f & F_TARGET) !== 0) first = m
    }
    if (first < 0 || !bindable(pred, first)) return -1
    // A measure, or a relief or deal of trade ("Tariff exclusions for medical gear will be extended").
    const role = targetAt(it.idx[first] as number)
    if (role.tariff === 0 || role.polarity === 0 || role.contest || role.frame) return -1
    // The subject opens the clause (nothing but its own words before it) and what it covers follows it
    // ("Tariffs on ...", "truce with China"), with no clause of its own ("that", "which").
    const start = it.s[first] as number
    if (!(start === 0 || tb.kind[start - 1] === BREAK || wordFlagsAt(start - 1) === 0)) return -1
    const after = it.e[first] as number
    if (!idIn(after, SUBJECT_COVERAGE_WORDS)) return -1
    // (A comma of a list of goods is no break: "Tariffs on Chinese laptops, phones to be delayed".)
    for (let j = after; j < s; j++)
      if ((tb.kind[j] === BREAK && !goodsListComma(j)) || wordIn(j, LINKING_WORDS)) return -1
    return first
  }

  /**
   * The trade relief right before "from" and measure item m (at most two words between "from" and the
   * measure: "exemptions from steel tariffs", "exclusions from China tariffs"), or -1.
   */
  function reliefBefore(m: number): number {
    const r = m - 1
    if (r < 0 || it.clause[r] !== it.clause[m]) return -1
    const from = it.e[r] as number
    if (!(from < tb.count && tb.kind[from] === WORD && tb.id[from] === fromId)) return -1
    if ((it.s[m] as number) - from > 3) return -1
    if (((entInts[(it.idx[r] as number) << 4] as number) & F_TARGET) === 0) return -1
    const role = targetAt(it.idx[r] as number)
    return role.polarity > 0 && role.tariff !== 0 && !role.frame ? r : -1
  }

  /**
   * The head of the noun phrase that item `left` ends, when predicate k follows that phrase (right
   * after it, or past auxiliaries, modals and "to"): a trade or supply target right before a
   * preposition right before `left` ("shortage of chips", "ban on chip exports"), which k may
   * take and nothing has taken; -2 when that head is trade policy of no direction (a hearing), which
   * the verb is said of and cannot move; or -1.
   */
  function headBeforePrep(pred: PredRole, left: number, k: number): number {
    // (Names, places and goods of the phrase first: "hearing on Chinese tariffs", "ban on chip exports".)
    let a = left
    // The phrase's first token.
    let from = it.s[a] as number
    // (Back over a list of goods first, a good a comma: "Curbs on gallium, germanium, graphite to start";
    // the goods need not be phrases of their own.)
    while (from >= 2 && tb.kind[from - 1] !== WORD && goodsListComma(from - 1)) {
      from -= 2
      while (a > 1 && (it.s[a - 1] as number) >= from) {
        if (it.predOn[a - 1] === 1) return -1
        a--
      }
    }
    while (a > 1 && it.e[a - 1] === from && it.predOn[a - 1] !== 1) {
      const f = entInts[(it.idx[a - 1] as number) << 4] as number
      if ((f & F_PRED) !== 0) break
      if ((f & F_TARGET) !== 0) {
        const g = targetAt(it.idx[a - 1] as number)
        if (g.bare !== 0 || g.polarity < 0) break
      }
      a--
      from = it.s[a] as number
    }
    const h = a - 1
    const at = it.e[h] as number
    if (it.clause[h] !== it.clause[left] || from !== at + 1) return -1
    if (tb.kind[at] !== WORD || (wordFlagsAt(at) & W_PREP) === 0) return -1
    // (The rest of a list of goods may stand between: "Tariffs on U.S. soybeans, cars to take effect".)
    for (let j = it.e[left] as number; j < (it.s[k] as number); j++) {
      if (tb.kind[j] !== WORD && goodsListComma(j)) {
        j++
        continue
      }
      if (tb.kind[j] !== WORD || ((wordFlagsAt(j) & (W_AUX | W_MODAL)) === 0 && tb.id[j] !== toId)) return -1
    }
    if (((entInts[(it.idx[h] as number) << 4] as number) & F_TARGET) === 0) return -1
    if (it.predOn[h] === 1 || it.bound[h] !== 0) return -1
    const role = targetAt(it.idx[h] as number)
    if (role.tariff === 0 && role.supply === 0) return -1
    // A head of no direction ("Trade hearing on Chinese tariffs set for June"): the verb is said of it
    // and moves nothing.
    if (role.polarity === 0) return -2
    return bindable(pred, h) ? h : -1
  }

  function isMeasure(r: number): boolean {
    const x = it.idx[r] as number
    if (((entInts[x << 4] as number) & F_TARGET) === 0) return false
    const b = targetAt(x)
    return b.polarity < 0 && b.tariff !== 0 && !b.contest && !b.frame
  }

  /**
   * Item l stands as the subject of predicate item k: right before it, or with "to" or a modal between
   * ("tariffs to slow exports", "tariffs could slow exports").
   */
  function subjectOf(l: number, k: number): boolean {
    const s = it.s[k] as number
    return (
      it.e[l] === s ||
      ((it.e[l] as number) + 1 === s && (wordBefore(s, toId) || (wordFlagsAt(s - 1) & W_MODAL) !== 0))
    )
  }

  /** Item l is a trade subject and item r a quantity it can move that is no trade measure (see bindOne). */
  function causedQuantity(l: number, r: number): boolean {
    const a = targetAt(it.idx[l] as number)
    const b = targetAt(it.idx[r] as number)
    return (a.tariff !== 0 || a.frame) && b.tariff === 0 && b.market !== 0
  }

  /** True when the item right after item m, with no word between, is a target ("new tariffs"). */
  function targetRightAfter(m: number): boolean {
    return (
      m + 1 < items &&
      it.s[m + 1] === it.e[m] &&
      ((entInts[(it.idx[m + 1] as number) << 4] as number) & F_TARGET) !== 0
    )
  }

  /** True when a predicate right after target t ("tariff cuts") is bound to it. */
  function nounActAfter(t: number): boolean {
    const p = t + 1
    return p < items && it.s[p] === it.e[t] && it.predOn[p] === 1 && it.target[p] === t
  }

  /**
   * Item k + 1 is an act named as a noun right after predicate k (at most an article between), followed
   * by a preposition ("cut in", "reduction of"), that took target t too.
   */
  function nounActTaken(k: number, t: number): boolean {
    const a = k + 1
    if (it.predOn[a] !== 1 || it.target[a] !== t || (it.s[a] as number) - (it.e[k] as number) > 1)
      return false
    const after = it.e[a] as number
    return after < tb.count && tb.kind[after] === WORD && (wordFlagsAt(after) & W_PREP) !== 0
  }

  /**
   * "President Trump had imposed 25% tariffs on imported cars in April": in a body, an act told in the past
   * perfect ("had", "had been", one adverb or "not" between) is the background of the news, and weighs
   * RULES.backgroundWeight; unless its sentence reports speech ("said it had rescinded the rule", "China
   * said Beijing and Washington had agreed to roll back tariffs", "had lifted the duties, officials said"),
   * where the tense is only shifted back and the act is news.
   */
  function backgroundActs(): void {
    for (let k = 0; k < items; k++) {
      if (it.predOn[k] !== 1) continue
      let j = (it.s[k] as number) - 1
      if (j >= 0 && tb.kind[j] === WORD && wordIn(j, BEEN_WORD)) j--
      if (j >= 0 && tb.kind[j] === WORD && wordIn(j, PERFECT_GAP_WORDS)) j--
      if (j < 0 || tb.kind[j] !== WORD || !wordIn(j, HAD_WORD)) continue
      if (!reportedIn(j)) it.intens[k] = (it.intens[k] as number) * RULES.backgroundWeight
    }
  }

  /**
   * Whether the sentence of token j reports speech, before it ("China said it had ...") or after it
   * ("Washington had lifted the duties, officials said", "according to officials").
   */
  function reportedIn(j: number): boolean {
    const endsSentence = (q: number) => {
      const c = text0.charCodeAt(tb.start[q] as number)
      return c === 46 || c === 10 || c === 33 || c === 63
    }
    for (let q = j - 1; q >= 0; q--) {
      if (tb.kind[q] === BREAK) {
        if (endsSentence(q)) break
      } else if (tb.kind[q] === WORD && wordIn(q, REPORTING_WORDS)) return true
    }
    for (let q = j + 1; q < tb.count; q++) {
      if (tb.kind[q] === BREAK) {
        if (endsSentence(q)) break
      } else if (tb.kind[q] === WORD && wordIn(q, REPORTING_WORDS)) return true
    }
    return false
  }

  /** The predicate left of target item t (and of item k), in its clause, that took t, or -1. */
  function takerFromLeft(t: number, k: number): number {
    for (let p = t - 1; p >= 0 && it.clause[p] === it.clause[k]; p--)
      if (it.predOn[p] === 1 && it.target[p] === t) return p
    return -1
  }

  /**
   * True when a predicate of some direction left of item k is bound to the same target t (in k's
   * clause, or across a list to a measure after "from": "exempts juice, beef from extra tariffs"). A
   * change in no direction ("depends on new U.S. tariffs") leaves what describes the measure its own.
   */
  function takenWhole(k: number, t: number): boolean {
    // Only a predicate within binding reach of t can have taken it (measureAfterFrom reaches furthest,
    // two windows): the look back stays constant in the field's length.
    const reach = (it.s[t] as number) - 2 * RULES.bindWindowTokens
    for (let p = k - 1; p >= 0 && (it.e[p] as number) >= reach; p--)
      if (it.predOn[p] === 1 && it.target[p] === t && predAt(it.idx[p] as number).sign !== 0) return true
    return false
  }

  /**
   * A denied harm to a measure or contest ("tariffs won't hurt us", "not affected by the trade
   * war") holds it; denied harm to a good thing ("won't hinder the trade deal") is still good news.
   */
  function deniedHold(pred: PredRole, k: number, t: number): boolean {
    return pred.deniedHolds && it.neg[k] === 1 && targetAt(it.idx[t] as number).polarity < 0
  }

  /**
   * "GoPro to move camera production out of China to avoid tariffs", "Honeywell eyes supplier shift to
   * avoid tariff hit": a firm making things elsewhere, earlier in the clause, to avoid a measure copes
   * with it (the measure stays), where a deal or talks "to avoid tariffs" avert it.
   */
  function avoidedByMaking(pred: PredRole, k: number): boolean {
    if (pred.kind !== 'less') return false
    const s = it.s[k] as number
    if (!wordIn(s, AVOID_WORDS)) return false
    // (At most LOOK_BACK_TOKENS back, so that the look stays constant in the field's length.)
    for (let j = s - 1; j >= 0 && j >= s - LOOK_BACK_TOKENS && tb.kind[j] !== BREAK; j--) {
      if (tb.kind[j] !== WORD) continue
      if (wordIn(j, AVOID_STOPS)) return false
      if (wordIn(j, MAKING_WORDS)) return true
    }
    return false
  }

  /**
   * The relief factor of item m (see Entry.relief): its own, or that of the hedge weakening it. A
   * request or obligation denied by "not" or "no" right before it ("does not want to ban Huawei",
   * "may not need to impose tariffs") asks for nothing when what it would have asked for is an act
   * on target t that the negation reaches: the act's denial is then not relief merely asked for, and
   * keeps its weight. An easing the negation does not reach ("no need to suspend tariffs": the
   * tariffs stay) is still only argued about, and not wanting a contest ("does not want a trade war")
   * stays a wish.
   */
  function reliefOf(m: number, t = -1): number {
    const act = t >= 0 && !isContest(t) && (it.neg[m] === 1 || it.neg[t] === 1)
    const own = act && deniedAsk(m) ? 1 : (entData[((it.idx[m] as number) << 3) + E_RELIEF] as number)
    const h = it.hedgeSrc[m] as number
    if (h < 0 || (act && deniedAsk(h))) return own
    return Math.min(own, entData[((it.idx[h] as number) << 3) + E_RELIEF] as number)
  }

  /**
   * True when target t, right of predicate k, has right before it (after k) a word of decrease that
   * describes it ("lower" in "negotiate lower tariffs", "fewer" in "grants fewer exemptions").
   */
  function cutRightBefore(k: number, t: number): boolean {
    let m = t - 1
    // "fewer", which is no verb, past names and goods of the noun phrase ("grants fewer steel tariff
    // exclusions"); a word that may be a verb only right before the noun ("eases U.S.-China trade war").
    while (m > k && it.predOn[m] !== 1 && it.e[m] === it.s[m + 1]) {
      if (((entInts[(it.idx[m] as number) << 4] as number) & F_PRED) !== 0) break
      m--
    }
    if (m <= k) return false
    if (m !== t - 1) {
      const mx = it.idx[m] as number
      if (((entInts[mx << 4] as number) & F_PRED) === 0 || predAt(mx).id !== 'fewer') return false
      if (it.e[m] !== it.s[m + 1]) return false
    } else if (it.e[m] !== it.s[t]) return false
    const x = it.idx[m] as number
    if (((entInts[x << 4] as number) & F_PRED) === 0) return false
    const p = predAt(x)
    return (p.kind === 'cut' && p.sign < 0) || p.id === 'fewer'
  }

  /**
   * "lifts China tariffs to 25%": "lift" takes a measure away, but a tariff lifted to a level above 0 is
   * raised. The tariff right after the verb (then, perhaps, "on" or "against" and up to three words of
   * what it is on), "to" and a figure above 0; with "from" and a second figure after it, the two say
   * which way ("lifts tariffs to 10% from 25%" is a cut). Any other measure lifted "to" something is
   * taken away ("lifts the export ban to 5 countries").
   */
  function liftedToLevel(pred: PredRole, k: number, t: number, target: TargetRole): boolean {
    if (pred.id !== 'lift' || t <= k || target.id !== 'tariff') return false
    const count = tb.count
    let j = it.e[t] as number
    if (j < count && tb.kind[j] === WORD && (tb.id[j] === onId || tb.id[j] === againstId)) {
      const stop = Math.min(count, j + 4)
      j++
      while (j < stop && tb.kind[j] === WORD && tb.id[j] !== toId) j++
    }
    if (!(j + 1 < count && tb.kind[j] === WORD && tb.id[j] === toId && tb.kind[j + 1] === NUMBER))
      return false
    const level = (tb.num[j + 1] as number) * scaleAfter(j + 2, count)
    if (!(level > 0)) return false
    const f = skipUnits(j + 2, count)
    if (f + 1 < count && tb.kind[f] === WORD && tb.id[f] === fromId && tb.kind[f + 1] === NUMBER)
      return level > (tb.num[f + 1] as number) * scaleAfter(f + 2, count)
    return true
  }

  /**
   * "extends March 1 deadline for China tariff hike", "Trump extends TikTok ban deadline", "delays
   * deadline for auto tariffs", "extends deadline for China trade deal": a verb of more time (extend, or
   * a pause) that acts on a measure's or a deal's deadline gives it more time. Returns the item whose
   * measure or deal the deadline is for (its weights are kept: see deadlineRole), or -1 when the verb
   * acts on no deadline.
   */
  function deadlineOf(pred: PredRole, k: number, t: number): number {
    if (pred.fixed !== 0 || (pred.kind !== 'pause' && !idIn(it.s[k] as number, EXTEND_WORDS))) return -1
    // A deal of any kind is no trade's ("Musk wins deadline extension for Twitter deal"); a measure in
    // force ends at its deadline ("extends steel safeguard deadline" lengthens it).
    if (targetAt(it.idx[t] as number).id === 'deal' || wordIn((it.e[t] as number) - 1, IN_FORCE_WORDS))
      return -1
    const s = it.s[t] as number
    const after = it.e[t] as number
    // A pause phrase with the deadline in it ("extend deadline for", "push back deadline"), its measure
    // or deal at most two words on (not "deadline for comments on tariffs").
    if (pred.kind === 'pause' && (colKey[it.idx[k] as number] as string).includes('deadline'))
      return t > k && s - (it.e[k] as number) <= 2 ? t : -1
    if (after < tb.count && tb.kind[after] === WORD && idIn(after, DEADLINE_WORDS)) return t
    if (t < k) return -1
    // The bare word bound ("delays deadline for auto tariffs"): the measure after "for" or "on".
    if (idIn(s, DEADLINE_WORDS) && after + 1 < tb.count && idIn(after, FOR_ON_WORDS)) {
      for (let m = t + 1; m < items && (it.s[m] as number) <= after + 3; m++)
        if (((entInts[(it.idx[m] as number) << 4] as number) & F_TARGET) !== 0) {
          if (targetAt(it.idx[m] as number).tariff === 0) return -1
          it.bound[m] = 3
          return m
        }
      return -1
    }
    // "deadline for" up to two words (a partner, a date) before the measure, after the verb.
    const from = Math.max(it.e[k] as number, s - 4)
    for (let j = s - 2; j >= from; j--) {
      if (tb.kind[j] !== WORD || tb.kind[j + 1] !== WORD) continue
      if (idIn(j, DEADLINE_WORDS) && idIn(j + 1, FOR_ON_WORDS)) return t
    }
    return -1
  }

  /**
   * "restricts sales of chip design software to China", "allows H200 sales to China", "blocks sales of
   * chips to Huawei": a policy act on a firm's sales bound for China or a blacklisted firm (named within
   * six words after them) acts on exports (EXPORTS_ROLE, LISTED_SALES_ROLE); other sales are the
   * market's. Item t's role otherwise.
   */
  function salesRole(t: number, tx: number): TargetRole {
    const role = targetAt(tx)
    const key = colKey[tx] as string
    if (key !== 'sales' && key !== 'sale') return role
    const from = it.e[t] as number
    for (let j = from; j < tb.count && j < from + 6 && tb.kind[j] === WORD; j++) {
      if (tb.id[j] !== toId || j + 1 >= tb.count || tb.kind[j + 1] !== WORD) continue
      if (wordIn(j + 1, LISTED_FIRMS)) return LISTED_SALES_ROLE
      if (wordIn(j + 1, CHINA_WORDS)) return EXPORTS_ROLE
    }
    return role
  }

  /**
   * Exports moved by an act of policy whose subject is a country: a verb of control (CONTROL_VERBS), the
   * country named right before it (only "to", a modal or an auxiliary between), opening its clause, and
   * no cause of disruption named in the field (see CONTROLLED_EXPORTS_ROLE).
   */
  function exportsRole(role: TargetRole, k: number): TargetRole {
    if (role !== EXPORTS_ROLE || k === 0 || !wordIn(it.s[k] as number, CONTROL_VERBS)) return role
    for (let j = 0; j < tb.count; j++) if (tb.kind[j] === WORD && wordIn(j, DISRUPTION_CAUSES)) return role
    const m = k - 1
    if (it.clause[m] !== it.clause[k]) return role
    for (let j = it.e[m] as number; j < (it.s[k] as number); j++)
      if ((wordFlagsAt(j) & (W_AUX | W_MODAL)) === 0 && tb.id[j] !== toId) return role
    const start = it.s[m] as number
    if (start !== 0 && tb.kind[start - 1] !== BREAK) return role
    const x = it.idx[m] as number
    const last = entAt[x + 1] as number
    for (let q = entAt[x] as number; q < last; q++) if (entSlot[q] === REGIONS) return CONTROLLED_EXPORTS_ROLE
    return role
  }

  /** The deadline of what item m names, with that item's weights (a deadline of a non-trade ban stays so). */
  function deadlineRole(m: number): TargetRole {
    const of = targetAt(it.idx[m] as number)
    let role = deadlineRoles.get(of)
    if (role === undefined) {
      role = { ...DEADLINE_ROLE, tariff: of.tariff, supply: of.supply, market: of.market }
      deadlineRoles.set(of, role)
    }
    return role
  }

  /**
   * Whether tokens [from, to) are one plain word: one the lexicon does not know or names nothing by
   * ("chip tool curbs", "chip material export curbs"), and no linking word ("tariffs under threat").
   */
  function plainWordBetween(from: number, to: number): boolean {
    if (to !== from + 1 || tb.kind[from] !== WORD) return false
    const id = tb.id[from] as number
    // (A word that only starts or continues longer phrases, none of them here, is plain: "pauses higher
    // reciprocal tariffs", "tool" of "chipmaking tools" in "chip tool curbs".)
    if (id >= 0 && ((wordInfo[id * 2] as number) >= 0 || ((wordFlags[id] as number) & ~W_CONTINUES) !== 0))
      return false
    return !wordIn(from, DOMESTIC_RULE_WORDS) && !(id >= 0 && wordIn(from, LINKING_WORDS))
  }

  /**
   * Whether tokens [from, to) name what a measure covers: "on", "for" or "against" and at most four
   * words more, no clause break ("tariff hike on Chinese goods set for March 1").
   */
  function coverageBetween(from: number, to: number): boolean {
    if (to - from < 2 || to - from > 5 || !idIn(from, COVERAGE_WORDS)) return false
    for (let j = from; j < to; j++) if (tb.kind[j] === BREAK) return false
    return true
  }

  /** Whether a figure compared with another ("to 25% from 10%", "20%, down from 46%") acts on item t. */
  function figureBinds(k: number, t: number): boolean {
    for (let m = 0; m < items; m++) {
      if (m === k || it.predOn[m] !== 1 || it.target[m] !== t) continue
      const x = it.idx[m] as number
      if (x === NUM_UP_ENTRY.index || x === NUM_DOWN_ENTRY.index) return true
    }
    return false
  }

  /** Item m is a request or obligation hedge with "not" or "no" right before it. */
  function deniedAsk(m: number): boolean {
    if (((entInts[(it.idx[m] as number) << 4] as number) & F_HEDGE) === 0) return false
    const j = (it.s[m] as number) - 1
    if (j < 0 || tb.kind[j] !== WORD) return false
    const id = tb.id[j] as number
    return id >= 0 && (id === notId || id === noId)
  }

  /**
   * "China says reports of talks collapse 'untrue'", "Report that U.S. will ease chip curbs 'false'": a
   * denial word (REPORT_DENIALS) after a report word (REPORT_WORDS) of its clause negates what the report
   * said, as "denies reports that" before it does: its verbs and tone words, and a measure or deal only
   * where it is all the report said, right before the denial ("reports of new export curbs untrue"; not
   * "story that China deal is dead is untrue", where "dead" said it). A denial word before a noun
   * describes it ("incorrect data") and denies nothing.
   */
  function deniedReports(): void {
    for (let d = 0; d < items; d++) {
      if (((entInts[(it.idx[d] as number) << 4] as number) & F_DENIES_REPORT) === 0) continue
      const after = it.e[d] as number
      if (after < tb.count && tb.kind[after] === WORD && !wordIn(after, SAY_WORDS)) continue
      let r = -1
      // (At most LOOK_BACK_TOKENS back: the look, and the items negated, stay constant in the length.)
      const from = it.s[d] as number
      for (let j = from - 1; j >= 0 && j >= from - LOOK_BACK_TOKENS && tb.kind[j] !== BREAK; j--) {
        if (tb.kind[j] !== WORD) continue
        if (wordIn(j, CLAUSE_OPENERS)) break
        if (wordIn(j, REPORT_WORDS)) {
          r = j
          break
        }
      }
      if (r < 0) continue
      for (let k = d - 1; k >= 0 && (it.s[k] as number) > r; k--) {
        const f = entInts[(it.idx[k] as number) << 4] as number
        const act = (f & (F_PRED | F_TONE)) !== 0
        if (act || ((f & F_TARGET) !== 0 && onlyCopulasBetween(it.e[k] as number, it.s[d] as number)))
          it.neg[k] = it.neg[k] === 1 ? 0 : 1
      }
    }
  }

  /** No word but a copula ("is", "are") among tokens [from, to). */
  function onlyCopulasBetween(from: number, to: number): boolean {
    for (let j = from; j < to; j++) if (tb.kind[j] === WORD && !wordIn(j, COPULAS)) return false
    return true
  }

  /** Scratch for bindPredicates: the verb-and-noun items of the field. */
  const dualItems: number[] = []

  /**
   * "Bid to end trade war fails", "push to lift steel tariffs stalls", "plan to impose tariffs
   * scrapped": a failing verb after an attempt at an act ("bid to end") and the act's object undoes
   * the act. Bound on its own, it would take the object ("tariffs stall": relief). The act is read
   * negated and the failing verb acts on nothing (it keeps its market tone).
   */
  function markFailedAttempts(): void {
    // Only where a predicate stands after "<attempt> to" (most fields have none: one pass, and a word's
    // text built only after "to").
    let first = -1
    for (let p = 0; p < items && first < 0; p++) {
      const j = it.s[p] as number
      if (
        it.predOn[p] === 1 &&
        j > 1 &&
        wordBefore(j, toId) &&
        tb.kind[j - 2] === WORD &&
        wordIn(j - 2, ATTEMPT_WORDS)
      )
        first = p
    }
    if (first < 0) return
    for (let k = first + 1; k < items; k++) {
      const x = it.idx[k] as number
      const verb = it.predOn[k] === 1 && ((entInts[x << 4] as number) & F_PRED) !== 0
      if (
        !(verb && FAILING_PREDS.has(predAt(x).id)) &&
        !FAILING_WORDS.has(tb.id[it.s[k] as number] as number)
      )
        continue
      const t = verb ? (it.target[k] as number) : -1
      // A verb form said of what comes before it: inflected ("stalls", "scrapped"; not the noun in "US
      // exit") or, after a plural attempt ("talks to end the trade war collapse"), bare and bound to
      // the act's object; with no object of its own after it ("on delayed pipeline" describes it,
      // "plan to impose tariffs hits farmers" goes ahead).
      const bare = verb && ((entInts[x << 4] as number) & (F_PAST | F_PRESENT_S)) === 0
      if ((t < 0 && bare) || objectWordAt(it.e[k] as number)) continue
      for (let p = k - 1; p >= 0 && it.clause[p] === it.clause[k]; p--) {
        if (it.predOn[p] !== 1) continue
        const tp = it.target[p] as number
        const j = it.s[p] as number
        if (
          tp > p &&
          tp < k &&
          (t === tp || t < 0) &&
          j > 1 &&
          wordBefore(j, toId) &&
          tb.kind[j - 2] === WORD &&
          wordIn(j - 2, ATTEMPT_WORDS) &&
          (!bare || text0.charCodeAt((tb.end[j - 2] as number) - 1) === 115) // plural -s
        ) {
          it.neg[p] = it.neg[p] === 1 ? 0 : 1
          if (verb) {
            it.predOn[k] = 0
            it.target[k] = -1
          }
        }
        break
      }
    }
  }

  /**
   * "delays imposing new sanctions", "holds off adding Chinese firms to the entity list": a pause right
   * before the act it pauses (a verb in -ing) takes that act's object; the act stays out of the score,
   * where both had bound the measure and cancelled out. A cut put off is a cut not done, as are relief
   * and tightening.
   */
  function pausedActs(): void {
    for (let k = 0; k + 1 < items; k++) {
      if (it.predOn[k] !== 1 || it.predOn[k + 1] !== 1 || it.e[k] !== it.s[k + 1]) continue
      // A stop is put on an act as a delay is ("told to stop shipping A100 chips", "halts selling"):
      // where what the act takes follows it (past at most two words or figures the lexicon does not
      // know: "A100"), and the act is no misdeed ("stop dumping steel" is a measure against it).
      const kx = it.idx[k] as number
      const kf = entInts[kx << 4] as number
      // Disapproval of an act ("EU opposed to lifting sanctions", "slams raising tariffs") is friction
      // over what the act takes, whichever way the act would move it: the act is not done, and the
      // stance binds its object (the act's own reading, relief done, was the opposite of the news).
      if ((kf & F_OPPOSE) !== 0) {
        const y = it.idx[k + 1] as number
        if (((entInts[y << 4] as number) & F_PRED) !== 0 && endsInIng(it.s[k + 1] as number)) {
          it.predOn[k + 1] = 0
          // Nor a market tone of its own ("lifting"): no weight at all.
          it.intens[k + 1] = 0
        }
        continue
      }
      // "blocks lifting of ZTE sanctions", "blocks removal of tariffs": the act named as a noun, its
      // object after "of" (past names).
      let named = false
      if ((kf & F_PAUSE) === 0) {
        if ((kf & F_HALT) === 0 || k + 2 >= items || wordIn(it.s[k + 1] as number, MISDEED_WORDS)) continue
        const actEnd = it.e[k + 1] as number
        named = tb.kind[actEnd] === WORD && tb.id[actEnd] === ofId
        let t = k + 2
        if (named) while (t < items && nameOnly(t)) t++
        if (t >= items) continue
        const next = it.s[t] as number
        if (((entInts[(it.idx[t] as number) << 4] as number) & F_TARGET) === 0) continue
        // Between the act (or its "of") and the target: at most two words or figures the lexicon does not
        // know ("A100", "Rusal") or names.
        const from = named ? actEnd + 1 : actEnd
        if (next - from > (named ? 3 : 2)) continue
        let plain = true
        let q = k + 2
        for (let j = from; j < next; j++) {
          while (q < t && (it.e[q] as number) <= j) q++
          if (q < t && (it.s[q] as number) <= j) continue
          if (!(tb.kind[j] === NUMBER || (tb.kind[j] === WORD && (tb.id[j] as number) < 0))) plain = false
        }
        if (!plain) continue
      }
      const y = it.idx[k + 1] as number
      if (((entInts[y << 4] as number) & F_PRED) === 0) continue
      const act = predAt(y)
      if (act.sign === 0 || (!named && !endsInIng(it.s[k + 1] as number))) continue
      // A cut put off ("delays cutting tariffs on lobster") is not done: the cut, negated, is the act; so
      // is relief of a fixed direction ("delays exempting Canadian energy from tariffs") and tightening.
      // A blow put off ("postpones hitting China with new tariffs") puts off the measure, as a rise does.
      const undone = act.fixed === 0 ? act.sign < 0 : act.fixed > 0 || act.kind === 'tighten'
      if (!undone) it.predOn[k + 1] = 0
      else {
        it.predOn[k] = 0
        it.neg[k + 1] = it.neg[k + 1] === 1 ? 0 : 1
      }
    }
  }

  /**
   * "USMCA ratification stalls", "Ratification of trade pact delayed", "tariff cut stalls": a pause or halt
   * said of an act named as a noun just before it, both bound to one target, stops that act (as
   * pausedActs does for a pause right before an act in -ing): where both had bound the target and
   * cancelled out. A cut or relief stopped is not done (the act, negated, is the reading); a rise
   * stopped is the pause's own reading of the target. A ruling voids the act the same way ("rules
   * doubling of steel tariffs unlawful"), and coming into force does it ("removal of tariffs takes effect":
   * the act's reading stands, the verb's is dropped).
   */
  function stalledActs(): void {
    for (let k = 1; k < items; k++) {
      const t = it.target[k] as number
      if (it.predOn[k] !== 1 || t < 0) continue
      const kf = entInts[(it.idx[k] as number) << 4] as number
      // (A ruling voids an act as a stall stops it: "rules doubling of steel tariffs unlawful".)
      const kp = predAt(it.idx[k] as number)
      const ruled = kp.id === 'ruled_illegal'
      // (Coming into force is the act done: "removal of tariffs takes effect" removes them.)
      const inForce = kp.kind === 'impose' && wordIn(it.s[k] as number, IN_FORCE_LEADS)
      if (!ruled && !inForce) {
        if ((kf & (F_PRESENT_S | F_PAST)) === 0) continue
        if ((kf & (F_PAUSE | F_HALT)) === 0 && !wordIn(it.s[k] as number, STALL_WORDS)) continue
      }
      // The act: right before the verb, with its target right before it ("USMCA ratification stalls"),
      // or with "of" and its target between it and the verb ("ratification of USMCA stalls").
      let j = -1
      if (t === k - 2 && it.e[t] === it.s[k - 1] && it.e[k - 1] === it.s[k]) j = k - 1
      else if (t > 0 && t < k && nothingActsBetween(t, k)) {
        // (Names between "of" and the target: "doubling of Turkish steel tariffs ruled unlawful".)
        let a = t - 1
        while (a > 0 && it.predOn[a] !== 1 && (it.s[t] as number) - (it.e[a - 1] as number) <= 4) a--
        const of = it.e[a] as number
        if (of < tb.count && tb.kind[of] === WORD && wordIn(of, OF_WORD) && (it.s[t] as number) - of <= 4)
          j = a
      }
      if (j < 0 || it.predOn[j] !== 1 || it.target[j] !== t) continue
      // (An -ing form before "of" is a noun: "doubling of steel tariffs".)
      if (j === k - 1 && endsInIng(it.s[j] as number)) continue
      const jf = entInts[(it.idx[j] as number) << 4] as number
      if ((jf & (F_PRESENT_S | F_PAST)) !== 0) continue
      const act = predAt(it.idx[j] as number)
      if (act.sign === 0) continue
      if (inForce) {
        it.predOn[k] = 0
        continue
      }
      const undone = act.fixed === 0 ? act.sign < 0 : act.fixed > 0 || act.kind === 'tighten'
      if (!undone) it.predOn[j] = 0
      else {
        it.predOn[k] = 0
        it.neg[j] = it.neg[j] === 1 ? 0 : 1
      }
    }
  }

  /**
   * Target t and predicate k after it are one phrase and its verb: right next to each other, or with only
   * what t is on between them ("Lifting of sanctions on Iran paused": a preposition, at most three words,
   * no act or other target among them).
   */
  function nothingActsBetween(t: number, k: number): boolean {
    const from = it.e[t] as number
    const gap = (it.s[k] as number) - from
    if (gap === 0) return t === k - 1
    if (gap > 3 || (wordFlagsAt(from) & W_PREP) === 0) return false
    for (let m = t + 1; m < k; m++)
      if (it.predOn[m] === 1 || ((entInts[(it.idx[m] as number) << 4] as number) & F_TARGET) !== 0)
        return false
    for (let j = from; j < (it.s[k] as number); j++) if (tb.kind[j] === BREAK) return false
    return true
  }

  /**
   * "allows tariff truce to lapse", "lets exclusions expire", "forces China to cut tariffs": a verb of
   * letting or making whose object the verb after it also takes is no act of its own; the act is that
   * verb's, where both had bound the measure and cancelled out (a verb of less after it).
   */
  function lettingActs(): void {
    // From the verb after the object back to the verb of letting: the rare shape is found first.
    for (let m = 2; m < items; m++) {
      const t = it.target[m] as number
      if (it.predOn[m] !== 1 || t < 1 || t >= m || !wordBefore(it.s[m] as number, toId)) continue
      // (Only a verb of less: "allows exports to resume" says the same twice, no cancelling.)
      if (predAt(it.idx[m] as number).sign >= 0) continue
      for (let k = t - 1; k >= 0 && it.clause[k] === it.clause[m]; k--) {
        if (it.predOn[k] !== 1) continue
        if (it.target[k] === t && wordIn(it.s[k] as number, PERMIT_WORDS)) it.predOn[k] = 0
        break
      }
    }
  }

  /**
   * "New tariffs unlikely", "Lifting of sanctions off the table", "Tariff hike ruled out": poor prospects
   * or a denial said after the act that takes a measure are said of the act, which is not done (where
   * both had bound the measure, the new tariffs and their poor prospects cancelled out, and the relief
   * named as a noun was read as done). "Ruled out" with nothing after it in its clause to deny (the
   * denial of what follows: "rules out tariff cuts") denies what its clause named before it, as poor
   * prospects do: the act that took it, or a measure or relief named bare ("Tariff rollback ruled out").
   */
  function deniedActs(): void {
    const { idx: itIdx, clause: itClause, predOn: itPredOn, neg: itNeg } = it
    for (let k = 1; k < items; k++) {
      const x = itIdx[k] as number
      const f = entInts[x << 4] as number
      let t = -1
      const prospect = (f & F_PROSPECT) !== 0
      if (prospect) {
        // Poor prospects denied ("not unlikely", "far from off the table") are none.
        if (itPredOn[k] !== 1 || itNeg[k] === 1) continue
        t = it.target[k] as number
        if (t < 0 || t > k) continue
      } else {
        if ((f & F_NEGATOR) === 0 || colKey[x] !== 'ruled out') continue
        // Its object: a phrase right after it, past at most a word that is no preposition ("ruled out
        // new tariffs", not "ruled out in trade talks").
        const r = k + 1
        if (r < items && itClause[r] === itClause[k]) {
          const gap = (it.s[r] as number) - (it.e[k] as number)
          if (gap === 0 || (gap === 1 && (wordFlagsAt(it.e[k] as number) & W_PREP) === 0)) continue
        }
        // The nearest measure or relief before it, past one that only names what is answered
        // ("Retaliation against U.S. tariffs ruled out").
        for (let m = k - 1; m >= 0 && itClause[m] === itClause[k]; m--) {
          const mf = entInts[(itIdx[m] as number) << 4] as number
          if ((mf & F_TARGET) !== 0 && itPredOn[m] === 0 && it.bound[m] !== 3) {
            t = m
            break
          }
        }
        if (t < 0) continue
        // What it negated after it ("ruled out in talks with China"), it does not: its denial goes back.
        for (let r = k + 1; r < items && itClause[r] === itClause[k]; r++) {
          if (((entInts[(itIdx[r] as number) << 4] as number) & F_NEGATOR) !== 0) break
          itNeg[r] = 0
        }
      }
      // A measure or relief only threatened or hedged ("threat of new tariffs unlikely to materialize")
      // is not denied by the verb's own reading.
      if ((it.hedge[t] as number) < 1) continue
      const p = takerFromLeft(t, k)
      if (p >= 0) {
        const pred = predAt(itIdx[p] as number)
        if ((pred.sign === 0 && pred.fixed === 0) || pred.kind === 'stance' || pred.threat) continue
        if ((it.hedge[p] as number) < 1) continue
        itNeg[p] = itNeg[p] === 1 ? 0 : 1
        if (prospect) {
          itPredOn[k] = 0
          it.intens[k] = 0
        }
      } else if (!prospect && it.bound[t] === 0 && targetAt(itIdx[t] as number).polarity !== 0) {
        itNeg[t] = itNeg[t] === 1 ? 0 : 1
      }
    }
  }

  function bindPredicates(): void {
    const { idx: itIdx, s: itS, e: itE, bound: itBound, predOn: itPredOn } = it
    // A word that is both a verb and a noun ("ban", "levy", "supplies", "license") is read as the
    // noun when another predicate takes it ("lifts the ban", "may lose its license"), else as the
    // verb ("bans exports"): the other predicates bind first.
    let duals = 0
    // Predicates bind first; a field without one has nothing for them to do.
    const preds = (flagsSeen & F_PRED) !== 0
    if (preds && dualSeen) {
      for (let k = 0; k < items; k++) {
        if (itPredOn[k] === 1 && ((entInts[(itIdx[k] as number) << 4] as number) & F_TARGET) !== 0) {
          itPredOn[k] = 0
          dualItems[duals++] = k
        }
      }
    }
    // (Only after talks or a deal: most fields name none.)
    if ((flagsSeen & F_TALKS) !== 0) markTalkTopics()
    if ((flagsSeen & (F_PAUSE | F_HALT | F_OPPOSE)) !== 0) pausedActs()
    if (preds) for (let k = 0; k < items; k++) if (itPredOn[k] === 1) bindOne(k)
    for (let d = 0; d < duals; d++) {
      const k = dualItems[d] as number
      if (itBound[k] !== 0) continue
      // A modal or auxiliary right after it follows a noun, never a verb ("Huawei says U.S. curbs will hit
      // its smartphone production": the curbs do the hitting).
      const after = itE[k] as number
      if (after < tb.count && tb.kind[after] === WORD && (wordFlagsAt(after) & W_MODAL) !== 0) continue
      // A figure right before it is the noun's size ("threatens 35% levy on Canadian imports").
      if ((itS[k] as number) > 0 && tb.kind[(itS[k] as number) - 1] === NUMBER) continue
      // A measure right after a noun heads a compound ("federal contract ban"): the noun reading.
      // (Not so for a flow: "magnets flow" is a subject and its verb.)
      if (k > 0 && itE[k - 1] === itS[k] && targetAt(itIdx[k] as number).polarity < 0) {
        const pf = entInts[(itIdx[k - 1] as number) << 4] as number
        if ((pf & F_TARGET) !== 0 && (pf & F_PRED) === 0) continue
      }
      itPredOn[k] = 1
      bindOne(k)
    }
    // A relief noun taken by another verb ("gets an exemption from the lumber duties") is the thing
    // granted, and the measure it names next is what it spares, not a measure of its own.
    for (let d = 0; d < duals; d++) {
      const k = dualItems[d] as number
      if (itPredOn[k] === 1 || itBound[k] === 0) continue
      const p = predAt(itIdx[k] as number)
      if (p.id !== 'exempt_noun') continue
      for (let r = k + 1; r < items && it.clause[r] === it.clause[k]; r++) {
        if ((itS[r] as number) - (itE[k] as number) > RULES.bindWindowTokens) break
        const rf = entInts[(itIdx[r] as number) << 4] as number
        if ((rf & F_TARGET) === 0) continue
        const m = targetAt(itIdx[r] as number)
        if (itBound[r] === 0 && itPredOn[r] === 0 && m.polarity < 0 && m.tariff !== 0) itBound[r] = 3
        break
      }
    }
    if (preds && (gatesSeen & G_TO_PRED) !== 0) markFailedAttempts()
    if (preds && (gatesSeen & G_TO_PRED) !== 0) lettingActs()
    if (preds && ((flagsSeen & (F_PAUSE | F_HALT)) !== 0 || (gatesSeen & G_STALL) !== 0)) stalledActs()
    if (preds && (gatesSeen & G_STATUS_QUO) !== 0) statusQuoBesideRelief()
    // Retaliation against a measure answers it: the measure named after "against" is what is
    // answered, not news of its own, so retaliation forgone ("Japan to skip retaliation against U.S.
    // steel tariffs") reads as the relief it is, and retaliation taken as the escalation it is.
    if ((flagsSeen & F_ANSWERS) !== 0) {
      for (let k = 0; k < items; k++) {
        if (((entInts[(itIdx[k] as number) << 4] as number) & F_ANSWERS) === 0) continue
        for (let r = k + 1; r < items && it.clause[r] === it.clause[k]; r++) {
          if ((itS[r] as number) - (itE[k] as number) > RULES.bindWindowTokens) break
          const rf = entInts[(itIdx[r] as number) << 4] as number
          if ((rf & F_TARGET) === 0) continue
          const m = targetAt(itIdx[r] as number)
          // "won't retaliate against new U.S. tariffs": the word of more right before the measure only
          // describes what is answered.
          let a = r - 1
          while (a > k && ((entInts[(itIdx[a] as number) << 4] as number) & F_PRED) === 0) a--
          const described =
            itBound[r] === 1 &&
            a > k &&
            itPredOn[a] === 1 &&
            it.target[a] === r &&
            predAt(itIdx[a] as number).kind === 'more' &&
            (itS[r] as number) - (itE[a] as number) <= 2
          if (
            (itBound[r] === 0 || described) &&
            itPredOn[r] === 0 &&
            m.polarity < 0 &&
            m.tariff !== 0 &&
            wordBetween(itE[k] as number, itS[r] as number, againstId)
          ) {
            itBound[r] = 3
            if (described) itPredOn[a] = 0
          }
          break
        }
      }
    }
    // A trade or supply target directly before an unbound frame noun is read through the frame
    // (bound = 2: no bare weight of its own; see emit).
    if ((flagsSeen & F_FRAME) !== 0) {
      for (let k = 1; k < items; k++) {
        if (((entInts[(itIdx[k] as number) << 4] as number) & F_FRAME) === 0) continue
        if (itBound[k] !== 0 || itE[k - 1] !== itS[k]) continue
        const px = itIdx[k - 1] as number
        const p = ((entInts[px << 4] as number) & F_TARGET) !== 0 ? targetAt(px) : null
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
    // "agree to truce on new tariffs": the measure a truce is on is what the truce covers, the phrase's
    // head is the truce. The measure is bound with it (no reading of its own), a word of more right
    // before it only describes it, and a verb that took the measure takes the truce.
    for (let k = 0; k + 1 < items; k++) {
      if (!isTruce(k)) continue
      let r = k + 1
      while (r < items && ((entInts[(itIdx[r] as number) << 4] as number) & F_TARGET) === 0) r++
      if (r >= items || (itS[r] as number) - (itE[k] as number) > 3) continue
      if (it.clause[r] !== it.clause[k] || !isMeasure(r) || itPredOn[r] === 1) continue
      const on = itE[k] as number
      if (!(tb.kind[on] === WORD && (tb.id[on] === onId || wordIn(on, OVER_WORD)))) continue
      itBound[r] = 3
      for (let a = 0; a < items; a++) {
        if (a === k || itPredOn[a] !== 1 || it.target[a] !== r) continue
        if (a > k && a < r) itPredOn[a] = 0
        else {
          it.target[a] = k
          itBound[k] = 1
        }
      }
    }
    // Last: what is only answered is known by now.
    if ((flagsSeen & (F_PROSPECT | F_NEGATOR)) !== 0) deniedActs()
  }

  /** True when token j is a relative pronoun ("that", "which", "who"), however written. */
  function isRelativePronoun(j: number): boolean {
    return tb.kind[j] === WORD && RELATIVES.has(text0.slice(tb.start[j], tb.end[j]).toLowerCase())
  }

  /** Item l is a trade or supply target, or an act of policy: what a condition can make depend on terms. */
  function tradeReading(l: number): boolean {
    const x = it.idx[l] as number
    const f = entInts[x << 4] as number
    if ((f & F_TARGET) !== 0) {
      const t = targetAt(x)
      if (t.tariff !== 0 || t.supply !== 0) return true
    }
    return (f & F_PRED) !== 0 && predAt(x).policy
  }

  /**
   * Marks (it.cond) what each condition word of the field makes depend on terms (see CONDITIONS):
   * the noun phrase before it, headed by the nearest trade reading within RULES.bindWindowTokens
   * ("tariff relief for Mexico hinges on") or, for a `near` word or after a relative pronoun, by the
   * one right before it, forms of "be" and modals aside ("relief is tied to", "relief that depends
   * on"); with it the items between it and the word ("trade deal hopes") and those joined to it by no
   * word or one ("suspension of tariffs", "U.S. grants tariff relief"); and the terms, what follows
   * the word in its clause within the window.
   * Wherever the predicates bound, emit then reads no easing there, and escalation in that noun phrase
   * (not in the terms) as a threat, weakened by the word's hedge (it.condHedge; see CONDITIONS).
   */
  /**
   * Marks talk (it.talk): the items after a talk word in its clause (TALK_WORDS: "threatens new tariffs
   * on China in retaliation", "expects to raise tariffs"), and every item of a conditional's clause, and
   * of the next clause when the conditional opens its own (CONDITIONAL_WORDS: "will retaliate if U.S. ...",
   * "If U.S. raises tariffs, China will ..."). Their events are threatened: said, not done.
   */
  function markTalk(): void {
    // it.talk is 0 for every item from matchField: a field with no talk word (most) leaves it so.
    if (items === 0) return
    let mayTalk = false
    for (let j = 0; j < tb.count && !mayTalk; j++) {
      if (tb.kind[j] !== WORD) continue
      const id = tb.id[j] as number
      mayTalk = id >= 0 ? talkById[id] === 1 : wordIn(j, TALK_UNKNOWN)
    }
    if (!mayTalk) return
    const { s: itS, e: itE, clause: itClause, talk: itTalk } = it
    talkConds.length = 0
    /**
     * A conditional at word j, counted in clause c (item k next): its clause, and the next when it opens
     * its own ("If U.S. raises tariffs, China will ...": at the start, after a break, or right after an
     * item of an earlier clause).
     */
    const conditional = (j: number, k: number, c: number) => {
      talkConds.push(c)
      if (
        j === 0 ||
        tb.kind[j - 1] === BREAK ||
        (k > 0 && (itE[k - 1] as number) === j && (itClause[k - 1] as number) < c)
      )
        talkConds.push(c + 1)
    }
    let talkClause = -1
    let from = 0
    for (let k = 0; k <= items; k++) {
      const to = k < items ? (itS[k] as number) : tb.count
      // A gap's words after its last break stand in the next item's clause; before it, in none read here.
      let lastBreak = from - 1
      for (let j = from; j < to; j++) if (tb.kind[j] === BREAK) lastBreak = j
      if (lastBreak >= from) talkClause = -1
      for (let j = from; j < to; j++) {
        if (tb.kind[j] !== WORD) continue
        const gapClause = k < items && j > lastBreak ? (itClause[k] as number) : -1
        if (wordIn(j, CONDITIONALS)) {
          const c =
            gapClause >= 0
              ? gapClause
              : k > 0 && (j < lastBreak || k === items)
                ? (itClause[k - 1] as number)
                : -1
          if (c >= 0) conditional(j, k, c)
          continue
        }
        if (gapClause >= 0 && talkWord(j)) talkClause = gapClause
      }
      if (k === items) break
      const c = itClause[k] as number
      if (talkClause >= 0 && c !== talkClause) talkClause = -1
      if (talkClause >= 0) itTalk[k] = 1
      // A talk word or conditional matched as an item ("threatens", "weighs", "if") governs as one between.
      for (let j = itS[k] as number; j < (itE[k] as number); j++) {
        if (talkWord(j)) talkClause = c
        else if (wordIn(j, CONDITIONALS)) conditional(j, k, c)
      }
      from = itE[k] as number
    }
    if (talkConds.length === 0) return
    // The words before a conditional in its clause are talk too ("will retaliate if ...").
    for (let k = 0; k < items; k++) if (talkConds.includes(itClause[k] as number)) itTalk[k] = 1
  }

  /**
   * Token j is a talk word as a verb (TALK_WORDS; "close" and "right" only before "to", "choice" only
   * before "but"; "will" not where its clause dates the act), not a participle describing its noun.
   */
  function talkWord(j: number): boolean {
    if (tb.kind[j] !== WORD || !wordIn(j, TALK)) return false
    const next = j + 1 < tb.count && tb.kind[j + 1] === WORD
    if (wordIn(j, CLOSE_WORD) || wordIn(j, RIGHT_WORD)) return next && wordIn(j + 1, TO_WORD)
    if (wordIn(j, CHOICE_WORD)) return next && wordIn(j + 1, BUT_WORD)
    if (wordIn(j, WILL_WORD)) return !scheduledAfter(j)
    return !attributiveTalk(j)
  }

  /** A word of SCHEDULE_WORDS after token j in its clause ("will take effect on Monday"). */
  function scheduledAfter(j: number): boolean {
    for (let q = j + 1; q < tb.count && q <= j + LOOK_BACK_TOKENS && tb.kind[q] !== BREAK; q++)
      if (tb.kind[q] === WORD && wordIn(q, SCHEDULE_WORDS)) return true
    return false
  }

  /**
   * Token j, a talk word in -ed, is a participle before its noun, which it describes ("Expected US tariffs
   * on Chinese goods take effect", "sign long-expected trade deal", "the widely expected hike"): what the
   * clause does to the noun is done, whatever was expected of it (see the attributive participles of
   * bindOne, RULES.attributiveWeight). Before it: nothing in its clause, a word of ATTRIBUTIVE_LEADS, a
   * determiner or a verb (a predicate item ending there); after it, up to two plain words and an item.
   */
  function attributiveTalk(j: number): boolean {
    const end = tb.end[j] as number
    if (end - (tb.start[j] as number) < 4) return false
    if ((text0.charCodeAt(end - 1) | 32) !== 100 || (text0.charCodeAt(end - 2) | 32) !== 101) return false
    // After it a noun, not an object or a clause ("expected the deal", "expected to", "expected in June").
    let item = -1
    for (let k = 0; k < items; k++)
      if ((it.s[k] as number) > j) {
        item = k
        break
      }
    if (item < 0 || (it.s[item] as number) > j + 3) return false
    for (let q = j + 1; q <= (it.s[item] as number); q++) {
      if (tb.kind[q] === BREAK) return false
      if (tb.kind[q] !== WORD) continue
      if ((wordFlagsAt(q) & (W_PREP | W_AUX | W_MODAL)) !== 0 || wordIn(q, TO_WORD) || wordIn(q, NP_STARTS))
        return false
    }
    if (j === 0 || tb.kind[j - 1] === BREAK) return true
    if (tb.kind[j - 1] !== WORD) return false
    if (wordIn(j - 1, ATTRIBUTIVE_LEADS) || wordIn(j - 1, NP_STARTS)) return true
    // A verb before it takes the noun ("US and China sign expected trade deal").
    for (let k = 0; k < items; k++)
      if ((it.e[k] as number) === j) return ((entInts[(it.idx[k] as number) << 4] as number) & F_PRED) !== 0
    return false
  }

  function markConditions(): void {
    const {
      idx: itIdx,
      s: itS,
      e: itE,
      clause: itClause,
      cond: itCond,
      condHedge: itCondHedge,
      condSrc: itCondSrc,
    } = it
    const window = RULES.bindWindowTokens
    itCond.fill(0, 0, items)
    itCondHedge.fill(1, 0, items)
    itCondSrc.fill(-1, 0, items)
    for (let c = 0; c < items; c++) {
      const f = entInts[(itIdx[c] as number) << 4] as number
      if ((f & F_CONDITION) === 0) continue
      const clause = itClause[c]
      let j = itS[c] as number
      while (j > 0 && (wordFlagsAt(j - 1) & (W_AUX | W_MODAL)) !== 0) j--
      const relative = j > 0 && isRelativePronoun(j - 1)
      if (relative) j--
      const near = relative || (f & F_CONDITION_NEAR) !== 0
      let head = -1
      for (let l = c - 1; l >= 0 && itClause[l] === clause; l--) {
        const end = itE[l] as number
        // A modal matched as a phrase of its own ("could") stands among the words skipped.
        if (end > j) continue
        if (near ? end !== j : j - end > window) break
        if (tradeReading(l)) {
          head = l
          break
        }
        if (near) break
      }
      if (head < 0) continue
      const h = (colEntry[itIdx[c] as number] as Entry).conditionHedge
      let m = head
      while (m > 0 && itClause[m - 1] === clause && (itS[m] as number) - (itE[m - 1] as number) <= 1) m--
      // The noun phrase that depends: from the first item joined to the head to the word.
      for (let d = m; d < c; d++) {
        itCond[d] = 1
        if (h < (itCondHedge[d] as number)) {
          itCondHedge[d] = h
          itCondSrc[d] = c
        }
      }
      const end = itE[c] as number
      for (let r = c + 1; r < items && itClause[r] === clause && (itS[r] as number) - end <= window; r++)
        itCond[r] = 1
    }
  }

  /**
   * Counts a threat, as a hedge or threat word does, for escalation at item m made to depend on terms
   * by the condition word at it.condSrc[m] (see markConditions); the cue spans from `start` to that word.
   */
  function conditionThreat(acc: Accumulator, m: number, key: string, start: number, field: Field): void {
    const c = it.condSrc[m] as number
    if (c < 0) return
    acc.threats++
    const stop = tb.end[(it.e[c] as number) - 1] as number
    addUncertaintyCue(
      joinCue(key, ' + ', colKey[it.idx[c] as number] as string),
      RULES.uncertaintyPerThreat,
      field,
      start,
      stop,
    )
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
    const cues = out.cues
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
    const cues = out.cues
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
    bound: boolean,
  ): void {
    if (!type || out.events.length >= RULES.maxEvents) return
    if (out.events === NO_EVENTS) out.events = []
    const events = out.events
    const dimension = target.tariff >= target.supply ? 'tariff' : 'supplyChain'
    // An act a verb binds, neither threatened nor denied: what the learned layer may not overturn.
    if (bound && !threat && !negated && dimension === 'tariff' && direction !== 0)
      actsDone |= direction > 0 ? ACT_EASING : ACT_ESCALATING
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
    relief = 1,
  ): void {
    if (marketOnly) {
      addCue(acc, M, dir * 0.6, threat, cue, field, start, end)
      return
    }
    if (target.tariff !== 0) {
      let w = dir * target.tariff
      if (relief < 1 && w > 0) {
        // Relief asked for is not relief given ("urges the U.S. to lift sanctions"): the request
        // keeps its relevance to trade policy but little of its direction.
        acc.topic[T] = (acc.topic[T] as number) + RULES.relevanceCueShare * w * (1 - relief)
        w *= relief
      }
      addCue(acc, T, w, threat, cue, field, start, end)
    }
    if (target.supply !== 0) addCue(acc, S, dir * target.supply, threat, cue, field, start, end)
    if (target.market !== 0) addCue(acc, M, dir * target.market, threat, cue, field, start, end)
  }

  /** Adds `value` to entity list `slot` unless it is there (at most 32 per list). */
  function pushUnique(slot: number, value: string): void {
    const list = entityLists[slot] as string[]
    const n = entityCounts[slot] as number
    if (n >= 32) return
    for (let k = 0; k < n; k++) if (list[k] === value) return
    list[n] = value
    entityCounts[slot] = n + 1
  }

  function emit(acc: Accumulator, field: Field): void {
    const {
      idx: itIdx,
      s: itS,
      e: itE,
      clause: itClause,
      neg: itNeg,
      hedge: itHedge,
      hedgeSrc: itHedgeSrc,
      intens: itIntens,
      bound: itBound,
      held: itHeld,
      predOn: itPredOn,
      target: itTarget,
      cond: itCond,
      condHedge: itCondHedge,
      condSrc: itCondSrc,
      talk: itTalk,
    } = it
    const conditional = conditionSeen
    const tStart = tb.start
    const tEnd = tb.end
    const keep = RULES.negationKeep
    const contrastBefore = RULES.contrastBeforeWeight
    const concessive = RULES.concessiveWeight
    for (let k = 0; k < items; k++) {
      const x = itIdx[k] as number
      const f = entInts[x << 4] as number
      // The phrase's key, not its Entry object: only a named entity needs that.
      const key = colKey[x] as string
      const s = tStart[itS[k] as number] as number
      const end = tEnd[(itE[k] as number) - 1] as number
      const negated = itNeg[k] === 1
      const hedge = itHedge[k] as number
      const intens =
        (itIntens[k] as number) *
        ((itS[k] as number) < contrastTok ? contrastBefore : 1) *
        (itClause[k] === concessiveClause ? concessive : 1)
      const negFactor = negated ? -keep : 1

      if ((f & F_ENTITY) !== 0) {
        // "Trump" the name, not "earnings trump jitters" (see CAPITALISED_NAMES).
        const named = (f & F_CAPITALISED) === 0 || capitalisedName(itS[k] as number, itE[k] as number)
        const last = entAt[x + 1] as number
        for (let q = entAt[x] as number; q < last; q++) {
          const slot = entSlot[q] as number
          if (named || slot !== REGIONS) pushUnique(slot, entIds[q] as string)
        }
      }
      // Markers such as "How ..." count only where the headline or a part of it starts.
      const starts = (f & F_INITIAL) === 0 || itS[k] === 0 || tb.kind[(itS[k] as number) - 1] === BREAK
      if ((f & F_CONTEXT) !== 0 && starts) {
        const ds = colDirScale[x] as number
        const ss = colSupScale[x] as number
        const ts = colTradeScale[x] as number
        if (ds < acc.directionScale || ss < acc.supplyScale || ts < acc.tradeScale) {
          acc.tradeScale = Math.min(acc.tradeScale, ts)
          acc.directionScale = Math.min(acc.directionScale, ds)
          acc.supplyScale = Math.min(acc.supplyScale, ss)
          const cues = out.cues
          if (cues.length < RULES.maxCues) {
            // Weight 0: the marker scales the field's trade and supply cues rather than adding one.
            const dim = ss < 1 ? 'supplyChain' : 'tariff'
            cues.push({
              dimension: dim,
              cue: joinCue('context:', ' ', key),
              weight: 0,
              span: { field, start: s, end },
            })
          }
        }
      }
      acc.topic[T] = (acc.topic[T] as number) + (entData[(x << 3) + E_TOPIC_T] as number)
      acc.topic[S] = (acc.topic[S] as number) + (entData[(x << 3) + E_TOPIC_S] as number)
      if ((f & F_UNCERTAINTY) !== 0) {
        const u = entData[(x << 3) + E_UNCERTAINTY] as number
        acc.uncertainty += u
        addUncertaintyCue(key, u, field, s, end)
      }
      if (hedge < 1) {
        acc.threats++
        // The cue spans the hedge or threat word and what it weakened ("threatens ... tariffs").
        const h = itHedgeSrc[k] as number
        const hs = h >= 0 ? (tStart[itS[h] as number] as number) : s
        const hk = h >= 0 ? joinCue(colKey[itIdx[h] as number] as string, ' + ', key) : key
        addUncertaintyCue(hk, RULES.uncertaintyPerThreat, field, Math.min(hs, s), end)
      }

      const t = itTarget[k] as number
      if (itPredOn[k] === 1 && t >= 0) {
        // A predicate bound to its target: direction = sign x polarity (or fixed), then modifiers.
        const pred = predAt(x)
        const tx = itIdx[t] as number
        const tkey = colKey[tx] as string
        const deadlineItem = deadlineOf(pred, k, t)
        const target =
          deadlineItem >= 0
            ? deadlineRole(deadlineItem)
            : pred.policy
              ? exportsRole(salesRole(t, tx), k)
              : targetAt(tx)
        // "adapt to higher duties": the measure is in force and coped with, whatever describes it.
        if ((itHeld[t] as number) > 0 && k !== (itHeld[t] as number) - 1) continue
        // "tariffs won't hurt us": a denied harm holds the measure, in no direction.
        if (deniedHold(pred, k, t) || avoidedByMaking(pred, k)) continue
        // "China will halt new car tariffs": a verb further left takes the noun phrase whole, and
        // the word right before the noun only describes what it acts on.
        if (t > k && adjectiveOf(k) && takenWhole(k, t)) continue
        // "China plans import tariff cuts": a threat or plan takes the noun phrase whole, and the act
        // is the noun heading it.
        // So does a verb of winning ("EU clinches car tariff cut": the cut is won).
        if ((pred.threat || pred.id === 'gain') && t > k && nounActAfter(t)) continue
        // "delay the digital tax plan": a plan named right after its measure heads the noun phrase,
        // and the verb before it acts on the plan, not the plan on the measure.
        if (pred.threat && pred.fixed === 0 && t < k && itE[t] === itS[k] && takenWhole(k, t)) continue
        // "will delay tariff hike set for March 1", "lifts duties imposed on steel": a participle of
        // bringing about right after a measure another verb took describes the measure; it is no act of
        // its own (a verb in its own right is: "Approval of chip sales triggers concerns").
        if (
          pred.kind === 'impose' &&
          t < k &&
          (itE[t] === itS[k] || coverageBetween(itE[t] as number, itS[k] as number)) &&
          ((f & F_PAST) !== 0 || idIn(itS[k] as number, SET_WORDS)) &&
          takerFromLeft(t, k) >= 0
        )
          continue
        // "deal sets tariff at 20%, down from 46%": a verb that only brings the rate about leaves its
        // direction to the figure that compares it with the rate before.
        if (pred.kind === 'impose' && pred.fixed === 0 && figureBinds(k, t)) continue
        // "Britain secures cut in U.S. car tariffs", "wins a reduction of duties": a verb of bringing about
        // right before an act named as a noun (a preposition after it) takes the act, which acts on the
        // measure; the verb does not (it read the measure as brought about, the cut's opposite).
        // (Trade measures only: "opens probe into factory", "launches review of supply chain" stay as read.)
        // Only hoped for or sought ("hopes to secure cut in car tariffs"), the act is too: the verb's hedge
        // goes to it.
        if (pred.sign > 0 && pred.fixed === 0 && t > k + 1 && target.tariff !== 0 && nounActTaken(k, t)) {
          if (hedge < (itHedge[k + 1] as number)) {
            itHedge[k + 1] = hedge
            // With its source, so that relief only asked for stays asked for ("hopes to secure cut").
            itHedgeSrc[k + 1] = itHedgeSrc[k] as number
          }
          continue
        }
        // A quantity with no direction, or a change in no direction ("amend the ban"): bound, no cue.
        if ((target.polarity === 0 || pred.sign === 0) && pred.fixed === 0) continue
        const marketTarget = target.tariff === 0 && target.supply === 0
        // "delays the tariff deadline", "pushes back trade deal deadline": a deadline put off is more
        // time before the measure, as one extended is (a deadline is the one target a pause adds to).
        const deadlinePutOff = pred.kind === 'pause' && target.id === DEADLINE_ROLE.id
        // "to close trade deal": closing a deal (its object, at most an article between) completes it
        // ("closes door on trade deal" shuts the door).
        const dealClosed =
          pred.id === 'halt' &&
          target.id === 'trade_deal' &&
          t > k &&
          (itS[t] as number) - (itE[k] as number) <= 1 &&
          idIn(itS[k] as number, CLOSE_WORDS)
        const sign =
          deadlinePutOff || dealClosed
            ? 1
            : pred.marketSign !== 0 && (marketTarget || (t > k && RAISED_BY_LIFT.has(target)))
              ? pred.marketSign
              : t > k
                ? pred.rightSign
                : pred.sign
        // "negotiate lower tariffs", "agree on reduced duties": a verb that only brings its object about
        // takes the measure as the word right before it describes it, and lower tariffs agreed are
        // tariffs cut.
        const lowered =
          pred.fixed === 0 &&
          (pred.kind === 'more' || pred.kind === 'impose' || pred.kind === 'grant') &&
          cutRightBefore(k, t)
        const raisedTo = !marketTarget && liftedToLevel(pred, k, t, target)
        const won = rateWon(k, t, target.polarity)
        const tightens = pred.kind === 'tighten'
        // "cuts sugar import quota": the level of an allowance is what it lets in (TargetRole.allowance).
        // Eased or loosened, the limit it sets is (EASING_WORDS: "Panama Canal eases draft limit").
        const allowanceLevel =
          target.allowance &&
          pred.fixed === 0 &&
          LEVEL_PREDS.has(pred.id) &&
          !wordIn(itS[k] as number, EASING_WORDS)
        const base =
          (pred.fixed !== 0 ? pred.fixed : sign * target.polarity) *
          (lowered || raisedTo || won ? -1 : 1) *
          (allowanceLevel ? -1 : 1)
        // A stance is taken on the act, whichever way it went: "slams Commerce for denying tariff
        // exclusions" is friction, as "slams tariffs" is (its own negation still counts: "does not oppose").
        const neg = negated || (itNeg[t] === 1 && !(pred.kind === 'stance' && pred.fixed !== 0))
        const marketOnly = target.policyOnly && !pred.policy
        const hedged = Math.min(hedge, itHedge[t] as number)
        // Escalation made to depend on terms is not done yet ("new U.S. tariffs hinge on China
        // talks"; see CONDITIONS): weakened as by a hedge, and only threatened.
        const pending =
          conditional && base * (neg ? -1 : 1) < 0 && !marketOnly && !marketTarget
            ? Math.min(itCondHedge[k] as number, itCondHedge[t] as number)
            : 1
        // A measure averted ("to avert tariffs", "head off tariffs") was never in force: weak relief, no cut.
        const averted =
          pred.kind === 'less' && target.tariff !== 0 && !target.contest && wordIn(itS[k] as number, AVERTS)
        const talk = itTalk[k] === 1 || itTalk[t] === 1
        const threat = pred.threat || hedged < 1 || pending < 1 || talk || averted
        const magnitude =
          pred.strength *
          intens *
          (itIntens[t] as number) *
          Math.min(hedged, pending) *
          (averted ? RULES.avertedWeight : 1)
        // "EU and U.S. fail to agree on steel quotas": an accord on a measure that is not reached is a
        // setback of the talks, whichever way the measure would have gone (negated, agreeing on a
        // measure read as relief).
        const noAccord =
          negated &&
          pred.id === 'progress' &&
          idIn(itS[k] as number, ACCORD_WORDS) &&
          target.polarity < 0 &&
          target.tariff !== 0
        const dir = noAccord ? -Math.abs(base * magnitude * keep) : base * magnitude * (neg ? -keep : 1)
        const relief =
          hedge < 1 || (itHedge[t] as number) < 1 || (entData[(x << 3) + E_RELIEF] as number) < 1
            ? Math.min(reliefOf(k, t), reliefOf(t, t))
            : 1
        // Easing offered on terms is not granted ("tariff relief hinges on Chinese purchases"; see
        // CONDITIONS): no direction and no event, like a change in no direction.
        if (conditional && dir > 0 && !marketOnly && !marketTarget && (itCond[k] === 1 || itCond[t] === 1)) {
          // Still a pending condition: counted like a hedge (uncertainty), unless a hedge already was.
          if (hedged >= 1) {
            const ts0 = tStart[itS[t] as number] as number
            conditionThreat(acc, itCondSrc[t] !== -1 ? t : k, tkey, Math.min(s, ts0), field)
          }
          // Nor do the nouns a frame passes the move on to ("eases trade war fears" on terms).
          if (target.frame) {
            for (let m = t - 1; m >= 0 && m >= t - 2 && m !== k; m--) {
              const mf = entInts[(itIdx[m] as number) << 4] as number
              if ((mf & F_TARGET) === 0 || (mf & F_FRAME) !== 0 || itE[m] !== itS[m + 1]) break
              itBound[m] = 1
            }
          }
          continue
        }
        const ts = tStart[itS[t] as number] as number
        const tend = tEnd[(itE[t] as number) - 1] as number
        const start = Math.min(s, ts)
        const stop = Math.max(end, tend)
        const cue = joinCue(key, ' + ', tkey)
        // Counted like a hedge or threat word (unless one already weakened the pair).
        if (pending < 1 && hedged >= 1) conditionThreat(acc, itCondSrc[t] !== -1 ? t : k, tkey, start, field)
        const m0 = acc.sum[M] as number
        applyToTarget(acc, target, dir, marketOnly, threat, cue, field, start, stop, relief)
        if (marketOnly || marketTarget) acc.plainTone += (acc.sum[M] as number) - m0
        // Harm verbs on a measure ("hit by tariffs") describe its effect, and stance words
        // ("optimistic on NAFTA") an opinion of it, not a new event.
        if (
          !marketOnly &&
          !averted &&
          pred.kind !== 'stance' &&
          !(pred.fixed !== 0 && !pred.threat && target.polarity < 0 && !tightens)
        ) {
          // A fixed good direction (progress, clearing) eases whatever it acts on: more of a good
          // thing, less of a bad one. Tightening is the adverse twin: more of a measure, less of a flow.
          const type =
            (won
              ? target.events.less
              : allowanceLevel
                ? sign < 0
                  ? target.events.more
                  : target.events.less
                : raisedTo || (tightens && target.polarity < 0)
                  ? target.events.more
                  : target.events[pred.kind]) ??
            (pred.fixed > 0
              ? target.polarity > 0
                ? target.events.more
                : target.events.less
              : pred.fixed !== 0 || sign < 0
                ? target.events.less
                : target.events.more)
          addEvent(type, target, dir, threat, neg, field, start, stop, true)
        }
        // Frame nouns pass the move on: "trade war fears ebb" also eases the trade war. A frame of worry
        // moves as itself, as when the compound is named bare: "supply fears grow" is more fear for
        // supply, not more supply. One of hope or expectation moves what it hopes for ("tariff hike
        // prospects recede": fewer tariffs ahead).
        // A threat named after what it threatens passes the move on as a frame does ("trade war threat
        // fades", "no-deal Brexit threat recedes").
        if (target.frame || threatNoun(t)) {
          // (Not through the verb itself: "over trade curb fears" moves no curb.)
          for (let m = t - 1; m >= 0 && m >= t - 2 && m !== k; m--) {
            const mx = itIdx[m] as number
            const mf = entInts[mx << 4] as number
            if ((mf & F_TARGET) === 0 || (mf & F_FRAME) !== 0 || itE[m] !== itS[m + 1]) break
            itBound[m] = 1
            const mt = targetAt(mx)
            const fp = target.polarity < 0 ? target.polarity : mt.polarity
            const mdir = (pred.fixed !== 0 ? pred.fixed : sign * fp) * magnitude * (neg ? -keep : 1)
            const ms = tStart[itS[m] as number] as number
            applyToTarget(
              acc,
              mt,
              mdir,
              false,
              threat,
              joinCue(key, ' + ', colKey[mx] as string),
              field,
              Math.min(s, ms),
              stop,
            )
          }
        }
        continue
      }
      const isTarget = (f & F_TARGET) !== 0
      if (isTarget && itBound[k] === 0) {
        const target = targetAt(x)
        // "trade talk concerns", "supply worries", "deal hopes": an unbound frame noun right after a
        // trade or supply target gives that target the frame's direction.
        const compound = target.frame && k > 0 && itE[k - 1] === itS[k] && itBound[k - 1] === 2
        // "no tariff fears": a negator before the compound negates all of it, wherever it attached.
        const nf = compound && !negated && itNeg[k - 1] === 1 ? -keep : negFactor
        // Easing offered on terms is not granted, and escalation made to depend on them is only
        // threatened ("sanctions on Iran hinge on a nuclear deal"; see CONDITIONS).
        const onTerms = conditional && itCond[k] === 1
        const th =
          onTerms && target.polarity * nf < 0 && (target.tariff !== 0 || target.supply !== 0)
            ? Math.min(hedge, itCondHedge[k] as number)
            : hedge
        // Easing on terms, which reads in no direction, is a pending condition all the same: counted
        // like a hedge, as escalation on terms is ("tariff relief hinges on China talks").
        if (
          hedge >= 1 &&
          (compound || target.bare !== 0) &&
          (th < hedge ||
            (onTerms && target.polarity * nf > 0 && (target.tariff !== 0 || target.supply !== 0)))
        )
          conditionThreat(acc, k, key, compound ? (tStart[itS[k - 1] as number] as number) : s, field)
        if (compound && !(onTerms && target.polarity * nf > 0)) {
          const px = itIdx[k - 1] as number
          const pkey = colKey[px] as string
          const pt = targetAt(px)
          const dir = target.polarity * target.bare * 2 * intens * th * nf
          const ps = tStart[itS[k - 1] as number] as number
          if (pt.tariff !== 0)
            addCue(acc, T, dir * pt.tariff, th < 1, joinCue(pkey, ' ', key), field, ps, end)
          if (pt.supply !== 0)
            addCue(acc, S, dir * pt.supply, th < 1, joinCue(pkey, ' ', key), field, ps, end)
        }
        if (target.bare !== 0 && !(onTerms && target.polarity * nf > 0)) {
          // "no trade talks planned", "not ready to make a deal": a good thing denied is a setback
          // even where naming it alone is near neutral.
          const bare =
            nf < 0 && target.polarity > 0 ? Math.max(target.bare, RULES.negatedBareMin) : target.bare
          // "Costco has a China problem, and it's not tariffs": a measure named only to be set aside
          // by a plain "not" is no news of it, not its removal (which takes a verb or "no"; "will not
          // ban" is a verb phrase denied).
          const setAside = nf < 0 && target.polarity < 0 && setAsideByNot(itS[k] as number)
          const dir = setAside ? 0 : target.polarity * bare * intens * th * nf
          const t0 = acc.sum[T] as number
          const a0 = acc.abs[T] as number
          const talk = itTalk[k] === 1
          applyToTarget(
            acc,
            target,
            dir,
            false,
            th < 1 || talk,
            key,
            field,
            s,
            end,
            hedge < 1 ? reliefOf(k, k) : 1,
          )
          if (itClause[k] === settingClause) {
            acc.settingSum += (acc.sum[T] as number) - t0
            acc.settingAbs += (acc.abs[T] as number) - a0
          }
          // A measure named before a condition is pending, a threat of itself ("Tariff hike on Chinese
          // EVs hinges on EU vote"), as "new tariffs hinge on talks" is.
          const pendingEvent = th < hedge && target.polarity < 0 ? target.events.more : undefined
          addEvent(
            target.events.bare ?? pendingEvent,
            target,
            dir,
            th < 1 || talk,
            nf !== 1,
            field,
            s,
            end,
            false,
          )
        }
        if ((f & F_TONE) !== 0 && target.market === 0) {
          if (target.tariff === 0 && target.supply === 0)
            acc.plainTone += (entData[(x << 3) + E_TONE] as number) * intens * hedge * nf
          addCue(
            acc,
            M,
            (entData[(x << 3) + E_TONE] as number) * intens * hedge * nf,
            hedge < 1,
            key,
            field,
            s,
            end,
          )
        }
        continue
      }
      if (isTarget) continue
      if ((f & F_TONE) !== 0) {
        const w = (entData[(x << 3) + E_TONE] as number) * intens * hedge * negFactor
        acc.plainTone += w
        addCue(acc, M, w, hedge < 1, key, field, s, end)
      }
    }
  }

  function scoreField(text: string, field: Field, acc: Accumulator): void {
    if (acc.used) resetAccumulator(acc)
    if (text.length === 0) {
      // An empty headline leaves no tokens: tb must not keep the last call's for captureWords. An empty
      // body leaves the headline's there, which is what captureWords reads.
      if (field === 'headline') tb.count = 0
      return
    }
    acc.used = true
    text0 = text
    titleCaseField = -1
    tokenize(text, vocab, notId, tb)
    sizeItems(tb.count)
    matchField()
    // Only negators, hedges, intensifiers and light verbs attach to what follows them.
    if ((flagsSeen & (F_NEGATOR | F_HEDGE | F_INTENS | F_LIGHT)) !== 0) attachModifiers()
    if ((flagsSeen & F_DENIES_REPORT) !== 0) deniedReports()
    bindPredicates()
    if (conditionSeen) markConditions()
    markTalk()
    if (field === 'body') backgroundActs()
    emit(acc, field)
    // "After sanctions, X seeks payment in yuan": a measure named bare in the opening setting
    // clause, with no other trade cue and no market move against, is the scene of other news.
    if (acc.settingAbs > 0 && (acc.abs[T] as number) - acc.settingAbs < 1e-9 && acc.plainTone >= 0)
      acc.sum[T] = (acc.sum[T] as number) - acc.settingSum * (1 - RULES.settingWeight)
    if (acc.directionScale < 1 || acc.supplyScale < 1 || acc.tradeScale < 1) {
      // Overviews ("Factbox:") keep their relevance but lose most direction; OPEC output policy is
      // not supply-chain news at all.
      for (let d = T; d <= S; d++) {
        // Not trade news at all (doping sanctions, a regulator's fine): tradeScale on the tariff side.
        const rel = d === S ? acc.supplyScale : acc.tradeScale
        acc.sum[d] = (acc.sum[d] as number) * acc.directionScale * rel
        acc.abs[d] = (acc.abs[d] as number) * rel
        acc.threatAbs[d] = (acc.threatAbs[d] as number) * rel
        acc.topic[d] = (acc.topic[d] as number) * rel
      }
    }
  }

  function combine(h: number, b: number, nb: number): number {
    // b is 0 for an empty body (most calls): h + 0 is h.
    return b === 0 ? h + 0 : h + (RULES.bodyWeight * b) / Math.sqrt(Math.max(1, nb))
  }

  function dimension(dim: number, topicDim: number): ScoreResult['scores']['tariff'] {
    if (
      accH.abs[dim] === 0 &&
      accB.abs[dim] === 0 &&
      accH.topic[topicDim] === 0 &&
      accB.topic[topicDim] === 0
    ) {
      // Not touched at all (most headlines on one dimension or both): what the formulas give for zeros.
      return { score: 0, relevance: 0, confidence: 0, label: ZERO_LABEL }
    }
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

  /** The headline's lexicon words for the learned layer, by vocabulary id, filled from tb. */
  let wordIds = new Int32Array(64)
  const reading = newReading()
  let wordCount = 0

  /** Reads the headline's lexicon words off tb, which must hold the headline's tokens. */
  function captureWords(): void {
    if (wordIds.length < tb.count) wordIds = new Int32Array(tb.count * 2)
    let n = 0
    for (let t = 0; t < tb.count; t++) {
      const id = tb.id[t] as number
      if (id >= 0 && id < LEXICON_WORDS && tb.kind[t] === WORD) wordIds[n++] = id
    }
    wordCount = n
  }

  function features(input: ScoreInput): { rule: ScoreResult; features: Feature[]; reads: boolean } {
    const rule = run(input, false)
    const reads = learnedReads(rule.scores.tariff, actsDone)
    // The headline's tokens again (the body's may be in tb).
    tokenize((input.headline ?? '').slice(0, maxChars), vocab, notId, tb)
    captureWords()
    const words = Array.from(wordIds.subarray(0, wordCount), (id) => LEXICON.vocab.words[id] as string)
    return { rule, features: tariffFeatures(rule, words), reads }
  }

  function score(input: ScoreInput): ScoreResult {
    return run(input, model !== null)
  }

  function run(input: ScoreInput, withModel: boolean): ScoreResult {
    let headline = input.headline ?? ''
    let body = input.body ?? ''
    // A body of blanks is no body (the layer reads headline-only inputs).
    if (isBlank(body)) body = ''
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
    out = newOutputs()
    actsDone = 0
    entityCounts[REGIONS] = 0
    entityCounts[COMMODITIES] = 0
    entityCounts[SECTORS] = 0
    entityCounts[COMPANIES] = 0
    const { cues } = out
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
    const entities: Entities = {
      regions: take(entityLists[REGIONS] as string[], entityCounts[REGIONS] as number),
      commodities: take(entityLists[COMMODITIES] as string[], entityCounts[COMMODITIES] as number),
      sectors: take(entityLists[SECTORS] as string[], entityCounts[SECTORS] as number),
      companies: take(entityLists[COMPANIES] as string[], entityCounts[COMPANIES] as number),
    }
    const result: ScoreResult = {
      scores: {
        tariff,
        supplyChain,
        market: { score: round(marketScore), label: labelOf(marketScore, RULES.marketNeutralBand) },
        uncertainty: round(1 - exp(-u)),
      },
      events: out.events,
      entities,
      explanation: cues,
      scorerVersion: withModel ? versionWithModel : versionRulesOnly,
      truncated,
    }
    // The learned layer reads the headlines the rules label, short of a strong score; it may take the
    // label back (null) or change the direction, never make a headline relevant the rules did not.
    // With no body, tb still holds the headline's tokens. With a body the rules decide alone: the layer
    // was trained and checked on headlines, and body cues move the rule features it reads.
    if (withModel && model !== null && body.length === 0 && learnedReads(tariff, actsDone)) {
      captureWords()
      const m = model.read(result, wordIds, wordCount, reading)
      const ruleScore = tariff.score
      // tariff is this call's own object. The learned layer decides the label; the score keeps the
      // rules' strength (how hard the words push), with the layer's sign, inside the neutral band for
      // a neutral label, so that thresholds on the score still mean what they meant; confidence is
      // at most the layer's.
      const band = RULES.neutralBand
      if (m.label === null) {
        // Rounding must not lift it back to the minimum a label needs.
        tariff.relevance = Math.min(round(Math.min(tariff.relevance, m.relevance)), RULES.relevanceMin - 1e-4)
      } else if (m.label === 'neutral') {
        tariff.score = Math.max(-band, Math.min(band, ruleScore))
      } else {
        tariff.score = round((m.label === 'positive' ? 1 : -1) * Math.max(Math.abs(ruleScore), band + 1e-4))
      }
      tariff.confidence = round(Math.min(tariff.confidence, m.confidence))
      tariff.label = m.label
      if (cues.length >= RULES.maxCues) cues.pop()
      cues.push({
        dimension: 'tariff',
        cue: LEARNED_CUE[m.label ?? 'none'],
        weight: round(tariff.score - ruleScore),
        span: { field: 'headline', start: 0, end: headline.length },
      })
    }
    return result
  }

  return { score, features }
}
