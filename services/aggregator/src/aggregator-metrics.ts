import { Counter, Histogram, type Registry } from 'prom-client'

/** The aggregator's own metrics, on the worker's registry (next to the pipeline metrics). */
export function createAggregatorMetrics(registry: Registry) {
  const get = <T>(name: string, make: () => T): T =>
    (registry.getSingleMetric(name) as T | undefined) ?? make()
  return {
    late: get(
      'tradepulse_indicator_late_total',
      () =>
        new Counter({
          name: 'tradepulse_indicator_late_total',
          help: 'contributions (one headline in one indicator) older than the grace period: counted and logged, not applied',
          labelNames: ['dimension'],
          registers: [registry],
        }),
    ),
    applied: get(
      'tradepulse_indicator_applied_total',
      () =>
        new Counter({
          name: 'tradepulse_indicator_applied_total',
          help: 'contributions applied to the indicators',
          registers: [registry],
        }),
    ),
    duplicates: get(
      'tradepulse_indicator_duplicates_total',
      () =>
        new Counter({
          name: 'tradepulse_indicator_duplicates_total',
          help: 'contributions whose headline the indicator already held, applied or judged late (redeliveries), changing nothing; after an apply whose answer was lost, those it applied count as applied and those it judged late as late',
          registers: [registry],
        }),
    ),
    redelivered: get(
      'tradepulse_indicator_redelivered_total',
      () =>
        new Counter({
          name: 'tradepulse_indicator_redelivered_total',
          help: 'contributions of records given again at offsets already applied (after a crash), older than the headline ids the store remembers: counted in the duplicates, not late',
          registers: [registry],
        }),
    ),
    updates: get(
      'tradepulse_indicator_updates_total',
      () =>
        new Counter({
          name: 'tradepulse_indicator_updates_total',
          help: 'indicator updates published, by what triggered them, once Kafka acknowledged them (a failed send counts when it is sent again; a batch read again counts again)',
          labelNames: ['trigger'],
          registers: [registry],
        }),
    ),
    publishWaits: get(
      'tradepulse_indicator_publish_waits_total',
      () =>
        new Counter({
          name: 'tradepulse_indicator_publish_waits_total',
          help: "publishes (a batch's or the trailing edge's) that waited for another publish of one of their indicator keys to be acknowledged before reading it, so that a key's updates land in the order of their readings",
          registers: [registry],
        }),
    ),
    publishFailures: get(
      'tradepulse_indicator_publish_failures_total',
      () =>
        new Counter({
          name: 'tradepulse_indicator_publish_failures_total',
          help: "sends of indicator updates (a batch's or the trailing edge's) that Kafka did not acknowledge for a fault, after the producer's own retries, by error code: their updates are held back and sent again by the trailing edge, each tick while the fault lasts (the check indicatorPublish turns degraded past AGGREGATOR_PUBLISH_FAILING_MS)",
          labelNames: ['code'],
          registers: [registry],
        }),
    ),
    refused: get(
      'tradepulse_indicator_updates_refused_total',
      () =>
        new Counter({
          name: 'tradepulse_indicator_updates_refused_total',
          help: 'indicator updates Kafka refused as records when sent alone (MESSAGE_TOO_LARGE, INVALID_RECORD…), by refusal: never on the topic, logged at error; the key is published again at its next change',
          labelNames: ['refusal'],
          registers: [registry],
        }),
    ),
    invalid: get(
      'tradepulse_indicator_updates_invalid_total',
      () =>
        new Counter({
          name: 'tradepulse_indicator_updates_invalid_total',
          help: 'indicator updates that broke the IndicatorUpdate contract as read (a scope id or key over its bound, a value not a finite number, a time that is none): never on the topic, logged at error naming the field; the key is read again at its next change',
          registers: [registry],
        }),
    ),
    invalidMarks: get(
      'tradepulse_indicator_marks_invalid_total',
      () =>
        new Counter({
          name: 'tradepulse_indicator_marks_invalid_total',
          help: 'held-back marks (the dirty set) naming no indicator key (not of the form <dimension>|<kind>:<id>, an unknown dimension or kind, an id not escaped as the aggregator writes it): cleared, logged at error, nothing published for them',
          registers: [registry],
        }),
    ),
    refsInvalid: get(
      'tradepulse_indicator_refs_invalid_total',
      () =>
        new Counter({
          name: 'tradepulse_indicator_refs_invalid_total',
          help: "indicator states whose newest event time (the Redis field ref) no apply could have written (not a finite number, or further past the applying member's clock than AGGREGATOR_MAX_AHEAD_MS + AGGREGATOR_GRACE_MS: Redis edited by hand or damaged, or this member's clock behind the others'): reset to the newest headline applied to them, which every later headline was late against before, logged at error",
          registers: [registry],
        }),
    ),
    fieldsInvalid: get(
      'tradepulse_indicator_fields_invalid_total',
      () =>
        new Counter({
          name: 'tradepulse_indicator_fields_invalid_total',
          help: 'fields of indicator states (counters, sums, buckets) an apply read holding a value no apply could have written (not a finite number, a count that is no whole number, a weight sum below 0: Redis edited by hand or damaged): taken as 0 and written back, logged at error; readers withhold such an indicator (invalid_state) until then',
          registers: [registry],
        }),
    ),
    refsWithheld: get(
      'tradepulse_indicator_updates_withheld_total',
      () =>
        new Counter({
          name: 'tradepulse_indicator_updates_withheld_total',
          help: "indicator updates not published because the indicator's newest event time (the Redis field ref) no apply could have written (as tradepulse_indicator_refs_invalid_total judges it) when it was read, its update's asOf would have been that time: a held-back key recovered, or one read before the next apply to it, which repairs it and publishes the key; logged at error",
          registers: [registry],
        }),
    ),
    appliedLost: get(
      'tradepulse_indicator_applied_lost_total',
      () =>
        new Counter({
          name: 'tradepulse_indicator_applied_lost_total',
          help: "times a partition's applied offsets in Redis were found behind what this member had recorded there (Redis restarted from an older snapshot, failed over to a replica that lagged, or flushed): the indicators miss the headlines applied since, logged at error with the offsets; `tradepulse indicators rebuild` restores them",
          registers: [registry],
        }),
    ),
    ahead: get(
      'tradepulse_indicator_ahead_total',
      () =>
        new Counter({
          name: 'tradepulse_indicator_ahead_total',
          help: "headlines stamped further past their Kafka record time than AGGREGATOR_MAX_AHEAD_MS (a feed whose clock runs fast, or the broker's clock runs behind: headlines.scored is LogAppendTime): applied at that bound, not at their own time",
          registers: [registry],
        }),
    ),
    applySeconds: get(
      'tradepulse_indicator_apply_seconds',
      () =>
        new Histogram({
          name: 'tradepulse_indicator_apply_seconds',
          help: 'time of one store apply call (one merged round of contributions, all its event-time runs)',
          // Fine enough below 100 ms for the benchmark's p99 (interpolated within a bucket).
          buckets: [
            0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25,
            0.5, 1, 2.5,
          ],
          registers: [registry],
        }),
    ),
  }
}
export type AggregatorMetrics = ReturnType<typeof createAggregatorMetrics>
