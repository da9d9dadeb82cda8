// Single-pass tokenizer: one left-to-right scan over the text, no regular expressions, so time is
// linear in the length whatever the input. Tokens go into reusable typed arrays (no object per
// token) because the scorer runs on every headline of the stream.
import { fold } from './chars.ts'
import { hashEnd, hashStart, hashStep, lookupChars, type Vocabulary } from './vocabulary.ts'

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
   * The text's UTF-16 code units, copied once per call. The scan reads characters several times
   * (look-ahead, hashing, the vocabulary's comparison); a typed-array load is cheaper than
   * String#charCodeAt, which checks the string's representation on each call (strings built by
   * concatenation are ropes), and the vocabulary compares two typed arrays.
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

function isLetter(c: number): boolean {
  if (c >= 97 && c <= 122) return true
  // Letters beyond ASCII (accented names); the general-punctuation block and currency signs are not.
  return c >= 0xc0 && c !== 0xd7 && c !== 0xf7 && (c < 0x2000 || c > 0x206f) && (c < 0x20a0 || c > 0x20cf)
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57
}

function isUpper(c: number): boolean {
  return c >= 65 && c <= 90
}

/** Characters that end a clause: , ; : ! ? ( ) [ ] | and the long dashes. */
function isBreak(c: number): boolean {
  return (
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
  )
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 0xa0
}

const APOS = 39
const RSQUO = 0x2019

/**
 * Tokenizes `text` into `b`, looking each word up in `vocab` (case-folded).
 * Words: letters, with "&" inside (S&P), hyphens splitting ("rare-earth" → rare, earth), possessive
 * 's dropped, "n't" read as a separate "not", dotted capitals joined ("U.S." → us).
 * Numbers: digits with inner , or . ; a following % is recorded. Breaks: see isBreak, a sentence
 * full stop, and a spaced hyphen (" - ").
 */
export function tokenize(text: string, vocab: Vocabulary, notId: number, b: TokenBuffer): void {
  b.count = 0
  const n = text.length
  if (b.capacity < n + 2) grow(b, n + 2)
  loadChars(text, b)
  const chars = b.chars
  let i = 0
  while (i < n) {
    const c = lowerAt(chars, i)
    if (isLetter(c)) {
      const s = i
      // "u.s.", "u.k.", "e.u.": single letters each followed by a dot read as one word ("us").
      if (i + 2 < n && lowerAt(chars, i + 1) === 46 && isLetter(lowerAt(chars, i + 2))) {
        const c3 = i + 3 < n ? lowerAt(chars, i + 3) : 0
        if (c3 === 46 || !isLetter(c3)) {
          // The letters without their dots go to b.key (no string built), hashed on the way.
          const key = b.key
          let len = 0
          let h = hashStart()
          let j = s
          while (j < n && isLetter(lowerAt(chars, j)) && (j + 1 >= n || !isLetter(lowerAt(chars, j + 1)))) {
            const l = lowerAt(chars, j)
            key[len++] = l
            h = hashStep(h, l)
            j++
            if (j < n && lowerAt(chars, j) === 46) j++
            else break
          }
          const t = push(b, WORD, s, j, lookupChars(vocab, key, 0, len, hashEnd(h)))
          b.caps[t] = isUpper(chars[s] as number) ? 1 : 0
          i = j
          continue
        }
      }
      let h = hashStep(hashStart(), c)
      i++
      for (;;) {
        while (i < n) {
          const d = lowerAt(chars, i)
          if (!isLetter(d)) break
          h = hashStep(h, d)
          i++
        }
        // "s&p", "at&t": an ampersand between letters stays inside a short word.
        if (i + 1 < n && lowerAt(chars, i) === 38 && isLetter(lowerAt(chars, i + 1)) && i - s <= 3) {
          h = hashStep(h, 38)
          i++
          continue
        }
        break
      }
      let e = i
      // Apostrophes: possessive 's is dropped, n't becomes "not", other inner apostrophes join (o'neill).
      if (i < n) {
        const a = lowerAt(chars, i)
        if (a === APOS || a === RSQUO) {
          const nx = i + 1 < n ? lowerAt(chars, i + 1) : 0
          const nx2 = i + 2 < n ? lowerAt(chars, i + 2) : 0
          if (nx === 115 && !isLetter(nx2)) {
            i += 2
          } else if (nx === 116 && !isLetter(nx2) && lowerAt(chars, i - 1) === 110 && i - 1 > s) {
            // "won't", "don't": the stem up to the n, then a "not".
            e = i - 1
            const t = push(b, WORD, s, e, lookupChars(vocab, chars, s, e, hashOf(chars, s, e)))
            markCaps(chars, b, t, s, e)
            push(b, WORD, e, i + 2, notId)
            i += 2
            continue
          } else if (isLetter(nx)) {
            i++
            while (i < n && isLetter(lowerAt(chars, i))) i++
            e = i
            h = hashOf(chars, s, e)
          }
        }
      }
      const t = push(b, WORD, s, e, lookupChars(vocab, chars, s, e, hashEnd(h)))
      markCaps(chars, b, t, s, e)
      continue
    }
    if (isDigit(c)) {
      const s = i
      let value = 0
      let scale = 0
      while (i < n) {
        const d = lowerAt(chars, i)
        if (isDigit(d)) {
          if (scale > 0) {
            value += (d - 48) / scale
            scale *= 10
          } else value = value * 10 + (d - 48)
          i++
        } else if ((d === 44 || d === 46) && i + 1 < n && isDigit(lowerAt(chars, i + 1))) {
          // A comma followed by exactly three digits groups thousands; otherwise it is a decimal mark.
          const isGroup =
            d === 44 &&
            i + 3 < n &&
            isDigit(lowerAt(chars, i + 2)) &&
            isDigit(lowerAt(chars, i + 3)) &&
            !isDigit(i + 4 < n ? lowerAt(chars, i + 4) : 0)
          if (d === 46 || !isGroup) {
            if (scale > 0) break
            scale = 10
          }
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
      if (i < n && lowerAt(chars, i) === 37) {
        b.percent[t] = 1
        i++
        b.end[t] = i
      }
      continue
    }
    if (isBreak(c)) {
      push(b, BREAK, i, i + 1, UNKNOWN)
      i++
      continue
    }
    if (c === 46) {
      // A full stop ends a clause (abbreviations were consumed with their word above).
      push(b, BREAK, i, i + 1, UNKNOWN)
      i++
      continue
    }
    if (c === 45) {
      // " - " separates headline parts ("... - sources"); a hyphen inside a word only splits it.
      const before = i > 0 ? lowerAt(chars, i - 1) : 32
      const after = i + 1 < n ? lowerAt(chars, i + 1) : 32
      if (isSpace(before) && isSpace(after)) push(b, BREAK, i, i + 1, UNKNOWN)
      i++
      continue
    }
    i++
  }
}

/** The case-folded character at i of the copied text (see chars.ts). */
function lowerAt(chars: Uint16Array, i: number): number {
  return fold(chars[i] as number)
}

/** Copies text's code units into b.chars (b sized for it). */
function loadChars(text: string, b: TokenBuffer): void {
  const chars = b.chars
  for (let i = 0; i < text.length; i++) chars[i] = text.charCodeAt(i)
}

function hashOf(chars: Uint16Array, s: number, e: number): number {
  let h = hashStart()
  for (let k = s; k < e; k++) h = hashStep(h, lowerAt(chars, k))
  return hashEnd(h)
}

function markCaps(chars: Uint16Array, b: TokenBuffer, t: number, s: number, e: number): void {
  // Two or more capitals in a row ("US", "EU") mark an acronym; title case does not.
  if (e - s >= 2 && isUpper(chars[s] as number) && isUpper(chars[s + 1] as number)) b.caps[t] = 1
}
