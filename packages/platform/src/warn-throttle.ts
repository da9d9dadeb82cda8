import { TradepulseError } from './errors.ts'
import { faultReason } from './fault-reason.ts'
import type { Logger } from './logger.ts'

export type WarnThrottleOptions = {
  /** At most one summary line per key this often (default 30 s). */
  everyMs?: number
  /** The monotonic clock (default performance.now): a stepped wall clock neither floods nor hushes. */
  now?: () => number
}

export type WarnThrottle = {
  /**
   * Logs the first warning of `key` whole (`fields` with its `err` and stack); those after it are
   * counted, and one line every `everyMs` says how many there were, the last one's error in short
   * (code and reason, no stack). `key` tells apart what is retried (a partition, a lane).
   */
  warn(key: string, fields: Record<string, unknown>, msg: string): void
  /**
   * The fault of `key` is over: a last summary if warnings were counted since the last line, and the
   * next warning of `key` is logged whole again.
   */
  clear(key: string): void
}

type Held = {
  /** The fault's kind (our code and the reason health gives): another kind is logged whole. */
  kind: string
  count: number
  lastLineAt: number
  firstAt: number
  fields: Record<string, unknown>
  msg: string
}

/**
 * Throttles a warning repeated on every retry of a fault that lasts (a Redis full under noeviction, a
 * broker away): each retry logged its error whole, stack and all, 80-90 lines of 1.5-2 KB in 30 s per
 * worker. The first stays whole, for the stack; then a count every `everyMs`, and one when it clears.
 * No timer: a summary is written by the next warning past the interval, or by clear().
 */
export function createWarnThrottle(log: Logger, opts: WarnThrottleOptions = {}): WarnThrottle {
  const everyMs = opts.everyMs ?? 30_000
  const now = opts.now ?? (() => performance.now())
  const held = new Map<string, Held>()

  const summary = (h: Held, over: boolean): void => {
    const { err, ...fields } = h.fields
    const seconds = Math.round((now() - h.firstAt) / 1000)
    log.warn(
      { ...fields, ...(err === undefined ? {} : { error: short(err) }), repeated: h.count },
      `${h.msg} (${h.count} more since the last line; ${over ? 'cleared' : 'still failing'} after ${seconds} s)`,
    )
    h.count = 0
    h.lastLineAt = now()
  }

  return {
    warn(key, fields, msg) {
      const h = held.get(key)
      const kind = kindOf(fields.err)
      if (!h || h.kind !== kind) {
        // A fault of another kind (Redis out of memory, then read-only at a failover) is news: the
        // count of the last one first, then the new one whole.
        if (h && h.count > 0) summary(h, false)
        held.set(key, { kind, count: 0, lastLineAt: now(), firstAt: now(), fields, msg })
        log.warn(fields, msg)
        return
      }
      h.count++
      h.fields = fields
      h.msg = msg
      if (now() - h.lastLineAt >= everyMs) summary(h, false)
    },
    clear(key) {
      const h = held.get(key)
      if (!h) return
      held.delete(key)
      if (h.count > 0) summary(h, true)
    },
  }
}

/** What tells one fault from another: our code and the reason health gives (no message, no numbers). */
function kindOf(err: unknown): string {
  if (err === undefined) return ''
  return `${err instanceof TradepulseError ? err.code : ''}:${faultReason(err)}`
}

/** An error in one short line: its code (ours) and the reason health gives, then its message. */
function short(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  const code = err instanceof TradepulseError ? `${err.code}: ` : ''
  return `${code}${faultReason(err)}: ${message.slice(0, 300)}`
}
