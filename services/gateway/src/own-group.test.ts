import { createCapturingLogger } from '@tradepulse/platform'
import { describe, expect, it } from 'vitest'
import { deleteOwnGroup, type GroupAdmin } from './own-group.ts'

/** An admin client whose calls are recorded; `deleteGroups` does what `onDelete` does. */
function fakeAdmin(opts: { connect?: () => Promise<void>; onDelete?: () => Promise<void> } = {}) {
  const calls: string[] = []
  const admin = {
    connect: async () => {
      calls.push('connect')
      await opts.connect?.()
    },
    deleteGroups: async (ids: string[]) => {
      calls.push(`delete ${ids.join(',')}`)
      await opts.onDelete?.()
      return ids.map((groupId) => ({ groupId, errorCode: 0 }))
    },
    disconnect: async () => {
      calls.push('disconnect')
    },
  } satisfies GroupAdmin
  return { admin, calls }
}

/** kafkajs's KafkaJSDeleteGroupsError, naming each group's error. */
const deleteGroupsError = (type: string) =>
  Object.assign(new Error('Error in DeleteGroups'), {
    name: 'KafkaJSDeleteGroupsError',
    groups: [{ groupId: 'g', errorCode: 1, error: { type } }],
  })

describe('deleting the gateway group', () => {
  it('deletes the group, then disconnects', async () => {
    const { admin, calls } = fakeAdmin()
    const { log, lines } = createCapturingLogger('debug')
    expect(await deleteOwnGroup(admin, 'tradepulse.gateway.host.1.abcd0123', log)).toBe('deleted')
    expect(calls).toEqual(['connect', 'delete tradepulse.gateway.host.1.abcd0123', 'disconnect'])
    expect(lines).toMatchObject([
      { msg: 'consumer group deleted', groupId: 'tradepulse.gateway.host.1.abcd0123' },
    ])
  })

  it('takes a group that is not there (its consumer never joined) as nothing to delete, with no warning', async () => {
    const { admin, calls } = fakeAdmin({
      onDelete: () => Promise.reject(deleteGroupsError('GROUP_ID_NOT_FOUND')),
    })
    const { log, lines } = createCapturingLogger('warn')
    expect(await deleteOwnGroup(admin, 'g', log)).toBe('absent')
    expect(calls.at(-1)).toBe('disconnect')
    expect(lines).toEqual([])
  })

  it('warns and goes on when Kafka refuses the deletion', async () => {
    const { admin, calls } = fakeAdmin({
      onDelete: () => Promise.reject(deleteGroupsError('NON_EMPTY_GROUP')),
    })
    const { log, lines } = createCapturingLogger('warn')
    expect(await deleteOwnGroup(admin, 'g', log)).toBe('failed')
    expect(calls.at(-1)).toBe('disconnect')
    expect(lines).toMatchObject([
      {
        level: 40,
        groupId: 'g',
        errors: ['NON_EMPTY_GROUP'],
        msg: expect.stringMatching(/^could not delete the consumer group.*offsets\.retention\.minutes/),
      },
    ])
  })

  it('gives up after its timeout when Kafka does not answer, with a warning; the attempt is disconnected once it ends', async () => {
    let answer = () => {}
    const { admin, calls } = fakeAdmin({
      connect: () => new Promise<void>((resolve) => (answer = () => resolve())),
    })
    const { log, lines } = createCapturingLogger('warn')
    const began = Date.now()
    expect(await deleteOwnGroup(admin, 'g', log, 50)).toBe('timed_out')
    expect(Date.now() - began).toBeLessThan(1_000)
    expect(calls).toEqual(['connect'])
    expect(lines).toMatchObject([
      {
        level: 40,
        groupId: 'g',
        timeoutMs: 50,
        msg: expect.stringMatching(/^consumer group deletion not done in time/),
      },
    ])
    // Kafka answers late: the group is deleted all the same and the client let go, nothing more logged.
    answer()
    await new Promise((resolve) => setImmediate(resolve))
    expect(calls).toEqual(['connect', 'delete g', 'disconnect'])
    expect(lines).toHaveLength(1)
  })
})
