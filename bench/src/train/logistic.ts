// Multinomial logistic regression over sparse named features, trained by full-batch Adam with an L2
// penalty from all-zero weights: deterministic, so the same rows always give the same model file.
import type { Feature } from '@tradepulse/scoring'

export interface TrainOptions {
  /** Number of classes; labels are 0 … classes-1. */
  classes: number
  /** L2 penalty on every weight. */
  l2: number
  epochs: number
  learningRate: number
  /**
   * A feature whose key starts with one of these prefixes is kept only when at least `minCount`
   * training rows have it (rare words carry noise, not signal). Other features are always kept.
   */
  sparsePrefixes: string[]
  minCount: number
}

export interface TrainingRow {
  features: Feature[]
  label: number
}

/** Trained weights: feature key → one weight per class. */
export type Weights = Map<string, Float64Array>

export function trainLogistic(rows: TrainingRow[], o: TrainOptions): Weights {
  if (rows.length === 0) throw new Error('trainLogistic: no rows')
  for (const r of rows) {
    if (!Number.isInteger(r.label) || r.label < 0 || r.label >= o.classes)
      throw new Error(`trainLogistic: label ${r.label} is not a class index below ${o.classes}`)
  }
  const count = new Map<string, number>()
  for (const r of rows)
    for (const k of new Set(r.features.map(([key]) => key))) count.set(k, (count.get(k) ?? 0) + 1)
  const index = new Map<string, number>()
  for (const [k, c] of count) {
    const sparse = o.sparsePrefixes.some((p) => k.startsWith(p))
    if (!sparse || c >= o.minCount) index.set(k, index.size)
  }
  const K = o.classes
  const D = index.size
  const X = rows.map((r) => {
    const cols: number[] = []
    const vals: number[] = []
    for (const [k, v] of r.features) {
      const j = index.get(k)
      if (j !== undefined) {
        cols.push(j)
        vals.push(v)
      }
    }
    return { cols, vals }
  })
  const W = new Float64Array(D * K)
  const m = new Float64Array(D * K)
  const v = new Float64Array(D * K)
  const g = new Float64Array(D * K)
  const z = new Float64Array(K)
  const n = rows.length
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    g.fill(0)
    for (let i = 0; i < n; i++) {
      const { cols, vals } = X[i] as { cols: number[]; vals: number[] }
      z.fill(0)
      for (let q = 0; q < cols.length; q++) {
        const base = (cols[q] as number) * K
        const x = vals[q] as number
        for (let c = 0; c < K; c++) z[c] = (z[c] as number) + (W[base + c] as number) * x
      }
      softmaxInPlace(z)
      const y = (rows[i] as TrainingRow).label
      for (let c = 0; c < K; c++) {
        const d = ((z[c] as number) - (c === y ? 1 : 0)) / n
        for (let q = 0; q < cols.length; q++) {
          const at = (cols[q] as number) * K + c
          g[at] = (g[at] as number) + d * (vals[q] as number)
        }
      }
    }
    const b1 = 1 - 0.9 ** epoch
    const b2 = 1 - 0.999 ** epoch
    for (let q = 0; q < D * K; q++) {
      const gq = (g[q] as number) + o.l2 * (W[q] as number)
      m[q] = 0.9 * (m[q] as number) + 0.1 * gq
      v[q] = 0.999 * (v[q] as number) + 0.001 * gq * gq
      W[q] =
        (W[q] as number) -
        (o.learningRate * ((m[q] as number) / b1)) / (Math.sqrt((v[q] as number) / b2) + 1e-8)
    }
  }
  const out: Weights = new Map()
  for (const [k, j] of index) out.set(k, W.slice(j * K, j * K + K))
  return out
}

/** Class probabilities of one row under `w` (a neutral prior, if any, is the caller's). */
export function predictLogistic(w: Weights, features: Feature[], classes: number): Float64Array {
  const z = new Float64Array(classes)
  for (const [k, v] of features) {
    const wk = w.get(k)
    if (wk === undefined) continue
    for (let c = 0; c < classes; c++) z[c] = (z[c] as number) + (wk[c] as number) * v
  }
  softmaxInPlace(z)
  return z
}

export function softmaxInPlace(z: Float64Array): void {
  let max = Number.NEGATIVE_INFINITY
  for (const x of z) if (x > max) max = x
  let sum = 0
  for (let c = 0; c < z.length; c++) {
    z[c] = Math.exp((z[c] as number) - max)
    sum += z[c] as number
  }
  for (let c = 0; c < z.length; c++) z[c] = (z[c] as number) / sum
}
