import { request } from 'node:http'
import { type AddressInfo, connect, createServer } from 'node:net'
import { type Alert, createTopicCatalogue, listTopics } from '@tradepulse/contracts'
import { createIndicatorKeys, resolveIndicatorConfig } from '@tradepulse/indicators'
import {
  createCapturingLogger,
  createKafka,
  createLogger,
  createRedisIndicatorStore,
  type InRecord,
  loadConfig,
} from '@tradepulse/platform'
import {
  createTopics,
  randomName,
  testAlert,
  testInfra,
  testKafka,
  testProducer,
  waitFor,
} from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { RESUME_SLACK_MS } from './alert-stream.ts'
import { buildGatewayApp, type GatewayApp, type GatewayDeps } from './build-app.ts'
import { GatewayConfig } from './config.ts'
import { type ApiBody, alertIdOf, tariffIn } from './fixtures.ts'
import { readEvents } from './sse-client.ts'

describe('gateway on Kafka and Redis', () => {
  const { kafkaBrokers, redisUrl } = testInfra()
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  async function setup() {
    const prefix = `${randomName('gw')}.`
    const keyPrefix = prefix.replace(/\W/g, '_')
    const topics = createTopicCatalogue(prefix)
    await createTopics(
      kafkaBrokers,
      listTopics(topics).map((t) => ({ name: t.name, partitions: 2 })),
    )
    const producer = await testProducer(kafkaBrokers)
    cleanups.push(() => producer.disconnect())
    /** Alerts in one request: to the partition of their key, or to `partition` when given. */
    const send = (alerts: (Alert | string)[], partition?: number) =>
      producer.send({
        topic: topics.alerts.name,
        messages: alerts.map((a) => ({
          ...(partition === undefined ? {} : { partition }),
          ...(typeof a === 'string'
            ? { key: 'bad', value: a }
            : { key: `${a.scope.kind}:${a.scope.id}`, value: JSON.stringify(a) }),
        })),
      })
    const build = (env: Record<string, string> = {}, deps: Partial<GatewayDeps> = {}) => {
      const config = loadConfig(GatewayConfig, {
        KAFKA_BROKERS: kafkaBrokers.join(','),
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: keyPrefix,
        TRADEPULSE_TOPIC_PREFIX: prefix,
        HTTP_PORT: '0',
        TOPICS_AUTO_CREATE: 'false',
        ...env,
      })
      const app = buildGatewayApp(config, { log: createLogger({ level: 'silent' }), ...deps })
      cleanups.push(() => app.stop())
      return app
    }
    const start = async (env: Record<string, string> = {}) => {
      const app = build(env)
      await app.start()
      const base = `http://127.0.0.1:${app.httpPort()}`
      return {
        app,
        base,
        get: async (path: string) => (await (await fetch(`${base}${path}`)).json()) as ApiBody,
      }
    }
    let txProducer: ReturnType<ReturnType<typeof testKafka>['producer']> | undefined
    /**
     * Alerts written to one partition in one transaction, then committed or aborted, as a transactional
     * writer (MirrorMaker 2 exactly-once, Kafka Streams, Connect) leaves them: each followed by its marker.
     */
    const openTransaction = async (partition: number, alerts: Alert[]) => {
      if (!txProducer) {
        const p = testKafka(kafkaBrokers).producer({
          transactionalId: randomName('gw-tx'),
          idempotent: true,
          maxInFlightRequests: 1,
        })
        await p.connect()
        cleanups.push(() => p.disconnect())
        txProducer = p
      }
      const tx = await txProducer.transaction()
      await tx.send({
        topic: topics.alerts.name,
        messages: alerts.map((a) => ({
          partition,
          key: `${a.scope.kind}:${a.scope.id}`,
          value: JSON.stringify(a),
        })),
      })
      return tx
    }
    const inTransaction = async (partition: number, alerts: Alert[], end: 'commit' | 'abort' = 'commit') => {
      const tx = await openTransaction(partition, alerts)
      await tx[end]()
    }
    return { prefix, keyPrefix, topics, send, build, start, openTransaction, inTransaction }
  }

  /**
   * Holds the gateway's handler at the chunk of records holding alert `id` until released, as a slow
   * handler would: the gateway is then still catching up, however fast it reads the rest. (An open
   * transaction holds nothing: the topic's ends are read past committed records only, as far as a
   * read-committed consumer reads, so the records of one still open are not among them.) Its release
   * goes in the cleanups after the gateway's stop, so that it runs first: a stop waits for the chunk.
   */
  function holdAt(id: string) {
    let release = () => {}
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    let held: readonly InRecord[] | undefined
    const chunks: string[][] = []
    const given: (readonly InRecord[])[] = []
    const beforeFeed = async (records: readonly InRecord[]) => {
      chunks.push(records.map((r) => String(r.value).match(/^\{"id":"([^"]*)"/)?.[1] ?? ''))
      given.push(records)
      if (!records.some((r) => String(r.value).includes(`"id":${JSON.stringify(id)}`))) return
      held ??= records
      await released
    }
    return {
      beforeFeed,
      /** The chunk held, once the handler has reached it. */
      get held() {
        return held
      },
      /** The alert ids of each chunk the handler was given, in the order given. */
      chunks,
      /** The chunks the handler was given other than the held one: each partition's last offset in each. */
      others: () =>
        given
          .filter((records) => records !== held)
          .flatMap((records) => {
            const last = new Map<number, number>()
            for (const r of records)
              last.set(r.partition, Math.max(last.get(r.partition) ?? -1, Number(r.offset)))
            return [...last].map(([partition, offset]) => ({ partition, offset }))
          }),
      release,
    }
  }

  /**
   * The events a stream resumed at held alert `id` with an id of another order (a bare alert id) is sent
   * first: the held alerts before it whose records were written within RESUME_SLACK_MS before its own.
   */
  function slackBefore(app: GatewayApp, id: string) {
    const last = app.feed.entryOf(id)!
    return app.feed
      .after(0)
      .filter((e) => e.seq < last.seq && e.origin!.timestamp >= last.origin!.timestamp - RESUME_SLACK_MS)
      .map((e) => `alert ${e.alert.id}`)
  }

  it('serves the alerts it reads, streamed as they arrive, each id once; a record that is no alert is skipped, counted', async () => {
    const { send, start } = await setup()
    await send([testAlert('before-1'), testAlert('before-2', { scope: { kind: 'region', id: 'US' } })])
    const { base, get } = await start()
    await waitFor(async () => (await get('/api/alerts')).alerts.length === 2, {
      what: 'the alerts the topic held',
    })
    const stream = await readEvents(`${base}/api/alerts/stream?scope=region:CN`)
    cleanups.push(() => stream.close())
    await send([
      testAlert('live-1'),
      testAlert('live-1'), // the alerter sent it again after a crash: same id
      testAlert('live-2', { scope: { kind: 'region', id: 'US' } }),
      '{"id": "half an alert"}',
    ])
    await waitFor(() => stream.events.length >= 1, {
      what: 'the live alert',
    })
    await waitFor(async () => (await get('/api/alerts')).alerts.length === 4, { what: 'every alert held' })
    const held = (await get('/api/alerts')).alerts
    expect(held.map((a) => a.id).sort()).toEqual(['before-1', 'before-2', 'live-1', 'live-2'])
    expect(stream.events.map((e) => alertIdOf(e.id))).toEqual(['live-1'])
    expect(JSON.parse(stream.events[0]!.data)).toEqual(testAlert('live-1'))
    const health = await (await fetch(`${base}/readyz`)).json()
    expect(health).toMatchObject({ ready: true })
    // The duplicate may stand in a later batch than live-2, which made four held.
    await waitFor(
      async () =>
        /tradepulse_gateway_alerts_total\{[^}]*result="duplicate"[^}]*\} 1/.test(
          await (await fetch(`${base}/metrics`)).text(),
        ),
      { what: 'the duplicate counted' },
    )
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/tradepulse_gateway_streams\{[^}]*\} 1/)
    await waitFor(
      async () => /result="invalid"[^}]*\} 1/.test(await (await fetch(`${base}/metrics`)).text()),
      {
        what: 'the record that is no alert counted',
      },
    )
  })

  it('a restarted gateway serves again what the topic holds', async () => {
    const { send, start } = await setup()
    await send([testAlert('a'), testAlert('b')])
    const first = await start()
    // Ready once it has read what the topic held at its start.
    await waitFor(async () => (await fetch(`${first.base}/readyz`)).status === 200, { what: 'ready' })
    expect((await first.get('/api/alerts')).alerts.map((a) => a.id).sort()).toEqual(['a', 'b'])
    await waitFor(async () => (await first.get('/api/alerts')).alerts.length === 2, {
      what: 'the first gateway',
    })
    await first.app.stop()
    await send([testAlert('c')])
    const second = await start()
    await waitFor(async () => (await second.get('/api/alerts')).alerts.length === 3, {
      what: 'the second gateway',
    })
  })

  it('a stream resumed on the gateway that sent its last event is sent nothing it had again; resumed on a restarted one, the alerts written within RESUME_SLACK_MS before it too', async () => {
    const { send, start } = await setup()
    // Detected at the same time, on one partition (one scope): a, then b, in every gateway's feed.
    await send([testAlert('a'), testAlert('b')])
    const first = await start()
    await waitFor(async () => (await fetch(`${first.base}/readyz`)).status === 200, { what: 'ready' })
    const stream = await readEvents(`${first.base}/api/alerts/stream?recent=2`)
    await waitFor(() => stream.events.length === 2, { what: 'the recent alerts' })
    await stream.close()
    const lastEventId = stream.lastEventId!
    expect(alertIdOf(lastEventId)).toBe('b')
    const here = await readEvents(`${first.base}/api/alerts/stream`, { 'last-event-id': lastEventId })
    cleanups.push(() => here.close())
    await first.app.stop()
    await send([testAlert('c')])
    const second = await start()
    await waitFor(async () => (await fetch(`${second.base}/readyz`)).status === 200, { what: 'ready again' })
    const restarted = await readEvents(`${second.base}/api/alerts/stream`, { 'last-event-id': lastEventId })
    cleanups.push(() => restarted.close())
    await waitFor(() => restarted.events.length >= 2, { what: 'the slack and the next alert' })
    expect(restarted.events.map((e) => alertIdOf(e.id))).toEqual(['a', 'c'])
    // The first gateway sent its resumed reader nothing before its stop (it ended the stream).
    await waitFor(() => here.ended, { what: 'the stream ended at the stop' })
    expect(here.events).toEqual([])
  })

  it('a stream opened while the gateway catches up starts once it has: nothing it read meanwhile is sent as live', async () => {
    const { send, build } = await setup()
    const t0 = Date.parse('2026-03-01T00:00:00Z')
    for (let b = 0; b < 30; b++)
      await send(
        Array.from({ length: 100 }, (_, i) =>
          testAlert(`old-${b * 100 + i}`, {
            detectedAt: new Date(t0 + (b * 100 + i) * 120_000).toISOString(),
          }),
        ),
      )
    // The handler held at the last of them until the test lets it go: the checks below come while the
    // gateway catches up, however fast the 3,000 are read (a loaded machine had sometimes read them all
    // before the first check; an open transaction after them held nothing, as its records are past the
    // ends the gateway reads).
    const hold = holdAt('old-2999')
    const app = build({}, { beforeFeed: hold.beforeFeed })
    cleanups.push(async () => hold.release())
    const starting = app.start()
    // HTTP listens before the consumer joins: a browser reconnecting after a restart comes then.
    const base = await waitFor(() => app.httpPort() !== undefined && `http://127.0.0.1:${app.httpPort()}`, {
      what: 'the port',
    })
    expect((await fetch(`${base}/readyz`)).status).toBe(503)
    const fresh = await readEvents(`${base}/api/alerts/stream`)
    const resumed = await readEvents(`${base}/api/alerts/stream`, { 'last-event-id': 'old-2999' })
    cleanups.push(
      () => fresh.close(),
      () => resumed.close(),
    )
    expect([fresh.status, resumed.status]).toEqual([200, 200])
    await starting
    await waitFor(() => hold.held, { what: 'the last chunk held' })
    expect((await fetch(`${base}/readyz`)).status).toBe(503)
    hold.release()
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, { what: 'caught up' })
    // Before the live alert, which evicts the oldest held.
    const slack = slackBefore(app, 'old-2999')
    await send([testAlert('live', { detectedAt: new Date(t0 + 3_001 * 120_000).toISOString() })])
    const gotLive = (s: typeof fresh) => s.events.some((e) => alertIdOf(e.id) === 'live')
    await waitFor(() => gotLive(fresh) && gotLive(resumed), { what: 'the live alert' })
    expect(fresh.events.map((e) => `${e.event} ${alertIdOf(e.id)}`)).toEqual(['alert live'])
    // Resumed with an id of no order of this gateway's: those written just before its last one again.
    expect(resumed.events.map((e) => `${e.event} ${alertIdOf(e.id)}`)).toEqual([...slack, 'alert live'])
  })

  it.each([
    ['its last records and commit marker fetched together', {}],
    ['its last records handled in chunks (KAFKA_MAX_BATCH)', { KAFKA_MAX_BATCH: '40' }],
    [
      'each record batch fetched alone: the commit marker passed over in a fetch of its own',
      { KAFKA_MAX_BYTES_PER_PARTITION: '1' },
    ],
  ])(
    'a topic written in transactions, its partitions ending in commit markers: a stream opened while the gateway catches up is sent none of what it held as live (%s)',
    async (_, env: Record<string, string>) => {
      const { build, inTransaction } = await setup()
      // A transactional writer: every alert committed before the gateway starts, each partition ending
      // in the marker after its last alert.
      const commit = (partition: number, alerts: Alert[]) => inTransaction(partition, alerts)
      const t0 = Date.parse('2026-03-01T00:00:00Z')
      const at = (id: string, i: number) =>
        testAlert(id, { detectedAt: new Date(t0 + i * 120_000).toISOString() })
      for (let b = 0; b < 3; b++)
        await commit(
          b % 2,
          Array.from({ length: 100 }, (_, i) => at(`old-${b * 100 + i}`, b * 100 + i)),
        )
      await commit(1, [at('final', 300)])
      // The handler held at the chunk with the final alert, its commit marker past it: were the consumer's
      // position past the marker told before that chunk is in the feed, the gateway would be caught up
      // early, and a stream begun then would be sent the chunk as live.
      const hold = holdAt('final')
      const app = build(env, { beforeFeed: hold.beforeFeed })
      cleanups.push(async () => hold.release())
      // Where the runner says each partition is read up to (what the catch-up is told).
      const positions = new Map<number, number>()
      app.runner.onPosition?.((_topic, partition, next) => positions.set(partition, next))
      await app.start()
      const base = `http://127.0.0.1:${app.httpPort()}`
      const held = await waitFor(() => hold.held, { what: 'the final chunk held' })
      expect(held.at(-1)?.value?.toString()).toContain('"id":"final"')
      // The other partition's alerts may be read yet or not (the consumer fetches again only once every
      // batch of its last fetch is handled): the gateway is caught up only once every partition is read
      // to its end either way. It had its chance to be caught up early once the runner has told a
      // position past every other chunk its handler was given (nothing else moves while the held one
      // waits): only then is its not being ready worth a look.
      await waitFor(
        () => hold.others().every(({ partition, offset }) => (positions.get(partition) ?? 0) > offset),
        { what: 'a position told past every chunk handled but the held one' },
      )
      expect((await fetch(`${base}/readyz`)).status).toBe(503)
      const fresh = await readEvents(`${base}/api/alerts/stream`)
      const resumed = await readEvents(`${base}/api/alerts/stream`, { 'last-event-id': 'final' })
      cleanups.push(
        () => fresh.close(),
        () => resumed.close(),
      )
      expect([fresh.status, resumed.status]).toEqual([200, 200])
      // Each stream told to wait for the catch-up (written once the gateway has ruled on it; a stream
      // begun at once is written its alerts instead, and never this): sent nothing before it.
      await waitFor(
        () => fresh.comments.includes('catching up') && resumed.comments.includes('catching up'),
        {
          what: 'both streams waiting for the catch-up',
        },
      )
      expect([fresh.events, resumed.events]).toEqual([[], []])
      expect((await fetch(`${base}/readyz`)).status).toBe(503)
      hold.release()
      await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, { what: 'caught up' })
      expect(app.feed.size).toBe(301)
      // Alerts of the other partition read after the final one are sent to the stream resumed at it,
      // as what it had not seen (after those written just before it: its id is of no order of this
      // gateway's): none is sent to the new stream, which starts at what comes next.
      const final = app.feed.entryOf('final')!
      const unseen = [
        ...slackBefore(app, 'final'),
        ...app.feed.after(final.seq).map((e) => `alert ${e.alert.id}`),
      ]
      await commit(0, [at('live', 301)])
      // Then one more, after it in the same partition: a stream's events come in feed order, so once it
      // has this one, anything sent to it wrongly (before the live alert or after it) is there too.
      await commit(0, [at('after-live', 302)])
      const gotLast = (s: typeof fresh) => s.events.some((e) => alertIdOf(e.id) === 'after-live')
      await waitFor(() => gotLast(fresh) && gotLast(resumed), { what: 'the live alerts' })
      expect(fresh.events.map((e) => `${e.event} ${alertIdOf(e.id)}`)).toEqual([
        'alert live',
        'alert after-live',
      ])
      expect(resumed.events.map((e) => `${e.event} ${alertIdOf(e.id)}`)).toEqual([
        ...unseen,
        'alert live',
        'alert after-live',
      ])
    },
  )

  it.each([
    ['a plain producer', 'plain'],
    ['a transactional writer', 'transactions'],
    ['a transaction open at the start, committed during the catch-up: past the ends, read committed', 'open'],
  ] as const)(
    'an alert written after the gateway started but read while it catches up is sent live to a new stream opened meanwhile; none the topic held at the start is (%s)',
    async (_, writer) => {
      const { topics, send, build, inTransaction, openTransaction } = await setup()
      // Records of 1,000 bytes, 40 to a request: each request one record batch of about 40 KB.
      const alert = (id: string) => {
        const pad = 1_000 - Buffer.byteLength(JSON.stringify(testAlert(id, { message: '' })))
        return testAlert(id, { message: 'x'.repeat(pad) })
      }
      const write = (partition: number, alerts: Alert[]) =>
        writer === 'transactions' ? inTransaction(partition, alerts) : send(alerts, partition)
      for (let b = 0; b < 3; b++)
        await write(
          0,
          Array.from({ length: 40 }, (_, i) => alert(`old-${b * 40 + i}`)),
        )
      await write(1, [alert('old-p1')])
      // Open at the start: the topic's end is its last stable offset, before this transaction's records.
      const open = writer === 'open' ? await openTransaction(0, [alert('new-0')]) : undefined
      const admin = testKafka(kafkaBrokers).admin()
      await admin.connect()
      cleanups.push(() => admin.disconnect())
      // Partition 0's end as a read-committed consumer sees it (its last stable offset).
      const end0 = async () =>
        Number((await admin.fetchTopicOffsets(topics.alerts.name)).find((o) => o.partition === 0)?.high)
      const endAtStart = await end0()
      // Fetches of at most 100,000 bytes a partition: the first takes two of partition 0's record batches,
      // the next its third and what was written since, in one batch: the last of what the topic held at
      // the start and the news after it. The handler held at the first chunk meanwhile.
      const hold = holdAt('old-0')
      const app = build({ KAFKA_MAX_BYTES_PER_PARTITION: '100000' }, { beforeFeed: hold.beforeFeed })
      cleanups.push(async () => hold.release())
      await app.start()
      const base = `http://127.0.0.1:${app.httpPort()}`
      await waitFor(() => hold.held, { what: 'the first chunk held' })
      await waitFor(async () => /still being read/.test(await (await fetch(`${base}/readyz`)).text()), {
        what: "the topic's ends at the start read",
      })
      const fresh = await readEvents(`${base}/api/alerts/stream`)
      cleanups.push(() => fresh.close())
      // News: on the partition still being read, and on the one read to its end.
      if (open) await open.commit()
      else await write(0, [alert('new-0')])
      await write(1, [alert('new-1')])
      // A commit returns before its markers are written: until then the news is past the end a
      // read-committed fetch reaches, and would come in a fetch of its own.
      await waitFor(async () => (await end0()) > endAtStart, { what: 'new-0 readable' })
      hold.release()
      await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, { what: 'caught up' })
      // The case at hand: the news read with the last of what the topic held, so before the catch-up ended.
      const chunks = hold.chunks.map((ids) => `${ids[0]}..${ids.at(-1)} (${ids.length})`).join(', ')
      expect(
        hold.chunks.some((ids) => ids.includes('old-119') && ids.includes('new-0')),
        chunks,
      ).toBe(true)
      const late = await readEvents(`${base}/api/alerts/stream`)
      cleanups.push(() => late.close())
      await write(0, [alert('next')])
      const gotNext = (s: typeof fresh) => s.events.some((e) => alertIdOf(e.id) === 'next')
      await waitFor(() => gotNext(fresh) && gotNext(late), { what: 'the next alert' })
      // Each once, 'next' last: the stream sends in feed order.
      const sent = fresh.events.map((e) => `${e.event} ${alertIdOf(e.id)}`)
      expect([...sent.slice(0, -1)].sort()).toEqual(['alert new-0', 'alert new-1'])
      expect(sent.at(-1)).toBe('alert next')
      // Opened once caught up: what comes next, the news read during the catch-up being history by then.
      expect(late.events.map((e) => `${e.event} ${alertIdOf(e.id)}`)).toEqual(['alert next'])
      expect(app.feed.size).toBe(124)
    },
  )

  it('a stream opened while the gateway catches up is told, in a gap event sent first, of the news the feed evicted before the catch-up ended', async () => {
    const { topics, send, build } = await setup()
    // Records of 1,000 bytes, 40 to a request: each request one record batch of about 40 KB.
    const alert = (id: string, minute = 0) => {
      const over = {
        detectedAt: new Date(Date.parse('2026-03-02T14:00:00Z') + minute * 60_000).toISOString(),
      }
      const pad = 1_000 - Buffer.byteLength(JSON.stringify(testAlert(id, { ...over, message: '' })))
      return testAlert(id, { ...over, message: 'x'.repeat(pad) })
    }
    for (let b = 0; b < 3; b++)
      await send(
        Array.from({ length: 40 }, (_, i) => alert(`old-${b * 40 + i}`)),
        0,
      )
    await send([alert('old-p1')], 1)
    const admin = testKafka(kafkaBrokers).admin()
    await admin.connect()
    cleanups.push(() => admin.disconnect())
    const end0 = async () =>
      Number((await admin.fetchTopicOffsets(topics.alerts.name)).find((o) => o.partition === 0)?.high)
    const endAtStart = await end0()
    // As the test above: the next fetch after the held chunk takes the last of what partition 0 held and
    // the news written meanwhile, ten alerts, in one chunk. The feed holds five: the first five of the
    // news are evicted by the rest before the catch-up ends.
    const hold = holdAt('old-0')
    const app = build(
      { KAFKA_MAX_BYTES_PER_PARTITION: '100000', GATEWAY_RECENT_ALERTS: '5' },
      { beforeFeed: hold.beforeFeed },
    )
    cleanups.push(async () => hold.release())
    await app.start()
    const base = `http://127.0.0.1:${app.httpPort()}`
    await waitFor(() => hold.held, { what: 'the first chunk held' })
    await waitFor(async () => /still being read/.test(await (await fetch(`${base}/readyz`)).text()), {
      what: "the topic's ends at the start read",
    })
    const fresh = await readEvents(`${base}/api/alerts/stream`)
    cleanups.push(() => fresh.close())
    await send(
      Array.from({ length: 10 }, (_, i) => alert(`new-${i}`, 10 - i)),
      0,
    )
    await waitFor(async () => (await end0()) === endAtStart + 10, { what: 'the news readable' })
    hold.release()
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, { what: 'caught up' })
    const chunks = hold.chunks.map((ids) => `${ids[0]}..${ids.at(-1)} (${ids.length})`).join(', ')
    expect(
      hold.chunks.some((ids) => ids.includes('old-119') && ids.includes('new-9')),
      chunks,
    ).toBe(true)
    await waitFor(() => fresh.events.some((e) => alertIdOf(e.id) === 'new-9'), { what: 'the news held' })
    expect(fresh.events.map((e) => `${e.event} ${alertIdOf(e.id) ?? ''}`)).toEqual([
      'gap ',
      ...[5, 6, 7, 8, 9].map((i) => `alert new-${i}`),
    ])
    expect(JSON.parse(fresh.events[0]!.data)).toEqual({
      lastEventId: null,
      reason: 'catching up: alerts written after the start evicted before they were sent',
      lost: {
        alerts: 5,
        firstId: 'new-0',
        lastId: 'new-4',
        detectedFrom: alert('new-4', 6).detectedAt,
        detectedTo: alert('new-0', 10).detectedAt,
        offsets: [{ partition: 0, from: endAtStart, to: endAtStart + 4 }],
      },
    })
  })

  it("an alert written once a fresh stream is answered is sent to it, however late the topic's ends are read: HTTP listens meanwhile, the stream is answered and the consumer started only once they are", async () => {
    const { send, build } = await setup()
    await send([testAlert('old-cn'), testAlert('old-us', { scope: { kind: 'region', id: 'US' } })])
    // The gateway's admin clients, but its read of the topic's ends waits for the test: as slow as an
    // admin may be, or a Kafka that does not answer yet.
    let asked = false
    let release = () => {}
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    const kafka: GatewayDeps['kafka'] = (...args) => {
      const made = createKafka(...args)
      return {
        admin: () => {
          const admin = made.admin()
          return {
            ...admin,
            fetchTopicOffsets: async (topic: string) => {
              asked = true
              await released
              return admin.fetchTopicOffsets(topic)
            },
          }
        },
      }
    }
    const app = build({}, { kafka })
    // Run before the gateway's stop (cleanups run last first): the ends read, the stream answered.
    let closeFresh = async () => {}
    cleanups.push(() => closeFresh())
    cleanups.push(async () => release())
    const starting = app.start()
    const base = await waitFor(
      () => asked && app.httpPort() !== undefined && `http://127.0.0.1:${app.httpPort()}`,
      {
        what: 'the ends asked for, HTTP listening',
      },
    )
    // The alert is written as soon as the stream is answered: once a reader has it open.
    let answered = false
    let written: Promise<unknown> | undefined
    const opening = readEvents(`${base}/api/alerts/stream`).then((stream) => {
      answered = true
      written = send([testAlert('new')])
      closeFresh = () => stream.close()
      return stream
    })
    opening.catch(() => {}) // a failure is the test's: awaited below
    // The stream takes its place, and is not answered while the ends are unread; the gateway says why it
    // is not ready, and its consumer has not started.
    await waitFor(
      async () =>
        /^tradepulse_gateway_streams(\{[^}]*\})? 1$/m.test(await (await fetch(`${base}/metrics`)).text()),
      {
        what: 'the stream counted',
      },
    )
    const health = await fetch(`${base}/healthz`)
    expect(health.status).toBe(200)
    expect(((await health.json()) as { checks: unknown }).checks).toMatchObject({
      alerts: { status: 'ok', detail: "catching up: reading the alerts topic's ends" },
      consumer: { detail: 'starting' },
    })
    await new Promise((resolve) => setImmediate(resolve))
    // Answered at once, the stream would have the new alert written before the ends' read, which would
    // take it in as history: the stream, begun at the feed's end once caught up, would never get it.
    expect(answered).toBe(false)
    release()
    const fresh = await opening
    await written
    await starting
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, { what: 'caught up' })
    await waitFor(() => fresh.events.some((e) => alertIdOf(e.id) === 'new'), {
      what: 'the new alert sent to the fresh stream',
    })
    expect(fresh.events.map((e) => `${e.event} ${alertIdOf(e.id)}`)).toEqual(['alert new'])
  })

  it('starts on a cluster without its topics when TOPICS_AUTO_CREATE makes them: the alerts topic held nothing at its start', async () => {
    const { build } = await setup()
    const prefix = `${randomName('gw-new')}.`
    const app = build({ TRADEPULSE_TOPIC_PREFIX: prefix, TOPICS_AUTO_CREATE: 'true' })
    await app.start()
    const base = `http://127.0.0.1:${app.httpPort()}`
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, { what: 'ready' })
    const fresh = await readEvents(`${base}/api/alerts/stream`)
    cleanups.push(() => fresh.close())
    const producer = await testProducer(kafkaBrokers)
    cleanups.push(() => producer.disconnect())
    await producer.send({
      topic: createTopicCatalogue(prefix).alerts.name,
      messages: [{ key: 'region:CN', value: JSON.stringify(testAlert('first')) }],
    })
    await waitFor(() => fresh.events.length >= 1, { what: 'the first alert' })
    expect(fresh.events.map((e) => `${e.event} ${alertIdOf(e.id)}`)).toEqual(['alert first'])
  })

  it('with KAFKA_GROUP_ID, a gateway restarted where its group had read everything is ready', async () => {
    const { prefix, topics, send, start } = await setup()
    await send([testAlert('a'), testAlert('b', { scope: { kind: 'region', id: 'US' } })])
    const env = { KAFKA_GROUP_ID: `${prefix}gateway-fixed`, KAFKA_COMMIT_INTERVAL_MS: '100' }
    const first = await start(env)
    await waitFor(async () => (await fetch(`${first.base}/readyz`)).status === 200, { what: 'first ready' })
    const admin = testKafka(kafkaBrokers).admin()
    await admin.connect()
    cleanups.push(() => admin.disconnect())
    const ends = await admin.fetchTopicOffsets(topics.alerts.name)
    await waitFor(
      async () => {
        const [committed] = await admin.fetchOffsets({
          groupId: env.KAFKA_GROUP_ID,
          topics: [topics.alerts.name],
        })
        return ends.every((e) => {
          const c = committed?.partitions.find((p) => p.partition === e.partition)
          return Number(c?.offset ?? -1) >= Number(e.high)
        })
      },
      { what: 'the group committed to the end of every partition' },
    )
    await first.app.stop()
    // The group resumes at its commits, the end: no record comes, and none needs to.
    const second = await start(env)
    await waitFor(async () => (await fetch(`${second.base}/readyz`)).status === 200, {
      what: 'the restarted gateway ready',
      timeoutMs: 20_000,
    })
    await send([testAlert('c')])
    await waitFor(async () => (await second.get('/api/alerts')).alerts.map((a) => a.id).join() === 'c', {
      what: 'what came after its commits',
    })
  })

  it('deletes the consumer group it made for itself at a stop; one named with KAFKA_GROUP_ID stays', async () => {
    const { prefix, topics, send, start } = await setup()
    await send([testAlert('a'), testAlert('b', { scope: { kind: 'region', id: 'US' } })])
    const admin = testKafka(kafkaBrokers).admin()
    await admin.connect()
    cleanups.push(() => admin.disconnect())
    const ends = await admin.fetchTopicOffsets(topics.alerts.name)
    const groups = async () => (await admin.listGroups()).groups.map((g) => g.groupId)
    const generated = async () => (await groups()).filter((g) => g.startsWith(`${prefix}gateway.`))
    // Committed to the end of every partition: a group left behind then stays (empty, with its offsets)
    // until Kafka's offsets.retention.minutes.
    const committedToEnd = (groupId: string) =>
      waitFor(
        async () => {
          const [committed] = await admin.fetchOffsets({ groupId, topics: [topics.alerts.name] })
          return ends.every((e) => {
            const c = committed?.partitions.find((p) => p.partition === e.partition)
            return Number(c?.offset ?? -1) >= Number(e.high)
          })
        },
        { what: `${groupId} committed to the end of every partition` },
      )

    const own = await start({ KAFKA_COMMIT_INTERVAL_MS: '100' })
    const ownGroup = await waitFor(async () => (await generated())[0], { what: "the gateway's own group" })
    expect(ownGroup.startsWith(`${prefix}gateway.`) && ownGroup.split('.').at(-2)).toBe(String(process.pid))
    await committedToEnd(ownGroup)
    await own.app.stop()
    // Deleted within the stop: gone once it returns.
    expect(await groups()).not.toContain(ownGroup)
    expect((await admin.describeGroups([ownGroup])).groups[0]?.state).toBe('Dead')

    // The operator's group: kept for the next start to resume at its commits.
    const named = `${prefix}gateway-named`
    const fixed = await start({ KAFKA_GROUP_ID: named, KAFKA_COMMIT_INTERVAL_MS: '100' })
    await waitFor(async () => (await fetch(`${fixed.base}/readyz`)).status === 200, { what: 'ready' })
    await committedToEnd(named)
    await fixed.app.stop()
    expect(await groups()).toContain(named)
    expect((await admin.describeGroups([named])).groups[0]?.state).toBe('Empty')
    await committedToEnd(named)
    expect(await generated()).toEqual([])
  })

  it('holds no more alerts than GATEWAY_RECENT_ALERTS_MAX_BYTES takes, the oldest evicted and counted', async () => {
    const { send, start } = await setup()
    // 200 alerts of 1,000 bytes each as records: 65 fit the smallest budget, though the count takes 1,000.
    const alert = (i: number) => {
      const a = testAlert(`a${i}`, { message: '' })
      const pad = 1_000 - Buffer.byteLength(JSON.stringify(a))
      return testAlert(`a${i}`, { message: 'x'.repeat(pad) })
    }
    expect(Buffer.byteLength(JSON.stringify(alert(150)))).toBe(1_000)
    await send(Array.from({ length: 200 }, (_, i) => alert(i)))
    const { base, get } = await start({ GATEWAY_RECENT_ALERTS_MAX_BYTES: '65536' })
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, { what: 'ready' })
    const body = await get('/api/alerts?limit=1000')
    expect([body.held, body.alerts.length]).toEqual([65, 65])
    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toMatch(/tradepulse_gateway_feed_evicted_total\{[^}]*reason="bytes"[^}]*\} 135\n/)
    expect(metrics).toMatch(/tradepulse_gateway_feed_evicted_total\{[^}]*reason="count"[^}]*\} 0\n/)
    expect(metrics).toMatch(/tradepulse_gateway_feed_bytes\{[^}]*\} 65000\n/)
  })

  it('answers only the host names GATEWAY_ALLOWED_HOSTS lists (and IP addresses), 421 on every path for another', async () => {
    const { send, start } = await setup()
    await send([testAlert('a1')])
    const { base } = await start({ GATEWAY_ALLOWED_HOSTS: 'alerts.example.com' })
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, { what: 'ready' })
    const port = Number(new URL(base).port)
    // fetch sets Host itself: a raw request names the one a browser on another name would send.
    const statusFor = (host: string, path: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
        req.on('error', reject)
        req.end()
      })
    for (const path of ['/api/alerts', '/metrics', '/healthz']) {
      expect(await statusFor(`alerts.example.com:${port}`, path)).toBe(200)
      expect(await statusFor(`127.0.0.1:${port}`, path)).toBe(200)
      // localhost is the loopback bind's default, but a list set replaces it.
      expect(await statusFor(`localhost:${port}`, path)).toBe(421)
      expect(await statusFor(`rebind.attacker.example:${port}`, path)).toBe(421)
    }
  })

  it('is ready, and serves what the topic held, when its partitions end in transaction markers', async () => {
    const { start, inTransaction } = await setup()
    // A transactional writer: partition 0 ends in the commit marker after its alert, partition 1 holds
    // only an aborted alert and its abort marker. No handler sees either marker.
    await inTransaction(0, [testAlert('committed')], 'commit')
    await inTransaction(1, [testAlert('aborted')], 'abort')
    const { base, get } = await start()
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, {
      what: 'ready past the markers',
      timeoutMs: 20_000,
    })
    const answer = await fetch(`${base}/api/alerts`)
    expect(answer.status).toBe(200)
    expect(((await answer.json()) as ApiBody).alerts.map((a) => a.id)).toEqual(['committed'])
    expect((await get('/api/alerts')).alerts.map((a) => a.id)).toEqual(['committed'])
  })

  it('closes streams whose readers take nothing at GATEWAY_STREAM_MAX_AGE_MS: they hold no place for good', async () => {
    const { start } = await setup()
    const { app, base } = await start({
      GATEWAY_MAX_STREAMS: '2',
      GATEWAY_STREAM_HEARTBEAT_MS: '1000',
      GATEWAY_STREAM_STALL_MS: '1000',
      GATEWAY_STREAM_MAX_AGE_MS: '3000',
    })
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, { what: 'ready' })
    // Two readers that read the response's head, then nothing: heartbeats never fill their sockets.
    const port = app.httpPort()!
    const readers = await Promise.all(
      [0, 1].map(async () => {
        const socket = connect(port, '127.0.0.1')
        cleanups.push(async () => socket.destroy())
        socket.write('GET /api/alerts/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
        const head = await new Promise<string>((resolve) => socket.once('data', (b) => resolve(String(b))))
        socket.pause()
        return { socket, head }
      }),
    )
    expect(readers.map((r) => r.head.split('\r\n')[0])).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK'])
    const refused = await fetch(`${base}/api/alerts/stream`)
    expect(refused.status).toBe(503)
    await refused.body?.cancel()
    // Within their age (2.7 to 3 s) they are closed, and a new reader gets a place.
    const stream = await waitFor(
      async () => {
        const s = await readEvents(`${base}/api/alerts/stream`)
        if (s.status === 200) return s
        s.close()
        return false
      },
      { what: 'a place for a new stream', timeoutMs: 10_000 },
    )
    cleanups.push(() => stream.close())
    // The first closed frees a place; the second follows within its age.
    await waitFor(
      async () =>
        /tradepulse_gateway_streams_aged_total\{[^}]*\} 2/.test(
          await (await fetch(`${base}/metrics`)).text(),
        ),
      { what: 'both readers that take nothing closed at their age', timeoutMs: 10_000 },
    )
  })

  it('refuses a client past GATEWAY_MAX_STREAMS_PER_CLIENT with 429, counted by reason, and gives its place back', async () => {
    const { start } = await setup()
    const { base } = await start({ GATEWAY_MAX_STREAMS: '3', GATEWAY_MAX_STREAMS_PER_CLIENT: '1' })
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, { what: 'ready' })
    const refusals = async () =>
      Object.fromEntries(
        [
          ...(await (await fetch(`${base}/metrics`)).text()).matchAll(
            /^tradepulse_gateway_streams_refused_total\{reason="(\w+)"[^}]*\} (\d+)$/gm,
          ),
        ].map((m) => [m[1], Number(m[2])]),
      )
    expect(await refusals()).toEqual({ total: 0, client: 0 })
    const first = await readEvents(`${base}/api/alerts/stream`)
    cleanups.push(() => first.close())
    expect(first.status).toBe(200)
    const refused = await fetch(`${base}/api/alerts/stream`)
    expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, '5'])
    expect(await refused.json()).toMatchObject({ error: 'too_many_client_streams' })
    expect(await refusals()).toEqual({ total: 0, client: 1 })
    await first.close()
    const next = await waitFor(
      async () => {
        const s = await readEvents(`${base}/api/alerts/stream`)
        if (s.status === 200) return s
        await s.close()
        return false
      },
      { what: "the closed stream's place given back" },
    )
    cleanups.push(() => next.close())
  })

  /**
   * A gateway behind a trusted proxy (127.0.0.0/8, whence this test connects), ready, with stream limits
   * `maxStreams` and `perClient`: `open(forwardedFor)` opens a stream the proxy forwards for that
   * X-Forwarded-For, and resolves with its status.
   */
  async function behindProxy(maxStreams: number, perClient: number) {
    const { start } = await setup()
    const { base } = await start({
      GATEWAY_MAX_STREAMS: String(maxStreams),
      GATEWAY_MAX_STREAMS_PER_CLIENT: String(perClient),
      GATEWAY_TRUSTED_PROXIES: '127.0.0.0/8',
    })
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, { what: 'ready' })
    return async (forwardedFor: string) => {
      const s = await readEvents(`${base}/api/alerts/stream`, { 'x-forwarded-for': forwardedFor })
      cleanups.push(() => s.close())
      return s.status
    }
  }

  it('counts each reader behind a proxy named in GATEWAY_TRUSTED_PROXIES as its own client', async () => {
    // This test connects from 127.0.0.1, the trusted proxy, forwarding for each desk.
    const desk = await behindProxy(3, 1)
    expect([await desk('203.0.113.7'), await desk('2001:db8::8'), await desk('203.0.113.7')]).toEqual([
      200, 200, 429,
    ])
  })

  it('counts an IPv6 reader by its /64 for GATEWAY_MAX_STREAMS_PER_CLIENT: rotating addresses within it gets no more streams', async () => {
    // This test connects from 127.0.0.1, the trusted proxy, forwarding for each address.
    const desk = await behindProxy(10, 2)
    const statuses: number[] = []
    for (const address of [
      '2001:db8:1:2::1',
      '2001:db8:1:2::2',
      '2001:db8:1:2:9f3a:11c2:4d5e:6f70',
      '2001:db8:1:3::1',
      '198.51.100.1',
      '::ffff:198.51.100.1',
      '198.51.100.1',
    ])
      statuses.push(await desk(address))
    expect(statuses).toEqual([200, 200, 429, 200, 200, 200, 429])
  })

  it('reads an X-Forwarded-For entry with a port as its address, the port ignored', async () => {
    // From 127.0.0.1, the trusted proxy, forwarding for each: were the ports malformed, every one would
    // be the proxy's, one client.
    const desk = await behindProxy(10, 1)
    const statuses: number[] = []
    for (const forwardedFor of ['203.0.113.7:5678', '[2001:db8::8]:443', '203.0.113.7', '2001:db8::9'])
      statuses.push(await desk(forwardedFor))
    expect(statuses).toEqual([200, 200, 429, 429])
  })

  it('reads the indicators the aggregator keeps in Redis, from the namespace a rebuild activated', async () => {
    const { keyPrefix, start } = await setup()
    const redis = new Redis(redisUrl)
    cleanups.push(async () => redis.quit())
    const store = createRedisIndicatorStore(redis, { prefix: keyPrefix })
    const t = Date.parse('2026-03-02T14:00:00.000Z')
    await store.applyBatch([
      tariffIn('CN', 'h1', t - 60_000, -0.9),
      tariffIn('CN', 'h2', t - 30_000, -0.8),
      tariffIn('MX', 'h3', t - 10_000, 0.5),
    ])
    await store.advanceWatermark(t)
    const { base, get } = await start()
    const top = await get('/api/indicators/top?dimension=tariff&kind=region')
    expect(top.asOf).toBe('2026-03-02T14:00:00.000Z')
    expect(top.namespace).toBe('v1')
    expect(top.indicators.map((u) => u.scope.id).sort()).toEqual(['CN', 'MX'])
    const cn = await get('/api/indicators?dimension=tariff&scope=region:CN')
    expect(cn.indicator).toMatchObject({ count: 2, scope: { kind: 'region', id: 'CN' } })
    expect(cn.indicator?.mean['15m']).toBeLessThan(-0.4)
    // Before CN's newest headline: refused, naming it, not answered with the newest values.
    const early = await fetch(
      `${base}/api/indicators?dimension=tariff&scope=region:CN&asOf=2026-03-01T12:00:00Z`,
    )
    expect([early.status, ((await early.json()) as ApiBody).message]).toEqual([
      400,
      'asOf: 2026-03-01T12:00:00.000Z is before 2026-03-02T13:59:30.000Z, the earliest time these indicators can be read at (each is kept as of its newest headline, not as a history)',
    ])
    expect((await fetch(`${base}/api/indicators/top?asOf=2026-03-02T10:00:00Z`)).status).toBe(400)
    const rebuilt = store.withNamespace('r2')
    await rebuilt.applyBatch([tariffIn('JP', 'h4', t - 5_000, 0.3)])
    await rebuilt.advanceWatermark(t)
    await store.activateNamespace('r2')
    // The answer asked a moment ago is shared for INDICATORS_SHARED_MS; the next read is of r2.
    const after = await waitFor(
      async () => {
        const top = await get('/api/indicators/top?dimension=tariff&kind=region')
        return top.namespace === 'r2' && top
      },
      { what: 'the answer read from r2' },
    )
    expect(after.indicators.map((u) => u.scope.id)).toEqual(['JP'])
  })

  it('reads an indicator in Redis whatever the case its scope id is asked in, as the alert rules and filter take it', async () => {
    const { keyPrefix, start } = await setup()
    const redis = new Redis(redisUrl)
    cleanups.push(async () => redis.quit())
    const store = createRedisIndicatorStore(redis, { prefix: keyPrefix })
    const t = Date.parse('2026-03-02T14:00:00.000Z')
    await store.applyBatch([
      tariffIn('CN', 'h1', t - 60_000, -0.9),
      { ...tariffIn('x', 'h2', t - 30_000, 0.5), scope: { kind: 'commodity', id: 'rare_earths' } },
    ])
    await store.advanceWatermark(t)
    const { get } = await start()
    // Before, region:cn read the key tariff|region:cn, which nothing writes: null.
    for (const [scope, key] of [
      ['region:CN', 'tariff|region:CN'],
      ['region:cn', 'tariff|region:CN'],
      ['commodity:Rare_Earths', 'tariff|commodity:rare_earths'],
    ]) {
      const one = await get(`/api/indicators?dimension=tariff&scope=${scope}`)
      expect([scope, one.indicator?.key]).toEqual([scope, key])
    }
    expect((await get('/api/indicators?dimension=tariff&scope=region:us')).indicator).toBeNull()
  })

  it('leaves out of its answers an indicator whose Redis ref is damaged (the year 9999), naming it in `withheld`, counted and logged at error once; read again once the next apply repairs it', async () => {
    const { keyPrefix, build } = await setup()
    const redis = new Redis(redisUrl)
    cleanups.push(async () => redis.quit())
    // The aggregator's store, with its bound (AGGREGATOR_MAX_AHEAD_MS + AGGREGATOR_GRACE_MS, their defaults).
    const store = createRedisIndicatorStore(redis, { prefix: keyPrefix, maxRefAheadMs: 630_000 })
    const now = Date.now()
    await store.applyBatch([
      tariffIn('CN', 'h1', now - 60_000, -0.9),
      tariffIn('MX', 'h2', now - 30_000, 0.5),
    ])
    await store.advanceWatermark(now - 30_000)
    const CN = { kind: 'region' as const, id: 'CN' }
    const year9999 = String(Date.UTC(9999, 11, 31, 23, 59))
    await redis.hset(createIndicatorKeys(keyPrefix, 'v1').state('tariff', CN), 'ref', year9999)
    const { log, lines } = createCapturingLogger<{ level: number; msg: string; sample?: unknown }>()
    const app = build({}, { log })
    await app.start()
    const base = `http://127.0.0.1:${app.httpPort()}`
    const get = async (path: string) => (await (await fetch(`${base}${path}`)).json()) as ApiBody
    const withheld = [{ key: 'tariff|region:CN', dimension: 'tariff', scope: CN, reason: 'damaged_ref' }]

    // Before, CN was ranked and answered with asOf 9999-12-31T23:59:00.000Z, which the contract takes.
    const top = await get('/api/indicators/top?dimension=tariff&kind=region')
    expect(top.indicators.map((u) => [u.scope.id, u.asOf])).toEqual([
      ['MX', new Date(now - 30_000).toISOString()],
    ])
    expect(top.withheld).toEqual(withheld)
    const one = await get('/api/indicators?dimension=tariff&scope=region:CN')
    expect(one.indicator).toBeNull()
    expect(one.withheld).toEqual(withheld)
    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toMatch(/^tradepulse_gateway_indicators_withheld_total\{[^}]*\} 2$/m)
    const errors = lines.filter((l) => l.level === 50)
    expect(errors).toEqual([
      expect.objectContaining({
        msg: expect.stringMatching(/^indicators left out of an answer: their stored newest event time/),
        sample: [{ key: 'tariff|region:CN', ref: year9999 }],
      }),
    ])

    // The aggregator's next apply to CN resets its ref to that headline: answered again, nothing withheld.
    await store.applyBatch([tariffIn('CN', 'h3', now - 10_000, -0.5)])
    const again = await get('/api/indicators?dimension=tariff&scope=region:CN')
    expect(again.indicator).toMatchObject({ count: 2, asOf: new Date(now - 10_000).toISOString() })
    expect(again.withheld).toBeUndefined()
    // The ranking asked a moment ago is shared for INDICATORS_SHARED_MS; the next read ranks CN.
    const ranked = await waitFor(
      async () => {
        const top = await get('/api/indicators/top?dimension=tariff&kind=region')
        return top.indicators.length === 2 && top
      },
      { what: 'the ranking read again' },
    )
    expect(ranked.indicators.map((u) => u.scope.id).sort()).toEqual(['CN', 'MX'])
    expect(ranked.withheld).toBeUndefined()
  })

  it('leaves out of both answers an indicator whose Redis fields are not numbers (the IndicatorUpdate contract refuses what they read as), naming it in `withheld`, counted by reason and logged once at warn with the key and field; never a null or a wrong number', async () => {
    const { keyPrefix, build } = await setup()
    const redis = new Redis(redisUrl)
    cleanups.push(async () => redis.quit())
    const store = createRedisIndicatorStore(redis, { prefix: keyPrefix, maxRefAheadMs: 630_000 })
    const now = Date.now()
    const keys = createIndicatorKeys(keyPrefix, 'v1')
    const { fineBucketMs, coarseBucketMs } = resolveIndicatorConfig()
    // Each region's one headline, and the field of its state hash then damaged. The scope registry lists
    // them oldest first, and the store ranks in that order: AU (a small |momentum|), JP (a NaN one), ZA
    // (a large one), whose ranking by a comparator NaN makes inconsistent put AU before ZA.
    const damaged: [string, number, string, string][] = [
      ['JP', now - 110_000, 'x2', 'NaN'], // mean 1h, momentum: null
      ['CN', now - 90_000, 'cnt', 'abc'], // count: null
      ['US', now - 80_000, 'cnt', '2.5'], // count: 2.5, a number no apply writes
      ['GB', now - 70_000, 'w2', 'NaN'], // weight 1h: null; mean 1h and momentum read as 0
      ['DE', now - 60_000, 'x1', 'Infinity'], // mean 15m: null
      ['FR', now - 50_000, 'upd', 'abc'], // updatedAt: "invalid time (NaN)"
      ['BR', now - 40_000, `n${Math.floor((now - 40_000) / fineBucketMs)}`, 'abc'], // volume 15m, 1h, buzz: null
      ['KR', now - 30_000, `c${Math.floor((now - 30_000) / coarseBucketMs)}`, '-Infinity'], // volume 24h: null
    ]
    await store.applyBatch([
      tariffIn('AU', 'h1', now - 120_000, 0.1),
      ...damaged.map(([id, t], i) => tariffIn(id, `d${i}`, t, -0.9)),
      tariffIn('ZA', 'h2', now - 100_000, -0.9),
    ])
    await store.advanceWatermark(now - 30_000)
    for (const [id, , field, value] of damaged)
      await redis.hset(keys.state('tariff', { kind: 'region', id }), field, value)
    const { log, lines } = createCapturingLogger<{ level: number; msg: string; sample?: unknown }>()
    const app = build({}, { log })
    await app.start()
    const base = `http://127.0.0.1:${app.httpPort()}`
    const get = async (path: string) => {
      const res = await fetch(`${base}${path}`)
      return { status: res.status, body: (await res.json()) as ApiBody }
    }
    const named = (id: string) => ({
      key: `tariff|region:${id}`,
      dimension: 'tariff',
      scope: { kind: 'region', id },
      reason: 'invalid_state',
    })

    // Before, each was answered 200 with null (JSON's NaN and Infinity), 2.5 or "invalid time (NaN)" in it.
    const cn = await get('/api/indicators?dimension=tariff&scope=region:CN')
    expect([cn.status, cn.body.indicator, cn.body.withheld]).toEqual([200, null, [named('CN')]])
    for (const [id] of damaged.filter(([id]) => id !== 'CN')) {
      const one = await get(`/api/indicators?dimension=tariff&scope=region:${id}`)
      expect([id, one.status, one.body.indicator, one.body.withheld]).toEqual([id, 200, null, [named(id)]])
    }
    const au = await get('/api/indicators?dimension=tariff&scope=region:AU')
    expect(au.body.indicator).toMatchObject({ count: 1, scope: { kind: 'region', id: 'AU' } })
    expect(au.body.withheld).toBeUndefined()
    const all = await get('/api/indicators/top?dimension=tariff&kind=region&n=100')
    expect(all.status).toBe(200)
    expect(all.body.withheld?.map((w) => w.scope.id).sort()).toEqual(damaged.map(([id]) => id).sort())
    expect(all.body.withheld?.every((w) => w.reason === 'invalid_state')).toBe(true)
    // The damaged take no place among the n, nor move the others' order (before, ZA came after AU).
    const ranked = all.body.indicators
    expect(ranked.map((u) => u.scope.id)).toEqual(['ZA', 'AU'])
    expect(Math.abs(ranked[0]!.momentum)).toBeGreaterThan(Math.abs(ranked[1]!.momentum))
    for (const [by, ids] of [
      ['momentum', ['ZA', 'AU']],
      ['buzz', ['AU', 'ZA']], // the same buzz: by scope id
    ] as const) {
      for (const n of [1, 2]) {
        const top = await get(`/api/indicators/top?dimension=tariff&kind=region&by=${by}&n=${n}`)
        expect([by, n, top.status, top.body.indicators.map((u) => u.scope.id)]).toEqual([
          by,
          n,
          200,
          ids.slice(0, n),
        ])
        expect(top.body.withheld).toHaveLength(damaged.length)
      }
    }
    const metrics = await (await fetch(`${base}/metrics`)).text()
    const counted = (reason: string) =>
      Number(
        new RegExp(
          `^tradepulse_gateway_indicators_withheld_total\\{[^}]*reason="${reason}"[^}]*\\} (\\d+)$`,
          'm',
        ).exec(metrics)?.[1],
      )
    // One read of each, then 5 rankings of them all.
    expect([counted('invalid_state'), counted('damaged_ref')]).toEqual([6 * damaged.length, 0])
    // Logged once (at most once a minute), at warn, with the key and the field the contract refuses.
    // (Kafka's own warnings, a leader moving under a loaded broker, may come too.)
    expect(lines.filter((l) => l.msg.startsWith('indicators left out'))).toEqual([
      expect.objectContaining({
        level: 40,
        msg: expect.stringMatching(/: their stored state breaks the IndicatorUpdate contract/),
        sample: [{ key: 'tariff|region:CN', problem: 'count: Invalid input: expected number, received NaN' }],
      }),
    ])
  })

  it('reads asOf=latest at the clock while the Redis event-time watermark is damaged (the year 9999), not at it', async () => {
    const { keyPrefix, start } = await setup()
    const redis = new Redis(redisUrl)
    cleanups.push(async () => redis.quit())
    const store = createRedisIndicatorStore(redis, { prefix: keyPrefix, maxRefAheadMs: 630_000 })
    const now = Date.now()
    await store.applyBatch([tariffIn('CN', 'h1', now - 60_000, -0.9)])
    await redis.set(createIndicatorKeys(keyPrefix, 'v1').watermark, String(Date.UTC(9999, 11, 31, 23, 59)))
    const { get } = await start()
    // Before, both answers and their indicators stood at 9999-12-31T23:59:00.000Z, their values decayed to 0.
    const top = await get('/api/indicators/top?dimension=tariff&kind=region')
    const one = await get('/api/indicators?dimension=tariff&scope=region:CN')
    for (const asOf of [top.asOf, top.indicators[0]?.asOf, one.asOf, one.indicator?.asOf]) {
      expect(Date.parse(asOf ?? '')).toBeGreaterThanOrEqual(now)
      expect(Date.parse(asOf ?? '')).toBeLessThan(Date.now() + 1_000)
    }
    expect(one.indicator?.count).toBe(1)
  })

  it('answers the indicators with a 503 that names no Redis detail while Redis is unreachable; the alerts are still served', async () => {
    const { send, start } = await setup()
    await send([testAlert('served')])
    // A port nothing listens on: ioredis retries, then fails the read.
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const port = (server.address() as AddressInfo).port
        server.close(() => resolve(port))
      })
    })
    const { base, get } = await start({ REDIS_URL: `redis://127.0.0.1:${closed}`, REDIS_TIMEOUT_MS: '500' })
    await waitFor(async () => (await get('/api/alerts')).alerts?.length === 1, { what: 'the alert served' })
    const res = await fetch(`${base}/api/indicators/top`)
    const text = await res.text()
    expect(res.status).toBe(503)
    expect(JSON.parse(text)).toEqual({
      error: 'unavailable',
      message: 'the indicators cannot be read now; try again later',
      requestId: res.headers.get('x-request-id'),
    })
    expect(text).not.toContain(String(closed))
  })

  it('refuses to start, naming REDIS_URL and the database, when the Redis server refuses its database: unlike an outage, no serving without it', async () => {
    // It started, and answered every indicator read 503 for good, its health ready.
    const { build } = await setup()
    const url = `redis://${new URL(redisUrl).host}/99`
    const err = await build({ REDIS_URL: url })
      .start()
      .catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' })
    expect(String(err)).toContain(`Redis at ${url} (REDIS_URL) refused its database 99 (`)
  })
})
