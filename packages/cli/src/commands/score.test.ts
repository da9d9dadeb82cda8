import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { createScorer } from '@tradepulse/scoring'
import { waitFor } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { formatScore, scoreNdjson } from './score.ts'

const MAIN = join(import.meta.dirname, '..', 'main.ts')

describe('tradepulse score', () => {
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
  it('refuses a blank headline, naming headline, as `score "   "` and ingest do', async () => {
    const input = Readable.from(['{"id":"w","headline":"   "}\n{"id":"v","headline":"\\u200b\\t"}\n'])
    const out = new PassThrough()
    const chunks: string[] = []
    out.on('data', (d) => chunks.push(String(d)))
    expect(await scoreNdjson(createScorer(), input, out)).toEqual({ ok: 0, bad: 2 })
    expect(
      chunks
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { id: 'w', line: 1, error: 'headline: empty or only white space' },
      { id: 'v', line: 2, error: 'headline: empty or only white space' },
    ])
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
  it('as a process, writes nothing but NDJSON to stdout', () => {
    const stdout = execFileSync(process.execPath, [MAIN, 'score', '--ndjson'], {
      input: `{"id":"x","headline":"EU lifts duties on US whiskey"}\nnope\n${JSON.stringify({ id: 'y', headline: 'US\u2028raises tariffs' })}\n`,
      stdio: ['pipe', 'pipe', 'pipe'],
    }).toString()
    const lines = stdout.trim().split('\n')
    expect(lines).toHaveLength(3)
    expect(lines.map((l) => JSON.parse(l).id)).toEqual(['x', null, 'y'])
  })
})
