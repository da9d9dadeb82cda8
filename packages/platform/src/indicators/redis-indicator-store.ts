import { randomBytes } from 'node:crypto'
import type { Dimension, IndicatorUpdate, Scope } from '@tradepulse/contracts'
import { ScopeKind, systemClock } from '@tradepulse/contracts'
import {
  type ApplyBatchResult,
  bornCandidateMs,
  type Contribution,
  createIndicatorKeys,
  type FoldedContribution,
  foldRareScopes,
  GLOBAL_SCOPE,
  type IndicatorStore,
  type IndicatorTarget,
  isDamagedRef,
  type LateContribution,
  OTHER_SCOPE_ID,
  readStoredIndicator,
  resolveIndicatorConfig,
  scopeCandidates,
  scopeTag,
  type TopBy,
  type WithheldIndicator,
} from '@tradepulse/indicators'
import type { Redis, RedisValue } from 'ioredis'
import { normalized } from '../errors.ts'
import { compactId } from './compact-id.ts'
import { stateFromHash } from './indicator-hash.ts'
import { assertValidContributions, indicatorScripts, pipelineResults } from './indicator-scripts.ts'
import {
  INDICATOR_STORE_DEFAULTS,
  type IndicatorStoreOptions,
  refLimitOf,
} from './indicator-store-options.ts'
import { rankIndicators } from './rank-indicators.ts'
import { scopeSumsPayload } from './scope-sums.ts'

/**
 * How long an adoption check's key lives: far longer than its few round trips take, and gone soon after
 * a process that died mid-check. A check that outlives it adopts nothing: born time 0 is only written
 * where a check saw no loss.
 */
const BORN_CHECK_TTL_MS = 10 * 60_000

/**
 * A stored born time as readBuzz takes it: +Infinity (not yet born: no buzz reading) when there is none or
 * it is damaged (as setBorn-1.lua judges it; the next apply replaces it). Blank text is none (Number gives 0,
 * 1970, which would count a week of unknown buckets as zeros).
 */
function bornOf(raw: string | null, limitMs: number): number {
  const ms = raw === null || raw.trim() === '' ? Number.NaN : Number(raw)
  return isDamagedRef(ms, limitMs) ? Number.POSITIVE_INFINITY : ms
}

/** The order of a scope's dimensions in an applyScope call (its KEYS and contribution groups). */
const DIMENSION_ORDER: readonly Dimension[] = ['tariff', 'supplyChain', 'market', 'uncertainty']
const DIMENSION_INDEX = Object.fromEntries(DIMENSION_ORDER.map((d, i) => [d, i])) as Record<Dimension, number>

const byLateOrder = (a: LateContribution, b: LateContribution) =>
  a.eventMs - b.eventMs ||
  (a.headlineId < b.headlineId ? -1 : a.headlineId > b.headlineId ? 1 : 0) ||
  DIMENSION_INDEX[a.dimension] - DIMENSION_INDEX[b.dimension] ||
  (scopeTag(a.scope) < scopeTag(b.scope) ? -1 : scopeTag(a.scope) > scopeTag(b.scope) ? 1 : 0)

export type RedisIndicatorStoreOptions = IndicatorStoreOptions & {
  prefix: string
  /**
   * Contributions summed into one pipeline of fast-path calls before it is sent, so Redis applies the
   * first scopes of a large round while the next are summed (see applyRuns). Default 4,000.
   */
  sendEvery?: number
  /**
   * Most contributions one script call applies: a scope with more in a batch is applied in several
   * calls, in event-time order. Redis runs one command at a time, so this bounds how long a catch-up
   * holds every other client: in `pnpm bench indicators` the longest call took 310-380 ms without a
   * limit, 60-100 ms with 10,000. Default 10,000.
   */
  maxPerCall?: number
}

/**
 * Indicators in Redis. A store's first apply in a namespace first gives one holding indicator state but
 * no born time, written before born times existed, born time 0 (adoptOlderState). Per batch (or per
 * applyRuns, for all its runs): one pipeline of admitScopes
 * calls (one per scope kind present in each run) and one call setting the namespace's born time when it
 * has none (setBorn-1.lua; every read takes it after the state: readState), then one applyScopeSums call per
 * scope (in pipelines of about `sendEvery` contributions, each sent once built): all of the scope's
 * contributions to its four dimensions, over every run, summed here and applied in one atomic script
 * on one hash slot; a scope with more than `maxPerCall` in several calls, one step each. A call
 * holding a duplicate or a late contribution, or meeting a damaged reference time or another damaged
 * field (found here or by the script, which then writes nothing), goes through applyScope instead, run by
 * run and contribution by contribution, before the scope's next step: applyScope resets a damaged
 * reference time and repairs a damaged field, and reports each (ApplyBatchResult.damagedRefs, see
 * IndicatorStoreOptions.maxRefAheadMs; ApplyBatchResult.damagedFields). A call whose connection was
 * replaced before every answer came (the client's stream is another one at the end) gives results marked
 * `reconnected`: ioredis sends again the calls a closed connection left unanswered, and one Redis had run
 * answers for its second run. The client is the caller's: the store never closes it.
 */
export function createRedisIndicatorStore(redis: Redis, options: RedisIndicatorStoreOptions): IndicatorStore {
  const config = resolveIndicatorConfig(options.config)
  // Every script of the store, in lua/ beside this file (the born time's and watermark's too).
  const scripts = indicatorScripts(redis)
  const clock = options.clock ?? systemClock
  const cap = options.maxScopesPerKind ?? INDICATOR_STORE_DEFAULTS.maxScopesPerKind
  const sendEvery = options.sendEvery ?? 4_000
  const maxPerCall = options.maxPerCall ?? 10_000
  const refLimit = refLimitOf(options.maxRefAheadMs)

  function build(namespace: string): IndicatorStore {
    const keys = createIndicatorKeys(options.prefix, namespace)

    /**
     * The admitted scope ids per kind for each run: one admitScopes call per run and kind, one round trip,
     * which also sets the namespace's born time when it has none (setBorn-1.lua).
     */
    async function admit(runs: readonly (readonly Contribution[])[]): Promise<Map<ScopeKind, Set<string>>[]> {
      const perRun = runs.map((run) => [...scopeCandidates(run)])
      const admitted = perRun.map(() => new Map<ScopeKind, Set<string>>())
      const born = bornCandidateMs(runs, config.graceMs)
      if (born === undefined) return admitted
      // Admissions touch only the registries, never an indicator, so admitting every run before
      // applying any gives what admitting each just before its own apply would.
      const pipeline = redis.pipeline()
      const limitMs = refLimit(clock.now())
      // Set before the applies: a loss in between takes it, and their state begins on the empty server
      // without one (no buzz reading) until the next batch sets it, after that state's first headline:
      // a born time can come late, never early.
      scripts.setBorn.queue(pipeline, keys.born, born, config.ttlMs, limitMs)
      for (const candidates of perRun) {
        for (const [kind, list] of candidates) {
          const args: RedisValue[] = [
            keys.scopes(kind),
            cap,
            config.coarseRetentionMs,
            config.ttlMs,
            OTHER_SCOPE_ID,
            limitMs,
          ]
          for (const c of list) args.push(c.id, c.newestMs)
          scripts.admitScopes.queue(pipeline, ...args)
        }
      }
      const results = pipelineResults(await pipeline.exec())
      let i = 1
      perRun.forEach((candidates, r) => {
        for (const [kind, list] of candidates) {
          const flags = results[i++] as number[]
          admitted[r]!.set(kind, new Set(list.filter((_, j) => flags[j] === 1).map((c) => c.id)))
        }
      })
      return admitted
    }

    /**
     * The keys whose presence tells a namespace holds indicator state, one EXISTS per scope kind, each
     * naming keys of one slot (Redis Cluster routes it to its node): a kind's registry (keys.scopes),
     * which every version wrote before any state of the kind (admitScopes, awaited before the applies;
     * a maxScopesPerKind of 0 leaves it empty, absent) and renews with each batch mentioning the kind,
     * with the states' TTL (config.ttlMs); and, global having no registry (never admitted), its one
     * scope's state hashes (tag {global:all}), which every headline's contributions renew.
     */
    const stateProbes: readonly (readonly string[])[] = ScopeKind.options.map((kind) =>
      kind === 'global'
        ? DIMENSION_ORDER.map((dimension) => keys.state(dimension, GLOBAL_SCOPE))
        : [keys.scopes(kind)],
    )

    /**
     * A namespace that holds indicator state but no born time, written before born times existed (an
     * upgrade), gets born time 0: the whole baseline counts, as it did then. Left to the first apply,
     * that namespace's first born time would be that apply's events, and buzz would have no reading for
     * hours and a young baseline for a week, in every deployment upgraded. Its state is taken as
     * complete, as it was read then: no loss was seen. A namespace holding none (a first deployment, a
     * rebuild's, one after a loss), or only a watermark or other families' keys, is left without one:
     * the apply's setBorn-1.lua gives it its events' time.
     *
     * No SCAN: a namespace holding no state would have it walk the whole keyspace (ingest's dedup claims,
     * tens of millions of keys in production, a round trip per 1,000) before its first apply could go
     * on. Its registries tell instead (stateProbes): one EXISTS per kind, one after the other, stopping
     * at the first found; global's state hashes stand for the one kind without a registry. A namespace whose
     * registries remain but whose states have all expired was idle, not lost: no headline for a whole TTL
     * (at least the baseline), so its zeros are real and born time 0 is right there too. A state can
     * outlive its kind's registry only by the moments between a batch's admission and its apply, at the
     * TTL's end. Cost: one EXISTS of born (present: done, every later start), else at most one EXISTS per
     * scope kind, once per store and namespace.
     *
     * The order makes it safe. A born time present (every later start) ends it at one EXISTS. Otherwise
     * a key of the check's own (random, in born's slot) is set before the EXISTS of the registries, and
     * one script sets born 0 only if that key is still there and no born time is:
     * - a loss at any point from the SET to the script takes the check's key, so born 0 is never written
     *   over state begun after a loss (every steady scope a spike against unknown zeros); a loss after
     *   it takes born 0 with the state, and the next apply sets a born time again;
     * - every born time an apply sets (setBorn-1.lua) goes before its registries and state, in the same
     *   pipeline, on its connection: registries or state found that were written since a loss lie behind
     *   a born time, which the script keeps (NX), as it keeps one another member's first batch set
     *   meanwhile. Each check has its own key, so members checking at once do not take each other's for a
     *   loss.
     * What it cannot tell: registries or state written since a loss by a member without born times (one
     * not yet upgraded), or by an apply whose born time the loss took just before them (the next batch of
     * that member sets one), when a check runs before anything sets one again; read as old state, born 0.
     */
    async function adoptOlderState(): Promise<void> {
      if ((await redis.exists(keys.born)) === 1) return
      const check = keys.bornCheck(randomBytes(8).toString('hex'))
      await redis.set(check, '1', 'PX', BORN_CHECK_TTL_MS)
      let found = false
      for (const probe of stateProbes) {
        found = (await redis.exists(...probe)) > 0
        if (found) break
      }
      if (found) await scripts.adoptOlderState(keys.born, check, config.ttlMs)
      else await redis.del(check)
    }

    // Once per store and namespace, before its first born time is set (a process's first apply there);
    // again at the next apply if it failed.
    let adopting: Promise<void> | undefined
    const adoptOnce = (): Promise<void> => {
      adopting ??= adoptOlderState().catch((err: unknown) => {
        adopting = undefined
        throw err
      })
      return adopting
    }

    /**
     * The update of an indicator's state hash (not empty), or undefined, pushed onto `withheld` with its
     * reason, when its ref is damaged (against `limitMs`, this store's refLimit now) or the update breaks
     * the contract: readStoredIndicator, as the memory store reads.
     */
    function readHash(
      hash: Record<string, string>,
      target: IndicatorTarget,
      asOfMs: number,
      limitMs: number,
      bornMs: number,
      withheld: WithheldIndicator[] | undefined,
    ): IndicatorUpdate | undefined {
      return readStoredIndicator(stateFromHash(hash, config), target, asOfMs, config, {
        refLimitMs: limitMs,
        storedRef: (hash.ref ?? '').slice(0, 64),
        withheld,
        bornMs,
      })
    }

    async function readState(
      dimension: Dimension,
      scope: Scope,
      asOfMs: number,
      withheld: WithheldIndicator[] | undefined,
    ) {
      // The state, then the born time, in that order on the connection: a loss between the two leaves
      // none (no buzz reading), never an old one over a state begun since (a spike against unknown zeros).
      const [hash, born] = await Promise.all([
        redis.hgetall(keys.state(dimension, scope)),
        redis.get(keys.born),
      ])
      if (Object.keys(hash).length === 0) return undefined
      const limitMs = refLimit(clock.now())
      return readHash(hash, { dimension, scope }, asOfMs, limitMs, bornOf(born, limitMs), withheld)
    }

    // Everything but the contributions is the same for every call of a batch.
    const header = (nowMs: number): RedisValue[] => [
      nowMs,
      config.graceMs,
      config.dedupRetentionMs,
      config.ttlMs,
      config.fineBucketMs,
      config.fineRetentionMs,
      config.coarseBucketMs,
      config.coarseRetentionMs,
      refLimit(nowMs),
      config.halfLives.length,
      ...config.halfLives.map((h) => h.ms),
    ]

    // Every run's script calls go in one pipeline: Redis runs them in order, so each run is applied
    // after the one before, exactly as separate applyBatch calls would, without a round trip each.
    function applyRuns(runs: readonly (readonly Contribution[])[]): Promise<ApplyBatchResult[]> {
      return normalized(async () => {
        const results: ApplyBatchResult[] = runs.map(() => ({
          applied: 0,
          duplicates: 0,
          late: 0,
          lateAgain: 0,
          lateContributions: [],
        }))
        const pending = runs.map((run, r) => ({ run, r })).filter(({ run }) => run.length > 0)
        if (pending.length === 0) return results
        for (const { run } of pending) assertValidContributions(run)
        await adoptOnce()
        // The connection the calls go out on: another one by the time every answer is in, and ioredis may
        // have sent a call again that Redis had run (ApplyBatchResult.reconnected).
        const stream = redis.stream
        const admitted = await admit(pending.map(({ run }) => run))
        const head = header(clock.now())
        const digests = new Map<string, string>() // one digest per headline, not per contribution
        const digest = (id: string) => {
          let d = digests.get(id)
          if (d === undefined) {
            d = compactId(id)
            digests.set(id, d)
          }
          return d
        }
        // Each scope's contributions, per run, grouped by dimension in DIMENSION_ORDER, in pieces of at
        // most `maxPerCall` contributions in event-time order (a large scope's runs are cut where a piece
        // fills): one script call applies one piece, so no call holds Redis, single-threaded, for long.
        type Run = { r: number; groups: Contribution[][] }
        type Piece = { scope: Scope; runs: Run[]; n: number; lastMs: number; lastR: number }
        const byScope = new Map<string, Piece[]>()
        let steps = 0
        pending.forEach(({ run, r }, p) => {
          const kinds = admitted[p]!
          // A run is one arrival, judged late against its own newest event: cut inside it only when it is
          // in event-time order and spans no more than the grace (the aggregator's runs always are), so
          // the cut judges nothing late and a headline's contributions (one event time) stay together.
          let sorted = true
          for (let i = 1; i < run.length && sorted; i++) sorted = run[i]!.eventMs >= run[i - 1]!.eventMs
          const cuttable =
            sorted && run.length > 0 && run[run.length - 1]!.eventMs - run[0]!.eventMs <= config.graceMs
          const folded: FoldedContribution[] = []
          const applied = foldRareScopes(run, (s) => kinds.get(s.kind)?.has(s.id) ?? false, folded)
          if (folded.length > 0) results[r]!.folded = folded
          for (const c of applied) {
            const tag = scopeTag(c.scope)
            let pieces = byScope.get(tag)
            if (!pieces) {
              pieces = []
              byScope.set(tag, pieces)
            }
            let piece = pieces[pieces.length - 1]
            // Cut only where event time moves on: a headline's contributions to the scope (one event
            // time) stay in one call, applied together, atomically (each dimension has its own
            // applied-ids set, so a cut between them would not make one a duplicate). A run that may not
            // be cut starts a piece only at its own start.
            if (
              !piece ||
              (piece.n >= maxPerCall && c.eventMs > piece.lastMs && (cuttable || piece.lastR !== r))
            ) {
              piece = { scope: c.scope, runs: [], n: 0, lastMs: c.eventMs, lastR: r }
              pieces.push(piece)
              if (pieces.length > steps) steps = pieces.length
            }
            let last = piece.runs[piece.runs.length - 1]
            if (last?.r !== r) {
              last = { r, groups: DIMENSION_ORDER.map(() => []) }
              piece.runs.push(last)
            }
            last.groups[DIMENSION_INDEX[c.dimension]]!.push(c)
            piece.n++
            piece.lastMs = c.eventMs
            piece.lastR = r
          }
        })
        const keyArgs = (scope: Scope) => {
          const args: RedisValue[] = []
          for (const dimension of DIMENSION_ORDER)
            args.push(keys.state(dimension, scope), keys.ids(dimension, scope))
          return args
        }
        const count = (groups: Contribution[][]) => groups.reduce((n, g) => n + g.length, 0)

        /** Pieces the fast path could not take, run by run and contribution by contribution (applyScope). */
        async function applySlow(slow: Piece[]): Promise<void> {
          const pipeline = redis.pipeline()
          const calls: { r: number; scope: Scope; sent: Contribution[][] }[] = []
          for (const { scope, runs: scopeRuns } of slow) {
            for (const { r, groups } of scopeRuns) {
              const args = keyArgs(scope)
              for (const a of head) args.push(a)
              for (const group of groups) {
                args.push(group.length)
                for (const c of group) args.push(digest(c.headlineId), c.eventMs, c.value, c.weight, c.sign)
              }
              scripts.applyScope.queue(pipeline, ...args)
              calls.push({ r, scope, sent: groups })
            }
          }
          const replies = pipelineResults(await pipeline.exec())
          calls.forEach(({ r, scope, sent }, i) => {
            const reply = replies[i] as (number | string)[]
            const result = results[r]!
            const duplicates = reply[1] as number
            const late = reply[2] as number
            const lateAgain = reply[3] as number
            result.applied += reply[0] as number
            result.duplicates += duplicates
            result.late += late
            result.lateAgain += lateAgain
            // Each damaged ref the script reset: its dimension's position and the text it held.
            const damaged = reply[4] as number
            for (let k = 0; k < damaged; k++) {
              const group = sent[(reply[5 + 2 * k] as number) - 1]!
              let refMs = Number.NEGATIVE_INFINITY
              for (const c of group) if (c.eventMs > refMs) refMs = c.eventMs
              result.damagedRefs ??= []
              result.damagedRefs.push({
                dimension: group[0]!.dimension,
                scope,
                stored: String(reply[6 + 2 * k]),
                refMs,
              })
            }
            // Each other field the script found damaged and repaired: its dimension's position, name, text.
            const fieldsAt = 5 + 2 * damaged
            const fields = reply[fieldsAt] as number
            for (let k = 0; k < fields; k++) {
              const at = fieldsAt + 1 + 3 * k
              const group = sent[(reply[at] as number) - 1]!
              result.damagedFields ??= []
              result.damagedFields.push({
                dimension: group[0]!.dimension,
                scope,
                field: String(reply[at + 1]),
                stored: String(reply[at + 2]),
              })
            }
            // Then the positions of the late, the late again and the duplicate contributions, in turn.
            let at = fieldsAt + 1 + 3 * fields
            if (reply.length > at) {
              const flat = sent.flat()
              for (let k = 0; k < late; k++) {
                const { dimension, scope, headlineId, eventMs } = flat[(reply[at++] as number) - 1]!
                result.lateContributions.push({ dimension, scope, headlineId, eventMs })
              }
              if (lateAgain > 0) result.lateAgainContributions ??= []
              for (let k = 0; k < lateAgain; k++) {
                const { dimension, scope, headlineId, eventMs } = flat[(reply[at++] as number) - 1]!
                result.lateAgainContributions!.push({ dimension, scope, headlineId, eventMs })
              }
              if (duplicates > 0) result.duplicateContributions ??= []
              for (let k = 0; k < duplicates; k++) {
                const { dimension, scope, headlineId } = flat[(reply[at++] as number) - 1]!
                result.duplicateContributions!.push({ dimension, scope, headlineId })
              }
            }
          })
        }

        // Step j applies every scope's piece j (most scopes have one), a scope's pieces in order.
        // Fast path: one call per piece with its runs summed (lua/applyScopeSums-8.lua); a piece it
        // cannot take exactly (a duplicate, a late contribution, a damaged reference time or other field)
        // goes through applyScope before the scope's next piece. A step's calls go out in several pipelines, each sent
        // as soon as its payloads are built, so Redis applies the first scopes while the next are summed
        // here; scopes are independent (each call touches only its own scope's keys), so their order does
        // not matter.
        for (let j = 0; j < steps; j++) {
          const slow: Piece[] = []
          const sent: Promise<void>[] = []
          let fast: Piece[] = []
          let pipeline = redis.pipeline()
          let unsent = 0
          const send = () => {
            const pieces = fast
            sent.push(
              pipeline.exec().then((raw) => {
                const replies = pipelineResults(raw)
                pieces.forEach((piece, i) => {
                  if ((replies[i] as number[])[0] === -1) slow.push(piece)
                  else for (const { r, groups } of piece.runs) results[r]!.applied += count(groups)
                })
              }),
            )
            fast = []
            pipeline = redis.pipeline()
            unsent = 0
          }
          for (const pieces of byScope.values()) {
            const piece = pieces[j]
            if (!piece) continue
            const sums = scopeSumsPayload(
              piece.runs.map((run) => run.groups),
              digest,
              config,
            )
            if (!sums) {
              slow.push(piece)
              continue
            }
            scripts.applyScopeSums.queue(pipeline, ...keyArgs(piece.scope), ...head, sums)
            fast.push(piece)
            unsent += piece.n
            if (unsent >= sendEvery) send()
          }
          if (fast.length > 0) send()
          // Every pipeline settles before a failure is reported: none may still be applied during a retry.
          const settled = await Promise.allSettled(sent)
          for (const s of settled) if (s.status === 'rejected') throw s.reason
          if (slow.length > 0) await applySlow(slow)
        }
        // Calls go scope by scope, so a run's late contributions arrive grouped by scope: report them
        // in one order however the runs were sent.
        for (const result of results) {
          if (result.late > 1) result.lateContributions.sort(byLateOrder)
          if (result.lateAgain > 1) result.lateAgainContributions!.sort(byLateOrder)
        }
        if (stream !== undefined && redis.stream !== stream)
          for (const result of results) result.reconnected = true
        return results
      })
    }

    return {
      namespace,

      applyBatch: (contributions) => applyRuns([contributions]).then((results) => results[0]!),

      applyRuns,

      get: (dimension, scope, asOfMs, withheld) =>
        normalized(() => readState(dimension, scope, asOfMs, withheld)),

      top: (dimension, scopeKind, by: TopBy, n, asOfMs, withheld) =>
        normalized(async () => {
          const ids = (await redis.zrange(keys.scopes(scopeKind), 0, '-1')).filter(
            (id) => id !== OTHER_SCOPE_ID,
          )
          const pipeline = redis.pipeline()
          for (const id of ids) pipeline.hgetall(keys.state(dimension, { kind: scopeKind, id }))
          // After the states, as readState reads it.
          pipeline.get(keys.born)
          const replies = pipelineResults(await pipeline.exec())
          const hashes = replies.slice(0, ids.length) as Record<string, string>[]
          const limitMs = refLimit(clock.now())
          const bornMs = bornOf(replies[ids.length] as string | null, limitMs)
          const updates: IndicatorUpdate[] = []
          hashes.forEach((hash, i) => {
            if (Object.keys(hash).length === 0) return
            const scope = { kind: scopeKind, id: ids[i]! }
            const update = readHash(hash, { dimension, scope }, asOfMs, limitMs, bornMs, withheld)
            if (update) updates.push(update)
          })
          return rankIndicators(updates, by, n)
        }),

      withNamespace: build,

      advanceWatermark: (ms) =>
        normalized(async () => {
          if (!Number.isFinite(ms)) throw new RangeError(`watermark must be a finite number of ms, not ${ms}`)
          // Compare and set in one step: two members raising it at once keep the larger.
          const now = await scripts.advanceWatermark(
            keys.watermark,
            String(ms),
            String(config.ttlMs),
            String(refLimit(clock.now())),
          )
          return Number(now)
        }),

      // A damaged one (as a damaged ref: isDamagedRef) is none: readers read at the clock, as with none,
      // rather than at the year 9999; the aggregator's next publish replaces it (advanceWatermark).
      watermark: () =>
        normalized(async () => {
          const raw = await redis.get(keys.watermark)
          if (raw === null) return undefined
          const ms = Number(raw)
          return isDamagedRef(ms, refLimit(clock.now())) ? undefined : ms
        }),

      activeNamespace: () => normalized(async () => (await redis.get(keys.activeNamespace)) ?? undefined),

      activateNamespace: (next) => {
        createIndicatorKeys(options.prefix, next) // validates the name
        return normalized(async () => {
          await redis.set(keys.activeNamespace, next)
        })
      },

      clear: () =>
        normalized(async () => {
          // SCAN covers a standalone server; on Redis Cluster each master would need its own scan.
          let deleted = 0
          let cursor = '0'
          do {
            const [next, found] = await redis.scan(cursor, 'MATCH', keys.pattern, 'COUNT', '1000')
            cursor = next
            if (found.length > 0) deleted += await redis.unlink(...found)
          } while (cursor !== '0')
          return deleted
        }),
    }
  }

  return build(options.namespace ?? INDICATOR_STORE_DEFAULTS.namespace)
}
