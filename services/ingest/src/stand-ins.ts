import type { InRecord, OutRecord } from '@tradepulse/platform'

/**
 * A record dropped as a duplicate of a headline an earlier record of its own batch claimed: the one to
 * publish in that record's place should Kafka refuse its headline for good (a feed's corrected re-send of
 * a headline too large for the topic, sent before the first was handled). Its record is kept for the dead
 * letter it gets if Kafka refuses its own headline too.
 */
export type StandIn = { origin: string; record: InRecord; out: OutRecord }

export type StandIns = {
  /**
   * Notes the stand-ins, in batch order, of the headline `id` the record `holder` claimed in the same
   * handler call (a batch handled again notes them again, replacing the earlier ones).
   */
  add(id: string, holder: string, standIns: StandIn[]): void
  /** The headline id and stand-ins waiting on the record `holder`'s headline, if any. */
  of(holder: string): { id: string; standIns: StandIn[] } | undefined
  /** Forgets the stand-ins of `id`: its headline was published, or they were taken care of. */
  forget(id: string): void
  readonly size: number
}

/**
 * The stand-ins of headlines whose output is not yet acknowledged, for one ingest process: the handler
 * notes them, the runner's producer (watchRefusedHeadlines) takes them when Kafka refuses their holder's
 * headline, and forgets them when it acknowledges it. Those of a batch given up before its output was
 * sent (a rebalance) are never forgotten so: the oldest go first past `maxIds` ids or `maxBytes` of
 * record values (the records of a batch in flight are held by the batch anyway).
 */
export function createStandIns(opts: { maxIds?: number; maxBytes?: number } = {}): StandIns {
  const maxIds = opts.maxIds ?? 1_000
  const maxBytes = opts.maxBytes ?? 64 * 1024 * 1024
  const byId = new Map<string, { holder: string; standIns: StandIn[]; bytes: number }>()
  const byHolder = new Map<string, string>()
  let bytes = 0

  const forget = (id: string) => {
    const entry = byId.get(id)
    if (!entry) return
    byId.delete(id)
    if (byHolder.get(entry.holder) === id) byHolder.delete(entry.holder)
    bytes -= entry.bytes
  }

  return {
    add(id, holder, standIns) {
      forget(id)
      let size = 0
      for (const s of standIns) size += (s.record.value?.length ?? 0) + Buffer.byteLength(s.out.value)
      byId.set(id, { holder, standIns, bytes: size })
      byHolder.set(holder, id)
      bytes += size
      for (const oldest of byId.keys()) {
        if (byId.size <= maxIds && bytes <= maxBytes) break
        if (oldest !== id) forget(oldest)
      }
    },
    of(holder) {
      const id = byHolder.get(holder)
      const entry = id === undefined ? undefined : byId.get(id)
      return id === undefined || !entry ? undefined : { id, standIns: entry.standIns }
    },
    forget,
    get size() {
      return byId.size
    },
  }
}
