import { RULE_FILES } from '@tradepulse/alerting'
import { createTopicCatalogue } from '@tradepulse/contracts'
import { DEFAULT_INDICATOR_CONFIG, resolveIndicatorConfig } from '@tradepulse/indicators'
import {
  baseConfigShape,
  count,
  durationMs,
  MAX_DURATION_MS,
  MAX_TIMER_MS,
  ownDefault,
  timerMs,
  topicsAutoCreate,
} from '@tradepulse/platform'
import { z } from 'zod'

/** A duration that sets no timer: bounded where a date moved by it is still a Date. */
const ms = (def: number, min = 0) => durationMs(min).default(def)
/** A delay that sets a timer: bounded at the longest one Node keeps (a longer one would fire at once). */
const timer = (def: number, min = 0) => timerMs(min).default(def)
const DAY_MS = 86_400_000

/**
 * The shortest ALERTER_HYSTERESIS_TTL_MS: the longest half-life and volume window of the indicators the
 * rules watch (24 h; the alerter reads the aggregator's indicator config). A line that fired stays
 * disarmed until its measure is back past it, on an update or through a silence of the scope before one
 * (packages/alerting silence.ts), which needs the line's entry; an entry expired re-arms the line. Over a quiet spell
 * shorter than that window the 24 h mean and volume, and momentum (1 h against 24 h), still hold most of
 * what made the line fire, so the scope's next headline would page again for the same episode. Cooldowns
 * are no bound here: a crossing held back by one leaves its line armed (alerter-handler.ts).
 */
export const HYSTERESIS_TTL_MIN_MS = Math.max(
  ...Object.values(DEFAULT_INDICATOR_CONFIG.halfLivesMs),
  ...Object.values(DEFAULT_INDICATOR_CONFIG.windowsMs),
)

/**
 * The longest ALERTER_HYSTERESIS_TTL_MS: the aggregator's indicator keys expire this long after their last
 * write (ResolvedIndicatorConfig.ttlMs with the shortest AGGREGATOR_GRACE_MS, 1 s: 7 d 3 h), less an hour
 * for the update to reach the alerter, whose write starts the hysteresis TTL. An indicator quiet past its
 * keys starts again from nothing (its count from 0), and its next update cannot tell the silence (silence.ts
 * needs the count to go on): a line kept disarmed past the keys stayed disarmed through the scope's next
 * burst, and nobody was paged for it (30 d: the magnets burst after nine quiet days raised nothing).
 */
export const HYSTERESIS_TTL_MAX_MS = resolveIndicatorConfig({ graceMs: 1_000 }).ttlMs - 3_600_000

/**
 * The shortest ALERTER_DEDUP_WINDOW_MS (24 h). The window is also how far behind the alerter may run: a
 * headline scored and published longer ago than it raises nothing (evaluateHeadline's forgetAfterMs), taken
 * for one read again by a consumer group without offsets, whose alert ids are forgotten. That cut-off cannot
 * be longer than the window (the re-read would page the desks again under the same ids), so a short window
 * would silently drop the alerts of a live alerter caught up after an outage or a burst: with 60 s, a
 * headline read 2 minutes late paged nobody.
 */
const DEDUP_WINDOW_MIN_MS = DAY_MS

/**
 * ALERTER_WEBHOOK_MAX_NEWS_AGE_MS's default (15 min): a desk acts on a page within seconds, and news an
 * hour old is no fresh page; but a headline's publishedAt is its feed's, which can be minutes behind its
 * entry (a feed polled every few minutes, an aggregator's delay) before the pipeline's own seconds, and a
 * live alert must never be dropped for that.
 */
export const WEBHOOK_MAX_NEWS_AGE_MS = 15 * 60_000
/**
 * Its shortest value but 0 (1 min): shorter, the alerts of a pipeline running as it should (a feed's delay,
 * a batch, a rebalance) would go unposted.
 */
export const WEBHOOK_MAX_NEWS_AGE_MIN_MS = 60_000

/**
 * KAFKA_PARTITIONS_CONCURRENCY's default: the partitions of the alerter's input topics as the catalogue
 * makes them (headlines.scored and indicators, 6 each: 12), so that one alerter handles every partition it
 * is assigned at once. It reads both in event time (the aligner, gateInEventTime); with fewer slots than
 * partitions (the platform's 3), partitions the aligner resumes together are handled apart, each held back
 * by the others' older records, and the aligner has to force steps on a backlog: records came late (out of
 * event-time order: a cooldown kept a rewrite instead of the news), and the catch-up was slower. Several
 * alerters in a group are each assigned fewer: a larger number than a worker's partitions costs nothing.
 * Per partition handled at once: its fetch share in the fetch's bound (KAFKA_MAX_BYTES_PER_PARTITION, so
 * 12 MB rather than kafkajs's 10 MB); Redis is one connection, and gateInEventTime merges the partitions
 * handled at once into one handler round, so more of them means fewer, larger rounds, not more round trips.
 */
export const ALERTER_PARTITIONS_CONCURRENCY = (() => {
  const topics = createTopicCatalogue()
  return topics.scored.partitions + topics.indicators.partitions
})()

export const alerterConfigShape = {
  ...baseConfigShape,
  KAFKA_PARTITIONS_CONCURRENCY: ownDefault(
    'KAFKA_PARTITIONS_CONCURRENCY',
    ALERTER_PARTITIONS_CONCURRENCY,
    'partitions handled at once (set it to the partitions one worker is assigned)',
  ),
  ALERTER_RULES_FILE: z
    .string()
    .min(1)
    .default(RULE_FILES.defaultRules)
    .describe('rules file (YAML or JSON); reloaded on change or SIGHUP, an invalid one is refused'),
  ALERTER_DESKS_FILE: z
    .string()
    .min(1)
    .default(RULE_FILES.desks)
    .describe('desk subscriptions (YAML or JSON), read at start'),
  ALERTER_RULES_RELOAD_DEBOUNCE_MS: timer(250).describe(
    'quiet time after the last change to the rules file before it is reloaded',
  ),
  ALERTER_DEDUP_WINDOW_MS: durationMs(
    DEDUP_WINDOW_MIN_MS,
    `at least ${DEDUP_WINDOW_MIN_MS} ms (${DEDUP_WINDOW_MIN_MS / 3_600_000} h): it is also how far behind the alerter may run, a headline scored longer ago raising no alert, so a shorter window would silently drop the alerts of an alerter catching up after an outage or a burst`,
  )
    .default(7 * DAY_MS)
    .describe(
      `an alert id already sent within this time is not sent again (replays, redeliveries, restarts); at least ${DEDUP_WINDOW_MIN_MS / 3_600_000} h, since it is also how far behind the alerter may run. A headline scored (its headlines.scored record timestamp and scoredAt) and published longer ago than this raises no alert (counted as suppressed, reason stale), taken for one read again from headlines.scored (kept 30 days) by a consumer group without offsets, whose alerts went out when it was scored and would page the desks again with the same ids; so an alerter further behind than this (a long outage) sends nothing for the headlines it catches up on. A replay's headlines, scored as it runs, are not affected`,
    ),
  ALERTER_HYSTERESIS_TTL_MS: durationMs(
    HYSTERESIS_TTL_MIN_MS,
    `at least ${HYSTERESIS_TTL_MIN_MS} ms (${HYSTERESIS_TTL_MIN_MS / 3_600_000} h, the longest half-life and volume window of the indicators: a line forgotten sooner re-arms while its measure still holds what made it fire)`,
  )
    .default(7 * DAY_MS)
    .describe(
      `hysteresis state of an indicator untouched this long expires (its rules re-arm, and fire again on the next update past their line); at least ${HYSTERESIS_TTL_MIN_MS / 3_600_000} h, the indicators' longest half-life and volume window: forgotten sooner, a line re-arms while the measure it watches still holds most of what made it fire, and the scope's next headline pages again for the same episode. At most ${HYSTERESIS_TTL_MAX_MS} ms (about ${Math.floor(HYSTERESIS_TTL_MAX_MS / 3_600_000)} h), an hour less than the aggregator keeps an indicator's keys: kept longer, a line stays disarmed when its indicator starts again from nothing, and the scope's next burst pages nobody. An indicator update made (updatedAt) and about a time (asOf) both longer ago than this raises no alert and moves no line, as if its state had expired (counted as suppressed, reason stale): the last update of an indicator quiet that long, read again from the compacted topic by a consumer group without offsets; a replay's updates, made as it runs, are not affected`,
    ),
  ALERTER_HYSTERESIS_PRUNE_GRACE_MS: ms(3_600_000).describe(
    "how long, in the event time of an indicator's updates, the hysteresis state of lines the rules in force no longer list is kept before it is deleted: those of another rules version running beside this one (a rolling restart with a rules change, instances reloaded by SIGHUP at different times), whose entries that version rewrites at its updates, and which, deleted, would re-arm and page again for the same crossing once their cooldown is over; a removed rule's lines go once the indicator's updates are this far past their last write. Cover the longest time two rules versions run side by side; 0: deleted at once",
  ),
  ALERTER_ALIGN_AHEAD_MS: ms(60_000).describe(
    'headlines and indicator updates are decided in event-time order across the partitions handled at once, and a backlog is caught up with no partition more than this ahead of the others, so a cooldown keeps the first alert in event time (0: strict order)',
  ),
  ALERTER_MAX_EVENT_AGE_MS: ms(0).describe(
    'a headline published, or an indicator update about a time (asOf), longer ago than this when the alerter reads it raises no alert (counted as suppressed, reason stale; an indicator line it crossed is left disarmed, as if it had fired, so the rest of that episode does not page either): an old article re-sent by a feed, a replay into a live cluster, old updates read again from the compacted indicators topic; 0: off (the embedded default and replays of old news alert as before)',
  ),
  ALERTER_EVIDENCE_SCOPES: count(2_000, 1).describe('scopes whose recent headlines are kept for evidence'),
  ALERTER_EVIDENCE_PER_SCOPE: count(20, 1).describe(
    'recent headlines kept per scope and dimension for evidence (those about the dimension; headline text and cues, not the body)',
  ),
  ALERTER_WEBHOOKS_ENABLED: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true')
    .describe(
      'POST alerts to the webhooks of the desks file (their secret variables must then be set); tradepulse start takes it as set, and unset turns webhooks off only in the embedded default and with the bundled sample desks file, whose webhooks are placeholders',
    ),
  ALERTER_WEBHOOK_TIMEOUT_MS: timer(5_000, 1).describe(
    'longest one webhook request may take (at most ALERTER_WEBHOOK_MAX_AGE_MS)',
  ),
  ALERTER_WEBHOOK_MAX_ATTEMPTS: count(0, 0).describe(
    '0: a retriable webhook failure (408, 429, 5xx, a timeout, a connection refused or reset) is retried until the alert is older than ALERTER_WEBHOOK_MAX_AGE_MS, then dead-lettered; N: at most N attempts, then the dlq (the old default, 5, dead-lettered every alert of a receiver down for more than about 5 s; the alerter warns at start when it is set)',
  ),
  ALERTER_WEBHOOK_BACKOFF_BASE_MS: timer(500, 1).describe(
    'first delay between webhook attempts (doubles, jittered; at most ALERTER_WEBHOOK_BACKOFF_MAX_MS)',
  ),
  ALERTER_WEBHOOK_BACKOFF_MAX_MS: timer(30_000, 1).describe(
    'longest delay between webhook attempts (an endpoint down is tried about this often per alert waiting; a delivery after it answers again cuts the waits short)',
  ),
  ALERTER_WEBHOOK_RETRY_AFTER_MAX_MS: timer(60_000).describe(
    'longest wait a 429 or 503 may ask for with Retry-After before the next webhook attempt (never less than our own backoff; an attempt past ALERTER_WEBHOOK_MAX_AGE_MS is not made)',
  ),
  ALERTER_WEBHOOK_CONCURRENCY: count(4, 1).describe('webhook requests in flight at once, per desk'),
  ALERTER_WEBHOOK_QUEUE_MAX: count(500, 1).describe(
    "webhook deliveries held in memory per desk; when full, that desk's webhook consumer pauses (alerts on Kafka never wait)",
  ),
  ALERTER_WEBHOOK_MAX_AGE_MS: ms(3_600_000, 1_000).describe(
    'alerts older than this when their webhook turn comes are not posted (counted; desks read the topic); an alert replayed by tradepulse dlq replay counts its age from the replay (tp-dlq-replayed-at)',
  ),
  ALERTER_WEBHOOK_MAX_NEWS_AGE_MS: ms(WEBHOOK_MAX_NEWS_AGE_MS).describe(
    `alerts about news older than this when their webhook turn comes are not posted (counted as stale; desks read the topic, alerts.v1 keeps every alert): the news' age counts on the alerter's clock from when the market could first know it, the earlier of the alert's publishedAt and ingestedAt (a headline dated ahead of its entry counts from its entry), not from when the alert was written, so the backlog of an outage of the scorer or the alerter, caught up hours later, does not page desks as if it had just broken (ALERTER_WEBHOOK_MAX_AGE_MS counts from the record, which is fresh). An alert replayed by tradepulse dlq replay is posted whatever its news' age; 0: off (a replay of old news with webhooks on posts its alerts); else at least ${WEBHOOK_MAX_NEWS_AGE_MIN_MS} ms and at least ALERTER_WEBHOOK_TIMEOUT_MS`,
  ),
  TOPICS_AUTO_CREATE: topicsAutoCreate('missing topics (and desk topics)'),
}
export const AlerterConfig = z.object(alerterConfigShape).superRefine((c, ctx) => {
  // Only a valid duration is compared (one past MAX_DURATION_MS is refused by its own field already).
  const ttl = c.ALERTER_HYSTERESIS_TTL_MS
  if (ttl <= MAX_DURATION_MS && ttl > HYSTERESIS_TTL_MAX_MS)
    ctx.addIssue({
      code: 'custom',
      path: ['ALERTER_HYSTERESIS_TTL_MS'],
      message: `at most ${HYSTERESIS_TTL_MAX_MS} ms (about ${Math.floor(HYSTERESIS_TTL_MAX_MS / 3_600_000)} h): the aggregator's indicator keys expire ${Math.floor((HYSTERESIS_TTL_MAX_MS + 3_600_000) / 3_600_000)} h after their last write, and a line kept disarmed past them stays disarmed when its indicator starts again from nothing, so the scope's next burst pages nobody (got ${ttl})`,
      params: { namesValue: true },
    })
  // A base above the cap would quietly make every delay the cap. Zod runs this also when a field failed:
  // only two valid delays are compared.
  const [base, max] = [c.ALERTER_WEBHOOK_BACKOFF_BASE_MS, c.ALERTER_WEBHOOK_BACKOFF_MAX_MS]
  if (base <= MAX_TIMER_MS && max <= MAX_TIMER_MS && base > max)
    ctx.addIssue({
      code: 'custom',
      path: ['ALERTER_WEBHOOK_BACKOFF_BASE_MS'],
      message: `must be at most ALERTER_WEBHOOK_BACKOFF_MAX_MS (got ${base} and ${max})`,
      params: { namesValue: true },
    })
  // One attempt allowed longer than an alert may age would post, at its end, an alert the max age gives
  // up on; the limit is checked only as an attempt starts. Only two valid ones are compared.
  const [timeout, maxAge] = [c.ALERTER_WEBHOOK_TIMEOUT_MS, c.ALERTER_WEBHOOK_MAX_AGE_MS]
  if (timeout <= MAX_TIMER_MS && maxAge >= 1_000 && maxAge <= MAX_DURATION_MS && timeout > maxAge)
    ctx.addIssue({
      code: 'custom',
      path: ['ALERTER_WEBHOOK_TIMEOUT_MS'],
      message: `must be at most ALERTER_WEBHOOK_MAX_AGE_MS (got ${timeout} and ${maxAge}): one attempt would outlive the age past which an alert is not posted`,
      params: { namesValue: true },
    })
  // The news bound, when on: not so short that live alerts go unposted, and, as the max age, no shorter
  // than one attempt (checked only as an attempt starts). Only valid ones are compared.
  const news = c.ALERTER_WEBHOOK_MAX_NEWS_AGE_MS
  if (news > 0 && news < WEBHOOK_MAX_NEWS_AGE_MIN_MS)
    ctx.addIssue({
      code: 'custom',
      path: ['ALERTER_WEBHOOK_MAX_NEWS_AGE_MS'],
      message: `0 (off) or at least ${WEBHOOK_MAX_NEWS_AGE_MIN_MS} ms (got ${news}): shorter, the alerts of a pipeline running as it should (a feed's delay, a batch, a rebalance) would not be posted`,
      params: { namesValue: true },
    })
  else if (timeout <= MAX_TIMER_MS && news <= MAX_DURATION_MS && news > 0 && timeout > news)
    ctx.addIssue({
      code: 'custom',
      path: ['ALERTER_WEBHOOK_TIMEOUT_MS'],
      message: `must be at most ALERTER_WEBHOOK_MAX_NEWS_AGE_MS (got ${timeout} and ${news}): one attempt would outlive the news' age past which an alert is not posted`,
      params: { namesValue: true },
    })
})
export type AlerterConfig = z.infer<typeof AlerterConfig>
export const ALERTER_HTTP_PORT = 9404
