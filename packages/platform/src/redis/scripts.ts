import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Redis } from 'ioredis'

const SCRIPTS_DIR = join(import.meta.dirname, 'lua')
// Bump with any change to a script's contract: the name is what ioredis caches the SHA under.
const SCRIPT_VERSION = 'v1'

/** Loads `lua/<name>-<numberOfKeys>.lua` once per client as the command `<name>V1`. */
export function defineScript(redis: Redis, file: string): string {
  const match = /^(?<name>[a-z][a-zA-Z]*)-(?<keys>\d+)\.lua$/.exec(file)
  if (!match?.groups) throw new Error(`Lua script file ${file} must be named <name>-<numberOfKeys>.lua`)
  const command = `${match.groups.name}${SCRIPT_VERSION.toUpperCase()}`
  if (!(command in redis)) {
    redis.defineCommand(command, {
      numberOfKeys: Number(match.groups.keys),
      lua: readFileSync(join(SCRIPTS_DIR, file), 'utf8'),
    })
  }
  return command
}
