import { describe, expect, it } from 'vitest'
import type { LabelledRow } from '../eval/labels.ts'
import { directionAccuracy, directionBySign } from '../eval/metrics.ts'
import { predictLogistic, type TrainingRow, type TrainOptions, trainLogistic } from './logistic.ts'
import { examples, modelData, serialise } from './tariff-model.ts'

const OPTIONS: TrainOptions = {
  classes: 3,
  l2: 1e-3,
  epochs: 150,
  learningRate: 0.1,
  sparsePrefixes: ['w='],
  minCount: 2,
}

/** Class c is told by the word w=c; every row also has the bias. */
const toy: TrainingRow[] = Array.from({ length: 30 }, (_, i) => ({
  features: [
    ['bias', 1],
    [`w=${i % 3}`, 1],
  ],
  label: i % 3,
}))

describe('trainLogistic', () => {
  it('learns a separable problem', () => {
    const w = trainLogistic(toy, OPTIONS)
    for (let c = 0; c < 3; c++) {
      const p = predictLogistic(
        w,
        [
          ['bias', 1],
          [`w=${c}`, 1],
        ],
        3,
      )
      expect(p.indexOf(Math.max(...p))).toBe(c)
      expect(p[c]).toBeGreaterThan(0.9)
    }
  })

  it('is deterministic', () => {
    expect(trainLogistic(toy, OPTIONS)).toEqual(trainLogistic(toy, OPTIONS))
  })

  it('keeps a sparse feature only when enough rows have it, and every dense one', () => {
    const rows: TrainingRow[] = [
      ...toy,
      {
        features: [
          ['bias', 1],
          ['w=once', 1],
          ['dense-once', 1],
        ],
        label: 0,
      },
    ]
    const w = trainLogistic(rows, OPTIONS)
    expect(w.has('w=once')).toBe(false)
    expect(w.has('dense-once')).toBe(true)
    expect(w.has('w=0')).toBe(true)
  })

  it('refuses no rows and a label that is not a class', () => {
    expect(() => trainLogistic([], OPTIONS)).toThrow(/no rows/)
    expect(() => trainLogistic([{ features: [['bias', 1]], label: 3 }], OPTIONS)).toThrow(/label 3/)
  })
})

describe('the tariff model trainer', () => {
  const row = (split: string, headline: string, tariff: string): LabelledRow => ({
    ref: headline,
    source: 'reuters',
    split,
    headline,
    tariff,
    supply: 'none',
    draw: '1',
  })

  it('learns from dev rows the rules touched, never from a held-out row', () => {
    const out = examples([
      row('dev', 'U.S. raises tariffs on Chinese goods', 'negative'),
      row('test', 'U.S. cuts tariffs on Chinese goods', 'positive'),
      row('dev', 'Netflix communications chief quits', 'none'),
    ])
    expect(out.map((e) => e.row.headline)).toEqual(['U.S. raises tariffs on Chinese goods'])
    expect(out[0]?.training.label).toBe(1)
    expect(out[0]?.rule).toBe('negative')
  })

  it('refuses a label that is not a tariff class', () => {
    expect(() => examples([row('dev', 'U.S. raises tariffs', 'bad')])).toThrow(/tariff label "bad"/)
  })

  it('writes a file that reads back as the same model', () => {
    const w = trainLogistic(
      toy.map((r) => ({ ...r, label: r.label + 1 })),
      { ...OPTIONS, classes: 4 },
    )
    const data = modelData(w, 0.8, { rows: 30 })
    expect(JSON.parse(serialise(data))).toEqual(data)
    expect(Object.keys(data.weights)).toEqual([...Object.keys(data.weights)].sort())
  })
})

describe('directionAccuracy', () => {
  it('counts clearly directional gold rows the scorer marked relevant', () => {
    const gold = ['negative', 'positive', 'negative', 'neutral', 'positive']
    const pred = ['negative', 'neutral', 'none', 'negative', 'negative']
    expect(directionAccuracy(gold, pred)).toEqual({ accuracy: 1 / 3, n: 3 })
    expect(directionAccuracy(['neutral'], ['negative']).n).toBe(0)
  })
})

describe('directionBySign', () => {
  it('reads the direction off the score on the rows directionAccuracy counts', () => {
    const gold = ['negative', 'positive', 'positive', 'negative', 'neutral', 'positive']
    const pred = ['neutral', 'neutral', 'positive', 'neutral', 'negative', 'none']
    const score = [-0.05, -0.02, 0.6, 0, -0.5, 0.9]
    // Rows 0-3 count (5 is gold neutral, 6 not marked relevant): 0 leans the gold way though labelled
    // neutral, 1 leans against, 2 agrees, 3 has a score of 0 (no direction).
    expect(directionBySign(gold, pred, score)).toEqual({ accuracy: 2 / 4, n: 4 })
    expect(directionAccuracy(gold, pred)).toEqual({ accuracy: 1 / 4, n: 4 })
  })
})
