import {
  type Headline,
  type RawHeadline,
  type ScoredHeadline,
  type ScoreResult,
  scoredHeadlineProblem,
} from '@tradepulse/contracts'
import {
  DEFAULT_INGEST_LIMITS,
  type IngestLimits,
  ingestConfigShape,
  parseRawRecord,
} from '@tradepulse/ingest'
import { duplicateKeyPath, formatIssues, loadConfig, TradepulseError } from '@tradepulse/platform'
import { scoreHeadline, scorerConfigShape, scorerFromConfig } from '@tradepulse/scorer'
import { SCORER_VERSION, type Scorer } from '@tradepulse/scoring'
import type { Command } from 'commander'
import { z } from 'zod'
import { EXIT_DATA_ERROR, EXIT_SOFTWARE } from '../exit-codes.ts'
import { readLines } from '../read-lines.ts'

// Each line is read as ingest reads a headlines.raw record, its own bytes through ingest's parse
// (parseRawRecord): the record limit on the line as given, a key named twice at any depth refused (JSON.parse
// would keep the last silently), the raw contract on id, source, headline, body, url and publishedAt, other
// fields ignored as ingest drops them (a feed file can be scored as is), null absent in every optional field.
// Built anew from the fields, a line was held to the limit by its re-serialised fields and an unknown
// field given twice went unseen, where ingest refuses both. The id stays required here: it is what names
// each output line.
const NdjsonInput = z.object({
  id: z.string(),
})

/**
 * The variables score reads, as the workers read them (loadConfig: a blank one counts as unset): the
 * scorer's watchlist, and ingest's record limit, which it checks each headline against.
 */
const ScoreConfig = z.object({
  SCORER_WATCHLIST_FILE: scorerConfigShape.SCORER_WATCHLIST_FILE,
  INGEST_MAX_RECORD_BYTES: ingestConfigShape.INGEST_MAX_RECORD_BYTES,
})

/**
 * A headline as the pipeline would score it: the record (a raw headline's fields) through ingest's own
 * parse (parseRawRecord: its limits, normalisation, cut to length, and checks of readable text and
 * ids), or why ingest would send it to the dlq (its message and reason code). Scored raw, a soft hyphen
 * inside "tar\u00adiffs" hid the tariff, and "---" or a braille blank scored as a confident "not
 * relevant" about nothing, where ingest refuses both (empty_headline).
 */
export function asIngested(
  input: { headline: string } & Partial<Record<keyof RawHeadline, unknown>>,
  limits: IngestLimits = DEFAULT_INGEST_LIMITS,
): { ok: true; headline: Headline } | { ok: false; error: string } {
  const r = parseRawRecord(Buffer.from(JSON.stringify(input)), Date.now(), limits, 'score')
  return r.ok ? { ok: true, headline: r.headline } : { ok: false, error: `${r.message} (${r.reason})` }
}

/**
 * Scores of a headline ingest has taken, as the scorer worker would write them (scoreHeadline: `truncated`
 * when ingest or the scorer cut text) and held to the same check (scoredHeadlineProblem), or why they are
 * not shown: a result that breaks the ScoredHeadline contract (a NaN, a score out of range, a span past
 * the text), where the worker dead-letters the headline as `output_invalid`. Printed, such a result would
 * read as a score.
 */
function scoreIngested(
  scorer: Scorer,
  h: Headline,
): { ok: true; result: ScoreResult } | { ok: false; error: string } {
  const scored = scoreHeadline(scorer, h, new Date())
  const problem = scoredHeadlineProblem(scored)
  if (problem) {
    // A broken result may have any scorerVersion, or none: only a string, cut short, is named.
    const version = typeof scored.scorerVersion === 'string' ? ` ${scored.scorerVersion.slice(0, 100)}` : ''
    return {
      ok: false,
      error: `${problem} (the scorer${version} gave a result that breaks the ScoredHeadline contract)`,
    }
  }
  const { scores, events, entities, explanation, scorerVersion, truncated } = scored
  return { ok: true, result: { scores, events, entities, explanation, scorerVersion, truncated } }
}

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
 * NDJSON in, NDJSON out, one line per line, in order; a bad line gets `{ id, line, error }` in its place
 * (a line that is not valid UTF-8, or longer than MAX_LINE_BYTES, among them: the input goes on after
 * it). Blank lines are skipped (a trailing newline or a spacer is not an input). Each headline is
 * scored as the pipeline would score it, or refused as ingest would refuse a record of the line's own
 * bytes (parseRawRecord, `limits.maxRecordBytes` on the line as given); a result the
 * scorer worker would dead-letter as `output_invalid` is answered as a bad line too (scoreIngested).
 */
export async function scoreNdjson(
  scorer: Scorer,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  limits: IngestLimits = DEFAULT_INGEST_LIMITS,
): Promise<{ ok: number; bad: number }> {
  const counts = { ok: 0, bad: 0 }
  for await (const l of readLines(input)) {
    if ('text' in l && l.text.trim() === '') continue
    let result: unknown
    let id: unknown = null
    try {
      if (!('text' in l)) throw new Error(l.error)
      let json: unknown
      try {
        json = JSON.parse(l.text)
      } catch {}
      const r = parseRawRecord(Buffer.from(l.text), Date.now(), limits, 'score')
      // Which of two ids the line meant no one can tell: none names the answer, as on ingest's dead letter.
      if (
        json &&
        typeof json === 'object' &&
        'id' in json &&
        (r.ok || duplicateKeyPath(l.text)?.join('.') !== 'id')
      )
        id = (json as { id: unknown }).id
      if (!r.ok) throw new Error(`${r.message} (${r.reason})`)
      const parsed = NdjsonInput.safeParse(json)
      if (!parsed.success) throw new Error(formatIssues(parsed.error))
      const scored = scoreIngested(scorer, r.headline)
      if (!scored.ok) throw new Error(scored.error)
      result = { id: parsed.data.id, ...scored.result }
      counts.ok++
    } catch (err) {
      result = { id: typeof id === 'string' ? id : null, line: l.line, error: (err as Error).message }
      counts.bad++
    }
    if (!output.write(`${JSON.stringify(result)}\n`)) await new Promise((r) => output.once('drain', r))
  }
  return counts
}

const usage = (message: string) =>
  new TradepulseError('CONFIG_INVALID', `score: ${message} (see tradepulse score --help)`)

/**
 * `tradepulse score "headline"`: the exit code and what to print, the scores on stdout (code 0) or one
 * error line on stderr: one ingest would refuse (EXIT_DATA_ERROR), or a result that breaks the contract
 * (EXIT_SOFTWARE: a scorer bug, not the input's fault). No headline (none given, or only white space) is
 * a usage error, thrown.
 */
export function scoreOne(
  scorer: Scorer,
  args: { words: string[]; body?: string | undefined; json?: boolean | undefined },
  limits: IngestLimits = DEFAULT_INGEST_LIMITS,
): { code: number; text: string } {
  const headline = args.words.join(' ').trim()
  // Neither a headline nor --ndjson: a usage error as every other (one line, exit 78), where it exited 2
  // on a line of its own.
  if (!headline)
    throw usage('give a headline, e.g. tradepulse score "US raises tariffs on steel", or use --ndjson')
  const checked = asIngested(args.body === undefined ? { headline } : { headline, body: args.body }, limits)
  if (!checked.ok)
    return { code: EXIT_DATA_ERROR, text: `score: ingest would refuse this headline: ${checked.error}\n` }
  const r = scoreIngested(scorer, checked.headline)
  if (!r.ok) return { code: EXIT_SOFTWARE, text: `score: no scores shown: ${r.error}\n` }
  return {
    code: 0,
    text: args.json
      ? `${JSON.stringify(r.result, null, 2)}\n`
      : `${formatScore(checked.headline.headline, r.result)}\n`,
  }
}

export function registerScore(program: Command): void {
  program
    .command('score')
    .description('score a headline (or NDJSON lines on stdin with --ndjson) and explain the scores')
    .argument('[headline...]', 'the headline text')
    .option(
      '--body <text>',
      'body text scored together with the headline (with --ndjson: each line\'s "body")',
    )
    .option(
      '--ndjson',
      `read {"id","headline","body"?} lines on stdin (source, url and publishedAt checked as ingest checks them, other fields ignored), write one scored line per input line, in order, each scored as the pipeline would (blank lines are skipped; a bad line, or one the scorer gives a result that breaks the ScoredHeadline contract, gets {"id","line","error"}, and the exit code is then ${EXIT_DATA_ERROR})`,
    )
    .option('--json', 'print the full result as JSON')
    .action(async (words: string[], opts: { body?: string; ndjson?: boolean; json?: boolean }) => {
      // --ndjson reads stdin only: a headline or body given as well would be dropped unseen.
      if (opts.ndjson && words.length > 0)
        throw usage('--ndjson reads the headlines from stdin: give no headline as well')
      if (opts.ndjson && opts.body !== undefined)
        throw usage('--body is for one headline given as an argument: with --ndjson give each line a "body"')
      const config = loadConfig(ScoreConfig, process.env)
      const scorer = scorerFromConfig(config)
      const limits: IngestLimits = {
        ...DEFAULT_INGEST_LIMITS,
        maxRecordBytes: config.INGEST_MAX_RECORD_BYTES,
      }
      if (opts.ndjson) {
        const counts = await scoreNdjson(scorer, process.stdin, process.stdout, limits)
        if (counts.bad) {
          process.stderr.write(`score: ${counts.bad} bad line(s), ${counts.ok} scored\n`)
          process.exitCode = EXIT_DATA_ERROR
        }
        return
      }
      const r = scoreOne(scorer, { words, body: opts.body, json: opts.json }, limits)
      process[r.code === 0 ? 'stdout' : 'stderr'].write(r.text)
      process.exitCode = r.code
    })
}

export { SCORER_VERSION }
