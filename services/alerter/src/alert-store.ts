import { HysteresisValue } from '@tradepulse/alerting'
import { type Alert, AlertReader } from '@tradepulse/contracts'
import { createKeys, defineScript } from '@tradepulse/platform'
import type { Redis } from 'ioredis'
import { z } from 'zod'

// Versioned so a changed script never runs under an old cached SHA. Version 3 (resend only, and the
// release of a refused alert) reads and writes the same keys, in the same forms, as version 2.
const CLAIM_COMMAND = 'tpAlertClaimV3'
const CLAIM_LUA = new URL('./lua/claim-alert-3.lua', import.meta.url)
const RELEASE_COMMAND = 'tpAlertReleaseV3'
const RELEASE_LUA = new URL('./lua/release-alert-3.lua', import.meta.url)
// Version 2 takes the prune's cutoff first (ARGV[1]) and keeps the fields not asked for until their entries
// are older than it; version 1 deleted them at once.
const READ_HYSTERESIS_COMMAND = 'tpHysteresisReadV2'
const READ_HYSTERESIS_LUA = new URL('./lua/read-hysteresis-2.lua', import.meta.url)
// The commit's hysteresis write: an entry about a newer update than the one written is left as it is (a
// write sent again by ioredis once its reply was lost may land after another alerter's newer ones).
const WRITE_HYSTERESIS_COMMAND = 'tpHysteresisWriteV1'
const WRITE_HYSTERESIS_LUA = new URL('./lua/write-hysteresis-1.lua', import.meta.url)

type ScriptCommand = (numKeys: number, ...args: (string | number)[]) => Promise<number>
type ReadHysteresisCommand = (numKeys: number, ...args: string[]) => Promise<(string | null)[]>

/**
 * What the claim script decided for one alert; the numeric codes of claim-alert-3.lua, mapped once here.
 * "sent": already marked sent for this same input record (its redelivery, after the commit's sent mark and
 * perhaps before its hysteresis write): nothing to publish, but the alert went out for this record.
 * "unclaimed": a resend-only claim (see AlertClaim) of an id this record holds no claim of: nothing
 * written, nothing to publish.
 */
export type ClaimDecision = 'fire' | 'resend' | 'sent' | 'duplicate' | 'cooldown' | 'unclaimed'
const DECISIONS: Record<string, ClaimDecision> = {
  '1': 'fire',
  '2': 'resend',
  '3': 'sent',
  '0': 'duplicate',
  '-1': 'cooldown',
  '4': 'unclaimed',
}

export type AlertClaim = {
  stream: string
  alertId: string
  eventMs: number
  cooldownMs: number
  /** The input record that raised it, "<topic>/<partition>/<offset>": its redelivery may claim again. */
  origin: string
  /**
   * Only a claim this record already holds is answered (resend, sent, or as first decided): an id it holds
   * no claim of is not claimed ("unclaimed"). For an alert found in the record's outbox entry that this
   * attempt does not raise itself: the attempt that held it may have failed before its claim ran.
   */
  resendOnly?: boolean
}

/** A claim to undo: an alert Kafka refused for good, claimed by `origin` and never sent. */
export type AlertRelease = { stream: string; alertId: string; eventMs: number; origin: string }

/**
 * An alert as an attempt claimed it for its input record: kept with the claim (the outbox, one entry per
 * record) from just before the claim until the batch commits, so that any later attempt of that record, in
 * this process or another, publishes exactly it, whatever its own rules and clock say by then (see
 * createAlerterHandler). The claim's own fields (stream, event time, cooldown) are claimed again as they
 * were: "resend" while the claim stands unconfirmed.
 */
export type ClaimedAlert = {
  stream: string
  eventMs: number
  cooldownMs: number
  alert: Alert
  /** The desks it was routed to (routeAlert), before a headline's alerts are merged per desk. */
  desks: string[]
  traceparent: string
  /** The scored headline that raised it (headline rules): a desk is paged once per rule and headline. */
  headline?: string
}

/**
 * One outbox entry as written (JSON, an array of these). Read leniently (a field this version does not
 * know is dropped): an entry that does not parse is skipped, its record decided as if it had none.
 */
const ClaimedAlertReader = z.object({
  stream: z.string(),
  eventMs: z.number(),
  cooldownMs: z.number(),
  alert: AlertReader,
  desks: z.array(z.string()),
  traceparent: z.string(),
  headline: z.string().optional(),
})

/** The outbox entries of one record as written; unreadable ones skipped. */
export function readClaimedAlerts(raw: string): ClaimedAlert[] {
  let list: unknown
  try {
    list = JSON.parse(raw)
  } catch {
    return []
  }
  if (!Array.isArray(list)) return []
  const out: ClaimedAlert[] = []
  for (const item of list) {
    const parsed = ClaimedAlertReader.safeParse(item)
    if (!parsed.success) continue
    const { headline, ...rest } = parsed.data
    out.push({ ...rest, ...(headline !== undefined ? { headline } : {}) })
  }
  return out
}

/** How long a record's outbox entry lasts: as its claims do (the dedup window, or a longer cooldown). */
export const outboxTtlMs = (dedupWindowMs: number, alerts: readonly ClaimedAlert[]) =>
  Math.max(dedupWindowMs, ...alerts.map((a) => a.cooldownMs))

/**
 * The hysteresis hash of one indicator: hysteresisKey → line entry, and READING_FIELD → the indicator's
 * reading; null in a commit deletes the field.
 */
export type HysteresisFields = Record<string, HysteresisValue | null | undefined>

/** What an evaluation reads of one indicator's hysteresis hash (AlertStore.readHysteresis). */
export type HysteresisRead = {
  /** The fields the rules in force keep of the indicator (hysteresisKeysFor): those read. */
  fields: readonly string[]
  /**
   * Event time, ms: a field not among `fields` whose value is about a time (asOfMs) at or after this is
   * kept, an older one forgotten (see read-hysteresis-2.lua). Absent: every field not among them is
   * forgotten at once.
   */
  keepUnlistedSinceMs?: number
}

/**
 * The alerter's Redis state: cooldown and dedup marks (one script call per alert, issued in order and
 * auto-pipelined, so two alerts of one stream in a batch are decided one after the other), hysteresis
 * hashes, and the outbox entries of the records whose alerts are claimed and not yet committed. The
 * cooldown of a stream holds an alert back within the cooldown of any alert fired on it, before or after
 * it in event time (a late alert too), as far back as the dedup window behind the newest one fired (see
 * claim-alert-3.lua).
 */
export type AlertStore = {
  claim(claims: readonly AlertClaim[]): Promise<ClaimDecision[]>
  /**
   * Undoes the claims of alerts Kafka refused for good (none of their records written): the dedup mark,
   * the stream's fired time, and the old cooldown key where it names the alert. Only a claim the record
   * still holds unconfirmed is undone (release-alert-3.lua).
   */
  release(releases: readonly AlertRelease[]): Promise<void>
  /**
   * The outbox entries of these input records ("<topic>/<partition>/<offset>"): the alerts an earlier
   * attempt claimed for each (see ClaimedAlert) and whose batch never committed. A record with none is
   * absent.
   */
  claimedFor(origins: readonly string[]): Promise<Map<string, ClaimedAlert[]>>
  /**
   * Before claiming: writes each record's outbox entry, every alert about to be claimed for it (what an
   * earlier attempt held too), in the order it raised them; replaces what the record held. Lasts the dedup
   * window (or a longer cooldown of one of them), as the claims do. Its writes are issued before it first
   * awaits: claims issued right after it (the handler's, in the same turn) go in the same round trip,
   * behind them, and Redis runs them after the entries are written.
   */
  holdClaims(byOrigin: ReadonlyMap<string, readonly ClaimedAlert[]>): Promise<void>
  /**
   * After the alerts are acknowledged by Kafka: marks them sent (naming the input record each was sent
   * for), and writes the hysteresis entries the batch moved. Both are idempotent, so a retry after a fault
   * repeats them harmlessly; an entry is never written over one about a newer update (a later asOf, or the
   * same behind more headlines), so a write that lands late (sent again after a lost reply, once another
   * alerter moved the line on) changes nothing. Not atomic (the keys are in different slots): a crash may leave the sent marks
   * written and the hysteresis not; the redelivered record then claims "sent" and the commit is finished.
   * Then, once the marks are written, deletes the outbox entries of the `settled` records (never before:
   * a claim would be left with neither a sent mark nor an entry): resolves once the marks and hysteresis
   * are written, the deletes issued (on the client's connection, so ahead of anything issued after) but
   * not waited for; one that fails leaves its entry to expire, harmless as after a crash between the two.
   */
  commit(
    sent: readonly { stream: string; alertId: string; origin: string }[],
    hysteresis: ReadonlyMap<string, HysteresisFields>,
    settled?: readonly string[],
  ): Promise<void>
  /**
   * The entries of each indicator's hysteresis hash its evaluations may read (hysteresisKeysFor). Those
   * fields are all the rules in force keep of it (every line of every rule watching it, whether or not the
   * batch's updates carry the rule's value): the others (entries of rules removed, or edited to another
   * line, which the hash kept while the indicator's writes renewed its TTL; or of the rules another
   * version running beside this one has) are forgotten once older than `keepUnlistedSinceMs`, in the same
   * call. An indicator asked for no field is left as it is.
   */
  readHysteresis(requests: ReadonlyMap<string, HysteresisRead>): Promise<Map<string, HysteresisFields>>
}

export type AlertStoreOptions = { prefix: string; dedupWindowMs: number; hysteresisTtlMs: number }

export function createRedisAlertStore(redis: Redis, opts: AlertStoreOptions): AlertStore {
  const keys = createKeys(opts.prefix)
  // The stream's fired set (claim-alert-3.lua, KEYS[3]): the cooldown key's name and hash tag, suffixed.
  const firedKey = (stream: string) => `${keys.alertCooldown(stream)}:fired`
  /** The three keys the claim and release scripts take, in their order (KEYS[1..3]). */
  const scriptKeys = (stream: string, alertId: string) =>
    [keys.alertCooldown(stream), keys.alertSent(stream, alertId), firedKey(stream)] as const
  // The outbox entry of one input record (ClaimedAlert[] as JSON; keys.alertOutbox). A key no earlier
  // version reads or writes (a previous version beside this one leaves it to its TTL).
  const outboxKey = keys.alertOutbox
  // The topic and partition of an origin: its outbox key's hash tag, by which a batch's reads are grouped.
  const tagOf = (origin: string) => origin.slice(0, Math.max(0, origin.lastIndexOf('/')))
  defineScript(redis, { command: CLAIM_COMMAND, file: CLAIM_LUA })
  defineScript(redis, { command: RELEASE_COMMAND, file: RELEASE_LUA })
  defineScript(redis, { command: READ_HYSTERESIS_COMMAND, file: READ_HYSTERESIS_LUA })
  defineScript(redis, { command: WRITE_HYSTERESIS_COMMAND, file: WRITE_HYSTERESIS_LUA })
  const command = (name: string) => (redis as unknown as Record<string, ScriptCommand>)[name]!.bind(redis)
  return {
    async claim(claims) {
      if (claims.length === 0) return []
      const claim = command(CLAIM_COMMAND)
      // One call per alert, issued in order: ioredis's auto-pipelining sends them, with whatever the
      // batches of other partitions issue in the same turn, as one write (and Redis runs them in order).
      const replies = await Promise.all(
        claims.map((c) =>
          claim(
            3,
            ...scriptKeys(c.stream, c.alertId),
            c.alertId,
            c.eventMs,
            c.cooldownMs,
            Math.max(opts.dedupWindowMs, c.cooldownMs),
            c.origin,
            c.resendOnly ? 1 : 0,
          ),
        ),
      )
      return replies.map((r) => {
        const d = DECISIONS[String(r)]
        if (!d) throw new Error(`claim-alert script returned ${String(r)}`)
        return d
      })
    },
    async release(releases) {
      const release = command(RELEASE_COMMAND)
      await Promise.all(
        releases.map((r) => release(3, ...scriptKeys(r.stream, r.alertId), r.alertId, r.eventMs, r.origin)),
      )
    },
    async claimedFor(origins) {
      const out = new Map<string, ClaimedAlert[]>()
      const byTag = new Map<string, string[]>()
      for (const origin of new Set(origins)) {
        const tag = tagOf(origin)
        const list = byTag.get(tag)
        if (list) list.push(origin)
        else byTag.set(tag, [origin])
      }
      // One MGET per partition, auto-pipelined: one round trip for the batch.
      const groups = [...byTag.values()]
      const replies = await Promise.all(groups.map((group) => redis.mget(...group.map(outboxKey))))
      for (const [g, group] of groups.entries())
        for (const [i, origin] of group.entries()) {
          const raw = replies[g]![i]
          if (raw == null) continue
          const alerts = readClaimedAlerts(raw)
          if (alerts.length > 0) out.set(origin, alerts)
        }
      return out
    },
    async holdClaims(byOrigin) {
      await Promise.all(
        [...byOrigin].map(([origin, alerts]) =>
          redis.set(outboxKey(origin), JSON.stringify(alerts), 'PX', outboxTtlMs(opts.dedupWindowMs, alerts)),
        ),
      )
    },
    async commit(sent, hysteresis, settled = []) {
      const writes: Promise<unknown>[] = []
      // XX: a mark that expired meanwhile is not recreated; KEEPTTL: the dedup window runs from the claim.
      // Unconditional: only the claim's holder confirms, and a sent mark never goes back to claimed. The
      // mark names the record the alert was sent for: a fresh process redelivered that record after a crash
      // here (the marks written, the hysteresis not) claims "sent", keeps the line disarmed and writes it.
      for (const s of sent)
        writes.push(redis.set(keys.alertSent(s.stream, s.alertId), `s|${s.origin}`, 'KEEPTTL', 'XX'))
      // One script per indicator (its hash is one key, one slot), auto-pipelined with the marks: an entry
      // is not written over one about a newer update (write-hysteresis-1.lua). The evaluation never moves
      // a line with an older update, but a write can land late: ioredis sends a command whose reply never
      // came again on its next connection, however long that takes, and by then the indicator's partition
      // may have moved to another alerter that wrote the line's next moves. A plain HSET put the line back
      // as this write had it: disarmed after it re-armed (the next crossing lost), or armed after it fired.
      const write = command(WRITE_HYSTERESIS_COMMAND)
      for (const [indicator, fields] of hysteresis) {
        const flat: string[] = []
        for (const [field, entry] of Object.entries(fields))
          if (entry) flat.push(field, JSON.stringify(entry))
          else if (entry === null) flat.push(field, '')
        if (flat.length === 0) continue
        writes.push(write(1, keys.alertHysteresis(indicator), opts.hysteresisTtlMs, ...flat))
      }
      await Promise.all(writes)
      // Once the sent marks are written (awaited above): an entry deleted first, then a fault, would
      // leave a claim that neither says sent nor can be published by another process. Not in the marks'
      // round trip: a mark Redis refuses (OOM under noeviction refuses SET, not DEL) would leave a DEL
      // sent with it to run all the same. Issued now, not waited for: the batch is done once the marks
      // are written, and the client's next commands (another batch's reads of these records, if any)
      // run after it. A DEL that fails (Redis down) leaves the entry to its TTL, as a crash here would:
      // a record found again with it claims its alerts "sent" and publishes nothing.
      if (settled.length > 0)
        void Promise.all(settled.map((origin) => redis.del(outboxKey(origin)))).catch(() => {})
    },
    async readHysteresis(requests) {
      const out = new Map<string, HysteresisFields>()
      const list = [...requests].filter(([, r]) => r.fields.length > 0)
      for (const [indicator] of requests) out.set(indicator, {})
      if (list.length === 0) return out
      const read = (redis as unknown as Record<string, ReadHysteresisCommand>)[READ_HYSTERESIS_COMMAND]!.bind(
        redis,
      )
      // One script call per indicator (its hash is one key, one slot), auto-pipelined: one round trip, as
      // the HMGETs it replaces, the fields no rule reads any more deleted on the way once past the cutoff.
      const replies = await Promise.all(
        list.map(([indicator, { fields, keepUnlistedSinceMs: since }]) =>
          read(1, keys.alertHysteresis(indicator), since === undefined ? '' : String(since), ...fields),
        ),
      )
      list.forEach(([indicator, { fields }], i) => {
        const values = replies[i]!
        const entries = out.get(indicator)!
        fields.forEach((f, k) => {
          const raw = values[k]
          if (raw == null) return
          // An unreadable entry re-arms the line: at worst one repeat (see HysteresisEntry).
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
