import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { randomName } from './random-name.ts'
import { startReplyLosingProxy } from './reply-losing-proxy.ts'
import { testInfra } from './test-env.ts'

describe('startReplyLosingProxy (real Redis)', () => {
  const { redisUrl } = testInfra()
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it("loses the reply to the first request naming the marker once Redis ran it, and the client's resend is answered on its new connection", async () => {
    const prefix = `${randomName('proxy')}.`.replace(/\W/g, '_')
    const direct = new Redis(redisUrl)
    cleanups.push(async () => {
      const keys = await direct.keys(`${prefix}*`)
      if (keys.length) await direct.unlink(...keys)
      await direct.quit()
    })
    const marked = `${prefix}:marked`
    const proxy = await startReplyLosingProxy({
      redisUrl,
      marker: marked,
      applied: async () => (await direct.get(marked)) !== null,
    })
    cleanups.push(proxy.close)
    const client = new Redis(proxy.url)
    cleanups.push(async () => client.disconnect())

    expect(await client.set(`${prefix}:before`, '1')).toBe('OK')
    // Its reply is lost and the connection dropped; ioredis sends it again (autoResendUnfulfilledCommands).
    expect(await client.incr(marked)).toBe(2)
    expect(proxy.dropped()).toBe(1)
    expect(await direct.get(marked)).toBe('2')
    // Armed once: the reconnection and every later request go through untouched.
    expect(await client.incr(marked)).toBe(3)
    expect(await client.get(`${prefix}:before`)).toBe('1')
    expect(proxy.dropped()).toBe(1)
  })
})
