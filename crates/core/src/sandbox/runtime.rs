//! Assembling one sandbox: a fresh QuickJS runtime and context with the
//! counting allocator, the interrupt handler, the host functions and the
//! trusted prelude. Everything a sandbox is made of is decided here.

use std::rc::Rc;

use rquickjs::{Context, Ctx, Function, Object, Persistent, Promise, Runtime, Value};

use super::alloc::{CountingAllocator, Tripwires};
use super::script::RunCell;

const PRELUDE: &str = include_str!("prelude.js");
/// Generous ceiling while the prelude runs; the script's own limit is set
/// when it is assigned.
const PRELUDE_MEMORY_BYTES: usize = 64 * 1024 * 1024;
const GC_THRESHOLD_BYTES: usize = 4 * 1024 * 1024;

/// A hardened realm, ready for one script. Field order is drop order: the
/// JS handles go before the context, the context before the runtime.
pub(crate) struct Sandbox {
    pub api: Persistent<Object<'static>>,
    pub promise: Option<Persistent<Promise<'static>>>,
    pub context: Context,
    pub runtime: Runtime,
    pub wires: Rc<Tripwires>,
    pub cell: Rc<RunCell>,
}

#[derive(Debug)]
pub(crate) struct PrepareError(pub String);

impl Sandbox {
    /// `tool_tree` is the JSON object of namespaces whose leaves are tool
    /// indexes, e.g. `{"exec":0,"mcp":{"github":{"searchIssues":1}}}`.
    pub fn prepare(tool_tree: &str, max_stack_bytes: usize) -> Result<Sandbox, PrepareError> {
        let wires = Rc::new(Tripwires::default());
        wires.set_memory_limit(PRELUDE_MEMORY_BYTES);
        let runtime = Runtime::new_with_alloc(CountingAllocator::new(wires.clone()))
            .map_err(|e| PrepareError(format!("runtime: {e}")))?;
        runtime.set_max_stack_size(max_stack_bytes);
        // A realm lives for one script and is freed whole: collecting while
        // it is built (QuickJS's default threshold is 256 KiB) is wasted
        // work. The byte budget still caps what a script can hold.
        runtime.set_gc_threshold(GC_THRESHOLD_BYTES);
        let cell = Rc::new(RunCell::default());
        {
            let cell = cell.clone();
            let wires = wires.clone();
            runtime.set_interrupt_handler(Some(Box::new(move || cell.should_interrupt(&wires))));
        }
        let context = Context::full(&runtime).map_err(|e| PrepareError(format!("context: {e}")))?;
        wires.set_runtime(context.get_runtime_ptr());
        let api = context.with(|ctx| -> Result<Persistent<Object<'static>>, PrepareError> {
            let host = host_functions(&ctx, &cell, &wires)
                .map_err(|e| PrepareError(format!("host functions: {e}")))?;
            let tree: Value = ctx
                .json_parse(tool_tree)
                .map_err(|e| PrepareError(format!("tool tree: {e}")))?;
            let make = match super::bytecode::prelude(PRELUDE) {
                Some(bytes) => super::bytecode::run(&ctx, bytes).and_then(Function::from_value),
                None => ctx.eval_with_options(PRELUDE, prelude_options()),
            };
            let make: Function = make
                .map_err(|e| PrepareError(format!("prelude: {}", describe_exception(&ctx, e))))?;
            let api: Object = make
                .call((host, tree))
                .map_err(|e| PrepareError(format!("prelude: {}", describe_exception(&ctx, e))))?;
            Ok(Persistent::save(&ctx, api))
        })?;
        wires.reset_run();
        Ok(Sandbox {
            api,
            promise: None,
            context,
            runtime,
            wires,
            cell,
        })
    }

    /// Run queued promise jobs until none is left or the script must stop.
    /// Returns false when it stopped because of an interrupt or a limit.
    pub fn drain_jobs(&self) -> bool {
        loop {
            if self.cell.terminal().is_some() {
                return false;
            }
            match self.runtime.execute_pending_job() {
                Ok(true) => continue,
                Ok(false) => return true,
                // A job that threw past every handler: only the interrupt
                // (uncatchable) or an allocation failure while unwinding do
                // that; the terminal state says which.
                Err(_) => {
                    if self.cell.terminal().is_none() {
                        self.cell.note_limits(&self.wires);
                    }
                    if self.cell.terminal().is_some() {
                        return false;
                    }
                }
            }
        }
    }
}

fn prelude_options() -> rquickjs::context::EvalOptions {
    let mut o = rquickjs::context::EvalOptions::default();
    o.global = true;
    o.strict = true;
    o.filename = Some("harness".into());
    o
}

pub(crate) fn script_options() -> rquickjs::context::EvalOptions {
    let mut o = rquickjs::context::EvalOptions::default();
    o.global = true;
    o.strict = true;
    o.backtrace_barrier = true;
    o.filename = Some("script".into());
    o
}

/// The `host` object handed to the prelude: native functions that record
/// into the script's [`RunCell`].
fn host_functions<'js>(
    ctx: &Ctx<'js>,
    cell: &Rc<RunCell>,
    wires: &Rc<Tripwires>,
) -> rquickjs::Result<Object<'js>> {
    let host = Object::new(ctx.clone())?;
    let (c, w) = (cell.clone(), wires.clone());
    host.set(
        "call",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, index: i32, args: String, path: String, stack: String| {
                // A memory limit hit a moment ago (and caught) is terminal
                // now, not at the next interrupt poll.
                c.note_limits(&w);
                c.start_call(&ctx, index, args, path, stack, &w)
            },
        )?,
    )?;
    let c = cell.clone();
    host.set(
        "log",
        Function::new(ctx.clone(), move |level: u32, message: String| {
            c.log(level, message)
        })?,
    )?;
    host.set(
        "harden",
        Function::new(ctx.clone(), super::harden::freeze_reachable)?,
    )?;
    let c = cell.clone();
    host.set(
        "abort",
        Function::new(ctx.clone(), move |call: u32| c.abort_call(call))?,
    )?;
    let c = cell.clone();
    host.set(
        "progress",
        Function::new(ctx.clone(), move |message: String, kind: String| {
            c.progress(message, kind)
        })?,
    )?;
    Ok(host)
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
    fn prepares_a_sandbox() {
        if let Err(e) = Sandbox::prepare(r#"{"exec":0,"mcp":{"x":1}}"#, 512 * 1024) {
            panic!("{}", e.0);
        }
    }
}

#[cfg(test)]
mod timing {
    use super::*;

    #[test]
    #[ignore]
    #[allow(clippy::print_stderr)] // a measurement: it prints its figures
    fn time_prepare() {
        for _ in 0..3 {
            let t = std::time::Instant::now();
            let n = 200;
            for _ in 0..n {
                let s = Sandbox::prepare(r#"{"exec":0}"#, 512 * 1024).unwrap();
                drop(s);
            }
            let per = t.elapsed().as_secs_f64() * 1e6 / n as f64;
            let t = std::time::Instant::now();
            for _ in 0..n {
                let rt = Runtime::new().unwrap();
                let ctx = Context::full(&rt).unwrap();
                ctx.with(|ctx| {
                    let _: i32 = ctx.eval("1+1").unwrap();
                });
            }
            let bare = t.elapsed().as_secs_f64() * 1e6 / n as f64;
            let rt = Runtime::new().unwrap();
            let ctx = Context::full(&rt).unwrap();
            let t = std::time::Instant::now();
            ctx.with(|ctx| {
                for _ in 0..n {
                    let _: Function = ctx.eval_with_options(PRELUDE, prelude_options()).unwrap();
                }
            });
            let parse = t.elapsed().as_secs_f64() * 1e6 / n as f64;
            let bytes = super::super::bytecode::prelude(PRELUDE).expect("bytecode");
            let t = std::time::Instant::now();
            ctx.with(|ctx| {
                for _ in 0..n {
                    let _ = super::super::bytecode::run(&ctx, bytes).unwrap();
                }
            });
            eprintln!(
                "bytecode load {:.0} us ({} bytes)",
                t.elapsed().as_secs_f64() * 1e6 / n as f64,
                bytes.len()
            );
            eprintln!(
                "prepare {per:.0} us, bare runtime+context+eval {bare:.0} us, prelude parse {parse:.0} us"
            );
        }
    }
}

#[cfg(test)]
mod profile {
    use super::*;

    #[test]
    #[ignore]
    fn profile_prepare() {
        for _ in 0..2000 {
            drop(Sandbox::prepare(r#"{"exec":0}"#, 512 * 1024).unwrap());
        }
    }
}

#[cfg(test)]
mod loop_speed {
    use super::*;

    #[test]
    #[ignore]
    #[allow(clippy::print_stderr)] // a measurement: it prints its figures
    fn loop_speed() {
        let src = "(function(){ let s = 0; for (let i = 0; i < 1e6; i++) s += i; return s })()";
        let rt = Runtime::new().unwrap();
        let ctx = Context::full(&rt).unwrap();
        for _ in 0..3 {
            let t = std::time::Instant::now();
            ctx.with(|ctx| {
                let _: f64 = ctx.eval(src).unwrap();
            });
            eprintln!("plain runtime: {:?}", t.elapsed());
        }
        let s = Sandbox::prepare("{}", 512 * 1024).unwrap();
        for _ in 0..3 {
            let t = std::time::Instant::now();
            s.context.with(|ctx| {
                let _: f64 = ctx.eval(src).unwrap();
            });
            eprintln!("sandbox: {:?}", t.elapsed());
        }
    }
}

#[cfg(test)]
mod footprint {
    use super::*;

    fn rss_kb() -> usize {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// Memory of a live realm: bare QuickJS runtime + full context, and a
    /// prepared (hardened) sandbox. `cargo test --release -- --ignored footprint`
    #[test]
    #[ignore]
    #[allow(clippy::print_stderr)] // a measurement: it prints its figures
    fn footprint() {
        let n = 200;
        let before = rss_kb();
        let bare: Vec<(Runtime, Context)> = (0..n)
            .map(|_| {
                let rt = Runtime::new().unwrap();
                let ctx = Context::full(&rt).unwrap();
                (rt, ctx)
            })
            .collect();
        let bare_kb = (rss_kb() - before) / n;
        drop(bare);
        let before = rss_kb();
        let prepared: Vec<Sandbox> = (0..n)
            .map(|_| Sandbox::prepare(r#"{"exec":0}"#, 512 * 1024).unwrap())
            .collect();
        let prepared_kb = (rss_kb().saturating_sub(before)) / n;
        let counted = prepared[0].wires.peak() / 1024;
        drop(prepared);
        eprintln!(
            "per realm: bare runtime+full context {bare_kb} KB RSS; prepared sandbox {prepared_kb} KB RSS ({counted} KB counted by the allocator)"
        );
    }
}
