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
import { KafkaJSProtocolError } from 'kafkajs'
import { describe, expect, it, vi } from 'vitest'
import { buildGatewayApp, ENDS_RETRY_MS, type GatewayDeps } from './build-app.ts'
import { GatewayConfig } from './config.ts'
import { readEvents } from './sse-client.ts'

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
  /**
   * A gateway whose admin clients are `admin` (or each a new one it makes), on Kafka (the configuration's:
   * none there).
   */
  function onAdmin(admin: object | (() => object), env: Record<string, string> = {}) {
    const config = loadConfig(GatewayConfig, {
      HTTP_PORT: '0',
      TRADEPULSE_TOPIC_PREFIX: 'ends-test.',
      ...env,
    })
    const { log, lines } = createCapturingLogger('warn')
    const app = buildGatewayApp(config, {
      log,
      indicators: createMemoryIndicatorStore({ clock: { now: () => 0 } }),
      kafka: () => ({ admin: () => (typeof admin === 'function' ? admin() : admin) as never }),
    })
    return { app, lines }
  }
  const streamsOpen = async (base: string) =>
    Number(
      (await (await fetch(`${base}/metrics`)).text()).match(
        /^tradepulse_gateway_streams(?:\{[^}]*\})? (\d+)$/m,
      )?.[1],
    )

  /**
   * Starts a gateway, on fake timers, whose every read of the alerts topic's ends fails (a partition
   * without a leader), and runs `test` on it: `seen.asked` counts the reads, `seen.failed` is the start's
   * failure once it failed, `starting` its outcome. The timers are real again, and the gateway stopped,
   * after it.
   */
  async function onFailingAdminStart(
    test: (run: {
      app: ReturnType<typeof onAdmin>['app']
      lines: ReturnType<typeof onAdmin>['lines']
      seen: { asked: number; failed: unknown }
      starting: Promise<'started' | 'failed'>
    }) => Promise<void>,
  ) {
    vi.useFakeTimers()
    const seen = { asked: 0, failed: undefined as unknown }
    const { app, lines } = onAdmin({
      connect: async () => {},
      listTopics: async () => {
        seen.asked++
        throw new Error('This server is not the leader for that topic-partition')
      },
      disconnect: async () => {},
    })
    try {
      const starting = app.start().then(
        () => 'started' as const,
        (err: unknown) => {
          seen.failed = err
          return 'failed' as const
        },
      )
      await test({ app, lines, seen, starting })
    } finally {
      vi.useRealTimers()
      await app.stop()
    }
  }

  it('are read once HTTP listens, again each second, the consumer not started; still unread after ENDS_RETRY_MS, the start fails naming the topic', () =>
    onFailingAdminStart(async ({ app, lines, seen, starting }) => {
      await vi.advanceTimersByTimeAsync(ENDS_RETRY_MS - 1_000)
      expect(seen.failed).toBeUndefined()
      expect(app.httpPort()).toBeGreaterThan(0)
      expect((await app.health()).checks).toMatchObject({
        alerts: { detail: "catching up: reading the alerts topic's ends" },
        consumer: { detail: 'starting' },
      })
      expect(seen.asked).toBeGreaterThan(10)
      expect(lines.filter((l) => /could not read the alerts topic's ends/.test(String(l.msg))).length).toBe(
        seen.asked,
      )
      await vi.advanceTimersByTimeAsync(2_000)
      expect(await starting).toBe('failed')
      expect(seen.failed).toMatchObject({
        code: 'INFRA_KAFKA',
        message: 'could not read the ends of ends-test.alerts.v1 at the start',
      })
      expect((await app.health()).checks).toMatchObject({ consumer: { detail: 'starting' } })
    }))

  // Timed on the wall clock, a clock stepped forward (an NTP step, a VM resumed) failed the start at the
  // next failed attempt, and one stepped back kept it retrying for as long as the step.
  it('give the start up after ENDS_RETRY_MS of retrying, however the wall clock is stepped meanwhile', () =>
    onFailingAdminStart(async ({ seen, starting }) => {
      for (let i = 0; i < 100 && seen.asked === 0; i++) await vi.advanceTimersByTimeAsync(10)
      expect(seen.asked).toBe(1)
      // Forward past the give-up, then back before the start: the monotonic clock is not moved.
      vi.setSystemTime(Date.now() + 2 * ENDS_RETRY_MS)
      await vi.advanceTimersByTimeAsync(3_000)
      const afterForward = seen.asked
      expect(afterForward).toBeGreaterThan(1)
      expect(seen.failed).toBeUndefined()
      vi.setSystemTime(Date.now() - 10 * ENDS_RETRY_MS)
      await vi.advanceTimersByTimeAsync(ENDS_RETRY_MS - 5_000)
      expect(seen.asked).toBeGreaterThan(afterForward)
      expect(seen.failed).toBeUndefined()
      await vi.advanceTimersByTimeAsync(3_000)
      expect(seen.failed).toMatchObject({ code: 'INFRA_KAFKA' })
      expect(await starting).toBe('failed')
    }))

  // kafkajs gives up at once on NOT_LEADER_FOR_PARTITION, and an admin asked again keeps the metadata
  // naming the old leader until it expires (5 min): the same admin asked each second never found the moved
  // leader, and the start failed after ENDS_RETRY_MS.
  it('are asked again on a fresh admin when a partition has no leader: a leader that moved is found', async () => {
    const admins: { connected: boolean }[] = []
    const asked: object[] = []
    const { app } = onAdmin(() => {
      const admin = { connected: false }
      admins.push(admin)
      return {
        connect: async () => {
          admin.connected = true
        },
        disconnect: async () => {
          admin.connected = false
        },
        listTopics: async () => ['ends-test.alerts.v1'],
        fetchTopicOffsets: async () => {
          asked.push(admin)
          // The first admin asked: its metadata names the old leader for good.
          if (asked[0] === admin)
            throw new KafkaJSProtocolError(
              Object.assign(new Error('This server is not the leader for that topic-partition'), {
                type: 'NOT_LEADER_FOR_PARTITION',
              }),
            )
          return [{ partition: 0, offset: '3', low: '0', high: '3' }]
        },
      }
    })
    try {
      app.start().catch(() => {}) // after the ends, Kafka (the configuration's) is not there
      await waitFor(
        async () =>
          (await app.health()).checks.alerts?.detail ===
          'catching up: 1 partition(s) of the alerts topic still being read',
        { what: "the alerts topic's ends read" },
      )
      expect(asked.length).toBe(2)
      expect(asked[1]).not.toBe(asked[0])
      expect(admins.find((a) => a === asked[0])?.connected).toBe(false)
    } finally {
      await app.stop()
    }
    expect(admins.every((a) => !a.connected)).toBe(true)
  })

  /**
   * Admin clients recorded in `admins` (whether connected, how many times it connected), each given the
   * requests `make` makes for it. The gateway makes one at its build (its own group's), never connected
   * here.
   */
  function recordedAdmins(make: (admin: { connected: boolean }) => object) {
    const admins: { connected: boolean; connects: number }[] = []
    const admin = () => {
      const made = { connected: false, connects: 0 }
      admins.push(made)
      return {
        connect: async () => {
          made.connects++
          made.connected = true
        },
        disconnect: async () => {
          made.connected = false
        },
        ...make(made),
      }
    }
    return { admins, admin }
  }
  const answer = async () => [{ partition: 0, offset: '3', low: '0', high: '3' }]

  // The stop was not looked at during the 1 s wait: one more attempt came after it, on an admin made
  // once the stop's cleanup had disconnected the one it knew, and left connected.
  it('are asked no more once the gateway stops during the wait between attempts: every admin disconnected', async () => {
    vi.useFakeTimers()
    let listed = 0
    const { admins, admin } = recordedAdmins(() => ({
      listTopics: async () => {
        if (listed++ === 0) throw new Error('This server is not the leader for that topic-partition')
        return ['ends-test.alerts.v1']
      },
      fetchTopicOffsets: answer,
    }))
    const { app, lines } = onAdmin(admin)
    const retrying = () => lines.some((l) => /could not read the alerts topic's ends/.test(String(l.msg)))
    try {
      const starting = app.start().catch(() => {})
      for (let i = 0; i < 100 && !retrying(); i++) await vi.advanceTimersByTimeAsync(10)
      expect(retrying()).toBe(true)
      const stopping = app.stop()
      // Past the wait, and past the attempt that followed it.
      await vi.advanceTimersByTimeAsync(3_000)
      await stopping
      await starting
      await vi.advanceTimersByTimeAsync(3_000)
      expect(listed).toBe(1)
      expect(admins.reduce((n, a) => n + a.connects, 0)).toBe(1)
      expect(admins.filter((a) => a.connected)).toEqual([])
    } finally {
      vi.useRealTimers()
      await app.stop()
    }
  })

  it('leave no admin connected when an attempt under way at the stop answers after it', async () => {
    let connect = () => {}
    let asked = false
    const { admins, admin } = recordedAdmins((made) => ({
      // Kafka slow to answer: the connection is made once the stop is done.
      connect: () =>
        new Promise<void>((resolve) => {
          connect = () => {
            made.connected = true
            resolve()
          }
        }),
      listTopics: async () => ['ends-test.alerts.v1'],
      fetchTopicOffsets: async () => {
        asked = true
        return answer()
      },
    }))
    const { app } = onAdmin(admin)
    const starting = app.start().catch(() => {})
    // The group's admin, made at the build, and the ends' one.
    await waitFor(() => admins.length === 2, { what: 'an admin connecting' })
    await app.stop()
    await starting
    connect()
    await waitFor(() => asked && admins.every((a) => !a.connected), {
      what: 'the answer read, its admin disconnected',
      timeoutMs: 3_000,
    })
  })

  // A failure met once the stop is called ends the asking as a stop does: not retried nor warned of, the
  // admin disconnected, and the start not failed for the ends.
  it('are not asked again when an attempt under way at the stop fails after it', async () => {
    let connect = () => {}
    let connects = 0
    let listed = 0
    const { admins, admin } = recordedAdmins((made) => ({
      connect: () =>
        new Promise<void>((resolve) => {
          connect = () => {
            connects++
            made.connected = true
            resolve()
          }
        }),
      listTopics: async () => {
        listed++
        throw new Error('This server is not the leader for that topic-partition')
      },
    }))
    const { app, lines } = onAdmin(admin)
    let failed: unknown
    const starting = app.start().catch((err: unknown) => {
      failed = err
    })
    await waitFor(() => admins.length === 2, { what: 'an admin connecting' })
    await app.stop()
    connect()
    await starting
    await waitFor(() => listed === 1 && admins.every((a) => !a.connected), {
      what: 'the attempt failed, its admin disconnected',
      timeoutMs: 3_000,
    })
    expect(failed).not.toMatchObject({ code: 'INFRA_KAFKA' })
    expect(lines.filter((l) => /could not read the alerts topic's ends/.test(String(l.msg)))).toEqual([])
    expect(connects).toBe(1)
  })

  it('while they are read, HTTP answers: /healthz and /readyz say why it is not ready, /metrics, the indicators; the alert list is a 503, a fresh stream is answered only once they are read, a resumed one at once', async () => {
    let release = (_topics: string[]) => {}
    const listed = new Promise<string[]>((resolve) => {
      release = resolve
    })
    const { app } = onAdmin({
      connect: async () => {},
      listTopics: () => listed,
      disconnect: async () => {},
    })
    const closing: (() => Promise<void>)[] = []
    try {
      app.start().catch(() => {}) // after the ends, Kafka (the configuration's) is not there
      const base = await waitFor(() => app.httpPort() !== undefined && `http://127.0.0.1:${app.httpPort()}`, {
        what: 'listening',
      })
      const reason = {
        alerts: { status: 'ok', detail: "catching up: reading the alerts topic's ends" },
        consumer: { status: 'degraded', detail: 'starting' },
      }
      const healthz = await fetch(`${base}/healthz`)
      expect(healthz.status).toBe(200)
      expect(await healthz.json()).toEqual({ status: 'degraded', ready: false, checks: reason })
      const readyz = await fetch(`${base}/readyz`)
      expect(readyz.status).toBe(503)
      expect(await readyz.json()).toMatchObject({ ready: false, checks: reason })
      expect((await fetch(`${base}/api/indicators/top`)).status).toBe(200)
      const list = await fetch(`${base}/api/alerts`)
      expect([list.status, await list.json()]).toMatchObject([503, { error: 'catching_up' }])

      const resumed = await readEvents(`${base}/api/alerts/stream?lastEventId=a1`)
      closing.push(() => resumed.close())
      expect(resumed.status).toBe(200)
      await waitFor(() => resumed.comments.includes('catching up'), { what: 'the resumed stream waiting' })
      let answered = false
      const opening = readEvents(`${base}/api/alerts/stream`).then((fresh) => {
        answered = true
        closing.push(() => fresh.close())
        return fresh
      })
      opening.catch(() => {}) // a failure is the test's: awaited below
      await waitFor(async () => (await streamsOpen(base)) === 2, { what: 'the fresh stream counted' })
      await new Promise((resolve) => setImmediate(resolve))
      expect(answered).toBe(false)

      release([]) // the topic not there yet: it held nothing
      const fresh = await opening
      expect(fresh.status).toBe(200)
      await waitFor(() => fresh.comments.includes('catching up'), { what: 'the fresh stream answered' })
    } finally {
      for (const close of closing) await close()
      await app.stop()
    }
  })

  it('a fresh stream waiting for them at a stop gets no answer: the connection closes (a browser reconnects), the consumer never started', async () => {
    const { app } = onAdmin({
      connect: async () => {},
      listTopics: () => new Promise(() => {}),
      disconnect: async () => {},
    })
    let stopped = false
    try {
      const starting = app.start()
      const base = await waitFor(() => app.httpPort() !== undefined && `http://127.0.0.1:${app.httpPort()}`, {
        what: 'listening',
      })
      const opening = readEvents(`${base}/api/alerts/stream`)
      opening.catch(() => {}) // awaited below
      await waitFor(async () => (await streamsOpen(base)) === 1, { what: 'the stream counted' })
      await app.stop()
      stopped = true
      await expect(opening).rejects.toThrow()
      await starting
      // Its start never called (the runner says 'not running' once it was).
      expect((await app.health()).checks).toMatchObject({ consumer: { detail: 'starting' } })
    } finally {
      if (!stopped) await app.stop()
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
