import {
  createIndicatorState,
  type IndicatorState,
  type ResolvedIndicatorConfig,
} from '@tradepulse/indicators'

/**
 * A field's value as a number, NaN when it is none. Blank text ('', ' ') is NaN: Number gives it 0, a
 * value that meets the contract but that no apply wrote (a count of 0, an updatedAt of 1970, every mean 0
 * against a ref of 0, which no check took as damaged), where Lua's tonumber gives nil and the apply scripts
 * take it as absent.
 */
const numberOf = (raw: string): number => (raw.trim() === '' ? Number.NaN : Number(raw))

/**
 * Reads the state hash that lua/applyScope-8.lua writes (its header lists the fields) back into
 * the IndicatorState that readIndicator takes. The applied ids live in a separate sorted set and are
 * not needed to read, so `ids` stays empty. A field that is no number reads as NaN (numberOf), for which
 * the store's read withholds the indicator (readStoredIndicator): a ref as damaged_ref, any other field an
 * update is read from as invalid_state (`late` is none).
 */
export function stateFromHash(hash: Record<string, string>, config: ResolvedIndicatorConfig): IndicatorState {
  const state = createIndicatorState(config)
  for (const [field, raw] of Object.entries(hash)) {
    const value = numberOf(raw)
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
