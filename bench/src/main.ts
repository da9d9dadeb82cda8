// `pnpm bench <name>`: runs bench/src/<name>.bench.ts, which prints its figures and writes
// bench/results/<name>.json through writeResult().
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const name = process.argv[2]
const available = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: pnpm bench <${available.join('|')}>\n`)
  process.exit(2)
}
const file = join(import.meta.dirname, `${name}.bench.ts`)
if (!existsSync(file)) process.exit(2)
await import(file)
