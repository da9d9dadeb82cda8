import type { Alert } from '@tradepulse/contracts'
import { createTopicCatalogue } from '@tradepulse/contracts'
import {
  createTopics,
  randomName,
  testAlert,
  testInfra,
  testKafka,
  testProducer,
  waitFor,
} from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { spawnCli } from '../test-helpers.ts'

const alert = (id: string) => testAlert(id, { message: `alert ${id}` })

describe('tradepulse tail alerts across a rejoin', { timeout: 90_000 }, () => {
  const { kafkaBrokers } = testInfra()

  // A throwaway group commits nothing: each rejoin (the process stopped or blocked on a full pipe past its
  // session) put the consumer at the topic's end again, the alerts written meanwhile never shown, or with
  // --from-beginning at its start, every alert shown again. And one written right after "Following" was
  // missed, the offsets being taken only at the join.
  it.each([
    ['new alerts', []],
    ['--from-beginning', ['--from-beginning']],
  ])('%s: shows each alert once, those written while it was out of its group too', async (_name, extra) => {
    const prefix = `${randomName('tail-rejoin')}.`
    const topic = createTopicCatalogue(prefix).alerts.name
    await createTopics(kafkaBrokers, [{ name: topic, partitions: 2 }])
    const producer = await testProducer(kafkaBrokers)
    const admin = testKafka(kafkaBrokers).admin()
    await admin.connect()
    const tail = spawnCli(['tail', 'alerts', '--json', ...extra], {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      TRADEPULSE_TOPIC_PREFIX: prefix,
      KAFKA_SESSION_TIMEOUT_MS: '2000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '200',
    })
    const pid = tail.child.pid!
    const send = (ids: string[]) =>
      producer.send({
        topic,
        messages: ids.map((id, i) => ({ partition: i % 2, value: JSON.stringify(alert(id)) })),
      })
    const shown = () =>
      tail.output.out
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as Alert).id)
    const members = async () => {
      const groups = (await admin.listGroups()).groups.filter((g) =>
        g.groupId.startsWith(`tradepulse-tail-${pid}-`),
      )
      if (groups.length !== 1) return undefined
      return (await admin.describeGroups([groups[0]!.groupId])).groups[0]!.members.length
    }
    try {
      await waitFor(() => tail.output.err.includes('Following'), { what: 'the tail started' })
      await send(['A1', 'A2'])
      await waitFor(() => shown().includes('A1') && shown().includes('A2'), { what: 'A shown' })
      await waitFor(async () => (await members()) === 1, { what: 'the tail in its group' })
      // Stopped past its session: the group drops it, and it rejoins once it runs again.
      process.kill(pid, 'SIGSTOP')
      await waitFor(async () => (await members()) === 0, {
        what: 'the tail out of its group',
        timeoutMs: 30_000,
      })
      await send(['B1', 'B2'])
      await send(['C1', 'C2'])
      process.kill(pid, 'SIGCONT')
      await waitFor(async () => (await members()) === 1, {
        what: 'the tail back in its group',
        timeoutMs: 30_000,
      })
      await send(['D1', 'D2'])
      await waitFor(() => shown().includes('D1') && shown().includes('D2'), {
        what: 'D shown',
        timeoutMs: 30_000,
      })
      expect(shown().sort()).toEqual(['A1', 'A2', 'B1', 'B2', 'C1', 'C2', 'D1', 'D2'])
    } finally {
      process.kill(pid, 'SIGCONT')
      tail.child.kill('SIGTERM')
      await tail.exited
      await producer.disconnect()
      await admin.disconnect()
    }
  })
})
