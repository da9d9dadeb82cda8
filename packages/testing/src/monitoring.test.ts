import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
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
const rulesText = readFileSync(join(REPO_ROOT, 'deploy/prometheus/rules.yml'), 'utf8')
type Rule = Record<string, unknown> & { alert: string; expr: string }
const ruleGroups = (parse(rulesText) as { groups?: { name: string; rules: Rule[] }[] }).groups ?? []
const rules = ruleGroups.flatMap((g) => g.rules ?? [])

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

/** Whether `expr` reads counter or histogram `name` only through rate() or increase(). */
const readAsRate = (expr: string, name: string) => {
  const all = [...expr.matchAll(new RegExp(`\\b${name}\\b`, 'g'))].length
  const rated = [...expr.matchAll(new RegExp(`\\b(rate|increase)\\(${name}(\\{[^}]*\\})?\\[`, 'g'))].length
  return all > 0 && rated === all
}

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
        expect(readAsRate(t.expr, name), `${t.panel}: ${t.expr}`).toBe(true)
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

describe('the Prometheus alert rules (deploy/prometheus/rules.yml)', () => {
  // The README told operators to alert on the workers' metrics, and Prometheus loaded no rule at all.
  const config = parse(prometheus) as { rule_files?: string[] }
  const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { volumes?: string[] }>
  }

  it('are loaded by prometheus.yml, and docker-compose mounts them where it looks', () => {
    const volumes = compose.services.prometheus?.volumes ?? []
    const mounted = (host: string) =>
      volumes.find((v) => v.split(':')[0] === host)?.split(':')[1] as string | undefined
    const configAt = mounted('./deploy/prometheus/prometheus.yml')
    const rulesAt = mounted('./deploy/prometheus/rules.yml')
    expect(configAt, 'prometheus.yml mounted').toBeDefined()
    expect(rulesAt, 'rules.yml mounted').toBeDefined()
    // A relative rule_files entry is read from the configuration file's folder.
    const dir = configAt!.slice(0, configAt!.lastIndexOf('/'))
    const loaded = (config.rule_files ?? []).map((f) => (f.startsWith('/') ? f : `${dir}/${f}`))
    expect(loaded).toContain(rulesAt)
  })

  it('have the shape promtool takes: groups of named rules, each an alert with an expr, a for, labels and annotations', () => {
    expect(ruleGroups.length).toBeGreaterThan(0)
    expect(new Set(ruleGroups.map((g) => g.name)).size).toBe(ruleGroups.length)
    for (const g of ruleGroups) {
      expect(Object.keys(g).sort(), `group ${g.name}`).toEqual(['name', 'rules'])
      expect(g.rules.length, `group ${g.name}`).toBeGreaterThan(0)
    }
    const names = rules.map((r) => r.alert)
    expect(new Set(names).size, 'alert names unique').toBe(names.length)
    const keys = new Set(['alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'])
    for (const r of rules) {
      for (const k of Object.keys(r)) expect(keys.has(k), `${r.alert}: ${k}`).toBe(true)
      expect(r.alert).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/)
      expect(typeof r.expr, r.alert).toBe('string')
      expect(r.expr.trim(), r.alert).not.toBe('')
      // Brackets balanced: an expression promtool would refuse outright.
      for (const [open, close] of ['()', '[]', '{}']) {
        let depth = 0
        for (const c of r.expr) {
          if (c === open) depth++
          if (c === close) depth--
          expect(depth, `${r.alert}: ${open}${close}`).toBeGreaterThanOrEqual(0)
        }
        expect(depth, `${r.alert}: ${open}${close}`).toBe(0)
      }
      if (r.for !== undefined) expect(r.for, r.alert).toMatch(/^(\d+(ms|s|m|h|d|w|y))+$/)
      const labels = r.labels as Record<string, unknown>
      expect(['critical', 'warning'], r.alert).toContain(labels?.severity)
      for (const v of Object.values(labels)) expect(typeof v, r.alert).toBe('string')
      const annotations = r.annotations as Record<string, unknown>
      expect(typeof annotations?.summary, r.alert).toBe('string')
      expect(typeof annotations?.description, r.alert).toBe('string')
      // A label the expression aggregated away renders empty in the annotation.
      const by = /\bby \(([^)]*)\)/.exec(r.expr)?.[1]?.split(/,\s*/)
      if (by)
        for (const [, label] of `${annotations.summary} ${annotations.description}`.matchAll(
          /\$labels\.(\w+)/g,
        ))
          expect(by, `${r.alert}: $labels.${label}`).toContain(label)
    }
  })

  it('read only metrics the workers define, counters and histograms through rate or increase, gauges over time', () => {
    for (const r of rules) {
      const read = metricsOf(r.expr)
      for (const name of read) {
        expect(defined.has(base(name)), `${r.alert}: ${name}`).toBe(true)
        if (defined.get(base(name)) === 'Gauge')
          expect(r.expr, r.alert).toMatch(new RegExp(`\\b(last|max)_over_time\\(${name}(\\{[^}]*\\})?\\[`))
        else expect(readAsRate(r.expr, name), `${r.alert}: ${r.expr}`).toBe(true)
      }
    }
  })

  it('cover what operators are told to watch', () => {
    const read = new Set(rules.flatMap((r) => metricsOf(r.expr)))
    for (const name of [
      'tradepulse_webhook_deliveries_total',
      'tradepulse_dlq_total',
      'tradepulse_consumer_lag',
      'tradepulse_alert_latency_seconds_bucket',
      'tradepulse_redis_state_lost_total',
      'tradepulse_records_skipped_total',
      'tradepulse_indicator_applied_lost_total',
      'tradepulse_redis_may_evict',
      'tradepulse_redis_used_memory_bytes',
      'tradepulse_redis_maxmemory_bytes',
    ])
      expect(read.has(name), name).toBe(true)
    expect(
      rules.some((r) => /^up\{job="tradepulse"\} == 0$/.test(r.expr.trim())),
      'a worker down',
    ).toBe(true)
    // One dead letter is worth a look: an increase over 10 minutes above 0, not a rate under a threshold.
    const dlq = rules.filter((r) => r.expr.includes('tradepulse_dlq_total'))
    expect(dlq.length).toBeGreaterThan(0)
    for (const r of dlq)
      expect(r.expr).toMatch(/\bincrease\(tradepulse_dlq_total(\{[^}]*\})?\[10m\]\)\) > 0$/)
    // Redis's memory past 80 % of maxmemory, an unlimited one (0) left out rather than divided by.
    const memory = rules.find(
      (r) => /tradepulse_redis_used_memory_bytes/.test(r.expr) && /> 0\.8$/.test(r.expr),
    )
    expect(memory, 'Redis memory above 80 %').toBeDefined()
    expect(memory!.expr).toMatch(/\/ \(last_over_time\(tradepulse_redis_maxmemory_bytes\[\d+[sm]\]\) > 0\)/)
  })

  it('alert on nothing the dashboard does not show', () => {
    const shown = new Set(targets.flatMap((t) => metricsOf(t.expr)))
    for (const r of rules)
      for (const name of metricsOf(r.expr)) expect(shown.has(name), `${r.alert}: ${name}`).toBe(true)
  })
})
