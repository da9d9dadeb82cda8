import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { LIMITS, type ScoreResult } from '@tradepulse/contracts'
import { DEFAULT_INGEST_LIMITS } from '@tradepulse/ingest'
import { createScorer, type Scorer } from '@tradepulse/scoring'
import { waitFor } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { MAX_LINE_BYTES } from '../read-lines.ts'
import { formatScore, scoreNdjson, scoreOne } from './score.ts'

const MAIN = join(import.meta.dirname, '..', 'main.ts')

/** Scores NDJSON input in process: the counts and the output lines, parsed. */
const scored = (input: NodeJS.ReadableStream) => scoredWith(createScorer(), input)

async function scoredWith(scorer: Scorer, input: NodeJS.ReadableStream | string) {
  const out = new PassThrough()
  const chunks: string[] = []
  out.on('data', (d) => chunks.push(String(d)))
  const counts = await scoreNdjson(scorer, typeof input === 'string' ? Readable.from([input]) : input, out)
  const lines = chunks
    .join('')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l))
  return { counts, lines }
}

/** The real scorer, its result changed by `fault` for a headline that holds `marker` (a scorer bug, made to order). */
function faultyScorer(marker: string, fault: (r: ScoreResult) => unknown): Scorer {
  const real = createScorer()
  return {
    ...real,
    score: (input) => {
      const r = real.score(input)
      return (input.headline.includes(marker) ? fault(r) : r) as ScoreResult
    },
  }
}
const BREAKS = '(the scorer scoring-'

/** `tradepulse score ...` as a process with only the given environment, `input` written to its stdin. */
function run(args: string[], input: string | Buffer, env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'score', ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(input)
  })
}

describe('tradepulse score', { timeout: 30_000 }, () => {
  it('answers every NDJSON line in order; a bad line gets { id, error } in its place', async () => {
    const input = Readable.from(
      [
        '{"id":"a","headline":"US raises tariffs on steel"}',
        'garbage',
        '{"id":"c"}',
        '',
        '{"id":"d","headline":"China resumes rare earth exports","body":"Shipments restart."}',
        // A raw headline of a feed file: its other fields are ignored.
        '{"id":"e","source":"sample","publishedAt":"2026-03-02T09:45:00Z","headline":"US cuts tariffs on steel"}',
      ].join('\n'),
    )
    const out = new PassThrough()
    const chunks: string[] = []
    out.on('data', (d) => chunks.push(String(d)))
    const counts = await scoreNdjson(createScorer(), input, out)
    const lines = chunks
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(counts).toEqual({ ok: 3, bad: 2 })
    expect(lines.map((l) => l.id)).toEqual(['a', null, 'c', 'd', 'e'])
    expect(lines[0].scores.tariff.label).toBe('negative')
    expect(lines[1].error).toMatch(/JSON/)
    expect(lines[2].error).toMatch(/headline/)
    expect(lines[3].scores.supplyChain.label).toBe('positive')
    expect(lines[4].scores.tariff.label).toBe('positive')
  })
  it('keeps a line whose JSON strings hold raw U+2028 or U+2029 as one line, and splits CRLF lines once', async () => {
    // JSON.stringify leaves U+2028 and U+2029 unescaped: both are legal inside a JSON string.
    const g = JSON.stringify({ id: 'g', headline: 'US\u2028raises tariffs on steel' })
    const h = JSON.stringify({ id: 'h', headline: 'China resumes\u2029rare earth exports' })
    expect(g).toContain('\u2028')
    const input = Readable.from([`${g}\r\n${h}\n{"id":"z"}\r\n`, '{"id":"k","headline":"EU lifts duties"}'])
    const out = new PassThrough()
    const chunks: string[] = []
    out.on('data', (d) => chunks.push(String(d)))
    const counts = await scoreNdjson(createScorer(), input, out)
    const lines = chunks.join('').split('\n')
    expect(lines.pop()).toBe('')
    const results = lines.map((l) => JSON.parse(l))
    expect(counts).toEqual({ ok: 3, bad: 1 })
    expect(results.map((r) => r.id)).toEqual(['g', 'h', 'z', 'k'])
    expect(results[0].scores.tariff.label).toBe('negative')
    expect(results[1].scores.supplyChain.label).toBe('positive')
    expect(results[2]).toEqual({ id: 'z', line: 3, error: expect.stringMatching(/headline/) })
  })
  it('takes a UTF-8 byte-order mark at the start of the input (Windows tools write one), as ingest takes it on a record', async () => {
    const { counts, lines } = await scored(
      Readable.from([
        Buffer.from([0xef, 0xbb, 0xbf]),
        '{"id":"b1","headline":"US raises tariffs on steel"}\n{"id":"b2","headline":"EU lifts duties"}\n',
      ]),
    )
    expect(counts).toEqual({ ok: 2, bad: 0 })
    expect(lines.map((l) => [l.id, l.scores.tariff.label])).toEqual([
      ['b1', 'negative'],
      ['b2', 'positive'],
    ])
  })
  it('takes a byte-order mark at the start of any line (files joined with `cat`), as --follow and POST /headlines do', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf])
    const { counts, lines } = await scored(
      Readable.from([
        Buffer.from('{"id":"b1","headline":"US raises tariffs on steel"}\n'),
        bom,
        Buffer.from('{"id":"b2","headline":"EU lifts duties"}\r\n'),
        bom.subarray(0, 1),
        Buffer.concat([bom.subarray(1), Buffer.from('{"id":"b3","headline":"Ports reopen"}\n ')]),
        bom,
        Buffer.from('{"id":"b4","headline":"Copper falls"}\n'),
      ]),
    )
    expect(counts).toEqual({ ok: 3, bad: 1 })
    expect(lines.map((l) => l.id)).toEqual(['b1', 'b2', 'b3', null])
    // A mark after other text is no line's start: invalid JSON, named by its line.
    expect(lines[3]).toEqual({ id: null, line: 4, error: expect.stringMatching(/JSON/) })
  })
  it('reads CR line ends (old Mac style) as line ends, numbering the lines, where the input was one bad line', async () => {
    const { counts, lines } = await scored(
      Readable.from([
        '{"id":"m1","headline":"US raises tariffs on steel"}\r\r{"id":"m2"}\r',
        '{"id":"m3","headline":"EU lifts duties"}\r',
        '\n{"id":"m4","headline":"Ports reopen"}',
      ]),
    )
    expect(counts).toEqual({ ok: 3, bad: 1 })
    expect(lines.map((l) => l.id)).toEqual(['m1', 'm2', 'm3', 'm4'])
    expect(lines[1]).toEqual({ id: 'm2', line: 3, error: expect.stringMatching(/headline/) })
  })
  it('refuses a blank headline as ingest does (empty_headline)', async () => {
    const input = Readable.from(['{"id":"w","headline":"   "}\n{"id":"v","headline":"\\u200b\\t"}\n'])
    const { counts, lines } = await scored(input)
    expect(counts).toEqual({ ok: 0, bad: 2 })
    expect(lines).toEqual([
      { id: 'w', line: 1, error: 'headline has no letter or digit after normalisation (empty_headline)' },
      { id: 'v', line: 2, error: 'headline has no letter or digit after normalisation (empty_headline)' },
    ])
  })
  it('scores the text ingest would pass on, and refuses what ingest would send to the dlq, with its reason', async () => {
    const { counts, lines } = await scored(
      Readable.from([
        [
          // A soft hyphen inside a word: ingest removes it, so the scorer sees "tariffs".
          '{"id":"s","headline":"US raises tar\\u00adiffs on steel"}',
          // Nothing readable once normalised: a braille blank, dashes, bidi isolates.
          '{"id":"b","headline":"\\u2800"}',
          '{"id":"d","headline":"---"}',
          '{"id":"e","headline":"\\u2066\\u2069"}',
          '{"id":"p\\u0001","headline":"US raises tariffs"}',
          '{"id":"q","headline":"US \\ud800 tariffs"}',
          // Cut to ingest's 1,000 characters, and flagged.
          JSON.stringify({ id: 'long', headline: `US raises tariffs on steel ${'and more '.repeat(200)}` }),
        ].join('\n'),
      ]),
    )
    expect(counts).toEqual({ ok: 2, bad: 5 })
    expect(lines[0]).toMatchObject({ id: 's', scores: { tariff: { label: 'negative' } }, truncated: false })
    expect(lines.slice(1, 6)).toEqual([
      { id: 'b', line: 2, error: 'headline has no letter or digit after normalisation (empty_headline)' },
      { id: 'd', line: 3, error: 'headline has no letter or digit after normalisation (empty_headline)' },
      { id: 'e', line: 4, error: 'headline has no letter or digit after normalisation (empty_headline)' },
      {
        id: 'p\u0001',
        line: 5,
        error: expect.stringMatching(/^id: holds a control character.*\(schema_invalid\)$/),
      },
      { id: 'q', line: 6, error: 'headline contains a lone surrogate (invalid_text)' },
    ])
    expect(lines[6]).toMatchObject({ id: 'long', scores: { tariff: { label: 'negative' } }, truncated: true })
  })
  it('refuses a line naming any key twice, at any depth, as ingest does (schema_invalid), where it scored the last', async () => {
    const { counts, lines } = await scored(
      Readable.from([
        [
          '{"id":"h","headline":"Tariffs lifted","headline":"US raises tariffs on steel"}',
          '{"id":"b","headline":"US raises tariffs","body":"a","\u0062ody":"b"}',
          '{"id":"x","id":"y","headline":"US raises tariffs"}',
          // A field ingest ignores, given twice, and a key given twice inside one: ingest refuses the
          // record all the same, where score took both lines and scored them.
          '{"id":"e","headline":"US raises tariffs","extra":1,"extra":2}',
          '{"id":"m","headline":"US raises tariffs","meta":{"headline":"a","headline":"b"}}',
          '{"id":"ok","headline":"US raises tariffs","meta":{"headline":"a"}}',
        ].join('\n'),
      ]),
    )
    const twice = (key: string) =>
      `${key}: key given more than once in one object (JSON.parse would keep the last silently) (schema_invalid)`
    expect(counts).toEqual({ ok: 1, bad: 5 })
    expect(lines.slice(0, 5)).toEqual([
      { id: 'h', line: 1, error: twice('headline') },
      { id: 'b', line: 2, error: twice('body') },
      // Which of two ids the line meant no one can tell: none is named, as on ingest's dead letter.
      { id: null, line: 3, error: twice('id') },
      { id: 'e', line: 4, error: twice('extra') },
      { id: 'm', line: 5, error: twice('meta.headline') },
    ])
    expect(lines[5]).toMatchObject({ id: 'ok', scores: { tariff: { label: 'negative' } } })
  })

  it("holds the line as given to ingest's record limit, not its fields written anew", async () => {
    // The limit was checked on the taken fields re-serialised: a line past it by a field ingest ignores,
    // by white space or by escapes (\u0041 is six bytes for one) was scored, where ingest refuses the
    // record as too_large.
    const limit = 200
    const base = '{"id":"n","headline":"US raises tariffs on steel"}'
    const padded = (n: number) => `${base.slice(0, -1)}${' '.repeat(n - base.length)}}`
    const input = [
      padded(limit),
      padded(limit + 1),
      `{"id":"f","headline":"US raises tariffs on steel","note":"${'x'.repeat(limit)}"}`,
      `{"id":"u","headline":"US raises tariffs on steel${'\\u0020'.repeat(30)}"}`,
    ]
    const out = new PassThrough()
    const chunks: string[] = []
    out.on('data', (d) => chunks.push(String(d)))
    const counts = await scoreNdjson(createScorer(), Readable.from([input.join('\n')]), out, {
      ...DEFAULT_INGEST_LIMITS,
      maxRecordBytes: limit,
    })
    const lines = chunks
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const tooLarge = (line: number) => ({
      id: line === 3 ? 'f' : line === 4 ? 'u' : 'n',
      line,
      error: `record is ${Buffer.byteLength(input[line - 1]!)} bytes; the limit is ${limit} (too_large)`,
    })
    expect(counts).toEqual({ ok: 1, bad: 3 })
    expect(lines[0]).toMatchObject({ id: 'n', scores: { tariff: { label: 'negative' } } })
    expect(lines.slice(1)).toEqual([tooLarge(2), tooLarge(3), tooLarge(4)])
  })
  it('checks source, url and publishedAt as ingest does, where it ignored them and scored a line ingest refuses', async () => {
    const { counts, lines } = await scored(
      Readable.from([
        [
          '{"id":"ok","source":"wire","headline":"US raises tariffs on steel","url":"https://news.example/1","publishedAt":"2026-03-02T09:45:00Z"}',
          '{"id":"t","headline":"US raises tariffs on steel","publishedAt":"yesterday"}',
          '{"id":"u","headline":"US raises tariffs on steel","url":42}',
          JSON.stringify({
            id: 'l',
            headline: 'US raises tariffs on steel',
            url: `https://news.example/${'a'.repeat(LIMITS.maxUrlChars)}`,
          }),
          '{"id":"s","headline":"US raises tariffs on steel","source":""}',
          '{"id":"g","headline":"US raises tariffs on steel","source":"wire\\ud800"}',
          '{"id":"p","headline":"US raises tariffs on steel","publishedAt":"2026-03-02","publishedAt":"2026-03-03T00:00:00Z"}',
          // A source that shows nothing is none (the default source), as ingest takes it: scored.
          '{"id":"b","source":" ","headline":"US raises tariffs on steel"}',
        ].join('\n'),
      ]),
    )
    expect(counts).toEqual({ ok: 4, bad: 4 })
    expect(lines.map((l) => l.id)).toEqual(['ok', 't', 'u', 'l', 's', 'g', 'p', 'b'])
    expect(lines[0]).toMatchObject({ scores: { tariff: { label: 'negative' } } })
    // A url past its limit is dropped by ingest, the headline published without it: scored, as ingest
    // takes it (it was refused as schema_invalid, the headline lost).
    expect(lines[3]).toMatchObject({ id: 'l', scores: { tariff: { label: 'negative' } } })
    // A lone surrogate in the source is replaced by U+FFFD, the headline published: scored, as ingest takes
    // it (it was refused as invalid_text, the headline lost).
    expect(lines[5]).toMatchObject({ id: 'g', scores: { tariff: { label: 'negative' } } })
    expect([...lines.slice(1, 3), lines[4], lines[6]]).toEqual([
      { id: 't', line: 2, error: expect.stringMatching(/^publishedAt: .*\(schema_invalid\)$/) },
      { id: 'u', line: 3, error: expect.stringMatching(/^url: .*\(schema_invalid\)$/) },
      { id: 's', line: 5, error: expect.stringMatching(/^source: .*\(schema_invalid\)$/) },
      {
        id: 'p',
        line: 7,
        error:
          'publishedAt: key given more than once in one object (JSON.parse would keep the last silently) (schema_invalid)',
      },
    ])
    expect(lines[7]).toMatchObject({ id: 'b', scores: { tariff: { label: 'negative' } } })
  })
  it('takes null in an optional field as the field absent, as ingest does, where it refused a null body', async () => {
    // Jackson's default, Go's nil pointers and Python's None write null for a field not set: ingest scores
    // such a headline as one without the field (RawHeadline), and score --ndjson answered it with an error.
    const { counts, lines } = await scored(
      Readable.from([
        [
          '{"id":"a","headline":"US raises tariffs on steel","body":null}',
          '{"id":"b","headline":"US raises tariffs on steel"}',
          '{"id":"c","headline":"US raises tariffs on steel","body":null,"source":null,"url":null,"publishedAt":null}',
          // A null headline is still none, as on ingest's dead letter.
          '{"id":"d","headline":null}',
        ].join('\n'),
      ]),
    )
    expect(counts).toEqual({ ok: 3, bad: 1 })
    const { id: _a, ...a } = lines[0]
    const { id: _b, ...b } = lines[1]
    const { id: _c, ...c } = lines[2]
    expect(a).toMatchObject({ scores: { tariff: { label: 'negative' } } })
    expect(a).toEqual(b)
    expect(c).toEqual(b)
    expect(lines[3]).toEqual({ id: 'd', line: 4, error: expect.stringMatching(/^headline: /) })
  })
  it('answers a line that is not valid UTF-8 with an error line naming it, and goes on', async () => {
    const { counts, lines } = await scored(
      Readable.from([
        Buffer.from('{"id":"a","headline":"US raises tariffs on '),
        Buffer.from([0xff, 0xfe]),
        Buffer.from(' steel"}\n{"id":"b","headline":"EU lifts duties on US whiskey"}\n'),
      ]),
    )
    expect(counts).toEqual({ ok: 1, bad: 1 })
    expect(lines[0]).toEqual({ id: null, line: 1, error: 'line is not valid UTF-8' })
    expect(lines[1]).toMatchObject({ id: 'b', scores: { tariff: { label: 'positive' } } })
  })
  it('answers a line of 600 MB with an error line in its place, in bounded memory, and the lines after it', async () => {
    const CHUNKS = 9_155 // of 64 KiB: 600 MB
    const input = Readable.from(
      (async function* () {
        yield Buffer.from('{"id":"a","headline":"US raises tariffs"}\n{"id":"big","headline":"')
        for (let i = 0; i < CHUNKS; i++) yield Buffer.alloc(65_536, 'a')
        yield Buffer.from('"}\n{"id":"c","headline":"EU lifts duties"}\n')
      })(),
    )
    const { counts, lines } = await scored(input)
    expect(counts).toEqual({ ok: 2, bad: 1 })
    expect(lines.map((l) => l.id)).toEqual(['a', null, 'c'])
    const size = 24 + CHUNKS * 65_536 + 2
    expect(lines[1]).toEqual({ id: null, line: 2, error: `line is ${size} bytes; limit ${MAX_LINE_BYTES}` })
    expect(lines[2].scores.tariff.label).toBe('positive')
  })
  it('writes each answer before the next line arrives', async () => {
    const input = new PassThrough()
    const out = new PassThrough()
    const chunks: string[] = []
    out.on('data', (d) => chunks.push(String(d)))
    const done = scoreNdjson(createScorer(), input, out)
    input.write('{"id":"a","headline":"US raises tariffs on steel"}\n{"id":"b","head')
    const first = await waitFor(() => chunks.join('') || undefined, { what: 'the first answer' })
    expect(JSON.parse(first).id).toBe('a')
    input.end('line":"EU lifts duties"}\n')
    expect(await done).toEqual({ ok: 2, bad: 0 })
    expect(
      chunks
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual(['a', 'b'])
  })
  it('prints scores and cues readably', () => {
    const text = 'China halts exports of rare earths'
    const out = formatScore(text, createScorer().score({ headline: text }))
    expect(out).toMatch(/supplyChain\s+-0\.\d\d\s+negative/)
    expect(out).toMatch(/cues:\n\s+\w+/)
    expect(out).toMatch(/scorer scoring-/)
  })
  it('as a process, writes nothing but NDJSON to stdout; a bad line makes the exit code 65, after the rest', async () => {
    const r = await run(
      ['--ndjson'],
      `{"id":"x","headline":"EU lifts duties on US whiskey"}\nnope\n${JSON.stringify({ id: 'y', headline: 'US\u2028raises tariffs' })}\n`,
    )
    const lines = r.stdout.trim().split('\n')
    expect(lines).toHaveLength(3)
    expect(lines.map((l) => JSON.parse(l).id)).toEqual(['x', null, 'y'])
    expect(r.stderr).toBe('score: 1 bad line(s), 2 scored\n')
    expect(r.code).toBe(65)
    const good = await run(['--ndjson'], '{"id":"x","headline":"EU lifts duties on US whiskey"}\n\n')
    expect([good.code, good.stderr, good.stdout.trim().split('\n').length]).toEqual([0, '', 1])
  })
  it('--ndjson refuses a headline or --body given as well in one line (exit 78), where it dropped them unseen', async () => {
    const input = '{"id":"x","headline":"EU lifts duties on US whiskey"}\n'
    const words = await run(['--ndjson', 'US raises tariffs on steel'], input)
    expect([words.code, words.stdout]).toEqual([78, ''])
    expect(words.stderr).toBe(
      'tradepulse: score: --ndjson reads the headlines from stdin: give no headline as well (see tradepulse score --help)\n',
    )
    const body = await run(['--ndjson', '--body', 'Duties rise'], input)
    expect([body.code, body.stdout]).toEqual([78, ''])
    expect(body.stderr).toBe(
      'tradepulse: score: --body is for one headline given as an argument: with --ndjson give each line a "body" (see tradepulse score --help)\n',
    )
  })
  it('without a headline or --ndjson refuses in one line as every usage error (exit 78), where it exited 2', async () => {
    for (const args of [[], [' '], ['--body', 'Duties rise'], ['--json']]) {
      const r = await run(args, '')
      expect([r.code, r.stdout], args.join(' ')).toEqual([78, ''])
      expect(r.stderr).toBe(
        'tradepulse: score: give a headline, e.g. tradepulse score "US raises tariffs on steel", or use --ndjson (see tradepulse score --help)\n',
      )
    }
  })
  it('--ndjson: scores a CR-ended input joined to a file with a byte-order mark line by line', async () => {
    const r = await run(
      ['--ndjson'],
      Buffer.concat([
        Buffer.from('{"id":"a","headline":"US raises tariffs on steel"}\rnope\r'),
        Buffer.from([0xef, 0xbb, 0xbf]),
        Buffer.from('{"id":"b","headline":"EU lifts duties"}\r'),
      ]),
    )
    expect([r.code, r.stderr]).toEqual([65, 'score: 1 bad line(s), 2 scored\n'])
    const out = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(out.map((l) => [l.id, l.line ?? l.scores.tariff.label])).toEqual([
      ['a', 'negative'],
      [null, 2],
      ['b', 'positive'],
    ])
  })
  it('takes a blank SCORER_WATCHLIST_FILE as unset, as the workers do', async () => {
    for (const blank of ['', '  ']) {
      const r = await run(['--ndjson'], '{"id":"x","headline":"EU lifts duties"}\n', {
        SCORER_WATCHLIST_FILE: blank,
      })
      expect([r.code, r.stderr], JSON.stringify(blank)).toEqual([0, ''])
      expect(JSON.parse(r.stdout).id).toBe('x')
    }
    const missing = await run(['US raises tariffs'], '', {
      SCORER_WATCHLIST_FILE: '/nonexistent/watchlist.json',
    })
    expect(missing.code).toBe(78)
    expect(missing.stderr).toMatch(/SCORER_WATCHLIST_FILE .*nonexistent.*ENOENT/)
  })
  it('scores one headline as ingest normalises it, and refuses one ingest would refuse (exit 65)', async () => {
    const r = await run(['US raises tar\u00adiffs on steel'], '')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^US raises tariffs on steel\n\s+tariff\s+-0\.\d\d\s+negative/)
    const none = await run(['\u2800'], '')
    expect([none.code, none.stdout]).toEqual([65, ''])
    expect(none.stderr).toBe(
      'score: ingest would refuse this headline: headline has no letter or digit after normalisation (empty_headline)\n',
    )
  })
})

describe('tradepulse score, on a result that breaks the ScoredHeadline contract', () => {
  const nan = faultyScorer('steel', (r) => ({
    ...r,
    scores: { ...r.scores, tariff: { ...r.scores.tariff, score: Number.NaN } },
  }))

  it('--ndjson: answers its line with { id, line, error } naming the field and the scorer, and goes on', async () => {
    const out = new PassThrough()
    const chunks: string[] = []
    out.on('data', (d) => chunks.push(String(d)))
    const input = Readable.from([
      '{"id":"a","headline":"EU lifts duties on US whiskey"}\n{"id":"b","headline":"US raises tariffs on steel"}\n',
      '{"id":"c","headline":"China resumes rare earth exports"}\n',
    ])
    const counts = await scoreNdjson(nan, input, out)
    const lines = chunks
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(counts).toEqual({ ok: 2, bad: 1 })
    expect(lines.map((l) => l.id)).toEqual(['a', 'b', 'c'])
    expect(lines[1]).toEqual({
      id: 'b',
      line: 2,
      error: `scores.tariff.score: Invalid input: expected number, received NaN (the scorer ${createScorer().score({ headline: 'x' }).scorerVersion} gave a result that breaks the ScoredHeadline contract)`,
    })
    expect(lines[0].scores.tariff.label).toBe('positive')
    expect(lines[2].scores.supplyChain.label).toBe('positive')
  })

  it.each([
    [
      'a span past the end of the headline',
      (r: ScoreResult) => ({
        ...r,
        explanation: [{ ...r.explanation[0]!, span: { field: 'headline', start: 0, end: 500 } }],
      }),
      /^explanation\.0\.span\.end: 500 is past the end of the headline \(26 characters\) /,
    ],
    [
      'a span into a body the headline has not',
      (r: ScoreResult) => ({
        ...r,
        events: [{ ...r.events[0]!, span: { field: 'body', start: 0, end: 1 } }],
      }),
      /^events\.0\.span\.field: body, and the headline has none /,
    ],
    [
      'a label not in its enum',
      (r: ScoreResult) => ({
        ...r,
        scores: { ...r.scores, market: { ...r.scores.market, label: 'bearish' } },
      }),
      /^scores\.market\.label: Invalid option: expected one of "negative"\|"neutral"\|"positive" /,
    ],
    [
      'a score out of range',
      (r: ScoreResult) => ({ ...r, scores: { ...r.scores, uncertainty: 1.5 } }),
      /^scores\.uncertainty: Too big: expected number to be <=1 /,
    ],
    [
      'a field the contract does not have',
      (r: ScoreResult) => ({ ...r, sentimentV2: 0 }),
      /^\(root\): Unrecognized key: "sentimentV2" /,
    ],
    [
      'a field missing',
      ({ entities: _, ...r }: ScoreResult) => r,
      /^entities: Invalid input: expected object, received undefined /,
    ],
  ])('--ndjson: names %s', async (_, fault, error) => {
    const { lines } = await scoredWith(
      faultyScorer('steel', fault),
      '{"id":"s","headline":"US raises tariffs on steel"}\n',
    )
    expect(lines).toEqual([{ id: 's', line: 1, error: expect.stringMatching(error) }])
    expect(lines[0].error).toContain(BREAKS)
  })

  it('"headline": prints no scores, and one error line naming the field; the exit code is 70 (a scorer bug)', () => {
    const r = scoreOne(nan, { words: ['US', 'raises', 'tariffs', 'on', 'steel'] })
    expect(r.code).toBe(70)
    expect(r.text).toMatch(
      /^score: no scores shown: scores\.tariff\.score: Invalid input: expected number, received NaN \(the scorer scoring-\S+ gave a result that breaks the ScoredHeadline contract\)\n$/,
    )
    expect(scoreOne(nan, { words: ['US raises tariffs on steel'], json: true }).code).toBe(70)
  })

  it('"headline": the same scorer still prints a headline it gives a sound result for, and --json', () => {
    const r = scoreOne(nan, { words: ['EU lifts duties on US whiskey'] })
    expect(r.code).toBe(0)
    expect(r.text).toMatch(/^EU lifts duties on US whiskey\n\s+tariff\s+ 0\.\d\d\s+positive/)
    const json = scoreOne(nan, { words: ['EU lifts duties'], body: 'Shipments restart.', json: true })
    expect(json.code).toBe(0)
    expect(Object.keys(JSON.parse(json.text))).toEqual([
      'scores',
      'events',
      'entities',
      'explanation',
      'scorerVersion',
      'truncated',
    ])
  })

  it('"headline": keeps its answers to no headline (a usage error, thrown: exit 78) and one ingest refuses (65)', () => {
    // No headline was exit 2, a code of its own; every other usage error is 78 (README: a bad flag, file or
    // variable exits 78 with one line naming it).
    expect(() => scoreOne(nan, { words: [' '] })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(/^score: give a headline/),
      }),
    )
    expect(scoreOne(nan, { words: ['\u2800'] })).toEqual({
      code: 65,
      text: 'score: ingest would refuse this headline: headline has no letter or digit after normalisation (empty_headline)\n',
    })
  })
})
