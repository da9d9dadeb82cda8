import { type Contribution, contributionProblem } from '@tradepulse/indicators'
import type { Redis, RedisValue } from 'ioredis'
import { normalizeError, TradepulseError } from '../errors.ts'
import { defineScript, type RedisScript } from '../redis/define-script.ts'

// Bump with any change to a script's contract: ioredis caches the SHA under the command name. setBorn,
// advanceWatermark and adoptOlderState ran inline (EVAL) until they were first defined, under V8.
const SCRIPT_VERSION = 'V8'

const SCRIPT_FILES = {
  applyScope: 'applyScope-8.lua',
  applyScopeSums: 'applyScopeSums-8.lua',
  admitScopes: 'admitScopes-1.lua',
  setBorn: 'setBorn-1.lua',
  advanceWatermark: 'advanceWatermark-1.lua',
  adoptOlderState: 'adoptOlderState-2.lua',
} as const
export type IndicatorScript = keyof typeof SCRIPT_FILES

/** The indicator scripts, defined on one client. */
export type IndicatorScripts = Record<IndicatorScript, RedisScript>

/** A pipeline or client seen through the script commands defined on it (ioredis adds them at runtime). */
export type ScriptCaller = Record<string, (...args: RedisValue[]) => unknown>

/** Defines each `lua/<name>-<numberOfKeys>.lua` once per client as the command `<name><SCRIPT_VERSION>`. */
export function indicatorScripts(redis: Redis): IndicatorScripts {
  const scripts = {} as IndicatorScripts
  for (const [script, file] of Object.entries(SCRIPT_FILES) as [IndicatorScript, string][]) {
    const match = /^(?<name>[a-z][a-zA-Z]*)-(?<keys>\d+)\.lua$/.exec(file)
    if (!match?.groups) throw new Error(`Lua script file ${file} must be named <name>-<numberOfKeys>.lua`)
    scripts[script] = defineScript(redis, {
      command: `${match.groups.name}${SCRIPT_VERSION}`,
      file: new URL(`./lua/${file}`, import.meta.url),
      numberOfKeys: Number(match.groups.keys),
    })
  }
  return scripts
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
