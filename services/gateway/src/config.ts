import {
  aggregatorGraceMs,
  aggregatorMaxAheadMs,
  baseConfigShape,
  decimal,
  indicatorNamespace,
  parseAllowedHosts,
  topicsAutoCreate,
} from '@tradepulse/platform'
import { z } from 'zod'
import { MAX_ALERT_BYTES } from './gateway-handler.ts'
import { parseTrustedProxies } from './trusted-proxies.ts'

const count = (fallback: number, min: number, max: number, description: string) =>
  decimal(z.number().int().min(min).max(max)).default(fallback).describe(description)

/** GATEWAY_MAX_STREAMS_PER_CLIENT unset: a desk's tabs and scripts, far from the 200 streams of a gateway. */
export const DEFAULT_MAX_STREAMS_PER_CLIENT = 20
/** The most streams GATEWAY_MAX_STREAMS and GATEWAY_MAX_STREAMS_PER_CLIENT take. */
const MAX_STREAMS = 10_000
/**
 * The soonest a stream is closed, in percent of GATEWAY_STREAM_MAX_AGE_MS: each is closed after 90 to
 * 100 % of it (alert-stream.ts spreads them so), so a heartbeat interval at or past that share leaves
 * some streams closed before their first heartbeat.
 */
const SOONEST_AGE_PERCENT = 90

export const gatewayConfigShape = {
  ...baseConfigShape,
  GATEWAY_RECENT_ALERTS: count(
    1_000,
    1,
    100_000,
    'alerts the gateway holds in memory for GET /api/alerts and for streams that resume (newest kept), within GATEWAY_RECENT_ALERTS_MAX_BYTES; a record over 64 KB is skipped as no alert, so they take at most 64 KB each (64 MB at the default)',
  ),
  // At most 8 GiB: more than the count bound ever holds (100,000 alerts of 64 KiB, 6.1 GiB).
  GATEWAY_RECENT_ALERTS_MAX_BYTES: count(
    256 * 1024 * 1024,
    MAX_ALERT_BYTES,
    8 * 1024 * 1024 * 1024,
    'bytes the alerts the gateway holds may weigh together, each counted as its record\'s size: past it the oldest are evicted as past GATEWAY_RECENT_ALERTS (tradepulse_gateway_feed_evicted_total{reason="bytes"}); their heap is about 1 to 2 times this; at least 65536, one alert at the 64 KB limit',
  ),
  GATEWAY_ALERT_LISTS_MAX_UNSENT_BYTES: count(
    64 * 1024 * 1024,
    1024 * 1024,
    8 * 1024 * 1024 * 1024,
    'bytes of GET /api/alerts answers the gateway holds before their readers have taken them (each is held whole until sent: readers that take nothing would otherwise grow its memory without bound); while this much is held another list is a 503 {"error":"busy"} with Retry-After: 1 (tradepulse_gateway_alert_lists_refused_total), so at most this plus one answer (1,000 alerts) is held; an answer not sent within 60 s is cut (tradepulse_gateway_alert_lists_cut_total)',
  ),
  GATEWAY_MAX_INDICATOR_READS: count(
    16,
    1,
    1_000,
    'reads of the indicators in Redis (GET /api/indicators and /api/indicators/top) the gateway has in flight at once, a /top read shared by the readers asking the same within 1 s counted once; one more is a 503 {"error":"busy"} with Retry-After: 1 (tradepulse_gateway_indicator_reads_refused_total), so no number of readers or slowness of Redis has the gateway run more on the Redis the alerter and ingest share (a /top read fetches every scope of its kind, up to 1,000 hashes)',
  ),
  GATEWAY_MAX_STREAMS: count(
    200,
    1,
    MAX_STREAMS,
    'open alert streams (server-sent events) at once; one more is refused with 503',
  ),
  // Optional, not defaulted in the schema: the default depends on GATEWAY_MAX_STREAMS (streamsPerClient),
  // so a gateway configured with fewer streams in all than that is not refused for a value nobody set.
  GATEWAY_MAX_STREAMS_PER_CLIENT: decimal(z.number().int().min(1).max(MAX_STREAMS))
    .optional()
    .describe(
      `open alert streams of one client at once (its connection's remote address, or behind a proxy named in GATEWAY_TRUSTED_PROXIES the address that proxy forwards for; an IPv6 client is its /64, as a host may take any address in it), so one in a reconnect loop cannot take every place; one more is refused with 429 while the gateway has room; unset: ${DEFAULT_MAX_STREAMS_PER_CLIENT}, or GATEWAY_MAX_STREAMS if lower; at most GATEWAY_MAX_STREAMS. Behind a proxy or load balancer set GATEWAY_TRUSTED_PROXIES: else every reader has the proxy's address and all share this many`,
    ),
  // Optional, no default in the schema: unset, no forwarded header is read (the README table shows none).
  GATEWAY_TRUSTED_PROXIES: z
    .string()
    .transform((s, ctx) => {
      const p = parseTrustedProxies(s)
      if (p.ok) return p.value
      ctx.addIssue({ code: 'custom', message: p.error, params: { namesValue: true } })
      return z.NEVER
    })
    .optional()
    .describe(
      'comma-separated IP addresses and CIDR ranges (IPv4 and IPv6: 10.0.0.0/8,2001:db8::/32) of the proxies or load balancers in front of the gateway, each appending to X-Forwarded-For: a stream from one of them is counted for GATEWAY_MAX_STREAMS_PER_CLIENT as the first address of that header, read right to left, that is none of them; unset: none, the header is never read (any reader could set it and pass for many clients)',
    ),
  // Optional, no default in the schema: unset, the default depends on where HTTP_HOST binds (the health
  // server's defaultAllowedHosts, judged on the address it listens on).
  GATEWAY_ALLOWED_HOSTS: z
    .string()
    .transform((s, ctx) => {
      const p = parseAllowedHosts(s)
      if (p.ok) return p.value
      ctx.addIssue({ code: 'custom', message: p.error, params: { namesValue: true } })
      return z.NEVER
    })
    .optional()
    .describe(
      "comma-separated host names the gateway answers for (gateway.example.com,localhost), as a request's Host header names them, without port (any port is taken) or scheme, or * for any: a request naming another is a 421 Misdirected Request on every path (/api, the alert stream, /metrics, /healthz), so a page of a DNS-rebinding domain (one made to resolve to the gateway's address) in a browser that reaches the gateway cannot read it as its own origin; a Host that is an IP address (127.0.0.1:9405, a probe's or Prometheus's pod IP) is always taken, a page on one being of that address only; unset: with HTTP_HOST a loopback address (127.0.0.1, the default), localhost and HTTP_HOST's name only; bound elsewhere (0.0.0.0), any host, as a load balancer, Ingress or service name reaches it by (a container whose port is published on the host's loopback alone, as docker-compose.yml does, should set localhost); behind a proxy, give the names its clients use, or the name the proxy sends in Host",
    ),
  GATEWAY_STREAM_HEARTBEAT_MS: count(
    15_000,
    1_000,
    300_000,
    'a comment line on every idle alert stream this often, so proxies keep it open and readers see it alive; below 90 % of GATEWAY_STREAM_MAX_AGE_MS, the soonest a stream is closed',
  ),
  GATEWAY_STREAM_STALL_MS: count(
    60_000,
    1_000,
    3_600_000,
    'an alert stream whose socket stays full (its reader taking nothing) for this long is closed; heartbeats alone take hours to fill one, so GATEWAY_STREAM_MAX_AGE_MS bounds a reader that takes nothing; the reader resumes with Last-Event-ID',
  ),
  GATEWAY_STREAM_MAX_AGE_MS: count(
    3_600_000,
    1_000,
    86_400_000,
    'an alert stream is closed after at most this long open (each after 90 to 100 % of it, so streams opened together reconnect apart), so one whose reader takes nothing holds its place no longer; the reader resumes with Last-Event-ID',
  ),
  // The aggregator's variables, read here too: one environment serves both. The two times make the bound
  // past which an indicator's stored newest event is damaged (maxRefAheadMsOf), as the aggregator judges
  // it: such an indicator is left out of the answers.
  AGGREGATOR_GRACE_MS: aggregatorGraceMs(),
  AGGREGATOR_MAX_AHEAD_MS: aggregatorMaxAheadMs(),
  AGGREGATOR_REDIS_NAMESPACE: indicatorNamespace(),
  TOPICS_AUTO_CREATE: topicsAutoCreate(),
}
/** Whether `value` is one the variable's own schema takes (superRefine runs also when a field failed). */
const valid = (name: keyof typeof gatewayConfigShape, value: unknown) =>
  typeof value === 'number' && gatewayConfigShape[name].safeParse(String(value)).success

export const GatewayConfig = z.object(gatewayConfigShape).superRefine((c, ctx) => {
  // Above the total it would never bind: set so, the operator expects something it does not do. Zod runs
  // this also when a field failed: only two valid counts are compared.
  const [perClient, total] = [c.GATEWAY_MAX_STREAMS_PER_CLIENT, c.GATEWAY_MAX_STREAMS]
  if (perClient !== undefined && perClient <= MAX_STREAMS && total <= MAX_STREAMS && perClient > total)
    ctx.addIssue({
      code: 'custom',
      path: ['GATEWAY_MAX_STREAMS_PER_CLIENT'],
      message: `must be at most GATEWAY_MAX_STREAMS (got ${perClient} and ${total})`,
      params: { namesValue: true },
    })
  // A stream closed before its first heartbeat never has one: idle, a proxy may cut it, and its reader
  // cannot tell it alive. Only two valid values are compared (a field past its own bounds has its line).
  const [heartbeat, maxAge] = [c.GATEWAY_STREAM_HEARTBEAT_MS, c.GATEWAY_STREAM_MAX_AGE_MS]
  if (
    valid('GATEWAY_STREAM_HEARTBEAT_MS', heartbeat) &&
    valid('GATEWAY_STREAM_MAX_AGE_MS', maxAge) &&
    // In whole numbers: maxAge * 0.9 in floating point may land a hair past the bound.
    heartbeat * 100 >= maxAge * SOONEST_AGE_PERCENT
  )
    ctx.addIssue({
      code: 'custom',
      path: ['GATEWAY_STREAM_HEARTBEAT_MS'],
      message: `must be below ${SOONEST_AGE_PERCENT} % of GATEWAY_STREAM_MAX_AGE_MS, the soonest a stream is closed (got ${heartbeat} and ${maxAge}): a stream closed before its first heartbeat never has one`,
      params: { namesValue: true },
    })
})
export type GatewayConfig = z.infer<typeof GatewayConfig>

/** The streams one client may hold open at once: GATEWAY_MAX_STREAMS_PER_CLIENT, else the default or the total if lower. */
export const streamsPerClient = (
  c: Pick<GatewayConfig, 'GATEWAY_MAX_STREAMS' | 'GATEWAY_MAX_STREAMS_PER_CLIENT'>,
) => c.GATEWAY_MAX_STREAMS_PER_CLIENT ?? Math.min(DEFAULT_MAX_STREAMS_PER_CLIENT, c.GATEWAY_MAX_STREAMS)
export const GATEWAY_HTTP_PORT = 9405
