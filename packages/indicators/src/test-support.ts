// Test support for readers of indicator stores (`@tradepulse/indicators/test-support`): not exported from
// index, and pure like the rest of the package.
import type { IndicatorUpdate } from '@tradepulse/contracts'
import type { IndicatorStore, WithheldIndicator } from './indicator-store.ts'
import { indicatorUpdateProblem } from './read-stored-indicator.ts'

/**
 * The store, reading the indicators of the scope with id `scopeId` as `damage` makes them (fields of NaN,
 * as the Redis store reads a hash whose fields hold `abc` after a hand edit), and withholding them as
 * invalid_state through the contract check every store makes on a read (indicatorUpdateProblem), the
 * problem in the withheld entry. Made at the read: the stores refuse any contribution that would give
 * them such a state (a weight outside [0, 1], 9607b62). `top` ranks the damaged one among the others, as
 * a store does: it is not among the n.
 */
export function withDamagedIndicator(
  store: IndicatorStore,
  scopeId: string,
  damage: (u: IndicatorUpdate) => IndicatorUpdate,
): IndicatorStore {
  const read = (u: IndicatorUpdate, withheld: WithheldIndicator[] | undefined) => {
    if (u.scope.id !== scopeId) return u
    const problem = indicatorUpdateProblem(damage(u))
    if (problem === undefined) throw new Error('the damaged indicator passed the IndicatorUpdate contract')
    const { dimension, scope } = u
    withheld?.push({ dimension, scope, reason: 'invalid_state', stored: String(Date.parse(u.asOf)), problem })
    return undefined
  }
  return Object.assign(Object.create(store) as IndicatorStore, {
    get: async (...args: Parameters<IndicatorStore['get']>) => {
      const u = await store.get(...args)
      return u && read(u, args[3])
    },
    top: async (...args: Parameters<IndicatorStore['top']>) => {
      const [dimension, kind, by, n, asOfMs, withheld] = args
      const rows = await store.top(dimension, kind, by, n + 1, asOfMs, withheld)
      return rows.flatMap((u) => read(u, withheld) ?? []).slice(0, n)
    },
  })
}
