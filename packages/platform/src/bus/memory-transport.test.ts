import { createMemoryBus } from './memory-bus.ts'
import { createMemoryTransport } from './memory-transport.ts'
import { describeTransportConformance } from './transport.conformance.ts'

describeTransportConformance('in-memory bus', async () => {
  const bus = createMemoryBus()
  return {
    transport: createMemoryTransport(bus),
    env: {},
    produce: async (records) => bus.produce(records),
    read: async (topic) => {
      const out: { key: string | null; value: string; partition: number }[] = []
      for (let p = 0; p < bus.partitions(topic); p++) {
        for (const r of bus.read(topic, p, 0, Number.MAX_SAFE_INTEGER)) {
          out.push({ key: r.key?.toString() ?? null, value: r.value?.toString() ?? '', partition: p })
        }
      }
      return out
    },
    close: async () => {},
  }
})
