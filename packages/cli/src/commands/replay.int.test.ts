import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createTopicCatalogue } from '@tradepulse/contracts'
import { collectTopic, createTopics, randomName, testInfra, waitFor } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const MAIN = join(import.meta.dirname, '..', 'main.ts')

describe('tradepulse replay on Kafka, with bad rows', () => {
  const { kafkaBrokers } = testInfra()

  async function replay(name: string, text: string) {
    const prefix = `${randomName('replay-bad')}.`
    const topic = createTopicCatalogue(prefix).raw.name
    await createTopics(kafkaBrokers, [{ name: topic }])
    const file = join(mkdtempSync(join(tmpdir(), 'replay-bad-')), name)
    writeFileSync(file, text)
    const res = await run(process.execPath, [MAIN, 'replay', file], {
      env: { ...process.env, KAFKA_BROKERS: kafkaBrokers.join(','), TRADEPULSE_TOPIC_PREFIX: prefix },
      maxBuffer: 16 * 1024 * 1024,
    })
    return { ...res, topic }
  }

  async function headlines(topic: string, n: number): Promise<string[]> {
    const raw = await collectTopic(kafkaBrokers, topic)
    try {
      await waitFor(() => raw.messages.length >= n, { what: `${n} raw records` })
      return raw.messages.map((m) => JSON.parse(String(m.value)).headline)
    } finally {
      await raw.stop()
    }
  }

  it('produces the readable rows of a CSV and reports stray quotes, an unclosed one and a huge row by line', async () => {
    const { stderr, topic } = await replay(
      'feed.csv',
      [
        'date,headline,description',
        '2020-01-01,Steel tariffs rise,',
        '2020-01-02,Trump says "tariffs" are great,',
        `2020-01-03,Ports reopen,${'z'.repeat(1_100_000)}`,
        '2020-01-04,"Chips rally, again",',
        '2020-01-05,"Copper falls',
        '2020-01-06,Never read,',
      ].join('\n'),
    )
    expect(stderr).toMatch(/feed\.csv:3: skipped: Invalid Opening Quote/)
    expect(stderr).toMatch(/feed\.csv:4: skipped: record is \d+ bytes/)
    expect(stderr).toMatch(/feed\.csv:6: skipped: Quote Not Closed/)
    expect(stderr).toMatch(/2 produced to .*, 3 bad row\(s\) skipped \(lines 3, 4, 6\)/)
    expect(await headlines(topic, 2)).toEqual(['Steel tariffs rise', 'Chips rally, again'])
  })
  it('produces the rest of an NDJSON batch around a row larger than Kafka takes', async () => {
    const { stderr, topic } = await replay(
      'feed.ndjson',
      [
        JSON.stringify({ id: 'a', headline: 'Steel tariffs rise' }),
        JSON.stringify({ id: 'b', headline: 'x'.repeat(1_100_000) }),
        JSON.stringify({ id: 'c', headline: 'US\u2028raises tariffs' }),
      ].join('\n'),
    )
    expect(stderr).toMatch(/feed\.ndjson:2: skipped: record is \d+ bytes/)
    expect(stderr).toMatch(/2 produced to .*, 1 bad row\(s\) skipped \(lines 2\)/)
    expect(await headlines(topic, 2)).toEqual(['Steel tariffs rise', 'US\u2028raises tariffs'])
  })
})
