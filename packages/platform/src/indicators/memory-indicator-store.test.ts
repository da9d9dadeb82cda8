import { createManualClock } from '@tradepulse/contracts'
import { describeIndicatorStoreConformance } from './indicator-store.conformance.ts'
import { createMemoryIndicatorStore } from './memory-indicator-store.ts'

describeIndicatorStoreConformance('memory', async (options) => {
  const store = createMemoryIndicatorStore({ clock: createManualClock(Date.UTC(2026, 0, 1)), ...options })
  return {
    store,
    ttlMs: async (dimension, scope) => store.ttlMs(dimension, scope),
    cleanup: async () => {},
  }
})
