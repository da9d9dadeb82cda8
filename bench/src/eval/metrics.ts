// Plain classification and regression metrics for the eval table.

export function accuracy<L>(gold: readonly L[], pred: readonly L[]): number {
  if (gold.length === 0) return Number.NaN
  let ok = 0
  for (let i = 0; i < gold.length; i++) if (gold[i] === pred[i]) ok++
  return ok / gold.length
}

/** Mean of per-class F1 over `classes` (a class absent from both gold and predictions is skipped). */
export function macroF1<L>(gold: readonly L[], pred: readonly L[], classes: readonly L[]): number {
  const f1s = perClass(gold, pred, classes)
    .map((r) => r.f1)
    .filter((f) => !Number.isNaN(f))
  return f1s.length === 0 ? Number.NaN : f1s.reduce((a, b) => a + b, 0) / f1s.length
}

/** SemEval-2017 task 5 metric: cosine similarity of the predicted and gold score vectors. */
export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0
    const y = b[i] ?? 0
    dot += x * y
    na += x * x
    nb += y * y
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb)
}

/** Precision and recall of "relevant" (anything but `none`). */
export function relevancePR(
  gold: readonly string[],
  pred: readonly string[],
  none = 'none',
): { precision: number; recall: number } {
  let tp = 0
  let fp = 0
  let fn = 0
  for (let i = 0; i < gold.length; i++) {
    const g = gold[i] !== none
    const p = pred[i] !== none
    if (g && p) tp++
    else if (p) fp++
    else if (g) fn++
  }
  return {
    precision: tp + fp === 0 ? Number.NaN : tp / (tp + fp),
    recall: tp + fn === 0 ? Number.NaN : tp / (tp + fn),
  }
}

/** Precision, recall and F1 of each class (NaN where undefined: no predictions or no gold rows). */
export function perClass<L>(
  gold: readonly L[],
  pred: readonly L[],
  classes: readonly L[],
): { cls: L; precision: number; recall: number; f1: number; support: number }[] {
  return classes.map((c) => {
    let tp = 0
    let fp = 0
    let fn = 0
    for (let i = 0; i < gold.length; i++) {
      const g = gold[i] === c
      const p = pred[i] === c
      if (g && p) tp++
      else if (p) fp++
      else if (g) fn++
    }
    return {
      cls: c,
      precision: tp + fp === 0 ? Number.NaN : tp / (tp + fp),
      recall: tp + fn === 0 ? Number.NaN : tp / (tp + fn),
      f1: tp + fp + fn === 0 ? Number.NaN : (2 * tp) / (2 * tp + fp + fn),
      support: tp + fn,
    }
  })
}

/** Counts of (gold, predicted) pairs: matrix[g][p] over `classes` (pairs outside them are dropped). */
export function confusion<L>(gold: readonly L[], pred: readonly L[], classes: readonly L[]): number[][] {
  const m = classes.map(() => classes.map(() => 0))
  for (let i = 0; i < gold.length; i++) {
    const g = classes.indexOf(gold[i] as L)
    const p = classes.indexOf(pred[i] as L)
    if (g >= 0 && p >= 0) (m[g] as number[])[p] = ((m[g] as number[])[p] as number) + 1
  }
  return m
}

/**
 * Tariff direction: among the rows whose gold label is clearly escalating or de-escalating
 * (negative / positive) and that the scorer marked relevant (any label but `none`), the share it gave
 * the gold direction. NaN when there is no such row.
 */
export function directionAccuracy(
  gold: readonly string[],
  pred: readonly string[],
): { accuracy: number; n: number } {
  return directionShare(gold, pred, (i, g) => pred[i] === g)
}

/**
 * The second reading of tariff direction: the same rows as directionAccuracy, the direction read off
 * the sign of the score rather than the label, so that a headline labelled neutral (its score inside
 * the neutral band) still counts when its score leans the gold way. A score of exactly 0 has no
 * direction and counts as wrong.
 */
export function directionBySign(
  gold: readonly string[],
  pred: readonly string[],
  score: readonly number[],
): { accuracy: number; n: number } {
  return directionShare(gold, pred, (i, g) =>
    g === 'positive' ? (score[i] as number) > 0 : (score[i] as number) < 0,
  )
}

/** The share of the rows directionAccuracy counts (gold negative or positive, marked relevant) that `ok` accepts. */
function directionShare(
  gold: readonly string[],
  pred: readonly string[],
  ok: (i: number, gold: 'negative' | 'positive') => boolean,
): { accuracy: number; n: number } {
  let n = 0
  let right = 0
  for (let i = 0; i < gold.length; i++) {
    const g = gold[i]
    if ((g !== 'negative' && g !== 'positive') || pred[i] === 'none') continue
    n++
    if (ok(i, g)) right++
  }
  return { accuracy: n === 0 ? Number.NaN : right / n, n }
}
