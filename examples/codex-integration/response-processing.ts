// How the TypeScript codex port calls the harness from its
// `core/client/response-processing.ts`: the model's output items in, history
// items, native calls to run, and the input to send next, out.
import type { HistoryItem, ProcessedTurn, RunOptions, ScriptHarness } from '../../index.js'

/** The codex port's `ResponseItem` (protocol/models.ts), the variants a model turn holds. */
export type ResponseItem =
  | { type: 'message'; id?: string; role: 'assistant'; content: Array<{ type: 'output_text'; text: string }>; phase?: unknown }
  | { type: 'reasoning'; id?: string; summary: Array<{ type: 'summary_text'; text: string }>; content?: Array<{ type: 'reasoning_text'; text: string }>; encrypted_content?: string }
  | { type: 'function_call'; id?: string; name: string; arguments: string; call_id: string }

export interface ProcessedItems {
  /** Everything to record in the conversation history, in the turn's order. */
  history: HistoryItem[]
  /** Native tool calls of the same turn, for codex's own tool router. */
  pendingToolCalls: Array<Extract<HistoryItem, { type: 'function_call' }>>
  /** Append after the turn and after the outputs of `pendingToolCalls`. */
  continuation: ProcessedTurn<'responses'>['continuation']
  /** Whether the model must be called again (scripts ran, or native calls are pending). */
  needsFollowUp: boolean
}

/**
 * Run the scripts of one completed turn. `items` are the turn's output items
 * as codex records them (Responses API shapes), so they go in as they are.
 */
export async function processResponseItems(harness: ScriptHarness, items: ResponseItem[], options?: RunOptions): Promise<ProcessedItems> {
  const turn = await harness.processResponse('responses', items, options)
  const pendingToolCalls = turn.items.filter((i): i is Extract<HistoryItem, { type: 'function_call' }> => i.type === 'function_call')
  return {
    history: turn.items,
    pendingToolCalls,
    continuation: turn.continuation,
    needsFollowUp: turn.continuation.length > 0 || pendingToolCalls.length > 0,
  }
}
