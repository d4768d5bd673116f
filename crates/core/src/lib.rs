//! The napi-free engine of script-harness: it runs model-written scripts in
//! hardened QuickJS sandboxes on its own threads, with tools provided by a
//! [`host::Host`].
//!
//! - [`sandbox::Engine`]: submit scripts, route tool answers, cancel, close.
//! - [`compile`]: from the model's text to the code a sandbox evaluates.
//! - [`limits`], [`tools`], [`errors`], [`result`], [`events`]: the contract's shapes.

pub mod compile;
pub mod describe;
pub mod detect;
pub mod errors;
pub mod events;
pub mod host;
pub mod instructions;
pub mod limits;
pub mod mode;
pub mod redact;
pub mod replay;
pub mod result;
pub mod sandbox;
pub mod snapshot;
pub mod stream;
pub mod text;
pub mod tools;
pub mod turns;

pub use compile::Language;
pub use errors::{ErrorCode, HarnessError, Phase, ScriptError};
pub use host::{CallToken, Host, Outgoing, ToolOutcome};
pub use limits::HarnessLimits;
pub use mode::HarnessMode;
pub use result::ScriptResult;
pub use sandbox::{Engine, EngineConfig, EngineStats, Isolation, RunHandle, Submission};
pub use tools::{ApprovalRule, ToolSpec};
