import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { scenarioHeadlines } from '@tradepulse/alerter/scenario'
import { evaluateHeadline, parseRules } from '@tradepulse/alerting'
import { type Alert, listTopics, type ScoredHeadline } from '@tradepulse/contracts'
import { type CollectedMessage, collectTopic, REPO_ROOT, testKafka, waitFor } from '@tradepulse/testing'
import { describe, expect, it, onTestFailed } from 'vitest'
import { useAlerterProcess } from './worker-process.ts'

const PARTITIONS = 3
const TOTAL = 600
/** Records per send, spread round-robin over the partitions. */
const PER_SEND = 12
/** Records produced but not yet alerted on: keeps production running alongside the alerter. */
const IN_FLIGHT = 60
/** Alerts out before the reload: about a third of the stream. */
const RELOAD_AFTER = 200

/** One headline_shock rule, every headline its own bucket (cooldownMs 0): one alert per headline. */
const rulesFile = (version: string) => `version: ${version}
rules:
  - id: reload_shock
    kind: headline_shock
    dimensions: [tariff]
    scopes: [global:all]
    direction: both
    threshold: 0.01
    minRelevance: 0
    severity: info
    cooldownMs: 0
`

const alertOf = (m: CollectedMessage) => JSON.parse(m.value!.toString()) as Alert
/** Position in the produced stream, from the headline id `r<n>`; its input partition is n % PARTITIONS. */
const indexOf = (a: Alert) => Number(a.evidence[0]!.headlineId.slice(1))
/** `reload-a` of `reload-a+<hash>`. */
const versionOf = (a: Alert) => a.rulesVersion.split('+')[0]!

/** Sum of the samples of a Prometheus metric whose labels include `labels`. */
function metricValue(text: string, name: string, labels: string): number {
  let sum = 0
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`) && line.includes(labels)) sum += Number(line.split(' ').pop())
  return sum
}

describe('alerter as a process: a rules reload on SIGHUP under load', () => {
  const t = useAlerterProcess({
    name: 'alerter-reload',
    rules: rulesFile('reload-a'),
    desks: 'version: reload\ndesks: []\n',
    topics: (topics) =>
      listTopics(topics).map((topic) => ({
        name: topic.name,
        partitions: topic.name === topics.scored.name ? PARTITIONS : 1,
      })),
    env: {
      // Only the SIGHUP reloads: the file watch would fire long after the test.
      ALERTER_RULES_RELOAD_DEBOUNCE_MS: '600000',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '500',
      // Small batches, so the reload lands between many of them.
      KAFKA_MAX_BATCH: '10',
      SHUTDOWN_DEADLINE_MS: '10000',
    },
  })

  it('sends one alert per headline, each partition switching from the old rules to the new once', async () => {
    const { topics } = t
    const template = scenarioHeadlines(Date.now())[0]!
    const headlines: ScoredHeadline[] = Array.from({ length: TOTAL }, (_, n) => ({
      ...template,
      id: `r${n}`,
    }))
    // The expected ids, from the rules as the alerter evaluates them: exactly one per headline.
    const parsed = parseRules(rulesFile('reload-a'), 'yaml')
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors))
    const expected = headlines.map((h) => {
      const { candidates } = evaluateHeadline(parsed, h, Date.now())
      expect(candidates).toHaveLength(1)
      return candidates[0]!.alert.id
    })

    const alerts = await collectTopic(t.kafkaBrokers, topics.alerts.name)
    t.stops.push(alerts.stop)
    const worker = t.start()
    // A minute for a process to start under load, as for `tradepulse start` (test/start-on-kafka.test.ts).
    await waitFor(() => /"msg":"alerter started"/.test(worker.output()), {
      what: 'alerter started',
      timeoutMs: 60_000,
    })

    // A steady stream in small sends across the partitions, never more than IN_FLIGHT ahead of the alerts.
    let sent = 0
    let stopProducing = false
    const production = (async () => {
      while (sent < TOTAL && !stopProducing) {
        const slice = headlines.slice(sent, sent + PER_SEND)
        await t.producer.send({
          topic: topics.scored.name,
          messages: slice.map((h, i) => ({
            key: h.id,
            value: JSON.stringify(h),
            partition: (sent + i) % PARTITIONS,
          })),
        })
        sent += slice.length
        await waitFor(() => alerts.messages.length >= sent - IN_FLIGHT, {
          timeoutMs: 60_000,
          what: `alerts up to ${sent - IN_FLIGHT}`,
        })
      }
    })()
    // Awaited below; a step failing before that stops the loop instead of leaving it sending (and
    // rejecting, unhandled) after the producer is gone.
    onTestFailed(() => {
      stopProducing = true
    })
    production.catch(() => {})

    // Part-way, with every partition under way and production still going: new rules, then SIGHUP.
    await waitFor(
      () => {
        const done = alerts.messages.map((m) => indexOf(alertOf(m)) % PARTITIONS)
        return done.length >= RELOAD_AFTER && new Set(done).size === PARTITIONS
      },
      { timeoutMs: 60_000, what: `${RELOAD_AFTER} alerts from every partition` },
    )
    const sentAtReload = sent
    writeFileSync(join(t.dir, 'rules.yaml'), rulesFile('reload-b'))
    worker.child.kill('SIGHUP')
    await waitFor(() => /"reason":"reload requested".*"msg":"rules reloaded"/.test(worker.output()), {
      what: 'rules reloaded on SIGHUP',
    })
    await production
    expect(sentAtReload).toBeLessThan(TOTAL - IN_FLIGHT)

    // Done when the alerter has committed the whole input (a dropped record counts as handled too).
    const admin = testKafka(t.kafkaBrokers).admin()
    await admin.connect()
    t.stops.push(() => admin.disconnect())
    await waitFor(
      async () => {
        const [committed] = await admin.fetchOffsets({
          groupId: `${t.prefix}alerter`,
          topics: [topics.scored.name],
        })
        return committed!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0) >= TOTAL
      },
      { timeoutMs: 60_000, what: 'input committed' },
    )

    // Every input record consumed once, no alert claimed twice (Redis would hide a re-evaluation), one reload.
    const port = /"port":(\d+),[^\n]*"msg":"health and metrics listening"/.exec(worker.output())?.[1]
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    expect(metricValue(metrics, 'tradepulse_messages_in_total', `topic="${topics.scored.name}"`)).toBe(TOTAL)
    expect(metricValue(metrics, 'tradepulse_alerts_suppressed_total', 'reason="duplicate"')).toBe(0)
    expect(metricValue(metrics, 'tradepulse_alerter_rules_reloads_total', 'result="ok"')).toBe(1)

    // Stopped, the alerter has sent all it ever will: read alerts.v1 to its end before judging.
    worker.child.kill('SIGTERM')
    expect((await worker.exited).code).toBe(0)
    const offsets = await admin.fetchTopicOffsets(topics.alerts.name)
    const end = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0)
    await waitFor(() => alerts.messages.length >= end, { what: 'alerts.v1 read to the end' })

    // (a) Exactly one alert per produced headline: the expected ids, none twice, none missing.
    const got = alerts.messages.map(alertOf)
    expect(got).toHaveLength(TOTAL)
    expect(got.map((a) => a.id).sort()).toEqual([...expected].sort())

    // (b) Both rule versions, and per input partition, in input order, a…a then b…b: one switch, never back.
    for (let p = 0; p < PARTITIONS; p++) {
      const sequence = got
        .filter((a) => indexOf(a) % PARTITIONS === p)
        .sort((x, y) => indexOf(x) - indexOf(y))
        .map(versionOf)
      const switches = sequence.filter((v, i) => i > 0 && v !== sequence[i - 1]).length
      expect({ partition: p, first: sequence[0], last: sequence.at(-1), switches }).toEqual({
        partition: p,
        first: 'reload-a',
        last: 'reload-b',
        switches: 1,
      })
    }
  })

  for (const mode of ['on Kafka', 'embedded'] as const)
    it(`tradepulse start ${mode}: SIGHUP reloads the alerter rules and the process keeps running`, async () => {
      const child = spawn(
        process.execPath,
        [
          join(REPO_ROOT, 'packages/cli/src/main.ts'),
          'start',
          // On Kafka the alerter alone; embedded runs every worker (a subset of them is refused there:
          // nothing would feed or read the others).
          ...(mode === 'on Kafka' ? ['--workers', 'alerter'] : ['--http-port', '0']),
          '--no-sample',
          '--follow',
        ],
        {
          env: {
            PATH: process.env.PATH ?? '',
            ...(mode === 'on Kafka' ? t.kafkaEnv() : {}),
            ALERTER_RULES_FILE: join(t.dir, 'rules.yaml'),
            ALERTER_DESKS_FILE: join(t.dir, 'desks.yaml'),
            ALERTER_RULES_RELOAD_DEBOUNCE_MS: '600000',
            KAFKA_SESSION_TIMEOUT_MS: '6000',
            KAFKA_HEARTBEAT_INTERVAL_MS: '500',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
      let err = ''
      child.stderr.on('data', (d) => {
        err += d
      })
      try {
        const ready = mode === 'on Kafka' ? /Running alerter on Kafka/ : /Accepting headlines/
        await waitFor(() => ready.test(err), { what: 'alerter running', timeoutMs: 60_000 })
        writeFileSync(join(t.dir, 'rules.yaml'), rulesFile('reload-b'))
        child.kill('SIGHUP')
        await waitFor(() => /SIGHUP: rules ok \(reload-b\+/.test(err), { what: 'rules reloaded' })
        expect(child.exitCode).toBeNull()
      } finally {
        child.kill('SIGINT')
      }
      expect(await exited).toBe(0)
    })
})
