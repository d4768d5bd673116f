//! Redaction of secrets in what people and logs see (approval requests and
//! events); tool handlers always get the real arguments.

use serde_json::Value;

/// Whether a key matches the contract's
/// `/pass(word)?|secret|token|api[-_]?key|auth|credential|cookie|private[-_]?key/i`
/// (unanchored, like the regular expression).
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "pass",
        "secret",
        "token",
        "auth",
        "credential",
        "cookie",
        "apikey",
        "api-key",
        "api_key",
        "privatekey",
        "private-key",
        "private_key",
    ]
    .iter()
    .any(|needle| k.contains(needle))
}

/// `value` with every value under a secret-looking key, at any depth,
/// replaced by `"[redacted]"`.
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_secret_key(k) {
                        Value::String("[redacted]".into())
                    } else {
                        redact(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_at_any_depth() {
        let v = json!({ "apiKey": "k", "nested": [{ "Password": "p", "ok": 1 }], "authorization": "b", "PRIVATE_KEY": 1, "name": "x" });
        assert_eq!(
            redact(&v),
            json!({ "apiKey": "[redacted]", "nested": [{ "Password": "[redacted]", "ok": 1 }], "authorization": "[redacted]", "PRIVATE_KEY": "[redacted]", "name": "x" })
        );
    }
}
