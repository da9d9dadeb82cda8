import { createTopicCatalogue } from '@tradepulse/contracts'
import { createMemoryDedupStore, type InRecord, type Outcome } from '@tradepulse/platform'
import { describe, expect, it } from 'vitest'
import { createIngestHandler } from './ingest-handler.ts'
import { DEFAULT_INGEST_LIMITS } from './parse-raw.ts'
import { createStandIns } from './stand-ins.ts'

const topics = createTopicCatalogue('t.')

/** A handler whose clock (and dedup store's) reads `now`, with `extra` options. */
function handlerAt(now: number, extra: Partial<Parameters<typeof createIngestHandler>[0]>) {
  return createIngestHandler({
    topics,
    dedup: createMemoryDedupStore({ windowMs: 60_000, clock: { now: () => now } }),
    limits: DEFAULT_INGEST_LIMITS,
    defaultSource: 'unknown',
    now: () => now,
    ...extra,
  })
}

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

describe('ingest handler', () => {
  const ctx = { signal: new AbortController().signal }
  const handler = () =>
    createIngestHandler({
      topics,
      dedup: createMemoryDedupStore({ windowMs: 60_000, clock: { now: () => Date.now() } }),
      limits: DEFAULT_INGEST_LIMITS,
      defaultSource: 'unknown',
    })
  const record = (offset: number, headers: Record<string, string>): InRecord => ({
    topic: topics.raw.name,
    partition: 0,
    offset: String(offset),
    key: null,
    value: Buffer.from(JSON.stringify({ id: `h-${offset}`, headline: `Tariffs rise, part ${offset}` })),
    headers,
    timestamp: Date.now(),
  })
  const headersOf = (o: Outcome | undefined) => (o?.kind === 'ok' ? o.out?.[0]?.headers : 'not ok')

  it('carries a valid traceparent on and drops a malformed or oversized one', async () => {
    const outcomes = await handler()(
      [
        record(0, { traceparent: TRACEPARENT }),
        record(1, { traceparent: `${TRACEPARENT}${'0'.repeat(1024 * 1024)}` }),
        record(2, { traceparent: 'not-a-trace' }),
        record(3, {}),
      ],
      ctx,
    )
    expect(outcomes.map(headersOf)).toEqual([{ traceparent: TRACEPARENT }, undefined, undefined, undefined])
  })
  it('reads every value of the trace headers as Kafka gave them: none from two traceparents, the tracestate with one', async () => {
    const OTHER = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const kafka = (offset: number, rawHeaders: Record<string, string | string[]>): InRecord => ({
      ...record(offset, {}),
      headers: Object.fromEntries(Object.entries(rawHeaders).map(([k, v]) => [k, String([v].flat().at(-1))])),
      rawHeaders,
    })
    const outcomes = await handler()(
      [
        kafka(0, { traceparent: [TRACEPARENT, OTHER], tracestate: 'congo=t61rcWkgMzE' }),
        kafka(1, { traceparent: TRACEPARENT, tracestate: ['rojo=00f067aa0ba902b7', 'congo=t61rcWkgMzE'] }),
      ],
      ctx,
    )
    expect(outcomes.map(headersOf)).toEqual([
      undefined,
      { traceparent: TRACEPARENT, tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE' },
    ])
  })
  it('gives the event loop a turn once a slice of parsing has run its time, so timers (the heartbeat) and I/O run mid-batch', async () => {
    // A clock that moves 30 ms each time it is read: a 50 ms slice ends every second record.
    let clockMs = 0
    const h = createIngestHandler({
      topics,
      dedup: createMemoryDedupStore({ windowMs: 60_000, clock: { now: () => Date.now() } }),
      limits: DEFAULT_INGEST_LIMITS,
      defaultSource: 'unknown',
      elapsedMs: () => (clockMs += 30),
      sliceMs: 50,
    })
    const events: string[] = []
    const records = [0, 1, 2, 3, 4].map((i) => {
      const r = record(i, {})
      const { value } = r
      return Object.defineProperty(r, 'value', {
        get: () => {
          events.push(`read ${i}`)
          return value
        },
      })
    })
    // Queued before the batch: a turn of the event loop runs it (timers and I/O come in the same turn).
    const turn = setImmediate(() => events.push('turn'))
    const outcomes = await h(records, ctx)
    events.push('done')
    clearImmediate(turn)
    expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok'])
    // Before: the batch was parsed in one synchronous run, the loop's turn (the runner's heartbeat) after it.
    expect(events).toEqual(['read 0', 'read 1', 'turn', 'read 2', 'read 3', 'read 4', 'done'])
  })
  it('passes on headlines whose given ids differ only as normalising would merge them, keyed by the id as given', async () => {
    const ids = ['rt-1', 'ｒｔ-1', 'rt\u200b-1', 'RT-1']
    const outcomes = await handler()(
      ids.map((id, i) => ({
        ...record(i, {}),
        value: Buffer.from(JSON.stringify({ id, headline: 'Tariffs rise' })),
      })),
      ctx,
    )
    expect(outcomes.map((o) => (o.kind === 'ok' ? o.out?.[0]?.key : o.kind))).toEqual(ids)
  })
  it('counts the records whose timestamp was implausible and stamps them with the wall clock', async () => {
    const now = Date.parse('2026-03-02T08:00:00Z')
    const counted: number[] = []
    const h = handlerAt(now, { onImplausibleTimestamp: (n) => counted.push(n) })
    const outcomes = await h(
      [now - 1_000, now * 1_000_000, now + 365 * 86_400_000].map((timestamp, i) => ({
        ...record(i, {}),
        timestamp,
      })),
      ctx,
    )
    const ingestedAt = outcomes.map((o) =>
      o.kind === 'ok' ? (JSON.parse(String(o.out?.[0]?.value)) as { ingestedAt: string }).ingestedAt : o,
    )
    expect(ingestedAt).toEqual([now - 1_000, now, now].map((ms) => new Date(ms).toISOString()))
    expect(counted).toEqual([2])
  })
  it("counts the headlines whose publishedAt was a producer's zero time, once each, and stamps them with their entry", async () => {
    const now = Date.parse('2026-03-02T08:00:00Z')
    const counted: number[] = []
    const h = handlerAt(now, { onPast: (n) => counted.push(n) })
    const given = [
      '0001-01-01T00:00:00Z',
      '1970-01-01T00:00:00Z',
      '2026-03-02T07:00:00Z',
      '0001-01-01T00:00:00Z',
    ]
    const outcomes = await h(
      given.map((publishedAt, i) => ({
        ...record(i, {}),
        value: Buffer.from(
          JSON.stringify({ id: i === 3 ? 'h-0' : `h-${i}`, headline: 'Tariffs rise', publishedAt }),
        ),
        timestamp: now,
      })),
      ctx,
    )
    const publishedAt = outcomes.map((o) =>
      o.kind === 'ok'
        ? (JSON.parse(String(o.out?.[0]?.value)) as { publishedAt: string }).publishedAt
        : o.kind,
    )
    expect(publishedAt).toEqual([
      new Date(now).toISOString(),
      new Date(now).toISOString(),
      '2026-03-02T07:00:00.000Z',
      'drop',
    ])
    // The repeat of h-0 is a duplicate: not counted.
    expect(counted).toEqual([2])
  })
  it('publishes headlines whose url is dropped, source cut or surrogates replaced, flagged, and tells them once each by id, not their duplicates', async () => {
    const now = Date.parse('2026-03-02T08:00:00Z')
    const dropped: unknown[] = []
    const cut: unknown[] = []
    const replaced: unknown[] = []
    const h = handlerAt(now, {
      onUrlDropped: (d) => dropped.push(d),
      onSourceCut: (c) => cut.push(c),
      onSurrogatesReplaced: (r) => replaced.push(r),
    })
    const raws = [
      { id: 'long', headline: 'Tariffs rise', url: `https://news.example/?t=${'x'.repeat(5_000)}` },
      { id: 'js', headline: 'Tariffs rise', url: 'javascript:alert(1)' },
      { id: 'src', headline: 'Tariffs rise', source: 's'.repeat(300) },
      { id: 'fine', headline: 'Tariffs rise', url: 'https://news.example/1', source: 'wire' },
      { id: 'long', headline: 'Tariffs rise', url: `https://news.example/?t=${'y'.repeat(5_000)}` },
      { id: 'lone', headline: 'Tariffs rise', source: 'wire\ud800', body: 'b\udc00' },
      { id: 'lone', headline: 'Tariffs rise', source: 'wire\ud800', body: 'b\udc00' },
    ]
    const outcomes = await h(
      raws.map((raw, i) => ({ ...record(i, {}), value: Buffer.from(JSON.stringify(raw)), timestamp: now })),
      ctx,
    )
    const out = outcomes.map((o) =>
      o.kind === 'ok' ? (JSON.parse(String(o.out?.[0]?.value)) as Record<string, unknown>) : o.kind,
    )
    const flags = (o: Record<string, unknown>) =>
      ['urlDropped', 'sourceTruncated', 'surrogatesReplaced'].filter((f) => f in o).map((f) => `${f}=${o[f]}`)
    expect(out.map((o) => (typeof o === 'string' ? o : [o.id, o.url, o.source, ...flags(o)]))).toEqual([
      ['long', undefined, 'unknown', 'urlDropped=true'],
      ['js', undefined, 'unknown', 'urlDropped=true'],
      ['src', undefined, 's'.repeat(100), 'sourceTruncated=true'],
      ['fine', 'https://news.example/1', 'wire'],
      'drop',
      ['lone', undefined, 'wire\ufffd', 'surrogatesReplaced=true'],
      'drop',
    ])
    expect(dropped).toEqual([
      [
        { id: 'long', problem: { reason: 'too_long', message: '5024 characters; the limit is 2000' } },
        { id: 'js', problem: { reason: 'invalid', message: 'is not an absolute http or https URL' } },
      ],
    ])
    expect(cut).toEqual([[{ id: 'src', chars: 300 }]])
    expect(replaced).toEqual([[{ id: 'lone', fields: ['source', 'body'] }]])
  })
  it('counts them once the claims are made: not for a batch that failed on a Redis fault and is retried', async () => {
    const now = Date.parse('2026-03-02T08:00:00Z')
    const counted: number[] = []
    const dedup = createMemoryDedupStore({ windowMs: 60_000, clock: { now: () => now } })
    let down = true
    const h = createIngestHandler({
      topics,
      dedup: {
        ...dedup,
        claimHeadlines: (items) =>
          down ? Promise.reject(new Error('Connection is closed.')) : dedup.claimHeadlines(items),
      },
      limits: DEFAULT_INGEST_LIMITS,
      defaultSource: 'unknown',
      now: () => now,
      onImplausibleTimestamp: (n) => counted.push(n),
    })
    const batch = [{ ...record(0, {}), timestamp: now * 1_000 }]
    await expect(h(batch, ctx)).rejects.toThrow(/Connection is closed/)
    down = false
    await h(batch, ctx)
    expect(counted).toEqual([1])
  })
  it('counts a batch handled again after its claims were made once, and publishes it again', async () => {
    const now = Date.parse('2026-03-02T08:00:00Z')
    const counted: number[] = []
    const h = createIngestHandler({
      topics,
      dedup: createMemoryDedupStore({ windowMs: 60_000, clock: { now: () => now } }),
      limits: DEFAULT_INGEST_LIMITS,
      defaultSource: 'unknown',
      now: () => now,
      onFuture: (n) => counted.push(n),
    })
    const batch = [0, 1].map((i) => ({
      ...record(i, {}),
      value: Buffer.from(
        JSON.stringify({ id: `h-${i}`, headline: 'Tariffs rise', publishedAt: '2026-04-02T08:00:00Z' }),
      ),
      timestamp: now,
    }))
    const kinds = async () => (await h(batch, ctx)).map((o) => o.kind)
    // Its output not acknowledged (a produce failure outlasting the member's hold, a crash): handled again.
    expect([await kinds(), await kinds()]).toEqual([
      ['ok', 'ok'],
      ['ok', 'ok'],
    ])
    expect(counted).toEqual([2])
    // Another record carrying the same headline is a duplicate, dropped and not counted.
    const repeat = { ...batch[0]!, offset: '9' }
    expect((await h([repeat], ctx)).map((o) => o.kind)).toEqual(['drop'])
    expect(counted).toEqual([2])
  })
  it('counts once, and publishes, a batch whose claims were made by a call that then failed, when it is retried', async () => {
    const now = Date.parse('2026-03-02T08:00:00Z')
    const counted: number[] = []
    const dedup = createMemoryDedupStore({ windowMs: 60_000, clock: { now: () => now } })
    let lose = true
    const h = createIngestHandler({
      topics,
      dedup: {
        ...dedup,
        // The claims made, their answer lost (a reply timed out, the connection closed under it).
        async claimHeadlines(items) {
          const answers = await dedup.claimHeadlines(items)
          if (lose) throw new Error('Command timed out')
          return answers
        },
      },
      limits: DEFAULT_INGEST_LIMITS,
      defaultSource: 'unknown',
      now: () => now,
      onImplausibleTimestamp: (n) => counted.push(n),
    })
    const batch = [0, 1].map((i) => ({ ...record(i, {}), timestamp: now * 1_000 }))
    await expect(h(batch, ctx)).rejects.toThrow(/timed out/)
    await expect(h(batch, ctx)).rejects.toThrow(/timed out/)
    lose = false
    const kinds = async () => (await h(batch, ctx)).map((o) => o.kind)
    expect(await kinds()).toEqual(['ok', 'ok'])
    expect(counted).toEqual([2])
    // Handled again once answered (its output unacknowledged): published again, counted no more.
    expect(await kinds()).toEqual(['ok', 'ok'])
    expect(counted).toEqual([2])
    // A repeat of the headline by another record is still a duplicate.
    expect((await h([{ ...batch[0]!, offset: '9' }], ctx)).map((o) => o.kind)).toEqual(['drop'])
    expect(counted).toEqual([2])
  })
  it("counts a re-claim answered across a closed connection (ioredis's resend of a claim made unanswered), not one otherwise", async () => {
    const now = Date.parse('2026-03-02T08:00:00Z')
    const counted: number[] = []
    const dedup = createMemoryDedupStore({ windowMs: 60_000, clock: { now: () => now } })
    let closes = 0
    let resend = true
    const h = createIngestHandler({
      topics,
      dedup: {
        ...dedup,
        // The first sending makes the claims and its connection closes; the resend answers.
        async claimHeadlines(items) {
          if (!resend) return dedup.claimHeadlines(items)
          resend = false
          await dedup.claimHeadlines(items)
          closes++
          return dedup.claimHeadlines(items)
        },
      },
      dedupConnectionCloses: () => closes,
      limits: DEFAULT_INGEST_LIMITS,
      defaultSource: 'unknown',
      now: () => now,
      onImplausibleTimestamp: (n) => counted.push(n),
    })
    const batch = [0, 1].map((i) => ({ ...record(i, {}), timestamp: now * 1_000 }))
    expect((await h(batch, ctx)).map((o) => o.kind)).toEqual(['ok', 'ok'])
    expect(counted).toEqual([2])
    expect((await h(batch, ctx)).map((o) => o.kind)).toEqual(['ok', 'ok'])
    expect(counted).toEqual([2])
  })

  it('notes a duplicate of a headline its own batch claimed as a stand-in for it, not a duplicate of an earlier batch', async () => {
    const standIns = createStandIns()
    const h = createIngestHandler({
      topics,
      dedup: createMemoryDedupStore({ windowMs: 60_000, clock: { now: () => Date.now() } }),
      limits: DEFAULT_INGEST_LIMITS,
      defaultSource: 'unknown',
      standIns,
    })
    const raw = (offset: number, id: string, body: string): InRecord => ({
      ...record(offset, offset === 2 ? { traceparent: TRACEPARENT } : {}),
      value: Buffer.from(JSON.stringify({ id, headline: 'Tariffs rise', body })),
    })
    const origin = (offset: number) => `${topics.raw.name}/0/${offset}`
    await h([raw(0, 'old', 'first')], ctx)
    // Published: Kafka acknowledged it.
    standIns.acknowledged('old')
    const outcomes = await h(
      [
        raw(1, 'x', 'long'),
        raw(2, 'x', 'short'),
        raw(3, 'x', 'repeat'),
        raw(4, 'old', 'again'),
        raw(5, 'y', 'y'),
      ],
      ctx,
    )
    expect(outcomes.map((o) => (o.kind === 'drop' ? o.reason : o.kind))).toEqual([
      'ok',
      'duplicate',
      'duplicate',
      'duplicate',
      'ok',
    ])
    const noted = standIns.of(origin(1))
    expect(noted?.id).toBe('x')
    expect(noted?.standIns.map((s) => s.origin)).toEqual([origin(2), origin(3)])
    // The headline each would have published: the same as a taken claim's.
    const [short, repeat] = noted?.standIns ?? []
    expect(short?.out).toMatchObject({
      topic: topics.headlines.name,
      key: 'x',
      headers: { traceparent: TRACEPARENT },
    })
    expect(JSON.parse(String(short?.out.value))).toMatchObject({ id: 'x', body: 'short' })
    expect(repeat?.record.offset).toBe('3')
    // The repeat of a headline an earlier batch published is a duplicate of that one only.
    expect(standIns.of(origin(0))).toBeUndefined()
    expect(standIns.size).toBe(1)
  })

  it('notes a duplicate of a headline the chunk before claimed, not acknowledged yet, as its stand-in; once that one is refused, claims again after the release', async () => {
    const standIns = createStandIns()
    const dedup = createMemoryDedupStore({ windowMs: 60_000, clock: { now: () => Date.now() } })
    const h = createIngestHandler({
      topics,
      dedup,
      limits: DEFAULT_INGEST_LIMITS,
      defaultSource: 'unknown',
      standIns,
    })
    const raw = (offset: number, id: string, body: string): InRecord => ({
      ...record(offset, {}),
      value: Buffer.from(JSON.stringify({ id, headline: 'Tariffs rise', body })),
    })
    const origin = (offset: number) => `${topics.raw.name}/0/${offset}`
    const kinds = (o: Outcome[]) => o.map((x) => (x.kind === 'drop' ? x.reason : x.kind))
    // The chunk being published: x (Kafka will refuse it) and y (acknowledged).
    expect(kinds(await h([raw(0, 'x', 'long'), raw(1, 'y', 'y')], ctx))).toEqual(['ok', 'ok'])
    standIns.acknowledged('y')
    // The next chunk, handled meanwhile: a re-send of x is its stand-in; a repeat of y a duplicate only.
    expect(kinds(await h([raw(2, 'x', 'short'), raw(3, 'y', 'again')], ctx))).toEqual([
      'duplicate',
      'duplicate',
    ])
    expect(standIns.of(origin(0))?.standIns.map((s) => s.origin)).toEqual([origin(2)])
    expect(standIns.size).toBe(1)
    // Handled again (a retry of its handler stage): noted once.
    await h([raw(2, 'x', 'short'), raw(3, 'y', 'again')], ctx)
    expect(standIns.of(origin(0))?.standIns.map((s) => s.origin)).toEqual([origin(2)])

    // Kafka refuses x; its claim is released (slowly). A re-send handled from then on waits for the
    // release, claims x and is published with its own chunk.
    let release!: () => void
    const released = new Promise<void>((resolve) => {
      release = resolve
    }).then(() => dedup.releaseClaims(origin(0), ['x']))
    standIns.refused(origin(0), released)
    const later = h([raw(4, 'x', 'shorter'), raw(5, 'z', 'z')], ctx)
    release()
    const outcomes = await later
    expect(kinds(outcomes)).toEqual(['ok', 'ok'])
    const [first] = outcomes
    expect(first?.kind === 'ok' && JSON.parse(String(first.out?.[0]?.value))).toMatchObject({
      id: 'x',
      body: 'shorter',
    })
    expect(standIns.holderOf('x')).toBe(origin(4))
    // Not the refused one's stand-in: whoever took those had looked before.
    expect(standIns.of(origin(0))?.standIns.map((s) => s.origin)).toEqual([origin(2)])
  })
})
