import { execFile, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import {
  closeSync,
  constants,
  createWriteStream,
  mkdtempSync,
  openSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitFor } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { cli, expectOneLine, MAIN, NO_KAFKA, NO_REDIS, spawnCli } from './test-helpers.ts'

const SAMPLE = join(import.meta.dirname, '..', 'sample', 'sample-feed.ndjson')

describe('the CLI when Kafka or Redis cannot be reached', { timeout: 60_000 }, () => {
  it('says so in one line naming the address and KAFKA_BROKERS, and exits 69', async () => {
    const runs = await Promise.all([
      cli(['replay', SAMPLE], { KAFKA_BROKERS: NO_KAFKA }),
      cli(['tail', 'alerts'], { KAFKA_BROKERS: NO_KAFKA }),
      cli(['topics', 'create'], { KAFKA_BROKERS: NO_KAFKA }),
      cli(['dlq', 'list'], { KAFKA_BROKERS: NO_KAFKA }),
      cli(['dlq', 'replay'], { KAFKA_BROKERS: NO_KAFKA }),
      // Kafka first, as the others: it named the unreachable Redis (REDIS_URL's default) instead, and with
      // Redis up retried Kafka for 17 s, a JSON error line on stderr for each retry.
      cli(['indicators', 'rebuild'], { KAFKA_BROKERS: NO_KAFKA, REDIS_URL: NO_REDIS }),
    ])
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(69)
      expectOneLine(
        r.stderr,
        /^tradepulse: cannot reach Kafka at 127\.0\.0\.1:1 \(KAFKA_BROKERS\): .*ECONNREFUSED.*; start it \(pnpm infra:up\) or set KAFKA_BROKERS$/,
      )
    }
  })

  it('names REDIS_URL with its credentials hidden, and exits 69', async () => {
    const r = await cli(['indicators'], { REDIS_URL: NO_REDIS })
    expect(r.code, r.stderr).toBe(69)
    expectOneLine(
      r.stderr,
      /^tradepulse: cannot reach Redis at redis:\/\/\[redacted\]@127\.0\.0\.1:1 \(REDIS_URL\): connect ECONNREFUSED 127\.0\.0\.1:1; start it \(pnpm infra:up\) or set REDIS_URL$/,
    )
    expect(r.stderr).not.toContain('pa55word')
  })
})

describe('the CLI on a bad flag or file', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-errors-'))
  const noHeadline = join(dir, 'no-headline.csv')
  writeFileSync(noHeadline, 'date,title\n2020-01-01,Steel tariffs rise\n')
  // A header and no rows: its columns were checked with the first row only, and there was none.
  const headerOnly = join(dir, 'header-only.csv')
  writeFileSync(headerOnly, 'date,title\n')

  it('replay refuses in one line naming the flag or the file, before connecting (exit 78)', async () => {
    const cases: [string[], RegExp][] = [
      [['replay', join(dir, 'nonexist.csv')], /^tradepulse: replay: no such file: .*nonexist\.csv$/],
      [['replay', dir], /^tradepulse: replay: not a file: /],
      [
        ['replay', noHeadline],
        /^tradepulse: replay: .*no-headline\.csv: no "headline" column \(columns: date, title\)$/,
      ],
      [
        ['replay', headerOnly],
        /^tradepulse: replay: .*header-only\.csv: no "headline" column \(columns: date, title\)$/,
      ],
      [
        ['replay', SAMPLE, '--rate', 'fast'],
        /^tradepulse: replay: option '--rate <n>' argument 'fast' is invalid\. Expected a number .*, or "max"\. \(see tradepulse replay --help\)$/,
      ],
      [
        ['replay', SAMPLE, '--limit', '0'],
        /^tradepulse: replay: option '--limit <n>' argument '0' is invalid\. Expected a whole number of at least 1, in decimal digits \(0-9\)\. \(see tradepulse replay --help\)$/,
      ],
      [
        ['replay', SAMPLE, '--batch', 'x'],
        /^tradepulse: replay: option '--batch <n>' argument 'x' is invalid\. Expected a whole number of at least 1/,
      ],
    ]
    // Kafka unreachable: were it tried first, the answer would be the unreachable broker (exit 69).
    const runs = await Promise.all(cases.map(([args]) => cli(args, { KAFKA_BROKERS: NO_KAFKA })))
    runs.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(78)
      expectOneLine(r.stderr, cases[i]![1])
    })
  })

  it('indicators rebuild refuses a --since with white space around it in one line naming the flag, before connecting (exit 78)', async () => {
    // ' 2d ' was read as 2d (the only option that trimmed its value) and went on to the unreachable Redis (69).
    const r = await cli(['indicators', 'rebuild', '--since', ' 2d '], {
      KAFKA_BROKERS: NO_KAFKA,
      REDIS_URL: NO_REDIS,
    })
    expect(r.code, r.stderr).toBe(78)
    expectOneLine(
      r.stderr,
      /^tradepulse: indicators rebuild: option '--since <duration>' argument ' 2d ' is invalid\. Expected a duration of at least 1 ms: .* \(30m, 12h, 7d\)\. \(see tradepulse indicators rebuild --help\)$/,
    )
    expect(r.stdout).toBe('')
  })

  it('indicators refuses a bad --as-of in the line every bad option value gets, before reading the configuration or Redis (exit 78)', async () => {
    // It said "--as-of: latest, now or …, got "soon"", in words of its own, and only once the aggregator's
    // configuration had been read: a bad variable was named first.
    const r = await cli(['indicators', '--as-of', 'soon'], {
      REDIS_URL: NO_REDIS,
      AGGREGATOR_GRACE_MS: 'soon',
    })
    expect(r.code, r.stderr).toBe(78)
    expectOneLine(
      r.stderr,
      /^tradepulse: indicators: option '--as-of <time>' argument 'soon' is invalid\. Expected latest, now or an ISO 8601 time with Z or an offset \(2026-03-02T14:00:00Z\)\. \(see tradepulse indicators --help\)$/,
    )
    expect(r.stdout).toBe('')
  })

  it('replay --source and topics create --desks refuse an empty value in one line naming the flag, before connecting (exit 78)', async () => {
    // Each empty value was taken as the option not given and went on to the unreachable Kafka (69): replay
    // would have sent its rows with no source, topics create made no desk topic.
    const cases: [string[], RegExp][] = [
      [
        ['replay', SAMPLE, '--source', ''],
        /^tradepulse: replay: option '--source <name>' argument '' is invalid\. Expected a source name of 1 to 100 characters, not white space or invisible characters only\. \(see tradepulse replay --help\)$/,
      ],
      [
        ['topics', 'create', '--desks', ''],
        /^tradepulse: topics create: option '--desks \[file\]' argument '' is invalid\. Expected a desks file, not empty or white space only\. \(see tradepulse topics create --help\)$/,
      ],
    ]
    for (const [args, pattern] of cases) {
      const r = await cli(args, { KAFKA_BROKERS: NO_KAFKA })
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(78)
      expectOneLine(r.stderr, pattern)
      expect(r.stdout).toBe('')
    }
  })

  it('replay refuses --source for an NDJSON file (told by name or content), which it stamps no row of, in one line before connecting (exit 78)', async () => {
    // --source stamps CSV rows only: given for NDJSON it was dropped unseen (every row sent without it,
    // exit 0), and here went on to the unreachable Kafka (69).
    // NDJSON by its name, and by its content (a name that tells nothing, as a pipe's).
    const unnamed = join(dir, 'feed-without-extension')
    writeFileSync(unnamed, '{"headline":"US raises tariffs on steel"}\n')
    for (const file of [SAMPLE, unnamed]) {
      const r = await cli(['replay', file, '--source', 'reuters'], { KAFKA_BROKERS: NO_KAFKA })
      expect(r.code, `${file}: ${r.stderr}`).toBe(78)
      expect(r.stderr).toBe(
        `tradepulse: replay: ${file}: --source stamps CSV rows; this file is NDJSON: give each line its own "source" instead\n`,
      )
    }
  })

  it('replay refuses --source for NDJSON through a pipe, told by its first character, before connecting (exit 78)', async () => {
    // A pipe (its name, /dev/fd/63, tells nothing) was told NDJSON only as its rows were read, once
    // connected: with Kafka down, the answer was the unreachable broker (69), not the flag.
    const line = JSON.stringify({ headline: 'US raises tariffs on steel' })
    const piped = (text: string, source: string) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) =>
        execFile(
          'bash',
          [
            // No ~/.bashrc: bash reads it when its stdin is a socket, as Node's pipes are.
            '--norc',
            '-c',
            `"$0" "$1" replay --source "$2" <(printf '%s\\n' "$3")`,
            process.execPath,
            MAIN,
            source,
            text,
          ],
          { env: { PATH: process.env.PATH ?? '', KAFKA_BROKERS: NO_KAFKA }, timeout: 30_000 },
          (err, _stdout, stderr) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
        ),
      )
    const ndjson = await piped(`\ufeff  ${line}`, 'reuters')
    expect(ndjson.code, ndjson.stderr).toBe(78)
    expectOneLine(
      ndjson.stderr,
      /^tradepulse: replay: \/dev\/fd\/\d+: --source stamps CSV rows; this file is NDJSON: give each line its own "source" instead$/,
    )
    // A CSV through a pipe takes --source: on to Kafka.
    const csv = await piped('date,headline\n2020-01-01,Steel tariffs rise', 'reuters')
    expect(csv.code, csv.stderr).toBe(69)
    expectOneLine(csv.stderr, /cannot reach Kafka at 127\.0\.0\.1:1 \(KAFKA_BROKERS\)/)
  })

  it('refuses a flag or command it does not know in one line (exit 78); help asked for is still help', async () => {
    // Each usage error commander finds: usage-errors.test.ts. Here, main.ts wires it in, one at a time
    // (several CLI processes at once on a loaded machine outran the 30 s each has).
    const cases: [string[], RegExp][] = [
      [
        ['score', '--bdy', 'x'],
        /^tradepulse: score: unknown option '--bdy' \(Did you mean --body\?\) \(see tradepulse score --help\)$/,
      ],
      [['scorr'], /^tradepulse: unknown command 'scorr' \(Did you mean score\?\) \(see tradepulse --help\)$/],
    ]
    for (const [args, pattern] of cases) {
      const r = await cli(args, { KAFKA_BROKERS: NO_KAFKA })
      expect(r.code, r.stderr).toBe(78)
      expectOneLine(r.stderr, pattern)
      expect(r.stdout).toBe('')
    }
    const help = await cli(['score', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Usage: tradepulse score \[options\] \[headline\.\.\.\]/)
  })

  it('refuses a command group without its subcommand in one line naming them (exit 78); help asked for is still help', async () => {
    // Commander printed the group's whole help on stderr and exited 1.
    const cases: [string[], RegExp][] = [
      [['tail'], /^tradepulse: tail: missing subcommand: alerts \(see tradepulse tail --help\)$/],
      [
        ['topics'],
        /^tradepulse: topics: missing subcommand: list or create \(see tradepulse topics --help\)$/,
      ],
      [
        [],
        /^tradepulse: missing command: start, score, replay, topics, tail, indicators or dlq \(see tradepulse --help\)$/,
      ],
      [['dlq'], /^tradepulse: dlq: missing subcommand: list or replay \(see tradepulse dlq --help\)$/],
    ]
    for (const [args, pattern] of cases) {
      const r = await cli(args)
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(78)
      expectOneLine(r.stderr, pattern)
      expect(r.stdout).toBe('')
    }
    for (const args of [['help'], ['tail', '--help'], ['topics', 'help']]) {
      const r = await cli(args)
      expect([r.code, r.stderr], args.join(' ')).toEqual([0, ''])
      expect(r.stdout).toMatch(/^Usage: tradepulse /)
    }
  })

  it('reads every numeric option in plain decimal only, as the workers read their variables (exit 78)', async () => {
    // Each was taken as Number() reads it (--top 0x10 showed 16 rows; --limit 1e3 sent 1000), so each
    // went on to the unreachable Kafka or Redis (69), or to another refusal (start: REDIS_URL not set).
    const cases: [string[], RegExp][] = [
      [
        ['indicators', '--top', '0x10'],
        /^tradepulse: indicators: option '--top <n>' argument '0x10' is invalid\. /,
      ],
      [
        ['replay', SAMPLE, '--limit', '1e3'],
        /^tradepulse: replay: option '--limit <n>' argument '1e3' is invalid\. /,
      ],
      [
        ['replay', SAMPLE, '--batch', '+5'],
        /^tradepulse: replay: option '--batch <n>' argument '\+5' is invalid\. /,
      ],
      [
        ['replay', SAMPLE, '--rate', '0b11'],
        /^tradepulse: replay: option '--rate <n>' argument '0b11' is invalid\. /,
      ],
      [['start', '--speed', '1e3'], /^tradepulse: start: option '--speed <n>' argument '1e3' is invalid\. /],
      [
        ['start', '--http-port', ' 5'],
        /^tradepulse: start: option '--http-port <n>' argument ' 5' is invalid\. /,
      ],
    ]
    for (const [args, pattern] of cases) {
      const r = await cli(args, {
        KAFKA_BROKERS: NO_KAFKA,
        REDIS_URL: NO_REDIS.replace('desk:pa55word@', ''),
      })
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(78)
      expectOneLine(r.stderr, pattern)
      expect(r.stdout).toBe('')
    }
  })

  it("refuses a --rate so slow that the wait between two sends would overflow Node's timer, and takes the slowest one that fits", async () => {
    // --rate 0.0000001 waited 10^10 ms between sends: Node warned (TimeoutOverflowWarning) and sent at once.
    const slow = await cli(['replay', SAMPLE, '--rate', '0.0000001'], { KAFKA_BROKERS: NO_KAFKA })
    expect(slow.code, slow.stderr).toBe(78)
    expectOneLine(
      slow.stderr,
      /^tradepulse: replay: option '--rate <n>' argument '0\.0000001' is invalid\. Expected a number of at least 0\.000001 \(one headline in 11\.6 days; Node's timers wait at most 24\.8 days\), in decimal notation \(digits, one point\), or "max"\. \(see tradepulse replay --help\)$/,
    )
    const slowest = await cli(['replay', SAMPLE, '--rate', '0.000001'], { KAFKA_BROKERS: NO_KAFKA })
    expect(slowest.code, slowest.stderr).toBe(69)
    expectOneLine(slowest.stderr, /cannot reach Kafka at 127\.0\.0\.1:1 \(KAFKA_BROKERS\)/)
  })

  it('replay takes a named pipe (process substitution) as a file: on to Kafka, not "not a file"', async () => {
    const fifo = join(dir, 'feed.fifo')
    execFileSync('mkfifo', [fifo])
    const replaying = cli(['replay', fifo], { KAFKA_BROKERS: NO_KAFKA })
    // Its header is read while Kafka is reached (a pipe's header is checked as a file's is): a writer gives it.
    const writer = createWriteStream(fifo)
    writer.write('date,headline\n2020-01-01,Steel tariffs rise\n')
    const r = await replaying
    writer.destroy()
    expect(r.code, r.stderr).toBe(69)
    expectOneLine(r.stderr, /cannot reach Kafka at 127\.0\.0\.1:1 \(KAFKA_BROKERS\)/)
  })

  it('replay refuses a piped CSV (stdin, a named pipe) without a headline column before connecting, while the pipe stays open (exit 78)', async () => {
    // Its header was checked only as its rows were read, once connected: with Kafka down the answer was
    // the unreachable broker (69), where a file's header is refused first (78). The pipe stays open (a
    // live feed gone quiet): nothing past the header is waited for, and the process exits at once.
    const opened: number[] = []
    /** A named pipe holding `text`, its writer left open; `reader` an end of it opened for reading. */
    const pipeHolding = (name: string, text: string) => {
      const fifo = join(dir, name)
      execFileSync('mkfifo', [fifo])
      // A reader first (not blocking), so the writer's open returns; then a reader that blocks.
      const first = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK)
      const writer = openSync(fifo, 'w')
      const reader = openSync(fifo, 'r')
      closeSync(first)
      opened.push(writer, reader)
      writeSync(writer, text)
      return { fifo, reader }
    }
    const run = (args: string[], stdin: number | 'ignore') =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [MAIN, ...args], {
          env: { PATH: process.env.PATH ?? '', KAFKA_BROKERS: NO_KAFKA },
          stdio: [stdin, 'ignore', 'pipe'],
          timeout: 30_000,
        })
        let stderr = ''
        child.stderr?.on('data', (d) => {
          stderr += d
        })
        child.once('exit', (code) => resolve({ code, stderr }))
      })
    const csv = '\ufeffdate,title\r\n2020-01-01,Steel tariffs rise\r\n'
    try {
      const piped = pipeHolding('stdin.fifo', csv)
      const named = pipeHolding('named.fifo', csv)
      // The named pipe's reader is closed: the command opens it by its name, as `replay <(…)`.
      closeSync(named.reader)
      opened.splice(opened.indexOf(named.reader), 1)
      const runs = await Promise.all([
        run(['replay', '/dev/stdin'], piped.reader),
        run(['replay', named.fifo], 'ignore'),
      ])
      for (const r of runs) {
        expect(r.code, r.stderr).toBe(78)
        expectOneLine(
          r.stderr,
          /^tradepulse: replay: (\/dev\/stdin|.*named\.fifo): no "headline" column \(columns: date, title\)$/,
        )
      }
    } finally {
      for (const fd of opened) closeSync(fd)
    }
  })

  it('replay reads stdin given as a socket (a Node parent spawning it with stdio pipe) as a pipe: on to Kafka, its header checked first', async () => {
    // /dev/stdin (or -) on a socket was refused as "not a file" (exit 78), whatever it held.
    const run = async (file: string, text: string, { end }: { end: boolean }) => {
      const { child, output, exited } = spawnCli(
        ['replay', file],
        { KAFKA_BROKERS: NO_KAFKA },
        { stdin: true },
      )
      try {
        // Ended, or left open (a live feed gone quiet): the answer does not wait for more.
        if (end) child.stdin.end(text)
        else child.stdin.write(text)
        let exit: [number | null, NodeJS.Signals | null] | undefined
        void exited.then((e) => {
          exit = e
        })
        const [code] = await waitFor(() => exit, { timeoutMs: 30_000, what: `replay ${file} to exit` })
        return { code, stderr: output.err }
      } finally {
        child.kill('SIGKILL')
      }
    }
    const runs = await Promise.all([
      run('/dev/stdin', 'date,headline\n2020-01-01,Steel tariffs rise\n', { end: true }),
      run('-', `${JSON.stringify({ headline: 'Steel tariffs rise' })}\n`, { end: false }),
    ])
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(69)
      expectOneLine(r.stderr, /^tradepulse: cannot reach Kafka at 127\.0\.0\.1:1 \(KAFKA_BROKERS\)/)
    }
    // Its header is checked as a pipe's is: refused in one line naming it (- is /dev/stdin), exit 78.
    const bad = await run('-', 'date,title\n2020-01-01,Steel tariffs rise\n', { end: false })
    expect(bad.code, bad.stderr).toBe(78)
    expectOneLine(
      bad.stderr,
      /^tradepulse: replay: \/dev\/stdin: no "headline" column \(columns: date, title\)$/,
    )
  })

  it('replay still refuses what cannot be read as a file, a pipe or an open socket, in one line naming it (exit 78)', async () => {
    // A socket listening on a path is one to connect to, not an input stream given to the command.
    const listening = join(dir, 'feed.sock')
    const server = createServer().listen(listening)
    await once(server, 'listening')
    try {
      const cases: [string, RegExp][] = [
        [dir, new RegExp(`^tradepulse: replay: not a file: ${dir} is a directory$`)],
        [join(dir, 'gone.csv'), /^tradepulse: replay: no such file: .*gone\.csv$/],
        [
          listening,
          /^tradepulse: replay: not a file: .*feed\.sock is a socket to connect to \(replay reads a socket only given to it open: as stdin, - or \/dev\/stdin, or \/dev\/fd\/N\)$/,
        ],
      ]
      for (const [file, pattern] of cases) {
        const r = await cli(['replay', file], { KAFKA_BROKERS: NO_KAFKA })
        expect(r.code, r.stderr).toBe(78)
        expectOneLine(r.stderr, pattern)
      }
    } finally {
      server.close()
    }
  })

  it('replay reports an unreachable Kafka within seconds (exit 69) while a named pipe has no writer, or stdin is a quiet pipe', async () => {
    // The named pipe was opened (and a quiet pipe's header waited for) before Kafka was tried: the replay
    // waited on the pipe, and learnt of the unreachable broker only once a writer came.
    const fifo = join(dir, 'no-writer.fifo')
    execFileSync('mkfifo', [fifo])
    const quiet = join(dir, 'quiet.fifo')
    execFileSync('mkfifo', [quiet])
    // stdin a pipe whose writer stays open and writes nothing.
    const first = openSync(quiet, constants.O_RDONLY | constants.O_NONBLOCK)
    const writer = openSync(quiet, 'w')
    const reader = openSync(quiet, 'r')
    closeSync(first)
    const run = (args: string[], stdin: number | 'ignore') =>
      new Promise<{ code: number | null; stderr: string; ms: number }>((resolve) => {
        const t0 = Date.now()
        const child = spawn(process.execPath, [MAIN, ...args], {
          env: { PATH: process.env.PATH ?? '', KAFKA_BROKERS: NO_KAFKA },
          stdio: [stdin, 'ignore', 'pipe'],
          timeout: 30_000,
          killSignal: 'SIGKILL',
        })
        let stderr = ''
        child.stderr?.on('data', (d) => {
          stderr += d
        })
        child.once('exit', (code) => resolve({ code, stderr, ms: Date.now() - t0 }))
      })
    try {
      const runs = await Promise.all([run(['replay', fifo], 'ignore'), run(['replay', '/dev/stdin'], reader)])
      for (const { code, stderr, ms } of runs) {
        expect(code, stderr).toBe(69)
        expectOneLine(
          stderr,
          /^tradepulse: cannot reach Kafka at 127\.0\.0\.1:1 \(KAFKA_BROKERS\): .*; start it \(pnpm infra:up\) or set KAFKA_BROKERS$/,
        )
        // cliKafka gives up after about 4 s.
        expect(ms).toBeLessThan(15_000)
      }
    } finally {
      closeSync(writer)
      closeSync(reader)
    }
  })

  it('tail alerts and topics create name --desk in one line for a desk id that cannot be one, before connecting (exit 78)', async () => {
    // The rule as the topic catalogue applies it: its own words ("use [a-z0-9_-], 1-63 chars") were met by
    // "_emea"; "" followed alerts.v1 as if no desk were given; topics create threw with a stack (exit 1).
    const rule =
      'Expected a desk id: 1 to 63 characters of a-z, 0-9, "_" and "-", the first a letter or digit \\(it names the topic alerts\\.desk\\.<id>\\.v1\\)\\.'
    const cases: [string[], RegExp][] = [
      [
        ['tail', 'alerts', '--desk', 'Bad Desk'],
        new RegExp(
          `^tradepulse: tail alerts: option '--desk <id>' argument 'Bad Desk' is invalid\\. ${rule} \\(see tradepulse tail alerts --help\\)$`,
        ),
      ],
      [
        ['tail', 'alerts', '--desk', ''],
        /^tradepulse: tail alerts: option '--desk <id>' argument '' is invalid\. /,
      ],
      [
        ['tail', 'alerts', '--desk', '_emea'],
        /^tradepulse: tail alerts: option '--desk <id>' argument '_emea' is invalid\. /,
      ],
      [
        ['topics', 'create', '--desk', 'fx', '--desk', 'Bad'],
        new RegExp(
          `^tradepulse: topics create: option '--desk <id\\.\\.\\.>' argument 'Bad' is invalid\\. ${rule} \\(see tradepulse topics create --help\\)$`,
        ),
      ],
      [
        ['topics', 'create', '--desk', 'a'.repeat(64)],
        /^tradepulse: topics create: option '--desk <id\.\.\.>' argument 'a{64}' is invalid\. /,
      ],
    ]
    for (const [args, pattern] of cases) {
      const r = await cli(args, { KAFKA_BROKERS: NO_KAFKA })
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(78)
      expectOneLine(r.stderr, pattern)
    }
  })

  it('topics create --desks refuses a desks file with an id that cannot name a topic, as any invalid desks file, in one line (exit 78)', async () => {
    // The desks file's schema took "_x" and 64 characters; the topic catalogue did not, and threw. The
    // file is now refused by its own schema, naming the field, the id, the rule and the line.
    const file = join(dir, 'underscore-desks.yaml')
    writeFileSync(
      file,
      'version: "1"\ndesks:\n  - id: fx\n    scopes: ["*"]\n  - id: _x\n    scopes: ["*"]\n',
    )
    const r = await cli(['topics', 'create', '--desks', file], { KAFKA_BROKERS: NO_KAFKA })
    expect(r.code, r.stderr).toBe(78)
    expectOneLine(r.stderr, /^tradepulse: --desks /)
    expect(r.stderr).toBe(
      `tradepulse: --desks ${file}: desks[1].id: invalid desk id "_x": a desk id is 1 to 63 characters of a-z, 0-9, "_" and "-", the first a letter or digit (it names the topic alerts.desk.<id>.v1) (line 5)\n`,
    )
  })

  it('topics create --desks names the flag, not ALERTER_DESKS_FILE, for the file it was given', async () => {
    const r = await cli(['topics', 'create', '--desks', join(dir, 'nonexist.yaml')], {
      KAFKA_BROKERS: NO_KAFKA,
    })
    expect(r.code, r.stderr).toBe(78)
    expectOneLine(r.stderr, /^tradepulse: --desks .*nonexist\.yaml: cannot read it: no such file/)
  })
})
