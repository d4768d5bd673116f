//! The native functions a realm's prelude is given.
//!
//! The realm's own (`harden`, `freezeOwn`, `argsJson`, `random`, `now`) are made once per realm. A
//! script's (`call`, `log`, `abort`, `progress`) are made for each script
//! and carry that script's [`ScriptCell`]: a function kept past its
//! script's end records into a finished cell and starts nothing, whatever
//! script runs in the realm then.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use rquickjs::{Array, Ctx, Function, Object, Value};

use super::freeze::{freeze_own, freeze_reachable};
use super::patched::args_json;
use crate::sandbox::park;
use crate::sandbox::run::ScriptCell;

/// `host` of the prelude: the realm's natives.
pub(super) fn realm_natives<'js>(
    ctx: &Ctx<'js>,
    random: &Rc<Cell<u64>>,
    current: &Rc<RefCell<Option<Rc<ScriptCell>>>>,
) -> rquickjs::Result<Object<'js>> {
    let host = Object::new(ctx.clone())?;
    host.set("harden", Function::new(ctx.clone(), freeze_reachable)?)?;
    host.set("freezeOwn", Function::new(ctx.clone(), freeze_own)?)?;
    host.set("argsJson", Function::new(ctx.clone(), args_json)?)?;
    let state = random.clone();
    host.set(
        "random",
        Function::new(ctx.clone(), move || next_random(&state))?.with_name("random")?,
    )?;
    // The clock of the script the realm serves: replayed readings first
    // (a resumed script), recorded when its run asked. A realm serves one
    // script at a time; outside a script (the prelude) it is the real clock.
    let current = current.clone();
    host.set(
        "now",
        Function::new(ctx.clone(), move || {
            let cell = current.try_borrow().ok().and_then(|c| c.clone());
            match cell {
                Some(cell) => cell.now(),
                None => crate::replay::ScriptClock::default().now(),
            }
        })?
        .with_name("now")?,
    )?;
    Ok(host)
}

/// xorshift64* (the generator QuickJS itself uses), as a double in [0, 1)
/// made from the top 52 bits as QuickJS does. Its state is reseeded for
/// every script.
fn next_random(state: &Cell<u64>) -> f64 {
    let mut x = state.get();
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    state.set(x);
    let out = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
    f64::from_bits((out >> 12) | 0x3ff0_0000_0000_0000) - 1.0
}

/// A seed no script can predict: SipHash under the process's random keys.
pub(crate) fn fresh_seed() -> u64 {
    use std::hash::BuildHasher;
    let seed = std::hash::RandomState::new().hash_one(std::time::Instant::now());
    if seed == 0 {
        0x9e37_79b9_7f4a_7c15
    } else {
        seed
    }
}

/// The natives of one script, recording into `cell`.
pub(crate) fn script_natives<'js>(
    ctx: &Ctx<'js>,
    cell: &Rc<ScriptCell>,
) -> rquickjs::Result<Object<'js>> {
    let natives = Object::new(ctx.clone())?;
    let c = cell.clone();
    natives.set(
        "call",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, index: i32, args: String, path: String, stack: String| {
                let _callback = park::callback();
                match c.start_call(index, args, path, stack) {
                    Ok(call) => Ok::<_, rquickjs::Error>(Value::new_int(ctx, call as i32)),
                    Err(refusal) => {
                        // [code, message, callId?]: the prelude rejects with it.
                        let arr = Array::new(ctx)?;
                        arr.set(0, refusal.code.as_str())?;
                        arr.set(1, refusal.message)?;
                        if let Some(id) = refusal.call_id {
                            arr.set(2, id)?;
                        }
                        Ok(arr.into_value())
                    }
                }
            },
        )?,
    )?;
    let c = cell.clone();
    natives.set(
        "log",
        Function::new(ctx.clone(), move |level: u32, message: String| {
            let _callback = park::callback();
            c.log(level, message)
        })?,
    )?;
    let c = cell.clone();
    natives.set(
        "abort",
        Function::new(ctx.clone(), move |call: u32| {
            let _callback = park::callback();
            c.abort_call(call)
        })?,
    )?;
    let c = cell.clone();
    natives.set(
        "progress",
        Function::new(ctx.clone(), move |message: String, kind: String| {
            let _callback = park::callback();
            c.progress(message, kind)
        })?,
    )?;
    Ok(natives)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_draws_are_in_range_and_seeds_differ() {
        let state = Cell::new(fresh_seed());
        for _ in 0..10_000 {
            let x = next_random(&state);
            assert!((0.0..1.0).contains(&x));
        }
        assert_ne!(fresh_seed(), fresh_seed());
    }
}
