/**
 * W3C trace context (https://www.w3.org/TR/trace-context/#traceparent-header): version, 32-hex trace id,
 * 16-hex parent id, flags, in lower case. The one definition every worker checks an incoming
 * `traceparent` header against.
 */
export const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/

const TRACEPARENT_LENGTH = 55

/**
 * The incoming `traceparent` when it is well formed, else undefined. Headers come from producers we do
 * not control: copying one unchecked onto every output would let a 1 MB header make each of them too
 * large for Kafka. The length is checked first, so an oversized value costs nothing to refuse.
 */
export function validTraceparent(value: string | undefined): string | undefined {
  if (value === undefined || value.length !== TRACEPARENT_LENGTH || !TRACEPARENT.test(value)) return undefined
  // The spec's invalid values: version ff, an all-zero trace id or parent id.
  if (value.startsWith('ff-') || value.slice(3, 35) === ZERO_TRACE || value.slice(36, 52) === ZERO_PARENT)
    return undefined
  return value
}

const ZERO_TRACE = '0'.repeat(32)
const ZERO_PARENT = '0'.repeat(16)

/**
 * The headers a derived record carries on from its input: the trace context when it is valid (so an
 * alert can be traced back to its raw record), nothing otherwise.
 */
export function traceHeaders(headers: Record<string, string>): { traceparent: string } | undefined {
  const traceparent = validTraceparent(headers.traceparent)
  return traceparent ? { traceparent } : undefined
}
