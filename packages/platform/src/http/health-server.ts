import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { isIP, isIPv6 } from 'node:net'
import type { Registry } from 'prom-client'
import { TradepulseError } from '../errors.ts'
import type { Health } from '../health.ts'
import { createLogger, type Logger } from '../logger.ts'
import { answerFault, INTERNAL_FAULT } from './fault.ts'

export type HttpRoute = (req: IncomingMessage, res: ServerResponse) => Promise<boolean> | boolean

export type HealthServerOptions = {
  /**
   * Where a request that failed is logged, with its error and request id (the worker's logger). Without
   * it, a logger of its own on stderr: the error is never lost, nor put in the answer.
   */
  log?: Logger
  /**
   * The host names a request's Host header may name (its port is not checked), or `*` for any; a Host
   * that is an IP address is always taken (hostAllowed). Absent: defaultAllowedHosts of the address the
   * server listens on, `localhost` only on a loopback address, any on another.
   */
  allowedHosts?: AllowedHosts
  /** The variable that sets allowedHosts (GATEWAY_ALLOWED_HOSTS), named in the 421 of a Host refused. */
  allowedHostsVariable?: string
}

/** Host names (lower case, no trailing dot), or `*`: any. */
export type AllowedHosts = '*' | readonly string[]

/** One DNS name: labels of letters, digits, `-` and `_`, split by dots (lower case). */
const HOST_NAME = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/

/** `name` as compared: lower case, without the trailing dot of a fully qualified name. */
const nameOf = (name: string) => name.toLowerCase().replace(/\.$/, '')

/**
 * A list of host names for allowedHosts (GATEWAY_ALLOWED_HOSTS), comma-separated, or `*` alone for any;
 * what is wrong with each bad entry otherwise (one message naming them all). No port (the Host's is not
 * checked), no scheme or path, no wildcard but `*` alone. An IP address is taken (`127.0.0.1`, `[::1]`)
 * though one is always allowed.
 */
export function parseAllowedHosts(
  text: string,
): { ok: true; value: AllowedHosts } | { ok: false; error: string } {
  const entries = text.split(',').map((e) => e.trim())
  if (entries.length === 1 && entries[0] === '*') return { ok: true, value: '*' }
  const names: string[] = []
  const errors: string[] = []
  for (const entry of entries) {
    const q = JSON.stringify(entry)
    const bare = entry.startsWith('[') && entry.endsWith(']') ? entry.slice(1, -1) : entry
    if (entry === '') errors.push('an empty entry')
    else if (entry.includes('*'))
      errors.push(`${q}: "*" allows any host and is given alone; name each host otherwise (no wildcards)`)
    else if (entry.includes('/'))
      errors.push(
        `${q} is a URL or path: give the host name only, as a Host header names it (gateway.example.com)`,
      )
    else if (isIP(bare)) names.push(isIPv6(bare) ? bare.toLowerCase() : bare)
    else if (entry.includes(':'))
      errors.push(`${q} has a port: give the host name only (the Host header's port is not checked)`)
    else if (!HOST_NAME.test(nameOf(entry))) errors.push(`${q} is not a host name`)
    else names.push(nameOf(entry))
  }
  return errors.length > 0
    ? { ok: false, error: errors.join(', ') }
    : { ok: true, value: [...new Set(names)] }
}

/** Whether `address` is a loopback one: 127.0.0.0/8, ::1, or 127.x.x.x mapped to IPv6. */
const isLoopback = (address: string) => /^(::ffff:)?127\.\d+\.\d+\.\d+$/i.test(address) || address === '::1'

/**
 * The hosts a server answers for when none are given: bound to a loopback address, `localhost` and the
 * name it was bound by (`bound`, HTTP_HOST, when a name), and any IP address (hostAllowed); bound to
 * another (0.0.0.0, ::, an interface's address), any. A page of a rebinding domain (its name made to
 * resolve to 127.0.0.1) is then refused on loopback, where an operator's browser reaches the server;
 * bound further, the server answers whatever name its proxies, load balancer, Kubernetes probes and
 * Prometheus reach it by.
 */
export function defaultAllowedHosts(address: string, bound?: string): AllowedHosts {
  if (!isLoopback(address)) return '*'
  const names = ['localhost']
  if (bound !== undefined && !isIP(bound.replace(/^\[|\]$/g, '')) && HOST_NAME.test(nameOf(bound)))
    names.push(nameOf(bound))
  return [...new Set(names)]
}

/**
 * Whether a request whose Host header is `host` is answered: always when there is none (HTTP/1.0: no
 * browser sends a request without one), or it names an IP address (the page that sent it is of that
 * address, no other origin's: no rebinding; probes and Prometheus reach servers so), else when its name
 * (without port, in any case, with or without a trailing dot) is one of `allowed`, or `allowed` is `*`.
 * A Host that is no host[:port] is refused.
 */
export function hostAllowed(host: string | undefined, allowed: AllowedHosts): boolean {
  if (host === undefined || host === '' || allowed === '*') return true
  if (host.startsWith('[')) {
    const end = host.indexOf(']')
    return end > 0 && isIPv6(host.slice(1, end)) && /^(:\d*)?$/.test(host.slice(end + 1))
  }
  const m = /^([^:]+)(:\d*)?$/.exec(host)
  if (!m) return false
  const name = m[1]!
  return isIP(name) === 4 || allowed.includes(nameOf(name))
}

/** The host each server was bound by (listen's `host`): a name of it is answered for on loopback. */
const boundBy = new WeakMap<Server, string>()

/** The body of the 421 of a request whose Host is refused: the header named, not echoed (JSON, as every error). */
const misdirected = (variable: string | undefined, byDefault: boolean) =>
  JSON.stringify({
    error: 'misdirected_request',
    message: `the Host header names a host this server does not answer for${
      variable ? ` (${variable})` : byDefault ? ' (bound to loopback: localhost and IP addresses only)' : ''
    }`,
  })

/**
 * /healthz (200 unless failed), /readyz (200 only when ready: group joined, Redis answers) and
 * /metrics (Prometheus), each to GET and to HEAD (the same status and headers, no body: load balancers and
 * probes that check with HEAD); any other method on them is a 405 with `Allow: GET, HEAD`. Extra routes
 * may be given by a worker (for example POST /headlines) for any other path.
 *
 * A request whose Host header names a host the server does not answer for (opts.allowedHosts, by default
 * `localhost` and IP addresses only on a loopback address: defaultAllowedHosts) is a 421 Misdirected
 * Request of `{ error: 'misdirected_request', message }` naming the header, on any path, whatever the method, before anything else: a
 * page of a DNS-rebinding domain in a browser on the machine would otherwise read every route as its own
 * origin's (the server has no authentication).
 *
 * Anything that throws (a route, the health checks, a metric's collect) is a 500 of
 * `{ error: 'internal', message: 'internal error', requestId }`, the id also in `x-request-id` and on the
 * error-level 'request failed' log line that carries the error: its text (a client's, naming hosts and
 * ports) is never in the answer, which anyone who can reach the port may read. A response already under
 * way is cut instead.
 */
export function createHealthServer(
  health: () => Promise<Health>,
  registry: Registry,
  routes: HttpRoute[] = [],
  opts: HealthServerOptions = {},
): Server {
  let log = opts.log
  const logger = (): Logger => {
    log ??= createLogger({ level: 'info', pretty: false }).child({ component: 'health-server' })
    return log
  }
  let allowed = opts.allowedHosts
  const server = createServer(async (req, res) => {
    try {
      if (allowed === undefined) {
        const addr = server.address()
        allowed =
          typeof addr === 'object' && addr ? defaultAllowedHosts(addr.address, boundBy.get(server)) : '*'
      }
      if (!hostAllowed(req.headers.host, allowed)) {
        const body = misdirected(opts.allowedHostsVariable, opts.allowedHosts === undefined)
        res.writeHead(421, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
        })
        res.end(body)
        return
      }
      const path = (req.url ?? '/').split('?')[0]
      if (path === '/healthz' || path === '/readyz' || path === '/metrics') {
        // HEAD is answered as GET (load balancers and probes check with it), with the same status and
        // headers, Content-Length included, and no body. Any other method is a 405 naming the two.
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          const body = JSON.stringify({ error: 'method_not_allowed' })
          res.writeHead(405, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            allow: 'GET, HEAD',
          })
          res.end(body)
          return
        }
        let status = 200
        let type: string
        let body: string
        if (path === '/metrics') {
          // Collected before the head is written: a collect that throws is a 500, not a 200 cut short.
          body = await registry.metrics()
          type = registry.contentType
        } else {
          const h = await health()
          status = (path === '/healthz' ? h.status !== 'failed' : h.ready) ? 200 : 503
          body = JSON.stringify(h)
          type = 'application/json'
        }
        res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) })
        if (req.method === 'HEAD') res.end()
        else res.end(body)
        return
      }
      for (const route of routes) if (await route(req, res)) return
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'not_found' }))
    } catch (err) {
      answerFault(req, res, INTERNAL_FAULT, err, logger())
    }
  })
  return server
}

export function listen(server: Server, port: number, host: string): Promise<number> {
  boundBy.set(server, host)
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      const addr = server.address()
      resolve(typeof addr === 'object' && addr ? addr.port : port)
    })
  })
}

/**
 * The configuration error for a health server that could not listen on `host`:`port`, naming the
 * variable to fix: HTTP_PORT for a port in use or not allowed, HTTP_HOST for a host that cannot be looked
 * up or is no address of this machine. `portSet`: whether HTTP_PORT was given (else the port is the
 * worker's default).
 */
export function listenFailure(
  err: unknown,
  at: { host: string; port: number; portSet: boolean },
): TradepulseError {
  const e = (err ?? {}) as { code?: unknown; syscall?: unknown; message?: unknown }
  const code = typeof e.code === 'string' ? e.code : ''
  const why = typeof e.message === 'string' ? e.message : String(err)
  const port = at.portSet ? `HTTP_PORT=${at.port}` : `HTTP_PORT (unset: this worker's default, ${at.port})`
  const host = `HTTP_HOST=${JSON.stringify(at.host)}`
  let line: string
  if (code === 'EADDRINUSE')
    line = `${port}: the port is in use on ${at.host} (${why}); set HTTP_PORT to a free port, or 0 for any`
  else if (code === 'EACCES' || code === 'EPERM')
    line = `${port}: not allowed to listen on it (${why}); ports below 1024 need privileges`
  else if (e.syscall === 'getaddrinfo' || code === 'ENOTFOUND' || code.startsWith('EAI_'))
    line = `${host}: the host cannot be looked up (${why}); give an address or name of this machine (127.0.0.1, 0.0.0.0, ::)`
  else if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT' || code === 'EINVAL')
    line = `${host}: not an address of this machine (${why})`
  else line = `${host}, ${port}: cannot listen there (${why})`
  return new TradepulseError('CONFIG_INVALID', `invalid configuration: ${line}`, { cause: err })
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve()
    server.close(() => resolve())
    server.closeAllConnections()
  })
}
