import { z } from 'zod'
import { IsoTime } from './iso-time.ts'
import { readerOf } from './reader.ts'
import { TEXT_RULES, type TextRule } from './text.ts'

// Limits shared by producers and workers. Bytes are UTF-8 bytes of the Kafka record value.
export const LIMITS = {
  maxRecordBytes: 64 * 1024,
  maxHeadlineChars: 1_000,
  maxBodyChars: 20_000,
  maxIdChars: 200,
  maxSourceChars: 100,
  maxUrlChars: 2_000,
  /**
   * Scope.id, and each entity id of a scored headline (every one becomes a scope id): the longest any
   * producer makes is a watchlist id (1 to 64 characters, packages/scoring's WatchlistEntity); the
   * gazetteer's regions, commodities and sectors are short names, `all` and `other` shorter still.
   */
  maxScopeIdChars: 64,
  /**
   * Each entity list of a scored headline (regions, commodities, sectors, companies): the scorer keeps at
   * most 32 a list (packages/scoring's pushUnique), whatever the text's length; the bound is twice that.
   * Every id becomes a scope the aggregator admits up to its cap of scopes a kind (1,000 by default,
   * AGGREGATOR_MAX_SCOPES_PER_KIND) and folds the rest into `other`: one record of 1,000 companies filled
   * the cap, and for days every new company read as `other`; one of 60,000 crashed the apply.
   */
  maxEntitiesPerKind: 64,
  /**
   * IndicatorUpdate.key, `<dimension>|<kind>:<scope id>` with `%`, `{` and `}` of the id written as three
   * characters each (indicatorKey): the longest a valid scope gives, `supplyChain|commodity:` and 64
   * escaped characters, is 214 (MAX_BUILT_KEY_CHARS below); the bound leaves room for a longer name.
   */
  maxIndicatorKeyChars: 256,
  /** Alert.id: the alerter's is 32 hex characters (a cut SHA-256); room for a whole one. */
  maxAlertIdChars: 64,
  /** Alert.rule and Alert.ruleKind: a rule id is 1 to 64 characters (packages/alerting's RuleId), a kind shorter. */
  maxRuleIdChars: 64,
  /**
   * scorerVersion and rulesVersion: `scoring-<engine>+<12 hex>` (+`+rules`) (+`+watchlist-<12 hex>` for a
   * scorer given a watchlist), at most about 60 characters, and a rules file's version (1 to 64 characters)
   * with `+<12 hex>`, at most 77.
   */
  maxVersionChars: 128,
  /** Half-life and window labels, the keys of IndicatorUpdate.mean, weight and volume (`15m`, `24h`); a rule names one in at most 32. */
  maxLabelChars: 32,
} as const

/** Every time of a payload: an ISO datetime, Z or an offset, in the years 1 to 9999 in UTC (iso-time.ts). */
const isoTime = IsoTime

export const Dimension = z.enum(['tariff', 'supplyChain', 'market', 'uncertainty'])
export type Dimension = z.infer<typeof Dimension>

export const ScopeKind = z.enum(['global', 'region', 'commodity', 'sector', 'entity'])
export type ScopeKind = z.infer<typeof ScopeKind>

/**
 * The longest indicator key a valid scope gives: the longest dimension and kind, `|` and `:`, and a scope
 * id of maxScopeIdChars whose every character is escaped to three (packages/indicators' indicatorKey).
 */
export const MAX_BUILT_KEY_CHARS =
  Math.max(...Dimension.options.map((d) => d.length)) +
  Math.max(...ScopeKind.options.map((k) => k.length)) +
  2 +
  3 * LIMITS.maxScopeIdChars

/**
 * What producers write to headlines.raw. Only `headline` is required. An optional field may be given as
 * null, which means absent: Jackson's default, Go's pointer fields, Python's None and most ORMs write a
 * field they have no value of so, and such a headline was dead-lettered whole. On this input contract
 * only: the parsed value keeps the null (its type says so) and ingest takes it as absent; the headlines
 * and every later topic carry none.
 */
export const RawHeadline = z.strictObject({
  id: z.string().min(1).max(LIMITS.maxIdChars).nullish(),
  /**
   * Of any length (the record's limit bounds it): ingest cuts it to LIMITS.maxSourceChars once normalised,
   * as it cuts the headline and body, and replaces a lone surrogate, rather than lose the headline for its
   * source.
   */
  source: z
    .string()
    .min(1)
    .meta({
      description:
        'Of any length within the record limit: ingest normalises it (NFKC, white space runs one space, ' +
        `trimmed) and cuts it to ${LIMITS.maxSourceChars} characters (flagged sourceTruncated); a lone surrogate ` +
        'in it is replaced by U+FFFD (flagged surrogatesReplaced).',
    })
    .nullish(),
  headline: z.string().min(1),
  /** A lone surrogate (which UTF-8 cannot encode) is replaced, not the headline lost for its body. */
  body: z
    .string()
    .meta({ description: 'A lone surrogate in it is replaced by U+FFFD (flagged surrogatesReplaced).' })
    .nullish(),
  /**
   * Of any length (the record's limit bounds it): ingest passes on only an absolute http or https URL of at
   * most LIMITS.maxUrlChars characters, without control characters or lone surrogates, as given; any other
   * is dropped (the headline published without it, counted), never the headline lost for its link.
   */
  url: z
    .string()
    .meta({
      description:
        `Ingest passes it on as given when it is an absolute http or https URL of at most ${LIMITS.maxUrlChars} ` +
        'characters without control characters or lone surrogates; any other url is dropped and the ' +
        'headline published without it, flagged urlDropped.',
    })
    .nullish(),
  publishedAt: isoTime.nullish(),
})
export type RawHeadline = z.infer<typeof RawHeadline>

/** `text` held to `rules` (TEXT_RULES), each a pattern of its own: a text breaking one is told its message. */
const heldTo = (text: z.ZodString, ...rules: TextRule[]) =>
  rules.reduce((s, rule) => s.regex(rule.pattern, rule.message), text)

const { wellFormed, noControl, noControlButLineFeed, showsSomething, readable } = TEXT_RULES

/**
 * A validated, normalised headline with a stable id (headlines topic). Its text is held to what ingest
 * writes (TEXT_RULES), so a record another producer writes to the topic is refused where ingest would
 * have refused it: no lone surrogate anywhere; no control character in the id, source or headline (a
 * body's lines end with a line feed); an id and a source that show something, a headline with a letter
 * or digit that shows.
 */
export const Headline = z.strictObject({
  /** As the producer gave it (never normalised: that could make two ids one), or ingest's content id. */
  id: heldTo(z.string().min(1).max(LIMITS.maxIdChars), wellFormed, noControl, showsSomething).meta({
    description:
      "As the producer gave it, or ingest's content id: no lone surrogate, no control character (U+0000–U+001F, " +
      'U+007F–U+009F), and a character that shows: not white space, not default-ignorable, not U+2800. ' +
      'x-tradepulse-text-rules states each rule exactly; the patterns, which every engine compiles, miss ' +
      'the lone surrogate rule and take an astral default-ignorable as a character that shows.',
  }),
  source: heldTo(z.string().min(1).max(LIMITS.maxSourceChars), wellFormed, noControl, showsSomething).meta({
    description:
      'Ingest writes it normalised (NFKC, white space runs one space, trimmed). Held to: no lone surrogate, no ' +
      'control character, and a character that shows (as the id).',
  }),
  headline: heldTo(z.string().min(1).max(LIMITS.maxHeadlineChars), wellFormed, noControl, readable).meta({
    description:
      'Ingest writes it normalised (NFKC, white space runs one space, trimmed). Held to: no lone surrogate, no ' +
      'control character, and at least one letter or digit that is not default-ignorable.',
  }),
  body: heldTo(z.string().max(LIMITS.maxBodyChars), wellFormed, noControlButLineFeed)
    .meta({
      description:
        'Ingest writes it normalised as the headline, but each run of white space holding a line break is one ' +
        'line feed. Held to: no lone surrogate, no control character but the line feed.',
    })
    .optional(),
  /** As the producer gave it. */
  url: heldTo(z.string().max(LIMITS.maxUrlChars), wellFormed)
    .meta({ description: 'As the producer gave it: no lone surrogate.' })
    .optional(),
  /** Event time: when the news was published (the raw record's timestamp when the producer gave none). */
  publishedAt: isoTime,
  /** When the headline entered the pipeline: the timestamp of its headlines.raw record. */
  ingestedAt: isoTime,
  /** True when the headline or body was cut to its length limit. */
  truncated: z.boolean(),
  /*
   * What ingest changed of a field rather than dead-letter the headline for it. Optional, so a record
   * written before they existed reads as before (a new optional field is a minor change; a new value of an
   * enum of such flags would not be); ingest writes each only as true, absent meaning false.
   */
  /** True when the producer gave a url ingest did not pass on: a consumer tells it from none given. */
  urlDropped: z
    .boolean()
    .meta({
      description:
        `True when the producer gave a url that ingest dropped (longer than ${LIMITS.maxUrlChars} characters, not ` +
        'an absolute http or https URL, or holding a control character or a lone surrogate): the headline has no ' +
        'url. Absent (false) when the url is as given or none was given, and on records written before it existed.',
    })
    .optional(),
  /** True when the source was cut to LIMITS.maxSourceChars. */
  sourceTruncated: z
    .boolean()
    .meta({
      description:
        `True when the source, once normalised, was longer than ${LIMITS.maxSourceChars} characters and was cut ` +
        'to that. Absent (false) otherwise, and on records written before it existed.',
    })
    .optional(),
  /** True when a lone surrogate of the source or body was replaced by U+FFFD. */
  surrogatesReplaced: z
    .boolean()
    .meta({
      description:
        'True when the source or body as given held a lone UTF-16 surrogate (a JSON escape such as \\ud800, ' +
        'which UTF-8 cannot encode), each replaced by U+FFFD. Absent (false) otherwise, and on records ' +
        'written before it existed.',
    })
    .optional(),
})
export type Headline = z.infer<typeof Headline>

export const SentimentLabel = z.enum(['negative', 'neutral', 'positive'])
export type SentimentLabel = z.infer<typeof SentimentLabel>

export const DimensionScore = z.strictObject({
  score: z.number().min(-1).max(1),
  relevance: z.number().min(0).max(1),
  confidence: z.number().min(0).max(1),
  /** null when the text is not about this dimension. */
  label: SentimentLabel.nullable(),
})
export type DimensionScore = z.infer<typeof DimensionScore>

export const EventType = z.enum([
  'tariff_imposed',
  'tariff_raised',
  'tariff_cut',
  'tariff_suspended',
  'retaliation',
  'import_restriction',
  'export_control',
  'sanction',
  'entity_listing',
  'talks_progress',
  'talks_breakdown',
  'deal',
  'truce',
  'supply_halt',
  'supply_restored',
  'shortage',
  'capacity_investment',
  'capacity_cut',
  'logistics_disruption',
  'licence_granted',
])
export type EventType = z.infer<typeof EventType>

/**
 * Where a cue is in its field: [start, end) counted in UTF-16 code units of the text as received (a
 * JavaScript string's indices; a character outside the Basic Multilingual Plane, an emoji, counts two),
 * not in code points or bytes: a Python or Go consumer converts before slicing.
 */
export const Span = z
  .strictObject({
    field: z.enum(['headline', 'body']),
    start: z.int().min(0),
    end: z.int().min(0),
  })
  .describe(
    'Where a cue is in its field: [start, end) in UTF-16 code units of the text as received (JavaScript string indices; an emoji counts two), not code points or bytes',
  )
export type Span = z.infer<typeof Span>

export const TradeEvent = z.strictObject({
  type: EventType,
  dimension: z.enum(['tariff', 'supplyChain']),
  /** -1 escalation / disruption, +1 de-escalation / easing. */
  direction: z.union([z.literal(-1), z.literal(0), z.literal(1)]),
  /** Threatened, proposed or considered rather than done. */
  threat: z.boolean(),
  negated: z.boolean(),
  span: Span,
})
export type TradeEvent = z.infer<typeof TradeEvent>

export const Cue = z.strictObject({
  dimension: Dimension,
  cue: z.string(),
  weight: z.number(),
  span: Span,
})
export type Cue = z.infer<typeof Cue>

/**
 * An entity id a scored headline names: each becomes a Scope.id in the indicators and alerts, and the
 * Kafka key of its updates (UTF-8). Held to the rules of a headline's id: an empty or blank id, or one
 * with a control character, named a scope no reader can tell or ask for; a lone surrogate became U+FFFD
 * in the key while the value kept it.
 */
const EntityId = heldTo(
  z.string().min(1).max(LIMITS.maxScopeIdChars),
  wellFormed,
  noControl,
  showsSomething,
).meta({
  description:
    'A scope id (a gazetteer name or a watchlist id): no lone surrogate, no control character (U+0000–U+001F, ' +
    'U+007F–U+009F), and a character that shows (as a headline id).',
})

/** An entity list: at most LIMITS.maxEntitiesPerKind ids (the scorer keeps 32). */
const EntityList = z.array(EntityId).max(LIMITS.maxEntitiesPerKind)

export const Entities = z.strictObject({
  regions: EntityList,
  commodities: EntityList,
  sectors: EntityList,
  companies: EntityList,
})
export type Entities = z.infer<typeof Entities>

export const Scores = z.strictObject({
  tariff: DimensionScore,
  supplyChain: DimensionScore,
  market: z.strictObject({ score: z.number().min(-1).max(1), label: SentimentLabel }),
  uncertainty: z.number().min(0).max(1),
})
export type Scores = z.infer<typeof Scores>

/** The scorer's pure output for one text. */
export const ScoreResult = z.strictObject({
  scores: Scores,
  events: z.array(TradeEvent),
  entities: Entities,
  explanation: z.array(Cue),
  scorerVersion: z.string().max(LIMITS.maxVersionChars),
  /** Text beyond the scorer's length limit was cut before scoring. */
  truncated: z.boolean(),
})
export type ScoreResult = z.infer<typeof ScoreResult>

export const ScoredHeadline = z.strictObject({
  ...Headline.shape,
  ...ScoreResult.shape,
  scoredAt: isoTime,
})
export type ScoredHeadline = z.infer<typeof ScoredHeadline>

/**
 * The part of a headlines.scored record that indicators are computed from: the aggregator's reader,
 * which checks the fields it uses as strictly as ScoredHeadline does and skips the rest (text, events,
 * explanation: most of a record, and most of the cost of checking it). A record bad only elsewhere still
 * counts in the indicators; the alerter, which reads all of it, dead-letters it. Fields it does not
 * know, inside `scores` and `entities` too, are dropped (readerOf).
 */
export const ScoredIndicatorInput = readerOf(
  z.object({
    id: Headline.shape.id,
    publishedAt: Headline.shape.publishedAt,
    /** Only carried on to IndicatorUpdate.ingestedAt; a record without it still counts. */
    ingestedAt: Headline.shape.ingestedAt.optional(),
    scores: Scores,
    entities: Entities,
  }),
)
export type ScoredIndicatorInput = z.infer<typeof ScoredIndicatorInput>

export const Scope = z.strictObject({ kind: ScopeKind, id: z.string().min(1).max(LIMITS.maxScopeIdChars) })
export type Scope = z.infer<typeof Scope>

/** A half-life or window label, a key of IndicatorUpdate's maps ("15m"). */
const Label = z.string().max(LIMITS.maxLabelChars)

/** Published on the compacted indicators topic, keyed by `key`. */
export const IndicatorUpdate = z.strictObject({
  /** `<dimension>|<kind>:<scope id>` (packages/indicators' indicatorKey), also the record's key. */
  key: z.string().max(LIMITS.maxIndicatorKeyChars),
  dimension: Dimension,
  scope: Scope,
  /** Event time the values are evaluated at. */
  asOf: isoTime,
  /** Decayed mean sentiment per half-life label (for example "15m", "1h", "24h"). */
  mean: z.record(Label, z.number()),
  /**
   * Per half-life label of `mean`: the decayed weight Σw·2^(−age/h) of the headlines behind it at asOf
   * (the prior not included). With it a reader can tell what the mean would read later without new
   * headlines, mean·(w + prior)·d / (w·d + prior) with d = 2^(−Δ/h): the alerter re-arms a level that
   * fired once the scope's silence has taken the mean back. Optional: absent on updates published
   * before it existed (the alerter then bounds it from `volume` and `count`).
   */
  weight: z.record(Label, z.number().min(0)).optional(),
  /**
   * Headline volume per window label, at bucket resolution: the window's whole buckets before the one
   * asOf falls in, and that one so far (24h: 23 to 24 hours of hourly buckets; 1h: 59 to 60 minutes).
   */
  volume: z.record(Label, z.number()),
  buzz: z.number(),
  /** Short minus long: the short half-life's evidence shrunk toward the long mean (not toward 0), minus the long mean. */
  momentum: z.number(),
  diffusion: z.number(),
  count: z.int().min(0),
  updatedAt: isoTime,
  /**
   * When the newest headline behind this update (of those applied since the key's previous update)
   * entered the pipeline: its `ingestedAt`. An indicator alert's latency runs from here. Absent when
   * no applied headline carried one (and on updates published before it existed).
   */
  ingestedAt: isoTime.optional(),
})
export type IndicatorUpdate = z.infer<typeof IndicatorUpdate>

export const Severity = z.enum(['info', 'warning', 'critical'])
export type Severity = z.infer<typeof Severity>

export const Alert = z.strictObject({
  /**
   * Deterministic: the same rule, scope and time bucket always give the same id (the alerter's: 32 hex
   * characters). What the gateway can send as a server-sent event's id, which a reader resumes after: not
   * empty (`id:` alone resets the reader's last id, and its reconnect resumed nowhere), no NUL (the reader
   * ignores the field), no line break (it ends the field). The messages are the ones the gateway logged.
   */
  id: z
    .string()
    .min(1, 'empty')
    .max(LIMITS.maxAlertIdChars)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the NUL is what it refuses
    .regex(/^[^\x00]*$/, 'holds a NUL (U+0000)')
    .regex(/^[^\r\n]*$/, 'holds a line break'),
  rule: z.string().max(LIMITS.maxRuleIdChars),
  ruleKind: z.string().max(LIMITS.maxRuleIdChars),
  severity: Severity,
  dimension: Dimension,
  scope: Scope,
  direction: z.enum(['up', 'down']),
  value: z.number(),
  threshold: z.number(),
  message: z.string(),
  evidence: z.array(
    z.strictObject({
      headlineId: z.string().max(LIMITS.maxIdChars),
      headline: z.string(),
      score: z.number(),
      cues: z.array(z.string()),
    }),
  ),
  publishedAt: isoTime,
  ingestedAt: isoTime,
  detectedAt: isoTime,
  latencyMs: z.number().min(0),
  scorerVersion: z.string().max(LIMITS.maxVersionChars),
  rulesVersion: z.string().max(LIMITS.maxVersionChars),
})
export type Alert = z.infer<typeof Alert>

/**
 * A reader only, unlike the stream's payloads (a strict schema and its reader): dead letters gain fields
 * as operators need them (the key and headers came later), and a reader must not refuse a letter over a
 * field it does not know, at any depth.
 */
export const DeadLetter = z.object({
  /** Stable reason code, for example `invalid_json` (see the error catalogue in platform). */
  reason: z.string(),
  message: z.string(),
  worker: z.string(),
  origin: z.object({
    topic: z.string(),
    partition: z.int().min(0),
    offset: z.string(),
    /**
     * The original record's Kafka timestamp, ms since the epoch as decimal text (as the
     * `tp-origin-timestamp` header): a replay needs it once the origin topic's retention has dropped the
     * record. Absent where the record had none, and in letters written before it existed.
     */
    timestamp: z
      .string()
      // [0-9], not \d: Python's re and .NET read \d as any Unicode digit (the JSON Schema gives this pattern).
      .regex(/^[0-9]{1,16}$/)
      .optional(),
  }),
  failedAt: isoTime,
  /** The original record value: utf8 when it decodes cleanly, else base64. */
  payload: z.string(),
  payloadEncoding: z.enum(['utf8', 'base64']),
  /** True when the copy above was cut; the original stays readable at `origin` within retention. */
  payloadTruncated: z.boolean(),
  /**
   * The original key byte for byte (the dlq record's own key is its text, cut): utf8 when it decodes
   * cleanly, else base64; absent when the record had none (and in letters written before it existed).
   */
  key: z.string().optional(),
  keyEncoding: z.enum(['utf8', 'base64']).optional(),
  /** True when the key above was cut (at 16 KB); the original stays readable at `origin`. */
  keyTruncated: z.boolean().optional(),
  /**
   * The original headers that are one valid UTF-8 value, as text (traceparent, ce_*…): at most 32, each
   * value cut at 1,024 characters. The record's own Kafka headers carry all of them byte for byte
   * (ce_* and content-type under the prefix `tp-original-`: the letter's own describe the letter).
   */
  headers: z.record(z.string(), z.string()).optional(),
})
export type DeadLetter = z.infer<typeof DeadLetter>

/*
 * Readers: what a service parses a record it consumes with (see readerOf). A field it does not know, at
 * any depth, is dropped, never passed on: what a service writes is what its own version knows, and is
 * checked against the strict schema above. A change that is not one new optional field (a field renamed,
 * removed, made required or of another type, a new enum value) is no minor change: readers go first, or
 * the payload moves to a new topic version (TOPIC_VERSION_SUFFIX).
 */
export const RawHeadlineReader = readerOf(RawHeadline)
export const HeadlineReader = readerOf(Headline)
export const ScoredHeadlineReader = readerOf(ScoredHeadline)
export const IndicatorUpdateReader = readerOf(IndicatorUpdate)
export const AlertReader = readerOf(Alert)
