import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { freePort } from './free-port.ts'
import { spawnTethered } from './tether.ts'

export const REPO_ROOT = join(import.meta.dirname, '..', '..', '..')
const POM = join(REPO_ROOT, 'scripts', 'kafka', 'pom.xml')
const CACHE_DIR = join(REPO_ROOT, '.kafka')

export type LocalKafka = {
  brokers: string[]
  /** The address of each of options.listeners, by name: host:port, or [::1]:port. */
  listeners: Record<string, string>
  pid: number
  dataDir: string
  logFile: string
  stop(): Promise<void>
}

export type LocalKafkaOptions = {
  port?: number
  /** Where data and logs go; a fresh temporary directory when absent. Wiped on stop unless keepData. */
  dataDir?: string
  keepData?: boolean
  /** Leave the broker running after this process exits (pnpm infra:up). */
  detached?: boolean
  /**
   * Told the broker's pid as soon as it is spawned, before it is ready: pnpm infra:up records it then, so
   * that infra:down finds a detached broker whose start was killed part way.
   */
  onSpawn?: (pid: number) => void
  heapMb?: number
  readyTimeoutMs?: number
  /**
   * Listeners besides the PLAINTEXT one of `brokers` (which readiness uses): a secured one (SASL, TLS)
   * or one on IPv6 loopback, each on a free port and advertised at its own address. Their settings
   * (JAAS, keystores: `listener.name.<name lower-cased>.…`) go in `properties`.
   */
  listeners?: LocalListener[]
  /** More server.properties, after the defaults (a key given here replaces the default's). */
  properties?: Record<string, string>
  /**
   * SCRAM credentials stored when the storage is formatted (StorageTool's --add-scram), as
   * `SCRAM-SHA-512=[name=alice,password=secret]`; the listener's mechanisms go in `properties`.
   */
  scramCredentials?: string[]
}

export type LocalListener = {
  /** Kafka's listener name: capital letters, digits and underscores, not PLAINTEXT or CONTROLLER. */
  name: string
  protocol: 'PLAINTEXT' | 'SASL_PLAINTEXT' | 'SSL' | 'SASL_SSL'
  /** Where it binds and what it advertises: 127.0.0.1 (default) or ::1. */
  host?: '127.0.0.1' | '::1'
}

/** host:port as Kafka's listeners and KAFKA_BROKERS write it: an IPv6 address in brackets. */
const hostPort = (host: string, port: number) =>
  host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`

function need(cmd: string, hint: string): void {
  try {
    execFileSync(cmd, ['-version'], { stdio: 'ignore' })
  } catch {
    throw new Error(`local Kafka needs \`${cmd}\` on PATH: ${hint}`)
  }
}

/** Resolves the broker's runtime classpath through Maven once; later runs read the cached file. */
export function kafkaClasspath(): string {
  const file = join(CACHE_DIR, 'classpath.txt')
  if (existsSync(file) && statSync(file).mtimeMs >= statSync(POM).mtimeMs)
    return readFileSync(file, 'utf8').trim()
  need('java', 'install a JDK 17+ (Debian: apt-get install openjdk-17-jre-headless)')
  need('mvn', 'install Apache Maven (Debian: apt-get install maven)')
  mkdirSync(CACHE_DIR, { recursive: true })
  try {
    execFileSync(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        POM,
        'dependency:build-classpath',
        `-Dmdep.outputFile=${file}`,
        '-Dmdep.includeScope=runtime',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 },
    )
  } catch (err) {
    const out = (err as { stdout?: Buffer; stderr?: Buffer }).stdout?.toString() ?? ''
    throw new Error(
      `mvn could not resolve the Kafka broker from Maven Central (${POM}):\n${out.slice(-2000)}`,
    )
  }
  return readFileSync(file, 'utf8').trim()
}

/**
 * The settings of every single-node broker the tests start, from Maven Central jars here or in a
 * container (infra.ts): all but where it listens and writes, so both brokers behave alike.
 */
export const BROKER_SETTINGS: Readonly<Record<string, string>> = {
  'process.roles': 'broker,controller',
  'node.id': '1',
  'controller.listener.names': 'CONTROLLER',
  'inter.broker.listener.name': 'PLAINTEXT',
  'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
  // Single node: internal topics with one replica, or the group coordinator never loads.
  'offsets.topic.replication.factor': '1',
  'offsets.topic.num.partitions': '1',
  'transaction.state.log.replication.factor': '1',
  'transaction.state.log.min.isr': '1',
  'share.coordinator.state.topic.replication.factor': '1',
  'share.coordinator.state.topic.min.isr': '1',
  // The default delays every first group join by 3 s.
  'group.initial.rebalance.delay.ms': '0',
  // Tests use short consumer session timeouts; the default minimum (6 s) rejects them.
  'group.min.session.timeout.ms': '1000',
  // Topics are created explicitly, waiting for leaders, as in production.
  'auto.create.topics.enable': 'false',
  'num.partitions': '1',
  'log.cleaner.dedupe.buffer.size': '2097152',
  'num.network.threads': '2',
  'num.io.threads': '4',
}

function serverProperties(
  port: number,
  controllerPort: number,
  logDir: string,
  extra: { listener: LocalListener; port: number }[] = [],
  properties: Record<string, string> = {},
): string {
  const at = (l: { listener: LocalListener; port: number }) =>
    `${l.listener.name}://${hostPort(l.listener.host ?? '127.0.0.1', l.port)}`
  return Object.entries({
    ...BROKER_SETTINGS,
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: [
      `PLAINTEXT://127.0.0.1:${port}`,
      `CONTROLLER://127.0.0.1:${controllerPort}`,
      ...extra.map(at),
    ].join(','),
    'advertised.listeners': [`PLAINTEXT://127.0.0.1:${port}`, ...extra.map(at)].join(','),
    'listener.security.protocol.map': [
      BROKER_SETTINGS['listener.security.protocol.map'],
      ...extra.map((l) => `${l.listener.name}:${l.listener.protocol}`),
    ].join(','),
    'log.dirs': logDir,
    ...properties,
  })
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')
}

async function waitForLog(
  file: string,
  needle: string,
  child: ChildProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`Kafka broker exited with code ${child.exitCode}; log:\n${tail(file)}`)
    }
    if (existsSync(file) && readFileSync(file, 'utf8').includes(needle)) return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`Kafka broker not ready within ${timeoutMs} ms; log:\n${tail(file)}`)
}

function tail(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-30).join('\n') : '(no log)'
}

/**
 * The pid of a broker started on `dataDir` that is still running, from the pid file a start leaves there;
 * where /proc exists, only a process whose command line names this data dir's server.properties counts
 * (a pid reused by another process does not).
 */
export function runningBroker(dataDir: string): number | undefined {
  const file = join(dataDir, 'broker.pid')
  if (!existsSync(file)) return undefined
  const pid = Number(readFileSync(file, 'utf8').trim())
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  try {
    process.kill(pid, 0)
  } catch (err) {
    // EPERM: it exists, as another user's process.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined
  }
  const cmdline = `/proc/${pid}/cmdline`
  if (existsSync('/proc/self/cmdline')) {
    try {
      if (!readFileSync(cmdline, 'utf8').split('\0').includes(join(dataDir, 'server.properties')))
        return undefined
    } catch {
      return undefined
    }
  }
  return pid
}

/** Starts a real single-node Kafka broker (KRaft) from Maven Central jars with the machine's Java. */
export async function startLocalKafka(options: LocalKafkaOptions = {}): Promise<LocalKafka> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tradepulse-kafka-'))
  // A new start formats and wipes the log dir: never under a broker that still writes there.
  const running = runningBroker(dataDir)
  if (running !== undefined)
    throw new Error(
      `a Kafka broker (pid ${running}) is still running on ${dataDir}; stop it first (pnpm infra:down), its data would be wiped`,
    )
  const classpath = kafkaClasspath()
  rmSync(join(dataDir, 'logs'), { recursive: true, force: true })
  mkdirSync(dataDir, { recursive: true })
  const port = options.port ?? (await freePort())
  const controllerPort = await freePort()
  const extra: { listener: LocalListener; port: number }[] = []
  for (const listener of options.listeners ?? []) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(listener.name) || ['PLAINTEXT', 'CONTROLLER'].includes(listener.name))
      throw new Error(
        `listener name ${JSON.stringify(listener.name)}: capital letters, digits and _, not PLAINTEXT or CONTROLLER`,
      )
    extra.push({ listener, port: await freePort() })
  }
  const props = join(dataDir, 'server.properties')
  writeFileSync(
    props,
    serverProperties(port, controllerPort, join(dataDir, 'logs'), extra, options.properties),
  )
  const java = [
    '-cp',
    classpath,
    `-Xmx${options.heapMb ?? 1024}m`,
    `-Xms${options.heapMb ?? 1024}m`,
    // The JVM options Kafka's own start scripts give the broker (kafka-run-class.sh). G1's default pause
    // target is 200 ms: young collections then took 36 ms on average here, each one held up every
    // record in flight through the broker, a share of the pipeline's p99.
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:InitiatingHeapOccupancyPercent=35',
    '-XX:+ExplicitGCInvokesConcurrent',
    '-XX:MaxInlineLevel=15',
    '-Djava.awt.headless=true',
  ]
  // 16 random bytes as base64url (22 chars) is the cluster id format StorageTool expects.
  // A leading '-' would read as an option to StorageTool's argument parser, so draw again.
  let clusterId = randomBytes(16).toString('base64url')
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url')
  execFileSync(
    'java',
    [
      ...java,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      props,
      '--ignore-formatted',
      ...(options.scramCredentials ?? []).flatMap((c) => ['--add-scram', c]),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  const logFile = join(dataDir, 'broker.log')
  const fd = openSync(logFile, 'w')
  const broker = [...java, '-Dorg.slf4j.simpleLogger.defaultLogLevel=info', 'kafka.Kafka', props]
  // Detached, it outlives this process (pnpm infra:up); otherwise it is tethered to this process: it
  // stops, and a temporary data dir goes, when this process ends, even killed outright (tether.ts).
  const child = options.detached
    ? spawn('java', broker, { stdio: ['ignore', fd, fd], detached: true })
    : spawnTethered('java', broker, options.keepData ? [] : [dataDir], fd)
  closeSync(fd)
  if (child.pid) {
    writeFileSync(join(dataDir, 'broker.pid'), String(child.pid))
    options.onSpawn?.(child.pid)
  }
  if (options.detached) child.unref()
  const brokers = [`127.0.0.1:${port}`]
  const stop = async () => {
    if (child.exitCode === null && child.pid) {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      // A tethered broker is killed by its tether 15 s after SIGTERM; killing the tether first would
      // leave the broker without it.
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
      await exited
      clearTimeout(timer)
    }
    if (!options.keepData) rmSync(dataDir, { recursive: true, force: true })
  }
  try {
    // The port opens before the broker is ready: wait for the log line, then for an admin call.
    await waitForLog(logFile, 'Kafka Server started', child, options.readyTimeoutMs ?? 120_000)
    await waitForAdmin(brokers)
  } catch (err) {
    await stop()
    throw err
  }
  const listeners = Object.fromEntries(
    extra.map((l) => [l.listener.name, hostPort(l.listener.host ?? '127.0.0.1', l.port)]),
  )
  return { brokers, listeners, pid: child.pid ?? -1, dataDir, logFile, stop }
}

export async function waitForAdmin(brokers: string[], timeoutMs = 60_000): Promise<void> {
  const admin = new Kafka({ clientId: 'tradepulse-readiness', brokers, logLevel: logLevel.NOTHING }).admin()
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      await admin.connect()
      await admin.describeCluster()
      await admin.disconnect()
      return
    } catch (err) {
      last = err
      await new Promise((r) => setTimeout(r, 250))
    }
  }
  await admin.disconnect().catch(() => {})
  throw new Error(`Kafka at ${brokers.join(',')} did not answer an admin call: ${String(last)}`)
}
