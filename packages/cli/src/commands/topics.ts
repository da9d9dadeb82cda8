import { createTopicCatalogue, listTopics } from '@tradepulse/contracts'
import { BaseConfig, createKafka, createLogger, ensureTopics, loadConfig } from '@tradepulse/platform'
import type { Command } from 'commander'

export function registerTopics(program: Command): void {
  const topics = program.command('topics').description('the topic catalogue')
  topics
    .command('list')
    .description('print every topic with partitions, retention and compaction')
    .action(() => {
      const config = loadConfig(BaseConfig, process.env)
      for (const t of listTopics(createTopicCatalogue(config.TRADEPULSE_TOPIC_PREFIX))) {
        const retention = t.retentionMs < 0 ? 'forever' : `${t.retentionMs / 86_400_000} d`
        process.stdout.write(
          `${t.name.padEnd(40)} partitions ${t.partitions}  retention ${retention}${t.compacted ? '  compacted' : ''}\n`,
        )
      }
    })
  topics
    .command('create')
    .description(
      'create every topic of the catalogue that does not exist yet (running it again changes nothing)',
    )
    .option('--desk <id...>', 'also create alerts.desk.<id> topics')
    .action(async (opts: { desk?: string[] }) => {
      const config = loadConfig(BaseConfig, process.env)
      const log = createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY })
      const catalogue = createTopicCatalogue(config.TRADEPULSE_TOPIC_PREFIX)
      const specs = [...listTopics(catalogue), ...(opts.desk ?? []).map((d) => catalogue.deskAlerts(d))]
      const admin = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'tradepulse-cli' }, log).admin()
      await admin.connect()
      try {
        const created = await ensureTopics(admin, specs)
        for (const s of specs)
          process.stdout.write(`${created.includes(s.name) ? 'created' : 'exists '}  ${s.name}\n`)
      } finally {
        await admin.disconnect()
      }
    })
}
