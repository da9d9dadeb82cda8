import { readFileSync } from 'node:fs'

type CpuTicks = { steal: number; total: number; idle: number }

/** The machine's CPU ticks so far (Linux /proc/stat), or undefined elsewhere. */
export function cpuTicks(): CpuTicks | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n', 1)[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number)
    // user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields
    return { steal, idle: idle + iowait, total: user + nice + system + idle + iowait + irq + softirq + steal }
  } catch {
    return undefined
  }
}

/**
 * Between two readings: the share of CPU time the hypervisor gave to other guests (steal) and the share
 * this machine's own processes kept busy, in percent. Steal shows when the host was contended: the
 * vCPUs then stall for milliseconds at a time, which is what the latency tail of a slow run is made of.
 */
export function cpuShares(before: CpuTicks | undefined, after: CpuTicks | undefined) {
  if (!before || !after || after.total <= before.total) return { cpu_steal_pct: null, cpu_busy_pct: null }
  const total = after.total - before.total
  const steal = after.steal - before.steal
  const idle = after.idle - before.idle
  return {
    cpu_steal_pct: Math.round((steal / total) * 1000) / 10,
    cpu_busy_pct: Math.round(((total - idle - steal) / total) * 1000) / 10,
  }
}
