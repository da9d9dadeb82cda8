import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cli, NO_KAFKA, spawnCli } from './test-helpers.ts'

const MISSPELT = { GATEWAY_MAX_STREAM: '5', AGGREGATOR_GRACE: '60000' }
const WARNINGS = [
  'tradepulse: warning: unknown variable AGGREGATOR_GRACE (did you mean AGGREGATOR_GRACE_MS?)',
  'tradepulse: warning: unknown variable GATEWAY_MAX_STREAM (did you mean GATEWAY_MAX_STREAMS?)',
]

// The one-shot commands loaded their configuration as the workers do, which notes a misspelt variable,
// but never said so: a worker warns of it at its start, `tradepulse score` ran on with the default unseen.
describe('a one-shot command given a variable no worker reads', { timeout: 60_000 }, () => {
  it('warns of it once on stderr, in the workers’ words, and keeps stdout NDJSON only (score --ndjson)', async () => {
    const run = spawnCli(['score', '--ndjson'], MISSPELT, { stdin: true })
    run.child.stdin.end(
      `${JSON.stringify({ id: 'a', headline: 'US raises tariffs on steel' })}\n${JSON.stringify({ id: 'b', headline: 'Port strike ends' })}\n`,
    )
    const [code] = await run.exited
    expect(code, run.output.err).toBe(0)
    const out = run.output.out.trimEnd().split('\n')
    expect(out.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(['a', 'b'])
    expect(run.output.err.trimEnd().split('\n')).toEqual(WARNINGS)
  })

  it('warns before the command’s own output or refusal, in score, replay and topics alike', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-unknown-'))
    const unreachable = { ...MISSPELT, KAFKA_BROKERS: NO_KAFKA }
    const runs = await Promise.all([
      cli(['score', 'US raises tariffs on steel'], MISSPELT),
      cli(['replay', join(dir, 'missing.csv')], MISSPELT),
      cli(['topics', 'create'], unreachable),
      cli(['topics', 'list'], MISSPELT),
    ])
    const [scored, listed] = [runs[0]!, runs.at(-1)!]
    expect(scored.code).toBe(0)
    expect(scored.stdout).toMatch(/^US raises tariffs on steel\n {2}tariff /)
    expect(scored.stderr).toBe(`${WARNINGS.join('\n')}\n`)
    expect(listed.code).toBe(0)
    expect(listed.stdout).toMatch(/^tradepulse\.headlines\.raw\.v1 /)
    expect(listed.stderr).toBe(`${WARNINGS.join('\n')}\n`)
    for (const r of runs.slice(1, -1)) {
      expect(r.code, r.stderr).toBeOneOf([69, 78])
      expect(r.stdout).toBe('')
      const lines = r.stderr.trimEnd().split('\n')
      expect(lines.slice(0, 2)).toEqual(WARNINGS)
      expect(lines).toHaveLength(3)
      expect(lines[2]).toMatch(/^tradepulse: (replay: no such file|cannot reach)/)
    }
  })

  it('says nothing under LOG_LEVEL=error, of a variable it knows, or of a webhook secret variable the desks file names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-unknown-'))
    const desks = join(dir, 'desks.yaml')
    writeFileSync(
      desks,
      'version: "1"\ndesks:\n  - id: tariff\n    webhook:\n      url: https://hooks.example/tariff\n      secretEnv: ALERTER_TARIFF_KEY\n',
    )
    const runs = await Promise.all([
      cli(['score', 'US raises tariffs on steel'], { ...MISSPELT, LOG_LEVEL: 'error' }),
      cli(['score', 'US raises tariffs on steel'], {
        GATEWAY_MAX_STREAMS: '5',
        ALERTER_DESKS_FILE: desks,
        ALERTER_TARIFF_KEY: 'x'.repeat(32),
      }),
    ])
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toBe('')
    }
  })
})
