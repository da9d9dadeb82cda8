import { describe, expect, it } from 'vitest'
import { acknowledgedBefore, noteAcknowledgedBefore } from './produce.ts'
import type { OutRecord } from './records.ts'
import { sendFindingRefused } from './refused-records.ts'

const rec = (key: string): OutRecord => ({ topic: 't', key, value: key })
const tooLarge = () => Object.assign(new Error('too large'), { type: 'MESSAGE_TOO_LARGE' })
const down = () => Object.assign(new Error('down'), { type: 'NETWORK_EXCEPTION' })

describe('sendFindingRefused', () => {
  it('sends once when nothing is refused', async () => {
    const calls: string[][] = []
    const found = await sendFindingRefused(
      async (rs) => void calls.push(rs.map((r) => r.key as string)),
      [rec('a'), rec('b')],
    )
    expect(found).toEqual({ refused: new Map() })
    expect(calls).toEqual([['a', 'b']])
  })

  it('finds the refused record by sending those not acknowledged alone, in order', async () => {
    const [a, b, c] = [rec('a'), rec('b'), rec('c')]
    const alone: string[] = []
    const found = await sendFindingRefused(
      async () => {
        const err = tooLarge()
        noteAcknowledgedBefore(err, new Set([a])) // a's request was written before the refused one
        throw err
      },
      [a, b, c],
      async ([r]) => {
        alone.push(r!.key as string)
        if (r === b) throw tooLarge()
      },
    )
    expect(alone).toEqual(['b', 'c'])
    expect([...found.refused]).toEqual([[b, 'MESSAGE_TOO_LARGE']])
    expect(found.fault).toBeUndefined()
  })

  it('returns a fault that is no refusal, with every record acknowledged before it, those sent alone included', async () => {
    const [a, b, c] = [rec('a'), rec('b'), rec('c')]
    const fault = down()
    const found = await sendFindingRefused(
      async () => {
        throw tooLarge()
      },
      [a, b, c],
      async ([r]) => {
        if (r === b) throw fault
      },
    )
    expect(found.fault).toBe(fault)
    expect(acknowledgedBefore(fault, [a, b, c])).toEqual([a])
  })

  it('returns a first fault that is no refusal as it is, sending nothing alone', async () => {
    const fault = down()
    let alone = 0
    const found = await sendFindingRefused(
      async () => {
        throw fault
      },
      [rec('a')],
      async () => void alone++,
    )
    expect(found).toEqual({ refused: new Map(), fault })
    expect(alone).toBe(0)
  })
})
