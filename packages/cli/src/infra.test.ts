import { describe, expect, it } from 'vitest'
import { cliLogger, cliLogLevel } from './infra.ts'

describe("a one-shot command's logger", () => {
  it("logs warnings and errors only at LOG_LEVEL's default (info), and any other level as given", () => {
    expect(cliLogLevel('info')).toBe('warn')
    for (const level of ['fatal', 'error', 'warn', 'debug', 'trace', 'silent'] as const)
      expect(cliLogLevel(level)).toBe(level)
    const log = cliLogger({ LOG_LEVEL: 'info', LOG_PRETTY: false })
    expect([log.isLevelEnabled('info'), log.isLevelEnabled('warn')]).toEqual([false, true])
    expect(cliLogger({ LOG_LEVEL: 'debug', LOG_PRETTY: false }).isLevelEnabled('debug')).toBe(true)
  })
})
