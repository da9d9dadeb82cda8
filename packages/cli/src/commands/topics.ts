import { loadDeskConfig } from '@tradepulse/alerter'
import { RULE_FILES } from '@tradepulse/alerting'
import { createTopicCatalogue, listTopics } from '@tradepulse/contracts'
import {
  alignTimestampTypes,
  BaseConfig,
  ensureTopics,
  loadConfig,
  TradepulseError,
  topicSettingDriftLine,
  topicSettingsDrift,
} from '@tradepulse/platform'
import type { Command } from 'commander'
import { cliKafka, cliLogger } from '../infra.ts'
import { deskIds, someText } from '../option-values.ts'

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
          `${t.name.padEnd(40)} partitions ${t.partitions}  retention ${retention}${t.compacted ? '  compacted' : ''}${t.timestampType ? `  timestamps ${t.timestampType}` : ''}\n`,
        )
      }
    })
  topics
    .command('create')
    .description(
      "create every topic of the catalogue that does not exist yet, and set the catalogue's message.timestamp.type on those that exist with another (running it again changes nothing); warns of an existing topic with another cleanup.policy, fewer partitions or a shorter retention.ms than the catalogue's, which it leaves as they are",
    )
    .option('--desk <id...>', 'also create alerts.desk.<id> topics', deskIds)
    .option(
      '--desks [file]',
      'also create the alerts.desk.<id> topic of every desk in the desks file (default: ALERTER_DESKS_FILE, else the bundled one)',
      someText('a desks file'),
    )
    .action(async (opts: { desk?: string[]; desks?: string | boolean }) => {
      const config = loadConfig(BaseConfig, process.env)
      const log = cliLogger(config)
      const catalogue = createTopicCatalogue(config.TRADEPULSE_TOPIC_PREFIX)
      const ids = [...(opts.desk ?? [])]
      if (opts.desks) {
        const fromFlag = typeof opts.desks === 'string'
        const fromEnv = process.env.ALERTER_DESKS_FILE?.trim()
        const file = fromFlag ? (opts.desks as string) : fromEnv || RULE_FILES.desks
        let desks: ReturnType<typeof loadDeskConfig>['desks']
        try {
          // Only the desks' ids are needed here: their webhook secrets are the alerter's concern.
          desks = loadDeskConfig(file, {}, false).desks
        } catch (err) {
          // loadDeskConfig names ALERTER_DESKS_FILE, the alerter's source of the file; here it may be the flag.
          const prefix = `ALERTER_DESKS_FILE (${file}): `
          const message = (err as Error).message
          if (!fromFlag || !message.startsWith(prefix)) throw err
          throw new TradepulseError('CONFIG_INVALID', `--desks ${file}: ${message.slice(prefix.length)}`)
        }
        // Every id of a file loadDeskConfig takes names a topic: the desks file has the catalogue's rule.
        for (const d of desks) if (!ids.includes(d.id)) ids.push(d.id)
      }
      const specs = [...listTopics(catalogue), ...ids.map((d) => catalogue.deskAlerts(d))]
      const admin = cliKafka(config, 'tradepulse-cli', log).admin()
      await admin.connect()
      try {
        const created = await ensureTopics(admin, specs)
        // A topic created before the catalogue set its timestamp type keeps its own until set here.
        const updated = new Map((await alignTimestampTypes(admin, specs)).map((d) => [d.name, d]))
        for (const s of specs) {
          const d = updated.get(s.name)
          process.stdout.write(
            d
              ? `updated  ${s.name}  message.timestamp.type ${d.actual} -> ${d.wanted}\n`
              : `${created.includes(s.name) ? 'created' : 'exists '}  ${s.name}\n`,
          )
        }
        // Partitions and policy are not changed here (more partitions move keys; a policy is the operator's
        // call): a topic made otherwise than the catalogue says is named, with what it costs and the remedy.
        const existed = specs.filter((s) => !created.includes(s.name))
        for (const d of await topicSettingsDrift(admin, existed))
          process.stderr.write(`tradepulse: warning: ${topicSettingDriftLine(d)}\n`)
      } finally {
        await admin.disconnect()
      }
    })
}
