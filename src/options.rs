//! The option data the JS bridge normalized, turned into engine
//! configuration. Semantic checks (limit ranges, tool names) happen in the
//! engine and come back as `HarnessError::InvalidOption`.

use serde::Deserialize;
use serde_json::{Map, Value};

use script_harness_core::{
    ApprovalRule, HarnessError, HarnessLimits, HarnessMode, Isolation, ToolSpec,
};

#[derive(Deserialize)]
pub struct HarnessData {
    pub tools: Vec<ToolData>,
    pub mode: Option<HarnessMode>,
    pub limits: Option<Value>,
    pub context: Option<Map<String, Value>>,
    pub workers: Option<usize>,
    /// `'pooled'` (the default) or `'script'`; checked by the bridge.
    pub isolation: Option<String>,
    pub events: bool,
}

#[derive(Deserialize)]
pub struct ToolData {
    pub name: String,
    pub description: Option<String>,
    pub parameters: Option<Value>,
    pub returns: Option<Value>,
    pub approval: String,
}

#[derive(Deserialize, Default)]
pub struct RunData {
    pub mode: Option<HarnessMode>,
    pub limits: Option<Value>,
    pub context: Option<Map<String, Value>>,
}

impl HarnessData {
    pub fn limits(&self) -> Result<HarnessLimits, HarnessError> {
        match &self.limits {
            Some(patch) => HarnessLimits::default().merged(patch, "options.limits"),
            None => Ok(HarnessLimits::default()),
        }
    }

    pub fn isolation(&self) -> Isolation {
        match self.isolation.as_deref() {
            Some("script") => Isolation::Script,
            _ => Isolation::Pooled,
        }
    }

    pub fn take_tools(&mut self) -> Vec<ToolSpec> {
        self.tools
            .drain(..)
            .map(|t| ToolSpec {
                name: t.name,
                description: t.description,
                parameters: t.parameters,
                returns: t.returns,
                approval: match t.approval.as_str() {
                    "always" => ApprovalRule::Always,
                    "predicate" => ApprovalRule::Predicate,
                    _ => ApprovalRule::Never,
                },
            })
            .collect()
    }
}
