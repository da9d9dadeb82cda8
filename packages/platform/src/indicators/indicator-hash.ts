import {
  createIndicatorState,
  type IndicatorState,
  type ResolvedIndicatorConfig,
} from '@tradepulse/indicators'

/**
 * Reads the state hash that lua/applyScope-8.lua writes (its header lists the fields) back into
 * the IndicatorState that readIndicator takes. The applied ids live in a separate sorted set and are
 * not needed to read, so `ids` stays empty.
 */
export function stateFromHash(hash: Record<string, string>, config: ResolvedIndicatorConfig): IndicatorState {
  const state = createIndicatorState(config)
  for (const [field, raw] of Object.entries(hash)) {
    const value = Number(raw)
    const head = field[0]
    const rest = field.slice(1)
    if (field === 'ref') state.refMs = value
    else if (field === 'cnt') state.count = value
    else if (field === 'late') state.late = value
    else if (field === 'upd') state.updatedMs = value
    else if (head === 'w') state.sumW[Number(rest) - 1] = value
    else if (head === 'x') state.sumWX[Number(rest) - 1] = value
    else if (head === 'c') state.coarse.set(Number(rest), value)
    else if (head === 'n' || head === 'p' || head === 'm') {
      const idx = Number(rest)
      const bucket = state.fine.get(idx) ?? { n: 0, pos: 0, neg: 0 }
      if (head === 'n') bucket.n = value
      else if (head === 'p') bucket.pos = value
      else bucket.neg = value
      state.fine.set(idx, bucket)
    }
  }
  return state
}
