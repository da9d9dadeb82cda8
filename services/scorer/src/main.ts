// The scorer worker as its own process: `node services/scorer/src/main.ts`.
import { createLogger, exitOnFatal, loadConfig, runUntilSignal } from '@tradepulse/platform'
import { buildScorerApp } from './build-app.ts'
import { ScorerConfig } from './config.ts'

try {
  const config = loadConfig(ScorerConfig, process.env)
  const log = createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY, name: 'tradepulse-scorer' })
  const app = buildScorerApp(config, { log })
  await runUntilSignal(app, log, config.SHUTDOWN_DEADLINE_MS).catch((err) => exitOnFatal(err, log))
} catch (err) {
  exitOnFatal(err)
}
