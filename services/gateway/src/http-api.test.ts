import { get as httpGet, type IncomingHttpHeaders, request, type Server } from 'node:http'
import { connect } from 'node:net'
import type { Alert } from '@tradepulse/contracts'
import type { IndicatorStore } from '@tradepulse/indicators'
import { withDamagedIndicator } from '@tradepulse/indicators/test-support'
import {
  closeServer,
  createCapturingLogger,
  createHealthServer,
  createMemoryIndicatorStore,
  listen,
  parseAllowedHosts,
} from '@tradepulse/platform'
import { testAlert, waitFor } from '@tradepulse/testing'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type AlertFeed, createAlertFeed, matches, parseAlertFilter } from './alert-feed.ts'
import { type CatchUpGate, createAlertStreams, eventIdOf } from './alert-stream.ts'
import { createClientOf } from './client-address.ts'
import { type ApiBody, alertIdOf, tariffIn } from './fixtures.ts'
import { createApiRoutes, STREAM_RETRY_AFTER_S, WITHHELD_LOG_EVERY_MS } from './http-api.ts'
import { readEvents } from './sse-client.ts'
import { parseTrustedProxies } from './trusted-proxies.ts'

const T0 = Date.parse('2026-03-02T14:00:00.000Z')

function trusted(text: string) {
  const p = parseTrustedProxies(text)
  if (!p.ok) throw new Error(p.error)
  return p.value
}

describe('gateway HTTP API', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    vi.useRealTimers()
    for (const c of cleanups.splice(0).reverse()) await c()
  })
  /**
   * The monotonic clock (performance.now, which the routes' log throttles read, as in the gateway) held
   * still to the test's end: only `elapse` moves it.
   */
  const holdElapsed = () => vi.useFakeTimers({ toFake: ['performance'] })
  const elapse = (ms: number) => vi.advanceTimersByTime(ms)

  async function serve(
    opts: {
      maxStreams?: number
      maxStreamsPerClient?: number
      /** GATEWAY_TRUSTED_PROXIES. */
      trustedProxies?: string
      heartbeatMs?: number
      stallMs?: number
      /** GATEWAY_STREAM_MAX_AGE_MS (none when absent). */
      maxAgeMs?: number
      capacity?: number
      catchUp?: CatchUpGate
      /** What the routes are given in place of the feed and the store (both still returned). */
      feedFor?: (feed: AlertFeed) => AlertFeed
      indicatorsFor?: (store: IndicatorStore) => IndicatorStore
      /** GATEWAY_ANSWERS_MAX_UNSENT_BYTES, and how long an answer may take to be sent. */
      answers?: { maxUnsentBytes: number; sendTimeoutMs: number }
      /**
       * The routes' clock (T0 when absent). Their log throttles run on their own monotonic clock
       * (performance.now, as in the gateway): a test moves it with holdElapsed and elapse.
       */
      now?: () => number
      /**
       * How long a /top answer is shared (0, none, when absent: most tests read again what they have just
       * changed), and GATEWAY_MAX_INDICATOR_READS.
       */
      indicatorsSharedMs?: number
      maxIndicatorReads?: number
      /** GATEWAY_ALLOWED_HOSTS (unset, the default of the loopback bind, when absent). */
      allowedHosts?: string
    } = {},
  ) {
    const feed = createAlertFeed(opts.capacity ?? 100)
    const counts = { opened: 0, closed: 0, stalled: 0, refused: [] as string[] }
    const streams = createAlertStreams(
      feed,
      {
        maxStreams: opts.maxStreams ?? 10,
        ...(opts.maxStreamsPerClient ? { maxStreamsPerClient: opts.maxStreamsPerClient } : {}),
        ...(opts.trustedProxies ? { clientOf: createClientOf(trusted(opts.trustedProxies)) } : {}),
        heartbeatMs: opts.heartbeatMs ?? 60_000,
        stallMs: opts.stallMs ?? 60_000,
        ...(opts.maxAgeMs !== undefined ? { maxAgeMs: opts.maxAgeMs } : {}),
      },
      {
        opened: () => counts.opened++,
        closed: () => counts.closed++,
        stalled: () => counts.stalled++,
        refused: (why) => counts.refused.push(why),
      },
      opts.catchUp,
    )
    const indicators = createMemoryIndicatorStore({ clock: { now: () => T0 } })
    const { log, lines: logged } = createCapturingLogger()
    /** Each count the routes told of indicators left out (a metric counts them). */
    const withheld: number[] = []
    /** The same, each with its reason. */
    const withheldBy: [string, number][] = []
    /** The indicator requests refused busy (a metric counts them). */
    const busy = { refused: 0 }
    const routes = createApiRoutes({
      feed: opts.feedFor?.(feed) ?? feed,
      streams,
      indicators: opts.indicatorsFor?.(indicators) ?? indicators,
      log,
      now: opts.now ?? (() => T0),
      indicatorsWithheld: (n, reason) => {
        withheld.push(n)
        withheldBy.push([reason, n])
      },
      ...(opts.catchUp ? { catchUp: opts.catchUp } : {}),
      ...(opts.answers ?? {}),
      indicatorsSharedMs: opts.indicatorsSharedMs ?? 0,
      ...(opts.maxIndicatorReads !== undefined ? { maxIndicatorReads: opts.maxIndicatorReads } : {}),
      indicatorReadsRefused: () => busy.refused++,
    })
    const allowed = opts.allowedHosts === undefined ? undefined : parseAllowedHosts(opts.allowedHosts)
    if (allowed && !allowed.ok) throw new Error(allowed.error)
    const server: Server = createHealthServer(
      async () => ({ status: 'ok', ready: true, checks: {} }),
      new Registry(),
      routes,
      {
        log,
        allowedHostsVariable: 'GATEWAY_ALLOWED_HOSTS',
        ...(allowed ? { allowedHosts: allowed.value } : {}),
      },
    )
    /** Requests the server has been handed. */
    const received = { requests: 0 }
    server.on('request', () => received.requests++)
    const port = await listen(server, 0, '127.0.0.1')
    cleanups.push(() => closeServer(server))
    cleanups.push(async () => streams.closeAll())
    const get = async (path: string, init?: RequestInit) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, init)
      const type = res.headers.get('content-type') ?? ''
      const text = await res.text()
      return {
        status: res.status,
        headers: res.headers,
        type,
        text,
        body: (type.includes('json') && text ? JSON.parse(text) : {}) as ApiBody,
      }
    }
    /**
     * A request from `localAddress` (any of 127.0.0.0/8 on loopback: another client to the gateway), with
     * `headers`: its status and headers, the body of a refusal, and `close` to go away (a stream's reader
     * gone).
     */
    const from = (localAddress: string, path: string, method = 'GET', headers: Record<string, string> = {}) =>
      new Promise<{ status: number; headers: IncomingHttpHeaders; body: unknown; close: () => void }>(
        (resolve, reject) => {
          const req = httpGet(
            { host: '127.0.0.1', port, path, method, localAddress, headers, agent: false },
            (res) => {
              const close = () => req.destroy()
              cleanups.push(async () => close())
              const status = res.statusCode ?? 0
              if (status === 200) {
                // A stream's reader, taking what comes.
                res.resume()
                return resolve({ status, headers: res.headers, body: undefined, close })
              }
              let text = ''
              res.on('data', (b) => {
                text += b
              })
              res.on('end', () =>
                resolve({ status, headers: res.headers, body: text ? JSON.parse(text) : undefined, close }),
              )
            },
          )
          req.on('error', reject)
        },
      )
    /**
     * A GET to 127.0.0.1 (where a rebinding domain resolves) with `host` as its Host header: its status,
     * type and body (a stream's, 200, left open and unread until the test's end).
     */
    const withHost = (host: string, path: string) =>
      new Promise<{ status: number; type: string | undefined; text: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
          const status = res.statusCode ?? 0
          const type = res.headers['content-type']
          if (path.startsWith('/api/alerts/stream') && status === 200) {
            cleanups.push(async () => req.destroy())
            return resolve({ status, type, text: '' })
          }
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (c) => {
            text += c
          })
          res.on('end', () => resolve({ status, type, text }))
        })
        req.on('error', reject)
        req.end()
      })
    return {
      port,
      feed,
      streams,
      withHost,
      indicators,
      counts,
      logged,
      withheld,
      withheldBy,
      busy,
      received,
      get,
      from,
      url: (path: string) => `http://127.0.0.1:${port}${path}`,
    }
  }

  it('serves the dashboard page', async () => {
    const { get } = await serve()
    const page = await get('/')
    expect(page.status).toBe(200)
    expect(page.type).toMatch(/text\/html/)
    expect(page.text).toContain('api/alerts/stream')
    expect((await get('/index.html')).status).toBe(200)
    expect((await get('/', { method: 'POST' })).status).toBe(405)
    expect((await get('/api/nothing')).status).toBe(404)
    const head = await get('/', { method: 'HEAD' })
    expect([head.status, head.type, head.text]).toEqual([200, 'text/html; charset=utf-8', ''])
    expect((await get('/api/alerts', { method: 'HEAD' })).status).toBe(200)
  })

  it('refuses a DNS-rebinding Host with 421 on every route (alerts, the stream, indicators, the page, /metrics), and takes localhost:port and 127.0.0.1:port', async () => {
    // Any Host was answered: a page of a domain made to resolve to 127.0.0.1, in an operator's browser,
    // read the alerts, their stream and the metrics as its own origin.
    const { port, feed, counts, withHost } = await serve()
    feed.add(testAlert('secret'))
    const paths = [
      '/api/alerts?limit=1',
      '/api/alerts/stream?recent=1',
      '/api/indicators/top',
      '/api/indicators?dimension=tariff&scope=region:CN',
      '/',
      '/metrics',
      '/healthz',
    ]
    for (const path of paths) {
      const r = await withHost(`rebind.attacker.example:${port}`, path)
      expect([r.status, r.type], path).toEqual([421, 'application/json'])
      expect(JSON.parse(r.text), path).toEqual({
        error: 'misdirected_request',
        message: 'the Host header names a host this server does not answer for (GATEWAY_ALLOWED_HOSTS)',
      })
    }
    expect(counts.opened).toBe(0)
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) {
      for (const path of paths) expect((await withHost(host, path)).status, `${host} ${path}`).toBe(200)
      expect(JSON.parse((await withHost(host, '/api/alerts?limit=1')).text).alerts[0].id).toBe('secret')
    }
    expect(counts.opened).toBe(2)
  })

  it('takes any Host with GATEWAY_ALLOWED_HOSTS=*, and only the names listed (and IP addresses) otherwise', async () => {
    const star = await serve({ allowedHosts: '*' })
    for (const path of ['/api/alerts', '/api/alerts/stream', '/metrics'])
      expect((await star.withHost('rebind.attacker.example', path)).status, path).toBe(200)
    const listed = await serve({ allowedHosts: 'alerts.example.com' })
    expect((await listed.withHost('alerts.example.com:443', '/api/alerts')).status).toBe(200)
    expect((await listed.withHost(`127.0.0.1:${listed.port}`, '/api/alerts')).status).toBe(200)
    expect((await listed.withHost(`localhost:${listed.port}`, '/api/alerts')).status).toBe(421)
    expect((await listed.withHost('rebind.attacker.example', '/api/alerts/stream')).status).toBe(421)
  })

  it('lists the recent alerts, newest first, filtered and limited; a bad parameter is a 400 naming it', async () => {
    const { feed, get } = await serve()
    feed.add(testAlert('a', { severity: 'info' }))
    feed.add(testAlert('b'))
    feed.add(testAlert('c', { scope: { kind: 'region', id: 'US' } }))
    const ids = (body: ApiBody) => body.alerts.map((a) => a.id)
    expect(ids((await get('/api/alerts')).body)).toEqual(['c', 'b', 'a'])
    expect((await get('/api/alerts')).body.held).toBe(3)
    expect(ids((await get('/api/alerts?limit=1')).body)).toEqual(['c'])
    expect(ids((await get('/api/alerts?severity=critical&scope=region:CN')).body)).toEqual(['b'])
    const bad = await get('/api/alerts?limit=0')
    expect(bad.status).toBe(400)
    expect(bad.body).toEqual({ error: 'bad_request', message: expect.stringMatching(/^limit: at least 1/) })
    expect((await get('/api/alerts?limit=5000')).body.message).toMatch(/^limit: at most 1000/)
    expect((await get('/api/alerts?severity=loud')).body.message).toMatch(/^severity/)
    expect((await get('/api/alerts?since=yesterday')).body.message).toBe('since: unknown parameter')
    expect((await get('/api/alerts?limit=1&limit=2')).body.message).toMatch(/^limit: given more than once/)
  })

  it('streams alerts as they arrive, after the recent ones asked for, filtered', async () => {
    const { feed, url, counts } = await serve()
    feed.add(testAlert('old1'))
    feed.add(testAlert('old2', { severity: 'info' }))
    feed.add(testAlert('old3'))
    const all = await readEvents(url('/api/alerts/stream?recent=2'))
    const critical = await readEvents(url('/api/alerts/stream?severity=critical'))
    expect(all.status).toBe(200)
    expect(all.res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    await waitFor(() => all.events.length >= 2, { what: 'the recent alerts' })
    feed.add(testAlert('new1', { severity: 'info' }))
    feed.add(testAlert('new2'))
    feed.add(testAlert('new2')) // a duplicate: the feed holds it already, no event
    await waitFor(() => all.events.length >= 4 && critical.events.length >= 1, { what: 'the new alerts' })
    expect(all.events.map((e) => alertIdOf(e.id))).toEqual(['old2', 'old3', 'new1', 'new2'])
    expect(all.events.every((e) => e.event === 'alert')).toBe(true)
    expect((JSON.parse(all.events[3]!.data) as Alert).evidence[0]!.headline).toMatch(/tariffs/)
    expect(critical.events.map((e) => alertIdOf(e.id))).toEqual(['new2'])
    expect(counts.opened).toBe(2)
    await all.close()
    await waitFor(() => counts.closed === 1, { what: 'the stream closed when its reader went' })
    feed.add(testAlert('new3'))
    await waitFor(() => critical.events.length === 2, { what: 'the other stream still told' })
    await critical.close()
  })

  it('resumes a stream after the last event id it saw, or says there is a gap', async () => {
    const { feed, url } = await serve({ capacity: 3 })
    for (const id of ['a', 'b', 'c']) feed.add(testAlert(id))
    // b and c were detected within the minute before a's detection: sent again, readers deduplicate.
    const resumed = await readEvents(url('/api/alerts/stream'), { 'last-event-id': 'a' })
    await waitFor(() => resumed.events.length >= 2, { what: 'what followed a' })
    expect(resumed.events.map((e) => alertIdOf(e.id))).toEqual(['b', 'c'])
    await resumed.close()
    // Detected long before the last seen one, and held before it: not sent again.
    feed.add(testAlert('d', { detectedAt: '2026-03-02T15:00:00.000Z' }))
    const later = await readEvents(url('/api/alerts/stream?lastEventId=d'))
    feed.add(testAlert('e', { detectedAt: '2026-03-02T15:00:01.000Z' }))
    await waitFor(() => later.events.length >= 1, { what: 'the next alert' })
    expect(later.events.map((e) => alertIdOf(e.id))).toEqual(['e'])
    await later.close()
    // 'a' has been evicted (capacity 3): the reader is told, and fetches /api/alerts to fill the gap.
    const gap = await readEvents(url('/api/alerts/stream'), { 'last-event-id': 'a' })
    await waitFor(() => gap.events.length >= 1, { what: 'the gap event' })
    expect(gap.events[0]).toEqual({
      event: 'gap',
      data: JSON.stringify({ lastEventId: 'a', reason: 'not held' }),
    })
    await gap.close()
  })

  it('resumes a stream on the gateway that sent its last event just after it: none of what it had is sent again', async () => {
    const { feed, url } = await serve()
    const first = await readEvents(url('/api/alerts/stream'))
    // Ten alerts detected 5 s apart while the reader is connected.
    const ids = Array.from({ length: 10 }, (_, i) => `a${i}`)
    ids.forEach((id, i) => {
      feed.add(testAlert(id, { detectedAt: new Date(T0 + i * 5_000).toISOString() }))
    })
    await waitFor(() => first.events.length === 10, { what: 'the ten alerts' })
    await first.close()
    // Its reconnect (the hourly age, a network blip), to the same gateway.
    const resumed = await readEvents(url('/api/alerts/stream'), { 'last-event-id': first.lastEventId! })
    feed.add(testAlert('next', { detectedAt: new Date(T0 + 50_000).toISOString() }))
    await waitFor(() => resumed.events.length >= 1, { what: 'the next alert' })
    expect(resumed.events.map((e) => alertIdOf(e.id))).toEqual(['next'])
    await resumed.close()
  })

  it('streams only the alerts of a scope named in another case, as a rules or desks file takes it', async () => {
    const { feed, url } = await serve()
    const cn = await readEvents(url('/api/alerts/stream?scope=region:cn'))
    feed.add(testAlert('us', { scope: { kind: 'region', id: 'US' } }))
    feed.add(testAlert('cn'))
    await waitFor(() => cn.events.length >= 1, { what: 'the alert on region:CN' })
    expect(cn.events.map((e) => alertIdOf(e.id))).toEqual(['cn'])
    await cn.close()
  })

  it('streams the alerts of every scope of a kind named with a wildcard, as a rules or desks file names them', async () => {
    const { feed, url } = await serve()
    // Before, region:* was accepted and matched nothing: the stream stayed silent.
    const regions = await readEvents(url('/api/alerts/stream?scope=region:*'))
    feed.add(testAlert('earths', { scope: { kind: 'commodity', id: 'rare_earths' } }))
    feed.add(testAlert('cn'))
    feed.add(testAlert('us', { scope: { kind: 'region', id: 'US' } }))
    await waitFor(() => regions.events.length >= 2, { what: 'the alerts on regions' })
    expect(regions.events.map((e) => alertIdOf(e.id))).toEqual(['cn', 'us'])
    await regions.close()
  })

  it('resumes a filtered stream closed at its age with no gap when its last match was evicted since, as the reader was sent every match; a real miss still gets one', async () => {
    // The feed holds 50 (GATEWAY_RECENT_ALERTS); streams are closed after 0.9-1 s (GATEWAY_STREAM_MAX_AGE_MS).
    const { feed, url, counts, streams } = await serve({ capacity: 50, maxAgeMs: 1_000 })
    const critical = url('/api/alerts/stream?severity=critical')
    const first = await readEvents(critical)
    feed.add(testAlert('crit-1'))
    await waitFor(() => first.events.length >= 1, { what: 'the critical alert' })
    // A day's info alerts, more than the feed holds: crit-1 is evicted, the desk missed nothing.
    for (let i = 0; i < 100; i++) feed.add(testAlert(`info-${i}`, { severity: 'info' }))
    expect(feed.entryOf('crit-1')).toBeUndefined()
    await waitFor(() => first.ended, { what: 'the stream closed at its age' })
    // No event for the alerts passed over, but the id a browser resumes with is the cursor's.
    expect(first.events.map((e) => `${e.event} ${alertIdOf(e.id)}`)).toEqual(['alert crit-1'])
    expect(first.lastEventId).toBe(eventIdOf('info-99', streams.bootId, feed.lastSeq))

    // EventSource reconnects with it: no gap, and the next critical alert comes.
    const resumed = await readEvents(critical, { 'last-event-id': first.lastEventId! })
    feed.add(testAlert('crit-2'))
    const crit2 = eventIdOf('crit-2', streams.bootId, feed.lastSeq)
    await waitFor(() => resumed.events.length >= 1, { what: 'the next critical alert' })
    expect(resumed.events.map((e) => `${e.event} ${alertIdOf(e.id)}`)).toEqual(['alert crit-2'])
    // The reader goes away (its network, not the age): what it resumes with is its last alert's id.
    await resumed.close()
    await waitFor(() => counts.closed === 2, { what: 'the resumed stream closed' })
    expect(resumed.lastEventId).toBe(crit2)

    // While it is away a critical alert comes, then more than the feed holds: a real miss, told.
    feed.add(testAlert('crit-3'))
    for (let i = 100; i < 200; i++) feed.add(testAlert(`info-${i}`, { severity: 'info' }))
    const missed = await readEvents(critical, { 'last-event-id': resumed.lastEventId! })
    await waitFor(() => missed.events.length >= 1, { what: 'the gap event' })
    expect(missed.events).toEqual([
      {
        event: 'gap',
        data: JSON.stringify({ lastEventId: crit2, reason: 'not held' }),
      },
    ])
    await missed.close()
  })

  it("sends a filtered stream's marks as mark events when asked (marks=true, the dashboard): resumed after one in ?lastEventId, no gap; after its last alert, the gap the page was told of", async () => {
    const { feed, url, streams } = await serve({ capacity: 50 })
    const critical = url('/api/alerts/stream?severity=critical&marks=true')
    const first = await readEvents(critical)
    feed.add(testAlert('crit-1'))
    // More info alerts than the feed holds: crit-1 is evicted, the page missed nothing.
    for (let i = 0; i < 100; i++) feed.add(testAlert(`info-${i}`, { severity: 'info' }))
    expect(feed.entryOf('crit-1')).toBeUndefined()
    await waitFor(() => first.events.some((e) => e.event === 'mark'), { what: 'a mark event' })
    const mark = first.events.findLast((e) => e.event === 'mark')!
    expect(mark).toEqual({ event: 'mark', id: first.lastEventId, data: '{}' })
    expect(alertIdOf(mark.id)).toMatch(/^info-/)
    await first.close()

    // The page opens a stream again itself (the browser closed one for good), with ?lastEventId=: the mark's.
    const resumed = await readEvents(
      url(`/api/alerts/stream?severity=critical&marks=true&lastEventId=${encodeURIComponent(mark.id!)}`),
    )
    feed.add(testAlert('crit-2'))
    await waitFor(() => resumed.events.some((e) => e.event === 'alert'), { what: 'the next critical alert' })
    expect(
      resumed.events.filter((e) => e.event !== 'mark').map((e) => `${e.event} ${alertIdOf(e.id)}`),
    ).toEqual(['alert crit-2'])
    await resumed.close()
    // What the page resumed with before (its last alert's id; the feed's first): told of a gap, though it
    // missed nothing.
    const fromAlert = await readEvents(
      url(
        `/api/alerts/stream?severity=critical&lastEventId=${encodeURIComponent(eventIdOf('crit-1', streams.bootId, 1))}`,
      ),
    )
    await waitFor(() => fromAlert.events.length >= 1, { what: 'the gap event' })
    expect(fromAlert.events.map((e) => e.event)).toEqual(['gap'])
    await fromAlert.close()
    // Without marks=true a mark stays an id alone (no event), as readers other than the page take it.
    const plain = await readEvents(url('/api/alerts/stream?severity=critical'))
    for (let i = 100; i < 200; i++) feed.add(testAlert(`info-${i}`, { severity: 'info' }))
    await waitFor(() => plain.lastEventId !== undefined, { what: 'a mark' })
    expect(plain.events).toEqual([])
    await plain.close()
  })

  it('refuses an empty lastEventId and one given with recent with a 400 naming them; a Last-Event-ID header resumes whatever the query says', async () => {
    const { feed, url, get, streams } = await serve()
    // Detected hours apart: a stream resumed after one is sent none of those before it again.
    for (const [id, hour] of [
      ['a', 10],
      ['b', 11],
      ['c', 12],
    ] as const)
      feed.add(testAlert(id, { detectedAt: `2026-03-02T${hour}:00:00.000Z` }))
    const refused = async (path: string) => {
      const got = await get(path)
      const head = await fetch(url(path), { method: 'HEAD' })
      return [got.status, got.body.message, head.status]
    }
    const conflict =
      'recent: not taken with lastEventId: a stream resumed after an alert is sent the held alerts after it, not the recent ones; give one or the other'
    expect(await refused('/api/alerts/stream?lastEventId=')).toEqual([
      400,
      'lastEventId: empty; give the id of the last alert seen, or leave lastEventId out to start afresh',
      400,
    ])
    expect(await refused('/api/alerts/stream?lastEventId=&recent=2')).toEqual([
      400,
      'lastEventId: empty; give the id of the last alert seen, or leave lastEventId out to start afresh',
      400,
    ])
    expect(await refused('/api/alerts/stream?recent=2&lastEventId=a')).toEqual([400, conflict, 400])
    expect(await refused('/api/alerts/stream?lastEventId=a&recent=0')).toEqual([400, conflict, 400])
    expect(await refused('/api/alerts/stream?lastEventId=a&lastEventId=b')).toEqual([
      400,
      'lastEventId: given more than once (give a list as one value: a,b)',
      400,
    ])
    expect(streams.size).toBe(0)

    // A browser's EventSource opened with ?recent=2 reconnects with the same URL and the header: it resumes
    // after b (recent=2 would be b and c).
    const reconnected = await readEvents(url('/api/alerts/stream?recent=2'), { 'last-event-id': 'b' })
    expect(reconnected.status).toBe(200)
    feed.add(testAlert('d', { detectedAt: '2026-03-02T15:00:00.000Z' }))
    await waitFor(() => reconnected.events.some((e) => alertIdOf(e.id) === 'd'), {
      what: 'the alert after the resume',
    })
    expect(reconnected.events.map((e) => alertIdOf(e.id))).toEqual(['c', 'd'])
    await reconnected.close()
    // Opened with ?lastEventId=, reconnected with the newer id it saw since in the header: the header's.
    const newer = await readEvents(url('/api/alerts/stream?lastEventId=a'), { 'last-event-id': 'd' })
    feed.add(testAlert('e', { detectedAt: '2026-03-02T15:00:01.000Z' }))
    await waitFor(() => newer.events.some((e) => alertIdOf(e.id) === 'e'), { what: 'the alert after d' })
    expect(newer.events.map((e) => alertIdOf(e.id))).toEqual(['e'])
    await newer.close()
    // An empty header names no event (browsers send none instead): the query's lastEventId is taken.
    const emptyHeader = await readEvents(url('/api/alerts/stream?lastEventId=d'), { 'last-event-id': '' })
    feed.add(testAlert('f', { detectedAt: '2026-03-02T15:00:02.000Z' }))
    await waitFor(() => emptyHeader.events.some((e) => alertIdOf(e.id) === 'f'), {
      what: 'the alerts after d',
    })
    expect(emptyHeader.events.map((e) => alertIdOf(e.id))).toEqual(['e', 'f'])
    await emptyHeader.close()
  })

  it('answers 503 catching_up for the alert list while the gateway catches up, and holds a stream until it has', async () => {
    let caughtUp = false
    const waiting = new Set<() => void>()
    const catchUp: CatchUpGate = {
      get caughtUp() {
        return caughtUp
      },
      onCaughtUp(f) {
        waiting.add(f)
        return () => waiting.delete(f)
      },
      isNews: () => false,
    }
    const { feed, get, url } = await serve({ catchUp })
    feed.add(testAlert('old'))
    const listing = await get('/api/alerts')
    expect([listing.status, listing.body.error, listing.headers.get('retry-after')]).toEqual([
      503,
      'catching_up',
      '1',
    ])
    expect((await get('/api/alerts', { method: 'HEAD' })).status).toBe(503)
    expect((await get('/api/alerts?limit=0')).status).toBe(400)
    const stream = await readEvents(url('/api/alerts/stream'))
    expect(stream.status).toBe(200)
    await waitFor(() => stream.comments.includes('catching up'), { what: 'the stream told to wait' })
    feed.add(testAlert('read-while-catching-up'))
    caughtUp = true
    for (const f of waiting) f()
    feed.add(testAlert('live'))
    await waitFor(() => stream.events.length >= 1, { what: 'the live alert' })
    expect(stream.events.map((e) => alertIdOf(e.id))).toEqual(['live'])
    expect((await get('/api/alerts')).body.alerts.map((a) => a.id)).toEqual([
      'live',
      'read-while-catching-up',
      'old',
    ])
    await stream.close()
  })

  it('refuses a stream over the limit, and keeps idle streams alive with comments', async () => {
    const { url, streams } = await serve({ maxStreams: 1, heartbeatMs: 1_000 })
    // A HEAD says what the stream would be, and opens none (it would never be ended).
    const head = await fetch(url('/api/alerts/stream'), { method: 'HEAD' })
    expect([head.status, head.headers.get('content-type')]).toEqual([200, 'text/event-stream; charset=utf-8'])
    expect(streams.size).toBe(0)
    const first = await readEvents(url('/api/alerts/stream'))
    const res = await fetch(url('/api/alerts/stream'))
    expect(res.status).toBe(503)
    // When to try again: a page's EventSource gives up on a 503, and its script retries after this.
    expect(res.headers.get('retry-after')).toBe(String(STREAM_RETRY_AFTER_S))
    expect(await res.json()).toMatchObject({ error: 'too_many_streams' })
    await waitFor(() => first.comments.includes('alive'), { what: 'a heartbeat comment' })
    streams.closeAll()
    await waitFor(() => first.ended, { what: 'the stream ended by the gateway' })
    expect(streams.size).toBe(0)
    await first.close()
  })

  it("refuses a client's stream past GATEWAY_MAX_STREAMS_PER_CLIENT with 429, admits another client's, and gives the place back when one closes", async () => {
    const { from, streams, counts } = await serve({ maxStreams: 10, maxStreamsPerClient: 2 })
    const stream = '/api/alerts/stream'
    const first = [await from('127.0.0.1', stream), await from('127.0.0.1', stream)]
    expect(first.map((s) => s.status)).toEqual([200, 200])
    const refused = await from('127.0.0.1', stream)
    expect([refused.status, refused.headers['retry-after'], refused.headers['content-type']]).toEqual([
      429,
      String(STREAM_RETRY_AFTER_S),
      'application/json; charset=utf-8',
    ])
    expect(refused.body).toEqual({
      error: 'too_many_client_streams',
      message: 'this client has as many alert streams open as allowed (GATEWAY_MAX_STREAMS_PER_CLIENT)',
    })
    // A HEAD says so too, and is not counted as a refused stream.
    expect((await from('127.0.0.1', stream, 'HEAD')).status).toBe(429)
    expect(counts.refused).toEqual(['client'])
    // Another client (another address) still gets a place.
    const other = await from('127.0.0.2', stream)
    expect(other.status).toBe(200)
    expect([streams.size, streams.openBy('127.0.0.1'), streams.openBy('127.0.0.2')]).toEqual([3, 2, 1])
    // One of the first client's readers goes: its place is given back.
    first[0]!.close()
    await waitFor(() => streams.openBy('127.0.0.1') === 1, { what: "the closed stream's place given back" })
    expect((await from('127.0.0.1', stream)).status).toBe(200)
    for (const s of [first[1]!, other]) s.close()
    await waitFor(() => streams.size === 1, { what: 'the other streams closed' })
    streams.closeAll()
    expect([streams.size, streams.clients]).toEqual([0, 0])
  })

  it('counts each reader behind a trusted proxy as its own client, and a spoofed X-Forwarded-For from any other peer as the peer', async () => {
    // 127.0.0.1 is the proxy; 127.0.0.2 a reader connected directly, setting the header itself.
    const { from, streams, counts } = await serve({
      maxStreams: 10,
      maxStreamsPerClient: 2,
      trustedProxies: '127.0.0.1',
    })
    const stream = '/api/alerts/stream'
    const via = (reader: string) => from('127.0.0.1', stream, 'GET', { 'x-forwarded-for': reader })
    const desk1 = [await via('203.0.113.7'), await via('203.0.113.7')]
    const desk2 = [await via('203.0.113.8'), await via('203.0.113.8')]
    expect([...desk1, ...desk2].map((s) => s.status)).toEqual([200, 200, 200, 200])
    // Four streams through one proxy address, two per desk: the proxy itself holds none.
    expect([
      streams.openBy('203.0.113.7'),
      streams.openBy('203.0.113.8'),
      streams.openBy('127.0.0.1'),
    ]).toEqual([2, 2, 0])
    // A desk at its limit is refused, whatever it puts left of what the proxy appended.
    const again = await from('127.0.0.1', stream, 'GET', { 'x-forwarded-for': '198.51.100.1, 203.0.113.7' })
    expect([again.status, again.body]).toEqual([
      429,
      expect.objectContaining({ error: 'too_many_client_streams' }),
    ])
    // A peer not trusted passes for no one else by naming another address each time.
    const spoofed = [1, 2, 3].map((i) => ({ 'x-forwarded-for': `198.51.100.${i}` }))
    const direct = [] as Awaited<ReturnType<typeof from>>[]
    for (const headers of spoofed) direct.push(await from('127.0.0.2', stream, 'GET', headers))
    expect(direct.map((s) => s.status)).toEqual([200, 200, 429])
    expect((await from('127.0.0.2', stream, 'HEAD', { 'x-forwarded-for': '198.51.100.4' })).status).toBe(429)
    expect([streams.size, streams.openBy('127.0.0.2'), streams.clients]).toEqual([6, 2, 3])
    expect(counts.refused).toEqual(['client', 'client'])
    // A desk's reader gone gives its place back to that desk.
    desk1[0]!.close()
    await waitFor(() => streams.openBy('203.0.113.7') === 1, { what: "the closed stream's place given back" })
    expect((await via('203.0.113.7')).status).toBe(200)
    streams.closeAll()
    expect([streams.size, streams.clients]).toEqual([0, 0])
  })

  it('keeps an idle stream whose reader takes what comes open with heartbeats rarer than the stall limit', async () => {
    // The stall limit runs only while the socket is full: an idle stream's heartbeats, however rare,
    // never start it, so GATEWAY_STREAM_HEARTBEAT_MS at or above GATEWAY_STREAM_STALL_MS cuts no one.
    const { url, streams, counts } = await serve({ heartbeatMs: 300, stallMs: 100 })
    const idle = await readEvents(url('/api/alerts/stream'))
    await waitFor(() => idle.comments.filter((c) => c === 'alive').length >= 3, {
      what: 'three heartbeats, each three stall limits apart',
    })
    expect([idle.ended, streams.size, counts.stalled, counts.closed]).toEqual([false, 1, 0, 0])
    await idle.close()
  })

  it('answers a HEAD as the GET would: 400 for a bad parameter, 503 over the stream limit, with no body', async () => {
    const { url, streams } = await serve({ maxStreams: 1 })
    const head = async (path: string) => {
      const res = await fetch(url(path), { method: 'HEAD' })
      return [res.status, res.headers.get('content-type'), await res.text()]
    }
    const json = 'application/json; charset=utf-8'
    expect(await head('/api/alerts/stream?recent=-1')).toEqual([400, json, ''])
    expect(await head('/api/alerts/stream?colour=red')).toEqual([400, json, ''])
    expect(await head('/api/alerts?limit=0')).toEqual([400, json, ''])
    expect(await head('/api/indicators?dimension=tariff&scope=CN')).toEqual([400, json, ''])
    expect(await head('/api/indicators/top?n=1000')).toEqual([400, json, ''])
    expect(await head('/api/indicators/top')).toEqual([200, json, ''])
    expect(await head('/api/alerts/stream?severity=critical')).toEqual([
      200,
      'text/event-stream; charset=utf-8',
      '',
    ])
    expect(streams.size).toBe(0)
    // The headers a GET's stream has, those a proxy reads (x-accel-buffering: no keeps nginx from
    // buffering it) included; only the framing differs, as a HEAD has no body.
    const framing = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding'])
    const headersOf = (res: Response) =>
      Object.fromEntries([...res.headers].filter(([name]) => !framing.has(name)))
    const headOnly = await fetch(url('/api/alerts/stream'), { method: 'HEAD' })
    const first = await readEvents(url('/api/alerts/stream'))
    expect(headersOf(headOnly)).toEqual(headersOf(first.res))
    expect(await head('/api/alerts/stream')).toEqual([503, json, ''])
    expect(streams.size).toBe(1)
    await first.close()
  })

  it('holds no more unsent alert-list answers than its budget: readers that take nothing get their answers cut, and others a 503 meanwhile', async () => {
    const { port, feed, get } = await serve({
      capacity: 1_000,
      answers: { maxUnsentBytes: 1024 * 1024, sendTimeoutMs: 1_000 },
    })
    // 1,000 alerts of 40 KB: an answer of 40 MB, far more than the sockets' buffers take.
    for (let i = 0; i < 1_000; i++) feed.add(testAlert(`a${i}`, { message: 'x'.repeat(40_000) }))
    // A reader that asks for the whole list and takes none of it (a hung script, a hostile client).
    const stuck = connect(port, '127.0.0.1')
    stuck.write('GET /api/alerts?limit=1000 HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n')
    stuck.on('error', () => {})
    cleanups.push(async () => stuck.destroy())
    // Read into its buffer (16 KB), never taken from it.
    await new Promise((resolve) => stuck.once('readable', resolve))
    // Its answer is held until it is sent: past the budget, other readers are told to come back, and
    // each one more such reader costs no more memory.
    for (let i = 0; i < 3; i++) {
      const busy = await get('/api/alerts?limit=1000')
      expect([busy.status, busy.body.error, busy.headers.get('retry-after')]).toEqual([503, 'busy', '1'])
    }
    // An answer not sent in time is cut: what it held is let go, and the list is served again.
    const served = await waitFor(
      async () => {
        const r = await get('/api/alerts?limit=1')
        return r.status === 200 && r
      },
      { what: 'the list served again' },
    )
    expect(served.body.alerts.map((a) => a.id)).toEqual(['a999'])
  })

  it('reads indicators from the active namespace, as of the watermark by default', async () => {
    const { indicators, get } = await serve()
    await indicators.applyBatch([
      tariffIn('CN', 'h1', T0 - 60_000, -0.9),
      tariffIn('CN', 'h2', T0 - 30_000, -0.7),
      tariffIn('US', 'h3', T0 - 20_000, 0.4),
    ])
    await indicators.advanceWatermark(T0 - 10_000)
    const top = await get('/api/indicators/top?dimension=tariff&kind=region&by=momentum&n=5')
    expect(top.status).toBe(200)
    expect(top.body.asOf).toBe(new Date(T0 - 10_000).toISOString())
    expect(top.body.namespace).toBe('v1')
    expect(top.body.indicators.map((u) => u.scope.id).sort()).toEqual(['CN', 'US'])
    const one = await get('/api/indicators?dimension=tariff&scope=region:CN&asOf=now')
    expect(one.body.asOf).toBe(new Date(T0).toISOString())
    expect(one.body.indicator).toMatchObject({
      dimension: 'tariff',
      scope: { kind: 'region', id: 'CN' },
      count: 2,
    })
    expect(one.body.indicator?.mean['15m']).toBeLessThan(-0.5)
    expect((await get('/api/indicators?dimension=tariff&scope=region:FR')).body.indicator).toBeNull()
    // A rebuild activated another namespace: readers follow it.
    const next = indicators.withNamespace('v2')
    await next.applyBatch([tariffIn('FR', 'h4', T0 - 5_000, 0.6)])
    await indicators.activateNamespace('v2')
    const after = await get('/api/indicators/top?kind=region')
    expect(after.body.namespace).toBe('v2')
    expect(after.body.indicators.map((u) => u.scope.id)).toEqual(['FR'])
  })

  it('reads the one indicator whose alerts the alert filter takes for a scope: region ids in any case, entities in any case, inner spaces', async () => {
    const { indicators, get } = await serve({
      // DE, its fields damaged: found as region:de too, and withheld rather than answered null as none.
      indicatorsFor: (store) => withDamagedIndicator(store, 'DE', (u) => ({ ...u, count: 2.5 })),
    })
    const contribution = (kind: 'commodity' | 'entity' | 'global' | 'region', id: string, h: string) => ({
      ...tariffIn(id, h, T0 - 60_000, -0.5),
      scope: { kind, id },
    })
    const stored = [
      contribution('region', 'CN', 'h1'),
      contribution('commodity', 'rare_earths', 'h2'),
      contribution('entity', 'TSLA', 'h3'),
      contribution('global', 'all', 'h4'),
      contribution('region', 'DE', 'h5'),
      contribution('entity', 'iShares', 'h6'),
      contribution('entity', 'Berkshire Hathaway', 'h9'),
    ]
    await indicators.applyBatch(stored)
    await indicators.advanceWatermark(T0 - 10_000)
    const idOf = async (scope: string) => {
      const r = await get(`/api/indicators?dimension=tariff&scope=${encodeURIComponent(scope)}`)
      expect(r.status).toBe(200)
      return r.body.indicator?.scope.id ?? null
    }
    /** The stored scopes whose alerts `?scope=<scope>` takes, as the gateway's alert filter reads it. */
    const filtered = (scope: string) => {
      const filter = parseAlertFilter(new URLSearchParams({ scope }))
      if (!filter.ok) throw new Error(filter.error)
      return stored
        .filter((c) => matches(filter.value, testAlert('a', { scope: c.scope })))
        .map((c) => c.scope.id)
    }
    const asked = {
      'region:cn': 'CN',
      'region:Cn': 'CN',
      'commodity:RARE_EARTHS': 'rare_earths',
      'entity:TSLA': 'TSLA',
      'global:ALL': 'all',
      // An entity in any case: a desk writing entity:tsla must not silently get none of TSLA's alerts.
      'entity:tsla': 'TSLA',
      'entity:Tsla': 'TSLA',
      'entity:iShares': 'iShares',
      'entity:ishares': null,
      'entity:tslaa': null,
      'entity:Berkshire Hathaway': 'Berkshire Hathaway',
      'region:fr': null,
      // Spaces around the id: before, looked up as " cn" and null.
      'region: cn ': 'CN',
    }
    for (const [scope, id] of Object.entries(asked)) {
      expect([scope, await idOf(scope)]).toEqual([scope, id])
      // The alert filter takes at least what /api/indicators reads (entity:ishares: the filter takes
      // iShares's alerts in any case, while a read finds a mixed-case id only as written).
      if (id !== null) expect([scope, filtered(scope)]).toEqual([scope, [id]])
      else if (scope !== 'entity:ishares') expect([scope, filtered(scope)]).toEqual([scope, []])
    }
    const de = await get('/api/indicators?dimension=tariff&scope=region:de')
    expect([de.body.indicator, de.body.withheld?.map((w) => [w.key, w.reason])]).toEqual([
      null,
      [['tariff|region:DE', 'invalid_state']],
    ])
  })

  /**
   * The store, its top() counted and held until `release()`: a Redis read that takes its time. The rest of
   * the store answers at once.
   */
  function heldTop() {
    const held = { calls: 0, release: () => {} }
    let gate = new Promise<void>((resolve) => {
      held.release = resolve
    })
    const wrap = (store: IndicatorStore) =>
      Object.assign(Object.create(store) as IndicatorStore, {
        top: async (...args: Parameters<IndicatorStore['top']>) => {
          held.calls++
          await gate
          return store.top(...args)
        },
      })
    /** Reads from now on answered at once. */
    const open = () => {
      gate = Promise.resolve()
      held.release()
    }
    return { held, wrap, open }
  }

  it('shares one /top read between readers asking the same at once or within INDICATORS_SHARED_MS, so 50 readers cost Redis one read', async () => {
    const { held, wrap } = heldTop()
    const { indicators, get, received } = await serve({ indicatorsSharedMs: 1_000, indicatorsFor: wrap })
    await indicators.applyBatch([
      tariffIn('CN', 'h1', T0 - 60_000, -0.9),
      tariffIn('US', 'h2', T0 - 20_000, 0.4),
    ])
    await indicators.advanceWatermark(T0 - 10_000)
    const path = '/api/indicators/top?dimension=tariff&kind=region&by=momentum&n=5'
    // 50 readers while the first read is under way: every one handed to the server before it ends.
    const answers = Array.from({ length: 50 }, () => get(path))
    await waitFor(() => received.requests === 50 && held.calls >= 1, { what: 'the 50 requests received' })
    held.release()
    const got = await Promise.all(answers)
    expect(held.calls).toBe(1)
    expect(new Set(got.map((r) => `${r.status} ${r.text}`)).size).toBe(1)
    expect(got[0]!.body.indicators.map((u) => u.scope.id).sort()).toEqual(['CN', 'US'])
    // Just finished: shared still, the same answer.
    expect((await get(path)).text).toBe(got[0]!.text)
    expect(held.calls).toBe(1)
    // Another question is another read.
    expect((await get(`${path.replace('n=5', 'n=1')}`)).body.indicators).toHaveLength(1)
    expect(held.calls).toBe(2)
  })

  it('answers an indicator request that would be one read more than GATEWAY_MAX_INDICATOR_READS in flight with 503 busy, joining one in flight is no read more', async () => {
    const { held, wrap, open } = heldTop()
    const { get, busy } = await serve({
      indicatorsSharedMs: 1_000,
      maxIndicatorReads: 2,
      indicatorsFor: wrap,
    })
    const top = (n: number) => `/api/indicators/top?n=${n}`
    const first = [get(top(1)), get(top(2))]
    await waitFor(() => held.calls === 2, { what: 'two reads in flight' })
    for (const path of [top(3), '/api/indicators?dimension=tariff&scope=region:CN']) {
      const refused = await get(path)
      expect([refused.status, refused.body, refused.headers.get('retry-after')]).toEqual([
        503,
        {
          error: 'busy',
          message:
            'the gateway has as many indicator reads in flight as allowed (GATEWAY_MAX_INDICATOR_READS)',
        },
        '1',
      ])
    }
    expect(busy.refused).toBe(2)
    // The same question as one in flight: that read's answer, not a refusal.
    const joined = get(top(1))
    open()
    expect((await Promise.all([...first, joined])).map((r) => r.status)).toEqual([200, 200, 200])
    expect(held.calls).toBe(2)
    // The reads done, their places are free.
    expect((await get(top(3))).status).toBe(200)
    expect((await get('/api/indicators?dimension=tariff&scope=region:CN')).status).toBe(200)
    expect(busy.refused).toBe(2)
  })

  it('never answers /top with a read begun longer than INDICATORS_SHARED_MS before the request', async () => {
    const { held, wrap, open } = heldTop()
    open()
    // asOf=now is read at the clock: an answer's asOf is when its read began.
    const { get } = await serve({ indicatorsSharedMs: 200, indicatorsFor: wrap, now: Date.now })
    const answers: { status: number; age: number; asOf: string }[] = []
    await waitFor(
      async () => {
        const asked = Date.now()
        const r = await get('/api/indicators/top?asOf=now')
        answers.push({ status: r.status, age: asked - Date.parse(r.body.asOf), asOf: r.body.asOf })
        return new Set(answers.map((a) => a.asOf)).size >= 4
      },
      { what: 'four reads', intervalMs: 10 },
    )
    expect(answers.filter((a) => a.status !== 200 || a.age > 200)).toEqual([])
    // Shared in between: fewer reads than answers.
    const reads = new Set(answers.map((a) => a.asOf)).size
    expect(held.calls).toBe(reads)
    expect(answers.length).toBeGreaterThan(reads)
  })

  it('refuses an asOf before the time the store can read at, naming it, rather than answer with newer values', async () => {
    const { indicators, get } = await serve()
    await indicators.applyBatch([
      tariffIn('CN', 'h1', T0 - 30 * 3_600_000, -0.9),
      tariffIn('CN', 'h2', T0 - 60_000, -0.8),
      tariffIn('CN', 'h3', T0 - 30_000, -0.8),
      tariffIn('US', 'h4', T0 - 5 * 3_600_000, 0.5),
    ])
    await indicators.advanceWatermark(T0)
    const iso = (ms: number) => new Date(ms).toISOString()
    const past = iso(T0 - 4 * 3_600_000)
    // The ranking: any scope may hold news up to the aggregator's event time.
    const top = await get(`/api/indicators/top?asOf=${past}`)
    expect([top.status, top.body.error]).toEqual([400, 'bad_request'])
    expect(top.body.message).toBe(
      `asOf: ${past} is before ${iso(T0)}, the earliest time these indicators can be read at (each is kept as of its newest headline, not as a history)`,
    )
    // One indicator: its newest headline.
    const cn = await get(`/api/indicators?dimension=tariff&scope=region:CN&asOf=${past}`)
    expect([cn.status, cn.body.message]).toEqual([
      400,
      `asOf: ${past} is before ${iso(T0 - 30_000)}, the earliest time these indicators can be read at (each is kept as of its newest headline, not as a history)`,
    ])
    // After its newest headline an indicator reads at the time asked for, as does the ranking from the watermark on.
    const us = await get(`/api/indicators?dimension=tariff&scope=region:US&asOf=${past}`)
    expect([us.status, us.body.asOf, us.body.indicator?.asOf]).toEqual([200, past, past])
    const atWatermark = await get(`/api/indicators/top?asOf=${iso(T0)}`)
    expect([atWatermark.status, atWatermark.body.asOf]).toEqual([200, iso(T0)])
    expect(atWatermark.body.indicators.map((u) => u.asOf)).toEqual([iso(T0), iso(T0)])
  })

  it('leaves out an indicator whose newest event time is damaged, naming it in `withheld`: counted at each read, logged at error at most once a minute', async () => {
    holdElapsed()
    let nowMs = T0
    const clock = { now: () => nowMs }
    // The aggregator's bound; only a clock set back can bring such a time to the memory store.
    const store = createMemoryIndicatorStore({ clock, maxRefAheadMs: 630_000 })
    const { get, logged, withheld } = await serve({ indicatorsFor: () => store, now: clock.now })
    await store.applyBatch([tariffIn('CN', 'h1', T0 - 60_000, -0.9), tariffIn('US', 'h2', T0 - 30_000, 0.4)])
    await store.advanceWatermark(T0 - 30_000)
    nowMs = T0 - 30 * 60_000
    const named = [
      {
        key: 'tariff|region:CN',
        dimension: 'tariff',
        scope: { kind: 'region', id: 'CN' },
        reason: 'damaged_ref',
      },
      {
        key: 'tariff|region:US',
        dimension: 'tariff',
        scope: { kind: 'region', id: 'US' },
        reason: 'damaged_ref',
      },
    ]
    const top = await get('/api/indicators/top?dimension=tariff&kind=region')
    expect([top.status, top.body.indicators, top.body.withheld]).toEqual([200, [], named])
    const one = await get('/api/indicators?dimension=tariff&scope=region:CN')
    expect([one.status, one.body.indicator, one.body.withheld]).toEqual([200, null, [named[0]]])
    expect(withheld).toEqual([2, 1])
    const errors = () => logged.filter((l) => l.level === 50)
    expect(errors()).toEqual([
      expect.objectContaining({
        msg: expect.stringMatching(/^indicators left out of an answer/),
        indicators: 2,
        sample: [
          { key: 'tariff|region:CN', ref: String(T0 - 60_000) },
          { key: 'tariff|region:US', ref: String(T0 - 30_000) },
        ],
        namespace: 'v1',
      }),
    ])
    // A minute on (the clock still set back), the next read is logged again.
    nowMs += WITHHELD_LOG_EVERY_MS
    elapse(WITHHELD_LOG_EVERY_MS)
    await get('/api/indicators?dimension=tariff&scope=region:US')
    expect(errors()).toHaveLength(2)
    expect(errors()[1]).toMatchObject({ sample: [{ key: 'tariff|region:US', ref: String(T0 - 30_000) }] })
    // The clock right again: read as ever, nothing withheld.
    nowMs = T0
    const whole = await get('/api/indicators/top?dimension=tariff&kind=region')
    expect(whole.body.indicators.map((u) => u.scope.id).sort()).toEqual(['CN', 'US'])
    expect(whole.body.withheld).toBeUndefined()
    expect(withheld).toEqual([2, 1, 1])
  })

  it('logs withheld indicators again a minute of elapsed time on, however far the wall clock is set back meanwhile', async () => {
    holdElapsed()
    let nowMs = T0
    const clock = { now: () => nowMs }
    const store = createMemoryIndicatorStore({ clock, maxRefAheadMs: 630_000 })
    const { get, logged } = await serve({ indicatorsFor: () => store, now: clock.now })
    await store.applyBatch([tariffIn('CN', 'h1', T0 - 60_000, -0.9)])
    // Set back: the stored time reads as ahead of it (damaged), logged once.
    nowMs = T0 - 30 * 60_000
    const errors = () => logged.filter((l) => l.level === 50)
    await get('/api/indicators?dimension=tariff&scope=region:CN')
    expect(errors()).toHaveLength(1)
    // Set back an hour more, a minute of elapsed time on: logged again (on the wall clock, not for an hour).
    nowMs -= 60 * 60_000
    elapse(WITHHELD_LOG_EVERY_MS)
    await get('/api/indicators?dimension=tariff&scope=region:CN')
    expect(errors()).toHaveLength(2)
    // Within the minute: not again.
    elapse(1_000)
    await get('/api/indicators?dimension=tariff&scope=region:CN')
    expect(errors()).toHaveLength(2)
  })

  it('leaves out an indicator whose update breaks the IndicatorUpdate contract, naming it in `withheld`: counted by reason at each read, logged at warn with the field at most once a minute, apart from damaged refs', async () => {
    holdElapsed()
    let nowMs = T0
    const clock = { now: () => nowMs }
    const memory = createMemoryIndicatorStore({ clock, maxRefAheadMs: 630_000 })
    await memory.applyBatch([
      tariffIn('CN', 'h0', T0 - 90_000, -0.9),
      tariffIn('CN', 'h1', T0 - 60_000, -0.9),
      tariffIn('US', 'h2', T0 - 30_000, 0.4),
    ])
    await memory.advanceWatermark(T0 - 30_000)
    const store = withDamagedIndicator(memory, 'CN', (u) => ({
      ...u,
      mean: { ...u.mean, '24h': Number.NaN },
    }))
    const { get, logged, withheldBy } = await serve({ indicatorsFor: () => store, now: clock.now })
    const cn = {
      key: 'tariff|region:CN',
      dimension: 'tariff',
      scope: { kind: 'region', id: 'CN' },
      reason: 'invalid_state',
    }
    const one = await get('/api/indicators?dimension=tariff&scope=region:CN')
    expect([one.status, one.body.indicator, one.body.withheld]).toEqual([200, null, [cn]])
    const top = await get('/api/indicators/top?dimension=tariff&kind=region&n=1')
    expect([top.status, top.body.indicators.map((u) => u.scope.id), top.body.withheld]).toEqual([
      200,
      ['US'],
      [cn],
    ])
    const warned = () => logged.filter((l) => l.level === 40)
    const line = {
      msg: expect.stringMatching(/^indicators left out of an answer: their stored state breaks/),
      indicators: 1,
      sample: [
        {
          key: 'tariff|region:CN',
          problem: 'mean.24h: Invalid input: expected number, received NaN',
        },
      ],
      namespace: 'v1',
    }
    expect(warned()).toEqual([expect.objectContaining(line)])
    // A damaged ref within the minute is logged (at error) on its own clock, and counted by its own reason.
    nowMs = T0 - 30 * 60_000
    const both = await get('/api/indicators/top?dimension=tariff&kind=region')
    expect(both.body.withheld?.map((w) => [w.scope.id, w.reason])).toEqual([
      ['CN', 'damaged_ref'],
      ['US', 'damaged_ref'],
    ])
    expect(logged.filter((l) => l.level === 50)).toHaveLength(1)
    nowMs = T0 + 1_000
    elapse(1_000)
    await get('/api/indicators?dimension=tariff&scope=region:CN')
    expect(warned()).toHaveLength(1)
    nowMs = T0 + WITHHELD_LOG_EVERY_MS
    elapse(WITHHELD_LOG_EVERY_MS - 1_000)
    await get('/api/indicators?dimension=tariff&scope=region:CN')
    expect(warned()).toEqual([expect.objectContaining(line), expect.objectContaining(line)])
    expect(withheldBy).toEqual([
      ['invalid_state', 1],
      ['invalid_state', 1],
      ['damaged_ref', 2],
      ['invalid_state', 1],
      ['invalid_state', 1],
    ])
  })

  it('refuses bad indicator queries, naming the parameter', async () => {
    const { get } = await serve()
    const message = async (q: string) => {
      const r = await get(q)
      expect(r.status).toBe(400)
      return r.body.message
    }
    expect(await message('/api/indicators/top?kind=global')).toMatch(/^kind: /)
    expect(await message('/api/indicators/top?n=1000')).toMatch(/^n: at most 100/)
    expect(await message('/api/indicators/top?by=volume')).toMatch(/^by: /)
    expect(await message('/api/indicators/top?asOf=yesterday')).toMatch(
      /^asOf: latest, now or an ISO 8601 time/,
    )
    expect(await message('/api/indicators/top?asOf=1')).toMatch(/^asOf: /)
    // A time that does not exist, or whose zone would be the server's: refused, not moved or guessed.
    for (const asOf of [
      '2026-02-30T00:00:00Z',
      '2026-03-02T24:00:00Z',
      '2026-03-02T14:00:60Z',
      '2026-03-02T14:00:00',
      '2026-03-02',
      '2026-03-02T14:00:00+24:00',
      'March 7',
    ])
      expect(
        await message(`/api/indicators?dimension=tariff&scope=region:CN&asOf=${encodeURIComponent(asOf)}`),
      ).toMatch(/^asOf: latest, now or an ISO 8601 time with Z or an offset/)
    expect(await message('/api/indicators?dimension=tariff&scope=CN')).toMatch(/^scope: kind:id/)
    expect(await message('/api/indicators?dimension=tariff&scope=planet:mars')).toMatch(/^scope\.kind: /)
    expect(await message('/api/indicators?scope=region:CN')).toMatch(/^dimension: /)
    // No id, or one longer than any scope id: before, looked up and answered null.
    expect(await message('/api/indicators?dimension=tariff&scope=region:%20')).toBe(
      'scope.id: no id after the colon; give kind:id, for example region:CN',
    )
    expect(await message(`/api/indicators?dimension=tariff&scope=entity:${'x'.repeat(65)}`)).toMatch(
      /^scope\.id: at most 64 characters, as a scope id is/,
    )
    // A list, as /api/alerts takes one: before, looked up as one id ("CN,region:US") and answered null.
    for (const scope of ['region:CN,region:US', 'region:CN,US', `region:${'CN,'.repeat(30)}US`])
      expect(await message(`/api/indicators?dimension=tariff&scope=${scope}`)).toBe(
        'scope.id: one scope, kind:id (region:CN), not a list: ask once for each scope',
      )
    // A wildcard names no one indicator: before, it was looked up as an id and answered null.
    for (const scope of ['region:*', 'region:C*', 'commodity:*'])
      expect(await message(`/api/indicators?dimension=tariff&scope=${scope}`)).toMatch(
        /^scope\.id: one indicator is read by its kind:id \(region:CN\).*\/api\/indicators\/top\?kind=<kind>$/,
      )
  })

  it('takes a numeric parameter in plain decimal digits within its range only, on every route, and answers anything else with a 400 naming it', async () => {
    const { feed, get } = await serve()
    feed.add(testAlert('a'))
    // Each numeric parameter of each route, with its documented range.
    const params = [
      { path: '/api/alerts', name: 'limit', min: 1, max: 1000 },
      { path: '/api/alerts/stream', name: 'recent', min: 0, max: 1000 },
      { path: '/api/indicators/top', name: 'n', min: 1, max: 100 },
    ]
    // What Number() (and so z.coerce) reads as a number, none of them plain decimal digits.
    const lenient = [
      '1e2',
      '0x10',
      '0b11',
      '0o7',
      ' 3',
      '3 ',
      '\t3',
      '3\n',
      '1.0',
      '2.',
      '.5',
      '+5',
      '-0',
      'Infinity',
    ]
    const notDecimal = [...lenient, '1_0', '1,2', '\u0663', 'ten']
    for (const { path, name, min, max } of params) {
      const range = `a whole number from ${min} to ${max}`
      for (const method of ['GET', 'HEAD']) {
        for (const v of notDecimal) {
          const r = await get(`${path}?${name}=${encodeURIComponent(v)}`, { method })
          expect([v, method, r.status]).toEqual([v, method, 400])
          if (method === 'GET')
            expect([v, r.body]).toEqual([
              v,
              { error: 'bad_request', message: `${name}: ${range} in decimal digits (0-9) only` },
            ])
        }
        const empty = await get(`${path}?${name}=`, { method })
        expect([method, empty.status]).toEqual([method, 400])
        if (method === 'GET') expect(empty.body.message).toBe(`${name}: empty; give ${range}`)
      }
      // Digits out of range say which bound; the bounds themselves, and leading zeros, are taken.
      if (min > 0)
        expect((await get(`${path}?${name}=${min - 1}`)).body.message).toBe(`${name}: at least ${min}`)
      expect((await get(`${path}?${name}=${max + 1}`)).body.message).toBe(`${name}: at most ${max}`)
      expect((await get(`${path}?${name}=99999999999999999999999`)).body.message).toBe(
        `${name}: at most ${max}`,
      )
      for (const v of [String(min), String(max), `00${max}`])
        expect([v, (await get(`${path}?${name}=${v}`, { method: 'HEAD' })).status]).toEqual([v, 200])
    }
    expect((await get('/api/alerts?limit=001')).body.alerts.map((a) => a.id)).toEqual(['a'])
  })

  it('answers a store that fails with a 503 naming no host nor error, and a request id the log line has with the error', async () => {
    // What ioredis says of a Redis it cannot reach: where it looked, for the log, not for every caller.
    const refused = Object.assign(
      new Error('connect ECONNREFUSED 10.20.30.40:6379 (redis-primary.internal)'),
      {
        code: 'ECONNREFUSED',
      },
    )
    const { get, logged } = await serve({
      indicatorsFor: (store) =>
        Object.assign(Object.create(store) as IndicatorStore, {
          activeNamespace: () => Promise.reject(refused),
        }),
    })
    for (const path of ['/api/indicators/top', '/api/indicators?dimension=tariff&scope=region:CN']) {
      const r = await get(path)
      expect(r.status).toBe(503)
      expect(r.body).toEqual({
        error: 'unavailable',
        message: 'the indicators cannot be read now; try again later',
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      })
      expect(r.headers.get('x-request-id')).toBe(r.body.requestId)
      // As the gateway's other 503s (catching_up, busy, too_many_streams): when to try again.
      expect(r.headers.get('retry-after')).toBe('1')
      expect(r.text).not.toMatch(/10\.20\.30\.40|6379|redis-primary|ECONNREFUSED/)
      const line = logged.find((l) => l.requestId === r.body.requestId)
      expect(line).toMatchObject({
        level: 40,
        msg: 'indicators unavailable',
        path: path.split('?')[0],
        err: { message: expect.stringContaining('10.20.30.40:6379') },
      })
    }
    // A request id a proxy set is kept (one of a safe form), so its log and ours meet.
    const proxied = await get('/api/indicators/top', { headers: { 'x-request-id': 'lb-7f3a.1' } })
    expect([proxied.body.requestId, proxied.headers.get('x-request-id')]).toEqual(['lb-7f3a.1', 'lb-7f3a.1'])
    const odd = await get('/api/indicators/top', { headers: { 'x-request-id': 'a b\u00e9' } })
    expect(odd.body.requestId).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('answers a store fault that is no outage (a bug, a reply that is the same at every try) with a 500, not a 503 to try again', async () => {
    // A reply Redis gives at every try (a key of another type): no outage, trying again changes nothing.
    const wrongType = Object.assign(
      new Error('WRONGTYPE Operation against a key holding the wrong kind of value'),
      { name: 'ReplyError' },
    )
    const bug = new TypeError("Cannot read properties of undefined (reading 'mean')")
    for (const err of [bug, wrongType]) {
      const { get, logged } = await serve({
        indicatorsFor: (store) =>
          Object.assign(Object.create(store) as IndicatorStore, {
            activeNamespace: () => Promise.reject(err),
          }),
      })
      for (const path of ['/api/indicators/top', '/api/indicators?dimension=tariff&scope=region:CN']) {
        const r = await get(path)
        expect([r.status, r.body.error, r.body.message]).toEqual([500, 'internal', 'internal error'])
        expect(r.text).not.toMatch(/WRONGTYPE|mean/)
        expect(logged.find((l) => l.requestId === r.body.requestId)).toMatchObject({
          level: 50,
          msg: 'request failed',
          path: path.split('?')[0],
          err: { message: err.message },
        })
      }
    }
    // An outage of ioredis's own (commands given up while disconnected) stays a 503.
    const gone = Object.assign(new Error('Reached the max retries per request limit (which is 1).'), {
      name: 'MaxRetriesPerRequestError',
    })
    const { get } = await serve({
      indicatorsFor: (store) =>
        Object.assign(Object.create(store) as IndicatorStore, {
          activeNamespace: () => Promise.reject(gone),
        }),
    })
    expect((await get('/api/indicators/top')).status).toBe(503)
  })

  it('answers a route that throws with a 500 of a stable code and a request id, the error in the log only', async () => {
    const { get, logged } = await serve({
      feedFor: (feed) =>
        Object.assign(Object.create(feed) as AlertFeed, {
          recent: () => {
            throw new TypeError(
              "Cannot read properties of undefined (reading 'seq') at /srv/gateway/alert-feed.ts:88",
            )
          },
        }),
    })
    const r = await get('/api/alerts')
    expect(r.status).toBe(500)
    expect(r.body).toEqual({
      error: 'internal',
      message: 'internal error',
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    })
    expect(r.text).not.toMatch(/seq|srv|alert-feed|TypeError/)
    expect(r.headers.get('x-request-id')).toBe(r.body.requestId)
    expect(logged.find((l) => l.requestId === r.body.requestId)).toMatchObject({
      level: 50,
      msg: 'request failed',
      path: '/api/alerts',
      err: { type: 'TypeError', message: expect.stringContaining("reading 'seq'") },
    })
    // A caller's own mistake still says what it is.
    expect((await get('/api/alerts?limit=0')).body.message).toMatch(/^limit: at least 1/)
  })
})
