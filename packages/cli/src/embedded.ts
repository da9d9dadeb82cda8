import { isUtf8 } from 'node:buffer'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import {
  type Alert,
  AlertReader,
  type Clock,
  createTopicCatalogue,
  LIMITS,
  type RawHeadline,
  systemClock,
} from '@tradepulse/contracts'
import type { IndicatorStore, WithheldIndicator } from '@tradepulse/indicators'
import { IngestConfig, type IngestLimits, type IngestRejection, parseRawRecord } from '@tradepulse/ingest'
import {
  BaseConfig,
  createMemoryBus,
  createMemoryTransport,
  defaultGroupId,
  duplicateKeyPath,
  exitCodeForSignal,
  type KafkaWorker,
  type Logger,
  listen,
  loadConfig,
  type MemoryBus,
  setValue,
  setVariables,
  TradepulseError,
} from '@tradepulse/platform'
import { formatIndicatorTable, withheldNotice } from './commands/indicators.ts'
import { formatAlert as formatAlertLine, ruleColumnWidth, ruleIdsOf } from './commands/tail.ts'
import { readLines } from './read-lines.ts'
import { reloadRulesOnHangup } from './reload-on-hangup.ts'
import {
  dashboardLine,
  EMBEDDED_DEFAULTS,
  refuseSharedGroupId,
  refuseSharedHttpPort,
  WORKERS,
} from './workers.ts'

export type EmbeddedOptions = {
  workers: string[]
  feed: (RawHeadline & { publishedAt: string })[]
  /**
   * Simulated seconds played per real second, or 'max' for as fast as the pipeline goes ('step' is the
   * same as 'max'). At any speed a headline goes in only once every worker has handled everything before
   * it, so every speed gives the same alerts (see `play`).
   */
  speed: number | 'max' | 'step'
  follow: boolean
  log: Logger
  env: Record<string, string | undefined>
  out: NodeJS.WritableStream
  /** Port of POST /headlines with --follow (0: any free port). */
  httpPort?: number
  clock?: Clock
  /**
   * Called once the port is bound and the workers have started, before anything plays (the banner), with
   * the workers running, each with its health and metrics server (healthLine), and the host they listen on.
   */
  onStarted?: (running: { workers: { name: string; app: KafkaWorker }[]; httpHost: string }) => void
}

/**
 * The environment of the embedded workers: EMBEDDED_DEFAULTS under the given one. A blank variable counts
 * as unset, as everywhere (loadConfig), so it leaves the embedded default in place (HTTP_PORT= keeps
 * port 0, where it would otherwise mean the worker's fixed port).
 */
function embeddedEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  // The in-memory bus's topics exist only as the workers create them: TOPICS_AUTO_CREATE=false in the
  // shell (meant for a Kafka deployment) would stop them, with advice no command could follow.
  return { ...EMBEDDED_DEFAULTS, ...setVariables(env), TOPICS_AUTO_CREATE: 'true' }
}

/** Every worker's configuration as the embedded default will load it: throws naming each bad variable. */
export function checkEmbeddedConfig(workers: string[], env: Record<string, string | undefined>): void {
  const merged = embeddedEnv(env)
  for (const name of workers) loadConfig(WORKERS[name]!.config, merged)
}

export type EmbeddedRun = {
  alerts: Alert[]
  indicators: IndicatorStore | undefined
  bus: MemoryBus
  /** The newest event time of the headlines that went through (what the indicators stand at), if any. */
  newestEventMs: number | undefined
}

/** The newest publishedAt on the headlines topic: the event time the run's indicators stand at. */
function newestEventMs(bus: MemoryBus, topic: string): number | undefined {
  if (!bus.hasTopic(topic)) return undefined
  let newest: number | undefined
  for (let p = 0; p < bus.partitions(topic); p++) {
    for (let from = 0; ; ) {
      const records = bus.read(topic, p, from, 10_000)
      if (records.length === 0) break
      for (const r of records) {
        const ms = Date.parse(
          (JSON.parse(r.value?.toString() ?? '{}') as { publishedAt?: string }).publishedAt ?? '',
        )
        if (Number.isFinite(ms) && (newest === undefined || ms > newest)) newest = ms
      }
      // By offset: the front of a partition may have been dropped (keepConsumed).
      from = records.at(-1)!.offset + 1
    }
  }
  return newest
}

/**
 * Every worker in one process over the in-memory bus and stores: the embedded default. Plays the feed,
 * prints alerts as they fire, waits until every worker has caught up, prints indicator tables.
 */
export async function runEmbedded(opts: EmbeddedOptions): Promise<EmbeddedRun> {
  refuseSharedGroupId(opts.workers, opts.env)
  refuseSharedHttpPort(opts.workers, opts.env, 'embedded')
  // What every worker has consumed is dropped but for a tail (the newest headlines, read at exit, are in
  // it): a --follow run of days would otherwise hold every record it was ever given.
  const bus = createMemoryBus({ keepConsumed: 1_000 })
  const transport = createMemoryTransport(bus)
  const clock = opts.clock ?? systemClock
  const env = embeddedEnv(opts.env)
  const topics = createTopicCatalogue(env.TRADEPULSE_TOPIC_PREFIX ?? 'tradepulse.')
  const stores: { indicators?: IndicatorStore } = {}
  const apps: { name: string; app: KafkaWorker; groupId: string; inputs: string[] }[] = opts.workers.map(
    (name) => {
      const w = WORKERS[name]!
      const config = loadConfig(w.config, env) as BaseConfig
      const extra = w.embedded?.({ clock, env, config: config as never, stores }) ?? {}
      return {
        name,
        app: w.build(config as never, { log: opts.log, transport, ...extra }),
        groupId: defaultGroupId(config, name),
        inputs: w.inputs(topics),
      }
    },
  )
  // Ctrl-C (or SIGTERM) at any moment, from before the first await (`start` hands its signals over as it
  // calls this) to the sample still playing: stop taking headlines, let the workers finish what they
  // took, print what came of it. A second one, either, exits at once with its own code (exitCodeForSignal:
  // 130 for SIGINT, 143 for SIGTERM).
  let stopRequested = false
  let stopped: () => void = () => {}
  const whenStopped = new Promise<void>((resolve) => {
    stopped = resolve
  })
  const exitAtOnce = (signal: NodeJS.Signals) => process.exit(exitCodeForSignal(signal))
  const stopListening = () => {
    process.off('SIGINT', requestStop)
    process.off('SIGTERM', requestStop)
  }
  function requestStop() {
    stopRequested = true
    // Listened for before the stop's listeners go: a signal with no listener left is no longer watched,
    // and one already on its way (a second signal close behind the first) would be lost.
    process.once('SIGINT', exitAtOnce)
    process.once('SIGTERM', exitAtOnce)
    stopListening()
    stopped()
  }
  process.once('SIGINT', requestStop)
  process.once('SIGTERM', requestStop)
  // The port is taken before any worker starts: a busy one is refused before anything starts or plays.
  const server = opts.follow
    ? await bindHeadlineServer(opts.httpPort ?? 0).catch((err: unknown) => {
        stopListening()
        throw err
      })
    : undefined
  for (const a of apps) await a.app.start()
  opts.onStarted?.({
    workers: apps.map(({ name, app }) => ({ name, app })),
    httpHost: loadConfig(BaseConfig.pick({ HTTP_HOST: true }), env).HTTP_HOST,
  })

  // Alerts are printed as they reach the alerts topic, like a desk's consumer would see them.
  const ruleWidth = ruleColumnWidth(ruleIdsOf(setValue(env.ALERTER_RULES_FILE)))
  // Alerts show the event time of their headline (or the newest one behind an indicator), the feed's
  // timeline: the detection time of a played feed is a few seconds of today for four days of news.
  const formatAlert = (a: Alert) => formatAlertLine(a, { evidence: false, time: 'published', ruleWidth })
  const alerts: Alert[] = []
  const readOffsets = new Map<number, number>()
  const drainAlerts = () => {
    if (!bus.hasTopic(topics.alerts.name)) return
    const drained: Alert[] = []
    for (let p = 0; p < bus.partitions(topics.alerts.name); p++) {
      const from = readOffsets.get(p) ?? 0
      const records = bus.read(topics.alerts.name, p, from, 10_000)
      for (const r of records) {
        const parsed = AlertReader.safeParse(JSON.parse(r.value?.toString() ?? 'null'))
        if (parsed.success) drained.push(parsed.data)
      }
      if (records.length > 0) readOffsets.set(p, records.at(-1)!.offset + 1)
    }
    // The alerts topic's partitions are read one after another: in the order of their headlines' times
    // they read as the story went (the lines show those times). A stable sort keeps ties as read.
    drained.sort((a, b) => Date.parse(a.publishedAt) - Date.parse(b.publishedAt))
    for (const alert of drained) {
      alerts.push(alert)
      opts.out.write(`${formatAlert(alert)}\n`)
    }
  }
  const printer = setInterval(drainAlerts, 50)

  const produceValues = (records: RawRecord[]) =>
    bus.produce(records.map((r) => ({ topic: topics.raw.name, key: r.key, value: r.value })))
  const produce = (raws: unknown[]) =>
    produceValues(
      raws.map((r) => ({
        key: typeof (r as RawHeadline).id === 'string' ? (r as RawHeadline).id! : null,
        value: JSON.stringify(r),
      })),
    )
  // What a headline given on stdin or POST /headlines is checked with: ingest's own parse, with the
  // embedded ingest's settings, so what is taken is what ingest takes, and the rest is refused at once
  // with ingest's reason (the embedded default's dlq is read by nobody).
  const ingestConfig = loadConfig(IngestConfig, env)
  const check = recordChecker(
    {
      maxRecordBytes: ingestConfig.INGEST_MAX_RECORD_BYTES,
      maxHeadlineChars: LIMITS.maxHeadlineChars,
      maxBodyChars: LIMITS.maxBodyChars,
      maxFutureMs: ingestConfig.INGEST_MAX_FUTURE_MS,
    },
    ingestConfig.INGEST_DEFAULT_SOURCE,
  )
  // Headlines posted while the sample plays go in among it; the ready line comes once it has played.
  const intake = server && acceptHeadlines(server, check, produceValues)
  // Nothing more is taken from the stop on: the workers stop after it, and a headline answered 202 then
  // went in behind ingest's stop, never ingested.
  if (intake) void whenStopped.then(intake.close)
  const allCaughtUp = async () => {
    for (const a of apps) await caughtUp(bus, a.groupId, a.inputs)
  }
  await play(opts.feed, opts.speed, produce, allCaughtUp, whenStopped, () => stopRequested)

  if (server && !stopRequested) {
    // Before the ready line: a SIGHUP sent on seeing it must find the handler, not the default exit.
    const stopReloading = reloadRulesOnHangup(
      apps.map((a) => a.app),
      { stop: () => stopped() },
    )
    announceHeadlines(server, opts.log)
    const gateway = apps.find((a) => a.name === 'gateway')
    if (gateway) process.stderr.write(`${dashboardLine(gateway.app)}\n`)
    // Lines as readLines splits them (node:readline would also end a line at U+2028 or U+2029, which JSON
    // holds raw inside strings, cutting a headline in two and shifting every line number after it).
    let stdinStopped = false
    const stdinDone = takeLines(process.stdin, check, produceValues, (line) =>
      process.stderr.write(line),
    ).catch((err: Error) => {
      if (!stdinStopped) process.stderr.write(`stdin: ${err.message}\n`)
    })
    await whenStopped
    stopReloading()
    // Reading stops: what stdin still holds is not taken, as Ctrl-C stops the POSTs.
    stdinStopped = true
    process.stdin.destroy()
    await stdinDone
  }
  stopListening()

  // Stop in pipeline order, each worker once everything upstream has been handled by it, so the last
  // indicator updates (flushed when the aggregator stops) still reach the alerter.
  for (const a of apps) {
    await caughtUp(bus, a.groupId, a.inputs)
    await a.app.stop()
  }
  intake?.close()
  clearInterval(printer)
  drainAlerts()
  return {
    alerts,
    indicators: stores.indicators,
    bus,
    newestEventMs: newestEventMs(bus, topics.headlines.name),
  }
}

async function caughtUp(bus: MemoryBus, groupId: string, inputs: string[]): Promise<void> {
  for (;;) {
    const behind = inputs.some((t) => {
      if (!bus.hasTopic(t)) return false
      for (let p = 0; p < bus.partitions(t); p++)
        if (bus.committed(groupId, t, p) < bus.endOffset(t, p)) return true
      return false
    })
    if (!behind) return
    await bus.waitForData(20)
  }
}

/**
 * Produces the feed in published order, each headline once the pipeline has handled the ones before it
 * and, at a finite speed, not before its time (spaced as the publication times were). Waiting for the
 * pipeline makes the alerts the same at every speed: produced in one go, the feed reached the aggregator
 * as a few large batches, each publishing one indicator update per key, so indicator rules saw only
 * the end of each batch's moves and fired fewer alerts (57 against 78 on the sample); one headline at a
 * time, every update is seen. In memory a step costs about 4 ms, so "max" plays the sample in about a
 * second.
 */
async function play(
  feed: EmbeddedOptions['feed'],
  speed: EmbeddedOptions['speed'],
  produce: (raws: unknown[]) => void,
  caughtUp: () => Promise<void>,
  whenStopped: Promise<void>,
  isStopped: () => boolean,
) {
  if (feed.length === 0) return
  // Played on the monotonic clock: on Date.now a host clock set back an hour held the next headline that
  // hour more, one set on made the headlines due in it all go at once.
  const t0 = performance.now()
  const first = Date.parse(feed[0]!.publishedAt)
  for (const h of feed) {
    await caughtUp()
    if (typeof speed === 'number') {
      const wait = t0 + (Date.parse(h.publishedAt) - first) / speed - performance.now()
      if (wait > 0) {
        let timer: NodeJS.Timeout | undefined
        await Promise.race([new Promise((r) => (timer = setTimeout(r, wait))), whenStopped])
        clearTimeout(timer)
      }
    }
    if (isStopped()) return
    produce([h])
  }
}

/** The server of POST /headlines, listening; a busy port is a one-line error naming --http-port. */
async function bindHeadlineServer(port: number): Promise<Server> {
  const server = createServer()
  try {
    await listen(server, port, '127.0.0.1')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new TradepulseError(
      'CONFIG_INVALID',
      code === 'EADDRINUSE'
        ? `--http-port: port ${port} on 127.0.0.1 is in use; choose another (0: any free port)`
        : `--http-port: cannot listen on 127.0.0.1:${port}: ${(err as Error).message}`,
    )
  }
  return server
}

/** A raw record for headlines.raw: its key (the headline's id, if any) and its value as given. */
export type RawRecord = { key: string | null; value: string }

export type Checked = { ok: true; record: RawRecord } | { ok: false; reason: IngestRejection; error: string }

/**
 * A record value (JSON text) → the record to produce, or ingest's reason and message for sending it to
 * the dlq: ingest's own parse (parseRawRecord, pure) on the very bytes produced, so a record it would
 * refuse is refused here, not answered "accepted" and then dead-lettered.
 */
export function recordChecker(limits: IngestLimits, defaultSource: string): (value: string) => Checked {
  return (value) => {
    const parsed = parseRawRecord(Buffer.from(value), Date.now(), limits, defaultSource)
    if (!parsed.ok) return { ok: false, reason: parsed.reason, error: parsed.message }
    // Keyed as any producer keys it: by the id given, or none (ingest then makes one from the text). The
    // JSON as ingest read it: after the byte-order mark it skips at the start of a record.
    const id = (JSON.parse(value.startsWith(BOM) ? value.slice(1) : value) as { id?: unknown }).id
    return { ok: true, record: { key: typeof id === 'string' ? id : null, value } }
  }
}

/**
 * NDJSON raw headlines of --follow's stdin, as they come: each line checked as ingest checks it, the good
 * ones produced, the others answered on `stderr` by line (`stdin:N: …`), and the input goes on.
 */
export async function takeLines(
  input: AsyncIterable<string | Uint8Array>,
  check: (value: string) => Checked,
  produce: (records: RawRecord[]) => void,
  stderr: (line: string) => void,
): Promise<void> {
  for await (const l of readLines(input)) {
    if (!('text' in l)) {
      stderr(`stdin:${l.line}: ${l.error} (${l.problem})\n`)
      continue
    }
    if (!l.text.trim()) continue
    const r = check(l.text)
    if (r.ok) produce([r.record])
    else stderr(`stdin:${l.line}: not a raw headline: ${r.error} (${r.reason})\n`)
  }
}

const BOM = '\ufeff'
const hasBom = (b: Buffer) => b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf
/** The white space JSON allows around a value (space, tab, CR, LF), at the start or the end. */
const JSON_SPACE_AROUND = /^[ \t\r\n]+|[ \t\r\n]+$/g

/** The first line (from 1) of `bytes` that is not valid UTF-8. */
function firstBadLine(bytes: Buffer): number {
  let line = 1
  for (let from = 0; ; line++) {
    const nl = bytes.indexOf(0x0a, from)
    if (!isUtf8(bytes.subarray(from, nl === -1 ? bytes.length : nl)) || nl === -1) return line
    from = nl + 1
  }
}

const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))

/**
 * Why a request to the headline server comes from no local client (curl, a script), if it does not:
 * - one a browser sends for a web page: it carries `Origin` (a browser sends one on every POST, `null`
 *   from a sandboxed frame, a file or a redirect) or a `Sec-Fetch-Site` other than `none` (a page of
 *   another site, or a name rebound to this address). A page's `fetch(…, { mode: 'no-cors' })` or a form
 *   with enctype text/plain is sent without a preflight, so the server itself must refuse it: 403;
 * - one addressed to another name (DNS rebinding: a page's own name made to point at 127.0.0.1, its
 *   request then same-origin to the browser): its `Host` is not 127.0.0.1, localhost or [::1] with the
 *   port it reached (the server listens on 127.0.0.1 only; the port may be left out only when it is 80): 421.
 * The content type is not checked: curl -d sends application/x-www-form-urlencoded, Node's fetch of a
 * string text/plain, and both are documented ways to post.
 */
function refusedCaller(req: IncomingMessage): { status: number; body: unknown } | undefined {
  const port = req.socket.localPort
  const host = req.headers.host?.toLowerCase()
  const names = ['127.0.0.1', 'localhost', '[::1]']
  const hosts = names.flatMap((n) => (port === 80 ? [n, `${n}:${port}`] : [`${n}:${port}`]))
  if (host === undefined || !hosts.includes(host)) {
    return {
      status: 421,
      body: {
        error: 'host_refused',
        message: `${host === undefined ? 'no Host header' : `Host ${JSON.stringify(req.headers.host)}`}: this server answers only to ${hosts.join(', ')} (another name pointing here, as in DNS rebinding, is refused); nothing was taken`,
      },
    }
  }
  const origin = req.headers.origin
  const site = req.headers['sec-fetch-site']
  if (origin !== undefined || (site !== undefined && site !== 'none')) {
    return {
      status: 403,
      body: {
        error: 'browser_refused',
        message: `a request sent by a web page (${origin !== undefined ? `Origin ${JSON.stringify(origin)}` : `Sec-Fetch-Site ${JSON.stringify(site)}`}) is refused: POST /headlines takes headlines from local clients (curl, scripts) only, never from a browser; nothing was taken`,
      },
    }
  }
  return undefined
}

/**
 * POST /headlines: a JSON object, a JSON array, or NDJSON of raw headlines, after one byte-order mark at
 * the very start if there is one. Each is checked as ingest
 * checks it (recordChecker); the good ones are taken, and the answer is 202 with their count and each
 * refused one's position (`index`, from 0; NDJSON also its `line`), ingest's `reason` code and message,
 * or 400 when none was taken. A body that is not valid UTF-8 is refused whole (400, `invalid_utf8`,
 * naming its first bad line), so is an array with a key given twice in an item (400, `schema_invalid`),
 * and one past MAX_POST_BYTES (413). A request from a web page or to another Host is refused first,
 * whatever its method and path (403 or 421, refusedCaller). `close` (idempotent) stops taking them: the server stops listening,
 * and a request still coming on a connection open before is answered 503 (`stopping`), nothing taken.
 */
function acceptHeadlines(
  server: Server,
  check: (value: string) => Checked,
  produce: (records: RawRecord[]) => void,
): { close(): void } {
  let closed = false
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const refused = refusedCaller(req)
    if (refused) {
      // Answered once the body is read and dropped (a client still sending would see its write fail).
      req.resume()
      req.on('end', () => json(res, refused.status, refused.body))
      return
    }
    if (req.method !== 'POST' || req.url !== '/headlines') {
      json(res, 404, { error: 'not_found' })
      return
    }
    // Bytes, decoded once at the end (a character may be cut across chunks); past the limit the rest is
    // read and dropped, so a huge body costs no memory.
    const chunks: Buffer[] = []
    let bytes = 0
    req.on('data', (d: Buffer) => {
      bytes += d.length
      if (bytes <= MAX_POST_BYTES) chunks.push(d)
      else chunks.length = 0
    })
    req.on('end', () => {
      if (closed) {
        // No Retry-After: the process is stopping, and nothing here will take it later.
        res.setHeader('connection', 'close')
        json(res, 503, { error: 'stopping', message: 'tradepulse start is stopping; nothing was taken' })
        return
      }
      if (bytes > MAX_POST_BYTES) {
        json(res, 413, { error: 'too_large' })
        return
      }
      const answer = answerHeadlines(Buffer.concat(chunks), check)
      produce(answer.records)
      json(res, answer.status, answer.body)
    })
  })
  return {
    close: () => {
      if (closed) return
      closed = true
      server.close()
      server.closeIdleConnections()
    },
  }
}

/** The answer to a POST /headlines body (at most MAX_POST_BYTES): its status and JSON, and the records to produce. */
export function answerHeadlines(
  body: Buffer,
  check: (value: string) => Checked,
): { status: number; body: unknown; records: RawRecord[] } {
  // Decoded, bad bytes would become U+FFFD, text no one sent; ingest refuses them (invalid_utf8).
  if (!isUtf8(body)) {
    return {
      status: 400,
      body: {
        error: 'invalid_utf8',
        message: `the body is not valid UTF-8 (line ${firstBadLine(body)}); nothing was taken`,
      },
      records: [],
    }
  }
  // A byte-order mark at the very start (Windows tools and some HTTP clients send one) is skipped, one
  // only, before the body is read as JSON or NDJSON: JSON.parse takes none, and NDJSON's first line
  // would keep it. Only JSON's own white space is trimmed: a mark or other text past it is the body's.
  const full = body.toString('utf8', hasBom(body) ? 3 : 0)
  const text = full.replace(JSON_SPACE_AROUND, '')
  // One JSON value (an array, or an object, pretty-printed or not), else NDJSON.
  let whole: unknown
  try {
    whole = JSON.parse(text)
  } catch {
    whole = undefined
  }
  let items: { value: string; line?: number }[]
  if (Array.isArray(whole)) {
    // Each item is sent as its own record, written anew from what JSON.parse read, which keeps only
    // the last of a key given twice: ingest would refuse the item as given (schema_invalid), so such
    // a body is refused whole, naming the key (one item's text cannot be told from the rest).
    const dup = duplicateKeyPath(text)
    if (dup) {
      return {
        status: 400,
        body: {
          error: 'schema_invalid',
          message: `item ${dup[0]}: ${dup.slice(1).join('.')}: key given more than once in one object; nothing was taken`,
        },
        records: [],
      }
    }
    items = whole.map((item) => ({ value: JSON.stringify(item) }))
  } else if (whole !== undefined) items = [{ value: text }]
  // Lines end at LF, CRLF or a lone CR (old Mac files), as in every other reader (readByteLines).
  else
    items = full
      .split(/\r\n|\r|\n/)
      .map((l, i) => ({ value: l, line: i + 1 }))
      .filter((l) => l.value.trim() !== '')
  const ok: RawRecord[] = []
  const rejected: { index: number; line?: number; reason: IngestRejection; error: string }[] = []
  items.forEach((item, index) => {
    const r = check(item.value)
    if (r.ok) ok.push(r.record)
    else
      rejected.push({
        index,
        ...(item.line ? { line: item.line } : {}),
        reason: r.reason,
        error: r.error,
      })
  })
  return {
    status: ok.length > 0 || items.length === 0 ? 202 : 400,
    body: { accepted: ok.length, ...(rejected.length > 0 ? { rejected } : {}) },
    records: ok,
  }
}

/**
 * The ready line of --follow, with the port the server got. The log line is at info, for a collector
 * (LOG_LEVEL=info); at warn it came with every start's default level (warn) and read as a fault to log
 * alerting, repeating the human line.
 */
function announceHeadlines(server: Server, log: Logger): void {
  const address = server.address()
  const bound = typeof address === 'object' && address ? address.port : 0
  log.info({ port: bound }, 'accepting headlines on stdin (NDJSON) and POST /headlines')
  process.stderr.write(
    `Accepting headlines: NDJSON on stdin, or POST http://127.0.0.1:${bound}/headlines. Ctrl-C to stop.\n`,
  )
}

/** The most a POST /headlines body may hold. */
const MAX_POST_BYTES = 5 * 1024 * 1024

/**
 * The final tables: tariff and supply-chain indicators by region and commodity, strongest movers first.
 * An indicator the store withholds (its stored newest event time is damaged, or its state reads as an
 * update the IndicatorUpdate contract refuses) is left out of them, and said on `err` after them in the
 * line `tradepulse indicators` gives for its reason (withheldNotice), so a missing scope is not read as a
 * quiet one.
 */
export async function printIndicatorTables(
  store: IndicatorStore,
  asOfMs: number,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<void> {
  const withheld: WithheldIndicator[] = []
  for (const [dimension, kind] of [
    ['tariff', 'global'],
    ['tariff', 'region'],
    ['supplyChain', 'global'],
    ['supplyChain', 'commodity'],
  ] as const) {
    const rows =
      kind === 'global'
        ? [await store.get(dimension, { kind: 'global', id: 'all' }, asOfMs, withheld)].filter(
            (x) => x !== undefined,
          )
        : await store.top(dimension, kind, 'momentum', 8, asOfMs, withheld)
    out.write(`\n${dimension} by ${kind} at ${new Date(asOfMs).toISOString()}\n${formatIndicatorTable(rows)}`)
  }
  const notice = withheldNotice(withheld)
  if (notice) err.write(notice)
}
