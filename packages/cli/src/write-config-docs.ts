// `pnpm docs:config`: regenerates the configuration table in README.md from the zod schemas.
import { join } from 'node:path'
import { writeConfigSection } from './config-docs.ts'

const file = join(import.meta.dirname, '..', '..', '..', 'README.md')
process.stdout.write(`${writeConfigSection(file)} ${file}\n`)
