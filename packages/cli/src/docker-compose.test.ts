import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseDesks, RULE_FILES } from '@tradepulse/alerting'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { WORKERS } from './workers.ts'

// There is no Docker engine on our machines, so the compose file is checked against the code instead.
const ROOT = join(import.meta.dirname, '..', '..', '..')
type Service = {
  command?: string[]
  environment?: Record<string, string>
  healthcheck?: { test: string[] }
  depends_on?: Record<string, unknown>
  build?: unknown
  image?: string
}
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>
}
const services = compose.services

// The alerter reads its webhook HMAC keys from the variables the desks file names (secretEnv).
const desks = parseDesks(readFileSync(RULE_FILES.desks, 'utf8'), 'yaml')
if (!desks.ok) throw new Error(`${RULE_FILES.desks}: ${JSON.stringify(desks.errors)}`)
const deskSecrets = desks.desks.flatMap((d) => (d.webhook ? [d.webhook.secretEnv] : []))

/** The variables in `environment` that neither the worker's config schema nor (alerter) the desks file names. */
function unknownVariables(worker: string, environment: Record<string, string> = {}): string[] {
  const known = new Set(Object.keys(WORKERS[worker]!.config.shape))
  if (worker === 'alerter') for (const k of deskSecrets) known.add(k)
  return Object.keys(environment).filter((k) => !known.has(k))
}

describe('docker-compose.yml', () => {
  it('runs every worker as its own service from its main', () => {
    for (const worker of Object.keys(WORKERS)) {
      expect(services[worker], `service ${worker}`).toBeDefined()
      expect(services[worker]!.command).toEqual(['node', `services/${worker}/src/main.ts`])
    }
  })
  it('sets only environment variables the worker config schema knows', () => {
    for (const worker of Object.keys(WORKERS))
      expect(
        unknownVariables(worker, services[worker]!.environment),
        `unknown variables for ${worker}`,
      ).toEqual([])
  })
  it('lets the alerter have the webhook secret variables the desks file names, and no other', () => {
    expect(deskSecrets.length).toBeGreaterThan(0)
    const env = { ...services.alerter!.environment, ...Object.fromEntries(deskSecrets.map((k) => [k, 'x'])) }
    expect(unknownVariables('alerter', env)).toEqual([])
    expect(
      unknownVariables('alerter', { ...env, TRADEPULSE_WEBHOOK_SECRET_NOPE: 'x', DESK_SECRET: 'x' }),
    ).toEqual(['TRADEPULSE_WEBHOOK_SECRET_NOPE', 'DESK_SECRET'])
    // Only the alerter reads the desks file.
    expect(unknownVariables('scorer', { [deskSecrets[0]!]: 'x' })).toEqual([deskSecrets[0]])
  })
  it('health checks the port each worker serves /healthz on, and Prometheus scrapes it', () => {
    const prom = readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')
    for (const worker of Object.keys(WORKERS)) {
      const s = services[worker]!
      const port = s.environment?.HTTP_PORT
      expect(port, `${worker} HTTP_PORT`).toMatch(/^\d+$/)
      expect(s.environment?.HTTP_HOST).toBe('0.0.0.0')
      expect(s.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${port}/healthz`)
      expect(prom).toContain(worker)
      expect(prom).toContain(`port: ${port}`)
    }
  })
  it('creates topics, desk topics too, once before workers start, and waits for Redis', () => {
    expect(services.topics?.command).toEqual([
      'node',
      'packages/cli/src/main.ts',
      'topics',
      'create',
      '--desks',
    ])
    for (const worker of Object.keys(WORKERS)) {
      expect(services[worker]!.depends_on).toMatchObject({
        topics: { condition: 'service_completed_successfully' },
        redis: { condition: 'service_healthy' },
      })
      expect(services[worker]!.environment?.TOPICS_AUTO_CREATE).toBe('false')
    }
  })
  it('runs Kafka in KRaft mode from the official image, with Prometheus and Grafana provisioned', () => {
    expect(services.kafka?.image).toMatch(/^apache\/kafka:/)
    expect(services.kafka?.environment?.KAFKA_PROCESS_ROLES).toBe('broker,controller')
    expect(services.prometheus).toBeDefined()
    expect(services.grafana).toBeDefined()
    const dashboard = JSON.parse(
      readFileSync(join(ROOT, 'deploy/grafana/dashboards/tradepulse.json'), 'utf8'),
    ) as {
      panels: { targets: { expr: string }[] }[]
    }
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n')
    for (const metric of [
      'tradepulse_messages_in_total',
      'tradepulse_consumer_lag',
      'tradepulse_batch_seconds_bucket',
      'tradepulse_dlq_total',
      'tradepulse_redis_state_lost_total',
      'tradepulse_indicator_late_total',
      'tradepulse_indicator_redelivered_total',
    ]) {
      expect(exprs).toContain(metric)
    }
  })
  it('copies every file the install needs before it runs (the patches pnpm applies)', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    const workspace = readFileSync(join(ROOT, 'pnpm-workspace.yaml'), 'utf8')
    const patches = [...workspace.matchAll(/^\s+\S+: (patches\/\S+)$/gm)].map((m) => m[1]!)
    expect(patches.length).toBeGreaterThan(0)
    const install = dockerfile.indexOf('RUN pnpm install')
    const copied = [...dockerfile.slice(0, install).matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) =>
      m[1]!.split(' '),
    )
    for (const file of patches)
      expect(
        copied.some((c) => file === c || file.startsWith(`${c.replace(/\/$/, '')}/`)),
        file,
      ).toBe(true)
  })
  it('keeps Kafka and Redis data on volumes, and gives workers longer than their stop deadline', () => {
    const kafka = services.kafka as unknown as { environment: Record<string, string>; volumes: string[] }
    expect(kafka.volumes).toContain(`kafka-data:${kafka.environment.KAFKA_LOG_DIRS}`)
    const redis = services.redis as unknown as { command: string[]; volumes: string[] }
    expect(redis.command.join(' ')).toContain('--appendonly yes')
    expect(redis.volumes).toContain('redis-data:/data')
    for (const worker of Object.keys(WORKERS)) {
      const grace = (services[worker] as unknown as { stop_grace_period?: string }).stop_grace_period
      expect(Number.parseInt(grace ?? '10', 10) * 1_000, worker).toBeGreaterThan(15_000) // SHUTDOWN_DEADLINE_MS
    }
  })
  it('builds one image as a non-root user', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    expect(dockerfile).toMatch(/^FROM .* AS deps$/m)
    expect(dockerfile).toMatch(/^USER node$/m)
  })
})
