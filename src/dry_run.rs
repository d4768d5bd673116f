//! Dry-run validation off the Node main thread. Compiling a source the
//! limits allow (up to 1 MiB, nested as deep as its length allows) can take
//! a second; `run()` and turns in dry-run mode do it on the libuv thread
//! pool. (`validate()` is synchronous by contract and stays on the calling
//! thread; docs/configuration.md gives its cost.)

use std::sync::Arc;

use napi::{Env, Result, Task};

use script_harness_core::compile::validate;
use script_harness_core::errors::Phase;
use script_harness_core::sandbox::EngineShared;
use script_harness_core::{ErrorCode, HarnessMode, Language, ScriptError, ScriptResult};

use crate::contain::contained;

/// Validates one source; answers with the `ValidationReport`, or with the
/// dry-run `ScriptResult` of script `result_for`, as JSON.
pub struct DryRun {
    pub source: String,
    pub shared: Arc<EngineShared>,
    pub max_source_bytes: u64,
    pub result_for: Option<String>,
}

impl Task for DryRun {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> Result<String> {
        contained("dry-run validation", || {
            let report = validate(
                &self.source,
                Language::Ts,
                self.max_source_bytes,
                &self.shared.tools().registry,
            );
            Ok(match self.result_for.take() {
                Some(script_id) => not_run(script_id, HarnessMode::DryRun, Some(report)).to_json(),
                None => serde_json::to_string(&report).unwrap_or_default(),
            })
        })
    }

    fn resolve(&mut self, _env: Env, json: String) -> Result<String> {
        Ok(json)
    }
}

/// The result of a script that was not run because of the mode: disabled
/// reports `HarnessDisabledError`; dry-run reports what validation found.
pub fn not_run(
    script_id: String,
    mode: HarnessMode,
    report: Option<script_harness_core::compile::ValidationReport>,
) -> ScriptResult {
    let disabled = ScriptError::new(
        ErrorCode::HarnessDisabledError,
        Phase::Parsing,
        "scripts are disabled in this session: call the tools directly instead",
    );
    let mut r = ScriptResult::failed_before_start(script_id, disabled);
    if mode == HarnessMode::DryRun {
        let first = report.and_then(|rep| rep.errors.into_iter().next());
        r.ok = first.is_none();
        r.error = first;
    }
    r
}
