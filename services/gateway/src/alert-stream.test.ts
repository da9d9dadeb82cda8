import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { testAlert } from '@tradepulse/testing'
import { describe, expect, it, vi } from 'vitest'
import { createAlertFeed } from './alert-feed.ts'
import {
  CATCH_UP_AHEAD_MS,
  createAlertStreams,
  eventIdOf,
  MARK_EVERY_ENTRIES,
  RESUME_SLACK_MS,
  STREAM_KEEPALIVE_MS,
} from './alert-stream.ts'
import { createCatchUp } from './catch-up.ts'
import { alertIdOf } from './fixtures.ts'

/**
 * A response whose socket takes `room` bytes, then is full until `drain()`; what it took is `text`. `ids`
 * are the alert ids of its `id:` fields, `eventIds` the fields as written.
 */
function fakeResponse(room: number) {
  const res = new EventEmitter() as EventEmitter & Record<string, unknown>
  let free = room
  const state = { text: '', ended: false, destroyed: false }
  Object.assign(res, {
    writeHead: () => res,
    write(chunk: string) {
      state.text += chunk
      free -= chunk.length
      return free > 0
    },
    end() {
      state.ended = true
    },
    destroy() {
      state.destroyed = true
    },
  })
  return {
    res: res as unknown as ServerResponse,
    req: new EventEmitter() as unknown as IncomingMessage,
    state,
    eventIds: () => [...state.text.matchAll(/^id: (.+)$/gm)].map((m) => m[1]!),
    ids: () => [...state.text.matchAll(/^id: (.+)$/gm)].map((m) => alertIdOf(m[1]!)),
    gaps: () => [...state.text.matchAll(/^event: gap\ndata: (.+)$/gm)].map((m) => JSON.parse(m[1]!)),
    /** The reader took everything: room again, and the stream told. */
    drain(more = room) {
      free = more
      res.emit('drain')
    },
  }
}

const noEvents = { opened() {}, closed() {}, stalled() {} }
/** A record time, for tests where none matters. */
const T0 = Date.parse('2026-03-02T14:00:00Z')
const limits = { maxStreams: 10, heartbeatMs: 60_000, stallMs: 60_000 }

/** fakeResponse(room), its request from `address` (the connection's remote address). */
function readerFrom(address: string, room = 1_000_000) {
  const reader = fakeResponse(room)
  Object.assign(reader.req, { socket: { remoteAddress: address, setKeepAlive() {} } })
  return reader
}

describe('alert streams', () => {
  it('sends a burst bigger than the socket takes whole, as the reader drains, holding only a cursor', () => {
    const feed = createAlertFeed(10_000)
    const streams = createAlertStreams(feed, limits, noEvents)
    const reader = fakeResponse(50_000)
    streams.open(reader.req, reader.res, { filter: {}, recent: 0 })
    for (let i = 0; i < 3_000; i++) feed.add(testAlert(`a${i}`))
    // The socket filled: the stream waits for it rather than buffering the rest.
    const first = reader.ids().length
    expect(first).toBeGreaterThan(0)
    expect(first).toBeLessThan(3_000)
    for (let n = 0; n < 1_000 && reader.ids().length < 3_000; n++) reader.drain()
    expect(reader.ids()).toEqual(Array.from({ length: 3_000 }, (_, i) => `a${i}`))
    expect(reader.state.destroyed).toBe(false)
  })

  it('tells a reader the feed evicted alerts before it was sent them, and goes on from the oldest held', () => {
    const feed = createAlertFeed(5)
    const streams = createAlertStreams(feed, limits, noEvents)
    const reader = fakeResponse(1_500)
    streams.open(reader.req, reader.res, { filter: {}, recent: 0 })
    for (let i = 0; i < 12; i++) feed.add(testAlert(`a${i}`))
    const sent = reader.ids()
    expect(sent.length).toBeLessThan(12)
    reader.drain(1_000_000)
    // The reader's last event id: the last alert's, as sent.
    const last = reader.eventIds()[sent.length - 1]
    expect(reader.gaps()).toEqual([
      { lastEventId: last, reason: 'behind: alerts evicted before they were sent' },
    ])
    // After the gap: the five the feed holds, in order.
    expect(reader.ids().slice(sent.length)).toEqual(['a7', 'a8', 'a9', 'a10', 'a11'])
  })

  it('gives the same gap for alerts the byte budget evicted as for those the count did', () => {
    // Room for 100 alerts, but bytes for 5 of these.
    const feed = createAlertFeed(100, { maxBytes: 5 * 600 })
    const streams = createAlertStreams(feed, limits, noEvents)
    const reader = fakeResponse(1_500)
    streams.open(reader.req, reader.res, { filter: {}, recent: 0 })
    for (let i = 0; i < 12; i++) feed.add(testAlert(`a${i}`), 600)
    const sent = reader.ids()
    expect(sent.length).toBeLessThan(7)
    reader.drain(1_000_000)
    expect(reader.gaps()).toEqual([
      {
        lastEventId: reader.eventIds()[sent.length - 1],
        reason: 'behind: alerts evicted before they were sent',
      },
    ])
    expect(reader.ids().slice(sent.length)).toEqual(['a7', 'a8', 'a9', 'a10', 'a11'])
    // Resuming after one evicted: not held, as after the count's.
    const resumed = fakeResponse(1_000_000)
    streams.open(resumed.req, resumed.res, { filter: {}, recent: 0, lastEventId: 'a2' })
    expect([resumed.gaps(), resumed.ids()]).toEqual([[{ lastEventId: 'a2', reason: 'not held' }], []])
  })

  it('starts with the recent matching alerts, or after the last seen one', () => {
    const feed = createAlertFeed(100)
    for (let i = 0; i < 6; i++)
      feed.add(
        testAlert(
          `a${i}`,
          i % 2
            ? { severity: 'info', detectedAt: `2026-03-02T1${i}:00:00.000Z` }
            : { detectedAt: `2026-03-02T1${i}:00:00.000Z` },
        ),
      )
    const streams = createAlertStreams(feed, limits, noEvents)
    const recent = fakeResponse(1_000_000)
    streams.open(recent.req, recent.res, { filter: { severity: ['critical'] }, recent: 2 })
    expect(recent.ids()).toEqual(['a2', 'a4'])
    const resumed = fakeResponse(1_000_000)
    streams.open(resumed.req, resumed.res, { filter: {}, recent: 0, lastEventId: 'a3' })
    expect(resumed.ids()).toEqual(['a4', 'a5'])
    feed.add(testAlert('a6'))
    expect(recent.ids()).toEqual(['a2', 'a4', 'a6'])
    expect(resumed.ids()).toEqual(['a4', 'a5', 'a6'])
  })

  it('resumes a reader just after its last event on the gateway that sent it, sending none of what it had again; another order (another gateway, an older start, a bare alert id) gets the slack before it too', () => {
    vi.useFakeTimers()
    try {
      const feed = createAlertFeed(100)
      const streams = createAlertStreams(feed, { ...limits, heartbeatMs: 1_000 }, noEvents)
      // Another gateway, or this one before a restart: a boot id of its own.
      const other = createAlertStreams(createAlertFeed(100), limits, noEvents)
      expect(streams.bootId).not.toBe(other.bootId)
      const reader = fakeResponse(1_000_000)
      streams.open(reader.req, reader.res, { filter: {}, recent: 0 })
      // Ten alerts, all written within RESUME_SLACK_MS before the last.
      const t0 = Date.parse('2026-03-02T14:00:00Z')
      const ids = Array.from({ length: 10 }, (_, i) => `a${i}`)
      ids.forEach((id, i) => {
        feed.add(testAlert(id), undefined, {
          partition: 0,
          offset: i,
          timestamp: t0 + (i * RESUME_SLACK_MS) / 12,
        })
      })
      expect(reader.eventIds()).toEqual(ids.map((id, i) => eventIdOf(id, streams.bootId, i + 1)))
      reader.req.emit('close')
      const resume = (lastEventId: string) => {
        const r = fakeResponse(1_000_000)
        streams.open(r.req, r.res, { filter: {}, recent: 0, lastEventId })
        return r
      }
      const here = resume(reader.eventIds().at(-1)!)
      const elsewhere = resume(eventIdOf('a9', other.bootId, 10))
      const bare = resume('a9')
      expect(here.ids()).toEqual([])
      expect(elsewhere.ids()).toEqual(ids.slice(0, 9))
      expect(bare.ids()).toEqual(ids.slice(0, 9))
      // Its first heartbeat moves a reader of another order to this one (the cursor has not moved), so
      // resumed here again it is sent nothing again; one of this order needs no such mark.
      vi.advanceTimersByTime(1_000)
      expect(elsewhere.eventIds().at(-1)).toBe(eventIdOf('a9', streams.bootId, 10))
      expect(here.eventIds()).toEqual([])
      expect(resume(elsewhere.eventIds().at(-1)!).ids()).toEqual([])
      feed.add(testAlert('a10'), undefined, { partition: 0, offset: 10, timestamp: t0 + RESUME_SLACK_MS })
      expect([here, elsewhere, bare].map((r) => r.ids().at(-1))).toEqual(['a10', 'a10', 'a10'])
      streams.closeAll()
    } finally {
      vi.useRealTimers()
    }
  })

  it("resumes a reader of another gateway's order by record times: an alert written just after its last one, detected two minutes before it and standing before it here, is sent", () => {
    const feed = createAlertFeed(100)
    const streams = createAlertStreams(feed, limits, noEvents)
    const other = createAlertStreams(createAlertFeed(100), limits, noEvents)
    const t0 = Date.parse('2026-03-02T14:00:00Z')
    const add = (id: string, detectedMs: number, partition: number, offset: number, timestamp: number) =>
      feed.add(testAlert(id, { detectedAt: new Date(detectedMs).toISOString() }), undefined, {
        partition,
        offset,
        timestamp,
      })
    // Written ten minutes before L: the reader had it.
    add('old', t0 - 600_000, 0, 0, t0 - 600_000)
    // Written as far before L as a gateway catching up reads one partition ahead of another: it may have
    // been sent after L.
    add('behind', t0 - CATCH_UP_AHEAD_MS, 1, 0, t0 - CATCH_UP_AHEAD_MS)
    // X, on partition 1, written just after L, on partition 0, but detected 120 s before it (its alerter's
    // batch retried after an outage keeps its first attempt's time; or its host's clock is behind): the
    // other gateway sent it after L, this one read partition 1 first.
    add('X', t0 - 120_000, 1, 1, t0 + 5)
    add('L', t0, 0, 1, t0)
    const r = fakeResponse(1_000_000)
    streams.open(r.req, r.res, { filter: {}, recent: 0, lastEventId: eventIdOf('L', other.bootId, 1) })
    expect([r.ids(), r.gaps()]).toEqual([['behind', 'X'], []])
    add('next', t0 + 10, 0, 2, t0 + 10)
    expect(r.ids()).toEqual(['behind', 'X', 'next'])
    streams.closeAll()
  })

  it("resumes a reader on the gateway that sent its last event at that event's place in the feed: a copy of its alert held anew after the feed evicted it is not its place", () => {
    const feed = createAlertFeed(3)
    const streams = createAlertStreams(feed, limits, noEvents)
    const reader = fakeResponse(1_000_000)
    streams.open(reader.req, reader.res, { filter: {}, recent: 0 })
    feed.add(testAlert('A'))
    reader.req.emit('close')
    const lastEventId = reader.eventIds().at(-1)!
    const resume = () => {
      const r = fakeResponse(1_000_000)
      streams.open(r.req, r.res, { filter: {}, recent: 0, lastEventId })
      return r
    }
    // As many again as the feed holds: A is evicted, and nothing after it.
    for (const id of ['b', 'c', 'd']) feed.add(testAlert(id))
    expect(feed.entryOf('A')).toBeUndefined()
    const allHeld = resume()
    const allHeldSent = [[...allHeld.ids()], allHeld.gaps()]
    // The alerter's copy of A (sent again after a crash, same id) is held anew, at the end; b goes.
    expect(feed.add(testAlert('A'))).toBe(true)
    expect(feed.after(0).map((e) => e.alert.id)).toEqual(['c', 'd', 'A'])
    // Resumed at the copy, the reader would have been sent nothing, c and d included, and no gap.
    const missed = resume()
    expect([missed.ids(), missed.gaps()]).toEqual([[], [{ lastEventId, reason: 'not held' }]])
    feed.add(testAlert('e'))
    expect(missed.ids()).toEqual(['e'])
    // Resumed while the feed held every alert after A: those, and no gap (it had missed nothing). The
    // copy is an alert like any other to the streams it reaches (readers deduplicate on the id).
    expect(allHeldSent).toEqual([['b', 'c', 'd'], []])
    expect(allHeld.ids()).toEqual(['b', 'c', 'd', 'A', 'e'])
    streams.closeAll()
  })

  it('closes a stream whose reader takes nothing for the stall time, and frees its place', async () => {
    const feed = createAlertFeed(100)
    let stalled = 0
    const streams = createAlertStreams(
      feed,
      { maxStreams: 1, heartbeatMs: 5, stallMs: 20 },
      { opened() {}, closed() {}, stalled: () => stalled++ },
    )
    const reader = fakeResponse(100)
    expect(streams.open(reader.req, reader.res, { filter: {}, recent: 0 })).toBe(true)
    feed.add(testAlert('big', { message: 'x'.repeat(500) }))
    const other = fakeResponse(100)
    expect(streams.open(other.req, other.res, { filter: {}, recent: 0 })).toBe('total')
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (reader.state.destroyed) {
          clearInterval(check)
          resolve()
        }
      }, 5)
    })
    expect(stalled).toBe(1)
    expect(streams.size).toBe(0)
    expect(streams.open(other.req, other.res, { filter: {}, recent: 0 })).toBe(true)
    streams.closeAll()
    expect(other.state.ended).toBe(true)
  })

  it('closes a stalled stream once the stall time has passed since its socket filled, not at a later heartbeat', () => {
    vi.useFakeTimers()
    try {
      const feed = createAlertFeed(100)
      let stalled = 0
      const streams = createAlertStreams(
        feed,
        { maxStreams: 2, heartbeatMs: 3_600_000, stallMs: 1_000 },
        { opened() {}, closed() {}, stalled: () => stalled++ },
      )
      const reader = fakeResponse(100)
      streams.open(reader.req, reader.res, { filter: {}, recent: 0 })
      // Full, then drained just before the stall time: the wait starts again at the next fill.
      feed.add(testAlert('big1', { message: 'x'.repeat(500) }))
      vi.advanceTimersByTime(900)
      reader.drain(100)
      expect(reader.ids()).toEqual(['big1'])
      vi.advanceTimersByTime(5_000)
      expect([reader.state.destroyed, stalled]).toEqual([false, 0])
      feed.add(testAlert('big2', { message: 'x'.repeat(500) }))
      vi.advanceTimersByTime(999)
      expect(reader.state.destroyed).toBe(false)
      vi.advanceTimersByTime(2)
      expect([reader.state.destroyed, stalled, streams.size]).toEqual([true, 1, 0])
    } finally {
      vi.useRealTimers()
    }
  })

  it('closes every stream at its maximum age, spread over its last tenth, a reader taking nothing too; keepalive on its socket', () => {
    vi.useFakeTimers()
    try {
      const feed = createAlertFeed(100)
      const counts = { closed: 0, stalled: 0, aged: 0 }
      const spreads = [0, 0.999]
      const streams = createAlertStreams(
        feed,
        {
          maxStreams: 2,
          heartbeatMs: 1_000,
          stallMs: 1_000,
          maxAgeMs: 60_000,
          random: () => spreads.shift()!,
        },
        {
          opened() {},
          closed: () => counts.closed++,
          stalled: () => counts.stalled++,
          aged: () => counts.aged++,
        },
      )
      // Readers that take nothing: the heartbeats never fill their sockets.
      const keepalive: unknown[][] = []
      const readers = [fakeResponse(1_000_000), fakeResponse(1_000_000)]
      for (const r of readers) {
        Object.assign(r.req, { socket: { setKeepAlive: (...args: unknown[]) => keepalive.push(args) } })
        expect(streams.open(r.req, r.res, { filter: {}, recent: 0 })).toBe(true)
      }
      expect(keepalive).toEqual([
        [true, STREAM_KEEPALIVE_MS],
        [true, STREAM_KEEPALIVE_MS],
      ])
      expect(streams.full).toBe(true)
      vi.advanceTimersByTime(54_000 - 1)
      expect([streams.size, counts.aged]).toEqual([2, 0])
      vi.advanceTimersByTime(1) // 90 % of the age: the first
      expect([streams.size, readers[0]!.state.ended, readers[1]!.state.ended]).toEqual([1, true, false])
      vi.advanceTimersByTime(6_000)
      expect([streams.size, readers[1]!.state.ended]).toEqual([0, true])
      expect(counts).toEqual({ closed: 2, stalled: 0, aged: 2 })
      expect(readers.map((r) => r.state.destroyed)).toEqual([false, false])
      // Their places are free again.
      const next = fakeResponse(1_000_000)
      expect(streams.open(next.req, next.res, { filter: {}, recent: 0 })).toBe(true)
      streams.closeAll()
    } finally {
      vi.useRealTimers()
    }
  })

  it("moves a filtered reader's last event id to its cursor with an id alone: every MARK_EVERY_ENTRIES passed, at a heartbeat, at its age and at a stop; never an event", () => {
    vi.useFakeTimers()
    try {
      const feed = createAlertFeed(1_000)
      feed.add(testAlert('held', { severity: 'info' }))
      const streams = createAlertStreams(
        feed,
        { maxStreams: 3, heartbeatMs: 1_000, stallMs: 60_000, maxAgeMs: 10_000, random: () => 0 },
        noEvents,
      )
      const critical = { severity: ['critical' as const] }
      /** The ids written alone (an id line with nothing else in its block). */
      const marks = (r: ReturnType<typeof fakeResponse>) =>
        [...r.state.text.matchAll(/(?<=^|\n\n)id: ([^\n]+)\n\n/g)].map((m) => alertIdOf(m[1]!))
      const reader = fakeResponse(1_000_000)
      streams.open(reader.req, reader.res, { filter: critical, recent: 0 })
      // A reader sent nothing yet resumes from the newest held at its start, not at what follows its reconnect.
      vi.advanceTimersByTime(1_000)
      expect(marks(reader)).toEqual(['held'])
      feed.add(testAlert('c1'))
      for (let i = 0; i < MARK_EVERY_ENTRIES + 10; i++) feed.add(testAlert(`i${i}`, { severity: 'info' }))
      // Passed over MARK_EVERY_ENTRIES of them: one mark, without waiting for the heartbeat.
      expect(marks(reader)).toEqual(['held', `i${MARK_EVERY_ENTRIES - 1}`])
      vi.advanceTimersByTime(1_000)
      expect(marks(reader)).toEqual(['held', `i${MARK_EVERY_ENTRIES - 1}`, `i${MARK_EVERY_ENTRIES + 9}`])
      // Nothing passed since: the heartbeat alone.
      vi.advanceTimersByTime(1_000)
      expect(marks(reader)).toHaveLength(3)
      expect(reader.state.text.match(/: alive/g)).toHaveLength(3)
      // A match is its own id: no mark after it.
      feed.add(testAlert('c2'))
      vi.advanceTimersByTime(1_000)
      expect(marks(reader)).toHaveLength(3)
      // At its age, the cursor's id before the end.
      feed.add(testAlert('i-last', { severity: 'info' }))
      vi.advanceTimersByTime(5_000)
      expect(reader.state.ended).toBe(true)
      expect(marks(reader).at(-1)).toBe('i-last')
      // Every alert sent is the reader's matches, nothing else dispatched.
      expect(reader.state.text.match(/^event: .+$/gm)).toEqual(['event: alert', 'event: alert'])
      expect(reader.ids().filter((id) => id?.startsWith('c'))).toEqual(['c1', 'c2'])

      // At the gateway's stop too; a resumed reader's id is its own until it is passed.
      const resumed = fakeResponse(1_000_000)
      streams.open(resumed.req, resumed.res, { filter: critical, recent: 0, lastEventId: 'c2' })
      vi.advanceTimersByTime(1_000)
      expect(marks(resumed)).toEqual(['i-last'])
      feed.add(testAlert('i-stop', { severity: 'info' }))
      streams.closeAll()
      expect([resumed.state.ended, marks(resumed)]).toEqual([true, ['i-last', 'i-stop']])
    } finally {
      vi.useRealTimers()
    }
  })

  it('destroys a stream whose socket is full when it reaches its age (it would never take the end)', () => {
    vi.useFakeTimers()
    try {
      const feed = createAlertFeed(100)
      const streams = createAlertStreams(
        feed,
        { maxStreams: 2, heartbeatMs: 3_600_000, stallMs: 60_000, maxAgeMs: 10_000, random: () => 0 },
        noEvents,
      )
      const reader = fakeResponse(100)
      streams.open(reader.req, reader.res, { filter: {}, recent: 0 })
      feed.add(testAlert('big', { message: 'x'.repeat(500) }))
      vi.advanceTimersByTime(9_000)
      expect([reader.state.destroyed, reader.state.ended, streams.size]).toEqual([true, false, 0])
    } finally {
      vi.useRealTimers()
    }
  })

  it('starts a stream opened while the gateway catches up only once it has: no held alert sent as live', () => {
    let caughtUp = false
    const waiting = new Set<() => void>()
    const gate = {
      get caughtUp() {
        return caughtUp
      },
      onCaughtUp(f: () => void) {
        waiting.add(f)
        return () => waiting.delete(f)
      },
      isNews: () => false,
    }
    const feed = createAlertFeed(100)
    // Written ten minutes apart: a resumed stream sends none again (see RESUME_SLACK_MS).
    const add = (id: string, i: number) =>
      feed.add(testAlert(id), undefined, {
        partition: 0,
        offset: i,
        timestamp: Date.parse('2026-03-02T00:00:00Z') + i * 600_000,
      })
    const streams = createAlertStreams(feed, limits, noEvents, gate)
    for (let i = 0; i < 3; i++) add(`a${i}`, i)
    const fresh = fakeResponse(1_000_000)
    const recent = fakeResponse(1_000_000)
    const resumed = fakeResponse(1_000_000)
    const resumedLost = fakeResponse(1_000_000)
    streams.open(fresh.req, fresh.res, { filter: {}, recent: 0 })
    streams.open(recent.req, recent.res, { filter: {}, recent: 2 })
    streams.open(resumed.req, resumed.res, { filter: {}, recent: 0, lastEventId: 'a7' })
    streams.open(resumedLost.req, resumedLost.res, { filter: {}, recent: 0, lastEventId: 'never' })
    // The rest of what the topic held comes in: nobody is sent any of it yet.
    for (let i = 3; i < 10; i++) add(`a${i}`, i)
    for (const r of [fresh, recent, resumed, resumedLost]) expect([r.ids(), r.gaps()]).toEqual([[], []])
    expect(streams.size).toBe(4)
    caughtUp = true
    for (const f of waiting) f()
    expect(fresh.ids()).toEqual([])
    expect(recent.ids()).toEqual(['a8', 'a9'])
    expect(resumed.ids()).toEqual(['a8', 'a9'])
    expect(resumedLost.gaps()).toEqual([{ lastEventId: 'never', reason: 'not held' }])
    add('live', 10)
    expect(fresh.ids()).toEqual(['live'])
    expect(resumed.ids()).toEqual(['a8', 'a9', 'live'])
    expect(resumedLost.ids()).toEqual(['live'])
    // Opened once caught up: at once, as before.
    const later = fakeResponse(1_000_000)
    streams.open(later.req, later.res, { filter: {}, recent: 1 })
    expect(later.ids()).toEqual(['live'])
    streams.closeAll()
    expect(waiting.size).toBe(0)
  })

  it('sends a stream opened during the catch-up, not resuming, what was written after the start but read before it ended; one opened after, not', () => {
    const catchUp = createCatchUp()
    // Partition 0 held offsets 0-4 at the start, partition 1 offsets 0-2; partition 2 came later.
    catchUp.setEnds([
      { partition: 0, low: 0, high: 5 },
      { partition: 1, low: 0, high: 3 },
    ])
    const feed = createAlertFeed(100)
    const streams = createAlertStreams(feed, limits, noEvents, catchUp)
    const fresh = fakeResponse(1_000_000)
    const us = fakeResponse(1_000_000)
    const recent = fakeResponse(1_000_000)
    streams.open(fresh.req, fresh.res, { filter: {}, recent: 0 })
    streams.open(us.req, us.res, { filter: { scope: ['region:US'] }, recent: 0 })
    streams.open(recent.req, recent.res, { filter: {}, recent: 2 })
    const US = { scope: { kind: 'region' as const, id: 'US' } }
    // Partitions read in step: news of partition 1 (and of the new partition 2) comes before the last
    // of partition 0's history, and partition 0's news in its batch.
    const read: [string, number, number, object?][] = [
      ['h0', 0, 0],
      ['k0', 1, 0],
      ['k1', 1, 1],
      ['k2', 1, 2, US],
      ['n1', 1, 3, US],
      ['n2', 2, 0],
      ['h1', 0, 1],
      ['h2', 0, 2],
      ['h3', 0, 3],
      ['h4', 0, 4],
      ['n0', 0, 5],
      // The alerter sent n1 again: held once, sent once.
      ['n1', 0, 6, US],
    ]
    for (const [id, partition, offset, over] of read)
      feed.add(testAlert(id, over), undefined, { partition, offset, timestamp: T0 })
    for (const r of [fresh, us, recent]) expect(r.ids()).toEqual([])
    catchUp.position(1, 4)
    catchUp.position(0, 7)
    expect(catchUp.caughtUp).toBe(true)
    // In feed order, each once; `recent` with the news before its newest two.
    expect(fresh.ids()).toEqual(['n1', 'n2', 'n0'])
    expect(us.ids()).toEqual(['n1'])
    expect(recent.ids()).toEqual(['n1', 'n2', 'h4', 'n0'])
    feed.add(testAlert('live'), undefined, { partition: 0, offset: 7, timestamp: T0 })
    const later = fakeResponse(1_000_000)
    streams.open(later.req, later.res, { filter: {}, recent: 0 })
    feed.add(testAlert('next'), undefined, { partition: 1, offset: 4, timestamp: T0 })
    expect(fresh.ids()).toEqual(['n1', 'n2', 'n0', 'live', 'next'])
    expect(recent.ids()).toEqual(['n1', 'n2', 'h4', 'n0', 'live', 'next'])
    // Opened once caught up: what comes next, the news read during the catch-up being history by then.
    expect(later.ids()).toEqual(['next'])
    streams.closeAll()
  })

  it('names in a gap event, sent first, the news the feed evicted during the catch-up before a stream waiting for it was sent it', () => {
    const catchUp = createCatchUp()
    // Partition 0 held offsets 0-2 at the start, partition 1 offset 0: anything after is news.
    catchUp.setEnds([
      { partition: 0, low: 0, high: 3 },
      { partition: 1, low: 0, high: 1 },
    ])
    // Three held: news read during the catch-up is evicted by what is read after it.
    const feed = createAlertFeed(3)
    const streams = createAlertStreams(feed, limits, noEvents, catchUp)
    const at = (minute: number) => `2026-03-02T14:0${minute}:00.000Z`
    const US = { kind: 'region' as const, id: 'US' }
    const read: [string, number, number, number, boolean?][] = [
      ['k0', 1, 0, 0],
      ['n0', 1, 1, 3],
      ['h0', 0, 0, 0],
      ['n1', 1, 2, 1],
      ['h1', 0, 1, 0],
      ['h2', 0, 2, 0],
      ['n2', 0, 3, 2],
      ['n3', 1, 3, 4],
      ['n4', 0, 4, 5, true],
      ['n5', 1, 4, 6],
    ]
    const add = ([id, partition, offset, minute, us]: (typeof read)[number]) =>
      feed.add(testAlert(id, { detectedAt: at(minute), ...(us ? { scope: US } : {}) }), undefined, {
        partition,
        offset,
        timestamp: Date.parse(at(minute)),
      })
    const fresh = fakeResponse(1_000_000)
    streams.open(fresh.req, fresh.res, { filter: {}, recent: 0 })
    for (const r of read.slice(0, 5)) add(r)
    // Opened after n0 was evicted: news read before a stream opened is sent it all the same, so its loss
    // is named to it too.
    const us = fakeResponse(1_000_000)
    const recent = fakeResponse(1_000_000)
    const resumed = fakeResponse(1_000_000)
    streams.open(us.req, us.res, { filter: { scope: ['region:US'] }, recent: 0 })
    streams.open(recent.req, recent.res, { filter: {}, recent: 1 })
    streams.open(resumed.req, resumed.res, { filter: {}, recent: 0, lastEventId: 'n3' })
    for (const r of read.slice(5)) add(r)
    expect(feed.after(0).map((e) => e.alert.id)).toEqual(['n3', 'n4', 'n5'])
    for (const r of [fresh, us, recent, resumed]) expect([r.ids(), r.gaps()]).toEqual([[], []])
    catchUp.position(0, 5)
    catchUp.position(1, 5)
    expect(catchUp.caughtUp).toBe(true)
    const gap = {
      lastEventId: null,
      reason: 'catching up: alerts written after the start evicted before they were sent',
      lost: {
        alerts: 3,
        firstId: 'n0',
        lastId: 'n2',
        detectedFrom: at(1),
        detectedTo: at(3),
        offsets: [
          { partition: 1, from: 1, to: 2 },
          { partition: 0, from: 3, to: 3 },
        ],
      },
    }
    // The gap before any alert, then the news held, in feed order.
    const gapFirst = (r: ReturnType<typeof fakeResponse>) =>
      r.state.text.indexOf('event: gap') < r.state.text.indexOf('id: ')
    expect([fresh.gaps(), fresh.ids(), gapFirst(fresh)]).toEqual([[gap], ['n3', 'n4', 'n5'], true])
    // Whatever its filter, as the gap of a reader fallen behind: what was lost is not held to be matched.
    expect([us.gaps(), us.ids(), gapFirst(us)]).toEqual([[gap], ['n4'], true])
    expect([recent.gaps(), recent.ids(), gapFirst(recent)]).toEqual([[gap], ['n3', 'n4', 'n5'], true])
    // Resuming at a held alert: everything after it is held, nothing was lost to it.
    expect([resumed.gaps(), resumed.ids()]).toEqual([[], ['n4', 'n5']])
    // Opened after the catch-up: no gap, what comes next.
    const later = fakeResponse(1_000_000)
    streams.open(later.req, later.res, { filter: {}, recent: 0 })
    feed.add(testAlert('live', { detectedAt: at(7) }), undefined, {
      partition: 0,
      offset: 5,
      timestamp: Date.parse(at(7)),
    })
    expect([later.gaps(), later.ids()]).toEqual([[], ['live']])
    expect(fresh.ids()).toEqual(['n3', 'n4', 'n5', 'live'])
    streams.closeAll()
  })

  it('starts each stream waiting for the catch-up at its end with what it needs, not a scan of the feed: 200 streams over 1,000 alerts', () => {
    const catchUp = createCatchUp()
    catchUp.setEnds([{ partition: 0, low: 0, high: 1_000 }])
    let newsAsked = 0
    const gate = {
      get caughtUp() {
        return catchUp.caughtUp
      },
      onCaughtUp: (f: () => void) => catchUp.onCaughtUp(f),
      isNews: (partition: number, offset: number) => {
        newsAsked++
        return catchUp.isNews(partition, offset)
      },
    }
    const feed = createAlertFeed(1_000)
    const streams = createAlertStreams(feed, { ...limits, maxStreams: 200 }, noEvents, gate)
    // Written a minute apart: a stream resumed at an alert is sent again those written within
    // RESUME_SLACK_MS before it.
    const t0 = Date.parse('2026-03-02T00:00:00Z')
    const add = (id: string, offset: number) =>
      feed.add(testAlert(id), undefined, { partition: 0, offset, timestamp: t0 + offset * 60_000 })
    const slack = RESUME_SLACK_MS / 60_000
    for (let i = 0; i < 500; i++) add(`h${i}`, i)
    const fresh = Array.from({ length: 100 }, () => fakeResponse(1_000_000))
    const resumed = Array.from({ length: 100 }, () => fakeResponse(1_000_000))
    for (const r of fresh) streams.open(r.req, r.res, { filter: {}, recent: 0 })
    resumed.forEach((r, i) => {
      streams.open(r.req, r.res, { filter: {}, recent: 0, lastEventId: `h${990 + (i % 10)}` })
    })
    for (let i = 500; i < 1_000; i++) add(`h${i}`, i)
    // News read with the last of what the topic held.
    for (let i = 1_000; i < 1_003; i++) add(`n${i}`, i)
    const parses = vi.spyOn(Date, 'parse')
    try {
      newsAsked = 0
      catchUp.position(0, 1_003)
      expect(catchUp.caughtUp).toBe(true)
      // What each was sent: the news; after its last seen, with those written within the slack before it.
      for (const r of fresh) expect(r.ids()).toEqual(['n1000', 'n1001', 'n1002'])
      resumed.forEach((r, i) => {
        const last = 990 + (i % 10)
        expect(r.ids()).toEqual([
          ...Array.from({ length: slack }, (_, k) => `h${last - slack + k}`),
          ...Array.from({ length: 999 - last }, (_, k) => `h${last + 1 + k}`),
          'n1000',
          'n1001',
          'n1002',
        ])
      })
      // What it cost: a scan of the feed for each was 100,000 news checks and 100,000 times parsed.
      expect(newsAsked).toBe(0)
      expect(parses.mock.calls.length).toBeLessThanOrEqual(100)
    } finally {
      parses.mockRestore()
    }
    streams.closeAll()
  })

  it("refuses a client's stream past its limit while another client's is opened; refuses at the total past it", () => {
    const feed = createAlertFeed(100)
    const refused: string[] = []
    const streams = createAlertStreams(
      feed,
      { ...limits, maxStreams: 3, maxStreamsPerClient: 2 },
      { ...noEvents, refused: (why) => refused.push(why) },
    )
    const open = (r: ReturnType<typeof fakeResponse>) => streams.open(r.req, r.res, { filter: {}, recent: 0 })
    const a = [readerFrom('10.0.0.1'), readerFrom('10.0.0.1'), readerFrom('10.0.0.1')]
    expect(a.map(open)).toEqual([true, true, 'client'])
    // Refused before anything was written: the route answers 429 on the same response.
    expect(a[2]!.state.text).toBe('')
    expect(streams.refusal(readerFrom('10.0.0.1').req)).toBe('client')
    expect(streams.refusal(readerFrom('10.0.0.2').req)).toBeUndefined()
    const b = [readerFrom('10.0.0.2'), readerFrom('10.0.0.2')]
    // The third stream fills the gateway: the next is refused at the total, whoever asks (its client under its
    // own limit, or at it).
    expect(b.map(open)).toEqual([true, 'total'])
    expect(streams.refusal(readerFrom('10.0.0.1').req)).toBe('total')
    expect([streams.size, streams.openBy('10.0.0.1'), streams.openBy('10.0.0.2'), streams.clients]).toEqual([
      3, 2, 1, 2,
    ])
    expect(refused).toEqual(['client', 'total'])
    streams.closeAll()
  })

  it('counts the streams of an IPv6 client by its /64, so rotating its addresses gets it no more; IPv4 by address, mapped or not', () => {
    const feed = createAlertFeed(100)
    const streams = createAlertStreams(feed, { ...limits, maxStreams: 10, maxStreamsPerClient: 2 }, noEvents)
    const open = (address: string) => {
      const r = readerFrom(address)
      return streams.open(r.req, r.res, { filter: {}, recent: 0 })
    }
    expect(['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:ffff:ffff:ffff:3'].map(open)).toEqual([
      true,
      true,
      'client',
    ])
    // The next /64 is another client.
    expect(['2001:db8:1:3::1', '2001:db8:1:3::2'].map(open)).toEqual([true, true])
    expect(['10.0.0.1', '::ffff:10.0.0.1', '10.0.0.1', '10.0.0.2'].map(open)).toEqual([
      true,
      true,
      'client',
      true,
    ])
    expect([streams.openBy('2001:db8:1:2::/64'), streams.openBy('10.0.0.1'), streams.clients]).toEqual([
      2, 2, 4,
    ])
    streams.closeAll()
  })

  it("gives a client's place back however its stream ends: reader gone, socket error, stall, age, stop", () => {
    vi.useFakeTimers()
    try {
      const feed = createAlertFeed(100)
      const streams = createAlertStreams(
        feed,
        {
          maxStreams: 10,
          maxStreamsPerClient: 5,
          heartbeatMs: 3_600_000,
          stallMs: 1_000,
          maxAgeMs: 10_000,
          random: () => 0,
        },
        noEvents,
      )
      const client = '10.0.0.1'
      const open = (r: ReturnType<typeof fakeResponse>) =>
        streams.open(r.req, r.res, { filter: {}, recent: 0 })
      const [gone, failed, stalled, aged] = [
        readerFrom(client),
        readerFrom(client),
        readerFrom(client, 100),
        readerFrom(client),
      ]
      for (const r of [gone, failed, stalled, aged]) expect(open(r)).toBe(true)
      expect([streams.openBy(client), streams.clients]).toEqual([4, 1])
      ;(gone.req as unknown as EventEmitter).emit('close')
      // A second close (the response's error after the request's close) gives back nothing more.
      ;(gone.req as unknown as EventEmitter).emit('close')
      expect(streams.openBy(client)).toBe(3)
      ;(failed.res as unknown as EventEmitter).emit('error', new Error('EPIPE'))
      expect(streams.openBy(client)).toBe(2)
      // Its socket full: closed after the stall time.
      feed.add(testAlert('big', { message: 'x'.repeat(500) }))
      vi.advanceTimersByTime(1_000)
      expect([stalled.state.destroyed, streams.openBy(client)]).toEqual([true, 1])
      vi.advanceTimersByTime(9_000)
      expect([aged.state.ended, streams.openBy(client), streams.clients]).toEqual([true, 0, 0])
      // The client's places are all free again; the gateway's stop (closeAll) gives them back too.
      const again = Array.from({ length: 5 }, () => readerFrom(client))
      expect(again.map(open)).toEqual([true, true, true, true, true])
      expect(open(readerFrom(client))).toBe('client')
      streams.closeAll()
      expect([streams.size, streams.openBy(client), streams.clients]).toEqual([0, 0, 0])
    } finally {
      vi.useRealTimers()
    }
  })

  it('limits no client when maxStreamsPerClient is absent, and keeps no client once its streams are gone', () => {
    const feed = createAlertFeed(100)
    const streams = createAlertStreams(feed, { ...limits, maxStreams: 3 }, noEvents)
    const readers = [readerFrom('10.0.0.1'), readerFrom('10.0.0.1'), readerFrom('10.0.0.1')]
    expect(readers.map((r) => streams.open(r.req, r.res, { filter: {}, recent: 0 }))).toEqual([
      true,
      true,
      true,
    ])
    for (const r of readers) (r.req as unknown as EventEmitter).emit('close')
    expect([streams.size, streams.clients]).toEqual([0, 0])
  })
})
