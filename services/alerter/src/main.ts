// The alerter worker as its own process: `node services/alerter/src/main.ts`. SIGHUP reloads the rules.
import { createLogger, exitOnFatal, loadConfig, runUntilSignal } from '@tradepulse/platform'
import { buildAlerterApp } from './build-app.ts'
import { AlerterConfig } from './config.ts'

try {
  const config = loadConfig(AlerterConfig, process.env)
  const log = createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY, name: 'tradepulse-alerter' })
  const app = buildAlerterApp(config, { log })
  process.on('SIGHUP', () => app.reloadRules())
  await runUntilSignal(app, log, config.SHUTDOWN_DEADLINE_MS).catch((err) => exitOnFatal(err, log))
} catch (err) {
  exitOnFatal(err)
}
