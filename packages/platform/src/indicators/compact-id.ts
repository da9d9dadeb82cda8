/**
 * A 64-bit digest of a headline id (cyrb53's mixing, two 32-bit lanes) as up to 14 base-36 characters.
 * The Redis dedup sets store this instead of the id: ids run to 200 characters, and sorted-set time
 * and memory grow with member length. Two ids collide with probability about n²/2^65 for n ids in one
 * indicator's retention (≈ 3e-8 for a million); a collision shows up as a reported duplicate.
 */
export function compactId(id: string): string {
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = 0; i < id.length; i++) {
    const ch = id.charCodeAt(i)
    h1 = Math.imul(h1 ^ ch, 2654435761)
    h2 = Math.imul(h2 ^ ch, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return `${(h1 >>> 0).toString(36)}.${(h2 >>> 0).toString(36)}`
}
