//! Panic containment at the napi boundary. A Rust panic must never unwind
//! into Node (that aborts the process): every native function body runs
//! under `contained`, and a panic becomes a thrown `HarnessInternalError`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use napi::{Error, Result, Status};

/// Runs `f`; a panic inside it becomes an `Error` whose message starts with
/// `HarnessInternalError`, naming `what` failed.
pub fn contained<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err(internal(what)))
}

pub fn internal(what: &str) -> Error {
    Error::new(
        Status::GenericFailure,
        format!("HarnessInternalError: {what} failed internally (a bug: please report it)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_harness_internal_error() {
        let r: Result<u32> = contained("native.reply", || panic!("boom"));
        let e = r.unwrap_err();
        assert_eq!(e.status, Status::GenericFailure);
        assert!(
            e.reason
                .starts_with("HarnessInternalError: native.reply failed"),
            "{}",
            e.reason
        );
        assert_eq!(contained("x", || Ok(7)).unwrap(), 7);
    }
}
