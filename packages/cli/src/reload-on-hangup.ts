import { isatty } from 'node:tty'
import type { AlerterApp } from '@tradepulse/alerter'
import type { KafkaWorker } from '@tradepulse/platform'

/** The workers whose rules reload on SIGHUP (the alerter). */
function hasRules(app: KafkaWorker): app is KafkaWorker & Pick<AlerterApp, 'reloadRules'> {
  return typeof (app as Partial<AlerterApp>).reloadRules === 'function'
}

export type HangupOptions = {
  /** Where the one line per reload goes. */
  out?: NodeJS.WritableStream
  /**
   * Whether the process runs in a terminal (default: stdin, stdout or stderr is a TTY). There a SIGHUP
   * is the terminal hanging up, and the run stops (`stop`) instead of reloading: a closed window must
   * not leave workers running with nowhere to write. Rules still reload when their file changes.
   */
  terminal?: boolean
  /** Stops the run gracefully, as SIGTERM does; called on a terminal's hangup. */
  stop?: () => void
}

/**
 * Whether the process runs in a terminal: stdin, stdout or stderr is one. Asked of the descriptors, not of
 * process.stdin (which would make the stream): start-signals.ts asks it at the process's first moment.
 */
export const inTerminal = () => isatty(0) || isatty(1) || isatty(2)

/**
 * As the alerter's own process does: SIGHUP re-reads the rules file of every app that has one (an
 * invalid file is refused and the running rules stay), with one line on `out` per reload. In a terminal
 * a SIGHUP stops the run instead (see HangupOptions.terminal), whether or not an app has rules: a
 * terminal's hangup took a run without the alerter down at once by SIGHUP's default, no worker stopped.
 * Outside a terminal without an app with rules, and in a terminal without `stop`, SIGHUP keeps its
 * default, which ends the process: not ignored under nohup either, Node setting an inherited SIG_IGN back
 * to SIG_DFL as it starts. Returns the function that stops listening.
 */
export function reloadRulesOnHangup(apps: readonly KafkaWorker[], opts: HangupOptions = {}): () => void {
  const out = opts.out ?? process.stderr
  const terminal = opts.terminal ?? inTerminal()
  const withRules = apps.filter(hasRules)
  let onHangup: () => void
  if (terminal) {
    const stop = opts.stop
    if (!stop) return () => {}
    // Nothing is written: the terminal the line would go to is the one that just went away.
    onHangup = () => stop()
  } else {
    // Nothing to reload: SIGHUP keeps its default (even under nohup: Node resets an inherited SIG_IGN).
    if (withRules.length === 0) return () => {}
    onHangup = () => {
      for (const app of withRules) {
        const r = app.reloadRules()
        out.write(`SIGHUP: rules ${r.result}${'rulesVersion' in r ? ` (${r.rulesVersion})` : ''}\n`)
      }
    }
  }
  process.on('SIGHUP', onHangup)
  return () => process.off('SIGHUP', onHangup)
}
