// Helpers of the scorer's test files: the calls every test makes, bound to one scorer.
import { expect, it } from 'vitest'
import type { Scorer } from './scorer.ts'

export const WATCHLIST = { entities: [{ id: 'TSLA', names: ['Tesla', 'Tesla Inc'] }] }

export function scorerHelpers(scorer: Scorer) {
  const score = (headline: string, body?: string) =>
    scorer.score(body === undefined ? { headline } : { headline, body })
  const tariff = (h: string) => score(h).scores.tariff
  return {
    score,
    tariff,
    supply: (h: string) => score(h).scores.supplyChain,
    market: (h: string) => score(h).scores.market,
    /** One test per [headline, expected tariff label (null: not about trade policy)] pair. */
    tariffCases(cases: [string, string | null][]): void {
      it.each(cases)('%s → %s', (h, want) => {
        expect(tariff(h).label).toBe(want)
      })
    },
    /** One test per [headline, expected supply-chain label (null: not about supply chains)] pair. */
    supplyCases(cases: [string, string | null][]): void {
      it.each(cases)('%s → supply %s', (h, want) => {
        expect(score(h).scores.supplyChain.label).toBe(want)
      })
    },
  }
}
