//! `instructions()`: the text that teaches a model to write scripts for this
//! harness, for its system prompt: the delivery form, the rules of the
//! sandbox that change what the model should write, the limits it meets,
//! and the declarations of `tools` (and `context`).
//!
//! Every rule here is one the harness enforces; `__test__/instructions.test.ts`
//! checks them against the running harness.

use crate::describe::{ContextDeclaration, describe_tools_with};
use crate::limits::HarnessLimits;
use crate::tools::ToolRegistry;

/// How the model hands a script over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delivery {
    /// `<tool-calls> ... </tool-calls>` in the reply (the default).
    #[default]
    Tag,
    /// A fenced block whose info string is `ts tool-calls`.
    Fence,
    /// The `code` argument of a tool (an MCP server's `execute`).
    Argument,
}

fn kib(bytes: u64) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MB", bytes / (1024 * 1024))
    } else if bytes >= 1024 {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

pub fn instructions(
    registry: &ToolRegistry,
    limits: &HarnessLimits,
    delivery: Delivery,
    context: ContextDeclaration,
) -> String {
    let how = match delivery {
        // The tags themselves only in the example: in prose they would
        // make a block of their own.
        Delivery::Tag => {
            "write a TypeScript script in a tool-calls tag in your reply, as shown below"
        }
        Delivery::Fence => {
            "write a TypeScript script in a fenced code block whose info string is `ts tool-calls`, as shown below"
        }
        Delivery::Argument => "call this tool with a TypeScript script as its `code` argument",
    };
    let example = match delivery {
        Delivery::Tag => {
            "<tool-calls>\nconst found = await Promise.all(names.map((name) => tools.example({ name })))\nreturn found.filter((f) => f.ok).length\n</tool-calls>"
        }
        Delivery::Fence => {
            "```ts tool-calls\nconst found = await Promise.all(names.map((name) => tools.example({ name })))\nreturn found.filter((f) => f.ok).length\n```"
        }
        Delivery::Argument => {
            "const found = await Promise.all(names.map((name) => tools.example({ name })))\nreturn found.filter((f) => f.ok).length"
        }
    };
    let runs = match delivery {
        Delivery::Argument => {
            "The script runs in a sandbox; what it returns (or the error it fails with), its console output and the status of each tool call are the result of this call."
        }
        _ => {
            "You may write several; they run one after another once your reply is complete. What each script returns (or the error it fails with), its console output and the status of each tool call come back to you in the next message."
        }
    };
    let context_rule = match context {
        ContextDeclaration::None => "",
        _ => "\n- `context` (declared below) holds facts about this run; it is read-only.",
    };
    format!(
        "# Using tools\n\
\n\
To use tools, {how}. {runs} The shape of a script (`tools.example` stands for a tool below):\n\
\n\
{example}\n\
\n\
Rules of the sandbox:\n\
- A script is the body of an async function: use `await` at the top level and `return` the result.\n\
- Return a small JSON value (at most {ret}): filter, count and summarise in the script instead of returning raw data.\n\
- `tools.*` (declared below) is the only way to reach anything outside the script: there is no `fetch`, \
`require`, `import`, file system, `setTimeout` or `setInterval`. Every tool call returns a Promise.\n\
- Run independent calls together with `Promise.all` (at most {concurrent} at a time, {calls} per script).\n\
- A failed call rejects with an Error whose `name` is its code: ToolExecutionError (the tool failed; \
`e.code` and `e.status` carry its own error code and status when it has them), ToolValidationError (bad \
arguments), ToolNotFoundError, ApprovalDeniedError (the user said no: report it and do not work around it). \
Catch the ones you can handle.\n\
- `console.log` output comes back to you; keep it short.\n\
- A script stops after {timeout} ms or {memory} MB (time a call waits for the user's approval does not \
count).{context_rule}\n\
\n\
```ts\n\
{declarations}```\n",
        ret = kib(limits.max_return_bytes),
        concurrent = limits.max_concurrent_tool_calls,
        calls = limits.max_tool_calls,
        timeout = limits.timeout_ms,
        memory = limits.memory_mb,
        declarations = describe_tools_with(registry, context),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_the_limits_and_the_form() {
        let registry = ToolRegistry::new(vec![]).unwrap();
        let limits = HarnessLimits {
            timeout_ms: 1234,
            max_return_bytes: 2 * 1024 * 1024,
            ..HarnessLimits::default()
        };
        let tag = instructions(&registry, &limits, Delivery::Tag, ContextDeclaration::Brief);
        assert!(tag.contains("<tool-calls>\nconst found"), "{tag}");
        assert!(tag.contains("after 1234 ms"), "{tag}");
        assert!(tag.contains("at most 2 MB"), "{tag}");
        assert!(tag.contains("declare const tools"), "{tag}");
        let fence = instructions(
            &registry,
            &limits,
            Delivery::Fence,
            ContextDeclaration::None,
        );
        assert!(fence.contains("```ts tool-calls\n"), "{fence}");
        assert!(!fence.contains("declare const context"), "{fence}");
    }
}
