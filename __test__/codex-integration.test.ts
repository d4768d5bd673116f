// The codex-port integration example, run on a fixture of __test__/fixtures.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { expect, it } from 'vitest'
import { ScriptHarness } from '../index.js'
import { processResponseItems, type ResponseItem } from '../examples/codex-integration/response-processing'

it('processResponseItems turns codex ResponseItems into history, pending native calls and a continuation', async () => {
  const fx = JSON.parse(readFileSync(path.join(__dirname, 'fixtures/turns/responses/07-script-with-native-function-call.json'), 'utf8'))
  const harness = new ScriptHarness({
    tools: [
      { name: 'applyPatch', requiresApproval: true, handler: () => ({ success: true, changes: [] }) },
      { name: 'exec', handler: () => ({ exitCode: 0, stdout: '', stderr: '' }) },
      { name: 'fileSearch', handler: () => [] },
    ],
    onApproval: () => 'approved',
  })
  const items = fx.response.output as ResponseItem[]
  const out = await processResponseItems(harness, items, { context: { turnId: 'turn-1' } })
  expect(out.history.map((i) => i.type)).toEqual(['reasoning', 'message', 'script_tool_call', 'script_tool_call_output', 'message', 'function_call'])
  expect(out.pendingToolCalls.map((c) => c.name)).toEqual(['update_plan'])
  expect(out.continuation).toHaveLength(1)
  expect(out.needsFollowUp).toBe(true)
  await harness.close()
})
