import { request } from 'node:http'
import { Readable } from 'node:stream'
import { createManualClock, createTopicCatalogue } from '@tradepulse/contracts'
import type { Contribution } from '@tradepulse/indicators'
import { withDamagedIndicator } from '@tradepulse/indicators/test-support'
import { DEFAULT_INGEST_LIMITS } from '@tradepulse/ingest'
import { createLogger, createMemoryIndicatorStore } from '@tradepulse/platform'
import { waitFor } from '@tradepulse/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  answerHeadlines,
  printIndicatorTables,
  type RawRecord,
  recordChecker,
  runEmbedded,
  takeLines,
} from './embedded.ts'
import { loadSampleFeed } from './sample-feed.ts'
import { spawnCli } from './test-helpers.ts'

const silent = createLogger({ level: 'silent' })
/**
 * The CLI spawned (spawnCli) for this test only: whatever the test's own end (a failed assertion, its
 * timeout) leaves running is killed once it ends (SIGKILL), so no `start --follow` outlives it holding
 * its ports. Every child this file spawns goes through here.
 */
const children: ReturnType<typeof spawnCli>[] = []
const spawnStart = (...args: Parameters<typeof spawnCli>) => {
  const spawned = spawnCli(...args)
  children.push(spawned)
  return spawned
}
afterEach(async () => {
  for (const { child, exited } of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }
})
const sink = () => {
  const chunks: string[] = []
  return { chunks, out: { write: (c: string) => chunks.push(c) > 0 } as unknown as NodeJS.WritableStream }
}
/** A feed played, without --follow, through every worker that makes alerts, with the default settings. */
const play = (
  feed: ReturnType<typeof loadSampleFeed>,
  speed: Parameters<typeof runEmbedded>[0]['speed'],
  out = sink().out,
) =>
  runEmbedded({
    workers: ['ingest', 'scorer', 'aggregator', 'alerter'],
    feed,
    speed,
    follow: false,
    log: silent,
    env: {},
    out,
  })

describe('the embedded default', { timeout: 60_000 }, () => {
  it('runs every worker over the in-memory bus: the sample feed gives a sensible set of alerts and indicators', async () => {
    const { chunks, out } = sink()
    const feed = loadSampleFeed()
    const run = await play(feed, 'step', out)
    const rules = new Set(run.alerts.map((a) => a.rule))
    // The arcs of the feed: escalation on China, rare-earth disruption, then relief.
    expect(rules).toContain('trade_measure_enacted')
    expect(rules).toContain('critical_input_curb')
    expect(rules).toContain('tariff_relief_headline')
    expect(run.alerts.some((a) => a.scope.id === 'CN' && a.direction === 'down')).toBe(true)
    expect(run.alerts.some((a) => a.scope.id === 'rare_earths')).toBe(true)
    // A handful per day, not one per headline.
    expect(run.alerts.length).toBeGreaterThan(10)
    expect(run.alerts.length).toBeLessThan(feed.length / 2)
    expect(chunks.join('')).toMatch(/Tariff escalation on CN/)
    const cn = await run.indicators!.get(
      'tariff',
      { kind: 'region', id: 'CN' },
      Date.parse(feed[feed.length - 1]!.publishedAt),
    )
    expect(cn?.count).toBeGreaterThan(5)
    // The indicator tables stand at the newest headline that went through, not at the wall clock.
    expect(run.newestEventMs).toBe(Math.max(...feed.map((h) => Date.parse(h.publishedAt))))
  })

  it('gives the in-memory stores the configured settings (AGGREGATOR_GRACE_MS), as the Redis ones get', async () => {
    // The feed in reverse: every headline but the first is older than the one before by hours.
    const feed = loadSampleFeed().slice(0, 60).reverse()
    const globalCount = async (env: Record<string, string>) => {
      const run = await runEmbedded({
        workers: ['ingest', 'scorer', 'aggregator'],
        feed,
        speed: 'step', // one headline through the pipeline at a time: each applied on its own
        follow: false,
        log: silent,
        env,
        out: sink().out,
      })
      const at = Date.parse(feed[0]!.publishedAt)
      return (await run.indicators!.get('market', { kind: 'global', id: 'all' }, at))?.count ?? 0
    }
    const week = await globalCount({ AGGREGATOR_GRACE_MS: String(7 * 86_400_000) })
    expect(week).toBeGreaterThan(50) // within a week's grace, hardly any is late
    expect(await globalCount({})).toBeLessThan(week / 2) // the default ten minutes: most are late
  })

  it('refuses KAFKA_GROUP_ID before any worker starts: every worker would take that one group', async () => {
    // The aggregator and the alerter both read headlines.scored, each from its group's committed offset
    // (memory-transport.ts): in one group, either would pass over what the other committed past.
    const { chunks, out } = sink()
    const run = runEmbedded({
      workers: ['ingest', 'scorer', 'aggregator', 'alerter'],
      feed: loadSampleFeed().slice(0, 5),
      speed: 'step',
      follow: false,
      log: silent,
      env: { KAFKA_GROUP_ID: 'desk-a' },
      out,
      onStarted: () => chunks.push('started'),
    })
    await expect(run).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(
        /^KAFKA_GROUP_ID is set \("desk-a"\) but this process runs ingest, scorer, aggregator, alerter: /,
      ),
    })
    expect(chunks).toEqual([])
  })

  it('is deterministic step by step: the same feed gives the same alert ids', async () => {
    const feed = loadSampleFeed().slice(0, 80)
    const once = () => play(feed, 'step')
    const [a, b] = [await once(), await once()]
    expect(a.alerts.map((x) => x.id).sort()).toEqual(b.alerts.map((x) => x.id).sort())
  })

  it('gives the same alerts at --speed max as at the default speed', async () => {
    // Produced in one go, the feed reached the aggregator in a few large batches whose indicator moves
    // were published as one update per key: indicator rules missed most of them.
    const feed = loadSampleFeed()
    const ids = async (speed: number | 'max') => {
      const run = await play(feed, speed)
      return run.alerts.map((a) => a.id).sort()
    }
    const max = await ids('max')
    expect(max.length).toBeGreaterThan(10)
    expect(await ids(30_000)).toEqual(max)
  })

  it('prints each alert at its headline time, so it can be found in the feed', async () => {
    const { chunks, out } = sink()
    const feed = loadSampleFeed()
    const run = await play(feed, 'max', out)
    const published = new Set(feed.map((h) => h.publishedAt.replace('T', ' ').slice(0, 19)))
    const lines = chunks
      .join('')
      .split('\n')
      .filter((l) => /^\d{4}-/.test(l))
    expect(lines).toHaveLength(run.alerts.length)
    for (const line of lines) expect(published, line).toContain(line.slice(0, 19))
    // In the story's order: the alerts topic's partitions are not printed one after another.
    const times = lines.map((l) => l.slice(0, 19))
    expect(times).toEqual([...times].sort())
  })

  it('`tradepulse start` plays the feed, prints alerts and indicator tables, and exits 0', async () => {
    const { output, exited } = spawnStart(['start', '--speed', 'max'])
    expect(await exited, output.err).toEqual([0, null])
    const { out: stdout, err: stderr } = output
    expect(stderr).toMatch(/Embedded mode/)
    expect(stdout).toMatch(/CRIT\s+trade_measure_enacted\s+region:CN/)
    expect(stdout).toMatch(/tariff by region at 2026-03-05T23:45:00.000Z\nscope\s+mean 15m/)
    expect(stderr).toMatch(/\d+ alert\(s\)\. Done\./)
  })

  it("prints where each worker's health and metrics server listens, as start on Kafka does, and each answers", async () => {
    const { child, output, exited } = spawnStart(['start', '--no-sample', '--follow', '--http-port', '0'], {})
    await waitFor(() => /Accepting headlines/.test(output.err), { what: 'the ready line', timeoutMs: 20_000 })
    const health =
      /^Health and metrics: ingest (\S+), scorer (\S+), aggregator (\S+), alerter (\S+), gateway (\S+) \(\/healthz, \/readyz, \/metrics\)$/m.exec(
        output.err,
      )
    expect(health, output.err).not.toBeNull()
    // After the mode's line, before the webhooks' one, as on Kafka.
    expect(output.err.indexOf('Health and metrics:')).toBeGreaterThan(output.err.indexOf('Embedded mode'))
    expect(output.err.indexOf('Health and metrics:')).toBeLessThan(output.err.indexOf('Desk webhooks:'))
    const urls = health!.slice(1)
    expect(new Set(urls).size).toBe(5)
    for (const url of urls) {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect((await fetch(`${url}/healthz`)).status, url).toBe(200)
    }
    child.kill('SIGINT')
    expect(await exited).toEqual([0, null])
  })

  it("exits at once on a second signal while it stops, with that signal's code: a SIGTERM after Ctrl-C 143", async () => {
    // A SIGTERM after a Ctrl-C asked for the stop again and the process went on stopping, exit 0; only a
    // second Ctrl-C exited at once (130). The SIGTERM goes once the Ctrl-C is taken (the intake has stopped
    // listening): sent back to back, a process of several threads may take the two in either order.
    const { child, output, exited } = spawnStart(['start', '--no-sample', '--follow', '--http-port', '0'])
    await waitFor(() => /Accepting headlines/.test(output.err), { what: 'the ready line', timeoutMs: 20_000 })
    const intake = /POST (http:\/\/127\.0\.0\.1:\d+\/headlines)/.exec(output.err)![1]!
    child.kill('SIGINT')
    await waitFor(
      () =>
        fetch(intake, { method: 'POST', body: '{}' }).then(
          (r) => r.status === 503 || undefined,
          () => true,
        ),
      { what: 'the intake to stop taking headlines', timeoutMs: 20_000, intervalMs: 5 },
    )
    child.kill('SIGTERM')
    expect(await exited, output.err).toEqual([143, null])
  }, 30_000)

  it('with --follow and stderr not a terminal logs its ready event at info, not as a warning', async () => {
    // It was a warn line ({"level":40}) at the default level, repeating the human line: log alerting
    // took normal operation for a fault.
    const ready = async (env: Record<string, string>) => {
      const { child, output, exited } = spawnStart(
        ['start', '--no-sample', '--follow', '--http-port', '0'],
        env,
      )
      await waitFor(() => /Accepting headlines/.test(output.err), {
        what: 'the ready line',
        timeoutMs: 20_000,
      })
      child.kill('SIGINT')
      expect(await exited).toEqual([0, null])
      const logged = output.err
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string; port?: number })
      return { logged, port: Number(/127\.0\.0\.1:(\d+)\/headlines/.exec(output.err)?.[1]) }
    }
    const quiet = await ready({})
    expect(quiet.logged.filter((l) => l.level >= 40)).toEqual([])
    const info = await ready({ LOG_LEVEL: 'info' })
    expect(info.logged.filter((l) => l.msg.startsWith('accepting headlines'))).toEqual([
      expect.objectContaining({
        level: 30,
        port: info.port,
        msg: 'accepting headlines on stdin (NDJSON) and POST /headlines',
      }),
    ])
  })

  it('with --follow takes headlines on POST /headlines and stdin until SIGINT', async () => {
    const { child, output, exited } = spawnStart(
      ['start', '--no-sample', '--follow', '--http-port', '0'],
      {},
      { stdin: true },
    )
    await waitFor(() => /127\.0\.0\.1:(\d+)\/headlines/.test(output.err), {
      what: 'the POST address',
      timeoutMs: 20_000,
    })
    const port = Number(/127\.0\.0\.1:(\d+)\/headlines/.exec(output.err)?.[1])
    // Sent in two chunks cut inside the three bytes of "€": the text must arrive whole.
    const body = Buffer.from(
      JSON.stringify([
        {
          id: 'f1',
          publishedAt: '2026-03-02T10:00:00Z',
          headline: 'US slaps new tariffs on €40bn of Chinese steel and adds firms to entity list',
        },
      ]),
    )
    const cut = body.indexOf(Buffer.from('€')) + 1
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`http://127.0.0.1:${port}/headlines`, { method: 'POST' }, (r) => {
        let text = ''
        r.on('data', (d) => {
          text += d
        })
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body: text }))
      })
      req.on('error', reject)
      req.write(body.subarray(0, cut))
      setImmediate(() => req.end(body.subarray(cut)))
    })
    expect(res).toEqual({ status: 202, body: JSON.stringify({ accepted: 1 }) })
    const post = (b: string | Buffer) =>
      fetch(`http://127.0.0.1:${port}/headlines`, { method: 'POST', body: b })
    expect((await post('{nope')).status).toBe(400)
    // One object, pretty-printed, is one headline (not NDJSON lines).
    const pretty = await post(JSON.stringify({ id: 'f0', headline: 'Copper prices steady' }, null, 2))
    expect([pretty.status, await pretty.json()]).toEqual([202, { accepted: 1 }])
    // Past 5 MB: refused, and the process goes on.
    expect((await post(Buffer.alloc(6 * 1024 * 1024, 0x20))).status).toBe(413)
    // Items that are not raw headlines are named in the answer, the others taken.
    const mixed = await post(
      JSON.stringify([{ id: 'f3', headline: 'Steel prices rise' }, { title: 'no headline' }]),
    )
    expect([mixed.status, await mixed.json()]).toEqual([
      202,
      {
        accepted: 1,
        rejected: [{ index: 1, reason: 'schema_invalid', error: expect.stringMatching(/headline/) }],
      },
    ])
    const none = await post(JSON.stringify({ headline: 42 }))
    expect([none.status, await none.json()]).toEqual([
      400,
      {
        accepted: 0,
        rejected: [{ index: 0, reason: 'schema_invalid', error: expect.stringMatching(/^headline: /) }],
      },
    ])
    // What ingest would send to the dlq is refused at once, with ingest's reason, not "accepted".
    for (const [item, reason] of [
      ['{"id":"p2","headline":"\\u200b\\u2800"}', 'empty_headline'],
      ['{"id":"p3","headline":"US \\ud800 tariffs"}', 'invalid_text'],
      ['{"id":"p\\u0001","headline":"US raises tariffs"}', 'schema_invalid'],
    ] as const) {
      const r = await post(item)
      expect([r.status, await r.json()], item).toEqual([
        400,
        { accepted: 0, rejected: [{ index: 0, reason, error: expect.any(String) }] },
      ])
    }
    // A key given twice: JSON.parse keeps the last silently, ingest refuses it (schema_invalid).
    const twice = '{"id":"t1","headline":"Tariffs lifted","headline":"Tariffs raised"}'
    const dupObject = await post(twice)
    expect([dupObject.status, await dupObject.json()]).toEqual([
      400,
      {
        accepted: 0,
        rejected: [
          {
            index: 0,
            reason: 'schema_invalid',
            error: expect.stringMatching(/^headline: key given more than once/),
          },
        ],
      },
    ])
    const dupArray = await post(`[{"id":"t0","headline":"Copper prices steady"},${twice}]`)
    expect([dupArray.status, await dupArray.json()]).toEqual([
      400,
      {
        error: 'schema_invalid',
        message: 'item 1: headline: key given more than once in one object; nothing was taken',
      },
    ])
    // NDJSON: each line on its own, named by its line.
    const lines = await post(
      '\n{"id":"n1","headline":"Copper prices steady"}\n{"id":"n2","headline":"---"}\n',
    )
    expect([lines.status, await lines.json()]).toEqual([
      202,
      { accepted: 1, rejected: [{ index: 1, line: 3, reason: 'empty_headline', error: expect.any(String) }] },
    ])
    // Bytes that are not UTF-8 are not decoded into U+FFFD: the body is refused, naming the line.
    const latin1 = await post(
      Buffer.from('{"id":"c1","headline":"Copper"}\n{"id":"c2","headline":"caf\u00e9 tariffs"}', 'latin1'),
    )
    expect([latin1.status, await latin1.json()]).toEqual([
      400,
      { error: 'invalid_utf8', message: 'the body is not valid UTF-8 (line 2); nothing was taken' },
    ])
    child.stdin.write('null\n')
    // U+2028 inside a JSON string is one line (node:readline cut it in two), and the lines after it keep
    // their numbers.
    child.stdin.write(
      `${JSON.stringify({ id: 'f2', publishedAt: '2026-03-02T10:05:00Z', headline: 'China halts rare earth exports\u2028to US defence firms' })}\n`,
    )
    child.stdin.write(Buffer.from('{"id":"f4","headline":"caf\u00e9 tariffs"}\n', 'latin1'))
    child.stdin.write('{"id":"f5","headline":"\\u2800"}\n')
    await waitFor(() => /region:CN/.test(output.out) && /rare_earths/.test(output.out), {
      what: 'the alerts of the headlines sent',
      timeoutMs: 20_000,
    })
    child.kill('SIGINT')
    expect(await exited).toEqual([0, null])
    const { out: stdout, err: stderr } = output
    expect(stdout).toMatch(/region:CN/)
    expect(stdout).toMatch(/commodity:rare_earths/)
    expect(stdout).toContain('€40bn of Chinese steel')
    // Taken whole (ingest makes the U+2028 a space).
    expect(stdout).toContain('"China halts rare earth exports to US defence firms"')
    expect(stderr).toMatch(/stdin:1: not a raw headline: \(root\): .*\(schema_invalid\)\n/)
    expect(stderr).toContain('stdin:3: line is not valid UTF-8 (invalid_utf8)\n')
    expect(stderr).toContain(
      'stdin:4: not a raw headline: headline has no letter or digit after normalisation (empty_headline)\n',
    )
    expect(stderr).not.toMatch(/stdin:[25]/)
  })
})

describe('start --follow on Ctrl-C', { timeout: 60_000 }, () => {
  it('takes no more POST /headlines from the stop on: every headline answered 202 is ingested', async () => {
    // The server took headlines until every worker had stopped: one posted during the stop was answered
    // 202 "accepted" and produced behind ingest's stop, never ingested (10 accepted, 6 counted).
    const { child, output, exited } = spawnStart(['start', '--no-sample', '--follow', '--http-port', '0'])
    await waitFor(() => /127\.0\.0\.1:(\d+)\/headlines/.test(output.err), {
      what: 'the POST address',
      timeoutMs: 20_000,
    })
    const port = Number(/127\.0\.0\.1:(\d+)\/headlines/.exec(output.err)?.[1])
    let sent = 0
    let accepted = 0
    const statuses = new Set<number>()
    const post = async () => {
      const body = JSON.stringify({
        id: `stop-${sent++}`,
        headline: 'US raises tariffs on Chinese steel to 25%',
      })
      const res = await fetch(`http://127.0.0.1:${port}/headlines`, { method: 'POST', body })
      const answer = (await res.json()) as { accepted?: number }
      statuses.add(res.status)
      if (res.status === 202) accepted += answer.accepted ?? 0
    }
    for (let i = 0; i < 3; i++) await post()
    child.kill('SIGINT')
    // One after another until the server is gone (the connection refused or closed) or the process is.
    let gone = false
    void exited.then(() => {
      gone = true
    })
    while (!gone) {
      try {
        await post()
      } catch {
        break
      }
    }
    expect(await exited, output.err).toEqual([0, null])
    // One tariff headline per accepted POST in the final tables: none lost in the stop.
    const all = /^tariff by global at .*\n.*\nall .* (\d+)$/m.exec(output.out)
    expect(Number(all?.[1]), output.out).toBe(accepted)
    expect(
      [...statuses].every((s) => s === 202 || s === 503),
      [...statuses].join(),
    ).toBe(true)
  })
})

describe('start --follow: POST /headlines from a web page or through another name', {
  timeout: 60_000,
}, () => {
  /** A POST as any client may send it, every header as given (fetch sets its own Host and no Origin). */
  const send = (port: number, headers: Record<string, string>, body: string) =>
    new Promise<{ status: number; body: { error?: string; message?: string; accepted?: number } }>(
      (resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/headlines', method: 'POST', headers }, (r) => {
          let text = ''
          r.on('data', (d) => {
            text += d
          })
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body: JSON.parse(text) }))
        })
        req.on('error', reject)
        req.end(body)
      },
    )

  it('refuses one a browser sends (Origin, Sec-Fetch-Site) or one whose Host is not this server, nothing taken; curl and fetch are taken', async () => {
    // A page of any site could post headlines (fetch no-cors or a text/plain form: no preflight) and a
    // rebound name reached it as its own origin: fake CRIT alerts, sent on to the desks' webhooks.
    const { child, output, exited } = spawnStart(['start', '--no-sample', '--follow', '--http-port', '0'])
    await waitFor(() => /127\.0\.0\.1:(\d+)\/headlines/.test(output.err), {
      what: 'the POST address',
      timeoutMs: 20_000,
    })
    const port = Number(/127\.0\.0\.1:(\d+)\/headlines/.exec(output.err)?.[1])
    const tag = Math.random().toString(36).slice(2, 8)
    let n = 0
    const tariff = () =>
      JSON.stringify({ id: `${tag}-${n++}`, headline: 'US raises tariffs on Chinese steel to 25%' })
    const forged = `China halts rare earth exports to US defence firms ${tag}`
    const local = `127.0.0.1:${port}`
    const textPlain = { 'content-type': 'text/plain;charset=UTF-8' }
    // As a browser sends them: fetch(url, { mode: 'no-cors', method: 'POST' }) from another site, a form
    // from a sandboxed frame or a file (Origin null), and a same-site page.
    for (const headers of [
      {
        host: local,
        origin: 'https://evil.example',
        'sec-fetch-site': 'cross-site',
        'sec-fetch-mode': 'no-cors',
        ...textPlain,
      },
      {
        host: local,
        origin: 'null',
        'sec-fetch-site': 'cross-site',
        'sec-fetch-mode': 'navigate',
        ...textPlain,
      },
      { host: local, origin: `http://localhost:${port}`, ...textPlain },
      { host: local, 'sec-fetch-site': 'same-site', ...textPlain },
    ]) {
      const r = await send(port, headers, JSON.stringify({ id: `${tag}-x${n++}`, headline: forged }))
      expect(r, JSON.stringify(headers)).toEqual({
        status: 403,
        body: {
          error: 'browser_refused',
          message: expect.stringMatching(
            /^a request sent by a web page \((Origin|Sec-Fetch-Site) ".*"\) is refused: .*; nothing was taken$/,
          ),
        },
      })
    }
    // DNS rebinding: the page's own name pointed at 127.0.0.1, so its Host is that name.
    for (const host of [
      `evil.example:${port}`,
      `127.0.0.1.evil.example:${port}`,
      `127.0.0.1:${port + 1}`,
      '127.0.0.1',
    ]) {
      const r = await send(port, { host, 'content-type': 'application/json' }, tariff())
      expect(r, host).toEqual({
        status: 421,
        body: {
          error: 'host_refused',
          message: `Host ${JSON.stringify(host)}: this server answers only to 127.0.0.1:${port}, localhost:${port}, [::1]:${port} (another name pointing here, as in DNS rebinding, is refused); nothing was taken`,
        },
      })
    }
    // Taken: curl -d (its own headers, form-urlencoded), each local name, and Node's fetch of a string.
    let accepted = 0
    for (const host of [local, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
      const r = await send(
        port,
        {
          host,
          'user-agent': 'curl/8.5.0',
          accept: '*/*',
          'content-type': 'application/x-www-form-urlencoded',
        },
        tariff(),
      )
      expect(r, host).toEqual({ status: 202, body: { accepted: 1 } })
      accepted++
    }
    const fetched = await fetch(`http://${local}/headlines`, { method: 'POST', body: tariff() })
    expect([fetched.status, await fetched.json()]).toEqual([202, { accepted: 1 }])
    accepted++
    await waitFor(() => /region:CN/.test(output.out), {
      what: 'the alerts of the headlines taken',
      timeoutMs: 20_000,
    })
    child.kill('SIGINT')
    expect(await exited, output.err).toEqual([0, null])
    // Only the headlines taken went in: none of the forged ones, no alert of theirs.
    expect(output.out).not.toContain(forged)
    expect(output.out).not.toMatch(/rare_earths/)
    const all = /^tariff by global at .*\n.*\nall .* (\d+)$/m.exec(output.out)
    expect(Number(all?.[1]), output.out).toBe(accepted)
  })
})

describe("start's indicator tables", () => {
  it('say on stderr, as `tradepulse indicators` does, which indicators they leave out for a damaged newest event time', async () => {
    const MIN_MS = 60_000
    const T0 = Date.parse('2026-03-05T23:45:00Z')
    const clock = createManualClock(T0)
    const store = createMemoryIndicatorStore({ clock, maxRefAheadMs: MIN_MS })
    const tariff = (headlineId: string, eventMs: number, id: string): Contribution[] =>
      [
        { kind: 'global' as const, id: 'all' },
        { kind: 'region' as const, id },
      ].map((scope) => ({
        dimension: 'tariff',
        scope,
        headlineId,
        eventMs,
        value: -0.5,
        weight: 1,
        sign: -1,
      }))
    await store.applyBatch([...tariff('a', T0 - 120 * MIN_MS, 'CN'), ...tariff('b', T0, 'MX')])
    // Only the clock can bring one here: set back an hour, MX's newest event (and the global one's) is an
    // hour past it, which no apply could have written.
    clock.set(T0 - 60 * MIN_MS)
    const { chunks: out, out: stdout } = sink()
    const { chunks: err, out: stderr } = sink()
    await printIndicatorTables(store, T0, stdout, stderr)
    const tables = out.join('')
    expect(tables).toMatch(/tariff by region at 2026-03-05T23:45:00.000Z\nscope .*\nCN /)
    expect(tables).not.toMatch(/^MX /m)
    expect(tables).toMatch(/tariff by global at 2026-03-05T23:45:00.000Z\n\(no indicators\)/)
    expect(err.join('')).toBe(
      `tradepulse: warning: left out 2 indicators whose stored newest event time is damaged: tariff|global:all (stored "${T0}"), tariff|region:MX (stored "${T0}"); the aggregator's next apply to each repairs it\n`,
    )
    // Nothing withheld, nothing said.
    clock.set(T0)
    const { chunks: quiet, out: none } = sink()
    await printIndicatorTables(store, T0, sink().out, none)
    expect(quiet).toEqual([])
  })
})

describe("start's indicator tables: state that reads as no number", () => {
  it('say on stderr which indicators they leave out because their state breaks the IndicatorUpdate contract, with the field, in a line of its own after the damaged refs', async () => {
    const MIN_MS = 60_000
    const T0 = Date.parse('2026-03-05T23:45:00Z')
    const clock = createManualClock(T0)
    const memory = createMemoryIndicatorStore({ clock, maxRefAheadMs: MIN_MS })
    const tariff = (headlineId: string, eventMs: number, id: string): Contribution => ({
      dimension: 'tariff',
      scope: { kind: 'region', id },
      headlineId,
      eventMs,
      value: -0.5,
      weight: 1,
      sign: -1,
    })
    await memory.applyBatch([
      tariff('a', T0 - 62 * MIN_MS, 'CN'),
      tariff('b', T0 - 61 * MIN_MS, 'CN'),
      tariff('c', T0 - 61 * MIN_MS, 'JP'),
      tariff('d', T0, 'MX'),
    ])
    // CN reads with fields of NaN (weights of 1e308 overflowed its sums to Infinity before 9607b62, which
    // the memory store now refuses).
    const store = withDamagedIndicator(memory, 'CN', (u) => ({
      ...u,
      mean: { '15m': Number.NaN, '1h': Number.NaN, '24h': Number.NaN },
      momentum: Number.NaN,
      diffusion: Number.NaN,
    }))
    // Set back an hour, MX's newest event is an hour past the clock: a damaged ref.
    clock.set(T0 - 60 * MIN_MS)
    const { chunks: out, out: stdout } = sink()
    const { chunks: err, out: stderr } = sink()
    await printIndicatorTables(store, T0, stdout, stderr)
    // Before, CN was in the table with a mean of NaN, and nothing was said of it.
    expect(out.join('')).toMatch(/tariff by region at 2026-03-05T23:45:00.000Z\nscope .*\nJP [^\n]*\n\n/)
    const [damaged, invalid, ...more] = err.join('').split('\n')
    expect(damaged).toBe(
      `tradepulse: warning: left out 1 indicator whose stored newest event time is damaged: tariff|region:MX (stored "${T0}"); the aggregator's next apply to it repairs it`,
    )
    // What the contract says of it, cut at 200 characters.
    expect(invalid).toBe(
      'tradepulse: warning: left out 1 indicator whose stored state breaks the IndicatorUpdate contract (a field that is not a number: Redis edited or damaged): tariff|region:CN (mean.15m: Invalid input: expected number, received NaN; mean.1h: Invalid input: expected number, received NaN; mean.24h: Invalid input: expected number, received NaN; momentum: Invalid input: expected… (278 characters)); left out until the field is written again or the key expires (tradepulse indicators rebuild rewrites every key from Kafka)',
    )
    expect(more).toEqual([''])
  })
})

describe('--follow: a UTF-8 byte-order mark before the headlines', () => {
  const BOM = Buffer.from([0xef, 0xbb, 0xbf])
  const check = recordChecker(DEFAULT_INGEST_LIMITS, 'unknown')
  const post = (...parts: (string | Buffer)[]) =>
    answerHeadlines(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))), check)
  const a = '{"id":"m1","headline":"US raises tariffs on steel"}'
  const b = '{"id":"m2","headline":"EU lifts duties"}'

  it('POST /headlines: one at the very start of a JSON object, array or NDJSON body is skipped, the body read as without it', () => {
    expect(post(BOM, a)).toEqual({ status: 202, body: { accepted: 1 }, records: [{ key: 'm1', value: a }] })
    expect(post(BOM, `[${a},\n${b}]`)).toMatchObject({ status: 202, body: { accepted: 2 } })
    // NDJSON: lines keep their numbers (the mark is no line), ending at LF, CRLF or a lone CR.
    for (const eol of ['\n', '\r\n', '\r']) {
      expect(
        post(BOM, `${a}${eol}{"id":"m3","headline":"---"}${eol}${b}${eol}`),
        JSON.stringify(eol),
      ).toEqual({
        status: 202,
        body: {
          accepted: 2,
          rejected: [{ index: 1, line: 2, reason: 'empty_headline', error: expect.any(String) }],
        },
        records: [
          { key: 'm1', value: a },
          { key: 'm2', value: b },
        ],
      })
    }
    // A pretty-printed object after the mark is one headline.
    expect(post(BOM, JSON.stringify(JSON.parse(a), null, 2))).toMatchObject({
      status: 202,
      body: { accepted: 1 },
    })
  })

  it('POST /headlines: a mark anywhere but the very start is not skipped: invalid JSON, answered as ingest answers it', () => {
    expect(post(' ', BOM, a)).toEqual({
      status: 400,
      body: {
        accepted: 0,
        rejected: [{ index: 0, line: 1, reason: 'invalid_json', error: expect.any(String) }],
      },
      records: [],
    })
    expect(post(`[${a},`, BOM, `${b}]`)).toMatchObject({
      status: 400,
      body: { accepted: 0, rejected: [{ index: 0, line: 1, reason: 'invalid_json' }] },
    })
  })

  it('POST /headlines: a line that starts with a mark is a record ingest takes (it skips one before a record), keyed by its id', () => {
    expect(post(a, '\n', BOM, b)).toEqual({
      status: 202,
      body: { accepted: 2 },
      records: [
        { key: 'm1', value: a },
        { key: 'm2', value: `\ufeff${b}` },
      ],
    })
  })

  /** --follow's stdin reader over these chunks: the records produced and the error lines. */
  async function take(chunks: (string | Buffer)[]) {
    const produced: RawRecord[] = []
    const errors: string[] = []
    await takeLines(
      Readable.from(chunks),
      check,
      (r) => produced.push(...r),
      (line) => errors.push(line),
    )
    return { produced, errors }
  }

  it('stdin: one at the start of the input or of a later line is skipped, and the headlines after it taken, with the lines named as before', async () => {
    const { produced, errors } = await take([BOM, `${a}\n{"id":"m3","headline":"---"}\n`, BOM, `${b}\n`])
    // The later line's mark is skipped as the line is read (readLines), as score --ndjson and replay skip it.
    expect(produced).toEqual([
      { key: 'm1', value: a },
      { key: 'm2', value: b },
    ])
    expect(errors).toEqual([
      'stdin:2: not a raw headline: headline has no letter or digit after normalisation (empty_headline)\n',
    ])
  })

  it('stdin: CR line ends (old Mac style) end lines, numbered as such', async () => {
    const { produced, errors } = await take([`${a}\r{"id":"m3","headline":"---"}\r`, `\n${b}\r`])
    expect(produced).toEqual([
      { key: 'm1', value: a },
      { key: 'm2', value: b },
    ])
    expect(errors).toEqual([
      'stdin:2: not a raw headline: headline has no letter or digit after normalisation (empty_headline)\n',
    ])
  })
})

describe('start --speed N: the host clock stepped while the feed plays', { timeout: 30_000 }, () => {
  afterEach(() => {
    vi.useRealTimers()
  })
  it('plays each headline at its own time on the monotonic clock, however the wall clock is set', async () => {
    // Fake timers: setTimeout, performance.now and Date move only as the test advances them, and
    // vi.setSystemTime moves Date alone, as an NTP step or a restored VM snapshot moves the host's clock.
    vi.useFakeTimers()
    const T = Date.parse('2026-03-02T10:00:00Z')
    // Fifteen minutes apart, played at 900 simulated seconds a second: one a second of playback.
    const feed = loadSampleFeed()
      .slice(0, 3)
      .map((h, i) => ({ ...h, publishedAt: new Date(T + i * 900_000).toISOString() }))
    const [a, b, c] = feed as [(typeof feed)[0], (typeof feed)[0], (typeof feed)[0]]
    // play() asks for the next headline once the one before is produced: `produced` names those it has.
    const produced: string[] = []
    let playing!: () => void
    const started = new Promise<void>((resolve) => {
      playing = resolve
    })
    Object.defineProperty(feed, Symbol.iterator, {
      value: function* () {
        playing() // play's clock starts here: the fake clock has not moved since
        yield a
        produced.push(a.id)
        // The host's clock set back an hour: on Date.now, b waited that hour more.
        vi.setSystemTime(Date.now() - 3_600_000)
        yield b
        produced.push(b.id)
        // Then on two hours: on Date.now, c went at once, "due" an hour and more ago.
        vi.setSystemTime(Date.now() + 7_200_000)
        yield c
        produced.push(c.id)
      },
    })
    let settled = false
    const run = runEmbedded({
      workers: ['ingest'],
      feed,
      speed: 900,
      follow: false,
      log: silent,
      env: {},
      out: sink().out,
    }).finally(() => {
      settled = true
    })
    try {
      await started
      for (const [i, h] of [b, c].entries()) {
        // Due 1000 ms of playback after the one before.
        await vi.advanceTimersByTimeAsync(999)
        expect(produced, `${h.id} before its time`).toEqual(feed.slice(0, i + 1).map((x) => x.id))
        await vi.advanceTimersByTimeAsync(1)
        expect(produced, `${h.id} at its time`).toEqual(feed.slice(0, i + 2).map((x) => x.id))
      }
    } finally {
      // The workers' stop waits on their consumer loops' timers: fake time runs until the run has
      // ended (two hours at most, were a headline held for the hour the clock went back).
      for (let m = 0; !settled && m < 120; m++) await vi.advanceTimersByTimeAsync(60_000)
    }
    const { bus, newestEventMs } = await run
    // Each went through ingest to the headlines topic, and the tables stand at the newest.
    const topic = createTopicCatalogue('tradepulse.').headlines.name
    const ingested = Array.from({ length: bus.partitions(topic) }, (_, p) => bus.read(topic, p, 0, 100))
      .flat()
      .map((r) => JSON.parse(r.value!.toString()) as { id: string; publishedAt: string })
    expect(ingested.map((h) => h.id).sort()).toEqual([a.id, b.id, c.id].sort())
    expect(newestEventMs).toBe(Date.parse(c.publishedAt))
  })
})
