// `applyPatch`: edits files with a patch in the Codex apply_patch format,
// confined to the workspace, all or nothing.
import type { ToolContext, ToolDefinition } from '../../../index.js'
import { realRoot, toRelative } from '../paths.ts'
import { commitWrites } from './commit.ts'
import { parsePatch } from './parse.ts'
import { planPatch, type Change } from './plan.ts'

export type { Change } from './plan.ts'

export interface ApplyPatchResult {
  success: true
  changes: Change[]
}

export interface ApplyPatchToolOptions {
  root: string
}

const DESCRIPTION = `Edit files with a patch. Paths are relative to the workspace root. Format:
*** Begin Patch
*** Add File: path        (then every line of the new file, each prefixed with +)
*** Delete File: path
*** Update File: path
*** Move to: new/path     (optional, right after Update File)
@@ optional line to find first, e.g. a function header
 context line (space prefix), -removed line, +added line; about 3 lines of context around each change
*** End of File           (optional: the hunk is at the end of the file)
*** End Patch
The patch applies completely or not at all; a hunk that does not match throws an error naming the file and the line not found.
Returns { success: true, changes: Array<{ path: string, kind: 'add' | 'update' | 'delete' | 'move', additions: number, deletions: number, from?: string }> }.`

export function applyPatchTool(options: ApplyPatchToolOptions): ToolDefinition {
  let root: Promise<string> | undefined
  return {
    name: 'applyPatch',
    description: DESCRIPTION,
    parameters: {
      type: 'object',
      properties: { patch: { type: 'string', minLength: 1, description: 'The whole patch, from *** Begin Patch to *** End Patch.' } },
      required: ['patch'],
      additionalProperties: false,
    },
    requiresApproval: true,
    handler: async (args: unknown, ctx: ToolContext): Promise<ApplyPatchResult> => {
      const { patch } = args as { patch: string }
      const ops = parsePatch(patch)
      if (ops.length === 0) throw new Error('applyPatch: the patch has no file operations')
      root ??= realRoot(options.root)
      const base = await root
      const plan = await planPatch(base, ops)
      // Cancellation is honoured up to here; once writing starts it finishes
      // (or rolls back), so a cancelled call never leaves half a patch.
      ctx.signal.throwIfAborted()
      await commitWrites(plan.writes, (abs) => toRelative(base, abs))
      return { success: true, changes: plan.changes }
    },
  }
}
