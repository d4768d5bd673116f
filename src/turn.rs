//! Turns, as the TypeScript layer runs them: every provider shape is read
//! and written in Rust (`script_harness_core::turns` for whole responses,
//! `script_harness_core::stream` for stream events); TypeScript only runs
//! the scripts in between, in order.

use napi::{Env, Result};
use napi_derive::napi;
use serde_json::Value;

use script_harness_core::stream::TurnAssembler;
use script_harness_core::text::well_formed_json;
use script_harness_core::turns::{ApiFormat, finish_json, plan_json};

use crate::contain::contained;
use crate::native::{json_error, throw_type_error};

fn format_of(env: &Env, format: &str) -> Result<ApiFormat> {
    ApiFormat::parse(format).ok_or_else(|| {
        throw_type_error(
            env,
            "format: must be one of 'responses', 'chat', 'messages'".to_owned(),
            "ERR_INVALID_ARG_VALUE",
        )
    })
}

/// Why JSON text from the host could not be read: its nesting past
/// serde_json's limit (128 levels) said so, anything else as `otherwise`.
fn unreadable(e: &serde_json::Error, otherwise: &str) -> String {
    if e.to_string().starts_with("recursion limit exceeded") {
        "nests deeper than 128 levels".to_owned()
    } else {
        otherwise.to_owned()
    }
}

/// One assistant turn, read: its pieces in order (items, text, scripts,
/// problems), kept here until the scripts' results come back.
#[napi]
pub struct NativeTurn {
    format: ApiFormat,
    pieces: Vec<Value>,
}

#[napi]
impl NativeTurn {
    /// Reads `response` (JSON of the provider's response in `format`).
    /// Throws a `TypeError` naming what is not of that shape.
    #[napi(factory, catch_unwind)]
    pub fn read(
        env: Env,
        #[napi(ts_arg_type = "'responses' | 'chat' | 'messages'")] format: String,
        response: String,
    ) -> Result<NativeTurn> {
        let format = format_of(&env, &format)?;
        let response: Value = serde_json::from_str(&well_formed_json(&response)).map_err(|e| {
            throw_type_error(
                &env,
                format!("response: {}", unreadable(&e, "not JSON")),
                "ERR_INVALID_ARG_VALUE",
            )
        })?;
        let pieces = match plan_json(format, &response) {
            Ok(Value::Array(pieces)) => pieces,
            Ok(_) => Vec::new(),
            Err(why) => return Err(throw_type_error(&env, why, "ERR_INVALID_ARG_VALUE")),
        };
        Ok(NativeTurn { format, pieces })
    }

    /// The turn's script sources, in order.
    #[napi(getter)]
    pub fn scripts(&self) -> Vec<String> {
        self.pieces
            .iter()
            .filter(|p| p["kind"] == "script")
            .map(|p| p["source"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The turn's items, continuation and problems as JSON, given one
    /// result per script in order (`ScriptResult` JSON; in dry-run, the
    /// validation report).
    #[napi(catch_unwind)]
    pub fn finish(&self, results: String, dry_run: bool, max_return_bytes: f64) -> Result<String> {
        contained("turn.finish", || {
            let results: Vec<Value> =
                serde_json::from_str(&well_formed_json(&results)).map_err(json_error)?;
            let out = finish_json(
                self.format,
                &self.pieces,
                &results,
                dry_run,
                max_return_bytes as usize,
            );
            serde_json::to_string(&out).map_err(json_error)
        })
    }
}

/// What one stream event released.
#[napi(object)]
pub struct StreamRelease {
    /// Text to show now.
    pub text: String,
    /// Scripts whose closing tag arrived, in order.
    pub scripts: Vec<String>,
}

/// A streamed turn being assembled from its provider events.
#[napi]
pub struct NativeStream {
    assembler: TurnAssembler,
}

#[napi]
impl NativeStream {
    #[napi(constructor, catch_unwind)]
    pub fn new(
        env: Env,
        #[napi(ts_arg_type = "'responses' | 'chat' | 'messages'")] format: String,
    ) -> Result<Self> {
        Ok(NativeStream {
            assembler: TurnAssembler::new(format_of(&env, &format)?),
        })
    }

    /// One event (JSON). Throws a `TypeError` (`event: ...`) for an event
    /// that is not of the stream's format.
    #[napi(catch_unwind)]
    pub fn push(&mut self, env: Env, event: String) -> Result<StreamRelease> {
        let event: Value = serde_json::from_str(&well_formed_json(&event)).map_err(|e| {
            throw_type_error(
                &env,
                format!("event: {}", unreadable(&e, "must be an object")),
                "ERR_INVALID_ARG_VALUE",
            )
        })?;
        match self.assembler.push(&event) {
            Ok(r) => Ok(StreamRelease {
                text: r.text,
                scripts: r.scripts,
            }),
            Err(why) => Err(throw_type_error(
                &env,
                format!("event: {why}"),
                "ERR_INVALID_ARG_VALUE",
            )),
        }
    }

    /// The stream ended: what every open text part held back.
    #[napi(catch_unwind)]
    pub fn finish(&mut self) -> StreamRelease {
        let r = self.assembler.finish();
        StreamRelease {
            text: r.text,
            scripts: r.scripts,
        }
    }

    /// The assembled response (JSON), in the shape `NativeTurn.read` takes.
    #[napi(catch_unwind)]
    pub fn response(&mut self) -> Result<String> {
        serde_json::to_string(&self.assembler.response()).map_err(json_error)
    }
}
