import { deskSecretVariablesOfFile } from '@tradepulse/alerter'
import { RULE_FILES } from '@tradepulse/alerting'
import { declareVariables, noteUnknownVariables, setValue, takeUnknownVariables } from '@tradepulse/platform'

/** LOG_LEVEL values under which a warning is not shown (as a worker's warn-level line would not be). */
const QUIET_LEVELS = new Set(['error', 'fatal', 'silent'])

/**
 * Warns on stderr, once per process, of each variable of `env` that looks like the workers' but that no
 * worker reads (platform's unknownVariableWarnings), in the workers' words, one line each:
 * `tradepulse: warning: unknown variable GATEWAY_MAX_STREAM (did you mean GATEWAY_MAX_STREAMS?)`.
 * For the one-shot commands (score, replay, indicators, tail, topics): they loaded their configuration
 * as the workers do, which notes such variables, but said nothing of them, where a worker warns at its
 * start. Never on stdout (`score --ndjson` writes only NDJSON there); nothing under a LOG_LEVEL of error,
 * fatal or silent. The webhook secret variables the alerter's desks file names (ALERTER_DESKS_FILE, or its
 * default) are known, as in the alerter: a command run in the alerter's environment does not warn of them.
 */
export function warnUnknownVariables(
  env: Record<string, string | undefined>,
  write: (text: string) => void = (text) => void process.stderr.write(text),
): void {
  declareVariables(deskSecretVariablesOfFile(setValue(env.ALERTER_DESKS_FILE) ?? RULE_FILES.desks))
  noteUnknownVariables(env)
  const unknown = takeUnknownVariables()
  const level = setValue(env.LOG_LEVEL)
  if (level !== undefined && QUIET_LEVELS.has(level)) return
  for (const u of unknown) write(`tradepulse: warning: ${u.line}\n`)
}
