import {
  createCapturingLogger,
  createMemoryBus,
  createMemoryIndicatorStore,
  createMemoryTransport,
  type LogLine,
  loadConfig,
} from '@tradepulse/platform'
import { describe, expect, it } from 'vitest'
import { buildAggregatorApp } from './build-app.ts'
import { AggregatorConfig, catchUpHeapBytes, heapWarning } from './config.ts'

const MIB = 1_048_576
/**
 * v8's heap_size_limit as measured on Node 24: its default on a 64-bit host of 16 GB or more, and with
 * NODE_OPTIONS=--max-old-space-size=1024 (what docker-compose.yml gives the aggregator), 512 and 256.
 */
const DEFAULT_HEAP = 4288 * MIB
const OLD_SPACE_1024 = 1216 * MIB
const OLD_SPACE_512 = 704 * MIB
const OLD_SPACE_256 = 448 * MIB

const configOf = (env: Record<string, string> = {}) =>
  loadConfig(AggregatorConfig, {
    KAFKA_BROKERS: '127.0.0.1:1',
    REDIS_URL: 'redis://127.0.0.1:1',
    HTTP_PORT: '0',
    ...env,
  })

/** The aggregator built (not started) on an in-memory bus and store, with the heap limit given. */
function build(heapLimitBytes: number, env: Record<string, string> = {}) {
  const { log, lines } = createCapturingLogger<LogLine & { level: number }>()
  buildAggregatorApp(configOf(env), {
    log,
    transport: createMemoryTransport(createMemoryBus()),
    store: createMemoryIndicatorStore(),
    heapLimitBytes,
  })
  return lines.filter((l) => l.level >= 40 && /heap/.test(l.msg))
}

describe('aggregator start: the heap a catch-up needs at the fetch settings', () => {
  it('warns when the defaults may not fit the heap (a 512 MB heap died at 157,000 records), naming the setting, the partitions, the limit and both ways out', () => {
    const warned = build(OLD_SPACE_512)
    expect(warned).toHaveLength(1)
    const msg = warned[0]!.msg
    expect(msg).toContain('KAFKA_MAX_BYTES_PER_PARTITION=8388608 on up to 6 partitions')
    expect(msg).toContain('heap limit of 704 MB')
    expect(msg).toContain('NODE_OPTIONS=--max-old-space-size=1216')
    expect(msg).toMatch(/lower the fetch size \(KAFKA_MAX_BYTES_PER_PARTITION=\d+ or less\)/)
    expect(warned[0]).toMatchObject({ maxBytesPerPartition: 8_388_608, partitions: 6, heapLimitMib: 704 })
  })
  it('is silent with the defaults on a default heap, and on the heap docker-compose.yml sets', () => {
    expect(build(DEFAULT_HEAP)).toEqual([])
    expect(build(OLD_SPACE_1024)).toEqual([])
  })
  it('follows the fetch size and the partitions handled at once', () => {
    // 1 MiB a partition caught up the same backlog in a 256 MB heap (peak 181 MB).
    expect(build(OLD_SPACE_256, { KAFKA_MAX_BYTES_PER_PARTITION: '1048576' })).toEqual([])
    expect(build(OLD_SPACE_1024, { KAFKA_PARTITIONS_CONCURRENCY: '12' })).toHaveLength(1)
  })
  it('suggests a fetch size that fits the heap it has', () => {
    const w = heapWarning(configOf(), OLD_SPACE_256)!
    const fits = Number(/KAFKA_MAX_BYTES_PER_PARTITION=(\d+) or less/.exec(w.msg)![1])
    expect(fits).toBeGreaterThan(0)
    expect(
      catchUpHeapBytes({ KAFKA_MAX_BYTES_PER_PARTITION: fits, KAFKA_PARTITIONS_CONCURRENCY: 6 }),
    ).toBeLessThanOrEqual(OLD_SPACE_256)
    expect(
      heapWarning({ KAFKA_MAX_BYTES_PER_PARTITION: fits, KAFKA_PARTITIONS_CONCURRENCY: 6 }, OLD_SPACE_256),
    ).toBe(undefined)
  })
})
