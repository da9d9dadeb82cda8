export type WaitForOptions = { timeoutMs?: number; intervalMs?: number; what?: string }

/**
 * Polls `check` until it returns a value other than undefined, null or false (0 and '' are values),
 * or fails with the last error or value seen. Tests use it instead of sleeps. null is not met: a regex
 * with no match yet (`exec`, `match`) and a Redis key not yet set give null, and counting it as met let
 * a test go on at once without what it waited for.
 */
export async function waitFor<T>(
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  { timeoutMs = 30_000, intervalMs = 50, what = 'condition' }: WaitForOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== null && value !== false) return value
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
