import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '../logger.ts'

/**
 * What a 5xx answered for a fault of the server's own says: a stable code and a fixed message, never the
 * error's text (a Redis or Kafka client's names hosts, ports, keys and its own options: for the log, not
 * for every caller). The request id in the body and in `x-request-id` is on the log line with the error.
 */
export type HttpFault = { status: number; error: string; message: string }

export const INTERNAL_FAULT: HttpFault = { status: 500, error: 'internal', message: 'internal error' }

const FAULT_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
}

/** A request id a proxy sets (`x-request-id`) is kept when of this form, so its log and ours meet. */
export const PROXY_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The id of a request for the log and its answer: the proxy's (`x-request-id`) when of a safe form, else a new UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && PROXY_REQUEST_ID.test(given) ? given : randomUUID()
}

/**
 * Logs `err` with the request's id, method and path (`level`, `msg`: 'request failed' at error unless
 * told), and answers `fault`'s status with `{ error, message, requestId }` and the id in `x-request-id`.
 * A response already under way (a stream, a body half written) is cut instead: a JSON body appended to
 * it would be taken for part of it. Returns the request id.
 */
export function answerFault(
  req: IncomingMessage,
  res: ServerResponse,
  fault: HttpFault,
  err: unknown,
  log: Logger,
  opts: { level?: 'warn' | 'error'; msg?: string } = {},
): string {
  const requestId = requestIdOf(req)
  const path = (req.url ?? '/').split('?')[0]
  log[opts.level ?? 'error']({ err, requestId, method: req.method, path }, opts.msg ?? 'request failed')
  if (res.headersSent) {
    res.destroy()
    return requestId
  }
  res.writeHead(fault.status, { ...FAULT_HEADERS, 'x-request-id': requestId })
  res.end(JSON.stringify({ error: fault.error, message: fault.message, requestId }))
  return requestId
}
