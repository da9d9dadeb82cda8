import { Severity } from '@tradepulse/contracts'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/**
 * tradepulse_alert_latency_seconds's buckets (seconds). Past 30 s as well: alerts an outage or a backlog
 * held back a minute or an hour all landed in +Inf, where histogram_quantile reads the highest finite
 * bound (30 s) whatever the real wait. The low ones stay for the live path's milliseconds.
 */
export const ALERT_LATENCY_BUCKETS = [
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600,
]

/** The alerter's own metrics, next to the pipeline metrics every worker has. */
export function createAlerterMetrics(registry: Registry) {
  return {
    alerts: new Counter({
      name: 'tradepulse_alerts_total',
      help: 'alerts sent to Kafka, by rule and severity',
      labelNames: ['rule', 'severity'],
      registers: [registry],
    }),
    suppressed: new Counter({
      name: 'tradepulse_alerts_suppressed_total',
      help: 'alert candidates not sent: cooldown (another alert of the stream), duplicate (already sent), bound, stale (a headline or indicator update older than ALERTER_MAX_EVENT_AGE_MS, a headline scored longer ago than ALERTER_DEDUP_WINDOW_MS, or an indicator update made longer ago than ALERTER_HYSTERESIS_TTL_MS)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    invalid: new Counter({
      name: 'tradepulse_alerts_invalid_total',
      help: 'alerts not sent because they break the strict Alert contract (an id, rule or version past its bound, a NaN, a time no ISO datetime spells): on neither alerts.v1 nor a desk topic; the record that raised each is dead-lettered as output_invalid',
      registers: [registry],
    }),
    deskMerged: new Counter({
      name: 'tradepulse_alerts_desk_merged_total',
      help: 'desk copies not sent: another alert of the same headline paged the desk (the copy names it)',
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'tradepulse_alert_latency_seconds',
      help: "from the triggering record entering the pipeline (the alert's ingestedAt) to Kafka acknowledging the alert on alerts.v1, on the alerter's clock, by rule kind (headline_shock, level, ...): an alert an outage held counts the time it waited (the alert's own latencyMs is to its first detection); buckets up to an hour, so a backlog's minutes or hours read as such",
      labelNames: ['kind'],
      buckets: ALERT_LATENCY_BUCKETS,
      registers: [registry],
    }),
    rulesReloads: new Counter({
      name: 'tradepulse_alerter_rules_reloads_total',
      help: 'rules file reloads: ok, unchanged, invalid (refused; the running rules stay), unreadable',
      labelNames: ['result'],
      registers: [registry],
    }),
    rulesLoaded: new Gauge({
      name: 'tradepulse_alerter_rules',
      help: 'rules in force',
      registers: [registry],
    }),
    webhooks: new Counter({
      name: 'tradepulse_webhook_deliveries_total',
      help: 'webhook deliveries by desk and result: delivered, failed (to the dlq), expired (too old to post), stale (about news older than ALERTER_WEBHOOK_MAX_NEWS_AGE_MS: not posted), dlq_refused (failed, and Kafka refused its dead letter for good: given up without it), invalid (not an alert, or its ce_id header missing or another id: dead-lettered, not posted)',
      labelNames: ['desk', 'result'],
      registers: [registry],
    }),
    webhookAttempts: new Counter({
      name: 'tradepulse_webhook_attempts_total',
      help: 'webhook requests by desk and outcome (HTTP status class, timeout, network)',
      labelNames: ['desk', 'outcome'],
      registers: [registry],
    }),
    webhookQueue: new Gauge({
      name: 'tradepulse_webhook_queue',
      help: 'webhook deliveries waiting or in flight, per desk',
      labelNames: ['desk'],
      registers: [registry],
    }),
    webhookHeld: new Gauge({
      name: 'tradepulse_webhook_held_partitions',
      help: "desk topic partitions a desk's webhook lane reads no more of, per desk: ALERTER_WEBHOOK_QUEUE_MAX × 10 alerts taken after a delivery that has not finished (its webhook retries, or its dead letter cannot be written); read again once it finishes. 0 does not mean no alert waits: a lane whose queue is full reads no partition (tradepulse_webhook_waiting_for_room, tradepulse_webhook_lag)",
      labelNames: ['desk'],
      registers: [registry],
    }),
    webhookLag: new Gauge({
      name: 'tradepulse_webhook_lag',
      help: "desk alerts not yet taken by a desk's webhook lane, per desk topic partition the lane holds: the partition's high watermark less the next offset the lane takes; from each batch fetched and, while the lane waits for room in its queue or holds the partition paused (it fetches nothing then), from Kafka every few seconds. Unlike tradepulse_webhook_queue (at most ALERTER_WEBHOOK_QUEUE_MAX) it counts the backlog a hanging endpoint leaves on Kafka",
      labelNames: ['desk', 'partition'],
      registers: [registry],
    }),
    webhookWaitingForRoom: new Gauge({
      name: 'tradepulse_webhook_waiting_for_room',
      help: "1 while a desk's webhook lane reads nothing because its queue holds ALERTER_WEBHOOK_QUEUE_MAX deliveries (its endpoint slow, hanging or failing): the desk's alerts wait on Kafka (tradepulse_webhook_lag counts them); 0 otherwise",
      labelNames: ['desk'],
      registers: [registry],
    }),
  }
}
export type AlerterMetrics = ReturnType<typeof createAlerterMetrics>

/**
 * Drops the series of rules a reload removed: `gone` is every rule id this process has had in force
 * that the rules now in force do not list (a rename's old id, a deleted rule). Series of rules in force
 * are not touched. The only series labelled by rule is the counter tradepulse_alerts_total{rule,severity}
 * (the suppression counters are by reason, the rules gauge has no labels); a gauge by rule added later
 * goes here too, dropped at once: a gone rule's last value is no state of anything.
 *
 * The counter is dropped rather than kept to the restart. Kept, a removed rule's series is a flat line
 * that dashboards show beside the live rules (a table of alerts by rule lists it as a rule that raised
 * nothing lately), and every rename adds one for the life of the process. Dropped, Prometheus marks it
 * stale at its next scrape and rate()/increase() over a window that spans the reload still count what
 * was scraped before it; the cost is the gone rule's alerts since the last scrape before the reload (one
 * scrape interval at most), never scraped. A rule that comes back starts again at 0, which rate() and
 * increase() read as a counter reset: they count from 0, nothing is lost or doubled. An alert of a gone
 * rule counted after the reload (a batch that began under the old rules, an alert resent from the
 * outbox) makes its series again; the next reload that does not bring the rule back drops it again.
 */
export function forgetRules(metrics: AlerterMetrics, gone: Iterable<string>): void {
  for (const rule of gone) {
    for (const severity of Severity.options) metrics.alerts.remove({ rule, severity })
  }
}
