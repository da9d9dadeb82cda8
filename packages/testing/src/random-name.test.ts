import { describe, expect, it } from 'vitest'
import { isRandomName, randomKeyPrefix, randomName } from './random-name.ts'

describe('randomName and isRandomName', () => {
  it('recognises a random name alone and as the start of a topic or key', () => {
    for (const prefix of ['t', 'agg', 'alerter-restart', 'e2e']) {
      const name = randomName(prefix)
      expect(isRandomName(name)).toBe(true)
      expect(isRandomName(`${name}.headlines.scored.v1`)).toBe(true)
      expect(isRandomName(`${name}-out`)).toBe(true)
    }
  })

  it('leaves other names alone', () => {
    for (const name of [
      '__consumer_offsets',
      'tradepulse.headlines.v1',
      'headlines.raw.v1',
      'b1k2j3.tp.headlines.v1', // a bench run's topics have their own clean-up
    ])
      expect(isRandomName(name)).toBe(false)
    expect(isRandomName('team-0123456789abXYZ')).toBe(false)
    expect(isRandomName('t-0123456789a')).toBe(false) // 11 hex digits
  })
})

describe('randomKeyPrefix', () => {
  it('finds the random name a test key starts with, as tests turn it into a key prefix', () => {
    for (const prefix of ['faults', 'alerter-restart', 'e2e', 'dedup']) {
      const name = randomName(prefix)
      const keyPrefix = `${name}.`.replace(/\W/g, '_')
      expect(randomKeyPrefix(`${keyPrefix}:dedup:{d4}:m-1`)).toBe(keyPrefix.slice(0, -1))
      expect(randomKeyPrefix(`${name}:ind:{tariff|global:all}`)).toBe(name)
      expect(randomKeyPrefix(`${name}{x}`)).toBe(name)
      expect(randomKeyPrefix(name)).toBe(name)
    }
  })

  it('leaves other keys alone', () => {
    for (const key of [
      'tp:ind:{tariff|global:all}',
      'plmx7fsmkc:alert:sent:{a}:0f16437ff0f2facf4b305efb759244d2', // a bench run's keys: its own clean-up
      'team-0123456789abXYZ:x',
      't-0123456789a:x', // 11 hex digits
    ])
      expect(randomKeyPrefix(key)).toBeUndefined()
  })
})
