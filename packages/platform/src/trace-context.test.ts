import { describe, expect, it } from 'vitest'
import { traceHeaders, validTraceparent } from './trace-context.ts'

const VALID = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

describe('validTraceparent', () => {
  it('keeps a well-formed traceparent', () => {
    expect(validTraceparent(VALID)).toBe(VALID)
    expect(traceHeaders({ traceparent: VALID, other: 'x' })).toEqual({ traceparent: VALID })
  })

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['nonsense', 'nonsense'],
    ['upper case', VALID.toUpperCase()],
    ['short ids', '00-XYZ-123-01'],
    ['trailing data', `${VALID}-extra`],
    ['a trailing newline', `${VALID}\n`],
    ['a megabyte', `${VALID}${'0'.repeat(1024 * 1024)}`],
    ['version ff', `ff${VALID.slice(2)}`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-b7ad6b7169203331-01`],
    ['an all-zero parent id', `00-0af7651916cd43dd8448eb211c80319c-${'0'.repeat(16)}-01`],
  ])('refuses one that is %s', (_, value) => {
    expect(validTraceparent(value)).toBeUndefined()
    expect(traceHeaders(value === undefined ? {} : { traceparent: value })).toBeUndefined()
  })
})
