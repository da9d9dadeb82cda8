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

// A random name as a test turns it into a Redis key prefix (non-word characters become "_"), then the
// rest of the key: "faults_89b29da69f0e_:dedup:{d4}:m-1" has the prefix "faults_89b29da69f0e".
const RANDOM_KEY_PREFIX = /^[a-z][a-z0-9_-]*[-_][0-9a-f]{12}(?=[-_.:{]|$)/

/** The random-name prefix a Redis key starts with (as a test names its keys), or undefined. */
export function randomKeyPrefix(key: string): string | undefined {
  return RANDOM_KEY_PREFIX.exec(key)?.[0]
}
