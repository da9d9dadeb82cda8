// The gateway as its own process: `node services/gateway/src/main.ts`.
import { createLogger, exitOnFatal, loadConfig, runUntilSignal } from '@tradepulse/platform'
import { buildGatewayApp } from './build-app.ts'
import { GatewayConfig } from './config.ts'

try {
  const config = loadConfig(GatewayConfig, process.env)
  const log = createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY, name: 'tradepulse-gateway' })
  const app = buildGatewayApp(config, { log })
  await runUntilSignal(app, log, config.SHUTDOWN_DEADLINE_MS).catch((err) => exitOnFatal(err, log))
} catch (err) {
  exitOnFatal(err)
}
