import { tcpProxy } from '@tradepulse/platform/net-test-support'
import { waitFor } from './wait-for.ts'

export type ReplyLosingProxyOptions = {
  /** The real Redis to forward to (`redis://host:port`). */
  redisUrl: string
  /**
   * Bytes that mark the request whose reply is lost: a key or a script's text, as the client writes it.
   * Looked for in each chunk the client writes (ioredis writes a command, or a pipeline, in one).
   */
  marker: string
  /** Whether Redis has run the marked request (its effects are there): the connection drops only then. */
  applied: () => Promise<boolean>
  /** What `applied` waits for, in the waitFor message should it never come (default "the request run in Redis"). */
  what?: string
}

export type ReplyLosingProxy = {
  /** Where the client under test connects instead of `redisUrl`. */
  url: string
  /** Connections dropped so far (1 once the marked request's reply was lost). */
  dropped: () => number
  /**
   * What Redis answered on the marked request's connection from that request on, kept from the client: the
   * marked request's reply first (empty until the marked request was sent).
   */
  withheld: () => Buffer
  /** Destroys every connection and stops listening. */
  close: () => Promise<void>
}

/**
 * A TCP proxy in front of a real Redis that loses the reply to the first request naming `marker`: from
 * that request on it forwards nothing back on its connection (`withheld` has it), and once `applied()` says
 * Redis ran it and an answer to it is held here, it drops the connection: a connection lost after the
 * request ran, before its reply came back (ioredis then sends the unanswered commands again on its next
 * connection: autoResendUnfulfilledCommands). Dropped as soon as `applied()` said so, the reply could
 * still be on its way from Redis, and would be lost with the connection whether held or not: a proxy
 * that forwarded it passed its own test that way. Every other connection, the client's reconnection
 * included, goes through untouched.
 *
 * For the tests of an answer lost after Redis acted on it: ingest's dedup claims
 * (services/ingest/src/retried-batch.int.test.ts), the aggregator's applies and claims of held-back
 * marks (services/aggregator/src/lost-answers.int.test.ts), the alerter's writes. A key or an argument
 * picks the first request naming it. A script's text picks the first write calling the script, not a
 * given call: a script run by EVAL carries its text every time, and one defined on the client
 * (defineCommand) carries it with its first call on a connection (ioredis) and, from a createRedis
 * client, with its first call in every pipeline (auto-pipelined calls included), its other calls going by
 * SHA (EVALSHA).
 */
export async function startReplyLosingProxy(options: ReplyLosingProxyOptions): Promise<ReplyLosingProxy> {
  const target = new URL(options.redisUrl)
  let armed = true
  let dropped = 0
  const withheld: Buffer[] = []
  const proxy = await tcpProxy(
    { host: target.hostname, port: Number(target.port || 6379) },
    (client, upstream) => {
      let holding = false
      const drop = () => client.destroy() // its pair closes with it
      client.on('data', (d: Buffer) => {
        upstream.write(d)
        if (!armed || !d.includes(options.marker)) return
        armed = false
        holding = true
        const what = options.what ?? 'the request run in Redis'
        waitFor(async () => withheld.length > 0 && (await options.applied()), { what }).then(() => {
          dropped++
          drop()
        }, drop) // never ran: dropped all the same, so the client is not left waiting (the test's own check fails)
      })
      upstream.on('data', (d: Buffer) => {
        if (holding) withheld.push(d)
        else client.write(d)
      })
    },
  )
  return {
    url: `redis://${proxy.host}:${proxy.port}`,
    dropped: () => dropped,
    withheld: () => Buffer.concat(withheld),
    close: proxy.close,
  }
}
