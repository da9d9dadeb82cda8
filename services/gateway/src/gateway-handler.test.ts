import { createCapturingLogger, type InRecord } from '@tradepulse/platform'
import { testAlert } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'
import { createAlertFeed } from './alert-feed.ts'
import { createGatewayHandler, MAX_ALERT_BYTES } from './gateway-handler.ts'

const record = (offset: number, value: string): InRecord => ({
  topic: 'alerts',
  partition: 0,
  offset: String(offset),
  key: null,
  value: Buffer.from(value),
  headers: {},
  timestamp: 0,
})

/** An alert whose record value is `bytes` long (its message padded). */
function alertOfSize(id: string, bytes: number): string {
  const base = JSON.stringify(testAlert(id, { message: '' }))
  const text = JSON.stringify(testAlert(id, { message: 'x'.repeat(bytes - base.length) }))
  expect(Buffer.byteLength(text)).toBe(bytes)
  return text
}

describe('gateway handler', () => {
  it('holds an alert a newer alerter wrote with fields it does not know, as without them; a wrong type is skipped', async () => {
    const feed = createAlertFeed(10)
    const { log, lines } = createCapturingLogger('error')
    const handle = createGatewayHandler({ feed, log })
    const plain = testAlert('newer')
    const newer = {
      ...plain,
      runbook: 'https://runbooks/tariff',
      scope: { ...plain.scope, parent: 'global' },
      evidence: plain.evidence.map((e) => ({ ...e, url: 'https://example.com' })),
    }
    const outcomes = await handle(
      [
        record(0, JSON.stringify(newer)),
        record(1, JSON.stringify({ ...testAlert('bad'), runbook: 'x', value: 'high' })),
      ],
      { signal: new AbortController().signal },
    )
    expect(outcomes).toEqual([{ kind: 'ok' }, { kind: 'drop', reason: 'schema_invalid' }])
    // Served as this version knows an alert: what it does not know is not passed on.
    expect(feed.recent({}, 10)).toEqual([plain])
    expect(lines).toMatchObject([{ reason: 'schema_invalid', message: expect.stringMatching(/^value: /) }])
  })
  it('skips a record over MAX_ALERT_BYTES, logged and counted invalid, and holds one at the limit', async () => {
    const feed = createAlertFeed(10)
    const { log, lines } = createCapturingLogger('error')
    const results: string[] = []
    const handle = createGatewayHandler({ feed, log, onAlert: (r) => results.push(r) })
    const outcomes = await handle(
      [
        record(0, alertOfSize('huge', 900_000)),
        record(1, alertOfSize('over', MAX_ALERT_BYTES + 1)),
        record(2, alertOfSize('at-limit', MAX_ALERT_BYTES)),
        // Indented: weighed as the record, not as the alert's compact JSON.
        record(3, JSON.stringify(testAlert('usual'), null, 2)),
      ],
      { signal: new AbortController().signal },
    )
    expect(outcomes).toEqual([
      { kind: 'drop', reason: 'too_large' },
      { kind: 'drop', reason: 'too_large' },
      { kind: 'ok' },
      { kind: 'ok' },
    ])
    expect(results).toEqual(['invalid', 'invalid', 'new', 'new'])
    expect(feed.recent({}, 10).map((a) => a.id)).toEqual(['usual', 'at-limit'])
    // Each weighed as its record, for the feed's byte budget.
    expect(feed.bytes).toBe(MAX_ALERT_BYTES + Buffer.byteLength(JSON.stringify(testAlert('usual'), null, 2)))
    expect(lines).toMatchObject([
      {
        msg: 'not an alert: skipped',
        reason: 'too_large',
        message: `record is 900000 bytes; the limit is ${MAX_ALERT_BYTES}`,
        origin: { topic: 'alerts', partition: 0, offset: '0' },
      },
      { reason: 'too_large', origin: { offset: '1' } },
    ])
  })
  it('skips an alert whose id cannot be a stream event id: empty, or holding a NUL or a line break', async () => {
    // An event's id is what an EventSource resumes after (Last-Event-ID). `id:` with nothing after it sets
    // the reader's last event id to none, so its next reconnect resumed nowhere and missed every alert sent
    // while it was away, with no gap event; an id holding a NUL is ignored by the reader (the last one
    // stays); a line break would end the field and let the record write its own. Two alerts of id '' also
    // passed for one (the second dropped as a duplicate).
    const feed = createAlertFeed(10)
    const { log, lines } = createCapturingLogger('error')
    const results: string[] = []
    const handle = createGatewayHandler({ feed, log, onAlert: (r) => results.push(r) })
    const outcomes = await handle(
      [
        record(0, JSON.stringify(testAlert(''))),
        record(1, JSON.stringify(testAlert('a\u0000b'))),
        record(2, JSON.stringify(testAlert('a\nid: b'))),
        record(3, JSON.stringify(testAlert('a\rb'))),
        record(4, JSON.stringify(testAlert('ok'))),
      ],
      { signal: new AbortController().signal },
    )
    expect(outcomes).toEqual([
      { kind: 'drop', reason: 'schema_invalid' },
      { kind: 'drop', reason: 'schema_invalid' },
      { kind: 'drop', reason: 'schema_invalid' },
      { kind: 'drop', reason: 'schema_invalid' },
      { kind: 'ok' },
    ])
    expect(results).toEqual(['invalid', 'invalid', 'invalid', 'invalid', 'new'])
    expect(feed.recent({}, 10).map((a) => a.id)).toEqual(['ok'])
    expect(
      lines.map((l) => [l.msg, l.message, (l.origin as { offset?: string } | undefined)?.offset]),
    ).toEqual([
      ['not an alert: skipped', 'id: empty', '0'],
      ['not an alert: skipped', 'id: holds a NUL (U+0000)', '1'],
      ['not an alert: skipped', 'id: holds a line break', '2'],
      ['not an alert: skipped', 'id: holds a line break', '3'],
    ])
  })
})
