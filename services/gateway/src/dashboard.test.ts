import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runInNewContext } from 'node:vm'
import { waitFor } from '@tradepulse/testing'
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
  class EventSource {
    static CLOSED = 2
    readyState = 0
    addEventListener() {}
    close() {}
  }
  runInNewContext(script, {
    document: { getElementById: byId, createElement: element },
    EventSource,
    fetch,
    URLSearchParams,
    AbortSignal,
    setInterval: (f: () => void) => ticks.push(f),
    setTimeout: () => 0,
    clearTimeout: () => {},
  })
  return {
    requests,
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
})
