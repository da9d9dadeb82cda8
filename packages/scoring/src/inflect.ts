// Expands the lexicon's word notation ("v raise", "n tariff", exact) into surface forms at load time,
// so the data lists base forms and lookups stay exact Map hits at run time.

const VOWELS = 'aeiou'

function isConsonant(c: string | undefined): boolean {
  return c !== undefined && c >= 'a' && c <= 'z' && !VOWELS.includes(c)
}

/**
 * Verbs ending consonant-vowel-consonant may double the last letter: cut/cutting, ban/banned,
 * scrap/scrapped, commit/committed. Both spellings are listed (see verbForms), so a verb that does
 * not double ("open", "limit") only gains a form no text uses.
 */
function doubles(w: string): boolean {
  if (w.length < 3) return false
  const a = w[w.length - 3]
  const b = w[w.length - 2]
  const c = w[w.length - 1]
  return isConsonant(a) && b !== undefined && VOWELS.includes(b) && isConsonant(c) && !'wxy'.includes(c ?? '')
}

export function verbForms(w: string): string[] {
  const forms = [w]
  if (/(s|sh|ch|x|z)$/.test(w)) forms.push(`${w}es`)
  else if (/[^aeiou]y$/.test(w)) forms.push(`${w.slice(0, -1)}ies`)
  else forms.push(`${w}s`)
  if (w.endsWith('e')) forms.push(`${w}d`, `${w.slice(0, -1)}ing`)
  else if (/[^aeiou]y$/.test(w)) forms.push(`${w.slice(0, -1)}ied`, `${w}ing`)
  else if (doubles(w)) forms.push(`${w}${w.at(-1)}ed`, `${w}${w.at(-1)}ing`, `${w}ed`, `${w}ing`)
  else forms.push(`${w}ed`, `${w}ing`)
  return forms
}

export function nounForms(w: string): string[] {
  if (/(s|sh|ch|x|z)$/.test(w)) return [w, `${w}es`]
  if (/[^aeiou]y$/.test(w)) return [w, `${w.slice(0, -1)}ies`]
  return [w, `${w}s`]
}

/** "v roll back" → roll back, rolls back, rolled back, rolling back; "n trade war" → trade war(s). */
export function expandWord(spec: string): string[] {
  if (spec.startsWith('v ')) {
    const [head = '', ...rest] = spec.slice(2).split(' ')
    const tail = rest.length > 0 ? ` ${rest.join(' ')}` : ''
    return verbForms(head).map((f) => f + tail)
  }
  if (spec.startsWith('n ')) {
    const words = spec.slice(2).split(' ')
    const last = words.pop() ?? ''
    const head = words.length > 0 ? `${words.join(' ')} ` : ''
    return nounForms(last).map((f) => head + f)
  }
  return [spec]
}
