import { execFileSync } from 'node:child_process'
import { freePort } from './free-port.ts'
import { BROKER_SETTINGS, type LocalKafka, startLocalKafka, waitForAdmin } from './local-kafka.ts'
import { type LocalRedis, startLocalRedis } from './local-redis.ts'

/** The broker of docker-compose.yml and of the local broker's jars (scripts/kafka/pom.xml). */
export const KAFKA_IMAGE = 'apache/kafka:4.1.1'
export const REDIS_IMAGE = 'redis:7.4'

export type Infra = { kafkaBrokers: string[]; redisUrl: string; source: string; stop(): Promise<void> }

function dockerAnswers(): boolean {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 5_000 })
    return true
  } catch {
    return false
  }
}

/**
 * Kafka and Redis for a test run or a benchmark, in this order:
 * 1. KAFKA_BROKERS and REDIS_URL set: use them (nothing started or stopped);
 * 2. a Docker engine answers and testcontainers is installed: Apache Kafka and Redis containers;
 * 3. a real broker from Maven Central jars with the machine's Java, and redis-server on a free port.
 *
 * testcontainers is a devDependency of this package, loaded only here and only for step 2: a production
 * install (`pnpm install --prod`, the image `tradepulse start` runs in) has none, and goes on to step 3.
 */
export async function startInfra(env: NodeJS.ProcessEnv = process.env): Promise<Infra> {
  if (env.KAFKA_BROKERS && env.REDIS_URL) {
    return {
      kafkaBrokers: env.KAFKA_BROKERS.split(','),
      redisUrl: env.REDIS_URL,
      source: 'env',
      stop: async () => {},
    }
  }
  let docker = 'no engine answered `docker info`'
  if (env.TRADEPULSE_NO_DOCKER === '1') docker = 'TRADEPULSE_NO_DOCKER=1'
  else if (dockerAnswers()) {
    const tc = await loadTestcontainers()
    if (tc) return startContainers(tc)
    docker = 'testcontainers is not installed (a production install)'
  }
  // Both settled: where one fails, the other (started meanwhile) is stopped, not left running.
  const [redisStart, kafkaStart] = await Promise.allSettled([startLocalRedis(), startLocalKafka()])
  const errors = [redisStart, kafkaStart].flatMap((s) =>
    s.status === 'rejected' ? [s.reason instanceof Error ? s.reason.message : String(s.reason)] : [],
  )
  const redis: LocalRedis | undefined = redisStart.status === 'fulfilled' ? redisStart.value : undefined
  const kafka: LocalKafka | undefined = kafkaStart.status === 'fulfilled' ? kafkaStart.value : undefined
  if (!redis || !kafka) {
    await Promise.allSettled([redis?.stop(), kafka?.stop()])
    throw new Error(
      [
        'No Kafka and Redis for the tests. Tried, in order:',
        '  1. KAFKA_BROKERS and REDIS_URL: not both set;',
        `  2. Docker (testcontainers): ${docker};`,
        `  3. local broker from Maven Central + redis-server: ${errors.join('; ')}`,
        'Fix one: export KAFKA_BROKERS/REDIS_URL, start Docker, or install a JDK 17+, Maven and redis-server.',
      ].join('\n'),
    )
  }
  return {
    kafkaBrokers: kafka.brokers,
    redisUrl: redis.url,
    source: 'local',
    stop: async () => {
      await Promise.allSettled([kafka.stop(), redis.stop()])
    },
  }
}

type Testcontainers = {
  GenericContainer: typeof import('testcontainers').GenericContainer
  Wait: typeof import('testcontainers').Wait
  getContainerRuntimeClient: typeof import('testcontainers').getContainerRuntimeClient
  RedisContainer: typeof import('@testcontainers/redis').RedisContainer
}

/** The testcontainers modules, or undefined where they are not installed. */
async function loadTestcontainers(): Promise<Testcontainers | undefined> {
  try {
    const [{ GenericContainer, Wait, getContainerRuntimeClient }, { RedisContainer }] = await Promise.all([
      import('testcontainers'),
      import('@testcontainers/redis'),
    ])
    return { GenericContainer, Wait, getContainerRuntimeClient, RedisContainer }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return undefined
    throw err
  }
}

/**
 * The environment of the Kafka container: the local broker's settings (BROKER_SETTINGS), listening on
 * 9092 in the container and advertised as host:port, the address the host reaches it on. The image
 * writes each KAFKA_FOO_BAR variable into its server.properties as foo.bar.
 */
export function kafkaContainerEnvironment(host: string, port: number): Record<string, string> {
  const settings: Record<string, string> = {
    ...BROKER_SETTINGS,
    'controller.quorum.voters': '1@localhost:9093',
    listeners: 'PLAINTEXT://:9092,CONTROLLER://:9093',
    'advertised.listeners': `PLAINTEXT://${host}:${port}`,
  }
  return Object.fromEntries(
    Object.entries(settings).map(([k, v]) => [`KAFKA_${k.toUpperCase().replaceAll('.', '_')}`, v]),
  )
}

/**
 * The official Apache Kafka image (KRaft, single node) with the local broker's settings, and Redis.
 * The broker advertises the address the host reaches it on: a host port chosen before the start and
 * bound to the container's listener, on the container runtime's host.
 */
async function startContainers(tc: Testcontainers): Promise<Infra> {
  const host = (await tc.getContainerRuntimeClient()).info.containerRuntime.host
  const port = await freePort()
  const [kafka, redis] = await Promise.all([
    new tc.GenericContainer(KAFKA_IMAGE)
      .withExposedPorts({ container: 9092, host: port })
      .withEnvironment(kafkaContainerEnvironment(host, port))
      .withWaitStrategy(tc.Wait.forLogMessage('Kafka Server started'))
      .withStartupTimeout(120_000)
      .start(),
    new tc.RedisContainer(REDIS_IMAGE).start(),
  ])
  const kafkaBrokers = [`${host}:${port}`]
  const stop = async () => {
    await Promise.allSettled([kafka.stop(), redis.stop()])
  }
  try {
    await waitForAdmin(kafkaBrokers)
  } catch (err) {
    await stop()
    throw err
  }
  return { kafkaBrokers, redisUrl: redis.getConnectionUrl(), source: 'testcontainers', stop }
}
