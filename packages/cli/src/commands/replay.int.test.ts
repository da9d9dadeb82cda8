import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import {
  closeSync,
  constants,
  createWriteStream,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { finished } from 'node:stream/promises'
import { pathToFileURL } from 'node:url'
import { createTopicCatalogue } from '@tradepulse/contracts'
import {
  collectTopic,
  createTopics,
  listTopicNames,
  randomName,
  testInfra,
  waitFor,
} from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { MAX_LINE_BYTES } from '../read-lines.ts'

const MAIN = join(import.meta.dirname, '..', 'main.ts')

/** Runs a command; resolves with its exit code and output, whatever the code. */
function run(cmd: string, argv: string[], opts: { env: NodeJS.ProcessEnv; maxBuffer: number }) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(cmd, argv, opts, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    )
  })
}

/** Writes `before`, then a line of `bytes` "a"s between `prefix` and `suffix` as a stream, then `after`. */
async function writeLongLine(
  file: string,
  before: string,
  long: { prefix: string; bytes: number; suffix: string },
  after: string,
) {
  const out = createWriteStream(file)
  out.write(before + long.prefix)
  const chunk = Buffer.alloc(1024 * 1024, 'a')
  for (let left = long.bytes; left > 0; left -= chunk.length) {
    if (!out.write(left >= chunk.length ? chunk : chunk.subarray(0, left))) await once(out, 'drain')
  }
  out.end(long.suffix + after)
  await finished(out)
}

describe('tradepulse replay on Kafka', () => {
  const { kafkaBrokers } = testInfra()

  /**
   * Replays a file (or, `piped`, the file through a pipe: `replay <(cat file)`) to a fresh topic. The
   * file holds `text`, or what `write` writes to it.
   */
  async function replay(
    name: string,
    text: string | Buffer | ((file: string) => Promise<void>),
    how: { piped?: boolean; args?: string[]; env?: Record<string, string>; noTopic?: boolean } = {},
  ) {
    const prefix = `${randomName('replay-bad')}.`
    const topic = createTopicCatalogue(prefix).raw.name
    if (!how.noTopic) await createTopics(kafkaBrokers, [{ name: topic }])
    const dir = mkdtempSync(join(tmpdir(), 'replay-bad-'))
    const file = join(dir, name)
    try {
      if (typeof text === 'function') await text(file)
      else writeFileSync(file, text)
      const args = [MAIN, 'replay', ...(how.args ?? [])]
      const [cmd, argv] = how.piped
        ? ['bash', ['-c', `"$0" "$@" <(cat "${file}")`, process.execPath, ...args]]
        : [process.execPath, [...args, file]]
      const res = await run(cmd, argv as string[], {
        env: {
          ...process.env,
          KAFKA_BROKERS: kafkaBrokers.join(','),
          TRADEPULSE_TOPIC_PREFIX: prefix,
          ...how.env,
        },
        maxBuffer: 16 * 1024 * 1024,
      })
      return { ...res, topic, prefix }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }

  /** A field of the first `n` raw records on the topic, in the order they came. */
  async function fieldOf(field: string, topic: string, n: number): Promise<string[]> {
    const raw = await collectTopic(kafkaBrokers, topic)
    try {
      await waitFor(() => raw.messages.length >= n, { what: `${n} raw records` })
      return raw.messages.map((m) => JSON.parse(String(m.value))[field])
    } finally {
      await raw.stop()
    }
  }
  const headlines = (topic: string, n: number) => fieldOf('headline', topic, n)
  const times = (topic: string, n: number) => fieldOf('publishedAt', topic, n)

  describe('under a prefix whose headlines.raw Kafka does not have (a mistyped TRADEPULSE_TOPIC_PREFIX)', () => {
    // It failed at its first send with Kafka's "This server does not host this topic-partition" as exit
    // 69 (retry, to a supervisor) and a hint to run `tradepulse topics create`: a second catalogue under
    // the typo. Refused as tail, dlq and indicators rebuild refuse theirs (topic-check.ts).
    const refusal = (prefix: string) =>
      `tradepulse: replay: Kafka at ${kafkaBrokers.join(',')} (KAFKA_BROKERS) has no topic ${prefix}headlines.raw.v1 (TRADEPULSE_TOPIC_PREFIX ${JSON.stringify(prefix)}; the workers create it as they start, as does tradepulse topics create)\n`
    const topicsOf = async (prefix: string) =>
      (await listTopicNames(kafkaBrokers)).filter((name) => name.startsWith(prefix))

    it('refuses a file in one line naming the topic and the prefix (exit 78), and produces nothing', async () => {
      const { code, stdout, stderr, prefix } = await replay(
        'feed.csv',
        'date,headline\n2020-01-01,Steel tariffs rise\n',
        { noTopic: true },
      )
      expect({ code, stdout, stderr }).toEqual({ code: 78, stdout: '', stderr: refusal(prefix) })
      expect(await topicsOf(prefix)).toEqual([])
    })

    it('refuses a named pipe with no writer yet at once, not waiting on the pipe (exit 78)', async () => {
      // The pipe is read while Kafka is reached, neither waiting for the other: the refusal comes though
      // nobody ever writes to it.
      const prefix = `${randomName('replay-bad')}.`
      const fifo = join(mkdtempSync(join(tmpdir(), 'replay-fifo-')), 'feed.fifo')
      execFileSync('mkfifo', [fifo])
      const child = spawn(process.execPath, [MAIN, 'replay', fifo], {
        env: { ...process.env, KAFKA_BROKERS: kafkaBrokers.join(','), TRADEPULSE_TOPIC_PREFIX: prefix },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      const out = { stdout: '', stderr: '', code: undefined as number | null | undefined }
      child.stdout?.on('data', (d) => {
        out.stdout += d
      })
      child.stderr?.on('data', (d) => {
        out.stderr += d
      })
      const exited = once(child, 'close')
      try {
        await waitFor(() => child.exitCode !== null || child.signalCode !== null, {
          timeoutMs: 30_000,
          what: 'the replay to exit with its named pipe unwritten',
        })
        await exited
        expect({ code: child.exitCode, stdout: out.stdout, stderr: out.stderr }).toEqual({
          code: 78,
          stdout: '',
          stderr: refusal(prefix),
        })
        expect(await topicsOf(prefix)).toEqual([])
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
        rmSync(dirname(fifo), { recursive: true, force: true })
      }
    })
  })

  it('produces the readable rows of a CSV and reports stray quotes, an unclosed one and a huge row by line', async () => {
    const { code, stderr, topic } = await replay(
      'feed.csv',
      [
        'date,headline,description',
        '2020-01-01,Steel tariffs rise,',
        '2020-01-02,Trump says "tariffs" are great,',
        `2020-01-03,Ports reopen,${'z'.repeat(1_100_000)}`,
        '2020-01-04,"Chips rally, again",',
        '2020-01-05,"Copper falls',
        '2020-01-06,Never read,',
      ].join('\n'),
    )
    expect(stderr).toMatch(/feed\.csv:3: skipped: Invalid Opening Quote/)
    expect(stderr).toMatch(/feed\.csv:4: skipped: record is \d+ bytes/)
    expect(stderr).toMatch(/feed\.csv:6: skipped: Quote Not Closed/)
    expect(stderr).toMatch(/2 produced to .*, 3 bad row\(s\) skipped \(lines 3, 4, 6\)/)
    expect(await headlines(topic, 2)).toEqual(['Steel tariffs rise', 'Chips rally, again'])
    expect(code).toBe(65)
  })
  it("names this host's clock when Kafka refuses the timestamps it stamped the rows with (exit 69)", async () => {
    // The exit line gave kafkajs's innermost message, "The timestamp of the message is out of acceptable
    // range", where platform's KafkaClockError names the clock and the cure.
    const dir = mkdtempSync(join(tmpdir(), 'replay-clock-'))
    const ahead = join(dir, 'ahead.mjs')
    // This process's clock 2 h ahead of the broker's (message.timestamp.after.max.ms, 1 h): kafkajs
    // stamps each record with Date.now(), as clock-ahead.int.test.ts does in platform.
    writeFileSync(ahead, 'const real = Date.now.bind(Date)\nDate.now = () => real() + 7_200_000\n')
    try {
      const { code, stderr, topic } = await replay(
        'feed.csv',
        'date,headline\n2020-01-01,Steel tariffs rise\n',
        { env: { NODE_OPTIONS: `--import=${pathToFileURL(ahead).href}` } },
      )
      expect(stderr).toMatch(
        new RegExp(
          `^tradepulse: Kafka at .* \\(KAFKA_BROKERS\\) failed: Kafka refused the timestamps of records for ${topic.replaceAll('.', '\\.')} \\(INVALID_TIMESTAMP\\): they were stamped with this host's clock, .* set this host's time right \\(NTP\\)`,
          'm',
        ),
      )
      expect(stderr).not.toMatch(/out of acceptable range/)
      expect(code).toBe(69)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
  it('produces the rest of an NDJSON batch around a row larger than Kafka takes', async () => {
    const { code, stderr, topic } = await replay(
      'feed.ndjson',
      [
        JSON.stringify({ id: 'a', headline: 'Steel tariffs rise' }),
        JSON.stringify({ id: 'b', headline: 'x'.repeat(1_100_000) }),
        JSON.stringify({ id: 'c', headline: 'US\u2028raises tariffs' }),
      ].join('\n'),
    )
    expect(stderr).toMatch(/feed\.ndjson:2: skipped: record is \d+ bytes/)
    expect(stderr).toMatch(/2 produced to .*, 1 bad row\(s\) skipped \(lines 2\)/)
    expect(await headlines(topic, 2)).toEqual(['Steel tariffs rise', 'US\u2028raises tariffs'])
    expect(code).toBe(65)
  })
  it('skips an NDJSON line naming a key twice, naming the line and key, sends the rest and exits 65', async () => {
    // JSON.parse kept the second headline and replay sent it, exit 0: the tariff rise went out as a cut,
    // where ingest, score --ndjson and the embedded POST all refuse the line.
    const { code, stderr, topic } = await replay(
      'dup.ndjson',
      [
        '{"id":"dup-1","headline":"US raises tariffs on steel","headline":"China cuts tariffs on US soybeans","publishedAt":"2020-01-02T00:00:00Z"}',
        '{"id":"ok-1","headline":"EU lifts duties","publishedAt":"2020-01-03T00:00:00Z"}',
      ].join('\n'),
    )
    expect(stderr).toContain(
      'dup.ndjson:1: skipped: headline: key given more than once in one object (JSON.parse would keep the last silently; ingest refuses such a record: schema_invalid)\n',
    )
    expect(stderr).toMatch(/1 produced to .*, 1 bad row\(s\) skipped \(lines 1\)/)
    expect(await headlines(topic, 1)).toEqual(['EU lifts duties'])
    expect(code).toBe(65)
  })
  it('skips NDJSON lines ingest would dead-letter, naming each line and why, sends the rest as read and exits 65', async () => {
    // Read for JSON syntax and shape only, all five went out, "0 bad row(s) skipped", exit 0, and ingest
    // dead-lettered each as schema_invalid; the same rows as CSV were named by line, exit 65.
    const good = [
      '{"id":"ok-1","headline":"EU lifts duties","publishedAt":"2026-03-02T10:00:00Z"}',
      '{"id":"ok-2","headline":"US raises tariffs on steel","extra":{"n":1}}',
    ]
    const { code, stderr, topic } = await replay(
      'schema.ndjson',
      [
        good[0],
        '{"headline":"","publishedAt":"2026-03-02T10:00:00Z"}',
        '{"headline":"Steel","publishedAt":"2026-02-30T10:00:00Z"}',
        '{"headline":"Steel","publishedAt":"yesterday"}',
        '{"headline":42}',
        '{"nohead":1}',
        good[1],
      ].join('\n'),
    )
    for (const [line, why] of [
      [2, 'headline: Too small: expected string to have >=1 characters'],
      [3, 'publishedAt: Invalid ISO datetime'],
      [4, 'publishedAt: Invalid ISO datetime'],
      [5, 'headline: Invalid input: expected string, received number'],
      [6, 'headline: Invalid input: expected string, received undefined'],
    ])
      expect(stderr).toContain(`schema.ndjson:${line}: skipped: ${why} (schema_invalid)\n`)
    expect(stderr).toMatch(/2 produced to .*, 5 bad row\(s\) skipped \(lines 2, 3, 4, 5, 6\)/)
    const raw = await collectTopic(kafkaBrokers, topic)
    try {
      await waitFor(() => raw.messages.length >= 2, { what: '2 raw records' })
      expect(raw.messages.map((m) => String(m.value))).toEqual(good)
    } finally {
      await raw.stop()
    }
    expect(code).toBe(65)
  })
  it('skips a line of hundreds of MB, naming it, sends the lines around it, and exits 65', async () => {
    const { code, stderr, topic } = await replay('huge.ndjson', (file) =>
      writeLongLine(
        file,
        '{"id":"a","headline":"US raises tariffs"}\n',
        { prefix: '{"id":"big","headline":"', bytes: 600_000_000, suffix: '"}\n' },
        '{"id":"c","headline":"EU lifts duties"}\n',
      ),
    )
    expect(stderr).toContain(
      `huge.ndjson:2: skipped: line is ${600_000_026} bytes; limit ${MAX_LINE_BYTES}\n`,
    )
    expect(stderr).toMatch(/2 produced to .*, 1 bad row\(s\) skipped \(lines 2\)/)
    expect(await headlines(topic, 2)).toEqual(['US raises tariffs', 'EU lifts duties'])
    expect(code).toBe(65)
  })
  it('skips a line that is not valid UTF-8, naming it, instead of sending U+FFFD in its place', async () => {
    const latin1 = (text: string) => Buffer.from(text, 'latin1')
    const ndjson = await replay(
      'latin1.ndjson',
      Buffer.concat([
        Buffer.from('{"id":"a","headline":"Café owners hail tariff cut"}\n'),
        latin1('{"id":"b","headline":"caf\u00e9 tariffs rise"}\n'),
        Buffer.from('{"id":"c","headline":"EU lifts duties"}\n'),
      ]),
    )
    expect(ndjson.stderr).toContain('latin1.ndjson:2: skipped: line is not valid UTF-8\n')
    expect(ndjson.stderr).toMatch(/2 produced to .*, 1 bad row\(s\) skipped \(lines 2\)/)
    expect(await headlines(ndjson.topic, 2)).toEqual(['Café owners hail tariff cut', 'EU lifts duties'])
    expect(ndjson.code).toBe(65)
    const csv = await replay(
      'latin1.csv',
      Buffer.concat([
        Buffer.from('date,headline\n2020-01-01,Café owners hail tariff cut\n'),
        latin1('2020-01-02,caf\u00e9 tariffs rise\n'),
        Buffer.from('2020-01-03,EU lifts duties\n'),
      ]),
    )
    expect(csv.stderr).toContain('latin1.csv:3: skipped: line is not valid UTF-8\n')
    expect(csv.stderr).toMatch(/2 produced to .*, 1 bad row\(s\) skipped \(lines 3\)/)
    expect(await headlines(csv.topic, 2)).toEqual(['Café owners hail tariff cut', 'EU lifts duties'])
    expect(csv.code).toBe(65)
  })
  it('reads CR line ends (old Mac style) and a byte-order mark at the start of a later line (files joined with cat) as line ends and nothing', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf])
    // A CSV of CR line ends larger than a line may be was refused whole (its header line too long).
    const rows = Array.from({ length: 60_000 }, (_, i) => `2020-01-01,Headline ${i} on tariffs`)
    const csv = await replay(
      'mac.csv',
      Buffer.concat([
        Buffer.from(`date,headline\r${rows.join('\r')}\r`),
        bom,
        Buffer.from('date,headline\r'),
        bom,
        Buffer.from('"2020-01-02","Steel, again"\r'),
      ]),
    )
    expect(csv.stderr).toContain('mac.csv:60002: skipped: unreadable date "date"\n')
    expect(csv.stderr).toMatch(/60001 produced to .*, 1 bad row\(s\) skipped \(lines 60002\)/)
    expect((await headlines(csv.topic, 60_001)).slice(-2)).toEqual([
      'Headline 59999 on tariffs',
      'Steel, again',
    ])
    expect(csv.code).toBe(65)
    const ndjson = await replay(
      'cat.ndjson',
      Buffer.concat([
        Buffer.from('{"id":"a","headline":"Steel tariffs rise"}\rnope\r'),
        bom,
        Buffer.from('{"id":"b","headline":"EU lifts duties"}\r\n'),
      ]),
    )
    expect(ndjson.stderr).toMatch(/cat\.ndjson:2: skipped: invalid JSON/)
    expect(ndjson.stderr).toMatch(/2 produced to .*, 1 bad row\(s\) skipped \(lines 2\)/)
    expect(await headlines(ndjson.topic, 2)).toEqual(['Steel tariffs rise', 'EU lifts duties'])
    expect(ndjson.code).toBe(65)
  })
  it('skips times that name no real time or one before 2000, saying why, reads a time without a zone as UTC, and exits 0 when all is read', async () => {
    const bad = await replay(
      'times.csv',
      [
        'time,headline',
        '2024-02-30,Tariffs one',
        '31-Feb-20,Tariffs two',
        '"13:51 PM ET Fri, 17 July 2020",Tariffs three',
        '"7:99 PM ET Fri, 45 July 2020",Tariffs four',
        '2020-07-17T19:51:00,Tariffs five',
        '18-Jul-98,Tariffs six',
        '0001-01-01T00:00:00Z,Tariffs seven',
        'yesterday,Tariffs eight',
      ].join('\n'),
      { env: { TZ: 'Asia/Tokyo' } },
    )
    const early =
      "before 2000: ingest takes such a time for a producer's zero time (0001-01-01, 1970-01-01) and gives the headline the time it was sent instead, ahead of every row sent after it"
    for (const [line, why] of [
      [2, 'time "2024-02-30" names no real time: there is no 30 February 2024'],
      [3, 'time "31-Feb-20" names no real time: there is no 31 February 2020'],
      [
        4,
        'time "13:51 PM ET Fri, 17 July 2020" names no real time: there is no time 13:51 PM (hours 1 to 12, minutes 00 to 59)',
      ],
      [
        5,
        'time "7:99 PM ET Fri, 45 July 2020" names no real time: there is no time 7:99 PM (hours 1 to 12, minutes 00 to 59)',
      ],
      // 98 is 1998, not 2098; a year-1 time was "unreadable".
      [7, `time "18-Jul-98" is 1998-07-18T00:00:00.000Z, ${early}`],
      [8, `time "0001-01-01T00:00:00Z" is 0001-01-01T00:00:00.000Z, ${early}`],
      [9, 'unreadable time "yesterday"'],
    ])
      expect(bad.stderr).toContain(`times.csv:${line}: skipped: ${why}\n`)
    expect(bad.stderr).toMatch(/1 produced to .*, 7 bad row\(s\) skipped \(lines 2, 3, 4, 5, 7, 8, 9\)/)
    expect(await times(bad.topic, 1)).toEqual(['2020-07-17T19:51:00.000Z'])
    expect(bad.code).toBe(65)
    const good = await replay('good.csv', 'time,headline\n2020-07-17T19:51:00,Tariffs five\n')
    expect(good.stderr).toMatch(/1 produced to .*, 0 bad row\(s\) skipped/)
    expect(good.code).toBe(0)
  })

  // Newest first, like cnbc_2017_2020.csv: in file order the aggregator would find nearly all of it late.
  // 3 March 2020 is before that year's daylight time (from 8 March): 1:15 PM EST.
  const newestFirst = [
    'time,headline',
    '"7:51 PM ET Fri, 17 July 2020",Chips rally',
    '"7:33 PM ET Fri, 17 July 2020",Steel tariffs rise',
    '"1:15 PM ET Tue, 3 Mar 2020",Ports reopen',
    '"9:05 AM ET Mon, 4 Dec 2017",Copper falls',
  ].join('\n')

  it('produces a newest-first file oldest first, and its oldest rows for --limit', async () => {
    const all = await replay('newest-first.csv', newestFirst)
    expect(all.stderr).toMatch(/4 produced to /)
    expect(all.code).toBe(0)
    expect(all.stderr).not.toMatch(/warning/)
    expect(await times(all.topic, 4)).toEqual([
      '2017-12-04T14:05:00.000Z',
      '2020-03-03T18:15:00.000Z',
      '2020-07-17T23:33:00.000Z',
      '2020-07-17T23:51:00.000Z',
    ])
    const limited = await replay('newest-first.csv', newestFirst, { args: ['--limit', '2', '--rate', '100'] })
    expect(limited.stderr).toMatch(/2 produced to /)
    expect(await times(limited.topic, 2)).toEqual(['2017-12-04T14:05:00.000Z', '2020-03-03T18:15:00.000Z'])
  })
  it('reads NDJSON through a pipe (replay <(zcat feed.ndjson.gz): a name with no extension) as NDJSON', async () => {
    const feed = [
      JSON.stringify({ id: 'p1', headline: 'Steel tariffs rise', publishedAt: '2020-01-01T00:00:00Z' }),
      'not json',
      JSON.stringify({ id: 'p2', headline: 'Ports reopen', publishedAt: '2020-01-01T00:01:00Z' }),
    ].join('\n')
    const { code, stderr, topic } = await replay('feed.ndjson', `\ufeff${feed}\n`, { piped: true })
    expect(stderr).toMatch(/\/dev\/fd\/\d+:2: skipped: invalid JSON/)
    expect(stderr).toMatch(/2 produced to .*, 1 bad row\(s\) skipped \(lines 2\)/)
    expect(await headlines(topic, 2)).toEqual(['Steel tariffs rise', 'Ports reopen'])
    expect(code).toBe(65)
  })
  it('stamps --source on the rows of a piped CSV, its first bytes (read to tell it from NDJSON before connecting) sent too', async () => {
    const { code, stderr, topic } = await replay(
      'feed.csv',
      'date,headline\n2020-01-01,Steel tariffs rise\n2020-01-02,Ports reopen\n',
      { piped: true, args: ['--source', 'reuters'] },
    )
    expect(stderr).toMatch(/2 produced to .*, 0 bad row\(s\) skipped/)
    expect(await headlines(topic, 2)).toEqual(['Steel tariffs rise', 'Ports reopen'])
    expect(await fieldOf('source', topic, 2)).toEqual(['reuters', 'reuters'])
    expect(code).toBe(0)
  })
  it('refuses a piped CSV without a headline column in one line naming it (exit 78)', async () => {
    const { code, stderr } = await replay('feed.csv', 'date,title\n2020-01-01,Steel tariffs rise\n', {
      piped: true,
    })
    expect(stderr.trimEnd().split('\n'), stderr).toHaveLength(1)
    expect(stderr.trimEnd()).toMatch(
      /^tradepulse: replay: \/dev\/fd\/\d+: no "headline" column \(columns: date, title\)$/,
    )
    expect(code).toBe(78)
  })
  it('produces a pipe as it comes and warns once where its time runs backwards', async () => {
    const { stderr, topic } = await replay('piped.csv', newestFirst, { piped: true })
    expect(stderr.match(/warning: time runs backwards/g)).toHaveLength(1)
    expect(stderr).toMatch(
      /:3: warning: time runs backwards, 2020-07-17T23:33:00\.000Z after 2020-07-17T23:51:00/,
    )
    expect(stderr).toMatch(/4 produced to .*, 3 sent more than 10 min behind a newer one/)
    expect(await times(topic, 4)).toEqual([
      '2020-07-17T23:51:00.000Z',
      '2020-07-17T23:33:00.000Z',
      '2020-03-03T18:15:00.000Z',
      '2017-12-04T14:05:00.000Z',
    ])
  })

  describe('a live pipe (a writer that keeps it open and writes slowly: tail -f feed.csv | tradepulse replay -)', () => {
    /** The CLI replaying `file` to a fresh topic (stdin a socket, as Node's stdio 'pipe' gives), and its records. */
    async function spawnReplay(file: string, args: string[] = [], env: Record<string, string> = {}) {
      const prefix = `${randomName('replay-live')}.`
      const topic = createTopicCatalogue(prefix).raw.name
      await createTopics(kafkaBrokers, [{ name: topic }])
      const raw = await collectTopic(kafkaBrokers, topic)
      const child = spawn(process.execPath, [MAIN, 'replay', file, ...args], {
        env: {
          ...process.env,
          KAFKA_BROKERS: kafkaBrokers.join(','),
          TRADEPULSE_TOPIC_PREFIX: prefix,
          ...env,
        },
        stdio: ['pipe', 'ignore', 'pipe'],
      })
      const out = { stderr: '', code: undefined as number | null | undefined }
      child.stderr?.on('data', (d) => {
        out.stderr += d
      })
      child.once('exit', (code) => {
        out.code = code
      })
      const headlines = () =>
        raw.messages.map((m) => (JSON.parse(String(m.value)) as { headline: string }).headline)
      return { child, raw, out, headlines, topic }
    }
    const stop = async (child: ChildProcess, raw: { stop(): Promise<void> }) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await raw.stop()
    }

    it("says on SIGINT or SIGTERM how many rows it sent, and exits with the signal's code", async () => {
      // It ended by the signal's default: no line, no count, so an interrupted replay could not be resumed
      // or checked against what the workers took.
      for (const [signal, code] of [
        ['SIGINT', 130],
        ['SIGTERM', 143],
      ] as const) {
        const { child, raw, out, headlines, topic } = await spawnReplay('-')
        try {
          child.stdin?.write('date,headline\n2020-01-01,Steel tariffs rise\n2020-01-02,Ports reopen\n')
          await waitFor(() => headlines().length >= 2, { timeoutMs: 15_000, what: 'two rows on Kafka' })
          child.kill(signal)
          await waitFor(() => out.code !== undefined, { timeoutMs: 15_000, what: 'the replay to exit' })
          expect(out.code, out.stderr).toBe(code)
          expect(out.stderr).toContain(
            `replay: interrupted by ${signal}: 2 produced to ${topic}; the rest not sent\n`,
          )
        } finally {
          await stop(child, raw)
        }
      }
    })

    it("says how many rows it sent before a failure, then the failure: here Kafka refusing this host's clock", async () => {
      // It said nothing of the rows already on Kafka, so a replay failing part way could not be resumed.
      const dir = mkdtempSync(join(tmpdir(), 'replay-clock-'))
      const flag = join(dir, 'ahead')
      const ahead = join(dir, 'ahead.mjs')
      // This process's clock 2 h ahead of the broker's once `flag` exists (kafkajs stamps with Date.now()).
      writeFileSync(
        ahead,
        `import { existsSync } from 'node:fs'
const real = Date.now.bind(Date)
let on = false
Date.now = () => real() + ((on ||= existsSync(${JSON.stringify(flag)})) ? 7_200_000 : 0)
`,
      )
      const { child, raw, out, headlines, topic } = await spawnReplay('-', [], {
        NODE_OPTIONS: `--import=${pathToFileURL(ahead).href}`,
      })
      try {
        child.stdin?.write('date,headline\n2020-01-01,Steel tariffs rise\n2020-01-02,Ports reopen\n')
        await waitFor(() => headlines().length >= 2, { timeoutMs: 15_000, what: 'two rows on Kafka' })
        writeFileSync(flag, '')
        child.stdin?.write('2020-01-03,Chips rally\n')
        await waitFor(() => out.code !== undefined, { timeoutMs: 15_000, what: 'the replay to exit' })
        expect(out.code, out.stderr).toBe(69)
        expect(out.stderr).toContain(
          `replay: 2 produced to ${topic} before the failure below\ntradepulse: Kafka at `,
        )
        expect(out.stderr).toContain(
          `failed: Kafka refused the timestamps of records for ${topic} (INVALID_TIMESTAMP)`,
        )
      } finally {
        await stop(child, raw)
        rmSync(dir, { recursive: true, force: true })
      }
    })

    it('sends each CSV row of a live stdin as it comes, not when 500 more or the end come', async () => {
      // A row waited for a batch of --batch rows (500), and csv-parse held the last line until more came.
      const { child, raw, out, headlines } = await spawnReplay('-')
      try {
        child.stdin?.write('date,headline\n2020-01-01,Steel tariffs rise\n')
        await waitFor(() => headlines().length >= 1, { timeoutMs: 15_000, what: 'the first row on Kafka' })
        child.stdin?.write('2020-01-02,"Ports reopen, again"\r\n')
        await waitFor(() => headlines().length >= 2, { timeoutMs: 15_000, what: 'the second row on Kafka' })
        child.stdin?.end('2020-01-03,Chips rally\n')
        await waitFor(() => out.code !== undefined, { timeoutMs: 15_000, what: 'the replay to exit' })
        expect(out.code, out.stderr).toBe(0)
        expect(out.stderr).toMatch(/replay: 3 produced to .*, 0 bad row\(s\) skipped/)
        await waitFor(() => headlines().length >= 3, { timeoutMs: 15_000, what: '3 rows on Kafka' })
        expect(headlines()).toEqual(['Steel tariffs rise', 'Ports reopen, again', 'Chips rally'])
      } finally {
        await stop(child, raw)
      }
    })

    it('stops at --limit on a named pipe once its last row comes, and exits with its summary, the writer still there', async () => {
      // It stopped only when row N+1 came: with a quiet writer it waited indefinitely, rows unsent.
      const fifo = join(mkdtempSync(join(tmpdir(), 'replay-fifo-')), 'feed.fifo')
      execFileSync('mkfifo', [fifo])
      const { child, raw, out, headlines } = await spawnReplay(fifo, ['--limit', '2'])
      // Opened for writing once the replay has it open for reading (ENXIO before: O_NONBLOCK, so the test
      // never waits in the open); kept open to the end of the test.
      const writer = await waitFor(
        () => {
          try {
            return openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)
          } catch {
            return undefined
          }
        },
        { timeoutMs: 15_000, what: 'the replay to open the named pipe' },
      )
      try {
        writeSync(writer, 'date,headline\n2020-01-01,Steel tariffs rise\n2020-01-02,Ports reopen\n')
        await waitFor(() => out.code !== undefined, {
          timeoutMs: 15_000,
          what: 'the replay to exit at --limit',
        })
        expect(out.code, out.stderr).toBe(0)
        expect(out.stderr).toMatch(/replay: 2 produced to .*, 0 bad row\(s\) skipped/)
        await waitFor(() => headlines().length >= 2, { timeoutMs: 15_000, what: '2 rows on Kafka' })
        expect(headlines()).toEqual(['Steel tariffs rise', 'Ports reopen'])
      } finally {
        closeSync(writer)
        await stop(child, raw)
        rmSync(dirname(fifo), { recursive: true, force: true })
      }
    })
  })
})
