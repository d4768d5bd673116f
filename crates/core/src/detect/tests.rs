use super::*;

fn scripts(text: &str) -> Vec<String> {
    detect(text)
        .into_iter()
        .filter_map(|s| match s {
            Segment::Script { source, .. } => Some(source),
            _ => None,
        })
        .collect()
}

fn kinds(text: &str) -> Vec<String> {
    detect(text)
        .into_iter()
        .map(|s| match s {
            Segment::Text { .. } => "text".to_owned(),
            Segment::Script { form, .. } => format!("script:{form:?}"),
            Segment::Problem { kind, .. } => format!("problem:{kind:?}"),
        })
        .collect()
}

#[test]
fn finds_tag_and_fence_scripts() {
    let text = "Before\n<tool-calls>\nreturn 1\n</tool-calls>\nmiddle\n```ts tool-calls\nreturn 2\n```\nafter";
    assert_eq!(scripts(text), ["return 1\n", "return 2\n"]);
    assert_eq!(
        kinds(text),
        ["text", "script:Tag", "text", "script:Fence", "text"]
    );
}

#[test]
fn reads_attributes_and_languages() {
    let segs = detect(
        "<tool-calls id=\"lint-1\" mode='x &amp; y'>return 1</tool-calls>\n~~~~js tool-calls\nreturn 2\n~~~~",
    );
    match &segs[0] {
        Segment::Script {
            attributes,
            language,
            ..
        } => {
            assert_eq!(
                attributes,
                &[
                    ("id".to_owned(), "lint-1".to_owned()),
                    ("mode".to_owned(), "x & y".to_owned())
                ]
            );
            assert_eq!(*language, Language::Ts);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        segs.last(),
        Some(Segment::Script {
            language: Language::Js,
            form: Form::Fence,
            ..
        })
    ));
}

#[test]
fn examples_in_code_are_text() {
    let text = "```xml\n<tool-calls>\nreturn 1\n</tool-calls>\n```\nInline `<tool-calls>` and ``</tool-calls>`` too.";
    assert_eq!(kinds(text), ["text"]);
    assert_eq!(scripts("```ts\nconst a = 1\n```\n"), Vec::<String>::new());
}

#[test]
fn bodies_are_raw() {
    let body =
        "const s = \"</div>\" && a < b; const t = `<x>`; // &amp;\r\nreturn f<string>(s)\r\n";
    assert_eq!(
        scripts(&format!("<tool-calls>\r\n{body}</tool-calls>")),
        [body]
    );
}

#[test]
fn reports_nested_unclosed_and_stray_blocks() {
    assert_eq!(
        kinds("a <tool-calls> x <tool-calls> y </tool-calls> z </tool-calls> b"),
        ["text", "problem:Nested", "text"]
    );
    assert_eq!(
        kinds("a\n<tool-calls>\nreturn 1"),
        ["text", "problem:Unclosed"]
    );
    assert_eq!(
        kinds("a </tool-calls> b"),
        ["text", "problem:Stray", "text"]
    );
    assert_eq!(kinds("```ts tool-calls\nreturn 1\n"), ["problem:Unclosed"]);
    assert_eq!(kinds("<tool-calls></tool-calls>"), ["script:Tag"]);
}

#[test]
fn spans_count_utf16_and_cover_the_input() {
    let text = "é😀 <tool-calls>x</tool-calls>\r\n👍";
    let segs = detect(text);
    check_cover(text, &segs);
    assert_eq!(segs[1].span(), (4, 4 + "<tool-calls>x</tool-calls>".len()));
}

fn check_cover(text: &str, segs: &[Segment]) {
    let mut at = 0;
    for s in segs {
        let (start, end) = s.span();
        assert_eq!(start, at, "{segs:?}");
        assert!(end >= start);
        at = end;
    }
    assert_eq!(at, text.encode_utf16().count());
}

#[test]
fn text_is_released_as_soon_as_it_cannot_start_a_tag() {
    let mut d = Detector::new();
    let out = d.push(b"Hello there <tool");
    assert_eq!(
        coalesce(out),
        vec![Segment::Text {
            text: "Hello there ".into(),
            start: 0,
            end: 12
        }]
    );
    let out = d.push(b"box> and more");
    assert_eq!(
        coalesce(out),
        vec![Segment::Text {
            text: "<toolbox> and more".into(),
            start: 12,
            end: 30
        }]
    );
    // A script is emitted the moment its closing tag completes.
    let out = d.push(b"\n<tool-calls>return 1</tool-calls");
    assert!(out.iter().all(|s| !matches!(s, Segment::Script { .. })));
    let out = d.push(b">");
    assert!(matches!(out.as_slice(), [Segment::Script { .. }]));
}

#[test]
fn no_quadratic_blowup_on_long_inputs() {
    let big = format!("<tool-calls>{}</tool-calls>", "x < y; ".repeat(150_000));
    let t = std::time::Instant::now();
    let mut d = Detector::new();
    for chunk in big.as_bytes().chunks(3) {
        d.push(chunk);
    }
    d.finish();
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t.elapsed()
    );
}

/// `cargo test --release -p script-harness-core -- --ignored detect_throughput --nocapture`
#[test]
#[ignore]
#[allow(clippy::print_stderr)] // a measurement: it prints its figures
fn detect_throughput() {
    let para = "The parser handles `inline code` and <b>tags</b> & such; lines wrap here.\n";
    let mut text = String::new();
    while text.len() < 1_000_000 {
        text.push_str(para);
        if text.len() % 50_000 < 80 {
            text.push_str("<tool-calls>\nreturn 1\n</tool-calls>\n```ts\nconst x = 1\n```\n");
        }
    }
    let mut best = f64::MAX;
    for _ in 0..20 {
        let t = std::time::Instant::now();
        let segs = detect(&text);
        std::hint::black_box(segs);
        best = best.min(t.elapsed().as_secs_f64());
    }
    eprintln!("detect: {:.0} MB/s", text.len() as f64 / 1e6 / best);
}
