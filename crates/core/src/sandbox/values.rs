//! JSON values crossing a sandbox's boundary: tool results checked against
//! their limits, and the byte budget of the call records a result keeps.

use serde_json::value::RawValue;

use crate::limits::HarnessLimits;
use crate::text::{json_deeper_than, truncated, well_formed_json};

/// How much of a value cut from a call record is kept as its preview.
const RECORD_PREVIEW_BYTES: usize = 256;

/// The deepest JSON serde reads (its recursion limit): arguments and
/// results nested deeper are refused, so every value the harness keeps can
/// be read, redacted and shown whole.
pub(crate) const MAX_JSON_DEPTH: usize = 128;

/// A handler's result (JSON text, `None` for `undefined`), checked against
/// `maxToolResultBytes` and made well-formed; `Err` says why it is refused.
pub(crate) fn tool_result(
    json: Option<String>,
    limits: &HarnessLimits,
) -> Result<Option<Box<RawValue>>, String> {
    let Some(json) = json else { return Ok(None) };
    if json.len() as u64 > limits.max_tool_result_bytes {
        return Err(format!(
            "the tool returned {} bytes of JSON, over the {} byte limit (maxToolResultBytes)",
            json.len(),
            limits.max_tool_result_bytes
        ));
    }
    if json_deeper_than(&json, MAX_JSON_DEPTH) {
        return Err(format!(
            "the tool returned a value that nests deeper than {MAX_JSON_DEPTH} levels"
        ));
    }
    RawValue::from_string(well_formed_json(&json).into_owned())
        .map(Some)
        .map_err(|_| {
            format!("the tool returned a value that is not JSON, or nests deeper than {MAX_JSON_DEPTH} levels")
        })
}

/// Keep `value` in a call record if it fits what is left of the record
/// budget; otherwise keep its cut form, `{"$truncated": bytes, "preview": "..."}`.
pub(crate) fn keep_within(value: &mut Box<RawValue>, recorded: &mut u64, budget: u64) {
    let size = value.get().len() as u64;
    if recorded.saturating_add(size) <= budget {
        *recorded += size;
        return;
    }
    let preview = truncated(value.get().to_owned(), RECORD_PREVIEW_BYTES);
    let cut = serde_json::json!({ "$truncated": size, "preview": preview }).to_string();
    if let Ok(raw) = RawValue::from_string(cut) {
        *value = raw;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keep_values_whole_until_the_budget_then_cut() {
        let mut recorded = 0;
        let mut small = RawValue::from_string(r#"{"a":1}"#.into()).unwrap();
        keep_within(&mut small, &mut recorded, 10);
        assert_eq!((small.get(), recorded), (r#"{"a":1}"#, 7));
        let mut big = RawValue::from_string(format!(r#""{}""#, "x".repeat(300))).unwrap();
        keep_within(&mut big, &mut recorded, 10);
        let cut: serde_json::Value = serde_json::from_str(big.get()).unwrap();
        assert_eq!(cut["$truncated"], 302);
        assert!(cut["preview"].as_str().unwrap().ends_with('…'));
        assert_eq!(recorded, 7);
    }

    #[test]
    fn results_over_the_limit_or_too_deep_are_refused() {
        let limits = HarnessLimits {
            max_tool_result_bytes: 20,
            ..HarnessLimits::default()
        };
        assert!(
            tool_result(Some("[1,2]".into()), &limits)
                .unwrap()
                .is_some()
        );
        assert!(tool_result(None, &limits).unwrap().is_none());
        let long = tool_result(Some(format!(r#""{}""#, "y".repeat(30))), &limits).unwrap_err();
        assert!(long.contains("maxToolResultBytes"), "{long}");
        let deep = "[".repeat(129) + &"]".repeat(129);
        let limits = HarnessLimits::default();
        assert!(
            tool_result(Some(deep), &limits)
                .unwrap_err()
                .contains("128 levels")
        );
        let lone = tool_result(Some(r#""\ud800""#.into()), &limits)
            .unwrap()
            .unwrap();
        assert_eq!(lone.get(), r#""\ufffd""#);
    }
}
