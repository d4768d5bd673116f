//! One script's bookkeeping, free of QuickJS: its call table, console and
//! progress, clock and stop conditions, and the result it ends with. The
//! realm's natives and the driver record into a [`ScriptCell`]; plain
//! `#[test]`s drive it directly.

mod calls;
mod cell;
mod console;
mod result;
mod state;
#[cfg(test)]
mod tests;

pub(crate) use cell::ScriptCell;
pub(crate) use state::RunStart;

/// Where a script stands after the worker drove it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    Running,
    Finished,
}
