// The digest of a headline id in the Redis applied-ids sets (tests and tools that look one up).
export { compactId } from './compact-id.ts'
export * from './indicator-store-options.ts'
export * from './memory-indicator-store.ts'
export * from './read-at.ts'
export * from './redis-indicator-memory.ts'
export * from './redis-indicator-store.ts'
