import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { isKafkaAuthRefusal, normalizeError, TradepulseError } from './errors.ts'

// ioredis's own error classes, as it throws them: a reply is its SimpleError (a redis-errors ReplyError),
// a command given up as the connection closed a redis-errors AbortError.
const fromIoredis = createRequire(createRequire(import.meta.url).resolve('ioredis'))
type ErrorClass = new (message: string) => Error
const redisErrors = fromIoredis('redis-errors') as Record<
  'AbortError' | 'InterruptError' | 'ReplyError',
  ErrorClass
>
const { SimpleError } = fromIoredis('./resp/errors.js') as { SimpleError: ErrorClass }
const { MaxRetriesPerRequestError } = fromIoredis('./errors/index.js') as {
  MaxRetriesPerRequestError: new (max: number) => Error
}
const reply = (message: string) => new SimpleError(message)

describe('normalizeError', () => {
  it('keeps our errors as they are', () => {
    const e = new TradepulseError('INFRA_REDIS')
    expect(normalizeError(e)).toBe(e)
  })
  it('marks Kafka and Redis outages retriable', () => {
    const k = Object.assign(new Error('broker gone'), { name: 'KafkaJSConnectionError', retriable: true })
    expect(normalizeError(k)).toMatchObject({ code: 'INFRA_KAFKA', retriable: true })
    const r = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' })
    expect(normalizeError(r)).toMatchObject({ retriable: true })
    const m = Object.assign(new Error('Reached the max retries per request limit'), {
      name: 'MaxRetriesPerRequestError',
    })
    expect(normalizeError(m)).toMatchObject({ code: 'INFRA_REDIS', retriable: true })
  })
  it("does not take a socket's or a host lookup's own error for Redis's", () => {
    // A health server's HTTP_HOST that cannot be looked up was "cannot reach Redis at ... (REDIS_URL)".
    const lookup = Object.assign(new Error('getaddrinfo ENOTFOUND not a host!'), {
      code: 'ENOTFOUND',
      syscall: 'getaddrinfo',
      hostname: 'not a host!',
    })
    expect(normalizeError(lookup)).toMatchObject({
      code: 'INFRA_DEPENDENCY',
      retriable: true,
      message: 'getaddrinfo ENOTFOUND not a host!',
    })
  })
  it('marks a Redis that stopped answering (REDIS_TIMEOUT_MS) as a retriable Redis outage', () => {
    expect(normalizeError(new Error('Command timed out'))).toMatchObject({
      code: 'INFRA_REDIS',
      retriable: true,
    })
    const socket = new Error("Socket timeout. Expecting data, but didn't receive any in 5000ms.")
    expect(normalizeError(socket)).toMatchObject({ code: 'INFRA_REDIS', retriable: true })
  })
  it("keeps a Kafka outage retriable after kafkajs's own retries ran out", () => {
    const gone = Object.assign(new Error('broker gone'), { name: 'KafkaJSConnectionError', retriable: true })
    const exceeded = Object.assign(new Error('broker gone'), {
      name: 'KafkaJSNumberOfRetriesExceeded',
      retriable: false,
      cause: gone,
    })
    expect(normalizeError(exceeded)).toMatchObject({ code: 'INFRA_KAFKA', retriable: true })
    const bad = Object.assign(new Error('too large'), { name: 'KafkaJSProtocolError', retriable: false })
    expect(
      normalizeError(
        Object.assign(new Error('too large'), { name: 'KafkaJSNumberOfRetriesExceeded', cause: bad }),
      ),
    ).toMatchObject({ retriable: false })
  })

  it('gives a refusal of the Kafka credentials its own code, not retriable, wherever kafkajs wraps it', () => {
    const sasl = Object.assign(new Error('SASL SCRAM SHA512 authentication failed: invalid credentials'), {
      name: 'KafkaJSSASLAuthenticationError',
      retriable: false,
    })
    const wrapped = Object.assign(new Error(sasl.message, { cause: sasl }), {
      name: 'KafkaJSNonRetriableError',
    })
    const byType = Object.assign(new Error('Request is not valid given the current SASL state'), {
      name: 'KafkaJSProtocolError',
      type: 'SASL_AUTHENTICATION_FAILED',
    })
    for (const e of [sasl, wrapped, byType]) {
      expect(isKafkaAuthRefusal(e)).toBe(true)
      expect(normalizeError(e)).toMatchObject({ code: 'KAFKA_AUTH', retriable: false })
    }
    // An ACL's refusal: the credentials hold; not this code.
    const acl = Object.assign(new Error('Not authorized to access topics'), {
      name: 'KafkaJSProtocolError',
      type: 'TOPIC_AUTHORIZATION_FAILED',
      retriable: false,
    })
    expect(isKafkaAuthRefusal(acl)).toBe(false)
    expect(normalizeError(acl)).toMatchObject({ code: 'INFRA_KAFKA' })
  })

  // Messages as Redis 7 gives them, inside a script or not: a server state that passes, not a bug of ours.
  it.each([
    'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.',
    "OOM command not allowed when used memory > 'maxmemory'. script: 3c7a1f0e, on @user_script:4.",
    "READONLY You can't write against a read only replica. script: 3c7a1f0e, on @user_script:4.",
    'LOADING Redis is loading the dataset in memory',
    'MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no',
    'TRYAGAIN Multiple keys request during rehashing of slot',
    'CLUSTERDOWN The cluster is down',
    'NOREPLICAS Not enough good replicas to write.',
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.",
  ])('retries a Redis fault that passes, even inside a script: %s', (message) => {
    expect(normalizeError(reply(message))).toMatchObject({ code: 'INFRA_REDIS', retriable: true })
  })

  it('marks a Lua script error and anything unknown as not retriable', () => {
    expect(normalizeError(reply('ERR user_script:3: bad argument')).retriable).toBe(false)
    const wrongType = reply(
      'WRONGTYPE Operation against a key holding the wrong kind of value script: 3c7a1f0e, on @user_script:4.',
    )
    expect(normalizeError(wrongType).retriable).toBe(false)
    expect(normalizeError(new RangeError('oops'))).toMatchObject({ code: 'INTERNAL', retriable: false })
    expect(normalizeError('a string')).toMatchObject({ code: 'INTERNAL' })
  })
})

describe('normalizeError on Redis error replies', () => {
  it("takes ioredis's reply class for a reply", () => {
    expect(reply('WRONGTYPE x').name).toBe('ReplyError')
    expect(reply('WRONGTYPE x')).toBeInstanceOf(redisErrors.ReplyError)
  })

  // Messages as Redis 7 gives them; each would fail the same way however often it was sent.
  it.each([
    'WRONGTYPE Operation against a key holding the wrong kind of value',
    "ERR wrong number of arguments for 'hset' command",
    "ERR unknown command 'HSETX', with args beginning with: 'k' ",
    'ERR value is not an integer or out of range',
    'ERR syntax error',
    "CROSSSLOT Keys in request don't hash to the same slot",
    'BUSYGROUP Consumer Group name already exists',
    'ERR user_script:3: Script attempted to access nonexistent global variable',
    // ioredis sends a defined script itself when Redis does not know its SHA (its Script): a NOSCRIPT
    // that reaches us is an EVALSHA of a script never loaded.
    'NOSCRIPT No matching script. Please use EVAL.',
  ])('marks a reply that retrying cannot mend as a Redis error, not retriable: %s', (message) => {
    expect(normalizeError(reply(message))).toMatchObject({
      code: 'INFRA_REDIS',
      retriable: false,
      message,
    })
  })

  it('judges an EXECABORT by the refusals that caused it (ioredis gives them as previousErrors)', () => {
    const aborted = (...previous: Error[]) =>
      Object.assign(reply('EXECABORT Transaction discarded because of previous errors.'), {
        previousErrors: previous,
      })
    expect(normalizeError(aborted(reply("ERR wrong number of arguments for 'set' command"))).retriable).toBe(
      false,
    )
    expect(
      normalizeError(aborted(reply("OOM command not allowed when used memory > 'maxmemory'."))).retriable,
    ).toBe(true)
    expect(normalizeError(aborted()).retriable).toBe(false)
  })

  it.each([
    // Not the record's: the deployment's credentials or ACL, waited out (health degraded, the reason
    // logged) as a Kafka topic the worker may not write is.
    'NOAUTH Authentication required.',
    'WRONGPASS invalid username-password pair or user is disabled.',
    "NOPERM User tp has no permissions to run the 'evalsha' command",
    'ERR max number of clients reached',
  ])('waits out a reply that is not the record’s: %s', (message) => {
    expect(normalizeError(reply(message))).toMatchObject({ code: 'INFRA_REDIS', retriable: true })
  })
})

describe('normalizeError on what only mentions Redis', () => {
  // Classified by message text, any of these was a retriable Redis outage: the batch runner retried the
  // record's batch for ever and its partition stalled, where a bug belongs in the dlq.
  it.each([
    new TypeError("Cannot read properties of undefined (reading 'Redis')"),
    new Error('schema_invalid: field Redis is required'),
    new Error('Redis is already connecting/connected'),
    new Error('Connection is closed by the test, not by Redis'),
    new DOMException('This operation was aborted', 'AbortError'),
  ])('does not take %s for a Redis outage', (err) => {
    expect(normalizeError(err)).toMatchObject({ code: 'INTERNAL', retriable: false })
  })

  it("does not take Node's own AbortError (an aborted wait in a handler) for ioredis's", async () => {
    const aborted = await sleep(1, undefined, { signal: AbortSignal.abort() }).catch((e: unknown) => e)
    expect(aborted).toMatchObject({ name: 'AbortError' })
    expect(normalizeError(aborted)).toMatchObject({ code: 'INTERNAL', retriable: false })
  })
})

describe("normalizeError on ioredis's own outage errors", () => {
  it.each([
    [
      'a command aborted as its connection closed',
      new redisErrors.AbortError('Command aborted due to connection close'),
    ],
    ['an interrupted command', new redisErrors.InterruptError('interrupted')],
    ['retries per request spent', new MaxRetriesPerRequestError(2)],
    ['the connection closed', new Error('Connection is closed.')],
    ['no reply within REDIS_TIMEOUT_MS', new Error('Command timed out')],
    ['a silent socket', new Error("Socket timeout. Expecting data, but didn't receive any in 5000ms.")],
    ['the offline queue off', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
  ])('waits out %s', (_what, err) => {
    expect(normalizeError(err)).toMatchObject({ code: 'INFRA_REDIS', retriable: true, message: err.message })
  })
})
