export * from './indicator-store-options.ts'
export * from './memory-indicator-store.ts'
export * from './redis-indicator-memory.ts'
export * from './redis-indicator-store.ts'
