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

  it('marks a Lua script error and anything unknown as not retriable', () => {
    const s = Object.assign(new Error('ERR user_script:3: bad argument'), { name: 'ReplyError' })
    expect(normalizeError(s).retriable).toBe(false)
    expect(normalizeError(new RangeError('oops'))).toMatchObject({ code: 'INTERNAL', retriable: false })
    expect(normalizeError('a string')).toMatchObject({ code: 'INTERNAL' })
  })
})
