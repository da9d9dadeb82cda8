// What checking an alert against the strict Alert contract costs the alerter, per alert:
// `node services/alerter/src/validation-cost.ts`. The alerts are those the scenario's rules raise on its
// headlines (one evidence headline each) and on its CN level line (the scope's five most recent headlines as
// evidence), as the evaluators make them, in many copies a few hours apart. Each step runs over a chunk of
// CHUNK alerts at a time, in an order that turns from pass to pass; the median of PASSES passes is printed,
// never asserted (timings on a shared machine vary by ±10 % and more). For scale: the handler's whole time
// per alert sent (evaluation, the memory store's claims and commit, the records), and JSON.stringify, which
// every alert costs once (alertRecords).
import { evaluateHeadline, evaluateIndicator, parseRules, type RuleSet } from '@tradepulse/alerting'
import {
  type Alert,
  Alert as AlertSchema,
  createTopicCatalogue,
  type ScoredHeadline,
} from '@tradepulse/contracts'
import type { InRecord } from '@tradepulse/platform'
import { alertProblem } from './alert-contract.ts'
import { createHeadlineMemory } from './headline-memory.ts'
import { createMemoryAlertStore } from './memory-alert-store.ts'
import { SCENARIO_RULES, scenarioHeadlines, scenarioUpdates } from './scenario-fixtures.ts'
import { testAlerterHandler } from './test-handler.ts'

const PASSES = 9
const CHUNK = 32
const COPIES = 400
const HOUR = 3_600_000
const parsed = parseRules(SCENARIO_RULES, 'yaml')
if (!parsed.ok) throw new Error('scenario rules do not parse')
const rules: RuleSet = parsed
const now = Date.now()
const base = scenarioHeadlines(now)

/** Copy `c` of the scenario's headlines, `c` × 3 h later (past every cooldown), ids of its own. */
const copy = (c: number): ScoredHeadline[] =>
  base.map((h) => ({
    ...h,
    id: `${c}-${h.id}`,
    publishedAt: new Date(Date.parse(h.publishedAt) + c * 3 * HOUR).toISOString(),
  }))

function alerts(): { headline: Alert[]; indicator: Alert[] } {
  const headline: Alert[] = []
  const indicator: Alert[] = []
  const memory = createHeadlineMemory({ maxScopes: 1_000, perScope: 5 })
  for (let c = 0; c < COPIES; c++) {
    for (const h of copy(c)) {
      memory.add(h)
      for (const k of evaluateHeadline(rules, h, now).candidates) headline.push(k.alert)
    }
    for (const u of scenarioUpdates(now)) {
      const shifted = { ...u, asOf: new Date(Date.parse(u.asOf) + c * 3 * HOUR).toISOString() }
      const ev = evaluateIndicator(rules, shifted, {}, now, { evidence: memory.evidence })
      for (const k of ev.candidates) indicator.push(k.alert)
    }
  }
  return { headline, indicator }
}

function measure(input: Alert[]): Record<string, number> {
  let sink = 0
  const steps: [string, (a: Alert) => void][] = [
    [
      'check (alertProblem)',
      (a) => {
        if (alertProblem(a) !== undefined) sink++
      },
    ],
    [
      'zod Alert.safeParse',
      (a) => {
        if (AlertSchema.safeParse(a).success) sink++
      },
    ],
    [
      'JSON.stringify',
      (a) => {
        sink += JSON.stringify(a).length
      },
    ],
  ]
  const problems = input.map(alertProblem).filter((p) => p !== undefined)
  if (problems.length > 0) throw new Error(`the evaluators' own alerts refused: ${problems[0]}`)
  const times: Record<string, number[]> = {}
  for (let pass = -1; pass < PASSES; pass++) {
    const ns: Record<string, number> = Object.fromEntries(steps.map(([n]) => [n, 0]))
    for (let from = 0; from < input.length; from += CHUNK) {
      const chunk = input.slice(from, from + CHUNK)
      for (let k = 0; k < steps.length; k++) {
        const [name, step] = steps[(k + pass + 1) % steps.length]!
        const t0 = process.hrtime.bigint()
        for (const a of chunk) step(a)
        ns[name]! += Number(process.hrtime.bigint() - t0)
      }
    }
    if (pass < 0) continue // warm-up
    for (const [name, total] of Object.entries(ns)) {
      times[name] ??= []
      times[name].push(total / input.length)
    }
  }
  if (sink < 0) process.stdout.write('')
  return Object.fromEntries(
    Object.entries(times).map(([name, t]) => [name, t.sort((a, b) => a - b)[t.length >> 1]!]),
  )
}

/** The handler's time per alert it sends, on the memory store: every copy's headlines, a batch per copy. */
async function handlerPerAlert(): Promise<number> {
  const topics = createTopicCatalogue('bench.')
  const runs: number[] = []
  for (let pass = -1; pass < 3; pass++) {
    const { handler, published } = testAlerterHandler({
      topics,
      rules: rules,
      store: createMemoryAlertStore({ dedupWindowMs: 86_400_000, clock: { now: () => now } }),
      nowMs: now,
    })
    const batches: InRecord[][] = []
    for (let c = 0; c < COPIES; c++)
      batches.push(
        copy(c).map((h, i) => ({
          topic: topics.scored.name,
          partition: 0,
          offset: String(c * 100 + i),
          key: Buffer.from(h.id),
          value: Buffer.from(JSON.stringify(h)),
          headers: {},
          timestamp: now,
        })),
      )
    const ctx = { signal: new AbortController().signal }
    const t0 = process.hrtime.bigint()
    for (const b of batches) await handler(b, ctx)
    const ns = Number(process.hrtime.bigint() - t0)
    const sent = published.filter((r) => r.topic === topics.alerts.name).length
    if (pass >= 0) runs.push(ns / sent)
  }
  return runs.sort((a, b) => a - b)[runs.length >> 1]!
}

const { headline, indicator } = alerts()
const perAlert = await handlerPerAlert()
process.stdout.write(
  `median of ${PASSES} passes, ns per alert; the handler's whole time per alert sent (headline rules, memory store): ${perAlert.toFixed(0)} ns\n`,
)
for (const [what, list] of [
  ['headline alerts (one evidence headline)', headline],
  ['indicator alerts (the scope’s recent headlines as evidence)', indicator],
] as const) {
  const m = measure(list)
  const stringify = m['JSON.stringify']!
  process.stdout.write(`${list.length} ${what}:\n`)
  for (const [name, ns] of Object.entries(m))
    process.stdout.write(
      `  ${name.padEnd(24)} ${ns.toFixed(0).padStart(6)} ns  (${((100 * ns) / stringify).toFixed(0)} % of JSON.stringify, ${((100 * ns) / perAlert).toFixed(1)} % of the handler's time per alert)\n`,
    )
}
