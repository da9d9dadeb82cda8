// `pnpm contracts:schema [DIR]`: writes one <Payload>.schema.json per payload (default: contracts/json-schema).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { exportJsonSchemas } from './json-schema.ts'

const dir = resolve(process.argv[2] ?? join(import.meta.dirname, '..', 'json-schema'))
mkdirSync(dir, { recursive: true })
for (const [name, schema] of Object.entries(exportJsonSchemas())) {
  const file = join(dir, `${name}.schema.json`)
  writeFileSync(file, `${JSON.stringify(schema, null, 2)}\n`)
  process.stdout.write(`${file}\n`)
}
