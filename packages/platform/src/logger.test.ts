import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createCapturingLogger, createLogger } from './logger.ts'

describe('createCapturingLogger', () => {
  it('keeps each line logged at or above its level, parsed, in order', () => {
    const { log, lines } = createCapturingLogger('warn')
    log.info('not kept')
    log.warn({ n: 1 }, 'first')
    log.error({ n: 2 }, 'second')
    expect(lines.map((l) => [l.level, l.msg, l.n])).toEqual([
      [40, 'first', 1],
      [50, 'second', 2],
    ])
  })
})

describe('createLogger', () => {
  /** The raw lines a logger writes (JSON.parse would hide a key given twice: it keeps the last). */
  const rawSink = () => {
    const raw: string[] = []
    const sink = new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        raw.push(...String(chunk).split('\n').filter(Boolean))
        done()
      },
    })
    return { raw, sink }
  }

  it("writes one component key for a component's child component, the path of both", () => {
    // A worker's log is log.child({ component: 'scorer' }), and its runner's and kafkajs's children of
    // that: every such line had "component" twice, a JSON object that strict log shippers refuse
    // (Elasticsearch: "Duplicate field") and that others read as either one.
    const { raw, sink } = rawSink()
    const log = createLogger({ level: 'info' }, sink)
    const runner = log.child({ component: 'scorer' }).child({ component: 'runner' })
    runner.info({ partition: 3 }, 'joined')
    runner.child({ component: 'kafkajs', kafka: 'Connection' }).warn('closed')
    log.child({ component: 'alerter' }).child({ desk: 'rates' }).info('posted')
    expect(raw.map((l) => l.match(/"component":/g)?.length)).toEqual([1, 1, 1])
    expect(raw.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ component: 'scorer/runner', partition: 3, msg: 'joined' }),
      expect.objectContaining({ component: 'scorer/runner/kafkajs', kafka: 'Connection', msg: 'closed' }),
      expect.objectContaining({ component: 'alerter', desk: 'rates', msg: 'posted' }),
    ])
    // The child's level and the parent's other bindings are kept.
    const quiet = log.child({ component: 'a', worker: 'w' }).child({ component: 'b' }, { level: 'error' })
    quiet.warn('not written')
    quiet.error('written')
    expect(JSON.parse(raw.at(-1)!)).toMatchObject({ component: 'a/b', worker: 'w', msg: 'written' })
    expect(raw).toHaveLength(4)
  })

  it('keeps secrets out of lines whatever the nesting', () => {
    const { raw, sink } = rawSink()
    const log = createLogger({ level: 'info' }, sink).child({ component: 'x' })
    log.info({ sasl: { mechanism: 'plain', username: 'u', password: 'pw-1' } }, 'a')
    log.info({ config: { REDIS_URL: 'redis://:pw-2@h:6379', KAFKA_SASL_PASSWORD: 'pw-3' } }, 'b')
    expect(raw.join('\n')).not.toMatch(/pw-/)
  })
})
