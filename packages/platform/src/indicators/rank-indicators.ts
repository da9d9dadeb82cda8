import type { IndicatorUpdate } from '@tradepulse/contracts'
import type { TopBy } from '@tradepulse/indicators'

/** Orders for top(): buzz high to low, momentum by magnitude (a fall is as newsworthy as a rise); ties by scope id. */
export function rankIndicators(updates: IndicatorUpdate[], by: TopBy, n: number): IndicatorUpdate[] {
  const score = (u: IndicatorUpdate) => (by === 'buzz' ? u.buzz : Math.abs(u.momentum))
  return [...updates]
    .sort((a, b) => score(b) - score(a) || (a.scope.id < b.scope.id ? -1 : a.scope.id > b.scope.id ? 1 : 0))
    .slice(0, Math.max(0, n))
}
