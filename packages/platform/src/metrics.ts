import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** The pipeline metrics every worker exposes on /metrics, labelled by worker. */
export function createMetrics(worker: string, registry = new Registry()) {
  registry.setDefaultLabels({ worker })
  if (!registry.getSingleMetric('process_cpu_seconds_total')) collectDefaultMetrics({ register: registry })
  const get = <T>(name: string, make: () => T): T =>
    (registry.getSingleMetric(name) as T | undefined) ?? make()
  return {
    registry,
    messagesIn: get(
      'tradepulse_messages_in_total',
      () =>
        new Counter({
          name: 'tradepulse_messages_in_total',
          help: 'records consumed',
          labelNames: ['topic'],
          registers: [registry],
        }),
    ),
    messagesOut: get(
      'tradepulse_messages_out_total',
      () =>
        new Counter({
          name: 'tradepulse_messages_out_total',
          help: 'records produced and acknowledged',
          labelNames: ['topic'],
          registers: [registry],
        }),
    ),
    outcomes: get(
      'tradepulse_outcomes_total',
      () =>
        new Counter({
          name: 'tradepulse_outcomes_total',
          help: 'handler outcomes',
          labelNames: ['outcome', 'reason'],
          registers: [registry],
        }),
    ),
    dlq: get(
      'tradepulse_dlq_total',
      () =>
        new Counter({
          name: 'tradepulse_dlq_total',
          help: 'records sent to the dlq',
          labelNames: ['reason'],
          registers: [registry],
        }),
    ),
    retries: get(
      'tradepulse_infra_retries_total',
      () =>
        new Counter({
          name: 'tradepulse_infra_retries_total',
          help: 'batches retried after an infrastructure fault',
          labelNames: ['code'],
          registers: [registry],
        }),
    ),
    handlerSeconds: get(
      'tradepulse_batch_seconds',
      () =>
        new Histogram({
          name: 'tradepulse_batch_seconds',
          help: 'time to handle a batch and have its output acknowledged',
          // Past 5 s too: a batch waiting on a slow dependency is counted in its own bucket, not in +Inf.
          buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
          registers: [registry],
        }),
    ),
    batchInFlight: get(
      'tradepulse_batch_in_flight_seconds',
      () =>
        new Gauge({
          name: 'tradepulse_batch_in_flight_seconds',
          help: "age of the oldest batch under way, in seconds: handed over by the consumer and not yet done (handled, its output acknowledged, retries and waits included; work a handler deferred counts in its partition's next batch, which waits on it), 0 when none; set every few seconds, so a stuck batch shows while it lasts",
          registers: [registry],
        }),
    ),
    holds: get(
      'tradepulse_partition_holds_total',
      () =>
        new Counter({
          name: 'tradepulse_partition_holds_total',
          help: 'times a partition was paused for running ahead of the others in event time',
          registers: [registry],
        }),
    ),
    held: get(
      'tradepulse_partitions_held',
      () =>
        new Gauge({
          name: 'tradepulse_partitions_held',
          help: 'partitions paused because they ran ahead of the others in event time while catching up',
          registers: [registry],
        }),
    ),
    alignForced: get(
      'tradepulse_align_forced_total',
      () =>
        new Counter({
          name: 'tradepulse_align_forced_total',
          help: 'steps the partition aligner forced because nothing else would take anything (a release cycle that took nothing, or every cut leaving records behind): records not fetched yet, or of partitions not held, may come late after one; with KAFKA_PARTITIONS_CONCURRENCY below the partitions assigned, a catch-up forces them often',
          registers: [registry],
        }),
    ),
    skipped: get(
      'tradepulse_records_skipped_total',
      () =>
        new Counter({
          name: 'tradepulse_records_skipped_total',
          help: "offsets never read: the group's position was past the partition's start (deleted by retention, or by deleteRecords, before this group read them), and kafkajs reset it to the earliest offset kept. Gaps of a compacted topic and transaction markers are not counted",
          labelNames: ['topic', 'partition'],
          registers: [registry],
        }),
    ),
    lag: get(
      'tradepulse_consumer_lag',
      () =>
        new Gauge({
          name: 'tradepulse_consumer_lag',
          help: "records behind the high watermark, per partition: from the first record not yet handled (a batch under way counts), set at each batch's start and end and refreshed from the partition's end every few seconds",
          labelNames: ['topic', 'partition'],
          registers: [registry],
        }),
    ),
  }
}
export type Metrics = ReturnType<typeof createMetrics>
