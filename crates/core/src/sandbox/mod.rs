//! The sandbox: worker threads, runtime assembly, limits, script lifecycle.

mod alloc;
mod bytecode;
mod harden;
pub mod pool;
mod runtime;
mod script;
mod watchdog;
mod worker;
