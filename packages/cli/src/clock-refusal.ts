import { kafkaClockError, TradepulseError } from '@tradepulse/platform'

/**
 * A command's failure as the line it exits with is to say it. A produce Kafka refused for this host's
 * clock (a KafkaClockError anywhere in the chain: replay, the sample `start` plays) is given in the clock
 * error's own words, which name the clock and the cure: the exit line (exitOnFatal) gives the innermost
 * message of the chain, which was kafkajs's "The timestamp of the message is out of acceptable range".
 * Still a Kafka failure (exit 69). Any other error is returned as it is.
 */
export function inOwnWords(err: unknown): unknown {
  const clock = kafkaClockError(err)
  return clock ? new TradepulseError('INFRA_KAFKA', clock.message, { retriable: false }) : err
}
