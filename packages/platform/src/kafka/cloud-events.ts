/** What a record's CloudEvents attributes say: source and id together name one event. */
export type CloudEventAttributes = {
  id: string
  type: string
  source: string
  /** ISO 8601 time of the occurrence. */
  time: string
  subject?: string
}

/**
 * CloudEvents 1.0 in Kafka binary mode: the attributes as `ce_` headers and the value's content type
 * (JSON), in this order (the alerts' records have always had it). Every topic of ours whose records are
 * events stamps its headers with this, so that a consumer routing on ce_type or deduplicating on
 * source + id sees each record for what it is.
 */
export function cloudEventHeaders(a: CloudEventAttributes): Record<string, string> {
  return {
    ce_specversion: '1.0',
    ce_id: a.id,
    ce_type: a.type,
    ce_source: a.source,
    ce_time: a.time,
    ...(a.subject === undefined ? {} : { ce_subject: a.subject }),
    'content-type': 'application/json',
  }
}
