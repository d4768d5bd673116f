//! TypeScript to JavaScript with oxc: parse (top-level `await` and `return`
//! allowed), check the tree, strip types, print with a source map.

use std::path::Path;

use oxc::allocator::Allocator;
use oxc::ast_visit::Visit;
use oxc::codegen::{Codegen, CodegenOptions};
use oxc::parser::{ParseOptions, Parser};
use oxc::semantic::SemanticBuilder;
use oxc::span::SourceType;
use oxc::transformer::{TransformOptions, Transformer};

use super::Language;
use super::checks::Findings;
use super::positions::{LineMap, line_col};
use crate::errors::{ErrorCode, Phase, ScriptError};

pub struct Stripped {
    /// JavaScript for the body of an async function.
    pub code: String,
    pub lines: LineMap,
    pub tools: Vec<String>,
}

fn parsing_error(code: ErrorCode, source: &str, offset: u32, message: String) -> ScriptError {
    let (line, column) = line_col(source, offset as usize);
    ScriptError::new(code, Phase::Parsing, message).at(Some(line), Some(column))
}

pub fn strip(source: &str, language: Language) -> Result<Stripped, ScriptError> {
    let allocator = Allocator::default();
    let source_type = match language {
        Language::Ts => SourceType::ts().with_module(true),
        Language::Js => SourceType::mjs(),
    };
    let options = ParseOptions {
        allow_return_outside_function: true,
        ..ParseOptions::default()
    };
    let parsed = Parser::new(&allocator, source, source_type)
        .with_options(options)
        .parse();
    if let Some(d) = parsed.diagnostics.first() {
        let offset = d.labels.first().map(|l| l.offset()).unwrap_or(0);
        let mut message = d.message.to_string();
        if let Some(help) = &d.help {
            message.push_str(&format!(" ({help})"));
        }
        return Err(parsing_error(
            ErrorCode::ScriptSyntaxError,
            source,
            offset,
            message,
        ));
    }
    let mut program = parsed.program;
    let mut findings = Findings::default();
    findings.visit_program(&program);
    if let Some((what, offset)) = findings.banned.first() {
        return Err(parsing_error(
            ErrorCode::BannedConstructError,
            source,
            *offset,
            format!(
                "{what} is not allowed in scripts: there are no modules here; use the `tools` object"
            ),
        ));
    }
    if language == Language::Js {
        // Already JavaScript: run the text as written, positions and all.
        // A `#!` line is only legal at the start of a whole script; the
        // body runs inside a function, so it becomes a comment in place.
        let code = match program.hashbang {
            Some(_) => format!("//{}", &source[2..]),
            None => source.to_owned(),
        };
        return Ok(Stripped {
            code,
            lines: LineMap::default(),
            tools: findings.tools,
        });
    }
    // The body runs inside a function, where `#!` is not allowed: drop it
    // (the source map keeps every later line where it was).
    program.hashbang = None;
    let semantic = SemanticBuilder::new().with_enum_eval(true).build(&program);
    let scoping = semantic.semantic.into_scoping();
    let path = Path::new("script.ts");
    let transformed = Transformer::new(&allocator, path, &TransformOptions::default())
        .build_with_scoping(scoping, &mut program);
    if let Some(d) = transformed.diagnostics.first() {
        let offset = d.labels.first().map(|l| l.offset()).unwrap_or(0);
        return Err(parsing_error(
            ErrorCode::ScriptSyntaxError,
            source,
            offset,
            d.message.to_string(),
        ));
    }
    let printed = Codegen::new()
        .with_options(CodegenOptions {
            source_map_path: Some(path.to_path_buf()),
            // No indentation: it would make the output grow with the square
            // of the nesting depth (20 KB of `{` is 200 MB indented).
            indent_width: 0,
            ..CodegenOptions::default()
        })
        .build(&program);
    let lines = printed
        .map
        .as_ref()
        .map(LineMap::from_source_map)
        .unwrap_or_default();
    Ok(Stripped {
        code: printed.code,
        lines,
        tools: findings.tools,
    })
}
