import { type Stats, statSync } from 'node:fs'
import { isatty } from 'node:tty'
import { createTopicCatalogue } from '@tradepulse/contracts'
import { DEFAULT_INGEST_LIMITS, type IngestLimits, ingestConfigShape } from '@tradepulse/ingest'
import {
  acknowledgedBefore,
  BaseConfig,
  createProducer,
  exitCodeForSignal,
  loadConfig,
  type OutRecord,
  produceAll,
  TradepulseError,
} from '@tradepulse/platform'
import { Presets, SingleBar } from 'cli-progress'
import type { Command } from 'commander'
import { EXIT_DATA_ERROR } from '../exit-codes.ts'
import { cliKafka, cliLogger } from '../infra.ts'
import { decimalNumberOrMax, sourceName, wholeNumber } from '../option-values.ts'
import { batchesOf, REPLAY_LINGER_MS } from '../replay/batches.ts'
import { createPacer } from '../replay/pace.ts'
import {
  checkCsvHeader,
  closeReplayInput,
  formatByName,
  ndjsonSourceRefusal,
  openReplayFile,
  ReplayFileError,
  type ReplayInput,
  readReplayRows,
} from '../replay/read-rows.ts'
import { BACKWARDS_WARN_MS, backwardsWatch, eventTimeMs, inTimeOrder } from '../replay/time-order.ts'
import { requireTopic } from '../topic-check.ts'

/**
 * Most bytes of key and value of one record replay produces; a row giving a larger one is reported by
 * line and skipped. Kafka refuses a record batch above the topic's max.message.bytes (1,048,588 by
 * default, counting the batch's headers too), and such a refusal fails the produce, which ends the
 * replay with the rest of the file unsent. Ingest would take no such record anyway: its
 * INGEST_MAX_RECORD_BYTES (services/ingest/src/config.ts) is at most 1,048,576 (1 MiB), and larger
 * records go to the dlq. 1 MB, not 1 MiB, leaves room for the batch's headers: a value of 1,048,576
 * bytes is itself refused by a broker with the default limit.
 */
export const MAX_REPLAY_RECORD_BYTES = 1_000_000

/**
 * The variables replay reads, as the workers read them (loadConfig: a blank one counts as unset): Kafka's
 * and the topic prefix, and ingest's record limit, which each row's record is checked against (a row
 * ingest would dead-letter is named by line and skipped, not sent).
 */
const ReplayConfig = BaseConfig.extend({
  INGEST_MAX_RECORD_BYTES: ingestConfigShape.INGEST_MAX_RECORD_BYTES,
})

type ReplayOptions = { rate: number | 'max'; limit?: number; source?: string; batch: number }

export type ReplaySummary = {
  produced: number
  skipped: number
  skippedLines: number[]
  /** Headlines sent more than BACKWARDS_WARN_MS behind a newer one sent before them (a piped feed only). */
  behind: number
  seconds: number
}

export type ReplayFileOptions = {
  ratePerS: number | 'max'
  limit?: number
  source?: string
  batch: number
  /**
   * 'time' (the default, for a regular file): the file is read whole, then its rows are sent oldest
   * first, and --limit takes the oldest rows. Headline files are often newest first, and sent in file
   * order their time would run backwards: live workers count every headline more than the aggregator's
   * grace behind as late and never apply it. 'file' (a pipe, read once as it comes): rows are sent in
   * the order read, and the first row more than BACKWARDS_WARN_MS behind a newer one gets a warning.
   */
  order?: 'time' | 'file'
  /** The file already opened (openReplayPipe: a pipe told from its first bytes); else opened when read. */
  input?: ReplayInput
  /** Ingest's limits, which each row's record is checked against (readReplayRows); its defaults if absent. */
  limits?: IngestLimits
}

type Prepared = { line: number; ms: number | undefined; record: OutRecord }

/** Produces a file's rows to headlines.raw at a rate (or as fast as it can), reporting bad rows by line. */
export async function replayFile(
  file: string,
  opts: ReplayFileOptions,
  sink: (records: OutRecord[]) => Promise<void>,
  topic: string,
  progress: (produced: number, skipped: number, total?: number) => void = () => {},
): Promise<ReplaySummary> {
  // Elapsed times on the monotonic clock: the host's clock set back or on does not count.
  const started = performance.now()
  const summary: ReplaySummary = { produced: 0, skipped: 0, skippedLines: [], behind: 0, seconds: 0 }
  const skip = (line: number, error: string) => {
    summary.skipped++
    summary.skippedLines.push(line)
    process.stderr.write(`${file}:${line}: skipped: ${error}\n`)
  }
  // The rows that can be sent, as read; a bad one is reported (by line, in file order) and left out.
  async function* readable(): AsyncGenerator<Prepared> {
    try {
      yield* readableRows()
    } catch (err) {
      // A file refused whole (a pipe is checked only as it is read): one line naming it, exit 78.
      throw err instanceof ReplayFileError ? usage(err.message) : err
    }
  }
  async function* readableRows(): AsyncGenerator<Prepared> {
    for await (const row of readReplayRows(file, {
      ...(opts.source !== undefined ? { source: opts.source } : {}),
      ...(opts.input ? { input: opts.input } : {}),
      ...(opts.limits ? { limits: opts.limits } : {}),
    })) {
      if ('error' in row) {
        skip(row.line, row.error)
        continue
      }
      const id = typeof row.raw.id === 'string' ? row.raw.id : null
      const value = JSON.stringify(row.raw)
      const bytes = Buffer.byteLength(value) + (id === null ? 0 : Buffer.byteLength(id))
      if (bytes > MAX_REPLAY_RECORD_BYTES) {
        skip(
          row.line,
          `record is ${bytes} bytes (key and value); the most replay produces is ${MAX_REPLAY_RECORD_BYTES}`,
        )
        continue
      }
      yield { line: row.line, ms: eventTimeMs(row.raw), record: { topic, key: id, value } }
    }
  }
  async function* watchingTime(from: AsyncIterable<Prepared>): AsyncGenerator<Prepared> {
    const watch = backwardsWatch()
    for await (const row of from) {
      const back = watch.see(row.ms)
      if (back) {
        if (summary.behind === 0)
          process.stderr.write(
            `${file}:${row.line}: warning: time runs backwards, ${new Date(back.ms).toISOString()} after ${new Date(back.behindOf).toISOString()}: live workers count a headline more than the aggregator's grace (${BACKWARDS_WARN_MS / 60_000} min) behind as late and never apply it; sort the feed by time (a regular file is replayed in time order)\n`,
          )
        summary.behind++
      }
      yield row
    }
  }

  let rows: AsyncIterable<Prepared> | readonly Prepared[]
  if ((opts.order ?? 'time') === 'time') {
    const all: Prepared[] = []
    for await (const row of readable()) all.push(row)
    const sorted = inTimeOrder(all).slice(0, opts.limit)
    progress(0, summary.skipped, sorted.length)
    rows = sorted
  } else {
    rows = watchingTime(readable())
  }

  // Paced from the first send (after a file is read and sorted), never faster than the rate, whatever
  // one send costs or however long a pipe goes quiet (createPacer).
  const pace = opts.ratePerS === 'max' ? undefined : createPacer(opts.ratePerS)
  const size =
    opts.ratePerS === 'max' ? opts.batch : Math.max(1, Math.min(opts.batch, Math.round(opts.ratePerS / 20)))
  // A pipe's batch goes once full or once its first row has waited REPLAY_LINGER_MS, and --limit stops the
  // reading at its last row: a live feed's rows waited for a full batch, and the replay for row N+1.
  for await (const batch of batchesOf(rows, { size, lingerMs: REPLAY_LINGER_MS, limit: opts.limit })) {
    await pace?.(batch.length)
    await sink(batch.map((row) => row.record))
    summary.produced += batch.length
    progress(summary.produced, summary.skipped)
  }
  summary.seconds = (performance.now() - started) / 1_000
  return summary
}

const usage = (message: string) => new TradepulseError('CONFIG_INVALID', `replay: ${message}`)

/**
 * The slowest --rate: one headline in 11.6 days. A slower one would wait longer between two sends than
 * Node keeps a timer (MAX_TIMER_MS, 24.8 days), and such a timer fires at once.
 */
export const MIN_REPLAY_RATE = 0.000001

/**
 * A replay's input as its name finds it: a regular file (replayed in time order), or a stream read once,
 * in the order it comes, and named `pipe` for it: a pipe (`replay <(zcat feed.csv.gz)`, a named pipe,
 * stdin as /dev/stdin), opened by its name, or a socket open at a descriptor of this process, `fd`
 * (stdin of a process whose parent gave it a socket, as Node's `stdio: 'pipe'` does: it can be read, but
 * not opened again by a name). `file` is the name to give it in messages: `-` is /dev/stdin.
 */
export type ReplayFileKind = { file: string; kind: 'file' } | { file: string; kind: 'pipe'; fd?: number }

/** The descriptor of this process a name opens again (/dev/stdin, /dev/fd/N, /proc/self/fd/N), if any. */
function descriptorOf(file: string): number | undefined {
  if (file === '/dev/stdin') return 0
  const m = /^\/(?:dev\/fd|proc\/(self|\d+)\/fd)\/(\d+)$/.exec(file)
  if (!m || (m[1] !== undefined && m[1] !== 'self' && Number(m[1]) !== process.pid)) return undefined
  return Number(m[2])
}

/**
 * What `given` is, by its name alone (nothing is opened or read): a regular file, a pipe, or a socket
 * at one of this process's descriptors; `-` is stdin (/dev/stdin). Refuses, naming it, a missing one and
 * one that cannot be read as either: a directory, a terminal or another device, a socket on a path (one
 * to connect to, not an input given to the command).
 */
export function findReplayFile(given: string): ReplayFileKind {
  const file = given === '-' ? '/dev/stdin' : given
  const fd = descriptorOf(file)
  let st: Stats
  try {
    st = statSync(file)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'ENOENT') throw usage(`cannot read ${file}: ${(err as Error).message}`)
    throw usage(`no such file: ${file}${fd === undefined ? '' : ` (descriptor ${fd} is not open)`}`)
  }
  if (st.isFile()) return { file, kind: 'file' }
  if (st.isFIFO()) return { file, kind: 'pipe' }
  if (st.isSocket() && fd !== undefined) return { file, kind: 'pipe', fd }
  const what = st.isDirectory()
    ? 'a directory'
    : fd !== undefined && isatty(fd)
      ? 'a terminal (pipe the headlines in: … | tradepulse replay -)'
      : st.isSocket()
        ? 'a socket to connect to (replay reads a socket only given to it open: as stdin, - or /dev/stdin, or /dev/fd/N)'
        : st.isCharacterDevice()
          ? 'a character device'
          : st.isBlockDevice()
            ? 'a block device'
            : 'neither a file nor a pipe'
  throw usage(`not a file: ${file} is ${what}`)
}

/**
 * Refuses, naming it, a regular file that cannot be read, and a CSV without a headline column or whose
 * header line cannot be read: reading its first row here raises what the replay would raise only once
 * connected. Run before Kafka is reached.
 */
export async function checkReplayFile(file: string, source?: string): Promise<void> {
  const rows = readReplayRows(file, source !== undefined ? { source } : {})
  try {
    await rows.next()
  } catch (err) {
    throw refusal(file, err)
  } finally {
    await rows.return(undefined)
  }
}

const refusal = (file: string, err: unknown) => {
  const message = (err as Error).message
  return usage(message.startsWith(file) ? message : `cannot read ${file}: ${message}`)
}

/**
 * Opens a pipe (or socket) for replay, read once: up to its first character when its name does not say
 * what it holds (at most 64 KiB, openReplayFile), and, when it is CSV, up to the end of its header line
 * (checkCsvHeader). NDJSON given --source, and a CSV whose header a file's would be refused for, are
 * refused in one line naming it (exit 78), as a regular file is. The input given back gives every byte
 * read here again. Nothing more is read here: a pipe may be long, or still coming.
 *
 * The replay runs this while it reaches Kafka, not before (registerReplay): it waits on the pipe, for
 * its writer or its header, and so may a named pipe or a feed gone quiet indefinitely, where an
 * unreachable Kafka is known within seconds. Whichever fails first is the answer; the pipe is opened
 * and read in the event loop (openStream), so the process exits at once on either, a read still waiting.
 */
export async function openReplayPipe(
  pipe: Extract<ReplayFileKind, { kind: 'pipe' }>,
  source?: string,
): Promise<ReplayInput> {
  const { file, fd } = pipe
  let input: ReplayInput
  try {
    input = await openReplayFile(file, { pipe: true, ...(fd !== undefined ? { fd } : {}) })
  } catch (err) {
    throw usage(`cannot read ${file}: ${(err as Error).message}`)
  }
  if (input.format === 'ndjson') {
    if (source === undefined) return input
    await closeReplayInput(input)
    throw usage(ndjsonSourceRefusal(file).message)
  }
  try {
    return await checkCsvHeader(file, input)
  } catch (err) {
    throw refusal(file, err)
  }
}

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description(
      `produce the rows of a CSV or NDJSON file to headlines.raw at a given rate (or max), oldest first (a pipe: as it comes); bad rows (unreadable; a CSV row of more fields than its header has columns; a time that names no real one, or one before 2000, which ingest would replace with the time the row is sent; or ones ingest would send to the dlq) are named by line, with why, and skipped, and the exit code is then ${EXIT_DATA_ERROR}`,
    )
    .argument(
      '<file>',
      'CSV with date/time and headline columns (e.g. ../shared/data/streams/*.csv) or NDJSON of raw headlines; - for stdin',
    )
    .option(
      '--rate <n>',
      `headlines per second (at least ${MIN_REPLAY_RATE}), or "max"`,
      decimalNumberOrMax({
        min: MIN_REPLAY_RATE,
        note: "one headline in 11.6 days; Node's timers wait at most 24.8 days",
      }),
      'max' as const,
    )
    .option(
      '--limit <n>',
      'stop after this many headlines (of a regular file: its oldest, by time; of a pipe: once its n-th is read)',
      wholeNumber({ min: 1 }),
    )
    .option(
      '--source <name>',
      'source to stamp on CSV rows (1 to 100 characters, as given and once normalised as ingest normalises it; an NDJSON file gives each line its own)',
      sourceName,
    )
    .option(
      '--batch <n>',
      `records per produce request at most (of a pipe: a batch goes once its first row has waited ${REPLAY_LINGER_MS} ms)`,
      wholeNumber({ min: 1 }),
      500,
    )
    .action(async (given: string, opts: ReplayOptions) => {
      // Flags (as commander reads them) and the file are checked before anything connects: a typo should
      // not wait on Kafka. A regular file's first row too; a pipe is only found here (findReplayFile).
      const { rate, limit, batch } = opts
      const found = findReplayFile(given)
      const { file, kind } = found
      if (kind === 'file') await checkReplayFile(file, opts.source)
      else if (opts.source !== undefined && formatByName(file) === 'ndjson')
        throw usage(ndjsonSourceRefusal(file).message)
      const config = loadConfig(ReplayConfig, process.env)
      const limits: IngestLimits = {
        ...DEFAULT_INGEST_LIMITS,
        maxRecordBytes: config.INGEST_MAX_RECORD_BYTES,
      }
      const log = cliLogger(config)
      const topic = createTopicCatalogue(config.TRADEPULSE_TOPIC_PREFIX).raw.name
      const kafka = cliKafka(config, 'tradepulse-replay', log)
      const producer = createProducer(kafka, log)
      // A pipe is opened and its header read while Kafka is reached, neither waiting for the other: a
      // named pipe with no writer yet (or a quiet feed) is waited on for as long as it takes, and an
      // unreachable Kafka was reported only once the pipe gave its header. The first to fail is the
      // answer: an unreachable Kafka within seconds (69), a header refused as soon as it is read (78),
      // a topic Kafka does not have (requireTopic, 78) before anything is sent. Without that check, a
      // mistyped TRADEPULSE_TOPIC_PREFIX failed at the first send with Kafka's "does not host this
      // topic-partition" as exit 69 and a hint to create the topics: a second catalogue under the typo.
      // No TOPICS_AUTO_CREATE here: replay never creates a topic (its producer, allowAutoTopicCreation false).
      const [input] = await Promise.all([
        found.kind === 'pipe' ? openReplayPipe(found, opts.source) : undefined,
        producer.connect(),
        requireTopic(kafka, config, 'replay', topic),
      ])
      const tty = Boolean(process.stderr.isTTY)
      const bar = tty
        ? new SingleBar(
            {
              format: 'replay {bar} {value}/{total} | {rate}/s | ETA {eta_formatted} | skipped {skipped}',
              stream: process.stderr,
            },
            Presets.shades_classic,
          )
        : undefined
      bar?.start(limit ?? 0, 0, { rate: 0, skipped: 0 })
      // The rate and the 2 s between progress lines on the monotonic clock, as the pacing is.
      let t0 = performance.now()
      let lastLine = Number.NEGATIVE_INFINITY
      // SIGINT or SIGTERM: no further batch is sent; once the one being sent is answered, one line says how
      // many rows went (a replay to resume, or to compare with what the workers took), and the exit code is
      // the signal's (exitCodeForSignal). It ended by the signal's default, the count with it: an
      // interrupted replay could not tell how far it got. A second signal exits at once.
      let sent = 0
      let sending: Promise<void> = Promise.resolve()
      let interrupted = false
      const onSignal = (signal: NodeJS.Signals) => {
        if (interrupted) process.exit(exitCodeForSignal(signal))
        interrupted = true
        void sending
          .catch(() => {})
          .finally(() => {
            bar?.stop()
            process.stderr.write(
              `replay: interrupted by ${signal}: ${sent} produced to ${topic}; the rest not sent\n`,
            )
            process.exit(exitCodeForSignal(signal))
          })
      }
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
      const send = (records: OutRecord[]): Promise<void> => {
        if (interrupted) return new Promise<void>(() => {})
        sending = produceAll(producer, records).then(
          () => {
            sent += records.length
          },
          (err: unknown) => {
            // Those of the batch Kafka acknowledged before the request that failed.
            sent += acknowledgedBefore(err, records).length
            throw err
          },
        )
        return sending
      }
      try {
        const summary = await replayFile(
          file,
          {
            ratePerS: rate,
            batch,
            order: kind === 'file' ? 'time' : 'file',
            ...(limit !== undefined ? { limit } : {}),
            ...(opts.source !== undefined ? { source: opts.source } : {}),
            ...(input ? { input } : {}),
            limits,
          },
          send,
          topic,
          (produced, skipped, total) => {
            if (total !== undefined) {
              // A file is read and sorted before its first send: the rate counts from then.
              t0 = performance.now()
              bar?.setTotal(total)
              return
            }
            const perS = Math.round(produced / Math.max(0.001, (performance.now() - t0) / 1_000))
            if (bar) {
              if (limit === undefined && kind === 'pipe') bar.setTotal(Math.max(produced, 1))
              bar.update(produced, { rate: perS, skipped })
            } else if (performance.now() - lastLine > 2_000) {
              lastLine = performance.now()
              process.stderr.write(`replay: ${produced} produced, ${skipped} skipped, ${perS}/s\n`)
            }
          },
        )
        bar?.stop()
        process.stderr.write(
          `replay: ${summary.produced} produced to ${topic}, ${summary.skipped} bad row(s) skipped${summary.skipped ? ` (lines ${summary.skippedLines.slice(0, 20).join(', ')}${summary.skipped > 20 ? ', …' : ''})` : ''}${summary.behind ? `, ${summary.behind} sent more than ${BACKWARDS_WARN_MS / 60_000} min behind a newer one` : ''}, ${summary.seconds.toFixed(1)} s\n`,
        )
        // Every good row was sent; a script must still learn that some were not (each named above).
        if (summary.skipped > 0) process.exitCode = EXIT_DATA_ERROR
      } catch (err) {
        // How far it got, as at a signal: the failure's own line follows (exitOnFatal). It said nothing of
        // the rows already on Kafka, so a replay to resume could not tell where.
        bar?.stop()
        process.stderr.write(`replay: ${sent} produced to ${topic} before the failure below\n`)
        throw err
      } finally {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
        bar?.stop()
        // A pipe's reading ends here, if the replay did not read it to its end (--limit).
        input?.close?.()
        await producer.disconnect()
      }
    })
}
