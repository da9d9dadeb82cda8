import { describe, expect, it } from 'vitest'
import { confusion, macroF1, perClass } from './metrics.ts'

const CLASSES = ['none', 'negative', 'neutral', 'positive']
const gold = ['none', 'negative', 'negative', 'neutral', 'neutral', 'positive']
const pred = ['none', 'negative', 'neutral', 'negative', 'neutral', 'positive']

describe('perClass', () => {
  it('gives precision, recall, F1 and support of each class', () => {
    const byClass = Object.fromEntries(perClass(gold, pred, CLASSES).map((c) => [c.cls, c]))
    expect(byClass.negative).toEqual({ cls: 'negative', precision: 0.5, recall: 0.5, f1: 0.5, support: 2 })
    expect(byClass.none).toEqual({ cls: 'none', precision: 1, recall: 1, f1: 1, support: 1 })
    expect(byClass.neutral?.f1).toBeCloseTo(0.5)
  })

  it('averages to macroF1', () => {
    const rows = perClass(gold, pred, CLASSES)
    const mean = rows.reduce((a, c) => a + c.f1, 0) / rows.length
    expect(mean).toBeCloseTo(macroF1(gold, pred, CLASSES))
  })

  it('leaves undefined ratios NaN', () => {
    const [c] = perClass(['a'], ['b'], ['c'])
    expect(c?.precision).toBeNaN()
    expect(c?.recall).toBeNaN()
    expect(c?.f1).toBeNaN()
    expect(c?.support).toBe(0)
  })
})

describe('confusion', () => {
  it('counts gold rows against predicted columns', () => {
    expect(confusion(gold, pred, CLASSES)).toEqual([
      [1, 0, 0, 0],
      [0, 1, 1, 0],
      [0, 1, 1, 0],
      [0, 0, 0, 1],
    ])
  })

  it('drops labels outside the classes', () => {
    expect(confusion(['x', 'a'], ['a', 'a'], ['a'])).toEqual([[1]])
  })
})
