/** A zod error's issues on one line, each naming its field: `path: message; ...` (`(root)` for the whole value). */
export function formatIssues(error: {
  issues: readonly { path: readonly PropertyKey[]; message: string }[]
}): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ')
}
