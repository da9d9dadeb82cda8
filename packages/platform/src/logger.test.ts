import { describe, expect, it } from 'vitest'
import { createCapturingLogger } from './logger.ts'

describe('createCapturingLogger', () => {
  it('keeps each line logged at or above its level, parsed, in order', () => {
    const { log, lines } = createCapturingLogger('warn')
    log.info('not kept')
    log.warn({ n: 1 }, 'first')
    log.error({ n: 2 }, 'second')
    expect(lines.map((l) => [l.level, l.msg, l.n])).toEqual([
      [40, 'first', 1],
      [50, 'second', 2],
    ])
  })
})
