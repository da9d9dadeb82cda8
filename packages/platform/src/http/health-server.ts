import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Registry } from 'prom-client'
import type { Health } from '../health.ts'

export type HttpRoute = (req: IncomingMessage, res: ServerResponse) => Promise<boolean> | boolean

/**
 * /healthz (200 unless failed), /readyz (200 only when ready: group joined, Redis answers) and
 * /metrics (Prometheus). Extra routes may be given by a worker (for example POST /headlines).
 */
export function createHealthServer(
  health: () => Promise<Health>,
  registry: Registry,
  routes: HttpRoute[] = [],
): Server {
  return createServer(async (req, res) => {
    try {
      const path = (req.url ?? '/').split('?')[0]
      if (req.method === 'GET' && (path === '/healthz' || path === '/readyz')) {
        const h = await health()
        const good = path === '/healthz' ? h.status !== 'failed' : h.ready
        res.writeHead(good ? 200 : 503, { 'content-type': 'application/json' })
        res.end(JSON.stringify(h))
        return
      }
      if (req.method === 'GET' && path === '/metrics') {
        res.writeHead(200, { 'content-type': registry.contentType })
        res.end(await registry.metrics())
        return
      }
      for (const route of routes) if (await route(req, res)) return
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'not_found' }))
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({ error: 'internal', message: err instanceof Error ? err.message : String(err) }),
      )
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

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve()
    server.close(() => resolve())
    server.closeAllConnections()
  })
}
