import { promisify } from 'node:util'
import { gzip, unzip } from 'node:zlib'
import { SNAPPY_MAX_BATCH_BYTES } from './snappy-codec.ts'

const gzipAsync = promisify(gzip)
const unzipAsync = promisify(unzip)

/**
 * kafkajs's GZIP codec with a bound on what one batch may inflate to (the bound Snappy batches have,
 * SNAPPY_MAX_BATCH_BYTES). kafkajs's own inflated without one, so a batch of a megabyte of zeros could
 * take gigabytes and end the worker out of memory; past the bound the fetch fails with a clear error.
 */
export function gzipCodec(maxBytes = SNAPPY_MAX_BATCH_BYTES) {
  return () => ({
    async compress(encoder: { buffer: Buffer }): Promise<Buffer> {
      return gzipAsync(encoder.buffer)
    },
    async decompress(buffer: Buffer): Promise<Buffer> {
      try {
        return await unzipAsync(buffer, { maxOutputLength: maxBytes })
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
          throw new Error(`GZIP: batch inflates to more than the ${maxBytes} bytes allowed`)
        throw err
      }
    },
  })
}
