import { describe, expect, it } from 'vitest'
import { exitCodeForSignal } from './exit-codes.ts'

describe('exitCodeForSignal', () => {
  it('is 128 + the signal number, as a shell reports a command the signal ended', () => {
    expect(exitCodeForSignal('SIGINT')).toBe(130)
    expect(exitCodeForSignal('SIGTERM')).toBe(143)
    expect(exitCodeForSignal('SIGHUP')).toBe(129)
  })
})
