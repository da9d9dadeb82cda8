/**
 * The one rule for a UTF-8 byte-order mark (U+FEFF, EF BB BF) in line-based input: one mark at the very
 * start of a line (or of a record) is skipped, as a UTF-8 decoder skips one at the start of a stream.
 * Windows tools write one at the start of a file, and files joined with `cat` carry it to the start of a
 * later line; JSON.parse takes none, and a CSV reader would read it as the start of the first field (a
 * quote after it is no opening quote). A second mark, or one anywhere else, is left as it is: text.
 */
export function skipBom(bytes: Buffer): Buffer {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf
    ? bytes.subarray(3)
    : bytes
}
