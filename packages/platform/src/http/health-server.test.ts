import { Gauge, Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import type { Health } from '../health.ts'
import { createCapturingLogger } from '../logger.ts'
import { closeServer, createHealthServer, type HttpRoute, listen, listenFailure } from './health-server.ts'

const err = (code: string, message: string, extra: object = {}) =>
  Object.assign(new Error(message), { code, ...extra })

describe('listenFailure', () => {
  it('names HTTP_PORT for a port in use or not allowed, saying when it is the default', () => {
    const inUse = listenFailure(
      err('EADDRINUSE', 'listen EADDRINUSE: address already in use 127.0.0.1:9401'),
      {
        host: '127.0.0.1',
        port: 9401,
        portSet: false,
      },
    )
    expect(inUse).toMatchObject({
      code: 'CONFIG_INVALID',
      message:
        "invalid configuration: HTTP_PORT (unset: this worker's default, 9401): the port is in use on 127.0.0.1 (listen EADDRINUSE: address already in use 127.0.0.1:9401); set HTTP_PORT to a free port, or 0 for any",
    })
    expect(
      listenFailure(err('EACCES', 'listen EACCES: permission denied 0.0.0.0:80'), {
        host: '0.0.0.0',
        port: 80,
        portSet: true,
      }).message,
    ).toMatch(/^invalid configuration: HTTP_PORT=80: not allowed to listen on it/)
  })

  it('names HTTP_HOST for a host that cannot be looked up or is no address of this machine', () => {
    const at = { host: 'nowhere.invalid', port: 0, portSet: true }
    expect(
      listenFailure(
        err('EAI_AGAIN', 'getaddrinfo EAI_AGAIN nowhere.invalid', { syscall: 'getaddrinfo' }),
        at,
      ),
    ).toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(
        /^invalid configuration: HTTP_HOST="nowhere\.invalid": the host cannot be looked up/,
      ),
    })
    expect(
      listenFailure(err('EADDRNOTAVAIL', 'listen EADDRNOTAVAIL: address not available 10.9.9.9'), {
        host: '10.9.9.9',
        port: 0,
        portSet: true,
      }).message,
    ).toBe(
      'invalid configuration: HTTP_HOST="10.9.9.9": not an address of this machine (listen EADDRNOTAVAIL: address not available 10.9.9.9)',
    )
  })
})

describe('createHealthServer: a route or page that throws', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  // What a client's error says: a host, a port and the client's own wording, for the log only.
  const leaky = () => new Error('connect ECONNREFUSED 10.20.30.40:6379 (redis-primary.internal)')
  const LEAKS = /10\.20\.30\.40|6379|redis-primary|ECONNREFUSED/

  async function serve(
    opts: { health?: () => Promise<Health>; registry?: Registry; routes?: HttpRoute[] } = {},
  ) {
    const { log, lines } = createCapturingLogger()
    const server = createHealthServer(
      opts.health ?? (async () => ({ status: 'ok', ready: true, checks: {} })),
      opts.registry ?? new Registry(),
      opts.routes ?? [],
      { log },
    )
    const port = await listen(server, 0, '127.0.0.1')
    cleanups.push(() => closeServer(server))
    const get = async (path: string, init?: RequestInit) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, init)
      return { status: res.status, headers: res.headers, text: await res.text() }
    }
    return { get, lines }
  }

  const throwingRoute: HttpRoute = (req) => {
    if ((req.url ?? '').startsWith('/boom')) throw leaky()
    return false
  }

  it('answers 500 with a fixed body and a request id, the error only in the log line with that id', async () => {
    const { get, lines } = await serve({ routes: [throwingRoute] })
    const res = await get('/boom?x=1')
    expect(res.status).toBe(500)
    expect(res.text).not.toMatch(LEAKS)
    const body = JSON.parse(res.text)
    expect(body).toEqual({ error: 'internal', message: 'internal error', requestId: expect.any(String) })
    expect(body.requestId).toMatch(/^[0-9a-f-]{36}$/)
    expect(res.headers.get('x-request-id')).toBe(body.requestId)
    const failed = lines.filter((l) => l.msg === 'request failed')
    expect(failed).toEqual([
      expect.objectContaining({
        level: 50,
        requestId: body.requestId,
        method: 'GET',
        path: '/boom',
        err: expect.objectContaining({ message: leaky().message }),
      }),
    ])
    // Each request its own id.
    expect(JSON.parse((await get('/boom')).text).requestId).not.toBe(body.requestId)
  })

  it('keeps a proxy x-request-id of a safe form, and replaces any other', async () => {
    const { get, lines } = await serve({ routes: [throwingRoute] })
    const kept = await get('/boom', { headers: { 'x-request-id': 'edge-7f3a.91:2' } })
    expect(JSON.parse(kept.text).requestId).toBe('edge-7f3a.91:2')
    expect(kept.headers.get('x-request-id')).toBe('edge-7f3a.91:2')
    const replaced = await get('/boom', { headers: { 'x-request-id': 'a b<script>' } })
    expect(JSON.parse(replaced.text).requestId).toMatch(/^[0-9a-f-]{36}$/)
    expect(lines.map((l) => l.requestId)).toEqual(['edge-7f3a.91:2', JSON.parse(replaced.text).requestId])
  })

  it('answers /metrics and /readyz that throw the same way', async () => {
    const registry = new Registry()
    registry.metrics = async () => {
      throw leaky()
    }
    const { get, lines } = await serve({
      registry,
      health: async () => {
        throw leaky()
      },
    })
    for (const path of ['/metrics', '/readyz', '/healthz']) {
      const res = await get(path)
      expect(res.status, path).toBe(500)
      expect(res.text, path).not.toMatch(LEAKS)
      expect(JSON.parse(res.text)).toMatchObject({ error: 'internal', message: 'internal error' })
    }
    expect(lines.map((l) => l.path)).toEqual(['/metrics', '/readyz', '/healthz'])
  })

  it('cuts a response already under way rather than appending a JSON body to it', async () => {
    const halfway: HttpRoute = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('partial ')
      throw leaky()
    }
    const { get, lines } = await serve({ routes: [halfway] })
    const res = await get('/any').then(
      (r) => r,
      (err: unknown) => err,
    )
    // The body is cut (fetch fails reading it), never completed with the error.
    expect(res).toBeInstanceOf(Error)
    expect(lines.map((l) => l.msg)).toEqual(['request failed'])
  })
})

describe('createHealthServer: methods on /healthz, /readyz and /metrics', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  async function serve(health: Health, routes: HttpRoute[] = []) {
    const registry = new Registry()
    new Gauge({ name: 'probe_gauge', help: 'a metric to show', registers: [registry] }).set(3)
    const server = createHealthServer(async () => health, registry, routes, {
      log: createCapturingLogger().log,
    })
    const port = await listen(server, 0, '127.0.0.1')
    cleanups.push(() => closeServer(server))
    return async (method: string, path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { method })
      return {
        status: res.status,
        type: res.headers.get('content-type'),
        length: res.headers.get('content-length'),
        allow: res.headers.get('allow'),
        text: await res.text(),
      }
    }
  }

  it('answers HEAD as GET, with the same status and headers and no body (load balancers and probes check with HEAD)', async () => {
    // HEAD was a 404 on every one of them: a load balancer checking with it saw every worker down.
    for (const [health, healthz, readyz] of [
      [{ status: 'ok', ready: true, checks: {} }, 200, 200],
      [{ status: 'degraded', ready: false, checks: {} }, 200, 503],
      [{ status: 'failed', ready: false, checks: {} }, 503, 503],
    ] as const) {
      const ask = await serve(health)
      for (const [path, status] of [
        ['/healthz', healthz],
        ['/readyz', readyz],
        ['/metrics', 200],
        ['/healthz?probe=1', healthz],
      ] as const) {
        const get = await ask('GET', path)
        const head = await ask('HEAD', path)
        expect(head.status, `HEAD ${path}`).toBe(status)
        expect(get.status, `GET ${path}`).toBe(status)
        expect(get.text.length, `GET ${path}`).toBeGreaterThan(0)
        expect(get.length, `GET ${path}`).toBe(String(Buffer.byteLength(get.text)))
        expect(head, `HEAD ${path}`).toEqual({ ...get, text: '' })
      }
    }
  })

  it('answers any other method there 405 with Allow: GET, HEAD; an unknown path stays 404', async () => {
    // A route of the worker's is not asked for these paths, whatever the method.
    const claimsAll: HttpRoute = (_req, res) => {
      res.writeHead(418)
      res.end()
      return true
    }
    const ask = await serve({ status: 'ok', ready: true, checks: {} })
    for (const path of ['/healthz', '/readyz', '/metrics'])
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
        const res = await ask(method, path)
        expect(res.status, `${method} ${path}`).toBe(405)
        expect(res.allow, `${method} ${path}`).toBe('GET, HEAD')
        expect(JSON.parse(res.text), `${method} ${path}`).toEqual({ error: 'method_not_allowed' })
      }
    for (const method of ['GET', 'HEAD', 'POST']) {
      const res = await ask(method, '/nowhere')
      expect(res.status, `${method} /nowhere`).toBe(404)
      expect(res.allow).toBeNull()
    }
    const routed = await serve({ status: 'ok', ready: true, checks: {} }, [claimsAll])
    expect((await routed('POST', '/healthz')).status).toBe(405)
    expect((await routed('POST', '/headlines')).status).toBe(418)
  })
})
