import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Contribution, contributionProblem } from '@tradepulse/indicators'
import type { Redis, RedisValue } from 'ioredis'
import { normalizeError, TradepulseError } from '../errors.ts'

const LUA_DIR = join(import.meta.dirname, 'lua')
// Bump with any change to a script's contract: ioredis caches the SHA under the command name.
const SCRIPT_VERSION = 'V8'

const SCRIPT_FILES = {
  applyScope: 'applyScope-8.lua',
  applyScopeSums: 'applyScopeSums-8.lua',
  admitScopes: 'admitScopes-1.lua',
} as const
export type IndicatorScript = keyof typeof SCRIPT_FILES

/** Command names of the indicator scripts on one client. */
export type IndicatorCommands = Record<IndicatorScript, string>

/** A pipeline or client seen through the script commands defined on it (ioredis adds them at runtime). */
export type ScriptCaller = Record<string, (...args: RedisValue[]) => unknown>

/** Defines each `lua/<name>-<numberOfKeys>.lua` once per client as the command `<name><SCRIPT_VERSION>`. */
export function defineIndicatorScripts(redis: Redis): IndicatorCommands {
  const commands = {} as IndicatorCommands
  for (const [script, file] of Object.entries(SCRIPT_FILES) as [IndicatorScript, string][]) {
    const match = /^(?<name>[a-z][a-zA-Z]*)-(?<keys>\d+)\.lua$/.exec(file)
    if (!match?.groups) throw new Error(`Lua script file ${file} must be named <name>-<numberOfKeys>.lua`)
    const command = `${match.groups.name}${SCRIPT_VERSION}`
    if (!(command in redis)) {
      redis.defineCommand(command, {
        numberOfKeys: Number(match.groups.keys),
        lua: readFileSync(join(LUA_DIR, file), 'utf8'),
      })
    }
    commands[script] = command
  }
  return commands
}

/**
 * The one place script errors become TradepulseErrors: "TPIND_BAD_ARGS" is a caller bug (never
 * retried); anything else is Redis itself and normalised as usual.
 */
export function scriptError(err: unknown): TradepulseError {
  if (err instanceof Error && err.message.includes('TPIND_BAD_ARGS')) {
    return new TradepulseError('INTERNAL', `indicator script rejected its arguments: ${err.message}`, {
      cause: err,
    })
  }
  return normalizeError(err)
}

/** Rejects a batch holding an invalid contribution, before anything is written (a caller bug, not retried). */
export function assertValidContributions(contributions: readonly Contribution[]): void {
  for (const c of contributions) {
    const problem = contributionProblem(c)
    if (problem)
      throw new TradepulseError('INTERNAL', `invalid indicator contribution for ${c.headlineId}: ${problem}`)
  }
}

/** Unwraps a pipeline's [error, result] pairs, throwing the first error. */
export function pipelineResults(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new TradepulseError('INFRA_REDIS', 'pipeline was discarded')
  return results.map(([err, value]) => {
    if (err) throw scriptError(err)
    return value
  })
}
