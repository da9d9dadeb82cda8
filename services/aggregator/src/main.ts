// The aggregator worker as its own process: `node services/aggregator/src/main.ts`.
import { createLogger, exitOnFatal, loadConfig, runUntilSignal } from '@tradepulse/platform'
import { buildAggregatorApp } from './build-app.ts'
import { AggregatorConfig } from './config.ts'

try {
  const config = loadConfig(AggregatorConfig, process.env)
  const log = createLogger({
    level: config.LOG_LEVEL,
    pretty: config.LOG_PRETTY,
    name: 'tradepulse-aggregator',
  })
  const app = buildAggregatorApp(config, { log })
  await runUntilSignal(app, log, config.SHUTDOWN_DEADLINE_MS).catch((err) => exitOnFatal(err, log))
} catch (err) {
  exitOnFatal(err)
}
