import { createTopicCatalogue } from '@tradepulse/contracts'
import { loadConfig, MAX_DURATION_MS } from '@tradepulse/platform'
import { numberNotations } from '@tradepulse/platform/config-test-support'
import { describe, expect, it } from 'vitest'
import { AlerterConfig } from './config.ts'

function refusal(env: Record<string, string>): string {
  try {
    loadConfig(AlerterConfig, env)
  } catch (err) {
    return (err as Error).message
  }
  return 'accepted'
}

describe('AlerterConfig', () => {
  // Each sets a timer: Node runs one above 2^31 - 1 ms after 1 ms.
  it.each([
    'ALERTER_RULES_RELOAD_DEBOUNCE_MS',
    'ALERTER_WEBHOOK_TIMEOUT_MS',
    'ALERTER_WEBHOOK_BACKOFF_BASE_MS',
    'ALERTER_WEBHOOK_BACKOFF_MAX_MS',
    'ALERTER_WEBHOOK_RETRY_AFTER_MAX_MS',
  ])('refuses %s above the longest timer Node keeps, naming it', (name) => {
    expect(refusal({ [name]: '3000000000' })).toBe(
      `invalid configuration:\n  ${name}: at most 2147483647 ms (about 24.8 days), the longest timer Node keeps (got "3000000000")`,
    )
  })

  // No timer, but a Redis PX or PEXPIRE, an expiry or refill end shown as a date, or a time compared
  // with event times: 2^53 - 1 was taken, and a date that far past the clock is no Date.
  it.each([
    'ALERTER_DEDUP_WINDOW_MS',
    'ALERTER_HYSTERESIS_PRUNE_GRACE_MS',
    'ALERTER_ALIGN_AHEAD_MS',
    'ALERTER_WEBHOOK_MAX_AGE_MS',
    'ALERTER_MAX_EVENT_AGE_MS',
    'ALERTER_WEBHOOK_MAX_NEWS_AGE_MS',
  ])('refuses %s past the longest duration a date can be moved by, naming it', (name) => {
    expect(refusal({ [name]: '9007199254740991' })).toBe(
      `invalid configuration:\n  ${name}: at most ${MAX_DURATION_MS} ms (about 265,000 years): a time that far past the wall clock must stay a date JavaScript holds (to +275760-09-13) (got "9007199254740991")`,
    )
    expect(refusal({ [name]: String(MAX_DURATION_MS) })).toBe('accepted')
  })

  it('refuses a webhook backoff base above its cap, naming both', () => {
    expect(refusal({ ALERTER_WEBHOOK_BACKOFF_BASE_MS: '40000' })).toBe(
      'invalid configuration:\n  ALERTER_WEBHOOK_BACKOFF_BASE_MS: must be at most ALERTER_WEBHOOK_BACKOFF_MAX_MS (got 40000 and 30000)',
    )
    expect(refusal({ ALERTER_WEBHOOK_BACKOFF_BASE_MS: '30000' })).toBe('accepted')
  })

  it('refuses a webhook timeout above the max age of an alert, naming both and why', () => {
    // The age is checked only as an attempt starts: one attempt allowed longer than the age would post an
    // alert the max age gives up on.
    expect(refusal({ ALERTER_WEBHOOK_TIMEOUT_MS: '60000', ALERTER_WEBHOOK_MAX_AGE_MS: '30000' })).toBe(
      'invalid configuration:\n  ALERTER_WEBHOOK_TIMEOUT_MS: must be at most ALERTER_WEBHOOK_MAX_AGE_MS (got 60000 and 30000): one attempt would outlive the age past which an alert is not posted',
    )
    expect(refusal({ ALERTER_WEBHOOK_MAX_AGE_MS: '4999' })).toMatch(
      /^invalid configuration:\n {2}ALERTER_WEBHOOK_TIMEOUT_MS: must be at most ALERTER_WEBHOOK_MAX_AGE_MS \(got 5000 and 4999\)/,
    )
    expect(refusal({ ALERTER_WEBHOOK_TIMEOUT_MS: '30000', ALERTER_WEBHOOK_MAX_AGE_MS: '30000' })).toBe(
      'accepted',
    )
    // A max age under its own bound is its own line only.
    expect(refusal({ ALERTER_WEBHOOK_MAX_AGE_MS: '999' }).split('\n')).toEqual([
      'invalid configuration:',
      expect.stringMatching(/^ {2}ALERTER_WEBHOOK_MAX_AGE_MS: /),
    ])
  })

  it('bounds the age of the news a webhook posts at 15 min by default; 0 turns it off', () => {
    // Unset, the backlog of an outage was posted as if fresh: its records are new, its news hours old.
    expect(loadConfig(AlerterConfig, {}).ALERTER_WEBHOOK_MAX_NEWS_AGE_MS).toBe(900_000)
    expect(
      loadConfig(AlerterConfig, { ALERTER_WEBHOOK_MAX_NEWS_AGE_MS: '0' }).ALERTER_WEBHOOK_MAX_NEWS_AGE_MS,
    ).toBe(0)
    // Longer or shorter than the record's max age, each bound stands on its own.
    expect(refusal({ ALERTER_WEBHOOK_MAX_NEWS_AGE_MS: '7200000' })).toBe('accepted')
    expect(
      refusal({
        ALERTER_WEBHOOK_MAX_NEWS_AGE_MS: '60000',
        ALERTER_WEBHOOK_MAX_AGE_MS: '1000',
        ALERTER_WEBHOOK_TIMEOUT_MS: '1000',
      }),
    ).toBe('accepted')
  })

  it('refuses a news age bound under a minute but 0, and one shorter than a webhook attempt, naming why', () => {
    expect(refusal({ ALERTER_WEBHOOK_MAX_NEWS_AGE_MS: '59999' })).toBe(
      "invalid configuration:\n  ALERTER_WEBHOOK_MAX_NEWS_AGE_MS: 0 (off) or at least 60000 ms (got 59999): shorter, the alerts of a pipeline running as it should (a feed's delay, a batch, a rebalance) would not be posted",
    )
    expect(refusal({ ALERTER_WEBHOOK_MAX_NEWS_AGE_MS: '60000' })).toBe('accepted')
    expect(refusal({ ALERTER_WEBHOOK_TIMEOUT_MS: '90000', ALERTER_WEBHOOK_MAX_NEWS_AGE_MS: '60000' })).toBe(
      "invalid configuration:\n  ALERTER_WEBHOOK_TIMEOUT_MS: must be at most ALERTER_WEBHOOK_MAX_NEWS_AGE_MS (got 90000 and 60000): one attempt would outlive the news' age past which an alert is not posted",
    )
    // Off, it bounds no attempt.
    expect(refusal({ ALERTER_WEBHOOK_TIMEOUT_MS: '90000', ALERTER_WEBHOOK_MAX_NEWS_AGE_MS: '0' })).toBe(
      'accepted',
    )
  })

  // The README says every count is at most 2147483647: these took any number up to 2^53 - 1.
  it.each([
    'ALERTER_EVIDENCE_SCOPES',
    'ALERTER_EVIDENCE_PER_SCOPE',
    'ALERTER_WEBHOOK_CONCURRENCY',
    'ALERTER_WEBHOOK_QUEUE_MAX',
  ])('refuses %s above 2147483647, naming it', (name) => {
    expect(refusal({ [name]: '2147483648' })).toBe(
      `invalid configuration:\n  ${name}: at most 2147483647 (a 32-bit integer) (got "2147483648")`,
    )
    expect(refusal({ [name]: '2147483647' })).toBe('accepted')
    expect(refusal({ [name]: '0' })).toMatch(new RegExp(`^invalid configuration:\\n {2}${name}: Too small`))
  })

  it('takes ALERTER_WEBHOOK_MAX_ATTEMPTS 0 (no limit: retried until ALERTER_WEBHOOK_MAX_AGE_MS) by default, a count up to 2147483647', () => {
    // 5 by default dead-lettered every alert of a receiver down for more than about 5 s.
    expect(loadConfig(AlerterConfig, {}).ALERTER_WEBHOOK_MAX_ATTEMPTS).toBe(0)
    expect(loadConfig(AlerterConfig, {}).ALERTER_WEBHOOK_BACKOFF_MAX_MS).toBe(30_000)
    expect(refusal({ ALERTER_WEBHOOK_MAX_ATTEMPTS: '5' })).toBe('accepted')
    expect(refusal({ ALERTER_WEBHOOK_MAX_ATTEMPTS: '2147483648' })).toBe(
      'invalid configuration:\n  ALERTER_WEBHOOK_MAX_ATTEMPTS: at most 2147483647 (a 32-bit integer) (got "2147483648")',
    )
  })

  it('takes ALERTER_MAX_EVENT_AGE_MS in ms, 0 (off) by default, and refuses a negative one', () => {
    expect(loadConfig(AlerterConfig, {}).ALERTER_MAX_EVENT_AGE_MS).toBe(0)
    expect(loadConfig(AlerterConfig, { ALERTER_MAX_EVENT_AGE_MS: '86400000' }).ALERTER_MAX_EVENT_AGE_MS).toBe(
      86_400_000,
    )
    expect(refusal({ ALERTER_MAX_EVENT_AGE_MS: '-1' })).toMatch(/ALERTER_MAX_EVENT_AGE_MS/)
  })

  it('refuses ALERTER_HYSTERESIS_TTL_MS below 24 h (the longest half-life and volume window of the indicators), naming it', () => {
    // Forgotten sooner, a line re-arms while the measure it watches still holds most of what made it
    // fire, and the scope's next headline pages again for the same episode.
    for (const short of ['1000', '60000', '86399999'])
      expect(refusal({ ALERTER_HYSTERESIS_TTL_MS: short })).toBe(
        `invalid configuration:\n  ALERTER_HYSTERESIS_TTL_MS: at least 86400000 ms (24 h, the longest half-life and volume window of the indicators: a line forgotten sooner re-arms while its measure still holds what made it fire) (got "${short}")`,
      )
    expect(refusal({ ALERTER_HYSTERESIS_TTL_MS: '86400000' })).toBe('accepted')
    expect(loadConfig(AlerterConfig, {}).ALERTER_HYSTERESIS_TTL_MS).toBe(7 * 86_400_000)
  })

  it('refuses ALERTER_HYSTERESIS_TTL_MS past the aggregator keys of its indicators, naming it and why', () => {
    // The keys live 7 d 3 h after their last write (the shortest grace): a line kept disarmed past them
    // stayed disarmed when the indicator started again from nothing, and the next burst paged nobody.
    for (const long of ['612001001', '691200000', '2592000000'])
      expect(refusal({ ALERTER_HYSTERESIS_TTL_MS: long })).toBe(
        `invalid configuration:\n  ALERTER_HYSTERESIS_TTL_MS: at most 612001000 ms (about 170 h): the aggregator's indicator keys expire 171 h after their last write, and a line kept disarmed past them stays disarmed when its indicator starts again from nothing, so the scope's next burst pages nobody (got ${long})`,
      )
    expect(refusal({ ALERTER_HYSTERESIS_TTL_MS: '612001000' })).toBe('accepted')
    // One past the longest duration is refused by its own bound alone.
    expect(refusal({ ALERTER_HYSTERESIS_TTL_MS: '9007199254740991' })).toBe(
      `invalid configuration:\n  ALERTER_HYSTERESIS_TTL_MS: at most ${MAX_DURATION_MS} ms (about 265,000 years): a time that far past the wall clock must stay a date JavaScript holds (to +275760-09-13) (got "9007199254740991")`,
    )
  })

  it('refuses ALERTER_DEDUP_WINDOW_MS below 24 h (also how far behind the alerter may run), naming it and why', () => {
    // A headline scored longer ago than the window is taken for one read again and raises nothing: with
    // 60 s, one read 2 minutes late (a restart, a burst) paged nobody, and nothing said so.
    for (const short of ['1000', '60000', '3600000', '86399999'])
      expect(refusal({ ALERTER_DEDUP_WINDOW_MS: short })).toBe(
        `invalid configuration:\n  ALERTER_DEDUP_WINDOW_MS: at least 86400000 ms (24 h): it is also how far behind the alerter may run, a headline scored longer ago raising no alert, so a shorter window would silently drop the alerts of an alerter catching up after an outage or a burst (got "${short}")`,
      )
    expect(refusal({ ALERTER_DEDUP_WINDOW_MS: '86400000' })).toBe('accepted')
    expect(loadConfig(AlerterConfig, {}).ALERTER_DEDUP_WINDOW_MS).toBe(7 * 86_400_000)
  })

  it('takes ALERTER_HYSTERESIS_PRUNE_GRACE_MS in ms, an hour by default, 0 (prune at once) allowed, and refuses a negative or non-decimal one, naming it', () => {
    expect(loadConfig(AlerterConfig, {}).ALERTER_HYSTERESIS_PRUNE_GRACE_MS).toBe(3_600_000)
    expect(
      loadConfig(AlerterConfig, { ALERTER_HYSTERESIS_PRUNE_GRACE_MS: '0' }).ALERTER_HYSTERESIS_PRUNE_GRACE_MS,
    ).toBe(0)
    expect(
      loadConfig(AlerterConfig, { ALERTER_HYSTERESIS_PRUNE_GRACE_MS: '21600000' })
        .ALERTER_HYSTERESIS_PRUNE_GRACE_MS,
    ).toBe(21_600_000)
    expect(refusal({ ALERTER_HYSTERESIS_PRUNE_GRACE_MS: '-1' })).toBe(
      'invalid configuration:\n  ALERTER_HYSTERESIS_PRUNE_GRACE_MS: Too small: expected number to be >=0 (got "-1")',
    )
    expect(refusal({ ALERTER_HYSTERESIS_PRUNE_GRACE_MS: '1h' })).toBe(
      'invalid configuration:\n  ALERTER_HYSTERESIS_PRUNE_GRACE_MS: a whole number in decimal digits (0-9) only (got "1h")',
    )
  })

  it('handles all its input partitions at once by default (headlines.scored and indicators as the catalogue makes them)', () => {
    // The platform's 3 of 12: partitions resumed together were handled apart and the aligner forced steps
    // on a backlog, so records could come late (alerter-partitions-concurrency.int.test.ts).
    const topics = createTopicCatalogue()
    expect(loadConfig(AlerterConfig, {}).KAFKA_PARTITIONS_CONCURRENCY).toBe(
      topics.scored.partitions + topics.indicators.partitions,
    )
    expect(loadConfig(AlerterConfig, {}).KAFKA_PARTITIONS_CONCURRENCY).toBe(12)
    expect(
      loadConfig(AlerterConfig, { KAFKA_PARTITIONS_CONCURRENCY: '4' }).KAFKA_PARTITIONS_CONCURRENCY,
    ).toBe(4)
    expect(refusal({ KAFKA_PARTITIONS_CONCURRENCY: '0' })).toMatch(
      /^invalid configuration:\n {2}KAFKA_PARTITIONS_CONCURRENCY: /,
    )
  })
})

describe('AlerterConfig: numeric variables', () => {
  it('reads each in decimal digits only, its own as the shared ones, naming one given otherwise', () => {
    // The schema alone took 1e4, 0x10 and +5 (Number(), z.coerce): only loadConfig's check of the text
    // besides refused them.
    const { numeric, taken } = numberNotations(AlerterConfig)
    expect(numeric).toEqual(
      expect.arrayContaining([
        'ALERTER_RULES_RELOAD_DEBOUNCE_MS',
        'ALERTER_DEDUP_WINDOW_MS',
        'ALERTER_HYSTERESIS_TTL_MS',
        'ALERTER_HYSTERESIS_PRUNE_GRACE_MS',
        'ALERTER_ALIGN_AHEAD_MS',
        'ALERTER_MAX_EVENT_AGE_MS',
        'ALERTER_EVIDENCE_SCOPES',
        'ALERTER_EVIDENCE_PER_SCOPE',
        'ALERTER_WEBHOOK_TIMEOUT_MS',
        'ALERTER_WEBHOOK_MAX_ATTEMPTS',
        'ALERTER_WEBHOOK_BACKOFF_BASE_MS',
        'ALERTER_WEBHOOK_BACKOFF_MAX_MS',
        'ALERTER_WEBHOOK_RETRY_AFTER_MAX_MS',
        'ALERTER_WEBHOOK_CONCURRENCY',
        'ALERTER_WEBHOOK_QUEUE_MAX',
        'ALERTER_WEBHOOK_MAX_AGE_MS',
        'ALERTER_WEBHOOK_MAX_NEWS_AGE_MS',
      ]),
    )
    expect(taken).toEqual([])
    expect(() =>
      loadConfig(AlerterConfig, {
        ALERTER_HYSTERESIS_TTL_MS: '0x240C8400',
        ALERTER_WEBHOOK_MAX_ATTEMPTS: '+5',
      }),
    ).toThrow(
      'invalid configuration:\n  ALERTER_HYSTERESIS_TTL_MS: a whole number in decimal digits (0-9) only (got "0x240C8400")\n  ALERTER_WEBHOOK_MAX_ATTEMPTS: a whole number in decimal digits (0-9) only (got "+5")',
    )
  })
})
