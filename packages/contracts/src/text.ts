// Text as the pipeline takes it: ingest normalises every headline, body and source with normalizeText,
// and holds a source or an id that showsNothing to be none; the command line refuses what ingest would.

// Code points removed outright: zero-width characters, the byte-order mark, soft hyphen and the
// bidirectional controls (the "Trojan Source" family), which change how text reads but not what it says.
const REMOVED = new Set([
  0x00ad, 0x061c, 0x180e, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e,
  0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0x2066, 0x2067, 0x2068, 0x2069, 0xfeff,
])

function isSpaceLike(cp: number): boolean {
  // C0 and C1 controls (tab, newline and the rest) and every Unicode space separator become one space.
  return (
    cp <= 0x20 ||
    (cp >= 0x7f && cp <= 0x9f) ||
    cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    cp === 0x202f ||
    cp === 0x205f ||
    cp === 0x3000
  )
}

/**
 * The common case: printable ASCII with single inner spaces and no spaces at the ends, which is already
 * normal (NFKC leaves it as it is, and nothing is removed or collapsed), so it needs no copy. One
 * precompiled test, faster than a loop over the characters.
 */
const PLAIN = /^[!-~]+(?: [!-~]+)*$/

const NON_ASCII = /[^\0-\x7f]/

/**
 * What the pass after NFKC changes: a character REMOVED or isSpaceLike other than a single inner space
 * (the two sets' union, in ranges; \p{Cc} is U+0000-U+001F and U+007F-U+009F), a space at either end, or
 * two in a row. Text without any (most text beyond ASCII: curly quotes, accents, dashes) is already what
 * the pass would make of it, and is returned as NFKC made it, without the pass's copy one character at a
 * time.
 */
const NEEDS_WORK =
  /[\p{Cc}\xad\u061c\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u2064\u2066-\u2069\u3000\ufeff]|^ | $| {2}/u

/**
 * A combining mark, or a half-width katakana sound mark (NFKC makes it a combining one): what may stand in
 * a run of non-starters, which NFKC puts in canonical order by an insertion sort, quadratic in the run.
 */
const MARK = /[\p{M}\uff9e\uff9f]/u
/** The longest run of marks kept: Unicode's stream-safe bound (UAX #15), more than any script needs. */
const MAX_MARK_RUN = 30
const MARK_RUN_TAIL = new RegExp(`(${MARK.source}{${MAX_MARK_RUN}})${MARK.source}+`, 'gu')
/** The BMP's marks, looked up by code unit (a regex over the text costs ten times the NFKC it guards). */
const BMP_MARKS = new Uint8Array(0x10000)
for (let c = 0x300; c < 0xd800; c++) if (MARK.test(String.fromCharCode(c))) BMP_MARKS[c] = 1
for (let c = 0xe000; c < 0x10000; c++) if (MARK.test(String.fromCharCode(c))) BMP_MARKS[c] = 1

const isSurrogate = (c: number, lo: number) => c >= lo && c <= lo + 0x3ff

/** The length in code units (1 or 2) of the mark that starts at `i`, or 0 when none does. */
function markAt(s: string, i: number): number {
  const c = s.charCodeAt(i)
  if (c < 0x300) return 0
  if (!isSurrogate(c, 0xd800)) return BMP_MARKS[c]!
  return isSurrogate(s.charCodeAt(i + 1), 0xdc00) && MARK.test(s.slice(i, i + 2)) ? 2 : 0
}

/** The length in code units (1 or 2) of the mark that ends just before `end`, or 0 when none does. */
function markBefore(s: string, end: number): number {
  const c = s.charCodeAt(end - 1)
  if (c < 0x300) return 0
  if (!isSurrogate(c, 0xdc00)) return BMP_MARKS[c]!
  return end >= 2 && isSurrogate(s.charCodeAt(end - 2), 0xd800) && MARK.test(s.slice(end - 2, end)) ? 2 : 0
}

/**
 * Whether a run of more than MAX_MARK_RUN marks stands in `s`. Such a run covers one of every
 * MAX_MARK_RUN + 1 code units, so only those are looked at, and the run around one that is a mark is
 * counted: a few lookups a headline, and at most three a unit, whatever the text.
 */
function hasLongMarkRun(s: string): boolean {
  for (let i = MAX_MARK_RUN; i < s.length; i += MAX_MARK_RUN + 1) {
    // The low half of an astral character: the character starts one unit before.
    const at = isSurrogate(s.charCodeAt(i), 0xdc00) && i > 0 ? i - 1 : i
    const n = markAt(s, at)
    if (n === 0) continue
    let run = 1
    for (let end = at + n, m = markAt(s, end); m > 0; end += m, m = markAt(s, end)) run++
    for (let start = at, m = markBefore(s, start); m > 0; start -= m, m = markBefore(s, start)) run++
    if (run > MAX_MARK_RUN) return true
  }
  return false
}

/**
 * Runs of more than MAX_MARK_RUN marks cut to their first MAX_MARK_RUN. NFKC sorts a run in time
 * quadratic in its length: one record's headline of 250,000 alternating marks (a 1 MB record) held the
 * event loop for 90 s, past the session timeout, and the partition went from member to member for ever;
 * 64 KB of them took 0.37 s a record.
 */
function capMarkRuns(s: string): string {
  return hasLongMarkRun(s) ? s.replace(MARK_RUN_TAIL, '$1') : s
}

/** Line breaks: LF, VT, FF, CR, NEL and the Unicode line and paragraph separators. */
function isLineBreak(cp: number): boolean {
  return (cp >= 0x0a && cp <= 0x0d) || cp === 0x85 || cp === 0x2028 || cp === 0x2029
}

/**
 * Unicode NFKC; zero-width and bidi characters removed; controls and whitespace runs collapsed to one
 * space; trimmed; a run of combining marks cut to 30 first (capMarkRuns). Linear in the text's length.
 *
 * With `keepLines` (a body), a run of white space that holds a line break becomes one "\n" instead:
 * the scorer ends a clause at a line break, and a body's lines are its sentences and paragraphs, which
 * must not run on into each other ("... tariffs were lifted\nChina halts ..."). Blank lines collapse
 * with the rest of the run, and the break is a plain "\n" whatever the input used (CRLF, U+2029).
 */
export function normalizeText(input: string, keepLines = false): string {
  if (PLAIN.test(input)) return input
  // NFKC leaves ASCII as it is: only text with another character is normalised.
  const s = NON_ASCII.test(input) ? capMarkRuns(input).normalize('NFKC') : input
  if (!NEEDS_WORK.test(s)) return s
  let out = ''
  // What the white space run since the last kept character becomes: nothing, a space or a line break.
  let pending = ''
  let removed = false
  for (const ch of s) {
    const cp = ch.codePointAt(0)!
    if (REMOVED.has(cp)) {
      removed = true
      continue
    }
    if (isSpaceLike(cp)) {
      if (out.length > 0 && pending !== '\n') pending = keepLines && isLineBreak(cp) ? '\n' : ' '
      continue
    }
    out += pending
    pending = ''
    out += ch
  }
  // A character removed from inside a combining sequence had kept NFKC from composing it: "Me\u00ad\u0301xico"
  // came out as "Me\u0301xico", not "México", another content id and another word to the scorer. Composed
  // again, its marks capped again (removing joins the runs either side).
  return removed && NON_ASCII.test(out) ? capMarkRuns(out).normalize('NFKC') : out
}

/*
 * The rules of the text on the headlines topic and after (the Headline contract): what ingest writes meets
 * them, and the contract refuses a record that breaks one, whoever wrote it to the topic. Each is one
 * pattern, which the contract checks with (so the fast checks built from the schemas, acceptsAs and
 * ingest's, take it as zod does), written in the syntax ECMA-262 with the u flag and RE2 share. RE2 knows
 * no White_Space or Default_Ignorable_Code_Point property: those sets are spelt out (held to Unicode's,
 * code point by code point, in text.test.ts). The JSON Schema export cannot give other teams these
 * patterns: Python's re knows no \p{…} (jsonschema raised `bad escape \P` on every record), and
 * ECMA-262 without the u flag and .NET read an astral character as two UTF-16 units. It gives each rule's
 * `portable` pattern instead, and every rule, exactly, in an annotation (json-schema.ts).
 */

/**
 * Default_Ignorable_Code_Point (Unicode 17), as inclusive code point ranges: zero-width and bidi
 * controls, the Hangul fillers, variation selectors, tag characters and the rest that show as nothing.
 */
const DEFAULT_IGNORABLE: readonly (readonly [number, number])[] = [
  [0x00ad, 0x00ad],
  [0x034f, 0x034f],
  [0x061c, 0x061c],
  [0x115f, 0x1160],
  [0x17b4, 0x17b5],
  [0x180b, 0x180f],
  [0x200b, 0x200f],
  [0x202a, 0x202e],
  [0x2060, 0x206f],
  [0x3164, 0x3164],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
  [0xffa0, 0xffa0],
  [0xfff0, 0xfff8],
  [0x1bca0, 0x1bca3],
  [0x1d173, 0x1d17a],
  [0xe0000, 0xe0fff],
]

/** The ranges inside a character class, as the characters themselves (the one spelling both syntaxes read). */
const IGNORABLE_CLASS = DEFAULT_IGNORABLE.map(([from, to]) =>
  from === to ? String.fromCodePoint(from) : `${String.fromCodePoint(from)}-${String.fromCodePoint(to)}`,
).join('')

/** White_Space: the separators (Zs, Zl, Zp), tab to carriage return, and NEL. */
const WHITE_SPACE_CLASS = '\\t-\\r\\x85\\p{Z}'

/** A code point inside a character class every engine reads alike: `\xHH` up to U+00FF, else itself. */
const classChar = (cp: number) =>
  cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : String.fromCodePoint(cp)

/** The separators (Zs, Zl, Zp: all in the Basic Multilingual Plane), as \p{Z} reads them in Unicode 17. */
const SEPARATORS: readonly (readonly [number, number])[] = [
  [0x0020, 0x0020],
  [0x00a0, 0x00a0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
]

/**
 * showsSomething's class without \p{Z} and without astral characters: the Basic Multilingual Plane's
 * white space and default-ignorables, then U+2800. What every engine compiles and reads alike.
 */
const SHOWS_NOTHING_BMP_CLASS = [
  ...[[0x09, 0x0d], [0x85, 0x85], ...SEPARATORS, ...DEFAULT_IGNORABLE.filter(([from]) => from <= 0xffff)].map(
    ([from, to]) => (from === to ? classChar(from) : `${classChar(from)}-${classChar(to)}`),
  ),
  classChar(0x2800),
].join('')

/**
 * A rule of the headlines topic's text: a pattern a valid text matches, and what a text that does not is
 * told. `test` gives the pattern's verdict as JavaScript checks it fastest, with its own Unicode properties
 * and String methods (isWellFormed is several times faster than a pattern over every code unit): ingest
 * checks every raw record with it. text.test.ts holds the two to one verdict on every code point.
 */
export type TextRule = {
  readonly pattern: RegExp
  readonly message: string
  readonly test: (text: string) => boolean
  /** The rule in words, for other teams (the JSON Schema's x-tradepulse-text-rules). */
  readonly description: string
  /**
   * The rule as the published JSON Schema's `pattern`: one every mainstream engine compiles and reads
   * alike (ECMA-262 without the u flag, Python's re, .NET, RE2): no \p{…}, no astral character, `\xHH`
   * escapes only. `exact`: its verdict is `test`'s on every text; otherwise on every text within the Basic
   * Multilingual Plane, and it refuses nothing `test` takes. Absent: no such pattern says the rule, which
   * the schema states in words only.
   */
  readonly portable?: { readonly pattern: string; readonly exact: boolean }
}

const CONTROL = /\p{Cc}/u
const CONTROL_BUT_LINE_FEED = /[^\P{Cc}\n]/u
const SHOWS_NOTHING = /^[\p{White_Space}\p{Default_Ignorable_Code_Point}\u2800]*$/u
const READABLE = /[[\p{L}\p{N}]--\p{Default_Ignorable_Code_Point}]/v

export const TEXT_RULES = {
  /**
   * No lone surrogate (String#isWellFormed): a JSON escape can carry one ("\ud800"), which no UTF-8
   * consumer downstream can encode. In u mode a lone surrogate is a Cs code point; a pair is one character.
   */
  wellFormed: {
    pattern: /^\P{Cs}*$/u,
    message: 'holds a lone surrogate',
    test: (text) => text.isWellFormed(),
    // No pattern says it in every engine: RE2 has no escape for a surrogate, and a UTF-8 engine never sees one.
    description:
      'No lone surrogate: no UTF-16 code unit U+D800–U+DFFF that is not part of a high-low pair (a JSON ' +
      'escape such as \\ud800 can carry one, which UTF-8 cannot encode).',
  },
  /** No control character, which normalizeText makes a space (an id is refused one as given). */
  noControl: {
    pattern: /^\P{Cc}*$/u,
    message: 'holds a control character (U+0000–U+001F, U+007F–U+009F)',
    test: (text) => !CONTROL.test(text),
    description: 'No control character (U+0000–U+001F, U+007F–U+009F).',
    portable: { pattern: '^[^\\x00-\\x1f\\x7f-\\x9f]*$', exact: true },
  },
  /** A body's rule: no control character but the line feed, the one line break normalizeText keeps. */
  noControlButLineFeed: {
    pattern: /^[\P{Cc}\n]*$/u,
    message: 'holds a control character other than a line feed (U+0000–U+0009, U+000B–U+001F, U+007F–U+009F)',
    test: (text) => !CONTROL_BUT_LINE_FEED.test(text),
    description: 'No control character but the line feed (U+0000–U+0009, U+000B–U+001F, U+007F–U+009F).',
    portable: { pattern: '^[^\\x00-\\x09\\x0b-\\x1f\\x7f-\\x9f]*$', exact: true },
  },
  /**
   * A character that shows: not white space, not default-ignorable, not the braille blank (a symbol that
   * shows as a space). A text without one showsNothing: an id a reader could not tell from none.
   */
  showsSomething: {
    pattern: new RegExp(`[^${WHITE_SPACE_CLASS}${IGNORABLE_CLASS}\u2800]`, 'u'),
    message: 'is blank (white space or invisible characters only)',
    test: (text) => !SHOWS_NOTHING.test(text),
    description:
      'At least one character that shows: not White_Space, not Default_Ignorable_Code_Point (Unicode 17), ' +
      'not U+2800 BRAILLE PATTERN BLANK.',
    // Astral default-ignorables (tags U+E0000–U+E0FFF and a few others) alone are taken by it.
    portable: { pattern: `[^${SHOWS_NOTHING_BMP_CLASS}]`, exact: false },
  },
  /**
   * A letter or a digit that shows (the Hangul fillers are letters, and default-ignorable): a headline
   * without one says nothing. `[^\P{L}…]` is a letter but none of those listed, RE2's set difference.
   * Its test stops at the first such character: usually the first.
   */
  readable: {
    pattern: new RegExp(`[^\\P{L}${IGNORABLE_CLASS}]|[^\\P{N}${IGNORABLE_CLASS}]`, 'u'),
    message: 'has no letter or digit that shows (white space, symbols or invisible characters only)',
    test: (text) => READABLE.test(text),
    // \p{L} and \p{N} spelt out are thousands of ranges, astral ones among them: no portable pattern.
    description:
      'At least one letter or digit (General_Category L or N) that is not Default_Ignorable_Code_Point ' +
      '(Unicode 17).',
  },
} as const satisfies Record<string, TextRule>

/**
 * Whether `text` shows nothing to a reader: empty, or white space and invisible characters only. Such a
 * source is none (ingest gives the headline its default source), and such an id is refused: a reader
 * could not tell it from none.
 */
export function showsNothing(text: string): boolean {
  return !TEXT_RULES.showsSomething.test(text)
}

/** Cuts to at most `maxChars` UTF-16 units without splitting a surrogate pair. */
export function truncate(s: string, maxChars: number): { text: string; truncated: boolean } {
  if (s.length <= maxChars) return { text: s, truncated: false }
  let end = maxChars
  const last = s.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end--
  return { text: s.slice(0, end).trimEnd(), truncated: true }
}
