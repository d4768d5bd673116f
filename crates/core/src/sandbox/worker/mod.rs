//! Sandbox workers: one OS thread each, owning its realms for life. Work
//! arrives by channel ([`Inbound`]); results leave through the host in
//! batches.

mod inbox;
mod spawn;
mod thread;

pub(crate) use inbox::{Inbound, Job};
pub(crate) use spawn::{WorkerHandle, spawn_worker};
