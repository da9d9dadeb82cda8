import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { contributionsOf, createIndicatorKeys } from '@tradepulse/indicators'
import { afterEach, describe, expect, it } from 'vitest'
import { MIN_MS, scoredHeadline, T0 } from '../indicators/indicator-fixtures.ts'
import type { ScriptCaller } from '../indicators/indicator-scripts.ts'
import { INDICATOR_STORE_DEFAULTS } from '../indicators/indicator-store-options.ts'
import { createRedisIndicatorStore } from '../indicators/redis-indicator-store.ts'
import { createLogger } from '../logger.ts'
import { tcpProxy } from '../net-test-support.ts'
import { closeRedis, createRedis } from '../redis-client.ts'
import { ownRedis } from '../redis-test-support.ts'

/** Where the first command of a client's RESP request ends in `buf` (its byte count), or undefined. */
function firstCommandEnd(buf: Buffer): number | undefined {
  let at = 0
  const line = () => {
    const end = buf.indexOf('\r\n', at)
    if (end < 0) return undefined
    const text = buf.toString('latin1', at + 1, end) // after '*' or '$'
    at = end + 2
    return Number(text)
  }
  const args = line()
  if (args === undefined) return undefined
  for (let i = 0; i < args; i++) {
    const length = line()
    if (length === undefined) return undefined
    at += length + 2
    if (at > buf.length) return undefined
  }
  return at
}

/**
 * A TCP proxy in front of a Redis that can cut a client's write: after `splitNext`, it forwards the first
 * command of the client's next write alone and holds the rest, and whatever the client writes after it,
 * until `release` (in order). `firstAnswered` settles once Redis has answered that first command. Stands
 * for Redis serving other clients between two commands of one pipeline, which it does when the pipeline
 * comes in several reads (a large one), deterministically.
 */
async function splittingProxy(port: number) {
  let armed = false
  let answered = () => {}
  let release = () => {}
  const proxy = await tcpProxy({ host: '127.0.0.1', port }, (client, upstream) => {
    let pending = Buffer.alloc(0)
    let held: Buffer[] | undefined
    let waiting = false
    client.on('data', (d: Buffer) => {
      if (held) return void held.push(d)
      if (!armed) return void upstream.write(d)
      pending = Buffer.concat([pending, d])
      const end = firstCommandEnd(pending)
      if (end === undefined) return
      armed = false
      waiting = true
      held = [pending.subarray(end)]
      upstream.write(pending.subarray(0, end))
      release = () => {
        for (const b of held ?? []) upstream.write(b)
        held = undefined
      }
    })
    upstream.on('data', (d: Buffer) => {
      client.write(d)
      if (waiting) {
        waiting = false
        answered()
      }
    })
  })
  return {
    ...proxy,
    splitNext(): { firstAnswered: Promise<void> } {
      armed = true
      return { firstAnswered: new Promise<void>((resolve) => (answered = resolve)) }
    },
    release: () => release(),
  }
}

/** Lua appending `<tag>:<ARGV[1]>` to the list KEYS[1]: the order calls ran in, read back. */
const pushLua = (tag: string) => `return redis.call('RPUSH', KEYS[1], '${tag}:' .. ARGV[1])`

describe('createRedis: script calls run in the order they were issued, after SCRIPT FLUSH too', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })
  const silent = createLogger({ level: 'silent' })

  /** A client of the test's own server (SCRIPT FLUSH is the server's), through `url` if given. */
  async function clients(url?: (port: number) => Promise<string>) {
    const server = await ownRedis(cleanups)
    const direct = createRedis(`redis://127.0.0.1:${server.port}`, silent, 'direct')
    cleanups.push(() => closeRedis(direct))
    const redis = createRedis(
      url ? await url(server.port) : `redis://127.0.0.1:${server.port}`,
      silent,
      'ordered',
    )
    cleanups.push(() => closeRedis(redis))
    return { redis, direct }
  }

  it('in a pipeline of two scripts and a plain command, and auto-pipelined', async () => {
    // ioredis sends a script by its SHA once the connection has sent it whole; after SCRIPT FLUSH Redis
    // answers NOSCRIPT, and ioredis sends that call again (whole) on its own, after everything written
    // meanwhile: the rest of the pipeline, a script it sends whole the first time, other callers'.
    const { redis, direct } = await clients()
    redis.defineCommand('pushA', { numberOfKeys: 1, lua: pushLua('A') })
    redis.defineCommand('pushB', { numberOfKeys: 1, lua: pushLua('B') })
    const call = (on: unknown, name: string, ...args: (string | number)[]) =>
      (on as ScriptCaller)[name]!(...args) as Promise<unknown>
    await call(redis, 'pushA', 'warm-up', 0) // sent whole once on this connection: ioredis sends its SHA next
    const list = `tp-order-${randomBytes(4).toString('hex')}`
    await direct.script('FLUSH')
    const pipeline = redis.pipeline()
    call(pipeline, 'pushA', list, 1)
    call(pipeline, 'pushB', list, 2)
    pipeline.rpush(list, 'plain:3')
    call(pipeline, 'pushA', list, 4)
    expect(await pipeline.exec()).toEqual([
      [null, 1],
      [null, 2],
      [null, 3],
      [null, 4],
    ])
    expect(await redis.lrange(list, 0, -1)).toEqual(['A:1', 'B:2', 'plain:3', 'A:4'])

    // Issued one after the other without waiting: one auto-pipeline (createRedis), as the alerter's claims.
    await direct.script('FLUSH')
    await Promise.all([call(redis, 'pushA', `${list}:auto`, 1), redis.rpush(`${list}:auto`, 'plain:2')])
    expect(await redis.lrange(`${list}:auto`, 0, -1)).toEqual(['A:1', 'plain:2'])
  })

  it("names a call sent whole by EVALSHA and the script's SHA in its error reply, not by its text", async () => {
    // As every other call of the script is named (the reply breaker compares the command Redis refused),
    // and no log holds a script's text (ioredis named its own first call of a script on a connection so).
    const { redis } = await clients()
    const lua = "return redis.error_reply('TPTEST refused')"
    redis.defineCommand('refuse', { numberOfKeys: 1, lua })
    const pipeline = redis.pipeline()
    ;(pipeline as unknown as ScriptCaller).refuse!('tp-refused', 'x')
    const err = (await pipeline.exec())?.[0]?.[0] as (Error & { command?: unknown }) | null | undefined
    expect(err).toMatchObject({ message: 'TPTEST refused' })
    expect(err?.command).toEqual({
      name: 'evalsha',
      args: [createHash('sha1').update(lua).digest('hex'), '1', 'tp-refused', 'x'],
    })
  })

  it("the indicator store's admissions, when another client loads the script between two calls of a pipeline", async () => {
    // After SCRIPT FLUSH every worker's next calls get NOSCRIPT and load the scripts again, each at its own
    // moment: one may land between two calls of another worker's pipeline. The first call got NOSCRIPT,
    // the second ran, and ioredis ran the first again after it: the runs' admissions reversed (with a cap
    // of one region, the second run's region admitted and the first's folded into "other").
    let proxy: Awaited<ReturnType<typeof splittingProxy>> | undefined
    const { redis, direct } = await clients(async (port) => {
      proxy = await splittingProxy(port)
      cleanups.push(proxy.close)
      return `redis://${proxy.host}:${proxy.port}`
    })
    const run = (id: string, region: string, eventMs: number) =>
      contributionsOf(scoredHeadline(id, eventMs, { tariff: 0.5, regions: [region] }))
    const prefix = `tp-admit-${randomBytes(4).toString('hex')}`
    // Another store on the same client sends the scripts whole: by their SHA from now on.
    await createRedisIndicatorStore(redis, { prefix: `${prefix}-warm-up` }).applyBatch(run('w', 'DE', T0))
    await direct.script('FLUSH')
    const store = createRedisIndicatorStore(redis, { prefix, maxScopesPerKind: 1 })
    const split = proxy!.splitNext()
    const applied = store.applyRuns([run('a', 'CN', T0), run('b', 'US', T0 + MIN_MS)])
    await split.firstAnswered
    const admitScopes = readFileSync(join(import.meta.dirname, '../indicators/lua/admitScopes-1.lua'), 'utf8')
    await direct.script('LOAD', admitScopes) // another worker's client
    proxy!.release()
    const [a, b] = await applied
    expect(a!.folded).toBeUndefined()
    expect(new Set(b!.folded?.map((f) => f.scope.id))).toEqual(new Set(['US']))
    const registry = createIndicatorKeys(prefix, INDICATOR_STORE_DEFAULTS.namespace).scopes('region')
    expect(await direct.zrange(registry, '0', '-1')).toEqual(['CN'])
  })
})
