// Keys of a JSON text as JSON.parse reads them, found by scanning the text: JSON.parse keeps the last of a
// key given twice, silently, so the records of the pipeline (platform's parseJsonRecord) and the alert
// rules files (alerting) are refused where a key is written twice. Pure: text in, answers out.

/** The characters of JSON's structure, as char codes (a scan of bytes reads them too). */
export const JSON_CHAR = {
  QUOTE: 0x22,
  BACKSLASH: 0x5c,
  COMMA: 0x2c,
  OPEN_OBJECT: 0x7b,
  CLOSE_OBJECT: 0x7d,
  OPEN_ARRAY: 0x5b,
  CLOSE_ARRAY: 0x5d,
} as const
// Module constants, read as locals in the scans' loops.
const { QUOTE, BACKSLASH, COMMA, OPEN_OBJECT, CLOSE_OBJECT, OPEN_ARRAY, CLOSE_ARRAY } = JSON_CHAR

/** The index of the quote that closes the JSON string opening at `from`, or -1 (not JSON). */
function stringEnd(text: string, from: number): number {
  let end = from
  for (;;) {
    end = text.indexOf('"', end + 1)
    if (end < 0) return -1
    // Escaped only after an odd run of backslashes ("a\\" ends at its second quote).
    let k = end - 1
    while (text.charCodeAt(k) === BACKSLASH) k--
    if ((end - 1 - k) % 2 === 0) return end
  }
}

/** The key a JSON string at from..end (its quotes) names, as JSON.parse reads it. */
function keyAt(text: string, from: number, end: number): string {
  const raw = text.slice(from + 1, end)
  return raw.includes('\\') ? (JSON.parse(text.slice(from, end + 1)) as string) : raw
}

/** An object with more keys than this keeps them in a Set (fewer: an array, faster to make and search). */
const SMALL_OBJECT_KEYS = 16

/**
 * The keys an object of the scan holds so far: none yet (`undefined`), its first alone (no array made for
 * an object of one key, however deeply nested), then an array, then a Set. `null` outside any object.
 */
type Keys = undefined | string | string[] | Set<string> | null

/**
 * The index of the opening quote of the first key that some object of `text` names twice, or -1.
 * In valid JSON a string right after `{`, or after a `,` inside an object, is a key; every other
 * character outside strings is skipped.
 */
function duplicateKeyAt(text: string): number {
  // The keys of the object the scan is in, and of the ones around it.
  let keys: Keys = null
  const outer: Keys[] = []
  let expectKey = false
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      const end = stringEnd(text, i)
      if (end < 0) return -1 // not JSON: JSON.parse would have refused it
      if (expectKey) {
        expectKey = false
        const key = keyAt(text, i, end)
        if (keys === undefined) keys = key
        else if (typeof keys === 'string') {
          if (keys === key) return i
          keys = [keys, key]
        } else if (Array.isArray(keys)) {
          if (keys.includes(key)) return i
          keys.push(key)
          if (keys.length > SMALL_OBJECT_KEYS) keys = new Set(keys)
        } else if (keys !== null) {
          if (keys.has(key)) return i
          keys.add(key)
        }
      }
      i = end
    } else if (c === OPEN_OBJECT) {
      outer.push(keys)
      keys = undefined
      expectKey = true
    } else if (c === OPEN_ARRAY) {
      outer.push(keys)
      keys = null
      expectKey = false
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      keys = outer.pop() ?? null
      expectKey = false
    } else if (c === COMMA) expectKey = keys !== null
  }
  return -1
}

/**
 * Where the key whose opening quote is at `at` stands: its path (object keys and array indexes, outermost
 * first), and the offset of the first writing of that key in the object that holds it (`at` itself when
 * it is the first).
 */
function locate(text: string, at: number): { path: (string | number)[]; first: number } {
  const key = keyAt(text, at, stringEnd(text, at))
  const path: (string | number)[] = []
  // Per level: whether it is an array; the last element of `path` is that level's key or index.
  const isArray: boolean[] = []
  // Per level: where the object first wrote `key` (-1 not yet).
  const firstAt: number[] = []
  let expectKey = false
  for (let i = 0; i < at; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      const end = stringEnd(text, i)
      if (expectKey) {
        expectKey = false
        const name = keyAt(text, i, end)
        path[path.length - 1] = name
        if (name === key && firstAt[firstAt.length - 1] === -1) firstAt[firstAt.length - 1] = i
      }
      i = end
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      isArray.push(c === OPEN_ARRAY)
      path.push(c === OPEN_ARRAY ? 0 : '')
      firstAt.push(-1)
      expectKey = c === OPEN_OBJECT
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      isArray.pop()
      path.pop()
      firstAt.pop()
      expectKey = false
    } else if (c === COMMA) {
      if (isArray[isArray.length - 1]) path[path.length - 1] = (path[path.length - 1] as number) + 1
      else expectKey = isArray.length > 0
    }
  }
  path[path.length - 1] = key
  const first = firstAt[firstAt.length - 1] ?? -1
  return { path, first: first < 0 ? at : first }
}

/** How many times the top-level object of `text` (JSON that JSON.parse took) names `key`; 0 for another value. */
export function topLevelKeyCount(text: string, key: string): number {
  let depth = 0
  let topIsObject = false
  let expectKey = false
  let count = 0
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      const end = stringEnd(text, i)
      if (end < 0) return count
      if (expectKey && keyAt(text, i, end) === key) count++
      expectKey = false
      i = end
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (depth === 0) topIsObject = c === OPEN_OBJECT
      depth++
      expectKey = depth === 1 && topIsObject
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--
      expectKey = false
    } else if (c === COMMA) expectKey = depth === 1 && topIsObject
  }
  return count
}

/**
 * The path (`["evidence", 0, "headline"]`) to the first key that some object of `text` names twice, or
 * undefined when none does. `text` must be JSON that JSON.parse took; on anything else the answer means
 * nothing. Keys are compared as JSON.parse sees them: `"a"` and `"\u0061"` are the same key.
 *
 * Linear in the text's length, with no regular expression and no recursion (nesting costs heap, not
 * stack): string contents are skipped with indexOf, each run of backslashes before a quote is looked at
 * once, and only the few characters between strings are read one by one. A small object's keys are
 * searched in an array, a larger one's in a Set. The path is worked out only for a duplicate, by a
 * second pass up to it.
 */
export function duplicateKeyPath(text: string): (string | number)[] | undefined {
  const at = duplicateKeyAt(text)
  return at < 0 ? undefined : locate(text, at).path
}

/**
 * The first key that some object of `text` (JSON that JSON.parse took) names twice: its path, and the
 * offsets of the opening quotes of its first and second writing (a message can name both lines); or
 * undefined. Both are found by a second pass, up to the second, only when there is a duplicate.
 */
export function duplicateKey(
  text: string,
): { path: (string | number)[]; first: number; second: number } | undefined {
  const second = duplicateKeyAt(text)
  if (second < 0) return undefined
  return { ...locate(text, second), second }
}
