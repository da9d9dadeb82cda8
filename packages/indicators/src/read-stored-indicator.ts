import { contractProblem, IndicatorUpdate } from '@tradepulse/contracts'
import type { ResolvedIndicatorConfig } from './indicator-config.ts'
import type { IndicatorTarget } from './indicator-keys.ts'
import { type IndicatorState, isDamagedRef } from './indicator-state.ts'
import type { WithheldIndicator } from './indicator-store.ts'
import { readIndicator } from './read-indicator.ts'

/**
 * What is wrong with an indicator update, naming the fields (`count: Invalid input: expected number,
 * received NaN`), or undefined when nothing is: the whole strict IndicatorUpdate contract (contracts'
 * contractProblem), the check the aggregator makes before it publishes one, so no reader of a store is
 * given what the indicators topic would not carry.
 */
export const indicatorUpdateProblem: (update: IndicatorUpdate) => string | undefined =
  contractProblem(IndicatorUpdate)

export type StoredRead = {
  /** The newest reference time the store may hold (its clock plus its maxRefAheadMs: refLimitOf). */
  refLimitMs: number
  /** The reference time as the store holds it (Redis's text, at most 64 characters), for `withheld`. */
  storedRef: string
  /** Where an indicator left out is named, with its reason; nothing is told when absent. */
  withheld: WithheldIndicator[] | undefined
  /**
   * The namespace's born time as the store holds it (namespace-born.ts), read after the state: +Infinity
   * when it holds none (not yet born, or lost with the state: buzz has no reading until an apply sets it).
   */
  bornMs: number
}

/**
 * The update of an indicator's stored state at asOfMs (readIndicator), as every store reads one: or
 * undefined, the indicator pushed onto `withheld`, when its reference time is damaged (`damaged_ref`:
 * isDamagedRef against refLimitMs, checked first, as nothing of such a state is read) or when the update
 * breaks the contract (`invalid_state`: indicatorUpdateProblem, with what it says). Every read (get, and
 * each scope of top, which then ranks only the others) goes through here, so every reader leaves out the
 * same indicators and none is given a NaN, an Infinity, a count of 2.5 or a time that is none.
 */
export function readStoredIndicator(
  state: IndicatorState,
  target: IndicatorTarget,
  asOfMs: number,
  config: ResolvedIndicatorConfig,
  read: StoredRead,
): IndicatorUpdate | undefined {
  const { dimension, scope } = target
  if (state.refMs !== null && isDamagedRef(state.refMs, read.refLimitMs)) {
    read.withheld?.push({ dimension, scope, reason: 'damaged_ref', stored: read.storedRef })
    return undefined
  }
  const update = readIndicator(state, target, asOfMs, config, read.bornMs)
  const problem = indicatorUpdateProblem(update)
  if (problem === undefined) return update
  read.withheld?.push({ dimension, scope, reason: 'invalid_state', stored: read.storedRef, problem })
  return undefined
}
