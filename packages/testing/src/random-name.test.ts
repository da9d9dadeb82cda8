import { describe, expect, it } from 'vitest'
import { isRandomName, randomName } from './random-name.ts'

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
