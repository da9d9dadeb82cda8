import { inject } from 'vitest'

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string
    redisUrl: string
  }
}

/** The Kafka broker and Redis server the global setup gave this test run. */
export function testInfra(): { kafkaBrokers: string[]; redisUrl: string } {
  const brokers = inject('kafkaBrokers') ?? process.env.KAFKA_BROKERS
  const redisUrl = inject('redisUrl') ?? process.env.REDIS_URL
  if (!brokers || !redisUrl) {
    throw new Error('no test infrastructure: run integration tests through vitest with the `int` project')
  }
  return { kafkaBrokers: brokers.split(','), redisUrl }
}
