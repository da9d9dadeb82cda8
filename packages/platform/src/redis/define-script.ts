import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { ChainableCommander, Redis, RedisValue } from 'ioredis'
import { TradepulseError } from '../errors.ts'
import { definedScripts } from './ioredis-internals.ts'

/**
 * A Redis Lua script of ours: a `.lua` file beside its caller, defined on a client under a versioned
 * command name. ioredis caches a script's SHA under its name, and a pipeline or a connection may still
 * hold it: bump the version with any change to the script's contract (its keys, arguments, replies or
 * what it writes), so an old script never runs under a new contract. A script moved without a change
 * keeps its name.
 */
export type ScriptSpec = {
  /** The command name, versioned (`tpAlertClaimV3`). */
  command: string
  /** The script's file, beside its caller: `new URL('./lua/claim-alert-3.lua', import.meta.url)`. */
  file: URL
  /** How many of a call's arguments are KEYS, if always as many; else each call gives that count first. */
  numberOfKeys?: number
}

/**
 * A script defined on one client: called as a command of that client (EVALSHA, its text sent whole when
 * Redis lacks it), or queued on a pipeline or transaction of that client (`queue`). From a createRedis
 * client, each pipeline carries the script's text with its first call of it (sendScriptsInOrder).
 */
export type RedisScript<Reply = unknown> = {
  (...args: RedisValue[]): Promise<Reply>
  /** The command the script is defined under. */
  readonly command: string
  /** Queues a call on `pipeline`, one of the client the script was defined on, made after it was defined. */
  queue(pipeline: ChainableCommander, ...args: RedisValue[]): void
}

type ScriptMethods = Record<string, ((...args: RedisValue[]) => unknown) | undefined>

/** Each script file's text, read once per process. */
const TEXTS = new Map<string, string>()

function scriptText({ command, file }: ScriptSpec): string {
  let lua = TEXTS.get(file.href)
  if (lua === undefined) {
    try {
      lua = readFileSync(file, 'utf8')
    } catch (err) {
      const path = file.protocol === 'file:' ? fileURLToPath(file) : file.href
      throw new TradepulseError(
        'INTERNAL',
        `cannot read the Lua script of Redis command ${command} from ${path}: ${(err as Error).message}`,
        { cause: err },
      )
    }
    if (lua.trim() === '')
      throw new TradepulseError(
        'INTERNAL',
        `the Lua script of Redis command ${command} (${file.href}) is empty`,
      )
    TEXTS.set(file.href, lua)
  }
  return lua
}

/**
 * Defines the script `spec` on `redis` as the command `spec.command`, once per client (a client that
 * has it already keeps it), and returns it bound to the client. Every Lua script Tradepulse runs is
 * defined here: none is sent inline (EVAL), so each goes by SHA but for its first call in a pipeline.
 * Throws (INTERNAL) if the file cannot be read, or if the client has a command of that name that is not
 * this script (another script under the same name: a version not bumped).
 */
export function defineScript<Reply = unknown>(redis: Redis, spec: ScriptSpec): RedisScript<Reply> {
  const { command, numberOfKeys } = spec
  const lua = scriptText(spec)
  if (!(command in redis)) {
    redis.defineCommand(command, numberOfKeys === undefined ? { lua } : { lua, numberOfKeys })
  } else if (!definedScripts(redis).some((s) => s.lua === lua)) {
    throw new TradepulseError(
      'INTERNAL',
      `Redis command ${command} is already defined on this client, by another script than ${spec.file.href}: give a changed script a new version`,
    )
  }
  const method = (redis as unknown as ScriptMethods)[command]!
  const call = ((...args: RedisValue[]) => method.apply(redis, args)) as RedisScript<Reply>
  Object.defineProperty(call, 'command', { value: command })
  call.queue = (pipeline, ...args) => {
    const queued = (pipeline as unknown as ScriptMethods)[command]
    if (!queued)
      throw new TradepulseError(
        'INTERNAL',
        `this pipeline has no Redis command ${command}: make pipelines of the client after defining the script`,
      )
    queued.apply(pipeline, args)
  }
  return call
}
