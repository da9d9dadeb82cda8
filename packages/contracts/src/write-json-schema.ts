// `pnpm contracts:schema [DIR]`: writes one <Payload>.schema.json per payload (default: the committed
// packages/contracts/json-schema). Refuses, writing nothing, when the files there state the current contract
// version and would change: bump CONTRACT_VERSION first, so no change reaches consumers under a version
// they already hold.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { CONTRACT_VERSION } from './contract-version.ts'
import { jsonSchemaFiles, unversionedChanges } from './json-schema.ts'

const dir = resolve(process.argv[2] ?? join(import.meta.dirname, '..', 'json-schema'))
mkdirSync(dir, { recursive: true })
const files = jsonSchemaFiles()
const written = Object.fromEntries(
  readdirSync(dir)
    .filter((f) => f.endsWith('.schema.json'))
    .map((f) => [f, readFileSync(join(dir, f), 'utf8')]),
)
const changed = unversionedChanges(written, files)
if (changed.length > 0) {
  process.stderr.write(
    `contracts:schema: ${changed.join(', ')} would change under contract version ${CONTRACT_VERSION}, which ` +
      'consumers already hold: bump CONTRACT_VERSION in packages/contracts/src/contract-version.ts ' +
      '(minor: what a file takes changed; patch: descriptions only), then run this again\n',
  )
  process.exit(1)
}
// A payload no longer published leaves no file behind.
for (const f of Object.keys(written)) if (!(f in files)) rmSync(join(dir, f))
for (const [name, text] of Object.entries(files)) {
  const file = join(dir, name)
  writeFileSync(file, text)
  process.stdout.write(`${file}\n`)
}
