import type { AlerterApp } from '@tradepulse/alerter'
import type { KafkaWorker } from '@tradepulse/platform'

/** The workers whose rules reload on SIGHUP (the alerter). */
function hasRules(app: KafkaWorker): app is KafkaWorker & Pick<AlerterApp, 'reloadRules'> {
  return typeof (app as Partial<AlerterApp>).reloadRules === 'function'
}

/**
 * As the alerter's own process does: SIGHUP re-reads the rules file of every app that has one (an
 * invalid file is refused and the running rules stay), with one line on `out` per reload. Without such
 * an app SIGHUP keeps its default (the process ends, as when its terminal closes). Returns the function
 * that stops listening.
 */
export function reloadRulesOnHangup(
  apps: readonly KafkaWorker[],
  out: NodeJS.WritableStream = process.stderr,
): () => void {
  const withRules = apps.filter(hasRules)
  if (withRules.length === 0) return () => {}
  const onHangup = () => {
    for (const app of withRules) {
      const r = app.reloadRules()
      out.write(`SIGHUP: rules ${r.result}${'rulesVersion' in r ? ` (${r.rulesVersion})` : ''}\n`)
    }
  }
  process.on('SIGHUP', onHangup)
  return () => process.off('SIGHUP', onHangup)
}
