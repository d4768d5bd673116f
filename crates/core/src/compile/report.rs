//! `ValidationReport`: what `validate()` and dry-run say about a script
//! without running it.

use serde::Serialize;

use super::{Language, compile, sha256_hex};
use crate::errors::ScriptError;
use crate::tools::ToolRegistry;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationReport {
    pub ok: bool,
    pub script_hash: String,
    pub language: &'static str,
    /// Syntax, size and banned constructs (phase `parsing`).
    pub errors: Vec<ScriptError>,
    /// Tool paths the script mentions (`exec`, `mcp.github.searchIssues`).
    pub tools_referenced: Vec<String>,
    /// Of those, the ones that are neither a tool nor a namespace of tools.
    pub unknown_tools: Vec<String>,
}

/// Check `source` as `run()` would, without running it.
pub fn validate(
    source: &str,
    language: Language,
    max_source_bytes: u64,
    registry: &ToolRegistry,
) -> ValidationReport {
    let script_hash = sha256_hex(source);
    let (errors, tools_referenced) = match compile(source, language, max_source_bytes) {
        Ok(c) => (Vec::new(), c.tools_referenced),
        Err(e) => (vec![e], Vec::new()),
    };
    let unknown_tools = tools_referenced
        .iter()
        .filter(|path| !registry.knows_path(path))
        .cloned()
        .collect();
    ValidationReport {
        ok: errors.is_empty(),
        script_hash,
        language: language.as_str(),
        errors,
        tools_referenced,
        unknown_tools,
    }
}
