import {
  createCapturingLogger,
  createMemoryBus,
  createMemoryIndicatorStore,
  createMemoryTransport,
  kafkaClientConfig,
  loadConfig,
} from '@tradepulse/platform'
import { describe, expect, it } from 'vitest'
import { buildGatewayApp, type GatewayDeps } from './build-app.ts'
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
})
