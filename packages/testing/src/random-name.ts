import { randomBytes } from 'node:crypto'

/**
 * The environment variable holding the test run's token: the `int` project's global setup sets it in
 * vitest's main process before the test workers start, and the workers inherit it. Unset elsewhere
 * (benches, a bare `node` script): names then carry no token.
 */
export const RUN_TOKEN_ENV = 'TRADEPULSE_TEST_RUN'

const TOKEN = /^[0-9a-f]{8}$/

/** A new run token: 8 random hex digits. */
export function newRunToken(): string {
  return randomBytes(4).toString('hex')
}

/** The token of the test run this process belongs to, if any. */
export function currentRunToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const token = env[RUN_TOKEN_ENV]
  if (!token) return undefined
  if (!TOKEN.test(token)) throw new Error(`${RUN_TOKEN_ENV}=${token}: not a run token (8 hex digits)`)
  return token
}

/**
 * A random name for a topic, group or key prefix, so tests never see each other's data:
 * `<prefix>-<12 hex digits>`, or `<prefix>-r<run token>-<12 hex digits>` in a test run that has a token,
 * so that the run's clean-up can tell its own names from those of another run on the same servers.
 * `token` is the run's (from TRADEPULSE_TEST_RUN) unless given; null for none.
 */
export function randomName(prefix = 't', token: string | null = currentRunToken() ?? null): string {
  const random = randomBytes(6).toString('hex')
  if (token === null) return `${prefix}-${random}`
  if (!TOKEN.test(token)) throw new Error(`not a run token (8 hex digits): ${token}`)
  return `${prefix}-r${token}-${random}`
}

// Also matches names with a run token: "-r<token>" is part of the prefix here.
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

// The run token of a random name, a topic or key prefix starting with one, or a key prefix made of one:
// "e2e-r0a1b2c3d-89b29da69f0e.alerts.v1" and "e2e_r0a1b2c3d_89b29da69f0e_:x" both carry 0a1b2c3d.
const RUN_TOKEN_IN_NAME = /^[a-z][a-z0-9_-]*?[-_]r([0-9a-f]{8})[-_][0-9a-f]{12}(?=[-_.:{]|$)/

/** The run token a random name (or a topic or Redis key starting with one) carries, or undefined. */
export function runTokenOf(name: string): string | undefined {
  return RUN_TOKEN_IN_NAME.exec(name)?.[1]
}
