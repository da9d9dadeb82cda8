import type { Clock } from '@tradepulse/contracts'

/**
 * performance.now(): ms since the process started, which nothing sets (NTP, a VM snapshot restored, an
 * operator all step the wall clock). For what a process times for itself; never compared with another
 * process's clock, nor written anywhere.
 */
export const monotonicClock: Clock = { now: () => performance.now() }
