import { closeRedis, createLogger } from '@tradepulse/platform'
import { clientNamed } from '@tradepulse/platform/redis-test-support'
import { randomName, startLocalRedis, waitFor } from '@tradepulse/testing'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { type AlertClaim, createRedisAlertStore } from './alert-store.ts'
import { createAlerterRedis } from './build-app.ts'

const H = 3_600_000
const T0 = Date.parse('2026-03-02T08:00:00Z')

/**
 * A claim whose connection closed before Redis ran it: ioredis sent it again on its next connection
 * (autoResendUnfulfilledCommands), however late, by which time the record's partition may be another
 * alerter's; that one decided the record otherwise (its rules reloaded, the headline too old by then) and
 * claimed nothing, and the late claim held the alert's id and cooled its stream down around an alert
 * nobody sends. The alerter's client fails the claim instead (its batch is tried again).
 */
describe('alerter: a claim lost with its connection is not sent again on the next one', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('the claim fails, and the next owner of the partition finds the stream as it left it', async () => {
    // A server of its own: its writes are held (CLIENT PAUSE) while the claim is on its way.
    const server = await startLocalRedis()
    cleanups.push(() => server.stop())
    const direct = new Redis(server.url)
    cleanups.push(() => direct.quit())
    const name = randomName('late-claim')
    const client = createAlerterRedis(
      { REDIS_URL: server.url, REDIS_TIMEOUT_MS: 60_000 },
      createLogger({ level: 'silent' }),
      name,
    )
    cleanups.push(() => closeRedis(client))
    const prefix = randomName('alerts')
    const options = { prefix, dedupWindowMs: 24 * H, hysteresisTtlMs: 24 * H }
    const store = createRedisAlertStore(client, options)
    const claim: AlertClaim = {
      stream: 'cn-tariff',
      alertId: `cn-tariff:${Math.floor(T0 / H)}`,
      eventMs: T0,
      cooldownMs: H,
      origin: 't.indicators/0/7',
    }
    expect(await store.claimedFor([claim.origin])).toEqual(new Map()) // connected
    const firstId = String(await client.client('ID'))
    const connection = () => clientNamed(direct, name)

    await direct.call('CLIENT', 'PAUSE', '60000', 'WRITE')
    cleanups.push(() => direct.call('CLIENT', 'UNPAUSE'))
    const late = store.claim([claim]).then(
      (decisions) => ({ decisions }),
      (err: unknown) => ({ failed: (err as Error).message }),
    )
    await waitFor(async () => (await connection())?.flags === 'b' || undefined, { what: 'the claim held' })
    // Its connection lost before the claim ran; the client connects again.
    await direct.call('CLIENT', 'KILL', 'ID', firstId)
    await waitFor(async () => ((await connection())?.id ?? firstId) !== firstId || undefined, {
      what: 'the client connected again',
    })
    await direct.call('CLIENT', 'UNPAUSE')
    expect(await late).toEqual({ failed: 'Connection is closed.' })
    await client.ping() // anything sent again on the new connection has run by then

    // The partition's next owner claimed nothing for the record; the stream's next alert, within the
    // hour's cooldown of the lost one, fires.
    const next = createRedisAlertStore(direct, options)
    expect(
      await next.claim([
        {
          ...claim,
          alertId: `cn-tariff:${Math.floor(T0 / H) + 1}`,
          eventMs: T0 + H / 2,
          origin: 't.indicators/0/9',
        },
      ]),
    ).toEqual(['fire'])
  })
})
