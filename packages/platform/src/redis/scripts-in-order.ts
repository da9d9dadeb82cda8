import { Command, type Redis } from 'ioredis'
import {
  beforeSendCommand,
  type DefinedScript,
  definedScripts,
  isPipelineStream,
} from './ioredis-internals.ts'

/**
 * Makes the first call of each script in each pipeline (an explicit one, a transaction, an auto-pipeline)
 * go out whole (EVAL), its other calls by SHA (EVALSHA), so Redis always has the script by the time a
 * pipeline's calls of it run.
 *
 * ioredis sends a script whole only the first time a connection sends it. After SCRIPT FLUSH (or a script
 * cache lost behind a proxy that kept the connection), Redis answers its next calls NOSCRIPT, and ioredis
 * sends each such call again, whole, on its own: after the rest of its pipeline had run (other scripts,
 * one sent whole the first time; plain commands; calls Redis found the script for once another client
 * loaded it in between) and after whatever else was written meanwhile. Calls a caller issued in order (the
 * indicator store's admissions run after run, the alerter's claims of one stream) then ran in another.
 *
 * The price: each pipeline carries each of its scripts' text once (the largest, applyScope, about 19 kB).
 * A flush while one pipeline is being run (Redis reads a large one in several parts) can still fail its
 * later calls, which ioredis sends again after the rest.
 */
export function sendScriptsInOrder(redis: Redis): void {
  // Per pipeline, by the stream ioredis writes it through (sent again whole, with the same stream, after a
  // reconnection): the scripts whose first call in it is known.
  const firstCalls = new WeakMap<object, Set<DefinedScript>>()
  beforeSendCommand(redis, (command, stream) => {
    if (command.constructor === Command || !isPipelineStream(stream)) return
    const script = definedScripts(redis).find((s) => command instanceof s.Command)
    if (!script) return
    const scripts = firstCalls.get(stream) ?? new Set<DefinedScript>()
    firstCalls.set(stream, scripts)
    if (!scripts.has(script)) {
      scripts.add(script)
      writeWhole(command, script.lua)
    }
  })
}

/**
 * Writes `command`, an EVALSHA of a defined script, as an EVAL of its text every time it is written. Only
 * on the wire: the command still names EVALSHA and the SHA, so its error reply names it as every other
 * call of the script (the reply breaker compares the command Redis refused) and no log holds the script's
 * text (ioredis's own first call of a script on a connection kept both).
 */
function writeWhole(command: Command, lua: string): void {
  command.toWritable = function (this: Command, socket: object) {
    const { name, args } = this
    const sha = args[0]
    this.name = 'eval'
    args[0] = lua
    try {
      return Command.prototype.toWritable.call(this, socket)
    } finally {
      this.name = name
      args[0] = sha as (typeof args)[0]
    }
  }
}
