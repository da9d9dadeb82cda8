export * from './clock.ts'
export * from './json-schema.ts'
export * from './schemas.ts'
export * from './topics.ts'
