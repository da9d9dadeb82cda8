import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  currentRunToken,
  isRandomName,
  newRunToken,
  RUN_TOKEN_ENV,
  randomKeyPrefix,
  randomName,
  runTokenOf,
} from './random-name.ts'

const TOKEN = '0a1b2c3d'

describe('randomName and isRandomName', () => {
  it('recognises a random name alone and as the start of a topic or key, with or without a run token', () => {
    for (const prefix of ['t', 'agg', 'alerter-restart', 'e2e']) {
      for (const name of [randomName(prefix, null), randomName(prefix, TOKEN)]) {
        expect(isRandomName(name)).toBe(true)
        expect(isRandomName(`${name}.headlines.scored.v1`)).toBe(true)
        expect(isRandomName(`${name}-out`)).toBe(true)
      }
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

describe('run tokens', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
  })

  it('puts the run token before the 12 random hex digits, where runTokenOf finds it again', () => {
    const name = randomName('alerter-restart', TOKEN)
    expect(name).toMatch(/^alerter-restart-r0a1b2c3d-[0-9a-f]{12}$/)
    expect(runTokenOf(name)).toBe(TOKEN)
    expect(runTokenOf(`${name}.alerts.desk.tariff.v1`)).toBe(TOKEN)
    expect(runTokenOf(`${name}-out`)).toBe(TOKEN)
    const keyPrefix = `${name}.`.replace(/\W/g, '_')
    expect(randomKeyPrefix(`${keyPrefix}:dedup:{d4}:m-1`)).toBe(keyPrefix.slice(0, -1))
    expect(runTokenOf(randomKeyPrefix(`${keyPrefix}:dedup:{d4}:m-1`)!)).toBe(TOKEN)
    expect(runTokenOf(randomKeyPrefix(`${keyPrefix}ref:ind:{x}`)!)).toBe(TOKEN)
  })

  it('finds no token in names without one, old or made outside randomName', () => {
    for (const name of [
      randomName('t', null),
      randomName('alerter-reload', null), // "-r" then letters that are not hex
      'ind-89b29da69f0e',
      'faults_89b29da69f0e_:dedup:{d4}:m-1',
      'tradepulse:test-run:0a1b2c3d',
      'e2e-r0a1b2c3-89b29da69f0e', // 7 hex digits: not a token
    ])
      expect(runTokenOf(name)).toBeUndefined()
  })

  it('tells one run from another', () => {
    const other = 'ffee0011'
    expect(runTokenOf(randomName('e2e', other))).toBe(other)
    expect(runTokenOf(randomName('e2e', other))).not.toBe(TOKEN)
  })

  it('takes the token from the environment the global setup gives the workers, and names carry it', () => {
    vi.stubEnv(RUN_TOKEN_ENV, TOKEN)
    expect(currentRunToken()).toBe(TOKEN)
    expect(runTokenOf(randomName('ingest'))).toBe(TOKEN)
    vi.stubEnv(RUN_TOKEN_ENV, '')
    expect(currentRunToken()).toBeUndefined()
    expect(randomName('ingest')).toMatch(/^ingest-[0-9a-f]{12}$/) // benches, bare scripts: no token
    vi.stubEnv(RUN_TOKEN_ENV, 'not-hex')
    expect(() => randomName('ingest')).toThrow(/TRADEPULSE_TEST_RUN=not-hex/)
  })

  it('makes tokens of 8 hex digits that randomName accepts', () => {
    const token = newRunToken()
    expect(token).toMatch(/^[0-9a-f]{8}$/)
    expect(runTokenOf(randomName('t', token))).toBe(token)
    expect(() => randomName('t', 'XYZ')).toThrow(/not a run token/)
  })
})

describe('randomKeyPrefix', () => {
  it('finds the random name a test key starts with, as tests turn it into a key prefix', () => {
    for (const prefix of ['faults', 'alerter-restart', 'e2e', 'dedup']) {
      for (const name of [randomName(prefix, null), randomName(prefix, TOKEN)]) {
        const keyPrefix = `${name}.`.replace(/\W/g, '_')
        expect(randomKeyPrefix(`${keyPrefix}:dedup:{d4}:m-1`)).toBe(keyPrefix.slice(0, -1))
        expect(randomKeyPrefix(`${name}:ind:{tariff|global:all}`)).toBe(name)
        expect(randomKeyPrefix(`${name}{x}`)).toBe(name)
        expect(randomKeyPrefix(name)).toBe(name)
      }
    }
  })

  it('leaves other keys alone', () => {
    for (const key of [
      'tp:ind:{tariff|global:all}',
      'plmx7fsmkc:alert:sent:{a}:0f16437ff0f2facf4b305efb759244d2', // a bench run's keys: its own clean-up
      'team-0123456789abXYZ:x',
      't-0123456789a:x', // 11 hex digits
      'tradepulse:test-run:0a1b2c3d', // a live run's mark
    ])
      expect(randomKeyPrefix(key)).toBeUndefined()
  })
})
