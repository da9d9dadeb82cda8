/** Pure packages never read the time themselves; they are given a Clock. */
export type Clock = { now(): number }

export const systemClock: Clock = { now: () => Date.now() }

export function createManualClock(startMs = 0): Clock & { set(ms: number): void; advance(ms: number): void } {
  let t = startMs
  return {
    now: () => t,
    set: (ms) => {
      t = ms
    },
    advance: (ms) => {
      t += ms
    },
  }
}
