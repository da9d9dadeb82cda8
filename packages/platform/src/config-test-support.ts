// Shared by the configuration's tests, the workers' included (@tradepulse/platform/config-test-support);
// not part of the package's surface.
import type { z } from 'zod'
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

/**
 * The numeric variables of `schema` (those that read their default, or a round decimal value, as that
 * number) and, of them, those that also take the number written otherwise: hex, an exponent, a sign,
 * Infinity (as NAME="text"). Every numeric variable is read with decimal(), so none should.
 */
export function numberNotations(schema: z.ZodObject): { numeric: string[]; taken: string[] } {
  const numeric: string[] = []
  const taken: string[] = []
  for (const [name, field] of Object.entries(schema.shape) as [string, z.ZodType][]) {
    const fallback = field.safeParse(undefined).data
    const value = [fallback, 1, 1_000, 1_048_576, 86_400_000].find(
      (n) => typeof n === 'number' && field.safeParse(String(n)).data === n,
    ) as number | undefined
    if (value === undefined) continue
    numeric.push(name)
    for (const text of [
      `0x${value.toString(16)}`,
      `${value}e0`,
      `+${value}`,
      ` ${value / 10}e1 `,
      'Infinity',
    ])
      if (field.safeParse(text).success) taken.push(`${name}=${JSON.stringify(text)}`)
  }
  return { numeric, taken }
}
