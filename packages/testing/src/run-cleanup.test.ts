import { describe, expect, it } from 'vitest'
import { randomName } from './random-name.ts'
import { runNames } from './run-cleanup.ts'

const keyOf = (name: string, rest = ':dedup:{d4}:m-1') => `${`${name}.`.replace(/\W/g, '_')}${rest}`

describe('runNames: what a test run deletes at its end', () => {
  const mine = '0a1b2c3d'
  const theirs = 'ffee0011'

  it("picks the topics and keys carrying this run's token and no other run's", () => {
    const ours = runNames(mine)
    for (const prefix of ['e2e', 'alerter-restart', 'aggf']) {
      const name = randomName(prefix, mine)
      expect(ours.topic(`${name}.headlines.v1`)).toBe(true)
      expect(ours.topic(`${name}-out`)).toBe(true)
      expect(ours.key(keyOf(name))).toBe(true)
      expect(ours.key(keyOf(name, 'ref:ind:{tariff|global:all}'))).toBe(true)
      const other = randomName(prefix, theirs)
      expect(ours.topic(`${other}.headlines.v1`)).toBe(false)
      expect(ours.key(keyOf(other))).toBe(false)
    }
  })

  it('given the live runs, also picks the names of runs that are not live any more, never a live one', () => {
    const dead = '12345678'
    const ours = runNames(mine, undefined, new Set([theirs]))
    expect(ours.topic(`${randomName('e2e', mine)}.in`)).toBe(true)
    expect(ours.topic(`${randomName('e2e', dead)}.in`)).toBe(true)
    expect(ours.key(keyOf(randomName('aggf', dead)))).toBe(true)
    expect(ours.topic(`${randomName('e2e', theirs)}.in`)).toBe(false)
    expect(ours.key(keyOf(randomName('aggf', theirs)))).toBe(false)
    // Not knowing who is live: only its own.
    expect(runNames(mine).topic(`${randomName('e2e', dead)}.in`)).toBe(false)
  })

  it('picks names without a token only given the snapshot, and then only those not in it', () => {
    const [old, fresh] = [randomName('ind', null), randomName('ind', null)]
    const before = { topics: new Set([`${old}.in`]), keyPrefixes: new Set([old]) }
    const alone = runNames(mine, before)
    expect(alone.topic(`${fresh}.in`)).toBe(true)
    expect(alone.key(`${fresh}:ind:{x}`)).toBe(true)
    expect(alone.topic(`${old}.in`)).toBe(false)
    expect(alone.key(`${old}:ind:{x}`)).toBe(false)
    expect(alone.topic(`${randomName('e2e', theirs)}.in`)).toBe(false) // another run's, snapshot or not
    const notAlone = runNames(mine)
    expect(notAlone.topic(`${fresh}.in`)).toBe(false)
    expect(notAlone.key(`${fresh}:ind:{x}`)).toBe(false)
  })

  it('never picks what is not a random name', () => {
    const alone = runNames(mine, { topics: new Set(), keyPrefixes: new Set() })
    for (const topic of ['__consumer_offsets', 'tradepulse.headlines.v1', 'b1k2j3.tp.headlines.v1'])
      expect(alone.topic(topic)).toBe(false)
    for (const key of ['tp:ind:{tariff|global:all}', `tradepulse:test-run:${mine}`, 'plmx7fsmkc:alert:x'])
      expect(alone.key(key)).toBe(false)
  })
})
