import { ReplyError } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { TradepulseError } from './errors.ts'
import { createCapturingLogger } from './logger.ts'
import { createWarnThrottle } from './warn-throttle.ts'

type Line = { level: number; msg: string; err?: { stack?: string }; error?: string; repeated?: number }

function setup() {
  const { log, lines } = createCapturingLogger<Line>()
  const clock = { now: 0 }
  const throttle = createWarnThrottle(log, { everyMs: 30_000, now: () => clock.now })
  // As the Redis client gives it: ioredis's reply wrapped in ours.
  const oom = "OOM command not allowed when used memory > 'maxmemory'."
  const fault = () => new TradepulseError('INFRA_REDIS', oom, { cause: new ReplyError(oom) })
  return { lines, clock, throttle, fault }
}

describe('createWarnThrottle', () => {
  it('logs the first warning whole, then one summary with the count per interval, without the stack', () => {
    const { lines, clock, throttle, fault } = setup()
    // 85 retries over 32 s (as a worker logged against a full Redis): 2 lines, not 85.
    for (let i = 0; i < 85; i++) {
      clock.now = (i * 32_000) / 84
      throttle.warn('p0', { err: fault(), attempt: i + 1, partition: 0 }, 'retrying the batch')
    }
    expect(lines).toHaveLength(2)
    expect(lines[0]!.err?.stack).toContain('OOM command not allowed')
    expect(lines[0]!.msg).toBe('retrying the batch')
    expect(lines[1]!.err).toBeUndefined()
    expect(lines[1]!.error).toBe(
      "INFRA_REDIS: out of memory: OOM command not allowed when used memory > 'maxmemory'.",
    )
    expect(lines[1]!.msg).toMatch(
      /^retrying the batch \(\d+ more since the last line; still failing after 30 s\)$/,
    )
    const counted = lines[1]!.repeated!
    // The rest, said when the fault clears; the next fault is logged whole again.
    throttle.clear('p0')
    expect(lines).toHaveLength(3)
    expect(counted + lines[2]!.repeated!).toBe(84)
    expect(lines[2]!.msg).toMatch(/cleared after 32 s\)$/)
    throttle.warn('p0', { err: fault() }, 'retrying the batch')
    expect(lines).toHaveLength(4)
    expect(lines[3]!.err?.stack).toBeDefined()
  })

  it('logs a fault of another kind whole at once (out of memory, then read-only at a failover), after the count of the last', () => {
    const { lines, clock, throttle, fault } = setup()
    const readOnly = "READONLY You can't write against a read only replica."
    const failover = () => new TradepulseError('INFRA_REDIS', readOnly, { cause: new ReplyError(readOnly) })
    for (let i = 0; i < 5; i++) throttle.warn('p0', { err: fault(), partition: 0 }, 'retrying the batch')
    clock.now = 5_000
    for (let i = 0; i < 5; i++) throttle.warn('p0', { err: failover(), partition: 0 }, 'retrying the batch')
    clock.now = 25_000
    throttle.warn('p0', { err: fault(), partition: 0 }, 'retrying the batch')
    expect(lines.map((l) => [l.err?.stack?.split('\n')[0] ?? l.error, l.repeated])).toEqual([
      [expect.stringContaining('OOM command not allowed'), undefined],
      [expect.stringMatching(/^INFRA_REDIS: out of memory: /), 4],
      [expect.stringContaining('READONLY'), undefined],
      [expect.stringMatching(/^INFRA_REDIS: read only: /), 4],
      [expect.stringContaining('OOM command not allowed'), undefined],
    ])
  })

  it('keeps keys apart, and says nothing more at clear when nothing was counted', () => {
    const { lines, throttle, fault } = setup()
    throttle.warn('p0', { err: fault() }, 'retrying')
    throttle.warn('p1', { err: fault() }, 'retrying')
    expect(lines.filter((l) => l.err?.stack)).toHaveLength(2)
    throttle.clear('p0')
    throttle.clear('p1')
    throttle.clear('p2')
    expect(lines).toHaveLength(2)
  })
})
