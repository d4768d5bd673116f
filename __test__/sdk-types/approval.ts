// Compiled by `sdk-types.test.ts`: the approval callback accepts what people
// write, async or not, without `as const`.
import { ScriptHarness, type ProcessedTurn } from '../../index.js'

new ScriptHarness({ tools: [], onApproval: async () => 'approved' })
new ScriptHarness({ tools: [], onApproval: () => true })
const options = { tools: [], onApproval: async (req: { toolName: string }) => (req.toolName === 'exec' ? 'denied' : 'approved') }
new ScriptHarness(options)

// HistoryItem narrows by `type`, including the native calls and `other`.
export function nativeCalls(turn: ProcessedTurn): string[] {
  const out: string[] = []
  for (const item of turn.items) {
    if (item.type === 'function_call') out.push(item.arguments)
    else if (item.type === 'custom_tool_call') out.push(item.input)
    else if (item.type === 'other') out.push(JSON.stringify(item.raw))
    else if (item.type === 'message') out.push(item.content[0].text)
  }
  for (const p of turn.problems) out.push(p.kind === 'unread' ? p.field : p.kind === 'unmatched' ? p.scriptId : `${p.line}`)
  return out
}
