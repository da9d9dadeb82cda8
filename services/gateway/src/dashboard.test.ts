import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runInNewContext } from 'node:vm'
import { testAlert, waitFor } from '@tradepulse/testing'
import { describe, expect, it } from 'vitest'

/** An element as far as the page's script uses one. */
function element() {
  const listeners = new Map<string, (() => void)[]>()
  return {
    value: '',
    textContent: '',
    className: '',
    dataset: {},
    rows: [],
    append() {},
    prepend() {},
    replaceChildren() {},
    deleteRow() {},
    addEventListener(type: string, f: () => void) {
      listeners.set(type, [...(listeners.get(type) ?? []), f])
    },
    fire(type: string) {
      for (const f of listeners.get(type) ?? []) f()
    },
  }
}

/**
 * The dashboard's script run against stubs of the browser: its elements, an EventSource that never
 * opens, its interval (ticked by hand) and fetch (each request held until `answer()`).
 */
function runDashboard() {
  const html = readFileSync(join(import.meta.dirname, 'dashboard.html'), 'utf8')
  const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!
  const elements = new Map<string, ReturnType<typeof element>>()
  const byId = (id: string) => {
    if (!elements.has(id)) elements.set(id, element())
    return elements.get(id)!
  }
  byId('kind').value = 'region'
  byId('by').value = 'momentum'
  const ticks: (() => void)[] = []
  const requests: { url: string; answer: () => void }[] = []
  const fetch = (url: string) =>
    new Promise((resolve) =>
      requests.push({
        url,
        answer: () =>
          resolve({ ok: true, json: async () => ({ asOf: '2026-03-02T14:00:00.000Z', indicators: [] }) }),
      }),
    )
  /** The streams the page opened, newest last, each with its URL and listeners. */
  const sources: EventSource[] = []
  class EventSource {
    static CLOSED = 2
    readyState = 0
    readonly listeners = new Map<string, ((ev: object) => void)[]>()
    readonly url: string
    constructor(url: string) {
      this.url = url
      sources.push(this)
    }
    addEventListener(type: string, f: (ev: object) => void) {
      this.listeners.set(type, [...(this.listeners.get(type) ?? []), f])
    }
    /** Dispatches an event as the browser does, with the stream's last event id. */
    fire(type: string, ev: object = {}) {
      for (const f of this.listeners.get(type) ?? []) f(ev)
    }
    close() {}
  }
  const timeouts: (() => void)[] = []
  runInNewContext(script, {
    document: { getElementById: byId, createElement: element },
    EventSource,
    fetch,
    URLSearchParams,
    AbortSignal,
    setInterval: (f: () => void) => ticks.push(f),
    setTimeout: (f: () => void) => timeouts.push(f),
    clearTimeout: () => {},
  })
  return {
    requests,
    sources,
    /** Runs the timers set so far (the backoff before a stream is opened again). */
    runTimeouts: () => {
      for (const f of timeouts.splice(0)) f()
    },
    tick: () => {
      for (const f of ticks) f()
    },
    byId,
  }
}

describe('dashboard page', () => {
  it('skips a tick of the indicator tables while its last load is pending; a change then loads again once it is done', async () => {
    const page = runDashboard()
    const tops = () => page.requests.filter((r) => r.url.startsWith('api/indicators/top?'))
    expect(tops().map((r) => new URLSearchParams(r.url.split('?')[1]).get('dimension'))).toEqual(['tariff'])
    // The gateway slow to answer: ticks ask nothing more.
    for (let i = 0; i < 5; i++) page.tick()
    expect(tops()).toHaveLength(1)
    // A change of kind meanwhile is loaded once the pending load is done, not before and not at each tick.
    page.byId('kind').value = 'commodity'
    page.byId('kind').fire('change')
    expect(tops()).toHaveLength(1)
    tops()[0]!.answer()
    await waitFor(() => tops().length === 2, { what: "the second table's request" })
    page.tick()
    tops()[1]!.answer()
    await waitFor(() => tops().length === 3, { what: 'the load for the change' })
    expect(new URLSearchParams(tops()[2]!.url.split('?')[1]).get('kind')).toBe('commodity')
    tops()[2]!.answer()
    await waitFor(() => tops().length === 4, { what: 'its second table' })
    tops()[3]!.answer()
    // Done: the next tick loads again.
    await waitFor(
      () => {
        page.tick()
        return tops().length >= 5
      },
      { what: 'a tick loading once the loads are done' },
    )
    expect(tops()).toHaveLength(5)
  })

  it("opens a stream again after the stream's position (a mark's id), not after its last alert, so a filtered page is not told of a gap it never had", () => {
    const page = runDashboard()
    page.byId('severity').value = 'critical'
    page.byId('severity').fire('change')
    const first = page.sources.at(-1)!
    const query = new URLSearchParams(first.url.split('?')[1])
    expect([query.get('severity'), query.get('recent')]).toEqual(['critical', '50'])
    first.fire('alert', {
      lastEventId: 'crit-1@AAAAAAAAAAAA',
      data: JSON.stringify(testAlert('crit-1')),
    })
    // The info alerts after it passed over by the filter: the gateway marks the stream's position.
    first.fire('mark', { lastEventId: 'info-99@AAAAAAAAAAAA', data: '{}' })
    // The browser gives the stream up (a proxy's 502 while the gateway restarts): the page opens another.
    first.readyState = 2
    first.fire('error')
    page.runTimeouts()
    const reopened = page.sources.at(-1)!
    expect(reopened).not.toBe(first)
    // Before: lastEventId=crit-1@…, which the gateway had evicted since: a gap, though nothing was missed.
    expect(Object.fromEntries(new URLSearchParams(reopened.url.split('?')[1]))).toEqual({
      lastEventId: 'info-99@AAAAAAAAAAAA',
      severity: 'critical',
      marks: 'true',
    })
  })
})
