import { describe, expect, it } from 'vitest'
import { loadHeadlineTexts } from './headline-source.ts'

describe('loadHeadlineTexts', () => {
  it('uses the stream when it is there, without a warning', () => {
    const warnings: string[] = []
    const rows = [
      { line: 2, headline: 'U.S. raises tariffs on steel' },
      { line: 3, headline: 'China resumes rare earth exports' },
    ]
    const { texts, source } = loadHeadlineTexts(1, { rows, warn: (l) => warnings.push(l) })
    expect(source).toBe('reuters_2018_2020.csv')
    expect(texts).toEqual(['U.S. raises tariffs on steel'])
    expect(warnings).toEqual([])
  })

  it('falls back to synthetic headlines with a warning naming the missing stream', () => {
    const warnings: string[] = []
    const { texts, source } = loadHeadlineTexts(100, { rows: null, warn: (l) => warnings.push(l) })
    expect(source).toBe('synthetic')
    expect(texts).toHaveLength(100)
    expect(new Set(texts).size).toBe(100)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/reuters_2018_2020\.csv not found.*not comparable/)
  })
})
