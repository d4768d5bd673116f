//! `NativeHarness`: one engine, as the package's TypeScript layer
//! (`src/js/harness.ts`) drives it. Not part of the public API: users get
//! `ScriptHarness`, which wraps it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::{AsyncTask, Function};
use napi::threadsafe_function::ThreadsafeCallContext;
use napi::{Env, Error, Result, Status};
use napi_derive::napi;

use script_harness_core::compile::validate;
use script_harness_core::errors::Phase;
use script_harness_core::replay::{ClockRun, Determinism, MAX_CLOCK_RUNS};
use script_harness_core::{
    Engine, EngineConfig, ErrorCode, HarnessError, HarnessMode, Language, ScriptError,
    ScriptResult, Submission,
};

use crate::contain::contained;
use crate::dry_run::{DryRun, not_run};
use crate::hold::{DEFAULT_HOLD_US, Hold};
use crate::host::{Batch, DispatchFn, KeepAlive, NapiHost};
use crate::link::{NativeLink, Runs};
use crate::options::{
    HarnessConfig, ReplayConfig, RunConfig, ToolConfig, merged_limits, mode_name, parse_mode, seed,
    tool_specs,
};

/// Throw `TypeError: <field>: <message>` for a bad option, `Error` for
/// other misuse (a closed harness).
pub fn misuse(env: &Env, e: HarnessError) -> Error {
    match e {
        HarnessError::InvalidOption { .. } => {
            throw_type_error(env, e.to_string(), "ERR_INVALID_ARG_VALUE")
        }
        other => Error::new(Status::GenericFailure, other.to_string()),
    }
}

/// Throw `TypeError: <message>` with `code`, and return the error that says
/// one is pending.
pub fn throw_type_error(env: &Env, message: String, code: &str) -> Error {
    // A NUL in a quoted name would cut the message short in C.
    let message = message.replace('\0', "\\u0000");
    let _ = env.throw_type_error(&message, Some(code));
    Error::new(Status::PendingException, message)
}

/// The engine's counters.
#[napi(object)]
pub struct EngineCounters {
    pub workers: u32,
    pub active_scripts: u32,
    pub scripts_finished: f64,
    pub sandbox_heap_bytes: f64,
    pub worker_restarts: f64,
    pub threads_parked: f64,
    pub realms_built: f64,
    pub realms_reused: f64,
    /// Times the Node thread held for a script's next message
    /// (`holdEventLoopUs`), and how long it held in all, µs.
    pub event_loop_holds: f64,
    pub event_loop_held_us: f64,
}

/// One harness's engine: its sandbox threads, tools and limits.
#[napi]
pub struct NativeHarness {
    engine: Arc<Engine>,
    events: Arc<AtomicBool>,
    keep_alive: Arc<KeepAlive>,
    runs: Runs,
    mode: HarnessMode,
    hold: Arc<Hold>,
}

#[napi]
impl NativeHarness {
    /// Starts the engine's threads. `dispatch` receives the engine's
    /// messages (tool calls, aborts, events, results) in batches, as JSON
    /// text serialized on the sandbox threads. It is held weakly: it keeps
    /// Node alive only while runs are pending, and it must not hold this
    /// object (tool replies go through `link()`), or a harness dropped
    /// without `close()` would never be collected.
    #[napi(constructor, catch_unwind)]
    pub fn new(
        env: Env,
        mut config: HarnessConfig,
        dispatch: Function<String, ()>,
    ) -> Result<Self> {
        let limits = merged_limits(&Default::default(), config.limits.as_deref())
            .map_err(|e| misuse(&env, e))?;
        let tools = config.take_tools().map_err(|e| misuse(&env, e))?;
        let runs: Runs = Arc::new(Mutex::new(HashMap::new()));
        let events = Arc::new(AtomicBool::new(config.events));
        let keep_alive = Arc::new(KeepAlive::default());
        let hold = Arc::new(Hold::new(
            config.hold_event_loop_us.unwrap_or(DEFAULT_HOLD_US),
        ));
        let alive = keep_alive.clone();
        let runs_for_done = runs.clone();
        let dispatch: DispatchFn = dispatch
            .build_threadsafe_function::<Batch>()
            .callee_handled::<false>()
            .weak::<true>()
            .build_callback(move |ctx: ThreadsafeCallContext<Batch>| {
                let Batch { json, finished } = ctx.value;
                // The batch is delivered even if its bookkeeping fails.
                let _ = contained("dispatch", || {
                    // Only runs still pending count: a result is never
                    // counted twice, whoever reported it.
                    let ended = match runs_for_done.lock() {
                        Ok(mut map) => finished.iter().filter(|r| map.remove(r).is_some()).count(),
                        Err(_) => finished.len(),
                    };
                    alive.runs_finished(&ctx.env, ended);
                    Ok(())
                });
                Ok(json)
            })?;
        keep_alive.set_function(dispatch.raw());
        // The registry names a tool `tools[i]`: here it is an option.
        let as_option = |e: HarnessError| match e {
            HarnessError::InvalidOption { field, message } if field.starts_with("tools[") => {
                HarnessError::InvalidOption {
                    field: format!("options.{field}"),
                    message,
                }
            }
            other => other,
        };
        let engine = Engine::new(EngineConfig {
            tools,
            limits,
            workers: config.workers.unwrap_or(0) as usize,
            isolation: config.isolation(),
            seed: seed(config.context.take()),
            host: Arc::new(NapiHost {
                dispatch,
                events: events.clone(),
                hold: hold.clone(),
            }),
        })
        .map_err(|e| misuse(&env, as_option(e)))?;
        Ok(NativeHarness {
            engine: Arc::new(engine),
            events,
            keep_alive,
            runs,
            mode: parse_mode(config.mode.as_deref()),
            hold,
        })
    }

    /// The harness's mode: `'disabled'`, `'dry-run'` or `'enabled'`.
    #[napi(getter, ts_return_type = "'disabled' | 'dry-run' | 'enabled'")]
    pub fn mode(&self) -> &'static str {
        mode_name(self.mode)
    }

    /// The harness's `maxReturnBytes`: how much of a script's return value a
    /// turn's report shows.
    #[napi(getter)]
    pub fn max_return_bytes(&self) -> f64 {
        self.engine.default_limits().max_return_bytes as f64
    }

    /// Whether `close()` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.engine.is_closed()
    }

    /// From now on the engine builds events for every script (a run with
    /// its own `onEvent` started; the host drops what nobody listens to).
    #[napi]
    pub fn listen(&self) {
        self.events.store(true, Ordering::Relaxed);
    }

    /// Replaces the tools for scripts started from now on (see
    /// `ScriptHarness.setTools`). Throws a `TypeError` naming a bad tool
    /// (`options.tools[i]...`); nothing changes then.
    #[napi(catch_unwind)]
    pub fn set_tools(&self, env: Env, tools: Vec<ToolConfig>) -> Result<()> {
        let specs = tool_specs(tools).map_err(|e| misuse(&env, e))?;
        self.engine.set_tools(specs).map_err(|e| misuse(&env, e))
    }

    /// What tool replies, admissions and cancels go through. It reaches the
    /// engine weakly, and strongly only through runs still pending.
    #[napi]
    pub fn link(&self) -> NativeLink {
        NativeLink::new(
            Arc::downgrade(&self.engine),
            self.runs.clone(),
            self.hold.clone(),
        )
    }

    /// Submits a script; returns its run number, whose result arrives as a
    /// `done` message. Throws a `TypeError` naming a bad option, an `Error`
    /// when the harness is closed.
    #[napi(catch_unwind)]
    pub fn start(&self, env: Env, source: String, options: Option<RunConfig>) -> Result<f64> {
        if self.engine.is_closed() {
            return Err(misuse(&env, HarnessError::Closed));
        }
        let (limits, context, replay, script_id) = match options {
            Some(o) => (o.limits, o.context, o.replay, o.script_id),
            None => (None, None, None, None),
        };
        if let Some(id) = &script_id
            && (id.is_empty()
                || id.len() > 64
                || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            return Err(Error::new(
                Status::InvalidArg,
                "options.scriptId: not a script id",
            ));
        }
        let determinism = determinism(replay)
            .map_err(|why| Error::new(Status::InvalidArg, format!("options.replay: {why}")))?;
        let limits = merged_limits(&self.engine.default_limits(), limits.as_deref())
            .map_err(|e| misuse(&env, e))?;
        let mark = self.hold.mark();
        let handle = self
            .engine
            .submit(Submission {
                source,
                language: Language::Ts,
                limits,
                seed: seed(context),
                determinism,
                script_id,
            })
            .map_err(|e| misuse(&env, e))?;
        let run = handle.run;
        if let Ok(mut map) = self.runs.lock() {
            map.insert(run, (handle, self.engine.clone()));
        }
        self.keep_alive.run_started(&env);
        // A short script's result follows within microseconds: read it
        // awake rather than be woken for it (see `Hold` for when not).
        self.hold.hold(mark, crate::hold::HoldAfter::Start);
        Ok(run as f64)
    }

    /// The result (as JSON) of a script answered without running, and why:
    /// `'disabled'` (the mode), `'cancelled'` (its signal was aborted before
    /// it started; `detail` is the reason) or `'skipped'` (an earlier script
    /// of its turn failed, and the host asked to stop).
    #[napi(catch_unwind)]
    pub fn not_run(
        &self,
        #[napi(ts_arg_type = "'disabled' | 'cancelled' | 'skipped'")] why: String,
        detail: Option<String>,
    ) -> String {
        let script_id = self.engine.fresh_script_id();
        match why.as_str() {
            "disabled" => not_run(script_id, HarnessMode::Disabled, None).to_json(),
            "cancelled" => {
                let message = match detail.filter(|d| !d.is_empty()) {
                    Some(reason) => format!("the script was cancelled before it started: {reason}"),
                    None => "the script was cancelled before it started".to_owned(),
                };
                let error =
                    ScriptError::new(ErrorCode::ScriptCancelledError, Phase::Executing, message);
                ScriptResult::failed_before_start(script_id, error).to_json()
            }
            _ => {
                let error = ScriptError::new(
                    ErrorCode::ScriptCancelledError,
                    Phase::Executing,
                    "not run: an earlier script of this turn failed (stopAfterFailure)",
                );
                ScriptResult::failed_before_start(script_id, error).to_json()
            }
        }
    }

    /// The result (as JSON) of a script that failed to start because of a
    /// bug in the harness: it still resolves, as a result.
    #[napi(catch_unwind)]
    pub fn internal_failure(&self) -> String {
        let error = ScriptError::new(
            ErrorCode::HarnessInternalError,
            Phase::Parsing,
            "the harness failed internally while starting this script (a bug: please report it)",
        );
        ScriptResult::failed_before_start(self.engine.fresh_script_id(), error).to_json()
    }

    /// The `ValidationReport` of `source`, as JSON, on this thread.
    #[napi(catch_unwind)]
    pub fn validate(&self, source: String) -> Result<String> {
        let report = validate(
            &source,
            Language::Ts,
            self.engine.default_limits().max_source_bytes,
            &self.engine.shared().tools().registry,
        );
        serde_json::to_string(&report).map_err(json_error)
    }

    /// Validates `source` on the libuv thread pool; resolves with its
    /// dry-run `ScriptResult` as JSON when `asResult`, else with its
    /// `ValidationReport`. `limits`: the run's limits patch (JSON), already
    /// checked.
    #[napi(catch_unwind, ts_return_type = "Promise<string>")]
    pub fn dry_run(
        &self,
        source: String,
        as_result: bool,
        limits: Option<String>,
    ) -> AsyncTask<DryRun> {
        let limits = merged_limits(&self.engine.default_limits(), limits.as_deref())
            .unwrap_or_else(|_| self.engine.default_limits());
        AsyncTask::new(DryRun {
            source,
            shared: self.engine.shared().clone(),
            max_source_bytes: limits.max_source_bytes,
            result_for: as_result.then(|| self.engine.fresh_script_id()),
        })
    }

    /// Why a limits patch (JSON) is refused over this harness's limits
    /// (`options.limits.<field>: ...`), or `null`.
    #[napi(catch_unwind)]
    pub fn check_limits(&self, limits: String) -> Option<String> {
        merged_limits(&self.engine.default_limits(), Some(&limits))
            .err()
            .map(|e| e.to_string())
    }

    /// `describeTools`: `context` is `'full'`, `'brief'` or `'none'`;
    /// `names`, when given, chooses the tools (names or namespaces), and a
    /// name that chooses nothing is a `TypeError` naming it.
    #[napi(catch_unwind)]
    pub fn describe_tools(
        &self,
        env: Env,
        #[napi(ts_arg_type = "'full' | 'brief' | 'none'")] context: String,
        names: Option<Vec<String>>,
    ) -> Result<String> {
        use script_harness_core::describe::{describe_chosen_tools, describe_tools_with};
        let registry = &self.engine.shared().tools().registry;
        let context = context_declaration(&context);
        match names {
            None => Ok(describe_tools_with(registry, context)),
            Some(names) => describe_chosen_tools(registry, context, &names).map_err(|unknown| {
                let quoted: Vec<String> = unknown.iter().map(|n| format!("{n:?}")).collect();
                throw_type_error(
                    &env,
                    format!(
                        "options.tools: no tool or namespace is named {}",
                        quoted.join(", ")
                    ),
                    "ERR_INVALID_ARG_VALUE",
                )
            }),
        }
    }

    /// `instructions`: `delivery` is `'tag'`, `'fence'` or `'argument'`;
    /// `catalog` is `'declared'` or `'searched'`.
    #[napi(catch_unwind)]
    pub fn instructions(
        &self,
        #[napi(ts_arg_type = "'tag' | 'fence' | 'argument'")] delivery: String,
        #[napi(ts_arg_type = "'full' | 'brief' | 'none'")] context: String,
        #[napi(ts_arg_type = "'declared' | 'searched'")] catalog: String,
    ) -> String {
        use script_harness_core::instructions::{Catalog, Delivery, instructions};
        let delivery = match delivery.as_str() {
            "fence" => Delivery::Fence,
            "argument" => Delivery::Argument,
            _ => Delivery::Tag,
        };
        let catalog = match catalog.as_str() {
            "searched" => Catalog::Searched,
            _ => Catalog::Declared,
        };
        instructions(
            &self.engine.shared().tools().registry,
            &self.engine.default_limits(),
            delivery,
            context_declaration(&context),
            catalog,
        )
    }

    /// The engine's counters.
    #[napi(catch_unwind)]
    pub fn stats(&self) -> EngineCounters {
        let s = self.engine.stats();
        let (holds, held_us) = self.hold.cost();
        EngineCounters {
            workers: s.workers as u32,
            active_scripts: s.active_scripts as u32,
            scripts_finished: s.scripts_finished as f64,
            sandbox_heap_bytes: s.sandbox_heap_bytes as f64,
            worker_restarts: s.worker_restarts as f64,
            threads_parked: s.threads_parked as f64,
            realms_built: s.realms_built as f64,
            realms_reused: s.realms_reused as f64,
            event_loop_holds: holds as f64,
            event_loop_held_us: held_us,
        }
    }

    /// Cancels every running script (each settles with
    /// `ScriptCancelledError`), refuses new work and lets the threads end.
    /// Idempotent.
    #[napi(catch_unwind)]
    pub fn close(&self) {
        self.engine.close();
    }
}

fn context_declaration(context: &str) -> script_harness_core::describe::ContextDeclaration {
    use script_harness_core::describe::ContextDeclaration;
    match context {
        "brief" => ContextDeclaration::Brief,
        "none" => ContextDeclaration::None,
        _ => ContextDeclaration::Full,
    }
}

pub fn json_error(e: serde_json::Error) -> Error {
    Error::new(Status::GenericFailure, format!("JSON: {e}"))
}

/// A run's replay options, checked: the package's own code makes them
/// from a snapshot it verified, so a bad one is a bug, not a user's input.
fn determinism(replay: Option<ReplayConfig>) -> std::result::Result<Determinism, String> {
    let Some(r) = replay else {
        return Ok(Determinism::default());
    };
    let seed = match r.seed {
        Some(text) => Some(
            text.parse::<u64>()
                .map_err(|_| format!("seed {text:?} is not a 64-bit number"))?,
        ),
        None => None,
    };
    let mut clock = Vec::new();
    for pair in r.clock.unwrap_or_default() {
        match pair[..] {
            [ms, count]
                if ms.is_finite()
                    && count >= 1.0
                    && count <= u32::MAX as f64
                    && count.fract() == 0.0 =>
            {
                clock.push(ClockRun {
                    ms,
                    count: count as u32,
                })
            }
            _ => return Err("clock: each reading is [ms, count]".to_owned()),
        }
    }
    if clock.len() > MAX_CLOCK_RUNS {
        return Err(format!("clock: more than {MAX_CLOCK_RUNS} readings"));
    }
    Ok(Determinism {
        seed,
        clock,
        record: r.record,
        report_idle: r.report_idle.unwrap_or(false),
    })
}
