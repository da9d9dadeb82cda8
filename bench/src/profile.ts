import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'

/**
 * A CPU profile of the measured phase only, when BENCH_CPU_PROFILE names a file (open it in Chrome
 * DevTools or speedscope). `node --cpu-prof` would also profile the setup (scoring, preloading).
 */
export async function startProfiler(
  path = process.env.BENCH_CPU_PROFILE,
): Promise<{ stop(): Promise<void> } | undefined> {
  if (!path) return undefined
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  // One sample every 100 µs (the default, 1 ms, gave a few hundred samples of a short measured phase).
  await session.post('Profiler.setSamplingInterval', { interval: 100 })
  await session.post('Profiler.start')
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop')
      writeFileSync(path, JSON.stringify(profile))
      session.disconnect()
      process.stdout.write(`cpu profile of the measured phase: ${path}\n`)
    },
  }
}
