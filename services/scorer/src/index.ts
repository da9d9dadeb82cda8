export * from './build-app.ts'
export * from './config.ts'
export * from './score-headline.ts'
export * from './scorer-handler.ts'
