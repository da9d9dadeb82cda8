#!/usr/bin/env node
// `tradepulse`: the command line. Each command lives in commands/<name>.ts and registers itself here.
import { exitOnFatal } from '@tradepulse/platform'
import { Command } from 'commander'
import { registerIndicators } from './commands/indicators.ts'
import { registerReplay } from './commands/replay.ts'
import { registerScore } from './commands/score.ts'
import { registerStart } from './commands/start.ts'
import { registerTail } from './commands/tail.ts'
import { registerTopics } from './commands/topics.ts'

// A closed pipe (`tradepulse topics list | head`) is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})

const program = new Command()
  .name('tradepulse')
  .description('Trade-policy and supply-chain sentiment from news headlines, over Kafka and Redis')
  .showHelpAfterError()
registerStart(program)
registerScore(program)
registerReplay(program)
registerTopics(program)
registerTail(program)
registerIndicators(program)

try {
  await program.parseAsync(process.argv)
} catch (err) {
  exitOnFatal(err)
}
