import { randomBytes } from 'node:crypto'

/** A random name for a topic, group or key prefix, so tests never see each other's data. */
export function randomName(prefix = 't'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`
}
