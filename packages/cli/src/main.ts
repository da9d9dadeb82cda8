#!/usr/bin/env node
// `tradepulse`: the command line. Each command lives in commands/<name>.ts and registers itself here.
import { startSignals } from './commands/start-signals.ts'

// `start` listens for SIGINT and SIGTERM from the first moment (start-signals.ts): before the rest of the
// command line is loaded, which takes a few hundred ms, so it is imported below, after this.
if (process.argv[2] === 'start') startSignals()

const [
  { exitOnFatal },
  { Command },
  { registerDlq },
  { registerIndicators },
  { registerReplay },
  { registerScore },
  { registerStart },
  { registerTail },
  { registerTopics },
  { usageErrorsInOneLine },
  { warnUnknownVariables },
] = await Promise.all([
  import('@tradepulse/platform'),
  import('commander'),
  import('./commands/dlq.ts'),
  import('./commands/indicators.ts'),
  import('./commands/replay.ts'),
  import('./commands/score.ts'),
  import('./commands/start.ts'),
  import('./commands/tail.ts'),
  import('./commands/topics.ts'),
  import('./usage-errors.ts'),
  import('./unknown-variables.ts'),
])

// A closed pipe (`tradepulse topics list | head`) is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})

const program = new Command()
  .name('tradepulse')
  .description('Trade-policy and supply-chain sentiment from news headlines, over Kafka and Redis')
registerStart(program)
registerScore(program)
registerReplay(program)
registerTopics(program)
registerTail(program)
registerIndicators(program)
registerDlq(program)
usageErrorsInOneLine(program)
// A misspelt variable (GATEWAY_MAX_STREAM) is warned of on stderr before a one-shot command runs, as a
// worker warns of it at its start; `start` runs workers, which do that themselves.
program.hook('preAction', (_program, command) => {
  if (command.parent === program && command.name() === 'start') return
  warnUnknownVariables(process.env)
})

try {
  await program.parseAsync(process.argv)
} catch (err) {
  exitOnFatal(err)
}
