import { z } from 'zod'
import { Alert, DeadLetter, Headline, IndicatorUpdate, RawHeadline, ScoredHeadline } from './schemas.ts'

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

export type TopicSpec<S extends z.ZodType = z.ZodType> = {
  /** Full name: prefix + base + version suffix. */
  name: string
  /** The strict contract of what is written to the topic; consumers parse with its reader (readerOf). */
  schema: S
  partitions: number
  retentionMs: number
  compacted: boolean
  /**
   * Kafka's message.timestamp.type for the topic; absent: the broker's default (CreateTime unless its
   * log.message.timestamp.type says otherwise).
   */
  timestampType?: TopicTimestampType
}

/**
 * Whose clock a record's timestamp is: the producer's at the send (CreateTime, which a producer may also
 * set), or the partition leader's as it appended the record (LogAppendTime, which replaces whatever the
 * producer gave).
 */
export type TopicTimestampType = 'CreateTime' | 'LogAppendTime'

/**
 * The timestamp type of alerts and alerts.desk.<id>: the broker's clock. A desk's webhook lane takes an
 * alert's age (ALERTER_WEBHOOK_MAX_AGE_MS) from its desk record's timestamp, on another host than the
 * alerter that wrote it; with CreateTime that was the writer's clock: a fresh alert written by an alerter
 * 2 h behind was counted expired and never posted (a desk silently missed it), one written by an alerter
 * running less than an hour ahead was posted past its max age, and one more than an hour ahead was refused
 * by Kafka 4's brokers (INVALID_TIMESTAMP, message.timestamp.after.max.ms), which check only CreateTime.
 */
const ALERT_TIMESTAMP_TYPE: TopicTimestampType = 'LogAppendTime'

export const DEFAULT_TOPIC_PREFIX = 'tradepulse.'
export const TOPIC_VERSION_SUFFIX = '.v1'

const BASES = {
  raw: {
    base: 'headlines.raw',
    schema: RawHeadline,
    partitions: 6,
    retentionMs: 7 * DAY_MS,
    compacted: false,
    // The one topic whose producer's time is data: ingest takes a record's timestamp as its headline's
    // entry time (and publishedAt when the feed gave none), and `tradepulse dlq replay` sends a raw record
    // again with its original timestamp (tp-origin-timestamp) so that it keeps that entry time. Set, not
    // left to the broker's default, so that a broker defaulting to LogAppendTime does not restamp them.
    // A producer more than message.timestamp.after.max.ms (1 h by default) ahead of the broker is refused.
    timestampType: 'CreateTime',
  },
  headlines: {
    base: 'headlines',
    schema: Headline,
    partitions: 6,
    retentionMs: 7 * DAY_MS,
    compacted: false,
    // No reader takes its records' times (the scorer reads the headline's own times, entry and publishedAt,
    // from the payload): stamped by the broker, so that an ingest host whose clock runs more than an hour
    // ahead is not refused every headline by Kafka 4 (INVALID_TIMESTAMP, message.timestamp.after.max.ms).
    timestampType: 'LogAppendTime',
  },
  scored: {
    base: 'headlines.scored',
    schema: ScoredHeadline,
    partitions: 6,
    // Indicators are rebuilt from this topic, so it keeps at least the longest baseline window (7 d) and more.
    retentionMs: 30 * DAY_MS,
    compacted: false,
    // The aggregators take a record's timestamp as the time its headline was scored: no headline is
    // applied more than AGGREGATOR_MAX_AHEAD_MS past it, or dead-lettered further ahead, and a rebuild
    // reads the same stored timestamps. Stamped by the broker, not by the scorer: with CreateTime a scorer
    // whose clock ran minutes behind (broken NTP, a resumed VM) had every live headline applied up to that
    // much too early, or past 10.5 min dead-lettered as event_time_ahead.
    timestampType: 'LogAppendTime',
  },
  indicators: {
    base: 'indicators',
    schema: IndicatorUpdate,
    partitions: 6,
    retentionMs: -1,
    compacted: true,
    // Readers take an update's time from its payload (asOf), never from the record: stamped by the broker,
    // so that an aggregator host more than an hour ahead is not refused its updates (INVALID_TIMESTAMP).
    timestampType: 'LogAppendTime',
  },
  alerts: {
    base: 'alerts',
    schema: Alert,
    partitions: 6,
    retentionMs: 30 * DAY_MS,
    compacted: false,
    // Stamped by the broker, as the desk topics (ALERT_TIMESTAMP_TYPE): the gateway reads its partitions in
    // step by their records' times when catching up, which with CreateTime were each alerter host's clock.
    timestampType: ALERT_TIMESTAMP_TYPE,
  },
  dlq: {
    base: 'dlq',
    schema: DeadLetter,
    partitions: 1,
    retentionMs: 30 * DAY_MS,
    compacted: false,
    // A letter's record time is when it was written (`tradepulse dlq --since`, the 30 days' retention); the
    // original record's time is in its tp-origin-timestamp header and its origin. Stamped by the broker: one
    // clock for every worker's letters, and a worker whose clock runs more than an hour ahead can still
    // write its dead letters (with CreateTime Kafka 4 refused them, INVALID_TIMESTAMP).
    timestampType: 'LogAppendTime',
  },
} as const

type Bases = typeof BASES
export type TopicId = keyof Bases
export type TopicCatalogue = { [K in TopicId]: TopicSpec<Bases[K]['schema']> } & {
  deskAlerts(deskId: string): TopicSpec<typeof Alert>
}

/** The longest desk id; platform bounds TRADEPULSE_TOPIC_PREFIX so that alerts.desk.<id>.v1 with it fits Kafka. */
export const DESK_ID_MAX_CHARS = 63

/**
 * What a desk id is, in words: the one rule, for the desks file (alerting's schema), the CLI's --desk and
 * the topic catalogue alike. Each id names a topic, alerts.desk.<id>.v1.
 */
export const DESK_ID_RULE = `1 to ${DESK_ID_MAX_CHARS} characters of a-z, 0-9, "_" and "-", the first a letter or digit (it names the topic alerts.desk.<id>.v1)`

const DESK_ID_PATTERN = new RegExp(`^[a-z0-9][a-z0-9_-]{0,${DESK_ID_MAX_CHARS - 1}}$`)

/** Whether `text` is a desk id (DESK_ID_RULE). */
export const isDeskId = (text: string): boolean => DESK_ID_PATTERN.test(text)

/** Why `id` is refused as a desk id: the id and the rule, in one line. */
export const deskIdRefusal = (id: unknown): string =>
  `invalid desk id ${JSON.stringify(id)}: a desk id is ${DESK_ID_RULE}`

/** A desk id in a schema (the desks file): refused with deskIdRefusal's words. */
export const DeskId = z.string().regex(DESK_ID_PATTERN, { error: (issue) => deskIdRefusal(issue.input) })
export type DeskId = z.infer<typeof DeskId>

export function createTopicCatalogue(prefix: string = DEFAULT_TOPIC_PREFIX): TopicCatalogue {
  const full = (base: string) => `${prefix}${base}${TOPIC_VERSION_SUFFIX}`
  const entries = Object.entries(BASES).map(([id, { base, ...rest }]) => [id, { name: full(base), ...rest }])
  return {
    ...(Object.fromEntries(entries) as { [K in TopicId]: TopicSpec<Bases[K]['schema']> }),
    deskAlerts(deskId: string) {
      if (!isDeskId(deskId)) throw new Error(deskIdRefusal(deskId))
      return {
        name: full(`alerts.desk.${deskId}`),
        schema: Alert,
        partitions: 3,
        retentionMs: 30 * DAY_MS,
        compacted: false,
        timestampType: ALERT_TIMESTAMP_TYPE,
      }
    },
  }
}

export function listTopics(catalogue: TopicCatalogue): TopicSpec[] {
  return (Object.keys(BASES) as TopicId[]).map((id) => catalogue[id])
}
