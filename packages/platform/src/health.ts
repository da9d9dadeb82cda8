/** Graded health: `degraded` while a rebalance or an infrastructure fault is under way; `failed` when the loop stalls. */
export type HealthStatus = 'ok' | 'degraded' | 'failed'
export type Health = {
  status: HealthStatus
  ready: boolean
  checks: Record<string, { status: HealthStatus; detail?: string }>
}

export type HealthCheck = () => Promise<{ status: HealthStatus; ready: boolean; detail?: string }>

const RANK: Record<HealthStatus, number> = { ok: 0, degraded: 1, failed: 2 }

/** Runs every check; the whole is as bad as its worst part, and ready only when all are. */
export async function combineHealth(checks: Record<string, HealthCheck>): Promise<Health> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        return [name, await check()] as const
      } catch (err) {
        return [
          name,
          {
            status: 'failed' as const,
            ready: false,
            detail: err instanceof Error ? err.message : String(err),
          },
        ] as const
      }
    }),
  )
  let status: HealthStatus = 'ok'
  let ready = true
  const out: Health['checks'] = {}
  for (const [name, r] of entries) {
    if (RANK[r.status] > RANK[status]) status = r.status
    ready &&= r.ready
    out[name] = r.detail ? { status: r.status, detail: r.detail } : { status: r.status }
  }
  return { status, ready, checks: out }
}
