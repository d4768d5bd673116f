//! Property tests run on a short budget in CI: arbitrary input through the
//! compile step never panics, always ends, and stays close to linear.
//! A longer run: `FUZZ_CASES=200000 cargo test --release --test fuzz`.

use std::time::{Duration, Instant};

use script_harness_core::compile::{Language, compile};
use script_harness_core::detect::{Detector, Segment, coalesce, detect};

mod common;
use common::Rng;

const TOKENS: [&str; 40] = [
    "const ",
    "let ",
    "x",
    " = ",
    "await ",
    "tools.exec(",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ";",
    "\n",
    "return ",
    "import(",
    "require(",
    "'fs'",
    "\"",
    "`",
    "${",
    "<T>",
    "as ",
    "satisfies ",
    "!",
    "interface I {",
    "enum E {",
    "type T = ",
    "=>",
    "async ",
    "function f",
    "class C {",
    "//",
    "/*",
    "*/",
    "export ",
    "import x from 'y'",
    "é😀",
    "\r\n",
    "0x1_0n",
];

fn cases() -> usize {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

#[test]
fn compile_never_panics_on_token_soup_or_bytes() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for i in 0..cases() {
        let source: String = if i % 4 == 0 {
            let bytes: Vec<u8> = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            (0..rng.below(60))
                .map(|_| TOKENS[rng.below(TOKENS.len())])
                .collect()
        };
        let t = Instant::now();
        for language in [Language::Ts, Language::Js] {
            match compile(&source, language, 20_480) {
                Ok(c) => assert!(
                    c.wrapped.starts_with("(function () {") && c.wrapped.ends_with("})()})")
                ),
                Err(e) => assert!(e.line.is_none_or(|l| l >= 1), "{source:?}: {e:?}"),
            }
        }
        let _ = detect(&source);
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "slow input: {source:?}"
        );
    }
}

/// Sources of 20 KB (the default `maxSourceBytes`) nested as deep as their
/// size allows, compiled on a thread with a small stack: each ends, quickly,
/// as code or as a syntax error, and never overflows the native stack.
#[test]
fn deeply_nested_sources_compile_on_any_thread() {
    let n = 20_000;
    let shapes = [
        "(".repeat(n),
        format!("return {}1{}", "(".repeat(n / 2), ")".repeat(n / 2)),
        format!("return {}{}", "[".repeat(n / 2), "]".repeat(n / 2)),
        format!("{}{}", "{".repeat(n / 2), "}".repeat(n / 2)),
        format!("return {}1", "!".repeat(n)),
        format!("let a; {}1", "a=".repeat(n / 2)),
        format!("let a; return {}1", "a?a:".repeat(n / 4)),
        format!("return {}1", "x=>".repeat(n / 3)),
        format!("return 1{}", "+1".repeat(n / 2)),
        format!("const a: any = {{}}; return a{}", ".b".repeat(n / 2)),
        format!("const f: any = 0; return f{}", "()".repeat(n / 2)),
        format!("return 2{}", "**2".repeat(n / 3)),
        format!(
            "let x: {}number{} = 1",
            "A<".repeat(n / 4),
            ">".repeat(n / 4)
        ),
        format!("return {}1{}", "`${".repeat(n / 5), "}`".repeat(n / 5)),
        format!("let a; {}a", "if(a)a;else ".repeat(n / 12)),
        format!("return tools{}", ".a".repeat(n / 2)),
    ];
    for source in shapes {
        let head: String = source.chars().take(12).collect();
        let t = Instant::now();
        let outcome = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || compile(&source, Language::Ts, 20_480 * 2).map(|c| c.wrapped.len()))
            .unwrap()
            .join()
            .expect("no panic");
        // Output stays proportional to the input (no indentation blow-up).
        if let Ok(len) = outcome {
            assert!(len < 200_000, "{head}: {len} bytes of output");
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{head}: {:?}",
            t.elapsed()
        );
    }
}

#[test]
fn compile_time_grows_linearly() {
    let unit = "const a: number = 1; function f<T>(x: T): T { return x }\n";
    let time = |n: usize| {
        let source = unit.repeat(n);
        let t = Instant::now();
        compile(&source, Language::Ts, u64::MAX).unwrap();
        t.elapsed()
    };
    let small = time(200);
    let big = time(3200);
    // 16x the input in well under 16x16 the time: no quadratic path.
    assert!(
        big < small * 64 + Duration::from_millis(50),
        "{small:?} -> {big:?}"
    );
}

fn check_cover(text: &str, segs: &[Segment]) {
    let mut at = 0;
    for s in segs {
        let (start, end) = s.span();
        assert_eq!(start, at, "{segs:?}");
        at = end;
    }
    assert_eq!(at, text.encode_utf16().count());
}

const PIECES: [&str; 24] = [
    "<tool-calls>",
    "</tool-calls>",
    "<tool-calls id=\"a\">",
    "<tool-calls x>",
    "<tool-callsx>",
    "<tool-",
    "</tool-c",
    "```ts tool-calls\n",
    "```\n",
    "````\n",
    "~~~ts tool-calls\n",
    "~~~\n",
    "```xml\n",
    "`",
    "``",
    "\r\n",
    "\n",
    "é",
    "😀",
    "a b",
    "  ",
    "<",
    "return 1;",
    "&amp;",
];

fn random_markdown(rng: &mut Rng) -> String {
    let n = rng.below(40);
    (0..n).map(|_| PIECES[rng.below(PIECES.len())]).collect()
}

#[test]
fn incremental_agrees_with_one_shot_on_any_chunking() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..cases() {
        let text = random_markdown(&mut rng);
        let whole = detect(&text);
        check_cover(&text, &whole);
        let bytes = text.as_bytes();
        // One byte at a time, and random cuts (through UTF-8 characters too).
        for mode in 0..2 {
            let mut d = Detector::new();
            let mut got = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                let step = if mode == 0 { 1 } else { 1 + rng.below(7) };
                let j = (i + step).min(bytes.len());
                got.extend(d.push(&bytes[i..j]));
                i = j;
            }
            got.extend(d.finish());
            assert_eq!(coalesce(got), whole, "text: {text:?}");
        }
    }
}
