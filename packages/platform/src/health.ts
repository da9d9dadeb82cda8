/** Graded health: `degraded` while a rebalance or an infrastructure fault is under way; `failed` when the loop stalls. */
export type HealthStatus = 'ok' | 'degraded' | 'failed'
export type Health = {
  status: HealthStatus
  ready: boolean
  checks: Record<string, { status: HealthStatus; detail?: string }>
}

export type HealthCheck = () => Promise<{ status: HealthStatus; ready: boolean; detail?: string }>

const RANK: Record<HealthStatus, number> = { ok: 0, degraded: 1, failed: 2 }

/** How long a health check may take before it counts as degraded and not ready: under a probe's 1 s. */
export const HEALTH_CHECK_TIMEOUT_MS = 500

/**
 * Runs every check; the whole is as bad as its worst part, and ready only when all are. A check that has
 * not answered within `timeoutMs` counts as degraded and not ready (a frozen Redis's ping would hold
 * /healthz for its command timeout, and a liveness probe of 1-3 s would restart a worker that is only
 * waiting the fault out); it is not failed, as a slow dependency is not a dead worker.
 */
export async function combineHealth(
  checks: Record<string, HealthCheck>,
  timeoutMs = HEALTH_CHECK_TIMEOUT_MS,
): Promise<Health> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<Awaited<ReturnType<HealthCheck>>>((resolve) => {
        // Through setImmediate: after an event-loop stall the timer fires before the sockets are read, and
        // an answer already waiting there must win.
        timer = setTimeout(
          () =>
            setImmediate(() =>
              resolve({
                status: 'degraded',
                ready: false,
                detail: `${name}: no answer within ${timeoutMs} ms`,
              }),
            ),
          timeoutMs,
        )
      })
      try {
        return [name, await Promise.race([check(), late])] as const
      } catch (err) {
        return [
          name,
          {
            status: 'failed' as const,
            ready: false,
            detail: err instanceof Error ? err.message : String(err),
          },
        ] as const
      } finally {
        clearTimeout(timer)
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
