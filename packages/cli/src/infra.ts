import {
  type BaseConfig,
  closeRedis,
  createKafka,
  createLogger,
  createRedis,
  type KafkaConnectionSettings,
  kafkaClientConfig,
  type Logger,
  normalizeError,
  redisDatabaseRefused,
  TradepulseError,
} from '@tradepulse/platform'
import type { Redis } from 'ioredis'
import type { Kafka } from 'kafkajs'

/**
 * The log level of a one-shot command (indicators, indicators rebuild, replay, tail, topics create): at
 * LOG_LEVEL's default, info, warnings and errors only, as a person reads the command's own output and
 * not JSON lines about it ("rebuild: replaying"); any other level as given (debug and trace show more).
 */
export function cliLogLevel(level: BaseConfig['LOG_LEVEL']): BaseConfig['LOG_LEVEL'] {
  return level === 'info' ? 'warn' : level
}

/** The root logger of a one-shot command, at its level (cliLogLevel). */
export function cliLogger(config: Pick<BaseConfig, 'LOG_LEVEL' | 'LOG_PRETTY'>, name?: string): Logger {
  return createLogger({ level: cliLogLevel(config.LOG_LEVEL), pretty: config.LOG_PRETTY, name })
}

/**
 * kafkajs's and ioredis's own connection logs, for a command-line user: none unless LOG_LEVEL is debug
 * or trace. A command that cannot reach Kafka or Redis fails with one line naming the address and the
 * variable (exitOnFatal); a retry log line every few seconds before it, raw JSON at that, says nothing more.
 */
export function clientLog(log: Logger): Logger {
  return log.isLevelEnabled('debug') ? log : log.child({}, { level: 'fatal' })
}

/**
 * The Kafka client of a one-shot command (replay, tail, topics). Connecting gives up after about 4 s
 * (five retries, 100 ms doubling to 2 s) instead of the workers' 17 s: a person is waiting, and a worker's
 * patience for a broker restart is not theirs.
 */
export function cliKafka(config: KafkaConnectionSettings, clientId: string, log: Logger): Kafka {
  return createKafka(kafkaClientConfig(config, clientId), clientLog(log), {
    retry: { initialRetryTime: 100, retries: 5, maxRetryTime: 2_000 },
  })
}

/**
 * Runs `use` with a Redis client and closes it. A command failing while Redis is unreachable fails with
 * the socket's error (ECONNREFUSED, ENOTFOUND…): ioredis itself only says "max retries per request". A
 * server refusing the database of REDIS_URL (`/99` of a server with 16) is a configuration error, as the
 * workers take it (exit 78, one line naming REDIS_URL and the database), not an unreachable Redis: the
 * client is closed for good then (createRedis), and `use` is given up.
 */
export async function withRedis<T>(
  config: Pick<BaseConfig, 'REDIS_URL' | 'REDIS_TIMEOUT_MS'>,
  name: string,
  log: Logger,
  use: (redis: Redis) => Promise<T>,
): Promise<T> {
  const redis = createRedis(config.REDIS_URL, clientLog(log), name, { timeoutMs: config.REDIS_TIMEOUT_MS })
  let lastError: Error | undefined
  redis.on('error', (err: Error) => {
    lastError = err
  })
  redis.on('ready', () => {
    lastError = undefined
  })
  let refusal: TradepulseError | undefined
  const refused = redisDatabaseRefused(redis).then((err) => {
    refusal = err
    throw err
  })
  const using = use(redis)
  // Given up on a refusal: its own failure (the closed client's) is then not the one reported.
  using.catch(() => {})
  try {
    return await Promise.race([using, refused])
  } catch (err) {
    // The refusal, when it came: the command's own failure on the closed client may be reported first.
    await new Promise((resolve) => setImmediate(resolve))
    if (refusal) throw refusal
    if (lastError && normalizeError(err).code === 'INFRA_REDIS')
      throw new TradepulseError('INFRA_REDIS', lastError.message, { cause: lastError })
    throw err
  } finally {
    await closeRedis(redis)
  }
}

/**
 * Connects to Kafka and (unless `opts.redis` is false: the workers started need none) to Redis once
 * each, quietly: `start` on Kafka fails within seconds with one line
 * naming the address and the variable (exitOnFatal) when either cannot be reached, instead of after the
 * workers' own 17 s of retries, each logged.
 */
export async function checkReachable(
  config: KafkaConnectionSettings & Pick<BaseConfig, 'REDIS_URL' | 'REDIS_TIMEOUT_MS'>,
  log: Logger,
  opts: { redis: boolean } = { redis: true },
): Promise<void> {
  await checkKafkaReachable(config, 'tradepulse-start-check', log)
  if (opts.redis) await withRedis(config, 'tradepulse-start-check', log, (redis) => redis.ping())
}

/**
 * Connects to Kafka once, quietly, as a one-shot command's client does (cliKafka): fails within seconds
 * with one line naming the address and KAFKA_BROKERS (exitOnFatal) when it cannot be reached.
 */
export async function checkKafkaReachable(
  config: KafkaConnectionSettings,
  clientId: string,
  log: Logger,
): Promise<void> {
  const admin = cliKafka(config, clientId, log).admin()
  try {
    await admin.connect()
  } finally {
    await admin.disconnect().catch(() => {})
  }
}
