//! The sandbox: worker threads, realms, limits, and each script's life.
//!
//! Dependencies run one way, from the facade down:
//! `engine → watchdog → worker → script → exception → realm → run → heap`,
//! with `shared`, `gate`, `watch`, `park`, `outbox`, `outcome` and `values`
//! as leaves everything may use. `ARCHITECTURE.md` at the repository's root
//! has the map.

mod engine;
mod exception;
pub mod gate;
mod heap;
mod outbox;
mod outcome;
pub mod park;
mod realm;
mod run;
mod script;
mod shared;
#[cfg(test)]
mod tests;
mod values;
mod watch;
mod watchdog;
mod worker;

pub use engine::{Engine, EngineConfig, EngineStats, RunHandle, Submission};
pub use shared::{EngineShared, Isolation};
