import { describe, expect, it } from 'vitest'
import { cpuShares, cpuTicks } from './machine.ts'

describe('cpuShares', () => {
  it('splits the ticks between two readings into steal and busy percentages', () => {
    const before = { steal: 100, idle: 1_000, total: 2_000 }
    const after = { steal: 150, idle: 1_250, total: 3_000 }
    // 1,000 ticks: 50 stolen, 250 idle, 700 busy.
    expect(cpuShares(before, after)).toEqual({ cpu_steal_pct: 5, cpu_busy_pct: 70 })
  })

  it('gives nulls without two readings or without time between them', () => {
    const t = { steal: 1, idle: 1, total: 10 }
    expect(cpuShares(undefined, t)).toEqual({ cpu_steal_pct: null, cpu_busy_pct: null })
    expect(cpuShares(t, t)).toEqual({ cpu_steal_pct: null, cpu_busy_pct: null })
  })

  it('reads this machine when it has /proc/stat', () => {
    const t = cpuTicks()
    if (t === undefined) return // not Linux
    expect(t.total).toBeGreaterThan(t.idle)
    expect(t.steal).toBeGreaterThanOrEqual(0)
  })
})
