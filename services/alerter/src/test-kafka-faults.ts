// Kafka's faults as the webhook tests' dlq producers throw them, built in one place for the unit and the
// integration tests alike (no I/O here).
import { KafkaJSProtocolError } from 'kafkajs'

/**
 * The dlq short of in-sync replicas, as kafkajs reports it: retriable, neither a refusal of the letter nor a
 * fault of the deployment, so a webhook dead letter refused with it is retried for as long as it lasts.
 */
export function notEnoughReplicas(): KafkaJSProtocolError {
  return new KafkaJSProtocolError(
    Object.assign(new Error('Messages are rejected since there are fewer in-sync replicas than required'), {
      type: 'NOT_ENOUGH_REPLICAS',
      code: 19,
      retriable: true,
    }),
  )
}
