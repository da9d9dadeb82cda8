import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from './local-kafka.ts'

// No Prometheus or Grafana here: deploy/ is checked by reading it, for what a worker's restart does to
// what the dashboard shows (counters back at zero, a new address, a few scrapes missed).

type Target = { refId: string; expr: string; legendFormat?: string }
type Panel = { id: number; title: string; targets: Target[] }
const dashboard = JSON.parse(
  readFileSync(join(REPO_ROOT, 'deploy/grafana/dashboards/tradepulse.json'), 'utf8'),
) as { panels: Panel[] }
const targets = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, ...t })))
const prometheus = readFileSync(join(REPO_ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')

/** The source files of the packages and services (not their tests). */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (name === 'node_modules') return []
    if (statSync(path).isDirectory()) return sources(path)
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : []
  })
}

/** Every metric the workers define (`name: 'tradepulse_...'` with prom-client), by its type. */
const defined = new Map<string, string>()
for (const root of ['packages', 'services'])
  for (const file of sources(join(REPO_ROOT, root))) {
    const text = readFileSync(file, 'utf8')
    // The name written out, or a constant of the same file (const LOST_METRIC = 'tradepulse_...').
    const constants = new Map(
      [...text.matchAll(/const (\w+) = '(tradepulse_\w+)'/g)].map((m) => [m[1]!, m[2]!]),
    )
    for (const m of text.matchAll(
      /new (Counter|Gauge|Histogram)\(\{\s*name: (?:'(tradepulse_\w+)'|(\w+))/g,
    )) {
      const name = m[2] ?? constants.get(m[3]!)
      if (name) defined.set(name, m[1]!)
    }
  }

/** The metric names a query reads (a histogram's by its _bucket series). */
const metricsOf = (expr: string) => [...expr.matchAll(/\b(tradepulse_\w+)/g)].map((m) => m[1]!)
const base = (name: string) => name.replace(/_bucket$/, '')

/** Seconds of a Prometheus duration as the files write them (5s, 1m). */
function seconds(duration: string): number {
  const m = /^(\d+)(s|m)$/.exec(duration)
  if (!m) throw new Error(`not a duration this test reads: ${duration}`)
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1)
}

describe('the Grafana dashboard', () => {
  it('queries only metrics the workers define', () => {
    expect(defined.size).toBeGreaterThan(10)
    for (const t of targets)
      for (const name of metricsOf(t.expr))
        expect(defined.has(base(name)), `${t.panel}: ${name} (${t.expr})`).toBe(true)
  })

  it('reads counters and histograms through rate or increase, which take a restart back at zero as a reset', () => {
    for (const t of targets)
      for (const name of metricsOf(t.expr)) {
        if (defined.get(base(name)) === 'Gauge') continue
        expect(t.expr, t.panel).toMatch(new RegExp(`\\b(rate|increase)\\(${name}(\\{[^}]*\\})?\\[`))
      }
  })

  it('bridges the scrapes a restarting worker misses for gauges, and keeps one line per partition', () => {
    // A gauge read as an instant vector vanished at the first scrape a restarting worker missed (a
    // staleness marker) until its new process reported it again: a gap while the lag was what mattered.
    // Summed, two replicas reporting the same partition across a rebalance doubled its lag.
    const gauges = targets.filter((t) => metricsOf(t.expr).some((n) => defined.get(n) === 'Gauge'))
    expect(gauges.length).toBeGreaterThan(0)
    for (const t of gauges) {
      expect(t.expr, t.panel).toMatch(/\b(last|max)_over_time\(tradepulse_\w+(\{[^}]*\})?\[\d+[sm]\]\)/)
      expect(t.expr, t.panel).not.toMatch(/^\s*sum\b/)
    }
  })

  it('names each line by labels its query keeps', () => {
    // A legend of {{topic}}{{reason}}{{partition}} on every panel glued what was there ("scored3").
    for (const t of targets) {
      const by = /\bby \(([^)]*)\)/.exec(t.expr)?.[1]?.split(/,\s*/)
      for (const [, label] of (t.legendFormat ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)) {
        expect(by, `${t.panel}: ${t.expr}`).toBeDefined()
        expect(by, `${t.panel}: {{${label}}} in ${t.legendFormat}`).toContain(label)
      }
    }
    // Two targets of one panel, each by worker, are told apart by more than the worker.
    for (const p of dashboard.panels) {
      const legends = p.targets.map((t) => t.legendFormat)
      expect(new Set(legends).size, p.title).toBe(legends.length)
    }
  })

  it("shows the alerter's webhook lanes: every webhook metric the workers define is on a panel", () => {
    // Ops watch deliveries to the trading desks; the dashboard had no panel on them at all.
    const webhook = [...defined.keys()].filter((n) => n.startsWith('tradepulse_webhook_'))
    expect(webhook.length).toBeGreaterThan(0)
    const read = new Set(targets.flatMap((t) => metricsOf(t.expr)))
    for (const name of webhook) expect(read.has(name), name).toBe(true)
  })

  it('gives each panel its own id and its own place on the grid', () => {
    type Placed = Panel & { gridPos: { x: number; y: number; w: number; h: number } }
    const panels = dashboard.panels as Placed[]
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length)
    for (const [i, a] of panels.entries())
      for (const b of panels.slice(i + 1)) {
        const [g, h] = [a.gridPos, b.gridPos]
        const apart = g.x + g.w <= h.x || h.x + h.w <= g.x || g.y + g.h <= h.y || h.y + h.h <= g.y
        expect(apart, `${a.title} / ${b.title}`).toBe(true)
      }
  })

  it('shows which workers Prometheus reaches, by compose service: a real gap apart from an idle one', () => {
    const up = targets.find((t) => /\bup\{job="tradepulse"\}/.test(t.expr))
    expect(up, 'a panel on up').toBeDefined()
    expect(up!.expr).toMatch(/^sum by \(service\) \(up\{job="tradepulse"\}\)$/)
    expect(prometheus).toMatch(
      /relabel_configs:\n(\s+#.*\n)*\s+- source_labels: \[__meta_dns_name\]\n\s+target_label: service\n/,
    )
  })
})

describe('the Prometheus configuration', () => {
  it('finds a restarted worker (a new container address) within a scrape interval', () => {
    // At the default refresh (30 s) Prometheus kept scraping the old address that long after a
    // worker's container came back on a new one: no metrics from a worker that was running.
    const scrape = seconds(/^\s+scrape_interval: (\S+)$/m.exec(prometheus)?.[1] ?? '1m')
    const sd = prometheus.split('dns_sd_configs:')[1] ?? ''
    const refresh = /^\s+refresh_interval: (\S+)$/m.exec(sd)?.[1]
    expect(refresh, 'dns_sd_configs refresh_interval').toBeDefined()
    expect(seconds(refresh!)).toBeLessThanOrEqual(scrape)
  })
})
