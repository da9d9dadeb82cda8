/**
 * The longest a handler works through a batch's records without a turn of the event loop, in ms (checked
 * every TURN_CHECK_EVERY records). Catching up, a handler is given thousands of records at once (the
 * aggregator a fetch of 8 MB, the alerter a merged round of its partitions); worked through in one go
 * they held the event loop 0.2-1.7 s, /healthz and /metrics past a liveness probe's 1 s, live records of
 * other partitions waiting, and past the Kafka session when the CPU was starved.
 */
export const SLICE_MS = 20
/** How many records apart a loop looks at the clock. */
export const TURN_CHECK_EVERY = 16

/** Lets pending I/O callbacks (a reply from Redis, a health probe) run before more work. */
export const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * Tells a loop over records when to let the event loop turn: `due()` once `sliceMs` have passed since
 * the last turn (looked at every TURN_CHECK_EVERY calls; 0: at every such call), `turn()` to take it
 * (setImmediate: pending I/O callbacks run first).
 */
export function loopSlices(sliceMs: number) {
  let start = performance.now()
  let n = 0
  return {
    due: () => ++n % TURN_CHECK_EVERY === 0 && performance.now() - start >= sliceMs,
    async turn(): Promise<void> {
      await yieldToIo()
      start = performance.now()
    },
  }
}
