// Word → id lookup without allocating: the tokenizer hashes each word while it scans it and probes
// an open-addressing table, comparing characters in place, so no substring is made per word.
import { lowerAt } from './chars.ts'

export interface Vocabulary {
  /** Word of each id. */
  words: string[]
  ids: Map<string, number>
  table: Int32Array
  mask: number
}

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193

export function hashStart(): number {
  return FNV_OFFSET
}

export function hashStep(h: number, c: number): number {
  return Math.imul(h ^ c, FNV_PRIME)
}

export function hashString(w: string): number {
  let h = FNV_OFFSET
  for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), FNV_PRIME)
  return h
}

export function createVocabulary(): Vocabulary {
  return { words: [], ids: new Map(), table: new Int32Array(0), mask: 0 }
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

/** Builds the probe table (load factor <= 1/4 keeps probes short). */
export function freeze(v: Vocabulary): void {
  let size = 16
  while (size < v.words.length * 4) size *= 2
  const table = new Int32Array(size).fill(-1)
  const mask = size - 1
  for (let id = 0; id < v.words.length; id++) {
    let slot = hashString(v.words[id] as string) & mask
    while (table[slot] !== -1) slot = (slot + 1) & mask
    table[slot] = id
  }
  v.table = table
  v.mask = mask
}

export function cloneVocabulary(v: Vocabulary): Vocabulary {
  return { words: [...v.words], ids: new Map(v.ids), table: v.table, mask: v.mask }
}

/** Id of the word text[s, e) whose hash is `h`, or -1. */
export function lookupRange(v: Vocabulary, text: string, s: number, e: number, h: number): number {
  const table = v.table
  const mask = v.mask
  const len = e - s
  let slot = h & mask
  for (;;) {
    const id = table[slot] as number
    if (id === -1) return -1
    const w = v.words[id] as string
    if (w.length === len) {
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
