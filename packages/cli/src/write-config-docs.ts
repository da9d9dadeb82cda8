// `pnpm docs:config`: regenerates the configuration table in README.md from the zod schemas.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { updateConfigSection } from './config-docs.ts'

const file = join(import.meta.dirname, '..', '..', '..', 'README.md')
writeFileSync(file, updateConfigSection(readFileSync(file, 'utf8')))
process.stdout.write(`updated ${file}\n`)
