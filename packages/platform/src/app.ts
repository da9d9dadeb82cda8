import type { Health } from './health.ts'

/** Every worker is one of these, built by `buildApp(config, deps)`; start and stop are idempotent. */
export type App = {
  start(): Promise<void>
  stop(): Promise<void>
  health(): Promise<Health>
}
