import { describe, expect, it } from 'vitest'
import { traceparentFor } from './alert-records.ts'

const W3C = /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/

describe('traceparentFor', () => {
  it('keeps a valid incoming traceparent', () => {
    const incoming = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    expect(traceparentFor(incoming)).toBe(incoming)
  })

  it('starts a new sampled trace for a missing or malformed one', () => {
    for (const incoming of [
      undefined,
      '',
      'nonsense',
      '00-XYZ-123-01',
      `00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01${'0'.repeat(1024 * 1024)}`,
    ])
      expect(traceparentFor(incoming)).toMatch(W3C)
  })

  it('gives distinct trace and span ids across refills of its random pool', () => {
    const traces = new Set<string>()
    const spans = new Set<string>()
    for (let i = 0; i < 2_000; i++) {
      const [, trace, span] = traceparentFor(undefined).split('-')
      traces.add(trace!)
      spans.add(span!)
    }
    expect(traces.size).toBe(2_000)
    expect(spans.size).toBe(2_000)
    expect(traces.has('0'.repeat(32))).toBe(false)
  })
})
