import { describe, expect, it } from 'vitest'
import { createScorer, parseWatchlist, WatchlistError } from './index.ts'

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
