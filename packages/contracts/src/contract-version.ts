/**
 * The version of the contracts as published: every JSON Schema file carries it
 * (`x-tradepulse-contract-version`), so a consuming team knows which one its copy follows. Semver, its
 * major the topics' (TOPIC_VERSION_SUFFIX, `.v1`): a change no older reader can take moves the payloads to
 * new topics and is a new major. Minor: a change of what a file takes (a new optional field, a bound or
 * rule tightened or eased, a new enum value: see the deploy-order rule in the README). Patch: the files
 * changed, but no verdict (a description, a title, an annotation). json-schema-golden.test.ts fails on any
 * change of the files under the same version, and `pnpm contracts:schema` refuses to write it.
 */
export const CONTRACT_VERSION = '1.1.0'
