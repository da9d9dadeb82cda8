import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_INGEST_LIMITS } from '@tradepulse/ingest'
import type { OutRecord } from '@tradepulse/platform'
import { waitFor } from '@tradepulse/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MAX_REPLAY_RECORD_BYTES, type ReplayFileOptions, type ReplaySummary, replayFile } from './replay.ts'

const dir = mkdtempSync(join(tmpdir(), 'replay-file-'))

/** Replays a file into an array, with what it wrote to stderr. */
async function replay(
  name: string,
  text: string,
  batch = 10,
  more: Partial<Pick<ReplayFileOptions, 'limit' | 'order' | 'limits'>> = {},
) {
  const file = join(dir, name)
  writeFileSync(file, text)
  const produced: OutRecord[][] = []
  let stderr = ''
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk)
    return true
  })
  const summary = await replayFile(
    file,
    { ratePerS: 'max', batch, ...more },
    async (records) => {
      produced.push(records)
    },
    'raw.topic',
  )
  vi.restoreAllMocks()
  return { summary, produced, stderr }
}

/**
 * Ingest's limits at their largest (INGEST_MAX_RECORD_BYTES of 1 MiB): only then is a record over
 * MAX_REPLAY_RECORD_BYTES one ingest would take, and replay's own limit the one that refuses it.
 */
const largestIngestLimits = { limits: { ...DEFAULT_INGEST_LIMITS, maxRecordBytes: 1_048_576 } }

describe('replayFile', () => {
  afterEach(() => vi.restoreAllMocks())

  it('skips an NDJSON row whose record would be larger than 1 MB, by line, and produces the rest', async () => {
    const big = JSON.stringify({ id: 'big', headline: 'x'.repeat(1_010_000) })
    const lines = [
      JSON.stringify({ id: 'a', headline: 'Steel tariffs rise' }),
      big,
      JSON.stringify({ id: 'c', headline: 'Copper falls' }),
    ]
    const { summary, produced, stderr } = await replay(
      'big.ndjson',
      `${lines.join('\n')}\n`,
      10,
      largestIngestLimits,
    )
    // Keys and sizes only: a failure message with the 1 MB value in it would be of no use.
    expect(produced.flat().map((r) => [r.key, String(r.value).length])).toEqual([
      ['a', lines[0]!.length],
      ['c', lines[2]!.length],
    ])
    expect(summary).toMatchObject({ produced: 2, skipped: 1, skippedLines: [2] })
    expect(stderr).toMatch(new RegExp(`big\\.ndjson:2: skipped: record is ${big.length + 3} bytes`))
  })
  it('keeps a record at the size limit and skips one a byte over it', async () => {
    // The record's value and key: {"headline":"…","id":"k"} plus the key "k".
    const fill = (n: number) =>
      'y'.repeat(MAX_REPLAY_RECORD_BYTES - '{"id":"k","headline":""}'.length - 1 + n)
    const lines = [
      JSON.stringify({ id: 'k', headline: fill(0) }),
      JSON.stringify({ id: 'k', headline: fill(1) }),
    ]
    const { summary, produced } = await replay('edge.ndjson', lines.join('\n'), 10, largestIngestLimits)
    expect(produced.flat().map((r) => String(r.value).length)).toEqual([MAX_REPLAY_RECORD_BYTES - 1])
    expect(summary).toMatchObject({ produced: 1, skipped: 1, skippedLines: [2] })
  })
  it('skips NDJSON rows ingest would dead-letter, by line and why, and produces the others byte for byte', async () => {
    // Sent before, "5 produced, 0 bad row(s) skipped", exit 0, and ingest dead-lettered them all.
    const good = [
      JSON.stringify({
        id: 'a',
        headline: 'US raises tariffs on steel',
        publishedAt: '2026-03-02T10:00:00Z',
      }),
      JSON.stringify({ id: 'b', headline: `Tariffs ${'x'.repeat(2_000)}`, meta: { n: 1 } }),
    ]
    const { summary, produced, stderr } = await replay(
      'ingest.ndjson',
      [
        good[0],
        '{"id":"e","headline":"","publishedAt":"2026-03-02T10:00:00Z"}',
        '{"id":"f","headline":"Steel","publishedAt":"2026-02-30T10:00:00Z"}',
        '{"id":"g","headline":"Steel","publishedAt":"yesterday"}',
        '{"id":"h","headline":42}',
        '{"id":"i","nohead":1}',
        good[1],
      ].join('\n'),
    )
    expect(produced.flat().map((r) => [r.key, r.value])).toEqual([
      ['a', good[0]],
      ['b', good[1]],
    ])
    expect(summary).toMatchObject({ produced: 2, skipped: 5, skippedLines: [2, 3, 4, 5, 6] })
    expect(stderr.split('\n').map((l) => l.replace(/^.*\/ingest\.ndjson:/, ''))).toEqual([
      '2: skipped: headline: Too small: expected string to have >=1 characters (schema_invalid)',
      '3: skipped: publishedAt: Invalid ISO datetime (schema_invalid)',
      '4: skipped: publishedAt: Invalid ISO datetime (schema_invalid)',
      '5: skipped: headline: Invalid input: expected string, received number (schema_invalid)',
      '6: skipped: headline: Invalid input: expected string, received undefined (schema_invalid)',
      '',
    ])
  })
  it('skips a CSV row with a large body or a stray quote, by line, and produces the rest in order', async () => {
    const { summary, produced, stderr } = await replay(
      'big.csv',
      [
        'date,headline,description',
        '2020-01-01,Steel tariffs rise,Mills react.',
        `2020-01-02,Ports reopen,${'z'.repeat(1_100_000)}`,
        '2020-01-03,Trump says "tariffs" are great,',
        '2020-01-04,Copper falls,',
        '',
      ].join('\n'),
      1,
    )
    expect(produced.flat().map((r) => JSON.parse(String(r.value)).headline)).toEqual([
      'Steel tariffs rise',
      'Copper falls',
    ])
    expect(summary).toMatchObject({ produced: 2, skipped: 2, skippedLines: [3, 4] })
    expect(stderr).toMatch(/big\.csv:3: skipped: record is \d+ bytes/)
    expect(stderr).toMatch(/big\.csv:4: skipped: Invalid Opening Quote/)
  })

  // Newest first, like cnbc_2017_2020.csv and guardian_2017_2020.csv: sent in file order, time would run
  // back years and live workers would count nearly every headline late.
  const newestFirst = [
    'time,headline',
    '"7:51 PM ET Fri, 17 July 2020",Chips rally',
    '"7:33 PM ET Fri, 17 July 2020",Steel tariffs rise',
    '"7:33 PM ET Fri, 17 July 2020",Ports reopen',
    'yesterday,Unreadable time',
    '"9:05 AM ET Mon, 4 Dec 2017",Copper falls',
    '"11:00 PM ET Sun, 3 Dec 2017",Rare earths squeeze',
    '',
  ].join('\n')
  const sent = (produced: OutRecord[][]) =>
    produced.flat().map((r) => {
      const v = JSON.parse(String(r.value)) as { headline: string; publishedAt?: string }
      return `${v.publishedAt ?? '-'} ${v.headline}`
    })

  it('sends a newest-first file oldest first, rows of one time in file order, bad rows reported by line', async () => {
    const { summary, produced, stderr } = await replay('newest-first.csv', newestFirst, 2)
    expect(sent(produced)).toEqual([
      '2017-12-04T04:00:00.000Z Rare earths squeeze',
      '2017-12-04T14:05:00.000Z Copper falls',
      '2020-07-17T23:33:00.000Z Steel tariffs rise',
      '2020-07-17T23:33:00.000Z Ports reopen',
      '2020-07-17T23:51:00.000Z Chips rally',
    ])
    expect(summary).toMatchObject({ produced: 5, skipped: 1, skippedLines: [5], behind: 0 })
    expect(stderr).toMatch(/newest-first\.csv:5: skipped: unreadable time "yesterday"/)
    expect(stderr).not.toMatch(/warning/)
  })
  it('takes the oldest rows of a file for --limit', async () => {
    const { summary, produced } = await replay('limit.csv', newestFirst, 10, { limit: 3 })
    expect(sent(produced)).toEqual([
      '2017-12-04T04:00:00.000Z Rare earths squeeze',
      '2017-12-04T14:05:00.000Z Copper falls',
      '2020-07-17T23:33:00.000Z Steel tariffs rise',
    ])
    expect(summary).toMatchObject({ produced: 3, skipped: 1 })
  })
  it('sends NDJSON rows without a time last, in file order (ingest gives them their entry time)', async () => {
    const lines = [
      { id: 'a', headline: 'No time one' },
      { id: 'b', headline: 'Late', publishedAt: '2020-03-02T10:00:00+01:00' },
      { id: 'c', headline: 'No time two' },
      { id: 'd', headline: 'Early', publishedAt: '2020-03-02T08:00:00Z' },
    ]
    const { produced } = await replay('untimed.ndjson', lines.map((l) => JSON.stringify(l)).join('\n'))
    expect(produced.flat().map((r) => r.key)).toEqual(['d', 'b', 'a', 'c'])
  })
  it('sends a pipe as it comes and warns once where its time runs back more than the grace', async () => {
    const { summary, produced, stderr } = await replay('piped.csv', newestFirst, 10, { order: 'file' })
    expect(sent(produced).map((s) => s.split(' ').slice(1).join(' '))).toEqual([
      'Chips rally',
      'Steel tariffs rise',
      'Ports reopen',
      'Copper falls',
      'Rare earths squeeze',
    ])
    // 18 min back (7:51 to 7:33 PM) is past the 10 min grace; Dec 2017 runs back further still.
    expect(summary.behind).toBe(4)
    expect(stderr.match(/warning/g)).toHaveLength(1)
    expect(stderr).toMatch(
      /piped\.csv:3: warning: time runs backwards, 2020-07-17T23:33:00\.000Z after 2020-07-17T23:51:00\.000Z: .*grace \(10 min\)/,
    )
  })
})

/** A live pipe of NDJSON: what is written is read as it comes; the reader waits for more until `end`. */
function livePipe() {
  const queue: Buffer[] = []
  let wake: (() => void) | undefined
  let ended = false
  const state = { pulled: 0, closed: false }
  async function* bytes(): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        while (queue.length > 0) {
          state.pulled++
          yield queue.shift()!
        }
        if (ended) return
        await new Promise<void>((r) => {
          wake = r
        })
      }
    } finally {
      state.closed = true
    }
  }
  const poke = () => {
    wake?.()
    wake = undefined
  }
  return {
    input: { format: 'ndjson' as const, bytes: bytes(), live: true },
    state,
    write: (...headlines: string[]) => {
      queue.push(Buffer.from(headlines.map((headline) => `${JSON.stringify({ headline })}\n`).join('')))
      poke()
    },
    end: () => {
      ended = true
      poke()
    },
  }
}

describe('replayFile on a live pipe (a writer that keeps it open and writes slowly)', () => {
  /** Replays the pipe in the background: the batches sent so far, and the summary once it ends. */
  function replaying(pipe: ReturnType<typeof livePipe>, opts: Partial<ReplayFileOptions>) {
    const produced: OutRecord[][] = []
    const run = { summary: undefined as ReplaySummary | undefined }
    const done = replayFile(
      '/dev/stdin',
      { ratePerS: 'max', batch: 500, order: 'file', input: pipe.input, ...opts },
      async (records) => {
        produced.push(records)
      },
      'raw.topic',
    ).then((s) => {
      run.summary = s
      return s
    })
    const headlines = () =>
      produced.flat().map((r) => (JSON.parse(String(r.value)) as { headline: string }).headline)
    return { produced, headlines, run, done }
  }

  it('stops at --limit once its last row is read, sends it and reads no more, the writer still writing', async () => {
    // It stopped only when row N+1 came: a quiet feed held the replay, its rows unsent, indefinitely.
    const pipe = livePipe()
    const { headlines, run, done } = replaying(pipe, { limit: 2 })
    pipe.write('Steel tariffs rise')
    pipe.write('Ports reopen')
    await waitFor(() => run.summary, { timeoutMs: 2_000, what: 'the replay to stop at --limit' })
    expect(run.summary).toMatchObject({ produced: 2, skipped: 0 })
    expect(headlines()).toEqual(['Steel tariffs rise', 'Ports reopen'])
    // Its reading ended there: the pipe is closed, the row written after it never read.
    pipe.write('Chips rally')
    expect(pipe.state).toEqual({ pulled: 2, closed: true })
    await done
  })
  for (const ratePerS of ['max', 100] as const)
    it(`sends a row followed by a pause within the linger, not once a batch fills (--rate ${ratePerS})`, async () => {
      // --rate 100 sends batches of 5 (a twentieth of a second's rows): a row waited for 4 more as well.
      const pipe = livePipe()
      const { produced, headlines, run, done } = replaying(pipe, { ratePerS })
      pipe.write('Steel tariffs rise')
      await waitFor(() => headlines().length >= 1, { timeoutMs: 2_000, what: 'the first row' })
      pipe.write('Ports reopen', 'Chips rally')
      await waitFor(() => headlines().length >= 3, { timeoutMs: 2_000, what: 'two rows more' })
      pipe.end()
      await done
      expect(run.summary).toMatchObject({ produced: 3 })
      expect(headlines()).toEqual(['Steel tariffs rise', 'Ports reopen', 'Chips rally'])
      // Rows that come together go together.
      expect(produced.map((b) => b.length)).toEqual([1, 2])
    })
})

describe('replayFile: its duration', () => {
  afterEach(() => vi.restoreAllMocks())

  it('is measured on the monotonic clock: the host clock set back during the replay takes nothing off it', async () => {
    const file = join(dir, `stepped-${Math.random().toString(36).slice(2)}.ndjson`)
    writeFileSync(file, `${JSON.stringify({ id: 'a', headline: 'Steel tariffs rise' })}\n`)
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    const realNow = Date.now.bind(Date)
    const summary = await replayFile(
      file,
      { ratePerS: 'max', batch: 10 },
      async () => {
        // The host's clock steps back an hour while the batch is sent (NTP, a VM snapshot restored).
        vi.spyOn(Date, 'now').mockImplementation(() => realNow() - 3_600_000)
      },
      'raw.topic',
    )
    expect(summary.produced).toBe(1)
    // On Date.now it was about -3600 s.
    expect(summary.seconds).toBeGreaterThanOrEqual(0)
    expect(summary.seconds).toBeLessThan(3_600)
  })
})
