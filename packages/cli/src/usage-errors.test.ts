import { TradepulseError } from '@tradepulse/platform'
import { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { registerIndicators } from './commands/indicators.ts'
import { registerReplay } from './commands/replay.ts'
import { registerScore } from './commands/score.ts'
import { registerTail } from './commands/tail.ts'
import { registerTopics } from './commands/topics.ts'
import { usageErrorsInOneLine } from './usage-errors.ts'

/** The command line as main.ts builds it (but start, which listens for signals), its output kept. */
function program() {
  const out: string[] = []
  const p = new Command().name('tradepulse')
  for (const register of [registerScore, registerReplay, registerTopics, registerTail, registerIndicators])
    register(p)
  usageErrorsInOneLine(p)
  // Whatever commander would still write (it wrote each error, then the whole help).
  const keep = { writeOut: (s: string) => out.push(s), writeErr: (s: string) => out.push(s) }
  const all = (c: Command) => {
    c.configureOutput(keep)
    c.commands.forEach(all)
  }
  all(p)
  return { p, out }
}

async function refusal(args: string[]): Promise<{ error: unknown; out: string[] }> {
  const { p, out } = program()
  try {
    await p.parseAsync(args, { from: 'user' })
  } catch (error) {
    return { error, out }
  }
  throw new Error(`${args.join(' ')}: not refused`)
}

describe('usage errors commander finds', () => {
  it.each([
    [['score', '--bogus', 'x'], "score: unknown option '--bogus' (see tradepulse score --help)"],
    [
      ['score', '--bdy', 'x'],
      "score: unknown option '--bdy' (Did you mean --body?) (see tradepulse score --help)",
    ],
    [['score', '--body'], "score: option '--body <text>' argument missing (see tradepulse score --help)"],
    [['replay'], "replay: missing required argument 'file' (see tradepulse replay --help)"],
    [
      ['indicators', '--by', 'size'],
      "indicators: option '--by <what>' argument 'size' is invalid. Allowed choices are momentum, buzz. (see tradepulse indicators --help)",
    ],
    [
      ['topics', 'list', 'extra'],
      "topics list: too many arguments for 'list'. Expected 0 arguments but got 1: extra. (see tradepulse topics list --help)",
    ],
    [
      ['tail', 'alerts', '--desk'],
      "tail alerts: option '--desk <id>' argument missing (see tradepulse tail alerts --help)",
    ],
    [['scorr'], "unknown command 'scorr' (Did you mean score?) (see tradepulse --help)"],
  ])(
    '%j: one line naming the command, a configuration error (exit 78), nothing else written',
    async (args, message) => {
      const { error, out } = await refusal(args)
      expect(error).toBeInstanceOf(TradepulseError)
      expect(error).toMatchObject({ code: 'CONFIG_INVALID', message })
      expect(out).toEqual([])
    },
  )
})
