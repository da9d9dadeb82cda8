import { execFile, spawn } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createLogger } from '@tradepulse/platform'
import { describe, expect, it } from 'vitest'
import { runEmbedded } from './embedded.ts'
import { loadSampleFeed } from './sample-feed.ts'

const MAIN = join(import.meta.dirname, 'main.ts')
const silent = createLogger({ level: 'silent' })
const sink = () => {
  const chunks: string[] = []
  return { chunks, out: { write: (c: string) => chunks.push(c) > 0 } as unknown as NodeJS.WritableStream }
}

describe('the embedded default', { timeout: 60_000 }, () => {
  it('runs every worker over the in-memory bus: the sample feed gives a sensible set of alerts and indicators', async () => {
    const { chunks, out } = sink()
    const feed = loadSampleFeed()
    const run = await runEmbedded({
      workers: ['ingest', 'scorer', 'aggregator', 'alerter'],
      feed,
      speed: 'step',
      follow: false,
      log: silent,
      env: {},
      out,
    })
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
    expect(chunks.join('')).toMatch(/Tariff shock on CN/)
    const cn = await run.indicators!.get(
      'tariff',
      { kind: 'region', id: 'CN' },
      Date.parse(feed[feed.length - 1]!.publishedAt),
    )
    expect(cn?.count).toBeGreaterThan(5)
  })

  it('is deterministic step by step: the same feed gives the same alert ids', async () => {
    const feed = loadSampleFeed().slice(0, 80)
    const once = () =>
      runEmbedded({
        workers: ['ingest', 'scorer', 'aggregator', 'alerter'],
        feed,
        speed: 'step',
        follow: false,
        log: silent,
        env: {},
        out: sink().out,
      })
    const [a, b] = [await once(), await once()]
    expect(a.alerts.map((x) => x.id).sort()).toEqual(b.alerts.map((x) => x.id).sort())
  })

  it('`tradepulse start` plays the feed, prints alerts and indicator tables, and exits 0', async () => {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [MAIN, 'start', '--speed', 'max'],
      {
        env: { PATH: process.env.PATH ?? '' },
      },
    )
    expect(stderr).toMatch(/Embedded mode/)
    expect(stdout).toMatch(/CRIT\s+trade_measure_enacted\s+region:CN/)
    expect(stdout).toMatch(/tariff by region at 2026-03-05T23:45:00.000Z\nscope\s+mean 15m/)
    expect(stderr).toMatch(/\d+ alert\(s\)\. Done\./)
  })

  it('with --follow takes headlines on POST /headlines and stdin until SIGINT', async () => {
    const child = spawn(process.execPath, [MAIN, 'start', '--no-sample', '--follow', '--http-port', '0'], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no port: ${stderr}`)), 20_000)
      child.stderr.on('data', () => {
        const m = /127\.0\.0\.1:(\d+)\/headlines/.exec(stderr)
        if (m) {
          clearTimeout(timer)
          resolve(Number(m[1]))
        }
      })
    })
    const res = await fetch(`http://127.0.0.1:${port}/headlines`, {
      method: 'POST',
      body: JSON.stringify([
        {
          id: 'f1',
          publishedAt: '2026-03-02T10:00:00Z',
          headline: 'US slaps new tariffs on Chinese steel and adds firms to entity list',
        },
      ]),
    })
    expect(res.status).toBe(202)
    expect(await res.json()).toEqual({ accepted: 1 })
    expect(
      (await fetch(`http://127.0.0.1:${port}/headlines`, { method: 'POST', body: '{nope' })).status,
    ).toBe(400)
    child.stdin.write(
      `${JSON.stringify({ id: 'f2', publishedAt: '2026-03-02T10:05:00Z', headline: 'China halts rare earth exports to US defence firms' })}\n`,
    )
    const deadline = Date.now() + 20_000
    while (!(/region:CN/.test(stdout) && /rare_earths/.test(stdout)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50))
    child.kill('SIGINT')
    const code = await new Promise((r) => child.once('exit', r))
    expect(code).toBe(0)
    expect(stdout).toMatch(/region:CN/)
    expect(stdout).toMatch(/commodity:rare_earths/)
  })
})
