import type { Contribution, ResolvedIndicatorConfig } from '@tradepulse/indicators'

type DimensionSums = {
  n: number
  p?: number[]
  lo: number
  hi: number
  w: number[]
  x: number[]
  f: number[]
  c: number[]
}

/**
 * The JSON argument of lua/applyScopeSums-8.lua (its header describes it) for one scope's
 * contributions across runs, each run given as its four dimension groups in DIMENSION_ORDER; or
 * undefined when the fast path cannot apply them exactly: an id repeats within a dimension, or
 * applying the runs one by one would find a contribution late against an earlier run. (Duplicates of
 * stored ids and lateness against the stored state are the script's to find.)
 */
export function scopeSumsPayload(
  runs: readonly (readonly Contribution[][])[],
  digest: (headlineId: string) => string,
  config: ResolvedIndicatorConfig,
): string | undefined {
  const hl = config.halfLives
  const positions = new Map<string, number>() // digest → 1-based position among the scope's headlines
  const ids: (number | string)[] = []
  const dims: (DimensionSums | 0)[] = []
  for (let d = 0; d < 4; d++) {
    const seen = new Set<string>()
    let ref = Number.NEGATIVE_INFINITY
    let lo = Number.POSITIVE_INFINITY
    const own: number[] = []
    for (const groups of runs) {
      const group = groups[d]!
      if (group.length === 0) continue
      let runMax = Number.NEGATIVE_INFINITY
      for (const c of group) if (c.eventMs > runMax) runMax = c.eventMs
      if (runMax > ref) ref = runMax
      for (const c of group) {
        if (c.eventMs < ref - config.graceMs) return undefined
        const id = digest(c.headlineId)
        if (seen.has(id)) return undefined
        seen.add(id)
        let p = positions.get(id)
        if (p === undefined) {
          ids.push(c.eventMs, id)
          p = positions.size + 1
          positions.set(id, p)
        }
        own.push(p)
        if (c.eventMs < lo) lo = c.eventMs
      }
    }
    if (own.length === 0) {
      dims.push(0)
      continue
    }
    const w = hl.map(() => 0)
    const x = hl.map(() => 0)
    const fine = new Map<number, [number, number, number]>()
    const coarse = new Map<number, number>()
    for (const groups of runs) {
      for (const c of groups[d]!) {
        for (let j = 0; j < hl.length; j++) {
          const f = 2 ** (-(ref - c.eventMs) / hl[j]!.ms)
          w[j] = w[j]! + c.weight * f
          x[j] = x[j]! + c.weight * c.value * f
        }
        const fi = Math.floor(c.eventMs / config.fineBucketMs)
        const b = fine.get(fi)
        if (b) {
          b[0]++
          if (c.sign > 0) b[1]++
          else if (c.sign < 0) b[2]++
        } else fine.set(fi, [1, c.sign > 0 ? 1 : 0, c.sign < 0 ? 1 : 0])
        const ci = Math.floor(c.eventMs / config.coarseBucketMs)
        coarse.set(ci, (coarse.get(ci) ?? 0) + 1)
      }
    }
    const f: number[] = []
    for (const [idx, [n, pos, neg]] of fine) f.push(idx, n, pos, neg)
    const c: number[] = []
    for (const [idx, n] of coarse) c.push(idx, n)
    dims.push({ n: own.length, lo, hi: ref, w, x, f, c })
    const last = dims[dims.length - 1] as DimensionSums
    last.p = own
  }
  // A dimension's positions are needed only when it does not hold every headline of the scope,
  // which is known once all four are read.
  for (const dim of dims) if (dim !== 0 && dim.n === positions.size) delete dim.p
  return JSON.stringify([ids, ...dims])
}
