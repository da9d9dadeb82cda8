// `pnpm eval <name>`: quality evaluations that print a table and write bench/results/eval-<name>.json.
import { runBuzzEval } from './eval/buzz-eval.ts'
import { runScoringEval } from './eval/scoring-eval.ts'

const evals: Record<string, () => void> = { scoring: runScoringEval, buzz: runBuzzEval }

const name = process.argv[2]
const run = name ? evals[name] : undefined
if (!run) {
  process.stderr.write(`usage: pnpm eval <${Object.keys(evals).join('|')}>\n`)
  process.exit(2)
}
run()
