/**
 * Every Redis key the platform writes is built here. Keys carry a prefix (REDIS_KEY_PREFIX) and a hash
 * tag `{…}` around the part that decides the slot, so each Lua script touches one slot on Redis Cluster.
 */
export function createKeys(prefix: string) {
  return {
    /** Ingest's dedup claim for one headline id. */
    dedup: (headlineId: string) => `${prefix}:dedup:{${headlineId}}`,
  }
}
export type Keys = ReturnType<typeof createKeys>
