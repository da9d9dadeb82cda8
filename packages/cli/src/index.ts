export { formatScore, scoreNdjson } from './commands/score.ts'
