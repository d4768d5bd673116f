//! The bookkeeping of one script, driven without QuickJS.

use std::rc::Rc;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

use serde_json::Map;

use super::{Progress, RunStart, ScriptCell};
use crate::compile::{Language, compile};
use crate::errors::ErrorCode;
use crate::host::{CallToken, Host, Outgoing, ToolOutcome};
use crate::limits::HarnessLimits;
use crate::result::{CallStatus, ScriptResult};
use crate::sandbox::gate::{CallPhase, Gate};
use crate::sandbox::heap::Tripwires;
use crate::sandbox::outbox::Outbox;
use crate::sandbox::shared::{EngineShared, Isolation};
use crate::sandbox::watch::Watch;
use crate::tools::{ApprovalRule, ToolRegistry, ToolSpec};

#[derive(Default)]
struct Recorder(Mutex<Vec<Outgoing>>);

impl Host for Recorder {
    fn deliver(&self, batch: Vec<Outgoing>) {
        self.0.lock().unwrap().extend(batch);
    }
    fn wants_events(&self) -> bool {
        false
    }
}

struct Fixture {
    cell: Rc<ScriptCell>,
    host: Arc<Recorder>,
    outbox: Rc<Outbox>,
    gate: Arc<Gate>,
}

impl Fixture {
    fn new(limits: HarnessLimits) -> Fixture {
        let host = Arc::new(Recorder::default());
        let tools = [
            ("echo", ApprovalRule::Never),
            ("slow", ApprovalRule::Never),
            ("ask", ApprovalRule::Always),
        ]
        .map(|(name, approval)| ToolSpec {
            name: name.into(),
            description: None,
            parameters: None,
            approval,
            returns: None,
        })
        .to_vec();
        let shared = Arc::new(EngineShared::new(
            ToolRegistry::new(tools).unwrap(),
            host.clone(),
            limits,
            Map::new(),
            Isolation::Pooled,
        ));
        let outbox = Rc::new(Outbox::new(
            shared.clone(),
            Arc::new(AtomicUsize::new(1)),
            Arc::new(Watch::default()),
        ));
        let gate = Arc::new(Gate::default());
        let wires = Rc::new(Tripwires::default());
        wires.set_memory_limit(1 << 20);
        let start = RunStart {
            tools: shared.tools(),
            shared,
            run: 7,
            token_base: CallToken {
                run: 7,
                worker: 0,
                script: 1,
                call: 0,
            },
            script_id: "s".into(),
            compiled: Arc::new(compile("return 1", Language::Js, 1000).unwrap()),
            limits,
            gate: gate.clone(),
            outbox: outbox.clone(),
            seed: 1,
            clock: Vec::new(),
            record: false,
            report_idle: false,
        };
        Fixture {
            cell: ScriptCell::start(start, wires),
            host,
            outbox,
            gate,
        }
    }

    fn call(&self, tool: i32, path: &str) -> Result<u32, ErrorCode> {
        self.cell
            .start_call(tool, "{}".into(), path.into(), String::new())
            .map_err(|r| r.code)
    }

    /// Messages delivered so far: (calls, aborts, the result if done).
    fn sent(&self) -> (usize, usize, Option<ScriptResult>) {
        self.outbox.flush();
        let mut out = (0, 0, None);
        for m in self.host.0.lock().unwrap().drain(..) {
            match m {
                Outgoing::Call { .. } => out.0 += 1,
                Outgoing::Abort { .. } => out.1 += 1,
                Outgoing::Done { result, .. } => out.2 = Some(result),
                Outgoing::Event { .. } | Outgoing::Idle { .. } => {}
            }
        }
        out
    }
}

#[test]
fn calls_past_the_concurrency_limit_wait_and_go_when_one_settles() {
    let f = Fixture::new(HarnessLimits {
        max_concurrent_tool_calls: 1,
        ..HarnessLimits::default()
    });
    assert_eq!(f.call(0, "echo"), Ok(0));
    assert_eq!(f.call(1, "slow"), Ok(1));
    assert_eq!(f.sent().0, 1);
    let d = f
        .cell
        .deliver(0, ToolOutcome::Ok(Some("[1]".into())))
        .unwrap();
    assert!(d.ok);
    assert_eq!(d.payload, "[1]");
    assert_eq!(f.sent().0, 1, "the queued call is handed over");
    // An answer for a call that already ended is not delivered twice.
    assert_eq!(f.cell.deliver(0, ToolOutcome::Ok(None)), None);
    assert!(
        f.gate
            .admit(1, CallPhase::Running, std::time::Instant::now())
    );
}

#[test]
fn refused_calls_leave_records_and_count_toward_the_budget() {
    let f = Fixture::new(HarnessLimits {
        max_tool_calls: 2,
        ..HarnessLimits::default()
    });
    assert_eq!(f.call(-1, "nope"), Err(ErrorCode::ToolNotFoundError));
    assert_eq!(f.call(0, "echo"), Ok(1));
    assert_eq!(f.call(0, "echo"), Err(ErrorCode::ToolBudgetExceededError));
    f.cell.deliver(1, ToolOutcome::Ok(None));
    assert_eq!(f.cell.finish(Ok(None)), Progress::Finished);
    let r = f.sent().2.expect("a result");
    assert_eq!(r.tool_calls.len(), 2);
    assert_eq!(r.metadata.tool_calls_made, 1);
}

#[test]
fn a_script_that_ends_with_calls_out_waits_for_them_then_detaches_the_rest() {
    let f = Fixture::new(HarnessLimits::default());
    f.call(0, "echo").unwrap();
    f.call(1, "slow").unwrap();
    assert_eq!(f.cell.finish(Ok(None)), Progress::Running);
    assert!(f.cell.is_draining() && f.cell.left_calls_behind());
    assert_eq!(f.sent().1, 2, "both calls are aborted");
    assert!(!f.cell.orphan_settled(0));
    assert_eq!(f.cell.end_grace(), Progress::Finished);
    let r = f.sent().2.expect("a result");
    assert!(r.ok);
    assert_eq!(r.tool_calls[0].status, CallStatus::Aborted);
    assert_eq!(
        r.tool_calls[0].error, None,
        "it settled within the grace period"
    );
    assert_eq!(
        r.tool_calls[1].error.as_ref().map(|e| e.code),
        Some(ErrorCode::DetachedPromiseError)
    );
}

#[test]
fn nothing_starts_once_the_script_has_ended_or_was_stopped() {
    let f = Fixture::new(HarnessLimits::default());
    f.cell.mark_ended();
    assert_eq!(f.call(0, "echo"), Err(ErrorCode::ScriptRuntimeError));
    let f = Fixture::new(HarnessLimits::default());
    f.gate.cancel();
    assert!(f.cell.check_stop(std::time::Instant::now()));
    assert_eq!(f.call(0, "echo"), Err(ErrorCode::ScriptCancelledError));
    assert_eq!(f.sent().0, 0);
}

#[test]
fn arguments_waiting_for_the_host_count_against_memory() {
    let f = Fixture::new(HarnessLimits::default());
    let big = format!("\"{}\"", "x".repeat(900 * 1024));
    assert!(
        f.cell
            .start_call(0, big.clone(), "echo".into(), String::new())
            .is_ok()
    );
    let second = f.cell.start_call(0, big, "echo".into(), String::new());
    assert_eq!(
        second.map_err(|r| r.code),
        Err(ErrorCode::ScriptMemoryError)
    );
    assert!(f.cell.terminal().is_some());
}

#[test]
fn console_entries_past_the_limit_are_counted_not_kept() {
    let f = Fixture::new(HarnessLimits {
        max_log_events: 2,
        ..HarnessLimits::default()
    });
    for i in 0..5 {
        f.cell.log(0, format!("line {i}"));
    }
    f.cell.finish(Ok(None));
    let r = f.sent().2.expect("a result");
    assert_eq!(r.logs.len(), 3);
    assert!(r.logs[2].message.contains("3 more console entries"));
}

#[test]
fn only_calls_that_may_need_approval_carry_what_a_person_is_shown() {
    let f = Fixture::new(HarnessLimits::default());
    assert_eq!(f.call(0, "echo"), Ok(0));
    assert_eq!(f.call(2, "ask"), Ok(1));
    f.outbox.flush();
    let sent: Vec<serde_json::Value> = f
        .host
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|m| matches!(m, Outgoing::Call { .. }))
        .map(|m| serde_json::to_value(m).unwrap())
        .collect();
    assert_eq!(sent.len(), 2);
    // The common call: no hash, no approval timeout, no redacted copy.
    for field in ["scriptHash", "approvalTimeoutMs", "displayArgs"] {
        assert!(sent[0].get(field).is_none(), "{field} in {}", sent[0]);
    }
    assert_eq!(
        sent[0]["maxResultBytes"],
        HarnessLimits::default().max_tool_result_bytes
    );
    assert_eq!(sent[1]["scriptHash"].as_str().map(str::len), Some(64));
    assert_eq!(
        sent[1]["approvalTimeoutMs"],
        HarnessLimits::default().approval_timeout_ms
    );
    assert_eq!(sent[1]["displayArgs"], serde_json::json!({}));
}
