// TEMPORARY micro-profile of the Redis store (deleted before hand-off).
import { contributionsOf, type Contribution } from '@tradepulse/indicators'
import { Redis } from 'ioredis'
import { scoredHeadline, seededRandom } from './indicator-fixtures.ts'
import { createRedisIndicatorStore } from './redis-indicator-store.ts'

const N = Number(process.env.N ?? 60000)
const random = seededRandom(3)
const T = Date.UTC(2025, 0, 6)
const span = 3 * 86_400_000
const pool = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i}`)
const regions = pool('R', 25), comms = pool('C', 12), sectors = pool('S', 12), cos = pool('E', 20)
const zipf = (xs: string[]) => xs[Math.floor(xs.length * random() ** 2)]!
const headlines = Array.from({ length: N }, (_, i) =>
  scoredHeadline(`b-${i}`, T + Math.floor((i * span) / N), {
    tariff: random() < 0.7 ? null : random() * 2 - 1,
    relevance: random(),
    supplyChain: random() < 0.85 ? null : random() * 2 - 1,
    market: random() * 2 - 1,
    uncertainty: random() < 0.5 ? 0 : random(),
    regions: random() < 0.5 ? [zipf(regions)] : [],
    commodities: random() < 0.15 ? [zipf(comms)] : [],
    sectors: random() < 0.15 ? [zipf(sectors)] : [],
    companies: random() < 0.08 ? [zipf(cos)] : [],
  }),
)
const all = headlines.flatMap(contributionsOf)
const runs: Contribution[][] = []
let run: Contribution[] = []
let start = all[0]!.eventMs
for (let b = 0; b < all.length; b++) {
  const c = all[b]!
  if (c.eventMs - start > 600_000) { runs.push(run); run = []; start = c.eventMs }
  run.push(c)
}
runs.push(run)
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6399')
await redis.flushall()
await redis.config('RESETSTAT')
const store = createRedisIndicatorStore(redis, { prefix: 'mb' })
const cpuOf = (i: string) => Number(/used_cpu_user:([\d.]+)/.exec(i)![1]) + Number(/used_cpu_sys:([\d.]+)/.exec(i)![1])
const cpu0 = cpuOf(await redis.info('cpu'))
const t = performance.now()
let applied = 0
for (const r of runs) applied += (await store.applyBatch(r)).applied
const ms = performance.now() - t
const stats = await redis.info('commandstats')
const cpu = await redis.info('cpu')
console.log(`${N} headlines, ${all.length} contributions, ${runs.length} runs, applied ${applied}: ${ms.toFixed(0)} ms = ${(N / ms * 1000).toFixed(0)} h/s`)
for (const l of stats.split('\n')) if (/evalsha|eval:|hgetall/.test(l)) console.log(l.trim())
console.log('redis cpu s', (cpuOf(cpu) - cpu0).toFixed(2))
let calls = 0
for (const m of stats.matchAll(/calls=(\d+)/g)) calls += Number(m[1])
console.log('cmds/headline', (calls / N).toFixed(2), 'keys', await redis.dbsize(), 'mem', (await redis.info('memory')).match(/used_memory:(\d+)/)?.[1])
await redis.quit()
