import { createScorer } from '@tradepulse/scoring'
import { readReutersRows } from './shared-data.ts'
const rows = readReutersRows()!
const hs = rows.map((r) => JSON.parse(JSON.stringify(r.headline)) as string)
const s = createScorer({})
let sink = 0
const t0 = Date.now()
for (let p = 0; p < 40; p++) for (const h of hs) if (s.score({ headline: h })) sink++
console.log(hs.length, sink, (hs.length * 40) / ((Date.now() - t0) / 1000))
