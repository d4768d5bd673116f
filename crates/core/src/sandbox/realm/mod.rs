//! Realms: a hardened QuickJS runtime and context, built ahead of time,
//! lent to one live script at a time, and taken back only after a clean
//! finish. The only code that calls the prelude's functions by name.

pub(crate) mod bytecode;
mod freeze;
mod hardened;
mod natives;
mod patched;
mod pool;

pub(crate) use hardened::{Realm, describe_exception};
pub(crate) use natives::{fresh_seed, script_natives};
pub(crate) use patched::{InterruptTarget, is_uncatchable};
pub(crate) use pool::RealmPool;
