import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, inject, it, vi } from 'vitest'
import { TradepulseError } from '../errors.ts'
import { createLogger } from '../logger.ts'
import { closeRedis, createRedis } from '../redis-client.ts'
import { ownRedis } from '../redis-test-support.ts'
import { defineScript } from './define-script.ts'

// platform cannot depend on @tradepulse/testing: the int project's Redis comes from its global setup.
function redisUrl(): string {
  const provided = (inject as (key: string) => unknown)('redisUrl')
  return typeof provided === 'string' ? provided : (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
}

const silent = createLogger({ level: 'silent' })
const dir = mkdtempSync(join(tmpdir(), 'tp-define-script-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A script file of its own (random name), appending `<tag>:<ARGV[1]>` to the list KEYS[1]. */
function pushScript(tag: string): URL {
  const path = join(dir, `push-${tag}-${randomBytes(4).toString('hex')}.lua`)
  writeFileSync(path, `-- appends to KEYS[1]\nreturn redis.call('RPUSH', KEYS[1], '${tag}:' .. ARGV[1])\n`)
  return pathToFileURL(path)
}
const command = (name: string) => `tpTest${name}${randomBytes(4).toString('hex')}V1`

describe('defineScript on Redis', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })
  function client(url = redisUrl()): Redis {
    const redis = createRedis(url, silent, 'define-script')
    cleanups.push(() => closeRedis(redis))
    return redis
  }
  const newList = (redis: Redis) => {
    const list = `test:define-script:{${randomBytes(6).toString('hex')}}`
    cleanups.push(() => redis.unlink(list))
    return list
  }

  it('defines a script once per client, and calls it there and in a pipeline', async () => {
    const redis = client()
    const spec = { command: command('Push'), file: pushScript('A'), numberOfKeys: 1 }
    const define = vi.spyOn(redis, 'defineCommand')
    const push = defineScript<number>(redis, spec)
    const again = defineScript<number>(redis, spec)
    expect(define).toHaveBeenCalledTimes(1)
    expect(push.command).toBe(spec.command)
    expect(again.command).toBe(spec.command)

    const list = newList(redis)
    expect(await push(list, 1)).toBe(1)
    const pipeline = redis.pipeline()
    again.queue(pipeline, list, 2)
    pipeline.rpush(list, 'plain:3')
    expect(await pipeline.exec()).toEqual([
      [null, 2],
      [null, 3],
    ])
    expect(await redis.lrange(list, 0, -1)).toEqual(['A:1', 'A:2', 'plain:3'])

    // Another client defines it on its own.
    const other = client()
    const otherDefine = vi.spyOn(other, 'defineCommand')
    expect(await defineScript<number>(other, spec)(list, 4)).toBe(4)
    expect(otherDefine).toHaveBeenCalledTimes(1)
  })

  it('takes the number of keys from each call when the spec gives none', async () => {
    const redis = client()
    const push = defineScript<number>(redis, { command: command('PushN'), file: pushScript('N') })
    const list = newList(redis)
    expect(await push(1, list, 'x')).toBe(1)
    expect(await redis.lrange(list, 0, -1)).toEqual(['N:x'])
  })

  it('refuses a file it cannot read, and another script under a name already defined, naming both', async () => {
    const redis = client()
    const missing = pathToFileURL(join(dir, 'no-such-script-1.lua'))
    const name = command('Missing')
    expect(() => defineScript(redis, { command: name, file: missing })).toThrow(TradepulseError)
    expect(() => defineScript(redis, { command: name, file: missing })).toThrow(
      new RegExp(`cannot read the Lua script of Redis command ${name} from .*no-such-script-1\\.lua: ENOENT`),
    )
    expect(name in redis).toBe(false)

    const taken = command('Taken')
    defineScript(redis, { command: taken, file: pushScript('A'), numberOfKeys: 1 })
    expect(() => defineScript(redis, { command: taken, file: pushScript('B'), numberOfKeys: 1 })).toThrow(
      new RegExp(`Redis command ${taken} is already defined on this client, by another script`),
    )
    // A name ioredis has for a command of its own is no script of ours either.
    expect(() => defineScript(redis, { command: 'get', file: pushScript('C') })).toThrow(/already defined/)
  })

  it('refuses to queue on a pipeline made before the script was defined', () => {
    const redis = client()
    const early = redis.pipeline()
    const push = defineScript(redis, { command: command('Late'), file: pushScript('L'), numberOfKeys: 1 })
    expect(() => push.queue(early, 'k', 1)).toThrow(/this pipeline has no Redis command tpTestLate/)
  })

  it("runs a pipeline's calls in the order issued after SCRIPT FLUSH (sendScriptsInOrder)", async () => {
    // Its own server: SCRIPT FLUSH is the server's.
    const server = await ownRedis(cleanups)
    const url = `redis://127.0.0.1:${server.port}`
    const redis = client(url)
    const direct = client(url)
    const a = defineScript<number>(redis, {
      command: command('PushA'),
      file: pushScript('A'),
      numberOfKeys: 1,
    })
    const b = defineScript<number>(redis, {
      command: command('PushB'),
      file: pushScript('B'),
      numberOfKeys: 1,
    })
    const list = `test:define-script:{${randomBytes(6).toString('hex')}}`
    await a(`${list}:warm-up`, 0) // sent whole once on this connection: ioredis sends its SHA next
    await direct.script('FLUSH')
    const pipeline = redis.pipeline()
    a.queue(pipeline, list, 1)
    b.queue(pipeline, list, 2)
    pipeline.rpush(list, 'plain:3')
    a.queue(pipeline, list, 4)
    expect(await pipeline.exec()).toEqual([
      [null, 1],
      [null, 2],
      [null, 3],
      [null, 4],
    ])
    expect(await redis.lrange(list, 0, -1)).toEqual(['A:1', 'B:2', 'plain:3', 'A:4'])
    // And a call on its own after another flush: sent again whole.
    await direct.script('FLUSH')
    expect(await a(list, 5)).toBe(5)
  })
})
