// Three core coding tools as script-harness ToolDefinitions, confined to one
// workspace directory:
//
//   const harness = new ScriptHarness({ tools: codingTools('/path/to/repo'), onApproval })
//
// exec and applyPatch require approval; fileSearch only reads names.
import type { ToolDefinition } from '../../index.js'
import { applyPatchTool } from './apply-patch/index.ts'
import { execTool } from './exec.ts'
import { fileSearchTool } from './file-search.ts'

export { applyPatchTool, type ApplyPatchResult, type Change } from './apply-patch/index.ts'
export { execTool, type ExecArgs, type ExecResult } from './exec.ts'
export { fileSearchTool, type FileMatch, type FileSearchArgs } from './file-search.ts'
export { PathEscapeError } from './paths.ts'

export function codingTools(root: string): ToolDefinition[] {
  return [execTool({ root }), fileSearchTool({ root }), applyPatchTool({ root })]
}
