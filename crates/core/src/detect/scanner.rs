//! The incremental scanner behind [`super::detect`]. It holds back only what
//! may still turn out to be part of a tag, a fence line or a code span, and
//! decides everything else as soon as it arrives.

use quick_xml::events::BytesStart;

use super::blocks::{self, LineContext, LineKind};
use super::{Form, ProblemKind, Segment};
use crate::compile::Language;

const OPEN: &str = "<tool-calls";
const CLOSE: &str = "</tool-calls>";
/// An opening tag longer than this (attributes included) is text.
const MAX_TAG_BYTES: usize = 1024;

enum State {
    Text,
    /// A line of an indented code block: text until its end.
    CodeLine,
    /// An ordinary fenced block: text until its closing fence line.
    Fence {
        ch: u8,
        len: usize,
    },
    /// `buf` starts at `<tool-calls`; the body starts at byte `body`.
    TagScript {
        body: usize,
        attrs: Vec<(String, String)>,
    },
    /// `buf` starts at the fence line; the body starts at byte `body`.
    FenceScript {
        ch: u8,
        len: usize,
        body: usize,
        language: Language,
    },
    /// `buf` starts at the outer opening tag.
    Nested {
        depth: usize,
    },
}

enum Step {
    Progress,
    Stall,
}

enum Tag {
    NeedMore,
    Text,
    Open {
        len: usize,
        attrs: Vec<(String, String)>,
    },
    Stray {
        len: usize,
    },
}

/// Feed it chunks with [`Detector::push`], then call [`Detector::finish`].
/// The segments it returns, concatenated and coalesced, are exactly what
/// [`super::detect`] returns for the whole text.
pub struct Detector {
    /// Input not yet handed out starts at `buf[head]`; the decided prefix
    /// is dropped once per push, not per segment (that would be quadratic).
    buf: String,
    head: usize,
    /// UTF-16 offset of `buf[0]` in the whole input.
    base: usize,
    /// An incomplete UTF-8 sequence from the end of the last chunk.
    partial: Vec<u8>,
    state: State,
    /// Whether `buf[0]` starts a line.
    line_start: bool,
    /// Byte offset in `buf` before which the current search found nothing.
    scan: usize,
    /// The lines handed out so far, for indented code blocks: the last
    /// complete one, and the one `buf[0]` is in.
    lines: LineContext,
    line_has_text: bool,
    line_is_code: bool,
    /// Whether the line `buf[0]` is in, as far as it was handed out, is a
    /// paragraph line (judged on its first piece).
    line_is_paragraph: bool,
}

impl Default for Detector {
    fn default() -> Self {
        Self::new()
    }
}

impl Detector {
    pub fn new() -> Detector {
        Detector {
            buf: String::new(),
            head: 0,
            base: 0,
            partial: Vec::new(),
            state: State::Text,
            line_start: true,
            scan: 0,
            lines: LineContext::default(),
            line_has_text: false,
            line_is_code: false,
            line_is_paragraph: false,
        }
    }

    /// Take the next chunk; returns the segments it decided.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Segment> {
        let joined;
        let mut rest: &[u8] = if self.partial.is_empty() {
            chunk
        } else {
            let mut bytes = std::mem::take(&mut self.partial);
            bytes.extend_from_slice(chunk);
            joined = bytes;
            &joined
        };
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    self.buf.push_str(s);
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    self.buf
                        .push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match e.error_len() {
                        None => {
                            self.partial = after.to_vec();
                            break;
                        }
                        Some(n) => {
                            self.buf.push('\u{FFFD}');
                            rest = &after[n..];
                        }
                    }
                }
            }
        }
        let mut out = Vec::new();
        self.advance(false, &mut out);
        self.buf.drain(..self.head);
        self.head = 0;
        out
    }

    /// The input ended: decide everything still held.
    pub fn finish(&mut self) -> Vec<Segment> {
        if !self.partial.is_empty() {
            let tail = String::from_utf8_lossy(&std::mem::take(&mut self.partial)).into_owned();
            self.buf.push_str(&tail);
        }
        let mut out = Vec::new();
        self.advance(true, &mut out);
        let len = self.rest().len();
        if len > 0 {
            match std::mem::replace(&mut self.state, State::Text) {
                State::Text | State::CodeLine | State::Fence { .. } => {
                    self.emit_text(len, &mut out)
                }
                State::TagScript { .. } | State::FenceScript { .. } => {
                    self.emit_problem(ProblemKind::Unclosed, len, &mut out)
                }
                State::Nested { .. } => self.emit_problem(ProblemKind::Nested, len, &mut out),
            }
        }
        self.buf.clear();
        self.head = 0;
        out
    }

    fn advance(&mut self, last: bool, out: &mut Vec<Segment>) {
        loop {
            let step = match self.state {
                State::Text => self.step_text(last, out),
                State::CodeLine => self.step_code_line(last, out),
                State::Fence { ch, len } => self.step_fence(ch, len, last, out),
                State::TagScript { body, .. } => self.step_tag_script(body, out),
                State::FenceScript {
                    ch,
                    len,
                    body,
                    language,
                } => self.step_fence_script(ch, len, body, language, last, out),
                State::Nested { depth } => self.step_nested(depth, out),
            };
            if let Step::Stall = step {
                return;
            }
        }
    }

    /// Remove `n` bytes from the front of `buf`: their text and UTF-16 span.
    fn rest(&self) -> &str {
        &self.buf[self.head..]
    }

    fn take(&mut self, n: usize) -> (String, usize, usize) {
        let text = self.buf[self.head..self.head + n].to_owned();
        self.track_lines(text.as_bytes());
        self.head += n;
        let start = self.base;
        self.base += utf16_len(&text);
        self.scan = 0;
        (text, start, self.base)
    }

    fn emit_text(&mut self, n: usize, out: &mut Vec<Segment>) {
        if n == 0 {
            return;
        }
        let (text, start, end) = self.take(n);
        self.line_start = text.ends_with('\n');
        out.push(Segment::Text { text, start, end });
    }

    fn emit_problem(&mut self, kind: ProblemKind, n: usize, out: &mut Vec<Segment>) {
        let (text, start, end) = self.take(n);
        self.line_start = text.ends_with('\n');
        out.push(Segment::Problem {
            kind,
            text,
            start,
            end,
        });
    }

    /// Note the lines of text handed out, for [`Self::line_context`].
    fn track_lines(&mut self, text: &[u8]) {
        let Some(end) = memchr::memrchr(b'\n', text) else {
            self.note_piece(text);
            return;
        };
        let begun_here = memchr::memrchr(b'\n', &text[..end]);
        let start = begun_here.map_or(0, |i| i + 1);
        let line = &text[start..end];
        if begun_here.is_some() {
            self.line_has_text = false;
        }
        self.note_piece(line);
        self.lines.prev_blank = !self.line_has_text;
        self.lines.prev_code = self.line_is_code && begun_here.is_none();
        self.lines.prev_paragraph = self.line_is_paragraph && !self.lines.prev_code;
        self.line_is_code = false;
        self.line_has_text = false;
        self.line_is_paragraph = false;
        self.note_piece(&text[end + 1..]);
    }

    /// A piece of the current line was handed out.
    fn note_piece(&mut self, piece: &[u8]) {
        if !self.line_has_text && !blocks::is_blank(piece) {
            self.line_has_text = true;
            self.line_is_paragraph = blocks::is_paragraph_line(piece);
        }
    }

    /// What is known of the lines before the one starting at byte `at` of
    /// the undecided text.
    fn line_context(&self, at: usize) -> LineContext {
        if at == 0 {
            return self.lines;
        }
        let before = &self.rest().as_bytes()[..at - 1];
        let (prev_blank, prev_paragraph, prev_code) = match memchr::memrchr(b'\n', before) {
            Some(nl) => {
                let line = &before[nl + 1..];
                (
                    blocks::is_blank(line),
                    blocks::is_paragraph_line(line),
                    false,
                )
            }
            None if self.line_has_text => (false, self.line_is_paragraph, self.line_is_code),
            None => (
                blocks::is_blank(before),
                blocks::is_paragraph_line(before),
                self.line_is_code,
            ),
        };
        LineContext {
            prev_blank,
            prev_paragraph: prev_paragraph && !prev_code,
            prev_code,
            ..self.lines
        }
    }

    fn step_code_line(&mut self, last: bool, out: &mut Vec<Segment>) -> Step {
        let len = self.rest().len();
        if len == 0 {
            return Step::Stall;
        }
        match self.rest().find('\n') {
            Some(e) => {
                self.emit_text(e + 1, out);
                self.state = State::Text;
                Step::Progress
            }
            None => {
                self.emit_text(len, out);
                if last {
                    self.state = State::Text;
                    return Step::Progress;
                }
                Step::Stall
            }
        }
    }

    fn step_text(&mut self, last: bool, out: &mut Vec<Segment>) -> Step {
        let len = self.rest().len();
        if len == 0 {
            return Step::Stall;
        }
        let at_line_start = if self.scan == 0 {
            self.line_start
        } else {
            self.rest().as_bytes()[self.scan - 1] == b'\n'
        };
        if at_line_start {
            let at = self.scan;
            let mut context = self.line_context(at);
            match blocks::classify(&self.rest()[at..], last, &mut context) {
                LineKind::NeedMore => {
                    self.emit_text(at, out);
                    return Step::Stall;
                }
                LineKind::Code => {
                    self.emit_text(at, out);
                    self.line_is_code = true;
                    self.state = State::CodeLine;
                    return Step::Progress;
                }
                LineKind::Other => self.lines.list_indent = context.list_indent,
            }
            match self.fence_opening(at, last) {
                FenceLine::NeedMore => {
                    self.emit_text(at, out);
                    return Step::Stall;
                }
                FenceLine::Script {
                    ch,
                    len: run,
                    end,
                    language,
                } => {
                    self.emit_text(at, out);
                    self.state = State::FenceScript {
                        ch,
                        len: run,
                        body: end - at,
                        language,
                    };
                    self.scan = end - at;
                    return Step::Progress;
                }
                FenceLine::Plain { ch, len: run, end } => {
                    self.emit_text(end, out);
                    self.state = State::Fence { ch, len: run };
                    return Step::Progress;
                }
                FenceLine::No => {}
            }
        }
        let mut pos = self.scan;
        loop {
            let bytes = self.rest().as_bytes();
            let Some(k) = memchr::memchr3(b'<', b'`', b'\n', &bytes[pos..]) else {
                self.emit_text(len, out);
                return Step::Stall;
            };
            let at = pos + k;
            match bytes[at] {
                // The next line is looked at before anything is handed out,
                // so plain text leaves in large pieces.
                b'\n' => {
                    self.scan = at + 1;
                    return Step::Progress;
                }
                b'`' => {
                    let line_end = memchr::memchr(b'\n', &bytes[at..]).map(|e| e + at);
                    let limit = line_end.unwrap_or(len);
                    let run = run_len(&bytes[at..limit], b'`');
                    let open_line = line_end.is_none() && !last;
                    match find_run(&bytes[at + run..limit], b'`', run) {
                        // A run that ends where the input does may still grow.
                        Some(close) if !(open_line && at + run + close + run == limit) => {
                            pos = at + run + close + run
                        }
                        _ if open_line => {
                            // The span may still close on this line.
                            self.emit_text(at, out);
                            return Step::Stall;
                        }
                        _ => pos = at + run,
                    }
                }
                _ => match classify_tag(&self.rest()[at..], last) {
                    Tag::NeedMore => {
                        self.emit_text(at, out);
                        return Step::Stall;
                    }
                    Tag::Text => pos = at + 1,
                    Tag::Open {
                        len: tag_len,
                        attrs,
                    } => {
                        self.emit_text(at, out);
                        self.state = State::TagScript {
                            body: tag_len,
                            attrs,
                        };
                        self.scan = tag_len;
                        return Step::Progress;
                    }
                    Tag::Stray { len: tag_len } => {
                        self.emit_text(at, out);
                        self.emit_problem(ProblemKind::Stray, tag_len, out);
                        return Step::Progress;
                    }
                },
            }
        }
    }

    /// Whether the line at byte `at` of the undecided text opens a fenced
    /// block; offsets in the answer count from the start of that text.
    fn fence_opening(&self, at: usize, last: bool) -> FenceLine {
        let line = &self.rest()[at..];
        match Self::fence_line(line, last) {
            FenceLine::Plain { ch, len, end } => FenceLine::Plain {
                ch,
                len,
                end: end + at,
            },
            FenceLine::Script {
                ch,
                len,
                end,
                language,
            } => FenceLine::Script {
                ch,
                len,
                end: end + at,
                language,
            },
            other => other,
        }
    }

    fn fence_line(text: &str, last: bool) -> FenceLine {
        let bytes = text.as_bytes();
        let len = bytes.len();
        let mut i = 0;
        while i < 3 && i < len && bytes[i] == b' ' {
            i += 1;
        }
        if i < len && bytes[i] != b'`' && bytes[i] != b'~' {
            return FenceLine::No;
        }
        let line_end = memchr::memchr(b'\n', bytes);
        if i == len {
            return if last || line_end.is_some() {
                FenceLine::No
            } else {
                FenceLine::NeedMore
            };
        }
        let ch = bytes[i];
        if ch != b'`' && ch != b'~' {
            return FenceLine::No;
        }
        let run = run_len(&bytes[i..], ch);
        if line_end.is_none() && !last && (run >= 3 || i + run == len) {
            return FenceLine::NeedMore;
        }
        if run < 3 {
            return FenceLine::No;
        }
        let content_end = line_end.unwrap_or(len);
        let end = line_end.map_or(len, |e| e + 1);
        let info = text[i + run..content_end].trim();
        if ch == b'`' && info.contains('`') {
            return FenceLine::No;
        }
        match script_language(info) {
            Some(language) => FenceLine::Script {
                ch,
                len: run,
                end,
                language,
            },
            None => FenceLine::Plain { ch, len: run, end },
        }
    }

    fn step_fence(&mut self, ch: u8, min: usize, last: bool, out: &mut Vec<Segment>) -> Step {
        let len = self.rest().len();
        if len == 0 {
            return Step::Stall;
        }
        match self.rest().find('\n') {
            Some(e) => {
                if is_closing_fence(&self.rest()[..e], ch, min) {
                    self.state = State::Text;
                }
                self.emit_text(e + 1, out);
                Step::Progress
            }
            None if last => {
                self.emit_text(len, out);
                self.state = State::Text;
                Step::Progress
            }
            None => Step::Stall,
        }
    }

    fn step_fence_script(
        &mut self,
        ch: u8,
        min: usize,
        body: usize,
        language: Language,
        last: bool,
        out: &mut Vec<Segment>,
    ) -> Step {
        let mut line = self.scan.max(body);
        loop {
            let next = self.rest()[line..].find('\n').map(|e| e + line);
            let content_end = match next {
                Some(e) => e,
                None if last && line < self.rest().len() => self.rest().len(),
                None => {
                    self.scan = line;
                    return Step::Stall;
                }
            };
            if is_closing_fence(&self.rest()[line..content_end], ch, min) {
                let total = next.map_or(content_end, |e| e + 1);
                let source = self.rest()[body..line].to_owned();
                let (_, start, end) = self.take(total);
                self.line_start = next.is_some();
                self.state = State::Text;
                out.push(Segment::Script {
                    source,
                    language,
                    start,
                    end,
                    attributes: Vec::new(),
                    form: Form::Fence,
                });
                return Step::Progress;
            }
            match next {
                Some(e) => line = e + 1,
                None => {
                    self.scan = self.rest().len();
                    return Step::Stall;
                }
            }
        }
    }

    fn step_tag_script(&mut self, body: usize, out: &mut Vec<Segment>) -> Step {
        match find_marker(self.rest(), self.scan.max(body)) {
            Marker::Close(at) => {
                let mut source = &self.rest()[body..at];
                source = source
                    .strip_prefix("\r\n")
                    .or_else(|| source.strip_prefix('\n'))
                    .unwrap_or(source);
                let source = source.to_owned();
                let State::TagScript { attrs, .. } =
                    std::mem::replace(&mut self.state, State::Text)
                else {
                    unreachable!("step_tag_script runs in TagScript")
                };
                let (_, start, end) = self.take(at + CLOSE.len());
                self.line_start = false;
                out.push(Segment::Script {
                    source,
                    language: Language::Ts,
                    start,
                    end,
                    attributes: attrs,
                    form: Form::Tag,
                });
                Step::Progress
            }
            Marker::Open(at) => {
                self.state = State::Nested { depth: 2 };
                self.scan = at + OPEN.len();
                Step::Progress
            }
            Marker::None(resume) => {
                self.scan = resume.max(body);
                Step::Stall
            }
        }
    }

    fn step_nested(&mut self, depth: usize, out: &mut Vec<Segment>) -> Step {
        match find_marker(self.rest(), self.scan) {
            Marker::Close(at) if depth == 1 => {
                self.state = State::Text;
                self.emit_problem(ProblemKind::Nested, at + CLOSE.len(), out);
                self.line_start = false;
                Step::Progress
            }
            Marker::Close(at) => {
                self.state = State::Nested { depth: depth - 1 };
                self.scan = at + CLOSE.len();
                Step::Progress
            }
            Marker::Open(at) => {
                self.state = State::Nested { depth: depth + 1 };
                self.scan = at + OPEN.len();
                Step::Progress
            }
            Marker::None(resume) => {
                self.scan = resume;
                Step::Stall
            }
        }
    }
}

enum FenceLine {
    NeedMore,
    No,
    Plain {
        ch: u8,
        len: usize,
        end: usize,
    },
    Script {
        ch: u8,
        len: usize,
        end: usize,
        language: Language,
    },
}

enum Marker {
    Open(usize),
    Close(usize),
    /// Nothing complete; searching again may start at this offset.
    None(usize),
}

/// The next complete `<tool-calls` opener (followed by whitespace or `>`)
/// or `</tool-calls>` closer at or after `from`.
fn find_marker(buf: &str, from: usize) -> Marker {
    let bytes = buf.as_bytes();
    let mut pos = from;
    while let Some(k) = buf[pos..].find('<') {
        let at = pos + k;
        let rest = &buf[at..];
        if rest.starts_with(CLOSE) {
            return Marker::Close(at);
        }
        if rest.starts_with(OPEN) {
            match bytes.get(at + OPEN.len()) {
                Some(b'>' | b' ' | b'\t' | b'\r' | b'\n') => return Marker::Open(at),
                None => return Marker::None(at),
                Some(_) => {}
            }
        } else if CLOSE.starts_with(rest) || OPEN.starts_with(rest) {
            return Marker::None(at);
        }
        pos = at + 1;
    }
    Marker::None(buf.len())
}

fn classify_tag(s: &str, last: bool) -> Tag {
    if s.starts_with(CLOSE) {
        return Tag::Stray { len: CLOSE.len() };
    }
    if !last && s.len() < CLOSE.len() && CLOSE.starts_with(s) {
        return Tag::NeedMore;
    }
    if let Some(rest) = s.strip_prefix(OPEN) {
        let Some(c) = rest.chars().next() else {
            return if last { Tag::Text } else { Tag::NeedMore };
        };
        if c == '>' {
            return Tag::Open {
                len: OPEN.len() + 1,
                attrs: Vec::new(),
            };
        }
        if !c.is_ascii_whitespace() {
            return Tag::Text;
        }
        let window = &rest[..rest.len().min(MAX_TAG_BYTES)];
        return match window.find(['>', '<']) {
            Some(k) if window.as_bytes()[k] == b'>' => match attributes(&s[1..OPEN.len() + k]) {
                Some(attrs) => Tag::Open {
                    len: OPEN.len() + k + 1,
                    attrs,
                },
                None => Tag::Text,
            },
            Some(_) => Tag::Text,
            None if last || rest.len() >= MAX_TAG_BYTES => Tag::Text,
            None => Tag::NeedMore,
        };
    }
    if !last && OPEN.starts_with(s) {
        return Tag::NeedMore;
    }
    Tag::Text
}

/// The attributes of `tool-calls a="1" b='2'` (the tag without `<` `>`),
/// read by quick-xml; `None` when they are not well-formed.
fn attributes(inner: &str) -> Option<Vec<(String, String)>> {
    if inner.trim_end().ends_with('/') {
        return None;
    }
    let start = BytesStart::from_content(inner, "tool-calls".len());
    let mut out = Vec::new();
    for attr in start.attributes().with_checks(true) {
        let attr = attr.ok()?;
        let key: String = attr.key.as_ref().to_owned();
        let value = match attr.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
            Ok(v) => v.into_owned(),
            Err(_) => attr.value.clone().into_owned(),
        };
        out.push((key, value));
    }
    Some(out)
}

fn script_language(info: &str) -> Option<Language> {
    let mut words = info.split_ascii_whitespace();
    let lang = words.next()?;
    if words.next()? != "tool-calls" || words.next().is_some() {
        return None;
    }
    match lang {
        "ts" | "typescript" => Some(Language::Ts),
        "js" | "javascript" => Some(Language::Js),
        _ => None,
    }
}

fn is_closing_fence(line: &str, ch: u8, min: usize) -> bool {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < 3 && i < bytes.len() && bytes[i] == b' ' {
        i += 1;
    }
    let run = run_len(&bytes[i..], ch);
    run >= min && line[i + run..].chars().all(|c| c == ' ' || c == '\t')
}

/// UTF-16 length of UTF-8 text: one unit per character, two for those
/// outside the BMP (4-byte sequences). Counted over bytes so it vectorizes.
fn utf16_len(text: &str) -> usize {
    text.as_bytes()
        .iter()
        .map(|&b| usize::from((b & 0xC0) != 0x80) + usize::from(b >= 0xF0))
        .sum()
}

fn run_len(bytes: &[u8], ch: u8) -> usize {
    bytes.iter().take_while(|b| **b == ch).count()
}

/// Offset of the first run of exactly `n` `ch` bytes in `bytes`.
fn find_run(bytes: &[u8], ch: u8, n: usize) -> Option<usize> {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == ch {
            let run = run_len(&bytes[i..], ch);
            if run == n {
                return Some(i);
            }
            i += run;
        } else {
            i += 1;
        }
    }
    None
}
