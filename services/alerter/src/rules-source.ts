import { type FSWatcher, readFileSync, realpathSync, watch } from 'node:fs'
import { basename, dirname } from 'node:path'
import { type ConfigError, formatFromPath, parseRules, type RuleSet } from '@tradepulse/alerting'
import { resolveIndicatorConfig } from '@tradepulse/indicators'
import { type Logger, TradepulseError } from '@tradepulse/platform'
import { type AlerterMetrics, forgetRules } from './alerter-metrics.ts'

export type ReloadResult =
  | { result: 'ok'; rulesVersion: string; rules: number }
  | { result: 'unchanged'; rulesVersion: string }
  | { result: 'invalid' | 'unreadable'; errors: ConfigError[] }

export type RulesSource = {
  /** The rules in force. The handler reads this once per batch, so a swap lands between batches. */
  current(): RuleSet
  reload(reason: string): ReloadResult
  watch(): void
  close(): void
}

const labels = resolveIndicatorConfig()
const OPTIONS = {
  halfLifeLabels: labels.halfLives.map((h) => h.label),
  windowLabels: labels.windows.map((w) => w.label),
}

export function formatErrors(errors: readonly ConfigError[]): string {
  // A fault of the file as a whole (unreadable) has no field to name.
  return errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ')
}

/**
 * A rules or desks file's text, or why it cannot be read (`cannot read it: no such file`), in one line
 * for the caller to put after the variable and the path: the error's own message repeats the path
 * (`ENOENT: no such file or directory, open '…'`).
 */
export function readConfigFile(file: string): { ok: true; text: string } | { ok: false; message: string } {
  try {
    return { ok: true, text: readFileSync(file, 'utf8') }
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    const why =
      e.code === 'ENOENT'
        ? 'no such file'
        : e.code === 'EISDIR'
          ? 'a directory, not a file'
          : // fs's own form, `EACCES: permission denied, open '<path>'`, without the code and the path.
            (/^E[A-Z]+: ([^,]+), [a-z]+ '/.exec(e.message)?.[1] ?? e.message)
    return { ok: false, message: `cannot read it: ${why}` }
  }
}

function load(
  file: string,
): { ok: true; ruleSet: RuleSet } | { ok: false; unreadable: boolean; errors: ConfigError[] } {
  const read = readConfigFile(file)
  if (!read.ok) return { ok: false, unreadable: true, errors: [{ path: '', message: read.message }] }
  const text = read.text
  const r = parseRules(text, formatFromPath(file), OPTIONS)
  if (!r.ok) return { ok: false, unreadable: false, errors: r.errors }
  return { ok: true, ruleSet: { version: r.version, rulesVersion: r.rulesVersion, rules: r.rules } }
}

/**
 * The rules file: parsed at start (an invalid file is a configuration error), then reloaded on change
 * or on demand. A reload that fails keeps the running rules and says which field is wrong and why.
 * `check` is asked about each reloaded rule set (not the first: the caller checks that against what it
 * reads next, the desks file): what it answers refuses the reload as an invalid file.
 */
export function createRulesSource(opts: {
  file: string
  debounceMs: number
  log: Logger
  metrics: AlerterMetrics
  check?: (ruleSet: RuleSet) => ConfigError[]
}): RulesSource {
  const { file, log, metrics } = opts
  const first = load(file)
  if (!first.ok) {
    throw new TradepulseError('CONFIG_INVALID', `ALERTER_RULES_FILE (${file}): ${formatErrors(first.errors)}`)
  }
  let ruleSet = first.ruleSet
  /** Ids of rules this process has had in force and has no more: their metric series are dropped. */
  const retired = new Set<string>()
  metrics.rulesLoaded.set(ruleSet.rules.length)
  log.info({ file, rulesVersion: ruleSet.rulesVersion, rules: ruleSet.rules.length }, 'rules loaded')
  let watcher: FSWatcher | undefined
  let timer: NodeJS.Timeout | undefined
  /** Where the file's path leads through its symbolic links ('' when it cannot be resolved). */
  const target = () => {
    try {
      return realpathSync(file)
    } catch {
      return ''
    }
  }
  let loadedFrom = target()

  const reload = (reason: string): ReloadResult => {
    loadedFrom = target()
    const loaded = load(file)
    const refused = loaded.ok ? (opts.check?.(loaded.ruleSet) ?? []) : []
    const r: ReturnType<typeof load> =
      refused.length > 0 ? { ok: false, unreadable: false, errors: refused } : loaded
    if (!r.ok) {
      const result = r.unreadable ? 'unreadable' : 'invalid'
      metrics.rulesReloads.inc({ result })
      log.error(
        { file, reason, errors: r.errors, rulesVersion: ruleSet.rulesVersion },
        `rules file refused, the running rules stay in force: ${formatErrors(r.errors)}`,
      )
      return { result, errors: r.errors }
    }
    if (r.ruleSet.rulesVersion === ruleSet.rulesVersion) {
      metrics.rulesReloads.inc({ result: 'unchanged' })
      return { result: 'unchanged', rulesVersion: ruleSet.rulesVersion }
    }
    const previous = ruleSet.rulesVersion
    for (const rule of ruleSet.rules) retired.add(rule.id)
    ruleSet = r.ruleSet
    for (const rule of ruleSet.rules) retired.delete(rule.id)
    // All the retired ids, not only this reload's: an alert of a rule removed earlier, counted after its
    // reload by a batch begun under the old rules or resent from the outbox, made its series again.
    forgetRules(metrics, retired)
    metrics.rulesReloads.inc({ result: 'ok' })
    metrics.rulesLoaded.set(ruleSet.rules.length)
    log.info(
      { file, reason, previous, rulesVersion: ruleSet.rulesVersion, rules: ruleSet.rules.length },
      'rules reloaded',
    )
    return { result: 'ok', rulesVersion: ruleSet.rulesVersion, rules: ruleSet.rules.length }
  }

  return {
    current: () => ruleSet,
    reload,
    watch() {
      if (watcher) return
      // The directory, not the file: editors and deploy tools replace a file by renaming over it, which
      // would leave a watch on the old inode deaf. Bursts of events (write, chmod, rename) are debounced.
      // A file reached through a symbolic link that is swapped (a Kubernetes ConfigMap or Secret mount:
      // rules.yaml -> ..data/rules.yaml, and ..data renamed to a new timestamped directory) changes with
      // no event of its own name: any event of the directory that leaves the path leading elsewhere
      // reloads too.
      const name = basename(file)
      watcher = watch(dirname(file), (_event, changed) => {
        if (changed !== null && changed !== name && target() === loadedFrom) return
        clearTimeout(timer)
        timer = setTimeout(() => reload('file changed'), opts.debounceMs)
      })
      watcher.on('error', (err) => log.warn({ err, file }, 'rules file watch failed; reload with SIGHUP'))
    },
    close() {
      clearTimeout(timer)
      watcher?.close()
      watcher = undefined
    },
  }
}
