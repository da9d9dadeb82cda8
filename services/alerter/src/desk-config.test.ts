import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadDeskConfig } from './desk-config.ts'
import { scenarioDesks } from './scenario-fixtures.ts'

describe('loadDeskConfig', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })
  /** A desks file holding `text`. */
  const desksFile = (text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'desks-'))
    dirs.push(dir)
    writeFileSync(join(dir, 'desks.yaml'), text)
    return join(dir, 'desks.yaml')
  }
  const refusal = (file: string, env: Record<string, string>) => {
    try {
      loadDeskConfig(file, env, true)
    } catch (err) {
      return err as Error & { code?: string }
    }
    throw new Error('accepted')
  }

  it('refuses a webhook URL with credentials in it, naming the desk and never the password', () => {
    // Taken, every alert's POST failed (fetch sends no such request), and the warning and the dead letter
    // quoted the URL whole, fetch's own message again: the password twice in each.
    const file = desksFile(scenarioDesks('https://desk:hook-pw-1@hooks.example/tariff', 'TARIFF_SECRET'))
    const err = refusal(file, { TARIFF_SECRET: 's' })
    expect(err.code).toBe('CONFIG_INVALID')
    expect(err.message).toBe(
      `ALERTER_DESKS_FILE (${file}): desks[0].webhook.url: desk "tariff" has credentials in its URL (user:password@), which fetch never sends, so every POST would fail (take them out: the webhook is signed with its secretEnv; a token the endpoint needs goes in its path)`,
    )
    expect(err.message).not.toContain('hook-pw-1')
    // With the secret also missing, both are said; without webhooks the URL is not used, nor refused.
    expect(refusal(file, {}).message).toMatch(
      /webhook\.url: .*; desks\[0\]\.webhook\.secretEnv: .*TARIFF_SECRET/,
    )
    expect(loadDeskConfig(file, {}, false).webhooks).toEqual([])
    expect(
      loadDeskConfig(
        desksFile(scenarioDesks('https://hooks.example/t0k3n', 'TARIFF_SECRET')),
        { TARIFF_SECRET: 's' },
        true,
      ).webhooks,
    ).toEqual([{ deskId: 'tariff', url: 'https://hooks.example/t0k3n', secret: 's' }])
  })
})
