import { request } from 'node:http'
import { Gauge, Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import type { Health } from '../health.ts'
import { createCapturingLogger } from '../logger.ts'
import {
  type AllowedHosts,
  closeServer,
  createHealthServer,
  defaultAllowedHosts,
  type HttpRoute,
  listen,
  listenFailure,
  parseAllowedHosts,
} from './health-server.ts'

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

describe('createHealthServer: the Host header (DNS rebinding)', () => {
  const cleanups: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  const REBOUND = 'rebind.attacker.example'

  /** A server bound to `bindHost`, with a route of its own (/headlines), and how to ask it with a Host. */
  async function serve(bindHost: string, opts: { allowedHosts?: AllowedHosts; variable?: string } = {}) {
    const routed = { calls: 0 }
    const route: HttpRoute = (req, res) => {
      if (!req.url?.startsWith('/headlines')) return false
      routed.calls++
      res.writeHead(202)
      res.end()
      return true
    }
    const server = createHealthServer(
      async () => ({ status: 'ok', ready: true, checks: {} }),
      new Registry(),
      [route],
      {
        log: createCapturingLogger().log,
        ...(opts.allowedHosts !== undefined ? { allowedHosts: opts.allowedHosts } : {}),
        ...(opts.variable ? { allowedHostsVariable: opts.variable } : {}),
      },
    )
    const port = await listen(server, 0, bindHost)
    cleanups.push(() => closeServer(server))
    /** Sent to 127.0.0.1 (where a rebinding domain resolves) with `host` as its Host header. */
    const ask = (host: string, path = '/healthz', method = 'GET') =>
      new Promise<{ status: number; type: string | undefined; text: string }>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port, path, method, headers: { host }, agent: false },
          (res) => {
            let text = ''
            res.setEncoding('utf8')
            res.on('data', (c) => {
              text += c
            })
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], text }),
            )
          },
        )
        req.on('error', reject)
        req.end()
      })
    return { port, ask, routed }
  }

  it("bound to loopback, refuses a rebinding domain's Host with 421 on every path and method, and takes localhost and IP addresses at any port", async () => {
    // Any Host was answered: a page of a domain made to resolve to 127.0.0.1 read /metrics as its own.
    const { port, ask, routed } = await serve('127.0.0.1')
    for (const [path, method] of [
      ['/healthz', 'GET'],
      ['/readyz', 'HEAD'],
      ['/metrics', 'GET'],
      ['/headlines', 'POST'],
      ['/nowhere', 'GET'],
    ] as const) {
      const r = await ask(`${REBOUND}:${port}`, path, method)
      expect(r.status, `${method} ${path}`).toBe(421)
      if (method !== 'HEAD')
        expect(JSON.parse(r.text), path).toEqual({
          error: 'misdirected_request',
          message: expect.stringMatching(/^the Host header names a host this server does not answer for/),
        })
      expect(r.type).toBe('application/json')
    }
    expect(routed.calls).toBe(0)
    for (const host of [
      REBOUND,
      `127.0.0.1.${REBOUND}:${port}`,
      `localhost.${REBOUND}`,
      `${REBOUND}:`,
      'a:b:c',
    ])
      expect((await ask(host)).status, host).toBe(421)
    // The refusal does not echo the Host it refuses.
    expect((await ask(`${REBOUND}:${port}`, '/metrics')).text).not.toContain(REBOUND)
    for (const host of [
      `localhost:${port}`,
      'localhost',
      `LocalHost.:${port}`,
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
      '10.1.2.3:9400',
    ])
      expect((await ask(host)).status, host).toBe(200)
    expect((await ask(`localhost:${port}`, '/metrics')).status).toBe(200)
    expect((await ask(`127.0.0.1:${port}`, '/headlines', 'POST')).status).toBe(202)
  })

  it("bound to 0.0.0.0, takes any Host by default (a probe's pod IP, a service or load balancer name), where a loopback bind refuses the name", async () => {
    const any = await serve('0.0.0.0')
    const loopback = await serve('127.0.0.1')
    for (const host of ['10.244.1.7:9400', 'gateway.tradepulse.svc.cluster.local:9400', 'alerts.example.com'])
      for (const path of ['/healthz', '/readyz', '/metrics'])
        expect((await any.ask(host, path)).status, `${host} ${path}`).toBe(200)
    expect((await loopback.ask('gateway.tradepulse.svc.cluster.local:9400')).status).toBe(421)
    expect((await loopback.ask('10.244.1.7:9400')).status).toBe(200)
  })

  it('answers the hosts given, `*` any; an IP address always, and names the variable in the refusal', async () => {
    const star = await serve('127.0.0.1', { allowedHosts: '*' })
    expect((await star.ask(`${REBOUND}:${star.port}`, '/metrics')).status).toBe(200)
    const named = await serve('0.0.0.0', {
      allowedHosts: ['alerts.example.com'],
      variable: 'GATEWAY_ALLOWED_HOSTS',
    })
    for (const host of ['alerts.example.com', 'ALERTS.example.com.:443', '10.244.1.7:9400', '[fd00::7]:9400'])
      expect((await named.ask(host)).status, host).toBe(200)
    const refused = await named.ask(`${REBOUND}:${named.port}`, '/metrics')
    expect([refused.status, JSON.parse(refused.text)]).toEqual([
      421,
      {
        error: 'misdirected_request',
        message: 'the Host header names a host this server does not answer for (GATEWAY_ALLOWED_HOSTS)',
      },
    ])
    // Given, the list holds on loopback too: localhost is no longer implied.
    const onLoopback = await serve('127.0.0.1', { allowedHosts: ['alerts.example.com'] })
    expect((await onLoopback.ask(`localhost:${onLoopback.port}`)).status).toBe(421)
  })

  it('defaults to localhost and the bind name on a loopback address, any elsewhere', () => {
    expect(defaultAllowedHosts('127.0.0.1')).toEqual(['localhost'])
    expect(defaultAllowedHosts('::1', 'localhost')).toEqual(['localhost'])
    expect(defaultAllowedHosts('127.0.0.2', 'Tradepulse.Local')).toEqual(['localhost', 'tradepulse.local'])
    expect(defaultAllowedHosts('::ffff:127.0.0.1', '127.0.0.1')).toEqual(['localhost'])
    for (const address of ['0.0.0.0', '::', '10.0.0.5', 'fd00::1'])
      expect(defaultAllowedHosts(address)).toBe('*')
  })
})

describe('parseAllowedHosts', () => {
  it('takes names (in any case, a trailing dot dropped) and IP addresses, or * alone', () => {
    expect(parseAllowedHosts('*')).toEqual({ ok: true, value: '*' })
    expect(parseAllowedHosts(' Alerts.Example.com. , localhost,127.0.0.1,[::1],gw_1 ')).toEqual({
      ok: true,
      value: ['alerts.example.com', 'localhost', '127.0.0.1', '::1', 'gw_1'],
    })
  })

  it('refuses an empty entry, a URL, a port, a wildcard and a non-name, naming each', () => {
    expect(parseAllowedHosts('a.example,,b.example')).toEqual({ ok: false, error: 'an empty entry' })
    expect(parseAllowedHosts('')).toEqual({ ok: false, error: 'an empty entry' })
    const bad = parseAllowedHosts(
      'http://gw.example.com,gw.example.com:443,*.example.com,*,localhost,bad host',
    )
    expect(bad.ok).toBe(false)
    expect(!bad.ok && bad.error.split(', "')).toEqual([
      '"http://gw.example.com" is a URL or path: give the host name only, as a Host header names it (gateway.example.com)',
      'gw.example.com:443" has a port: give the host name only (the Host header\'s port is not checked)',
      '*.example.com": "*" allows any host and is given alone; name each host otherwise (no wildcards)',
      '*": "*" allows any host and is given alone; name each host otherwise (no wildcards)',
      'bad host" is not a host name',
    ])
  })
})
