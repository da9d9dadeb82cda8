import type { App } from './app.ts'
import { TradepulseError } from './errors.ts'
import type { Logger } from './logger.ts'

export const EXIT_CONFIG = 78 // EX_CONFIG from sysexits.h: "configuration error"

/**
 * Runs an app until SIGTERM or SIGINT, then stops it within the deadline: stop fetching, finish the
 * batch, commit, flush, close. A second signal, or the deadline passing, forces the exit.
 */
export async function runUntilSignal(app: App, log: Logger, deadlineMs: number): Promise<void> {
  let signalled = 0
  const stop = async (signal: string) => {
    signalled++
    if (signalled > 1) {
      log.warn({ signal }, 'second signal: exiting now')
      process.exit(130)
    }
    log.info({ signal, deadlineMs }, 'stopping')
    const timer = setTimeout(() => {
      log.error({ deadlineMs }, 'graceful stop exceeded its deadline; exiting')
      process.exit(1)
    }, deadlineMs)
    timer.unref()
    try {
      await app.stop()
      clearTimeout(timer)
      log.info('stopped cleanly')
      log.flush?.()
      process.exit(0)
    } catch (err) {
      log.error({ err }, 'stop failed')
      process.exit(1)
    }
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
  await app.start()
}

/** Reports a failure of `main` in one clear line and exits non-zero (78 for configuration). */
export function exitOnFatal(err: unknown, log?: Logger): never {
  if (err instanceof TradepulseError && err.code === 'CONFIG_INVALID') {
    process.stderr.write(`tradepulse: ${err.message}\n`)
    process.exit(EXIT_CONFIG)
  }
  if (log) log.fatal({ err }, 'fatal error')
  else
    process.stderr.write(`tradepulse: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
}
