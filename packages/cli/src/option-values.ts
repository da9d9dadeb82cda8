import { DESK_ID_RULE, isDeskId, LIMITS, normalizeText, showsNothing } from '@tradepulse/contracts'
import { InvalidArgumentError } from 'commander'

/*
 * The numeric options of every command (--top, --rate, --limit, --batch, --speed, --http-port), read as
 * commander reads them (each option's argParser): a bad value is a usage error like every other commander
 * finds (usage-errors.ts), one line naming the command, the option and the value, exit 78, before the
 * command does anything. Numbers are plain decimal, as the workers read their variables (loadConfig in
 * packages/platform): Number() took 0x10 as 16, 0b11 as 3, 1e3 as 1000, ' 5' and +5 as 5.
 */

/** The longest delay Node keeps a timer for (2^31 - 1 ms, about 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2_147_483_647

const WHOLE = /^[0-9]+$/
const DECIMAL = /^[0-9]+(?:\.[0-9]+)?$/

export type NumberRange = {
  min: number
  /** Largest value taken; Number.MAX_SAFE_INTEGER (a whole number) or any finite number when left out. */
  max?: number
  /** Said after the range, in brackets: what a bound means or why it is there. */
  note?: string
}

function expected(what: string, { min, max, note }: NumberRange, notation: string, or = ''): string {
  const range = max === undefined ? `of at least ${min}` : `from ${min} to ${max}`
  return `Expected ${what} ${range}${note ? ` (${note})` : ''}, in ${notation}${or}.`
}

/** An option's whole number: decimal digits only, within the range. */
export function wholeNumber(range: NumberRange): (text: string) => number {
  const max = range.max ?? Number.MAX_SAFE_INTEGER
  const message = expected('a whole number', range, 'decimal digits (0-9)')
  return (text) => {
    const n = Number(text)
    if (!WHOLE.test(text) || n < range.min || n > max) throw new InvalidArgumentError(message)
    return n
  }
}

/** An option's number, a fraction allowed: decimal digits with at most one point, within the range. */
export function decimalNumber(range: NumberRange): (text: string) => number {
  return decimal(range, '')
}

/** As decimalNumber, or the word "max". */
export function decimalNumberOrMax(range: NumberRange): (text: string) => number | 'max' {
  const parse = decimal(range, ', or "max"')
  return (text) => (text === 'max' ? 'max' : parse(text))
}

function decimal(range: NumberRange, or: string): (text: string) => number {
  const max = range.max ?? Number.MAX_VALUE
  const message = expected('a number', range, 'decimal notation (digits, one point)', or)
  return (text) => {
    const n = Number(text)
    if (!DECIMAL.test(text) || n < range.min || n > max) throw new InvalidArgumentError(message)
    return n
  }
}

/**
 * A desk id option (--desk), by the one rule of a desk id (packages/contracts: DESK_ID_RULE, as the topic
 * catalogue and the desks file take one); an empty one too, which `tail alerts --desk ''` took as no desk,
 * following alerts.v1.
 */
export function deskId(text: string): string {
  if (!isDeskId(text)) throw new InvalidArgumentError(`Expected a desk id: ${DESK_ID_RULE}.`)
  return text
}

/** deskId for an option given several times or with several values (`--desk a b`). */
export const deskIds = (text: string, previous: string[] = []): string[] => [...previous, deskId(text)]

/*
 * The text options (--source, --desks): a value given empty, or white space only, is refused like any
 * other bad value. `replay --source ''` replayed with no source at all and `topics create --desks ''` created
 * no desk topic, each silently: the command read the empty value as the option not given.
 */

const BLANK = /^\s*$/

/** A text option's value: anything but empty or white space only; `what` names what it is. */
export function someText(what: string): (text: string) => string {
  const message = `Expected ${what}, not empty or white space only.`
  return (text) => {
    if (BLANK.test(text)) throw new InvalidArgumentError(message)
    return text
  }
}

/**
 * A source name (replay --source): at most LIMITS.maxSourceChars (100) characters once normalised as
 * ingest normalises a source (normalizeText), and showing something then: the name ingest stamps whole.
 * Ingest cuts a longer normalised source to the limit (eb7338c; before, it sent the headline to the dlq),
 * so no row would carry the name asked for: NFKC expands some characters, and "\ufdfa" ten times (10
 * characters as given) is 180. One that shows nothing (white space, "\u200b", a Hangul filler) ingest
 * replaces by its INGEST_DEFAULT_SOURCE, so the rows would not be stamped as asked.
 */
export function sourceName(text: string): string {
  const normalised = normalizeText(text)
  // As given, the name may be longer (white space and invisible characters ingest drops): it is the
  // normalised name that ingest stamps, and cuts past the limit (eb7338c).
  if (showsNothing(normalised))
    throw new InvalidArgumentError(
      `Expected a source name of 1 to ${LIMITS.maxSourceChars} characters, not white space or invisible characters only.`,
    )
  if (normalised.length > LIMITS.maxSourceChars)
    throw new InvalidArgumentError(
      `Expected a source name of at most ${LIMITS.maxSourceChars} characters once normalised as ingest normalises it (NFKC expands some characters); this one is ${normalised.length} (ingest cuts a longer source to that, so no headline would carry this name).`,
    )
  return text
}

const DURATION = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w)$/

/** The units of a duration option, in ms. */
export const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
}

/**
 * A duration option (indicators rebuild --since) in ms: decimal digits, at most one point, and a unit,
 * nothing around them (' 2d ' was taken as 2d, where every other option refuses white space), at least
 * 1 ms. A span of nothing replays nothing: a rebuild would switch readers to an empty namespace and clear
 * the one they read.
 */
export function duration(text: string): number {
  const m = DURATION.exec(text)
  const ms = m ? Math.round(Number(m[1]) * UNIT_MS[m[2]!]!) : 0
  if (!(ms >= 1))
    throw new InvalidArgumentError(
      'Expected a duration of at least 1 ms: decimal digits (one point allowed) and a unit, ms, s, m, h, d or w, nothing around them (30m, 12h, 7d).',
    )
  return ms
}
