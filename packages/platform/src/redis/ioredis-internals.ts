// What Tradepulse reads and hooks of ioredis that is not its public API, in one place: read from ioredis
// 6.0.0 (IOREDIS_READ_FROM; built/Redis.js, built/redis/event_handler.js, built/Pipeline.js,
// built/Script.js, built/utils/Commander.js). After an upgrade of ioredis, read those again against what
// each hook below relies on: the guard (ioredisInternals) catches a member gone or renamed, not a change of
// when ioredis calls it; the int tests of redis-client and scripts-in-order catch that.
//
// The members, and who relies on what:
// - `setStatus(status, arg)` (private), hooked by createRedis (redis-client.ts, sendNothingSettled: a
//   command failed by its timeout is never sent later). Relies on: ioredis's ready handler calling
//   setStatus('ready') and then, synchronously with no event in between, sending its `prevCommandQueue`
//   (when autoResendUnfulfilledCommands) and then its `offlineQueue`, each item through sendCommand.
// - `offlineQueue` (private): a deque of { command, stream, select } items, the commands issued while the
//   connection was not ready, replaced by a new deque as it is sent (resetOfflineQueue): read anew at
//   every use, never kept.
// - `commandQueue` (@ignore in the typings): the commands written on the open connection, awaiting their
//   replies. ioredis's close handler makes it `prevCommandQueue` (not in the typings; undefined or null
//   otherwise) when the connection closed unanswered from ready, before the 'close' event is emitted (that
//   comes on the next tick): createRedis fails those on 'close' with autoResendUnfulfilledCommands off
//   (failUnfulfilled), and takes the ones already failed out of them at 'ready' otherwise.
// - Queue items' `command.isSettled` (typed) and `stream`: the pipeline a command was written with, the
//   same object for every command of one exec (a transaction, an auto-pipeline). ioredis writes a
//   pipeline's commands to the socket in one write once all of them are written to it: one left out holds
//   the others unwritten (hence sendNothingSettled fails the rest of a failed command's pipeline).
// - `sendCommand(command, stream, node)` (typed, @ignore), hooked by sendScriptsInOrder
//   (scripts-in-order.ts: each pipeline carries each script's text with its first call). Relies on:
//   Pipeline.exec sending each of its commands through the client's own sendCommand with a `stream` of
//   its own ({ isPipeline: true, destination, write }), the same object when it is sent again after a
//   reconnection; the command written (command.toWritable(socket), typed) during that call or, offline,
//   when the queue is sent. ioredis's monitor mode replaces sendCommand on the client and deletes it as
//   the connection closes, the hook with it: no client of ours monitors.
// - `scriptsSet` (typed as {}): the scripts defined on the client (defineCommand) by name, each a Script
//   whose private `lua` is its text and private `Command` the class of its calls (EVALSHA, a subclass of
//   Command that writes EVAL the first time a socket sends it). sendScriptsInOrder gives a call its own
//   toWritable, which writes through Command.prototype.toWritable, past that subclass's.
import { createRequire } from 'node:module'
import type { Command, Redis } from 'ioredis'
import { TradepulseError } from '../errors.ts'

/** The ioredis release the members below were read from. */
export const IOREDIS_READ_FROM = '6.0.0'

/** An item of ioredis's command queues (offline, unanswered), as far as we read it. */
export type QueuedCommand = {
  command: { isSettled?: boolean; reject(err: Error): void }
  stream?: unknown
}
/** ioredis's deque of QueuedCommands (denque). */
export type CommandDeque = {
  length: number
  shift(): QueuedCommand | undefined
  push(item: QueuedCommand): unknown
}
/** A script defined on a client: its text and the class of its calls. */
export type DefinedScript = { lua: string; Command: abstract new (...args: never[]) => Command }

type Internals = {
  setStatus(status: string, arg?: unknown): void
  sendCommand(command: Command, stream?: unknown, ...rest: unknown[]): unknown
  offlineQueue: CommandDeque
  commandQueue: CommandDeque
  prevCommandQueue?: CommandDeque | null
  scriptsSet: Record<string, DefinedScript>
}

/** The version of ioredis actually loaded, for the guard's message ('unknown' if it cannot be read). */
function installedVersion(): string {
  try {
    return (
      (createRequire(import.meta.url)('ioredis/package.json') as { version?: string }).version ?? 'unknown'
    )
  } catch {
    return 'unknown'
  }
}

const isFunction = (v: unknown) => typeof v === 'function'
const isDeque = (v: unknown) =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as CommandDeque).length === 'number' &&
  isFunction((v as CommandDeque).shift) &&
  isFunction((v as CommandDeque).push)

/** Each member the hooks use, as a client has it right after `new Redis(...)`, and how to tell it is there. */
const MEMBERS: [name: string, present: (v: unknown) => boolean][] = [
  ['setStatus', isFunction],
  ['sendCommand', isFunction],
  ['offlineQueue', isDeque],
  ['commandQueue', isDeque],
  ['scriptsSet', (v) => typeof v === 'object' && v !== null],
]

/**
 * Whether the scripts defined on a client keep their text and the class of their calls where we read
 * them: tried once per defineCommand (in practice once per process) on a stand-in for the client, which
 * defineCommand gives only its options and scriptsSet, so the client itself gets no script of ours.
 */
const SCRIPT_SHAPES = new WeakMap<object, boolean>()
function scriptShapeKnown(redis: Redis): boolean {
  const define = (redis as { defineCommand?: unknown }).defineCommand
  if (typeof define !== 'function') return false
  let known = SCRIPT_SHAPES.get(define)
  if (known === undefined) {
    try {
      const standIn = { options: {}, scriptsSet: {} as Record<string, Partial<DefinedScript>> }
      define.call(standIn, 'probe', { lua: 'return 1', numberOfKeys: 0 })
      const script = standIn.scriptsSet.probe
      known = script?.lua === 'return 1' && typeof script.Command === 'function'
    } catch {
      known = false
    }
    SCRIPT_SHAPES.set(define, known)
  }
  return known
}

const CHECKED = new WeakSet<object>()

/**
 * The client's internals, once it has been checked to have every member the hooks use; else a
 * TradepulseError (INTERNAL) naming the member missing and the ioredis versions, rather than hooks that
 * silently do nothing (or fail every command). createRedis calls it (through the hook installers) as it
 * makes a client, before any command.
 */
export function ioredisInternals(redis: Redis): Internals {
  if (CHECKED.has(redis)) return redis as unknown as Internals
  const client = redis as unknown as Record<string, unknown>
  const missing = MEMBERS.filter(([name, present]) => !present(client[name])).map(([name]) => name)
  if (missing.length === 0 && !scriptShapeKnown(redis))
    missing.push('scriptsSet entries (Script lua, Command)')
  if (missing.length > 0)
    throw new TradepulseError(
      'INTERNAL',
      `ioredis ${installedVersion()} lacks ${missing.join(', ')} on its client: Tradepulse's Redis client hooks these internals, read from ioredis ${IOREDIS_READ_FROM} (packages/platform/src/redis/ioredis-internals.ts); install ioredis ${IOREDIS_READ_FROM} or port that module to the new version`,
    )
  CHECKED.add(redis)
  return redis as unknown as Internals
}

/** Runs `hook` with every status ioredis sets, just before it is set (and before what follows it). */
export function beforeSetStatus(redis: Redis, hook: (status: string) => void): void {
  const internals = ioredisInternals(redis)
  const setStatus = internals.setStatus
  internals.setStatus = function (this: Internals, status, arg) {
    hook(status)
    setStatus.call(this, status, arg)
  }
}

/** Runs `hook` with every command ioredis is given to send (written or queued), and its pipeline if any. */
export function beforeSendCommand(redis: Redis, hook: (command: Command, stream: unknown) => void): void {
  const internals = ioredisInternals(redis)
  const sendCommand = internals.sendCommand
  internals.sendCommand = function (this: Internals, command, stream, ...rest) {
    hook(command, stream)
    return sendCommand.call(this, command, stream, ...rest)
  }
}

/** The commands issued while the connection is not ready, sent (in order) as it becomes ready. */
export const offlineQueue = (redis: Redis): CommandDeque => ioredisInternals(redis).offlineQueue

/**
 * The commands a connection that closed from ready left unanswered, to send again on the next one (or
 * dropped there with autoResendUnfulfilledCommands off); none once sent, or if it left none.
 */
export const unansweredQueue = (redis: Redis): CommandDeque | null | undefined =>
  ioredisInternals(redis).prevCommandQueue

/** The scripts defined on the client (defineCommand). */
export const definedScripts = (redis: Redis): DefinedScript[] =>
  Object.values(ioredisInternals(redis).scriptsSet)

/** Whether sendCommand's `stream` is a pipeline's (an explicit one, a transaction, an auto-pipeline). */
export const isPipelineStream = (stream: unknown): stream is object =>
  typeof stream === 'object' && stream !== null && (stream as { isPipeline?: unknown }).isPipeline === true
