//! Free functions of the binding: script detection and schema checks.

use napi::bindgen_prelude::{Array, Object};
use napi::{Env, Result};
use napi_derive::napi;

/// Whether `schemaJson` (a JSON Schema as JSON text) is one the harness
/// accepts as a tool's `parameters` or `returns`: `null` when it is,
/// otherwise why not. `mcpTools` uses it to leave out one bad tool rather
/// than fail the harness.
#[napi(catch_unwind, js_name = "checkToolSchema")]
pub fn check_tool_schema(schema_json: String) -> Option<String> {
    let schema: serde_json::Value = match serde_json::from_str(&schema_json) {
        Ok(v) => v,
        Err(e) => return Some(format!("is not JSON: {e}")),
    };
    script_harness_core::tools::check_schema(&schema)
}

/// Split text into ordered text, script and problem segments (both the
/// `<tool-calls>` tag and the ```` ```ts tool-calls ```` fence). Offsets are
/// UTF-16 positions in `text`; the segments cover it exactly.
#[napi(
    catch_unwind,
    js_name = "detectScripts",
    ts_return_type = "Array<Record<string, unknown>>"
)]
pub fn detect_scripts(env: &Env, text: String) -> Result<Array<'_>> {
    use script_harness_core::detect::{Form, Segment, detect};
    let segments = detect(&text);
    // Built directly rather than through JSON: a 1 MB text segment would be
    // escaped, copied and parsed again.
    let mut out = env.create_array(segments.len() as u32)?;
    for (i, segment) in segments.iter().enumerate() {
        let mut obj = Object::new(env)?;
        match segment {
            Segment::Text { text, start, end } => {
                obj.set("type", "text")?;
                obj.set("text", text.as_str())?;
                obj.set("start", *start as f64)?;
                obj.set("end", *end as f64)?;
            }
            Segment::Script {
                source,
                language,
                start,
                end,
                attributes,
                form,
            } => {
                obj.set("type", "script")?;
                obj.set("source", source.as_str())?;
                obj.set("language", language.as_str())?;
                obj.set("start", *start as f64)?;
                obj.set("end", *end as f64)?;
                let mut attrs = Object::new(env)?;
                for (k, v) in attributes {
                    attrs.set(k.as_str(), v.as_str())?;
                }
                obj.set("attributes", attrs)?;
                obj.set("form", if *form == Form::Tag { "tag" } else { "fence" })?;
            }
            Segment::Problem {
                kind,
                text,
                start,
                end,
            } => {
                obj.set("type", "problem")?;
                obj.set("kind", kind.as_str())?;
                obj.set("text", text.as_str())?;
                obj.set("start", *start as f64)?;
                obj.set("end", *end as f64)?;
            }
        }
        out.set(i as u32, obj)?;
    }
    Ok(out)
}

/// What sealing or opening a snapshot gave: `text` (the snapshot, or the
/// payload), or why not (`code` and `message`, from the core's
/// `SnapshotError`). The package's layer turns a refusal into its typed error.
#[napi(object)]
pub struct SnapshotOutcome {
    pub text: Option<String>,
    pub code: Option<String>,
    pub message: Option<String>,
}

fn snapshot_outcome(
    r: std::result::Result<String, script_harness_core::snapshot::SnapshotError>,
) -> SnapshotOutcome {
    match r {
        Ok(text) => SnapshotOutcome {
            text: Some(text),
            code: None,
            message: None,
        },
        Err(e) => SnapshotOutcome {
            text: None,
            code: Some(e.code().to_owned()),
            message: Some(e.to_string()),
        },
    }
}

/// Seal `payload` (JSON) under `key` with HMAC-SHA256.
#[napi(catch_unwind, js_name = "sealSnapshot")]
pub fn seal_snapshot(key: napi::bindgen_prelude::Buffer, payload: String) -> SnapshotOutcome {
    snapshot_outcome(script_harness_core::snapshot::seal(&key, &payload))
}

/// The payload of a snapshot sealed under `key`, or why it is refused.
#[napi(catch_unwind, js_name = "openSnapshot")]
pub fn open_snapshot(key: napi::bindgen_prelude::Buffer, snapshot: String) -> SnapshotOutcome {
    snapshot_outcome(script_harness_core::snapshot::open(&key, &snapshot))
}
