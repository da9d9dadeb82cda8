/**
 * The lines of a text stream, split at "\n" only (one "\r" at a line's end is dropped), as they arrive.
 *
 * Not node:readline: it also ends a line at U+2028 and U+2029 (and at a lone "\r"), and JSON allows
 * U+2028 and U+2029 unescaped inside strings (JSON.stringify writes them raw), so it would cut one
 * NDJSON line in two. Bytes are read as UTF-8, also when a character is cut across chunks. The input
 * is read only as fast as the lines are taken (back-pressure), and closed when the reader stops early.
 * A last line without a final "\n" is given too; there is no empty line after a final "\n".
 */
export async function* readLines(input: AsyncIterable<string | Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8')
  // The start of the line being read, in pieces, so a long line cut into many chunks costs linear time.
  let pending: string[] = []
  for await (const chunk of input) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true })
    let from = 0
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', from)) {
      pending.push(text.slice(from, nl))
      from = nl + 1
      const line = pending.join('')
      pending = []
      yield line.endsWith('\r') ? line.slice(0, -1) : line
    }
    if (from < text.length) pending.push(text.slice(from))
  }
  const rest = pending.join('') + decoder.decode()
  if (rest !== '') yield rest.endsWith('\r') ? rest.slice(0, -1) : rest
}
