import { LIMITS, Scope, ScoreResult } from '@tradepulse/contracts'
import { describe, expect, it, vi } from 'vitest'
import { createScorer, parseWatchlist, parseWatchlistText, Watchlist, WatchlistError } from './index.ts'

describe('parseWatchlist', () => {
  it('returns a typed watchlist', () => {
    const w = parseWatchlist({ entities: [{ id: 'TSLA', names: ['Tesla', 'Tesla Inc'] }] })
    expect(w.entities[0]?.names).toEqual(['Tesla', 'Tesla Inc'])
    expect(
      createScorer({ watchlist: w }).score({ headline: 'Tesla Inc to build plant' }).entities.companies,
    ).toEqual(['TSLA'])
  })

  it.each([
    [{ entities: [{ id: 'TSLA', names: ['Tesla', 42] }] }, 'entities[0].names[1]'],
    [{ entities: [{ id: '', names: [] }] }, 'entities[0].id'],
    [{ entities: [{ id: 'X', names: [], extra: 1 }] }, 'entities[0]'],
    [{}, 'entities'],
    [null, '(root)'],
  ])('names the bad field (%j)', (json, field) => {
    try {
      parseWatchlist(json)
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(WatchlistError)
      expect((err as WatchlistError).field).toBe(field)
      expect((err as Error).message).toContain(field)
    }
  })

  it('matches names by word, case-insensitively, and the id itself', () => {
    const s = createScorer({ watchlist: parseWatchlist({ entities: [{ id: 'NVDA', names: ['Nvidia'] }] }) })
    expect(s.score({ headline: 'NVIDIA shares jump' }).entities.companies).toEqual(['NVDA'])
    expect(s.score({ headline: 'NVDA falls' }).entities.companies).toEqual(['NVDA'])
    expect(s.score({ headline: 'Nvidians gather' }).entities.companies).toEqual([])
  })
})

/** The message parseWatchlist (or parseWatchlistText) throws for `input`, or undefined if it takes it. */
const refusal = (input: unknown) => {
  try {
    if (typeof input === 'string') parseWatchlistText(input)
    else parseWatchlist(input)
  } catch (err) {
    expect(err).toBeInstanceOf(WatchlistError)
    return (err as Error).message
  }
  return undefined
}
const watchlist = (...entities: { id: string; names?: string[] }[]) => ({
  entities: entities.map((e) => ({ names: [], ...e })),
})
/** The companies a scorer of `w`, taken unchecked, reads `headline` as. */
const readBy = (w: Watchlist, headline: string) =>
  createScorer({ watchlist: w }).score({ headline }).entities.companies

describe('parseWatchlistText', () => {
  it('takes the JSON text of a watchlist', () => {
    expect(parseWatchlistText('{"entities":[{"id":"TSLA","names":["Tesla"]}]}')).toEqual(
      watchlist({ id: 'TSLA', names: ['Tesla'] }),
    )
  })

  it('refuses a key given twice, naming it, rather than keep the last silently (the first list of entities was lost)', () => {
    expect(refusal('{"entities":[{"id":"TSLA","names":["Tesla"]}],"entities":[]}')).toBe(
      'invalid watchlist at entities: key given more than once in one object',
    )
    expect(refusal('{"entities":[{"id":"TSLA","names":["Tesla"],"id":"TWTR"}]}')).toBe(
      'invalid watchlist at entities[0].id: key given more than once in one object',
    )
    expect(refusal('{"entities":[{"id":"TSLA","names":["Tesla","Tesla"]}]}')).toBeUndefined()
  })

  it("throws JSON.parse's own error for text that is not JSON", () => {
    expect(() => parseWatchlistText('{"entities":')).toThrow(SyntaxError)
  })

  // Windows editors start a UTF-8 file with one; JSON.parse refused it with the mark invisible.
  it('skips one byte-order mark at the start, and only one', () => {
    const text = '{"entities":[{"id":"TSLA","names":["Tesla"]}]}'
    expect(parseWatchlistText(`\ufeff${text}`)).toEqual(parseWatchlistText(text))
    expect(() => parseWatchlistText(`\ufeff\ufeff${text}`)).toThrow(SyntaxError)
  })
})

describe("a watchlist's stamp on scorerVersion", () => {
  // A list changes scores, not only entities.companies: with "China Steel" listed, its words are no
  // longer cues. Unstamped, scores of different lists were told apart by nothing.
  const text = { headline: 'China Steel halts exports to US' }
  const steel = (id: string) => watchlist({ id, names: ['China Steel'] })

  it('adds +watchlist-<12 hex> of the list as parsed, to the scores and to the rules-only features', () => {
    const [plain, listed] = [createScorer(), createScorer({ watchlist: steel('CHINA1') })]
    const [a, b] = [plain.score(text), listed.score(text)]
    expect(b.scores).not.toEqual(a.scores)
    expect(b.scorerVersion).toMatch(
      new RegExp(`^${a.scorerVersion.replaceAll('+', '\\+')}\\+watchlist-[0-9a-f]{12}$`),
    )
    const stamp = b.scorerVersion.slice(a.scorerVersion.length)
    expect(listed.features(text).rule.scorerVersion).toBe(
      `${plain.features(text).rule.scorerVersion}${stamp}`,
    )
    expect(createScorer({ watchlist: steel('CHINA1'), learned: false }).score(text).scorerVersion).toBe(
      `${createScorer({ learned: false }).score(text).scorerVersion}${stamp}`,
    )
  })

  it('is the same for the same list and another for another; none for an empty list', () => {
    const version = (w: Watchlist) => createScorer({ watchlist: w }).score(text).scorerVersion
    expect(version(steel('CHINA1'))).toBe(
      version(parseWatchlistText(JSON.stringify(steel('CHINA1'), null, 2))),
    )
    expect(version(steel('CHINA2'))).not.toBe(version(steel('CHINA1')))
    expect(createScorer({ watchlist: watchlist() }).score(text)).toEqual(createScorer().score(text))
  })
})

describe('parseWatchlist: what the scorer would take otherwise than meant', () => {
  it('takes entities that each have their own id and names (an id may be a name of its own entity)', () => {
    const w = parseWatchlist(
      watchlist(
        { id: 'AAPL', names: ['Apple', 'Apple Inc', 'aapl'] },
        { id: 'APLE', names: ['Apple Hospitality'] },
        { id: 'Tesla', names: ['Tesla', 'TESLA Inc.'] },
        { id: 'BRK.B', names: ['Berkshire Hathaway'] },
      ),
    )
    expect(readBy(w, 'Apple hit by tariffs')).toEqual(['AAPL'])
    expect(readBy(w, 'Apple Hospitality REIT sells hotels')).toEqual(['APLE'])
    expect(readBy(w, 'Tesla Inc halts exports')).toEqual(['Tesla'])
  })

  it('refuses an id given to two entities (their names were merged into one company)', () => {
    expect(refusal(watchlist({ id: 'TSLA', names: ['Tesla'] }, { id: 'TSLA', names: ['Twitter'] }))).toBe(
      'invalid watchlist at entities[1].id: "TSLA" is already the id of entities[0]; each entity needs an id of its own',
    )
  })

  it('refuses a name that another entity already has (it was recognised as the first only)', () => {
    expect(
      refusal(
        watchlist({ id: 'AAPL', names: ['Apple'] }, { id: 'APLE', names: ['Apple Hospitality', 'apple'] }),
      ),
    ).toBe(
      'invalid watchlist at entities[1].names[1]: "apple" is read as entities[0] (AAPL), whose name it is already; a name recognises one entity only',
    )
    // An id is registered as a name: a later entity's name equal to it is lost too.
    expect(refusal(watchlist({ id: 'AAPL', names: ['Apple'] }, { id: 'APLE', names: ['Aapl'] }))).toBe(
      'invalid watchlist at entities[1].names[0]: "Aapl" is read as entities[0] (AAPL), whose name it is already; a name recognises one entity only',
    )
  })

  it.each([
    ['Apple', 'APPLE'],
    ['Apple Inc', 'Apple Inc.'],
    ['Apple', "Apple's"],
    ['Rio Tinto', 'Rio-Tinto'],
    ['Nestlé', 'NESTLÉ'],
  ])('reads %j and %j as one name, as the scorer does: the second entity never gets it', (first, second) => {
    const w = watchlist({ id: 'A1', names: [first] }, { id: 'B1', names: [second] })
    expect(refusal(w)).toBe(
      `invalid watchlist at entities[1].names[0]: ${JSON.stringify(second)} is read as entities[0] (A1), whose name it is already; a name recognises one entity only`,
    )
    // What the refusal says is what a scorer of the file does.
    expect(readBy(w, `${second} shares fall`)).toEqual(['A1'])
  })

  it('refuses a name with no letter or digit, which could never be recognised', () => {
    expect(refusal(watchlist({ id: 'X1', names: ['X One', '&&&'] }))).toBe(
      'invalid watchlist at entities[0].names[1]: "&&&" has no letter or digit, so no headline can name it',
    )
  })

  it('refuses a name or id of words of grammar alone, which would tag nearly every headline', () => {
    expect(readBy(watchlist({ id: 'TGT', names: ['Target'] }), 'The Gap and Target rally')).toEqual(['TGT'])
    expect(refusal(watchlist({ id: 'X1', names: ['X One', 'The'] }))).toBe(
      'invalid watchlist at entities[0].names[1]: "The" is only words of grammar, which nearly every headline holds, so it would tag most headlines with this entity',
    )
    expect(refusal(watchlist({ id: 'X1', names: ['of the'] }))).toMatch(
      /entities\[0\]\.names\[0\]: "of the" is only words/,
    )
    // A ticker that is a word of grammar stays the id, but is not read as a name: "it" is in most headlines.
    const gartner = watchlist({ id: 'IT', names: ['Gartner'] }, { id: 'ON', names: ['onsemi'] })
    expect(refusal(gartner)).toBeUndefined()
    expect(readBy(gartner, 'It is on: Gartner beats, onsemi rallies')).toEqual(['IT', 'ON'])
    expect(readBy(gartner, 'It is on: China says it will retaliate')).toEqual([])
    // A name holding another word passes.
    expect(refusal(watchlist({ id: 'GPS', names: ['The Gap'] }))).toBeUndefined()
  })

  it("refuses an id that is another entity's name (the scorer registers each id as a name: it was lost)", () => {
    const w = watchlist({ id: 'AAPL', names: ['Apple'] }, { id: 'APPLE', names: ['Apple Computer'] })
    expect(refusal(w)).toBe(
      'invalid watchlist at entities[1].id: "APPLE" is read as entities[0] (AAPL), whose name it is already; the scorer reads an id as a name of its entity, and a name recognises one entity only',
    )
    expect(readBy(w, 'APPLE shares fall')).toEqual(['AAPL'])
    // Another entity's id, written otherwise, is the same name.
    expect(refusal(watchlist({ id: 'BRK.B', names: ['Berkshire'] }, { id: 'brk-b' }))).toBe(
      'invalid watchlist at entities[1].id: "brk-b" is read as entities[0] (BRK.B), whose name it is already; the scorer reads an id as a name of its entity, and a name recognises one entity only',
    )
  })

  it("refuses an id holding a comma, which the gateway's scope= filter cannot name", () => {
    expect(refusal(watchlist({ id: 'BRK,B', names: ['Berkshire Hathaway'] }))).toBe(
      'invalid watchlist at entities[0].id: "BRK,B" holds a comma, which the gateway\'s scope= filter (values separated by commas) cannot name',
    )
  })

  it('is part of the Watchlist schema, for every reader of it', () => {
    const r = Watchlist.safeParse(watchlist({ id: 'A,B' }))
    expect(r.success).toBe(false)
    expect(r.error?.issues[0]?.path).toEqual(['entities', 0, 'id'])
  })
})

describe("a watchlist id's bound", () => {
  const entityWithId = (id: string) => ({ entities: [{ id, names: [] }] })

  it("is the contract's bound of a scope id (every watchlist id becomes one): the longest is taken, and a scored headline naming it meets the contract", () => {
    const longest = 'A'.repeat(LIMITS.maxScopeIdChars)
    expect(parseWatchlist(entityWithId(longest)).entities[0]!.id).toBe(longest)
    expect(() => parseWatchlist(entityWithId(`${longest}A`))).toThrow(WatchlistError)
    const scorer = createScorer({ watchlist: parseWatchlist(entityWithId(longest)) })
    const [company] = scorer.score({ headline: `${longest} shares jump` }).entities.companies
    expect(company).toBe(longest)
    expect(Scope.safeParse({ kind: 'entity', id: company }).success).toBe(true)
  })

  it.each([
    ['a lone surrogate', 'X\ud800', 'holds a lone surrogate'],
    ['a control character', 'X\u0001Y', 'holds a control character'],
    ['only invisible characters', '\u200b\u2060', 'is blank'],
  ])(
    "is held to the contract's text rules of an entity id: refuses %s at load, naming the field",
    (_, id, says) => {
      // The scorer reported it in entities.companies and every reader dead-lettered each headline naming it.
      expect(() => parseWatchlist(entityWithId(id))).toThrow(`invalid watchlist at entities[0].id: ${says}`)
      expect(() => parseWatchlistText(JSON.stringify(entityWithId(id)))).toThrow(/at entities\[0\]\.id/)
    },
  )

  it("keeps the scorer's companies within the contract's list bound however many a long body names", () => {
    const letters = (i: number) => String.fromCharCode(97 + (i % 26), 97 + Math.floor(i / 26))
    const names = Array.from({ length: 200 }, (_, i) => `Zorb${letters(i)}`)
    const watchlist = parseWatchlist({ entities: names.map((name, i) => ({ id: `CO${i}`, names: [name] })) })
    const body = names.map((name) => `${name} shares fall.`).join('\n')
    const result = createScorer({ watchlist }).score({ headline: 'Shares fall', body })
    expect(result.entities.companies.length).toBeGreaterThan(0)
    expect(result.entities.companies.length).toBeLessThanOrEqual(LIMITS.maxEntitiesPerKind)
    expect(ScoreResult.safeParse(result).success).toBe(true)
  })

  it('keeps ids beyond ASCII that show something', () => {
    expect(parseWatchlist(entityWithId('Société Générale')).entities[0]!.id).toBe('Société Générale')
  })

  it('moves with LIMITS.maxScopeIdChars: the two cannot drift apart', async () => {
    vi.resetModules()
    vi.doMock('@tradepulse/contracts', async (importOriginal) => {
      const actual = await importOriginal<typeof import('@tradepulse/contracts')>()
      return { ...actual, LIMITS: { ...actual.LIMITS, maxScopeIdChars: 80 } }
    })
    try {
      const { parseWatchlist: parse } = await import('./watchlist.ts')
      expect(parse(entityWithId('A'.repeat(80))).entities).toHaveLength(1)
      expect(() => parse(entityWithId('A'.repeat(81)))).toThrow(/at entities\[0\]\.id/)
    } finally {
      vi.doUnmock('@tradepulse/contracts')
      vi.resetModules()
    }
  })
})
