//! Sealed snapshots of suspended scripts. The package's JavaScript layer
//! writes what a suspended script is (its source, options, journal of
//! finished tool calls, seed and clock readings) as JSON; this seals it
//! with HMAC-SHA256 under the host's `snapshotKey` and opens it again,
//! refusing anything altered, truncated, sealed under another key, of
//! another version, or too large, before a byte of it is parsed.
//!
//! Form: `shs1.<payload>.<tag>`, both parts base64url without padding;
//! the tag is HMAC-SHA256(key, "script-harness snapshot 1\0" ‖ payload).
//! A snapshot is signed, not encrypted: whoever holds it can read it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// What a snapshot starts with: the format and its version.
pub const SNAPSHOT_PREFIX: &str = "shs1.";
/// The largest payload sealed or opened, in bytes of JSON.
pub const MAX_SNAPSHOT_PAYLOAD_BYTES: usize = 16 * 1024 * 1024;
/// The shortest key taken, in bytes.
pub const MIN_KEY_BYTES: usize = 16;

const DOMAIN: &[u8] = b"script-harness snapshot 1\0";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("the snapshot key must be at least {MIN_KEY_BYTES} bytes")]
    KeyTooShort,
    #[error("the snapshot is larger than {MAX_SNAPSHOT_PAYLOAD_BYTES} bytes")]
    TooLarge,
    #[error("not a script-harness snapshot of a version this package reads")]
    UnknownFormat,
    #[error("the snapshot is malformed or truncated")]
    Malformed,
    #[error(
        "the snapshot's signature does not match: it was altered, or sealed under another snapshotKey"
    )]
    BadSignature,
}

impl SnapshotError {
    /// A stable code for each refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Self::KeyTooShort => "ERR_SNAPSHOT_KEY",
            Self::TooLarge => "ERR_SNAPSHOT_TOO_LARGE",
            Self::UnknownFormat => "ERR_SNAPSHOT_FORMAT",
            Self::Malformed => "ERR_SNAPSHOT_MALFORMED",
            Self::BadSignature => "ERR_SNAPSHOT_SIGNATURE",
        }
    }
}

fn mac(key: &[u8]) -> Result<Hmac<Sha256>, SnapshotError> {
    if key.len() < MIN_KEY_BYTES {
        return Err(SnapshotError::KeyTooShort);
    }
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(|_| SnapshotError::KeyTooShort)?;
    mac.update(DOMAIN);
    Ok(mac)
}

/// `payload` sealed under `key`.
pub fn seal(key: &[u8], payload: &str) -> Result<String, SnapshotError> {
    if payload.len() > MAX_SNAPSHOT_PAYLOAD_BYTES {
        return Err(SnapshotError::TooLarge);
    }
    let mut mac = mac(key)?;
    mac.update(payload.as_bytes());
    let tag = mac.finalize().into_bytes();
    Ok(format!(
        "{SNAPSHOT_PREFIX}{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(tag)
    ))
}

/// The payload of `snapshot`, if it was sealed under `key` and is whole.
pub fn open(key: &[u8], snapshot: &str) -> Result<String, SnapshotError> {
    let mac = mac(key)?;
    // base64 grows by 4/3: anything longer cannot hold an allowed payload.
    if snapshot.len() > MAX_SNAPSHOT_PAYLOAD_BYTES / 3 * 4 + 128 {
        return Err(SnapshotError::TooLarge);
    }
    let rest = snapshot
        .strip_prefix(SNAPSHOT_PREFIX)
        .ok_or(SnapshotError::UnknownFormat)?;
    let (body, tag) = rest.split_once('.').ok_or(SnapshotError::Malformed)?;
    let body = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| SnapshotError::Malformed)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| SnapshotError::Malformed)?;
    let mut mac = mac;
    mac.update(&body);
    // Constant time: the comparison tells an attacker nothing of the tag.
    mac.verify_slice(&tag)
        .map_err(|_| SnapshotError::BadSignature)?;
    if body.len() > MAX_SNAPSHOT_PAYLOAD_BYTES {
        return Err(SnapshotError::TooLarge);
    }
    String::from_utf8(body).map_err(|_| SnapshotError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_sealed_payload_opens_under_its_key_only() {
        let sealed = seal(KEY, r#"{"v":1,"source":"return 1"}"#).unwrap();
        assert!(sealed.starts_with("shs1."));
        assert_eq!(
            open(KEY, &sealed).unwrap(),
            r#"{"v":1,"source":"return 1"}"#
        );
        assert_eq!(
            open(b"another key of enough bytes....", &sealed),
            Err(SnapshotError::BadSignature)
        );
        assert_eq!(seal(b"short", "x"), Err(SnapshotError::KeyTooShort));
        assert_eq!(open(b"short", &sealed), Err(SnapshotError::KeyTooShort));
    }

    #[test]
    fn altered_truncated_or_foreign_snapshots_are_refused() {
        let sealed = seal(KEY, r#"{"v":1,"calls":[{"ok":"42"}]}"#).unwrap();
        // Every single-character change of the body or the tag.
        for i in SNAPSHOT_PREFIX.len()..sealed.len() {
            let mut bytes = sealed.clone().into_bytes();
            if bytes[i] == b'.' {
                continue;
            }
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap();
            assert!(open(KEY, &altered).is_err(), "accepted a change at {i}");
        }
        for cut in 0..sealed.len() {
            assert!(
                open(KEY, &sealed[..cut]).is_err(),
                "accepted a cut at {cut}"
            );
        }
        assert_eq!(
            open(KEY, "shs2.e30.AAAA"),
            Err(SnapshotError::UnknownFormat)
        );
        assert_eq!(open(KEY, "shs1.e30"), Err(SnapshotError::Malformed));
        assert_eq!(open(KEY, "shs1.!!!.AAAA"), Err(SnapshotError::Malformed));
        let huge = "A".repeat(MAX_SNAPSHOT_PAYLOAD_BYTES / 3 * 4 + 200);
        assert_eq!(open(KEY, &huge), Err(SnapshotError::TooLarge));
        assert_eq!(
            seal(KEY, &"x".repeat(MAX_SNAPSHOT_PAYLOAD_BYTES + 1)),
            Err(SnapshotError::TooLarge)
        );
    }
}
