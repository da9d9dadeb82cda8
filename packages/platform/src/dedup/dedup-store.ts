/** The ingest worker's dedup port: one answer per claim, in order. */
export type DedupStore = {
  /** true: first sighting of the id (or a redelivery of the record that first claimed it); false: a duplicate. */
  claim(claims: { id: string; origin: string }[]): Promise<boolean[]>
  close(): Promise<void>
}
