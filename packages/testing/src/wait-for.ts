export type WaitForOptions = { timeoutMs?: number; intervalMs?: number; what?: string }

/**
 * Polls `check` until it returns a value other than undefined/false, or fails with the last error
 * or value seen. Tests use it instead of sleeps.
 */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = 30_000, intervalMs = 50, what = 'condition' }: WaitForOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
      last = value
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last)
      throw new Error(`waitFor: ${what} not met within ${timeoutMs} ms (last: ${detail})`)
    }
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}
