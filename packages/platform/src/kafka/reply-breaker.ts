import { TradepulseError } from '../errors.ts'

/**
 * A Redis error reply a record's handling failed on, as the reply breaker compares them: the reply's text,
 * the command Redis refused and the keys it named (ioredis gives each reply error its command; a script's
 * keys are those EVALSHA passes).
 */
export type ReplyFault = { reply: string; command: string; keys: string[] }

/** The most characters of a key the breaker's message shows. */
const SHOWN_KEY_CHARS = 200

/** The commands whose keys follow a key count (EVAL script numkeys key…, FCALL function numkeys key…). */
const KEYS_AFTER_COUNT = /^(eval|evalsha|eval_ro|evalsha_ro|fcall|fcall_ro)$/i

const text = (a: unknown): string => (Buffer.isBuffer(a) ? a.toString('utf8') : String(a))

/** The keys a command names: a script's or a function's after their count, else the first argument. */
function commandKeys(name: string, args: readonly unknown[]): string[] {
  if (KEYS_AFTER_COUNT.test(name)) {
    const n = Number(args[1])
    return Number.isInteger(n) && n > 0 ? [...new Set(args.slice(2, 2 + n).map(text))] : []
  }
  return args.length > 0 ? [text(args[0])] : []
}

/**
 * The Redis error reply `err` is or wraps (a TradepulseError's cause, a transaction's EXECABORT and its
 * first queued error), with the command it answered; undefined for any other error, and for a reply
 * without its command (one ioredis did not answer a command with): nothing but its text to compare,
 * which the replies of records' own keys share.
 */
export function replyFault(err: unknown): ReplyFault | undefined {
  const seen = new Set<unknown>()
  let e: unknown = err
  while (e instanceof Error && seen.size < 8 && !seen.has(e)) {
    seen.add(e)
    const { command, previousErrors } = e as {
      command?: { name?: unknown; args?: unknown }
      previousErrors?: unknown
    }
    if (e.name === 'ReplyError') {
      if (e.message.startsWith('EXECABORT') && Array.isArray(previousErrors)) {
        e = previousErrors[0]
        continue
      }
      if (typeof command?.name !== 'string' || !Array.isArray(command.args)) return undefined
      return {
        reply: e.message,
        command: command.name.toUpperCase(),
        keys: commandKeys(command.name, command.args),
      }
    }
    e = e.cause
  }
  return undefined
}

/**
 * The error of a worker that stopped consuming because record after record failed on the same Redis
 * reply to the same command, every one naming the same key: a key every record writes holding what the
 * handler does not expect (the wrong type, after an operator's mistake), where every record would
 * otherwise be dead-lettered in turn. INFRA_REDIS and not retriable: the worker exits (69, the line
 * naming the key and the reply). `fault.keys` are the keys all of them named.
 */
export class RepeatedReplyError extends TradepulseError {
  readonly fault: ReplyFault
  readonly count: number
  constructor(fault: ReplyFault, count: number, limit: number) {
    const keys = fault.keys.map((k) =>
      JSON.stringify(k.length > SHOWN_KEY_CHARS ? `${k.slice(0, SHOWN_KEY_CHARS)}…` : k),
    )
    const on = keys.length === 1 ? `key ${keys[0]}` : `keys ${keys.join(', ')}`
    super(
      'INFRA_REDIS',
      `${count} records in a row failed on the same Redis reply to ${fault.command} on ${on}: ${fault.reply}. A key every record writes holds what the worker does not expect (the wrong type, after a manual change?): fix or delete it, then start the worker again. Consuming stopped: the records from there on are neither dead-lettered nor committed (REDIS_REPLY_FAILURES_MAX=${limit})`,
      { retriable: false },
    )
    this.name = 'RepeatedReplyError'
    this.fault = fault
    this.count = count
  }
}

/**
 * Counts the records in a row whose handling failed on the same Redis reply to the same command with a
 * key every one of them named (replyFault; a script's WRONGTYPE does not say which of its keys, so a key
 * they all passed is the one to suspect): at `limit` (0: never) the failure is a RepeatedReplyError, for
 * the runner to stop on, rather than the record's dead letter. A record handled (an `ok` outcome) ends
 * the run; a record failing otherwise, or naming none of the run's keys, starts another. So records whose
 * own keys Redis refuses each start a run of one, and are dead-lettered as before.
 */
export function createReplyBreaker(limit: number) {
  let run: ReplyFault | undefined
  let count = 0
  return {
    /** A record's handling threw `err`: the error to stop on, or undefined to dead-letter the record. */
    failed(err: unknown): RepeatedReplyError | undefined {
      if (limit <= 0) return undefined
      const fault = replyFault(err)
      if (!fault || fault.keys.length === 0) {
        run = undefined
        count = 0
        return undefined
      }
      const common =
        run && run.reply === fault.reply && run.command === fault.command
          ? run.keys.filter((k) => fault.keys.includes(k))
          : []
      if (common.length > 0) {
        run = { ...fault, keys: common }
        count++
      } else {
        run = fault
        count = 1
      }
      return count >= limit ? new RepeatedReplyError(run, count, limit) : undefined
    },
    /** A record handled: the run ends. */
    passed(): void {
      run = undefined
      count = 0
    },
  }
}
