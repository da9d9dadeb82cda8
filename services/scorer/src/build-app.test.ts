import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTopicCatalogue, type Headline, ScoredHeadline } from '@tradepulse/contracts'
import { createLogger, createMemoryBus, createMemoryTransport, loadConfig } from '@tradepulse/platform'
import { runAhead, waitFor } from '@tradepulse/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { buildScorerApp, scorerFromConfig } from './build-app.ts'
import { ScorerConfig } from './config.ts'
import { scoreHeadline } from './score-headline.ts'

const MIN = 60_000
const T0 = Date.UTC(2026, 2, 2, 8)
const headlineOf = (text: string): Headline => ({
  id: 'h',
  source: 't',
  headline: text,
  publishedAt: new Date(T0).toISOString(),
  ingestedAt: new Date(T0).toISOString(),
  truncated: false,
})

describe('the scorer catching up a backlog', () => {
  /**
   * Event times of the headlines the scorer's handler was given, in the order given, for a backlog of two
   * input partitions: one covering minutes 0-299, the other minutes 200-299 (as after a crash, when a
   * partition caught up before the others).
   */
  async function handledOrder(env: Record<string, string>): Promise<number[]> {
    const bus = createMemoryBus()
    const memory = createMemoryTransport(bus)
    const handled: number[] = []
    const transport = {
      ...memory,
      createRunner: ((handler, cfg, log, metrics) =>
        memory.createRunner(
          async (records, ctx) => {
            for (const r of records)
              handled.push(Date.parse((JSON.parse(String(r.value)) as Headline).publishedAt))
            return handler(records, ctx)
          },
          cfg,
          log,
          metrics,
        )) satisfies typeof memory.createRunner,
    }
    const topics = createTopicCatalogue('t.')
    const config = loadConfig(ScorerConfig, {
      TRADEPULSE_TOPIC_PREFIX: 't.',
      HTTP_PORT: '0',
      KAFKA_MAX_BATCH: '40',
      ...env,
    })
    const app = buildScorerApp(config, { log: createLogger({ level: 'silent' }), transport })
    const headline = (i: number, atMin: number) => ({
      topic: topics.headlines.name,
      key: null as string | null,
      value: JSON.stringify({
        id: `h${i}`,
        source: 'test',
        headline: `US raises tariffs on steel ${i}`,
        publishedAt: new Date(T0 + atMin * MIN).toISOString(),
        ingestedAt: new Date(T0).toISOString(),
        truncated: false,
      } satisfies Headline),
    })
    // Topics first (the app creates them), then the backlog, two keys on two partitions.
    await app.start()
    try {
      // Two keys on two partitions, found through a probe topic of as many partitions.
      const n = bus.partitions(topics.headlines.name)
      bus.createTopic('probe', n)
      const partitionOf = (key: string) => {
        const ends = Array.from({ length: n }, (_, p) => bus.endOffset('probe', p))
        bus.produce([{ topic: 'probe', key, value: '' }])
        return ends.findIndex((end, p) => bus.endOffset('probe', p) > end)
      }
      const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']
      const dense = keys[0]!
      const sparse = keys.find((k) => partitionOf(k) !== partitionOf(dense))!
      bus.produce([
        ...Array.from({ length: 300 }, (_, i) => ({ ...headline(i, i), key: dense })),
        ...Array.from({ length: 100 }, (_, i) => ({ ...headline(1_000 + i, 200 + i), key: sparse })),
      ])
      await waitFor(() => handled.length >= 400, { what: 'every headline handled' })
    } finally {
      await app.stop()
    }
    return handled
  }

  it('keeps its input partitions within SCORER_ALIGN_AHEAD_MS of each other in event time', async () => {
    const handled = await handledOrder({ SCORER_ALIGN_AHEAD_MS: String(10 * MIN) })
    expect(handled).toHaveLength(400)
    expect(runAhead(handled)).toBeLessThanOrEqual(10 * MIN)
  })
})

// What a watchlist may hold is parseWatchlistText's (packages/scoring, watchlist.test.ts); here, that the
// scorer reads the file with it and reports a refusal as a configuration error naming the variable.
describe('SCORER_WATCHLIST_FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-watchlist-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  let files = 0
  /** A watchlist file holding `text`. */
  const file = (text: string) => {
    const path = join(dir, `watchlist-${++files}.json`)
    writeFileSync(path, text)
    return path
  }

  it('takes a watchlist whose entities each have their own id and names', () => {
    const path = file(
      JSON.stringify({
        entities: [
          { id: 'AAPL', names: ['Apple', 'Apple Inc'] },
          { id: 'TSLA', names: ['Tesla'] },
        ],
      }),
    )
    const scorer = scorerFromConfig({ SCORER_WATCHLIST_FILE: path })
    expect(scorer.score({ headline: 'Apple hit by tariffs' }).entities.companies).toEqual(['AAPL'])
    expect(scorer.score({ headline: 'Tesla halts exports' }).entities.companies).toEqual(['TSLA'])
  })

  it('refuses a file the watchlist parse refuses, as CONFIG_INVALID naming the variable, the file and the field', () => {
    const path = file(JSON.stringify({ entities: [{ id: 'AAPL', names: ['Apple'] }, { id: 'APPLE' }] }))
    expect(() => scorerFromConfig({ SCORER_WATCHLIST_FILE: path })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: `SCORER_WATCHLIST_FILE (${path}): invalid watchlist at entities[1].id: "APPLE" is read as entities[0] (AAPL), whose name it is already; the scorer reads an id as a name of its entity, and a name recognises one entity only`,
      }),
    )
  })

  // A file a Windows editor saved (a UTF-8 byte-order mark) was refused with JSON.parse's
  // `Unexpected token '﻿'`, the mark invisible: the scorer would not start. Not UTF-8, or empty, it was
  // told as JSON.parse's `Unexpected token '�'` or `Unexpected end of JSON input`.
  it('takes a watchlist saved with a UTF-8 byte-order mark, and says what a file that is no UTF-8 JSON is', () => {
    const list = JSON.stringify({ entities: [{ id: 'AAPL', names: ['Apple'] }] })
    const bom = file(`\ufeff${list}`)
    expect(
      scorerFromConfig({ SCORER_WATCHLIST_FILE: bom }).score({ headline: 'Apple hit by tariffs' }).entities
        .companies,
    ).toEqual(['AAPL'])
    const refusal = (bytes: string | Buffer) => {
      const path = join(dir, `watchlist-${++files}.json`)
      writeFileSync(path, bytes)
      try {
        scorerFromConfig({ SCORER_WATCHLIST_FILE: path })
      } catch (err) {
        return (err as Error).message.slice(`SCORER_WATCHLIST_FILE (${path}): `.length)
      }
      return 'taken'
    }
    const example = 'a watchlist is JSON such as {"entities":[{"id":"AAPL","names":["Apple"]}]}'
    expect(refusal('')).toBe(`is empty; ${example}`)
    expect(refusal(' \n')).toBe(`is empty; ${example}`)
    expect(refusal(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(list, 'utf16le')]))).toBe(
      'is UTF-16 text (it starts with a UTF-16 byte-order mark); save it as UTF-8',
    )
    expect(refusal(Buffer.from(list.replace('Apple', 'Appl\xe9'), 'latin1'))).toBe(
      'is not UTF-8 text; save it as UTF-8',
    )
    expect(refusal(list.slice(0, -1))).toMatch(/^is not JSON \(.+\); a watchlist is JSON such as /)
  })

  // A watchlist changes scores as well as entities.companies (a listed name is one entity, its words no
  // longer cues), yet every scorer stamped one scorerVersion whatever its list: no indicator or alert could
  // say which list made it, nor tell a scorer's output before an edit of the list from after.
  it('stamps scorerVersion with the watchlist, so scores a list changes are told apart', () => {
    const plain = scorerFromConfig({})
    const listed = (entities: unknown[], spacing?: number) =>
      scorerFromConfig({ SCORER_WATCHLIST_FILE: file(JSON.stringify({ entities }, null, spacing)) })
    const steel = listed([{ id: 'CHINA1', names: ['China Steel'] }])
    const text = { headline: 'China Steel halts exports to US' }
    const [a, b] = [plain.score(text), steel.score(text)]
    expect(b.scores).not.toEqual(a.scores)
    expect(b.scorerVersion).toMatch(
      new RegExp(`^${a.scorerVersion.replaceAll('+', '\\+')}\\+watchlist-[0-9a-f]{12}$`),
    )
    // The rules' result the trainer reads (`+rules`) carries the same stamp.
    const stamp = b.scorerVersion.slice(a.scorerVersion.length)
    expect(steel.features(text).rule.scorerVersion).toBe(`${plain.features(text).rule.scorerVersion}${stamp}`)
    // The same list, however written, is the same version; another list, another one.
    expect(listed([{ id: 'CHINA1', names: ['China Steel'] }], 2).score(text).scorerVersion).toBe(
      b.scorerVersion,
    )
    expect(listed([{ id: 'CHINA2', names: ['China Steel'] }]).score(text).scorerVersion).not.toBe(
      b.scorerVersion,
    )
    // An empty list scores as none, under the same version.
    expect(listed([]).score(text)).toEqual(a)
    expect(
      ScoredHeadline.safeParse(scoreHeadline(steel, headlineOf(text.headline), new Date(T0))).success,
    ).toBe(true)
  })

  it('stops the scorer process with exit 78 and one line naming the variable', () => {
    const path = file('{"entities":[],"entities":[]}')
    const run = spawnSync(process.execPath, [join(import.meta.dirname, 'main.ts')], {
      env: { ...process.env, SCORER_WATCHLIST_FILE: path, HTTP_PORT: '0' },
      encoding: 'utf8',
      timeout: 30_000,
    })
    expect(run.status).toBe(78)
    expect(run.stderr.trim()).toBe(
      `tradepulse: SCORER_WATCHLIST_FILE (${path}): invalid watchlist at entities: key given more than once in one object`,
    )
  }, 30_000)
})
