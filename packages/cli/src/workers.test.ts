import { RULE_FILES } from '@tradepulse/alerting'
import { describe, expect, it } from 'vitest'
import { webhooksLine, webhooksOffReason } from './workers.ts'

describe("start's desk webhooks: on as the alerter's default, but for the embedded default and the bundled sample desks", () => {
  it('keeps them on for a desks file of your own, and says so naming it', () => {
    const env = { ALERTER_DESKS_FILE: '/etc/tradepulse/desks.yaml' }
    expect(webhooksOffReason(env, 'kafka')).toBeUndefined()
    expect(webhooksLine(env, 'kafka')).toBe(
      "Desk webhooks: on (ALERTER_WEBHOOKS_ENABLED unset: the alerter's default): alerts are POSTed to the webhooks of the desks in /etc/tradepulse/desks.yaml.",
    )
  })

  it('turns them off for the bundled sample desks (unset, blank, or named), whose webhooks are placeholders, and says why', () => {
    for (const file of [undefined, ' ', RULE_FILES.desks]) {
      const env = { ALERTER_DESKS_FILE: file }
      expect(webhooksOffReason(env, 'kafka'), file).toMatch(/bundled sample/)
      expect(webhooksLine(env, 'kafka')).toBe(
        'Desk webhooks: off (ALERTER_WEBHOOKS_ENABLED unset, and the desks file is the bundled sample, whose webhooks are placeholders at hooks.example.com): set ALERTER_DESKS_FILE to your own desks file, or ALERTER_WEBHOOKS_ENABLED=true.',
      )
    }
  })

  it('turns them off for the embedded default, whatever the desks file', () => {
    const env = { ALERTER_DESKS_FILE: '/etc/tradepulse/desks.yaml' }
    expect(webhooksOffReason(env, 'embedded')).toBe('the embedded default posts none')
    expect(webhooksLine(env, 'embedded')).toMatch(
      /^Desk webhooks: off .*: ALERTER_WEBHOOKS_ENABLED=true posts to them\.$/,
    )
  })

  it('takes ALERTER_WEBHOOKS_ENABLED as set, everywhere', () => {
    for (const where of ['kafka', 'embedded'] as const) {
      expect(webhooksOffReason({ ALERTER_WEBHOOKS_ENABLED: 'true' }, where)).toBeUndefined()
      expect(webhooksLine({ ALERTER_WEBHOOKS_ENABLED: 'true' }, where)).toMatch(
        /^Desk webhooks: on \(ALERTER_WEBHOOKS_ENABLED=true\): /,
      )
      expect(webhooksLine({ ALERTER_WEBHOOKS_ENABLED: 'false', ALERTER_DESKS_FILE: '/d.yaml' }, where)).toBe(
        'Desk webhooks: off (ALERTER_WEBHOOKS_ENABLED=false).',
      )
    }
  })
})
