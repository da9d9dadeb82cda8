import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Alert } from '@tradepulse/contracts'
import type { AlertFeed, AlertFilter, FeedEntry } from './alert-feed.ts'
import { matches } from './alert-feed.ts'
import { createClientOf } from './client-address.ts'

export type StreamLimits = {
  maxStreams: number
  /**
   * Streams one client (clientOf) may hold open at once (GATEWAY_MAX_STREAMS_PER_CLIENT; none when absent):
   * one reader in a reconnect loop, or a script opening streams in a loop, would otherwise take every
   * place and lock every desk out.
   */
  maxStreamsPerClient?: number
  /**
   * Who a stream's reader is (client-address.ts, with GATEWAY_TRUSTED_PROXIES): the connection's remote
   * address when absent, no forwarded header read.
   */
  clientOf?: (req: IncomingMessage) => string
  heartbeatMs: number
  /** How long a reader may take nothing (its socket full) before its stream is closed. */
  stallMs: number
  /**
   * How long a stream stays open at most (GATEWAY_STREAM_MAX_AGE_MS; none when absent): each is closed
   * after between 90 % and 100 % of it (spread, so streams opened together do not all reconnect together),
   * and its reader resumes with Last-Event-ID. A reader that takes nothing fills its socket only after
   * hours of heartbeats, if ever (a dead peer's or a deliberate non-reader's), so the stall limit alone
   * would let it hold its place for good.
   */
  maxAgeMs?: number
  /** In [0, 1): spreads the streams' ages (Math.random when absent). */
  random?: () => number
}

/** Why a stream was refused: the gateway's streams at maxStreams, or the client's at maxStreamsPerClient. */
export type StreamRefusal = 'total' | 'client'

export type StreamEvents = {
  opened(): void
  /** A stream not opened (nothing written to its response). */
  refused?(reason: StreamRefusal): void
  closed(): void
  /** A stream closed because its reader took nothing for stallMs. */
  stalled(): void
  /** A stream closed because it had been open for maxAgeMs. */
  aged?(): void
}

/**
 * TCP keepalive on a stream's socket after this long without traffic: a reader whose host is gone (a
 * half-open connection) is found by the keepalive probes while the stream is idle. (With heartbeats
 * unacknowledged, TCP's retransmission timeout closes it instead.)
 */
export const STREAM_KEEPALIVE_MS = 30_000

/**
 * How far apart in record time (LogAppendTime) the partitions of the alerts topic are kept while a gateway
 * catches up (build-app's alignment): one partition's records are read at most this far ahead of another's.
 */
export const CATCH_UP_AHEAD_MS = 60_000

/**
 * How far before the record time of a resumed-from alert a resume looks when the reader's last event id is
 * of another feed order than this gateway's (startOf). Another gateway may have read a partition up to
 * CATCH_UP_AHEAD_MS ahead of another (catching up), so an alert it sent after the reader's last one may have
 * been written that much before it; the further minute covers the partition leaders' clocks and a live
 * fetch of one partition lagging another's. Record times, not detection times: an alert's detectedAt is its
 * alerter host's clock, and a batch retried after an outage keeps its first attempt's, minutes before it
 * was written, so such an alert fell outside the slack and was never sent, with no gap.
 */
export const RESUME_SLACK_MS = CATCH_UP_AHEAD_MS + 60_000

/**
 * After an event id's last `@`: a boot id, 12 base64url characters (72 random bits, made anew with each
 * gateway's streams), then `.` and the entry's seq in that gateway's feed (absent in the ids of gateways
 * from before seqs).
 */
const BOOT_AND_SEQ = /^([A-Za-z0-9_-]{12})(?:\.([1-9][0-9]{0,14}))?$/
const newBootId = () => randomBytes(9).toString('base64url')

/**
 * The SSE event id of the alert at `seq` in the feed of the gateway of `bootId`: `<alert id>@<boot
 * id>.<seq>`. The boot id names the order the reader was sent the feed in (each gateway's, from its start),
 * so that a resume can tell whether it was sent every alert before its last one in this gateway's order or
 * needs RESUME_SLACK_MS; the seq is its place in that order, which the alert id alone does not give: once
 * the feed has evicted an alert, a copy the alerter sends again after a crash is held anew, at the end.
 */
export const eventIdOf = (alertId: string, bootId: string, seq: number) => `${alertId}@${bootId}.${seq}`

/**
 * The alert id, boot id and seq of an event id made by eventIdOf, or undefined for one of no such form: an
 * id from before boot ids (the bare alert id), or none of ours. No seq in the ids of gateways from before
 * seqs.
 */
export function parseEventId(id: string): { alertId: string; bootId: string; seq?: number } | undefined {
  const at = id.lastIndexOf('@')
  if (at < 1) return undefined
  const m = BOOT_AND_SEQ.exec(id.slice(at + 1))
  if (!m) return undefined
  const alertId = id.slice(0, at)
  return m[2] === undefined ? { alertId, bootId: m[1]! } : { alertId, bootId: m[1]!, seq: Number(m[2]) }
}

/**
 * Whether the feed holds what the alerts topic held at the gateway's start (catch-up.ts): until then a
 * stream's start (after its Last-Event-ID, or at what comes next) would be a guess.
 */
export type CatchUpGate = {
  readonly caughtUp: boolean
  /** Calls `f` once when caught up; returns what stops that. */
  onCaughtUp(f: () => void): () => void
  /** Whether a record was written after the start: past its partition's end then (catch-up.ts). */
  isNews(partition: number, offset: number): boolean
  /**
   * Calls `f` once the alerts topic's ends at the start are known (at once if they are); returns what
   * stops that. Absent: they are known.
   */
  onEndsKnown?(f: () => void): () => void
}

/**
 * The headers of a stream's answer, and of a HEAD's (http-api.ts): `x-accel-buffering: no` keeps nginx
 * from holding the events back in its buffer.
 */
export const STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
  'x-content-type-options': 'nosniff',
}

/** Entries written per step of a stream before it looks at its socket again. */
const CHUNK = 64

/**
 * Entries a stream's cursor passes without an `id:` (none matching its filter) before it writes one for
 * the entry at the cursor (markEvent): the reader's last event id then names an entry at most this far
 * behind the cursor, which the feed evicts only after as many more.
 */
export const MARK_EVERY_ENTRIES = 64

/**
 * An `id:` field alone: a reader's last event id set to the alert at a stream's cursor (one its filter
 * passed over), no event dispatched (an SSE block without `data` dispatches none). Without it a filtered
 * reader's id stayed at the last alert it matched, which the feed evicts once GATEWAY_RECENT_ALERTS others
 * came after it: its resume at the hourly age was a `gap` ('not held') though it had been sent every
 * matching alert, and a real miss looked the same.
 */
export const markEvent = (id: string) => `id: ${id}\n\n`

/**
 * A mark as an event (`event: mark`, `data: {}`), for a reader that asked for them (`?marks=true`): a
 * browser page dispatches it, so its script learns the stream's position, which an `id:` alone gives the
 * EventSource only. The dashboard needs it for the stream it opens itself once the browser has closed
 * one for good (a 503, a proxy's 502 while the gateway restarts): resumed after its last alert instead,
 * a filtered page whose last match the feed evicted since was sent a `gap` though it had missed nothing.
 */
export const markDispatchedEvent = (id: string) => `id: ${id}\nevent: mark\ndata: {}\n\n`

/**
 * One server-sent event, with `eventId` (eventIdOf: the alert id, which a reader resumes after on any
 * gateway, and the boot id of the gateway that sent it).
 */
export const alertEvent = (eventId: string, alert: Alert) =>
  `id: ${eventId}\nevent: alert\ndata: ${JSON.stringify(alert)}\n\n`

const gapEvent = (lastEventId: string | undefined, reason: string, more: object = {}) =>
  `event: gap\ndata: ${JSON.stringify({ lastEventId: lastEventId ?? null, reason, ...more })}\n\n`

/**
 * The alerts written after the gateway's start that its feed evicted during the catch-up (more read after
 * them than it holds, or past its byte budget), before a stream waiting for the catch-up could be sent
 * them: named in the `gap` event such a stream gets first (LOST_REASON), so its reader knows what it
 * missed and can read it from Kafka. Of every filter: like the gap of a reader fallen behind, it is sent
 * whatever the stream's filter (some of them may not match it).
 */
export type LostNews = {
  /** How many. */
  alerts: number
  /** The ids of the first and the last of them, in feed order. */
  firstId: string
  lastId: string
  /** Their earliest and latest detection times (`detectedAt`). */
  detectedFrom: string
  detectedTo: string
  /**
   * For each partition of the alerts topic, the offsets of the first and the last of them (inclusive):
   * every alert at an offset between was one of them.
   */
  offsets: { partition: number; from: number; to: number }[]
}

/** The `reason` of the gap event naming LostNews. */
export const LOST_REASON = 'catching up: alerts written after the start evicted before they were sent'

/** `lost` with the evicted entry `e` (read at `origin`) added to it. */
function addLost(lost: LostNews | undefined, e: FeedEntry, origin: { partition: number; offset: number }) {
  const { id, detectedAt } = e.alert
  if (!lost)
    return {
      alerts: 1,
      firstId: id,
      lastId: id,
      detectedFrom: detectedAt,
      detectedTo: detectedAt,
      offsets: [{ partition: origin.partition, from: origin.offset, to: origin.offset }],
    }
  lost.alerts++
  lost.lastId = id
  if (Date.parse(detectedAt) < Date.parse(lost.detectedFrom)) lost.detectedFrom = detectedAt
  if (Date.parse(detectedAt) > Date.parse(lost.detectedTo)) lost.detectedTo = detectedAt
  const range = lost.offsets.find((o) => o.partition === origin.partition)
  if (range) range.to = origin.offset
  else lost.offsets.push({ partition: origin.partition, from: origin.offset, to: origin.offset })
  return lost
}

/**
 * What the catch-up read of the alerts written after the gateway's start (news to a stream waiting for
 * it): those the feed still holds, in feed order, and what it evicted of them.
 */
type CaughtUpNews = { held: FeedEntry[]; lost?: LostNews }

/**
 * The alert streams of one gateway: each an open response of server-sent events, given every alert of
 * the feed that matches its filter, in feed order. Each stream keeps a cursor into the feed, not a
 * buffer: it writes while its socket takes the writes and waits for 'drain' when it does not, so a burst
 * (a whole Kafka batch, a backlog) costs a stream no memory beyond its socket's, and a slow reader holds
 * back nobody. A reader so slow that the feed evicted alerts it had not been sent gets a `gap` event and
 * goes on from the oldest held; one that takes nothing for `stallMs` once its socket is full is closed,
 * and every stream is closed after at most `maxAgeMs` (the reader resumes where it was, with
 * Last-Event-ID): a reader that takes nothing holds its place no longer. At most `maxStreams`, and at
 * most `maxStreamsPerClient` of one client; a client's count is given back when its stream ends, whatever
 * ends it (the reader gone, a stall, the age, closeAll at a stop). The id a reader resumes with follows
 * its cursor, not only the alerts its filter matches (markEvent: every MARK_EVERY_ENTRIES passed over, at
 * a heartbeat, before the age's or a stop's close), so a filtered reader whose last match the feed
 * evicted since resumes without a `gap` it never had: `gap` means alerts may have been missed.
 *
 * Each event id carries the boot id of these streams (eventIdOf), made anew at each start, and the seq
 * of its entry: a reader resuming with one of them was sent the feed in this gateway's order, and resumes
 * just after that seq (a `gap` if the feed has evicted what followed it); one resuming with an id of
 * another gateway, an older start or from before boot ids (a bare alert id) is sent the slack of another
 * order too (startOf).
 *
 * A stream opened while the gateway catches up (`gate`: HTTP listens before the feed is filled, and a
 * browser reconnects within seconds of a restart) starts only once it has, heartbeats meanwhile: started
 * at once, a new reader would be sent every alert read during the catch-up as if live, and a resumed one
 * a `gap` for an id about to be read. What was written after the start but read before the catch-up
 * ended (with the last of what the topic held, in the same batch) is news all the same: such a stream
 * not resuming is sent it first (see startOf). What of it the feed evicted before the catch-up ended (more
 * read after it than the feed holds) is named in a `gap` event sent first instead (LostNews): a desk never
 * misses an alert without being told.
 *
 * HTTP listens before the gateway has read the alerts topic's ends (its /healthz answers meanwhile), and
 * what is news to a stream not resuming is what lies past them: such a stream opened before they are
 * known takes its place but is answered (its headers, then the catch-up's comment and heartbeats) only
 * once they are (gate.onEndsKnown), so every alert written once its reader has it open lies past them.
 * Answered before, an alert written between the answer and the ends' read counted as history to it, and
 * was never sent. A stream that resumes starts after its Last-Event-ID whatever the ends: it is answered
 * at once.
 */
export function createAlertStreams(
  feed: AlertFeed,
  limits: StreamLimits,
  events: StreamEvents,
  gate?: CatchUpGate,
) {
  const bootId = newBootId()
  const open = new Map<ServerResponse, () => void>()
  const clientOf = limits.clientOf ?? createClientOf()
  /** Open streams by client (clientOf); a client is deleted with its last stream, so none is kept for good. */
  const byClient = new Map<string, number>()

  /** The streams waiting for the catch-up: each begun, with what it read of the news, once it ends. */
  const waiting = new Set<(news: CaughtUpNews) => void>()
  if (gate && !gate.caughtUp) {
    // Kept while the catch-up lasts, so that a waiting stream's start needs no scan of the feed: the news
    // read (an entry is news or not at its add: a record read before the ends at the start were known
    // lies before them), those of it held from `head` on, and what the feed evicted of it. Evictions go
    // oldest first, so the news evicted is always the oldest held.
    const news: FeedEntry[] = []
    let head = 0
    let lost: LostNews | undefined
    const isNews = (e: FeedEntry) =>
      e.origin !== undefined && gate.isNews(e.origin.partition, e.origin.offset)
    const stopAdds = feed.subscribe((e) => {
      if (isNews(e)) news.push(e)
    })
    const stopEvictions = feed.onEvicted((e) => {
      if (!isNews(e)) return
      lost = addLost(lost, e, e.origin!)
      while (head < news.length && news[head]!.seq <= e.seq) head++
      // Let the evicted go: they are not held in memory past the feed.
      if (head > 64 && head * 2 > news.length) {
        news.splice(0, head)
        head = 0
      }
    })
    let stopWaiting = () => {}
    const caughtUp = () => {
      stopAdds()
      stopEvictions()
      stopWaiting()
      const read: CaughtUpNews = lost ? { held: news.slice(head), lost } : { held: news.slice(head) }
      news.length = 0
      const told = [...waiting]
      waiting.clear()
      for (const begin of told) begin(read)
    }
    stopWaiting = gate.onCaughtUp(caughtUp)
  }

  /**
   * Why one more stream from `client` would be refused, if it would. The total first: a full gateway is
   * answered as before whoever asks (behind a proxy not trusted every reader is one client), and 'client'
   * means that others would still get a place.
   */
  const refusalOf = (client: string): StreamRefusal | undefined => {
    if (open.size >= limits.maxStreams) return 'total'
    if (limits.maxStreamsPerClient !== undefined && (byClient.get(client) ?? 0) >= limits.maxStreamsPerClient)
      return 'client'
    return undefined
  }

  /** The alert id of the held entry at `seq`, if one is. */
  const idAt = (seq: number) => {
    const [e] = feed.after(seq - 1, 1)
    return e?.seq === seq ? e.alert.id : undefined
  }

  /**
   * Where a new stream starts: after the held alert it last saw (`Last-Event-ID`: an event id, or a bare
   * alert id from before boot ids), else with the `recent` newest matching ones, else with what comes
   * next. The feed is in the order this gateway read the alerts. A reader sent its last event by these
   * streams (its boot id ours) had every alert before it in that order: it starts just after its seq, if
   * the feed holds every entry after it, else it gets a `gap` ('not held'). By seq, not by alert id: once
   * its alert was evicted, a copy the alerter sent again after a crash is held anew at the end, and a
   * resume there skipped every held alert between with no gap (a bounded memory of evicted ids would
   * forget it, and a copy may come any time later). Another gateway, or this one before a restart, read
   * the topic's partitions in another interleaving, so an alert after that reader's last one may stand
   * before it here: those held before it and written from RESUME_SLACK_MS before its record on (record
   * times: the same in every gateway's feed) are sent first (readers deduplicate on the alert id, as every
   * alert consumer does). (The slack was once applied at every resume: each reconnect to the same gateway,
   * at the hourly age or a network blip, sent the reader again up to a minute of alerts it had.) An id not
   * held gives a `gap` event: the reader fetches GET /api/alerts.
   *
   * A stream that waited for the catch-up and does not resume is also sent first, in feed order, the
   * held alerts before its cursor that were written after the gateway's start (`news`): they reached the
   * feed during the catch-up, interleaved with the last of what the topic held (partitions are read in
   * step, a batch holds records from both sides of a partition's end), and are live news to this reader.
   * Those the feed evicted before the catch-up ended are named in a `gap` event sent before them. Opened
   * after the catch-up, a stream starts at what comes next: by then they are history.
   *
   * Each start costs what it sends, not a scan of the feed (at a catch-up's end every waiting stream
   * starts at once): the slack of a resume looks back only as far as record times reach
   * (feed.writtenSince), the news is the catch-up's own list.
   */
  function startOf(
    lastId: string | undefined,
    recent: number,
    filter: AlertFilter,
    news: CaughtUpNews | undefined,
  ): { cursor: number; before: FeedEntry[]; gap?: string } {
    if (lastId !== undefined) {
      const parsed = parseEventId(lastId)
      if (parsed?.bootId === bootId && parsed.seq !== undefined) {
        const { seq } = parsed
        // The entry just evicted is a place too: every entry after it is held. A seq this gateway has not
        // given, or given to another alert, is none of its ids.
        const held =
          seq >= feed.firstSeq - 1 &&
          seq <= feed.lastSeq &&
          (seq < feed.firstSeq || idAt(seq) === parsed.alertId)
        return held
          ? { cursor: seq, before: [] }
          : { cursor: feed.lastSeq, before: [], gap: gapEvent(lastId, 'not held') }
      }
      const named = parsed && feed.entryOf(parsed.alertId)
      // (A bare alert id that happens to end in an `@` and a boot id's form is looked up whole too.)
      const last = named ?? feed.entryOf(lastId)
      if (!last) return { cursor: feed.lastSeq, before: [], gap: gapEvent(lastId, 'not held') }
      const from = (last.origin?.timestamp ?? Number.NaN) - RESUME_SLACK_MS
      const before = feed.writtenSince(from, last.seq).filter((e) => matches(filter, e.alert))
      return { cursor: last.seq, before }
    }
    const newest = recent > 0 ? feed.recent(filter, recent) : []
    const oldest = newest.length > 0 ? feed.entryOf(newest.at(-1)!.id) : undefined
    const cursor = oldest ? oldest.seq - 1 : feed.lastSeq
    if (!news) return { cursor, before: [] }
    const before = news.held.filter((e) => e.seq <= cursor && matches(filter, e.alert))
    return news.lost
      ? { cursor, before, gap: gapEvent(undefined, LOST_REASON, { lost: news.lost }) }
      : { cursor, before }
  }

  return {
    get size() {
      return open.size
    },
    /** The boot id in the event ids these streams send (eventIdOf). */
    bootId,
    /** Whether one more stream would be refused (the limit is reached). */
    get full() {
      return open.size >= limits.maxStreams
    },
    /** The streams `client` holds open (clientOf). */
    openBy(client: string): number {
      return byClient.get(client) ?? 0
    },
    /** How many clients hold a stream open. */
    get clients() {
      return byClient.size
    },
    /** Why a stream from `req`'s client would be refused now, if it would (a HEAD's answer). */
    refusal(req: IncomingMessage): StreamRefusal | undefined {
      return refusalOf(clientOf(req))
    },
    /** Opens a stream on `res`: true, or why it was refused (nothing written then). */
    open(
      req: IncomingMessage,
      res: ServerResponse,
      opts: {
        filter: AlertFilter
        lastEventId?: string
        recent: number
        /** Marks as events (markDispatchedEvent) rather than an `id:` alone (markEvent). */
        marks?: boolean
      },
    ): true | StreamRefusal {
      const client = clientOf(req)
      const refused = refusalOf(client)
      if (refused) {
        events.refused?.(refused)
        return refused
      }
      events.opened()
      // Set by answer(), once the response is begun (its headers written).
      let answered = false
      // Set by begin(), once the feed is caught up.
      let cursor = 0
      let before: FeedEntry[] = []
      let started = false
      let unsubscribe = () => {}
      let unwait = () => {}
      let unwaitEnds = () => {}
      let beat: NodeJS.Timeout | undefined
      /** The id the reader last saw in an `id:` field (an event's, or a mark's): what it resumes with. */
      let lastSent = opts.lastEventId
      /**
       * The alert id of the entry at the cursor, when known: what the reader has been sent every matching
       * alert up to (a mark's id, with the boot id). Entries passed since the last `id:` written: one is
       * written past MARK_EVERY_ENTRIES, at each heartbeat, and before the stream is closed at its age or at
       * a stop. A resumed reader's id of another order is marked with ours at the first of them, though the
       * cursor has not moved: its next resume here then needs no slack.
       */
      let cursorId: string | undefined
      let unmarked = 0
      // Set while the socket is full: fires stallMs after it filled unless a 'drain' clears it first.
      let stall: NodeJS.Timeout | undefined
      // Set at the open when maxAgeMs is: fires once the stream has been open for its age.
      let aged: NodeJS.Timeout | undefined
      let ended = false
      const markText = opts.marks ? markDispatchedEvent : markEvent

      /** The cursor's id, if the reader's last event id is behind it (a mark due), taken as sent. */
      const markDue = (): string | undefined => {
        unmarked = 0
        if (cursorId === undefined) return undefined
        const id = eventIdOf(cursorId, bootId, cursor)
        if (id === lastSent) return undefined
        lastSent = id
        return id
      }
      /** Writes the mark due, if one is (markEvent); false when the socket is full. */
      const mark = (): boolean => {
        const id = markDue()
        return id === undefined || write(markText(id))
      }
      /** `stop`: the gateway's (closeAll); the reader resumes here or at another gateway. */
      const end = (why?: 'stalled' | 'aged' | 'stop') => {
        if (ended) return
        // The reader resumes with the cursor's id: with its last matching alert's, one evicted since, it
        // would be told of a gap it never had. (A full socket takes nothing more.)
        const id =
          (why === 'aged' || why === 'stop') && started && stall === undefined ? markDue() : undefined
        if (id !== undefined) res.write(markText(id))
        ended = true
        open.delete(res)
        const held = (byClient.get(client) ?? 0) - 1
        if (held > 0) byClient.set(client, held)
        else byClient.delete(client)
        unsubscribe()
        unwait()
        unwaitEnds()
        clearInterval(beat)
        clearTimeout(stall)
        clearTimeout(aged)
        res.off('drain', onDrain)
        if (why === 'stalled') events.stalled()
        if (why === 'aged') events.aged?.()
        // A full socket would never take the response's end: let it go. Not answered yet (the ends at the
        // start unknown), the connection goes with no answer: a browser's EventSource reconnects after a
        // network error, where it gives up for good on an answer that is not a stream.
        if (why === 'stalled' || stall !== undefined || !answered) res.destroy()
        else res.end()
        events.closed()
      }
      /** Writes; false when the socket is full (the stream then waits for 'drain'). */
      const write = (text: string): boolean => {
        if (res.write(text)) return true
        stall ??= setTimeout(() => end('stalled'), limits.stallMs)
        stall.unref()
        return false
      }
      const entry = (e: FeedEntry): boolean => {
        lastSent = eventIdOf(e.alert.id, bootId, e.seq)
        unmarked = 0
        return write(alertEvent(lastSent, e.alert))
      }
      const pump = () => {
        if (!started || ended || stall !== undefined) return
        while (before.length > 0) if (!entry(before.shift()!)) return
        for (;;) {
          if (cursor + 1 < feed.firstSeq) {
            // Evicted before this reader was sent them: it learns, and goes on from the oldest held.
            cursor = feed.firstSeq - 1
            cursorId = undefined
            if (!write(gapEvent(lastSent, 'behind: alerts evicted before they were sent'))) return
          }
          const next = feed.after(cursor, CHUNK)
          if (next.length === 0) return
          for (const e of next) {
            cursor = e.seq
            cursorId = e.alert.id
            if (matches(opts.filter, e.alert)) {
              if (!entry(e)) return
            } else if (++unmarked >= MARK_EVERY_ENTRIES && !mark()) return
          }
        }
      }
      function onDrain() {
        clearTimeout(stall)
        stall = undefined
        pump()
      }
      const begin = (news?: CaughtUpNews) => {
        if (ended) return
        const start = startOf(opts.lastEventId, opts.recent, opts.filter, news)
        cursor = start.cursor
        // Resumed, the id it came with; else the newest held at its start: a reader sent nothing yet
        // resumes from there too, not at what comes after its reconnect.
        cursorId = idAt(cursor)
        before = start.before
        started = true
        unsubscribe = feed.subscribe(() => pump())
        if (start.gap) write(start.gap)
        pump()
      }
      res.on('drain', onDrain)
      req.socket?.setKeepAlive(true, STREAM_KEEPALIVE_MS)
      if (limits.maxAgeMs !== undefined) {
        const spread = 0.9 + 0.1 * (limits.random ?? Math.random)()
        aged = setTimeout(() => end('aged'), limits.maxAgeMs * spread)
        aged.unref()
      }
      open.set(res, () => end('stop'))
      byClient.set(client, (byClient.get(client) ?? 0) + 1)
      req.on('close', () => end())
      res.on('error', () => end())
      const answer = () => {
        answered = true
        res.writeHead(200, STREAM_HEADERS)
        beat = setInterval(() => {
          if (stall !== undefined) return
          if (write(': alive\n\n') && started) mark()
        }, limits.heartbeatMs)
        beat.unref()
        write('retry: 3000\n\n')
        if (!gate || gate.caughtUp) begin()
        else {
          write(': catching up\n\n')
          waiting.add(begin)
          unwait = () => waiting.delete(begin)
        }
      }
      if (opts.lastEventId !== undefined || !gate?.onEndsKnown) answer()
      else unwaitEnds = gate.onEndsKnown(answer)
      return true
    },
    /** Ends every open stream (the gateway is stopping). */
    closeAll() {
      for (const end of [...open.values()]) end()
    },
  }
}

export type AlertStreams = ReturnType<typeof createAlertStreams>
