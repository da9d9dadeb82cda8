import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { scorerFromConfig } from './build-app.ts'

const dir = mkdtempSync(join(tmpdir(), 'tp-watchlist-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
/** A watchlist file holding `text`. */
const file = (text: string) => {
  const path = join(dir, `watchlist-${++files}.json`)
  writeFileSync(path, text)
  return path
}
const companies = (path: string, headline: string) =>
  scorerFromConfig({ SCORER_WATCHLIST_FILE: path }).score({ headline }).entities.companies
const refusal = (path: string) => {
  try {
    scorerFromConfig({ SCORER_WATCHLIST_FILE: path })
  } catch (err) {
    return { code: (err as { code?: string }).code, message: (err as Error).message }
  }
  return undefined
}

describe('SCORER_WATCHLIST_FILE', () => {
  it('takes a watchlist whose entities each have their own id and names', () => {
    const path = file(
      JSON.stringify({
        entities: [
          { id: 'AAPL', names: ['Apple', 'Apple Inc'] },
          { id: 'TSLA', names: ['Tesla'] },
        ],
      }),
    )
    expect(companies(path, 'Apple hit by tariffs')).toEqual(['AAPL'])
    expect(companies(path, 'Tesla halts exports')).toEqual(['TSLA'])
  })

  it('refuses a key given twice, naming it, rather than keep the last silently (the first list of entities was lost)', () => {
    const path = file('{"entities":[{"id":"TSLA","names":["Tesla"]}],"entities":[]}')
    expect(refusal(path)).toEqual({
      code: 'CONFIG_INVALID',
      message: `SCORER_WATCHLIST_FILE (${path}): invalid watchlist at entities: key given more than once in one object`,
    })
    const nested = file('{"entities":[{"id":"TSLA","names":["Tesla"],"id":"TWTR"}]}')
    expect(refusal(nested)?.message).toBe(
      `SCORER_WATCHLIST_FILE (${nested}): invalid watchlist at entities[0].id: key given more than once in one object`,
    )
  })

  it('refuses an id given to two entities (their names were merged into one company)', () => {
    const path = file(
      JSON.stringify({
        entities: [
          { id: 'TSLA', names: ['Tesla'] },
          { id: 'TSLA', names: ['Twitter'] },
        ],
      }),
    )
    expect(refusal(path)).toEqual({
      code: 'CONFIG_INVALID',
      message: `SCORER_WATCHLIST_FILE (${path}): invalid watchlist at entities[1].id: "TSLA" is already the id of entities[0]; each entity needs an id of its own`,
    })
  })

  it('refuses a name that another entity already has (it was recognised as the first only)', () => {
    const path = file(
      JSON.stringify({
        entities: [
          { id: 'AAPL', names: ['Apple'] },
          { id: 'APLE', names: ['Apple Hospitality', 'apple'] },
        ],
      }),
    )
    expect(refusal(path)).toEqual({
      code: 'CONFIG_INVALID',
      message: `SCORER_WATCHLIST_FILE (${path}): invalid watchlist at entities[1].names[1]: "apple" is read as entities[0] (AAPL), whose name it is already; a name recognises one entity only`,
    })
  })

  it('refuses a name with no letter or digit, which could never be recognised', () => {
    const path = file(JSON.stringify({ entities: [{ id: 'X1', names: ['X One', '&&&'] }] }))
    expect(refusal(path)).toEqual({
      code: 'CONFIG_INVALID',
      message: `SCORER_WATCHLIST_FILE (${path}): invalid watchlist at entities[0].names[1]: "&&&" has no letter or digit, so no headline can name it`,
    })
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
  })
})
