//! The engine as a whole, with faults injected: panics inside scripts
//! and in a worker's loop, approval waits, and a script stuck in a
//! built-in.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Map;

use super::worker::Inbound;
use super::*;
use crate::compile::Language;
use crate::errors::ErrorCode;
use crate::host::{Host, Outgoing, ToolOutcome};
use crate::limits::HarnessLimits;
use crate::result::ScriptResult;
use crate::tools::{ApprovalRule, ToolSpec};

struct ChannelHost(Mutex<Sender<Vec<Outgoing>>>);

impl Host for ChannelHost {
    fn deliver(&self, batch: Vec<Outgoing>) {
        let _ = self.0.lock().unwrap().send(batch);
    }
}

fn engine() -> (Engine, Receiver<Vec<Outgoing>>) {
    engine_with("wait", Isolation::Pooled)
}

/// One worker, one tool named `tool`, results into the returned receiver.
fn engine_with(tool: &str, isolation: Isolation) -> (Engine, Receiver<Vec<Outgoing>>) {
    let (tx, rx) = channel();
    let engine = Engine::new(EngineConfig {
        tools: vec![ToolSpec {
            name: tool.into(),
            description: None,
            parameters: None,
            approval: ApprovalRule::Never,
            returns: None,
        }],
        limits: HarnessLimits::default(),
        workers: 1,
        seed: Map::new(),
        host: Arc::new(ChannelHost(Mutex::new(tx))),
        isolation,
    })
    .unwrap();
    (engine, rx)
}

fn submit(engine: &Engine, source: &str) -> u64 {
    submit_with(engine, source, engine.default_limits())
}

fn submit_with(engine: &Engine, source: &str, limits: HarnessLimits) -> u64 {
    let sub = Submission {
        source: source.into(),
        language: Language::Ts,
        limits,
        seed: Map::new(),
        determinism: Default::default(),
        script_id: None,
    };
    engine.submit(sub).unwrap().run
}

/// Waits for `run` to finish, noting the tool calls that started.
fn done(rx: &Receiver<Vec<Outgoing>>, run: u64, calls: &mut usize) -> ScriptResult {
    loop {
        let batch = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a result in time");
        for m in batch {
            match m {
                Outgoing::Done { run: r, result } if r == run => return result,
                Outgoing::Call { .. } => *calls += 1,
                _ => {}
            }
        }
    }
}

/// Starts a script that waits in a tool call, injects `fault`, and
/// returns the error the script ended with.
fn fail_held_script(engine: &Engine, rx: &Receiver<Vec<Outgoing>>, fault: Inbound) -> String {
    let stuck = submit(engine, "await tools.wait({}); return 1");
    let mut calls = 0;
    while calls == 0 {
        for m in rx.recv_timeout(Duration::from_secs(10)).unwrap() {
            calls += matches!(m, Outgoing::Call { .. }) as usize;
        }
    }
    engine.inject(0, fault);
    let r = done(rx, stuck, &mut calls);
    let e = r.error.expect("the held script fails");
    assert_eq!(e.code, ErrorCode::HarnessInternalError);
    e.message
}

#[test]
fn a_panic_inside_a_script_operation_fails_that_script_only() {
    let (engine, rx) = engine();
    let message = fail_held_script(&engine, &rx, Inbound::PanicInScripts);
    assert!(message.contains("failed internally"), "{message}");
    let next = submit(&engine, "return 'still here'");
    let r = done(&rx, next, &mut 0);
    assert_eq!(r.value.unwrap().get(), "\"still here\"");
}

#[test]
fn a_worker_whose_loop_panics_fails_its_scripts_and_is_replaced() {
    let (engine, rx) = engine();
    let message = fail_held_script(&engine, &rx, Inbound::Panic);
    assert!(message.contains("replaced"), "{message}");
    assert_eq!(engine.stats().worker_restarts, 1);
    let mut calls = 0;
    // The same worker slot takes new work, with a fresh state.
    let next = submit(&engine, "return 40 + 2");
    let r = done(&rx, next, &mut calls);
    assert!(r.ok, "{:?}", r.error);
    assert_eq!(r.value.unwrap().get(), "42");
}

#[test]
fn time_waiting_for_an_approval_does_not_count_but_running_does() {
    let (engine, rx) = engine();
    let limits = HarnessLimits {
        timeout_ms: 150,
        ..engine.default_limits()
    };
    let start = |source: &str| submit_with(&engine, source, limits);
    let mut calls = Vec::new();
    let mut next_call = || loop {
        if !calls.is_empty() {
            return calls.remove(0);
        }
        for m in rx.recv_timeout(Duration::from_secs(10)).unwrap() {
            if let Outgoing::Call { token, .. } = m {
                calls.push(token);
            }
        }
    };
    // Suspended on a call whose approval takes twice the time limit.
    let run = start("return await tools.wait({})");
    let token = next_call();
    engine.approval_pending(token, true);
    std::thread::sleep(Duration::from_millis(300));
    engine.approval_pending(token, false);
    engine.settle(token, ToolOutcome::Ok(Some("7".into())));
    let r = done(&rx, run, &mut 0);
    assert!(r.ok, "{:?}", r.error);
    // A script that runs while an approval of it is pending still
    // times out.
    let run = start("tools.wait({}); await tools.wait({}); while (true) {}");
    let (asked, other) = (next_call(), next_call());
    engine.approval_pending(asked, true);
    engine.settle(other, ToolOutcome::Ok(None));
    let r = done(&rx, run, &mut 0);
    assert_eq!(r.error.unwrap().code, ErrorCode::ScriptTimeoutError);
}

#[test]
fn a_script_stuck_in_a_native_loop_is_abandoned_after_its_deadline_and_its_thread_parked() {
    let (engine, rx) = engine();
    let limits = HarnessLimits {
        timeout_ms: 100,
        ..engine.default_limits()
    };
    let start = |source: &str| submit_with(&engine, source, limits);
    // A neighbour on the same (only) worker, waiting for a tool.
    let neighbour = start("await tools.wait({}); return 1");
    // The test build's stand-in for a built-in that never polls the
    // interrupt handler (the patched QuickJS has none that we know of).
    let stuck = start("return __stuckInNative()");
    let queued = start("return 'queued'");
    let began = std::time::Instant::now();
    let mut results = HashMap::new();
    while results.len() < 3 {
        for m in rx
            .recv_timeout(Duration::from_secs(10))
            .expect("results in time")
        {
            if let Outgoing::Done { run, result } = m {
                results.insert(run, result);
            }
        }
    }
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "{:?}",
        began.elapsed()
    );
    let code = |run: u64| results[&run].error.as_ref().map(|e| e.code);
    assert_eq!(code(stuck), Some(ErrorCode::ScriptTimeoutError));
    assert_eq!(code(neighbour), Some(ErrorCode::HarnessInternalError));
    // Queued behind the stuck script: reported, or run by nobody twice.
    assert!(matches!(
        code(queued),
        Some(ErrorCode::HarnessInternalError) | None
    ));
    assert_eq!(engine.stats().worker_restarts, 1);
    // The stuck thread sleeps for good at its next call into the harness:
    // it burns no core.
    {
        let until = std::time::Instant::now() + Duration::from_secs(5);
        while engine.stats().threads_parked == 0 {
            assert!(
                std::time::Instant::now() < until,
                "the stuck thread was not parked"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(engine.stats().threads_parked, 1);
    }
    // A fresh worker holds the slot.
    let next = submit(&engine, "return 40 + 2");
    let r = done(&rx, next, &mut 0);
    assert_eq!(r.value.unwrap().get(), "42");
}

/// Engine-side cost of a script, no Node involved:
/// `cargo test --release -p script-harness-core --lib -- --ignored engine_costs --nocapture`.
#[test]
#[ignore]
#[allow(clippy::print_stderr)] // a measurement: it prints its figures
fn engine_costs() {
    // ENGINE_COSTS=pooled measures the pool only (for a profiler);
    // ENGINE_COSTS=calls only scripts of 256 calls one after another.
    let only_calls = std::env::var("ENGINE_COSTS").is_ok_and(|v| v == "calls");
    let only_pooled = only_calls || std::env::var("ENGINE_COSTS").is_ok_and(|v| v == "pooled");
    let modes: &[Isolation] = if only_pooled {
        &[Isolation::Pooled]
    } else {
        &[Isolation::Pooled, Isolation::Script]
    };
    for &isolation in modes {
        let (engine, rx) = engine_with("echo", isolation);
        let sources: &[(&str, &str, usize)] = if only_calls {
            &[(
                "256 echo calls in a row",
                "let s = 0; for (let i = 0; i < 256; i++) s += (await tools.echo({ v: i })).v; return s",
                30,
            )]
        } else {
            &[
                ("return 1 + 1", "return 1 + 1", 3000),
                ("one echo", "return await tools.echo({ v: 1 })", 3000),
            ]
        };
        for &(label, source, n) in sources {
            let cpu = process_cpu();
            let t = std::time::Instant::now();
            let limits = HarnessLimits {
                max_tool_calls: 1000,
                ..engine.default_limits()
            };
            for _ in 0..n {
                let run = submit_with(&engine, source, limits);
                loop {
                    let mut finished = false;
                    for m in rx.recv_timeout(Duration::from_secs(10)).unwrap() {
                        match m {
                            Outgoing::Call { token, args, .. } => {
                                engine.settle(token, ToolOutcome::Ok(Some(args.get().to_owned())))
                            }
                            Outgoing::Done { run: r, .. } if r == run => finished = true,
                            _ => {}
                        }
                    }
                    if finished {
                        break;
                    }
                }
            }
            let per = t.elapsed().as_secs_f64() * 1e6 / n as f64;
            let cpu = (process_cpu() - cpu) * 1e6 / n as f64;
            eprintln!(
                "{isolation:?} {label}: {per:.1} us per script, sequential; {cpu:.1} us of CPU (all threads)"
            );
        }
    }
}

/// CPU seconds this process used so far, all threads.
fn process_cpu() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut u = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}
