// `pnpm train <name>`: trains a model of the scorer from our labelled headlines and writes it into
// the scoring package (see bench/src/train).
import { runTrainTariff } from './train/tariff-model.ts'

const trainers: Record<string, (argv: string[]) => void> = { tariff: runTrainTariff }

const name = process.argv[2]
const run = name ? trainers[name] : undefined
if (!run) {
  process.stderr.write(`usage: pnpm train <${Object.keys(trainers).join('|')}> [options]\n`)
  process.exit(2)
}
run(process.argv.slice(3))
