import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
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
}

/**
 * /healthz (200 unless failed), /readyz (200 only when ready: group joined, Redis answers) and
 * /metrics (Prometheus), each to GET and to HEAD (the same status and headers, no body: load balancers and
 * probes that check with HEAD); any other method on them is a 405 with `Allow: GET, HEAD`. Extra routes
 * may be given by a worker (for example POST /headlines) for any other path.
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
  return createServer(async (req, res) => {
    try {
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
}

export function listen(server: Server, port: number, host: string): Promise<number> {
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
