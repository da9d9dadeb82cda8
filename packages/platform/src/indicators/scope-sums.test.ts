import { type Contribution, contributionsOf, resolveIndicatorConfig } from '@tradepulse/indicators'
import { describe, expect, it } from 'vitest'
import { MIN_MS, scoredHeadline, T0 } from './indicator-fixtures.ts'
import { scopeSumsPayload } from './scope-sums.ts'

const config = resolveIndicatorConfig()
const DIMENSIONS = ['tariff', 'supplyChain', 'market', 'uncertainty'] as const
/** One run as the store groups it: the global scope's contributions by dimension. */
const run = (...headlines: ReturnType<typeof scoredHeadline>[]): Contribution[][] => {
  const global = headlines.flatMap(contributionsOf).filter((c) => c.scope.kind === 'global')
  return DIMENSIONS.map((d) => global.filter((c) => c.dimension === d))
}
const digest = (id: string) => `d-${id}`

describe('scopeSumsPayload', () => {
  it('sums each dimension against its newest event and sends positions only for partial dimensions', () => {
    const payload = scopeSumsPayload(
      [
        run(
          scoredHeadline('a', T0, { tariff: -0.5, relevance: 0.8, market: 0.4 }),
          scoredHeadline('b', T0 + 5 * MIN_MS, { market: -0.2 }),
        ),
      ],
      digest,
      config,
    )
    const [ids, tariff, supplyChain, market] = JSON.parse(payload!)
    expect(ids).toEqual([T0, 'd-a', T0 + 5 * MIN_MS, 'd-b'])
    expect(supplyChain).toBe(0)
    // Tariff holds only headline a: its position is sent, sums are against its own newest event.
    expect(tariff).toMatchObject({ n: 1, p: [1], lo: T0, hi: T0, w: [0.8, 0.8, 0.8], x: [-0.4, -0.4, -0.4] })
    // Market holds both: no positions; a is 5 minutes (a third of the short half-life) behind b.
    expect(market.p).toBeUndefined()
    expect(market).toMatchObject({ n: 2, lo: T0, hi: T0 + 5 * MIN_MS })
    expect(market.w[0]).toBeCloseTo(1 + 2 ** (-1 / 3), 12)
    expect(market.x[0]).toBeCloseTo(0.4 * 2 ** (-1 / 3) - 0.2, 12)
    const fineA = Math.floor(T0 / config.fineBucketMs)
    expect(market.f).toEqual([fineA, 1, 1, 0, fineA + 5, 1, 0, 1])
    expect(market.c).toEqual([Math.floor(T0 / config.coarseBucketMs), 2])
  })

  it('refuses a scope whose runs repeat an id, or would make a contribution late one run after another', () => {
    const a = scoredHeadline('a', T0)
    expect(scopeSumsPayload([run(a), run(a)], digest, config)).toBeUndefined()
    const old = scoredHeadline('old', T0)
    const newer = scoredHeadline('new', T0 + config.graceMs + MIN_MS)
    // In order, each run is on time; the other way round the older one is late behind the newer run.
    expect(scopeSumsPayload([run(old), run(newer)], digest, config)).toBeDefined()
    expect(scopeSumsPayload([run(newer), run(old)], digest, config)).toBeUndefined()
  })
})
