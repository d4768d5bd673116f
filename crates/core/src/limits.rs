//! `HarnessLimits`: defaults, per-call overrides and their validation.

use serde::Serialize;
use serde_json::Value;

use crate::errors::HarnessError;

/// The largest `maxStackBytes` accepted. Sandbox threads get a stack well
/// above it (see `sandbox::worker::spawn::THREAD_STACK_BYTES`), and rquickjs would
/// treat anything above 16 MiB as "no limit".
pub const MAX_STACK_BYTES_CEILING: u64 = 4 * 1024 * 1024;
/// Below this QuickJS cannot even build the prelude.
pub const MIN_STACK_BYTES: u64 = 64 * 1024;
pub const MIN_MEMORY_MB: u64 = 2;
pub const MAX_MEMORY_MB: u64 = 8 * 1024;
pub const MAX_TIMEOUT_MS: u64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HarnessLimits {
    pub timeout_ms: u64,
    pub memory_mb: u64,
    pub max_stack_bytes: u64,
    pub max_source_bytes: u64,
    pub max_return_bytes: u64,
    pub max_tool_calls: u64,
    pub max_concurrent_tool_calls: u64,
    pub max_log_events: u64,
    pub approval_timeout_ms: u64,
    pub orphan_grace_ms: u64,
    /// JSON bytes of one tool call's arguments.
    pub max_tool_arg_bytes: u64,
    /// JSON bytes of one tool call's result.
    pub max_tool_result_bytes: u64,
    /// JSON bytes of arguments and results kept in a script's
    /// `ScriptResult.toolCalls`; past it, values are kept cut.
    pub max_call_record_bytes: u64,
}

/// The largest of the per-value byte limits: with these ceilings the
/// biggest message that crosses to JavaScript (a result: return value,
/// kept call records, capped logs) stays far below V8's longest string.
pub const MAX_VALUE_BYTES_CEILING: u64 = 64 * 1024 * 1024;

impl Default for HarnessLimits {
    fn default() -> Self {
        HarnessLimits {
            timeout_ms: 30_000,
            memory_mb: 96,
            max_stack_bytes: 524_288,
            max_source_bytes: 20_480,
            max_return_bytes: 131_072,
            max_tool_calls: 32,
            max_concurrent_tool_calls: 4,
            max_log_events: 200,
            approval_timeout_ms: 60_000,
            orphan_grace_ms: 250,
            max_tool_arg_bytes: 1024 * 1024,
            max_tool_result_bytes: 4 * 1024 * 1024,
            max_call_record_bytes: 1024 * 1024,
        }
    }
}

struct Rule {
    name: &'static str,
    min: u64,
    max: u64,
}

const RULES: [Rule; 13] = [
    Rule {
        name: "timeoutMs",
        min: 1,
        max: MAX_TIMEOUT_MS,
    },
    Rule {
        name: "memoryMb",
        min: MIN_MEMORY_MB,
        max: MAX_MEMORY_MB,
    },
    Rule {
        name: "maxStackBytes",
        min: MIN_STACK_BYTES,
        max: MAX_STACK_BYTES_CEILING,
    },
    Rule {
        name: "maxSourceBytes",
        min: 1,
        // Compiling may need 4 KiB of stack per byte (see `compile`).
        max: 1024 * 1024,
    },
    Rule {
        name: "maxReturnBytes",
        min: 1,
        max: MAX_VALUE_BYTES_CEILING,
    },
    Rule {
        name: "maxToolCalls",
        min: 0,
        max: 1_000_000,
    },
    Rule {
        name: "maxConcurrentToolCalls",
        min: 1,
        max: 10_000,
    },
    Rule {
        name: "maxLogEvents",
        min: 0,
        max: 1_000_000,
    },
    Rule {
        name: "approvalTimeoutMs",
        min: 1,
        max: MAX_TIMEOUT_MS,
    },
    Rule {
        name: "orphanGraceMs",
        min: 0,
        max: 60_000,
    },
    Rule {
        name: "maxToolArgBytes",
        min: 2,
        max: MAX_VALUE_BYTES_CEILING,
    },
    Rule {
        name: "maxToolResultBytes",
        min: 1,
        max: MAX_VALUE_BYTES_CEILING,
    },
    Rule {
        name: "maxCallRecordBytes",
        min: 0,
        max: MAX_VALUE_BYTES_CEILING,
    },
];

impl HarnessLimits {
    fn slot(&mut self, name: &str) -> &mut u64 {
        match name {
            "timeoutMs" => &mut self.timeout_ms,
            "memoryMb" => &mut self.memory_mb,
            "maxStackBytes" => &mut self.max_stack_bytes,
            "maxSourceBytes" => &mut self.max_source_bytes,
            "maxReturnBytes" => &mut self.max_return_bytes,
            "maxToolCalls" => &mut self.max_tool_calls,
            "maxConcurrentToolCalls" => &mut self.max_concurrent_tool_calls,
            "maxLogEvents" => &mut self.max_log_events,
            "approvalTimeoutMs" => &mut self.approval_timeout_ms,
            "orphanGraceMs" => &mut self.orphan_grace_ms,
            "maxToolArgBytes" => &mut self.max_tool_arg_bytes,
            "maxToolResultBytes" => &mut self.max_tool_result_bytes,
            "maxCallRecordBytes" => &mut self.max_call_record_bytes,
            _ => unreachable!("RULES and slot() list the same fields"),
        }
    }

    /// These limits with the fields of `patch` (a `Partial<HarnessLimits>`
    /// object) applied. `field` prefixes error messages, e.g. `limits` or
    /// `options.limits`. Unknown keys are refused so a typo is not silently
    /// ignored.
    pub fn merged(&self, patch: &Value, field: &str) -> Result<HarnessLimits, HarnessError> {
        let Value::Object(map) = patch else {
            return Err(HarnessError::option(field, "must be an object"));
        };
        let mut out = *self;
        for (key, value) in map {
            let Some(rule) = RULES.iter().find(|r| r.name == key) else {
                return Err(HarnessError::option(
                    format!("{field}.{key}"),
                    "is not a known limit",
                ));
            };
            if value.is_null() {
                continue;
            }
            let name = format!("{field}.{key}");
            let Some(n) = value.as_f64() else {
                return Err(HarnessError::option(name, "must be a number"));
            };
            if !n.is_finite() || n < 0.0 || n.fract() != 0.0 {
                return Err(HarnessError::option(
                    name,
                    format!("must be a non-negative integer, got {n}"),
                ));
            }
            let n = n as u64;
            if n < rule.min || n > rule.max {
                return Err(HarnessError::option(
                    name,
                    format!("must be between {} and {}, got {n}", rule.min, rule.max),
                ));
            }
            *out.slot(key) = n;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_applies_known_fields() {
        let l = HarnessLimits::default()
            .merged(&json!({ "timeoutMs": 100, "memoryMb": 8 }), "limits")
            .unwrap();
        assert_eq!(l.timeout_ms, 100);
        assert_eq!(l.memory_mb, 8);
        assert_eq!(l.max_tool_calls, 32);
    }

    #[test]
    fn merge_names_the_bad_field() {
        let base = HarnessLimits::default();
        for (patch, field) in [
            (json!({ "timeoutMs": -1 }), "limits.timeoutMs"),
            (json!({ "timeoutMs": "1" }), "limits.timeoutMs"),
            (json!({ "memoryMb": 1.5 }), "limits.memoryMb"),
            (
                json!({ "maxStackBytes": 64 * 1024 * 1024 }),
                "limits.maxStackBytes",
            ),
            (json!({ "timeoutMS": 5 }), "limits.timeoutMS"),
        ] {
            match base.merged(&patch, "limits") {
                Err(HarnessError::InvalidOption { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{patch}: {other:?}"),
            }
        }
    }
}
