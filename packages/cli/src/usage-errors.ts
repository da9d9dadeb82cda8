import { TradepulseError } from '@tradepulse/platform'
import type { Command, HelpContext } from 'commander'

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
  if (cmd.commands.length > 0) missingSubcommandInOneLine(cmd)
  for (const sub of cmd.commands) usageErrorsInOneLine(sub)
}

/** "a", "a or b", "a, b or c" */
const oneOf = (names: string[]) =>
  names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : (names[0] ?? '')

/**
 * A group given without its subcommand (`tradepulse tail`, `tradepulse topics`, `tradepulse` alone), or
 * `help` of one it does not have, is a usage error like the others: one line naming the subcommands, exit
 * 78. Commander printed the group's whole help on stderr for it and exited 1 (its help({ error: true }),
 * called only there); help asked for (`--help`, `help`) is still the help, on stdout, exit 0.
 */
function missingSubcommandInOneLine(cmd: Command): void {
  const help = cmd.help.bind(cmd)
  // Commander's help() also takes a callback (deprecated), which it never passes itself.
  cmd.help = ((context?: HelpContext): never => {
    if (!context?.error) return help(context)
    const [word, name] = cmd.args
    const names = cmd.commands.map((c) => c.name())
    cmd.error(
      word === 'help' && name !== undefined && !names.includes(name)
        ? `unknown command '${name}'`
        : `missing ${cmd.parent ? 'subcommand' : 'command'}: ${oneOf(names)}`,
      { code: 'tradepulse.usage' },
    )
  }) as Command['help']
}

/**
 * A bad option value only the command's action can tell (a time before what Redis can answer, a subset of
 * workers the embedded default cannot run), refused in the line commander gives a value its argParser
 * refuses (option-values.ts), through the same exitOverride: one line naming the command, the option and
 * the value, exit 78. `why` is a sentence, as an argParser's message is.
 */
export function invalidOptionValue(cmd: Command, long: string, value: string, why: string): never {
  const flags = cmd.options.find((o) => o.long === long)?.flags ?? long
  return cmd.error(`error: option '${flags}' argument '${value}' is invalid. ${why}`, {
    code: 'commander.invalidArgument',
  })
}
