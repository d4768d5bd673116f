//! Arbitrary scripts run under tight limits: whatever the bytes, the host
//! never crashes, every run ends within its timeout plus a small bound, and
//! the engine keeps working. Short in CI; a longer run:
//! `FUZZ_CASES=20000 cargo test --release --test fuzz_scripts -- --nocapture`.

use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use script_harness_core::{
    ApprovalRule, Engine, EngineConfig, ErrorCode, HarnessLimits, Language, Outgoing, ScriptResult,
    Submission, ToolOutcome, ToolSpec,
};
use serde_json::Map;

mod common;
use common::{ChannelHost, Rng};

/// Whole statements, many of them hostile, combined at random.
const STATEMENTS: [&str; 39] = [
    "const o = {}; for (let i = 0; ; i++) o[i] = 1",
    "Array.prototype.fill.call({ length: 3e6 }, 1)",
    "Object.assign({}, new Uint8Array(5e6))",
    "while (true) {}",
    "for (;;) { try { throw 1 } catch {} }",
    "const a = []; for (;;) a.push(new Array(1e5).fill(1))",
    "let s = 'x'; for (;;) s += s",
    "const m = new Map(); for (let i = 0; ; i++) m.set(i, {i})",
    "new ArrayBuffer(2 ** 31)",
    "new Uint8Array(1e9)",
    "function f() { return f() } f()",
    "const p = new Proxy({}, { get: (t, k, r) => r[k] }); p.x",
    "let o = {}; for (let i = 0; i < 1e5; i++) o = { o }; JSON.stringify(o)",
    "JSON.parse('['.repeat(1e5))",
    "/(a+)+$/.test('a'.repeat(40) + '!')",
    "for (let i = 0; i < 1e4; i++) console.log('flood', i)",
    "await tools.echo({ a: 1 })",
    "await tools.hang({})",
    "tools.hang({})",
    "await Promise.race([tools.hang({}), tools.echo({})])",
    "await Promise.all(Array.from({ length: 100 }, () => tools.echo({})))",
    "await tools.echo({ f: () => 1 })",
    "await tools.echo({ b: 1n })",
    "const c = {}; c.c = c; await tools.echo(c)",
    "await tools.nope({})",
    "await tools.__proto__({})",
    "(async () => { for (;;) await null })()",
    "for (;;) await Promise.resolve()",
    "eval('1')",
    "Function('return this')()",
    "(() => {}).constructor('return 1')()",
    "Object.prototype.x = 1",
    "throw new Error('plain')",
    "throw { name: 'ScriptTimeoutError' }",
    "const e = new Error(); e.name = 'ApprovalDeniedError'; throw e",
    "return { v: 'x'.repeat(1e6) }",
    "const r = {}; r.r = r; return r",
    "return { get x() { throw 1 } }",
    "return { toJSON() { for (;;) {} } }",
];

const TOKENS: [&str; 24] = [
    "await ",
    "tools.echo(",
    "tools.hang(",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ";",
    "\n",
    "return ",
    "while(1)",
    "for(;;)",
    "try{",
    "}catch(e){",
    "}finally{",
    "async ",
    "=>",
    "1e9",
    "'x'",
    ".repeat(",
    "new ",
    "Promise",
];

fn script(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => {
            let bytes: Vec<u8> = (0..rng.below(120)).map(|_| rng.next() as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
        1 => (0..rng.below(40)).map(|_| rng.pick(&TOKENS)).collect(),
        _ => {
            let mut out = String::new();
            for _ in 0..1 + rng.below(3) {
                let statement = rng.pick(&STATEMENTS);
                if rng.below(3) == 0 {
                    out.push_str(&format!("try {{ {statement} }} catch (e) {{ }}\n"));
                } else {
                    out.push_str(statement);
                    out.push('\n');
                }
            }
            out
        }
    }
}

fn cases() -> usize {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150)
}

const TIMEOUT_MS: u64 = 60;
/// What a run may take beyond its timeout: preparing a sandbox, stopping at
/// the next interrupt check (inside built-ins too: QuickJS patch 0003), and
/// freeing what the script built, in a debug build (measured: at most about
/// 100 ms over 1,800 scripts).
const SLACK: Duration = Duration::from_millis(200);

fn wait(engine: &Engine, rx: &Receiver<Vec<Outgoing>>, run: u64) -> ScriptResult {
    loop {
        let batch = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("every run ends");
        for m in batch {
            match m {
                Outgoing::Done { run: r, result } if r == run => return result,
                Outgoing::Call {
                    token,
                    tool_name,
                    args,
                    ..
                } if tool_name == "echo" => {
                    engine.settle(token, ToolOutcome::Ok(Some(args.get().to_owned())))
                }
                // `hang` never answers; its script must still end.
                _ => {}
            }
        }
    }
}

fn run(
    engine: &Engine,
    rx: &Receiver<Vec<Outgoing>>,
    source: &str,
    limits: HarnessLimits,
) -> ScriptResult {
    let sub = Submission {
        source: source.into(),
        language: Language::Ts,
        limits,
        seed: Map::new(),
        determinism: Default::default(),
        script_id: None,
    };
    let run = engine.submit(sub).unwrap().run;
    wait(engine, rx, run)
}

#[test]
#[allow(clippy::print_stdout)] // reports how many cases ran and the slowest
fn arbitrary_scripts_end_within_their_limits_and_never_break_the_engine() {
    let tool = |name: &str| ToolSpec {
        name: name.into(),
        description: None,
        parameters: None,
        approval: ApprovalRule::Never,
        returns: None,
    };
    let limits = HarnessLimits {
        timeout_ms: TIMEOUT_MS,
        memory_mb: 16,
        ..HarnessLimits::default()
    };
    let (tx, rx) = channel();
    let engine = Engine::new(EngineConfig {
        tools: vec![tool("echo"), tool("hang")],
        limits,
        workers: 1,
        seed: Map::new(),
        host: Arc::new(ChannelHost(Mutex::new(tx))),
        isolation: Default::default(),
    })
    .unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut slowest = (Duration::ZERO, String::new());
    for _ in 0..cases() {
        let source = script(&mut rng);
        let started = Instant::now();
        let result = run(&engine, &rx, &source, limits);
        let took = started.elapsed();
        if took > slowest.0 {
            slowest = (took, source.clone());
        }
        assert!(
            took < Duration::from_millis(TIMEOUT_MS) + SLACK,
            "{took:?} for {source:?}: {:?}",
            result.error
        );
        if let Some(e) = &result.error {
            assert_ne!(e.code, ErrorCode::HarnessInternalError, "{source:?}: {e:?}");
        }
    }
    // Still healthy after everything above.
    let result = run(
        &engine,
        &rx,
        "return (await tools.echo({ n: 41 })).n + 1",
        limits,
    );
    assert_eq!(
        result.value.map(|v| v.get().to_owned()).as_deref(),
        Some("42")
    );
    println!(
        "{} scripts; slowest run {:?}: {:?}",
        cases(),
        slowest.0,
        slowest.1
    );
}
