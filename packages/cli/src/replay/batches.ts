/**
 * How long a row read from a pipe waits for its batch to fill before the batch is sent anyway, as Kafka's
 * linger.ms holds a producer batch. A live feed (`tail -f feed.csv | tradepulse replay -`) sends a row
 * and pauses: its rows waited for --batch more (500), or for the end of the pipe. 50 ms keeps a feed's
 * rows well under a second behind it, while a fast pipe (`zcat feed.csv.gz | …`) still fills its batches:
 * it gives 500 rows in a few milliseconds.
 */
export const REPLAY_LINGER_MS = 50

const LINGERED = Symbol('lingered')

/**
 * `rows` in batches of at most `size`, of the first `limit` rows only. A batch is given once it is full,
 * once its first row has waited `lingerMs` for the rest, and at the end. No row is read past `limit`: a
 * pipe's writer may send nothing more, and the replay must not wait for it. An array (a regular file, read
 * whole before) is cut in batches of `size`.
 *
 * A read under way when a batch is given (one lingered) goes on while it is sent. If the reader stops
 * then, the read is left to end with the input, which the replay closes when it is done (ReplayInput's
 * `close`): a pipe's read waits for its writer, and waiting for it would hold the replay.
 */
export async function* batchesOf<T>(
  rows: AsyncIterable<T> | readonly T[],
  {
    size,
    lingerMs,
    limit = Number.POSITIVE_INFINITY,
  }: { size: number; lingerMs: number; limit?: number | undefined },
): AsyncGenerator<T[]> {
  if (Array.isArray(rows)) {
    const end = Math.min(rows.length, limit)
    for (let i = 0; i < end; i += size) yield rows.slice(i, Math.min(i + size, end))
    return
  }
  const it = (rows as AsyncIterable<T>)[Symbol.asyncIterator]()
  let batch: T[] = []
  let taken = 0
  let next: Promise<IteratorResult<T>> | undefined
  let timer: NodeJS.Timeout | undefined
  let lingered: Promise<typeof LINGERED> | undefined
  const give = () => {
    clearTimeout(timer)
    lingered = undefined
    const full = batch
    batch = []
    return full
  }
  try {
    while (taken < limit) {
      next ??= it.next()
      const got = lingered ? await Promise.race([next, lingered]) : await next
      if (got === LINGERED) {
        yield give()
        continue
      }
      next = undefined
      if (got.done) break
      batch.push(got.value)
      taken++
      if (batch.length >= size) yield give()
      else if (batch.length === 1)
        lingered = new Promise((resolve) => {
          timer = setTimeout(resolve, lingerMs, LINGERED)
        })
    }
    if (batch.length > 0) yield give()
  } finally {
    clearTimeout(timer)
    // A read under way: its end (or its error, the input closed) is no longer anyone's.
    if (next) next.catch(() => {})
    else await it.return?.()
  }
}
