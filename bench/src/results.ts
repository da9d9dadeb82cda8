import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'

export const RESULTS_DIR = join(import.meta.dirname, '..', 'results')

/** Writes bench/results/<name>.json with the figures and the machine they were measured on. */
export function writeResult(name: string, figures: Record<string, unknown>): string {
  mkdirSync(RESULTS_DIR, { recursive: true })
  const file = join(RESULTS_DIR, `${name}.json`)
  const machine = {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memBytes: totalmem(),
  }
  writeFileSync(
    file,
    `${JSON.stringify({ ...figures, measuredAt: new Date().toISOString(), machine }, null, 2)}\n`,
  )
  return file
}
