import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** Every process under `root` (children, theirs, ...), as pid and command name (ps). */
export function descendants(root: number): { pid: number; comm: string }[] {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,comm='])
    .toString()
    .trim()
    .split('\n')
    .map((line) => {
      const [pid, ppid, comm] = line.trim().split(/\s+/)
      return { pid: Number(pid), ppid: Number(ppid), comm: comm! }
    })
  const found: { pid: number; comm: string }[] = []
  const parents = new Set([root])
  for (let grew = true; grew; ) {
    grew = false
    for (const row of rows)
      if (parents.has(row.ppid) && !parents.has(row.pid)) {
        parents.add(row.pid)
        found.push({ pid: row.pid, comm: row.comm })
        grew = true
      }
  }
  return found
}

/** A process's arguments (/proc/<pid>/cmdline), or none once it has gone. */
export function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
  } catch {
    return []
  }
}
