// Shared by the configuration's tests (not part of the package's surface).
import { BaseConfig, loadConfig } from './config.ts'

/** The error loadConfig throws for `env`, as text ('accepted' when it throws none). */
export function refusal(env: Record<string, string>): string {
  try {
    loadConfig(BaseConfig, env)
  } catch (err) {
    return (err as Error).message
  }
  return 'accepted'
}
