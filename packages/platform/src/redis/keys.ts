/** Dedup keys are spread over this many hash tags: one script call per shard per batch. */
export const DEDUP_SHARDS = 64

/** FNV-1a over UTF-16 units: cheap, stable across processes and versions. */
export function dedupShard(id: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) % DEDUP_SHARDS
}

/**
 * Every Redis key the platform's own stores write is built here. Keys carry a prefix (REDIS_KEY_PREFIX)
 * and a hash tag `{…}` around the part that decides the slot, so each Lua script touches one slot on
 * Redis Cluster. (Indicator keys are built in packages/indicators, next to the math that names them.)
 */
export function createKeys(prefix: string) {
  return {
    /** Ingest's dedup claim for one headline id; the tag is the id's shard. */
    dedup: (headlineId: string) => `${prefix}:dedup:{d${dedupShard(headlineId)}}:${headlineId}`,
    /**
     * The alerter's cooldown for one alert stream (packages/alerting cooldownKey: rule|dimension|scope|side):
     * the event time and id of the newest alert fired on it; beside it, `<this key>:fired` holds the event
     * times of all alerts fired within the dedup window (claim-alert-3.lua). Tagged by the stream, like
     * alertSent.
     */
    alertCooldown: (stream: string) => `${prefix}:alert:cd:{${stream}}`,
    /** The alerter's dedup mark of one alert id ("p" claimed, "s" sent); same tag as its stream's cooldown. */
    alertSent: (stream: string, alertId: string) => `${prefix}:alert:sent:{${stream}}:${alertId}`,
    /**
     * The alerter's outbox entry of one input record ("<topic>/<partition>/<offset>"): the alerts an attempt
     * claimed for it, as JSON, until its batch commits. Tagged by topic and partition, so a batch's records
     * of one partition are read by one MGET on Redis Cluster.
     */
    alertOutbox: (origin: string) => {
      const slash = origin.lastIndexOf('/')
      return `${prefix}:alert:outbox:{${origin.slice(0, Math.max(0, slash))}}:${origin.slice(slash + 1)}`
    },
    /** Hash of the alerter's hysteresis entries of one indicator (IndicatorUpdate.key), field = hysteresisKey. */
    alertHysteresis: (indicatorKey: string) => `${prefix}:alert:hys:{${indicatorKey}}`,
    /** Hash of the event-time points of a consumer group's partitions (redisAlignmentExchange), field = topic/partition. */
    alignPoints: (groupId: string) => `${prefix}:align:{${groupId}}`,
    /** The state marker (watchRedisState): a random epoch whose loss says Redis lost the prefix's data. */
    stateMarker: `${prefix}:state-marker`,
  }
}
export type Keys = ReturnType<typeof createKeys>
