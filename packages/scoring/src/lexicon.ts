// Builds the run-time lexicon from the data files once, at module load: a vocabulary (word → id)
// and a trie of word ids, so matching a text is one Map lookup per word plus a walk of the longest
// phrase starting there. Every phrase becomes one Entry carrying all the roles its words play.
import type { EventType } from '@tradepulse/contracts'
import { COMMODITIES, REGIONS, SECTORS } from './data/entities.ts'
import {
  CLAUSE_BREAKS,
  CONTEXT_MARKERS,
  CONTRASTS,
  HEDGES,
  INERT,
  INTENSIFIERS,
  LIGHT_VERBS,
  NEGATORS,
  PREDICATES,
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
}

export interface Entry {
  key: string
  target: TargetRole | null
  pred: PredRole | null
  /** A light verb ("agree to", "sign", "set to"): when another predicate follows it, that one is the act. */
  light: boolean
  negator: boolean
  /** Weight factor of a hedge (< 1), 1 when the entry is no hedge. */
  hedge: number
  intens: number
  tone: number
  hasTone: boolean
  clauseBreak: boolean
  /** A contrast word ("but", "however"): what comes before it weighs less than what follows. */
  contrast: boolean
  uncertainty: number
  topicTariff: number
  topicSupply: number
  region: string | null
  /** Context marker: factor on the field's trade and supply direction ("Factbox:" = overview). */
  directionScale: number
  /** Context marker: factor on the field's supply-chain relevance and direction (OPEC output policy). */
  supplyScale: number
  /** Commodity ids; a name listed under several ids ("rare earth magnets") gives them all. */
  commodities: readonly string[] | null
  sector: string | null
  company: string | null
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
}

export function newEntry(key: string): Entry {
  return {
    key,
    target: null,
    pred: null,
    light: false,
    negator: false,
    hedge: 1,
    intens: 1,
    tone: 0,
    hasTone: false,
    clauseBreak: false,
    contrast: false,
    uncertainty: 0,
    topicTariff: 0,
    topicSupply: 0,
    region: null,
    directionScale: 1,
    supplyScale: 1,
    commodities: null,
    sector: null,
    company: null,
  }
}

/** Splits an authored phrase into the keys the tokenizer produces for it. */
export function phraseKeys(phrase: string): string[] {
  return phrase
    .toLowerCase()
    .replace(/['’]s\b/g, '')
    .split(/[\s\-–—/,.:;()]+/)
    .filter((w) => w.length > 0)
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

function eachForm(words: readonly string[], fn: (form: string) => void): void {
  for (const w of words) for (const f of expandWord(w)) fn(f)
}

function buildLexicon(): Lexicon {
  const vocab = createVocabulary()
  const root: (TrieNode | undefined)[] = []
  const add = (phrase: string) => insertPhrase(vocab, root, phrase)

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
      events: t.events as Record<string, EventType | undefined>,
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
    }
    eachForm(p.words, (f) => {
      const e = add(f)
      if (e && !e.pred) {
        e.pred = role
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
  }
  const hedgeAdverse: PredRole = { ...hedgeMore, id: 'threaten', fixed: -1 }
  for (const h of HEDGES) {
    eachForm(h.words, (f) => {
      const e = add(f)
      if (!e) return
      e.hedge = Math.min(e.hedge, h.factor)
      if (h.pred && !e.pred) e.pred = h.pred === 'adverse' ? hedgeAdverse : hedgeMore
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
    })
  }
  eachForm(CLAUSE_BREAKS, (f) => {
    const e = add(f)
    if (e) e.clauseBreak = true
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
  for (const [code, names] of Object.entries(REGIONS)) {
    for (const name of names) {
      const e = add(name)
      if (e && !e.region) e.region = code
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
  const notId = wordId(vocab, 'not')
  const usId = wordId(vocab, 'us')
  const toId = wordId(vocab, 'to')
  const fromId = wordId(vocab, 'from')
  const comparedId = wordId(vocab, 'compared')
  freeze(vocab)
  // Dense first level: every id gets a slot, so lookups never leave the array's fast elements.
  for (let id = 0; id < vocab.words.length; id++) if (root[id] === undefined) root[id] = undefined
  return {
    vocab,
    root,
    trie: flattenTrie(root, vocab.words.length),
    compareIds,
    fillerIds,
    negativeIds,
    comparedId,
    causeIds,
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
