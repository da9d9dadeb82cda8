import { RE2JS } from 're2js'
import { describe, expect, it } from 'vitest'
import { LIMITS } from './schemas.ts'
import { normalizeText, showsNothing, TEXT_RULES, truncate } from './text.ts'

/** The definition: a run of more than 30 marks is cut to its first 30. */
const MARK_RUN_TAIL = /([\p{M}\uff9e\uff9f]{30})[\p{M}\uff9e\uff9f]+/gu
const LONG_RUN = /[\p{M}\uff9e\uff9f]{31}/u

describe('normalizeText', () => {
  it('applies NFKC, so full-width and compatibility forms read as plain text', () => {
    expect(normalizeText('ＴＡＲＩＦＦ ﬁle')).toBe('TARIFF file')
  })
  it('removes zero-width and bidi characters', () => {
    expect(normalizeText('ta\u200briff\u202e s\u2066te\u2069el\ufeff')).toBe('tariff steel')
  })
  it('turns controls and whitespace runs into one space and trims', () => {
    expect(normalizeText('\t US \n\n raises\u00a0\u3000tariffs \u0007')).toBe('US raises tariffs')
  })
  it('returns an empty string for text that is only invisible characters', () => {
    expect(normalizeText('\u200b\u200c \t')).toBe('')
  })
  it('keeps a line break of a body as one "\\n", whatever the run around it and the break used', () => {
    expect(normalizeText('  Tariffs lifted. \r\n\r\n  \tChina halts  exports\u2029Talks end \n', true)).toBe(
      'Tariffs lifted.\nChina halts exports\nTalks end',
    )
    expect(normalizeText('a\u2028b \u000b c\u0085d', true)).toBe('a\nb\nc\nd')
    // A lone CR (old Mac line ends, as the command line's readers take it) is a line break too.
    expect(normalizeText('Tariffs lifted.\rChina halts exports\r\rTalks end\r', true)).toBe(
      'Tariffs lifted.\nChina halts exports\nTalks end',
    )
    // A run of spaces and controls with no break in it is still one space.
    expect(normalizeText('a \t\u0007 b', true)).toBe('a b')
  })
  it('turns every line break into a space without keepLines (headlines are one line)', () => {
    expect(normalizeText('US raises\r\ntariffs\u2029again')).toBe('US raises tariffs again')
  })
  it('cuts a run of more than 30 combining marks to its first 30 before NFKC, which sorts a run in quadratic time', () => {
    // 250,000 alternating marks (a 1 MB record) took NFKC 90 s: the event loop held past the session timeout.
    expect(normalizeText(`Tariffs${'\u0301\u0316'.repeat(5_000)} rise`)).toBe(
      `Tariffs${'\u0301\u0316'.repeat(15)} rise`.normalize('NFKC'),
    )
    // Astral marks, and the half-width sound marks NFKC makes combining ones, count alike.
    expect(normalizeText(`a${'\u{1d167}\u0316\uff9e'.repeat(1_000)}`)).toBe(
      `a${'\u{1d167}\u0316\uff9e'.repeat(10)}`.normalize('NFKC'),
    )
    // 30 are kept whole, however they fall against the units looked at.
    for (let p = 0; p < 70; p++) {
      const text = `${'x'.repeat(p)}${'\u0316'.repeat(30)}y`
      expect(normalizeText(text)).toBe(text.normalize('NFKC'))
    }
  })
  it('composes what an invisible character removed from inside a combining sequence had kept apart', () => {
    for (const invisible of ['\u200b', '\u00ad', '\u200f', '\u202e', '\u2066', '\ufeff', '\u200d']) {
      expect(normalizeText(`Me${invisible}\u0301xico tariffs`), JSON.stringify(invisible)).toBe(
        'M\u00e9xico tariffs',
      )
      expect(normalizeText(`\u1100${invisible}\u1161`), JSON.stringify(invisible)).toBe('\uac00')
    }
    // Runs of marks kept apart by invisible characters are one run once these go: cut, as any other.
    const joined = normalizeText(`a${`${'\u0301\u0316'.repeat(15)}\u200b`.repeat(2_000)}`)
    expect([LONG_RUN.test(joined), joined.length]).toEqual([false, 31])
  })
  it('finds a long run of marks wherever it stands, of any marks, BMP or astral', () => {
    const marks = ['\u0301', '\u0316', '\u{1d167}', '\u{11046}', '\uff9e', '\u05b0']
    const others = ['a', 'é', '漢', '📉', ' ', '\u0915']
    let seed = 7
    const next = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed % n
    }
    const differ: string[] = []
    for (let t = 0; t < 3_000; t++) {
      let text = ''
      const parts = 1 + next(4)
      for (let k = 0; k < parts; k++) {
        for (let i = next(70); i > 0; i--) text += others[next(others.length)]
        for (let i = next(3) === 0 ? 28 + next(6) : next(70); i > 0; i--) text += marks[next(marks.length)]
      }
      if (normalizeText(text) !== normalizeText(text.replace(MARK_RUN_TAIL, '$1'))) differ.push(text)
      if (LONG_RUN.test(normalizeText(text))) differ.push(text)
    }
    expect(differ.map((t) => JSON.stringify(t)).slice(0, 3)).toEqual([])
  })
  it('keeps astral characters whole', () => {
    expect(normalizeText('chips 📉 fall')).toBe('chips 📉 fall')
  })
  it('gives what the full pass gives for every character, alone, between letters, doubled and spaced', () => {
    // The definition without its shortcuts (plain ASCII as it is; no pass over text that needs none).
    const REMOVED = /[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/
    const SPACE = /[\0-\x20\x7f-\x9f\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/
    const BREAK = /[\n\v\f\r\x85\u2028\u2029]/
    const full = (input: string, keepLines: boolean) => {
      let out = ''
      let pending = ''
      for (const ch of input.replace(MARK_RUN_TAIL, '$1').normalize('NFKC')) {
        if (REMOVED.test(ch)) continue
        if (SPACE.test(ch)) {
          if (out.length > 0 && pending !== '\n') pending = keepLines && BREAK.test(ch) ? '\n' : ' '
          continue
        }
        out += pending + ch
        pending = ''
      }
      return out.replace(MARK_RUN_TAIL, '$1').normalize('NFKC')
    }
    const texts: string[] = ['', 'US raises tariffs', 'Uber’s loan', '“Damson” défense', 'a  b', ' a', 'a ']
    const chars = Array.from({ length: 0x10000 }, (_, cp) => String.fromCharCode(cp))
    chars.push('📉', '\u{1d400}', '\u{e0041}', '\u{2f800}')
    for (const ch of chars) texts.push(ch, `a${ch}b`, ` ${ch}${ch} `, `Tariffs ${ch}rise`)
    const differ = texts.filter((t) =>
      [false, true].some((keepLines) => normalizeText(t, keepLines) !== full(t, keepLines)),
    )
    expect(differ.map((t) => JSON.stringify(t)).slice(0, 10)).toEqual([])
  })
})

describe('truncate', () => {
  it('leaves short text alone', () => {
    expect(truncate('abc', 5)).toEqual({ text: 'abc', truncated: false })
  })
  it('cuts and flags long text', () => {
    expect(truncate('abcdef', 4)).toEqual({ text: 'abcd', truncated: true })
  })
  it('never splits a surrogate pair', () => {
    const r = truncate('ab📉cd', 3)
    expect(r.text).toBe('ab')
    expect(r.text.isWellFormed()).toBe(true)
  })
})

describe('showsNothing', () => {
  it.each([
    ['empty', ''],
    ['spaces and line breaks', ' \t\r\n\u00a0\u3000'],
    ['zero-width and bidi characters', '\u200b\u200c\u200d\u202e\u2066\ufeff'],
    ['Hangul fillers', '\u3164\u115f\u1160\uffa0'],
    ['the braille blank', '\u2800'],
    ['variation selectors and tag characters', '\ufe0f\u{e0041}\u{e0020}'],
  ])('holds %s to show nothing', (_, text) => {
    expect(showsNothing(text)).toBe(true)
  })
  it.each([
    ['a letter', 'a'],
    ['a letter among invisible characters', '\u200bwire\u2800'],
    ['a digit', '7'],
    ['punctuation', '-'],
    ['an emoji', '📉'],
  ])('holds %s to show something', (_, text) => {
    expect(showsNothing(text)).toBe(false)
  })
  it('shows nothing for every text that normalises to nothing', () => {
    for (const text of ['\u200b\u200c \t', '\u0000\u0007', '\u00ad\u2060'])
      expect(showsNothing(normalizeText(text)), JSON.stringify(text)).toBe(true)
  })
})

describe('TEXT_RULES', () => {
  const rules = Object.entries(TEXT_RULES) as [
    keyof typeof TEXT_RULES,
    (typeof TEXT_RULES)[keyof typeof TEXT_RULES],
  ][]

  /** Characters of every kind the rules tell apart, lone surrogates among them, for texts made of a few. */
  const POOL = [
    ...'aZ7٣é漢-— !.\n\r\t\0\x7f\x85\x9f\xa0\xad\u034f\u061c\u115f\u1160\u1680\u17b4\u180e\u2000\u200b\u200f',
    ...'\u2028\u2029\u202e\u202f\u205f\u2060\u2066\u2800\u3000\u3164\ufe0f\ufeff\uffa0\ufff0\ufff9\u0301',
    ...['📉', '\u{1d400}', '\u{e0041}', '\u{e0020}', '\u{1bca0}', '\u{1d173}', '\u{10ffff}', '\u{e1000}'],
    '\ud800',
    '\udbff',
    '\udc00',
    '\udfff',
  ]
  function* texts(): Generator<string> {
    let seed = 7
    const next = (n: number) => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0
      return seed % n
    }
    for (let t = 0; t < 20_000; t++) {
      let text = ''
      for (let i = next(6); i > 0; i--) text += POOL[next(POOL.length)]
      yield text
    }
  }

  // Each rule's test is its definition in JavaScript's own Unicode properties and String methods
  // (isWellFormed, \p{Cc}, \p{White_Space}, \p{Default_Ignorable_Code_Point}, the v flag's set
  // difference), which ingest and showsNothing check with; the pattern spells those sets out for RE2.
  it('each gives by its pattern the verdict of its test, on every code point and every text of a few of them', () => {
    const apart: string[] = []
    const check = (text: string) => {
      for (const [name, rule] of rules)
        if (rule.pattern.test(text) !== rule.test(text) && apart.length < 10)
          apart.push(`${name} ${JSON.stringify(text)}`)
    }
    // Lone surrogates too: a one-unit string of U+D800-U+DFFF is one.
    for (let cp = 0; cp <= 0x10ffff; cp++) check(String.fromCodePoint(cp))
    for (const text of texts()) check(text)
    expect(apart).toEqual([])
  }, 60_000)
  it('is written in the syntax ECMA-262 and RE2 share, and judges in RE2 (re2js, a port of Go’s regexp) as in JavaScript', () => {
    const apart: string[] = []
    for (const [name, { pattern }] of rules) {
      // What RE2 engines refuse: a lookaround or a backreference; \d is any digit to Rust's regex and Python's re.
      expect(pattern.source, name).not.toMatch(/\(\?<?[=!]|\\[1-9]|\\d|\\u/)
      // Only the u flag, which JSON Schema validators compile patterns with (ajv's unicodeRegExp).
      expect(pattern.flags, name).toBe('u')
      const re2 = RE2JS.compile(pattern.source)
      // RE2 reads UTF-8, where no lone surrogate can be: only well-formed text is put to it.
      for (const text of texts())
        if (text.isWellFormed() && re2.matcher(text).find() !== pattern.test(text) && apart.length < 10)
          apart.push(`${name} ${JSON.stringify(text)}`)
    }
    expect(apart).toEqual([])
  })
  it('holds of every text normalizeText makes, cut as ingest cuts it: a headline or source, and a body', () => {
    const { wellFormed, noControl, noControlButLineFeed } = TEXT_RULES
    const broken: string[] = []
    for (const raw of texts()) {
      // Ingest refuses a raw text with a lone surrogate before normalising (invalid_text).
      if (!raw.isWellFormed()) continue
      for (const text of [raw, raw.repeat(400)]) {
        const line = truncate(normalizeText(text), LIMITS.maxHeadlineChars).text
        const body = truncate(normalizeText(text, true), LIMITS.maxBodyChars).text
        if (![wellFormed, noControl].every((r) => r.pattern.test(line))) broken.push(JSON.stringify(line))
        if (![wellFormed, noControlButLineFeed].every((r) => r.pattern.test(body)))
          broken.push(JSON.stringify(body))
      }
    }
    expect(broken.slice(0, 5)).toEqual([])
  })
})
