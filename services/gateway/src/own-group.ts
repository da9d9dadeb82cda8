import type { Logger } from '@tradepulse/platform'

/**
 * Longest a stop waits for the gateway's own consumer group to be deleted: Kafka unreachable or slow,
 * the stop goes on without (a warning), well within SHUTDOWN_DEADLINE_MS.
 */
export const GROUP_DELETE_TIMEOUT_MS = 3_000

export type GroupDeletion = 'deleted' | 'absent' | 'failed' | 'timed_out'

/** What the deletion uses of a kafkajs admin client. */
export type GroupAdmin = {
  connect(): Promise<void>
  deleteGroups(groupIds: string[]): Promise<unknown>
  disconnect(): Promise<void>
}

/** The error type of each group a KafkaJSDeleteGroupsError names (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP…). */
function groupErrorTypes(err: unknown): string[] {
  const groups = (err as { groups?: { error?: { type?: unknown } }[] } | undefined)?.groups
  return Array.isArray(groups) ? groups.map((g) => String(g.error?.type ?? 'UNKNOWN')) : []
}

/**
 * Deletes the consumer group a gateway made for itself (`<prefix>gateway.<host>.<pid>.<random>`, new at
 * every start), once its consumer has left it, so stopped gateways do not leave a group each for lag
 * monitors to list. Never throws and never takes longer than `timeoutMs`: on a timeout or a failure it
 * logs a warning and the stop goes on (Kafka drops the group's offsets after offsets.retention.minutes);
 * a group that is not there (its consumer never joined) is no fault. A timed-out attempt is left to end
 * on its own, its admin client disconnected once it has.
 */
export async function deleteOwnGroup(
  admin: GroupAdmin,
  groupId: string,
  log: Logger,
  timeoutMs = GROUP_DELETE_TIMEOUT_MS,
): Promise<GroupDeletion> {
  let late = false
  const attempt = (async (): Promise<GroupDeletion> => {
    try {
      await admin.connect()
      await admin.deleteGroups([groupId])
      return 'deleted'
    } catch (err) {
      const types = groupErrorTypes(err)
      if (types.length > 0 && types.every((t) => t === 'GROUP_ID_NOT_FOUND')) return 'absent'
      const fields = { err, groupId, errors: types }
      const message =
        'could not delete the consumer group: it stays until Kafka drops its offsets (offsets.retention.minutes)'
      // After a timeout the stop has gone on, and said so.
      if (late) log.debug(fields, message)
      else log.warn(fields, message)
      return 'failed'
    } finally {
      await admin.disconnect().catch(() => {})
    }
  })()
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timed_out'>((resolve) => {
    timer = setTimeout(() => resolve('timed_out'), timeoutMs)
  })
  const result = await Promise.race([attempt, timedOut])
  clearTimeout(timer)
  if (result === 'timed_out') {
    late = true
    log.warn(
      { groupId, timeoutMs },
      'consumer group deletion not done in time (the stop goes on): a group left stays until Kafka drops its offsets (offsets.retention.minutes)',
    )
  }
  if (result === 'deleted') log.info({ groupId }, 'consumer group deleted')
  if (result === 'absent') log.debug({ groupId }, 'consumer group not there: nothing to delete')
  return result
}
