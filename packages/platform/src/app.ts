import type { Transport } from './bus/transport.ts'
import type { Health } from './health.ts'
import type { Logger } from './logger.ts'

/** Every worker is one of these, built by `buildApp(config, deps)`; start and stop are idempotent. */
export type App = {
  start(): Promise<void>
  stop(): Promise<void>
  health(): Promise<Health>
  /**
   * The step of a stop under way, named in the line a shutdown deadline passing writes (runUntilSignal);
   * undefined when none or unknown.
   */
  stopStep?(): string | undefined
  /**
   * Resolves with an error the app cannot recover from while running (a configuration the broker refuses
   * at a rejoin); never resolves otherwise. runUntilSignal stops the app and exits on it.
   */
  failed?(): Promise<Error>
}

/** What every worker's `buildApp` takes besides its config; services add their own stores. */
export type WorkerDeps = {
  log: Logger
  /** The bus; Kafka from config when absent. */
  transport?: Transport
}
