import { createManualClock } from '@tradepulse/contracts'
import { describe, expect, it } from 'vitest'
import type { AlertClaim } from './alert-store.ts'
import { createMemoryAlertStore } from './memory-alert-store.ts'

const H = 3_600_000
const claim = (stream: string, alertId: string, atH: number): AlertClaim => ({
  stream,
  alertId,
  eventMs: atH * H,
  cooldownMs: H,
  origin: `o/0/${stream}-${alertId}`,
})

describe('memory alert store: bounded fired sets', () => {
  it('past maxEntries fired times all told, the sets of the streams fired longest ago go first', async () => {
    const store = createMemoryAlertStore({
      dedupWindowMs: 24 * H,
      clock: createManualClock(0),
      maxEntries: 4,
    })
    const decide = async (...cs: AlertClaim[]) => store.claim(cs)
    expect(await decide(claim('s1', 'a', 0), claim('s1', 'b', 2), claim('s2', 'c', 0))).toEqual([
      'fire',
      'fire',
      'fire',
    ])
    expect(await decide(claim('s1', 'x', 0.5), claim('s2', 'y', 0.5))).toEqual(['cooldown', 'cooldown'])
    // s1 fires again (now the newest), s2 twice: five fired times, s2's set is kept, s1's goes.
    expect(await decide(claim('s1', 'd', 4), claim('s2', 'e', 2), claim('s2', 'f', 4))).toEqual([
      'fire',
      'fire',
      'fire',
    ])
    expect(await decide(claim('s1', 'z', 3.5), claim('s2', 'w', 3.5))).toEqual(['fire', 'cooldown'])
  })
})
