// Word → id lookup without allocating: the tokenizer hashes each word while it scans it (twice) and
// probes an open-addressing table, so no substring is made per word. The scan's own probe takes a
// word whose two hashes agree (see Vocabulary.check); the other lookups compare characters in place.
import { lowerAt } from './chars.ts'

export interface Vocabulary {
  /** Word of each id. */
  words: string[]
  ids: Map<string, number>
  /**
   * Probe table, two ints per slot: the word's full hash, then its id (-1 = empty). Keeping the
   * hash beside the id lets a probe reject a different word without loading it (one cache line per
   * probe instead of table → words array → string), which is most probes for unknown words.
   */
  slots: Int32Array
  mask: number
  /**
   * One bit per FILTER_BITS value of a hash's bits 14-29 (filterBit), set for every word: most words
   * of a headline are not in the lexicon, and a clear bit says so from an 8 KB array that stays in
   * the first-level cache, where the probe table (128 KB) mostly does not.
   */
  filter: Int32Array
  /**
   * A second, independent 32-bit hash of each word (hash2End of hash2Step over its characters and
   * its length), by id. The tokenizer's scan computes both hashes as it reads a word and takes a
   * word whose 30-bit probe hash and this one both agree as found, without comparing characters
   * (see tokenize): the character store and its offsets are 90 KB that a compare per known word read
   * out of cache. Two words agreeing on all 62 bits by chance: about 5,000 × 2^-62 per unknown word.
   * lookupChars and lookupRange, off the scan's path, still compare characters.
   */
  check: Int32Array
  /** Characters of all words back to back (word id's are chars[offsets[id], offsets[id + 1])). */
  chars: Uint16Array
  offsets: Int32Array
}

const FNV_OFFSET = 0x811c9dc5
export const FNV_PRIME = 0x01000193

export function hashStart(): number {
  return FNV_OFFSET
}

export function hashStep(h: number, c: number): number {
  return Math.imul(h ^ c, FNV_PRIME)
}

/**
 * The hash handed to the lookups: cut to 30 bits so that it stays a small integer (a V8 Smi) when
 * passed to a call, where a full 32-bit value would be boxed as a heap number, once per word.
 */
export function hashEnd(h: number): number {
  return h & 0x3fffffff
}

/** Bits in Vocabulary.filter. */
export const FILTER_BITS = 65536

/** The bit of Vocabulary.filter for a hashEnd'ed hash: its bits 14-29, clear of the slot index bits. */
export function filterBit(h: number): number {
  return (h >>> 14) & (FILTER_BITS - 1)
}

// The second hash (Vocabulary.check): FNV-style steps with another start and multiplier.
const H2_START = 0x9747b28c | 0
export const H2_MUL = 0x5bd1e995 | 0

export function hash2Start(): number {
  return H2_START
}

/**
 * A step of the second hash. The rotation feeds the high bits back into the low ones, which a plain
 * multiply never does, so that the two hashes do not share the multiply's blind spot (low bits that
 * depend on the characters' low bits only).
 */
export function hash2Step(h: number, c: number): number {
  return Math.imul(((h << 5) | (h >>> 27)) ^ c, H2_MUL)
}

/** The second hash's final value: the length mixed in, then the high bits folded down. */
export function hash2End(h: number, len: number): number {
  return Math.imul(h ^ len, H2_MUL) ^ (h >>> 15)
}

export function hash2String(w: string): number {
  let h = H2_START
  for (let i = 0; i < w.length; i++) h = hash2Step(h, w.charCodeAt(i))
  return hash2End(h, w.length)
}

export function hashString(w: string): number {
  let h = FNV_OFFSET
  for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), FNV_PRIME)
  return hashEnd(h)
}

export function createVocabulary(): Vocabulary {
  return {
    words: [],
    ids: new Map(),
    slots: new Int32Array(0),
    mask: 0,
    filter: new Int32Array(FILTER_BITS >>> 5),
    check: new Int32Array(0),
    chars: new Uint16Array(0),
    offsets: new Int32Array(1),
  }
}

/** Id of `word`, adding it when new. Call `freeze` before lookups by range. */
export function addWord(v: Vocabulary, word: string): number {
  let id = v.ids.get(word)
  if (id === undefined) {
    id = v.words.length
    v.words.push(word)
    v.ids.set(word, id)
  }
  return id
}

/**
 * Builds the probe table and the flat character store. Load factor <= 1/2: with the hashes stored
 * in the slots a longer probe costs a few int compares on the same cache line, while a smaller
 * table (64 KB for the lexicon) stays in cache where a sparser one missed on most lookups.
 */
export function freeze(v: Vocabulary): void {
  let size = 16
  while (size < v.words.length * 2) size *= 2
  const slots = new Int32Array(size * 2)
  const filter = new Int32Array(FILTER_BITS >>> 5)
  for (let slot = 0; slot < size; slot++) slots[slot * 2 + 1] = -1
  const mask = size - 1
  let total = 0
  for (const w of v.words) total += w.length
  const chars = new Uint16Array(total)
  const offsets = new Int32Array(v.words.length + 1)
  const check = new Int32Array(v.words.length)
  let at = 0
  for (let id = 0; id < v.words.length; id++) {
    const w = v.words[id] as string
    offsets[id] = at
    for (let k = 0; k < w.length; k++) chars[at++] = w.charCodeAt(k)
    check[id] = hash2String(w)
    const h = hashString(w)
    let slot = h & mask
    while (slots[slot * 2 + 1] !== -1) slot = (slot + 1) & mask
    slots[slot * 2] = h
    slots[slot * 2 + 1] = id
    const bit = filterBit(h)
    filter[bit >>> 5] = (filter[bit >>> 5] as number) | (1 << (bit & 31))
  }
  offsets[v.words.length] = at
  v.slots = slots
  v.mask = mask
  v.filter = filter
  v.check = check
  v.chars = chars
  v.offsets = offsets
}

export function cloneVocabulary(v: Vocabulary): Vocabulary {
  return {
    words: [...v.words],
    ids: new Map(v.ids),
    slots: v.slots,
    mask: v.mask,
    filter: v.filter,
    check: v.check,
    chars: v.chars,
    offsets: v.offsets,
  }
}

/** Id of the word whose characters are src[s, e) (already case-folded) and whose hashEnd'ed hash is `h`, or -1. */
export function lookupChars(v: Vocabulary, src: Uint16Array, s: number, e: number, h: number): number {
  const slots = v.slots
  const mask = v.mask
  const len = e - s
  let slot = h & mask
  for (;;) {
    const id = slots[slot * 2 + 1] as number
    if (id === -1) return -1
    if (slots[slot * 2] === h) {
      const at = v.offsets[id] as number
      if ((v.offsets[id + 1] as number) - at === len) {
        const chars = v.chars
        let k = 0
        while (k < len && chars[at + k] === src[s + k]) k++
        if (k === len) return id
      }
    }
    slot = (slot + 1) & mask
  }
}

/** Id of the word text[s, e) whose hash is `h`, or -1 (string form of lookupChars, for load time). */
export function lookupRange(v: Vocabulary, text: string, s: number, e: number, h: number): number {
  const slots = v.slots
  const mask = v.mask
  const len = e - s
  let slot = h & mask
  for (;;) {
    const id = slots[slot * 2 + 1] as number
    if (id === -1) return -1
    const w = v.words[id] as string
    if (slots[slot * 2] === h && w.length === len) {
      let k = 0
      while (k < len && w.charCodeAt(k) === lowerAt(text, s + k)) k++
      if (k === len) return id
    }
    slot = (slot + 1) & mask
  }
}

export function lookupWord(v: Vocabulary, w: string): number {
  return lookupRange(v, w, 0, w.length, hashString(w))
}
