// Builds the run-time lexicon from the data files once, at module load: a vocabulary (word → id)
// and a trie of word ids, so matching a text is one Map lookup per word plus a walk of the longest
// phrase starting there. Every phrase becomes one Entry carrying all the roles its words play.
import type { EventType } from '@tradepulse/contracts'
import { fold } from './chars.ts'
import { CAPITALISED_NAMES, COMMODITIES, EU_MEMBERS, REGIONS, SECTORS } from './data/entities.ts'
import {
  CLAUSE_BREAKS,
  CONCESSIVES,
  CONDITIONS,
  CONTEXT_MARKERS,
  CONTRASTS,
  FUNCTION_WORDS,
  HEDGES,
  INERT,
  INTENSIFIERS,
  LIGHT_VERBS,
  NEGATOR_DETERMINERS,
  NEGATORS,
  NOT_NEGATIONS,
  PREDICATES,
  REPORT_DENIALS,
  SETTINGS,
  TARGETS,
  TONE,
  TOPICS,
  UNCERTAINTY,
} from './data/lexicon.ts'
import { expandWord } from './inflect.ts'
import { addWord, createVocabulary, freeze, type Vocabulary } from './vocabulary.ts'

export interface TargetRole {
  id: string
  polarity: number
  bare: number
  tariff: number
  supply: number
  market: number
  /** Only acts of policy (halt, ban, license) move it on trade or supply; reported moves touch market. */
  policyOnly: boolean
  /** A frame noun (fears, hopes) passes its predicate on to the targets right before it. */
  frame: boolean
  /** A contest (a trade war, tensions): named after "in" or "amid" it is an act's setting, not its object. */
  contest: boolean
  /** An answer to a measure (retaliation): the measure named after "against" is what it answers. */
  answers: boolean
  /**
   * Only a predicate that takes topics binds it (PredRole.takesTopic: "optimistic on trade", "progress
   * on trade"): trade named as a topic, which no act moves.
   */
  stanceOnly: boolean
  /**
   * Taken as a verb's object, it is no subject of a verb after it ("signs deal backing vaccine"):
   * bare deals and talks, whose next verb is mostly a purpose or a relative clause.
   */
  objectOnce: boolean
  /**
   * A place goods pass through (a port): only acts on it move it ("shuts Port of Baltimore", "port
   * reopens", "strike paralyses port"), not a plan, a warning, a probe or a win named with it ("Nokia eyes
   * Malaysian ports for 5G business", "Port of Dover warns of gridlock").
   */
  actedOn: boolean
  /**
   * An allowance that a measure sets (an import quota): a level raised lets more in, a level cut lets
   * less in, the opposite of a measure's own level ("cuts import quota" tightens, "raises quota" eases),
   * while imposing or lifting it acts as on any measure.
   */
  allowance: boolean
  events: Readonly<Record<string, EventType | undefined>>
}

export interface PredRole {
  id: string
  /** +1 more of the target, -1 less. */
  sign: number
  /** Sign when the target stands after the verb ("slipped to a loss" = became a loss). */
  rightSign: number
  /** Sign on market-only targets ("profit lifted" is a rise, "tariffs lifted" a removal). */
  marketSign: number
  /** When not 0, the direction whatever the target's polarity (harm verbs, threats). */
  fixed: number
  kind: string
  policy: boolean
  /** May move market-only targets (profit, shares); acts such as impose or license may not. */
  marketOk: boolean
  strength: number
  /** Threat verbs ("threatens", "weighs") whose act is only proposed. */
  threat: boolean
  /**
   * Takes only an object after it: with none in reach it is used intransitively and binds nothing
   * ("as a trade deal delay weighs" is a burden, not a proposal of the deal).
   */
  objectOnly: boolean
  /**
   * Denied, it holds its target like coping does ("tariffs won't hurt us", "not affected by the
   * trade war"): the measure is in force and does not move, so no direction, not the opposite one.
   */
  deniedHolds: boolean
  /** Binds a target named as a topic (TargetRole.stanceOnly): stances, and progress made on it. */
  takesTopic: boolean
}

export interface Entry {
  key: string
  target: TargetRole | null
  pred: PredRole | null
  /** A light verb ("agree to", "sign", "set to"): when another predicate follows it, that one is the act. */
  light: boolean
  negator: boolean
  /** A determiner negator ("no"): it negates only the noun phrase right after it. */
  shortNegator: boolean
  /** Weight factor of a hedge (< 1), 1 when the entry is no hedge. */
  hedge: number
  intens: number
  tone: number
  hasTone: boolean
  clauseBreak: boolean
  /** A contrast word ("but", "however"): what comes before it weighs less than what follows. */
  contrast: boolean
  /** Denies, after it, what a report said (REPORT_DENIALS: "reports of talks collapse 'untrue'"). */
  deniesReport: boolean
  /** A concessive word ("despite"): the clause after it is background and weighs little. */
  concessive: boolean
  /** A setting word ("after", "amid"): opening the field, its clause sets the scene (see SETTINGS). */
  setting: boolean
  /**
   * A condition (see CONDITIONS): 1 when easing in the noun phrase before it and in its terms after
   * it is not granted, 2 the same with that noun phrase right before it; 0 for most words.
   */
  condition: number
  /**
   * A condition's factor on escalation in the noun phrase before it, which then reads as a threat
   * (see CONDITIONS `hedge`): below 1 for "depends on", "hinges on" and the like, 1 for most words.
   */
  conditionHedge: number
  /**
   * Factor on the de-escalating side of the tariff dimension where this word acts, 1 for most.
   * Below 1 for request hedges ("urges the U.S. to remove sanctions" asks for relief, which is not
   * relief) and for predicates of persistence or novelty on good things ("talks to continue", "a
   * new trade deal": news of them, not progress). Escalation keeps its weight.
   */
  relief: number
  /** Its predicate role is taken by the third-person present form of a verb ("ends", "lifts"). */
  presentS: boolean
  /** Its predicate role is taken by the past participle of a verb ("removed", "rolled back"). */
  past: boolean
  /** A context marker that counts only at the start of the field or of a clause ("How ...", "Analysis:"). */
  initialOnly: boolean
  uncertainty: number
  topicTariff: number
  topicSupply: number
  /**
   * Regions named, as ISO codes: one for a region's name (an EU member's name also gives 'EU' after
   * its own code, see EU_MEMBERS), each one a phrase names ("U.S.-China tensions").
   */
  regions: readonly string[] | null
  /** Its regions count only where its first word is written with a capital (see CAPITALISED_NAMES). */
  regionsCapitalised: boolean
  /** Context marker: factor on the field's trade and supply direction ("Factbox:" = overview). */
  directionScale: number
  /** Context marker: factor on the field's supply-chain relevance and direction (OPEC output policy). */
  supplyScale: number
  /** Context marker: factor on the field's trade relevance and direction (doping sanctions, fines). */
  tradeScale: number
  /** Commodity ids; a name listed under several ids ("rare earth magnets") gives them all. */
  commodities: readonly string[] | null
  sector: string | null
  company: string | null
  /** Row of the entry in its EntryTable (see entryTable), -1 before it is given one. */
  index: number
}

// Bits of an entry's flags (EntryTable): what an entry is, readable without touching the Entry object.
export const F_PRED = 1
export const F_TARGET = 2
export const F_LIGHT = 4
export const F_NEGATOR = 8
export const F_TONE = 16
export const F_CLAUSE_BREAK = 32
export const F_CONTRAST = 64
/** Its predicate is a threat verb ("threatens", "weighs"). */
export const F_THREAT = 128
/** Names a region, commodity, sector or company. */
export const F_ENTITY = 256
export const F_COMPANY = 512
/** A context marker (directionScale, supplyScale or tradeScale below 1). */
export const F_CONTEXT = 1024
export const F_HEDGE = 2048
export const F_INTENS = 4096
export const F_UNCERTAINTY = 8192
/** Its target is a frame noun (fears, hopes). */
export const F_FRAME = 16384
export const F_CONCESSIVE = 32768
/** See Entry.presentS. */
export const F_PRESENT_S = 65536
/** See Entry.initialOnly. */
export const F_INITIAL = 131072
/** See Entry.shortNegator. */
export const F_SHORT_NEG = 262144
/** See Entry.past. */
export const F_PAST = 524288
/** See Entry.setting. */
export const F_SETTING = 1048576
/** See Entry.condition (any value but 0). */
export const F_CONDITION = 2097152
/** See Entry.condition (2: the noun phrase right before it). */
export const F_CONDITION_NEAR = 4194304
/** See Entry.regionsCapitalised. */
export const F_CAPITALISED = 8388608
/** Its target answers a measure (see TargetRole.answers). */
export const F_ANSWERS = 16777216
/** A predicate that puts off what it takes (kind `pause`: "delays", "holds off"). */
export const F_PAUSE = 33554432
/** See Entry.deniesReport. */
export const F_DENIES_REPORT = 67108864
/** A predicate that stops what it takes (the `halt` role: "stops", "halts"; see pausedActs). */
export const F_HALT = 134217728
/** A predicate of disapproval (the `stance_bad` role: "opposed to", "slams"; see pausedActs). */
export const F_OPPOSE = 268435456
/** A predicate of poor prospects (the `unlikely` role: "unlikely", "off the table"; see deniedActs). */
export const F_PROSPECT = 536870912
/** A target of talks or a deal (its `less` event is talks_breakdown: see the scorer's markTalkTopics). */
export const F_TALKS = 1073741824

// Layout of EntryTable.data: E_STRIDE doubles per entry, so that what the scorer reads of a
// matched phrase sits on one cache line. The first double holds two int32s, read through
// EntryTable.ints at entry * 2 * E_STRIDE: the flags, then the role indices (predicate + 1, and
// target + 1 shifted by ROLE_SHIFT; 0 = none) into EntryTable.preds and .targets.
export const E_STRIDE = 8
export const E_HEDGE = 1
export const E_INTENS = 2
export const E_TONE = 3
export const E_UNCERTAINTY = 4
export const E_TOPIC_T = 5
export const E_TOPIC_S = 6
export const E_RELIEF = 7
export const ROLE_SHIFT = 16

/**
 * The entries' flags, role indices and numeric fields, indexed by Entry.index. The scorer's loops
 * read these for every matched phrase: one line of a typed array stays in cache where thousands of
 * Entry objects (and their boxed doubles) scattered over the heap missed it on most phrases.
 */
export interface EntryTable {
  entries: Entry[]
  /** Entry.key of each entry: the cues name their phrases by it, which an Entry object holds far from its start. */
  keys: string[]
  data: Float64Array
  /** The same memory as int32s: flags at 2 * E_STRIDE * index, roles right after. */
  ints: Int32Array
  preds: PredRole[]
  targets: TargetRole[]
  /**
   * The entity ids each entry names (F_ENTITY), flattened: entry x's are entityIds[entityAt[x],
   * entityAt[x + 1]), each for the list entitySlot gives (ENTITY_REGIONS...), in the order the
   * result lists them: Entry.regions, Entry.commodities, Entry.sector, Entry.company. The scorer reads
   * these for every named place or good of a headline (most have one or two), where the fields of
   * the Entry objects, thousands of them spread over the heap, missed the cache.
   */
  entityAt: Int32Array
  entitySlot: Uint8Array
  entityIds: string[]
  /** Context markers only (F_CONTEXT), read rarely. */
  directionScale: Float64Array
  supplyScale: Float64Array
  tradeScale: Float64Array
}

/** Lists of ScoreResult.entities, by EntryTable.entitySlot. */
export const ENTITY_REGIONS = 0
export const ENTITY_COMMODITIES = 1
export const ENTITY_SECTORS = 2
export const ENTITY_COMPANIES = 3

/** Numbers `entries` 0, 1, 2… (setting each Entry.index) and lays out their table. */
export function entryTable(entries: readonly Entry[]): EntryTable {
  const n = entries.length
  const data = new Float64Array(n * E_STRIDE)
  const t: EntryTable = {
    entries: [...entries],
    keys: entries.map((e) => e.key),
    entityAt: new Int32Array(n + 1),
    entitySlot: new Uint8Array(0),
    entityIds: [],
    data,
    ints: new Int32Array(data.buffer),
    preds: [],
    targets: [],
    directionScale: new Float64Array(n),
    supplyScale: new Float64Array(n),
    tradeScale: new Float64Array(n),
  }
  const predIndex = new Map<PredRole, number>()
  const targetIndex = new Map<TargetRole, number>()
  for (let i = 0; i < n; i++) {
    const e = entries[i] as Entry
    e.index = i
    let f = 0
    if (e.pred) f |= F_PRED
    if (e.pred?.threat) f |= F_THREAT
    if (e.target) f |= F_TARGET
    if (e.target?.frame) f |= F_FRAME
    if (e.target?.answers) f |= F_ANSWERS
    if (e.light) f |= F_LIGHT
    if (e.pred?.kind === 'pause') f |= F_PAUSE
    if (e.pred?.id === 'halt') f |= F_HALT
    if (e.pred?.id === 'stance_bad') f |= F_OPPOSE
    if (e.pred?.id === 'unlikely') f |= F_PROSPECT
    if (e.target?.events.less === 'talks_breakdown') f |= F_TALKS
    if (e.negator) f |= F_NEGATOR
    if (e.shortNegator) f |= F_SHORT_NEG
    if (e.hasTone) f |= F_TONE
    if (e.clauseBreak) f |= F_CLAUSE_BREAK
    if (e.contrast) f |= F_CONTRAST
    if (e.deniesReport) f |= F_DENIES_REPORT
    if (e.concessive) f |= F_CONCESSIVE
    if (e.setting) f |= F_SETTING
    if (e.condition !== 0) f |= F_CONDITION
    if (e.condition === 2) f |= F_CONDITION_NEAR
    if (e.presentS) f |= F_PRESENT_S
    if (e.past) f |= F_PAST
    if (e.initialOnly) f |= F_INITIAL
    if (e.regions || e.commodities || e.sector || e.company) f |= F_ENTITY
    if (e.company) f |= F_COMPANY
    if (e.regionsCapitalised) f |= F_CAPITALISED
    if (e.directionScale < 1 || e.supplyScale < 1 || e.tradeScale < 1) f |= F_CONTEXT
    if (e.hedge < 1) f |= F_HEDGE
    if (e.intens !== 1) f |= F_INTENS
    if (e.uncertainty > 0) f |= F_UNCERTAINTY
    let roles = 0
    if (e.pred) {
      let p = predIndex.get(e.pred)
      if (p === undefined) {
        p = t.preds.length
        t.preds.push(e.pred)
        predIndex.set(e.pred, p)
      }
      roles |= p + 1
    }
    if (e.target) {
      let q = targetIndex.get(e.target)
      if (q === undefined) {
        q = t.targets.length
        t.targets.push(e.target)
        targetIndex.set(e.target, q)
      }
      roles |= (q + 1) << ROLE_SHIFT
    }
    const at = i * E_STRIDE
    t.ints[at * 2] = f
    t.ints[at * 2 + 1] = roles
    data[at + E_HEDGE] = e.hedge
    data[at + E_INTENS] = e.intens
    data[at + E_TONE] = e.tone
    data[at + E_UNCERTAINTY] = e.uncertainty
    data[at + E_TOPIC_T] = e.topicTariff
    data[at + E_TOPIC_S] = e.topicSupply
    data[at + E_RELIEF] = e.relief
    t.directionScale[i] = e.directionScale
    t.supplyScale[i] = e.supplyScale
    t.tradeScale[i] = e.tradeScale
  }
  if (t.preds.length >= 1 << ROLE_SHIFT || t.targets.length >= 1 << 15) throw new RangeError('too many roles')
  const slots: number[] = []
  const name = (slot: number, id: string) => {
    slots.push(slot)
    t.entityIds.push(id)
  }
  for (let i = 0; i < n; i++) {
    const e = entries[i] as Entry
    t.entityAt[i] = t.entityIds.length
    if (e.regions) for (const id of e.regions) name(ENTITY_REGIONS, id)
    if (e.commodities) for (const id of e.commodities) name(ENTITY_COMMODITIES, id)
    if (e.sector) name(ENTITY_SECTORS, e.sector)
    if (e.company) name(ENTITY_COMPANIES, e.company)
  }
  t.entityAt[n] = t.entityIds.length
  t.entitySlot = Uint8Array.from(slots)
  return t
}

export interface TrieNode {
  next: Map<number, TrieNode> | null
  entry: Entry | null
}

/**
 * The phrase trie compiled into flat arrays for matching. Nodes are numbered; a node's children are
 * the edges first[node] .. first[node + 1], sorted by word id. Walking it touches a few small typed
 * arrays instead of a chain of node objects and Maps scattered over the heap, which missed the
 * cache on most tokens.
 */
export interface FlatTrie {
  /** Node of each word id at the first level, -1 when no phrase starts with the word. */
  root: Int32Array
  /** Entry of the phrase ending at each node, or null. */
  entry: (Entry | null)[]
  /** Entry.index of the phrase ending at each node, or -1 (set once the entries are numbered). */
  entryIndex: Int32Array
  first: Int32Array
  edgeWord: Int32Array
  edgeNode: Int32Array
}

export interface Lexicon {
  vocab: Vocabulary
  /** First trie level, indexed by word id (an array: one load per token on the hot path). */
  root: (TrieNode | undefined)[]
  /** The same trie, flattened for the hot path (see FlatTrie). */
  trie: FlatTrie
  /** Every entry of the trie, numbered in this order (Entry.index). */
  entries: Entry[]
  /**
   * Two ints per word id: the entry of the word alone (-1 if none), then its trie node when longer
   * phrases start with it (-1 if none). One load tells most words everything the matcher needs.
   */
  wordInfo: Int32Array
  notId: number
  usId: number
  toId: number
  fromId: number
  /** Unit words between a number and "from"/"to" ("eur", "million", "percent"), by vocab id. */
  units: Set<number>
  /** Words that link two figures being compared ("versus", "compared with"), by vocab id. */
  compareIds: Set<number>
  /** Words skipped between a comparison word and its figure; `negativeIds` also flip its sign. */
  fillerIds: Set<number>
  negativeIds: Set<number>
  comparedId: number
  /** Prepositions that introduce the cause of a reported move ("slump on fears"), by vocab id. */
  causeIds: Set<number>
  /** Forms of "be" before a participle ("could be removed"): a passive, said of what came before. */
  auxIds: Set<number>
  /** Auxiliaries of the perfect ("has granted"): the participle after them is an act, not a state. */
  perfectIds: Set<number>
  /** Prepositions: the noun phrase a determiner negator ("no") covers ends at one ("no illusions about"). */
  prepIds: Set<number>
  /** Modals and "do" ("will not ban"): a "not" after them denies a verb phrase, not a noun. */
  modalIds: Set<number>
}

export function newEntry(key: string): Entry {
  return {
    key,
    target: null,
    pred: null,
    light: false,
    negator: false,
    shortNegator: false,
    hedge: 1,
    intens: 1,
    tone: 0,
    hasTone: false,
    clauseBreak: false,
    contrast: false,
    deniesReport: false,
    concessive: false,
    setting: false,
    condition: 0,
    conditionHedge: 1,
    relief: 1,
    presentS: false,
    past: false,
    initialOnly: false,
    uncertainty: 0,
    topicTariff: 0,
    topicSupply: 0,
    regions: null,
    regionsCapitalised: false,
    directionScale: 1,
    supplyScale: 1,
    tradeScale: 1,
    commodities: null,
    sector: null,
    company: null,
    index: -1,
  }
}

/**
 * Splits a phrase (authored, or a watchlist name) into the keys the tokenizer produces for it: case
 * folded as the tokenizer folds (ASCII and Latin-1 capitals only: "ΩMEGA" is read as "Ωmega"), dotted
 * capitals joined ("U.S. Steel" → us, steel; "S.A.I.C." → saic), a possessive 's dropped, split where
 * the tokenizer ends a word (white space, hyphens, dashes, slashes, dots, and the punctuation that ends
 * a clause or quotes: "Apple!" → apple).
 */
export function phraseKeys(phrase: string): string[] {
  let folded = ''
  for (let i = 0; i < phrase.length; i++) folded += String.fromCharCode(fold(phrase.charCodeAt(i)))
  return folded
    .replace(/['’]s\b/g, '')
    .replace(/(?<![a-z0-9])(?:[a-z]\.){2,}/g, (m) => m.replaceAll('.', ''))
    .split(/[\s\-–—/,.:;()!?[\]{}|"“”‘*#@$%=<>~^`\\]+/)
    .filter((w) => w.length > 0)
}

const GRAMMAR: ReadonlySet<string> = new Set(FUNCTION_WORDS)

/**
 * Whether the text's words (phraseKeys) are all words of grammar (FUNCTION_WORDS): as a company name it
 * would tag nearly every headline.
 */
export function onlyFunctionWords(text: string): boolean {
  const keys = phraseKeys(text)
  return keys.length > 0 && keys.every((k) => GRAMMAR.has(k))
}

export function wordId(vocab: Vocabulary, word: string): number {
  return addWord(vocab, word)
}

/** Inserts `phrase` into a trie and returns its entry (shared when the phrase is already there). */
export function insertPhrase(
  vocab: Vocabulary,
  root: (TrieNode | undefined)[],
  phrase: string,
): Entry | null {
  const keys = phraseKeys(phrase)
  if (keys.length === 0) return null
  const firstId = wordId(vocab, keys[0] as string)
  let node = root[firstId]
  if (!node) {
    node = { next: null, entry: null }
    root[firstId] = node
  }
  for (let k = 1; k < keys.length; k++) {
    const id = wordId(vocab, keys[k] as string)
    if (!node.next) node.next = new Map()
    let child: TrieNode | undefined = node.next.get(id)
    if (!child) {
      child = { next: null, entry: null }
      node.next.set(id, child)
    }
    node = child
  }
  if (!node) return null
  if (!node.entry) node.entry = newEntry(keys.join(' '))
  return node.entry
}

/** Compiles a trie (first level indexed by word id, `words` ids) into a FlatTrie. */
export function flattenTrie(root: readonly (TrieNode | undefined)[], words: number): FlatTrie {
  const nodes: TrieNode[] = []
  const rootNode = new Int32Array(words).fill(-1)
  for (let id = 0; id < words; id++) {
    const n = root[id]
    if (n) {
      rootNode[id] = nodes.length
      nodes.push(n)
    }
  }
  // Breadth first: children are numbered as their parent's edges are laid out (the trie is a tree).
  const first: number[] = []
  const edgeWord: number[] = []
  const edgeNode: number[] = []
  for (let k = 0; k < nodes.length; k++) {
    first.push(edgeWord.length)
    const next = (nodes[k] as TrieNode).next
    if (!next) continue
    for (const [word, child] of [...next.entries()].sort((a, b) => a[0] - b[0])) {
      edgeWord.push(word)
      edgeNode.push(nodes.length)
      nodes.push(child)
    }
  }
  first.push(edgeWord.length)
  return {
    root: rootNode,
    entry: nodes.map((n) => n.entry),
    entryIndex: new Int32Array(nodes.length).fill(-1),
    first: Int32Array.from(first),
    edgeWord: Int32Array.from(edgeWord),
    edgeNode: Int32Array.from(edgeNode),
  }
}

/** Child of `node` along word id `word`, or -1. */
export function trieChild(t: FlatTrie, node: number, word: number): number {
  let lo = t.first[node] as number
  let hi = t.first[node + 1] as number
  const words = t.edgeWord
  // Most nodes have one or two children and are scanned; the few wide ones ("trade ...") are
  // narrowed by halving first.
  while (hi - lo > 8) {
    const mid = (lo + hi) >>> 1
    if ((words[mid] as number) < word) lo = mid + 1
    else hi = mid + 1
  }
  for (; lo < hi; lo++) if (words[lo] === word) return t.edgeNode[lo] as number
  return -1
}

function eachForm(
  words: readonly string[],
  fn: (form: string, presentS: boolean, past: boolean) => void,
): void {
  // expandWord lists a verb's forms base first, then the third-person present ("v end" → end, ends),
  // then the past ("ended") and the -ing form.
  for (const w of words) {
    const forms = expandWord(w)
    const verb = w.startsWith('v ')
    for (let k = 0; k < forms.length; k++) {
      const f = forms[k] as string
      fn(f, k === 1 && verb, verb && k >= 2 && /^[a-z]+ed\b/.test(f))
    }
  }
}

function buildLexicon(): Lexicon {
  const vocab = createVocabulary()
  const root: (TrieNode | undefined)[] = []
  // Phrases of two or more words, for the regions their words name (see the end).
  const phrases = new Map<Entry, string[]>()
  const add = (phrase: string) => {
    const e = insertPhrase(vocab, root, phrase)
    const keys = phraseKeys(phrase)
    if (e && keys.length > 1) phrases.set(e, keys)
    return e
  }

  // Every target's events in one shape: the event of the bare noun, of more and of less, then of each
  // predicate kind, undefined where the data names none. The scorer reads them at every bound pair, and
  // objects of the data's eight shapes made each of those reads a lookup (a megamorphic inline cache).
  const eventKeys = [
    ...new Set([
      'bare',
      'more',
      'less',
      ...PREDICATES.map((p) => p.kind as string),
      ...TARGETS.flatMap((t) => Object.keys(t.events)),
    ]),
  ]
  const eventsOf = (events: object): Record<string, EventType | undefined> => {
    const named = events as Record<string, EventType | undefined>
    const all: Record<string, EventType | undefined> = {}
    for (const k of eventKeys) all[k] = Object.hasOwn(named, k) ? named[k] : undefined
    return all
  }
  // Order matters only where a phrase has two values for one role: the first list wins.
  for (const t of TARGETS) {
    const dims = t.dims as { tariff?: number; supplyChain?: number; market?: number }
    const role: TargetRole = {
      id: t.id,
      polarity: t.polarity,
      bare: t.bare,
      tariff: dims.tariff ?? 0,
      supply: dims.supplyChain ?? 0,
      market: dims.market ?? 0,
      policyOnly: 'policyOnly' in t ? t.policyOnly : false,
      frame: 'frame' in t ? t.frame : false,
      contest: 'contest' in t ? t.contest : false,
      answers: 'answers' in t ? t.answers : false,
      stanceOnly: 'stanceOnly' in t ? t.stanceOnly : false,
      objectOnce: 'objectOnce' in t ? t.objectOnce : false,
      actedOn: 'actedOn' in t ? t.actedOn : false,
      allowance: 'allowance' in t ? t.allowance : false,
      events: eventsOf(t.events),
    }
    const topic = t.topic as { tariff?: number; supplyChain?: number }
    eachForm(t.words, (f) => {
      const e = add(f)
      if (!e) return
      if (!e.target) e.target = role
      e.topicTariff = Math.max(e.topicTariff, topic.tariff ?? 0)
      e.topicSupply = Math.max(e.topicSupply, topic.supplyChain ?? 0)
    })
  }
  for (const p of PREDICATES) {
    const role: PredRole = {
      id: p.id,
      sign: p.sign,
      rightSign: 'rightSign' in p ? p.rightSign : p.sign,
      marketSign: 'marketSign' in p ? p.marketSign : 0,
      fixed: 'fixed' in p ? p.fixed : 0,
      kind: p.kind,
      policy: p.policy,
      marketOk: p.marketOk,
      strength: p.strength,
      threat: false,
      objectOnly: 'objectOnly' in p ? p.objectOnly : false,
      deniedHolds: 'deniedHolds' in p ? p.deniedHolds : false,
      takesTopic: p.kind === 'stance' || ('takesTopic' in p && p.takesTopic === true),
    }
    eachForm(p.words, (f, presentS, past) => {
      const e = add(f)
      if (e && !e.pred) {
        e.pred = role
        e.presentS = presentS
        e.past = past
        if ('relief' in p && p.relief !== undefined) e.relief = Math.min(e.relief, p.relief)
        if (!e.hasTone && p.tone !== 0) {
          e.tone = p.tone
          e.hasTone = true
        }
      }
    })
  }
  // TONE is applied after predicates so that its value replaces a predicate's default tone; within
  // TONE the first list that names a phrase wins.
  const toned = new Set<Entry>()
  for (const [weight, words] of TONE) {
    eachForm(words, (f) => {
      const e = add(f)
      if (!e || toned.has(e)) return
      toned.add(e)
      e.tone = weight
      e.hasTone = true
    })
  }
  const hedgeMore: PredRole = {
    id: 'threat',
    sign: 1,
    rightSign: 1,
    marketSign: 0,
    fixed: 0,
    kind: 'more',
    policy: true,
    marketOk: false,
    strength: 1,
    threat: true,
    objectOnly: false,
    deniedHolds: false,
    takesTopic: false,
  }
  const hedgeAdverse: PredRole = { ...hedgeMore, id: 'threaten', fixed: -1 }
  const hedgeMoreObject: PredRole = { ...hedgeMore, id: 'threat_object', objectOnly: true }
  for (const h of HEDGES) {
    eachForm(h.words, (f) => {
      const e = add(f)
      if (!e) return
      e.hedge = Math.min(e.hedge, h.factor)
      if ('relief' in h && h.relief !== undefined) e.relief = Math.min(e.relief, h.relief)
      if (h.pred && !e.pred) {
        const objectOnly = 'objectOnly' in h && h.objectOnly === true
        e.pred = h.pred === 'adverse' ? hedgeAdverse : objectOnly ? hedgeMoreObject : hedgeMore
      }
    })
  }
  eachForm(LIGHT_VERBS, (f) => {
    const e = add(f)
    if (e) e.light = true
  })
  eachForm(NEGATORS, (f) => {
    const e = add(f)
    if (e && !e.pred && !e.target) e.negator = true
  })
  eachForm(NEGATOR_DETERMINERS, (f) => {
    const e = add(f)
    if (e?.negator) e.shortNegator = true
  })
  for (const g of INTENSIFIERS) {
    eachForm(g.words, (f) => {
      const e = add(f)
      if (e && e.intens === 1) e.intens = g.factor
    })
  }
  for (const c of CONTEXT_MARKERS) {
    eachForm(c.words, (f) => {
      const e = add(f)
      if (!e) return
      e.directionScale = Math.min(e.directionScale, c.direction)
      e.supplyScale = Math.min(e.supplyScale, c.supplyChain)
      if ('trade' in c && c.trade !== undefined) e.tradeScale = Math.min(e.tradeScale, c.trade)
      if ('initial' in c && c.initial) e.initialOnly = true
    })
  }
  eachForm(CLAUSE_BREAKS, (f) => {
    const e = add(f)
    if (e) e.clauseBreak = true
  })
  eachForm(CONCESSIVES, (f) => {
    const e = add(f)
    if (e) {
      e.clauseBreak = true
      e.concessive = true
    }
  })
  eachForm(SETTINGS, (f) => {
    const e = add(f)
    if (e) {
      e.clauseBreak = true
      e.setting = true
    }
  })
  for (const c of CONDITIONS) {
    eachForm(c.words, (f) => {
      const e = add(f)
      if (e && e.condition === 0) {
        e.condition = c.near ? 2 : 1
        e.conditionHedge = c.hedge
      }
    })
  }
  eachForm(REPORT_DENIALS, (f) => {
    const e = add(f)
    if (e) e.deniesReport = true
  })
  eachForm(CONTRASTS, (f) => {
    const e = add(f)
    if (e) {
      e.clauseBreak = true
      e.contrast = true
    }
  })
  for (const g of UNCERTAINTY) {
    eachForm(g.words, (f) => {
      const e = add(f)
      if (e) e.uncertainty = Math.max(e.uncertainty, g.weight)
    })
  }
  for (const [weight, words] of TOPICS.tariff) {
    eachForm(words, (f) => {
      const e = add(f)
      if (e) e.topicTariff = Math.max(e.topicTariff, weight)
    })
  }
  for (const [weight, words] of TOPICS.supplyChain) {
    eachForm(words, (f) => {
      const e = add(f)
      if (e) e.topicSupply = Math.max(e.topicSupply, weight)
    })
  }
  // A member state of the EU names the EU too, right after itself ("French wine" gives FR, EU): the
  // union's trade policy is its members'. Done here, so the scorer pushes the entry's codes as ever.
  const euMembers = new Set(EU_MEMBERS)
  const capitalised = new Set(CAPITALISED_NAMES)
  for (const [code, names] of Object.entries(REGIONS)) {
    const codes = euMembers.has(code) ? [code, 'EU'] : [code]
    for (const name of names) {
      const e = add(name)
      if (e && !e.regions) {
        e.regions = codes
        e.regionsCapitalised = capitalised.has(name)
      }
    }
  }
  for (const [id, names] of Object.entries(COMMODITIES)) {
    for (const name of names) {
      const e = add(name)
      if (!e) continue
      if (!e.commodities) e.commodities = [id]
      else if (!e.commodities.includes(id)) e.commodities = [...e.commodities, id]
    }
  }
  for (const [id, names] of Object.entries(SECTORS)) {
    for (const name of names) {
      const e = add(name)
      if (e && !e.sector) e.sector = id
    }
  }
  // Inert phrases are matched whole so that their words play no role ("more than", "up to").
  eachForm(INERT, (f) => add(f))
  // So are expressions with a negator that negate nothing ("no choice but to", "will not change").
  eachForm(NOT_NEGATIONS, (f) => add(f))
  // A phrase is matched whole, so its words are not seen on their own: it names the regions the
  // names in it do ("U.S.-China tensions", "buys more U.S. goods", "sales to China", "North Korean
  // missile"), each the longest name there, as the matcher would take it ("North Korea" is KP, not
  // also "Korea"'s KR). A name of the gazetteer is that region alone.
  const named = new Set<Entry>()
  for (const names of Object.values(REGIONS)) {
    for (const name of names) {
      const e = add(name)
      if (e) named.add(e)
    }
  }
  for (const [e, keys] of phrases) {
    if (named.has(e)) continue
    const codes = new Set(e.regions ?? [])
    for (let i = 0; i < keys.length; ) {
      let node = root[wordId(vocab, keys[i] as string)]
      let found: Entry | null = null
      let next = i + 1
      for (let j = i + 1; node; j++) {
        if (node.entry && named.has(node.entry)) {
          found = node.entry
          next = j
        }
        if (j >= keys.length) break
        node = node.next?.get(wordId(vocab, keys[j] as string))
      }
      for (const c of found?.regions ?? []) codes.add(c)
      i = next
    }
    if (codes.size > 0) e.regions = [...codes]
  }

  const units = new Set<number>()
  for (const u of [
    'eur',
    'euro',
    'euros',
    'usd',
    'dollar',
    'dollars',
    'million',
    'mln',
    'mn',
    'm',
    'billion',
    'bln',
    'bn',
    'b',
    'thousand',
    'k',
    'percent',
    'pct',
    'per',
    'cent',
    'gbp',
    'sek',
    'yen',
    'yuan',
    'points',
    'pts',
  ]) {
    units.add(wordId(vocab, u))
  }
  const compareIds = new Set(['versus', 'vs', 'against', 'from'].map((w) => wordId(vocab, w)))
  const negativeIds = new Set(['negative', 'loss', 'losses', 'minus'].map((w) => wordId(vocab, w)))
  const fillerIds = new Set([...units, ...negativeIds])
  for (const w of ['a', 'an', 'the', 'of', 'net', 'operating', 'pretax', 'profit', 'with', 'to'])
    fillerIds.add(wordId(vocab, w))
  const causeIds = new Set(['on', 'over', 'upon'].map((w) => wordId(vocab, w)))
  const auxIds = new Set(['be', 'been', 'being', 'is', 'are', 'was', 'were'].map((w) => wordId(vocab, w)))
  const perfectIds = new Set(['has', 'have', 'had'].map((w) => wordId(vocab, w)))
  const prepIds = new Set(
    ['about', 'on', 'of', 'over', 'for', 'in', 'to', 'with', 'from', 'at', 'by', 'against', 'into'].map((w) =>
      wordId(vocab, w),
    ),
  )
  const modalIds = new Set(
    [
      'will',
      'would',
      'can',
      'could',
      'may',
      'might',
      'must',
      'shall',
      'should',
      'do',
      'does',
      'did',
      'wo',
      'ca',
    ].map((w) => wordId(vocab, w)),
  )
  const notId = wordId(vocab, 'not')
  const usId = wordId(vocab, 'us')
  const toId = wordId(vocab, 'to')
  const fromId = wordId(vocab, 'from')
  const comparedId = wordId(vocab, 'compared')
  freeze(vocab)
  // Dense first level: every id gets a slot, so lookups never leave the array's fast elements.
  for (let id = 0; id < vocab.words.length; id++) if (root[id] === undefined) root[id] = undefined
  const trie = flattenTrie(root, vocab.words.length)
  // Numbered here so that every scorer's EntryTable (which starts with these) agrees with entryIndex.
  const entries = trie.entry.filter((e): e is Entry => e !== null)
  entryTable(entries)
  for (let node = 0; node < trie.entry.length; node++) trie.entryIndex[node] = trie.entry[node]?.index ?? -1
  const wordInfo = new Int32Array(vocab.words.length * 2).fill(-1)
  for (let id = 0; id < vocab.words.length; id++) {
    const node = trie.root[id] as number
    if (node < 0) continue
    wordInfo[id * 2] = trie.entryIndex[node] as number
    if ((trie.first[node + 1] as number) > (trie.first[node] as number)) wordInfo[id * 2 + 1] = node
  }
  return {
    vocab,
    root,
    trie,
    entries,
    wordInfo,
    compareIds,
    fillerIds,
    negativeIds,
    comparedId,
    causeIds,
    auxIds,
    perfectIds,
    modalIds,
    prepIds,
    notId,
    usId,
    toId,
    fromId,
    units,
  }
}

export const LEXICON: Lexicon = buildLexicon()

/** Multipliers of unit words following a number, so "to EUR 1.2 million from EUR 900,000" compares. */
export const UNIT_SCALE: Readonly<Record<string, number>> = {
  million: 1e6,
  mln: 1e6,
  mn: 1e6,
  m: 1e6,
  billion: 1e9,
  bln: 1e9,
  bn: 1e9,
  b: 1e9,
  thousand: 1e3,
  k: 1e3,
}
