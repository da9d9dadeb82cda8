import type { Clock } from '@tradepulse/contracts'
import type { AlertStore, ClaimDecision, HysteresisFields } from './alert-store.ts'

type Mark = { value: string; expiresAt: number }

/**
 * The alert store of the embedded default: the decisions of claim-alert-2.lua, in memory, for one
 * process. Expiry follows the given clock. Bounded by `maxEntries` (the oldest marks go first).
 */
export function createMemoryAlertStore(opts: {
  dedupWindowMs: number
  clock: Clock
  maxEntries?: number
}): AlertStore {
  const maxEntries = opts.maxEntries ?? 500_000
  const marks = new Map<string, Mark>()
  const cooldowns = new Map<string, Mark>()
  const hysteresis = new Map<string, HysteresisFields>()
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
        if (c.cooldownMs > 0) {
          const last = get(cooldowns, c.stream)
          if (last !== undefined) {
            const lastMs = last.slice(0, last.indexOf('|'))
            if (Math.abs(c.eventMs - Number(lastMs)) < c.cooldownMs) {
              set(marks, markKey, `c|${lastMs}`, ttl)
              return 'cooldown'
            }
            if (c.eventMs > Number(lastMs)) set(cooldowns, c.stream, `${c.eventMs}|${c.alertId}`, ttl)
          } else {
            set(cooldowns, c.stream, `${c.eventMs}|${c.alertId}`, ttl)
          }
        }
        set(marks, markKey, `p|${c.origin}`, ttl)
        return 'fire'
      })
    },
    async commit(sent, moved) {
      for (const s of sent) {
        const k = `${s.stream}\u0000${s.alertId}`
        const m = marks.get(k)
        if (m) m.value = `s|${s.origin}`
      }
      for (const [indicator, fields] of moved) {
        const entries = hysteresis.get(indicator) ?? {}
        for (const [f, e] of Object.entries(fields))
          if (e) entries[f] = e
          else if (e === null) delete entries[f]
        hysteresis.set(indicator, entries)
      }
    },
    async readHysteresis(requests) {
      const out = new Map<string, HysteresisFields>()
      for (const [indicator, fields] of requests) {
        const entries = hysteresis.get(indicator) ?? {}
        const picked: HysteresisFields = {}
        for (const f of fields) if (entries[f]) picked[f] = entries[f]
        out.set(indicator, picked)
      }
      return out
    },
  }
}
