import { createTopicCatalogue, listTopics } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  BaseConfig,
  baseConfigShape,
  count,
  decimal,
  defaultGroupId,
  describeConfig,
  durationMs,
  indicatorNamespace,
  KAFKA_MAX_TOPIC_CHARS,
  loadConfig,
  MAX_DATE_MS,
  MAX_DURATION_MS,
  MAX_TOPIC_PREFIX_CHARS,
  timerMs,
} from './config.ts'
import { numberNotations, refusal } from './config-test-support.ts'

describe('loadConfig', () => {
  it('gives working defaults for one machine', () => {
    const c = loadConfig(BaseConfig, {})
    expect(c.KAFKA_BROKERS).toEqual(['127.0.0.1:9092'])
    expect(c.REDIS_URL).toBe('redis://127.0.0.1:6379')
    expect(c.TRADEPULSE_TOPIC_PREFIX).toBe('tradepulse.')
    // A record is handed over as soon as it is there: the wait only bounds an idle consumer's polling.
    expect([c.KAFKA_FETCH_MIN_BYTES, c.KAFKA_FETCH_MAX_WAIT_MS]).toEqual([1, 100])
    // New partitions read and written to within half a minute, not kafkajs's five.
    expect(c.KAFKA_METADATA_MAX_AGE_MS).toBe(30_000)
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
  it('refuses a REDIS_URL whose path is no database number, naming it without the password', () => {
    // ioredis sends SELECT with the path as a number: /abc sent SELECT NaN and the worker died on an
    // uncaught reply error naming nothing; /-1 failed its SELECT and went on in database 0 (another
    // deployment's keys), /1.5 and /2/x used databases 1 and 2.
    for (const path of ['/abc', '/-1', '/1.5', '/2/x', '/0x1'])
      expect(refusal({ REDIS_URL: `redis://:s3cret@redis.prod:6379${path}` })).toBe(
        `invalid configuration:\n  REDIS_URL: the path is a database number (redis://host:6379/2) or nothing (got "redis://[redacted]@redis.prod:6379${path}")`,
      )
    for (const url of ['redis://h:6379', 'redis://h:6379/', 'rediss://u:p@h:6380/15', 'redis://h/0'])
      expect(loadConfig(BaseConfig, { REDIS_URL: url }).REDIS_URL).toBe(url)
  })
  it('refuses a REDIS_URL with a query or a fragment, naming it without what the query holds', () => {
    // ioredis reads every query parameter as a client option, over the worker's own: ?db=abc sent SELECT
    // NaN and the worker died on an uncaught reply (a stack trace, no variable named), ?db=1.5 used
    // database 1, ?maxRetriesPerRequest=0 and ?commandTimeout=1 replaced the worker's retry and timeout,
    // and ?password=… was taken as the password and shown in every line naming REDIS_URL.
    for (const rest of [
      '?db=abc',
      '?db=1.5',
      '/2?db=5',
      '?password=hunter2',
      '?maxRetriesPerRequest=0',
      '?commandTimeout=1',
      '?',
      '#hunter2',
    ]) {
      const message = refusal({ REDIS_URL: `redis://:s3cret@redis.prod:6379${rest}` })
      expect(message).toMatch(
        /^invalid configuration:\n {2}REDIS_URL: takes no query \(\?…\) nor fragment \(#…\)/,
      )
      expect(message).toContain('(got "redis://[redacted]@redis.prod:6379')
      expect(message).not.toMatch(/s3cret|hunter2|maxRetries|commandTimeout|db=/)
    }
  })
  it('refuses a consumer group or client id with white space around it or control characters, naming it', () => {
    // Taken as given, " tradepulse.aggregator" (a quoted compose value, a stray space) joined another
    // consumer group than the deployment's, silently: it starts at the topic's end or its start.
    for (const name of ['KAFKA_GROUP_ID', 'KAFKA_CLIENT_ID'])
      for (const value of [' tradepulse.aggregator', 'tradepulse.aggregator ', 'a\tb', 'a\nb', '\u200Bgroup'])
        expect(refusal({ [name]: value })).toMatch(
          new RegExp(
            `^invalid configuration:\\n {2}${name}: no white space around it nor control or invisible characters`,
          ),
        )
    const c = loadConfig(BaseConfig, { KAFKA_GROUP_ID: 'desk a.aggregator', KAFKA_CLIENT_ID: 'tp-1' })
    expect([c.KAFKA_GROUP_ID, c.KAFKA_CLIENT_ID]).toEqual(['desk a.aggregator', 'tp-1'])
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
  it('refuses a fetch wait that, with the heartbeat interval, is not below the session timeout, naming them and why', () => {
    // An idle consumer heartbeats only when a fetch ends, once the interval has passed: heartbeats may be
    // the two together apart. KAFKA_FETCH_MAX_WAIT_MS=20000 with KAFKA_SESSION_TIMEOUT_MS=6000 was taken,
    // and the idle worker was dropped from its group and rejoined after every fetch.
    const why =
      ': an idle consumer heartbeats only when a fetch ends, once the interval has passed, so its heartbeats may be both apart, and a session shorter than that ends between two of them: the group drops the consumer and it rejoins after every fetch'
    expect(refusal({ KAFKA_FETCH_MAX_WAIT_MS: '20000', KAFKA_SESSION_TIMEOUT_MS: '6000' })).toBe(
      `invalid configuration:\n  KAFKA_FETCH_MAX_WAIT_MS: plus KAFKA_HEARTBEAT_INTERVAL_MS must be below KAFKA_SESSION_TIMEOUT_MS (got 20000 + 3000 (default) and 6000)${why}`,
    )
    // Below the session alone is not enough: a 3900 wait with a 4000 interval heartbeated 7800 ms apart,
    // and a 7000 session dropped the consumer three times in 45 s.
    expect(
      refusal({
        KAFKA_FETCH_MAX_WAIT_MS: '3900',
        KAFKA_HEARTBEAT_INTERVAL_MS: '4000',
        KAFKA_SESSION_TIMEOUT_MS: '7000',
      }),
    ).toBe(
      `invalid configuration:\n  KAFKA_FETCH_MAX_WAIT_MS: plus KAFKA_HEARTBEAT_INTERVAL_MS must be below KAFKA_SESSION_TIMEOUT_MS (got 3900 + 4000 and 7000)${why}`,
    )
    expect(refusal({ KAFKA_FETCH_MAX_WAIT_MS: '7000' })).toBe(
      `invalid configuration:\n  KAFKA_FETCH_MAX_WAIT_MS: plus KAFKA_HEARTBEAT_INTERVAL_MS must be below KAFKA_SESSION_TIMEOUT_MS (got 7000 + 3000 (default) and 10000 (default))${why}`,
    )
    expect(loadConfig(BaseConfig, { KAFKA_FETCH_MAX_WAIT_MS: '6999' }).KAFKA_FETCH_MAX_WAIT_MS).toBe(6_999)
    // A heartbeat interval alone not below the session is its own line, not repeated for the wait.
    expect(refusal({ KAFKA_SESSION_TIMEOUT_MS: '6000', KAFKA_HEARTBEAT_INTERVAL_MS: '6000' })).toBe(
      'invalid configuration:\n  KAFKA_HEARTBEAT_INTERVAL_MS: must be below KAFKA_SESSION_TIMEOUT_MS (got 6000 and 6000)',
    )
  })
  it('says a REDIS_URL of another scheme, or no URL, needs redis:// or rediss://, in one line', () => {
    // zod's "Invalid URL" was all http://x was told; "x:6379" and unix:// were told of their path besides.
    for (const url of [
      'http://x',
      'x:6379',
      '/tmp/redis.sock',
      'unix:///tmp/redis.sock',
      'valkey://x',
      'redis:',
    ])
      expect(refusal({ REDIS_URL: url })).toBe(
        `invalid configuration:\n  REDIS_URL: a redis:// URL, or rediss:// for TLS (redis://host:6379, rediss://user:password@host:6380/2) (got ${JSON.stringify(url)})`,
      )
    expect(refusal({ REDIS_URL: 'http://u:hunter2@x' })).not.toContain('hunter2')
  })
  it('takes a Redis scheme in any letter case, written in lower case for the client, which turns TLS on only for rediss://', () => {
    // ioredis reads the scheme in any case but turns TLS on only for a lower-case "rediss://": REDISS://
    // connected in plain text, its password with it.
    const url = (v: string) => loadConfig(BaseConfig, { REDIS_URL: v }).REDIS_URL
    expect(url('REDISS://u:p@h:6380/1')).toBe('rediss://u:p@h:6380/1')
    expect(url('Rediss://h:6380')).toBe('rediss://h:6380')
    expect(url('REDIS://H:6379')).toBe('redis://H:6379')
    expect(url(' redis://h:6379 ')).toBe('redis://h:6379')
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
  it('stops a worker after 10 records in a row fail on the same Redis reply to one key by default; 0 never stops it', () => {
    expect(loadConfig(BaseConfig, {}).REDIS_REPLY_FAILURES_MAX).toBe(10)
    expect(loadConfig(BaseConfig, { REDIS_REPLY_FAILURES_MAX: '0' }).REDIS_REPLY_FAILURES_MAX).toBe(0)
    expect(refusal({ REDIS_REPLY_FAILURES_MAX: '-1' })).toMatch(/REDIS_REPLY_FAILURES_MAX: .*\(got "-1"\)/)
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
  it('takes an IPv6 broker in brackets, port required, and refuses other IPv6 forms naming the entry', () => {
    expect(
      loadConfig(BaseConfig, { KAFKA_BROKERS: '[::1]:9092, [2001:db8::7]:19092,kafka-0:9092' }).KAFKA_BROKERS,
    ).toEqual(['[::1]:9092', '[2001:db8::7]:19092', 'kafka-0:9092'])
    const message = (value: string) => refusal({ KAFKA_BROKERS: value })
    expect(message('[::1]')).toBe(
      'invalid configuration:\n  KAFKA_BROKERS: "[::1]" has no port ([address]:port)',
    )
    expect(message('::1:9092')).toBe(
      'invalid configuration:\n  KAFKA_BROKERS: "::1:9092" is not host:port (an IPv6 address goes in brackets: [2001:db8::1]:9092)',
    )
    expect(message('[kafka-0]:9092')).toBe(
      'invalid configuration:\n  KAFKA_BROKERS: "[kafka-0]:9092" has no IPv6 address in its brackets',
    )
    expect(message('[::1]:99999')).toBe(
      'invalid configuration:\n  KAFKA_BROKERS: "[::1]:99999" has a port outside 1 to 65535',
    )
    expect(message('a:1,[::1:9092')).toBe(
      'invalid configuration:\n  KAFKA_BROKERS: "[::1:9092" is not host:port (got "a:1,[::1:9092")',
    )
    expect(message('[]:9092')).toMatch(/"\[\]:9092" has no IPv6 address in its brackets/)
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
    expect(rows).toEqual([{ name: 'A_MS', description: 'a delay', default: '5', range: '' }])
  })
  it('gives the range of a numeric variable where it is not the usual one (from 0 or 1 up to the timer or duration bound)', () => {
    const ranges = describeConfig(
      z.object({
        TIMER_MS: timerMs().default(5),
        FROM_ONE_MS: timerMs(1).default(5),
        DURATION_MS: durationMs().default(5),
        SOME_COUNT: count(5),
        RATIO: decimal(z.number().min(0)).default(1),
        LONG_MS: timerMs(1_000).default(5_000),
        WINDOW_MS: durationMs(86_400_000).default(86_400_000),
        FEW: decimal(z.number().int().min(1).max(100)).default(10),
        PORT: decimal(z.number().int().min(0).max(65_535)).optional(),
        SHIFT: decimal(z.number().gt(0).max(2)).default(0.2),
        UNBOUNDED_COUNT: decimal(z.number().int().min(1)).default(5),
        NAME: z.string().default('x'),
      }),
    ).map((r) => [r.name, r.range])
    expect(Object.fromEntries(ranges)).toEqual({
      TIMER_MS: '',
      FROM_ONE_MS: '',
      DURATION_MS: '',
      SOME_COUNT: '',
      RATIO: '',
      LONG_MS: 'at least 1000',
      WINDOW_MS: 'at least 86400000',
      FEW: '1 to 100',
      PORT: '0 to 65535',
      SHIFT: 'above 0, at most 2',
      // A count without the usual bound shows it has none.
      UNBOUNDED_COUNT: '1 to 9007199254740991',
      NAME: '',
    })
  })
})

describe('loadConfig: values past what they feed', () => {
  // Node runs a timer above 2^31 - 1 ms after 1 ms (a TimeoutOverflowWarning is all it says):
  // REDIS_TIMEOUT_MS=3000000000 timed every Redis command out at once, SHUTDOWN_DEADLINE_MS=3000000000
  // exited 1 with "graceful stop exceeded its deadline" 6 ms after the stop began.
  const msVariables = Object.keys(baseConfigShape).filter((k) => k.endsWith('_MS'))

  it('refuses every *_MS variable above the longest timer Node keeps, naming it', () => {
    expect(msVariables).toEqual([
      'KAFKA_FETCH_MAX_WAIT_MS',
      'KAFKA_COMMIT_INTERVAL_MS',
      'KAFKA_SESSION_TIMEOUT_MS',
      'KAFKA_HEARTBEAT_INTERVAL_MS',
      'KAFKA_METADATA_MAX_AGE_MS',
      'REDIS_TIMEOUT_MS',
      'SHUTDOWN_DEADLINE_MS',
      'RETRY_BASE_MS',
      'RETRY_MAX_MS',
    ])
    for (const name of msVariables) {
      expect(refusal({ [name]: '3000000000' })).toBe(
        `invalid configuration:\n  ${name}: at most 2147483647 ms (about 24.8 days), the longest timer Node keeps (got "3000000000")`,
      )
    }
    // The bound itself is taken (the heartbeat must stay below the session timeout, the base at most the cap).
    const top = loadConfig(BaseConfig, {
      REDIS_TIMEOUT_MS: '2147483647',
      SHUTDOWN_DEADLINE_MS: '2147483647',
      KAFKA_COMMIT_INTERVAL_MS: '2147483647',
      RETRY_MAX_MS: '2147483647',
    })
    expect([top.REDIS_TIMEOUT_MS, top.SHUTDOWN_DEADLINE_MS, top.RETRY_MAX_MS]).toEqual([
      2_147_483_647, 2_147_483_647, 2_147_483_647,
    ])
  })

  it('bounds a duration that sets no timer (durationMs) where a date that far past the wall clock is still a Date', () => {
    // Redis takes a PX or PEXPIRE up to 2^63 - 1 less the time now, Lua's doubles hold whole numbers
    // to 2^53: the Date range (8.64e15 ms) is the bound, for any wall clock before the year 10000.
    expect(MAX_DATE_MS).toBe(8_640_000_000_000_000)
    expect(MAX_DURATION_MS).toBe(MAX_DATE_MS - Date.UTC(10_000, 0, 1))
    expect(new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999) + MAX_DURATION_MS).toISOString()).toBe(
      '+275760-09-12T23:59:59.999Z',
    )
    const Schema = z.object({ SOME_WINDOW_MS: durationMs(1_000).default(60_000) })
    const load = (v: string) => loadConfig(Schema, { SOME_WINDOW_MS: v }).SOME_WINDOW_MS
    expect(load(String(MAX_DURATION_MS))).toBe(MAX_DURATION_MS)
    expect(load('3000000000')).toBe(3_000_000_000) // no timer: past 2^31 - 1 is fine
    for (const v of [String(MAX_DURATION_MS + 1), '8640000000000000', '9007199254740991']) {
      expect(() => load(v)).toThrow(
        `invalid configuration:\n  SOME_WINDOW_MS: at most ${MAX_DURATION_MS} ms (about 265,000 years): a time that far past the wall clock must stay a date JavaScript holds (to +275760-09-13) (got "${v}")`,
      )
    }
    expect(() => load('999')).toThrow(/SOME_WINDOW_MS: Too small/)
  })

  it("refuses counts and sizes past Kafka's 32-bit fields, naming them", () => {
    expect(refusal({ KAFKA_MAX_BYTES_PER_PARTITION: '3000000000' })).toBe(
      'invalid configuration:\n  KAFKA_MAX_BYTES_PER_PARTITION: at most 2147483647 (a 32-bit integer) (got "3000000000")',
    )
  })

  it('reads numbers in decimal notation only, naming a variable given another (hex, exponent, sign)', () => {
    // Number() took all of these: KAFKA_MAX_BATCH=0x10 ran with batches of 16, HTTP_PORT=0b11 listened on 3.
    for (const [name, v] of [
      ['KAFKA_MAX_BATCH', '0x10'],
      ['HTTP_PORT', '0b11'],
      ['RETRY_MAX_MS', '1e3'],
      ['SHUTDOWN_DEADLINE_MS', '+500'],
      ['KAFKA_SESSION_TIMEOUT_MS', '0o17777'],
      ['REDIS_TIMEOUT_MS', 'Infinity'],
      ['KAFKA_FETCH_MIN_BYTES', '1 000'],
    ] as const)
      expect(refusal({ [name]: v })).toBe(
        `invalid configuration:\n  ${name}: a whole number in decimal digits (0-9) only (got "${v}")`,
      )
    // One line per variable, with the others' issues.
    expect(refusal({ KAFKA_MAX_BATCH: '1e3', LOG_LEVEL: 'loud' })).toMatch(
      /^invalid configuration:\n {2}KAFKA_MAX_BATCH: a whole number in decimal digits \(0-9\) only \(got "1e3"\)\n {2}LOG_LEVEL: [^\n]*$/,
    )
    // Plain digits, blanks around them (trimmed) and a leading minus (refused by the bound) read as before.
    expect(loadConfig(BaseConfig, { KAFKA_MAX_BATCH: ' 0016 ', HTTP_PORT: '0' })).toMatchObject({
      KAFKA_MAX_BATCH: 16,
      HTTP_PORT: 0,
    })
    expect(refusal({ KAFKA_MAX_BATCH: '-5' })).toMatch(/KAFKA_MAX_BATCH: Too small/)
    // A worker's own numbers too, fractions where they are taken.
    const Own = BaseConfig.extend({ SOME_RATIO: decimal(z.number().min(0)).default(0.2) })
    expect(loadConfig(Own, { SOME_RATIO: '0.25' }).SOME_RATIO).toBe(0.25)
    expect(() => loadConfig(Own, { SOME_RATIO: '.5e1' })).toThrow(
      'invalid configuration:\n  SOME_RATIO: a number in decimal notation (digits, one point) only (got ".5e1")',
    )
  })

  it('reads every numeric variable with one reader, the schema itself: no parse of it takes another notation', () => {
    // The durations (durationMs) and the other numbers read with Number() (z.coerce), decimal only when
    // loadConfig checked the text besides: the schema alone took 1e4, 0x10 and +5.
    for (const [schema, min] of [
      [durationMs(), 0],
      [durationMs(1_000), 1_000],
    ] as const) {
      for (const v of ['1e4', '0x2710', '+10000', 'Infinity'])
        expect(schema.safeParse(v).error?.issues.map((i) => i.message)).toEqual([
          'a whole number in decimal digits (0-9) only',
        ])
      expect(schema.parse(' 10000 ')).toBe(10_000)
      expect(schema.safeParse(String(min - 1)).success).toBe(false)
    }
    const { numeric, taken } = numberNotations(BaseConfig)
    expect(numeric).toEqual([
      'KAFKA_FETCH_MAX_WAIT_MS',
      'KAFKA_FETCH_MIN_BYTES',
      'KAFKA_COMMIT_INTERVAL_MS',
      'KAFKA_SESSION_TIMEOUT_MS',
      'KAFKA_HEARTBEAT_INTERVAL_MS',
      'KAFKA_METADATA_MAX_AGE_MS',
      'KAFKA_MAX_BATCH',
      'KAFKA_PARTITIONS_CONCURRENCY',
      'KAFKA_MAX_BYTES_PER_PARTITION',
      'REDIS_TIMEOUT_MS',
      'REDIS_REPLY_FAILURES_MAX',
      'HTTP_PORT',
      'SHUTDOWN_DEADLINE_MS',
      'RETRY_BASE_MS',
      'RETRY_MAX_MS',
    ])
    expect(taken).toEqual([])
  })

  it('refuses a backoff base above its cap, naming both (the default when unset)', () => {
    expect(refusal({ RETRY_BASE_MS: '10000', RETRY_MAX_MS: '100' })).toBe(
      'invalid configuration:\n  RETRY_BASE_MS: must be at most RETRY_MAX_MS (got 10000 and 100)',
    )
    expect(refusal({ RETRY_MAX_MS: '50' })).toBe(
      'invalid configuration:\n  RETRY_BASE_MS: must be at most RETRY_MAX_MS (got 100 (default) and 50)',
    )
    expect(loadConfig(BaseConfig, { RETRY_BASE_MS: '200', RETRY_MAX_MS: '200' }).RETRY_BASE_MS).toBe(200)
    // Both checks at once, in one error.
    expect(
      refusal({
        RETRY_BASE_MS: '10000',
        RETRY_MAX_MS: '100',
        KAFKA_SESSION_TIMEOUT_MS: '6000',
        KAFKA_HEARTBEAT_INTERVAL_MS: '7000',
      }),
    ).toBe(
      'invalid configuration:\n  KAFKA_HEARTBEAT_INTERVAL_MS: must be below KAFKA_SESSION_TIMEOUT_MS (got 7000 and 6000)\n  RETRY_BASE_MS: must be at most RETRY_MAX_MS (got 10000 and 100)',
    )
  })

  it("keeps every topic name within Kafka's 249 characters: a longer prefix is refused, naming it", () => {
    // A 245-character prefix was taken, and the start failed with exit 69 "Kafka ... Topic creation errors".
    expect(refusal({ TRADEPULSE_TOPIC_PREFIX: 'p'.repeat(245) })).toMatch(
      /^invalid configuration:\n {2}TRADEPULSE_TOPIC_PREFIX: at most 171 characters: Kafka takes topic names of up to 249, and the longest one adds 78 \(alerts\.desk\.<desk id>\.v1\) \(got "p{60}…"\)$/,
    )
    expect(MAX_TOPIC_PREFIX_CHARS).toBe(171)
    const prefix = loadConfig(BaseConfig, {
      TRADEPULSE_TOPIC_PREFIX: 'p'.repeat(171),
    }).TRADEPULSE_TOPIC_PREFIX
    const catalogue = createTopicCatalogue(prefix)
    const names = [...listTopics(catalogue).map((t) => t.name), catalogue.deskAlerts('d'.repeat(63)).name]
    expect(Math.max(...names.map((n) => n.length))).toBe(KAFKA_MAX_TOPIC_CHARS)
    for (const n of names) expect(n).toMatch(/^[a-zA-Z0-9._-]{1,249}$/)
    // The desk id bound the limit counts on: the catalogue refuses a longer one.
    expect(() => catalogue.deskAlerts('d'.repeat(64))).toThrow(/1 to 63 characters/)
  })

  it('shows the invisible characters of a refused value as escapes', () => {
    const Schema = z.object({ NAME: z.string().regex(/^[a-z]+$/) })
    expect(() => loadConfig(Schema, { NAME: 'a\u200bb\u00a0\u{E0041}' })).toThrow(
      'NAME: Invalid string: must match pattern /^[a-z]+$/ (got "a\\u200Bb\\u00A0\\u{E0041}")',
    )
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
