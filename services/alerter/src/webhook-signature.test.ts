import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { signWebhook, verifyWebhookSignature } from './webhook-signature.ts'

describe('webhook signature', () => {
  const body = '{"id":"a1","rule":"r"}'
  const now = Date.UTC(2026, 2, 2, 8, 0, 7, 500)

  it('is t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    const t = Math.floor(now / 1_000)
    const v1 = createHmac('sha256', 'secret').update(`${t}.${body}`).digest('hex')
    expect(signWebhook('secret', body, now)).toBe(`t=${t},v1=${v1}`)
  })

  it('verifies only the right secret, the exact body and a fresh timestamp', () => {
    const sig = signWebhook('secret', body, now)
    expect(verifyWebhookSignature(sig, body, 'secret', now + 10_000)).toBe(true)
    expect(verifyWebhookSignature(sig, body, 'other', now)).toBe(false)
    expect(verifyWebhookSignature(sig, `${body} `, 'secret', now)).toBe(false)
    expect(verifyWebhookSignature(sig, body, 'secret', now + 301_000)).toBe(false)
    expect(verifyWebhookSignature(undefined, body, 'secret', now)).toBe(false)
    expect(verifyWebhookSignature('t=x,v1=zz', body, 'secret', now)).toBe(false)
  })
})
