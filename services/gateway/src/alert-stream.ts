import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AlertFeed, AlertFilter, FeedEntry } from './alert-feed.ts'
import { matches } from './alert-feed.ts'

export type StreamLimits = {
  maxStreams: number
  heartbeatMs: number
  /** Bytes a stream may have waiting for its reader; past that it is closed. */
  maxBufferBytes: number
}

export type StreamEvents = {
  opened(): void
  closed(): void
  /** A stream closed because its reader fell behind by more than maxBufferBytes. */
  overflowed(): void
}

/** How far before a resumed-from alert's detection time a resume looks (see openStream). */
export const RESUME_SLACK_MS = 60_000

/** One server-sent event: the alert id as the event id, so a reader resumes across gateway restarts. */
export const alertEvent = (e: FeedEntry) =>
  `id: ${e.alert.id}\nevent: alert\ndata: ${JSON.stringify(e.alert)}\n\n`

/**
 * The alert streams of one gateway: each an open response of server-sent events, given every alert of
 * the feed that matches its filter as it arrives. Bounded: at most `maxStreams` open, each with at most
 * `maxBufferBytes` waiting for its reader (a slower reader is closed, never waited for: the feed is
 * never held back by one reader).
 */
export function createAlertStreams(feed: AlertFeed, limits: StreamLimits, events: StreamEvents) {
  const open = new Map<ServerResponse, () => void>()

  /**
   * What a resumed stream is sent first: the held alerts after the one it last saw (`Last-Event-ID`, an
   * alert id). The feed is in the order this gateway read the alerts; one restarted since read the
   * topic's partitions in another interleaving, so an alert after the last seen one may now stand
   * before it. Everything held from RESUME_SLACK_MS before the last seen one's detection on is sent
   * again, but that one (readers deduplicate on the id, as every alert consumer does). An id no longer
   * held gives a `gap` event: the reader fetches GET /api/alerts to fill it.
   */
  function backlog(lastId: string | undefined, recent: number, filter: AlertFilter): string {
    if (lastId !== undefined) {
      const held = feed.since(0)
      const last = held.find((e) => e.alert.id === lastId)
      if (!last) return `event: gap\ndata: ${JSON.stringify({ lastEventId: lastId, reason: 'not held' })}\n\n`
      const from = Date.parse(last.alert.detectedAt) - RESUME_SLACK_MS
      return held
        .filter(
          (e) =>
            e !== last &&
            (e.seq > last.seq || Date.parse(e.alert.detectedAt) >= from) &&
            matches(filter, e.alert),
        )
        .map(alertEvent)
        .join('')
    }
    if (recent <= 0) return ''
    return feed
      .recent(filter, recent)
      .reverse()
      .map((alert) => alertEvent({ seq: 0, alert }))
      .join('')
  }

  return {
    get size() {
      return open.size
    },
    /** Opens a stream on `res`; false (nothing written) when the limit is reached. */
    open(
      req: IncomingMessage,
      res: ServerResponse,
      opts: { filter: AlertFilter; lastEventId?: string; recent: number },
    ): boolean {
      if (open.size >= limits.maxStreams) return false
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      })
      events.opened()
      let ended = false
      const end = (overflow: boolean) => {
        if (ended) return
        ended = true
        open.delete(res)
        unsubscribe()
        clearInterval(beat)
        if (overflow) {
          events.overflowed()
          res.destroy()
        } else res.end()
        events.closed()
      }
      const write = (text: string) => {
        if (ended) return
        res.write(text)
        if (res.writableLength > limits.maxBufferBytes) end(true)
      }
      const unsubscribe = feed.subscribe((e) => {
        if (matches(opts.filter, e.alert)) write(alertEvent(e))
      })
      const beat = setInterval(() => write(': alive\n\n'), limits.heartbeatMs)
      beat.unref()
      open.set(res, () => end(false))
      req.on('close', () => end(false))
      res.on('error', () => end(false))
      write(`retry: 3000\n\n${backlog(opts.lastEventId, opts.recent, opts.filter)}`)
      return true
    },
    /** Ends every open stream (the gateway is stopping). */
    closeAll() {
      for (const end of [...open.values()]) end()
    },
  }
}

export type AlertStreams = ReturnType<typeof createAlertStreams>
