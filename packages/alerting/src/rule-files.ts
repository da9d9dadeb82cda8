import { fileURLToPath } from 'node:url'

const file = (name: string) => fileURLToPath(new URL(`../rules/${name}`, import.meta.url))

/**
 * Absolute paths of the shipped rule and desk files. Paths, not contents: reading is the service's
 * I/O, and keeping the YAML the single copy means its comments cannot drift from an embedded twin.
 */
export const RULE_FILES = {
  /** Tariff and supply-chain desk rules; the alerter's default. */
  defaultRules: file('default-rules.yaml'),
  /** Sample desks: tariff, supply chain, all-critical risk. */
  desks: file('desks.yaml'),
  /** Fires on most headlines, to load the alert path in `pnpm bench pipeline`. */
  benchRules: file('bench-rules.yaml'),
} as const
