/**
 * The character at i, lower-cased for ASCII and Latin-1 capitals. Folding in place (instead of
 * String#toLowerCase) keeps every index of the original, so spans need no mapping, and makes no copy.
 */
export function lowerAt(text: string, i: number): number {
  return fold(text.charCodeAt(i))
}

/** Lower-cases one UTF-16 code unit the way lowerAt does (ASCII and Latin-1 capitals only). */
export function fold(c: number): number {
  if (c >= 65 && c <= 90) return c + 32
  if (c >= 0xc0 && c <= 0xde && c !== 0xd7) return c + 32
  return c
}
