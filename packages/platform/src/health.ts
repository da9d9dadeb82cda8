import { faultReason, healthTransitions } from './fault-reason.ts'
import type { Logger } from './logger.ts'

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

/** Per check and logger, what a check that throws last logged (combineHealth is called at every probe). */
const THROWN = new WeakMap<HealthCheck, WeakMap<Logger, ReturnType<typeof healthTransitions>>>()
function thrownLog(check: HealthCheck, name: string, log: Logger) {
  const byLog = THROWN.get(check) ?? new WeakMap<Logger, ReturnType<typeof healthTransitions>>()
  THROWN.set(check, byLog)
  const t = byLog.get(log) ?? healthTransitions(log, `health check ${name}`)
  byLog.set(log, t)
  return t
}

/**
 * Runs every check; the whole is as bad as its worst part, and ready only when all are. A check that has
 * not answered within `timeoutMs` counts as degraded and not ready (a frozen Redis's ping would hold
 * /healthz for its command timeout, and a liveness probe of 1-3 s would restart a worker that is only
 * waiting the fault out); it is not failed, as a slow dependency is not a dead worker.
 *
 * A check that throws (a check should answer; one that throws has a bug) is failed with the detail
 * `the check threw: <reason>` (faultReason), never the error's text; the error goes to `log` when
 * given, once per change of state.
 */
export async function combineHealth(
  checks: Record<string, HealthCheck>,
  timeoutMs = HEALTH_CHECK_TIMEOUT_MS,
  log?: Logger,
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
      const thrown = log && thrownLog(check, name, log)
      try {
        const result = await Promise.race([check(), late])
        thrown?.ok()
        return [name, result] as const
      } catch (err) {
        const detail = `the check threw: ${faultReason(err)}`
        thrown?.failing(detail, err)
        return [name, { status: 'failed' as const, ready: false, detail }] as const
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
