// `pnpm docs:config`: regenerates, from the zod schemas of the workers' registry, the configuration table in
// README.md and the variables platform knows (packages/platform/src/declared-variables.ts).
import { join } from 'node:path'
import { DECLARED_VARIABLES_FILE, writeConfigSection, writeDeclaredVariables } from './config-docs.ts'

const file = join(import.meta.dirname, '..', '..', '..', 'README.md')
process.stdout.write(`${writeConfigSection(file)} ${file}\n`)
process.stdout.write(`${writeDeclaredVariables()} ${DECLARED_VARIABLES_FILE}\n`)
