import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import { scopeIdNamed } from '@tradepulse/alerting'
import {
  cutForLog,
  Dimension,
  type IndicatorUpdate,
  LIMITS,
  type Scope,
  ScopeKind,
} from '@tradepulse/contracts'
import {
  type IndicatorStore,
  indicatorKey,
  type WithheldIndicator,
  type WithheldReason,
} from '@tradepulse/indicators'
import {
  activeIndicatorStore,
  answerFault,
  eventTimeOf,
  type HttpFault,
  type HttpRoute,
  INTERNAL_FAULT,
  type IndicatorAsOf,
  type Logger,
  normalizeError,
} from '@tradepulse/platform'
import { z } from 'zod'
import { type AlertFeed, parseAlertFilter } from './alert-feed.ts'
import { type AlertStreams, type CatchUpGate, STREAM_HEADERS, type StreamRefusal } from './alert-stream.ts'
import { parseAsOf, readableFrom, tooEarly } from './as-of.ts'
import { parseQuery } from './query.ts'
import { createSharedReads } from './shared-reads.ts'

const DASHBOARD = readFileSync(join(import.meta.dirname, 'dashboard.html'))
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
  // The page's own script and the API only.
  'content-security-policy': "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
}

/** Retry-After of a stream refused at GATEWAY_MAX_STREAMS or GATEWAY_MAX_STREAMS_PER_CLIENT, in seconds. */
export const STREAM_RETRY_AFTER_S = 5
/** Retry-After of GET /api/alerts while the gateway catches up (seconds at alert volumes), in seconds. */
export const CATCHING_UP_RETRY_AFTER_S = 1

/** Retry-After of the indicators' 503 while Redis cannot be reached, in seconds. */
export const UNAVAILABLE_RETRY_AFTER_S = 1
/**
 * Retry-After of GET /api/alerts past GATEWAY_ALERT_LISTS_MAX_UNSENT_BYTES, and of the indicators past
 * GATEWAY_MAX_INDICATOR_READS, in seconds.
 */
export const BUSY_RETRY_AFTER_S = 1
/**
 * How long a /api/indicators/top answer is shared with readers asking the same (dimension, kind, by, n,
 * asOf), from its read's start, in ms. Each read costs Redis, the one the alerter's claims and ingest's
 * dedup run on, a ZRANGE and the whole hash of every scope of the kind (up to 1,000); a dashboard polls
 * two every 5 s per tab, so tabs or a polling script would multiply them. Well under the dashboard's 5 s,
 * and an answer says the time it is of (`asOf`).
 */
export const INDICATORS_SHARED_MS = 1_000
/**
 * Longest a GET /api/alerts answer may take to be sent, in ms: 1,000 alerts of 2 KB at 35 KB/s. Past it
 * the connection is cut (its reader asks again), and what it held is let go.
 */
export const ANSWER_SEND_TIMEOUT_MS = 60_000

/** GET /api/alerts: how many alerts at most, and at most what a request may ask for. */
export const ALERTS_LIMIT = { default: 100, max: 1_000 }

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
}
const json = (res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}) => {
  res.writeHead(status, { ...JSON_HEADERS, ...extra })
  res.end(JSON.stringify(body))
}
const badRequest = (res: ServerResponse, message: string) => json(res, 400, { error: 'bad_request', message })

/**
 * The 503 of the indicators while the store cannot be read (Redis unreachable: an outage, retriable as
 * normalizeError judges it): answered, as any other fault's 500 (INTERNAL_FAULT), by platform's
 * answerFault, with a stable code, a fixed message and a request id, never the error's text, which goes
 * to the log line with that id.
 */
const INDICATORS_UNAVAILABLE: HttpFault = {
  status: 503,
  error: 'unavailable',
  message: 'the indicators cannot be read now; try again later',
}

/** A 200 with `head` and no body: a HEAD's answer where the GET's would be a 200. */
const headers = (res: ServerResponse, head: Record<string, string>) => {
  res.writeHead(200, head)
  res.end()
}
/**
 * A stream refused: 503 when the gateway holds as many as it takes (any reader may get a place soon), 429
 * when the reader's own client does (its own streams must close first: a tab in a reconnect loop, a script
 * opening streams in a loop). A fixed message each, and no log line: a reader in a loop would flood it.
 */
const STREAM_REFUSALS: Record<StreamRefusal, { status: number; error: string; message: string }> = {
  total: {
    status: 503,
    error: 'too_many_streams',
    message: 'the gateway has as many alert streams open as allowed (GATEWAY_MAX_STREAMS)',
  },
  client: {
    status: 429,
    error: 'too_many_client_streams',
    message: 'this client has as many alert streams open as allowed (GATEWAY_MAX_STREAMS_PER_CLIENT)',
  },
}
const streamRefused = (res: ServerResponse, why: StreamRefusal) => {
  const { status, ...body } = STREAM_REFUSALS[why]
  json(res, status, body, { 'retry-after': String(STREAM_RETRY_AFTER_S) })
}

/**
 * A numeric query parameter: plain decimal digits (0-9) from `min` to `max`, `fallback` when not given.
 * Nothing else is read as a number: `Number()` (z.coerce) takes `1e2`, `0x10`, ` 3`, `1.0`, `+5` and
 * reads an empty value as 0, so a typo or a value meant for another reader would be served as some other
 * number instead of the 400 that names it.
 */
const whole = (min: number, max: number, fallback: number) =>
  z
    .string()
    .transform((s, ctx) => {
      const range = `a whole number from ${min} to ${max}`
      if (!/^[0-9]+$/.test(s)) {
        ctx.addIssue({
          code: 'custom',
          message: s === '' ? `empty; give ${range}` : `${range} in decimal digits (0-9) only`,
        })
        return z.NEVER
      }
      const n = Number(s)
      if (n < min) ctx.addIssue({ code: 'custom', message: `at least ${min}` })
      else if (n > max) ctx.addIssue({ code: 'custom', message: `at most ${max}` })
      return n
    })
    .default(fallback)

/**
 * `latest` (the aggregator's event-time watermark, or the clock when there is none or it is damaged), `now`,
 * or an ISO time with its zone (as-of.ts: the CLI's --as-of reads the same).
 */
const AsOf = z
  .string()
  .transform((s, ctx): IndicatorAsOf => {
    const p = parseAsOf(s)
    if (p.ok) return p.value
    ctx.addIssue({ code: 'custom', message: p.error })
    return z.NEVER
  })
  .default('latest')

/**
 * One scope, `kind:id`. A wildcard (`region:*`, as the alert filter and the rules take it, or `region:C*`)
 * names no one indicator: it was looked up as an id, and answered `null` as if the scope had none.
 */
const ScopeParam = z
  .string()
  .regex(/^[a-z]+:.+$/, 'kind:id, for example region:CN')
  .transform((s) => ({ kind: s.slice(0, s.indexOf(':')), id: s.slice(s.indexOf(':') + 1) }))
  .pipe(
    z.strictObject({
      kind: ScopeKind,
      // Trimmed: the scorer writes no id with spaces around it (the watchlist trims its ids), and
      // `region: CN` was looked up as " CN" and answered null.
      id: z
        .string()
        .trim()
        .min(1, 'no id after the colon; give kind:id, for example region:CN')
        // No scope id holds a comma (the watchlist refuses one, as the alert filter could not name it):
        // `region:CN,region:US`, a list as /api/alerts takes it, was looked up as one id and answered null.
        .refine((id) => !id.includes(','), {
          message: 'one scope, kind:id (region:CN), not a list: ask once for each scope',
          abort: true,
        })
        .refine((id) => !id.includes('*'), {
          message:
            'one indicator is read by its kind:id (region:CN), and a "*" names no one scope: the scopes of a kind are ranked by /api/indicators/top?kind=<kind>',
          abort: true,
        })
        .max(
          LIMITS.maxScopeIdChars,
          `at most ${LIMITS.maxScopeIdChars} characters, as a scope id is: a longer one names no indicator`,
        ),
    }),
  )

const TopQuery = z.strictObject({
  dimension: Dimension.default('tariff'),
  kind: ScopeKind.exclude(['global']).default('region'),
  by: z.enum(['momentum', 'buzz']).default('momentum'),
  n: whole(1, 100, 10),
  asOf: AsOf,
})

const OneQuery = z.strictObject({ dimension: Dimension, scope: ScopeParam, asOf: AsOf })

/**
 * The stream's own parameters (the filter's are parseAlertFilter's). `lastEventId` is the last event id
 * a reader saw (`<alert id>@<boot id>`, or a bare alert id: alert-stream.ts's startOf), as the
 * Last-Event-ID header is: an empty one names none, and resuming after nothing would be a guess (a stream
 * started afresh, or with the recent ones?), so it is a 400 as any bad value is.
 */
const StreamQuery = z.object({
  recent: whole(0, ALERTS_LIMIT.max, 0),
  lastEventId: z
    .string()
    .min(1, 'empty; give the id of the last alert seen, or leave lastEventId out to start afresh')
    .optional(),
  /**
   * `true`: the stream's marks (its position, when its filter passed alerts over) come as `event: mark`
   * events, which a page's script sees, rather than as an `id:` alone, which only its EventSource does.
   */
  marks: z.enum(['true', 'false']).default('false'),
})

/** The 400 of a stream asked both to resume (`lastEventId`) and to start with the recent alerts. */
const RESUME_AND_RECENT =
  'recent: not taken with lastEventId: a stream resumed after an alert is sent the held alerts after it, not the recent ones; give one or the other'

const timeOf = (u: { asOf: string }) => Date.parse(u.asOf)

/** Most keys of indicators left out of an answer named in its log line. */
const WITHHELD_SAMPLE = 5
/** A log line of indicators left out at most this often: a reader polling one would write one per request. */
export const WITHHELD_LOG_EVERY_MS = 60_000

/**
 * Why an indicator is left out of an answer: the store's reason (WithheldReason in packages/indicators,
 * where every store reads). `damaged_ref`: the store left it unread, its stored newest event time being
 * no time an apply could have written (not a number, or further past the clock than
 * AGGREGATOR_MAX_AHEAD_MS + AGGREGATOR_GRACE_MS), so its asOf would be that time and its values decayed
 * against it; the aggregator's next apply to it repairs it. `invalid_state`: what the store read of it
 * breaks the strict IndicatorUpdate contract (a field of its Redis hash that is not a number, such as
 * `abc`, `NaN` or `Infinity`, reads as NaN, Infinity or `invalid time (…)`, and a count of 2.5 as 2.5), so
 * it would be answered with nulls (JSON's NaN) or numbers no apply wrote.
 */
export type { WithheldReason }

type InvalidIndicator = WithheldIndicator & { reason: 'invalid_state' }
/** The indicators a read left out, by reason. */
type Withheld = { damaged: WithheldIndicator[]; invalid: InvalidIndicator[] }

/**
 * What an indicator read answers, whoever shares it: the 200's JSON, or the 400 of an asOf too early; the
 * indicators it left out, reported at each answer (counted, logged), and the namespace read.
 */
type IndicatorAnswer = ({ text: string } | { tooEarly: string }) & { withheld?: Withheld; namespace: string }

function byReason(withheld: readonly WithheldIndicator[]): Withheld {
  const split: Withheld = { damaged: [], invalid: [] }
  for (const w of withheld) {
    if (w.reason === 'invalid_state') split.invalid.push(w)
    else split.damaged.push(w)
  }
  return split
}

/**
 * What an answer says of each indicator left out of it (WithheldReason): its key and why, and nothing of
 * its state; damaged refs first.
 */
const withheldOf = ({ damaged, invalid }: Withheld) =>
  damaged.length === 0 && invalid.length === 0
    ? {}
    : {
        withheld: [...damaged, ...invalid].map(({ dimension, scope, reason }) => ({
          key: indicatorKey(dimension, scope),
          dimension,
          scope,
          reason,
        })),
      }

/**
 * The ids a scope's indicators may be stored under, tried in this order: the id its scope names as the
 * alert rules, the desks and the alert filter name it (scopeIdNamed: `region:cn` reads CN); for an
 * entity, whose id the alert filter takes in any case (scopeIdsMatch), the id as asked, then in upper and
 * lower case (a ticker TSLA asked as `entity:tsla`). An entity stored in mixed case (`iShares`) is found
 * when asked as written.
 */
const storedIdsOf = (kind: Scope['kind'], id: string): string[] =>
  kind === 'entity' ? [...new Set([id, id.toUpperCase(), id.toLowerCase()])] : [scopeIdNamed(kind, id)]

/**
 * One indicator, under the first of storedIdsOf its scope's id that the store holds (answered, or
 * withheld: it is there, and its answer is null with the reason); null with nothing withheld when none is.
 */
async function readOne(
  store: IndicatorStore,
  dimension: Dimension,
  scope: Scope,
  asOfMs: number,
): Promise<{ indicator: IndicatorUpdate | null; left: WithheldIndicator[] }> {
  const left: WithheldIndicator[] = []
  for (const id of storedIdsOf(scope.kind, scope.id)) {
    const indicator = await store.get(dimension, { kind: scope.kind, id }, asOfMs, left)
    if (indicator || left.length > 0) return { indicator: indicator ?? null, left }
  }
  return { indicator: null, left }
}

export type ApiDeps = {
  feed: AlertFeed
  streams: AlertStreams
  /** The indicator store as configured; reads go to the namespace a rebuild activated, if any. */
  indicators: IndicatorStore
  log: Logger
  now?: () => number
  /** Whether the feed holds what the alerts topic held at the start; always, when absent. */
  catchUp?: Pick<CatchUpGate, 'caughtUp'>
  /**
   * GATEWAY_ALERT_LISTS_MAX_UNSENT_BYTES: the bytes of GET /api/alerts answers not yet handed to the
   * network that the gateway holds at once (unbounded when absent). Each answer is held whole until its
   * reader takes it: readers that take nothing, each asking for up to 1,000 alerts, would otherwise grow
   * the heap without bound. While this much is held, another list is a 503 `busy` (so at most this plus
   * one answer is held).
   */
  maxUnsentBytes?: number
  /** How long an alert list may take to be sent before it is cut (ANSWER_SEND_TIMEOUT_MS when absent). */
  sendTimeoutMs?: number
  /** Told of each list refused past maxUnsentBytes, and each cut at sendTimeoutMs (metrics count them). */
  answers?: { refused(): void; cut(): void }
  /** Told how many indicators a read left out, and why (a metric counts them by reason). */
  indicatorsWithheld?: (n: number, reason: WithheldReason) => void
  /**
   * GATEWAY_MAX_INDICATOR_READS: reads of the indicator store in flight at once (unbounded when absent),
   * a read shared by several answers counted once; past it an indicator request is a 503 `busy`.
   */
  maxIndicatorReads?: number
  /** How long a /top answer is shared (INDICATORS_SHARED_MS when absent; 0: never). */
  indicatorsSharedMs?: number
  /** Told of each indicator request refused past maxIndicatorReads (a metric counts them). */
  indicatorReadsRefused?: () => void
}

/**
 * The gateway's HTTP API, beside /healthz, /readyz and /metrics on the worker's port:
 * - `GET /`: the dashboard page;
 * - `GET /api/alerts`: the recent alerts, newest first (`limit`, and the filter of parseAlertFilter);
 * - `GET /api/alerts/stream`: alerts as server-sent events as they arrive (the filter, `recent` to be
 *   sent first, or `lastEventId` to resume; the `Last-Event-ID` header, a browser's reconnect, resumes
 *   whatever the query says);
 * - `GET /api/indicators/top`: the scopes of a kind with the largest |momentum| or buzz;
 * - `GET /api/indicators`: one indicator (`dimension`, `scope=kind:id`, the id as storedIdsOf reads it).
 * An indicator the store withholds (its stored newest event time damaged, or its update breaking the
 * IndicatorUpdate contract: its Redis fields not numbers) is in neither (null for the one; the store
 * ranks /top's n among the others), but named in the answer's `withheld` (withheldOf), counted and logged
 * (reportWithheld, reportInvalid): its asOf and values mean nothing a reader could act on.
 * A bad parameter is a 400 naming it; Redis unreachable is a 503, any other fault a 500, each with a
 * fixed message and a request id only (answerFault), its error in the log. A /top answer is shared with
 * the readers asking the same within INDICATORS_SHARED_MS of its read's start (one read for them all), and
 * at most maxIndicatorReads reads of the store run at once: one more is a 503 `busy`.
 * None of them is asked for a request whose Host header names a host the gateway does not answer for
 * (GATEWAY_ALLOWED_HOSTS): the worker's health server (createHealthServer) answers it 421 first, on
 * these routes as on its own, so a page of a DNS-rebinding domain cannot read them as its own origin.
 */
export function createApiRoutes(deps: ApiDeps): HttpRoute[] {
  const now = deps.now ?? Date.now
  // The log throttles run on the monotonic clock: on `now`, a clock set back by S silenced the
  // withheld-indicator lines for S.
  const elapsedNow = () => performance.now()
  const maxUnsent = deps.maxUnsentBytes ?? Number.POSITIVE_INFINITY
  const sendTimeoutMs = deps.sendTimeoutMs ?? ANSWER_SEND_TIMEOUT_MS
  /** The bytes of the alert lists answered and not yet handed to the network (their readers behind). */
  let unsent = 0

  /**
   * Counts `body` as unsent until its response is done (handed to the network, or its connection gone),
   * and cuts the response if that takes more than sendTimeoutMs: a reader that takes nothing would
   * otherwise hold it, and its place in the budget, for as long as its connection lives.
   */
  function hold(res: ServerResponse, body: string) {
    const bytes = Buffer.byteLength(body)
    unsent += bytes
    const timer = setTimeout(() => {
      deps.answers?.cut()
      res.destroy()
    }, sendTimeoutMs)
    timer.unref()
    let held = true
    const release = () => {
      if (!held) return
      held = false
      unsent -= bytes
      clearTimeout(timer)
    }
    res.once('finish', release)
    res.once('close', release)
  }

  let withheldLoggedMs = Number.NEGATIVE_INFINITY
  /**
   * Indicators a read left out, by reason. For a damaged ref (reportDamaged): counted at every read, and
   * logged at error with their keys and the ref as stored, at most once every WITHHELD_LOG_EVERY_MS (the
   * state stays so until the aggregator's next apply to it, and every read of it meets it again).
   */
  function reportWithheld({ damaged, invalid }: Withheld, namespace: string) {
    reportDamaged(damaged, namespace)
    reportInvalid(invalid, namespace)
  }

  function reportDamaged(withheld: readonly WithheldIndicator[], namespace: string) {
    if (withheld.length === 0) return
    deps.indicatorsWithheld?.(withheld.length, 'damaged_ref')
    const t = elapsedNow()
    if (t - withheldLoggedMs < WITHHELD_LOG_EVERY_MS) return
    withheldLoggedMs = t
    deps.log.error(
      {
        indicators: withheld.length,
        sample: withheld.slice(0, WITHHELD_SAMPLE).map(({ dimension, scope, stored }) => ({
          key: cutForLog(indicatorKey(dimension, scope), LIMITS.maxIndicatorKeyChars),
          ref: stored,
        })),
        namespace,
      },
      "indicators left out of an answer: their stored newest event time (Redis field ref) is no time an apply could have written (Redis edited or damaged, or this gateway's clock behind the aggregators'); the aggregator's next apply to each repairs it",
    )
  }

  let invalidLoggedMs = Number.NEGATIVE_INFINITY
  /**
   * Indicators left out because their update breaks the contract: counted at every read, and logged at
   * warn with their keys and the fields (the store's problem), at most once every WITHHELD_LOG_EVERY_MS,
   * on a clock of its own so that neither kind hides the other. The aggregator leaves the same updates
   * unpublished (tradepulse_indicator_updates_invalid_total) when it reads them.
   */
  function reportInvalid(invalid: readonly InvalidIndicator[], namespace: string) {
    if (invalid.length === 0) return
    deps.indicatorsWithheld?.(invalid.length, 'invalid_state')
    const t = elapsedNow()
    if (t - invalidLoggedMs < WITHHELD_LOG_EVERY_MS) return
    invalidLoggedMs = t
    deps.log.warn(
      {
        indicators: invalid.length,
        sample: invalid.slice(0, WITHHELD_SAMPLE).map(({ dimension, scope, problem }) => ({
          key: cutForLog(indicatorKey(dimension, scope), LIMITS.maxIndicatorKeyChars),
          problem,
        })),
        namespace,
      },
      'indicators left out of an answer: their stored state breaks the IndicatorUpdate contract (a field of their Redis hash that is not a number: Redis edited or damaged); left out until the field is written again or the key expires (tradepulse indicators rebuild rewrites every key from Kafka)',
    )
  }

  /** The indicator store's reads: /top's shared between readers asking the same, all of them capped. */
  const reads = createSharedReads({
    windowMs: deps.indicatorsSharedMs ?? INDICATORS_SHARED_MS,
    maxInFlight: deps.maxIndicatorReads ?? Number.POSITIVE_INFINITY,
  })

  /** The store of the active namespace and the event time `asOf` stands for. */
  async function readAt(asOf: IndicatorAsOf): Promise<{ store: IndicatorStore; asOfMs: number }> {
    const store = await activeIndicatorStore(deps.indicators)
    const at = await eventTimeOf(asOf, store, now)
    return { store, asOfMs: at.ms }
  }

  /**
   * Answers with `read`'s body (its withheld indicators reported for this answer), or the 400 of an asOf
   * earlier than the store can answer at, or a 503 while Redis cannot be reached. Any other fault (a bug,
   * a reply Redis gives at every try such as WRONGTYPE) is thrown on, to the route's 500 and its error
   * line: answered 503 "try again later" and logged as a warning, it was retried by every reader and never
   * paged anyone. `key`: the read is shared with the requests of the same key (reads); without one, it is
   * this request's own. Past GATEWAY_MAX_INDICATOR_READS in flight, a 503 `busy` and no read.
   */
  async function indicators(
    req: IncomingMessage,
    res: ServerResponse,
    key: string | undefined,
    read: () => Promise<IndicatorAnswer>,
  ) {
    const shared = reads.read(key, read)
    if (!shared) {
      deps.indicatorReadsRefused?.()
      return json(
        res,
        503,
        {
          error: 'busy',
          message:
            'the gateway has as many indicator reads in flight as allowed (GATEWAY_MAX_INDICATOR_READS)',
        },
        { 'retry-after': String(BUSY_RETRY_AFTER_S) },
      )
    }
    try {
      const r = await shared
      if (r.withheld) reportWithheld(r.withheld, r.namespace)
      if ('text' in r) {
        res.writeHead(200, JSON_HEADERS)
        res.end(r.text)
      } else badRequest(res, r.tooEarly)
    } catch (err) {
      if (!normalizeError(err).retriable) throw err
      // answerFault writes the head with what was set: a 503 says when to come back, as the others do.
      if (!res.headersSent) res.setHeader('retry-after', String(UNAVAILABLE_RETRY_AFTER_S))
      answerFault(req, res, INDICATORS_UNAVAILABLE, err, deps.log, {
        level: 'warn',
        msg: 'indicators unavailable',
      })
    }
  }

  /**
   * Each route checks its parameters as for a GET; for a HEAD (`head`) it then answers with the headers a
   * GET would, doing none of its work (no stream opened, no Redis read).
   */
  const routes: Record<
    string,
    (req: IncomingMessage, res: ServerResponse, q: URLSearchParams, head: boolean) => unknown
  > = {
    '/': (_req, res, _q, head) => {
      res.writeHead(200, PAGE_HEADERS)
      res.end(head ? undefined : DASHBOARD)
    },
    '/api/alerts': (_req, res, q, head) => {
      const limit = parseQuery(z.object({ limit: whole(1, ALERTS_LIMIT.max, ALERTS_LIMIT.default) }), q)
      if (!limit.ok) return badRequest(res, limit.error)
      const filter = parseAlertFilter(q, ['limit'])
      if (!filter.ok) return badRequest(res, filter.error)
      // A part of what the topic holds, listed as if it were all: a reader would take an alert still to
      // be read for one that never came. Streams wait instead (alert-stream.ts).
      if (deps.catchUp && !deps.catchUp.caughtUp)
        return json(
          res,
          503,
          {
            error: 'catching_up',
            message: 'the gateway is still reading the alerts the topic held at its start (/readyz says so)',
          },
          { 'retry-after': String(CATCHING_UP_RETRY_AFTER_S) },
        )
      // Past the budget a reader is told to come back rather than have one more answer held for it. (A
      // HEAD is answered as the GET would be, and counted as none.)
      if (unsent >= maxUnsent) {
        if (!head) deps.answers?.refused()
        return json(
          res,
          503,
          {
            error: 'busy',
            message:
              'the gateway holds as many alert lists not yet taken by their readers as allowed (GATEWAY_ALERT_LISTS_MAX_UNSENT_BYTES)',
          },
          { 'retry-after': String(BUSY_RETRY_AFTER_S) },
        )
      }
      if (head) return headers(res, JSON_HEADERS)
      const body = JSON.stringify({
        alerts: deps.feed.recent(filter.value, limit.value.limit),
        held: deps.feed.size,
      })
      hold(res, body)
      res.writeHead(200, JSON_HEADERS)
      res.end(body)
    },
    '/api/alerts/stream': (req, res, q, head) => {
      const p = parseQuery(StreamQuery, q)
      if (!p.ok) return badRequest(res, p.error)
      // Asked to resume after an alert and to start with the recent ones: one of them would be ignored.
      if (q.has('recent') && q.has('lastEventId')) return badRequest(res, RESUME_AND_RECENT)
      const filter = parseAlertFilter(q, ['recent', 'lastEventId', 'marks'])
      if (!filter.ok) return badRequest(res, filter.error)
      if (head) {
        const refused = deps.streams.refusal(req)
        return refused ? streamRefused(res, refused) : headers(res, STREAM_HEADERS)
      }
      // The header first: an EventSource reconnecting sends the URL it was opened with (its `recent`, or
      // the `lastEventId` a reader opened it with) and, in the header, the newer id it saw since. A browser
      // sends none rather than an empty one; an empty one is taken as none.
      const header = req.headers['last-event-id']
      const lastEventId =
        (typeof header === 'string' && header !== '' ? header : undefined) ?? p.value.lastEventId
      const opened = deps.streams.open(req, res, {
        filter: filter.value,
        recent: lastEventId === undefined ? p.value.recent : 0,
        ...(lastEventId !== undefined ? { lastEventId } : {}),
        marks: p.value.marks === 'true',
      })
      if (opened !== true) streamRefused(res, opened)
    },
    '/api/indicators/top': (req, res, q, head) => {
      const p = parseQuery(TopQuery, q)
      if (!p.ok) return badRequest(res, p.error)
      if (head) return headers(res, JSON_HEADERS)
      const { dimension, kind, by, n, asOf } = p.value
      // The same question, the same answer within INDICATORS_SHARED_MS: `latest` and `now` stand for times
      // that move, but the answer says which it is of.
      const key = JSON.stringify([dimension, kind, by, n, asOf])
      return indicators(req, res, key, async () => {
        const { store, asOfMs } = await readAt(asOf)
        const namespace = store.namespace
        // A time given: the ranking is of that time only from the aggregator's event time on.
        const watermark = typeof asOf === 'number' ? await store.watermark() : undefined
        const before = typeof asOf === 'number' ? readableFrom(asOf, [watermark]) : undefined
        if (before !== undefined) return { tooEarly: `asOf: ${tooEarly(asOfMs, before)}`, namespace }
        const left: WithheldIndicator[] = []
        const rows = await store.top(dimension, kind, by, n, asOfMs, left)
        const withheld = byReason(left)
        const read = typeof asOf === 'number' ? readableFrom(asOf, rows.map(timeOf)) : undefined
        if (read !== undefined) return { tooEarly: `asOf: ${tooEarly(asOfMs, read)}`, withheld, namespace }
        const body = {
          asOf: new Date(asOfMs).toISOString(),
          namespace,
          indicators: rows,
          ...withheldOf(withheld),
        }
        return { text: JSON.stringify(body), withheld, namespace }
      })
    },
    '/api/indicators': (req, res, q, head) => {
      const p = parseQuery(OneQuery, q)
      if (!p.ok) return badRequest(res, p.error)
      if (head) return headers(res, JSON_HEADERS)
      const { dimension, scope, asOf } = p.value
      // Not shared: a handful of small commands, the cap bounds them.
      return indicators(req, res, undefined, async () => {
        const { store, asOfMs } = await readAt(asOf)
        const namespace = store.namespace
        const { indicator, left } = await readOne(store, dimension, scope, asOfMs)
        const withheld = byReason(left)
        // A time given before this indicator's newest headline: the store read it at that headline.
        const read =
          typeof asOf === 'number' && indicator ? readableFrom(asOf, [timeOf(indicator)]) : undefined
        if (read !== undefined) return { tooEarly: `asOf: ${tooEarly(asOfMs, read)}`, withheld, namespace }
        const body = {
          asOf: new Date(asOfMs).toISOString(),
          namespace,
          indicator,
          ...withheldOf(withheld),
        }
        return { text: JSON.stringify(body), withheld, namespace }
      })
    },
  }

  return [
    async (req, res) => {
      let url: URL
      try {
        url = new URL(req.url ?? '/', 'http://gateway')
      } catch {
        badRequest(res, 'the request target is not a URL path')
        return true
      }
      const path = url.pathname === '/index.html' ? '/' : url.pathname
      const route = routes[path]
      if (!route) return false
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { ...JSON_HEADERS, allow: 'GET, HEAD' })
        res.end(JSON.stringify({ error: 'method_not_allowed' }))
        return true
      }
      try {
        await route(req, res, url.searchParams, req.method === 'HEAD')
      } catch (err) {
        // A response under way (a stream) is cut instead.
        answerFault(req, res, INTERNAL_FAULT, err, deps.log)
      }
      return true
    },
  ]
}
