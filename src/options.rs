//! The configuration the TypeScript layer hands the engine, as napi
//! objects (their TypeScript shapes are generated into `binding.d.ts`).
//! Names and types are checked in TypeScript, where a `TypeError` can name
//! the field; ranges and tool names are checked here, by the engine, and
//! come back as `HarnessError::InvalidOption`. JSON Schemas and limit
//! patches cross as JSON text: `JSON.stringify` refuses a cyclic value with
//! an error, where converting it field by field would recurse without end.

use napi_derive::napi;
use serde_json::{Map, Value};

use script_harness_core::{
    ApprovalRule, HarnessError, HarnessLimits, HarnessMode, Isolation, ToolSpec,
};

/// A harness's options, normalized.
#[napi(object)]
pub struct HarnessConfig {
    pub tools: Vec<ToolConfig>,
    /// `'disabled'`, `'dry-run'` or `'enabled'` (the default).
    #[napi(ts_type = "'disabled' | 'dry-run' | 'enabled'")]
    pub mode: Option<String>,
    /// A `HarnessLimits` patch over the defaults, as JSON.
    pub limits: Option<String>,
    /// The harness-wide context seed.
    pub context: Option<std::collections::HashMap<String, String>>,
    pub workers: Option<u32>,
    /// `'pooled'` (the default) or `'script'`.
    #[napi(ts_type = "'pooled' | 'script'")]
    pub isolation: Option<String>,
    /// `holdEventLoopUs`: how long the Node thread may wait for a quick
    /// script's next message after starting it or answering its call.
    pub hold_event_loop_us: Option<u32>,
    /// Whether the host listens to events (none are built otherwise).
    pub events: bool,
}

/// One tool, without its handler (which stays in JavaScript).
#[napi(object)]
pub struct ToolConfig {
    pub name: String,
    pub description: Option<String>,
    /// The argument schema (JSON Schema, as JSON).
    pub parameters: Option<String>,
    /// The result schema (JSON Schema, as JSON).
    pub returns: Option<String>,
    /// `'never'`, `'always'` or `'predicate'`.
    #[napi(ts_type = "'never' | 'always' | 'predicate'")]
    pub approval: String,
}

/// One run's options, normalized.
#[napi(object)]
pub struct RunConfig {
    /// A `HarnessLimits` patch over the harness's limits, as JSON.
    pub limits: Option<String>,
    /// Context fields over the harness's seed.
    pub context: Option<std::collections::HashMap<String, String>>,
    /// A run that may be suspended, or one resumed: its nondeterminism.
    pub replay: Option<ReplayConfig>,
    /// A resumed script's id, as it was when it first ran.
    pub script_id: Option<String>,
}

/// `Math.random`'s seed and the clock readings of a run to repeat, and
/// whether to report them in the result's `replay`.
#[napi(object)]
pub struct ReplayConfig {
    /// The seed, as decimal text (64 bits); a fresh one when absent.
    pub seed: Option<String>,
    /// Clock readings to give back first: `[ms, count]` pairs, in order.
    pub clock: Option<Vec<Vec<f64>>>,
    pub record: bool,
    /// Report each moment the script waits on its calls with nothing else
    /// to run (`idle` messages): a resumed script's replay is checked then.
    pub report_idle: Option<bool>,
}

pub fn parse_mode(mode: Option<&str>) -> HarnessMode {
    match mode {
        Some("disabled") => HarnessMode::Disabled,
        Some("dry-run") => HarnessMode::DryRun,
        _ => HarnessMode::Enabled,
    }
}

pub fn mode_name(mode: HarnessMode) -> &'static str {
    match mode {
        HarnessMode::Enabled => "enabled",
        HarnessMode::DryRun => "dry-run",
        HarnessMode::Disabled => "disabled",
    }
}

/// `patch` (JSON text of a limits object) over `base`; the error names
/// `options.limits.<field>`.
pub fn merged_limits(
    base: &HarnessLimits,
    patch: Option<&str>,
) -> Result<HarnessLimits, HarnessError> {
    let Some(patch) = patch else {
        return Ok(*base);
    };
    let value: Value = serde_json::from_str(&script_harness_core::text::well_formed_json(patch))
        .map_err(|e| HarnessError::InvalidOption {
            field: "options.limits".to_owned(),
            message: format!("is not a limits object ({e})"),
        })?;
    base.merged(&value, "options.limits")
}

pub fn seed(context: Option<std::collections::HashMap<String, String>>) -> Map<String, Value> {
    context
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}

impl HarnessConfig {
    pub fn isolation(&self) -> Isolation {
        match self.isolation.as_deref() {
            Some("script") => Isolation::Script,
            _ => Isolation::Pooled,
        }
    }

    pub fn take_tools(&mut self) -> Result<Vec<ToolSpec>, HarnessError> {
        tool_specs(std::mem::take(&mut self.tools))
    }
}

/// Tool configurations → the engine's specs; a schema that is not JSON
/// names its tool.
pub fn tool_specs(tools: Vec<ToolConfig>) -> Result<Vec<ToolSpec>, HarnessError> {
    tools
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            Ok(ToolSpec {
                parameters: schema(t.parameters.as_deref(), i, "parameters")?,
                returns: schema(t.returns.as_deref(), i, "returns")?,
                name: t.name,
                description: t.description,
                approval: match t.approval.as_str() {
                    "always" => ApprovalRule::Always,
                    "predicate" => ApprovalRule::Predicate,
                    _ => ApprovalRule::Never,
                },
            })
        })
        .collect()
}

fn schema(json: Option<&str>, tool: usize, field: &str) -> Result<Option<Value>, HarnessError> {
    json.map(|j| {
        serde_json::from_str(&script_harness_core::text::well_formed_json(j)).map_err(|e| {
            HarnessError::InvalidOption {
                field: format!("options.tools[{tool}].{field}"),
                message: format!("is not JSON ({e})"),
            }
        })
    })
    .transpose()
}
