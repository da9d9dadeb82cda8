import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'

// For platform's own integration tests: platform cannot depend on @tradepulse/testing (which depends on
// platform), so the int project's broker comes from its global setup, and these are the few of testing's
// helpers those tests need.

export function kafkaBrokers(): string[] {
  const provided = (inject as (key: string) => unknown)('kafkaBrokers')
  return (typeof provided === 'string' ? provided : (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092')).split(
    ',',
  )
}

/** As testing's randomName: with the run's token, so that the run's clean-up knows the topic for its own. */
export function randomName(prefix: string): string {
  const token = process.env.TRADEPULSE_TEST_RUN
  return `${prefix}-${token ? `r${token}-` : ''}${randomBytes(6).toString('hex')}`
}

/** As testing's waitFor: polls until `check` returns a value, or fails naming `what`. */
export async function waitFor<T>(check: () => T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`waitFor: ${what} not met within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
