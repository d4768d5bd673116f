// Compiled by `sdk-types.test.ts`: mcpTools takes the official SDK's Client
// as it is, and gives tool definitions a harness takes.
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { ScriptHarness } from '../../index.js'
import { mcpTools } from '../../mcp.js'

export async function withMcp(client: Client) {
  const tools = await mcpTools(client, { namespace: 'mcp.github', approval: (tool) => (tool.annotations?.readOnlyHint ? false : undefined) })
  return new ScriptHarness({ tools })
}
