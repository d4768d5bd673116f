//! `describeTools()`: TypeScript declarations of `tools` and `context` as a
//! script sees them, for a model's system prompt. Argument types come from
//! each tool's JSON Schema; descriptions become doc comments.

use serde_json::{Map, Value};

use crate::tools::ToolRegistry;

/// Deeper schemas are declared as `unknown`.
const MAX_DEPTH: usize = 12;

struct Node<'a> {
    name: &'a str,
    tool: Option<(Option<&'a str>, Option<&'a Value>)>,
    children: Vec<Node<'a>>,
}

fn insert<'a>(
    nodes: &mut Vec<Node<'a>>,
    path: &[&'a str],
    description: Option<&'a str>,
    params: Option<&'a Value>,
) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let index = match nodes.iter().position(|n| n.name == *first) {
        Some(i) => i,
        None => {
            nodes.push(Node {
                name: first,
                tool: None,
                children: Vec::new(),
            });
            nodes.len() - 1
        }
    };
    if rest.is_empty() {
        nodes[index].tool = Some((description, params));
    } else {
        insert(&mut nodes[index].children, rest, description, params);
    }
}

fn doc(out: &mut String, indent: &str, text: Option<&str>) {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return;
    };
    let text = text.replace("*/", "*\\/");
    if !text.contains('\n') {
        out.push_str(&format!("{indent}/** {text} */\n"));
        return;
    }
    out.push_str(&format!("{indent}/**\n"));
    for line in text.lines() {
        out.push_str(&format!("{indent} * {line}\n").replace(" * \n", " *\n"));
    }
    out.push_str(&format!("{indent} */\n"));
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

fn key(name: &str) -> String {
    if is_identifier(name) {
        name.to_owned()
    } else {
        Value::String(name.to_owned()).to_string()
    }
}

fn literal(v: &Value) -> String {
    match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => v.to_string(),
        _ => "unknown".to_owned(),
    }
}

fn union(parts: Vec<String>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for p in parts {
        if !seen.contains(&p) {
            seen.push(p);
        }
    }
    match seen.len() {
        0 => "never".to_owned(),
        1 => seen.remove(0),
        _ => seen
            .into_iter()
            .map(|p| {
                if p.contains(" & ") {
                    format!("({p})")
                } else {
                    p
                }
            })
            .collect::<Vec<_>>()
            .join(" | "),
    }
}

/// The TypeScript type of a JSON Schema, laid out at `indent`.
fn schema_type(schema: &Value, indent: &str, depth: usize) -> String {
    if depth > MAX_DEPTH {
        return "unknown".to_owned();
    }
    let obj = match schema {
        Value::Bool(true) => return "unknown".to_owned(),
        Value::Bool(false) => return "never".to_owned(),
        Value::Object(o) => o,
        _ => return "unknown".to_owned(),
    };
    if let Some(c) = obj.get("const") {
        return literal(c);
    }
    if let Some(Value::Array(values)) = obj.get("enum") {
        return union(values.iter().map(literal).collect());
    }
    for combinator in ["anyOf", "oneOf"] {
        if let Some(Value::Array(members)) = obj.get(combinator) {
            return union(
                members
                    .iter()
                    .map(|m| schema_type(m, indent, depth + 1))
                    .collect(),
            );
        }
    }
    if let Some(Value::Array(members)) = obj.get("allOf") {
        let parts: Vec<String> = members
            .iter()
            .map(|m| schema_type(m, indent, depth + 1))
            .collect();
        return match parts.len() {
            0 => "unknown".to_owned(),
            _ => parts
                .into_iter()
                .map(|p| {
                    if p.contains(" | ") {
                        format!("({p})")
                    } else {
                        p
                    }
                })
                .collect::<Vec<_>>()
                .join(" & "),
        };
    }
    match obj.get("type") {
        Some(Value::Array(types)) => union(
            types
                .iter()
                .filter_map(Value::as_str)
                .map(|t| single_type(obj, t, indent, depth))
                .collect(),
        ),
        Some(Value::String(t)) => single_type(obj, t, indent, depth),
        _ if obj.contains_key("properties") => object_type(obj, indent, depth),
        _ if obj.contains_key("items") => single_type(obj, "array", indent, depth),
        _ => "unknown".to_owned(),
    }
}

fn single_type(obj: &Map<String, Value>, t: &str, indent: &str, depth: usize) -> String {
    match t {
        "string" => "string".to_owned(),
        "number" | "integer" => "number".to_owned(),
        "boolean" => "boolean".to_owned(),
        "null" => "null".to_owned(),
        "array" => match (obj.get("prefixItems"), obj.get("items")) {
            (Some(Value::Array(items)), _) => format!(
                "[{}]",
                items
                    .iter()
                    .map(|i| schema_type(i, indent, depth + 1))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (_, Some(items)) => format!("Array<{}>", schema_type(items, indent, depth + 1)),
            _ => "unknown[]".to_owned(),
        },
        "object" => object_type(obj, indent, depth),
        _ => "unknown".to_owned(),
    }
}

fn object_type(obj: &Map<String, Value>, indent: &str, depth: usize) -> String {
    let required: Vec<&str> = obj
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let inner = format!("{indent}  ");
    let mut out = String::from("{\n");
    if let Some(Value::Object(props)) = obj.get("properties") {
        for (name, prop) in props {
            doc(
                &mut out,
                &inner,
                prop.get("description").and_then(Value::as_str),
            );
            let optional = if required.contains(&name.as_str()) {
                ""
            } else {
                "?"
            };
            out.push_str(&format!(
                "{inner}{}{optional}: {};\n",
                key(name),
                schema_type(prop, &inner, depth + 1)
            ));
        }
    }
    match obj.get("additionalProperties") {
        Some(Value::Bool(false)) => {}
        // An index signature must admit every declared property; `unknown` does.
        Some(Value::Object(_))
            if obj
                .get("properties")
                .is_some_and(|p| p.as_object().is_some_and(|m| !m.is_empty())) =>
        {
            out.push_str(&format!("{inner}[key: string]: unknown;\n"));
        }
        Some(extra @ Value::Object(_)) => {
            out.push_str(&format!(
                "{inner}[key: string]: {};\n",
                schema_type(extra, &inner, depth + 1)
            ));
        }
        Some(Value::Bool(true)) => out.push_str(&format!("{inner}[key: string]: unknown;\n")),
        _ => {}
    }
    if out == "{\n" {
        return "Record<string, unknown>".to_owned();
    }
    out.push_str(&format!("{indent}}}"));
    out
}

fn members(out: &mut String, nodes: &[Node<'_>], indent: &str) {
    for node in nodes {
        match &node.tool {
            Some((description, params)) => {
                doc(out, indent, *description);
                let args = match params {
                    Some(schema) => {
                        let t = schema_type(schema, indent, 0);
                        let optional = schema
                            .get("required")
                            .and_then(Value::as_array)
                            .is_none_or(|r| r.is_empty());
                        format!("args{}: {t}", if optional { "?" } else { "" })
                    }
                    None => "args?: Record<string, unknown>".to_owned(),
                };
                out.push_str(&format!(
                    "{indent}{}({args}): Promise<unknown>;\n",
                    key(node.name)
                ));
            }
            None => {
                out.push_str(&format!("{indent}readonly {}: {{\n", key(node.name)));
                members(out, &node.children, &format!("{indent}  "));
                out.push_str(&format!("{indent}}};\n"));
            }
        }
    }
}

pub fn describe_tools(registry: &ToolRegistry) -> String {
    let mut roots: Vec<Node> = Vec::new();
    for i in 0..registry.len() {
        let Some(spec) = registry.get(i) else {
            continue;
        };
        let path: Vec<&str> = spec.name.split('.').collect();
        insert(
            &mut roots,
            &path,
            spec.description.as_deref(),
            spec.parameters.as_ref(),
        );
    }
    let mut out = String::new();
    out.push_str("/**\n * The tools a script can call. Every call returns a Promise of the tool's JSON result;\n");
    out.push_str(" * a failure rejects with an Error whose `name` is its code (ToolExecutionError, ...).\n */\n");
    out.push_str("declare const tools: {\n");
    members(&mut out, &roots, "  ");
    out.push_str("};\n\n");
    out.push_str(CONTEXT_DECLARATION);
    out
}

const CONTEXT_DECLARATION: &str = "/** Facts about this run. Deep-frozen. */
declare const context: {
  readonly conversationId?: string;
  readonly sessionId?: string;
  readonly turnId?: string;
  readonly workingDirectory?: string;
  readonly provider?: string;
  readonly model?: string;
  readonly scriptId: string;
  readonly mode: 'enabled';
  readonly limits: {
    readonly timeoutMs: number;
    readonly memoryMb: number;
    readonly maxStackBytes: number;
    readonly maxSourceBytes: number;
    readonly maxReturnBytes: number;
    readonly maxToolCalls: number;
    readonly maxConcurrentToolCalls: number;
    readonly maxLogEvents: number;
    readonly approvalTimeoutMs: number;
    readonly orphanGraceMs: number;
  };
  /** Names of the registered tools. */
  readonly tools: readonly string[];
  /** Tell the user how the script is getting on (rate-limited). */
  emitProgress(message: string, kind?: string): void;
};
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::{ApprovalRule, ToolSpec};
    use serde_json::json;

    #[test]
    fn declares_namespaces_arguments_and_docs() {
        let registry = ToolRegistry::new(vec![
            ToolSpec {
                name: "exec".into(),
                description: Some("Run a command".into()),
                parameters: Some(json!({
                    "type": "object",
                    "properties": { "command": { "type": "array", "items": { "type": "string" }, "description": "argv" },
                                    "cwd": { "type": "string" } },
                    "required": ["command"]
                })),
                approval: ApprovalRule::Never,
            },
            ToolSpec { name: "mcp.github.searchIssues".into(), description: None, parameters: None, approval: ApprovalRule::Never },
        ])
        .unwrap();
        let d = describe_tools(&registry);
        assert!(d.contains("  /** Run a command */\n  exec(args: {\n    /** argv */\n    command: Array<string>;\n    cwd?: string;\n  }): Promise<unknown>;"), "{d}");
        assert!(d.contains("readonly mcp: {\n    readonly github: {\n      searchIssues(args?: Record<string, unknown>): Promise<unknown>;"), "{d}");
    }
}
