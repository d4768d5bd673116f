/* `@codex-port/script-harness/mcp`: an MCP server's tools as script-harness tools.
 * The MCP SDK is an optional peer dependency: pass the `Client` you connected. */
import type { ToolDefinition } from './index.js'

/** The part of the MCP SDK's `Client` that `mcpTools` uses. */
export interface McpClientLike {
  listTools(params?: { cursor?: string }): Promise<{ tools: McpToolInfo[]; nextCursor?: string }>
  callTool(
    params: { name: string; arguments?: Record<string, unknown> },
    resultSchema?: undefined,
    options?: { signal?: AbortSignal },
  ): Promise<unknown>
}

/** A tool as `tools/list` describes it. */
export interface McpToolInfo {
  name: string
  title?: string
  description?: string
  inputSchema: object
  outputSchema?: object
  annotations?: { title?: string; readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean; openWorldHint?: boolean }
}

export interface McpToolsOptions {
  /** Where the tools go under `tools.*`: dotted identifiers. Default `'mcp'`. */
  namespace?: string
  /** Whether a call waits for `onApproval`, per MCP tool name, or as a function of the tool (`undefined`: use its
   *  annotations). By default a read-only tool does not wait, and any other waits unless it is declared
   *  `destructiveHint: false`. */
  approval?: Record<string, boolean> | ((tool: McpToolInfo) => boolean | undefined)
  /** Told of each tool left out because its description breaks the protocol's rules (no name, an `inputSchema` or
   *  `outputSchema` that is not an object schema). Default: a process warning (`McpToolSkipped`). */
  onSkipped?: (tool: unknown, reason: string) => void
}

/**
 * Every tool of the server `client` is connected to (all pages of `tools/list`), as a `ToolDefinition` named
 * `<namespace>.<segment>`: the MCP name with each character a path cannot hold made `_` (`get-issue` →
 * `get_issue`), a leading digit prefixed with `_`, and a reserved name (`then`, `constructor`, ...) suffixed
 * with `_`. Two tools that become the same name are a `TypeError`. `inputSchema` is the tool's `parameters`
 * (arguments are checked before the server sees them) and `outputSchema` its `returns`. The handler calls
 * `tools/call` with the call's `AbortSignal`, and gives the script `structuredContent` when the server sent
 * it, else the text of an all-text result (parts joined by newlines), else the content parts; an `isError`
 * result or a protocol error is a `ToolExecutionError` with the server's message.
 */
export declare function mcpTools(client: McpClientLike, options?: McpToolsOptions): Promise<ToolDefinition[]>

/** The path segment an MCP tool name becomes (see `mcpTools`). */
export declare function mcpToolSegment(name: string): string
