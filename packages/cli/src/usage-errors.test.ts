import { TradepulseError } from '@tradepulse/platform'
import { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { registerDlq } from './commands/dlq.ts'
import { registerIndicators } from './commands/indicators.ts'
import { registerReplay } from './commands/replay.ts'
import { registerScore } from './commands/score.ts'
import { registerStart } from './commands/start.ts'
import { registerTail } from './commands/tail.ts'
import { registerTopics } from './commands/topics.ts'
import { sourceName } from './option-values.ts'
import { usageErrorsInOneLine } from './usage-errors.ts'

/**
 * The command line as main.ts builds it, its output kept; without start, which listens for signals once it
 * runs, unless `withStart` (for what start refuses as its options are read, before it runs).
 */
function program({ withStart = false } = {}) {
  const out: string[] = []
  const p = new Command().name('tradepulse')
  for (const register of [
    registerScore,
    registerReplay,
    registerTopics,
    registerTail,
    registerIndicators,
    registerDlq,
  ])
    register(p)
  if (withStart) registerStart(p)
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

async function refusal(args: string[], opts: { withStart?: boolean } = {}) {
  const { p, out } = program(opts)
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
    // A group without its subcommand, or help of one it does not have: commander wrote the group's whole
    // help on stderr and exited 1.
    [['tail'], 'tail: missing subcommand: alerts (see tradepulse tail --help)'],
    [['topics'], 'topics: missing subcommand: list or create (see tradepulse topics --help)'],
    [['topics', '--bogus'], "topics: unknown option '--bogus' (see tradepulse topics --help)"],
    [['dlq'], 'dlq: missing subcommand: list or replay (see tradepulse dlq --help)'],
    [
      ['dlq', 'replay', '--dry-runn'],
      "dlq replay: unknown option '--dry-runn' (Did you mean --dry-run?) (see tradepulse dlq replay --help)",
    ],
    [[], 'missing command: score, replay, topics, tail, indicators or dlq (see tradepulse --help)'],
    [['help', 'scorr'], "unknown command 'scorr' (see tradepulse --help)"],
    [['tail', 'help', 'alert'], "tail: unknown command 'alert' (see tradepulse tail --help)"],
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

describe('indicators rebuild --since', () => {
  const expected =
    'Expected a duration of at least 1 ms: decimal digits (one point allowed) and a unit, ms, s, m, h, d or w, nothing around them (30m, 12h, 7d).'
  // ' 2d ' and '2d\t' were read as 2d (trimmed), where every other option refuses white space around
  // its value; the others were refused, but as "--since: not a duration", naming neither the command nor
  // its help, unlike every other bad option value.
  it.each([
    ' 2d ',
    ' 2d',
    '2d ',
    '2d\t',
    '\t7d',
    '2 d',
    'soon',
    '',
    '2',
    'd',
    '2D',
    '+2d',
    '1e3s',
    '.5h',
    '0m',
    '0.0001ms',
  ])(
    '%j: refused naming the command, the option and the value (exit 78), before the command runs',
    async (value) => {
      const { error, out } = await refusal(['indicators', 'rebuild', '--since', value])
      expect(error).toBeInstanceOf(TradepulseError)
      expect(error).toMatchObject({
        code: 'CONFIG_INVALID',
        message: `indicators rebuild: option '--since <duration>' argument '${value}' is invalid. ${expected} (see tradepulse indicators rebuild --help)`,
      })
      expect(out).toEqual([])
    },
  )
})

describe('text options', () => {
  const SAMPLE = 'packages/cli/sample/sample-feed.ndjson'
  const SOURCE =
    'Expected a source name of 1 to 100 characters, not white space or invisible characters only.'
  const LONG_SOURCE =
    'Expected a source name of at most 100 characters once normalised as ingest normalises it (NFKC expands some characters); this one is 101 (ingest cuts a longer source to that, so no headline would carry this name).'
  // Each was taken as the option not given: replay --source '' stamped no source, topics create --desks ''
  // created no desk topic; --source of white space only became ingest's default source, and one over 100
  // characters sent every row to the dlq (now ingest cuts it, eb7338c, so no row would carry the name).
  it.each([
    [['replay', SAMPLE], '--source <name>', '', SOURCE],
    [['replay', SAMPLE], '--source <name>', ' ', SOURCE],
    [['replay', SAMPLE], '--source <name>', 'x'.repeat(101), LONG_SOURCE],
    // Invisible only: ingest took it as no source and stamped its default instead.
    [['replay', SAMPLE], '--source <name>', '\u200b', SOURCE],
    [['replay', SAMPLE], '--source <name>', '\u3164', SOURCE],
    [['replay', SAMPLE], '--source <name>', ' \u2800\ufeff ', SOURCE],
    [['topics', 'create'], '--desks [file]', '', 'Expected a desks file, not empty or white space only.'],
    [['topics', 'create'], '--desks [file]', '  ', 'Expected a desks file, not empty or white space only.'],
    [['dlq', 'list'], '--reason <code>', '', 'Expected a reason code, not empty or white space only.'],
    [['dlq', 'replay'], '--topic <name>', ' ', 'Expected a topic name, not empty or white space only.'],
    [
      ['dlq', 'replay'],
      '--since <time>',
      'yesterday',
      'Expected an ISO 8601 time with Z or an offset (2026-03-02T14:00:00Z), or a span back from now: decimal digits and a unit, ms, s, m, h, d or w (30m, 12h, 7d).',
    ],
  ])(
    '%j %s %j: refused naming the command, the option and the value (exit 78)',
    async (command, flags, value, expected) => {
      const where = command.filter((w) => w !== SAMPLE).join(' ')
      const { error, out } = await refusal([...command, flags.split(' ')[0]!, value])
      expect(error).toBeInstanceOf(TradepulseError)
      expect(error).toMatchObject({
        code: 'CONFIG_INVALID',
        message: `${where}: option '${flags}' argument '${value}' is invalid. ${expected} (see tradepulse ${where} --help)`,
      })
      expect(out).toEqual([])
    },
  )

  it('takes a source name of 1 to 100 characters as given', () => {
    for (const name of ['r', 'reuters', 'x'.repeat(100), ' reuters wire ', '\u200bwire', 'ＲＴ'])
      expect(sourceName(name)).toBe(name)
  })
})

describe('numeric options', () => {
  const SAMPLE = 'packages/cli/sample/sample-feed.ndjson'
  const WHOLE_FROM_1 = 'Expected a whole number of at least 1, in decimal digits (0-9).'
  const options: [string[], string, string][] = [
    [['indicators'], '--top <n>', WHOLE_FROM_1],
    [['replay', SAMPLE], '--limit <n>', WHOLE_FROM_1],
    [['replay', SAMPLE], '--batch <n>', WHOLE_FROM_1],
    [
      ['replay', SAMPLE],
      '--rate <n>',
      'Expected a number of at least 0.000001 (one headline in 11.6 days; Node\'s timers wait at most 24.8 days), in decimal notation (digits, one point), or "max".',
    ],
    [
      ['start'],
      '--speed <n>',
      'Expected a number of at least 1 (real time), in decimal notation (digits, one point), or "max".',
    ],
    [
      ['start'],
      '--http-port <n>',
      'Expected a whole number from 0 to 65535 (0: any free port), in decimal digits (0-9).',
    ],
  ]
  // What Number() took: hex, binary, octal, an exponent, a sign, white space, Infinity; and no digits.
  const notations = ['0x10', '0b11', '0o17', '1e3', '+5', ' 5', '5 ', '-5', 'Infinity', '', '1_000', '.5']
  it.each(
    options.flatMap(([command, flags, expected]) =>
      notations.map((value): [string[], string, string, string] => [command, flags, value, expected]),
    ),
  )(
    '%j %s %j: refused, naming the command, the option and the value (exit 78)',
    async (command, flags, value, expected) => {
      const where = command[0]
      const { error, out } = await refusal([...command, flags.split(' ')[0]!, value], { withStart: true })
      expect(error).toBeInstanceOf(TradepulseError)
      expect(error).toMatchObject({
        code: 'CONFIG_INVALID',
        message: `${where}: option '${flags}' argument '${value}' is invalid. ${expected} (see tradepulse ${where} --help)`,
      })
      expect(out).toEqual([])
    },
  )

  it.each([
    [['indicators', '--top', '1.5'], '--top <n>'],
    [['indicators', '--top', '0'], '--top <n>'],
    [['indicators', '--top', '9007199254740992'], '--top <n>'],
    [['replay', SAMPLE, '--limit', '00'], '--limit <n>'],
    [['replay', SAMPLE, '--rate', '0'], '--rate <n>'],
    [['replay', SAMPLE, '--rate', '0.0000009'], '--rate <n>'],
    [['replay', SAMPLE, '--rate', '1.'], '--rate <n>'],
    [['replay', SAMPLE, '--rate', 'MAX'], '--rate <n>'],
    [['start', '--speed', '0.5'], '--speed <n>'],
    [['start', '--http-port', '65536'], '--http-port <n>'],
  ])('%j: out of range or not the form, refused naming %s', async (args, flags) => {
    const { error } = await refusal(args, { withStart: true })
    expect(error).toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining(`option '${flags}' argument '${args.at(-1)}' is invalid. Expected `),
    })
  })
})
