//! From the script as the model wrote it to the code a sandbox evaluates.
//!
//! This step checks size and encoding, hashes the source, and wraps the
//! body in an async function so top-level `await` and `return` work. It
//! keeps lines where the model wrote them: the wrapper opens on the body's
//! first line, so QuickJS's line numbers are the script's.

use sha2::{Digest, Sha256};

use crate::errors::{ErrorCode, Phase, ScriptError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Ts,
    Js,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Ts => "ts",
            Language::Js => "js",
        }
    }
}

const WRAP_HEAD: &str = "(async function () {'use strict';";
const WRAP_TAIL: &str = "\n})";

#[derive(Debug)]
pub struct CompiledScript {
    /// sha256 of the source as given (UTF-8), hex.
    pub hash: String,
    pub language: Language,
    /// The code evaluated in the sandbox: a function expression.
    pub wrapped: String,
}

/// One frame of a script's stack, in the script's own coordinates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub function: String,
    pub line: u32,
    pub column: u32,
}

pub fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Check and wrap `source`. `max_source_bytes` counts UTF-8 bytes.
pub fn compile(source: &str, language: Language, max_source_bytes: u64) -> Result<CompiledScript, ScriptError> {
    let hash = sha256_hex(source);
    let body = source.strip_prefix('\u{feff}').unwrap_or(source);
    if body.len() as u64 > max_source_bytes {
        return Err(ScriptError::new(
            ErrorCode::ScriptTooLargeError,
            Phase::Parsing,
            format!(
                "the script is {} bytes, over the {} byte limit (maxSourceBytes); split it or move data into tool calls",
                body.len(),
                max_source_bytes
            ),
        ));
    }
    if body.contains('\0') {
        return Err(ScriptError::new(
            ErrorCode::ScriptSyntaxError,
            Phase::Parsing,
            "the script contains a NUL character",
        ));
    }
    let mut wrapped = String::with_capacity(WRAP_HEAD.len() + body.len() + WRAP_TAIL.len());
    wrapped.push_str(WRAP_HEAD);
    wrapped.push_str(body);
    wrapped.push_str(WRAP_TAIL);
    Ok(CompiledScript { hash, language, wrapped })
}

impl CompiledScript {
    /// The frames of a QuickJS stack that belong to the script, mapped to
    /// its lines and columns; harness frames are dropped.
    pub fn script_frames(&self, stack: &str) -> Vec<Frame> {
        stack
            .lines()
            .filter_map(|line| {
                let at = line.find("script:")?;
                let before = &line[..at];
                // "    at name (script:1:2)" or "    at script:1:2"
                let ok_prefix = before.ends_with('(') || before.trim_end().ends_with("at");
                if !ok_prefix {
                    return None;
                }
                let rest = &line[at + "script:".len()..];
                let mut nums = rest.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty());
                let l: u32 = nums.next()?.parse().ok()?;
                let c: u32 = nums.next()?.parse().ok()?;
                let function = before
                    .trim()
                    .trim_start_matches("at")
                    .trim()
                    .trim_end_matches('(')
                    .trim();
                let function = if function.is_empty() || function == "<anonymous>" {
                    "<script>".to_owned()
                } else {
                    function.to_owned()
                };
                let column = if l == 1 { c.saturating_sub(WRAP_HEAD.len() as u32) } else { c };
                Some(Frame { function, line: l, column: column.max(1) })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_oversize_and_strips_bom() {
        let e = compile(&"x".repeat(11), Language::Ts, 10).unwrap_err();
        assert_eq!(e.code, ErrorCode::ScriptTooLargeError);
        let c = compile("\u{feff}return 1", Language::Ts, 10).unwrap();
        assert!(c.wrapped.contains("'use strict';return 1\n"));
        assert_eq!(c.hash, sha256_hex("\u{feff}return 1"));
    }

    #[test]
    fn maps_frames_to_script_lines() {
        let c = compile("x", Language::Js, 100).unwrap();
        let col = WRAP_HEAD.len() as u32 + 5;
        let stack = format!("    at f (script:3:7)\n    at makeError (harness:10:2)\n    at <anonymous> (script:1:{col})\n");
        let frames = c.script_frames(&stack);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0], Frame { function: "f".into(), line: 3, column: 7 });
        assert_eq!(frames[1].column, 5);
    }
}
