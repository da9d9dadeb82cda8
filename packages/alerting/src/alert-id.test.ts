import { describe, expect, it } from 'vitest'
import { alertId, timeBucket } from './alert-id.ts'
import { cooldownKey, hysteresisKey } from './alert-keys.ts'

const HOUR_MS = 3_600_000

describe('alertId', () => {
  const base = {
    streamKey: 'r|tariff|region:CN|down',
    eventMs: 10 * HOUR_MS,
    cooldownMs: HOUR_MS,
    eventRef: 'h1',
  }

  it('is the same for the same stream and bucket, and differs across streams and buckets', () => {
    expect(alertId(base)).toBe(alertId({ ...base, eventMs: 10 * HOUR_MS + HOUR_MS - 1, eventRef: 'h2' }))
    expect(alertId({ ...base, eventMs: 11 * HOUR_MS })).not.toBe(alertId(base))
    expect(alertId({ ...base, streamKey: 'r|tariff|region:CN|up' })).not.toBe(alertId(base))
  })

  it('buckets by event time and cooldown, or by event when there is no cooldown', () => {
    expect(timeBucket(10 * HOUR_MS + 5, HOUR_MS, 'h1')).toBe('b10')
    expect(timeBucket(10 * HOUR_MS + 5, 0, 'h1')).toBe('eh1')
  })
})

describe('alert keys', () => {
  it('name the rule, dimension, scope and side, escaping scope ids', () => {
    expect(cooldownKey({ id: 'r' }, 'supplyChain', { kind: 'commodity', id: 'rare_earths' }, 'down')).toBe(
      'r|supplyChain|commodity:rare_earths|down',
    )
    const line = { measure: '1h mean', line: -0.5, hysteresis: 0.15 }
    expect(hysteresisKey({ id: 'r' }, 'tariff', { kind: 'entity', id: 'a{b}' }, 'up', line)).toBe(
      'r|tariff|entity:a%7Bb%7D|up|1h mean@-0.5~0.15',
    )
  })
})
