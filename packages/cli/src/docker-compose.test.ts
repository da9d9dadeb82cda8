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
  ports?: string[]
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
  // NODE_OPTIONS is Node's own (the aggregator's heap), read before any worker code.
  const known = new Set([...Object.keys(WORKERS[worker]!.config.shape), 'NODE_OPTIONS'])
  if (worker === 'alerter') for (const k of deskSecrets) known.add(k)
  return Object.keys(environment).filter((k) => !known.has(k))
}

/** Compose's `${NAME:-default}` interpolation, with `env` standing for the shell's variables. */
function interpolate(value: string, env: Record<string, string> = {}): string {
  return value.replace(/\$\{(\w+):-([^}]*)\}/g, (_, name: string, fallback: string) => env[name] || fallback)
}

/** A short-syntax port mapping `[ip:]host:container`, the host side a port or a range `a-b`. */
function portMapping(spec: string): { ip?: string; host: [number, number]; container: number } {
  const m = /^(?:([\d.]+):)?(\d+)(?:-(\d+))?:(\d+)$/.exec(spec)
  if (!m) throw new Error(`not a port mapping: ${spec}`)
  const [, ip, from, to, container] = m
  return { ip, host: [Number(from), Number(to ?? from)], container: Number(container) }
}

/** The pinned `package version integrity` lines of scripts/toolchain.txt, by tool. */
function toolchain(): Map<string, { arch: string; pkg: string; version: string; integrity: string }[]> {
  const pins = new Map<string, { arch: string; pkg: string; version: string; integrity: string }[]>()
  for (const line of readFileSync(join(ROOT, 'scripts/toolchain.txt'), 'utf8').split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue
    const [tool, arch, pkg, version, integrity] = line.trim().split(/\s+/)
    pins.set(tool!, [
      ...(pins.get(tool!) ?? []),
      { arch: arch!, pkg: pkg!, version: version!, integrity: integrity! },
    ])
  }
  return pins
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
      'tradepulse_batch_in_flight_seconds',
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
  it('has Kafka advertise the compose network to the workers and localhost on a published port to the host', () => {
    const env = services.kafka!.environment!
    const listeners = Object.fromEntries(
      env.KAFKA_LISTENERS!.split(',').map((l) => {
        const [name, port] = l.split('://:')
        return [name!, Number(port)]
      }),
    )
    const advertised = (vars: Record<string, string>) =>
      Object.fromEntries(
        interpolate(env.KAFKA_ADVERTISED_LISTENERS!, vars)
          .split(',')
          .map((l) => l.split('://') as [string, string]),
      )
    // The workers (KAFKA_BROKERS kafka:9092) reach the broker on the network's listener.
    expect(advertised({}).PLAINTEXT).toBe('kafka:9092')
    expect(listeners.PLAINTEXT).toBe(9092)
    for (const worker of Object.keys(WORKERS))
      expect(services[worker]!.environment?.KAFKA_BROKERS, worker).toBe(advertised({}).PLAINTEXT)
    expect(env.KAFKA_INTER_BROKER_LISTENER_NAME).toBe('PLAINTEXT')
    // The host listener: advertised as localhost on the host port it is published on, 9094 unless
    // KAFKA_HOST_PORT says otherwise.
    const hostListener = Object.keys(listeners).find(
      (n) => n !== 'PLAINTEXT' && n !== env.KAFKA_CONTROLLER_LISTENER_NAMES,
    )
    expect(hostListener).toBeDefined()
    const protocols = Object.fromEntries(
      env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP!.split(',').map((p) => p.split(':')),
    )
    expect(protocols[hostListener!]).toBe('PLAINTEXT')
    for (const [vars, port] of [
      [{}, 9094],
      [{ KAFKA_HOST_PORT: '19094' }, 19094],
    ] as const) {
      expect(advertised(vars)[hostListener!]).toBe(`localhost:${port}`)
      const published = (services.kafka!.ports ?? []).map((p) => portMapping(interpolate(p, vars)))
      expect(published).toContainEqual({
        ip: '127.0.0.1',
        host: [port, port],
        container: listeners[hostListener!],
      })
    }
  })
  it('publishes the gateway on a host port range, so it scales with --scale gateway=N', () => {
    const gateway = services.gateway!
    const port = Number(gateway.environment?.HTTP_PORT)
    for (const [vars, range] of [
      [{}, [9405, 9414]],
      [{ GATEWAY_HOST_PORTS: '8405-8407' }, [8405, 8407]],
      [{ GATEWAY_HOST_PORTS: '9405' }, [9405, 9405]],
    ] as const) {
      const published = (gateway.ports ?? []).map((p) => portMapping(interpolate(p, vars)))
      expect(published).toEqual([{ ip: '127.0.0.1', host: range, container: port }])
    }
    // Ten replicas by default, from the port the README names.
    const { host } = portMapping(interpolate(gateway.ports![0]!))
    expect(host[0]).toBe(9405)
    expect(host[1] - host[0] + 1).toBeGreaterThanOrEqual(10)
    // A fixed host port on a worker would stop it scaling: only the gateway publishes one.
    for (const worker of Object.keys(WORKERS))
      if (worker !== 'gateway')
        for (const p of services[worker]!.ports ?? []) {
          const { host: h } = portMapping(interpolate(p))
          expect(h[1], `${worker} publishes a fixed host port`).toBeGreaterThan(h[0])
        }
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
  it('builds on the Node version bootstrap pins, with the pinned pnpm (scripts/toolchain.txt)', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    const pins = toolchain()
    for (const tool of ['node', 'pnpm']) {
      const lines = pins.get(tool) ?? []
      expect(lines.map((l) => l.arch).sort(), tool).toEqual(['arm64', 'x64'])
      expect(new Set(lines.map((l) => l.version)).size, `${tool}: one version for every arch`).toBe(1)
      for (const l of lines) {
        expect(l.version, l.pkg).toMatch(/^\d+\.\d+\.\d+$/)
        expect(l.integrity, l.pkg).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/)
      }
    }
    const nodeVersion = pins.get('node')![0]!.version
    expect(dockerfile).toContain(`ARG NODE_VERSION=${nodeVersion}\n`)
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1])
    expect(froms.length).toBeGreaterThan(0)
    for (const image of froms) expect(image).toMatch(/^node:\$\{NODE_VERSION\}-slim$/)
    // pnpm comes from the same file, copied in before it is read.
    expect(dockerfile.indexOf('COPY scripts/toolchain.txt')).toBeGreaterThan(-1)
    expect(dockerfile.indexOf('COPY scripts/toolchain.txt')).toBeLessThan(
      dockerfile.indexOf('npm install -g'),
    )
    expect(dockerfile).toMatch(/npm install -g "pnpm@\$v"/)
    expect(dockerfile).not.toMatch(/pnpm@\d/)
  })
})
