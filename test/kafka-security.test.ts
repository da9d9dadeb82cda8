import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { TopicSpec } from '@tradepulse/contracts'
import {
  BaseConfig,
  type BatchHandler,
  createBatchRunner,
  createKafka,
  createKafkaWorker,
  createLogger,
  createMetrics,
  createProducer,
  describeInfraFailure,
  faultReason,
  isKafkaAuthRefusal,
  type KafkaWorker,
  kafkaClientConfig,
  loadConfig,
  normalizeError,
} from '@tradepulse/platform'
import {
  freePort,
  kafkaClasspath,
  type LocalKafka,
  randomName,
  spawnWorker,
  startLocalKafka,
  testInfra,
  type WorkerProcess,
  waitFor,
} from '@tradepulse/testing'
import { type Kafka, logLevel, Partitioners } from 'kafkajs'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'

/**
 * A second broker of this run's own, secured as production clusters are: SASL/PLAIN on IPv6 loopback
 * ([::1]), and SASL/PLAIN over TLS with client certificates required on 127.0.0.1, its certificates from
 * a CA made here; and SCRAM on 127.0.0.1 with sessions of REAUTH_MS, where a credential removed reaches
 * the clients connected: kafkajs re-authenticates a connection at its first request past
 * KAFKAJS_REAUTH_THRESHOLD_MS before its session ends (every 2 s on a busy connection), and is refused
 * then. The workers' clients reach it with the KAFKA_* settings alone (loadConfig, then
 * kafkaClientConfig), as a deployment's would.
 */

const silent = createLogger({ level: 'silent' })
const USER = 'tradepulse'
const PASSWORD = `pw-${randomName('sasl')}`
/** SCRAM users of the REVOKE listener whose credential a test removes while a worker runs. */
const REVOKED = { consumer: 'revoked-consumer', producer: 'revoked-producer' }
/** The REVOKE listener's session lifetime (connections.max.reauth.ms). */
const REAUTH_MS = 12_000
/** How long before its session ends kafkajs re-authenticates a connection (its reauthenticationThreshold). */
const KAFKAJS_REAUTH_THRESHOLD_MS = 10_000

/** A CA, a broker certificate for 127.0.0.1, ::1 and localhost, and a client certificate, made by openssl in `dir`. */
function makeCertificates(dir: string) {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test CA')
  for (const [name, ext] of [
    ['broker', 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`)
    writeFileSync(join(dir, `${name}.ext`), ext)
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      `${name}.pem`,
      '-extfile',
      `${name}.ext`,
    )
  }
  // Kafka's PEM key store: the private key (PKCS#8, as openssl 3 writes it), then the certificate.
  const keystore = join(dir, 'broker-keystore.pem')
  writeFileSync(
    keystore,
    readFileSync(join(dir, 'broker.key'), 'utf8') + readFileSync(join(dir, 'broker.pem'), 'utf8'),
  )
  return {
    ca: join(dir, 'ca.pem'),
    keystore,
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client.key'),
  }
}

let dir: string
let certs: ReturnType<typeof makeCertificates>
let broker: LocalKafka
const cleanups: (() => Promise<unknown>)[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tradepulse-kafka-security-'))
  certs = makeCertificates(dir)
  const jaas = `org.apache.kafka.common.security.plain.PlainLoginModule required user_${USER}="${PASSWORD}";`
  broker = await startLocalKafka({
    heapMb: 512,
    listeners: [
      { name: 'V6', protocol: 'SASL_PLAINTEXT', host: '::1' },
      { name: 'SECURE', protocol: 'SASL_SSL' },
      { name: 'REVOKE', protocol: 'SASL_PLAINTEXT' },
    ],
    scramCredentials: [USER, REVOKED.consumer, REVOKED.producer].map(
      (name) => `SCRAM-SHA-512=[name=${name},password=${PASSWORD}]`,
    ),
    properties: {
      'listener.name.v6.sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-512',
      'listener.name.secure.sasl.enabled.mechanisms': 'PLAIN',
      'listener.name.v6.scram-sha-512.sasl.jaas.config':
        'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.v6.plain.sasl.jaas.config': jaas,
      'listener.name.secure.plain.sasl.jaas.config': jaas,
      'listener.name.revoke.sasl.enabled.mechanisms': 'SCRAM-SHA-512',
      'listener.name.revoke.scram-sha-512.sasl.jaas.config':
        'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.revoke.scram-sha-512.connections.max.reauth.ms': String(REAUTH_MS),
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.location': certs.keystore,
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.location': certs.ca,
      'listener.name.secure.ssl.client.auth': 'required',
    },
  })
}, 120_000)

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {})
})

afterAll(async () => {
  await broker?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const spec = (name: string): TopicSpec => ({
  name,
  partitions: 1,
  retentionMs: 3_600_000,
  compacted: false,
  schema: undefined as never,
})

/** A client of the configuration `env` gives, as the workers make theirs; connecting tried once only. */
function client(env: Record<string, string>): Kafka {
  const config = loadConfig(BaseConfig, env)
  return createKafka(kafkaClientConfig(config, randomName('security')), silent, {
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  })
}

/** A client of the PLAINTEXT listener, with kafkajs's retries (a group's coordinator is found only with them). */
const plaintext = () =>
  createKafka(
    kafkaClientConfig(loadConfig(BaseConfig, { KAFKA_BROKERS: broker.brokers[0]! }), randomName('plaintext')),
    silent,
    { logLevel: logLevel.NOTHING },
  )

/** A worker's settings on the REVOKE listener as `user`. */
const scramEnv = (user: string) => ({
  KAFKA_BROKERS: broker.listeners.REVOKE!,
  KAFKA_SASL_MECHANISM: 'scram-sha-512',
  KAFKA_SASL_USERNAME: user,
  KAFKA_SASL_PASSWORD: PASSWORD,
  HTTP_PORT: '0',
})

/**
 * Removes `user`'s SCRAM credential on the broker (kafka-configs, through its PLAINTEXT listener), and
 * resolves once the broker refuses it to a new connection. Run aside: a JVM start of seconds (more under
 * load) must not stop the event loop of the worker under test (its heartbeats, its fetches).
 */
async function revoke(user: string): Promise<void> {
  await promisify(execFile)(
    'java',
    [
      '-cp',
      kafkaClasspath(),
      'kafka.admin.ConfigCommand',
      '--bootstrap-server',
      broker.brokers[0]!,
      '--alter',
      '--delete-config',
      'SCRAM-SHA-512',
      '--entity-type',
      'users',
      '--entity-name',
      user,
    ],
    { timeout: 60_000 },
  )
  await waitFor(
    async () => {
      const admin = client(scramEnv(user)).admin()
      try {
        await admin.connect()
        return false
      } catch (err) {
        return isKafkaAuthRefusal(err)
      } finally {
        await admin.disconnect().catch(() => {})
      }
    },
    { what: `the broker to refuse ${user}'s removed credential`, timeoutMs: 20_000 },
  )
}

/** The next offset `groupId` committed on partition 0 of `topic` (-1: none), read on the PLAINTEXT listener. */
async function committed(groupId: string, topic: string): Promise<number> {
  const admin = plaintext().admin()
  await admin.connect()
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] })
    return Number(t?.partitions.find((p) => p.partition === 0)?.offset ?? -1)
  } finally {
    await admin.disconnect()
  }
}

/** The values on partition 0 of `topic`, read on the PLAINTEXT listener. */
async function valuesOf(topic: string): Promise<string[]> {
  const admin = plaintext().admin()
  await admin.connect()
  const high = Number((await admin.fetchTopicOffsets(topic)).find((p) => p.partition === 0)?.high ?? 0)
  await admin.disconnect()
  if (high === 0) return []
  const consumer = plaintext().consumer({ groupId: randomName('reader') })
  const values: string[] = []
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        values.push(String(message.value))
      },
    })
    await waitFor(() => values.length >= high, { what: `${high} records of ${topic}`, timeoutMs: 20_000 })
  } finally {
    await consumer.disconnect()
  }
  return values
}

/** The brokers `kafka`'s cluster metadata names, as host:port, or the error connecting gave. */
async function describeCluster(kafka: Kafka): Promise<string[]> {
  const admin = kafka.admin()
  try {
    await admin.connect()
    return (await admin.describeCluster()).brokers.map((b) => `${b.host}:${b.port}`)
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

describe('a worker on a secured Kafka', () => {
  const sasl = (password = PASSWORD) => ({
    KAFKA_SASL_MECHANISM: 'PLAIN',
    KAFKA_SASL_USERNAME: USER,
    KAFKA_SASL_PASSWORD: password,
  })
  /** The SASL_SSL listener with its CA, a client certificate and SASL: every TLS setting that fits it. */
  const tlsSettings = () => ({
    KAFKA_BROKERS: broker.listeners.SECURE!,
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA_FILE: certs.ca,
    KAFKA_SSL_CERT_FILE: certs.clientCert,
    KAFKA_SSL_KEY_FILE: certs.clientKey,
    ...sasl(),
  })

  it('reaches a broker at KAFKA_BROKERS=[::1]:port with SASL/PLAIN: topics made, a record consumed and produced', async () => {
    const address = broker.listeners.V6!
    expect(address).toMatch(/^\[::1\]:\d+$/)
    const env = { KAFKA_BROKERS: address, ...sasl(), HTTP_PORT: '0' }
    // The cluster's metadata names the broker by its IPv6 address: kafkajs's later connections go there.
    expect(await describeCluster(client(env))).toEqual([`::1:${address.split(']:')[1]}`])

    const name = randomName('secured')
    const [input, output, dlq] = [`${name}.in`, `${name}.out`, `${name}.dlq`]
    const seen: string[] = []
    const worker: KafkaWorker = createKafkaWorker({
      worker: 'secured',
      config: loadConfig(BaseConfig, { ...env, KAFKA_GROUP_ID: name }),
      log: silent,
      inputTopics: [input],
      dlqTopic: dlq,
      defaultHttpPort: 0,
      ensureTopics: [spec(input), spec(output), spec(dlq)],
      handler: async (records) =>
        records.map((r) => {
          seen.push(String(r.value))
          return {
            kind: 'ok' as const,
            out: [{ topic: output, key: null, value: `seen ${String(r.value)}` }],
          }
        }),
    })
    cleanups.push(() => worker.stop())
    await worker.start()

    const kafka = client(env)
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
    await producer.connect()
    cleanups.push(() => producer.disconnect())
    await producer.send({ topic: input, messages: [{ value: 'over ipv6 and sasl' }] })
    await waitFor(() => seen.length > 0 && seen, {
      what: 'the worker to consume the record',
      timeoutMs: 30_000,
    })
    expect(seen).toEqual(['over ipv6 and sasl'])
    const admin = kafka.admin()
    await admin.connect()
    cleanups.push(() => admin.disconnect())
    await waitFor(async () => (await admin.fetchTopicOffsets(output)).some((p) => Number(p.high) === 1), {
      what: "the worker's output record",
    })
  })

  it('runs the gateway (its own process, KAFKA_* settings alone) at [::1] with SASL: it becomes ready, and deletes its own group at a stop', async () => {
    const port = await freePort()
    const prefix = `${randomName('secured-gw')}.`
    const gateway: WorkerProcess = spawnWorker('services/gateway/src/main.ts', {
      KAFKA_BROKERS: broker.listeners.V6!,
      ...sasl(),
      REDIS_URL: testInfra().redisUrl,
      REDIS_KEY_PREFIX: prefix.replace(/\W/g, '_'),
      TRADEPULSE_TOPIC_PREFIX: prefix,
      TOPICS_AUTO_CREATE: 'true',
      HTTP_PORT: String(port),
      LOG_LEVEL: 'info',
    })
    cleanups.push(async () => {
      if (gateway.child.exitCode === null) gateway.child.kill('SIGKILL')
    })
    // Ready once it has read the alerts topic's ends, which its own admin client reads (brokers alone, it
    // never did on a secured cluster: not ready for ever, warning every second).
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200,
      { what: 'the gateway ready', timeoutMs: 30_000 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; the gateway's output, its end:\n${gateway.output().slice(-4_000)}`)
    })
    gateway.child.kill('SIGTERM')
    expect((await gateway.exited).code).toBe(0)
    // Its group, of its own name, deleted by its other admin client.
    expect(gateway.output()).toContain('consumer group deleted')
    expect(gateway.output()).not.toContain(PASSWORD)
  })

  it('fails to start at once with a wrong password, as a fault retrying cannot mend, naming no password', async () => {
    const wrong = 'not-the-password'
    const env = { KAFKA_BROKERS: broker.listeners.V6!, ...sasl(wrong), HTTP_PORT: '0' }
    const name = randomName('secured-refused')
    const worker = createKafkaWorker({
      worker: 'secured',
      config: loadConfig(BaseConfig, { ...env, KAFKA_GROUP_ID: name }),
      log: silent,
      inputTopics: [`${name}.in`],
      dlqTopic: `${name}.dlq`,
      defaultHttpPort: 0,
      ensureTopics: [spec(`${name}.in`)],
      handler: async () => [],
    })
    cleanups.push(() => worker.stop())
    const started = Date.now()
    const err = await worker.start().then(
      () => undefined,
      (e: unknown) => e,
    )
    const tookMs = Date.now() - started
    expect((err as Error | undefined)?.name).toBe('KafkaJSSASLAuthenticationError')
    expect((err as Error).message).toMatch(/SASL PLAIN authentication failed/)
    // Not retried as an outage: the worker client's retries (createKafka) would take 15 s and more.
    expect(tookMs).toBeLessThan(5_000)
    expect(normalizeError(err)).toMatchObject({ code: 'KAFKA_AUTH', retriable: false })
    const line = describeInfraFailure(err, env)
    expect(line).toMatch(
      /\(KAFKA_BROKERS\) refused the credentials: .*authentication failed.*; check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/i,
    )
    expect(line).not.toContain(wrong)
    expect(String((err as Error).stack)).not.toContain(wrong)
  })

  it('authenticates with SCRAM-SHA-512 too, and is refused with a wrong password', async () => {
    const scram = (password: string) => ({
      KAFKA_BROKERS: broker.listeners.V6!,
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: USER,
      KAFKA_SASL_PASSWORD: password,
    })
    expect(await describeCluster(client(scram(PASSWORD)))).toHaveLength(1)
    const refused = await describeCluster(client(scram(`${PASSWORD}x`))).catch((e: Error) => e)
    expect(refused).toMatchObject({ name: 'KafkaJSSASLAuthenticationError' })
    expect((refused as Error).message).toMatch(/SCRAM SHA512 authentication failed/)
  })

  it('reaches the TLS listener with KAFKA_SSL, its CA and a client certificate; refuses without either', async () => {
    const tls = tlsSettings()
    expect(await describeCluster(client(tls))).toEqual([broker.listeners.SECURE])

    // The broker's certificate verified against the system's CAs: refused by the client.
    const { KAFKA_SSL_CA_FILE: _ca, ...systemCas } = tls
    await expect(describeCluster(client(systemCas))).rejects.toThrow(
      /unable to verify the first certificate|self[- ]signed certificate|unable to get local issuer certificate/,
    )
    // …unless told to trust any broker.
    expect(await describeCluster(client({ ...systemCas, KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' }))).toEqual([
      broker.listeners.SECURE,
    ])
    // No client certificate: refused by the broker (ssl.client.auth=required).
    const { KAFKA_SSL_CERT_FILE: _c, KAFKA_SSL_KEY_FILE: _k, ...noClientCert } = tls
    await expect(describeCluster(client(noClientCert))).rejects.toThrow()
    // Plain TCP to the TLS listener: no answer kafkajs understands.
    const {
      KAFKA_SSL: _s,
      KAFKA_SSL_CA_FILE: _a,
      KAFKA_SSL_CERT_FILE: _b,
      KAFKA_SSL_KEY_FILE: _d,
      ...plain
    } = tls
    await expect(describeCluster(client(plain))).rejects.toThrow()
  })

  it('fails its start on a TLS setting that does not fit the listener with a line naming the cause and the variables, not "cannot reach"', async () => {
    const tls = tlsSettings()
    const otherCa = join(dir, 'other-ca')
    execFileSync('mkdir', ['-p', otherCa])
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
        '-keyout',
        'ca.key',
        '-out',
        'ca.pem',
        '-days',
        '2',
        '-subj',
        '/CN=another CA',
      ]),
      { cwd: otherCa, stdio: 'pipe' },
    )
    const { KAFKA_SSL_CA_FILE: _ca, ...systemCas } = tls
    const { KAFKA_SSL_CERT_FILE: _c, KAFKA_SSL_KEY_FILE: _k, ...noClientCert } = tls
    const {
      KAFKA_SSL: _s,
      KAFKA_SSL_CA_FILE: _a,
      KAFKA_SSL_CERT_FILE: _b,
      KAFKA_SSL_KEY_FILE: _d,
      ...plain
    } = tls
    const untrusted =
      /certificate did not verify \(UNABLE_TO_VERIFY_LEAF_SIGNATURE: .*KAFKA_SSL_CA_FILE.*KAFKA_SSL_REJECT_UNAUTHORIZED/
    const cases: [string, Record<string, string>, RegExp][] = [
      ["the system's CAs", systemCas, untrusted],
      ['another CA', { ...tls, KAFKA_SSL_CA_FILE: join(otherCa, 'ca.pem') }, untrusted],
      [
        'no client certificate',
        noClientCert,
        /TLS handshake failed \(ERR_SSL_.*KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE/,
      ],
      [
        'KAFKA_SSL on a SASL_PLAINTEXT listener',
        { ...tls, KAFKA_BROKERS: broker.listeners.V6! },
        /does not speak TLS there .*unset KAFKA_SSL/,
      ],
      [
        'KAFKA_SSL on the PLAINTEXT listener',
        { KAFKA_BROKERS: broker.brokers[0]!, KAFKA_SSL: 'true' },
        /does not speak TLS there/,
      ],
      [
        'no KAFKA_SSL on a SASL_SSL listener',
        plain,
        /answered with TLS, and KAFKA_SSL is off: set KAFKA_SSL=true/,
      ],
    ]
    for (const [what, env, line] of cases) {
      const err = await describeCluster(client(env)).then(
        () => new Error(`${what}: connected`),
        (e: unknown) => e,
      )
      const said = describeInfraFailure(err, env)
      expect(said, what).toMatch(line)
      expect(said, what).toMatch(
        new RegExp(`^Kafka at ${env.KAFKA_BROKERS!.replace(/[[\]]/g, '\\$&')} \\(KAFKA_BROKERS\\)`),
      )
      expect(said, what).not.toMatch(/cannot reach/)
      expect(said, what).not.toContain(PASSWORD)
      expect(faultReason(err), what).toBe('tls failed')
    }

    // A worker as its own process exits 69 with that line, as for Kafka out of reach.
    const prefix = `${randomName('tls-mismatch')}.`
    const ingest: WorkerProcess = spawnWorker('services/ingest/src/main.ts', {
      KAFKA_BROKERS: broker.listeners.V6!,
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: certs.ca,
      ...sasl(),
      REDIS_URL: testInfra().redisUrl,
      REDIS_KEY_PREFIX: prefix.replace(/\W/g, '_'),
      TRADEPULSE_TOPIC_PREFIX: prefix,
      HTTP_PORT: '0',
    })
    cleanups.push(async () => {
      if (ingest.child.exitCode === null) ingest.child.kill('SIGKILL')
    })
    expect((await ingest.exited).code).toBe(69)
    expect(ingest.output()).toMatch(
      /does not speak TLS there \(ERR_TLS_KAFKA_LISTENER_NOT_TLS\), and KAFKA_SSL is on/,
    )
    expect(ingest.output()).not.toContain(PASSWORD)
  })

  const passThrough =
    (output: string): BatchHandler =>
    async (records) =>
      records.map((r) => ({
        kind: 'ok' as const,
        out: [{ topic: output, key: null, value: `seen ${String(r.value)}` }],
      }))

  /** Topics in and out on the broker, and a producer to `in` on the PLAINTEXT listener. */
  async function pipe(name: string) {
    const kafka = plaintext()
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({
      topics: [{ topic: `${name}.in` }, { topic: `${name}.out` }, { topic: `${name}.dlq` }],
    })
    await admin.disconnect()
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
    await producer.connect()
    cleanups.push(() => producer.disconnect())
    return {
      input: `${name}.in`,
      output: `${name}.out`,
      dlq: `${name}.dlq`,
      send: (value: string) => producer.send({ topic: `${name}.in`, messages: [{ value }] }),
    }
  }

  it('stops a running worker whose credential the broker removed (its consumer refused): failed() at once, naming the variables; restarted with valid credentials, it goes on from its commit', async () => {
    const name = randomName('revoked-consumer')
    const { input, output, dlq, send } = await pipe(name)
    const env = scramEnv(REVOKED.consumer)
    const config = loadConfig(BaseConfig, { ...env, KAFKA_GROUP_ID: name, KAFKA_COMMIT_INTERVAL_MS: '100' })
    const make = (cfg: BaseConfig) =>
      createKafkaWorker({
        worker: 'revoked',
        config: cfg,
        log: silent,
        inputTopics: [input],
        dlqTopic: dlq,
        defaultHttpPort: 0,
        handler: passThrough(output),
      })
    const worker = make(config)
    cleanups.push(() => worker.stop())
    await worker.start()
    await send('first')
    await waitFor(async () => (await committed(name, input)) === 1, { what: 'the first record committed' })

    // No batch under way: the consumer's fetches are the first to re-authenticate, and are refused (with
    // a batch retrying its output, that is the next test's bounded wait).
    await revoke(REVOKED.consumer)
    const err = await Promise.race([
      worker.failed!(),
      waitFor<never>(() => false, { what: 'failed() to report the refused credentials', timeoutMs: 30_000 }),
    ])
    expect(err).toMatchObject({ code: 'KAFKA_AUTH' })
    expect(err.message).toMatch(/^Kafka refused the credentials \(KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD\)/)
    const health = await worker.health()
    expect(health.checks.consumer?.detail).toMatch(/auth refused \(KAFKA_SASL_USERNAME/)
    const line = describeInfraFailure(err, env)
    expect(line).toMatch(/refused the credentials: .*check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/)
    expect(line).not.toContain(PASSWORD)
    await worker.stop()
    expect(await committed(name, input)).toBe(1)

    // Restarted with credentials the broker takes (another user of the same group), nothing is lost.
    const restarted = make(
      loadConfig(BaseConfig, {
        ...env,
        KAFKA_BROKERS: broker.listeners.V6!,
        ...sasl(),
        KAFKA_GROUP_ID: name,
      }),
    )
    cleanups.push(() => restarted.stop())
    await restarted.start()
    await send('second')
    await waitFor(async () => (await committed(name, input)) === 2, { what: 'the second record committed' })
    expect(new Set(await valuesOf(output))).toEqual(new Set(['seen first', 'seen second']))
  })

  it("retries a running worker's output refused for its credentials for a bounded time, degraded with its own reason, then reports failed(); nothing unhandled committed", async () => {
    const name = randomName('revoked-producer')
    const { input, output, dlq, send } = await pipe(name)
    // The consumer's credentials still hold (another user, on [::1]); only the producer's are removed.
    const consumerKafka = createKafka(
      kafkaClientConfig(loadConfig(BaseConfig, { KAFKA_BROKERS: broker.listeners.V6!, ...sasl() }), name),
      silent,
    )
    const env = scramEnv(REVOKED.producer)
    const producerKafka = createKafka(kafkaClientConfig(loadConfig(BaseConfig, env), name), silent)
    const runner = createBatchRunner(
      consumerKafka,
      createProducer(producerKafka),
      passThrough(output),
      {
        worker: 'revoked',
        groupId: name,
        topics: [input],
        dlqTopic: dlq,
        maxBatch: 100,
        fetchMaxWaitMs: 100,
        commitIntervalMs: 100,
        sessionTimeoutMs: 10_000,
        heartbeatIntervalMs: 1_000,
        maxBytesPerPartition: 1_048_576,
        partitionsConcurrency: 1,
        retryBaseMs: 100,
        retryMaxMs: 500,
        credentialsRefusedMs: 5_000,
      },
      silent,
      createMetrics('revoked'),
    )
    cleanups.push(() => runner.stop())
    await runner.start()
    await send('first')
    await waitFor(async () => (await committed(name, input)) === 1, { what: 'the first record committed' })
    // The output's connection made its last request (the first output, so its last authentication) before.
    const outputLastAuthenticated = Date.now()

    await revoke(REVOKED.producer)
    // A request of a session younger than REAUTH_MS - KAFKAJS_REAUTH_THRESHOLD_MS goes on the session the
    // broker granted, and is taken; the first past it re-authenticates, and is refused. The second
    // record's output comes once the output's session is past that point (the removal nearly always takes
    // longer already: a JVM's start).
    await waitFor(() => Date.now() - outputLastAuthenticated >= REAUTH_MS - KAFKAJS_REAUTH_THRESHOLD_MS, {
      what: "the output's session past its re-authentication point",
      timeoutMs: REAUTH_MS,
    })
    await send('second')
    // Waited out for a while, with a reason of its own naming the variable…
    await waitFor(
      async () =>
        (await runner.health()).detail?.match(
          /^KAFKA_AUTH: auth refused \(KAFKA_SASL_USERNAME, attempt \d+\)$/,
        ),
      {
        what: 'health to say the credentials are refused',
        timeoutMs: 20_000,
      },
    )
    expect(await runner.health()).toMatchObject({ status: 'degraded', ready: false })
    // …then given up.
    const err = await Promise.race([
      runner.failed(),
      waitFor<never>(() => false, { what: 'failed() to report the refused credentials', timeoutMs: 20_000 }),
    ])
    expect(err.message).toMatch(
      /^Kafka refused the credentials \(KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD\) for 5000 ms: /,
    )
    expect(describeInfraFailure(err, env)).toMatch(/check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/)
    expect(await runner.health()).toMatchObject({ status: 'failed', ready: false })
    await runner.stop()
    // The second record's output was never acknowledged: not committed, it comes again after a restart.
    expect(await valuesOf(output)).toEqual(['seen first'])
    expect(await committed(name, input)).toBe(1)
  })
})
