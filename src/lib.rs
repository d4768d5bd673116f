//! Node.js binding of script-harness (napi-rs). Thin by design: it turns JS
//! options into engine configuration, engine messages into JS calls, and
//! nothing else. The engine lives in `crates/core`.
//!
//! - [`harness::ScriptHarness`]: the exported class.
//! - [`options`]: option data → engine configuration (and TypeErrors).
//! - [`contain`]: no panic unwinds into Node.
//! - [`dry_run`]: dry-run validation on the libuv thread pool.
//! - [`host`]: the engine's `Host`, delivering to the JS bridge in one hop.
//! - `bridge.js`: the JS side (handlers, AbortControllers, run promises).

#![deny(clippy::print_stdout, clippy::print_stderr)]

mod contain;
mod dry_run;
mod harness;
mod host;
mod options;

pub use harness::{ScriptHarness, check_tool_schema, detect_scripts};
