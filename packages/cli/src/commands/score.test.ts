import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { createScorer } from '@tradepulse/scoring'
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
    expect(counts).toEqual({ ok: 2, bad: 2 })
    expect(lines.map((l) => l.id)).toEqual(['a', null, 'c', 'd'])
    expect(lines[0].scores.tariff.label).toBe('negative')
    expect(lines[1].error).toMatch(/JSON/)
    expect(lines[2].error).toMatch(/headline/)
    expect(lines[3].scores.supplyChain.label).toBe('positive')
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
      input: '{"id":"x","headline":"EU lifts duties on US whiskey"}\nnope\n',
      stdio: ['pipe', 'pipe', 'pipe'],
    }).toString()
    const lines = stdout.trim().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines.map((l) => JSON.parse(l).id)).toEqual(['x', null])
  })
})
