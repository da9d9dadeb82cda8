export * from './build-app.ts'
export * from './config.ts'
export * from './ingest-handler.ts'
export * from './parse-raw.ts'
