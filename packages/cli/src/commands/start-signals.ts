// SIGINT and SIGTERM of `tradepulse start` from the process's first moment. Its startup takes seconds
// (waiting for Kafka and Redis, starting a local broker, creating topics): a signal then stops what has
// started and exits as a stop of the running workers does, where the default would kill the process
// half-started, leaving --local-infra's broker and Redis server running. Kept free of other imports:
// main.ts loads it before the rest of the command line.

export type StartSignals = {
  /**
   * What a signal does from now on: the run's stop, given the signal, which exits (a second call while
   * it stops exits at once, with that signal's code). Until one is given, nothing has started and a
   * signal exits 0.
   */
  stopWith(stop: (signal: NodeJS.Signals) => void): void
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
}

/**
 * Listens for SIGINT and SIGTERM. A signal during the startup writes one line saying so (at the first
 * signal only) and calls the stop given (stopWith); after the startup (running) it calls the stop alone.
 */
export function createStartSignals({
  from = process,
  out = process.stderr,
  exit = process.exit,
}: Options = {}): StartSignals {
  let stop: (signal: NodeJS.Signals) => void = () => exit(0)
  // Whether a signal still writes the startup's line: the first one during the startup.
  let announce = true
  const onSignal = (signal: NodeJS.Signals) => {
    if (announce) out.write(`tradepulse: stopped by ${signal} during startup\n`)
    announce = false
    stop(signal)
  }
  from.on('SIGINT', onSignal)
  from.on('SIGTERM', onSignal)
  return {
    stopWith: (next) => {
      stop = next
    },
    running: () => {
      announce = false
    },
    release: () => {
      from.off('SIGINT', onSignal)
      from.off('SIGTERM', onSignal)
    },
  }
}

let caught: StartSignals | undefined

/** The process's signals for `start`: listened for from the first call on (main.ts makes it first thing). */
export function startSignals(): StartSignals {
  caught ??= createStartSignals()
  return caught
}
