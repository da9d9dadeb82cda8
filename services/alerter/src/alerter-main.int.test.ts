import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomName, spawnWorker, testInfra } from '@tradepulse/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { scenarioDesks } from './scenario-fixtures.ts'

describe('the alerter process (its main, as deployed) on a desks file it refuses', () => {
  const { kafkaBrokers, redisUrl } = testInfra()
  const cleanups: (() => unknown)[] = []
  afterEach(() => {
    for (const c of cleanups.splice(0).reverse()) c()
  })

  /** The alerter's main on a desks file holding `desks`; killed in the clean-ups if still running. */
  function runAlerter(desks: string) {
    const file = join(mkdtempSync(join(tmpdir(), 'alerter-main-')), 'desks.yaml')
    writeFileSync(file, desks)
    const worker = spawnWorker('services/alerter/src/main.ts', {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: redisUrl,
      TRADEPULSE_TOPIC_PREFIX: `${randomName('alerter-main')}.`,
      HTTP_PORT: '0',
      ALERTER_DESKS_FILE: file,
      // Only what goes wrong: the rules file's "rules loaded" is not the line under test.
      LOG_LEVEL: 'warn',
    })
    cleanups.push(() => {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL')
    })
    return { worker, file }
  }

  it.each(['_emea', '-x', 'd'.repeat(64)])(
    'exits 78 at start with one line naming the desk id %s, the rule and its line',
    async (id) => {
      // The desks file's schema took the id, and the topic catalogue then threw building the desk's topic:
      // exit 1 and a stack trace, the file and the line unnamed.
      const { worker, file } = runAlerter(`${scenarioDesks()}  - id: "${id}"\n    scopes: ["*"]\n`)
      const { code } = await worker.exited
      expect(code, worker.output()).toBe(78)
      const line = scenarioDesks().split('\n').length
      expect(worker.output()).toBe(
        `tradepulse: ALERTER_DESKS_FILE (${file}): desks[3].id: invalid desk id "${id}": a desk id is 1 to 63 characters of a-z, 0-9, "_" and "-", the first a letter or digit (it names the topic alerts.desk.<id>.v1) (line ${line})\n`,
      )
    },
  )
})
