import { z } from 'zod'
import type { AlertSide } from './alert-keys.ts'

/**
 * The state of one line of one indicator rule on one indicator, small and JSON-serialisable so the
 * service can keep it in a Redis hash (field = hysteresisKey). Losing it re-arms the line: one repeat
 * alert of a crossing still past it, which the id and the cooldown absorb only while the cooldown of the
 * first lasts (a crossing the cooldown holds back stays armed and fires once it is over).
 */
export const HysteresisEntry = z.strictObject({
  /** True when the next crossing fires. */
  armed: z.boolean(),
  lastValue: z.number(),
  /** Event time (asOf) of the update that last moved this entry; older updates are ignored. */
  asOfMs: z.number(),
  /**
   * The headlines behind that update (IndicatorUpdate.count): of two updates at the same asOf, the one
   * with fewer is the older reading; a later one with fewer is a new run of the indicator, its keys
   * expired or lost (silence.ts). Absent in entries written before it was kept.
   */
  count: z.int().min(0).optional(),
})
export type HysteresisEntry = z.infer<typeof HysteresisEntry>

/**
 * The last update of one indicator evaluated while a line on it was disarmed: what that line's
 * re-arming needs to tell how far the indicator fell back during a silence before the next update (see
 * silence.ts). One per indicator, in the same hash under READING_FIELD; a separate field (rather than
 * more fields in each line's entry) so that an alerter of an earlier version, which reads entries
 * strictly, still reads the entries this one writes.
 */
export const IndicatorReading = z.strictObject({
  asOfMs: z.number(),
  count: z.int().min(0),
  /** IndicatorUpdate.mean. */
  mean: z.record(z.string(), z.number()),
  /** Per half-life label of mean: the decayed weight behind it, exact (`exact`) or an upper bound. */
  weight: z.record(z.string(), z.number().min(0)),
  /** True when `weight` is the update's own (IndicatorUpdate.weight), false when a bound of it. */
  exact: z.boolean(),
})
export type IndicatorReading = z.infer<typeof IndicatorReading>

/** The field of an indicator's IndicatorReading: no hysteresisKey starts with "@" (rule ids cannot). */
export const READING_FIELD = '@reading'

/** What a field of an indicator's hysteresis hash holds: a line's entry, or (READING_FIELD) its reading. */
export const HysteresisValue = z.union([HysteresisEntry, IndicatorReading])
export type HysteresisValue = z.infer<typeof HysteresisValue>

/**
 * hysteresisKey → entry (and READING_FIELD → reading); only the fields an evaluation reads need to be
 * present. null: the field is to be deleted (an evaluation's result; read as missing).
 */
export type HysteresisState = Readonly<Record<string, HysteresisValue | null | undefined>>

/** The line entry in a field's value, if that is one. */
export const lineEntry = (v: HysteresisValue | null | undefined): HysteresisEntry | undefined =>
  v && 'armed' in v ? v : undefined

/** The indicator reading in a field's value, if that is one. */
export const indicatorReading = (v: HysteresisValue | null | undefined): IndicatorReading | undefined =>
  v && 'mean' in v ? v : undefined

export type HysteresisLine = { side: AlertSide; line: number; hysteresis: number }

/** Bounds of what a measure read (lo ≤ value ≤ hi); either may be infinite. */
export type ValueRange = { lo: number; hi: number }

export type HysteresisStep = { fire: boolean; next: HysteresisEntry } | { fire: false; stale: true }

/** True when every value of `range` lies back past the line by the hysteresis (where a line re-arms). */
export function isBackPast(range: ValueRange, { side, line, hysteresis }: HysteresisLine): boolean {
  return side === 'up' ? range.hi < line - hysteresis : range.lo > line + hysteresis
}

/**
 * One update against one line. Fires when armed and the value reaches the line (≥ for up, ≤ for down)
 * and disarms; re-arms once the value is back past the line by the hysteresis (< line − h for up,
 * > line + h for down). A missing entry is armed, so a value already past the line on first sight fires.
 * An update older than the entry's is stale: out-of-order indicator updates must not flip the state. So is
 * one at the same asOf behind fewer headlines (`count`): two aggregator members can read one indicator at
 * one asOf before and after a late headline (within the grace) was applied, and publish the older
 * reading last.
 *
 * `silent`: what the measure read at some moment between the entry's update and this one, when the
 * caller can tell (the indicator decaying through a silence of its scope, which no update shows: the
 * aggregator publishes an indicator only when it gets headlines). A disarmed line whose `silent` range
 * lies back past the line re-arms first, so this update fires if it is past the line.
 */
export function stepHysteresis(
  prev: HysteresisEntry | undefined,
  value: number,
  asOfMs: number,
  line: HysteresisLine,
  count?: number,
  silent?: ValueRange,
): HysteresisStep {
  if (prev && asOfMs < prev.asOfMs) return { fire: false, stale: true }
  if (prev && asOfMs === prev.asOfMs && count !== undefined && prev.count !== undefined && count < prev.count)
    return { fire: false, stale: true }
  const isPast = line.side === 'up' ? value >= line.line : value <= line.line
  const isBack = isBackPast({ lo: value, hi: value }, line)
  let armed = prev?.armed ?? true
  if (!armed && silent && isBackPast(silent, line)) armed = true
  let fire = false
  if (armed && isPast) {
    fire = true
    armed = false
  } else if (!armed && isBack) {
    armed = true
  }
  return { fire, next: { armed, lastValue: value, asOfMs, ...(count !== undefined ? { count } : {}) } }
}
