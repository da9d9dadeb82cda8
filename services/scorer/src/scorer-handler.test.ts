import { createTopicCatalogue, type Headline, ScoredHeadline } from '@tradepulse/contracts'
import { type BatchHandler, createCapturingLogger, type InRecord, type Outcome } from '@tradepulse/platform'
import { createScorer, type Scorer } from '@tradepulse/scoring'
import { describe, expect, it } from 'vitest'
import { createScorerHandler } from './scorer-handler.ts'

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
const AT = '2026-03-02T08:00:00.000Z'

describe('scorer handler', () => {
  const topics = createTopicCatalogue('t.')
  const ctx = { signal: new AbortController().signal }
  const handler = createScorerHandler({ topics, scorer: createScorer() })
  const record = (
    offset: number,
    value: Buffer | string,
    headers: Record<string, string> = {},
  ): InRecord => ({
    topic: topics.headlines.name,
    partition: 0,
    offset: String(offset),
    key: null,
    value: typeof value === 'string' ? Buffer.from(value) : value,
    headers,
    timestamp: Date.now(),
  })
  const headline = (id: string): string =>
    JSON.stringify({
      id,
      source: 't',
      headline: 'US raises tariffs on steel',
      publishedAt: AT,
      ingestedAt: AT,
      truncated: false,
    } satisfies Headline)
  const faultyHeadline = (id: string) => headline(id).replace('US raises', 'US faulty raises')
  /** The outcomes of headlines a, f (which says "faulty") and b handled in one call, and the keys written. */
  const scoreAroundFaulty = async (h: BatchHandler) => {
    const outcomes = await h(
      [record(0, headline('a')), record(1, faultyHeadline('f')), record(2, headline('b'))],
      ctx,
    )
    return { outcomes, keys: outcomes.map((o) => (o.kind === 'ok' ? o.out?.[0]?.key : undefined)) }
  }
  const headersOf = (o: Outcome | undefined) => (o?.kind === 'ok' ? o.out?.[0]?.headers : 'not ok')

  it('carries a valid traceparent on and drops a malformed or oversized one', async () => {
    const outcomes = await handler(
      [
        record(0, headline('a'), { traceparent: TRACEPARENT }),
        record(1, headline('b'), { traceparent: `${TRACEPARENT}${'0'.repeat(1024 * 1024)}` }),
        record(2, headline('c'), { traceparent: TRACEPARENT.toUpperCase() }),
        record(3, headline('d')),
      ],
      ctx,
    )
    expect(outcomes.map(headersOf)).toEqual([{ traceparent: TRACEPARENT }, undefined, undefined, undefined])
  })
  // The text headers keep a repeated header's last value: a record with two traceparents had its second
  // carried on, where W3C Trace Context holds such a record invalid (a receiver starts a new trace).
  it('reads every value of the trace headers as Kafka gave them: none from two traceparents, the tracestate with one', async () => {
    const OTHER = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const kafka = (offset: number, rawHeaders: Record<string, string | string[]>): InRecord => ({
      ...record(offset, headline(`k${offset}`)),
      headers: Object.fromEntries(Object.entries(rawHeaders).map(([k, v]) => [k, String([v].flat().at(-1))])),
      rawHeaders,
    })
    const outcomes = await handler(
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
  it('scores a headline a newer ingest wrote with a field it does not know, and writes none it does not know', async () => {
    const fixed = createScorerHandler({ topics, scorer: createScorer(), now: () => new Date(AT) })
    const newer = JSON.stringify({ ...JSON.parse(headline('n')), lang: 'en', meta: { feed: 'x' } })
    const [plain, read] = await fixed([record(0, headline('n')), record(1, newer)], ctx)
    expect(read).toEqual(plain)
    const value = read?.kind === 'ok' ? JSON.parse(String(read.out?.[0]?.value)) : undefined
    // What the scorer writes passes the strict contract every producer is held to.
    expect(ScoredHeadline.safeParse(value).success).toBe(true)
  })
  it('dead-letters a headline with a known field of the wrong type, naming it', async () => {
    const wrong = JSON.stringify({ ...JSON.parse(headline('w')), lang: 'en', truncated: 'no' })
    const [outcome] = await handler([record(0, wrong)], ctx)
    expect(outcome).toMatchObject({
      kind: 'dlq',
      reason: 'schema_invalid',
      message: expect.stringMatching(/^truncated: /),
    })
  })
  it('dead-letters a headline that is not valid UTF-8 as invalid_utf8 instead of scoring it', async () => {
    const bytes = Buffer.from(headline('bad'))
    const at = bytes.indexOf('tariffs')
    bytes[at] = 0xff
    const [outcome] = await handler([record(0, bytes)], ctx)
    expect(outcome).toEqual({
      kind: 'dlq',
      reason: 'invalid_utf8',
      message: 'record value is not valid UTF-8',
    })
  })

  /**
   * A handler over a scorer that moves its clock: each headline takes 30 ms of it, so a 50 ms slice ends
   * every second one; each score is an event in `events`.
   */
  const slicedHandler = () => {
    let clockMs = 0
    const events: string[] = []
    const real = createScorer()
    const slow: Scorer = {
      score: (input) => {
        clockMs += 30
        events.push('score')
        return real.score(input)
      },
      features: (input) => real.features(input),
    }
    return { h: createScorerHandler({ topics, scorer: slow, elapsedMs: () => clockMs, sliceMs: 50 }), events }
  }

  it('gives the event loop a turn once a slice of scoring has run its time, so timers (the heartbeat) and I/O run mid-batch', async () => {
    const { h, events } = slicedHandler()
    // Queued before the batch: a turn of the event loop runs it (timers and I/O come in the same turn).
    const turn = setImmediate(() => events.push('turn'))
    const outcomes = await h(
      [0, 1, 2, 3, 4].map((i) => record(i, headline(`s${i}`))),
      ctx,
    )
    clearImmediate(turn)
    expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok'])
    // Before: the batch was scored in one synchronous run, the loop's turn (the runner's heartbeat) after it.
    expect(events).toEqual(['score', 'score', 'turn', 'score', 'score', 'score'])
  })
  it('scores a batch within one slice without giving up its turn', async () => {
    const events: string[] = []
    const h = createScorerHandler({ topics, scorer: createScorer(), elapsedMs: () => 0 })
    const done = h(
      [0, 1, 2].map((i) => record(i, headline(`q${i}`))),
      ctx,
    ).then(() => events.push('done'))
    setImmediate(() => events.push('immediate'))
    await done
    await new Promise((r) => setImmediate(r))
    expect(events).toEqual(['done', 'immediate'])
  })

  it('goes on with a used-up slice in the next call, giving the loop its turn before its first headline', async () => {
    // The batch processor calls again at once (no turn between the calls), one record at a time after a
    // failed batch: each call's own slice never ended, and the loop got no turn for the whole batch.
    const { h, events } = slicedHandler()
    const turn = setImmediate(() => events.push('turn'))
    // 60 ms of the slice used by the first call's two headlines, no turn after its last one.
    await h([record(0, headline('c0')), record(1, headline('c1'))], ctx)
    await h([record(2, headline('c2'))], ctx)
    clearImmediate(turn)
    // Before: score, score, score: the second call started a slice of its own.
    expect(events).toEqual(['score', 'score', 'turn', 'score'])
  })

  describe('a scorer that throws on a headline', () => {
    const real = createScorer()
    const throwing: Scorer = {
      score: (input) => {
        if (input.headline.includes('faulty'))
          throw new TypeError("Cannot read properties of undefined (reading 'cue')")
        return real.score(input)
      },
      features: (input) => real.features(input),
    }

    it('dead-letters that headline as handler_error, naming the error, logs it, and scores the others in the same call', async () => {
      const { log, lines } = createCapturingLogger<{
        msg: string
        id?: string
        offset?: string
        err?: { stack?: string }
      }>()
      const h = createScorerHandler({ topics, scorer: throwing, log })
      // Before: the throw failed the whole call (the batch processor then scored the batch again, one
      // record a call, never giving the event loop a turn).
      const { outcomes, keys } = await scoreAroundFaulty(h)
      expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'dlq', 'ok'])
      expect(outcomes[1]).toEqual({
        kind: 'dlq',
        reason: 'handler_error',
        message:
          "INTERNAL (TypeError): Cannot read properties of undefined (reading 'cue') (the scorer threw on this headline; nothing was written for it)",
        id: 'f',
      })
      expect(keys).toEqual(['a', undefined, 'b'])
      const logged = lines.filter((l) => l.msg === 'the scorer threw on a headline; sending it to the dlq')
      expect(logged).toHaveLength(1)
      expect(logged[0]).toMatchObject({
        id: 'f',
        offset: '1',
        err: { stack: expect.stringContaining('TypeError') },
      })
    })
  })

  describe('a scorer that returns a result the contract refuses', () => {
    const real = createScorer()
    type Result = ReturnType<Scorer['score']>
    /** The real scorer, its result changed by `fault` for a headline that says "faulty". */
    const faulty = (fault: (r: Result) => Result): Scorer => ({
      score: (input) => {
        const r = real.score(input)
        return input.headline.includes('faulty') ? fault(r) : r
      },
      features: (input) => real.features(input),
    })
    const tariff = (r: Result, change: Partial<Result['scores']['tariff']>): Result => ({
      ...r,
      scores: { ...r.scores, tariff: { ...r.scores.tariff, ...change } },
    })

    it.each([
      [
        'a NaN score',
        (r: Result) => tariff(r, { score: Number.NaN }),
        'scores.tariff.score: Invalid input: expected number, received NaN',
      ],
      [
        'a score out of [-1, 1]',
        (r: Result) => tariff(r, { score: -1.5 }),
        'scores.tariff.score: Too small: expected number to be >=-1',
      ],
      [
        'a label not in the enum',
        (r: Result) =>
          ({
            ...r,
            scores: { ...r.scores, market: { ...r.scores.market, label: 'bearish' } },
          }) as unknown as Result,
        'scores.market.label: Invalid option: expected one of "negative"|"neutral"|"positive"',
      ],
      [
        'a span outside the text',
        (r: Result) => ({
          ...r,
          explanation: r.explanation.map((c) => ({
            ...c,
            span: { field: 'headline' as const, start: 0, end: 34 },
          })),
        }),
        'explanation.0.span.end: 34 is past the end of the headline (33 characters)',
      ],
      [
        'a field the contract does not know',
        (r: Result) => ({ ...r, sentimentV2: 0.3 }),
        '(root): Unrecognized key: "sentimentV2"',
      ],
    ])(
      'dead-letters the headline as output_invalid for %s, naming the field, and goes on',
      async (_, fault, problem) => {
        const h = createScorerHandler({ topics, scorer: faulty(fault), now: () => new Date(AT) })
        const { outcomes, keys } = await scoreAroundFaulty(h)
        expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'dlq', 'ok'])
        expect(outcomes[1]).toEqual({
          kind: 'dlq',
          reason: 'output_invalid',
          message: `${problem} (the scorer ${real.score({ headline: 'x' }).scorerVersion} gave a result that breaks the ScoredHeadline contract; nothing was written for this headline)`,
          id: 'f',
        })
        expect(keys).toEqual(['a', undefined, 'b'])
      },
    )
  })
})
