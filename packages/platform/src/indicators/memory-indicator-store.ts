import type { Dimension, Scope, ScopeKind } from '@tradepulse/contracts'
import { systemClock } from '@tradepulse/contracts'
import {
  type ApplyBatchResult,
  admitScopes,
  applyContributions,
  bornCandidateMs,
  type Contribution,
  createIndicatorKeys,
  createIndicatorState,
  type FoldedContribution,
  foldRareScopes,
  type IndicatorState,
  type IndicatorStore,
  indicatorKey,
  isDamagedRef,
  OTHER_SCOPE_ID,
  readStoredIndicator,
  resolveIndicatorConfig,
  scopeCandidates,
  type WithheldIndicator,
} from '@tradepulse/indicators'
import { assertValidContributions } from './indicator-scripts.ts'
import {
  INDICATOR_STORE_DEFAULTS,
  type IndicatorStoreOptions,
  refLimitOf,
} from './indicator-store-options.ts'
import { rankIndicators } from './rank-indicators.ts'

type Expiring<T> = { value: T; expiresAtMs: number }
type Namespace = {
  states: Map<string, Expiring<IndicatorState>>
  registries: Map<ScopeKind, Expiring<Map<string, number>>>
  watermark?: Expiring<number>
  /** The namespace's born time (namespace-born.ts): set when absent by each apply, as the Redis store does. */
  born?: Expiring<number>
}

/** withNamespace gives a memory store too: an intersection kept IndicatorStore's signature first. */
export type MemoryIndicatorStore = Omit<IndicatorStore, 'withNamespace'> & {
  /** Remaining time to live of an indicator, wall-clock ms (what PTTL gives on Redis). */
  ttlMs(dimension: Dimension, scope: Scope): number | undefined
  /** Entries this namespace holds, expired or not: states, registries, born time, watermark (for tests). */
  heldEntries(): number
  withNamespace(namespace: string): MemoryIndicatorStore
}

/**
 * The embedded adapter: the same pure math as the Redis scripts, in process memory. Expiry follows
 * the clock, as Redis TTLs follow Redis's clock.
 */
export function createMemoryIndicatorStore(options: IndicatorStoreOptions = {}): MemoryIndicatorStore {
  const config = resolveIndicatorConfig(options.config)
  const clock = options.clock ?? systemClock
  const cap = options.maxScopesPerKind ?? INDICATOR_STORE_DEFAULTS.maxScopesPerKind
  const refLimit = refLimitOf(options.maxRefAheadMs)
  const namespaces = new Map<string, Namespace>()
  let active: string | undefined
  let nextSweepMs = Number.NEGATIVE_INFINITY

  const live = <T>(entry: Expiring<T> | undefined): T | undefined =>
    entry && entry.expiresAtMs > clock.now() ? entry.value : undefined

  /**
   * Deletes every expired entry of every namespace, at most once per coarse bucket of the clock. A read
   * hides an expired entry but a write only replaces it, so scopes the registry let go (and namespaces
   * left by a rebuild) stayed in memory for good: ~2.2 MB a day at 1,000 new headlines a day, without
   * bound. As Redis expires keys: an entry gone is read as an expired one was.
   */
  function sweep(now: number): void {
    if (now < nextSweepMs) return
    nextSweepMs = now + config.coarseBucketMs
    const expired = (entry: Expiring<unknown> | undefined) => entry !== undefined && entry.expiresAtMs <= now
    for (const [name, n] of namespaces) {
      for (const [k, entry] of n.states) if (expired(entry)) n.states.delete(k)
      for (const [kind, entry] of n.registries) if (expired(entry)) n.registries.delete(kind)
      if (expired(n.watermark)) n.watermark = undefined
      if (expired(n.born)) n.born = undefined
      if (n.states.size === 0 && n.registries.size === 0 && !n.watermark && !n.born) namespaces.delete(name)
    }
  }

  function build(namespace: string): MemoryIndicatorStore {
    createIndicatorKeys('memory', namespace) // the same name rules as Redis
    const ns = (): Namespace => {
      let found = namespaces.get(namespace)
      if (!found) {
        found = { states: new Map(), registries: new Map() }
        namespaces.set(namespace, found)
      }
      return found
    }

    /**
     * As the Redis store reads (readStoredIndicator): undefined, pushed onto `withheld` with its reason,
     * for a damaged ref or an update that breaks the contract (WithheldIndicator).
     */
    function readState(
      dimension: Dimension,
      scope: Scope,
      asOfMs: number,
      withheld: WithheldIndicator[] | undefined,
    ) {
      const state = live(ns().states.get(indicatorKey(dimension, scope)))
      if (!state) return undefined
      return readStoredIndicator(state, { dimension, scope }, asOfMs, config, {
        refLimitMs: refLimit(clock.now()),
        storedRef: state.refMs === null ? '' : String(state.refMs),
        withheld,
        bornMs: live(ns().born) ?? Number.POSITIVE_INFINITY,
      })
    }

    /**
     * Checks every run, then sets the namespace's born time when it has none (bornCandidateMs) and renews
     * it, as the Redis store's SET_BORN does: nothing is written for a batch holding an invalid contribution.
     */
    function setBorn(runs: readonly (readonly Contribution[])[]): void {
      for (const run of runs) assertValidContributions(run)
      const candidate = bornCandidateMs(runs, config.graceMs)
      if (candidate === undefined) return
      const n = ns()
      n.born = { value: live(n.born) ?? candidate, expiresAtMs: clock.now() + config.ttlMs }
    }

    /** One run, as its own applyBatch (checked, and the born time set, by the caller: setBorn). */
    function applyRun(contributions: readonly Contribution[]): ApplyBatchResult {
      const result: ApplyBatchResult = {
        applied: 0,
        duplicates: 0,
        late: 0,
        lateAgain: 0,
        lateContributions: [],
      }
      if (contributions.length === 0) return result
      const { states, registries } = ns()
      const now = clock.now()
      const admitted = new Map<ScopeKind, Set<string>>()
      for (const [kind, list] of scopeCandidates(contributions)) {
        const registry = live(registries.get(kind)) ?? new Map<string, number>()
        const flags = admitScopes(registry, list, cap, config.coarseRetentionMs)
        registries.set(kind, { value: registry, expiresAtMs: now + config.ttlMs })
        admitted.set(kind, new Set(list.filter((_, i) => flags[i]).map((c) => c.id)))
      }
      const byKey = new Map<string, Contribution[]>()
      const folded: FoldedContribution[] = []
      const isAdmitted = (s: Scope) => admitted.get(s.kind)?.has(s.id) ?? false
      for (const c of foldRareScopes(contributions, isAdmitted, folded)) {
        const k = indicatorKey(c.dimension, c.scope)
        const group = byKey.get(k)
        if (group) group.push(c)
        else byKey.set(k, [c])
      }
      for (const [k, group] of byKey) {
        const entry = states.get(k)
        const state = live(entry) ?? createIndicatorState(config)
        const out = applyContributions(state, group, now, config, refLimit(now))
        result.applied += out.applied
        result.duplicates += out.duplicates
        result.late += out.late
        result.lateAgain += out.lateAgain
        for (const { dimension, scope, headlineId, eventMs } of out.lateContributions) {
          result.lateContributions.push({ dimension, scope, headlineId, eventMs })
        }
        if (out.lateAgainContributions) {
          result.lateAgainContributions ??= []
          for (const { dimension, scope, headlineId, eventMs } of out.lateAgainContributions)
            result.lateAgainContributions.push({ dimension, scope, headlineId, eventMs })
        }
        if (out.duplicateContributions) {
          result.duplicateContributions ??= []
          for (const { dimension, scope, headlineId } of out.duplicateContributions)
            result.duplicateContributions.push({ dimension, scope, headlineId })
        }
        if (out.damagedRefMs !== undefined) {
          const { dimension, scope } = group[0]!
          result.damagedRefs ??= []
          result.damagedRefs.push({ dimension, scope, stored: String(out.damagedRefMs), refMs: state.refMs! })
        }
        if (out.damagedFields) {
          const { dimension, scope } = group[0]!
          result.damagedFields ??= []
          for (const { field, stored } of out.damagedFields)
            result.damagedFields.push({ dimension, scope, field, stored })
        }
        // Like the script: only a write that applied something extends the expiry.
        const expiresAtMs = out.applied > 0 || !entry ? now + config.ttlMs : entry.expiresAtMs
        states.set(k, { value: state, expiresAtMs })
      }
      if (folded.length > 0) result.folded = folded
      return result
    }

    return {
      namespace,

      async applyBatch(contributions) {
        sweep(clock.now())
        setBorn([contributions])
        return applyRun(contributions)
      },

      async applyRuns(runs) {
        sweep(clock.now())
        setBorn(runs)
        return runs.map(applyRun)
      },

      async get(dimension, scope, asOfMs, withheld) {
        return readState(dimension, scope, asOfMs, withheld)
      },

      async top(dimension, scopeKind, by, n, asOfMs, withheld) {
        const registry = live(ns().registries.get(scopeKind)) ?? new Map<string, number>()
        const updates = [...registry.keys()]
          .filter((id) => id !== OTHER_SCOPE_ID)
          .flatMap((id) => readState(dimension, { kind: scopeKind, id }, asOfMs, withheld) ?? [])
        return rankIndicators(updates, by, n)
      },

      ttlMs(dimension, scope) {
        const entry = ns().states.get(indicatorKey(dimension, scope))
        return entry && live(entry) ? entry.expiresAtMs - clock.now() : undefined
      },

      heldEntries() {
        const n = namespaces.get(namespace)
        return n ? n.states.size + n.registries.size + (n.watermark ? 1 : 0) + (n.born ? 1 : 0) : 0
      },

      withNamespace: build,

      async advanceWatermark(ms) {
        if (!Number.isFinite(ms)) throw new RangeError(`watermark must be a finite number of ms, not ${ms}`)
        const n = ns()
        const cur = live(n.watermark)
        // As the Redis script: a damaged one (isDamagedRef) is replaced.
        const whole = cur !== undefined && !isDamagedRef(cur, refLimit(clock.now()))
        const value = whole && cur >= ms ? cur : ms
        n.watermark = { value, expiresAtMs: clock.now() + config.ttlMs }
        return value
      },

      async watermark() {
        const ms = live(ns().watermark)
        return ms !== undefined && isDamagedRef(ms, refLimit(clock.now())) ? undefined : ms
      },

      async activeNamespace() {
        return active
      },

      async activateNamespace(next) {
        createIndicatorKeys('memory', next)
        active = next
      },

      async clear() {
        const found = namespaces.get(namespace)
        const count = found ? found.states.size + found.registries.size : 0
        namespaces.delete(namespace)
        return count
      },
    }
  }

  return build(options.namespace ?? INDICATOR_STORE_DEFAULTS.namespace)
}
