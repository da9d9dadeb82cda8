import { describe, expect, it } from 'vitest'
import { normalizeError, TradepulseError } from './errors.ts'

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

  // Messages as Redis 7 gives them inside a script: a server state that passes, not a bug of ours.
  it.each([
    'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.',
    "OOM command not allowed when used memory > 'maxmemory'. script: 3c7a1f0e, on @user_script:4.",
    "READONLY You can't write against a read only replica. script: 3c7a1f0e, on @user_script:4.",
    'LOADING Redis is loading the dataset in memory',
    'MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no',
    'TRYAGAIN Multiple keys request during rehashing of slot',
    'CLUSTERDOWN The cluster is down',
  ])('retries a Redis fault that passes, even inside a script: %s', (message) => {
    const err = Object.assign(new Error(message), { name: 'ReplyError' })
    expect(normalizeError(err)).toMatchObject({ code: 'INFRA_REDIS', retriable: true })
  })

  it('marks a Lua script error and anything unknown as not retriable', () => {
    const s = Object.assign(new Error('ERR user_script:3: bad argument'), { name: 'ReplyError' })
    expect(normalizeError(s).retriable).toBe(false)
    const wrongType = Object.assign(
      new Error(
        'WRONGTYPE Operation against a key holding the wrong kind of value script: 3c7a1f0e, on @user_script:4.',
      ),
      { name: 'ReplyError' },
    )
    expect(normalizeError(wrongType).retriable).toBe(false)
    expect(normalizeError(new RangeError('oops'))).toMatchObject({ code: 'INTERNAL', retriable: false })
    expect(normalizeError('a string')).toMatchObject({ code: 'INTERNAL' })
  })
})
