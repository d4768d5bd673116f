// Short, readable descriptions of the coding tools' calls and results, for
// event lines and approval prompts.
import type { ApplyPatchResult, ExecResult, FileMatch } from '../tools/index.ts'
import { brief, type Palette } from './ui.ts'

type Args = Record<string, unknown>

export function describeCall(tool: string, args: unknown): string {
  const a = (args ?? {}) as Args
  switch (tool) {
    case 'exec': {
      const cmd = (a.command as string[] | undefined)?.map(quote).join(' ') ?? '?'
      return a.cwd ? `${cmd}  (in ${a.cwd})` : cmd
    }
    case 'fileSearch':
      return JSON.stringify(a.pattern) + (a.excludePatterns ? ` excluding ${brief(a.excludePatterns, 60)}` : '')
    case 'applyPatch':
      return patchFiles(String(a.patch ?? '')).join(', ') || 'an empty patch'
    default:
      return brief(args, 100)
  }
}

export function describeResult(tool: string, result: unknown): string {
  switch (tool) {
    case 'exec': {
      const r = result as ExecResult
      return `exit ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}`
    }
    case 'fileSearch': {
      const r = result as FileMatch[]
      return r.length === 0 ? 'no files' : `${r.length} file${r.length === 1 ? '' : 's'}: ${brief(r.map((m) => m.path).join(', '), 80)}`
    }
    case 'applyPatch':
      return (result as ApplyPatchResult).changes.map((c) => `${c.kind} ${c.path} +${c.additions} -${c.deletions}`).join(', ')
    default:
      return brief(result, 80)
  }
}

/** The patch, indented, with added and removed lines colored. */
export function patchPreview(args: unknown, c: Palette): string {
  const patch = String((args as Args | undefined)?.patch ?? '')
  return patch
    .split('\n')
    .map((l) => '      ' + (l.startsWith('+') ? c.green(l) : l.startsWith('-') ? c.red(l) : c.dim(l)))
    .join('\n')
}

function patchFiles(patch: string): string[] {
  const files: string[] = []
  for (const m of patch.matchAll(/^\*\*\* (Add|Update|Delete) File: (.+)$/gm)) files.push(`${m[1]!.toLowerCase()} ${m[2]!.trim()}`)
  return files
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`
}
