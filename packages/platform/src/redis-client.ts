import { Redis } from 'ioredis'
import { redactUrl } from './config.ts'
import { TradepulseError } from './errors.ts'
import { faultReason, healthTransitions } from './fault-reason.ts'
import type { HealthCheck } from './health.ts'
import type { Logger } from './logger.ts'
import {
  beforeSetStatus,
  type CommandDeque,
  ioredisInternals,
  offlineQueue,
  type QueuedCommand,
  unansweredQueue,
} from './redis/ioredis-internals.ts'
import { sendScriptsInOrder } from './redis/scripts-in-order.ts'

/**
 * What createRedis knows of its client's connection: its logger and the reason of the last connection
 * error while the connection is down (none once it is ready again), for redisHealth; the refusal of its
 * database, for redisDatabaseRefused, and whether anyone waits for it (who then reports it).
 */
type Connection = {
  log: Logger
  downReason?: string
  refused: Promise<TradepulseError>
  refuse(err: TradepulseError): void
  watched: boolean
}
const CONNECTIONS = new WeakMap<Redis, Connection>()

/** The health detail of a client whose database the server refused (REDIS_URL's path). */
const DATABASE_REFUSED = 'database refused (REDIS_URL)'

/**
 * The one Redis client factory. Commands fail fast while Redis is down (two retries), so the batch
 * runner sees an infrastructure fault and pauses instead of piling work into an offline queue;
 * the connection itself keeps reconnecting with a capped backoff.
 *
 * `timeoutMs` (REDIS_TIMEOUT_MS) bounds the wait for a reply. A Redis that stops answering without
 * closing the connection (a network partition, a host gone, a frozen server) would otherwise hold a
 * batch until TCP gives up, many minutes later. Past it a command fails (commandTimeout): an outage the
 * batch runner retries, every script we run being safe to run again. A connection that receives nothing
 * for that long while commands wait on it is also destroyed and reopened (socketTimeout); replies come
 * in order and no command of ours blocks on the server, so such a connection is a dead one. The socket
 * timer alone is not enough: a server that accepts connections but never answers would hold a
 * reconnected client's ready check, and the commands queued behind it, for ever. The per-command
 * timer cost about 2 µs of client CPU per command in a micro-benchmark; our workers send Redis one
 * script per batch, shard or scope rather than per record, so at 1,000 headlines/s that is well under
 * 1 % of a core. 0 turns both off.
 *
 * `resendUnfulfilled: false` is for a client whose callers retry what fails (the alerter's batches): a
 * command sent on a connection that closed before its reply came is failed then (a Redis outage, retried)
 * instead of being sent again on the next connection. ioredis sends those again by default
 * (autoResendUnfulfilledCommands), however long the reconnection takes, and even when the command had
 * already failed by its timeout and its caller had moved on: a write that lands long after its caller
 * gave up, when the state it was decided on (a Kafka partition's ownership) may have moved on too. With
 * that option off, ioredis drops such commands without failing them, so one sent with no timeout
 * (REDIS_TIMEOUT_MS=0) waited for ever: they are failed here as the connection closes.
 *
 * A command failed already (by its timeout) is never sent later, whatever `resendUnfulfilled` says: one
 * issued while the connection is down waits in ioredis's offline queue, and ioredis sent it as the
 * connection came back (before a third failed reconnection gave the queue up, maxRetriesPerRequest),
 * however long after its caller was told it had failed; and so it did with one sent again after its
 * connection closed unanswered. Both are taken out of those queues as the connection becomes ready.
 *
 * Script calls run in the order they were issued, after a SCRIPT FLUSH too: see sendScriptsInOrder.
 *
 * Both hooks reach into ioredis's internals (ioredis-internals.ts): an ioredis without one of them fails
 * here, a TradepulseError naming it, the client closed.
 */
export function createRedis(
  url: string,
  log: Logger,
  name = 'tradepulse',
  opts: { timeoutMs?: number; resendUnfulfilled?: boolean } = {},
): Redis {
  const timeoutMs = opts.timeoutMs ?? 5_000
  const resendUnfulfilled = opts.resendUnfulfilled ?? true
  const redis = new Redis(url, {
    connectionName: name,
    ...(timeoutMs > 0 ? { commandTimeout: timeoutMs, socketTimeout: timeoutMs } : {}),
    autoResendUnfulfilledCommands: resendUnfulfilled,
    maxRetriesPerRequest: 2,
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    // Only a server that stopped taking writes (a primary demoted by a failover) calls for a new
    // connection (the name may lead to the new primary); an error reply about the command itself does not.
    reconnectOnError: (err) => /^(READONLY|MASTERDOWN|LOADING)\b/.test(err.message),
  })
  try {
    ioredisInternals(redis)
  } catch (err) {
    // Closed for good, so that no reconnection outlives the refusal; an error of its own is not the news.
    try {
      redis.disconnect()
    } catch {}
    throw err
  }
  let refuse: (err: TradepulseError) => void = () => {}
  const refused = new Promise<TradepulseError>((resolve) => {
    refuse = resolve
  })
  // Logged once per change of state (the first error of an outage, a change of its reason, the return),
  // not at every reconnection attempt: the whole error here, its reason alone in the health body.
  const connection: Connection = { log, refused, refuse, watched: false }
  CONNECTIONS.set(redis, connection)
  redis.on('error', (err) => {
    // ioredis reports a SELECT of the URL's database that the server refuses (out of its `databases`) and
    // goes on with the connection in database 0, where the worker would read and write among another
    // deployment's keys. Reported here during the connection's setup, before any command of ours is
    // sent, at the first connection or a reconnection (a server restarted with fewer databases): the
    // connection is closed for good instead, its commands fail, the health says why, and
    // redisDatabaseRefused resolves for whoever runs the client to stop (a worker exits 78).
    if ((err as { command?: { name?: unknown } }).command?.name === 'select') {
      if (connection.downReason === DATABASE_REFUSED) return
      connection.downReason = DATABASE_REFUSED
      redis.disconnect(false)
      const refusal = new TradepulseError(
        'CONFIG_INVALID',
        `Redis at ${redactUrl(url)} (REDIS_URL) refused its database ${redis.options.db} (${err.message}): set REDIS_URL to a database the server has (its databases setting), or to none for database 0`,
        { cause: err },
      )
      // One line, not two: whoever waits for the refusal reports it (a worker's exit line).
      if (!connection.watched) log.error({ err }, refusal.message)
      refuse(refusal)
      return
    }
    const reason = faultReason(err)
    if (reason !== connection.downReason) log.warn({ err, reason }, 'Redis connection error')
    connection.downReason = reason
  })
  if (!resendUnfulfilled) redis.on('close', () => failUnfulfilled(redis))
  sendNothingSettled(redis)
  sendScriptsInOrder(redis)
  redis.on('ready', () => {
    if (connection.downReason === DATABASE_REFUSED) return
    if (connection.downReason !== undefined) log.info('Redis connection restored')
    delete connection.downReason
  })
  return redis
}

/**
 * Fails the commands the connection that just closed left unanswered: what ioredis keeps, as the
 * connection closes, to send again on the next one (its prevCommandQueue, set before the close event is
 * emitted), and with autoResendUnfulfilledCommands off forgets there without settling them. Failed with
 * ioredis's own message for a command whose connection closed ('Connection is closed.'): a Redis outage
 * to retry (normalizeError, faultReason). A command whose reply may still come (sent on the connection
 * that is open now) is never among them; one failed already (its timeout) is left as it is.
 */
function failUnfulfilled(redis: Redis): void {
  const queue = unansweredQueue(redis)
  if (!queue) return
  const err = new Error('Connection is closed.')
  for (let item = queue.shift(); item; item = queue.shift()) item.command.reject(err)
}

/**
 * Takes the commands already failed (or answered) out of what ioredis sends as the connection becomes
 * ready: the offline queue (commands issued while it was down) and the commands a closed connection left
 * unanswered (its prevCommandQueue, when sent again). ioredis sends both, in order, right after setting
 * the status to ready, with no event in between: hence the hook on setStatus. A failed command of a
 * pipeline (a transaction or an auto-pipeline) takes the rest of it along, failed as timed out as it was:
 * ioredis writes a pipeline once all of its commands are written, so one left out would hold the others
 * unwritten, waiting for replies that never come.
 */
function sendNothingSettled(redis: Redis): void {
  beforeSetStatus(redis, (status) => {
    if (status === 'ready')
      for (const queue of [offlineQueue(redis), unansweredQueue(redis)]) dropSettled(queue)
  })
}

function dropSettled(queue: CommandDeque | null | undefined): void {
  if (!queue?.length) return
  const items: QueuedCommand[] = []
  for (let item = queue.shift(); item; item = queue.shift()) items.push(item)
  const failedPipelines = new Set(items.filter((i) => i.command.isSettled && i.stream).map((i) => i.stream))
  for (const item of items) {
    if (item.command.isSettled) continue
    if (item.stream && failedPipelines.has(item.stream)) item.command.reject(new Error('Command timed out'))
    else queue.push(item)
  }
}

/**
 * Resolves with a CONFIG_INVALID error naming REDIS_URL and the database once the server refuses the
 * database of the client's URL, at its first connection or at a reconnection; never otherwise, nor for a
 * client createRedis did not make. The client is closed for good by then, so a worker stops on it
 * (createKafkaWorker's `fatal`) rather than retry for ever; it is then the one to report it, and createRedis
 * logs nothing of it.
 */
export function redisDatabaseRefused(redis: Redis): Promise<TradepulseError> {
  const connection = CONNECTIONS.get(redis)
  if (!connection) return new Promise(() => {})
  connection.watched = true
  return connection.refused
}

/**
 * The state the health check logs changes of, one per client and logger: a check made anew at every
 * probe (as a caller may make it) would otherwise log every failing probe.
 */
const TRANSITIONS = new WeakMap<Redis, WeakMap<Logger, ReturnType<typeof healthTransitions>>>()
function transitionsOf(redis: Redis, log: Logger) {
  const byLog = TRANSITIONS.get(redis) ?? new WeakMap<Logger, ReturnType<typeof healthTransitions>>()
  TRANSITIONS.set(redis, byLog)
  const t = byLog.get(log) ?? healthTransitions(log, 'Redis health check')
  byLog.set(log, t)
  return t
}

/**
 * Redis's health: ok when it answers a PING; else degraded and not ready, the detail `Redis: <reason>`
 * with a short, stable reason (faultReason: `unreachable`, `timeout`, `auth refused`, `loading`…) and
 * never the client's message, which names hosts and ports and is readable by anyone who can reach the
 * health port. The error itself is logged (`log`, else the logger the client was made with) once per
 * change of state, not at every probe: the connection's errors by createRedis, a PING that fails on a
 * connection that is up here, with the return to health.
 */
export function redisHealth(redis: Redis, opts: { log?: Logger } = {}): HealthCheck {
  const log = opts.log ?? CONNECTIONS.get(redis)?.log
  const transitions = log ? transitionsOf(redis, log) : undefined
  return async () => {
    const downReason = CONNECTIONS.get(redis)?.downReason
    // Not connected: said at once, rather than after a ping has waited out the reconnection; so is a
    // reconnection under way after an error (its ping would wait in the offline queue).
    if (
      redis.status === 'reconnecting' ||
      redis.status === 'close' ||
      redis.status === 'end' ||
      (redis.status === 'connecting' && downReason !== undefined)
    )
      return {
        status: 'degraded',
        ready: false,
        detail: `Redis: ${downReason ?? 'not connected'} (${redis.status})`,
      }
    try {
      await redis.ping()
      transitions?.ok()
      return { status: 'ok', ready: true }
    } catch (err) {
      // A ping given up because the connection is down says no more than the connection's error, which
      // createRedis logged: that reason, and nothing logged here.
      const connectionReason = CONNECTIONS.get(redis)?.downReason
      if (connectionReason !== undefined)
        return { status: 'degraded', ready: false, detail: `Redis: ${connectionReason}` }
      const reason = faultReason(err)
      transitions?.failing(reason, err)
      return { status: 'degraded', ready: false, detail: `Redis: ${reason}` }
    }
  }
}

/** Closes a client once; later calls are no-ops (close() is idempotent everywhere). */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return
  try {
    await redis.quit()
  } catch {
    redis.disconnect()
  }
}
