import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createTopicCatalogue, listTopics } from '@tradepulse/contracts'
import { collectTopic, REPO_ROOT, randomName, testInfra, waitFor } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)

describe('tradepulse replay and topics create', () => {
  const { kafkaBrokers } = testInfra()

  it('creates the catalogue idempotently, then replays a file at a rate, skipping bad rows by line number', async () => {
    const prefix = `${randomName('replay')}.`
    const env = {
      ...process.env,
      KAFKA_BROKERS: kafkaBrokers.join(','),
      TRADEPULSE_TOPIC_PREFIX: prefix,
      LOG_PRETTY: 'false',
    }
    const cli = join(REPO_ROOT, 'packages/cli/src/main.ts')
    const first = await run(process.execPath, [cli, 'topics', 'create'], { env })
    expect(first.stdout.match(/^created /gm)).toHaveLength(listTopics(createTopicCatalogue(prefix)).length)
    const again = await run(process.execPath, [cli, 'topics', 'create'], { env })
    expect(again.stdout).not.toMatch(/^created /m)

    const file = join(mkdtempSync(join(tmpdir(), 'replay-')), 'feed.ndjson')
    const good = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({ id: `r${i}`, headline: `Headline ${i}` }),
    )
    writeFileSync(file, [...good.slice(0, 10), 'not json', ...good.slice(10), '[1,2]'].join('\n'))
    const t0 = Date.now()
    // Bad rows make replay exit 65 (EX_DATAERR), once every good row is sent: execFile rejects then.
    const res = await run(process.execPath, [cli, 'replay', file, '--rate', '100'], { env }).catch(
      (err: { code?: number; stdout: string; stderr: string }) => err,
    )
    expect((res as { code?: number }).code).toBe(65)
    const seconds = (Date.now() - t0) / 1_000
    expect(res.stderr).toMatch(/feed\.ndjson:11: skipped: invalid JSON/)
    expect(res.stderr).toMatch(/feed\.ndjson:42: skipped: not a JSON object/)
    expect(res.stderr).toMatch(/40 produced to .*headlines\.raw\.v1, 2 bad row\(s\) skipped \(lines 11, 42\)/)
    // 40 headlines at 100/s cannot finish in much under 0.4 s: the rate was applied.
    expect(seconds).toBeGreaterThan(0.35)
    const raw = await collectTopic(kafkaBrokers, createTopicCatalogue(prefix).raw.name)
    await waitFor(() => raw.messages.length >= 40, { what: '40 raw records' })
    await raw.stop()
    expect(new Set(raw.messages.map((m) => m.key))).toEqual(new Set(good.map((_, i) => `r${i}`)))
  })
})
