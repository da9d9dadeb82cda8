import { isIP, connect as netConnect, type Socket } from 'node:net'
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls'
import type { TopicSpec, TopicTimestampType } from '@tradepulse/contracts'
import kafkajs, {
  type Admin,
  CompressionTypes,
  type ConsumerConfig,
  type ISocketFactory,
  type ITopicConfig,
  Kafka,
  type KafkaConfig,
  logLevel,
  Partitioners,
  type Producer,
  type ProducerConfig,
  type SASLOptions,
} from 'kafkajs'
import { type BaseConfig, DEFAULT_METADATA_MAX_AGE_MS } from '../config.ts'
import { isTlsCode, KAFKA_LISTENER_NOT_TLS, KAFKA_LISTENER_TLS } from '../errors.ts'
import type { Logger } from '../logger.ts'
import { gzipCodec } from './gzip-codec.ts'
import { snappyCodec } from './snappy-codec.ts'

// kafkajs reads only uncompressed and GZIP batches by itself; a batch in another codec stops the consumer
// for good. Snappy is registered here, for every client of the process (the registry is kafkajs's, global);
// LZ4 and ZSTD have no pure-JavaScript codec for kafkajs (README, Topics and payloads).
// Through the default export: Node's import of a CommonJS module does not see CompressionCodecs among
// kafkajs's named exports (vitest's transform does, so only a plain `node` run failed).
kafkajs.CompressionCodecs[CompressionTypes.Snappy] = snappyCodec
// GZIP replaced by the same codec with a bound on what a batch inflates to (gzip-codec.ts).
kafkajs.CompressionCodecs[CompressionTypes.GZIP] = gzipCodec()

const LEVEL_TO_PINO: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
}

/** Routes kafkajs's own log lines into our pino logger, at one level below ours to keep info quiet. */
export function kafkaLogCreator(log: Logger) {
  return () =>
    ({
      namespace,
      level,
      log: entry,
    }: {
      namespace: string
      level: number
      log: { message: unknown } & Record<string, unknown>
    }) => {
      const { message: said, timestamp: _t, logger: _l, ...rest } = entry
      // kafkajs gives its message as an Error itself in places: a broker's connection refused for good
      // (brokerPool's connectBroker: refused credentials, at a reconnection or a re-authentication), just
      // before it hands that error on. A line here must never throw: a TypeError thrown into kafkajs there
      // took the refusal's place (the consumer crashed with a TypeError, not KAFKA_AUTH).
      const err = said instanceof Error ? said : undefined
      const message = typeof said === 'string' ? said : err ? `${err.name}: ${err.message}` : String(said)
      // kafkajs logs routine rebalances and connection churn at INFO; keep them at debug in ours.
      // Its warning about limited retries on an idempotent producer is expected: we bound retries so a
      // Kafka outage surfaces to the batch runner (which pauses and retries) instead of hanging a send.
      // Error responses logged by a connection ("coordinator is loading", "no leader") are retried by
      // kafkajs itself; a fault that persists reaches us as a failed send or a consumer crash, logged there.
      // A session timeout the broker refuses (INVALID_SESSION_TIMEOUT) is reported by the consumer's owner
      // as a configuration error naming KAFKA_SESSION_TIMEOUT_MS (sessionTimeoutRefusal): one line, not two.
      const quiet =
        level === logLevel.INFO ||
        (namespace === 'Connection' && message.startsWith('Response ')) ||
        message.startsWith('Limiting retries for the idempotent producer') ||
        (message.startsWith('Crash: ') && message.includes('session timeout is not within the range'))
      const target = quiet ? 'debug' : (LEVEL_TO_PINO[level] ?? 'debug')
      log[target]({ kafka: namespace, ...(err ? { err } : {}), ...rest }, message)
    }
}

/**
 * What a client needs to reach the cluster: the bootstrap brokers (KAFKA_BROKERS's form: host:port, or
 * [IPv6 address]:port), TLS (`ssl`: kafkajs's, true or Node's tls options) and SASL; and how old the
 * metadata of its producers and consumers may grow (KAFKA_METADATA_MAX_AGE_MS; its default when absent).
 */
export type KafkaClientConfig = {
  brokers: string[]
  clientId: string
  ssl?: ConnectionOptions | boolean
  sasl?: SASLOptions
  metadataMaxAgeMs?: number
}

/** The settings kafkaClientConfig reads (KAFKA_METADATA_MAX_AGE_MS: its default when absent). */
export type KafkaConnectionSettings = Pick<
  BaseConfig,
  | 'KAFKA_BROKERS'
  | 'KAFKA_SSL'
  | 'KAFKA_SSL_CA_FILE'
  | 'KAFKA_SSL_CERT_FILE'
  | 'KAFKA_SSL_KEY_FILE'
  | 'KAFKA_SSL_REJECT_UNAUTHORIZED'
  | 'KAFKA_SASL_MECHANISM'
  | 'KAFKA_SASL_USERNAME'
  | 'KAFKA_SASL_PASSWORD'
> &
  Partial<Pick<BaseConfig, 'KAFKA_METADATA_MAX_AGE_MS'>>

/**
 * A client's settings from the configuration: brokers, TLS, SASL and the metadata's age. Every client the
 * workers and the CLI make of the configuration is made from this, so none reaches a secured cluster
 * without them, nor leaves new partitions unread for kafkajs's five minutes.
 */
export function kafkaClientConfig(config: KafkaConnectionSettings, clientId: string): KafkaClientConfig {
  return {
    brokers: config.KAFKA_BROKERS,
    clientId,
    ...kafkaSecurity(config),
    ...(config.KAFKA_METADATA_MAX_AGE_MS !== undefined
      ? { metadataMaxAgeMs: config.KAFKA_METADATA_MAX_AGE_MS }
      : {}),
  }
}

/** KAFKA_SSL* and KAFKA_SASL* as kafkajs takes them; empty when neither is on. */
export function kafkaSecurity(
  config: Omit<KafkaConnectionSettings, 'KAFKA_BROKERS'>,
): Pick<KafkaClientConfig, 'ssl' | 'sasl'> {
  const out: Pick<KafkaClientConfig, 'ssl' | 'sasl'> = {}
  if (config.KAFKA_SSL) {
    const tls: ConnectionOptions = { rejectUnauthorized: config.KAFKA_SSL_REJECT_UNAUTHORIZED }
    if (config.KAFKA_SSL_CA_FILE) tls.ca = config.KAFKA_SSL_CA_FILE.pem
    if (config.KAFKA_SSL_CERT_FILE) tls.cert = config.KAFKA_SSL_CERT_FILE.pem
    if (config.KAFKA_SSL_KEY_FILE) tls.key = config.KAFKA_SSL_KEY_FILE.pem
    out.ssl = tls
  }
  const {
    KAFKA_SASL_MECHANISM: mechanism,
    KAFKA_SASL_USERNAME: username,
    KAFKA_SASL_PASSWORD: password,
  } = config
  // loadConfig refuses a mechanism without both; a config made otherwise gets no SASL rather than half of it.
  if (mechanism && username !== undefined && password !== undefined)
    out.sasl = { mechanism, username, password } as SASLOptions
  return out
}

/**
 * The host kafkajs is given for an IPv6 address: kafkajs splits a bootstrap broker at its first colon
 * ("[::1]:9092" became host "[" and port NaN), so the address goes to it without colons, in the form
 * Windows gives IPv6 literals as names ("2001-db8--1", a zone after "s") under a domain that is never a
 * real host's (.invalid, RFC 2606), and brokerSocket turns it back into the address to connect to.
 * Only the bootstrap list needs this: brokers found in the cluster's metadata come with host and port apart.
 */
const IPV6_HOST_SUFFIX = '.ipv6-literal.invalid'

/** KAFKA_BROKERS's entries in the form kafkajs splits right: [IPv6 address]:port as ipv6Host:port. */
export function kafkajsBrokers(brokers: string[]): string[] {
  return brokers.map((b) => {
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(b)
    if (!m) return b
    const [address, zone] = m[1]!.split('%', 2) as [string, string | undefined]
    return `${address.replaceAll(':', '-')}${zone === undefined ? '' : `s${zone}`}${IPV6_HOST_SUFFIX}:${m[2]}`
  })
}

/** The address a host of kafkajsBrokers stands for (an IPv6 address), or the host itself. */
export function connectHost(host: string): string {
  if (!host.endsWith(IPV6_HOST_SUFFIX)) return host
  const name = host.slice(0, -IPV6_HOST_SUFFIX.length)
  const s = name.indexOf('s')
  return s < 0 ? name.replaceAll('-', ':') : `${name.slice(0, s).replaceAll('-', ':')}%${name.slice(s + 1)}`
}

/** How long a connection may be idle before TCP keep-alive probes it: kafkajs's own socket factory's value. */
const KEEP_ALIVE_DELAY_MS = 60_000

/**
 * kafkajs's own socket factory, but for a host of kafkajsBrokers, which it connects to as the IPv6
 * address it stands for. Over TLS, a broker named by a host name is asked for its certificate by that
 * name (SNI), as kafkajs does; one given as an address is checked against the certificate's IP entries.
 */
export const brokerSocket: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const address = connectHost(host)
  if (ssl) {
    const socket = tlsConnect(
      { host: address, port, ...(isIP(address) ? {} : { servername: address }), ...ssl },
      onConnect,
    )
    socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS)
    markPlainListener(socket)
    return socket
  }
  const socket = netConnect({ host: address, port }, onConnect)
  socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS)
  markTlsListener(socket)
  return socket
}

/** A TLS socket's error after the TCP connection and before the handshake ended, not TLS's own: KAFKA_LISTENER_NOT_TLS. */
function markPlainListener(socket: TLSSocket): void {
  let connected = false
  let secured = false
  socket.once('connect', () => {
    connected = true
  })
  socket.once('secureConnect', () => {
    secured = true
  })
  // Registered before kafkajs's own listener (added once this factory returns): it reads the code set here.
  socket.once('error', (err: Error & { code?: unknown; socketCode?: unknown }) => {
    if (!connected || secured || isTlsCode(err.code)) return
    err.socketCode = err.code
    err.code = KAFKA_LISTENER_NOT_TLS
  })
}

/**
 * A plain socket whose first bytes are a TLS record's header (an alert or a handshake, version 3.x) is
 * talking to a TLS listener, which answers a Kafka request with an alert: destroyed with
 * KAFKA_LISTENER_TLS. No Kafka response starts so (its size would be over 350 MB).
 */
function markTlsListener(socket: Socket): void {
  socket.once('data', (chunk: Buffer) => {
    if (chunk.length >= 2 && (chunk[0] === 0x15 || chunk[0] === 0x16) && chunk[1] === 0x03)
      socket.destroy(
        Object.assign(new Error('the broker answered with TLS: its listener is SSL or SASL_SSL'), {
          code: KAFKA_LISTENER_TLS,
        }),
      )
  })
}

/**
 * A kafkajs client whose producers and consumers refresh the cluster's metadata once it is `metadataMaxAge`
 * old, unless one is made with its own. kafkajs takes the age per producer and consumer only, and its
 * default (300000) left partitions added to a topic unread, and unwritten, for five minutes: a consumer
 * sees them (and rejoins its group, "Topic has been updated") and a producer spreads keys over them only
 * at a refresh. Made here, every producer and consumer of the workers and the CLI has the age, those
 * made in other modules (the batch runner's, the webhook lanes') too. The two methods are the client's own
 * properties, each calling kafkajs's bound to it, not a subclass's private state: a client seen through
 * another object (`Object.create(kafka)`, as fault-injecting wrappers do) keeps them.
 */
function withMetadataMaxAge(kafka: Kafka, metadataMaxAge: number): Kafka {
  const producer = kafka.producer.bind(kafka)
  const consumer = kafka.consumer.bind(kafka)
  kafka.producer = (config: ProducerConfig = {}) => producer({ metadataMaxAge, ...config })
  kafka.consumer = (config: ConsumerConfig) => consumer({ metadataMaxAge, ...config })
  return kafka
}

export function createKafka(cfg: KafkaClientConfig, log: Logger, extra: Partial<KafkaConfig> = {}): Kafka {
  return withMetadataMaxAge(
    new Kafka({
      clientId: cfg.clientId,
      brokers: kafkajsBrokers(cfg.brokers),
      ...(cfg.ssl ? { ssl: cfg.ssl } : {}),
      ...(cfg.sasl ? { sasl: cfg.sasl } : {}),
      socketFactory: brokerSocket,
      logLevel: logLevel.INFO,
      logCreator: kafkaLogCreator(log.child({ component: 'kafkajs' })),
      retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5_000 },
      ...extra,
    }),
    cfg.metadataMaxAgeMs ?? DEFAULT_METADATA_MAX_AGE_MS,
  )
}

/** What the workers use of a kafkajs producer. */
export type TradepulseProducer = Pick<Producer, 'connect' | 'disconnect' | 'sendBatch'>

/** Kafka refusals of a record itself: sending it again can never succeed. */
export const RECORD_REFUSALS: ReadonlySet<string> = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'INVALID_TIMESTAMP',
  'CORRUPT_MESSAGE',
])

/** Faults of an idempotent producer's sequence numbers or id: only a new producer id mends them. */
const SEQUENCE_FAULTS: ReadonlySet<string> = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
  'DUPLICATE_SEQUENCE_NUMBER',
])

/** Broker answers that fail a request whose records may be on the log all the same. */
const WRITTEN_MAYBE: ReadonlySet<string> = new Set(['REQUEST_TIMED_OUT', 'NOT_ENOUGH_REPLICAS_AFTER_APPEND'])

/** The Kafka error type of `err`, or of an error it wraps (kafkajs's retrier wraps the last one), when in `types`. */
export function kafkaErrorType(err: unknown, types: ReadonlySet<string>): string | undefined {
  for (let e = err as { type?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.type === 'string' && types.has(e.type)) return e.type
    e = e.cause as typeof e
  }
  return undefined
}

/**
 * Why a failed send of `records` records leaves its producer's sequence numbers unfit for another send,
 * or undefined when they are still right: only when the broker refused a request of one record outright.
 *
 * kafkajs moves a partition's sequence forward for each request and winds it back when the request fails,
 * whatever the failure. The broker takes a batch with the producer's epoch and the first and last sequence
 * of one it wrote lately for a duplicate (it compares those numbers only, not the records), acknowledges
 * it with the old offset and writes nothing. So after a request the broker may have written (a timeout, a
 * connection lost, any failure kafkajs's retrier gave up on, a broker's REQUEST_TIMED_OUT), the producer's
 * next batch of as many records for that partition, other records, would be acknowledged and lost. The
 * same after an error answer to a request of several records: they may span partitions, and the broker
 * wrote those it did not refuse (the answer fails the whole request, kafkajs winds back every partition).
 * A request of one record that the broker refused (its error thrown as is: kafkajs bails at once on
 * errors retrying cannot mend) was written nowhere, and its sequence is wound back right.
 */
function sequencesUnfitAfter(err: unknown, records: number): string | undefined {
  const fault = kafkaErrorType(err, SEQUENCE_FAULTS)
  if (fault) return fault
  const type = (err as { type?: unknown } | undefined)?.type
  if (typeof type !== 'string')
    return `outcome unknown (${err instanceof Error ? `${err.name}: ${err.message}` : String(err)})`
  if (WRITTEN_MAYBE.has(type)) return `outcome unknown (${type})`
  return records > 1 ? type : undefined
}

/** kafkajs's error for a send on a producer that was disconnected (retriable, as kafkajs's own). */
const disconnected = () => new kafkajs.KafkaJSError('The producer is disconnected')

/**
 * The one producer every worker uses: idempotent, acks from all in-sync replicas, one request in flight
 * (kafkajs keeps order under retries only then), and the Java-compatible partitioner named explicitly so
 * keys land on the same partitions as other teams' Java producers.
 *
 * Renewed after a send that leaves its sequence numbers unfit for the next (sequencesUnfitAfter): a sequence
 * fault, a failure whose outcome is unknown (a timeout, a connection lost), a refusal in a request of
 * several records. Such a producer is never sent on again: it is disconnected and a new one (a new producer
 * id, sequences from 0) is connected at once, which the next send waits for. When that connect fails, the
 * next send fails with its error, and the send after it tries again; the failed send still throws, for
 * its caller to retry or to find a refused record. Records the old producer had written may come twice
 * (consumers deduplicate by id): never lost as a duplicate of another.
 *
 * Sends go one at a time, each after the one before settled: a send made while another was out took the
 * sequence kafkajs wound back for that one between its retries, or as it failed, on the producer then
 * dropped. kafkajs has one request in flight per broker anyway.
 */
export function createProducer(kafka: Kafka, log?: Logger): TradepulseProducer {
  const make = () =>
    kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 3_000 },
    })
  /** The producer sends go through; undefined from a failed send that left it unfit until one is renewed. */
  let current: Producer | undefined = make()
  /** Why the last producer was dropped (sequencesUnfitAfter), while `current` is undefined. */
  let unfit = ''
  /** A new producer connecting; cleared once it settles, so a send after a failed one tries again. */
  let renewal: Promise<Producer> | undefined
  let closed = false
  /** The last send: the next one starts once it settles. */
  let previous: Promise<unknown> = Promise.resolve()

  /** Connects a new producer in place of the dropped one; the next send takes the outcome. */
  function renew(): Promise<Producer> {
    const attempt = connectNew(unfit)
    renewal = attempt
    // Cleared once settled, a failure too: the send after the one that took it tries again.
    const clear = () => {
      if (renewal === attempt) renewal = undefined
    }
    attempt.then(clear, clear)
    return attempt
  }

  async function connectNew(reason: string): Promise<Producer> {
    const next = make()
    try {
      await next.connect()
    } catch (err) {
      log?.warn({ err, reason }, 'could not renew the producer; sends fail until a renewal succeeds')
      await next.disconnect().catch(() => {})
      throw err
    }
    if (closed) {
      await next.disconnect().catch(() => {})
      throw disconnected()
    }
    current = next
    log?.warn({ reason }, 'renewed the idempotent producer: a failed send left its sequence numbers unfit')
    return next
  }

  async function send(batch: Parameters<Producer['sendBatch']>[0]) {
    let used = current
    if (!used) {
      if (closed) throw disconnected()
      used = await (renewal ?? renew())
    }
    try {
      return await used.sendBatch(batch)
    } catch (err) {
      const records = (batch.topicMessages ?? []).reduce((n, t) => n + t.messages.length, 0)
      const reason = sequencesUnfitAfter(err, records)
      if (reason && used === current) {
        current = undefined
        unfit = reason
        void used.disconnect().catch(() => {})
        if (!closed) renew()
      }
      throw err
    }
  }

  return {
    connect: async () => {
      if (current) return current.connect()
      if (closed) throw disconnected()
      await (renewal ?? renew())
    },
    async disconnect() {
      // Not waiting for a renewal under way (its connect may retry for half a minute with Kafka down):
      // it disconnects its new producer itself once it sees the close.
      closed = true
      await current?.disconnect()
    },
    sendBatch(batch) {
      const turn = previous.then(() => send(batch))
      previous = turn.catch(() => {})
      return turn
    },
  }
}

/** Longest a new topic's partitions may go without a leader before creating it fails. */
export const TOPIC_LEADERS_TIMEOUT_MS = 30_000

/**
 * Creates `topics` and waits until every partition has a leader. Not with kafkajs's waitForLeaders: that
 * wait gives up at the first UNKNOWN_TOPIC_OR_PARTITION, which a loaded broker answers for a topic it has
 * just created (its metadata not updated yet), and a worker creating its topics then failed to start.
 */
export async function createTopicsWithLeaders(
  admin: Admin,
  topics: ITopicConfig[],
  timeoutMs = TOPIC_LEADERS_TIMEOUT_MS,
): Promise<void> {
  await admin.createTopics({ waitForLeaders: false, topics })
  const names = topics.map((t) => t.topic)
  // On the monotonic clock: a wall clock stepped forward gave up at once, one stepped back waited on.
  const deadline = performance.now() + timeoutMs
  let last = 'no metadata yet'
  for (;;) {
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics: names })
      if (found.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return
      last = 'a partition without a leader'
    } catch (err) {
      last = err instanceof Error ? err.message : String(err)
    }
    if (performance.now() > deadline)
      throw new Error(`topics ${names.join(', ')} have no leader after ${timeoutMs} ms (last: ${last})`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Creates the topics that do not exist yet, waiting for leaders; existing ones are left as they are. */
export async function ensureTopics(admin: Admin, specs: TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics())
  const missing = specs.filter((s) => !existing.has(s.name))
  if (missing.length === 0) return []
  await createTopicsWithLeaders(
    admin,
    missing.map((s) => ({
      topic: s.name,
      numPartitions: s.partitions,
      replicationFactor: -1,
      configEntries: [
        { name: 'cleanup.policy', value: s.compacted ? 'compact' : 'delete' },
        { name: 'retention.ms', value: String(s.retentionMs) },
        ...(s.timestampType ? [{ name: TIMESTAMP_TYPE, value: s.timestampType }] : []),
      ],
    })),
  )
  return missing.map((s) => s.name)
}

const TIMESTAMP_TYPE = 'message.timestamp.type'
// Through the default export, as CompressionCodecs above: not among kafkajs's named exports under Node.
const TOPIC_RESOURCE = kafkajs.ConfigResourceTypes.TOPIC
/** describeConfigs' configSource of a value set on the topic itself (DYNAMIC_TOPIC_CONFIG). */
const SET_ON_TOPIC = 1

/** An existing topic whose message.timestamp.type is not the catalogue's. */
export type TimestampTypeDrift = { name: string; actual: string; wanted: TopicTimestampType }

/**
 * The topics of `specs` that exist and whose message.timestamp.type differs from the spec's (those with
 * one): creating a topic sets it, but a topic created before the catalogue said keeps its own.
 */
export async function timestampTypeDrift(admin: Admin, specs: TopicSpec[]): Promise<TimestampTypeDrift[]> {
  const typed = specs.filter((s) => s.timestampType)
  if (typed.length === 0) return []
  const existing = new Set(await admin.listTopics())
  const present = typed.filter((s) => existing.has(s.name))
  if (present.length === 0) return []
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((s) => ({ type: TOPIC_RESOURCE, name: s.name, configNames: [TIMESTAMP_TYPE] })),
  })
  const actual = new Map(
    resources.map((r) => [r.resourceName, r.configEntries.find((e) => e.configName === TIMESTAMP_TYPE)]),
  )
  const drift: TimestampTypeDrift[] = []
  for (const s of present) {
    const value = actual.get(s.name)?.configValue ?? 'unknown'
    if (value !== s.timestampType) drift.push({ name: s.name, actual: value, wanted: s.timestampType! })
  }
  return drift
}

/**
 * Sets the catalogue's message.timestamp.type on the existing topics of `specs` that differ
 * (timestampTypeDrift); returns those it changed. Records already written keep the timestamps they were
 * stored with: only records appended afterwards are stamped the new way.
 *
 * kafkajs has only the legacy AlterConfigs, which replaces every value set on the topic: each is read
 * first and given again with the new one, so retention, compaction and any other override stay. A topic
 * with a sensitive value set (which Kafka does not show) is refused, not stripped of it.
 *
 * Returns once the broker shows the new types (at most `timeoutMs`, else it throws naming the topics).
 */
export async function alignTimestampTypes(
  admin: Admin,
  specs: TopicSpec[],
  timeoutMs = TOPIC_LEADERS_TIMEOUT_MS,
): Promise<TimestampTypeDrift[]> {
  const drift = await timestampTypeDrift(admin, specs)
  for (const d of drift) {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: TOPIC_RESOURCE, name: d.name }],
    })
    const set = (resources[0]?.configEntries ?? []).filter(
      (e) => e.configSource === SET_ON_TOPIC && e.configName !== TIMESTAMP_TYPE,
    )
    const hidden = set.find((e) => e.isSensitive || e.configValue === null)
    if (hidden)
      throw new Error(
        `cannot set ${TIMESTAMP_TYPE}=${d.wanted} on ${d.name}: its ${hidden.configName} is set and not shown, and setting one value with AlterConfigs would drop it (set ${TIMESTAMP_TYPE} with kafka-configs --alter --add-config instead)`,
      )
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: TOPIC_RESOURCE,
          name: d.name,
          configEntries: [
            ...set.map((e) => ({ name: e.configName, value: e.configValue })),
            { name: TIMESTAMP_TYPE, value: d.wanted },
          ],
        },
      ],
    })
  }
  if (drift.length > 0) await timestampTypesApplied(admin, specs, timeoutMs)
  return drift
}

/**
 * Waits until the broker shows the catalogue's timestamp type on every topic of `specs`: it answers
 * AlterConfigs before it applies the change, and a describe right after (another client's, a worker
 * started next) still found the old type on a topic `topics create` had said it updated.
 */
async function timestampTypesApplied(admin: Admin, specs: TopicSpec[], timeoutMs: number): Promise<void> {
  // On the monotonic clock, as createTopicsWithLeaders.
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const left = await timestampTypeDrift(admin, specs)
    if (left.length === 0) return
    if (performance.now() > deadline)
      throw new Error(
        `${TIMESTAMP_TYPE} was set on ${left.map((d) => d.name).join(', ')} but the broker still shows ${left.map((d) => d.actual).join(', ')} after ${timeoutMs} ms`,
      )
    await new Promise((r) => setTimeout(r, 100))
  }
}

const CLEANUP_POLICY = 'cleanup.policy'
const RETENTION_MS = 'retention.ms'

/**
 * An existing topic of the catalogue set up otherwise than the catalogue says, in a way that loses records
 * or work: another cleanup.policy, fewer partitions, or (its records deleted by age) a shorter retention.
 * `consequence` says what it costs; `remedy` how to set it as the catalogue says (`topics create` leaves an
 * existing topic's partitions and policy as they are).
 */
export type TopicSettingDrift = {
  name: string
  setting: typeof CLEANUP_POLICY | 'partitions' | typeof RETENTION_MS
  actual: string
  wanted: string
  consequence: string
  remedy: string
}

/** A retention's length for a person: -1 (or any negative) as for ever, whole days, else milliseconds. */
function retentionText(ms: number): string {
  if (ms < 0) return 'for ever'
  return ms >= 86_400_000 && ms % 3_600_000 === 0 ? `${+(ms / 86_400_000).toFixed(2)} d` : `${ms} ms`
}

/** A cleanup.policy as a set of its policies ("compact,delete", "delete,compact" alike). */
const policies = (value: string): Set<string> =>
  new Set(
    value
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean),
  )

/**
 * How each existing topic of `specs` differs from its spec in what costs records or work (TopicSettingDrift):
 * - cleanup.policy other than the spec's (compact for the compacted, delete for the others): a compacted
 *   topic made with delete (indicators.v1 pre-created by hand) loses each key's latest value once its
 *   retention passes; a topic compacted that should not be keeps only each key's latest record.
 * - fewer partitions than the spec's (more are fine): fewer consumers of a group get work.
 * - a retention.ms shorter than the spec's (negative: for ever), when its policy deletes by age: records go
 *   sooner than readers, replays and rebuilds count on.
 * Topics that do not exist are left out. Its answer is the broker's effective values: a topic without a
 * value of its own has the broker's default (7 days' retention, delete, unless the broker says otherwise).
 */
export async function topicSettingsDrift(admin: Admin, specs: TopicSpec[]): Promise<TopicSettingDrift[]> {
  if (specs.length === 0) return []
  const existing = new Set(await admin.listTopics())
  const present = specs.filter((s) => existing.has(s.name))
  if (present.length === 0) return []
  const names = present.map((s) => s.name)
  const [{ topics }, { resources }] = await Promise.all([
    admin.fetchTopicMetadata({ topics: names }),
    admin.describeConfigs({
      includeSynonyms: false,
      resources: names.map((name) => ({
        type: TOPIC_RESOURCE,
        name,
        configNames: [CLEANUP_POLICY, RETENTION_MS],
      })),
    }),
  ])
  const partitions = new Map(topics.map((t) => [t.name, t.partitions.length]))
  const configs = new Map(
    resources.map((r) => [
      r.resourceName,
      new Map(r.configEntries.map((e) => [e.configName, e.configValue ?? undefined])),
    ]),
  )
  const drift: TopicSettingDrift[] = []
  for (const s of present) {
    const config = configs.get(s.name)
    const policy = config?.get(CLEANUP_POLICY)
    const wantedPolicy = s.compacted ? 'compact' : 'delete'
    const actualPolicies = policy === undefined ? undefined : policies(policy)
    if (actualPolicies && (actualPolicies.size !== 1 || !actualPolicies.has(wantedPolicy))) {
      const retention = Number(config?.get(RETENTION_MS))
      drift.push({
        name: s.name,
        setting: CLEANUP_POLICY,
        actual: policy!,
        wanted: wantedPolicy,
        consequence: s.compacted
          ? Number.isFinite(retention) && retention < 0
            ? "it is never compacted: it grows without end, and a reader starting over reads every update, not each key's latest"
            : `its records are deleted after retention.ms${Number.isFinite(retention) ? ` (${retentionText(retention)})` : ''}, each key's latest value with them, where compaction keeps it for ever`
          : "compaction keeps only each key's latest record, the others gone before their retention, and records without a key are refused",
        remedy: `kafka-configs --alter --entity-type topics --entity-name ${s.name} --add-config ${CLEANUP_POLICY}=${wantedPolicy}`,
      })
    }
    const count = partitions.get(s.name)
    if (count !== undefined && count < s.partitions)
      drift.push({
        name: s.name,
        setting: 'partitions',
        actual: String(count),
        wanted: String(s.partitions),
        consequence: `at most ${count} member${count === 1 ? '' : 's'} of each consumer group share${count === 1 ? 's' : ''} its records, where the catalogue plans for ${s.partitions}`,
        remedy: `kafka-topics --alter --topic ${s.name} --partitions ${s.partitions}`,
      })
    const retention = Number(config?.get(RETENTION_MS))
    // Retention deletes only under the delete policy; a topic compacted alone keeps its records by key.
    const deletes = actualPolicies === undefined || actualPolicies.has('delete')
    const shorter = (ms: number) => (ms < 0 ? Number.POSITIVE_INFINITY : ms)
    if (deletes && Number.isFinite(retention) && shorter(retention) < shorter(s.retentionMs))
      drift.push({
        name: s.name,
        setting: RETENTION_MS,
        actual: String(retention),
        wanted: String(s.retentionMs),
        consequence: `its records are deleted after ${retentionText(retention)}, where the catalogue keeps them ${s.retentionMs < 0 ? 'for ever' : retentionText(s.retentionMs)}: a replay, a rebuild or a reader behind finds them gone`,
        remedy: `kafka-configs --alter --entity-type topics --entity-name ${s.name} --add-config ${RETENTION_MS}=${s.retentionMs}`,
      })
  }
  return drift
}

/** The line a TopicSettingDrift is warned of with: the topic, what it has, what the catalogue says, what it costs, the remedy. */
export function topicSettingDriftLine(d: TopicSettingDrift): string {
  const has =
    d.setting === 'partitions'
      ? `${d.actual} partition${d.actual === '1' ? '' : 's'}, where the catalogue has ${d.wanted}`
      : `${d.setting}=${d.actual}, where the catalogue sets ${d.wanted}`
  return `${d.name} has ${has}: ${d.consequence} (set it with \`${d.remedy}\`)`
}
