import { randomUUID } from 'node:crypto'
import { type Clock, systemClock } from '@tradepulse/contracts'
import { defineScript, normalized, validTraceparent } from '@tradepulse/platform'
import type { Redis } from 'ioredis'
import { type HeadlineTrace, newerTrace } from './publish-throttle.ts'

/**
 * A key's dirty mark: its stamp, microseconds of the marking store's clock, strictly increasing per key
 * (a key marked again always gets a larger stamp), so that a mark is cleared only if it is the very one
 * its publisher knew of.
 */
export type DirtyMark = { key: string; stamp: number }

/**
 * A mark taken over (claimStale), with `enteredMs`: when the newest headline it holds back entered the
 * pipeline (its ingestedAt, epoch ms), for the update's own ingestedAt; absent when none carried one;
 * and `trace`: the trace context of the newest of them (by entry time) that carried one, for the
 * update's traceparent; absent when none did.
 */
export type ClaimedMark = DirtyMark & { enteredMs?: number; trace?: HeadlineTrace }

/**
 * Indicator keys whose newest headlines are applied in the store but not yet on the indicators topic:
 * the publish throttle held their update back for its trailing edge, and the batch that applied them
 * is committed. The throttle's pending keys live in one process; these marks outlive it, so a member
 * killed (SIGKILL, OOM, a lost host) after a batch's offsets were committed and before its trailing
 * edge loses no update: another member, or the same one restarted, publishes it.
 *
 * The marks are the consumer group's, not a partition's: an indicator key gets headlines from every
 * partition, and every member reads the same store, so whichever member is alive publishes it.
 * - A batch marks the keys it leaves pending before it completes (before its offsets can commit).
 * - The member that marked a key publishes it on its trailing edge (or with a later batch's output) and
 *   clears the mark if it is still the one it wrote (compare and delete: a key marked again since, by
 *   this member or another, keeps its newer mark).
 * - Any member takes marks older than a few intervals (`claimStale`: a mark that old was left by a
 *   member that died or cannot reach Kafka) and publishes them. Taking restamps them, so two members
 *   never take one mark at once, and one that dies holding it leaves it to be taken again later.
 *
 * A mark keeps the newest entry time (ingestedAt) of the headlines it holds back, so that whoever
 * publishes it gives the update the ingestedAt the member that held it back would have: the newest of
 * the headlines applied since the key's last update (IndicatorUpdate.ingestedAt), and pipeline latency
 * counts the time the update waited for its recovery. A key marked again before its mark is cleared
 * keeps the newer of the two (the mark covers both batches' headlines); a cleared mark's goes with it.
 * Likewise the trace context (traceparent) of the newest headline it holds back that carried one, so
 * that the update carries the trace its own member would have given it.
 *
 * Publishing a key twice is harmless (the topic is compacted, and the alerter ignores an update older
 * than the one it saw, and never fires twice for one crossing), so every doubt is settled by publishing.
 * Bounded: one mark per indicator key at most, cleared as it is published; the set expires `ttlMs`
 * after its last mark (the indicators' own TTL).
 */
export type DirtyKeys = {
  /**
   * Marks `keys`; resolves once the marks are durable, with each key's stamp. `enteredMs`: per key, the
   * newest entry time (ms) of the headlines held back (a key missing, or not finite: none carried one).
   * `traces`: per key, the trace of the newest of them that carried one (a key missing: none did).
   */
  mark(
    keys: readonly string[],
    enteredMs?: ReadonlyMap<string, number>,
    traces?: ReadonlyMap<string, HeadlineTrace>,
  ): Promise<ReadonlyMap<string, number>>
  /** Deletes each mark still at the stamp given; a key marked again since keeps its mark. */
  clear(marks: readonly DirtyMark[]): Promise<void>
  /**
   * Takes up to `limit` marks older than `olderThanMs`, restamped now (theirs until that old again), each
   * with the newest entry time and trace it holds back, if any. A take whose answer was lost (the call
   * failed after the store made it) is answered by the next call, the marks it took with it. A mark
   * stamped more than AHEAD_US ahead of the store's clock counts as old (see AHEAD_US).
   */
  claimStale(olderThanMs: number, limit: number): Promise<ClaimedMark[]>
}

/**
 * A mark stamped more than this (µs) ahead of the store's clock was stamped before the clock was set back
 * (an NTP step on Redis's host, a failover to a replica whose host's clock is behind): its age is unknown,
 * so it is taken as stale, as every doubt is settled by publishing. Before, it waited for the clock to
 * catch up: a dead member's held-back update stayed unpublished for as long as the step. (A stamp is
 * ahead of the clock otherwise only by the microseconds a key marked again within one gains.) Written out
 * in lua/dirty-claim-1.lua too.
 */
const AHEAD_US = 1_000_000

const finiteOrUndefined = (ms: number | undefined): number | undefined =>
  ms !== undefined && Number.isFinite(ms) ? ms : undefined

/** In memory, for the embedded default (one process: its store does not outlive it either) and tests. */
export function memoryDirtyKeys(clock: Clock = systemClock): DirtyKeys {
  const marks = new Map<string, number>()
  const entered = new Map<string, number>()
  const traced = new Map<string, HeadlineTrace>()
  // The clock in µs, moving on by at least 1 µs a call (Redis's TIME has µs; a ms clock alone would
  // give two calls within one ms the same time); set back by more than AHEAD_US, it is followed back,
  // as Redis's TIME follows its host's clock.
  let last = Number.NEGATIVE_INFINITY
  const nowUs = () => {
    const us = clock.now() * 1_000
    last = us > last || us < last - AHEAD_US ? us : last + 1
    return last
  }
  return {
    mark: async (keys, enteredMs, traces) => {
      const now = nowUs()
      const out = new Map<string, number>()
      for (const key of keys) {
        const old = marks.get(key)
        const stamp = old !== undefined && old >= now ? old + 1 : now
        marks.set(key, stamp)
        out.set(key, stamp)
        const given = finiteOrUndefined(enteredMs?.get(key))
        const kept = old === undefined ? undefined : entered.get(key)
        const e = kept === undefined || (given !== undefined && given > kept) ? given : kept
        if (e === undefined) entered.delete(key)
        else entered.set(key, e)
        const t = newerTrace(old === undefined ? undefined : traced.get(key), traces?.get(key))
        if (t === undefined) traced.delete(key)
        else traced.set(key, t)
      }
      return out
    },
    clear: async (list) => {
      for (const { key, stamp } of list)
        if (marks.get(key) === stamp) {
          marks.delete(key)
          entered.delete(key)
          traced.delete(key)
        }
    },
    claimStale: async (olderThanMs, limit) => {
      const now = nowUs()
      const out: ClaimedMark[] = []
      for (const [key, stamp] of marks) {
        if (out.length >= limit) break
        if (stamp > now - olderThanMs * 1_000 && stamp <= now + AHEAD_US) continue
        marks.set(key, now)
        const e = entered.get(key)
        const t = traced.get(key)
        out.push({
          key,
          stamp: now,
          ...(e === undefined ? {} : { enteredMs: e }),
          ...(t ? { trace: t } : {}),
        })
      }
      return out
    },
  }
}

/**
 * The scripts of the marks, in lua/ beside this file (each one round trip, however many keys), under
 * versioned command names: bump one with any change to its contract.
 */
const SCRIPTS = {
  mark: {
    command: 'tpDirtyMarkV1',
    file: new URL('./lua/dirty-mark-1.lua', import.meta.url),
    numberOfKeys: 3,
  },
  clear: {
    command: 'tpDirtyClearV1',
    file: new URL('./lua/dirty-clear-1.lua', import.meta.url),
    numberOfKeys: 3,
  },
  claim: {
    command: 'tpDirtyClaimV1',
    file: new URL('./lua/dirty-claim-1.lua', import.meta.url),
    numberOfKeys: 4,
  },
} as const

/** A trace as the hash of traces holds it: its entry time (empty for none), a space, its traceparent. */
const traceValue = (t: HeadlineTrace | undefined): string => {
  if (!t) return ''
  const ms = finiteOrUndefined(t.enteredMs)
  return `${ms === undefined ? '' : Math.round(ms)} ${t.traceparent}`
}
/** A trace read back from the hash (a value not of that form, or not a valid traceparent: none). */
const traceFrom = (value: string | null | undefined): HeadlineTrace | undefined => {
  if (value == null) return undefined
  const space = value.indexOf(' ')
  const traceparent = space < 0 ? undefined : validTraceparent(value.slice(space + 1))
  if (!traceparent) return undefined
  const ms = value.slice(0, space)
  const enteredMs = ms === '' ? Number.NEGATIVE_INFINITY : Number(ms)
  return Number.isNaN(enteredMs) ? undefined : { traceparent, enteredMs }
}

/**
 * In Redis: one sorted set per consumer group, `<REDIS_KEY_PREFIX>:dirty:{<group>}`, indicator key →
 * stamp (Redis's clock, µs), and beside it the hashes `…:entered` and `…:trace` (same hash tag, same
 * slot), indicator key → the newest entry time its mark holds back (ms), and → the trace of the newest
 * headline it holds back that carried one, all expiring `ttlMs` after their last mark; and, for a claim
 * that took marks, `…:claim:<token>`: its stamp, for as long as the marks are its (see dirty-claim-1.lua).
 * Each call is one script, one round trip, however many keys. (Marks made before a hash existed have no
 * entry time or trace: their updates go out without ingestedAt or traceparent, as they did. A member of a
 * version before the traces neither writes nor clears them: a key it marks again keeps the trace an
 * earlier mark had, and one whose mark it clears keeps its trace until marked anew, a headline of an
 * update before.)
 */
export function redisDirtyKeys(redis: Redis, key: string, ttlMs: number): DirtyKeys {
  const enteredKey = `${key}:entered`
  const traceKey = `${key}:trace`
  const mark = defineScript<string[]>(redis, SCRIPTS.mark)
  const clear = defineScript(redis, SCRIPTS.clear)
  const claim = defineScript<[string, string[], (string | null)[], (string | null)[]]>(redis, SCRIPTS.claim)
  /** The token of the last claim if its call failed (Redis may have run it), for the next claim. */
  let unanswered: string | undefined
  return {
    mark: (keys, enteredMs, traces) =>
      normalized(async () => {
        if (keys.length === 0) return new Map()
        const args = keys.flatMap((k) => {
          const e = finiteOrUndefined(enteredMs?.get(k))
          return [k, e === undefined ? '' : String(Math.round(e)), traceValue(traces?.get(k))]
        })
        const stamps = await mark(key, enteredKey, traceKey, String(ttlMs), ...args)
        return new Map(keys.map((k, i) => [k, Number(stamps[i])]))
      }),
    clear: (list) =>
      normalized(async () => {
        if (list.length === 0) return
        await clear(key, enteredKey, traceKey, ...list.flatMap((m) => [m.key, String(m.stamp)]))
      }),
    claimStale: (olderThanMs, limit) =>
      normalized(async () => {
        // A claim whose call failed is made again with its token, answering what it took (dirty-claim-1.lua).
        const token = unanswered ?? randomUUID()
        unanswered = token
        const [stamp, keys, entered, traces] = await claim(
          key,
          enteredKey,
          traceKey,
          `${key}:claim:${token}`,
          String(olderThanMs),
          String(limit),
        )
        unanswered = undefined
        return keys.map((k, i): ClaimedMark => {
          const e = entered[i] == null ? undefined : finiteOrUndefined(Number(entered[i]))
          const t = traceFrom(traces[i])
          return {
            key: k,
            stamp: Number(stamp),
            ...(e === undefined ? {} : { enteredMs: e }),
            ...(t ? { trace: t } : {}),
          }
        })
      }),
  }
}

/** The sorted set of a group's dirty keys (hash-tagged by the group, like its applied offsets). */
export const dirtyKeysKey = (prefix: string, groupId: string) => `${prefix}:dirty:{${groupId}}`
