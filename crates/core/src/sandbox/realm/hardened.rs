//! One hardened realm: a QuickJS runtime and context of its own, with the
//! counting allocator, the interrupt handler, its natives and the trusted
//! prelude run. It serves one script at a time.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use rquickjs::{Context, Ctx, Function, Object, Persistent, Runtime, Value};

use super::natives::{fresh_seed, realm_natives};
use super::patched::OnOverflow;
use crate::limits::HarnessLimits;
use crate::sandbox::heap::{CountingAllocator, Tripwires};
use crate::sandbox::outcome::Terminal;
use crate::sandbox::park;
use crate::sandbox::run::ScriptCell;

const PRELUDE: &str = include_str!("prelude.js");
/// Generous ceiling while the prelude runs; each script's own limit is set
/// when it starts.
const PRELUDE_MEMORY_BYTES: usize = 64 * 1024 * 1024;
const GC_THRESHOLD_BYTES: usize = 4 * 1024 * 1024;
/// Heap a realm may hold between scripts beyond what it held when built.
/// Reference counting frees most of a script's objects as it ends; cycles
/// (closures and their scopes, promise chains) wait for the collector,
/// which costs about 90 µs a run on a built realm, so it runs only once
/// this much has gathered. A realm still above it after a collection kept
/// something, and is not reused.
const MAX_LEFTOVER_BYTES: usize = 256 * 1024;
/// Scripts a realm serves before it is rebuilt: whatever a realm gathers
/// that no check sees (interned atoms, shapes) stays bounded.
const MAX_SCRIPTS_PER_REALM: u32 = 10_000;

#[derive(Debug)]
pub(crate) struct BuildError(pub String);

/// Field order is drop order: the JS handles go before the context, the
/// context before the runtime.
pub(crate) struct Realm {
    /// The prelude's handle: `open`, `describe`, `serialize`.
    api: Persistent<Object<'static>>,
    context: Context,
    runtime: Runtime,
    /// The runtime's stack overflow handler: dropped after the runtime.
    #[allow(dead_code)] // only QuickJS reads it, through its address
    on_overflow: Box<OnOverflow>,
    /// While set, an overflow is an ordinary RangeError (see
    /// `with_catchable_overflow`).
    overflow_catchable: Rc<Cell<bool>>,
    wires: Rc<Tripwires>,
    /// The script whose JS runs now, for the interrupt handler.
    current: Rc<RefCell<Option<Rc<ScriptCell>>>>,
    /// `Math.random`'s state, reseeded for each script.
    random: Rc<Cell<u64>>,
    /// Heap held right after the build.
    baseline: usize,
    /// Scripts that ran in this realm.
    served: u32,
}

impl Realm {
    /// `tool_tree` is the JSON object of namespaces whose leaves are tool
    /// indexes, e.g. `{"exec":0,"mcp":{"github":{"searchIssues":1}}}`.
    pub fn build(tool_tree: &str, max_stack_bytes: usize) -> Result<Realm, BuildError> {
        let fail = |what: &str, e: String| BuildError(format!("{what}: {e}"));
        let wires = Rc::new(Tripwires::default());
        wires.set_memory_limit(PRELUDE_MEMORY_BYTES);
        let runtime = Runtime::new_with_alloc(CountingAllocator::new(wires.clone()))
            .map_err(|e| fail("runtime", e.to_string()))?;
        runtime.set_max_stack_size(max_stack_bytes);
        // Collecting while the realm is built (QuickJS's default threshold
        // is 256 KiB) is wasted work; a realm is collected when a script
        // gives it back. The byte budget still caps what a script holds.
        runtime.set_gc_threshold(GC_THRESHOLD_BYTES);
        let current: Rc<RefCell<Option<Rc<ScriptCell>>>> = Rc::default();
        {
            let current = current.clone();
            runtime.set_interrupt_handler(Some(Box::new(move || {
                let _callback = park::callback();
                current
                    .try_borrow()
                    .ok()
                    .and_then(|c| c.as_ref().map(|cell| cell.should_interrupt()))
                    .unwrap_or(false)
            })));
        }
        let context = Context::full(&runtime).map_err(|e| fail("context", e.to_string()))?;
        wires.set_runtime(context.get_runtime_ptr());
        // A stack overflow is a limit like time and memory: it ends the
        // script, whatever the script catches (contract: "terminal means
        // nothing more happens"). The script's cell records it as it
        // happens; QuickJS makes the RangeError uncatchable and polls the
        // interrupt handler, which then stops the script.
        let overflow_catchable = Rc::new(Cell::new(false));
        let on_overflow: Box<OnOverflow> = {
            let (current, catchable) = (current.clone(), overflow_catchable.clone());
            Box::new(Box::new(move || {
                let _callback = park::callback();
                if catchable.get() {
                    return false;
                }
                if let Ok(current) = current.try_borrow()
                    && let Some(cell) = current.as_ref()
                {
                    cell.set_terminal(Terminal::StackOverflow);
                }
                true
            }))
        };
        super::patched::set_stack_overflow_handler(context.get_runtime_ptr(), &on_overflow);
        let random = Rc::new(Cell::new(fresh_seed()));
        let api = context.with(|ctx| -> Result<Persistent<Object<'static>>, BuildError> {
            let host = realm_natives(&ctx, &random, &current)
                .map_err(|e| fail("natives", e.to_string()))?;
            // Test builds only: a native that never returns, standing in for
            // a built-in loop QuickJS's patches missed. Like most native
            // loops it calls back into the harness now and then (here as an
            // allocation would), so the watchdog's last resort can be tested.
            #[cfg(test)]
            ctx.globals()
                .set(
                    "__stuckInNative",
                    Function::new(ctx.clone(), || -> () {
                        loop {
                            for _ in 0..10_000 {
                                std::hint::spin_loop();
                            }
                            drop(park::callback());
                        }
                    }),
                )
                .map_err(|e| fail("test native", e.to_string()))?;
            let tree: Value = ctx
                .json_parse(tool_tree)
                .map_err(|e| fail("tool tree", e.to_string()))?;
            let make = match super::bytecode::prelude(PRELUDE) {
                Some(bytes) => super::bytecode::run(&ctx, bytes).and_then(Function::from_value),
                None => ctx.eval_with_options(PRELUDE, prelude_options()),
            };
            let make: Function = make.map_err(|e| fail("prelude", describe_exception(&ctx, e)))?;
            let api: Object = make
                .call((host, tree))
                .map_err(|e| fail("prelude", describe_exception(&ctx, e)))?;
            Ok(Persistent::save(&ctx, api))
        })?;
        runtime.run_gc();
        wires.reset_run();
        let baseline = wires.used();
        Ok(Realm {
            api,
            context,
            runtime,
            on_overflow,
            overflow_catchable,
            wires,
            current,
            random,
            baseline,
            served: 0,
        })
    }

    pub fn wires(&self) -> &Rc<Tripwires> {
        &self.wires
    }

    /// Scripts this realm served before the one it serves now.
    pub fn served(&self) -> u32 {
        self.served
    }

    /// Lend the realm to `cell`'s script, under its limits.
    /// The realm's context, for `JS_RequestInterrupt` from the watchdog.
    pub fn interrupt_target(&self) -> super::patched::InterruptTarget {
        super::patched::InterruptTarget::new(self.context.as_raw())
    }

    pub fn enter(&self, cell: Rc<ScriptCell>, limits: &HarnessLimits) {
        let leftover = self.wires.used().saturating_sub(self.baseline);
        self.wires
            .start_script((limits.memory_mb as usize) * 1024 * 1024, leftover);
        self.runtime
            .set_max_stack_size(limits.max_stack_bytes as usize);
        // QuickJS moves its collection threshold to 1.5 × the heap left
        // after each automatic collection: an earlier script's peak would
        // otherwise decide when this script's garbage is collected (and so
        // whether it fits its budget). Every script starts as in a fresh realm.
        self.runtime.set_gc_threshold(GC_THRESHOLD_BYTES);
        self.random.set(cell.seed());
        *self.current.borrow_mut() = Some(cell);
    }

    /// Run `f` in the realm with the prelude's handle.
    pub fn with<R>(&self, f: impl for<'js> FnOnce(Ctx<'js>, Object<'js>) -> R) -> R {
        let _in_quickjs = park::in_quickjs();
        self.context.with(|ctx| {
            // Restoring a handle into the context that saved it cannot fail.
            let api = self
                .api
                .clone()
                .restore(&ctx)
                .expect("the realm's own handle");
            f(ctx, api)
        })
    }

    /// Run `f` with a stack overflow catchable, for the harness's own work
    /// past the script's reach: reading a tool result too deep for the
    /// script's stack (that call's `ToolExecutionError`), and reading the
    /// value of a script that has ended (its `SerializationError`).
    pub fn with_catchable_overflow<R>(
        &self,
        f: impl for<'js> FnOnce(Ctx<'js>, Object<'js>) -> R,
    ) -> R {
        self.overflow_catchable.set(true);
        let out = self.with(f);
        self.overflow_catchable.set(false);
        out
    }

    pub fn is_job_pending(&self) -> bool {
        self.runtime.is_job_pending()
    }

    /// Run queued promise jobs until none is left or the script must stop.
    /// Returns false when it stopped because of an interrupt or a limit.
    /// A stack overflow in a job is handed to `on_overflow`, which records
    /// it (and its line) as the script's end.
    pub fn drain_jobs(
        &self,
        cell: &ScriptCell,
        mut on_overflow: impl for<'js> FnMut(&Ctx<'js>, &Object<'js>, Value<'js>),
    ) -> bool {
        loop {
            if cell.terminal().is_some() {
                return false;
            }
            let job = {
                let _in_quickjs = park::in_quickjs();
                self.runtime.execute_pending_job()
            };
            match job {
                Ok(true) => continue,
                Ok(false) => return true,
                // A job that threw past every handler: only the interrupt
                // and a stack overflow (both uncatchable, both with the
                // terminal state set already) or an allocation failure
                // while unwinding do that.
                Err(_) => {
                    // The job's exception stays in the runtime until taken:
                    // take it, so nothing of this script outlives it there.
                    self.with(|ctx, api| {
                        let thrown = ctx.catch();
                        if cell.terminal() == Some(Terminal::StackOverflow)
                            && super::patched::is_uncatchable(&thrown)
                        {
                            on_overflow(&ctx, &api, thrown);
                        }
                    });
                    cell.note_limits();
                    if cell.terminal().is_some() {
                        return false;
                    }
                }
            }
        }
    }

    /// The script it served finished cleanly: make the realm ready for
    /// the next one, or `None` when it must not serve again (jobs left
    /// behind, a memory breach, heap that stayed, or its quota served).
    pub fn recycle(mut self) -> Option<Realm> {
        *self.current.borrow_mut() = None;
        if self.runtime.is_job_pending() || self.wires.memory_tripped() {
            return None;
        }
        let leftover = |r: &Realm| r.wires.used().saturating_sub(r.baseline);
        if leftover(&self) > MAX_LEFTOVER_BYTES {
            self.runtime.run_gc();
        }
        self.served += 1;
        (leftover(&self) <= MAX_LEFTOVER_BYTES && self.served < MAX_SCRIPTS_PER_REALM)
            .then_some(self)
    }
}

fn prelude_options() -> rquickjs::context::EvalOptions {
    let mut o = rquickjs::context::EvalOptions::default();
    o.global = true;
    o.strict = true;
    o.filename = Some("harness".into());
    o
}

/// Text of a pending exception, for internal errors only (never shown to a
/// model as the reason a script failed).
pub(crate) fn describe_exception(ctx: &Ctx<'_>, e: rquickjs::Error) -> String {
    if let rquickjs::Error::Exception = e {
        let v = ctx.catch();
        if let Some(ex) = v.as_exception() {
            return format!(
                "{} {}",
                ex.message().unwrap_or_default(),
                ex.stack().unwrap_or_default()
            );
        }
        return format!("{v:?}");
    }
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_realm() {
        if let Err(e) = Realm::build(r#"{"exec":0,"mcp":{"x":1}}"#, 512 * 1024) {
            panic!("{}", e.0);
        }
    }

    /// Figures behind the design: `cargo test --release -p
    /// script-harness-core -- --ignored realm_costs --nocapture`.
    #[test]
    #[ignore]
    #[allow(clippy::print_stderr)] // a measurement: it prints its figures
    fn realm_costs() {
        let n = 200;
        let t = std::time::Instant::now();
        let realms: Vec<Realm> = (0..n)
            .map(|_| Realm::build(r#"{"exec":0}"#, 512 * 1024).unwrap())
            .collect();
        let build = t.elapsed().as_secs_f64() * 1e6 / n as f64;
        let held = realms[0].wires.used() / 1024;
        let t = std::time::Instant::now();
        for r in &realms {
            r.runtime.run_gc();
        }
        let gc = t.elapsed().as_secs_f64() * 1e6 / n as f64;
        eprintln!(
            "build {build:.0} us per realm, {held} KiB held; a collection of a built realm {gc:.1} us"
        );
    }
}

#[cfg(test)]
mod open_cost {
    use super::*;

    /// What building one script's `context`, `tools` and `console` costs in
    /// a built realm (the figure in benches/BOUNDS.md): `cargo test
    /// --release -p script-harness-core --lib -- --ignored open_cost
    /// --nocapture` (`OPEN_N` sets the iterations, for callgrind).
    #[test]
    #[ignore]
    #[allow(clippy::print_stderr)] // a measurement: it prints its figures
    fn open_cost() {
        let realm = Realm::build(
            r#"{"echo":0,"exec":1,"mcp":{"github":{"search":2}}}"#,
            512 * 1024,
        )
        .unwrap();
        let ctx_json = r#"{"scriptId":null,"mode":"enabled","limits":{"timeoutMs":30000,"memoryMb":96,"maxStackBytes":524288,"maxSourceBytes":20480,"maxReturnBytes":131072,"maxToolCalls":32,"maxConcurrentToolCalls":4,"maxLogEvents":200,"approvalTimeoutMs":60000,"orphanGraceMs":250,"maxToolArgBytes":1048576,"maxToolResultBytes":4194304,"maxCallRecordBytes":1048576},"tools":["echo","exec","mcp.github.search"]}"#;
        realm.with(|ctx, api| {
            let open: Function = api.get("open").unwrap();
            for round in 0..3 {
                let n: usize = std::env::var("OPEN_N")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(2000);
                let t = std::time::Instant::now();
                for _ in 0..n {
                    let natives = Object::new(ctx.clone()).unwrap();
                    let _: rquickjs::Array = open.call((natives, ctx_json, "scr_1")).unwrap();
                }
                eprintln!(
                    "round {round}: open {:.1} us",
                    t.elapsed().as_secs_f64() * 1e6 / n as f64
                );
                let t = std::time::Instant::now();
                for _ in 0..n {
                    let _: Value = ctx.json_parse(ctx_json).unwrap();
                }
                eprintln!(
                    "  json_parse alone {:.1} us",
                    t.elapsed().as_secs_f64() * 1e6 / n as f64
                );
            }
        });
    }
}
