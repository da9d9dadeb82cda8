import { connect } from 'node:net'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { randomName } from './random-name.ts'
import { startReplyLosingProxy } from './reply-losing-proxy.ts'
import { testInfra } from './test-env.ts'
import { waitFor } from './wait-for.ts'

describe('startReplyLosingProxy (real Redis)', () => {
  const { redisUrl } = testInfra()
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  /** A proxy losing the reply to the first request naming a key of the test's own, set once Redis ran it. */
  async function proxyLosing() {
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
    return { prefix, direct, marked, proxy }
  }

  it('forwards no byte of the reply to the marked request: its client sees the connection close without it', async () => {
    const { direct, marked, proxy } = await proxyLosing()
    // A bare RESP client, so that every byte that came back is seen (ioredis would resend the command).
    const { hostname, port } = new URL(proxy.url)
    const socket = connect(Number(port), hostname)
    cleanups.push(async () => socket.destroy())
    let received = ''
    socket.on('data', (d: Buffer) => {
      received += d.toString()
    })
    const closed = new Promise((resolve) => socket.once('close', resolve))

    socket.write('*1\r\n$4\r\nPING\r\n')
    await waitFor(() => received === '+PONG\r\n', { what: 'the PING answered through the proxy' })
    socket.write(`*2\r\n$4\r\nINCR\r\n$${Buffer.byteLength(marked)}\r\n${marked}\r\n`)
    await closed
    expect(received).toBe('+PONG\r\n')
    expect(proxy.withheld().toString()).toBe(':1\r\n')
    expect(proxy.dropped()).toBe(1)
    expect(await direct.get(marked)).toBe('1')
  })

  it("loses the reply to the first request naming the marker once Redis ran it, and the client's resend is answered on its new connection", async () => {
    const { prefix, direct, marked, proxy } = await proxyLosing()
    const client = new Redis(proxy.url)
    cleanups.push(async () => client.disconnect())

    expect(await client.set(`${prefix}:before`, '1')).toBe('OK')
    // Its reply is lost and the connection dropped; ioredis sends it again (autoResendUnfulfilledCommands).
    expect(await client.incr(marked)).toBe(2)
    expect(proxy.withheld().toString()).toBe(':1\r\n')
    expect(proxy.dropped()).toBe(1)
    expect(await direct.get(marked)).toBe('2')
    // Armed once: the reconnection and every later request go through untouched.
    expect(await client.incr(marked)).toBe(3)
    expect(await client.get(`${prefix}:before`)).toBe('1')
    expect(proxy.dropped()).toBe(1)
    expect(proxy.withheld().toString()).toBe(':1\r\n')
  })
})
