// SIGINT and SIGTERM of `tradepulse start` from the process's first moment, and SIGHUP in a terminal. Its
// startup takes seconds (waiting for Kafka and Redis, starting a local broker, creating topics): a signal
// then stops what has started and exits as a stop of the running workers does, where the default would
// kill the process half-started, leaving --local-infra's broker and Redis server running. Kept free of
// other imports (reload-on-hangup.ts imports types only): main.ts loads it before the rest of the
// command line.
import { inTerminal } from '../reload-on-hangup.ts'

export type StartSignals = {
  /**
   * Whether SIGHUP stops the run, as SIGINT and SIGTERM do: in a terminal, where it is the terminal
   * hanging up (reload-on-hangup.ts). Outside one it asks the alerter to reload its rules.
   */
  readonly hangupStops: boolean
  /**
   * What a signal does from now on: the run's stop, given the signal, which exits (a second call while
   * it stops exits at once, with that signal's code). Until one is given, nothing has started and a
   * signal exits 0.
   */
  stopWith(stop: (signal: NodeJS.Signals) => void): void
  /**
   * Outside a terminal, a run with the alerter reloads its rules on SIGHUP once the workers are built
   * (reloadRulesOnHangup). Before that there is nothing to reload, the alerter reading the file as it is
   * built: a SIGHUP is taken with one line saying so, where its default would kill the startup. Returns
   * the function that stops taking it, for the reload to take it from then on. In a terminal, nothing.
   */
  holdHangups(): () => void
  /** The startup is over: a signal stops the run as ever, without the startup's line. */
  running(): void
  /** Stops listening, for the run to take the signals itself (the embedded default does). */
  release(): void
}

type Options = {
  /** Where the signals come from (the process). */
  from?: Pick<NodeJS.EventEmitter, 'on' | 'off'>
  /** Where the startup's line goes. */
  out?: Pick<NodeJS.WritableStream, 'write'>
  exit?: (code: number) => void
  /** Whether the process runs in a terminal (inTerminal): SIGHUP then stops the run. */
  terminal?: boolean
}

/**
 * Listens for SIGINT and SIGTERM, and SIGHUP in a terminal. A signal during the startup writes one line
 * saying so (at the first signal only) and calls the stop given (stopWith); after the startup (running)
 * it calls the stop alone.
 */
export function createStartSignals({
  from = process,
  out = process.stderr,
  exit = process.exit,
  terminal = inTerminal(),
}: Options = {}): StartSignals {
  let stop: (signal: NodeJS.Signals) => void = () => exit(0)
  // Whether a signal still writes the startup's line: the first one during the startup.
  let announce = true
  const onSignal = (signal: NodeJS.Signals) => {
    if (announce) out.write(`tradepulse: stopped by ${signal} during startup\n`)
    announce = false
    stop(signal)
  }
  const stopping: NodeJS.Signals[] = terminal ? ['SIGINT', 'SIGTERM', 'SIGHUP'] : ['SIGINT', 'SIGTERM']
  for (const signal of stopping) from.on(signal, onSignal)
  const held = () => {
    out.write('SIGHUP during startup: nothing to reload yet; the alerter reads its rules as it starts\n')
  }
  const unhold = () => from.off('SIGHUP', held)
  return {
    hangupStops: terminal,
    stopWith: (next) => {
      stop = next
    },
    holdHangups: () => {
      if (terminal) return () => {}
      from.on('SIGHUP', held)
      return unhold
    },
    running: () => {
      announce = false
    },
    release: () => {
      for (const signal of stopping) from.off(signal, onSignal)
      unhold()
    },
  }
}

let caught: StartSignals | undefined

/** The process's signals for `start`: listened for from the first call on (main.ts makes it first thing). */
export function startSignals(): StartSignals {
  caught ??= createStartSignals()
  return caught
}
