import type { ScoredHeadline, ScoreResult } from '@tradepulse/contracts'
import { formatIssues } from '@tradepulse/platform'
import { scorerFromConfig } from '@tradepulse/scorer'
import { SCORER_VERSION, type Scorer } from '@tradepulse/scoring'
import type { Command } from 'commander'
import { z } from 'zod'
import { readLines } from '../read-lines.ts'

// Other fields (a raw headline's source, publishedAt…) are ignored, so a feed file can be scored as is.
// A blank headline is refused, as `score "   "` refuses it and ingest dead-letters it (empty_headline):
// scored, it would read as all zeros, a confident "not relevant" about nothing.
const NdjsonInput = z.object({
  id: z.string().min(1).max(200),
  headline: z
    .string()
    .max(100_000)
    .refine((h) => !/^[\s\u200B-\u200D\u2060\uFEFF]*$/.test(h), 'empty or only white space'),
  body: z.string().max(1_000_000).optional(),
})

const fmt = (n: number) => (n >= 0 ? ' ' : '') + n.toFixed(2)

/** Scores and explanation, readable by a person. */
export function formatScore(headline: string, r: ScoreResult | ScoredHeadline): string {
  const s = r.scores
  const dim = (name: string, d: typeof s.tariff) =>
    `  ${name.padEnd(12)} ${fmt(d.score)}  ${(d.label ?? 'not relevant').padEnd(12)} relevance ${d.relevance.toFixed(2)}  confidence ${d.confidence.toFixed(2)}`
  const lines = [
    headline,
    dim('tariff', s.tariff),
    dim('supplyChain', s.supplyChain),
    `  ${'market'.padEnd(12)} ${fmt(s.market.score)}  ${s.market.label}`,
    `  ${'uncertainty'.padEnd(12)} ${fmt(s.uncertainty)}`,
  ]
  if (r.events.length) {
    lines.push(
      `  events: ${r.events
        .map(
          (e) =>
            `${e.type}${e.threat ? ' (threat)' : ''}${e.negated ? ' (negated)' : ''} ${e.direction > 0 ? '+' : e.direction < 0 ? '-' : '0'}`,
        )
        .join(', ')}`,
    )
  }
  const ents = Object.entries(r.entities).filter(([, v]) => v.length)
  if (ents.length) lines.push(`  entities: ${ents.map(([k, v]) => `${k} ${v.join(' ')}`).join('; ')}`)
  if (r.explanation.length) {
    lines.push('  cues:')
    for (const c of r.explanation) {
      lines.push(
        `    ${c.dimension.padEnd(12)} ${fmt(c.weight)}  "${c.cue}"  ${c.span.field}[${c.span.start},${c.span.end})`,
      )
    }
  }
  if (r.truncated) lines.push('  (text was cut to the length limit before scoring)')
  lines.push(`  scorer ${r.scorerVersion}`)
  return lines.join('\n')
}

/**
 * NDJSON in, NDJSON out, one line per line, in order; a bad line gets `{ id, error }` in its place. Blank
 * lines are skipped (a trailing newline or a spacer is not an input).
 */
export async function scoreNdjson(
  scorer: Scorer,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
): Promise<{ ok: number; bad: number }> {
  const counts = { ok: 0, bad: 0 }
  let lineNo = 0
  for await (const line of readLines(input)) {
    lineNo++
    if (line.trim() === '') continue
    let result: unknown
    let id: unknown = null
    try {
      const json = JSON.parse(line) as unknown
      if (json && typeof json === 'object' && 'id' in json) id = (json as { id: unknown }).id
      const parsed = NdjsonInput.safeParse(json)
      if (!parsed.success) {
        throw new Error(formatIssues(parsed.error))
      }
      const { id: pid, headline, body } = parsed.data
      result = { id: pid, ...scorer.score(body === undefined ? { headline } : { headline, body }) }
      counts.ok++
    } catch (err) {
      result = { id: typeof id === 'string' ? id : null, line: lineNo, error: (err as Error).message }
      counts.bad++
    }
    if (!output.write(`${JSON.stringify(result)}\n`)) await new Promise((r) => output.once('drain', r))
  }
  return counts
}

export function registerScore(program: Command): void {
  program
    .command('score')
    .description('score a headline (or NDJSON lines on stdin with --ndjson) and explain the scores')
    .argument('[headline...]', 'the headline text')
    .option('--body <text>', 'body text scored together with the headline')
    .option(
      '--ndjson',
      'read {"id","headline","body"?} lines on stdin (other fields ignored), write one scored line per input line, in order (blank lines are skipped; a bad line gets {"id","error"})',
    )
    .option('--json', 'print the full result as JSON')
    .action(async (words: string[], opts: { body?: string; ndjson?: boolean; json?: boolean }) => {
      const scorer = scorerFromConfig({ SCORER_WATCHLIST_FILE: process.env.SCORER_WATCHLIST_FILE })
      if (opts.ndjson) {
        const counts = await scoreNdjson(scorer, process.stdin, process.stdout)
        if (counts.bad) process.stderr.write(`score: ${counts.bad} bad line(s), ${counts.ok} scored\n`)
        return
      }
      const headline = words.join(' ').trim()
      if (!headline) {
        process.stderr.write(
          'score: give a headline, e.g. tradepulse score "US raises tariffs on steel", or use --ndjson\n',
        )
        process.exitCode = 2
        return
      }
      const r = scorer.score(opts.body === undefined ? { headline } : { headline, body: opts.body })
      process.stdout.write(opts.json ? `${JSON.stringify(r, null, 2)}\n` : `${formatScore(headline, r)}\n`)
    })
}

export { SCORER_VERSION }
