import { describe, expect, it } from 'vitest'
import { createTopicCatalogue, DESK_ID_RULE, DeskId, listTopics } from './topics.ts'

describe('desk ids', () => {
  const catalogue = createTopicCatalogue('')
  const refusal = (id: string) =>
    `invalid desk id ${JSON.stringify(id)}: a desk id is 1 to 63 characters of a-z, 0-9, "_" and "-", the first a letter or digit (it names the topic alerts.desk.<id>.v1)`

  it('states the rule the catalogue applies', () => {
    // It said "use [a-z0-9_-], 1-63 chars", which "_emea" and "-x" meet, and refused them.
    expect(DESK_ID_RULE).toBe(
      '1 to 63 characters of a-z, 0-9, "_" and "-", the first a letter or digit (it names the topic alerts.desk.<id>.v1)',
    )
    for (const id of ['_emea', '-x', 'd'.repeat(64), '', 'Fx', 'a b', 'a.b'])
      expect(() => catalogue.deskAlerts(id), id).toThrow(new Error(refusal(id)))
  })

  it('is one rule for the schema (desks file) and the topic catalogue', () => {
    for (const id of ['_emea', '-x', 'd'.repeat(64), '', 'Fx', 'a b', 'a.b']) {
      const r = DeskId.safeParse(id)
      expect(r.success ? [] : r.error.issues.map((i) => i.message), id).toEqual([refusal(id)])
    }
    for (const id of ['0', 'fx', 'a_-', 'd'.repeat(63)]) {
      expect(DeskId.parse(id)).toBe(id)
      expect(catalogue.deskAlerts(id).name).toBe(`alerts.desk.${id}.v1`)
    }
  })
})

describe('timestamp types', () => {
  const catalogue = createTopicCatalogue('p.')

  it("has the broker stamp the topics whose record times are read on other hosts than the writer's", () => {
    // The desk topics and alerts were CreateTime: a desk's webhook lane measured an alert's age by the
    // clock of the alerter that wrote it, and a fresh alert written 2 h behind was dropped as expired.
    expect(
      Object.fromEntries(listTopics(catalogue).map((t) => [t.name, t.timestampType ?? 'broker default'])),
    ).toEqual({
      // The producer's time is the headline's entry time, which ingest reads and dlq replay restores.
      'p.headlines.raw.v1': 'CreateTime',
      // Read by no one for its time (the payloads carry theirs): a host more than an hour ahead was
      // refused every record by Kafka 4 (INVALID_TIMESTAMP), its dead letters included.
      'p.headlines.v1': 'LogAppendTime',
      'p.headlines.scored.v1': 'LogAppendTime',
      'p.indicators.v1': 'LogAppendTime',
      'p.alerts.v1': 'LogAppendTime',
      'p.dlq.v1': 'LogAppendTime',
    })
    for (const id of ['tariff', 'fx'])
      expect(catalogue.deskAlerts(id)).toMatchObject({
        name: `p.alerts.desk.${id}.v1`,
        timestampType: 'LogAppendTime',
      })
  })
})
