import { compress, uncompress } from 'snappyjs'

/**
 * Most bytes one compressed record batch may inflate to. Producers bound a request before compression
 * (1 MB by default in Java's max.request.size), so a real batch stays far below this; the bound keeps a
 * corrupt or hostile one from allocating gigabytes (a Snappy stream states its length up front, up to 4 GB).
 */
export const SNAPPY_MAX_BATCH_BYTES = 64 * 1024 * 1024

// Java producers (snappy-java) write xerial's framing: this magic, two 4-byte versions, then blocks each
// prefixed by its 4-byte big-endian length. librdkafka and kafkajs write one raw Snappy stream.
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00])
const XERIAL_HEADER_BYTES = 16

/** Raw or xerial-framed Snappy → the bytes, refusing (throwing) a stream that is invalid or too large. */
export function snappyDecompress(buffer: Buffer, maxBytes = SNAPPY_MAX_BATCH_BYTES): Buffer {
  if (buffer.length < XERIAL_HEADER_BYTES || !buffer.subarray(0, 8).equals(XERIAL_MAGIC))
    return uncompress(buffer, maxBytes)
  const blocks: Buffer[] = []
  let total = 0
  let offset = XERIAL_HEADER_BYTES
  while (offset < buffer.length) {
    if (offset + 4 > buffer.length) throw new Error('Snappy (xerial): truncated block length')
    const size = buffer.readUInt32BE(offset)
    offset += 4
    if (offset + size > buffer.length) throw new Error('Snappy (xerial): block runs past the end')
    const block = uncompress(buffer.subarray(offset, offset + size), maxBytes - total)
    total += block.length
    blocks.push(block)
    offset += size
  }
  return Buffer.concat(blocks, total)
}

/**
 * The Snappy codec in kafkajs's shape (kafkajs has none built in: a consumer reading a Snappy batch
 * failed for good with KafkaJSNotImplemented). Pure JavaScript (snappyjs), so nothing native to build.
 */
export function snappyCodec() {
  return {
    async compress(encoder: { buffer: Buffer }): Promise<Buffer> {
      return compress(encoder.buffer)
    },
    async decompress(buffer: Buffer): Promise<Buffer> {
      return snappyDecompress(buffer)
    },
  }
}
