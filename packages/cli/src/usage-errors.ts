import { TradepulseError } from '@tradepulse/platform'
import type { Command } from 'commander'

/** What commander ends with that is no error: help or a version asked for (its own exit code, 0). */
const NOT_ERRORS = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version'])

/** The command's words as typed: "tradepulse", "tradepulse score", "tradepulse tail alerts". */
function commandPath(cmd: Command): string[] {
  const names: string[] = []
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name())
  return names
}

/**
 * A usage error commander finds (an unknown flag or command, a flag without its value, a value not among
 * the choices, an argument missing or too many) as every other bad flag is reported: one line naming it
 * and the command, exit 78, where commander printed the whole help after it and exited 1. Set on `cmd`
 * and every command under it, once all are registered.
 */
export function usageErrorsInOneLine(cmd: Command): void {
  const path = commandPath(cmd)
  const where = path.slice(1).join(' ')
  // Commander writes its message itself before exiting: it is written once, below, instead.
  cmd.configureOutput({ outputError: () => {} })
  cmd.exitOverride((err) => {
    if (NOT_ERRORS.has(err.code)) return
    // "error: unknown option '--bdy'\n(Did you mean --body?)" → one line.
    const message = err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')
    throw new TradepulseError(
      'CONFIG_INVALID',
      `${where ? `${where}: ` : ''}${message} (see ${path.join(' ')} --help)`,
    )
  })
  for (const sub of cmd.commands) usageErrorsInOneLine(sub)
}
