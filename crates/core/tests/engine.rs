//! The engine driven directly, with tools implemented in Rust.

use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use script_harness_core::replay::{ClockRun, Determinism};
use script_harness_core::{
    ApprovalRule, Engine, EngineConfig, ErrorCode, HarnessLimits, Language, Outgoing, ScriptResult,
    Submission, ToolOutcome, ToolSpec,
};
use serde_json::{Map, Value, json};

mod common;
use common::ChannelHost;

struct Harness {
    engine: Arc<Engine>,
    rx: Receiver<Vec<Outgoing>>,
    events: Vec<Value>,
    aborted: Vec<String>,
    /// `delivered` of each `Idle` message (runs that asked for them).
    idles: Vec<u32>,
}

fn tool(name: &str) -> ToolSpec {
    ToolSpec {
        name: name.into(),
        description: None,
        parameters: None,
        approval: ApprovalRule::Never,
        returns: None,
    }
}

fn harness_with(limits: HarnessLimits, workers: usize) -> Harness {
    let (tx, rx) = channel();
    let engine = Engine::new(EngineConfig {
        tools: ["echo", "fail", "slow", "mcp.github.searchIssues"]
            .into_iter()
            .map(tool)
            .collect(),
        limits,
        workers,
        seed: Map::new(),
        host: Arc::new(ChannelHost(Mutex::new(tx))),
        isolation: Default::default(),
    })
    .unwrap();
    Harness {
        engine: Arc::new(engine),
        rx,
        events: Vec::new(),
        aborted: Vec::new(),
        idles: Vec::new(),
    }
}

fn harness() -> Harness {
    harness_with(HarnessLimits::default(), 2)
}

impl Harness {
    fn run(&mut self, source: &str) -> ScriptResult {
        let limits = self.engine.default_limits();
        self.run_with(source, limits)
    }

    fn run_with(&mut self, source: &str, limits: HarnessLimits) -> ScriptResult {
        self.submit_and_wait(source, limits, Determinism::default())
    }

    fn run_determined(&mut self, source: &str, determinism: Determinism) -> ScriptResult {
        let limits = self.engine.default_limits();
        self.submit_and_wait(source, limits, determinism)
    }

    fn submit_and_wait(
        &mut self,
        source: &str,
        limits: HarnessLimits,
        determinism: Determinism,
    ) -> ScriptResult {
        let handle = self
            .engine
            .submit(Submission {
                source: source.into(),
                language: Language::Ts,
                limits,
                seed: Map::new(),
                determinism,
                script_id: None,
            })
            .unwrap();
        self.wait(handle.run)
    }

    fn wait(&mut self, run: u64) -> ScriptResult {
        let give_up = Instant::now() + Duration::from_secs(20);
        loop {
            let batch = self
                .rx
                .recv_timeout(give_up - Instant::now())
                .expect("a result in time");
            for m in batch {
                match m {
                    Outgoing::Done { run: r, result } if r == run => return result,
                    Outgoing::Done { .. } => {}
                    Outgoing::Event { event, .. } => {
                        self.events.push(serde_json::to_value(event).unwrap())
                    }
                    Outgoing::Abort { token, .. } => self.aborted.push(format!("{}", token.call)),
                    Outgoing::Idle { delivered, .. } => self.idles.push(delivered),
                    Outgoing::Call {
                        token,
                        tool_name,
                        args,
                        ..
                    } => {
                        let engine = self.engine.clone();
                        let args: Value = serde_json::from_str(args.get()).unwrap();
                        match tool_name.as_str() {
                            "echo" | "mcp.github.searchIssues" => {
                                engine.settle(token, ToolOutcome::Ok(Some(args.to_string())))
                            }
                            "fail" => engine.settle(
                                token,
                                ToolOutcome::Err {
                                    code: ErrorCode::ToolExecutionError,
                                    message: "boom".into(),
                                    details: None,
                                },
                            ),
                            "slow" => {
                                let ms = args["ms"].as_u64().unwrap_or(20);
                                std::thread::spawn(move || {
                                    std::thread::sleep(Duration::from_millis(ms));
                                    engine.settle(
                                        token,
                                        ToolOutcome::Ok(Some(json!({ "slept": ms }).to_string())),
                                    );
                                });
                            }
                            other => panic!("unknown tool {other}"),
                        }
                    }
                }
            }
        }
    }
}

fn value(r: &ScriptResult) -> Value {
    assert!(r.ok, "script failed: {:?}", r.error);
    r.value
        .as_ref()
        .map(|v| serde_json::from_str(v.get()).unwrap())
        .unwrap_or(Value::Null)
}

fn code(r: &ScriptResult) -> ErrorCode {
    r.error
        .as_ref()
        .unwrap_or_else(|| panic!("expected failure, got {:?}", r.value))
        .code
}

#[test]
fn returns_values_and_awaits_tools() {
    let mut h = harness();
    assert_eq!(value(&h.run("return 1 + 1")), json!(2));
    let r = h.run("const a = await tools.echo({ x: 1 }); return { got: a.x, nested: [a, 'ü'] }");
    assert_eq!(value(&r), json!({ "got": 1, "nested": [{ "x": 1 }, "ü"] }));
    assert_eq!(r.tool_calls.len(), 1);
    assert_eq!(r.metadata.tool_calls_made, 1);
    let r = h.run("return await tools.mcp.github.searchIssues({ q: 'a' })");
    assert_eq!(value(&r), json!({ "q": "a" }));
    let r = h.run("let x = 1");
    assert!(r.ok && r.value.is_none());
}

#[test]
fn tool_calls_overlap() {
    let mut h = harness();
    let t = Instant::now();
    let r = h.run("const rs = await Promise.all(Array.from({ length: 10 }, () => tools.slow({ ms: 50 }))); return rs.length");
    assert_eq!(value(&r), json!(10));
    // maxConcurrentToolCalls is 4 by default: 10 calls take three rounds.
    assert!(
        t.elapsed() < Duration::from_millis(50 * 3 + 400),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn failing_tool_is_catchable_and_keeps_its_code_when_uncaught() {
    let mut h = harness();
    let r = h.run("try { await tools.fail({}) } catch (e) { return [e.name, e.message] }");
    assert_eq!(value(&r), json!(["ToolExecutionError", "boom"]));
    let r = h.run("await tools.fail({})");
    let e = r.error.unwrap();
    assert_eq!(e.code, ErrorCode::ToolExecutionError);
    assert_eq!(e.tool_name.as_deref(), Some("fail"));
}

#[test]
fn forged_harness_error_is_a_runtime_error() {
    let mut h = harness();
    let r = h.run("const e = new Error('no'); e.name = 'ApprovalDeniedError'; throw e");
    assert_eq!(code(&r), ErrorCode::ScriptRuntimeError);
    assert_eq!(r.error.unwrap().line, Some(1));
}

#[test]
fn unknown_tool_suggests_names() {
    let mut h = harness();
    let r = h.run("await tools.ecko({})");
    let e = r.error.unwrap();
    assert_eq!(e.code, ErrorCode::ToolNotFoundError);
    assert!(e.message.contains("'tools.echo'"), "{}", e.message);
}

#[test]
fn limits_are_terminal() {
    let mut h = harness();
    let fast = HarnessLimits {
        timeout_ms: 100,
        ..Default::default()
    };
    let t = Instant::now();
    let r = h.run_with("while (true) {}", fast);
    assert_eq!(code(&r), ErrorCode::ScriptTimeoutError);
    assert!(t.elapsed() < Duration::from_millis(1000));
    let r = h.run_with("try { while (true) {} } catch (e) {} return 1", fast);
    assert_eq!(code(&r), ErrorCode::ScriptTimeoutError);
    let r = h.run_with(
        "function f() { return Promise.resolve().then(f) } await f()",
        fast,
    );
    assert_eq!(code(&r), ErrorCode::ScriptTimeoutError);
    let r = h.run_with("await tools.slow({ ms: 2000 })", fast);
    assert_eq!(code(&r), ErrorCode::ScriptTimeoutError);
    assert_eq!(
        r.tool_calls[0].status,
        script_harness_core::result::CallStatus::Aborted
    );

    let small = HarnessLimits {
        memory_mb: 8,
        ..Default::default()
    };
    let r = h.run_with(
        "const a = []; while (true) a.push('x'.repeat(1000) + a.length)",
        small,
    );
    assert_eq!(code(&r), ErrorCode::ScriptMemoryError);
    let r = h.run_with(
        "try { new Array(1e9).fill(0) } catch (e) {} return 1",
        small,
    );
    assert_eq!(code(&r), ErrorCode::ScriptMemoryError);

    let r = h.run("function f(n) { return f(n + 1) + 1 } return f(0)");
    assert_eq!(code(&r), ErrorCode::ScriptStackOverflowError);
    // The patched QuickJS tells the realm as it overflows, and nothing
    // catches the RangeError: a caught overflow ends the script too.
    let r = h.run("function f(n) { return f(n + 1) + 1 } try { f(0) } catch (e) { return e.name }");
    assert_eq!(code(&r), ErrorCode::ScriptStackOverflowError);
    let r = h.run("let v = []; for (let i = 0; i < 100000; i++) v = [v]; return v");
    assert_eq!(code(&r), ErrorCode::SerializationError);
    // After all that, the worker still runs scripts.
    assert_eq!(value(&h.run("return 'fine'")), json!("fine"));
}

#[test]
fn return_values_must_be_json() {
    let mut h = harness();
    for src in [
        "return () => 1",
        "const a = {}; a.a = a; return a",
        "return 1n",
        "return { get x() { throw new Error('g') } }",
    ] {
        assert_eq!(code(&h.run(src)), ErrorCode::SerializationError, "{src}");
    }
    let small = HarnessLimits {
        max_return_bytes: 10,
        ..Default::default()
    };
    assert_eq!(
        code(&h.run_with("return 'x'.repeat(100)", small)),
        ErrorCode::ReturnValueTooLargeError
    );
}

#[test]
fn sandbox_is_hardened() {
    let mut h = harness();
    let r = h.run(
        "const out = {};
         const tryIt = (k, f) => { try { f(); out[k] = 'allowed' } catch (e) { out[k] = e.name } };
         tryIt('eval', () => eval('1'));
         tryIt('Function', () => new Function('return 1'));
         tryIt('ctor', () => (function(){}).constructor('return 1'));
         tryIt('async', () => (async function(){}).constructor('return 1'));
         tryIt('gen', () => (function*(){}).constructor('return 1'));
         tryIt('agen', () => (async function*(){}).constructor('return 1'));
         tryIt('proto', () => { Object.prototype.polluted = 1 });
         tryIt('tools', () => { tools.echo = null });
         tryIt('global', () => { globalThis.x = 1 });
         out.types = [typeof process, typeof require, typeof setTimeout, typeof SharedArrayBuffer, typeof Atomics, typeof Worker, typeof fetch];
         return out",
    );
    assert_eq!(
        value(&r),
        json!({
            "eval": "TypeError", "Function": "TypeError", "ctor": "TypeError", "async": "TypeError",
            "gen": "TypeError", "agen": "TypeError", "proto": "TypeError", "tools": "TypeError", "global": "TypeError",
            "types": ["undefined", "undefined", "undefined", "undefined", "undefined", "undefined", "undefined"]
        })
    );
    // Ordinary code that sets properties shadowing frozen prototype ones works.
    let r = h.run("const o = {}; o.toString = () => 'me'; const e = new Error('x'); e.name = 'Mine'; return [String(o), e.name]");
    assert_eq!(value(&r), json!(["me", "Mine"]));
}

#[test]
fn cancel_stops_cpu_loops_and_waits() {
    let mut h = harness();
    for src in ["while (true) {}", "await tools.slow({ ms: 5000 })"] {
        let limits = h.engine.default_limits();
        let handle = h
            .engine
            .submit(Submission {
                source: src.into(),
                language: Language::Ts,
                limits,
                seed: Map::new(),
                determinism: Default::default(),
                script_id: None,
            })
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let t = Instant::now();
        handle.cancel();
        let r = h.wait(handle.run);
        assert_eq!(code(&r), ErrorCode::ScriptCancelledError);
        assert!(t.elapsed() < Duration::from_millis(500));
    }
}

#[test]
fn console_is_captured_and_capped() {
    let mut h = harness();
    let limits = HarnessLimits {
        max_log_events: 3,
        ..Default::default()
    };
    let r = h.run_with(
        "for (let i = 0; i < 10; i++) console.log('n', i, { i }); console.error('x')",
        limits,
    );
    assert!(r.ok);
    assert_eq!(r.logs.len(), 4);
    assert_eq!(r.logs[0].message, "n 0 {\"i\":0}");
    assert!(
        r.logs[3]
            .message
            .contains("8 more console entries were dropped")
    );
}

#[test]
fn state_does_not_leak_between_scripts() {
    let mut h = harness_with(HarnessLimits::default(), 1);
    let r = h.run(
        "try { Array.prototype.x = 1 } catch {} try { globalThis.leak = 1 } catch {} return 1",
    );
    assert!(r.ok);
    assert_eq!(
        value(&h.run("return [typeof globalThis.leak, [].x === undefined]")),
        json!(["undefined", true])
    );
}

#[test]
fn syntax_errors_have_lines() {
    let mut h = harness();
    let r = h.run("const a = 1;\nconst b = {\n  x: 1\n  y: 2 };");
    let e = r.error.unwrap();
    assert_eq!(e.code, ErrorCode::ScriptSyntaxError);
    assert_eq!(e.line, Some(4));
}

#[test]
fn runtime_error_lines_and_script_frames() {
    let mut h = harness();
    let r = h.run("function helper() {\n  return nope.x\n}\nreturn helper()");
    let e = r.error.unwrap();
    assert_eq!(e.code, ErrorCode::ScriptRuntimeError);
    assert_eq!(e.line, Some(2));
    assert!(e.message.starts_with("ReferenceError"), "{}", e.message);
    let stack = e.stack.unwrap();
    assert!(stack.contains("helper (script:2:"), "{stack}");
    assert!(!stack.contains("harness"), "{stack}");
}

#[test]
fn never_settling_promise_ends_at_once() {
    let mut h = harness();
    let t = Instant::now();
    let r = h.run("await new Promise(() => {})");
    assert_eq!(code(&r), ErrorCode::ScriptRuntimeError);
    assert!(t.elapsed() < Duration::from_millis(500));
}

#[test]
fn events_come_in_order() {
    let mut h = harness();
    let r = h.run("console.log('hi'); await tools.echo({}); return 1");
    assert!(r.ok);
    let types: Vec<&str> = h
        .events
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "script_started",
            "console",
            "tool_call_started",
            "tool_call_completed",
            "script_completed"
        ]
    );
}

#[test]
fn a_recorded_run_replays_its_random_draws_and_clock_readings_exactly() {
    let mut h = harness();
    // Every way a script reads the clock or the generator, a tool call between.
    let src = "const a = [Math.random(), Date.now(), new Date().getTime()]; \
               await tools.echo({}); \
               const b = [Math.random(), Date.now(), Date.now(), typeof Date(), new Date(5).getTime()]; \
               return [a, b, new Date() instanceof Date, Date.prototype.constructor === Date, Date.length, Date.name]";
    let first = h.run_determined(
        src,
        Determinism {
            record: true,
            ..Default::default()
        },
    );
    assert!(first.ok, "{:?}", first.error);
    let record = first
        .replay
        .clone()
        .expect("a recording run reports its replay");
    let clock = record.clock.clone().expect("a few readings are kept");
    // Date.now(), new Date(), Date.now() ×2, Date(), new Date(): six readings.
    assert_eq!(clock.iter().map(|r| r.count).sum::<u32>(), 6);
    std::thread::sleep(Duration::from_millis(20));
    let again = h.run_determined(
        src,
        Determinism {
            seed: Some(record.seed.parse().unwrap()),
            clock,
            record: false,
            report_idle: true,
        },
    );
    assert_eq!(value(&again), value(&first));
    // It waited once on its one call, with no answer delivered yet.
    assert_eq!(h.idles, [0]);
    assert!(again.replay.is_none());
    let tail = value(&again);
    assert_eq!(tail[2], json!(true));
    assert_eq!(tail[3], json!(true));
    assert_eq!(tail[4], json!(7));
    assert_eq!(tail[5], json!("Date"));
    // Without a seed, two runs draw differently; past the replayed readings the clock is real.
    let fresh = h.run_determined(src, Determinism::default());
    assert_ne!(value(&fresh)[0][0], value(&first)[0][0]);
    let later = h.run_determined(
        "return [Date.now(), Date.now()]",
        Determinism {
            clock: vec![ClockRun { ms: 5.0, count: 1 }],
            ..Default::default()
        },
    );
    assert_eq!(value(&later)[0], json!(5));
    assert!(value(&later)[1].as_f64().unwrap() > 1.7e12);
}
