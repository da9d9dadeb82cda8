import type { Dimension, Scope } from '@tradepulse/contracts'
import type { AlertSide } from './alert-keys.ts'
import { ALERTING_DEFAULTS } from './alerting-defaults.ts'

const DIMENSION_NAMES: Record<Dimension, string> = {
  tariff: 'Tariff',
  supplyChain: 'Supply-chain',
  market: 'Market',
  uncertainty: 'Uncertainty',
}

/** Two decimals at most, no trailing zeros: -0.5, -0.62, 42. */
export function formatNumber(v: number): string {
  return String(Number(v.toFixed(2)))
}

/**
 * A value and its threshold, with as many decimals (2 to 4) as it takes to tell them apart: a value
 * just past the line reads "-0.8012, below -0.8", not "-0.8, below -0.8".
 */
export function formatPair(value: number, threshold: number): [string, string] {
  for (const d of [2, 3, 4]) {
    const v = String(Number(value.toFixed(d)))
    const t = String(Number(threshold.toFixed(d)))
    if (v !== t || d === 4) return [v, t]
  }
  return [formatNumber(value), formatNumber(threshold)]
}

/** "on CN", "on rare earths", "overall". */
export function scopePhrase(scope: Scope): string {
  if (scope.kind === 'global') return 'overall'
  return `on ${scope.kind === 'commodity' || scope.kind === 'sector' ? scope.id.replaceAll('_', ' ') : scope.id}`
}

/** Messages stay one line and bounded, whatever the headline holds. */
export function quoteHeadline(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  const max = ALERTING_DEFAULTS.messageHeadlineChars
  if (flat.length <= max) return `"${flat}"`
  // Not between the two halves of a surrogate pair (an emoji): a lone half is no text.
  const last = flat.charCodeAt(max - 2)
  const cut = last >= 0xd800 && last <= 0xdbff ? max - 2 : max - 1
  return `"${flat.slice(0, cut)}…"`
}

/** "fell to -0.62, below -0.5" / "rose to 0.61, above 0.5". */
function movement(side: AlertSide, value: number, threshold: number): string {
  const [v, t] = formatPair(value, threshold)
  return side === 'down' ? `fell to ${v}, below ${t}` : `rose to ${v}, above ${t}`
}

export type IndicatorMessageInput = {
  dimension: Dimension
  scope: Scope
  /** What was measured: "1h mean", "momentum", "1h volume", "buzz z-score"… */
  measure: string
  /** Sentiment measures read "Tariff sentiment on CN (1h mean)"; activity ones "Tariff headline buzz on CN". */
  quantity: 'sentiment' | 'activity'
  side: AlertSide
  value: number
  threshold: number
}

/** "Tariff sentiment on CN (1h mean) fell to -0.62, below -0.5". */
export function indicatorMessage(m: IndicatorMessageInput): string {
  const moved = movement(m.side, m.value, m.threshold)
  if (m.quantity === 'activity') {
    return `${DIMENSION_NAMES[m.dimension]} headline ${m.measure} ${scopePhrase(m.scope)} ${moved}`
  }
  const subject = m.dimension === 'uncertainty' ? 'Uncertainty' : `${DIMENSION_NAMES[m.dimension]} sentiment`
  return `${subject} ${scopePhrase(m.scope)} (${m.measure}) ${moved}`
}

export type HeadlineMessageInput = {
  dimension: Dimension
  scope: Scope
  headline: string
  value: number
  threshold: number
}

/** What one headline is, by dimension and side: an escalation is not worded like a relief. */
const HEADLINE_KINDS: Record<Dimension, { down: string; up: string }> = {
  tariff: { down: 'Tariff escalation', up: 'Tariff relief' },
  supplyChain: { down: 'Supply-chain disruption', up: 'Supply-chain easing' },
  market: { down: 'Market shock', up: 'Market boost' },
  uncertainty: { down: 'Uncertainty spike', up: 'Uncertainty spike' },
}

/** `Tariff escalation on CN: "…" scored -0.82 (threshold -0.6)`; `Tariff relief on CN: …` above 0. */
export function headlineMessage(m: HeadlineMessageInput): string {
  const what = HEADLINE_KINDS[m.dimension][m.value < 0 ? 'down' : 'up']
  const [v, t] = formatPair(m.value, m.threshold)
  return `${what} ${scopePhrase(m.scope)}: ${quoteHeadline(m.headline)} scored ${v} (threshold ${t})`
}
