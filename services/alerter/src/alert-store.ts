import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { HysteresisValue } from '@tradepulse/alerting'
import { createKeys } from '@tradepulse/platform'
import type { Redis } from 'ioredis'

// Versioned so a changed script never runs under an old cached SHA.
const CLAIM_COMMAND = 'tpAlertClaimV2'
const CLAIM_LUA = readFileSync(join(import.meta.dirname, 'lua', 'claim-alert-2.lua'), 'utf8')

type ClaimCommand = (numKeys: number, ...args: (string | number)[]) => Promise<number>

/**
 * What the claim script decided for one alert; the numeric codes of claim-alert-2.lua, mapped once here.
 * "sent": already marked sent for this same input record (its redelivery, after the commit's sent mark and
 * perhaps before its hysteresis write): nothing to publish, but the alert went out for this record.
 */
export type ClaimDecision = 'fire' | 'resend' | 'sent' | 'duplicate' | 'cooldown'
const DECISIONS: Record<string, ClaimDecision> = {
  '1': 'fire',
  '2': 'resend',
  '3': 'sent',
  '0': 'duplicate',
  '-1': 'cooldown',
}

export type AlertClaim = {
  stream: string
  alertId: string
  eventMs: number
  cooldownMs: number
  /** The input record that raised it, "<topic>/<partition>/<offset>": its redelivery may claim again. */
  origin: string
}

/**
 * The hysteresis hash of one indicator: hysteresisKey → line entry, and READING_FIELD → the indicator's
 * reading; null in a commit deletes the field.
 */
export type HysteresisFields = Record<string, HysteresisValue | null | undefined>

/**
 * The alerter's Redis state: cooldown and dedup marks (one script call per alert, issued in order and
 * auto-pipelined, so two alerts of one stream in a batch are decided one after the other), and
 * hysteresis hashes. The cooldown of a stream holds an alert back within the cooldown of any alert fired
 * on it, before or after it in event time (a late alert too), as far back as the dedup window behind the
 * newest one fired (see claim-alert-2.lua).
 */
export type AlertStore = {
  claim(claims: readonly AlertClaim[]): Promise<ClaimDecision[]>
  /**
   * After the alerts are acknowledged by Kafka: marks them sent (naming the input record each was sent
   * for), and writes the hysteresis entries the batch moved. Both are idempotent, so a retry after a fault
   * repeats them harmlessly. Not atomic (the keys are in different slots): a crash may leave the sent marks
   * written and the hysteresis not; the redelivered record then claims "sent" and the commit is finished.
   */
  commit(
    sent: readonly { stream: string; alertId: string; origin: string }[],
    hysteresis: ReadonlyMap<string, HysteresisFields>,
  ): Promise<void>
  readHysteresis(requests: ReadonlyMap<string, readonly string[]>): Promise<Map<string, HysteresisFields>>
}

export type AlertStoreOptions = { prefix: string; dedupWindowMs: number; hysteresisTtlMs: number }

export function createRedisAlertStore(redis: Redis, opts: AlertStoreOptions): AlertStore {
  const keys = createKeys(opts.prefix)
  // The stream's fired set (claim-alert-2.lua, KEYS[3]): the cooldown key's name and hash tag, suffixed.
  const firedKey = (stream: string) => `${keys.alertCooldown(stream)}:fired`
  if (!(CLAIM_COMMAND in redis)) redis.defineCommand(CLAIM_COMMAND, { lua: CLAIM_LUA })
  return {
    async claim(claims) {
      if (claims.length === 0) return []
      const claim = (redis as unknown as Record<string, ClaimCommand>)[CLAIM_COMMAND]!.bind(redis)
      // One call per alert, issued in order: ioredis's auto-pipelining sends them, with whatever the
      // batches of other partitions issue in the same turn, as one write (and Redis runs them in order).
      const replies = await Promise.all(
        claims.map((c) =>
          claim(
            3,
            keys.alertCooldown(c.stream),
            keys.alertSent(c.stream, c.alertId),
            firedKey(c.stream),
            c.alertId,
            c.eventMs,
            c.cooldownMs,
            Math.max(opts.dedupWindowMs, c.cooldownMs),
            c.origin,
          ),
        ),
      )
      return replies.map((r) => {
        const d = DECISIONS[String(r)]
        if (!d) throw new Error(`claim-alert script returned ${String(r)}`)
        return d
      })
    },
    async commit(sent, hysteresis) {
      if (sent.length === 0 && hysteresis.size === 0) return
      const writes: Promise<unknown>[] = []
      // XX: a mark that expired meanwhile is not recreated; KEEPTTL: the dedup window runs from the claim.
      // Unconditional: only the claim's holder confirms, and a sent mark never goes back to claimed. The
      // mark names the record the alert was sent for: a fresh process redelivered that record after a crash
      // here (the marks written, the hysteresis not) claims "sent", keeps the line disarmed and writes it.
      for (const s of sent)
        writes.push(redis.set(keys.alertSent(s.stream, s.alertId), `s|${s.origin}`, 'KEEPTTL', 'XX'))
      for (const [indicator, fields] of hysteresis) {
        const key = keys.alertHysteresis(indicator)
        const flat: string[] = []
        const deleted: string[] = []
        for (const [field, entry] of Object.entries(fields))
          if (entry) flat.push(field, JSON.stringify(entry))
          else if (entry === null) deleted.push(field)
        if (deleted.length > 0) writes.push(redis.hdel(key, ...deleted))
        if (flat.length === 0) continue
        writes.push(redis.hset(key, ...flat), redis.pexpire(key, opts.hysteresisTtlMs))
      }
      await Promise.all(writes)
    },
    async readHysteresis(requests) {
      const out = new Map<string, HysteresisFields>()
      const list = [...requests].filter(([, fields]) => fields.length > 0)
      for (const [indicator] of requests) out.set(indicator, {})
      if (list.length === 0) return out
      const replies = await Promise.all(
        list.map(([indicator, fields]) => redis.hmget(keys.alertHysteresis(indicator), ...fields)),
      )
      list.forEach(([indicator, fields], i) => {
        const values = replies[i]!
        const entries = out.get(indicator)!
        fields.forEach((f, k) => {
          const raw = values[k]
          if (raw == null) return
          // An unreadable entry re-arms the rule: at worst one repeat, which dedup and cooldown absorb.
          try {
            const parsed = HysteresisValue.safeParse(JSON.parse(raw))
            if (parsed.success) entries[f] = parsed.data
          } catch {}
        })
      })
      return out
    },
  }
}
