#!/usr/bin/env node
// `tradepulse`: the command line. Each command lives in commands/<name>.ts and registers itself here.
import { exitOnFatal } from '@tradepulse/platform'
import { Command } from 'commander'
import { registerScore } from './commands/score.ts'
import { registerStart } from './commands/start.ts'
import { registerTopics } from './commands/topics.ts'

const program = new Command()
  .name('tradepulse')
  .description('Trade-policy and supply-chain sentiment from news headlines, over Kafka and Redis')
  .showHelpAfterError()
registerStart(program)
registerScore(program)
registerTopics(program)

try {
  await program.parseAsync(process.argv)
} catch (err) {
  exitOnFatal(err)
}
