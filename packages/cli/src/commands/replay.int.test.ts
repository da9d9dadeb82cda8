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

describe('tradepulse replay on Kafka', () => {
  const { kafkaBrokers } = testInfra()

  /** Replays a file (or, `piped`, the file through a pipe: `replay <(cat file)`) to a fresh topic. */
  async function replay(name: string, text: string, how: { piped?: boolean; args?: string[] } = {}) {
    const prefix = `${randomName('replay-bad')}.`
    const topic = createTopicCatalogue(prefix).raw.name
    await createTopics(kafkaBrokers, [{ name: topic }])
    const file = join(mkdtempSync(join(tmpdir(), 'replay-bad-')), name)
    writeFileSync(file, text)
    const args = [MAIN, 'replay', ...(how.args ?? [])]
    const [cmd, argv] = how.piped
      ? ['bash', ['-c', `"$0" "$@" <(cat "${file}")`, process.execPath, ...args]]
      : [process.execPath, [...args, file]]
    const res = await run(cmd, argv, {
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

  // Newest first, like cnbc_2017_2020.csv: in file order the aggregator would find nearly all of it late.
  const newestFirst = [
    'time,headline',
    '"7:51 PM ET Fri, 17 July 2020",Chips rally',
    '"7:33 PM ET Fri, 17 July 2020",Steel tariffs rise',
    '"1:15 PM ET Tue, 3 Mar 2020",Ports reopen',
    '"9:05 AM ET Mon, 4 Dec 2017",Copper falls',
  ].join('\n')
  async function times(topic: string, n: number): Promise<string[]> {
    const raw = await collectTopic(kafkaBrokers, topic)
    try {
      await waitFor(() => raw.messages.length >= n, { what: `${n} raw records` })
      return raw.messages.map((m) => JSON.parse(String(m.value)).publishedAt)
    } finally {
      await raw.stop()
    }
  }

  it('produces a newest-first file oldest first, and its oldest rows for --limit', async () => {
    const all = await replay('newest-first.csv', newestFirst)
    expect(all.stderr).toMatch(/4 produced to /)
    expect(all.stderr).not.toMatch(/warning/)
    expect(await times(all.topic, 4)).toEqual([
      '2017-12-04T14:05:00.000Z',
      '2020-03-03T17:15:00.000Z',
      '2020-07-17T23:33:00.000Z',
      '2020-07-17T23:51:00.000Z',
    ])
    const limited = await replay('newest-first.csv', newestFirst, { args: ['--limit', '2', '--rate', '100'] })
    expect(limited.stderr).toMatch(/2 produced to /)
    expect(await times(limited.topic, 2)).toEqual(['2017-12-04T14:05:00.000Z', '2020-03-03T17:15:00.000Z'])
  })
  it('produces a pipe as it comes and warns once where its time runs backwards', async () => {
    const { stderr, topic } = await replay('piped.csv', newestFirst, { piped: true })
    expect(stderr.match(/warning: time runs backwards/g)).toHaveLength(1)
    expect(stderr).toMatch(
      /:3: warning: time runs backwards, 2020-07-17T23:33:00\.000Z after 2020-07-17T23:51:00/,
    )
    expect(stderr).toMatch(/4 produced to .*, 3 sent more than 10 min behind a newer one/)
    expect(await times(topic, 4)).toEqual([
      '2020-07-17T23:51:00.000Z',
      '2020-07-17T23:33:00.000Z',
      '2020-03-03T17:15:00.000Z',
      '2017-12-04T14:05:00.000Z',
    ])
  })
})
