import { describe, expect, it } from 'vitest'
import { createKeyLocks } from './key-locks.ts'

/** A run's work that records its start and end, and ends when told. */
function step(log: string[], name: string) {
  let end = () => {}
  const ended = new Promise<void>((r) => {
    end = r
  })
  return {
    work: async () => {
      log.push(`${name} start`)
      await ended
      log.push(`${name} end`)
      return name
    },
    end: () => end(),
  }
}
const ticks = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r))
}

describe('createKeyLocks', () => {
  it('runs one key one run at a time, in the order called; disjoint keys at once', async () => {
    let waits = 0
    const locks = createKeyLocks(() => waits++)
    const log: string[] = []
    const a = step(log, 'a')
    const b = step(log, 'b')
    const c = step(log, 'c')
    const ra = locks.run(['k1', 'k2'], a.work)
    const rb = locks.run(['k2', 'k3'], b.work) // shares k2 with a
    const rc = locks.run(['k4'], c.work) // shares nothing
    await ticks()
    expect(log).toEqual(['a start', 'c start'])
    expect(waits).toBe(1)
    c.end()
    await ticks()
    expect(log).toEqual(['a start', 'c start', 'c end'])
    a.end()
    await ticks()
    expect(log).toEqual(['a start', 'c start', 'c end', 'a end', 'b start'])
    b.end()
    expect(await Promise.all([ra, rb, rc])).toEqual(['a', 'b', 'c'])
    expect(locks.size()).toBe(0)
  })

  it('waits for every earlier run of any of its keys, and frees the keys of a run that failed', async () => {
    const locks = createKeyLocks()
    const log: string[] = []
    const a = step(log, 'a')
    const b = step(log, 'b')
    const ra = locks.run(['x'], a.work)
    const rb = locks.run(['y'], b.work)
    const failing = locks.run(['x', 'y'], async () => {
      log.push('both')
      throw new Error('send failed')
    })
    const after = locks.run(['y', 'x', 'x'], async () => void log.push('after'))
    await ticks()
    b.end()
    await ticks()
    expect(log).toEqual(['a start', 'b start', 'b end'])
    a.end()
    await expect(failing).rejects.toThrow('send failed')
    await after
    await Promise.all([ra, rb])
    expect(log).toEqual(['a start', 'b start', 'b end', 'a end', 'both', 'after'])
    expect(locks.size()).toBe(0)
  })
})
