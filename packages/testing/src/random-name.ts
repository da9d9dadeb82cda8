import { randomBytes } from 'node:crypto'

/** A random name for a topic, group or key prefix, so tests never see each other's data. */
export function randomName(prefix = 't'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`
}

const RANDOM_NAME = /^[a-z][a-z0-9-]*-[0-9a-f]{12}(?:[.-]|$)/

/** Whether a topic (or key prefix) was named by randomName, alone or as the start of a longer name. */
export function isRandomName(name: string): boolean {
  return RANDOM_NAME.test(name)
}
