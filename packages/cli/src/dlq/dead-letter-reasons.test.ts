import { readdirSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import {
  type Expression,
  type Node,
  type ObjectLiteralExpression,
  type ParameterDeclaration,
  type PropertyAssignment,
  type SignatureDeclaration,
  type SourceFile,
  SyntaxKind,
  type TypeAliasDeclaration,
  type VariableDeclaration,
} from 'typescript/unstable/ast'
import { API, type Checker, type Project, type Symbol as TsSymbol, type Type } from 'typescript/unstable/sync'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEAD_LETTER_REASONS } from './dead-letters.ts'

// dlq replay --reason takes DEAD_LETTER_REASONS only: a reason a worker writes that the list lacks, its
// letters cannot be selected by it (exit 78). The reasons reach a letter typed `string` (platform's Outcome,
// deadLetterRecord), so nothing else ties the list to the workers: this asks the compiler what reaches one.

const ROOT = join(import.meta.dirname, '..', '..', '..', '..')

/** Code that writes dead letters: the workers and the packages they run on; not tests, nor test support. */
const isWorkerCode = (path: string) =>
  /\/(services\/[^/]+|packages\/(?!testing\/)[^/]+)\/src\//.test(path) &&
  !/\.(test|conformance)\.ts$/.test(path)

/** Each reason that reaches a dead letter, where it is written; and what could not be followed. */
type Written = { reasons: Map<string, string[]>; unresolved: string[] }

/** A node with a name (a property or variable declaration, a function). */
type Named = Node & { name: Node }

/**
 * Every reason worker code can write on a dead letter, from the compiler's types: the values that reach the
 * `reason` of a `dlq` Outcome (platform's batch processor dead-letters those) or deadLetterRecord's `reason`
 * parameter. A value typed as a string literal, or a union of them, is taken as typed. One typed `string` is
 * followed to what is written to it: for a property, the object literals the compiler types with it (find
 * all references), those whose spread brings it, and values given whole for a parameter typed with it; for
 * a parameter, the arguments of its function's calls; for a variable, its initializer. Anything else (a
 * reason computed at run time) is named in `unresolved`, so that it fails the check rather than escape it.
 */
function writtenReasons(project: Project): Written {
  const { checker, program } = project
  const written: Written = { reasons: new Map(), unresolved: [] }
  const where = (node: Node) => {
    const sf = node.getSourceFile()
    return `${relative(ROOT, sf.fileName)}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}`
  }
  const seen = new Set<string>()
  const once = (node: Node) => {
    const key = `${node.getSourceFile().fileName}:${node.pos}:${node.kind}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  }
  const add = (value: string, at: Node) => {
    const list = written.reasons.get(value) ?? []
    if (list.length === 0) written.reasons.set(value, list)
    list.push(where(at))
  }
  const unresolved = (at: Node, what: string) => {
    written.unresolved.push(`${where(at)}: ${what}: ${at.getText().slice(0, 80)}`)
  }

  /** The strings a type stands for; undefined when it is not a string literal or a union of them. */
  const literals = (t: Type | undefined): string[] | undefined => {
    if (t?.isStringLiteralType()) return [String(t.value)]
    if (!t?.isUnionType()) return undefined
    const values: string[] = []
    for (const m of t.getTypes() ?? []) {
      if (!m.isStringLiteralType()) return undefined
      values.push(String(m.value))
    }
    return values
  }

  const fromExpression = (e: Node): void => {
    switch (e.kind) {
      case SyntaxKind.ParenthesizedExpression:
      case SyntaxKind.AsExpression:
      case SyntaxKind.SatisfiesExpression:
      case SyntaxKind.NonNullExpression:
        fromExpression((e as Node & { expression: Node }).expression)
        return
      case SyntaxKind.ConditionalExpression: {
        const c = e as Node & { whenTrue: Node; whenFalse: Node }
        fromExpression(c.whenTrue)
        fromExpression(c.whenFalse)
        return
      }
    }
    const values = literals(checker.getTypeAtLocation(e))
    if (values) {
      for (const v of values) add(v, e)
      return
    }
    if (e.kind === SyntaxKind.PropertyAccessExpression)
      fromSymbol(checker.getSymbolAtLocation((e as Named).name), e)
    else if (e.kind === SyntaxKind.Identifier) fromSymbol(checker.getSymbolAtLocation(e), e)
    else unresolved(e, 'typed string, and no variable, property or parameter to follow')
  }

  const fromSymbol = (sym: TsSymbol | undefined, at: Node): void => {
    if (!sym || sym.declarations.length === 0) {
      unresolved(at, 'no declaration to follow')
      return
    }
    for (const handle of sym.declarations) {
      const decl = handle.resolve()
      if (!decl) {
        unresolved(at, 'its declaration not found')
        continue
      }
      if (!once(decl)) continue
      switch (decl.kind) {
        case SyntaxKind.PropertySignature:
        case SyntaxKind.PropertyDeclaration:
          fromProperty(decl as Named)
          break
        case SyntaxKind.PropertyAssignment:
          fromExpression((decl as PropertyAssignment).initializer)
          break
        case SyntaxKind.ShorthandPropertyAssignment:
          fromSymbol(checker.getShorthandAssignmentValueSymbol(decl), decl)
          break
        case SyntaxKind.VariableDeclaration: {
          const init = (decl as VariableDeclaration).initializer
          if (init) fromExpression(init)
          else unresolved(decl, 'a variable without an initializer')
          break
        }
        case SyntaxKind.Parameter:
          fromParameter(decl as ParameterDeclaration, fromExpression)
          break
        default:
          unresolved(at, `declared as ${SyntaxKind[decl.kind]}`)
      }
    }
  }

  /**
   * The calls, in worker code, of the function declaring `param` (a function declaration, or a function a
   * const holds): each argument given for it. A use of the function other than a call cannot be followed.
   */
  const fromParameter = (param: ParameterDeclaration, each: (arg: Expression) => void): void => {
    const fn = param.parent as SignatureDeclaration
    const index = fn.parameters.indexOf(param)
    const name = (
      fn.parent.kind === SyntaxKind.VariableDeclaration ? (fn.parent as Named) : (fn as Partial<Named>)
    ).name
    if (name?.kind !== SyntaxKind.Identifier) {
      unresolved(fn, 'a function without a name to follow')
      return
    }
    for (const entry of checker.getReferencedSymbolsForNode(name, name.getStart()))
      for (const ref of entry.references) {
        const node = isWorkerCode(ref.path) ? ref.resolve() : undefined
        const parent = node?.parent
        if (!node || !parent || node.pos === name.pos) continue
        if (parent.kind === SyntaxKind.ImportSpecifier || parent.kind === SyntaxKind.ExportSpecifier) continue
        const call = parent as Node & { expression?: Node; arguments?: readonly Expression[] }
        if (parent.kind !== SyntaxKind.CallExpression || call.expression !== node) {
          unresolved(node, 'the function used other than in a call')
          continue
        }
        const arg = call.arguments?.[index]
        if (arg) each(arg)
        else unresolved(parent, 'a call without that argument')
      }
  }

  /** The reason of a value given whole where a type with the property is taken (a parsed record's failure). */
  const fromWholeValue = (value: Node): void => {
    if (value.kind === SyntaxKind.ObjectLiteralExpression) return // its property is a reference, followed
    const t = checker.getTypeAtLocation(value)
    const prop = t && checker.getPropertyOfType(t, 'reason')
    if (!prop) {
      unresolved(value, 'a value with no reason property in every case')
      return
    }
    const values = literals(checker.getTypeOfSymbol(prop))
    if (values) for (const v of values) add(v, value)
    else fromSymbol(prop, value)
  }

  /** Whether a type (or a member of a union) has its reason property declared at `decl`. */
  const declares = (t: Type | undefined, decl: Node) =>
    (t?.isUnionType() ? (t.getTypes() ?? []) : t ? [t] : []).some((m) =>
      checker
        .getPropertyOfType(m, 'reason')
        ?.declarations.some((d) => d.path === decl.getSourceFile().path && d.resolve()?.pos === decl.pos),
    )

  /** What is written to a `reason` property declaration. */
  const fromProperty = (decl: Named): void => {
    for (const entry of checker.getReferencedSymbolsForNode(decl.name, decl.name.getStart()))
      for (const ref of entry.references) {
        const node = isWorkerCode(ref.path) ? ref.resolve() : undefined
        const parent = node?.parent
        if (!node || !parent || !once(parent)) continue
        if (parent.kind === SyntaxKind.PropertyAssignment && (parent as PropertyAssignment).name === node)
          fromExpression((parent as PropertyAssignment).initializer)
        else if (parent.kind === SyntaxKind.ShorthandPropertyAssignment)
          fromSymbol(checker.getShorthandAssignmentValueSymbol(parent), parent)
        else if (
          parent.kind === SyntaxKind.PropertySignature ||
          parent.kind === SyntaxKind.PropertyDeclaration
        )
          fromProperty(parent as Named)
        // Anything else reads the property.
      }
    const owner = decl.parent
    if (owner.kind === SyntaxKind.TypeLiteral && owner.parent.kind === SyntaxKind.Parameter)
      fromParameter(owner.parent as ParameterDeclaration, fromWholeValue)
    for (const o of spreads)
      if (declares(checker.getContextualType(o), decl))
        for (const p of o.properties)
          if (p.kind === SyntaxKind.SpreadAssignment)
            fromWholeValue((p as Node & { expression: Node }).expression)
  }

  // Object literals with a spread and no reason of their own: a spread may bring one.
  const spreads: ObjectLiteralExpression[] = []
  const collect = (n: Node): void => {
    if (n.kind === SyntaxKind.ObjectLiteralExpression) {
      const { properties } = n as ObjectLiteralExpression
      if (
        properties.some((p) => p.kind === SyntaxKind.SpreadAssignment) &&
        !properties.some((p) => (p as Partial<Named>).name?.getText() === 'reason')
      )
        spreads.push(n as ObjectLiteralExpression)
    }
    n.forEachChild(collect)
  }
  for (const f of program.getSourceFileNames().filter(isWorkerCode)) {
    const sf = program.getSourceFile(f)
    if (sf) collect(sf)
  }

  // Where a reason goes on a letter: a dlq Outcome's reason, and deadLetterRecord's.
  const platform = (file: string): SourceFile => {
    const sf = program.getSourceFile(join(ROOT, 'packages/platform/src/kafka', file))
    if (!sf) throw new Error(`packages/platform/src/kafka/${file} is not in the program`)
    return sf
  }
  const outcome = platform('records.ts').statements.find(
    (s) => s.kind === SyntaxKind.TypeAliasDeclaration && (s as TypeAliasDeclaration).name.text === 'Outcome',
  ) as TypeAliasDeclaration | undefined
  const outcomeType = outcome && checker.getTypeAtLocation(outcome.name)
  const dlq = (outcomeType?.isUnionType() ? (outcomeType.getTypes() ?? []) : []).find(
    (m) => literals(propertyType(checker, m, 'kind'))?.[0] === 'dlq',
  )
  const outcomeReason = dlq && checker.getPropertyOfType(dlq, 'reason')?.declarations[0]?.resolve()
  if (!outcomeReason) throw new Error("platform's Outcome has no dlq member with a reason")
  once(outcomeReason)
  fromProperty(outcomeReason as Named)

  const deadLetterRecord = platform('dead-letter.ts').statements.find(
    (s) =>
      s.kind === SyntaxKind.FunctionDeclaration &&
      (s as Partial<Named>).name?.getText() === 'deadLetterRecord',
  ) as SignatureDeclaration | undefined
  const recordReason = deadLetterRecord?.parameters.find((p) => p.name.getText() === 'reason')
  if (!recordReason) throw new Error("platform's deadLetterRecord has no reason parameter")
  fromParameter(recordReason, fromExpression)
  return written
}

const propertyType = (checker: Checker, t: Type, name: string) => {
  const p = checker.getPropertyOfType(t, name)
  return p && checker.getTypeOfSymbol(p)
}

/** The repository's project as tsgo reads it, with extra files that exist only for it. */
function openProject(extra: Record<string, string> = {}): { api: API; written: Written } {
  const dirs = new Map<string, string[]>()
  for (const file of Object.keys(extra))
    dirs.set(dirname(file), [...(dirs.get(dirname(file)) ?? []), file.slice(dirname(file).length + 1)])
  const api = new API({
    cwd: ROOT,
    fs: {
      readFile: (f) => extra[f],
      fileExists: (f) => (f in extra ? true : undefined),
      getAccessibleEntries: (d) => {
        const more = dirs.get(d)
        if (!more) return undefined
        const entries = readdirSync(d, { withFileTypes: true })
        return {
          files: [...entries.filter((e) => e.isFile()).map((e) => e.name), ...more],
          directories: entries.filter((e) => e.isDirectory()).map((e) => e.name),
        }
      },
    },
  })
  try {
    const project = api.updateSnapshot({ openProjects: [join(ROOT, 'tsconfig.json')] }).getProjects()[0]
    if (!project) throw new Error('tsconfig.json opened no project')
    return { api, written: writtenReasons(project) }
  } catch (err) {
    api.close()
    throw err
  }
}

describe('the reasons dlq replay --reason takes (DEAD_LETTER_REASONS)', { timeout: 120_000 }, () => {
  let opened: ReturnType<typeof openProject> | undefined
  beforeAll(() => {
    opened = openProject()
  }, 120_000)
  afterAll(() => opened?.api.close())

  it('hold every reason the workers write, as the compiler follows them to a dead letter', () => {
    const { reasons, unresolved } = opened!.written
    expect(unresolved, 'reasons the check cannot follow to their values: give them a literal type').toEqual(
      [],
    )
    const missing = [...reasons]
      .filter(([r]) => !(DEAD_LETTER_REASONS as readonly string[]).includes(r))
      .map(([r, at]) => `${r} (${at.join(', ')})`)
    expect(missing, 'reasons workers write that DEAD_LETTER_REASONS lacks').toEqual([])
  })

  it('finds a new reason however a worker writes it, and names one it cannot follow', () => {
    const file = join(ROOT, 'services/scorer/src/dead-letter-reason-fixture.ts')
    const fixture = openProject({
      [file]: `import { deadLetterRecord, type InRecord, type Outcome } from '@tradepulse/platform'
const WHY = 'new_const'
const why = (): { reason: string; message: string } => ({ reason: 'new_via_type', message: 'm' })
const dlq = (p: { reason: string; message: string }): Outcome => ({ kind: 'dlq', reason: p.reason, message: p.message })
export const outcomes = (rec: InRecord, text: string, n: number): unknown[] => [
  { kind: 'dlq', reason: 'new_literal', message: 'm' } satisfies Outcome,
  { kind: 'dlq', reason: n > 1 ? WHY : 'new_branch', message: 'm' } satisfies Outcome,
  { kind: 'dlq', ...why() } satisfies Outcome,
  dlq(why()),
  dlq({ reason: 'new_argument', message: 'm' }),
  { kind: 'drop', reason: 'new_drop' } satisfies Outcome,
  { kind: 'dlq', reason: text.trim(), message: 'm' } satisfies Outcome,
  deadLetterRecord('dlq', 'scorer', rec, 'new_record', 'm', new Date()),
]
`,
    })
    try {
      const { reasons, unresolved } = fixture.written
      const inFixture = (r: string) =>
        (reasons.get(r) ?? []).filter((w) =>
          w.startsWith('services/scorer/src/dead-letter-reason-fixture.ts:'),
        )
      for (const r of [
        'new_const',
        'new_branch',
        'new_via_type',
        'new_literal',
        'new_argument',
        'new_record',
      ])
        expect(inFixture(r), r).toHaveLength(1)
      expect(reasons.has('new_drop')).toBe(false)
      expect(unresolved).toEqual([
        expect.stringMatching(
          /^services\/scorer\/src\/dead-letter-reason-fixture\.ts:\d+: .*: text\.trim\(\)$/,
        ),
      ])
    } finally {
      fixture.api.close()
    }
  })
})
