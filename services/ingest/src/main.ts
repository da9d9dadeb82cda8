// The ingest worker as its own process: `node services/ingest/src/main.ts` (or `tradepulse start --workers ingest`).
import { createLogger, exitOnFatal, loadConfig, runUntilSignal } from '@tradepulse/platform'
import { buildIngestApp } from './build-app.ts'
import { IngestConfig } from './config.ts'

try {
  const config = loadConfig(IngestConfig, process.env)
  const log = createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY, name: 'tradepulse-ingest' })
  const app = buildIngestApp(config, { log })
  await runUntilSignal(app, log, config.SHUTDOWN_DEADLINE_MS).catch((err) => exitOnFatal(err, log))
} catch (err) {
  exitOnFatal(err)
}
