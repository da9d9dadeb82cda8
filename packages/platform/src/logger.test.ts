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

  it('keeps secrets out at the top level of a line too, where a wildcard path does not reach', () => {
    const { raw, sink } = rawSink()
    const log = createLogger({ level: 'info' }, sink)
    log.info({ password: 'pw-1', secret: 'pw-2', token: 'pw-3', authorization: 'Bearer pw-4', n: 1 }, 'a')
    expect(raw.join('\n')).not.toMatch(/pw-/)
    expect(JSON.parse(raw[0]!)).toMatchObject({ password: '[redacted]', n: 1, msg: 'a' })
  })

  it("keeps credentials out of a logged error: a URL's in its text at any depth, a Redis AUTH's arguments", () => {
    // The error serializer copied them as they were: ioredis's error keeps the command it answered, and
    // the HELLO (or AUTH) that sets up a connection carries REDIS_URL's password; a message or a field
    // may quote a URL with its credentials (fetch's refusal of one quotes it whole).
    const { raw, sink } = rawSink()
    const log = createLogger({ level: 'info' }, sink)
    const refused = Object.assign(
      new Error('WRONGPASS invalid username-password pair or user is disabled.'),
      {
        name: 'ReplyError',
        command: { name: 'hello', args: ['3', 'AUTH', 'default', 'pw-1'] },
      },
    )
    log.warn({ err: refused }, 'Redis connection error')
    log.error({ err: new Error('wrapped', { cause: refused }) }, 'cause')
    log.error({ err: Object.assign(new Error('EXECABORT'), { previousErrors: [refused] }) }, 'transaction')
    const fetchRefusal = new TypeError(
      'Request cannot be constructed from a URL that includes credentials: https://desk:pw-2@hooks.example/x',
    )
    log.error({ err: Object.assign(fetchRefusal, { url: 'redis://:pw-3%2F@h:6379/0' }) }, 'url')
    log.error({ err: new AggregateError([new Error('rediss://u:pw-4@h down')], 'all failed') }, 'aggregate')
    // An error logged alone has its message for the line's; a message may quote a URL itself.
    log.error(new Error('given alone, redis://:pw-5@h'))
    log.warn({ desk: 'fx' }, 'POST https://desk:pw-6@hooks.example/x failed')
    expect(raw.join('\n')).not.toMatch(/pw-/)
    const lines = raw.map((l) => JSON.parse(l) as { err: Record<string, unknown> })
    // The rest of the error is as it was: what failed and where, the command's name.
    expect(lines[0]!.err).toMatchObject({
      type: 'Error',
      message: 'WRONGPASS invalid username-password pair or user is disabled.',
      command: { name: 'hello', args: '[redacted]' },
    })
    expect(lines[2]!.err.previousErrors).toEqual([
      expect.objectContaining({ message: refused.message, command: { name: 'hello', args: '[redacted]' } }),
    ])
    expect(lines[3]!.err).toMatchObject({
      message:
        'Request cannot be constructed from a URL that includes credentials: https://[redacted]@hooks.example/x',
      url: 'redis://[redacted]@h:6379/0',
    })
    // A path's "@" is no credentials: stacks keep their frames (pnpm's paths name versions so).
    const frame = 'at file:///app/node_modules/.pnpm/ioredis@6.0.0/node_modules/ioredis/built/x.js:1:2'
    log.error({ err: new Error(`failed ${frame}`) }, 'frame')
    expect(JSON.parse(raw.at(-1)!).err.message).toBe(`failed ${frame}`)
    // Other commands keep their arguments (the key of a WRONGTYPE is what an operator needs).
    log.error(
      { err: Object.assign(new Error('WRONGTYPE'), { command: { name: 'hget', args: ['k', 'f'] } }) },
      'k',
    )
    expect(JSON.parse(raw.at(-1)!).err.command).toEqual({ name: 'hget', args: ['k', 'f'] })
  })
})
