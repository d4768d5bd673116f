//! The sandbox: worker threads, runtime assembly, limits, script lifecycle.

mod alloc;
pub mod pool;
mod runtime;
mod script;
mod worker;
