// `pnpm train tariff`: trains the learned tariff layer (packages/scoring/src/learned.ts) on the dev
// rows of our own labels (bench/eval/reuters-labels.csv and news-labels.csv; never a held-out row)
// and writes packages/scoring/src/data/tariff-model.json. The features are the rule scorer's output,
// so retrain after any change to the lexicons or rules.
//
//   pnpm train tariff                   train on all dev rows and write the model file
//   pnpm train tariff --cv              grouped cross-validation over the draws instead (writes nothing)
//   pnpm train tariff --cv --neutral-bias 0.5,1,1.5
//   pnpm train tariff --cv --errors     also print the Reuters dev rows cross-validation gets wrong
//                                       (gold directional, predicted otherwise: the class that costs
//                                       direction; dev rows only, never a held-out row)
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  createScorer,
  lexiconTariffModel,
  RULES_FINGERPRINT,
  TARIFF_CLASSES,
  type TariffModelData,
} from '@tradepulse/scoring'
import { type LabelledRow, loadNewsLabels, loadReutersLabels } from '../eval/labels.ts'
import { directionAccuracy, macroF1 } from '../eval/metrics.ts'
import { type TrainingRow, type TrainOptions, trainLogistic, type Weights } from './logistic.ts'

export const MODEL_FILE = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'packages',
  'scoring',
  'src',
  'data',
  'tariff-model.json',
)

/** Chosen by `--cv` (see bench/eval/README.md, "The learned tariff layer"). */
export const TRAIN_OPTIONS: TrainOptions = {
  classes: TARIFF_CLASSES.length,
  l2: 3e-3,
  epochs: 200,
  learningRate: 0.05,
  sparsePrefixes: ['w=', 'ev='],
  minCount: 3,
}
export const NEUTRAL_BIAS = 0.8
/**
 * A word or word pair whose weights span less than this (largest minus smallest: what moves the
 * decision) is left out of the file: a smaller model the scorer reads faster, at no loss the
 * cross-validation can see.
 */
export const PRUNE_BELOW = 0.1

export interface Example {
  row: LabelledRow
  /** The rule scorer's tariff label: `none` when null. */
  rule: string
  training: TrainingRow
}

/** A headline as duplicates are found: lower case, whitespace collapsed. */
export function headlineKey(headline: string): string {
  return headline.toLowerCase().replace(/\s+/g, ' ').trim()
}

/**
 * The rows the model learns from: dev rows only, never one whose headline is also a held-out row's
 * (`heldOut`: their headlineKeys; the streams repeat some headlines), and of those only the headlines
 * the rules label on the tariff dimension (the layer reads a subset of those at run time: short of a
 * strong score).
 */
export function examples(rows: LabelledRow[], heldOut: ReadonlySet<string> = new Set()): Example[] {
  const scorer = createScorer({ learned: false })
  const out: Example[] = []
  for (const row of rows) {
    if (row.split !== 'dev' || heldOut.has(headlineKey(row.headline))) continue
    const label = TARIFF_CLASSES.indexOf(row.tariff as (typeof TARIFF_CLASSES)[number])
    if (label < 0)
      throw new Error(`row ${row.ref}: tariff label "${row.tariff}" is not one of ${TARIFF_CLASSES}`)
    const { rule, features } = scorer.features({ headline: row.headline })
    if (rule.scores.tariff.label === null) continue
    out.push({ row, rule: rule.scores.tariff.label ?? 'none', training: { features, label } })
  }
  return out
}

/** The model file's content: weights rounded to 5 decimals, one feature per line when written. */
export function modelData(
  w: Weights,
  neutralBias: number,
  trainedOn: Record<string, unknown>,
  pruneBelow = PRUNE_BELOW,
): TariffModelData {
  const weights: Record<string, number[]> = {}
  for (const k of [...w.keys()].sort()) {
    const v = w.get(k) as Float64Array
    if (k.startsWith('w=') && Math.max(...v) - Math.min(...v) < pruneBelow) continue
    weights[k] = [...v].map((x) => Math.round(x * 1e5) / 1e5)
  }
  return { format: 3, neutralBias, trainedOn, weights }
}

export function serialise(data: TariffModelData): string {
  const head = JSON.stringify({
    format: data.format,
    neutralBias: data.neutralBias,
    trainedOn: data.trainedOn,
  })
  const lines = Object.entries(data.weights).map(([k, w]) => `    ${JSON.stringify(k)}: ${JSON.stringify(w)}`)
  return `${head.slice(0, -1)},\n  "weights": {\n${lines.join(',\n')}\n  }\n}\n`
}

/** The group a row is cross-validated in: its source family and draw. */
function drawOf(row: LabelledRow): string {
  return `${row.source === 'reuters' ? 'reuters' : 'news'}:${row.draw}`
}

function labelsOf(model: ReturnType<typeof lexiconTariffModel>, rows: LabelledRow[]): string[] {
  const scorer = createScorer({ learned: false })
  return rows.map((row) => {
    const { rule, features, reads } = scorer.features({ headline: row.headline })
    if (!reads) return rule.scores.tariff.label ?? 'none'
    return model.readNamed(rule, features).label ?? 'none'
  })
}

function report(name: string, rows: LabelledRow[], rule: string[], model: string[]): void {
  const gold = rows.map((r) => r.tariff)
  const f = (pred: string[]) => {
    const d = directionAccuracy(gold, pred)
    return `${macroF1(gold, pred, TARIFF_CLASSES).toFixed(3)} / ${d.accuracy.toFixed(3)} (n=${d.n})`
  }
  process.stdout.write(
    `${name.padEnd(28)} n=${String(rows.length).padStart(4)}  rules ${f(rule)}  learned ${f(model)}\n`,
  )
}

/** The headlineKeys of the held-out rows. */
function heldOutKeys(rows: LabelledRow[]): Set<string> {
  return new Set(rows.filter((r) => r.split !== 'dev').map((r) => headlineKey(r.headline)))
}

/** Grouped k-fold cross-validation over the draws: each fold's draws are predicted by a model trained on the others. */
function crossValidate(all: LabelledRow[], folds: number, biases: number[], errors = false): void {
  const heldOut = heldOutKeys(all)
  const dev = all.filter((r) => r.split === 'dev')
  // A headline repeated in several draws goes with its first draw, so no copy is both trained on
  // and predicted.
  const firstDraw = new Map<string, string>()
  for (const r of dev)
    if (!firstDraw.has(headlineKey(r.headline))) firstDraw.set(headlineKey(r.headline), drawOf(r))
  const groupOf = (r: LabelledRow) => firstDraw.get(headlineKey(r.headline)) as string
  const groups = [...new Set(dev.map(groupOf))]
  const ruleScorer = createScorer({ learned: false })
  const rule = new Map(
    dev.map((r) => [r, ruleScorer.score({ headline: r.headline }).scores.tariff.label ?? 'none']),
  )
  const fitted: { held: Set<string>; weights: Weights }[] = []
  for (let f = 0; f < folds; f++) {
    const held = new Set(groups.filter((_, i) => i % folds === f))
    const train = examples(
      dev.filter((r) => !held.has(groupOf(r))),
      heldOut,
    )
    fitted.push({
      held,
      weights: trainLogistic(
        train.map((e) => e.training),
        TRAIN_OPTIONS,
      ),
    })
    process.stderr.write(`fold ${f + 1}/${folds} trained on ${train.length} rows\n`)
  }
  for (const bias of biases) {
    process.stdout.write(`neutral bias ${bias}: 4-class macro-F1 / direction\n`)
    const pred = new Map<LabelledRow, string>()
    for (const { held, weights } of fitted) {
      const model = lexiconTariffModel(modelData(weights, bias, {}))
      const rows = dev.filter((r) => held.has(groupOf(r)))
      const labels = labelsOf(model, rows)
      for (const [i, r] of rows.entries()) pred.set(r, labels[i] as string)
    }
    const sets: [string, LabelledRow[]][] = [
      ['Reuters dev', dev.filter((r) => r.source === 'reuters')],
      // The draws labelled with the held-out rows, in the same session and by the same conventions.
      ['Reuters draws 1-3', dev.filter((r) => r.source === 'reuters' && r.draw === '1-3')],
      ['Reuters draws 19+', dev.filter((r) => r.source === 'reuters' && Number(r.draw) >= 19)],
      ['News dev', dev.filter((r) => r.source !== 'reuters')],
    ]
    for (const [name, rows] of sets) {
      report(
        `  ${name}`,
        rows,
        rows.map((r) => rule.get(r) as string),
        rows.map((r) => pred.get(r) as string),
      )
    }
    if (!errors) continue
    for (const r of dev) {
      const p = pred.get(r) as string
      if (r.source !== 'reuters' || (r.tariff !== 'negative' && r.tariff !== 'positive') || p === r.tariff)
        continue
      process.stdout.write(`    ${r.ref}\t${r.tariff}\t${p}\trules ${rule.get(r)}\t${r.headline}\n`)
    }
  }
}

export function runTrainTariff(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      cv: { type: 'boolean', default: false },
      folds: { type: 'string', default: '5' },
      'neutral-bias': { type: 'string', default: String(NEUTRAL_BIAS) },
      errors: { type: 'boolean', default: false },
    },
  })
  const reuters = loadReutersLabels()
  const news = loadNewsLabels()
  if (!reuters || !news) {
    process.stderr.write(
      'train tariff: ../shared/data streams or our label files are absent; nothing trained\n',
    )
    process.exitCode = 1
    return
  }
  const all = [...reuters.rows, ...news.rows]
  const biases = (values['neutral-bias'] ?? '').split(',').map(Number)
  if (biases.some((b) => !Number.isFinite(b)))
    throw new Error(`--neutral-bias: not a number list: ${values['neutral-bias']}`)
  if (values.cv) {
    const folds = Number(values.folds)
    if (!Number.isInteger(folds) || folds < 2)
      throw new Error(`--folds: an integer of at least 2, not ${values.folds}`)
    crossValidate(all, folds, biases, values.errors)
    return
  }
  if (biases.length !== 1) throw new Error('--neutral-bias: one value when training the model file')
  const train = examples(all, heldOutKeys(all))
  const weights = trainLogistic(
    train.map((e) => e.training),
    TRAIN_OPTIONS,
  )
  const perClass = TARIFF_CLASSES.map((c, i) => `${c} ${train.filter((e) => e.training.label === i).length}`)
  const data = modelData(weights, biases[0] as number, {
    rules: RULES_FINGERPRINT,
    rows: train.length,
    reuters: train.filter((e) => e.row.source === 'reuters').length,
    news: train.filter((e) => e.row.source !== 'reuters').length,
    classes: perClass.join(', '),
    l2: TRAIN_OPTIONS.l2,
    epochs: TRAIN_OPTIONS.epochs,
    minCount: TRAIN_OPTIONS.minCount,
    pruneBelow: PRUNE_BELOW,
  })
  writeFileSync(MODEL_FILE, serialise(data))
  process.stdout.write(
    `trained on ${train.length} dev rows (${perClass.join(', ')}); ${weights.size} features, ${Object.keys(data.weights).length} kept; wrote ${MODEL_FILE}\n`,
  )
}
