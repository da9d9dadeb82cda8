import { spawn } from 'node:child_process'
import { type AddressInfo, createServer, type Socket } from 'node:net'
import { createTopicCatalogue, type DeadLetter } from '@tradepulse/contracts'
import { DEFAULT_INGEST_LIMITS, parseRawRecord } from '@tradepulse/ingest'
import { scoreHeadline, scorerFromConfig } from '@tradepulse/scorer'
import { commandLine, descendants, randomName, waitFor } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { MAX_TIMER_MS } from '../option-values.ts'
import { loadSampleFeed } from '../sample-feed.ts'
import { cli, expectOneLine, MAIN, NO_KAFKA, NO_REDIS, spawnCli } from '../test-helpers.ts'
import { MIN_SPEED, sampleShortfall, sampleWatcher } from './start.ts'

describe('tradepulse start refuses before it starts, prints or plays anything', { timeout: 60_000 }, () => {
  it('start refuses a bad --http-port, --speed or LOG_LEVEL in one line (exit 78)', async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [
        ['start', '--http-port', 'abc'],
        {},
        /^tradepulse: start: option '--http-port <n>' argument 'abc' is invalid\. Expected a whole number from 0 to 65535 \(0: any free port\), in decimal digits \(0-9\)\. \(see tradepulse start --help\)$/,
      ],
      [
        ['start', '--speed', 'fast'],
        {},
        /^tradepulse: start: option '--speed <n>' argument 'fast' is invalid\. Expected a number of at least 1 \(real time\), in decimal notation \(digits, one point\), or "max"\. \(see tradepulse start --help\)$/,
      ],
      // A speed under real time, waiting for a headline its gap over the speed: at 0.0000001 every wait
      // overflowed Node's timer (TimeoutOverflowWarning) and the sample played at once.
      [
        ['start', '--speed', '0.0000001'],
        {},
        /^tradepulse: start: option '--speed <n>' argument '0\.0000001' is invalid\. /,
      ],
      [
        ['start'],
        { LOG_LEVEL: 'loud' },
        /^tradepulse: invalid configuration:\n {2}LOG_LEVEL: .*\(got "loud"\)$/,
      ],
    ]
    const runs = await Promise.all(cases.map(([args, env]) => cli(args, env)))
    runs.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(78)
      expect(r.stderr.trimEnd()).toMatch(cases[i]![2])
      expect(r.stderr).not.toMatch(/^\s+at /m)
    })
  })

  it("the slowest --speed waits for none of the sample's headlines longer than a Node timer can", () => {
    const times = loadSampleFeed().map((h) => Date.parse(h.publishedAt))
    const longestGap = Math.max(...times.slice(1).map((t, i) => t - times[i]!))
    expect(longestGap / MIN_SPEED).toBeLessThanOrEqual(MAX_TIMER_MS)
  })

  it('start --workers names what it cannot run, in the line every bad option value gets: an Object property is no worker, and an empty list names none (exit 78)', async () => {
    // On Kafka, --workers constructor ran no worker at all and exited 0 ('constructor' in WORKERS); an empty
    // list said "unknown worker(s) ;". Each was then refused in its own words ("--workers: unknown
    // worker(s) constructor; choose from …"), unlike every other bad option value.
    const env = { KAFKA_BROKERS: NO_KAFKA, REDIS_URL: NO_REDIS }
    const cases: [string[], RegExp][] = [
      [
        ['start', '--workers', 'constructor'],
        /^tradepulse: start: option '--workers <list>' argument 'constructor' is invalid\. Expected a comma-separated list of workers from ingest, scorer, aggregator, alerter, gateway; unknown: constructor\. \(see tradepulse start --help\)$/,
      ],
      [
        ['start', '--workers', 'scorer,toString'],
        /^tradepulse: start: option '--workers <list>' argument 'scorer,toString' is invalid\. .*; unknown: toString\. /,
      ],
      [
        ['start', '--workers', ' , '],
        /^tradepulse: start: option '--workers <list>' argument ' , ' is invalid\. Expected a comma-separated list of workers from ingest, scorer, aggregator, alerter, gateway; it names none\. \(see tradepulse start --help\)$/,
      ],
    ]
    for (const [args, pattern] of cases) {
      const r = await cli(args, env)
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(78)
      expectOneLine(r.stderr, pattern)
      expect(r.stdout).toBe('')
    }
  })

  it('start refuses, before printing or playing anything, one of KAFKA_BROKERS / REDIS_URL alone, a subset of workers, a bad variable (exit 78)', async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['start'], { KAFKA_BROKERS: NO_KAFKA }, /^tradepulse: REDIS_URL is not set but KAFKA_BROKERS is: /],
      [['start'], { KAFKA_BROKERS: 'nohost' }, /^tradepulse: REDIS_URL is not set but KAFKA_BROKERS is: /],
      [
        ['start'],
        { REDIS_URL: NO_REDIS, KAFKA_BROKERS: ' ' },
        /^tradepulse: KAFKA_BROKERS is not set but REDIS_URL is: /,
      ],
      [
        ['start', '--workers', 'alerter'],
        {},
        /^tradepulse: start: option '--workers <list>' argument 'alerter' is invalid\. The embedded default runs every worker .*\(set KAFKA_BROKERS and REDIS_URL, or add --local-infra\)\. \(see tradepulse start --help\)$/,
      ],
      [
        ['start'],
        { AGGREGATOR_GRACE_MS: 'soon' },
        /^tradepulse: invalid configuration:\n {2}AGGREGATOR_GRACE_MS: /,
      ],
      [
        ['start'],
        { INGEST_DEDUP_WINDOW_MS: '9007199254740991' },
        /^tradepulse: invalid configuration:\n {2}INGEST_DEDUP_WINDOW_MS: at most 8386597699200000 ms .*\(got "9007199254740991"\)$/,
      ],
      [
        ['start'],
        { ALERTER_RULES_FILE: 'nonexist.yaml' },
        /^tradepulse: ALERTER_RULES_FILE: cannot read nonexist\.yaml \(no such file\)$/,
      ],
    ]
    const runs = await Promise.all(cases.map(([args, env]) => cli(args, env)))
    runs.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(78)
      expect(r.stderr.trimEnd()).toMatch(cases[i]![2])
      expect(r.stderr).not.toMatch(/Embedded mode|Playing/)
      expect(r.stdout).toBe('')
    })
  })

  it('start refuses KAFKA_GROUP_ID with several workers in the process, before connecting anywhere (exit 78); one worker keeps it', async () => {
    // One group for ingest and scorer: kafkajs's leader split its own topic's partitions over both, each
    // dropped (with a warning only) those of the topic it does not read, and the other topic was read by
    // no one: 33 of 60 raw headlines never ingested, none scored.
    const kafka = { KAFKA_BROKERS: NO_KAFKA, REDIS_URL: NO_REDIS }
    const refused =
      /^tradepulse: KAFKA_GROUP_ID is set \("desk-a"\) but this process runs (.+?): all would join that one consumer group, .*; unset KAFKA_GROUP_ID .*, or run each worker in a process of its own /
    const cases: [string[], Record<string, string>, string][] = [
      [['start', '--workers', 'scorer,ingest'], { ...kafka, KAFKA_GROUP_ID: 'desk-a' }, 'ingest, scorer'],
      // The embedded default runs them all, over one in-memory bus whose groups are kept as Kafka's are.
      [['start'], { KAFKA_GROUP_ID: 'desk-a' }, 'ingest, scorer, aggregator, alerter, gateway'],
    ]
    const runs = await Promise.all(cases.map(([args, env]) => cli(args, env)))
    runs.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(78)
      expectOneLine(r.stderr, refused)
      expect(r.stderr.match(refused)![1]).toBe(cases[i]![2])
      expect(r.stderr).not.toMatch(/cannot reach|Starting a local|Embedded mode|Playing/)
      expect(r.stdout).toBe('')
    })
    // One worker takes it (it goes on to connect), and a blank one is unset, as everywhere.
    const kept = await Promise.all([
      cli(['start', '--workers', 'scorer'], { ...kafka, KAFKA_GROUP_ID: 'desk-a' }),
      cli(['start', '--workers', 'ingest,scorer'], { ...kafka, KAFKA_GROUP_ID: ' ' }),
    ])
    for (const r of kept) {
      expect(r.code, r.stderr).toBe(69)
      expectOneLine(r.stderr, /^tradepulse: cannot reach Kafka at 127\.0\.0\.1:1 \(KAFKA_BROKERS\)/)
    }
  })

  it('start refuses HTTP_PORT with several workers in the process, before connecting anywhere (exit 78); one worker, or 0, keeps it', async () => {
    // Every worker took it: the first one listened, and the next was refused with "HTTP_PORT=19555: the
    // port is in use … set HTTP_PORT to a free port", of a port that was free until the run took it.
    const kafka = { KAFKA_BROKERS: NO_KAFKA, REDIS_URL: NO_REDIS }
    const refused =
      /^tradepulse: HTTP_PORT is set \(19555\) but this process runs (.+?), each with a health and metrics server of its own, and one port takes one server: unset HTTP_PORT \(each worker then listens on a free port of its own(.*)$/
    const cases: [string[], Record<string, string>, string, RegExp][] = [
      [
        ['start', '--workers', 'scorer,ingest'],
        { ...kafka, HTTP_PORT: '19555' },
        'ingest, scorer',
        /, printed at the start\), or run each worker in a process of its own /,
      ],
      [
        ['start', '--speed', 'max'],
        { HTTP_PORT: ' 19555' },
        'ingest, scorer, aggregator, alerter, gateway',
        /; --http-port sets the port of POST \/headlines\)$/,
      ],
    ]
    const runs = await Promise.all(cases.map(([args, env]) => cli(args, env)))
    runs.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(78)
      expectOneLine(r.stderr, refused)
      const [, workers, advice] = r.stderr.trimEnd().match(refused)!
      expect(workers).toBe(cases[i]![2])
      expect(advice).toMatch(cases[i]![3])
      expect(r.stderr).not.toMatch(/cannot reach|Embedded mode|Playing/)
      expect(r.stdout).toBe('')
    })
    // One worker takes it, and so do several with 0 (any free port): each goes on to connect.
    const kept = await Promise.all([
      cli(['start', '--workers', 'scorer'], { ...kafka, HTTP_PORT: '19555' }),
      cli(['start', '--workers', 'ingest,scorer'], { ...kafka, HTTP_PORT: '0' }),
    ])
    for (const r of kept) {
      expect(r.code, r.stderr).toBe(69)
      expectOneLine(r.stderr, /^tradepulse: cannot reach Kafka at 127\.0\.0\.1:1 \(KAFKA_BROKERS\)/)
    }
  })

  it('start on Kafka and Redis names the one it cannot reach in one line, before any worker starts (exit 69)', async () => {
    const redisUp = process.env.REDIS_URL
    const kafkaUp = process.env.KAFKA_BROKERS
    const cases: [Record<string, string>, RegExp][] = [
      [
        { KAFKA_BROKERS: NO_KAFKA, REDIS_URL: NO_REDIS },
        /^tradepulse: cannot reach Kafka at 127\.0\.0\.1:1 \(KAFKA_BROKERS\): .*ECONNREFUSED/,
      ],
    ]
    // With a real Kafka up (the integration run), the Redis side too.
    if (kafkaUp && redisUp)
      cases.push([
        { KAFKA_BROKERS: kafkaUp, REDIS_URL: NO_REDIS },
        /^tradepulse: cannot reach Redis at redis:\/\/\[redacted\]@127\.0\.0\.1:1 \(REDIS_URL\): .*ECONNREFUSED/,
      ])
    const runs = await Promise.all(cases.map(([env]) => cli(['start'], env)))
    runs.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(69)
      expectOneLine(r.stderr, cases[i]![1])
      expect(r.stdout).toBe('')
    })
  })

  it('start --follow names --http-port when the port is taken, before the banner (exit 78)', async () => {
    const busy = createServer()
    const port = await new Promise<number>((resolve) =>
      busy.listen(0, '127.0.0.1', () => resolve((busy.address() as AddressInfo).port)),
    )
    try {
      const r = await cli(['start', '--follow', '--http-port', String(port)])
      expect(r.code, r.stderr).toBe(78)
      expectOneLine(
        r.stderr,
        new RegExp(`^tradepulse: --http-port: port ${port} on 127\\.0\\.0\\.1 is in use`),
      )
    } finally {
      busy.close()
    }
  })

  it('plays the embedded default whatever TOPICS_AUTO_CREATE the shell has (its topics are in memory)', async () => {
    const r = await cli(['start', '--speed', 'max'], { TOPICS_AUTO_CREATE: 'false' })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/\d+ alert\(s\)\. Done\./)
    // Whether desk webhooks are posted to, and why, in one line.
    expect(r.stderr).toContain(
      'Desk webhooks: off (ALERTER_WEBHOOKS_ENABLED unset, and the embedded default posts none): ALERTER_WEBHOOKS_ENABLED=true posts to them.\n',
    )
  })

  it('logs as LOG_PRETTY says, as every worker does: JSON lines with false, pretty lines with true', async () => {
    // start always logged pretty, colour codes and all, whatever LOG_PRETTY said.
    const [json, pretty] = await Promise.all(
      ['false', 'true'].map((LOG_PRETTY) => cli(['start', '--no-sample'], { LOG_LEVEL: 'info', LOG_PRETTY })),
    )
    expect(json!.code, json!.stderr).toBe(0)
    const logged = json!.stderr.split('\n').filter((l) => l.startsWith('{'))
    expect(logged.map((l) => (JSON.parse(l) as { msg: string }).msg)).toContain(
      'health and metrics listening',
    )
    expect(json!.stderr).not.toContain('\u001b[')
    expect(pretty!.code, pretty!.stderr).toBe(0)
    expect(pretty!.stderr).toMatch(/INFO.*health and metrics listening/)
    expect(pretty!.stderr).not.toMatch(/^\{"level"/m)
  })

  it('stops on Ctrl-C while the sample plays, and still prints what came of it (exit 0)', async () => {
    const { child, output, exited } = spawnCli(['start', '--speed', '3000'])
    await waitFor(() => /Playing \d+ sample headlines/.test(output.err), { what: 'the sample playing' })
    child.kill('SIGINT')
    expect(await exited).toEqual([0, null])
    expect(output.err).toMatch(/\d+ alert\(s\)\. Done\./)
    expect(output.out).toMatch(/ by region at /)
  })
})

describe('tradepulse start on a signal during its startup', { timeout: 60_000 }, () => {
  /** A Kafka that takes connections and never answers: the startup waits on it (kafkajs: 30 s a request). */
  async function silentBroker() {
    const sockets: Socket[] = []
    const server = createServer((socket) => sockets.push(socket))
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
    )
    return {
      address: `127.0.0.1:${port}`,
      reached: () => sockets.length > 0,
      close: () => {
        for (const socket of sockets) socket.destroy()
        server.close()
      },
    }
  }

  it.each(['SIGINT', 'SIGTERM'] as const)(
    'stops on %s while it waits for Kafka: one line saying so, and exit 0 as a stop after the startup',
    async (signal) => {
      const broker = await silentBroker()
      try {
        const { child, output, exited } = spawnCli(['start'], {
          KAFKA_BROKERS: broker.address,
          REDIS_URL: NO_REDIS,
          TRADEPULSE_TOPIC_PREFIX: `${randomName('start-signal')}.`,
          REDIS_KEY_PREFIX: randomName('start-signal'),
        })
        await waitFor(broker.reached, { what: 'the startup to reach Kafka', timeoutMs: 60_000 })
        child.kill(signal)
        expect(await exited, output.err).toEqual([0, null])
        expect(output.err).toBe(`tradepulse: stopped by ${signal} during startup\n`)
        expect(output.out).toBe('')
      } finally {
        broker.close()
      }
    },
  )

  /** Quoted for sh. */
  const quoted = (word: string) => `'${word.replaceAll("'", "'\\''")}'`

  it("stops on a terminal's SIGHUP while it waits for Kafka, as on SIGINT: one line, and exit 0", async () => {
    // SIGHUP was left to its default until the workers were built: a terminal closed while the startup
    // waited for Kafka (or started --local-infra) killed the process there, nothing stopped.
    const broker = await silentBroker()
    // In a terminal of its own (script's pseudo-terminal), where SIGHUP is the terminal hanging up; script
    // -e exits as the CLI does (128 + the signal's number for one it died of).
    const child = spawn(
      'script',
      ['-qec', `exec ${quoted(process.execPath)} ${quoted(MAIN)} start --workers scorer`, '/dev/null'],
      {
        env: {
          PATH: process.env.PATH ?? '',
          KAFKA_BROKERS: broker.address,
          REDIS_URL: NO_REDIS,
          TRADEPULSE_TOPIC_PREFIX: `${randomName('start-hangup')}.`,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let output = ''
    child.stdout.on('data', (d) => {
      output += d
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      await waitFor(broker.reached, { what: 'the startup to reach Kafka', timeoutMs: 60_000 })
      const cli = descendants(child.pid!).find((p) => commandLine(p.pid).includes(MAIN))
      expect(cli, JSON.stringify(descendants(child.pid!))).toBeDefined()
      process.kill(cli!.pid, 'SIGHUP')
      expect(await exited, output).toBe(0)
      expect(output.replaceAll('\r\n', '\n')).toBe('tradepulse: stopped by SIGHUP during startup\n')
    } finally {
      child.kill('SIGKILL')
      broker.close()
    }
  })

  it('outside a terminal, takes a SIGHUP while it waits for Kafka when the alerter is to run (nothing to reload yet), and leaves it to its default without', async () => {
    // A reload asked of a run with the alerter (systemctl reload, kill -HUP) while it started killed it:
    // SIGHUP was left to its default until the workers were built.
    const env = (address: string) => ({
      KAFKA_BROKERS: address,
      REDIS_URL: NO_REDIS,
      TRADEPULSE_TOPIC_PREFIX: `${randomName('start-hangup')}.`,
      REDIS_KEY_PREFIX: randomName('start-hangup'),
    })
    const withAlerter = await silentBroker()
    try {
      const { child, output, exited } = spawnCli(['start'], env(withAlerter.address))
      let ended: unknown
      void exited.then((e) => {
        ended = e
      })
      await waitFor(withAlerter.reached, { what: 'the startup to reach Kafka', timeoutMs: 60_000 })
      child.kill('SIGHUP')
      await waitFor(() => /^SIGHUP during startup/m.test(output.err) || ended !== undefined, {
        what: 'the SIGHUP taken',
      })
      expect(ended, output.err).toBeUndefined()
      // Still starting, and stopped as ever.
      child.kill('SIGTERM')
      expect(await exited, output.err).toEqual([0, null])
      expect(output.err).toBe(
        'SIGHUP during startup: nothing to reload yet; the alerter reads its rules as it starts\ntradepulse: stopped by SIGTERM during startup\n',
      )
    } finally {
      withAlerter.close()
    }
    // Without the alerter, as once it runs (README: SIGHUP keeps its default outside a terminal).
    const without = await silentBroker()
    try {
      const { child, output, exited } = spawnCli(['start', '--workers', 'scorer'], env(without.address))
      await waitFor(without.reached, { what: 'the startup to reach Kafka', timeoutMs: 60_000 })
      child.kill('SIGHUP')
      expect(await exited, output.err).toEqual([null, 'SIGHUP'])
    } finally {
      without.close()
    }
  })
})

describe("start's sample run on Kafka: what it reads of headlines.scored and alerts", () => {
  it('skips and counts a record that is not JSON, and goes on reading the others', () => {
    // Thrown on, kafkajs retried the record for ever, holding its partition: one such record on
    // headlines.scored (another producer's) held the run its full minute, then "0 of 216 scored".
    const raw = parseRawRecord(
      Buffer.from(JSON.stringify({ id: 'h1', headline: 'US raises tariffs on Chinese steel to 25%' })),
      Date.now(),
      DEFAULT_INGEST_LIMITS,
      'test',
    )
    if (!raw.ok) throw new Error(raw.message)
    const scored = scoreHeadline(scorerFromConfig({}), raw.headline, new Date())
    const printed: string[] = []
    const watch = sampleWatcher(createTopicCatalogue('t.'), new Set(['h1']), 30, {
      write: (l: string) => printed.push(l) > 0,
    })
    watch.take('t.headlines.scored.v1', Buffer.from('not json'))
    watch.take('t.alerts.v1', Buffer.from('{"id":'))
    watch.take('t.headlines.scored.v1', Buffer.from(JSON.stringify(scored)))
    expect(watch.unreadable()).toBe(2)
    expect([...watch.seen]).toEqual(['h1'])
    expect(printed).toEqual([])
  })

  it("tells the sample headlines ingest passed on, the scorer scored, and each stage dead-lettered, by the letter's origin", () => {
    const topics = createTopicCatalogue('t.')
    const ids = new Set(['a', 'b', 'c', 'd', 'e'])
    const watch = sampleWatcher(topics, ids, 30, { write: () => true })
    const headline = (id: string) => {
      const raw = parseRawRecord(
        Buffer.from(JSON.stringify({ id, headline: 'US raises tariffs on Chinese steel to 25%' })),
        Date.now(),
        DEFAULT_INGEST_LIMITS,
        'test',
      )
      if (!raw.ok) throw new Error(raw.message)
      return raw.headline
    }
    const letter = (origin: string, reason: string, fields: Partial<DeadLetter>): Buffer =>
      Buffer.from(
        JSON.stringify({
          reason,
          message: 'm',
          worker: 'w',
          origin: { topic: origin, partition: 0, offset: '1' },
          failedAt: '2026-03-02T10:00:00.000Z',
          payload: '',
          payloadEncoding: 'utf8',
          payloadTruncated: false,
          ...fields,
        }),
      )
    for (const id of ['a', 'b', 'c'])
      watch.take(topics.headlines.name, Buffer.from(JSON.stringify(headline(id))))
    watch.take(
      topics.scored.name,
      Buffer.from(JSON.stringify(scoreHeadline(scorerFromConfig({}), headline('a'), new Date()))),
    )
    // Ingest's letter names the headline by the original key; the scorer's, here, by its payload's id.
    watch.take(topics.dlq.name, letter(topics.raw.name, 'too_large', { key: 'd', keyEncoding: 'utf8' }))
    watch.take(topics.dlq.name, letter(topics.headlines.name, 'output_invalid', { payload: '{"id":"b"}' }))
    // Neither the sample's nor a stage before headlines.scored: passed over.
    watch.take(topics.dlq.name, letter(topics.raw.name, 'invalid_json', { key: 'zz', keyEncoding: 'utf8' }))
    watch.take(topics.dlq.name, letter(topics.scored.name, 'late', { key: 'c', keyEncoding: 'utf8' }))
    expect([...watch.ingested]).toEqual(['a', 'b', 'c'])
    expect([...watch.seen]).toEqual(['a'])
    expect([...watch.deadLettered]).toEqual([
      ['d', { stage: 'ingest', reason: 'too_large' }],
      ['b', { stage: 'scorer', reason: 'output_invalid' }],
    ])
    // a scored, b and d dead-lettered: c and e still to come.
    expect(watch.settled()).toBe(3)
    expect(
      sampleShortfall({
        total: ids.size,
        ingested: watch.ingested,
        scored: watch.seen,
        deadLettered: watch.deadLettered,
        topics,
        waitedS: 60,
      }),
    ).toBe(
      '4 of the 5 sample headlines were not scored: ingest stopped short: it passed on 3 of 5 to t.headlines.v1 (1 dead-lettered to t.dlq.v1: 1 too_large; 1 neither passed on nor dead-lettered within 60 s); the scorer stopped short: it scored 1 of the 3 ingest passed on to t.headlines.scored.v1 (1 dead-lettered to t.dlq.v1: 1 output_invalid; 1 neither scored nor dead-lettered within 60 s). `tradepulse dlq list` shows the dead letters',
    )
  })

  it('says nothing is missing when every sample headline was scored, and names the stage that stopped short alone', () => {
    const topics = createTopicCatalogue('t.')
    const all = new Set(['a', 'b'])
    const run = { total: 2, ingested: all, deadLettered: new Map(), topics, waitedS: 60 }
    expect(sampleShortfall({ ...run, scored: all })).toBeUndefined()
    // Another consumer in the scorer's group took some of headlines' partitions: nothing dead-lettered.
    expect(sampleShortfall({ ...run, scored: new Set(['a']) })).toBe(
      '1 of the 2 sample headlines were not scored: ingest passed on all 2 to t.headlines.v1; the scorer stopped short: it scored 1 of the 2 ingest passed on to t.headlines.scored.v1 (1 neither scored nor dead-lettered within 60 s)',
    )
    expect(
      sampleShortfall({
        ...run,
        ingested: new Set(['a']),
        scored: new Set(['a']),
        deadLettered: new Map([['b', { stage: 'ingest' as const, reason: 'too_large' }]]),
      }),
    ).toBe(
      '1 of the 2 sample headlines were not scored: ingest stopped short: it passed on 1 of 2 to t.headlines.v1 (1 dead-lettered to t.dlq.v1: 1 too_large); the scorer scored all 1 ingest passed on. `tradepulse dlq list` shows the dead letters',
    )
  })
})
