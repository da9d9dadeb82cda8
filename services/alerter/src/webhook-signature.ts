import { createHmac, timingSafeEqual } from 'node:crypto'

export const SIGNATURE_HEADER = 'x-tradepulse-signature'
export const ALERT_ID_HEADER = 'x-tradepulse-alert-id'

/** HMAC-SHA256 over "<t>.<body>", hex. */
function mac(secret: string, t: number, body: string): string {
  return createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')
}

/**
 * `t=<unix seconds>,v1=<hex>`, as Stripe-style receivers expect: the timestamp is signed with the body, so
 * a captured request cannot be replayed later with a fresh timestamp.
 */
export function signWebhook(secret: string, body: string, nowMs: number): string {
  const t = Math.floor(nowMs / 1_000)
  return `t=${t},v1=${mac(secret, t, body)}`
}

/** For receivers (and tests): true when a v1 signature matches and t is within the tolerance of now. */
export function verifyWebhookSignature(
  header: string | undefined,
  body: string,
  secret: string,
  nowMs: number,
  toleranceS = 300,
): boolean {
  if (!header) return false
  const parts = new Map<string, string[]>()
  for (const p of header.split(',')) {
    const eq = p.indexOf('=')
    if (eq < 0) continue
    const k = p.slice(0, eq).trim()
    parts.set(k, [...(parts.get(k) ?? []), p.slice(eq + 1).trim()])
  }
  const t = Number(parts.get('t')?.[0])
  if (!Number.isInteger(t) || Math.abs(nowMs / 1_000 - t) > toleranceS) return false
  const expected = Buffer.from(mac(secret, t, body), 'hex')
  return (parts.get('v1') ?? []).some((v) => {
    const got = Buffer.from(v, 'hex')
    return got.length === expected.length && timingSafeEqual(got, expected)
  })
}
