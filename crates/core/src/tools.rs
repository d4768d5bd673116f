//! The registry of tools a harness exposes to scripts as `tools.*`.
//!
//! Handlers live in the host (JavaScript); the engine knows a tool by its
//! index in this registry and by its dotted path.

use std::collections::HashMap;

use serde_json::Value;

use crate::errors::HarnessError;

/// Segment names that would let a script reach object internals or make the
/// tools tree thenable (`await tools` would call `tools.then`).
/// Names a JS engine or library looks up by itself: `then` (await),
/// `toJSON` (JSON.stringify, console), and the prototype machinery.
const RESERVED_SEGMENTS: [&str; 5] = ["__proto__", "constructor", "prototype", "then", "toJSON"];

#[derive(Debug, Clone, PartialEq)]
pub enum ApprovalRule {
    Never,
    Always,
    /// The host evaluates its predicate for each call.
    Predicate,
}

#[derive(Debug, Clone)]
pub struct ToolSpec {
    pub name: String,
    pub description: Option<String>,
    pub parameters: Option<Value>,
    pub approval: ApprovalRule,
    /// JSON Schema of the result: declared to the model by
    /// `describeTools()`, not checked at run time.
    pub returns: Option<Value>,
}

#[derive(Default)]
pub struct ToolRegistry {
    tools: Vec<ToolSpec>,
    /// Compiled once per harness, one per tool with `parameters`.
    validators: Vec<Option<jsonschema::Validator>>,
}

impl std::fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolRegistry")
            .field("tools", &self.tools)
            .finish_non_exhaustive()
    }
}

/// Why `schema` cannot be a tool's `parameters` or `returns` (the
/// validator cannot compile it), or `None`.
pub fn check_schema(schema: &Value) -> Option<String> {
    jsonschema::validator_for(schema)
        .err()
        .map(|e| format!("is not a valid JSON Schema: {e}"))
}

fn valid_segment(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

impl ToolRegistry {
    pub fn new(tools: Vec<ToolSpec>) -> Result<ToolRegistry, HarnessError> {
        let mut names: HashMap<&str, usize> = HashMap::with_capacity(tools.len());
        let mut namespaces: HashMap<&str, usize> = HashMap::new();
        for (i, tool) in tools.iter().enumerate() {
            let field = format!("tools[{i}].name");
            if tool.name.is_empty() {
                return Err(HarnessError::option(field, "must be a non-empty string"));
            }
            for segment in tool.name.split('.') {
                if !valid_segment(segment) {
                    return Err(HarnessError::option(
                        field,
                        format!(
                            "'{}' is not a valid tool name: use identifiers separated by dots, like 'mcp.github.searchIssues'",
                            tool.name
                        ),
                    ));
                }
                if RESERVED_SEGMENTS.contains(&segment) {
                    return Err(HarnessError::option(
                        field,
                        format!("'{}' uses the reserved name '{segment}'", tool.name),
                    ));
                }
            }
            // Against the tools before it, by lookup rather than pairwise
            // (a host with 40,000 MCP tools took seconds).
            if let Some(&j) = names.get(tool.name.as_str()) {
                return Err(HarnessError::option(
                    field,
                    format!("duplicate tool name '{}' (also tools[{j}])", tool.name),
                ));
            }
            if let Some(&j) = namespaces.get(tool.name.as_str()) {
                return Err(HarnessError::option(
                    field,
                    format!(
                        "'{}' is both a tool and the namespace of '{}'",
                        tool.name, tools[j].name
                    ),
                ));
            }
            let prefixes: Vec<&str> = tool
                .name
                .match_indices('.')
                .map(|(at, _)| &tool.name[..at])
                .collect();
            for prefix in &prefixes {
                if names.contains_key(prefix) {
                    return Err(HarnessError::option(
                        field,
                        format!(
                            "'{prefix}' is both a tool and the namespace of '{}'",
                            tool.name
                        ),
                    ));
                }
            }
            names.insert(tool.name.as_str(), i);
            for prefix in prefixes {
                namespaces.entry(prefix).or_insert(i);
            }
        }
        let mut validators = Vec::with_capacity(tools.len());
        for (i, tool) in tools.iter().enumerate() {
            let validator = match &tool.parameters {
                None => None,
                Some(schema) => Some(jsonschema::validator_for(schema).map_err(|e| {
                    HarnessError::option(
                        format!("tools[{i}].parameters"),
                        format!("is not a valid JSON Schema: {e}"),
                    )
                })?),
            };
            validators.push(validator);
            // Declared only, but a schema that does not compile is the
            // host's mistake to hear about now.
            if let Some(schema) = &tool.returns {
                jsonschema::validator_for(schema).map_err(|e| {
                    HarnessError::option(
                        format!("tools[{i}].returns"),
                        format!("is not a valid JSON Schema: {e}"),
                    )
                })?;
            }
        }
        Ok(ToolRegistry { tools, validators })
    }

    /// Check `args` against the tool's `parameters`: the first violation as
    /// `"<path>: <rule>"`, or `None` when they conform.
    pub fn check_args(&self, index: usize, args: &Value) -> Option<String> {
        let validator = self.validators.get(index)?.as_ref()?;
        let error = validator.validate(args).err()?;
        let path = error.instance_path().to_string();
        let path = if path.is_empty() {
            "(the argument object)".to_owned()
        } else {
            path
        };
        Some(format!("{path}: {error}"))
    }

    /// Whether tool `index` has an argument schema to check calls against.
    pub fn checks_args(&self, index: usize) -> bool {
        self.validators.get(index).is_some_and(Option::is_some)
    }

    pub fn len(&self) -> usize {
        self.tools.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    pub fn get(&self, index: usize) -> Option<&ToolSpec> {
        self.tools.get(index)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tools.iter().map(|t| t.name.as_str())
    }

    /// Whether `path` is a registered tool or a namespace of tools
    /// (`mcp.github` when `mcp.github.searchIssues` is registered).
    pub fn knows_path(&self, path: &str) -> bool {
        self.names().any(|n| {
            n == path || (n.starts_with(path) && n.as_bytes().get(path.len()) == Some(&b'.'))
        })
    }

    /// Up to three registered names closest to `wanted`, nearest first.
    pub fn closest(&self, wanted: &str) -> Vec<&str> {
        let wanted_lc = wanted.to_ascii_lowercase();
        let mut scored: Vec<(usize, &str)> = self
            .names()
            .map(|n| {
                let lc = n.to_ascii_lowercase();
                let last = lc.rsplit('.').next().unwrap_or(&lc);
                let d = edit_distance(&wanted_lc, &lc).min(edit_distance(&wanted_lc, last));
                (d, n)
            })
            .filter(|(d, _)| *d <= (wanted.len() / 2).max(1))
            .collect();
        scored.sort();
        scored.into_iter().take(3).map(|(_, n)| n).collect()
    }

    /// The message of the `ToolNotFoundError` for `path`.
    pub fn not_found_message(&self, path: &str) -> String {
        let closest = self.closest(path);
        let available: Vec<&str> = self.names().collect();
        let mut msg = format!("no tool named '{path}'");
        if !closest.is_empty() {
            msg.push_str(&format!("; did you mean {}?", quote_list(&closest)));
        }
        if available.is_empty() {
            msg.push_str(" (no tools are registered)");
        } else {
            msg.push_str(&format!(" Available tools: {}.", available.join(", ")));
        }
        msg
    }
}

fn quote_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("'tools.{n}'"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Levenshtein distance over chars; inputs are short tool names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> ToolSpec {
        ToolSpec {
            name: name.into(),
            description: None,
            parameters: None,
            approval: ApprovalRule::Never,
            returns: None,
        }
    }

    #[test]
    fn checks_arguments_against_compiled_schemas() {
        let mut tool = spec("exec");
        tool.parameters = Some(serde_json::json!({
            "type": "object", "properties": { "command": { "type": "array", "items": { "type": "string" } } },
            "required": ["command"]
        }));
        let r = ToolRegistry::new(vec![tool, spec("free")]).unwrap();
        assert_eq!(
            r.check_args(0, &serde_json::json!({ "command": ["ls"] })),
            None
        );
        let e = r
            .check_args(0, &serde_json::json!({ "command": [1] }))
            .unwrap();
        assert!(e.starts_with("/command/0: "), "{e}");
        assert!(
            r.check_args(0, &serde_json::json!({}))
                .unwrap()
                .contains("command")
        );
        assert_eq!(r.check_args(1, &serde_json::json!(1)), None);
        let mut bad = spec("bad");
        bad.parameters = Some(serde_json::json!({ "type": "no-such-type" }));
        assert_eq!(
            field_of(ToolRegistry::new(vec![bad])),
            "tools[0].parameters"
        );
    }

    fn field_of(r: Result<ToolRegistry, HarnessError>) -> String {
        match r {
            Err(HarnessError::InvalidOption { field, .. }) => field,
            other => panic!("expected an option error, got {other:?}"),
        }
    }

    #[test]
    fn refuses_bad_duplicate_reserved_and_conflicting_names() {
        assert_eq!(
            field_of(ToolRegistry::new(vec![spec("a-b")])),
            "tools[0].name"
        );
        assert_eq!(
            field_of(ToolRegistry::new(vec![spec("x"), spec("x")])),
            "tools[1].name"
        );
        assert_eq!(
            field_of(ToolRegistry::new(vec![spec("a.__proto__")])),
            "tools[0].name"
        );
        assert_eq!(
            field_of(ToolRegistry::new(vec![spec("mcp"), spec("mcp.x")])),
            "tools[1].name"
        );
        assert!(ToolRegistry::new(vec![spec("mcp.a"), spec("mcpx")]).is_ok());
    }

    #[test]
    fn suggests_the_closest_names() {
        let r = ToolRegistry::new(vec![
            spec("exec"),
            spec("fileSearch"),
            spec("mcp.github.searchIssues"),
        ])
        .unwrap();
        assert_eq!(r.closest("exce"), vec!["exec"]);
        assert_eq!(r.closest("searchIssue")[0], "mcp.github.searchIssues");
        assert!(
            r.not_found_message("fileSerch")
                .contains("did you mean 'tools.fileSearch'")
        );
    }
}
