/**
 * How a headline id's claim went: `first`, no claim was held within the window (a new headline); `again`,
 * the record claiming it held it already (its batch handled again after a give-up or a crash: published
 * again, since the earlier attempt's output may never have been sent, but not a new headline); `duplicate`,
 * another record holds it.
 */
export type ClaimAnswer = 'first' | 'again' | 'duplicate'

/**
 * What releasing a headline id's claim found: `released`, the releasing record held it (now free);
 * `other`, another record holds it (left alone); `absent`, nobody holds it (released already, or expired).
 */
export type ClaimRelease = 'released' | 'other' | 'absent'

/**
 * Who holds a claim: the claiming record's origin "<topic>/<partition>/<offset>", the value the claim keeps
 * for the window. A release names the record the same way, so it finds that record's claims.
 */
export const claimOrigin = (record: { topic: string; partition: number | string; offset: string }): string =>
  `${record.topic}/${record.partition}/${record.offset}`

/** One headline id claimed by the record that carries it, its origin (claimOrigin). */
export type HeadlineClaim = { id: string; origin: string }

/** The ingest worker's dedup port: one answer per claim or release, in order. */
export type DedupStore = {
  /** How each claim went: a first claim, a re-claim by the record that made it, or a duplicate. */
  claimHeadlines(claims: readonly HeadlineClaim[]): Promise<ClaimAnswer[]>
  /**
   * Releases, of the claims of `ids`, those the record `origin` holds (a headline Kafka refused for good,
   * so that a re-send of it within the window is taken); a claim another record holds is left alone.
   */
  releaseClaims(origin: string, ids: readonly string[]): Promise<ClaimRelease[]>
  close(): Promise<void>
}

/** A claim taken, its record passed on: a first claim or a re-claim; only a duplicate is dropped. */
export const isClaimTaken = (answer: ClaimAnswer): boolean => answer !== 'duplicate'
