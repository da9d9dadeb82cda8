/** A server-sent event as a reader sees it. */
export type SseEvent = { id?: string; event: string; data: string }

/**
 * Reads server-sent events from a URL (tests and tools): `events` fills as they arrive; `lastEventId` is
 * what a browser's EventSource would send as Last-Event-ID if it reconnected now (set by every `id:`
 * field, an event's or one alone: a block without `data` sets it and dispatches no event, as in a
 * browser); `close` ends the request. Not a general client: no reconnection.
 */
export async function readEvents(url: string, headers: Record<string, string> = {}) {
  const abort = new AbortController()
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal })
  const events: SseEvent[] = []
  const comments: string[] = []
  let lastEventId: string | undefined
  let ended = false
  const done = (async () => {
    if (!res.body) return
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk, { stream: true })
        let cut = buffer.indexOf('\n\n')
        while (cut >= 0) {
          const block = buffer.slice(0, cut)
          buffer = buffer.slice(cut + 2)
          const e: SseEvent = { event: 'message', data: '' }
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim())
            else if (line.startsWith('id: ')) e.id = line.slice(4)
            else if (line.startsWith('event: ')) e.event = line.slice(7)
            else if (line.startsWith('data: ')) e.data += line.slice(6)
          }
          if (e.id !== undefined) lastEventId = e.id
          if (e.data) events.push(e)
          cut = buffer.indexOf('\n\n')
        }
      }
    } catch {
      // aborted by close(), or the server ended the stream
    } finally {
      ended = true
    }
  })()
  return {
    status: res.status,
    res,
    events,
    comments,
    get ended() {
      return ended
    },
    get lastEventId() {
      return lastEventId
    },
    async close() {
      abort.abort()
      await done
    },
  }
}
