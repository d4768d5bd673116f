//! From the script as the model wrote it to the code a sandbox evaluates.
//!
//! This step checks size and encoding, hashes the source, parses it with a
//! real TypeScript parser (oxc), refuses banned constructs from the syntax
//! tree, strips types, and wraps the body in an async function so top-level
//! `await` and `return` work. Positions in the generated code map back to
//! the script as written.

mod checks;
mod positions;
mod report;
mod typescript;

use sha2::{Digest, Sha256};

pub use positions::{LineMap, line_col};
pub use report::{ValidationReport, validate};

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

/// The script becomes a function of its own `context`, `tools` and
/// `console`, bound as constants (assigning to them is a `TypeError`, as
/// for any frozen global), which runs its body as an async function and
/// returns the promise. Nothing is declared in the realm's global scope, so
/// a realm can serve script after script. The head has no line break:
/// line 1 of the body is line 1 of the generated code.
const WRAP_HEAD: &str = "(function () {'use strict';const context = arguments[0], tools = arguments[1], console = arguments[2];return (async function () {'use strict';";
const WRAP_TAIL: &str = "\n})()})";

#[derive(Debug)]
pub struct CompiledScript {
    /// sha256 of the source as given (UTF-8), hex.
    pub hash: String,
    pub language: Language,
    /// The code evaluated in the sandbox: a function expression of
    /// `(context, tools, console)` that returns the script's promise.
    pub wrapped: String,
    /// UTF-8 bytes of the script as checked against `maxSourceBytes`.
    pub source_bytes: u64,
    /// `wrapped` as QuickJS bytecode, with the `maxStackBytes` it was
    /// compiled under: filled by the first sandbox that runs it and read by
    /// the next ones (the sandbox's business: opaque here).
    pub bytecode: std::sync::OnceLock<(u64, Vec<u8>)>,
    /// Generated positions back to the script's (empty for JavaScript).
    pub lines: LineMap,
    /// Tool paths the script mentions (`exec`, `mcp.github.searchIssues`).
    pub tools_referenced: Vec<String>,
}

/// One frame of a script's stack, in the script's own coordinates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub function: String,
    pub line: u32,
    pub column: u32,
}

pub fn sha256_hex(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(text.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

/// Stack that compiling `body` may need: about 2 KiB per level of nesting
/// was measured in release builds (parentheses, the worst case), and every
/// level takes at least one non-blank byte; twice that, for debug builds and
/// headroom.
fn stack_for(body: &str) -> usize {
    let tokens = body.bytes().filter(|b| !b.is_ascii_whitespace()).count();
    (1 << 20) + tokens * 4096
}

/// Check and wrap `source`. `max_source_bytes` counts UTF-8 bytes.
pub fn compile(
    source: &str,
    language: Language,
    max_source_bytes: u64,
) -> Result<CompiledScript, ScriptError> {
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
    // oxc's parser, transformer and code generator recurse once per level
    // of nesting, and a hostile script of N bytes can nest N levels: run
    // them on a stack sized for the worst case, grown only when the
    // caller's stack is short of it.
    let stack = stack_for(body);
    let stripped = stacker::maybe_grow(stack, stack, || typescript::strip(body, language))?;
    let mut wrapped =
        String::with_capacity(WRAP_HEAD.len() + stripped.code.len() + WRAP_TAIL.len());
    wrapped.push_str(WRAP_HEAD);
    wrapped.push_str(&stripped.code);
    wrapped.push_str(WRAP_TAIL);
    Ok(CompiledScript {
        hash,
        language,
        wrapped,
        source_bytes: body.len() as u64,
        bytecode: std::sync::OnceLock::new(),
        lines: stripped.lines,
        tools_referenced: stripped.tools,
    })
}

impl CompiledScript {
    /// The frames of a QuickJS stack that belong to the script, mapped to
    /// its lines and columns; harness frames are dropped.
    ///
    /// Each line is one frame, `    at name (script:L:C)` or, for a parse
    /// error, `    at script:L:C`. A name is the script's to choose and may
    /// hold `(script:1:1)` itself (QuickJS patch 0011 escapes its line
    /// breaks, so it cannot start a line), so the location is read from the
    /// end of the line: the engine writes it last.
    pub fn script_frames(&self, stack: &str) -> Vec<Frame> {
        stack
            .lines()
            .filter_map(|line| {
                let frame = line.strip_prefix("    at ")?;
                let (function, location) = match frame.strip_suffix(')') {
                    Some(inner) => {
                        let open = inner.rfind(" (")?;
                        (&inner[..open], &inner[open + 2..])
                    }
                    None => ("", frame),
                };
                let mut nums = location.strip_prefix("script:")?.split(':');
                let l: u32 = nums.next()?.parse().ok()?;
                let c: u32 = nums.next()?.parse().ok()?;
                if nums.next().is_some() {
                    return None;
                }
                let function = function.trim();
                let function = if function.is_empty() || function == "<anonymous>" {
                    "<script>".to_owned()
                } else {
                    function.to_owned()
                };
                let column = if l == 1 {
                    c.saturating_sub(WRAP_HEAD.len() as u32)
                } else {
                    c
                }
                .max(1);
                let (line, column) = self.lines.original(l, column).unwrap_or((l, column));
                Some(Frame {
                    function,
                    line,
                    column,
                })
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
        let c = compile("\u{feff}return 1", Language::Js, 10).unwrap();
        assert!(c.wrapped.contains("'use strict';return 1\n"));
        assert_eq!(c.hash, sha256_hex("\u{feff}return 1"));
    }

    fn code_of(source: &str) -> ErrorCode {
        compile(source, Language::Ts, 100_000).unwrap_err().code
    }

    #[test]
    fn strips_types_and_keeps_meaning() {
        let c = compile(
            "interface A { x: number }\ntype B = A | null\nenum E { One = 1 }\nclass P { constructor(private readonly v: number) {} get(): number { return this.v } }\nconst f = async <T,>(x: T): Promise<T> => x\nconst a = { x: 1 } satisfies A as A\nreturn [a!.x, E.One, new P(2).get(), await f<number>(3)]",
            Language::Ts,
            100_000,
        )
        .unwrap();
        assert!(!c.wrapped.contains("interface"));
        assert!(!c.wrapped.contains("satisfies"));
    }

    #[test]
    fn refuses_banned_constructs_with_lines() {
        for (src, line) in [
            ("const a = 1\nimport fs from 'fs'", 2),
            ("\nexport const x = 1", 2),
            ("const m = await import('fs')", 1),
            ("const a = 1\n\nconst fs = require('fs')", 3),
            ("import x = require('y')", 1),
        ] {
            let e = compile(src, Language::Ts, 100_000).unwrap_err();
            assert_eq!(
                (e.code, e.line),
                (ErrorCode::BannedConstructError, Some(line)),
                "{src}"
            );
        }
    }

    #[test]
    fn no_false_positives_on_the_same_words() {
        for src in [
            "const s = 'import fs from \"fs\"; require(1)'; return s",
            "// import('x')\n/* require('y') */ return 1",
            "const o = { require: (x: number) => x, import: 1 }; return o.require(2) + o.import",
            "return `require(${1}) import()`",
            "namespace N { export const x = 1; export function f() { return x } } return N.f()",
        ] {
            assert!(compile(src, Language::Ts, 100_000).is_ok(), "{src}");
        }
    }

    #[test]
    fn syntax_errors_point_at_the_script() {
        let e = compile("const a = {\n  x: 1\n  y: 2\n}", Language::Ts, 100_000).unwrap_err();
        assert_eq!((e.code, e.line), (ErrorCode::ScriptSyntaxError, Some(3)));
        assert_eq!(code_of("return <"), ErrorCode::ScriptSyntaxError);
    }

    #[test]
    fn collects_tool_references() {
        let c = compile(
            "await tools.exec({}); const r = await tools.mcp.github.searchIssues({}); tools['fileSearch']; return r",
            Language::Ts,
            100_000,
        )
        .unwrap();
        assert_eq!(
            c.tools_referenced,
            ["exec", "mcp.github.searchIssues", "fileSearch"]
        );
    }

    #[test]
    fn maps_frames_to_script_lines() {
        let c = compile("x", Language::Js, 100).unwrap();
        let col = WRAP_HEAD.len() as u32 + 5;
        let stack = format!(
            "    at f (script:3:7)\n    at makeError (harness:10:2)\n    at <anonymous> (script:1:{col})\n"
        );
        let frames = c.script_frames(&stack);
        assert_eq!(frames.len(), 2);
        assert_eq!(
            frames[0],
            Frame {
                function: "f".into(),
                line: 3,
                column: 7
            }
        );
        assert_eq!(frames[1].column, 5);
    }

    #[test]
    fn a_frame_is_located_by_what_the_engine_writes_last() {
        // A name the script chose, holding a location of its own (its line
        // breaks escaped by QuickJS patch 0011), and frames that are not the
        // script's: the location at the end of the line is the frame's.
        let c = compile("x", Language::Js, 100).unwrap();
        let stack = "    at x\\n    at y (script:9:1) (script:4:2)\n\
                     \x20   at g (script:9:1) (native)\n\
                     \x20   at h (script:8:1)x\n\
                     \x20   at script:5:6\n\
                     \x20   at k (script:7:1:2)\n";
        let frames = c.script_frames(stack);
        let found: Vec<_> = frames
            .iter()
            .map(|f| (f.function.as_str(), f.line, f.column))
            .collect();
        assert_eq!(
            found,
            [("x\\n    at y (script:9:1)", 4, 2), ("<script>", 5, 6)]
        );
    }
}
