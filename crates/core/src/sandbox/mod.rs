//! The sandbox: worker threads, runtime assembly, limits, script lifecycle.

mod alloc;
mod bytecode;
pub mod gate;
mod harden;
mod outbox;
pub mod pool;
mod runtime;
mod script;
mod values;
mod watchdog;
mod worker;
