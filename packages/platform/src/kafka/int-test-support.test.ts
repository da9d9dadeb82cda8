import { describe, expect, it } from 'vitest'
import { waitFor } from './int-test-support.ts'

describe("int-test-support's waitFor", () => {
  it("keeps waiting while the check gives null or false, as testing's waitFor does", async () => {
    // null and false counted as met: waitFor(() => /x/.exec(out)) or waitFor(() => n > 2) returned at
    // once, and a test went on without the condition it waited for.
    let out = ''
    let n = 0
    setTimeout(() => {
      out = 'joined generation 3'
      n = 3
    }, 100)
    const m = await waitFor(() => /generation (\d+)/.exec(out), 'the joined line')
    expect(m[1]).toBe('3')
    expect(await waitFor(() => n > 2, 'n past 2')).toBe(true)
  })

  it('fails naming what it waited for when the check never gives a value', async () => {
    for (const never of [null, undefined, false])
      await expect(waitFor(() => never, 'nothing', 50)).rejects.toThrow(
        /^waitFor: nothing not met within 50 ms/,
      )
  })

  it('returns the first value given, 0 and the empty string included', async () => {
    expect(await waitFor(() => 0, 'zero')).toBe(0)
    expect(await waitFor(() => '', 'empty')).toBe('')
  })
})
