//! `ScriptHarness`, the exported class.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use napi::bindgen_prelude::FromNapiValue;
use napi::bindgen_prelude::{
    Array, FnArgs, Function, FunctionCallContext, JsObjectValue, Object, ObjectRef, PromiseRaw,
    This, Unknown,
};
use napi::threadsafe_function::ThreadsafeCallContext;
use napi::{Env, Error, JsValue, Result, Status, ValueType};
use napi_derive::napi;

use script_harness_core::compile::{ValidationReport, validate};
use script_harness_core::errors::Phase;
use script_harness_core::sandbox::gate::CallPhase;
use script_harness_core::text::well_formed_json;
use script_harness_core::{
    CallToken, Engine, EngineConfig, ErrorCode, HarnessError, HarnessMode, Language, RunHandle,
    ScriptError, ScriptResult, Submission, ToolOutcome,
};

use crate::contain::contained;
use crate::dry_run::{DryRun, not_run};
use crate::host::{Batch, DispatchFn, KeepAlive, NapiHost};
use crate::options::{HarnessData, RunData};

const BRIDGE: &str = include_str!("bridge.js");

/// Pending runs: how to cancel each, and the engine it keeps alive until
/// its result is delivered (the harness object itself may be collected).
/// `bridge.processTurn(harness, format, response, options, mode, maxReturnBytes)`.
type ProcessTurnFn<'env> = Function<
    'env,
    FnArgs<(
        This<'env>,
        Unknown<'env>,
        Unknown<'env>,
        Option<Unknown<'env>>,
        &'env str,
        f64,
    )>,
    Object<'env>,
>;

/// `bridge.createStream(harness, format, options, mode, maxReturnBytes)`.
type StreamFn<'env> = Function<
    'env,
    FnArgs<(
        This<'env>,
        Unknown<'env>,
        Option<Unknown<'env>>,
        &'env str,
        f64,
    )>,
    Object<'env>,
>;

type Runs = Arc<Mutex<HashMap<u64, (RunHandle, Arc<Engine>)>>>;

/// Throw `TypeError: <field>: <message>` for bad options, `Error` for misuse.
fn misuse(env: &Env, e: HarnessError) -> Error {
    match e {
        HarnessError::InvalidOption { .. } => {
            throw_type_error(env, e.to_string(), "ERR_INVALID_ARG_VALUE")
        }
        other => Error::new(Status::GenericFailure, other.to_string()),
    }
}

/// A string argument, or the message of the `TypeError` that names it.
fn string_arg(env: &Env, value: Unknown, name: &str) -> std::result::Result<String, String> {
    let kind = value.get_type().map_err(|e| format!("{name}: {e}"))?;
    if kind != ValueType::String {
        let got = match kind {
            ValueType::Undefined => "undefined",
            ValueType::Null => "null",
            ValueType::Boolean => "a boolean",
            ValueType::Number => "a number",
            ValueType::BigInt => "a bigint",
            ValueType::Symbol => "a symbol",
            ValueType::Function => "a function",
            _ => "an object",
        };
        return Err(format!("{name}: must be a string, got {got}"));
    }
    // SAFETY: `value` is a live string value of this env's current scope.
    unsafe { String::from_napi_value(env.raw(), value.raw()) }.map_err(|e| format!("{name}: {e}"))
}

/// `options[field]` when it is one of `allowed`; `None` when `options` or
/// the field is absent; a thrown `TypeError` naming the field otherwise.
fn choice(
    env: &Env,
    options: Option<Unknown>,
    field: &str,
    allowed: &[&'static str],
) -> Result<Option<&'static str>> {
    let Some(options) = options else {
        return Ok(None);
    };
    match options.get_type()? {
        ValueType::Undefined | ValueType::Null => return Ok(None),
        ValueType::Object => {}
        _ => {
            return Err(throw_type_error(
                env,
                "options: must be an object".to_owned(),
                "ERR_INVALID_ARG_TYPE",
            ));
        }
    }
    // SAFETY: `options` is an object value of this call's scope.
    let object: Object = unsafe { options.cast()? };
    let value: Option<Unknown> = object.get(field)?;
    let Some(value) = value.filter(|v| !matches!(v.get_type(), Ok(ValueType::Undefined))) else {
        return Ok(None);
    };
    let given = string_arg(env, value, field).ok();
    match allowed.iter().find(|a| given.as_deref() == Some(**a)) {
        Some(a) => Ok(Some(a)),
        None => {
            let list = allowed
                .iter()
                .map(|a| format!("'{a}'"))
                .collect::<Vec<_>>()
                .join(", ");
            Err(throw_type_error(
                env,
                format!("options.{field}: must be one of {list}"),
                "ERR_INVALID_ARG_VALUE",
            ))
        }
    }
}

/// Throw `TypeError: <message>` with `code`, and return the error that says
/// one is pending.
fn throw_type_error(env: &Env, message: String, code: &str) -> Error {
    // A NUL in a quoted name would cut the message short in C.
    let message = message.replace('\0', "\\u0000");
    let _ = env.throw_type_error(&message, Some(code));
    Error::new(Status::PendingException, message)
}

fn to_napi(e: serde_json::Error) -> Error {
    Error::new(Status::GenericFailure, format!("option data: {e}"))
}

/// Runs scripts written by a model in hardened QuickJS sandboxes on their own
/// threads. Tools are your JavaScript functions; scripts call them as
/// `await tools.<name>(args)`.
#[napi]
pub struct ScriptHarness {
    engine: Arc<Engine>,
    bridge: ObjectRef<false>,
    keep_alive: Arc<KeepAlive>,
    runs: Runs,
    mode: HarnessMode,
}

#[napi]
impl ScriptHarness {
    fn mode_str(&self) -> &'static str {
        match self.mode {
            HarnessMode::Enabled => "enabled",
            HarnessMode::DryRun => "dry-run",
            HarnessMode::Disabled => "disabled",
        }
    }

    fn report(&self, source: &str) -> ValidationReport {
        validate(
            source,
            Language::Ts,
            self.engine.default_limits().max_source_bytes,
            &self.engine.shared().registry,
        )
    }

    /// Start a harness: validates the options (a `TypeError` names the bad
    /// field) and starts `workers` sandbox threads.
    #[napi(
        constructor,
        catch_unwind,
        ts_args_type = "options: ScriptHarnessOptions"
    )]
    pub fn new(env: Env, options: Unknown) -> Result<Self> {
        let glue: Object = env.run_script(BRIDGE)?;
        let normalize: Function<Unknown, Object> = glue.get_named_property("normalizeOptions")?;
        let parts: Object = normalize.call(options)?;
        let json: String = parts.get_named_property("json")?;
        let mut data: HarnessData =
            serde_json::from_str(&well_formed_json(&json)).map_err(to_napi)?;
        let limits = data.limits().map_err(|e| misuse(&env, e))?;
        let tools = data.take_tools();

        // The bridge reaches the engine weakly: a harness object that is
        // collected without close() still drops its engine and its threads.
        let engine_slot: Arc<OnceLock<Weak<Engine>>> = Arc::new(OnceLock::new());
        let runs: Runs = Arc::new(Mutex::new(HashMap::new()));
        let native = native_functions(&env, &engine_slot, &runs)?;
        let create: Function<FnArgs<(Object, Object)>, Object> =
            glue.get_named_property("createBridge")?;
        let bridge: Object = create.call((parts, native).into())?;

        let keep_alive = Arc::new(KeepAlive::default());
        let dispatch: Function<String, ()> = bridge.get_named_property("dispatch")?;
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

        let engine = Engine::new(EngineConfig {
            tools,
            limits,
            workers: data.workers.unwrap_or(0),
            isolation: data.isolation(),
            seed: data.context.take().unwrap_or_default(),
            host: Arc::new(NapiHost {
                dispatch,
                events: data.events,
            }),
        })
        .map_err(|e| misuse(&env, e))?;
        let engine = Arc::new(engine);
        let _ = engine_slot.set(Arc::downgrade(&engine));
        Ok(ScriptHarness {
            engine,
            bridge: bridge.create_ref()?,
            keep_alive,
            runs,
            mode: data.mode.unwrap_or_default(),
        })
    }

    /// Run one script body (TypeScript or JavaScript, no surrounding tags).
    /// Resolves with a `ScriptResult` whether the script succeeded or not;
    /// rejects only for misuse (closed harness, bad options).
    #[napi(
        catch_unwind,
        ts_args_type = "source: string, options?: RunOptions",
        ts_return_type = "Promise<ScriptResult>"
    )]
    pub fn run<'env>(
        &self,
        env: &'env Env,
        source: Unknown<'env>,
        options: Option<Unknown<'env>>,
    ) -> Result<Object<'env>> {
        let bridge = self.bridge.get_value(env)?;
        // Misuse rejects, as the docs promise, with a TypeError that names
        // the argument (not napi's "Failed to convert").
        let source = match string_arg(env, source, "source") {
            Ok(s) => s,
            Err(message) => {
                let reject: Function<FnArgs<(&str, String)>, Object> =
                    bridge.get_named_property("reject")?;
                return reject.call(("type", message).into());
            }
        };
        match catch_unwind(AssertUnwindSafe(|| {
            self.start_run(env, &bridge, source, options)
        })) {
            Ok(started) => started,
            // A bug in starting the run: it still resolves, as a result.
            Err(_) => {
                let error = ScriptError::new(
                    ErrorCode::HarnessInternalError,
                    Phase::Parsing,
                    "the harness failed internally while starting this script (a bug: please report it)",
                );
                let result =
                    ScriptResult::failed_before_start(self.engine.fresh_script_id(), error);
                let resolved: Function<String, Object> = bridge.get_named_property("resolved")?;
                resolved.call(result.to_json())
            }
        }
    }

    fn start_run<'env>(
        &self,
        env: &'env Env,
        bridge: &Object<'env>,
        source: String,
        options: Option<Unknown<'env>>,
    ) -> Result<Object<'env>> {
        let reject = |e: HarnessError| -> Result<Object<'env>> {
            let kind = if matches!(e, HarnessError::InvalidOption { .. }) {
                "type"
            } else {
                "error"
            };
            let reject: Function<FnArgs<(&str, String)>, Object> =
                bridge.get_named_property("reject")?;
            reject.call((kind, e.to_string()).into())
        };
        if self.engine.is_closed() {
            return reject(HarnessError::Closed);
        }
        let (data, signal) = match options {
            None => (RunData::default(), None),
            Some(o) => {
                let prepare: Function<Unknown, Option<Object>> =
                    bridge.get_named_property("prepareRun")?;
                match prepare.call(o)? {
                    None => (RunData::default(), None),
                    Some(parts) => {
                        if let Some(error) = parts.get::<Unknown>("error")? {
                            let reject_with: Function<Unknown, Object> =
                                bridge.get_named_property("rejectWith")?;
                            return reject_with.call(error);
                        }
                        let json: String = parts.get_named_property("json")?;
                        // Already aborted: nothing runs (a script could
                        // otherwise finish before the abort is seen).
                        if parts.get::<bool>("aborted")?.unwrap_or(false) {
                            let reason: String = parts.get("reason")?.unwrap_or_default();
                            let message = if reason.is_empty() {
                                "the script was cancelled before it started".to_owned()
                            } else {
                                format!("the script was cancelled before it started: {reason}")
                            };
                            let cancelled = ScriptError::new(
                                ErrorCode::ScriptCancelledError,
                                Phase::Executing,
                                message,
                            );
                            let result = ScriptResult::failed_before_start(
                                self.engine.fresh_script_id(),
                                cancelled,
                            );
                            let resolved: Function<String, Object> =
                                bridge.get_named_property("resolved")?;
                            return resolved.call(result.to_json());
                        }
                        let signal: Option<Unknown> = parts.get("signal")?;
                        (
                            serde_json::from_str::<RunData>(&well_formed_json(&json))
                                .map_err(to_napi)?,
                            signal,
                        )
                    }
                }
            }
        };
        let limits = match &data.limits {
            Some(patch) => match self.engine.default_limits().merged(patch, "options.limits") {
                Ok(l) => l,
                Err(e) => return reject(e),
            },
            None => self.engine.default_limits(),
        };
        let mode = data.mode.unwrap_or(self.mode);
        if mode == HarnessMode::DryRun {
            let task = DryRun {
                source,
                shared: self.engine.shared().clone(),
                max_source_bytes: limits.max_source_bytes,
                result_for: Some(self.engine.fresh_script_id()),
            };
            let parsed: Function<PromiseRaw<String>, Object> =
                bridge.get_named_property("parsed")?;
            return parsed.call(env.spawn(task)?.promise_object());
        }
        if mode == HarnessMode::Disabled {
            let resolved: Function<String, Object> = bridge.get_named_property("resolved")?;
            let result = not_run(self.engine.fresh_script_id(), mode, None);
            return resolved.call(result.to_json());
        }
        let handle = match self.engine.submit(Submission {
            source,
            language: Language::Ts,
            limits,
            seed: data.context.unwrap_or_default(),
        }) {
            Ok(h) => h,
            Err(e) => return reject(e),
        };
        let run = handle.run;
        if let Ok(mut map) = self.runs.lock() {
            map.insert(run, (handle, self.engine.clone()));
        }
        self.keep_alive.run_started(env);
        let begin: Function<FnArgs<(f64, Option<Unknown>)>, Object> =
            bridge.get_named_property("begin")?;
        begin.call((run as f64, signal).into())
    }

    /// Validate one script body without running it (what dry-run does):
    /// syntax, size, banned constructs, and the tools it references that are
    /// not registered.
    #[napi(
        catch_unwind,
        ts_args_type = "source: string",
        ts_return_type = "ValidationReport"
    )]
    pub fn validate<'env>(&self, env: &'env Env, source: Unknown<'env>) -> Result<Unknown<'env>> {
        let source = string_arg(env, source, "source")
            .map_err(|m| throw_type_error(env, m, "ERR_INVALID_ARG_TYPE"))?;
        let report = self.report(&source);
        parse_json(env, serde_json::to_string(&report).map_err(to_napi)?)
    }

    /// TypeScript declarations of `tools` and `context` as a script sees
    /// them, generated from the tool definitions, for a model's system prompt.
    ///
    /// `options.context`: `'full'` (the default) declares all of `context`,
    /// `'brief'` leaves out its `limits` and `tools`, `'none'` leaves it out.
    #[napi(
        catch_unwind,
        ts_args_type = "options?: { context?: 'full' | 'brief' | 'none' }"
    )]
    pub fn describe_tools(&self, env: &Env, options: Option<Unknown>) -> Result<String> {
        use script_harness_core::describe::{ContextDeclaration, describe_tools_with};
        let context = match choice(env, options, "context", &["full", "brief", "none"])? {
            Some("brief") => ContextDeclaration::Brief,
            Some("none") => ContextDeclaration::None,
            _ => ContextDeclaration::Full,
        };
        Ok(describe_tools_with(&self.engine.shared().registry, context))
    }

    /// The text that teaches a model to use this harness, for its system
    /// prompt: how to hand a script over, the sandbox's rules and limits,
    /// and the declarations of `tools` (and `context`).
    ///
    /// `options.delivery`: `'tag'` (`<tool-calls>`, the default), `'fence'`
    /// (a ```` ```ts tool-calls ```` block) or `'argument'` (the `code`
    /// argument of a tool, as an MCP server's `execute`). `options.context`: as
    /// for `describeTools`, `'brief'` by default.
    #[napi(
        catch_unwind,
        ts_args_type = "options?: { delivery?: 'tag' | 'fence' | 'argument'; context?: 'full' | 'brief' | 'none' }"
    )]
    pub fn instructions(&self, env: &Env, options: Option<Unknown>) -> Result<String> {
        use script_harness_core::describe::ContextDeclaration;
        use script_harness_core::instructions::{Delivery, instructions};
        let delivery = match choice(env, options, "delivery", &["tag", "fence", "argument"])? {
            Some("fence") => Delivery::Fence,
            Some("argument") => Delivery::Argument,
            _ => Delivery::Tag,
        };
        let context = match choice(env, options, "context", &["full", "brief", "none"])? {
            Some("full") => ContextDeclaration::Full,
            Some("none") => ContextDeclaration::None,
            _ => ContextDeclaration::Brief,
        };
        let limits = self.engine.default_limits();
        Ok(instructions(
            &self.engine.shared().registry,
            &limits,
            delivery,
            context,
        ))
    }

    /// Take one complete assistant turn in the native shape of `format`, find
    /// every script in it, run them in order, and return the ordered history
    /// items plus the provider-native input that reports the results back.
    #[napi(
        catch_unwind,
        ts_generic_types = "F extends ApiFormat",
        ts_args_type = "format: F, response: unknown, options?: TurnOptions",
        ts_return_type = "Promise<ProcessedTurn<F>>"
    )]
    pub fn process_response<'env>(
        &self,
        env: &'env Env,
        this: This<'env>,
        format: Unknown<'env>,
        response: Unknown<'env>,
        options: Option<Unknown<'env>>,
    ) -> Result<Object<'env>> {
        let bridge = self.bridge.get_value(env)?;
        let process: ProcessTurnFn = bridge.get_named_property("processTurn")?;
        let max_return = self.engine.default_limits().max_return_bytes as f64;
        process.call((this, format, response, options, self.mode_str(), max_return).into())
    }

    /// Incremental form of `processResponse` for streamed turns: `push` each
    /// provider stream event as it arrives; a script starts the moment its
    /// closing tag arrives; `end()` resolves to what `processResponse` gives
    /// on the assembled turn.
    #[napi(
        catch_unwind,
        ts_generic_types = "F extends ApiFormat",
        ts_args_type = "format: F, options?: TurnOptions",
        ts_return_type = "ResponseStream<F>"
    )]
    pub fn stream<'env>(
        &self,
        env: &'env Env,
        this: This<'env>,
        format: Unknown<'env>,
        options: Option<Unknown<'env>>,
    ) -> Result<Object<'env>> {
        let bridge = self.bridge.get_value(env)?;
        let create: StreamFn = bridge.get_named_property("createStream")?;
        let max_return = self.engine.default_limits().max_return_bytes as f64;
        create.call((this, format, options, self.mode_str(), max_return).into())
    }

    /// Counters for operators and leak checks: scripts active and finished,
    /// tool calls pending, sandbox heap bytes, worker restarts.
    #[napi(catch_unwind, ts_return_type = "HarnessStats")]
    pub fn stats<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        let bridge = self.bridge.get_value(env)?;
        let json = serde_json::to_string(&self.engine.stats()).map_err(to_napi)?;
        let stats: Function<String, Unknown> = bridge.get_named_property("stats")?;
        stats.call(json)
    }

    /// Abort running scripts (each settles with `ScriptCancelledError`),
    /// refuse new work and let the sandbox threads end. Idempotent.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        self.engine.close();
        let bridge = self.bridge.get_value(env)?;
        let settled: Function<(), Object> = bridge.get_named_property("settled")?;
        settled.call(())
    }
}

fn parse_json<'env>(env: &'env Env, json: String) -> Result<Unknown<'env>> {
    let global = env.get_global()?;
    let json_object: Object = global.get_named_property("JSON")?;
    let parse: Function<String, Unknown> = json_object.get_named_property("parse")?;
    parse.call(json)
}

/// Whether `schemaJson` (a JSON Schema as JSON text) is one the harness
/// accepts as a tool's `parameters` or `returns`: `null` when it is,
/// otherwise why not. `mcpTools` uses it to leave out one bad tool rather
/// than fail the harness.
#[napi(catch_unwind, js_name = "checkToolSchema")]
pub fn check_tool_schema(schema_json: String) -> Option<String> {
    let schema: serde_json::Value = match serde_json::from_str(&schema_json) {
        Ok(v) => v,
        Err(e) => return Some(format!("is not JSON: {e}")),
    };
    script_harness_core::tools::check_schema(&schema)
}

/// Split text into ordered text, script and problem segments (both the
/// `<tool-calls>` tag and the ```` ```ts tool-calls ```` fence). Offsets are
/// UTF-16 positions in `text`; the segments cover it exactly.
#[napi(
    catch_unwind,
    js_name = "detectScripts",
    ts_args_type = "text: string",
    ts_return_type = "Segment[]"
)]
pub fn detect_scripts<'env>(env: &'env Env, text: Unknown<'env>) -> Result<Array<'env>> {
    let text = string_arg(env, text, "text")
        .map_err(|m| throw_type_error(env, m, "ERR_INVALID_ARG_TYPE"))?;
    use script_harness_core::detect::{Form, Segment, detect};
    let segments = detect(&text);
    // Built directly rather than through JSON: a 1 MB text segment would be
    // escaped, copied and parsed again.
    let mut out = env.create_array(segments.len() as u32)?;
    for (i, segment) in segments.iter().enumerate() {
        let mut obj = Object::new(env)?;
        match segment {
            Segment::Text { text, start, end } => {
                obj.set("type", "text")?;
                obj.set("text", text.as_str())?;
                obj.set("start", *start as f64)?;
                obj.set("end", *end as f64)?;
            }
            Segment::Script {
                source,
                language,
                start,
                end,
                attributes,
                form,
            } => {
                obj.set("type", "script")?;
                obj.set("source", source.as_str())?;
                obj.set("language", language.as_str())?;
                obj.set("start", *start as f64)?;
                obj.set("end", *end as f64)?;
                let mut attrs = Object::new(env)?;
                for (k, v) in attributes {
                    attrs.set(k.as_str(), v.as_str())?;
                }
                obj.set("attributes", attrs)?;
                obj.set("form", if *form == Form::Tag { "tag" } else { "fence" })?;
            }
            Segment::Problem {
                kind,
                text,
                start,
                end,
            } => {
                obj.set("type", "problem")?;
                obj.set("kind", kind.as_str())?;
                obj.set("text", text.as_str())?;
                obj.set("start", *start as f64)?;
                obj.set("end", *end as f64)?;
            }
        }
        out.set(i as u32, obj)?;
    }
    Ok(out)
}

/// The code `reply` takes for a call the bridge did not start (its script
/// was no longer live when the call arrived).
const NOT_STARTED: &str = "NotStarted";

/// The `(run, worker, script, call)` a native function's first four
/// arguments name.
fn token_arg(ctx: &FunctionCallContext) -> Result<CallToken> {
    Ok(CallToken {
        run: ctx.get::<f64>(0)? as u64,
        worker: ctx.get::<u32>(1)?,
        script: ctx.get::<f64>(2)? as u64,
        call: ctx.get::<u32>(3)?,
    })
}

/// The native functions the bridge calls (a call named by its token
/// `run, worker, script, call`): `reply(...token, errorCode?, payload?)`,
/// `approval(...token, pending)`, `admit(...token, phase)`,
/// `cancel(run)`, `scriptId()`, `checkLimits(json)`, `planTurn`,
/// `finishTurn` and the stream detectors. Every body runs under
/// `contained`, so no panic reaches Node.
fn native_functions<'env>(
    env: &'env Env,
    engine: &Arc<OnceLock<Weak<Engine>>>,
    runs: &Runs,
) -> Result<Object<'env>> {
    let mut native = Object::new(env)?;
    let slot = engine.clone();
    let reply: Function<(), ()> =
        env.create_function_from_closure("reply", move |ctx: FunctionCallContext| -> Result<()> {
            contained("native.reply", || {
                let token = token_arg(&ctx)?;
                let code: Option<String> = ctx.get(4)?;
                let payload: Option<String> = ctx.get(5)?;
                let details: Option<String> = ctx.get::<Option<String>>(6).ok().flatten();
                let outcome = match code {
                    Some(code) if code == NOT_STARTED => ToolOutcome::NotStarted,
                    None => ToolOutcome::Ok(payload),
                    Some(code) => ToolOutcome::Err {
                        code: ErrorCode::parse(&code).unwrap_or(ErrorCode::ToolExecutionError),
                        message: payload.unwrap_or_default(),
                        details,
                    },
                };
                if let Some(engine) = slot.get().and_then(Weak::upgrade) {
                    engine.settle(token, outcome);
                }
                Ok(())
            })
        })?;
    native.set("reply", reply)?;
    let slot = engine.clone();
    let approval: Function<(), ()> = env.create_function_from_closure(
        "approval",
        move |ctx: FunctionCallContext| -> Result<()> {
            contained("native.approval", || {
                let token = token_arg(&ctx)?;
                let pending: bool = ctx.get(4)?;
                if let Some(engine) = slot.get().and_then(Weak::upgrade) {
                    engine.approval_pending(token, pending);
                }
                Ok(())
            })
        },
    )?;
    native.set("approval", approval)?;
    let slot = engine.clone();
    let admit: Function<(), bool> = env.create_function_from_closure(
        "admit",
        move |ctx: FunctionCallContext| -> Result<bool> {
            contained("native.admit", || {
                let token = token_arg(&ctx)?;
                let Some(phase) = CallPhase::from_index(ctx.get::<u32>(4)?) else {
                    return Ok(false);
                };
                Ok(slot
                    .get()
                    .and_then(Weak::upgrade)
                    .is_some_and(|engine| engine.admit(token, phase)))
            })
        },
    )?;
    native.set("admit", admit)?;
    let slot = engine.clone();
    let script_id: Function<(), String> = env.create_function_from_closure(
        "scriptId",
        move |_ctx: FunctionCallContext| -> Result<String> {
            contained("native.scriptId", || {
                let engine = slot.get().and_then(Weak::upgrade);
                Ok(engine.map(|e| e.fresh_script_id()).unwrap_or_default())
            })
        },
    )?;
    native.set("scriptId", script_id)?;
    let slot = engine.clone();
    let check_limits: Function<(), String> = env.create_function_from_closure(
        "checkLimits",
        move |ctx: FunctionCallContext| -> Result<String> {
            contained("native.checkLimits", || {
                let json: String = ctx.get(0)?;
                let patch: serde_json::Value = serde_json::from_str(&json).map_err(to_napi)?;
                let Some(engine) = slot.get().and_then(Weak::upgrade) else {
                    return Ok(String::new());
                };
                Ok(
                    match engine.default_limits().merged(&patch, "options.limits") {
                        Ok(_) => String::new(),
                        Err(e) => e.to_string(),
                    },
                )
            })
        },
    )?;
    native.set("checkLimits", check_limits)?;
    let slot = engine.clone();
    let validate_later: Function<(), PromiseRaw<String>> = env.create_function_from_closure(
        "validateLater",
        move |ctx: FunctionCallContext| -> Result<PromiseRaw<String>> {
            contained("native.validateLater", || {
                let source: String = ctx.get(0)?;
                let engine = slot
                    .get()
                    .and_then(Weak::upgrade)
                    .ok_or_else(|| Error::new(Status::GenericFailure, "the harness is gone"))?;
                let task = DryRun {
                    source,
                    shared: engine.shared().clone(),
                    max_source_bytes: engine.default_limits().max_source_bytes,
                    result_for: None,
                };
                Ok(ctx.env.spawn(task)?.promise_object())
            })
        },
    )?;
    native.set("validateLater", validate_later)?;
    let runs = runs.clone();
    let cancel: Function<(), ()> = env.create_function_from_closure(
        "cancel",
        move |ctx: FunctionCallContext| -> Result<()> {
            contained("native.cancel", || {
                let run = ctx.get::<f64>(0)? as u64;
                // The abort reason as text ("" when none was given).
                let reason = ctx.get::<Option<String>>(1).ok().flatten();
                if let Some(handle) = runs
                    .lock()
                    .ok()
                    .and_then(|m| m.get(&run).map(|(h, _)| h.clone()))
                {
                    match reason {
                        Some(reason) => handle.cancel_because(reason),
                        None => handle.cancel(),
                    }
                }
                Ok(())
            })
        },
    )?;
    native.set("cancel", cancel)?;
    turn_functions(env, &mut native)?;
    Ok(native)
}

/// The native functions of turns: `planTurn` and `finishTurn` (provider
/// shapes, in Rust) and the incremental detectors of streams.
fn turn_functions(env: &Env, native: &mut Object) -> Result<()> {
    let plan: Function<(), String> = env.create_function_from_closure(
        "planTurn",
        |ctx: FunctionCallContext| -> Result<String> {
            contained("native.planTurn", || {
                use script_harness_core::turns::{ApiFormat, plan_json};
                let format: String = ctx.get(0)?;
                let response: String = ctx.get(1)?;
                let answer = match (
                    ApiFormat::parse(&format),
                    serde_json::from_str::<serde_json::Value>(&well_formed_json(&response)),
                ) {
                    (Some(f), Ok(v)) => {
                        plan_json(f, &v).map_err(|e| serde_json::json!({ "error": e }))
                    }
                    _ => Err(serde_json::json!({ "error": "response: not JSON" })),
                };
                Ok(answer.unwrap_or_else(|e| e).to_string())
            })
        },
    )?;
    native.set("planTurn", plan)?;
    let finish: Function<(), String> = env.create_function_from_closure(
        "finishTurn",
        |ctx: FunctionCallContext| -> Result<String> {
            contained("native.finishTurn", || {
                use script_harness_core::turns::{ApiFormat, finish_json};
                let format =
                    ApiFormat::parse(&ctx.get::<String>(0)?).unwrap_or(ApiFormat::Responses);
                let plan: Vec<serde_json::Value> =
                    serde_json::from_str(&well_formed_json(&ctx.get::<String>(1)?))
                        .map_err(to_napi)?;
                let results: Vec<serde_json::Value> =
                    serde_json::from_str(&well_formed_json(&ctx.get::<String>(2)?))
                        .map_err(to_napi)?;
                let dry_run: bool = ctx.get(3)?;
                let max_return: f64 = ctx.get(4)?;
                Ok(finish_json(format, &plan, &results, dry_run, max_return as usize).to_string())
            })
        },
    )?;
    native.set("finishTurn", finish)?;
    // Incremental detectors for streams, by id; only the main thread
    // touches them.
    let detectors: std::rc::Rc<
        std::cell::RefCell<(u32, HashMap<u32, script_harness_core::detect::Detector>)>,
    > = Default::default();
    let d = detectors.clone();
    let open: Function<(), u32> = env.create_function_from_closure(
        "detectorOpen",
        move |_ctx: FunctionCallContext| -> Result<u32> {
            contained("native.detectorOpen", || {
                let mut guard = d.borrow_mut();
                guard.0 += 1;
                let id = guard.0;
                guard
                    .1
                    .insert(id, script_harness_core::detect::Detector::new());
                Ok(id)
            })
        },
    )?;
    native.set("detectorOpen", open)?;
    let d = detectors.clone();
    let push: Function<(), String> = env.create_function_from_closure(
        "detectorPush",
        move |ctx: FunctionCallContext| -> Result<String> {
            contained("native.detectorPush", || {
                let id: u32 = ctx.get(0)?;
                let text: String = ctx.get(1)?;
                let segments = d
                    .borrow_mut()
                    .1
                    .get_mut(&id)
                    .map(|det| det.push(text.as_bytes()))
                    .unwrap_or_default();
                serde_json::to_string(&segments).map_err(to_napi)
            })
        },
    )?;
    native.set("detectorPush", push)?;
    let d = detectors;
    let close: Function<(), String> = env.create_function_from_closure(
        "detectorFinish",
        move |ctx: FunctionCallContext| -> Result<String> {
            contained("native.detectorFinish", || {
                let id: u32 = ctx.get(0)?;
                let segments = d
                    .borrow_mut()
                    .1
                    .remove(&id)
                    .map(|mut det| det.finish())
                    .unwrap_or_default();
                serde_json::to_string(&segments).map_err(to_napi)
            })
        },
    )?;
    native.set("detectorFinish", close)?;
    Ok(())
}
