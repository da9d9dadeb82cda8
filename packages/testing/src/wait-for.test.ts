import { describe, expect, it } from 'vitest'
import { waitFor } from './wait-for.ts'

describe('waitFor', () => {
  it('keeps waiting while the check gives null (a regex with no match yet, a Redis key not set yet)', async () => {
    // null counted as met: waitFor(() => /x/.exec(out)) returned null at once, and a test went on
    // without the condition it waited for.
    let out = ''
    setTimeout(() => {
      out = 'server ready on 4000'
    }, 100)
    const m = await waitFor(() => /ready on (\d+)/.exec(out), { what: 'the ready line' })
    expect(m[1]).toBe('4000')
  })

  it('fails naming what it waited for when the check never gives a value', async () => {
    for (const never of [null, undefined, false])
      await expect(waitFor(() => never, { timeoutMs: 50, what: 'nothing' })).rejects.toThrow(
        /^waitFor: nothing not met within 50 ms/,
      )
  })

  it('returns the first value given, 0 and the empty string included', async () => {
    expect(await waitFor(() => 0)).toBe(0)
    expect(await waitFor(() => '')).toBe('')
    expect(await waitFor(async () => ({ ok: true }))).toEqual({ ok: true })
  })
})
