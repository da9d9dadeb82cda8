import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { BaseConfig, defaultGroupId, describeConfig, indicatorNamespace, loadConfig } from './config.ts'

describe('loadConfig', () => {
  it('gives working defaults for one machine', () => {
    const c = loadConfig(BaseConfig, {})
    expect(c.KAFKA_BROKERS).toEqual(['127.0.0.1:9092'])
    expect(c.REDIS_URL).toBe('redis://127.0.0.1:6379')
    expect(c.TRADEPULSE_TOPIC_PREFIX).toBe('tradepulse.')
    // A record is handed over as soon as it is there: the wait only bounds an idle consumer's polling.
    expect([c.KAFKA_FETCH_MIN_BYTES, c.KAFKA_FETCH_MAX_WAIT_MS]).toEqual([1, 100])
  })
  it('parses lists, numbers and booleans', () => {
    const c = loadConfig(BaseConfig, {
      KAFKA_BROKERS: 'a:1, b:2',
      KAFKA_MAX_BATCH: '10',
      LOG_PRETTY: 'false',
    })
    expect([c.KAFKA_BROKERS, c.KAFKA_MAX_BATCH, c.LOG_PRETTY]).toEqual([['a:1', 'b:2'], 10, false])
  })
  it('names every bad variable in one error, with the value it got', () => {
    const run = () =>
      loadConfig(BaseConfig, {
        KAFKA_BROKERS: 'nohost',
        KAFKA_MAX_BATCH: 'lots',
        REDIS_URL: 'http://x',
        LOG_LEVEL: 'loud',
      })
    expect(run).toThrow(/KAFKA_BROKERS: .*"nohost"/)
    expect(run).toThrow(/KAFKA_MAX_BATCH: .*"lots"/)
    expect(run).toThrow(/REDIS_URL: /)
    expect(run).toThrow(/LOG_LEVEL: /)
  })
  it("never echoes a URL's credentials or a secret variable's value", () => {
    const err = () =>
      loadConfig(BaseConfig.extend({ WEBHOOK_SECRET: z.string().min(40) }), {
        REDIS_URL: 'rediss://default:S3cr#t/pw@redis.prod:6380',
        WEBHOOK_SECRET: 'short-but-secret',
      })
    expect(err).toThrow(/REDIS_URL: .*\(got "rediss:\/\/\[redacted\]@redis\.prod:6380"\)/)
    expect(err).toThrow(/WEBHOOK_SECRET: .*\(got \[redacted\]\)/)
    expect(err).not.toThrow(/S3cr|short-but/)
  })
  it('refuses a broker port out of range and a heartbeat not below the session timeout, naming them', () => {
    expect(() => loadConfig(BaseConfig, { KAFKA_BROKERS: 'a:9092,b:99999' })).toThrow(
      /KAFKA_BROKERS: "b:99999" has a port outside 1 to 65535 \(got "a:9092,b:99999"\)/,
    )
    expect(() => loadConfig(BaseConfig, { KAFKA_BROKERS: 'a:0' })).toThrow(/port outside 1 to 65535/)
    expect(() =>
      loadConfig(BaseConfig, { KAFKA_SESSION_TIMEOUT_MS: '6000', KAFKA_HEARTBEAT_INTERVAL_MS: '6000' }),
    ).toThrow(/KAFKA_HEARTBEAT_INTERVAL_MS: must be below KAFKA_SESSION_TIMEOUT_MS \(got 6000 and 6000\)/)
    expect(
      loadConfig(BaseConfig, { KAFKA_SESSION_TIMEOUT_MS: '6000', KAFKA_HEARTBEAT_INTERVAL_MS: '500' })
        .KAFKA_HEARTBEAT_INTERVAL_MS,
    ).toBe(500)
  })
  it('refuses an indicator namespace named after another key family under REDIS_KEY_PREFIX, naming it', () => {
    const Ns = z.object({ AGGREGATOR_REDIS_NAMESPACE: indicatorNamespace() })
    expect(() => loadConfig(Ns, { AGGREGATOR_REDIS_NAMESPACE: 'indicators' })).toThrow(
      /AGGREGATOR_REDIS_NAMESPACE: reserved for other keys under REDIS_KEY_PREFIX: indicators, alert, align, applied, dedup, state-marker/,
    )
    expect(loadConfig(Ns, { AGGREGATOR_REDIS_NAMESPACE: 'v2' }).AGGREGATOR_REDIS_NAMESPACE).toBe('v2')
  })
  it('gives a dead member 10 s by default before its partitions move, heartbeating at most every third of that', () => {
    const c = loadConfig(BaseConfig, {})
    expect(c.KAFKA_SESSION_TIMEOUT_MS).toBe(10_000)
    expect(c.KAFKA_HEARTBEAT_INTERVAL_MS * 3).toBeLessThanOrEqual(c.KAFKA_SESSION_TIMEOUT_MS)
  })
  it('names each bad KAFKA_BROKERS entry once, in one line', () => {
    const message = (value: string) => {
      try {
        loadConfig(BaseConfig, { KAFKA_BROKERS: value })
      } catch (err) {
        return (err as Error).message
      }
      throw new Error('accepted')
    }
    expect(message('nohost')).toBe('invalid configuration:\n  KAFKA_BROKERS: "nohost" is not host:port')
    expect(message('a:99999,b')).toBe(
      'invalid configuration:\n  KAFKA_BROKERS: "a:99999" has a port outside 1 to 65535, "b" is not host:port (got "a:99999,b")',
    )
    expect(message('a:1,,b:2')).toMatch(/KAFKA_BROKERS: an empty entry \(got "a:1,,b:2"\)$/)
  })
  it('treats an empty or blank variable as unset', () => {
    expect(loadConfig(BaseConfig, { KAFKA_MAX_BATCH: '' }).KAFKA_MAX_BATCH).toBe(2_000)
    // A blank port used to coerce to 0 (any free port); a blank list or URL to a bad value.
    const c = loadConfig(BaseConfig, {
      HTTP_PORT: ' ',
      KAFKA_BROKERS: ' \t',
      REDIS_URL: '  ',
      LOG_LEVEL: ' ',
    })
    expect([c.HTTP_PORT, c.KAFKA_BROKERS, c.REDIS_URL, c.LOG_LEVEL]).toEqual([
      undefined,
      ['127.0.0.1:9092'],
      'redis://127.0.0.1:6379',
      'info',
    ])
  })
  it('describes variables with defaults for the README table', () => {
    const rows = describeConfig(z.object({ A_MS: z.coerce.number().default(5).describe('a delay') }))
    expect(rows).toEqual([{ name: 'A_MS', description: 'a delay', default: '5' }])
  })
})

describe('defaultGroupId', () => {
  it('is the topic prefix and the worker unless KAFKA_GROUP_ID is set', () => {
    const group = (env: Record<string, string>) => defaultGroupId(loadConfig(BaseConfig, env), 'alerter')
    expect(group({})).toBe('tradepulse.alerter')
    expect(group({ TRADEPULSE_TOPIC_PREFIX: 'staging.' })).toBe('staging.alerter')
    expect(group({ TRADEPULSE_TOPIC_PREFIX: '' })).toBe('tradepulse.alerter')
    expect(group({ TRADEPULSE_TOPIC_PREFIX: 'staging.', KAFKA_GROUP_ID: 'desk-a' })).toBe('desk-a')
  })
})
