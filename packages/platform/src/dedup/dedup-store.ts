/**
 * How a headline id's claim went: `first`, no claim was held within the window (a new headline); `again`,
 * the record claiming it held it already (its batch handled again after a give-up or a crash: published
 * again, since the earlier attempt's output may never have been sent, but not a new headline); `duplicate`,
 * another record holds it.
 */
export type ClaimAnswer = 'first' | 'again' | 'duplicate'

/** The ingest worker's dedup port: one answer per claim, in order. */
export type DedupStore = {
  /** How each claim went: a first claim, a re-claim by the record that made it, or a duplicate. */
  claimHeadlines(claims: { id: string; origin: string }[]): Promise<ClaimAnswer[]>
  /** true: first sighting of the id (or a redelivery of the record that first claimed it); false: a duplicate. */
  claim(claims: { id: string; origin: string }[]): Promise<boolean[]>
  close(): Promise<void>
}

/** A claim taken, its record passed on: a first claim or a re-claim; only a duplicate is dropped. */
export const isClaimTaken = (answer: ClaimAnswer): boolean => answer !== 'duplicate'
