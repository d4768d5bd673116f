// The public types of script-harness/mcp, written by scripts/build-js.mjs from
// the declarations of its TypeScript layer (src/js/mcp.ts).
// Do not edit: change src/js and run `npm run build`.
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { type ScriptHarness, type ToolDefinition } from './index.js';

/** The part of the MCP SDK's `Client` that `mcpTools` uses. */
export interface McpClientLike {
    listTools(params?: {
        cursor?: string;
    }): Promise<{
        tools: McpToolInfo[];
        nextCursor?: string;
    }>;
    callTool(params: {
        name: string;
        arguments?: Record<string, unknown>;
    }, resultSchema?: undefined, options?: {
        signal?: AbortSignal;
    }): Promise<unknown>;
    /** The SDK's; needed only for `onChange`. */
    setNotificationHandler?(schema: unknown, handler: (notification: unknown) => void | Promise<void>): void;
}
/** A tool as `tools/list` describes it. */
export interface McpToolInfo {
    name: string;
    title?: string;
    description?: string;
    inputSchema: object;
    outputSchema?: object;
    annotations?: {
        title?: string;
        readOnlyHint?: boolean;
        destructiveHint?: boolean;
        idempotentHint?: boolean;
        openWorldHint?: boolean;
    };
}
export interface McpToolsOptions {
    /** Where the tools go under `tools.*`: dotted identifiers. Default `'mcp'`. */
    namespace?: string;
    /** Whether a call waits for `onApproval`, per MCP tool name, or as a function of the tool (`undefined`: use its
     *  annotations). By default a read-only tool does not wait, and any other waits unless it is declared
     *  `destructiveHint: false`. */
    approval?: Record<string, boolean> | ((tool: McpToolInfo) => boolean | undefined);
    /** Told of each tool left out because its description breaks the protocol's rules (no name, an `inputSchema` or
     *  `outputSchema` that is not an object schema). Default: a process warning (`McpToolSkipped`). */
    onSkipped?: (tool: unknown, reason: string) => void;
    /** The most tools read from the server (all pages together); past it, `mcpTools` rejects. Default 1000. */
    maxTools?: number;
    /** Called with the server's tools, read again as `mcpTools` reads them, each time the server says its list changed
     *  (`notifications/tools/list_changed`): hand them to `harness.setTools`. It becomes the client's handler of that
     *  notification. A list that cannot be read again is reported as a process warning (`McpToolsRefreshFailed`), and
     *  the tools stay as they were. Requires the SDK's `Client` (its `setNotificationHandler`). */
    onChange?: (tools: ToolDefinition[]) => void;
}
/**
 * The path segment an MCP tool name becomes (see `mcpTools`). MCP names may
 * hold `-`, `.` and other characters a path segment cannot: each such
 * character becomes `_`, a leading digit gets a `_` before it, and a
 * reserved name gets one after it. `get-issue` → `get_issue`, `v2.search` →
 * `v2_search`, `3d` → `_3d`.
 */
export declare function mcpToolSegment(name: string): string;
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
export declare function mcpTools(client: McpClientLike, options?: McpToolsOptions): Promise<ToolDefinition[]>;
export interface CodeModeServerOptions {
    /** The harness whose scripts `execute` runs (its tools are what scripts may call). */
    harness: ScriptHarness;
    /** The server's name and version in `initialize`. Default `'script-harness'` and this package's version. */
    name?: string;
    version?: string;
    /** How much of `context` the tool's description declares (see `instructions()`). Default `'brief'`. */
    context?: 'full' | 'brief' | 'none';
    /** Whether `execute`'s description declares every tool (`'declared'`), or the server offers `search_tools` and
     *  `describe_tools` for the model to find tools and read their declarations (`'searched'`). Default `'auto'`:
     *  searched when the declarations of all the tools would exceed 32 KB (`SEARCHED_CATALOG_BYTES`). */
    catalog?: 'declared' | 'searched' | 'auto';
}
/** Past this size of the tools' declarations, an `'auto'` catalog is searched. About 8,000 tokens. */
export declare const SEARCHED_CATALOG_BYTES: number;
/** What `execute` returns as `structuredContent`. */
export interface ExecuteResult {
    ok: boolean;
    value?: unknown;
    error?: {
        code: string;
        message: string;
        line?: number;
    };
    logs: string[];
    toolCalls: Array<{
        tool: string;
        status: string;
    }>;
}
/**
 * An MCP server (the SDK's `Server`, not yet connected) with one tool, `execute` (`{ code: string }`), that runs
 * the code as a script in `harness`. Its description is `harness.instructions({ delivery: 'argument' })`: the
 * sandbox's rules, its limits and the declarations of the harness's tools. It answers with the result as text and
 * as `structuredContent` (`ExecuteResult`), `isError` when the script failed; the client's cancellation cancels
 * the script. Connect it to a transport: `await server.connect(new StdioServerTransport())`. After
 * `harness.setTools(...)`, call `server.sendToolListChanged()`: clients list the tools again and get the new
 * declarations. Requires `@modelcontextprotocol/sdk`.
 */
export declare function createCodeModeServer(options: CodeModeServerOptions): Server;
