//! Node.js binding of script-harness (napi-rs). Thin by design: the
//! package's TypeScript layer (`src/js/`) owns the JavaScript side (tool
//! handlers, AbortControllers, callbacks, promises) and drives this small
//! typed surface, whose declarations napi generates into `binding.d.ts`.
//! The engine lives in `crates/core`.
//!
//! - [`native::NativeHarness`]: one engine (start, validate, describe, close).
//! - [`link::NativeLink`]: tool replies, admissions and cancels, held weakly.
//! - [`turn`]: turns read and written in Rust (`NativeTurn`, `NativeStream`).
//! - [`functions`]: `detectScripts`, `checkToolSchema`, `sealSnapshot`, `openSnapshot`.
//! - [`options`]: the normalized options, as napi objects.
//! - [`host`]: the engine's `Host`, delivering batches in one thread hop.
//! - [`hold`]: the Node thread's short wait for a quick script's next batch.
//! - [`contain`]: no panic unwinds into Node.
//! - [`dry_run`]: dry-run validation on the libuv thread pool.

#![deny(clippy::print_stdout, clippy::print_stderr)]

mod contain;
mod dry_run;
mod functions;
mod hold;
mod host;
mod link;
mod native;
mod options;
mod turn;

pub use functions::{
    SnapshotOutcome, check_tool_schema, detect_scripts, open_snapshot, seal_snapshot,
};
pub use link::NativeLink;
pub use native::NativeHarness;
pub use turn::{NativeStream, NativeTurn};
