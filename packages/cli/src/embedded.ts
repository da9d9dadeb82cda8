import { createServer, type Server } from 'node:http'
import { createInterface } from 'node:readline'
import { Alert, type Clock, createTopicCatalogue, RawHeadline, systemClock } from '@tradepulse/contracts'
import type { IndicatorStore } from '@tradepulse/indicators'
import {
  type BaseConfig,
  createMemoryBus,
  createMemoryTransport,
  defaultGroupId,
  formatIssues,
  type KafkaWorker,
  type Logger,
  listen,
  loadConfig,
  type MemoryBus,
} from '@tradepulse/platform'
import { formatIndicatorTable } from './commands/indicators.ts'
import { formatAlert } from './commands/tail.ts'
import { reloadRulesOnHangup } from './reload-on-hangup.ts'
import { EMBEDDED_DEFAULTS, WORKERS } from './workers.ts'

export type EmbeddedOptions = {
  workers: string[]
  feed: (RawHeadline & { publishedAt: string })[]
  /**
   * Simulated seconds played per real second; 'max' for all at once; 'step' for one headline at a time,
   * each only once every worker has handled everything before it (deterministic, for tests).
   */
  speed: number | 'max' | 'step'
  follow: boolean
  log: Logger
  env: Record<string, string | undefined>
  out: NodeJS.WritableStream
  /** Port of POST /headlines with --follow (0: any free port). */
  httpPort?: number
  clock?: Clock
}

export type EmbeddedRun = { alerts: Alert[]; indicators: IndicatorStore | undefined; bus: MemoryBus }

/**
 * Every worker in one process over the in-memory bus and stores: the embedded default. Plays the feed,
 * prints alerts as they fire, waits until every worker has caught up, prints indicator tables.
 */
export async function runEmbedded(opts: EmbeddedOptions): Promise<EmbeddedRun> {
  const bus = createMemoryBus()
  const transport = createMemoryTransport(bus)
  const clock = opts.clock ?? systemClock
  const env = { ...EMBEDDED_DEFAULTS, ...opts.env }
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
  for (const a of apps) await a.app.start()

  // Alerts are printed as they reach the alerts topic, like a desk's consumer would see them.
  const alerts: Alert[] = []
  const readOffsets = new Map<number, number>()
  const drainAlerts = () => {
    if (!bus.hasTopic(topics.alerts.name)) return
    for (let p = 0; p < bus.partitions(topics.alerts.name); p++) {
      const from = readOffsets.get(p) ?? 0
      const records = bus.read(topics.alerts.name, p, from, 10_000)
      for (const r of records) {
        const parsed = Alert.safeParse(JSON.parse(r.value?.toString() ?? 'null'))
        if (parsed.success) {
          alerts.push(parsed.data)
          opts.out.write(`${formatAlert(parsed.data, { evidence: false })}\n`)
        }
      }
      readOffsets.set(p, from + records.length)
    }
  }
  const printer = setInterval(drainAlerts, 50)

  const produce = (raws: unknown[]) =>
    bus.produce(
      raws.map((r) => ({
        topic: topics.raw.name,
        key: typeof (r as RawHeadline).id === 'string' ? (r as RawHeadline).id! : null,
        value: JSON.stringify(r),
      })),
    )
  const allCaughtUp = async () => {
    for (const a of apps) await caughtUp(bus, a.groupId, a.inputs)
  }
  if (opts.speed === 'step') {
    for (const h of opts.feed) {
      produce([h])
      await allCaughtUp()
    }
  } else {
    await play(opts.feed, opts.speed, produce)
  }

  let server: Server | undefined
  if (opts.follow) {
    // Before the ready line: a SIGHUP sent on seeing it must find the handler, not the default exit.
    let hungUp = () => {}
    const stopReloading = reloadRulesOnHangup(
      apps.map((a) => a.app),
      { stop: () => hungUp() },
    )
    server = await acceptHeadlines(produce, opts.httpPort ?? 0, opts.log)
    const rl = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })
    let lineNo = 0
    rl.on('line', (line) => {
      lineNo++
      if (!line.trim()) return
      let value: unknown
      try {
        value = JSON.parse(line)
      } catch (err) {
        process.stderr.write(`stdin:${lineNo}: not JSON: ${(err as Error).message}\n`)
        return
      }
      const { ok, rejected } = checkRawHeadlines([value])
      if (rejected[0]) process.stderr.write(`stdin:${lineNo}: not a raw headline: ${rejected[0].error}\n`)
      else produce(ok)
    })
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
      hungUp = resolve
    })
    stopReloading()
    rl.close()
  }

  // Stop in pipeline order, each worker once everything upstream has been handled by it, so the last
  // indicator updates (flushed when the aggregator stops) still reach the alerter.
  for (const a of apps) {
    await caughtUp(bus, a.groupId, a.inputs)
    await a.app.stop()
  }
  server?.close()
  clearInterval(printer)
  drainAlerts()
  return { alerts, indicators: stores.indicators, bus }
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

/** Produces the feed in published order; at a finite speed, spaced as the publication times were. */
async function play(
  feed: EmbeddedOptions['feed'],
  speed: number | 'max',
  produce: (raws: unknown[]) => void,
) {
  if (feed.length === 0) return
  if (speed === 'max') {
    produce(feed)
    return
  }
  const t0 = Date.now()
  const first = Date.parse(feed[0]!.publishedAt)
  for (const h of feed) {
    const due = t0 + (Date.parse(h.publishedAt) - first) / speed
    const wait = due - Date.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    produce([h])
  }
}

/** POST /headlines: a JSON object, a JSON array, or NDJSON of raw headlines; answers 202 with the count. */
async function acceptHeadlines(
  produce: (raws: unknown[]) => void,
  port: number,
  log: Logger,
): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/headlines') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not_found' }))
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
      if (bytes > MAX_POST_BYTES) {
        res.writeHead(413, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'too_large' }))
        return
      }
      try {
        const text = Buffer.concat(chunks).toString('utf8').trim()
        // One JSON value (an array, or an object, pretty-printed or not), else NDJSON.
        let whole: unknown
        try {
          whole = JSON.parse(text)
        } catch {
          whole = undefined
        }
        const items =
          whole !== undefined
            ? Array.isArray(whole)
              ? whole
              : [whole]
            : text
                .split('\n')
                .filter((l) => l.trim() !== '')
                .map((l) => JSON.parse(l))
        // Each item checked here, so the sender learns at once which it must fix (the dlq of the embedded
        // default is read by nobody).
        const { ok, rejected } = checkRawHeadlines(items)
        produce(ok)
        res
          .writeHead(ok.length > 0 || items.length === 0 ? 202 : 400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ accepted: ok.length, ...(rejected.length > 0 ? { rejected } : {}) }))
      } catch (err) {
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: 'invalid_json', message: (err as Error).message }))
      }
    })
  })
  const bound = await listen(server, port, '127.0.0.1')
  log.warn({ port: bound }, 'accepting headlines on stdin (NDJSON) and POST /headlines')
  process.stderr.write(
    `Accepting headlines: NDJSON on stdin, or POST http://127.0.0.1:${bound}/headlines. Ctrl-C to stop.\n`,
  )
  return server
}

/** The items that are raw headlines, and why each other one is not (by its position, from 0). */
function checkRawHeadlines(items: readonly unknown[]): {
  ok: unknown[]
  rejected: { index: number; error: string }[]
} {
  const ok: unknown[] = []
  const rejected: { index: number; error: string }[] = []
  items.forEach((item, index) => {
    const r = RawHeadline.safeParse(item)
    if (r.success) ok.push(item)
    else
      rejected.push({
        index,
        error: formatIssues(r.error),
      })
  })
  return { ok, rejected }
}

/** The most a POST /headlines body may hold. */
const MAX_POST_BYTES = 5 * 1024 * 1024

/** The final tables: tariff and supply-chain indicators by region and commodity, strongest movers first. */
export async function printIndicatorTables(
  store: IndicatorStore,
  asOfMs: number,
  out: NodeJS.WritableStream,
): Promise<void> {
  for (const [dimension, kind] of [
    ['tariff', 'global'],
    ['tariff', 'region'],
    ['supplyChain', 'global'],
    ['supplyChain', 'commodity'],
  ] as const) {
    const rows =
      kind === 'global'
        ? [await store.get(dimension, { kind: 'global', id: 'all' }, asOfMs)].filter((x) => x !== undefined)
        : await store.top(dimension, kind, 'momentum', 8, asOfMs)
    out.write(`\n${dimension} by ${kind} at ${new Date(asOfMs).toISOString()}\n${formatIndicatorTable(rows)}`)
  }
}
