import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { TradepulseError } from '../errors.ts'
import { beforeSetStatus, IOREDIS_READ_FROM, ioredisInternals } from './ioredis-internals.ts'
import { sendScriptsInOrder } from './scripts-in-order.ts'

/** A client as the installed ioredis makes it, never connected (no socket, nothing to close). */
const lazyClient = () => new Redis({ lazyConnect: true })

/** A client whose `member` is missing, as in an ioredis that renamed or dropped it. */
function without(member: string): Redis {
  const client = lazyClient()
  Object.defineProperty(client, member, { value: undefined })
  return client
}

const failure = (run: () => unknown): unknown => {
  try {
    run()
  } catch (err) {
    return err
  }
  return undefined
}

describe('ioredisInternals, the guard on the ioredis internals our hooks use', () => {
  it('passes a client of the installed ioredis: every member is where the hooks read it', () => {
    const client = lazyClient()
    expect(() => ioredisInternals(client)).not.toThrow()
    client.disconnect()
  })

  it.each(['setStatus', 'sendCommand', 'offlineQueue', 'commandQueue', 'scriptsSet'])(
    'fails on a client without %s, naming it and the ioredis versions',
    (member) => {
      const err = failure(() => ioredisInternals(without(member)))
      expect(err).toBeInstanceOf(TradepulseError)
      expect((err as TradepulseError).code).toBe('INTERNAL')
      expect((err as TradepulseError).retriable).toBe(false)
      expect((err as Error).message).toMatch(new RegExp(`^ioredis \\S+ lacks ${member} on its client: `))
      expect((err as Error).message).toContain(`read from ioredis ${IOREDIS_READ_FROM}`)
      expect((err as Error).message).toContain('packages/platform/src/redis/ioredis-internals.ts')
    },
  )

  it("fails on a client whose defined scripts keep neither their text nor their calls' class where we read them", () => {
    const client = lazyClient()
    Object.defineProperty(client, 'defineCommand', {
      value(this: { scriptsSet: Record<string, unknown> }, name: string, definition: { lua: string }) {
        this.scriptsSet[name] = { source: definition.lua }
      },
    })
    const err = failure(() => ioredisInternals(client))
    expect(err).toBeInstanceOf(TradepulseError)
    expect((err as Error).message).toMatch(
      /^ioredis \S+ lacks scriptsSet entries \(Script lua, Command\) on its client/,
    )
    // The probe ran on a stand-in: the client itself got no script.
    expect((client as unknown as { scriptsSet: object }).scriptsSet).toEqual({})
  })

  it('makes the hook installers fail rather than hook nothing', () => {
    const noSend = without('sendCommand')
    expect(() => sendScriptsInOrder(noSend)).toThrow(/lacks sendCommand on its client/)
    const noStatus = without('setStatus')
    expect(() => beforeSetStatus(noStatus, () => {})).toThrow(/lacks setStatus on its client/)
  })
})
