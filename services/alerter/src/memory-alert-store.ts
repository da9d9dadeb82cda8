import type { HysteresisValue } from '@tradepulse/alerting'
import type { Clock } from '@tradepulse/contracts'
import {
  type AlertStore,
  type ClaimDecision,
  type ClaimedAlert,
  type HysteresisFields,
  outboxTtlMs,
  readClaimedAlerts,
} from './alert-store.ts'

type Mark = { value: string; expiresAt: number }
/**
 * The fired set of a stream (claim-alert-3.lua, KEYS[3], whose members are "<eventMs>|<alertId>"): event
 * times of the alerts fired, ascending, and beside each the ids fired at it (nearly always one), so that a
 * release takes out its own alert's time and never another's at the same time.
 */
type Fired = { times: number[]; ids: string[][]; expiresAt: number }

/** Index of the first of the ascending `times` greater than `t`. */
function firstAfter(times: readonly number[], t: number): number {
  let lo = 0
  let hi = times.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (times[mid]! <= t) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * True when `stored` is about a newer update than `written` (a later asOf, or the same behind more
 * headlines, both counts given): write-hysteresis-1.lua leaves such an entry as it is.
 */
function newerThan(stored: HysteresisValue | null | undefined, written: HysteresisValue): boolean {
  if (!stored) return false
  if (stored.asOfMs !== written.asOfMs) return stored.asOfMs > written.asOfMs
  return stored.count !== undefined && written.count !== undefined && stored.count > written.count
}

/**
 * The alert store of the embedded default: the decisions of claim-alert-3.lua, in memory, for one
 * process. Expiry follows the given clock. Bounded by `maxEntries` (the oldest marks go first, and the
 * oldest outbox entries; the fired sets, of the streams fired longest ago first, by their fired times all
 * told), and each fired set as in the script: a fire drops the times more than the dedup window and a
 * cooldown older than the stream's newest. An indicator's hysteresis entries go `hysteresisTtlMs` after
 * the last commit that wrote one of them (ALERTER_HYSTERESIS_TTL_MS, as the Redis store's hash expires);
 * without it they stay for the whole process.
 */
export function createMemoryAlertStore(opts: {
  dedupWindowMs: number
  clock: Clock
  maxEntries?: number
  hysteresisTtlMs?: number
}): AlertStore {
  const maxEntries = opts.maxEntries ?? 500_000
  const hysteresisTtlMs = opts.hysteresisTtlMs ?? Number.POSITIVE_INFINITY
  const marks = new Map<string, Mark>()
  const fired = new Map<string, Fired>()
  let firedTimes = 0 // all fired sets together
  // Each indicator's entries and when they expire, in the order they were last written (so that the
  // expired ones come first: dropped at each commit, whether or not anything reads them again).
  const hysteresis = new Map<string, { entries: HysteresisFields; expiresAt: number }>()
  const entriesOf = (indicator: string) => {
    const h = hysteresis.get(indicator)
    if (h && h.expiresAt <= opts.clock.now()) {
      hysteresis.delete(indicator)
      return undefined
    }
    return h
  }
  // The outbox entries of input records, by origin, as JSON (what Redis holds): a reader gets its own copy.
  const outbox = new Map<string, Mark>()
  const get = (m: Map<string, Mark>, k: string) => {
    const v = m.get(k)
    if (v && v.expiresAt <= opts.clock.now()) {
      m.delete(k)
      return undefined
    }
    return v?.value
  }
  const set = (m: Map<string, Mark>, k: string, value: string, ttlMs: number) => {
    if (!m.has(k) && m.size >= maxEntries) m.delete(m.keys().next().value as string)
    m.set(k, { value, expiresAt: opts.clock.now() + ttlMs })
  }
  const dropFired = (stream: string) => {
    firedTimes -= fired.get(stream)?.times.length ?? 0
    fired.delete(stream)
  }
  const firedOf = (stream: string) => {
    const f = fired.get(stream)
    if (f && f.expiresAt <= opts.clock.now()) {
      dropFired(stream)
      return undefined
    }
    return f
  }
  /** The event time of the fired alert holding `eventMs` back: the nearer within the cooldown, the earlier if tied. */
  const holderOf = (times: readonly number[], eventMs: number, cooldownMs: number) => {
    const i = firstAfter(times, eventMs)
    const before = times[i - 1]
    const after = times[i]
    let held: number | undefined
    if (before !== undefined && eventMs - before < cooldownMs) held = before
    if (after !== undefined && after - eventMs < cooldownMs)
      if (held === undefined || after - eventMs < eventMs - held) held = after
    return held
  }
  const addFired = (stream: string, eventMs: number, alertId: string, keepMs: number, cooldownMs: number) => {
    const f = firedOf(stream) ?? { times: [], ids: [], expiresAt: 0 }
    fired.delete(stream) // (re)inserted last: the streams fired longest ago come first
    fired.set(stream, f)
    const i = firstAfter(f.times, eventMs)
    if (f.times[i - 1] !== eventMs) {
      f.times.splice(i, 0, eventMs)
      f.ids.splice(i, 0, [alertId])
      firedTimes++
    } else if (!f.ids[i - 1]!.includes(alertId)) f.ids[i - 1]!.push(alertId)
    const drop = firstAfter(f.times, f.times[f.times.length - 1]! - keepMs - cooldownMs)
    f.times.splice(0, drop)
    f.ids.splice(0, drop)
    firedTimes -= drop
    f.expiresAt = opts.clock.now() + keepMs
    // The oldest streams' sets go first past the bound (never the one just written).
    for (const oldest of fired.keys()) {
      if (firedTimes <= maxEntries || oldest === stream) break
      dropFired(oldest)
    }
  }
  return {
    async claim(claims) {
      return claims.map((c): ClaimDecision => {
        const markKey = `${c.stream}\u0000${c.alertId}`
        const ttl = Math.max(opts.dedupWindowMs, c.cooldownMs)
        let mark = get(marks, markKey)
        if (mark === 's') return 'duplicate'
        if (mark?.startsWith('s|')) return mark === `s|${c.origin}` ? 'sent' : 'duplicate'
        if (mark?.startsWith('c')) {
          // Held back by the stream's alert at heldBy: another event of the id past its cooldown is decided afresh.
          const heldBy = mark.length > 2 ? Number(mark.slice(2)) : Number.NaN
          if (Number.isNaN(heldBy) || Math.abs(c.eventMs - heldBy) < c.cooldownMs) return 'cooldown'
          mark = undefined
        }
        if (mark !== undefined) return mark === `p|${c.origin}` ? 'resend' : 'duplicate'
        if (c.resendOnly) return 'unclaimed'
        if (c.cooldownMs > 0) {
          const f = firedOf(c.stream)
          const held = f && holderOf(f.times, c.eventMs, c.cooldownMs)
          if (held !== undefined) {
            set(marks, markKey, `c|${held}`, ttl)
            return 'cooldown'
          }
          addFired(c.stream, c.eventMs, c.alertId, ttl, c.cooldownMs)
        }
        set(marks, markKey, `p|${c.origin}`, ttl)
        return 'fire'
      })
    },
    async release(releases) {
      for (const r of releases) {
        const markKey = `${r.stream}\u0000${r.alertId}`
        if (get(marks, markKey) !== `p|${r.origin}`) continue
        marks.delete(markKey)
        const f = firedOf(r.stream)
        if (!f) continue
        const i = firstAfter(f.times, r.eventMs) - 1
        // Its own member only (as ZREM of "<eventMs>|<alertId>"): an alert claimed without a cooldown was
        // never in the set, and another alert fired at the same time stays.
        const ids = f.ids[i]
        if (f.times[i] !== r.eventMs || !ids?.includes(r.alertId)) continue
        ids.splice(ids.indexOf(r.alertId), 1)
        if (ids.length > 0) continue
        f.times.splice(i, 1)
        f.ids.splice(i, 1)
        firedTimes--
        if (f.times.length === 0) dropFired(r.stream)
      }
    },
    async claimedFor(origins) {
      const out = new Map<string, ClaimedAlert[]>()
      for (const origin of origins) {
        const raw = get(outbox, origin)
        const alerts = raw === undefined ? [] : readClaimedAlerts(raw)
        if (alerts.length > 0) out.set(origin, alerts)
      }
      return out
    },
    async holdClaims(byOrigin) {
      for (const [origin, alerts] of byOrigin) {
        outbox.delete(origin) // (re)inserted last: the oldest entries go first past the bound
        set(outbox, origin, JSON.stringify(alerts), outboxTtlMs(opts.dedupWindowMs, alerts))
      }
    },
    async commit(sent, moved, settled = []) {
      for (const s of sent) {
        const k = `${s.stream}\u0000${s.alertId}`
        const m = marks.get(k)
        if (m) m.value = `s|${s.origin}`
      }
      for (const origin of settled) outbox.delete(origin)
      const now = opts.clock.now()
      for (const [indicator, h] of hysteresis) {
        if (h.expiresAt > now) break
        hysteresis.delete(indicator)
      }
      for (const [indicator, fields] of moved) {
        const h = entriesOf(indicator)
        const entries = h?.entries ?? {}
        let written = false
        // As write-hysteresis-1.lua: never over an entry about a newer update; the TTL renewed when
        // anything is written (a deletion alone leaves it).
        for (const [f, e] of Object.entries(fields))
          if (e) {
            if (!newerThan(entries[f], e)) {
              entries[f] = e
              written = true
            }
          } else if (e === null) delete entries[f]
        if (Object.keys(entries).length === 0) hysteresis.delete(indicator)
        else if (written) {
          hysteresis.delete(indicator) // (re)inserted last: the entries written longest ago come first
          hysteresis.set(indicator, { entries, expiresAt: now + hysteresisTtlMs })
        }
      }
    },
    async readHysteresis(requests) {
      const out = new Map<string, HysteresisFields>()
      for (const [indicator, { fields, keepUnlistedSinceMs: since }] of requests) {
        const h = entriesOf(indicator)
        const entries = h?.entries ?? {}
        const picked: HysteresisFields = {}
        for (const f of fields) if (entries[f]) picked[f] = entries[f]
        out.set(indicator, picked)
        if (fields.length === 0 || !h) continue
        // As read-hysteresis-2.lua: the fields no rule in force keeps (a rule removed or edited) are
        // forgotten once older than the cutoff, or an embedded alerter kept every edit's entries for its
        // whole life.
        const kept: HysteresisFields = { ...picked }
        if (since !== undefined) {
          const listed = new Set(fields)
          for (const [f, v] of Object.entries(entries))
            if (!listed.has(f) && v && v.asOfMs >= since) kept[f] = v
        }
        // (Its place in the order and its expiry as they were: a read renews no TTL.)
        if (Object.keys(kept).length === 0) hysteresis.delete(indicator)
        else h.entries = kept
      }
      return out
    },
  }
}
