import { z } from 'zod'
import type { AlertSide } from './alert-keys.ts'

/**
 * The state of one line of one indicator rule on one indicator, small and JSON-serialisable so the
 * service can keep it in a Redis hash (field = hysteresisKey). Losing it re-arms every rule: at worst
 * one repeat alert, which the deterministic id and the cooldown absorb.
 */
export const HysteresisEntry = z.strictObject({
  /** True when the next crossing fires. */
  armed: z.boolean(),
  lastValue: z.number(),
  /** Event time (asOf) of the update that last moved this entry; older updates are ignored. */
  asOfMs: z.number(),
  /**
   * The headlines behind that update (IndicatorUpdate.count): of two updates at the same asOf, the one
   * with fewer is the older reading (absent in entries written before it was kept).
   */
  count: z.int().min(0).optional(),
})
export type HysteresisEntry = z.infer<typeof HysteresisEntry>

/**
 * hysteresisKey → entry; only the entries an evaluation reads need to be present. null: the field is to
 * be deleted (an evaluation's result; read as missing).
 */
export type HysteresisState = Readonly<Record<string, HysteresisEntry | null | undefined>>

export type HysteresisLine = { side: AlertSide; line: number; hysteresis: number }

export type HysteresisStep = { fire: boolean; next: HysteresisEntry } | { fire: false; stale: true }

/**
 * One update against one line. Fires when armed and the value reaches the line (≥ for up, ≤ for down)
 * and disarms; re-arms once the value is back past the line by the hysteresis (< line − h for up,
 * > line + h for down). A missing entry is armed, so a value already past the line on first sight fires.
 * An update older than the entry's is stale: out-of-order indicator updates must not flip the state. So is
 * one at the same asOf behind fewer headlines (`count`): two aggregator members can read one indicator at
 * one asOf before and after a late headline (within the grace) was applied, and publish the older
 * reading last.
 */
export function stepHysteresis(
  prev: HysteresisEntry | undefined,
  value: number,
  asOfMs: number,
  { side, line, hysteresis }: HysteresisLine,
  count?: number,
): HysteresisStep {
  if (prev && asOfMs < prev.asOfMs) return { fire: false, stale: true }
  if (prev && asOfMs === prev.asOfMs && count !== undefined && prev.count !== undefined && count < prev.count)
    return { fire: false, stale: true }
  const isPast = side === 'up' ? value >= line : value <= line
  const isBack = side === 'up' ? value < line - hysteresis : value > line + hysteresis
  let armed = prev?.armed ?? true
  let fire = false
  if (armed && isPast) {
    fire = true
    armed = false
  } else if (!armed && isBack) {
    armed = true
  }
  return { fire, next: { armed, lastValue: value, asOfMs, ...(count !== undefined ? { count } : {}) } }
}
