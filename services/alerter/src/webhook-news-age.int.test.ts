import { REPLAY_HEADERS } from '@tradepulse/platform'
import { collectTopic, testInfra, testProducer, waitFor } from '@tradepulse/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { deskAlertValue, deskLaneTopics, startedDeskLane } from './kafka-set-up.ts'

const MIN_MS = 60_000
const HOUR_MS = 60 * MIN_MS
const DESK = 'tariff'
/** The lane's bound in these tests: ALERTER_WEBHOOK_MAX_NEWS_AGE_MS's default. */
const MAX_NEWS_AGE_MS = 15 * MIN_MS

/**
 * After an outage of the scorer or the alerter, the backlog's alerts are written to the desk topics as it
 * is caught up: each record is fresh (LogAppendTime, seconds old by its webhook turn), while the news it is
 * about is hours old. Its max age (ALERTER_WEBHOOK_MAX_AGE_MS) counts from the record, so the lane posted
 * them all, and desks were paged for hours-old news as if it had just broken.
 */
describe("a desk's webhook lane and the age of the news an alert is about (ALERTER_WEBHOOK_MAX_NEWS_AGE_MS)", () => {
  const { kafkaBrokers } = testInfra()
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  type DeskAlert = { id: string; publishedAt: string; ingestedAt: string; headers?: Record<string, string> }

  /** `alerts` on the desk topic now, as the alerter writes them (the topic's clock stamps the records). */
  async function writeAlerts(topic: string, alerts: DeskAlert[]) {
    const producer = await testProducer(kafkaBrokers)
    try {
      await producer.send({
        topic,
        messages: alerts.map((a) => ({
          key: a.id,
          value: deskAlertValue(a.id, { publishedAt: a.publishedAt, ingestedAt: a.ingestedAt }),
          headers: { ce_id: a.id, ...a.headers },
        })),
      })
    } finally {
      await producer.disconnect()
    }
  }

  /**
   * The desk's lane (news bound `maxNewsAgeMs`) over `alerts`: once all are settled, the ids posted, the
   * deliveries by result, and the dead letters written.
   */
  async function laneOver(alerts: DeskAlert[], maxNewsAgeMs = MAX_NEWS_AGE_MS) {
    const topics = await deskLaneTopics(kafkaBrokers, 'webhook-news-age', DESK)
    const dlq = await collectTopic(kafkaBrokers, topics.dlq.name)
    cleanups.push(() => dlq.stop())
    await writeAlerts(topics.deskAlerts(DESK).name, alerts)
    const lane = await startedDeskLane({
      kafkaBrokers,
      cleanups,
      topics,
      deskId: DESK,
      options: { maxNewsAgeMs },
    })
    const results = await waitFor(
      async () => {
        const counts = await lane.results()
        const settled = Object.values(counts).reduce((n, c) => n + c, 0)
        return settled >= alerts.length ? counts : false
      },
      { what: `${alerts.length} deliveries settled` },
    )
    await dlq.caughtUp()
    return { posted: lane.posted, results, letters: dlq.messages }
  }

  const ago = (ms: number) => new Date(Date.now() - ms).toISOString()
  const ahead = (ms: number) => new Date(Date.now() + ms).toISOString()

  it('does not post an alert about news older than the bound, written seconds ago, and posts a fresh one', async () => {
    // The backlog's alert: its headline published and ingested 3 h ago, its record written now.
    const out = await laneOver([
      { id: 'backlog-1', publishedAt: ago(3 * HOUR_MS), ingestedAt: ago(3 * HOUR_MS) },
      { id: 'fresh-1', publishedAt: ago(20_000), ingestedAt: ago(15_000) },
      // Published 20 min ago, ingested (a feed polled late) 1 min ago: the market knew it 20 min ago.
      { id: 'late-feed-1', publishedAt: ago(20 * MIN_MS), ingestedAt: ago(MIN_MS) },
    ])
    expect(out.posted).toEqual(['fresh-1'])
    // Counted as skipped, as the max age's are (result expired): no dead letter, the desk topic (and
    // alerts.v1) keep the alert.
    expect(out.results).toEqual({ delivered: 1, stale: 2 })
    expect(out.letters).toEqual([])
  })

  it('takes a headline dated ahead of its entry as entered then: a backlog alert dated 3 h ahead is not posted', async () => {
    // A future publishedAt (a feed's clock or time zone gone wrong) made the backlog's alert look fresh; the
    // market knew it when it entered the pipeline at the latest.
    const out = await laneOver([
      { id: 'ahead-backlog', publishedAt: ahead(3 * HOUR_MS), ingestedAt: ago(2 * HOUR_MS) },
      { id: 'ahead-fresh', publishedAt: ahead(3 * HOUR_MS), ingestedAt: ago(10_000) },
    ])
    expect(out.posted).toEqual(['ahead-fresh'])
    expect(out.results).toEqual({ delivered: 1, stale: 1 })
    expect(out.letters).toEqual([])
  })

  it("posts an operator's replay of a failed delivery (tp-dlq-replayed-at) whatever its news' age, and posts all with the bound off (0)", async () => {
    const replayed = { [REPLAY_HEADERS.replayedAt]: ago(5_000), [REPLAY_HEADERS.replayOf]: 'dlq[0]@7' }
    const out = await laneOver([
      { id: 'replayed-1', publishedAt: ago(3 * HOUR_MS), ingestedAt: ago(3 * HOUR_MS), headers: replayed },
      { id: 'backlog-2', publishedAt: ago(3 * HOUR_MS), ingestedAt: ago(3 * HOUR_MS) },
    ])
    expect(out.posted).toEqual(['replayed-1'])
    expect(out.results).toEqual({ delivered: 1, stale: 1 })

    const off = await laneOver(
      [{ id: 'backlog-3', publishedAt: ago(3 * HOUR_MS), ingestedAt: ago(3 * HOUR_MS) }],
      0,
    )
    expect(off.posted).toEqual(['backlog-3'])
    expect(off.results).toEqual({ delivered: 1 })
  })
})
