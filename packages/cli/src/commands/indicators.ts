import {
  AggregatorConfig,
  eventTimeOptions,
  indicatorOverrides,
  indicatorStoreOptions,
  interruptionText,
  RebuildInterruptedError,
  type RebuildInterruption,
  type RebuildStep,
  rebuildIndicators,
} from '@tradepulse/aggregator'
import {
  createTopicCatalogue,
  cutForLog,
  Dimension,
  type IndicatorUpdate,
  ScopeKind,
} from '@tradepulse/contracts'
import { AS_OF_FORMS, parseAsOf as parseGatewayAsOf, readableFrom, tooEarly } from '@tradepulse/gateway'
import {
  createIndicatorKeys,
  type IndicatorStore,
  indicatorKey,
  resolveIndicatorConfig,
  type WithheldIndicator,
} from '@tradepulse/indicators'
import {
  activeIndicatorStore,
  createRedisIndicatorStore,
  defaultGroupId,
  eventTimeOf,
  exitCodeForSignal,
  type IndicatorAsOf,
  kafkaSecurity,
  loadConfig,
} from '@tradepulse/platform'
import { type Command, InvalidArgumentError, Option } from 'commander'
import { clientLog, cliKafka, cliLogger, withRedis } from '../infra.ts'
import { duration, UNIT_MS, wholeNumber } from '../option-values.ts'
import { requireTopic } from '../topic-check.ts'
import { invalidOptionValue } from '../usage-errors.ts'

/** --since: its text (named in the warning) and its span, read as every option is (option-values.ts). */
export type Since = { text: string; ms: number }

/** --since's value: a duration (option-values.ts), refused as every bad option value is. */
export const sinceOption = (text: string): Since => ({ text, ms: duration(text) })

const DAY_MS = UNIT_MS.d!

/**
 * The shortest --since that gives a rebuild what the live aggregator holds: the indicators' coarse
 * retention (the 7-day buzz baseline, its window and a bucket, plus the grace and a bucket: 7d 3h 10m
 * by default), in whole days (8d). A shorter replay leaves the rebuilt namespace without the oldest
 * buckets, so its buzz (and any window that long) differs from the live path's.
 */
export function fullRebuildSince(config: Pick<AggregatorConfig, 'AGGREGATOR_GRACE_MS'>): {
  ms: number
  text: string
  reachMs: number
} {
  const reachMs = resolveIndicatorConfig(indicatorOverrides(config)).coarseRetentionMs
  const days = Math.ceil(reachMs / DAY_MS)
  return { ms: days * DAY_MS, text: `${days}d`, reachMs }
}

/** "7d 3h 10m" */
function formatSpan(ms: number): string {
  const parts: string[] = []
  for (const [unit, size] of [
    ['d', DAY_MS],
    ['h', UNIT_MS.h!],
    ['m', UNIT_MS.m!],
    ['s', UNIT_MS.s!],
  ] as const) {
    const n = Math.floor(ms / size)
    if (n > 0) parts.push(`${n}${unit}`)
    ms -= n * size
  }
  return parts.join(' ') || '0s'
}

/** The warning for a --since shorter than fullRebuildSince, or undefined when it is long enough. */
export function rebuildSinceWarning(
  since: string,
  sinceMs: number,
  config: Pick<AggregatorConfig, 'AGGREGATOR_GRACE_MS'>,
): string | undefined {
  const full = fullRebuildSince(config)
  if (sinceMs >= full.reachMs) return undefined
  return `--since ${since} is shorter than the indicators reach back (${formatSpan(full.reachMs)}: the 7-day buzz baseline, its window and the grace): the rebuilt buzz and long windows will differ from the live aggregator's for up to that long; --since ${full.text} (the default) rebuilds them whole`
}

/** What --as-of names: the aggregator's event-time watermark (`latest`), the clock (`now`), or a time. */
export type AsOf = IndicatorAsOf

/**
 * --as-of as the gateway reads its `asOf` (one parser): a time needs its zone, and must exist. A bad one
 * is refused as every bad option value is (option-values.ts), before the configuration is read.
 */
export function parseAsOf(text: string): AsOf {
  const p = parseGatewayAsOf(text)
  if (p.ok) return p.value
  throw new InvalidArgumentError(`Expected ${AS_OF_FORMS}.`)
}

/** --as-of's value: its text (named when the time is refused as too early) and what it names. */
export type AsOfOption = { text: string; at: AsOf }

export const asOfOption = (text: string): AsOfOption => ({ text, at: parseAsOf(text) })

/** The event time to read the indicators at (as the gateway reads: eventTimeOf), and what it is, for the title. */
export async function resolveAsOf(
  asOf: AsOf,
  store: Pick<IndicatorStore, 'watermark'>,
  now: () => number = Date.now,
): Promise<{ ms: number; what: string }> {
  const at = await eventTimeOf(asOf, store, now)
  const what =
    at.from === 'given'
      ? ''
      : at.from === 'watermark'
        ? "latest: the aggregator's event time"
        : asOf === 'now'
          ? 'now'
          : 'now: the aggregator has set no event time here'
  return { ms: at.ms, what }
}

const num = (x: number | undefined, digits = 3) => (x === undefined ? '-' : x.toFixed(digits))

/** The rows as a fixed-width table: scope, means per half-life, momentum, buzz, volumes, diffusion, count. */
export function formatIndicatorTable(updates: IndicatorUpdate[]): string {
  if (updates.length === 0) return '(no indicators)\n'
  const means = Object.keys(updates[0]!.mean)
  const volumes = Object.keys(updates[0]!.volume)
  const header = [
    'scope',
    ...means.map((l) => `mean ${l}`),
    'momentum',
    'buzz',
    ...volumes.map((l) => `vol ${l}`),
    'diffusion',
    'count',
  ]
  const rows = updates.map((u) => [
    u.scope.id,
    ...means.map((l) => num(u.mean[l])),
    num(u.momentum),
    num(u.buzz, 2),
    ...volumes.map((l) => String(u.volume[l] ?? '-')),
    num(u.diffusion, 2),
    String(u.count),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  return `${[line(header), ...rows.map(line)].join('\n')}\n`
}

type ShowOptions = {
  dimension: Dimension
  scopeKind: ScopeKind
  by: 'momentum' | 'buzz'
  top: number
  asOf: AsOfOption
}

/** `tradepulse indicators` (top N table from Redis) and `tradepulse indicators rebuild [--since 8d]`. */
export function registerIndicators(program: Command): void {
  const indicators = program
    .command('indicators')
    .description(
      'the top scopes of a dimension by momentum or buzz, read from Redis (REDIS_URL, REDIS_KEY_PREFIX)',
    )
    .addOption(
      new Option('--dimension <dimension>', 'dimension').choices(Dimension.options).default('tariff'),
    )
    .addOption(
      new Option('--scope-kind <kind>', 'scope kind')
        .choices(ScopeKind.options.filter((k) => k !== 'global'))
        .default('region'),
    )
    .addOption(new Option('--by <what>', 'rank by').choices(['momentum', 'buzz']).default('momentum'))
    .option('--top <n>', 'how many scopes', wholeNumber({ min: 1 }), 10)
    .addOption(
      new Option(
        '--as-of <time>',
        'event time to evaluate at: "latest" (the aggregator\'s event time, or now when it has none), "now" or an ISO 8601 time with Z or an offset (2026-03-02T14:00:00Z), not before the aggregator\'s event time (the indicators are kept as of their newest headline, not as a history)',
      )
        .argParser(asOfOption)
        .default(asOfOption('latest'), '"latest"'),
    )
    .action(async (opts: ShowOptions, cmd: Command) => {
      const config = loadConfig(AggregatorConfig, process.env)
      const top = opts.top
      const asOf = opts.asOf.at
      const log = cliLogger(config)
      await withRedis(config, 'tradepulse-cli', log, async (redis) => {
        const store = await activeIndicatorStore(
          createRedisIndicatorStore(redis, indicatorStoreOptions(config)),
        )
        const at = await resolveAsOf(asOf, store)
        // A time given: refused before the aggregator's event time (and before a row's own time), as by the
        // gateway: the store would answer with newer values, under a title saying the time asked for.
        const given = typeof asOf === 'number'
        const early = (bounds: (number | undefined)[]) => {
          const earliest = given ? readableFrom(at.ms, bounds) : undefined
          if (earliest !== undefined)
            invalidOptionValue(cmd, '--as-of', opts.asOf.text, `${tooEarly(at.ms, earliest)}.`)
        }
        early([given ? await store.watermark() : undefined])
        const withheld: WithheldIndicator[] = []
        const rows = await store.top(opts.dimension, opts.scopeKind, opts.by, top, at.ms, withheld)
        early(rows.map((u) => Date.parse(u.asOf)))
        process.stdout.write(
          `${opts.dimension} by ${opts.scopeKind}, top ${top} by ${opts.by}, as of ${new Date(at.ms).toISOString()} (${at.what ? `${at.what}; ` : ''}namespace ${store.namespace})\n`,
        )
        process.stdout.write(formatIndicatorTable(rows))
        // Left out of the ranking by the store, as out of the gateway's answers: their values are decayed
        // against a time no apply could have written, or are no numbers. Said, so a missing scope is not
        // read as a quiet one.
        const notice = withheldNotice(withheld)
        if (notice) process.stderr.write(notice)
      })
    })

  indicators
    .command('rebuild')
    .description(
      'replay headlines.scored since a time into a fresh Redis namespace, then switch readers to it in one step (the live aggregator keeps running)',
    )
    .option(
      '--since <duration>',
      "how far back to replay, by Kafka record time: 30m, 12h, 7d (default: the indicators' reach in whole days, 8d with the default grace; shorter is warned: buzz then differs from the live path's)",
      sinceOption,
    )
    .option('--keep-previous', 'keep the previous namespace instead of clearing it')
    .action(async (opts: { since?: Since; keepPrevious?: boolean }) => {
      const config = loadConfig(AggregatorConfig, process.env)
      const { text: since, ms: sinceSpanMs } = opts.since ?? fullRebuildSince(config)
      const warning = rebuildSinceWarning(since, sinceSpanMs, config)
      if (warning) process.stderr.write(`tradepulse: warning: ${warning}\n`)
      // Reaching back past 1970 (--since 100000d) reads from a time before any record's: from the start of
      // the topic, as 1970 itself does. Kafka refused the negative time with "The version of API is not
      // supported" (exit 69).
      const sinceMs = Math.max(0, Date.now() - sinceSpanMs)
      // At the CLI's level (cliLogger: warnings and errors unless LOG_LEVEL asks for more): the rebuild's own
      // info lines ("rebuild: replaying", "rebuild: done"), raw JSON on stderr, said no more than the
      // progress and the summary printed below.
      const log = cliLogger(config, 'tradepulse-rebuild')
      const topic = createTopicCatalogue(config.TRADEPULSE_TOPIC_PREFIX).scored.name
      // Kafka first, quickly, as replay, tail and topics reach it: unreachable, the rebuild's own client
      // retried for 17 s, each retry a JSON error line on stderr, before the same one-line error. And its
      // topic there (requireTopic): under a mistyped prefix, the rebuild failed after 20 s as if Kafka were
      // down (exit 69), with a hint to create the topics.
      await requireTopic(cliKafka(config, 'tradepulse-rebuild', log), config, 'indicators rebuild', topic)
      const interrupted = await withRedis(config, 'tradepulse-rebuild', log, async (redis) => {
        const store = createRedisIndicatorStore(redis, indicatorStoreOptions(config))
        // SIGINT and SIGTERM stop the rebuild, which deletes what it made (its namespace, its consumer
        // group) rather than leave a second copy of the indicators in Redis for a week; a second one
        // exits at once, saying what is left. Without, Ctrl-C killed it and left both.
        const stop = new AbortController()
        let signalled: RebuildSignal | undefined
        let step: RebuildStep | undefined
        const onSignal = (signal: RebuildSignal) => {
          if (signalled) {
            process.stderr.write(
              `${forcedExitLine(signal, step, config.REDIS_KEY_PREFIX, Boolean(opts.keepPrevious))}\n`,
            )
            process.exit(exitCodeForSignal(signal))
          }
          signalled = signal
          process.stderr.write(`${stoppingLine(signal, step)}\n`)
          stop.abort()
        }
        process.on('SIGINT', onSignal)
        process.on('SIGTERM', onSignal)
        let lastReport = Number.NEGATIVE_INFINITY
        let reportedApplied = false
        const r = await rebuildIndicators({
          brokers: config.KAFKA_BROKERS,
          security: kafkaSecurity(config),
          topic,
          sinceMs,
          store,
          log,
          // kafkajs's own logs only with LOG_LEVEL=debug, as for the other commands (infra.ts).
          kafkaLog: clientLog(log),
          // The live worker's grace and watermark bound (AGGREGATOR_MAX_AHEAD_MS), read as it reads them.
          ...eventTimeOptions(config),
          groupPrefix: defaultGroupId(config, 'aggregator'),
          ...(opts.keepPrevious ? { keepPrevious: true } : {}),
          signal: stop.signal,
          onStep: (s) => {
            step = s
          },
          // Every 2 s, and at once when the first records are applied: the replay is under way.
          onProgress: (p) => {
            const first = p.records > 0 && !reportedApplied
            if (!first && performance.now() - lastReport < 2_000) return
            lastReport = performance.now()
            reportedApplied ||= p.records > 0
            process.stderr.write(`${p.phase}: ${p.records} records, ${p.applied} headlines applied\n`)
          },
        })
          .catch((err: unknown) => {
            if (err instanceof RebuildInterruptedError) return err
            throw err
          })
          .finally(() => {
            process.off('SIGINT', onSignal)
            process.off('SIGTERM', onSignal)
          })
        if (r instanceof RebuildInterruptedError)
          return { signal: signalled ?? 'SIGINT', interruption: r.interruption }
        process.stdout.write(
          `rebuilt ${r.headlines} headlines (${r.records} records, ${r.invalid} invalid) since ${new Date(sinceMs).toISOString()} into namespace ${r.namespace} in ${(r.elapsedMs / 1_000).toFixed(1)} s; readers switched from ${r.previous}${opts.keepPrevious ? ' (kept)' : ` (cleared ${r.clearedKeys} keys)`}\n`,
        )
        return undefined
      })
      if (interrupted) {
        process.stderr.write(`${interruptedLine(interrupted.signal, interrupted.interruption)}\n`)
        process.exit(exitCodeForSignal(interrupted.signal))
      }
    })
}

/** The signals that stop a rebuild. */
export type RebuildSignal = 'SIGINT' | 'SIGTERM'

const again = (signal: RebuildSignal) => (signal === 'SIGINT' ? 'Ctrl-C' : signal)

/** What the first signal does, said at once: the cleanup may take seconds (an apply in flight ends first). */
export function stoppingLine(signal: RebuildSignal, step: RebuildStep | undefined): string {
  if (step?.step === 'switching')
    return `tradepulse: indicators rebuild: ${signal} after readers were switched to namespace ${step.namespace}: finishing its last pass, which it needs (${again(signal)} again exits at once)`
  const what = step
    ? `; deleting namespace ${step.namespace} and consumer group ${step.groupId} (${again(signal)} again exits at once, leaving them)`
    : ''
  return `tradepulse: indicators rebuild: ${signal}: stopping the replay${what}`
}

/** The one line of a rebuild its signal stopped before the switch: what went, what could not, and where readers are. */
export function interruptedLine(signal: RebuildSignal, interruption: RebuildInterruption): string {
  return `tradepulse: indicators ${interruptionText(interruption, signal)}`
}

/** The line of a second signal, which exits without waiting for the cleanup: what may be left. */
export function forcedExitLine(
  signal: RebuildSignal,
  step: RebuildStep | undefined,
  keyPrefix: string,
  keepPrevious: boolean,
): string {
  const head = `tradepulse: indicators rebuild: ${signal} again: exiting at once`
  if (!step) return `${head}; nothing was made yet`
  const keys = (namespace: string) =>
    `namespace ${namespace}'s keys (${createIndicatorKeys(keyPrefix, namespace).pattern}; they expire with their TTL)`
  const group = `consumer group ${step.groupId} (Kafka drops it after offsets.retention.minutes)`
  if (step.step === 'started')
    return `${head}; may be left: ${keys(step.namespace)} and ${group}; readers stay on namespace ${step.previous}`
  const left = keepPrevious ? group : `${group} and ${keys(step.previous)}`
  return `${head}; readers are on namespace ${step.namespace}, which may lack the headlines of the last moments before the switch (tradepulse indicators rebuild again); may be left: ${left}`
}

/** Most indicators a warning line names; the rest are counted. */
const NOTICE_SAMPLE = 5
/** Most characters of what the contract says of one indicator in a warning line. */
const NOTICE_PROBLEM_CHARS = 200

/**
 * The warning lines for indicators a read left out (WithheldIndicator), one per reason, or '' when none
 * was: `damaged_ref`, their stored newest event time is damaged (the aggregator's next apply repairs it);
 * `invalid_state`, their stored state reads as an update the IndicatorUpdate contract refuses, each named
 * with what the contract says of it.
 */
export function withheldNotice(withheld: readonly WithheldIndicator[]): string {
  const damaged: WithheldIndicator[] = []
  const invalid: (WithheldIndicator & { reason: 'invalid_state' })[] = []
  for (const w of withheld) {
    if (w.reason === 'invalid_state') invalid.push(w)
    else damaged.push(w)
  }
  return (
    noticeLine(
      damaged,
      'whose stored newest event time is damaged',
      (w) => `stored ${JSON.stringify(w.stored)}`,
      `the aggregator's next apply to ${damaged.length === 1 ? 'it repairs it' : 'each repairs it'}`,
    ) +
    noticeLine(
      invalid,
      'whose stored state breaks the IndicatorUpdate contract (a field that is not a number: Redis edited or damaged)',
      (w) => cutForLog(w.problem, NOTICE_PROBLEM_CHARS),
      'left out until the field is written again or the key expires (tradepulse indicators rebuild rewrites every key from Kafka)',
    )
  )
}

/** One reason's warning line: the indicators' keys, each with `detail`, the first NOTICE_SAMPLE named. */
function noticeLine<W extends WithheldIndicator>(
  withheld: readonly W[],
  why: string,
  detail: (w: W) => string,
  after: string,
): string {
  if (withheld.length === 0) return ''
  const named = withheld
    .slice(0, NOTICE_SAMPLE)
    .map((w) => `${indicatorKey(w.dimension, w.scope)} (${detail(w)})`)
  const more = withheld.length > named.length ? ` and ${withheld.length - named.length} more` : ''
  return `tradepulse: warning: left out ${withheld.length} indicator${withheld.length === 1 ? '' : 's'} ${why}: ${named.join(', ')}${more}; ${after}\n`
}
