import { describe, expect, it } from 'vitest'
import { LEXICON } from './lexicon.ts'
import { BREAK, createTokenBuffer, NUMBER, tokenize } from './tokenizer.ts'

function tokens(text: string) {
  const b = createTokenBuffer(2)
  tokenize(text, LEXICON.vocab, LEXICON.notId, b)
  const out: string[] = []
  for (let i = 0; i < b.count; i++) {
    const kind = b.kind[i]
    const raw = text.slice(b.start[i], b.end[i])
    out.push(kind === NUMBER ? `#${b.num[i]}${b.percent[i] ? '%' : ''}` : kind === BREAK ? '|' : raw)
  }
  return out
}

describe('tokenize', () => {
  it('splits hyphens, drops possessives, joins dotted capitals', () => {
    expect(tokens("U.S.-China rare-earth talks' pace, Beijing's move")).toEqual([
      'U.S.',
      'China',
      'rare',
      'earth',
      'talks',
      'pace',
      '|',
      'Beijing',
      'move',
    ])
  })

  it('ends no clause at the full stop of an abbreviation, and still at a sentence end', () => {
    expect(tokens('Wall St. slips; Dec. 15 tariffs loom. Talks end')).toEqual([
      'Wall',
      'St',
      'slips',
      '|',
      'Dec',
      '#15',
      'tariffs',
      'loom',
      '|',
      'Talks',
      'end',
    ])
    expect(tokens('Shares of Ford Motor Co.')).toEqual(['Shares', 'of', 'Ford', 'Motor', 'Co', '|'])
  })

  it('reads numbers, thousands, decimals and percentages', () => {
    expect(tokens('to 25% from 10.5%, 1,000 units')).toEqual([
      'to',
      '#25%',
      'from',
      '#10.5%',
      '|',
      '#1000',
      'units',
    ])
  })

  it('reads a comma between two names as a list, not a clause break', () => {
    expect(tokens('Tokyo halts Huawei, ZTE gear')).toEqual(['Tokyo', 'halts', 'Huawei', 'ZTE', 'gear'])
    expect(tokens('Tariffs hurt, Trump says')).toEqual(['Tariffs', 'hurt', '|', 'Trump', 'says'])
    expect(tokens('China, vows')).toEqual(['China', '|', 'vows'])
  })

  it("reads n't as a separate not", () => {
    const b = createTokenBuffer()
    tokenize("won't", LEXICON.vocab, LEXICON.notId, b)
    expect(b.count).toBe(2)
    expect(b.id[1]).toBe(LEXICON.notId)
  })

  it('records an explicit sign on numbers, not on ranges or words', () => {
    const b = createTokenBuffer()
    tokenize('Intelsat -17.5% (+4%) 2019-2020 U.S.-5', LEXICON.vocab, LEXICON.notId, b)
    const signs: number[] = []
    for (let i = 0; i < b.count; i++) if (b.kind[i] === NUMBER) signs.push(b.sign[i] as number)
    expect(signs).toEqual([-1, 1, 0, 0, 0])
  })

  it('grows its buffer and keeps spans on the original text', () => {
    const text = 'Tariffs '.repeat(500)
    const b = createTokenBuffer(1)
    tokenize(text, LEXICON.vocab, LEXICON.notId, b)
    expect(b.count).toBe(500)
    expect(text.slice(b.start[499], b.end[499])).toBe('Tariffs')
  })
})

describe('tokenize: listing commas', () => {
  it('joins a name and a count of others ("EU, six other allies")', () => {
    expect(tokens('excludes EU, six other allies from tariffs')).not.toContain('|')
    expect(tokens('waivers to China, 7 others')).not.toContain('|')
  })

  it('still breaks before who spoke (", Treasury says") and before other lower-case words', () => {
    expect(tokens('Sanctions end Monday, Treasury says')).toContain('|')
    expect(tokens('Sanctions end Monday, officials say')).toContain('|')
    expect(tokens('excludes EU, six allies')).toContain('|')
  })
})

describe('vocabulary lookup', () => {
  it('finds every word of the lexicon through the bit filter, in any case, and no word outside it', () => {
    const b = createTokenBuffer()
    const missed: string[] = []
    const { words } = LEXICON.vocab
    for (let id = 0; id < words.length; id++) {
      const w = words[id] as string
      // Single words only: the tokenizer splits what has a space, hyphen or apostrophe in it.
      if (!/^[a-z]+$/.test(w)) continue
      for (const form of [w, w.toUpperCase()]) {
        tokenize(form, LEXICON.vocab, LEXICON.notId, b)
        if (b.count !== 1 || b.id[0] !== id) missed.push(form)
      }
    }
    expect(missed).toEqual([])
    const outside = ['qwzx', 'tariffz', 'zzzz', 'blorptariff']
    for (const w of outside) {
      tokenize(w, LEXICON.vocab, LEXICON.notId, b)
      expect(b.id[0]).toBe(-1)
    }
  })

  it('lets a clear filter bit reject a word without probing, and a set one probe', () => {
    // The filter holds one bit per word: with it emptied, the lexicon's words read as unknown.
    const vocab = { ...LEXICON.vocab, filter: new Int32Array(LEXICON.vocab.filter.length) }
    const b = createTokenBuffer()
    tokenize('tariffs', vocab, LEXICON.notId, b)
    expect(b.id[0]).toBe(-1)
    tokenize('tariffs', LEXICON.vocab, LEXICON.notId, b)
    expect(LEXICON.vocab.words[b.id[0] as number]).toBe('tariffs')
  })

  it('takes a word as found only when its second hash agrees too', () => {
    // With the second hashes wiped, the probe hash alone finds nothing.
    const vocab = { ...LEXICON.vocab, check: new Int32Array(LEXICON.vocab.check.length) }
    const b = createTokenBuffer()
    tokenize('tariffs sanctions', vocab, LEXICON.notId, b)
    expect([b.id[0], b.id[1]]).toEqual([-1, -1])
  })
})
