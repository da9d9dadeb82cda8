// A worker that does no work, for the floor of `pnpm bench pipeline`: consume PASS_IN, produce the same
// key and value to PASS_OUT, with the batch runner's consumer settings, producer and commit discipline.
import { BaseConfig, createKafka, createLogger, createProducer, loadConfig } from '@tradepulse/platform'
import { passthroughConsumer, runPassthrough } from './passthrough.ts'

const input = process.env.PASS_IN
const output = process.env.PASS_OUT
if (!input || !output) {
  process.stderr.write('passthrough-worker: set PASS_IN and PASS_OUT\n')
  process.exit(2)
}
const config = loadConfig(BaseConfig, process.env)
const log = createLogger({ level: config.LOG_LEVEL, pretty: false, name: 'passthrough' })
const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `passthrough-${input}` }, log)
const producer = createProducer(kafka)
const consumer = passthroughConsumer(kafka, config, config.KAFKA_GROUP_ID ?? `passthrough-${input}`)
consumer.on(consumer.events.GROUP_JOIN, () => process.stdout.write('joined consumer group\n'))
const stopPassthrough = await runPassthrough(consumer, producer, config, input, output, log)
const stop = async () => {
  await stopPassthrough()
  process.exit(0)
}
process.on('SIGTERM', () => void stop())
process.on('SIGINT', () => void stop())
