import { execFileSync } from 'node:child_process'
import { type LocalKafka, startLocalKafka } from './local-kafka.ts'
import { type LocalRedis, startLocalRedis } from './local-redis.ts'

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
 * 2. a Docker engine answers: testcontainers (Kafka and Redis modules);
 * 3. a real broker from Maven Central jars with the machine's Java, and redis-server on a free port.
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
  if (env.TRADEPULSE_NO_DOCKER !== '1' && dockerAnswers()) return startContainers()
  const errors: string[] = []
  let redis: LocalRedis | undefined
  let kafka: LocalKafka | undefined
  try {
    ;[redis, kafka] = await Promise.all([startLocalRedis(), startLocalKafka()])
  } catch (err) {
    errors.push(err instanceof Error ? err.message : String(err))
  }
  if (!redis || !kafka) {
    await Promise.allSettled([redis?.stop(), kafka?.stop()])
    throw new Error(
      [
        'No Kafka and Redis for the tests. Tried, in order:',
        '  1. KAFKA_BROKERS and REDIS_URL: not both set;',
        '  2. Docker (testcontainers): no engine answered `docker info`;',
        `  3. local broker from Maven Central + redis-server: ${errors.join('; ')}`,
        'Fix one: export KAFKA_BROKERS/REDIS_URL, start Docker, or install a JDK 17+, Maven and redis-server.',
      ].join('\n'),
    )
  }
  const [r, k] = [redis, kafka]
  return {
    kafkaBrokers: k.brokers,
    redisUrl: r.url,
    source: 'local',
    stop: async () => {
      await Promise.allSettled([k.stop(), r.stop()])
    },
  }
}

async function startContainers(): Promise<Infra> {
  const { KafkaContainer } = await import('@testcontainers/kafka')
  const { RedisContainer } = await import('@testcontainers/redis')
  const [kafka, redis] = await Promise.all([
    new KafkaContainer('confluentinc/cp-kafka:7.9.0').withKraft().start(),
    new RedisContainer('redis:7.4').start(),
  ])
  return {
    kafkaBrokers: [`${kafka.getHost()}:${kafka.getMappedPort(9093)}`],
    redisUrl: redis.getConnectionUrl(),
    source: 'testcontainers',
    stop: async () => {
      await Promise.allSettled([kafka.stop(), redis.stop()])
    },
  }
}
