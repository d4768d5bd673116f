//! `instructions()`: the text that teaches a model to write scripts for this
//! harness, for its system prompt: the delivery form, the rules of the
//! sandbox that change what the model should write, the limits it meets,
//! and the declarations of `tools` (and `context`).
//!
//! Every rule here is one the harness enforces; `__test__/instructions.test.ts`
//! checks them against the running harness.

use crate::describe::{ContextDeclaration, declare_context, describe_tools_with};
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

/// Whether the instructions declare every tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Catalog {
    /// Every tool is declared (the default).
    #[default]
    Declared,
    /// No tool is declared, only how many there are in each namespace: the
    /// model finds them with a `search_tools` tool and reads their
    /// declarations with a `describe_tools` tool, which the host offers
    /// (the MCP code-mode server does). For catalogs too large for a prompt.
    Searched,
}

/// The most namespaces a searched catalog's summary names.
const MAX_NAMESPACES_NAMED: usize = 40;

/// A searched catalog's stand-in for the declarations of `tools`.
fn catalog_summary(registry: &ToolRegistry) -> String {
    // First segments, in registration order, with their tool counts.
    let mut groups: Vec<(&str, usize, bool)> = Vec::new();
    for name in registry.names() {
        let (head, nested) = match name.split_once('.') {
            Some((head, _)) => (head, true),
            None => (name, false),
        };
        match groups.iter_mut().find(|(h, _, _)| *h == head) {
            Some(group) => group.1 += 1,
            None => groups.push((head, 1, nested)),
        }
    }
    let mut named: Vec<String> = groups
        .iter()
        .take(MAX_NAMESPACES_NAMED)
        .map(|(head, count, nested)| match (nested, count) {
            (false, _) => format!("tools.{head}"),
            (true, 1) => format!("tools.{head} (1 tool)"),
            (true, n) => format!("tools.{head} ({n} tools)"),
        })
        .collect();
    if groups.len() > MAX_NAMESPACES_NAMED {
        named.push(format!("and {} more", groups.len() - MAX_NAMESPACES_NAMED));
    }
    let total = registry.len();
    format!(
        "/**\n\
 * The tools a script can call: {total} tool{s}, not declared here. Find them with the\n\
 * `search_tools` tool and read their declarations with `describe_tools` before calling\n\
 * them. Every call returns a Promise of the tool's JSON result; a failure rejects with\n\
 * an Error whose `name` is its code (ToolExecutionError, ...).\n\
 * In this catalog: {list}.\n\
 */\n\
declare const tools: {{ readonly [name: string]: any }};\n",
        s = if total == 1 { "" } else { "s" },
        list = if named.is_empty() {
            "nothing".to_owned()
        } else {
            named.join(", ")
        },
    )
}

pub fn instructions(
    registry: &ToolRegistry,
    limits: &HarnessLimits,
    delivery: Delivery,
    context: ContextDeclaration,
    catalog: Catalog,
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
    let (tools_rule, declarations) = match catalog {
        Catalog::Declared => ("(declared below)", describe_tools_with(registry, context)),
        Catalog::Searched => (
            "(find them with the `search_tools` tool and read their declarations with `describe_tools`)",
            catalog_summary(registry) + &declare_context(context),
        ),
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
- `tools.*` {tools_rule} is the only way to reach anything outside the script: there is no `fetch`, \
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
        let tag = instructions(
            &registry,
            &limits,
            Delivery::Tag,
            ContextDeclaration::Brief,
            Catalog::Declared,
        );
        assert!(tag.contains("<tool-calls>\nconst found"), "{tag}");
        assert!(tag.contains("after 1234 ms"), "{tag}");
        assert!(tag.contains("at most 2 MB"), "{tag}");
        assert!(tag.contains("declare const tools"), "{tag}");
        let fence = instructions(
            &registry,
            &limits,
            Delivery::Fence,
            ContextDeclaration::None,
            Catalog::Declared,
        );
        assert!(fence.contains("```ts tool-calls\n"), "{fence}");
        assert!(!fence.contains("declare const context"), "{fence}");
    }

    fn tool(name: &str) -> crate::tools::ToolSpec {
        crate::tools::ToolSpec {
            name: name.into(),
            description: Some(format!("The tool {name}.")),
            parameters: None,
            approval: crate::tools::ApprovalRule::Never,
            returns: None,
        }
    }

    #[test]
    fn a_searched_catalog_names_its_namespaces_and_declares_no_tool() {
        let registry = ToolRegistry::new(vec![
            tool("gh.issues.list"),
            tool("gh.pulls.get"),
            tool("exec"),
            tool("fs.read"),
        ])
        .unwrap();
        let limits = HarnessLimits::default();
        let with = |catalog| {
            instructions(
                &registry,
                &limits,
                Delivery::Argument,
                ContextDeclaration::Brief,
                catalog,
            )
        };
        let text = with(Catalog::Searched);
        assert!(text.contains("4 tools, not declared here"), "{text}");
        assert!(
            text.contains("In this catalog: tools.gh (2 tools), tools.exec, tools.fs (1 tool)."),
            "{text}"
        );
        assert!(
            text.contains("find them with the `search_tools` tool"),
            "{text}"
        );
        assert!(!text.contains("The tool gh.issues.list"), "{text}");
        assert!(text.contains("declare const context"), "{text}");
        let declared = with(Catalog::Declared);
        assert!(declared.contains("The tool gh.issues.list"), "{declared}");
        assert!(
            declared.contains("`tools.*` (declared below)"),
            "{declared}"
        );
    }
}
