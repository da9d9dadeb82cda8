import { InvalidArgumentError } from 'commander'
import { describe, expect, it } from 'vitest'
import {
  forcedExitLine,
  fullRebuildSince,
  interruptedLine,
  parseAsOf,
  rebuildSinceWarning,
  resolveAsOf,
  sinceOption,
  stoppingLine,
} from './indicators.ts'

describe('--as-of', () => {
  const now = () => Date.parse('2026-03-02T00:00:00Z')
  const at = (watermark: number | undefined) => ({ watermark: async () => watermark })

  it('reads "latest" at the watermark, or at the clock when there is none, and says which', async () => {
    const watermark = Date.parse('2020-07-17T23:51:00Z')
    expect(await resolveAsOf(parseAsOf('latest'), at(watermark), now)).toEqual({
      ms: watermark,
      what: "latest: the aggregator's event time",
    })
    expect(await resolveAsOf('latest', at(undefined), now)).toEqual({
      ms: now(),
      what: 'now: the aggregator has set no event time here',
    })
  })
  it('reads "now" at the clock and an ISO time at that time, whatever the watermark', async () => {
    expect(await resolveAsOf(parseAsOf('now'), at(1), now)).toEqual({ ms: now(), what: 'now' })
    expect(await resolveAsOf(parseAsOf('2020-01-02T03:04:05Z'), at(1), now)).toEqual({
      ms: Date.parse('2020-01-02T03:04:05Z'),
      what: '',
    })
  })
  it("reads an ISO time with its zone, whatever the machine's zone", () => {
    expect(parseAsOf('2026-03-02T15:00:00+01:00')).toBe(Date.parse('2026-03-02T14:00:00Z'))
    expect(parseAsOf('2026-03-02T14:00Z')).toBe(Date.parse('2026-03-02T14:00:00Z'))
    expect(parseAsOf('2026-03-02T14:00:00.250Z')).toBe(Date.parse('2026-03-02T14:00:00.250Z'))
  })
  it('refuses anything else as a bad option value: no time guessed, moved or read in the local zone', () => {
    for (const text of [
      'soon',
      'March 7',
      '2026-02-30T00:00:00Z',
      '2026-03-02T14:00:00',
      '2026-03-02',
      '1',
    ]) {
      expect(() => parseAsOf(text), text).toThrow(InvalidArgumentError)
      expect(() => parseAsOf(text), text).toThrow(
        'Expected latest, now or an ISO 8601 time with Z or an offset (2026-03-02T14:00:00Z).',
      )
    }
  })
})

describe('rebuild --since', () => {
  const DAY = 86_400_000
  const grace = { AGGREGATOR_GRACE_MS: 600_000 }

  it("defaults to the indicators' reach in whole days: 8d, past the 7-day buzz baseline, its window and the grace", () => {
    expect(fullRebuildSince(grace)).toEqual({
      ms: 8 * DAY,
      text: '8d',
      reachMs: 7 * DAY + 3 * 3_600_000 + 600_000,
    })
    // A grace of a day reaches a day further.
    expect(fullRebuildSince({ AGGREGATOR_GRACE_MS: DAY }).text).toBe('9d')
  })

  it('reads a number and a unit into its text and span', () => {
    expect(sinceOption('90m')).toEqual({ text: '90m', ms: 5_400_000 })
    expect(sinceOption('1.5h')).toEqual({ text: '1.5h', ms: 5_400_000 })
    expect(sinceOption('250ms')).toEqual({ text: '250ms', ms: 250 })
  })

  it('refuses a span of nothing, which replayed nothing and switched readers to an empty namespace', () => {
    for (const text of ['0m', '0d', '0.0001ms', '0.0s'])
      expect(() => sinceOption(text), text).toThrow(
        'Expected a duration of at least 1 ms: decimal digits (one point allowed) and a unit, ms, s, m, h, d or w, nothing around them (30m, 12h, 7d).',
      )
  })

  it('warns of a shorter one, saying what differs and what to use, and of no other', () => {
    expect(rebuildSinceWarning('7d', 7 * DAY, grace)).toBe(
      "--since 7d is shorter than the indicators reach back (7d 3h 10m: the 7-day buzz baseline, its window and the grace): the rebuilt buzz and long windows will differ from the live aggregator's for up to that long; --since 8d (the default) rebuilds them whole",
    )
    expect(rebuildSinceWarning('1h', 3_600_000, grace)).toMatch(/^--since 1h is shorter/)
    expect(rebuildSinceWarning('8d', 8 * DAY, grace)).toBeUndefined()
    expect(rebuildSinceWarning('30d', 30 * DAY, grace)).toBeUndefined()
  })
})

describe('rebuild stopped by a signal', () => {
  const started = {
    step: 'started',
    namespace: 'rmxcpnwtp',
    previous: 'v1',
    groupId: 'tradepulse.aggregator.rebuild.rmxcpnwtp',
  } as const
  const switching = { ...started, step: 'switching' } as const

  it('says at once what the first signal does: before the switch it deletes; after, it finishes', () => {
    expect(stoppingLine('SIGINT', started)).toBe(
      'tradepulse: indicators rebuild: SIGINT: stopping the replay; deleting namespace rmxcpnwtp and consumer group tradepulse.aggregator.rebuild.rmxcpnwtp (Ctrl-C again exits at once, leaving them)',
    )
    expect(stoppingLine('SIGTERM', undefined)).toBe(
      'tradepulse: indicators rebuild: SIGTERM: stopping the replay',
    )
    expect(stoppingLine('SIGINT', switching)).toBe(
      'tradepulse: indicators rebuild: SIGINT after readers were switched to namespace rmxcpnwtp: finishing its last pass, which it needs (Ctrl-C again exits at once)',
    )
  })

  it('says in one line what it deleted and where readers stay', () => {
    expect(interruptedLine('SIGINT', { ...started, started: true, records: 5_000, clearedKeys: 88 })).toBe(
      'tradepulse: indicators rebuild interrupted by SIGINT before readers were switched: deleted namespace rmxcpnwtp (88 keys) and consumer group tradepulse.aggregator.rebuild.rmxcpnwtp; readers stay on namespace v1',
    )
  })

  it('says, on a second signal, what may be left and where readers are', () => {
    expect(forcedExitLine('SIGINT', started, 'tp', false)).toBe(
      "tradepulse: indicators rebuild: SIGINT again: exiting at once; may be left: namespace rmxcpnwtp's keys (tp:rmxcpnwtp:*; they expire with their TTL) and consumer group tradepulse.aggregator.rebuild.rmxcpnwtp (Kafka drops it after offsets.retention.minutes); readers stay on namespace v1",
    )
    expect(forcedExitLine('SIGINT', switching, 'tp', false)).toBe(
      "tradepulse: indicators rebuild: SIGINT again: exiting at once; readers are on namespace rmxcpnwtp, which may lack the headlines of the last moments before the switch (tradepulse indicators rebuild again); may be left: consumer group tradepulse.aggregator.rebuild.rmxcpnwtp (Kafka drops it after offsets.retention.minutes) and namespace v1's keys (tp:v1:*; they expire with their TTL)",
    )
    // --keep-previous: the previous namespace is kept anyway.
    expect(forcedExitLine('SIGTERM', switching, 'tp', true)).toMatch(
      /; may be left: consumer group tradepulse\.aggregator\.rebuild\.rmxcpnwtp \(Kafka drops it after offsets\.retention\.minutes\)$/,
    )
    expect(forcedExitLine('SIGINT', undefined, 'tp', false)).toBe(
      'tradepulse: indicators rebuild: SIGINT again: exiting at once; nothing was made yet',
    )
  })
})
