import type { InRecord, OutRecord } from '@tradepulse/platform'

/**
 * A record dropped as a duplicate of a headline whose claim a record of this process holds, that headline
 * not yet acknowledged by Kafka: the one to publish in that record's place should Kafka refuse its headline
 * for good (a feed's corrected re-send of a headline too large for the topic, sent before the first was
 * handled: in the same batch, or in the next chunk of the same fetch, whose handler runs while the one
 * before is being published). Its record is kept for the dead letter it gets if Kafka refuses its own
 * headline too.
 */
export type StandIn = { origin: string; record: InRecord; out: OutRecord }

export type StandIns = {
  /**
   * Notes that the record `holder` took the claim of the headline `id` (a first claim or a re-claim): its
   * headline is on its way to Kafka until `acknowledged(id)`.
   */
  claimed(id: string, holder: string): void
  /** The record of this process holding `id`'s claim whose headline Kafka has not acknowledged, if any. */
  holderOf(id: string): string | undefined
  /** Kafka acknowledged the headline `id`: its holder and stand-ins are forgotten. */
  acknowledged(id: string): void
  /**
   * Notes the stand-ins, in batch order, of the headline `id` the record `holder` claimed: after those
   * noted already for the same holder (a later chunk's), one of the same record replacing its earlier
   * note (a batch handled again); those of another holder are replaced.
   */
  add(id: string, holder: string, standIns: StandIn[]): void
  /** The headline id and stand-ins waiting on the record `holder`'s headline, if any. */
  of(holder: string): { id: string; standIns: StandIn[] } | undefined
  /**
   * Kafka refused the record `holder`'s headline for good, and `release` (under way) frees its claim: from
   * now on a duplicate of it claims again once `release` settles (refusedBy) rather than wait as a
   * stand-in (its stand-ins were taken as this was told); should that release fail, the duplicate is
   * added as a stand-in after all, for the letter's retry to publish (ingest-handler, c0fe584).
   */
  refused(holder: string, release: Promise<unknown>): void
  /** When `holder`'s headline was refused for good (refused): its release, settled or not. */
  refusedBy(holder: string): Promise<unknown> | undefined
  /** Forgets the stand-ins of `id`: its headline was published, or they were taken care of. */
  forget(id: string): void
  readonly size: number
}

/**
 * The stand-ins of headlines whose output is not yet acknowledged, for one ingest process: the handler
 * notes which record holds each claim it takes and the duplicates of those, the runner's producer
 * (watchRefusedHeadlines) takes the stand-ins when Kafka refuses their holder's headline, and forgets them
 * when it acknowledges it. Those of a batch given up before its output was sent (a rebalance) are never
 * forgotten so: the oldest go first past `maxIds` ids or `maxBytes` of record values (the records of a
 * batch in flight are held by the batch anyway), the oldest holders past `maxHolders` (a fetch's chunks in
 * flight on every partition at once are well within the default), the oldest refusals past `maxRefused`.
 */
export function createStandIns(
  opts: { maxIds?: number; maxBytes?: number; maxHolders?: number; maxRefused?: number } = {},
): StandIns {
  const maxIds = opts.maxIds ?? 1_000
  const maxBytes = opts.maxBytes ?? 64 * 1024 * 1024
  const maxHolders = opts.maxHolders ?? 100_000
  const maxRefused = opts.maxRefused ?? 1_000
  const byId = new Map<string, { holder: string; standIns: StandIn[]; bytes: number }>()
  const byHolder = new Map<string, string>()
  // Per headline id on its way to Kafka, the record holding its claim.
  const holders = new Map<string, string>()
  // Per holder whose headline Kafka refused for good, the release of its claim.
  const refusals = new Map<string, Promise<unknown>>()
  let bytes = 0

  const sizeOf = (s: StandIn) => (s.record.value?.length ?? 0) + Buffer.byteLength(s.out.value)

  const forget = (id: string) => {
    const entry = byId.get(id)
    if (!entry) return
    byId.delete(id)
    if (byHolder.get(entry.holder) === id) byHolder.delete(entry.holder)
    bytes -= entry.bytes
  }

  const of = (holder: string) => {
    const id = byHolder.get(holder)
    const entry = id === undefined ? undefined : byId.get(id)
    return id === undefined || !entry ? undefined : { id, standIns: entry.standIns }
  }

  return {
    claimed(id, holder) {
      holders.set(id, holder)
      if (holders.size > maxHolders) holders.delete(holders.keys().next().value as string)
    },
    holderOf: (id) => holders.get(id),
    acknowledged(id) {
      holders.delete(id)
      if (byId.size > 0) forget(id)
    },
    add(id, holder, standIns) {
      const entry = byId.get(id)
      if (entry && entry.holder === holder) {
        for (const s of standIns) {
          const at = entry.standIns.findIndex((e) => e.origin === s.origin)
          if (at >= 0) {
            entry.bytes -= sizeOf(entry.standIns[at]!)
            bytes -= sizeOf(entry.standIns[at]!)
            entry.standIns[at] = s
          } else entry.standIns.push(s)
          entry.bytes += sizeOf(s)
          bytes += sizeOf(s)
        }
      } else {
        forget(id)
        let size = 0
        for (const s of standIns) size += sizeOf(s)
        byId.set(id, { holder, standIns: [...standIns], bytes: size })
        byHolder.set(holder, id)
        bytes += size
      }
      for (const oldest of byId.keys()) {
        if (byId.size <= maxIds && bytes <= maxBytes) break
        if (oldest !== id) forget(oldest)
      }
    },
    of,
    refused(holder, release) {
      refusals.delete(holder)
      refusals.set(holder, release)
      if (refusals.size > maxRefused) refusals.delete(refusals.keys().next().value as string)
    },
    refusedBy: (holder) => refusals.get(holder),
    forget,
    get size() {
      return byId.size
    },
  }
}
