/** The most records whose claims' answers went missing that ingest remembers (the oldest forgotten first). */
export const UNANSWERED_CLAIMS_MAX = 100_000

/**
 * The records (by claimOrigin) whose dedup claims this process sent and never had the answer of: the claim
 * call failed (a reply timed out, the connection closed with it unanswered), though Redis may have made
 * the claims. Handled again, such a record's claim answers 'again', claimed by itself: the first claim,
 * never counted. A record is forgotten once its claim is answered. Bounded: a record whose partition went
 * to another member before it was answered would otherwise stay for good.
 */
export function createUnansweredClaims(max = UNANSWERED_CLAIMS_MAX) {
  const origins = new Set<string>()
  return {
    remember(batch: readonly string[]) {
      for (const origin of batch) {
        origins.delete(origin)
        origins.add(origin)
        if (origins.size > max) origins.delete(origins.values().next().value as string)
      }
    },
    /** Whether `origin`'s claim went unanswered before; forgotten either way, its claim now answered. */
    answered(origin: string): boolean {
      // Empty but after a Redis fault: no hashing of every record's origin on the hot path.
      return origins.size !== 0 && origins.delete(origin)
    },
    get size() {
      return origins.size
    },
  }
}
