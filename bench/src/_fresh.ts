import { createScorer } from '@tradepulse/scoring'
import { loadReutersLabels } from './eval/labels.ts'
import { directionAccuracy, macroF1 } from './eval/metrics.ts'
const draw = process.argv[2] ?? '24'
const rows = loadReutersLabels()!.rows.filter((r) => r.draw === draw)
const C = ['none', 'negative', 'neutral', 'positive']
for (const learned of [false, true]) {
  const s = createScorer({ learned })
  const pred = rows.map((r) => s.score({ headline: r.headline }).scores.tariff.label ?? 'none')
  const gold = rows.map((r) => r.tariff)
  const d = directionAccuracy(gold, pred)
  console.log(learned ? 'rules + learned' : 'rules only     ', `draw ${draw} n=${rows.length}`, macroF1(gold, pred, C).toFixed(3), '/', d.accuracy.toFixed(3), `(n=${d.n})`)
}
