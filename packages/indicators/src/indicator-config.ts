const MINUTE_MS = 60_000
const HOUR_MS = 60 * MINUTE_MS
const DAY_MS = 24 * HOUR_MS

/**
 * Everything the indicator math can be tuned by. All durations are milliseconds of event time.
 * The state layout depends on `halfLivesMs` (by position) and on the bucket sizes, so changing them
 * means rebuilding into a fresh store namespace.
 */
export type IndicatorConfig = {
  /** Decayed-mean half-lives by label, shortest first (labels become keys of IndicatorUpdate.mean). */
  halfLivesMs: Record<string, number>
  /** Volume windows by label (keys of IndicatorUpdate.volume). */
  windowsMs: Record<string, number>
  /** A contribution older than the key's newest event time minus this is late: counted, not applied. */
  graceMs: number
  /** How long applied headline ids are remembered per key, by event time. Must be ≥ graceMs. */
  dedupRetentionMs: number
  /** Minute buckets serve windows up to `fineHorizonMs`; hourly buckets serve longer ones and the baseline. */
  fineBucketMs: number
  fineHorizonMs: number
  coarseBucketMs: number
  /** Buzz compares the volume of the last `buzzWindowMs` with the coarse buckets of this baseline. */
  baselineMs: number
  buzzWindowMs: number
  /** Floor of the baseline's standard deviation (above 0), so a quiet baseline (all zeros) gives a finite z-score. */
  minBuzzSd: number
  /**
   * Least baseline buzz is read against: this many ms of whole coarse buckets the namespace's state has
   * lived through (since its born time: see namespace-born.ts). Before the state existed (a Redis that
   * lost its data, a first deployment) its buckets are not zeros but unknown: they are left out of the
   * baseline, and until this much is known buzz has no reading (readBuzz; the update carries 0).
   * At least 2 buckets (the standard deviation of one is 0), at most baselineMs. The trade-off: longer,
   * fewer false spikes after a loss (a few buckets' standard deviation is a poor estimate, and a low one
   * reads an ordinary hour as a spike); shorter, fewer hours without any buzz alert after a loss or a
   * first deployment (this much plus the partial hour of born plus buzzWindowMs). See the default.
   */
  minBuzzBaselineMs: number
  /** Diffusion counts positive and negative headlines over this window. */
  diffusionWindowMs: number
  /**
   * Momentum: short minus long, by half-life label (short the shorter of the two); the short half-life's evidence is shrunk toward the
   * long mean rather than toward 0 (see read-indicator.ts).
   */
  momentum: { short: string; long: string }
  /**
   * Weight of a neutral (0) pseudo-observation added to every decayed mean, in units of one
   * full-relevance headline: a scope with a single old headline reads near 0 instead of that
   * headline's score forever. 0 gives the plain ratio Σw·x / Σw; below 0 is refused.
   */
  priorWeight: number
}

export const DEFAULT_INDICATOR_CONFIG: IndicatorConfig = {
  halfLivesMs: { '15m': 15 * MINUTE_MS, '1h': HOUR_MS, '24h': DAY_MS },
  windowsMs: { '15m': 15 * MINUTE_MS, '1h': HOUR_MS, '24h': DAY_MS },
  graceMs: 10 * MINUTE_MS,
  // Values stay idempotent with any retention ≥ grace (older ids can never be applied again); the extra
  // hour only lets a redelivery up to an hour behind be reported as a duplicate rather than as late.
  dedupRetentionMs: HOUR_MS,
  fineBucketMs: MINUTE_MS,
  fineHorizonMs: HOUR_MS,
  coarseBucketMs: HOUR_MS,
  baselineMs: 7 * DAY_MS,
  buzzWindowMs: HOUR_MS,
  minBuzzSd: 1,
  // 6 whole hours since born: no buzz reading for the first 7 to 8 hours after a loss or a first
  // deployment. Simulated, steady Poisson scopes over the 72 h after a loss, under the default rule (fire
  // at 3, minVolume 5, re-arm below 2), the share that fires a false spike at least once, at 6/h and at
  // 20/h: 64 % and 58 % with 2 h (the first default: 3 to 4 hours without buzz), 48 % and 39 % with 6 h,
  // 39 % and 29 % with 12 h, 28 % and 21 % with 24 h; a mature scope with no loss, 30 % and 21 %. A single
  // hour reads buzz ≥ 3 at volume ≥ 5 about 1 time in 8 against 2 buckets, 1 in 100 against 24. 6 h is
  // the compromise: about half of the 2 h excess over a mature scope gone, for 4 hours more without buzz
  // alerts; matching a mature scope (24 h) would leave a loss without them for a day. (Those figures are of
  // the first buzz rules, from an earlier simulation. `pnpm eval buzz`, which reads buzz on every headline,
  // finds 81 % and 73 % of mature scopes paged at 3; the default rules now fire at 6 with minVolume 8,
  // 0.2 % and 0 %.)
  minBuzzBaselineMs: 6 * HOUR_MS,
  diffusionWindowMs: HOUR_MS,
  // 1 h rather than 15 min: on a small scope the 15 min mean is one or two headlines.
  momentum: { short: '1h', long: '24h' },
  priorWeight: 1,
}

export type WindowSpec = { label: string; ms: number; tier: 'fine' | 'coarse' }

/** The config with everything derived from it that apply and read need. */
export type ResolvedIndicatorConfig = IndicatorConfig & {
  halfLives: { label: string; ms: number }[]
  windows: WindowSpec[]
  /** Buckets older than newest event − retention are deleted; retention covers reads at asOf ≥ newest − grace. */
  fineRetentionMs: number
  coarseRetentionMs: number
  /** Expiry of every key of one indicator after its last write (wall clock): its longest horizon. */
  ttlMs: number
}

/**
 * The config with its derived values, or an Error naming every field that makes no sense. Durations are
 * whole ms above 0: the Redis store hands them to PEXPIRE and bucket arithmetic, which refuse a
 * fraction (every apply failed on a grace of 600000.5), and a window of 0 or less reads nothing (a
 * diffusion window of 0 gave 0 forever).
 */
export function resolveIndicatorConfig(overrides: Partial<IndicatorConfig> = {}): ResolvedIndicatorConfig {
  const c: IndicatorConfig = { ...DEFAULT_INDICATOR_CONFIG, ...overrides }
  const problems: string[] = []
  const isDuration = (v: number) => Number.isSafeInteger(v) && v > 0
  const duration = (name: string, v: number) => {
    if (!isDuration(v)) problems.push(`${name} must be a whole number of ms above 0 (got ${v})`)
  }
  for (const [k, v] of Object.entries(c.halfLivesMs)) duration(`halfLivesMs.${k}`, v)
  for (const [k, v] of Object.entries(c.windowsMs)) duration(`windowsMs.${k}`, v)
  for (const k of [
    'graceMs',
    'dedupRetentionMs',
    'fineBucketMs',
    'fineHorizonMs',
    'coarseBucketMs',
    'baselineMs',
    'minBuzzBaselineMs',
    'buzzWindowMs',
    'diffusionWindowMs',
  ] as const) {
    duration(k, c[k])
  }
  if (!(Number.isFinite(c.minBuzzSd) && c.minBuzzSd > 0)) {
    // Buzz divides by it whenever the baseline is quiet (its standard deviation 0): 0 or less gave an
    // infinite buzz (every buzz spike rule firing on a scope's first headline) or NaN.
    problems.push(
      `minBuzzSd must be a number above 0 (got ${c.minBuzzSd}): buzz divides by it when the baseline's standard deviation is below it, and a quiet baseline's is 0`,
    )
  }
  if (!(Number.isFinite(c.priorWeight) && c.priorWeight >= 0)) {
    // Every mean divides by Σw + priorWeight: a negative weight takes means past ±1 or to 0/0.
    problems.push(
      `priorWeight must be a number of at least 0 (got ${c.priorWeight}): it is the weight of a neutral headline in every mean, whose denominator is the headlines' weight plus it`,
    )
  }
  if (Object.keys(c.halfLivesMs).length === 0) problems.push('halfLivesMs needs at least one half-life')
  if (c.dedupRetentionMs < c.graceMs)
    problems.push('dedupRetentionMs must be ≥ graceMs, or a redelivery could apply twice')
  const short = c.halfLivesMs[c.momentum.short]
  const long = c.halfLivesMs[c.momentum.long]
  if (!Object.hasOwn(c.halfLivesMs, c.momentum.short) || !Object.hasOwn(c.halfLivesMs, c.momentum.long)) {
    problems.push('momentum.short and momentum.long must be labels of halfLivesMs')
  } else if (!(short! < long!)) {
    // Short minus long: the other way round a turn reads with the wrong sign, and one label reads none.
    problems.push(
      `momentum.short must be a shorter half-life than momentum.long (got ${c.momentum.short}, ${short} ms, and ${c.momentum.long}, ${long} ms)`,
    )
  }
  const multiple = (name: string, v: number, of: number) => {
    if (isDuration(v) && isDuration(of) && v % of !== 0)
      problems.push(`${name} must be a multiple of ${of} ms so windows align with buckets`)
  }
  multiple('fineHorizonMs', c.fineHorizonMs, c.fineBucketMs)
  multiple('baselineMs', c.baselineMs, c.coarseBucketMs)
  if (isDuration(c.baselineMs) && isDuration(c.coarseBucketMs) && c.baselineMs < 2 * c.coarseBucketMs) {
    // Buzz is a z-score against the baseline's buckets: the standard deviation of one is always 0.
    problems.push(
      `baselineMs must span at least 2 buckets of coarseBucketMs (${2 * c.coarseBucketMs} ms; got ${c.baselineMs}): buzz is a z-score against the baseline's buckets, and the standard deviation of one bucket is always 0`,
    )
  }
  multiple('minBuzzBaselineMs', c.minBuzzBaselineMs, c.coarseBucketMs)
  if (
    isDuration(c.minBuzzBaselineMs) &&
    isDuration(c.coarseBucketMs) &&
    !(c.minBuzzBaselineMs >= 2 * c.coarseBucketMs && c.minBuzzBaselineMs <= c.baselineMs)
  ) {
    problems.push(
      `minBuzzBaselineMs must span at least 2 buckets of coarseBucketMs and at most baselineMs (${2 * c.coarseBucketMs} to ${c.baselineMs} ms; got ${c.minBuzzBaselineMs}): buzz is a z-score against that much of the baseline at least`,
    )
  }
  if (c.buzzWindowMs > c.fineHorizonMs) problems.push('buzzWindowMs must be ≤ fineHorizonMs')
  if (c.diffusionWindowMs > c.fineHorizonMs) problems.push('diffusionWindowMs must be ≤ fineHorizonMs')
  multiple('buzzWindowMs', c.buzzWindowMs, c.fineBucketMs)
  multiple('diffusionWindowMs', c.diffusionWindowMs, c.fineBucketMs)
  const windows: WindowSpec[] = Object.entries(c.windowsMs).map(([label, ms]) => {
    const tier = ms <= c.fineHorizonMs ? 'fine' : 'coarse'
    multiple(`windowsMs.${label}`, ms, tier === 'fine' ? c.fineBucketMs : c.coarseBucketMs)
    return { label, ms, tier }
  })
  if (problems.length > 0) throw new Error(`invalid indicator config: ${problems.join('; ')}`)

  const halfLives = Object.entries(c.halfLivesMs)
    .map(([label, ms]) => ({ label, ms }))
    .sort((a, b) => a.ms - b.ms)
  const fineRetentionMs = c.fineHorizonMs + c.graceMs + c.fineBucketMs
  const longestCoarse = Math.max(0, ...windows.filter((w) => w.tier === 'coarse').map((w) => w.ms))
  const coarseRetentionMs =
    Math.max(longestCoarse, c.baselineMs + c.buzzWindowMs + c.coarseBucketMs) + c.graceMs + c.coarseBucketMs
  const ttlMs = Math.max(coarseRetentionMs, c.dedupRetentionMs)
  return { ...c, halfLives, windows, fineRetentionMs, coarseRetentionMs, ttlMs }
}
