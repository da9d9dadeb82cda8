// Single-pass tokenizer: one left-to-right scan over the text, no regular expressions, so time is
// linear in the length whatever the input. Tokens go into reusable typed arrays (no object per
// token) because the scorer runs on every headline of the stream.
import { fold } from './chars.ts'
import { ABBREVIATIONS, LIST_COUNTS, SPEECH_WORDS } from './data/lexicon.ts'
import {
  FNV_PRIME,
  H2_MUL,
  hash2Start,
  hashEnd,
  hashStart,
  hashStep,
  lookupChars,
  type Vocabulary,
} from './vocabulary.ts'

/** Token kinds. */
export const WORD = 0
export const NUMBER = 1
export const BREAK = 2

/** Vocabulary id of a word the lexicon does not know. */
export const UNKNOWN = -1

export interface TokenBuffer {
  count: number
  capacity: number
  start: Int32Array
  end: Int32Array
  /** Vocabulary id for words, UNKNOWN otherwise. */
  id: Int32Array
  kind: Uint8Array
  /** 1 when the word was written in capitals (US, U.S., EU), which tells "US" from "us". */
  caps: Uint8Array
  /** Numeric value of NUMBER tokens; 1 in `percent` when a % sign followed. */
  num: Float64Array
  percent: Uint8Array
  /** +1 / -1 when a number carries an explicit sign ("+4%", "-17.5%"), else 0. */
  sign: Int8Array
  /**
   * The text's UTF-16 code units, case-folded (see chars.ts), stored as the scan passes them. The
   * vocabulary compares words here and look-behind reads here: a typed-array load is cheaper than
   * String#charCodeAt, which checks the string's representation on each call (strings built by
   * concatenation are ropes).
   */
  chars: Uint16Array
  /** Scratch for the letters of a dotted abbreviation ("U.S." → us). */
  key: Uint16Array
}

export function createTokenBuffer(capacity = 64): TokenBuffer {
  return {
    count: 0,
    capacity,
    start: new Int32Array(capacity),
    end: new Int32Array(capacity),
    id: new Int32Array(capacity),
    kind: new Uint8Array(capacity),
    caps: new Uint8Array(capacity),
    num: new Float64Array(capacity),
    percent: new Uint8Array(capacity),
    sign: new Int8Array(capacity),
    chars: new Uint16Array(capacity),
    key: new Uint16Array(capacity),
  }
}

function grow(b: TokenBuffer, min: number): void {
  let cap = b.capacity * 2
  while (cap < min) cap *= 2
  const start = new Int32Array(cap)
  start.set(b.start)
  const end = new Int32Array(cap)
  end.set(b.end)
  const id = new Int32Array(cap)
  id.set(b.id)
  const kind = new Uint8Array(cap)
  kind.set(b.kind)
  const caps = new Uint8Array(cap)
  caps.set(b.caps)
  const num = new Float64Array(cap)
  num.set(b.num)
  const percent = new Uint8Array(cap)
  percent.set(b.percent)
  const sign = new Int8Array(cap)
  sign.set(b.sign)
  // chars and key are refilled on every call: nothing to copy.
  b.chars = new Uint16Array(cap)
  b.key = new Uint16Array(cap)
  b.capacity = cap
  b.start = start
  b.end = end
  b.id = id
  b.kind = kind
  b.caps = caps
  b.num = num
  b.percent = percent
  b.sign = sign
}

// No capacity check here: tokenize sizes the buffer for the worst case (a token per character,
// plus one for "n't") before it starts. num/percent are written only for NUMBER tokens, whose
// readers are the only ones to look at them.
function push(b: TokenBuffer, kind: number, start: number, end: number, id: number): number {
  const i = b.count++
  b.kind[i] = kind
  b.start[i] = start
  b.end[i] = end
  b.id[i] = id
  b.caps[i] = 0
  return i
}

// Character classes by (case-folded) UTF-16 code unit, one table load per character on the scan.
const LETTER = 1
const DIGIT = 2
const BREAK_CHAR = 4
const SPACE = 8
const CLASS = new Uint8Array(65536)
for (let c = 0; c < 65536; c++) {
  // Letters beyond ASCII (accented names); the general-punctuation block and currency signs are not.
  const letter =
    (c >= 97 && c <= 122) ||
    (c >= 0xc0 && c !== 0xd7 && c !== 0xf7 && (c < 0x2000 || c > 0x206f) && (c < 0x20a0 || c > 0x20cf))
  // Characters that end a clause: , ; : ! ? ( ) [ ] | the long dashes, and a line break (a body's
  // lines are sentences or paragraphs, never one clause run on into the next).
  const brk =
    c === 10 ||
    c === 44 ||
    c === 59 ||
    c === 58 ||
    c === 33 ||
    c === 63 ||
    c === 40 ||
    c === 41 ||
    c === 91 ||
    c === 93 ||
    c === 124 ||
    c === 0x2013 ||
    c === 0x2014
  const space = c === 32 || c === 9 || c === 10 || c === 13 || c === 0xa0
  CLASS[c] =
    (letter ? LETTER : 0) | (c >= 48 && c <= 57 ? DIGIT : 0) | (brk ? BREAK_CHAR : 0) | (space ? SPACE : 0)
}

function isLetter(c: number): boolean {
  return ((CLASS[c] as number) & LETTER) !== 0
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57
}

function isUpper(c: number): boolean {
  return c >= 65 && c <= 90
}

function isSpace(c: number): boolean {
  return ((CLASS[c] as number) & SPACE) !== 0
}

const APOS = 39
const RSQUO = 0x2019

/** The case-folded code unit at k of text, 0 past its end (look-ahead before the scan gets there). */
function at(text: string, k: number, n: number): number {
  return k < n ? fold(text.charCodeAt(k)) : 0
}

// Module constants (imported bindings are read through a cell on every use in optimized code).
const FNV_OFFSET = hashStart()
const FNV_MUL = FNV_PRIME
const H2_M = H2_MUL
/** The second hash's start, rotated as hash2Step rotates it before the first character. */
const H2_FIRST = (hash2Start() << 5) | (hash2Start() >>> 27)

/**
 * Tokenizes `text` into `b`, looking each word up in `vocab` (case-folded).
 * Words: letters, with "&" inside (S&P), hyphens splitting ("rare-earth" → rare, earth), possessive
 * 's dropped, "n't" read as a separate "not", dotted capitals joined ("U.S." → us).
 * Numbers: digits with inner , or . ; a following % is recorded. Breaks: see CLASS, a sentence
 * full stop, and a spaced hyphen (" - ").
 *
 * One pass: each character is read from the string once, folded, classified and hashed (twice: the
 * probe hash and Vocabulary.check's, so a plain word is found without comparing its characters), and
 * stored in b.chars as the scan passes it (invariant: b.chars[0, i) is filled whenever the main
 * loop looks at i), so the helpers' vocabulary lookups compare words there and look-behind reads it.
 *
 * The loop over plain words makes no calls (fold, hash, probe and push are written out): the
 * optimizing compiler stops inlining once a function is large, and a call per character or word
 * cost more than the work itself. Rarer shapes (numbers, dotted abbreviations, apostrophes and
 * ampersands) go to helpers.
 */
export function tokenize(text: string, vocab: Vocabulary, notId: number, b: TokenBuffer): void {
  b.count = 0
  const n = text.length
  if (b.capacity < n + 2) grow(b, n + 2)
  const chars = b.chars
  const cls = CLASS
  const slots = vocab.slots
  const mask = vocab.mask
  const filter = vocab.filter
  const check = vocab.check
  const kindA = b.kind
  const startA = b.start
  const endA = b.end
  const idA = b.id
  const capsA = b.caps
  // b.count is kept in `count` and stored before and after each helper, which pushes through b.
  let count = 0
  let i = 0
  // The character that ended the last word, already read (at index `nextAt`).
  let next = 0
  let nextAt = -1
  while (i < n) {
    const raw = i === nextAt ? next : text.charCodeAt(i)
    if (raw === 32) {
      // Spaces, most of what is not a letter: nothing to classify.
      chars[i] = 32
      i++
      continue
    }
    let c = raw
    // fold (chars.ts), written out.
    if (c >= 65 && (c <= 90 || (c >= 0xc0 && c <= 0xde && c !== 0xd7))) c += 32
    chars[i] = c
    const k = cls[c] as number
    if ((k & LETTER) !== 0) {
      const s = i
      let h = Math.imul(FNV_OFFSET ^ c, FNV_MUL)
      let h2 = Math.imul(H2_FIRST ^ c, H2_M)
      i++
      // The letters (the second one apart, to see whether the first two are capitals: "US", "EU"
      // mark an acronym; title case does not). r: the last character read.
      let r = 0
      let caps = 0
      if (i < n) {
        r = text.charCodeAt(i)
        let d = r
        if (d >= 65 && (d <= 90 || (d >= 0xc0 && d <= 0xde && d !== 0xd7))) d += 32
        if ((d <= 122 && d >= 97) || (d >= 0xc0 && ((cls[d] as number) & LETTER) !== 0)) {
          if (raw >= 65 && raw <= 90 && r >= 65 && r <= 90) caps = 1
          chars[i] = d
          h = Math.imul(h ^ d, FNV_MUL)
          h2 = Math.imul(((h2 << 5) | (h2 >>> 27)) ^ d, H2_M)
          i++
          while (i < n) {
            r = text.charCodeAt(i)
            d = r
            if (d >= 65 && (d <= 90 || (d >= 0xc0 && d <= 0xde && d !== 0xd7))) d += 32
            // a-z without the table; beyond ASCII the table decides.
            if (d > 122 || d < 97) {
              if (d < 0xc0 || ((cls[d] as number) & LETTER) === 0) break
            }
            chars[i] = d
            h = Math.imul(h ^ d, FNV_MUL)
            h2 = Math.imul(((h2 << 5) | (h2 >>> 27)) ^ d, H2_M)
            i++
          }
        }
      }
      // "u.s.", "u.k.", "e.u.": single letters each followed by a dot read as one word ("us").
      if (r === 46 && i === s + 1) {
        b.count = count
        const j = dotted(text, n, s, vocab, b)
        count = b.count
        if (j > s) {
          i = j
          continue
        }
      }
      if (i < n && (r === 38 || r === APOS || r === RSQUO)) {
        // "s&p", "won't", "o'neill", "China's".
        b.count = count
        i = wordTail(text, n, s, i, h, vocab, notId, b)
        count = b.count
        continue
      }
      // Probe the vocabulary for chars[s, i): the slot's hash, then the word's second hash
      // (Vocabulary.check; hash2End written out), no character compare.
      const hh = h & 0x3fffffff // hashEnd
      let id = -1
      let slot = hh & mask
      // filterBit, written out: a clear bit is no word of the vocabulary.
      const bit = hh >>> 14
      if (((filter[bit >>> 5] as number) & (1 << (bit & 31))) === 0) slot = -1
      // The second hash is finished (length mixed in) only for a word the filter lets through.
      const hh2 = slot < 0 ? 0 : Math.imul(h2 ^ (i - s), H2_M) ^ (h2 >>> 15)
      while (slot >= 0) {
        const sid = slots[slot * 2 + 1] as number
        if (sid === -1) break
        if (slots[slot * 2] === hh && check[sid] === hh2) {
          id = sid
          break
        }
        slot = (slot + 1) & mask
      }
      const t = count++
      kindA[t] = WORD
      startA[t] = s
      endA[t] = i
      idA[t] = id
      capsA[t] = caps
      next = r
      nextAt = i
      continue
    }
    if ((k & DIGIT) !== 0) {
      b.count = count
      i = number(text, n, i, b)
      count = b.count
      continue
    }
    if (c === 44 && listComma(text, n, i, count, kindA, startA)) {
      i++
      continue
    }
    if (c === 46 && abbreviationDot(text, n, i, count, b)) {
      i++
      continue
    }
    if ((k & BREAK_CHAR) !== 0 || c === 46) {
      // A full stop ends a clause too (abbreviations were consumed with their word above).
      const t = count++
      kindA[t] = BREAK
      startA[t] = i
      endA[t] = i + 1
      idA[t] = UNKNOWN
      capsA[t] = 0
      i++
      continue
    }
    if (c === 45) {
      // " - " separates headline parts ("... - sources"); a hyphen inside a word only splits it.
      const before = i > 0 ? (chars[i - 1] as number) : 32
      const after = i + 1 < n ? at(text, i + 1, n) : 32
      if (isSpace(before) && isSpace(after)) {
        const t = count++
        kindA[t] = BREAK
        startA[t] = i
        endA[t] = i + 1
        idA[t] = UNKNOWN
        capsA[t] = 0
      }
    }
    i++
  }
  b.count = count
}

/** ABBREVIATIONS (the lexicon's data) as character codes, for comparing in place. */
const ABBREVIATION_CODES = ABBREVIATIONS.map((w) => [...w].map((ch) => ch.charCodeAt(0)))

/**
 * True when the full stop at i closes an abbreviation (ABBREVIATIONS) that is the word right before
 * it, with more text after it: the stop ends no clause. Read only at full stops, so rarely.
 */
function abbreviationDot(text: string, n: number, i: number, count: number, b: TokenBuffer): boolean {
  if (count === 0 || b.kind[count - 1] !== WORD || b.end[count - 1] !== i) return false
  if (i + 2 >= n || text.charCodeAt(i + 1) !== 32) return false
  const chars = b.chars
  const s = b.start[count - 1] as number
  const len = i - s
  for (const w of ABBREVIATION_CODES) {
    if (w.length !== len) continue
    let q = 0
    while (q < len && w[q] === chars[s + q]) q++
    if (q === len) return true
  }
  return false
}

/**
 * A comma between two names ("Huawei, ZTE equipment", "Trump, Xi reaffirm", "U.S., Canada make
 * progress") lists them rather than ending a clause: a capitalised word before it, one after it.
 */
function listComma(
  text: string,
  n: number,
  i: number,
  count: number,
  kindA: Uint8Array,
  startA: Int32Array,
): boolean {
  if (count === 0 || kindA[count - 1] !== WORD) return false
  const c0 = text.charCodeAt(startA[count - 1] as number)
  if (c0 < 65 || c0 > 90) return false
  let j = i + 1
  while (j < n && text.charCodeAt(j) === 32) j++
  if (j >= n) return false
  const c1 = text.charCodeAt(j)
  if (c1 >= 65 && c1 <= 90) return !saysWithin(text, n, j)
  return countOthersAt(text, n, j)
}

/**
 * True when one of the next three words from j is a word of speech (SPEECH_WORDS): ", Treasury says",
 * ", U.S. official said" name who spoke, a new clause rather than one more name of a list.
 */
function saysWithin(text: string, n: number, j: number): boolean {
  let k = j
  for (let w = 0; w < 3 && k < n; w++) {
    const s = k
    while (k < n && text.charCodeAt(k) !== 32 && text.charCodeAt(k) !== 44) k++
    if (k - s <= 6 && SPEECH.has(text.slice(s, k).toLowerCase())) return true
    if (k < n && text.charCodeAt(k) === 44) return false
    while (k < n && text.charCodeAt(k) === 32) k++
  }
  return false
}

/** LIST_COUNTS and SPEECH_WORDS (the lexicon's data), for the rare commas after a capitalised word. */
const COUNT_WORDS = new Set(LIST_COUNTS)
const SPEECH = new Set(SPEECH_WORDS)

/**
 * True when text at j reads "<count> other..." ("EU, six other allies", "China, 2 others"): a count
 * of more names of the list, so the comma before it ends no clause. Reads at most a few characters.
 */
function countOthersAt(text: string, n: number, j: number): boolean {
  let k = j
  while (k < n && k - j < 8 && (isLetter(text.charCodeAt(k)) || isDigit(text.charCodeAt(k)))) k++
  if (k === j || k + 6 > n || text.charCodeAt(k) !== 32) return false
  const count = text.slice(j, k).toLowerCase()
  if (!COUNT_WORDS.has(count) && !isDigit(count.charCodeAt(0))) return false
  return text.slice(k + 1, k + 6).toLowerCase() === 'other'
}

/**
 * A dotted abbreviation starting at s ("U.S.", "e.u."): pushes it as one word and returns the
 * index after it, or returns s when the letters there are not one.
 */
function dotted(text: string, n: number, s: number, vocab: Vocabulary, b: TokenBuffer): number {
  if (!isLetter(at(text, s + 2, n))) return s
  const c3 = at(text, s + 3, n)
  if (c3 !== 46 && isLetter(c3)) return s
  // The letters without their dots go to b.key (no string built), hashed on the way.
  const key = b.key
  const chars = b.chars
  let len = 0
  let h = hashStart()
  let j = s
  while (j < n && isLetter(at(text, j, n)) && !isLetter(at(text, j + 1, n))) {
    const l = at(text, j, n)
    key[len++] = l
    h = hashStep(h, l)
    j++
    if (at(text, j, n) === 46) j++
    else break
  }
  for (let k = s + 1; k < j; k++) chars[k] = fold(text.charCodeAt(k))
  const t = push(b, WORD, s, j, lookupChars(vocab, key, 0, len, hashEnd(h)))
  b.caps[t] = isUpper(text.charCodeAt(s)) ? 1 : 0
  return j
}

/**
 * The rest of a word whose letters chars[s, i) (hash h) are followed by an ampersand or an
 * apostrophe: "s&p", "at&t" join when short; possessive 's is dropped, n't becomes "not", other
 * inner apostrophes join (o'neill). Pushes the word (and "not") and returns the index after them.
 */
function wordTail(
  text: string,
  n: number,
  s: number,
  i: number,
  h: number,
  vocab: Vocabulary,
  notId: number,
  b: TokenBuffer,
): number {
  const chars = b.chars
  // d: the folded character at i, not yet stored (0 at the end).
  let d = at(text, i, n)
  for (;;) {
    while (((CLASS[d] as number) & LETTER) !== 0) {
      chars[i] = d
      h = hashStep(h, d)
      d = at(text, ++i, n)
    }
    if (d === 38 && isLetter(at(text, i + 1, n)) && i - s <= 3) {
      chars[i] = d
      h = hashStep(h, 38)
      d = at(text, ++i, n)
      continue
    }
    break
  }
  let e = i
  if (d === APOS || d === RSQUO) {
    const nx = at(text, i + 1, n)
    const nx2 = at(text, i + 2, n)
    if (nx === 115 && !isLetter(nx2)) {
      chars[i] = d
      chars[i + 1] = nx
      i += 2
    } else if (nx === 116 && !isLetter(nx2) && chars[i - 1] === 110 && i - 1 > s) {
      // "won't", "don't": the stem up to the n, then a "not".
      e = i - 1
      const t = push(b, WORD, s, e, lookupChars(vocab, chars, s, e, hashOf(chars, s, e)))
      markCaps(text, b, t, s, e)
      push(b, WORD, e, i + 2, notId)
      chars[i] = d
      chars[i + 1] = nx
      return i + 2
    } else if (isLetter(nx)) {
      chars[i] = d
      i++
      for (let q = at(text, i, n); isLetter(q); q = at(text, ++i, n)) chars[i] = q
      e = i
      h = hashOf(chars, s, e)
    }
  }
  const t = push(b, WORD, s, e, lookupChars(vocab, chars, s, e, hashEnd(h)))
  markCaps(text, b, t, s, e)
  return i
}

/** A number starting at i: pushes it (value, sign, percent) and returns the index after it. */
function number(text: string, n: number, i: number, b: TokenBuffer): number {
  const chars = b.chars
  const s = i
  let value = 0
  let scale = 0
  while (i < n) {
    const d = at(text, i, n)
    if (isDigit(d)) {
      if (scale > 0) {
        value += (d - 48) / scale
        scale *= 10
      } else value = value * 10 + (d - 48)
      chars[i] = d
      i++
    } else if ((d === 44 || d === 46) && isDigit(at(text, i + 1, n))) {
      // A comma followed by exactly three digits groups thousands; otherwise it is a decimal mark.
      const isGroup =
        d === 44 && isDigit(at(text, i + 2, n)) && isDigit(at(text, i + 3, n)) && !isDigit(at(text, i + 4, n))
      if (d === 46 || !isGroup) {
        if (scale > 0) break
        scale = 10
      }
      chars[i] = d
      i++
    } else break
  }
  const t = push(b, NUMBER, s, i, UNKNOWN)
  b.num[t] = value
  b.percent[t] = 0
  // "+4%", "(-17.5%)": a sign right before the digits, after a space or bracket (not a range
  // such as "2019-2020" or "U.S.-5").
  b.sign[t] = 0
  if (s > 0) {
    const sc = chars[s - 1] as number
    const before = s > 1 ? (chars[s - 2] as number) : 32
    if ((sc === 43 || sc === 45) && (isSpace(before) || before === 40 || before === 91))
      b.sign[t] = sc === 43 ? 1 : -1
  }
  if (at(text, i, n) === 37) {
    chars[i] = 37
    b.percent[t] = 1
    i++
    b.end[t] = i
  }
  return i
}

function hashOf(chars: Uint16Array, s: number, e: number): number {
  let h = hashStart()
  for (let k = s; k < e; k++) h = hashStep(h, chars[k] as number)
  return hashEnd(h)
}

function markCaps(text: string, b: TokenBuffer, t: number, s: number, e: number): void {
  // Two or more capitals in a row ("US", "EU") mark an acronym; title case does not.
  if (e - s >= 2 && isUpper(text.charCodeAt(s)) && isUpper(text.charCodeAt(s + 1))) b.caps[t] = 1
}
