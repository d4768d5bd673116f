//! Text that crosses the harness's boundaries: made well-formed and cut to
//! size by one rule each.
//!
//! JavaScript strings may hold lone UTF-16 surrogates; `JSON.stringify`
//! writes them as `\uD800`-style escapes, which serde (and every strict
//! JSON reader) refuses. The harness replaces each lone surrogate escape by
//! `\uFFFD` (the replacement character) wherever JSON text enters or leaves
//! a sandbox or a turn, so no value a model or a tool produces can make a
//! later step reject.

use std::borrow::Cow;

const REPLACEMENT_ESCAPE: &str = "\\ufffd";

fn hex4(b: &[u8]) -> Option<u32> {
    if b.len() < 4 {
        return None;
    }
    let s = std::str::from_utf8(&b[..4]).ok()?;
    u32::from_str_radix(s, 16).ok()
}

/// `json` with every lone surrogate escape (a `\uD800`-`\uDBFF` not followed
/// by a `\uDC00`-`\uDFFF`, or a `\uDC00`-`\uDFFF` on its own) replaced by
/// `\uFFFD`. Linear, and borrowed when there is nothing to replace.
pub fn well_formed_json(json: &str) -> Cow<'_, str> {
    let b = json.as_bytes();
    if memchr::memmem::find(b, b"\\u").is_none() {
        return Cow::Borrowed(json);
    }
    let mut out = String::new();
    let mut copied = 0;
    let mut in_string = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !in_string {
            in_string = c == b'"';
            i += 1;
            continue;
        }
        match c {
            b'"' => {
                in_string = false;
                i += 1;
            }
            b'\\' if b.get(i + 1) == Some(&b'u') => {
                let Some(unit) = hex4(&b[i + 2..]) else {
                    i += 2;
                    continue;
                };
                let lone = match unit {
                    0xD800..=0xDBFF => {
                        let low = (b.get(i + 6) == Some(&b'\\') && b.get(i + 7) == Some(&b'u'))
                            .then(|| hex4(&b[i + 8..]))
                            .flatten();
                        if matches!(low, Some(0xDC00..=0xDFFF)) {
                            i += 12;
                            continue;
                        }
                        true
                    }
                    0xDC00..=0xDFFF => true,
                    _ => false,
                };
                if lone {
                    out.push_str(&json[copied..i]);
                    out.push_str(REPLACEMENT_ESCAPE);
                    copied = i + 6;
                }
                i += 6;
            }
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    if copied == 0 {
        return Cow::Borrowed(json);
    }
    out.push_str(&json[copied..]);
    Cow::Owned(out)
}

/// Whether JSON text nests arrays and objects more than `max` levels deep.
/// Iterative, so any depth is measured without recursion.
pub fn json_deeper_than(json: &str, max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in json.as_bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Cut `s` to at most `max` bytes on a character boundary, marking the cut
/// with `…`.
pub fn truncate_utf8(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
}

/// `s` cut to at most `max` bytes (see [`truncate_utf8`]).
pub fn truncated(mut s: String, max: usize) -> String {
    truncate_utf8(&mut s, max);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        let cases = [
            (r#"{"a":"\ud800"}"#, r#"{"a":"\ufffd"}"#),
            (r#"["\udc00x"]"#, r#"["\ufffdx"]"#),
            (r#"["\ud83d\ude00"]"#, r#"["\ud83d\ude00"]"#),
            (r#"["\ud83d\ud83d\ude00"]"#, r#"["\ufffd\ud83d\ude00"]"#),
            (r#"{"\ud800":1}"#, r#"{"\ufffd":1}"#),
            // An escaped backslash followed by `ud800` is text, not an escape.
            (r#"["\\ud800"]"#, r#"["\\ud800"]"#),
            (r#"["\ud800"#, r#"["\ufffd"#),
        ];
        for (input, want) in cases {
            assert_eq!(well_formed_json(input), want, "{input}");
            let parsed: Result<serde_json::Value, _> =
                serde_json::from_str(&well_formed_json(input));
            if want.ends_with(']') || want.ends_with('}') {
                assert!(parsed.is_ok(), "{input}");
            }
        }
        assert!(matches!(
            well_formed_json(r#"{"a":"\u0041"}"#),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn depth_is_measured_outside_strings() {
        assert!(!json_deeper_than(r#"{"a":[1,{"b":"[[[[["}]}"#, 3));
        assert!(json_deeper_than(r#"{"a":[1,{"b":[]}]}"#, 3));
        assert!(!json_deeper_than(r#"["\"[[[["]"#, 1));
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(json_deeper_than(&deep, 128));
    }

    #[test]
    fn truncation_keeps_characters_whole() {
        assert_eq!(truncated("héllo".into(), 2), "h…");
        assert_eq!(truncated("abc".into(), 3), "abc");
    }
}
