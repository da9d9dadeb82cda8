import type { IndicatorStore } from '@tradepulse/indicators'
import {
  createCapturingLogger,
  createMemoryBus,
  createMemoryIndicatorStore,
  createMemoryTransport,
  kafkaClientConfig,
  loadConfig,
} from '@tradepulse/platform'
import { waitFor } from '@tradepulse/testing'
import { describe, expect, it, vi } from 'vitest'
import { buildGatewayApp, ENDS_RETRY_MS, type GatewayDeps } from './build-app.ts'
import { GatewayConfig } from './config.ts'

/** A gateway's configuration on a secured cluster: an IPv6 broker, TLS and SASL/SCRAM. */
const SECURED = {
  KAFKA_BROKERS: '[::1]:19093',
  KAFKA_SSL: 'true',
  KAFKA_SSL_REJECT_UNAUTHORIZED: 'false',
  KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
  KAFKA_SASL_USERNAME: 'gateway',
  KAFKA_SASL_PASSWORD: 'not-a-real-password',
  HTTP_PORT: '0',
}

/** Builds a gateway (never started: no client connects) and records the Kafka clients it makes itself. */
function build(env: Record<string, string>, deps: Partial<GatewayDeps> = {}) {
  const config = loadConfig(GatewayConfig, env)
  const made: { cfg: ReturnType<typeof kafkaClientConfig>; extra: unknown }[] = []
  const { log } = createCapturingLogger('warn')
  buildGatewayApp(config, {
    log,
    indicators: createMemoryIndicatorStore({ clock: { now: () => 0 } }),
    kafka: (cfg, _log, extra) => {
      made.push({ cfg, extra })
      return { admin: () => ({}) as never }
    },
    ...deps,
  })
  return { config, made }
}

describe("the gateway's own admin clients", () => {
  it("reach the cluster with the configuration's brokers, TLS and SASL, as the worker's clients do", () => {
    const { config, made } = build(SECURED)
    expect(made.map((m) => m.cfg.clientId)).toEqual(['tradepulse-gateway-ends', 'tradepulse-gateway-group'])
    for (const { cfg } of made) {
      expect(cfg).toEqual(kafkaClientConfig(config, cfg.clientId))
      expect(cfg).toMatchObject({
        brokers: ['[::1]:19093'],
        ssl: { rejectUnauthorized: false },
        sasl: { mechanism: 'scram-sha-512', username: 'gateway', password: 'not-a-real-password' },
      })
    }
    // The group's deletion at a stop retries little: the stop waits for it for 3 s at most.
    expect(made[1]?.extra).toMatchObject({ retry: { retries: 2 } })
  })

  it('are named after KAFKA_CLIENT_ID; with KAFKA_GROUP_ID (not its own group) none deletes a group', () => {
    const { made } = build({ ...SECURED, KAFKA_CLIENT_ID: 'desk-gw', KAFKA_GROUP_ID: 'desk-gw' })
    expect(made.map((m) => m.cfg.clientId)).toEqual(['desk-gw-ends'])
    expect(made[0]?.cfg.sasl).toMatchObject({ mechanism: 'scram-sha-512' })
  })

  it('are not made on a bus other than Kafka', () => {
    const { made } = build(SECURED, { transport: createMemoryTransport(createMemoryBus()) })
    expect(made).toEqual([])
  })
})

describe("the alerts topic's ends at the start", () => {
  it('are read before HTTP listens, again each second; still unread after ENDS_RETRY_MS, the start fails naming the topic', async () => {
    vi.useFakeTimers()
    let asked = 0
    const admin = {
      connect: async () => {},
      listTopics: async () => {
        asked++
        throw new Error('This server is not the leader for that topic-partition')
      },
      disconnect: async () => {},
    }
    const config = loadConfig(GatewayConfig, { HTTP_PORT: '0', TRADEPULSE_TOPIC_PREFIX: 'ends-test.' })
    const { log, lines } = createCapturingLogger('warn')
    const app = buildGatewayApp(config, {
      log,
      indicators: createMemoryIndicatorStore({ clock: { now: () => 0 } }),
      kafka: () => ({ admin: () => admin as never }),
    })
    try {
      let failed: unknown
      const starting = app.start().then(
        () => 'started',
        (err: unknown) => {
          failed = err
          return 'failed'
        },
      )
      await vi.advanceTimersByTimeAsync(ENDS_RETRY_MS - 1_000)
      expect([failed, app.httpPort()]).toEqual([undefined, undefined])
      expect(asked).toBeGreaterThan(10)
      expect(lines.filter((l) => /could not read the alerts topic's ends/.test(String(l.msg))).length).toBe(
        asked,
      )
      await vi.advanceTimersByTimeAsync(2_000)
      expect(await starting).toBe('failed')
      expect(failed).toMatchObject({
        code: 'INFRA_KAFKA',
        message: 'could not read the ends of ends-test.alerts.v1 at the start',
      })
      expect(app.httpPort()).toBeUndefined()
    } finally {
      vi.useRealTimers()
      await app.stop()
    }
  })
})

describe("the gateway's metrics", () => {
  it('shows every result of the alerts read from the start, at 0: the first invalid record after a start is an increase', async () => {
    const config = loadConfig(GatewayConfig, { HTTP_PORT: '0' })
    const { log } = createCapturingLogger('warn')
    const app = buildGatewayApp(config, {
      log,
      indicators: createMemoryIndicatorStore({ clock: { now: () => 0 } }),
      transport: createMemoryTransport(createMemoryBus()),
    })
    const text = await app.metrics.registry.metrics()
    for (const result of ['new', 'duplicate', 'invalid'])
      expect(text).toMatch(
        new RegExp(`tradepulse_gateway_alerts_total\\{[^}]*result="${result}"[^}]*\\} 0\n`),
      )
  })

  it('answers an indicator read past GATEWAY_MAX_INDICATOR_READS in flight with 503 busy, counted', async () => {
    const config = loadConfig(GatewayConfig, { HTTP_PORT: '0', GATEWAY_MAX_INDICATOR_READS: '1' })
    const { log } = createCapturingLogger('warn')
    const store = createMemoryIndicatorStore({ clock: { now: () => 0 } })
    let release = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    let reads = 0
    const app = buildGatewayApp(config, {
      log,
      indicators: Object.assign(Object.create(store) as IndicatorStore, {
        top: async (...args: Parameters<IndicatorStore['top']>) => {
          reads++
          await held
          return store.top(...args)
        },
      }),
      transport: createMemoryTransport(createMemoryBus()),
    })
    await app.start()
    try {
      const base = `http://127.0.0.1:${app.httpPort()}`
      const first = fetch(`${base}/api/indicators/top`)
      await waitFor(() => reads === 1, { what: 'the first read in flight' })
      const refused = await fetch(`${base}/api/indicators/top?n=3`)
      expect([refused.status, refused.headers.get('retry-after')]).toEqual([503, '1'])
      expect(await refused.json()).toMatchObject({ error: 'busy' })
      release()
      expect((await first).status).toBe(200)
      expect(await app.metrics.registry.metrics()).toMatch(
        /^tradepulse_gateway_indicator_reads_refused_total(\{[^}]*\})? 1$/m,
      )
    } finally {
      await app.stop()
    }
  })
})
