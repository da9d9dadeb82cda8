// snappyjs ships no types; only what the Snappy codec uses.
declare module 'snappyjs' {
  export function compress(uncompressed: Buffer): Buffer
  /** Throws when the stream is invalid or says it holds more than `maxLength` bytes. */
  export function uncompress(compressed: Buffer, maxLength?: number): Buffer
}
