import { compress } from 'snappyjs'

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

const fail = (why: string): never => {
  throw new Error(`Snappy: ${why}`)
}

/** The varint at `pos` (at most 32 bits): its value and the position after it. */
function readVarint(input: Buffer, pos: number): [number, number] {
  let value = 0
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= input.length) fail('truncated length')
    const b = input[pos++] as number
    value += (b & 0x7f) * 2 ** shift
    if (b < 0x80) {
      if (value > 0xffffffff) fail('length past 32 bits')
      return [value, pos]
    }
  }
  return fail('length varint too long')
}

/**
 * One raw Snappy stream → its bytes. Our own decoder rather than snappyjs's: every length and offset is
 * checked against the input and the stated output length, and the output must come out exactly that
 * long, so a corrupt stream throws (snappyjs 0.7 looped for ever on a literal length with its top bit
 * set, and zero-filled a stream ending short of its stated length).
 */
export function snappyUncompressRaw(input: Buffer, maxBytes = SNAPPY_MAX_BATCH_BYTES): Buffer {
  const [length, start] = readVarint(input, 0)
  if (length > maxBytes) fail(`stream inflates to ${length} bytes, over the ${maxBytes} allowed`)
  const out = Buffer.allocUnsafe(length)
  let o = 0
  let pos = start
  const copy = (offset: number, len: number) => {
    if (offset === 0 || offset > o) fail('copy from before the start')
    if (o + len > length) fail('copy past the stated length')
    // Byte by byte: a copy may overlap what it writes (a run repeated).
    for (let i = 0; i < len; i++) out[o + i] = out[o - offset + i] as number
    o += len
  }
  while (pos < input.length) {
    const tag = input[pos++] as number
    const kind = tag & 3
    if (kind === 0) {
      let len = tag >>> 2
      if (len >= 60) {
        const bytes = len - 59
        if (pos + bytes > input.length) fail('truncated literal length')
        len = 0
        for (let i = 0; i < bytes; i++) len += (input[pos + i] as number) * 2 ** (8 * i)
        pos += bytes
      }
      len += 1
      if (pos + len > input.length) fail('literal past the end of the input')
      if (o + len > length) fail('literal past the stated length')
      input.copy(out, o, pos, pos + len)
      o += len
      pos += len
    } else if (kind === 1) {
      if (pos >= input.length) fail('truncated copy')
      copy(((tag >>> 5) << 8) | (input[pos++] as number), ((tag >>> 2) & 7) + 4)
    } else if (kind === 2) {
      if (pos + 2 > input.length) fail('truncated copy')
      const offset = input.readUInt16LE(pos)
      pos += 2
      copy(offset, (tag >>> 2) + 1)
    } else {
      if (pos + 4 > input.length) fail('truncated copy')
      const offset = input.readUInt32LE(pos)
      pos += 4
      copy(offset, (tag >>> 2) + 1)
    }
  }
  if (o !== length) fail(`stream ends at ${o} of its stated ${length} bytes`)
  return out
}

/** Raw or xerial-framed Snappy → the bytes, refusing (throwing) a stream that is invalid or too large. */
export function snappyDecompress(buffer: Buffer, maxBytes = SNAPPY_MAX_BATCH_BYTES): Buffer {
  if (buffer.length < XERIAL_HEADER_BYTES || !buffer.subarray(0, 8).equals(XERIAL_MAGIC))
    return snappyUncompressRaw(buffer, maxBytes)
  const blocks: Buffer[] = []
  let total = 0
  let offset = XERIAL_HEADER_BYTES
  while (offset < buffer.length) {
    if (offset + 4 > buffer.length) throw new Error('Snappy (xerial): truncated block length')
    const size = buffer.readUInt32BE(offset)
    offset += 4
    if (offset + size > buffer.length) throw new Error('Snappy (xerial): block runs past the end')
    const block = snappyUncompressRaw(buffer.subarray(offset, offset + size), maxBytes - total)
    total += block.length
    blocks.push(block)
    offset += size
  }
  return Buffer.concat(blocks, total)
}

/**
 * The Snappy codec in kafkajs's shape (kafkajs has none built in: a consumer reading a Snappy batch
 * failed for good with KafkaJSNotImplemented). Pure JavaScript (snappyjs compresses, our decoder above
 * inflates), so nothing native to build.
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
