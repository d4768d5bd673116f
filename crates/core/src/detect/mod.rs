//! Finding the scripts a model meant to run in its free text.
//!
//! One scanner ([`Detector`]) does all the work and takes text in chunks of
//! any size, bytes included; [`detect`] is that scanner fed once. Rules (the
//! contract's "Detection rules"):
//!
//! - `<tool-calls>` opens a script, optionally with attributes (read with
//!   quick-xml), case-sensitive; the first `</tool-calls>` after it closes
//!   it, wherever it stands. The body is raw text: no entity decoding, CRLF
//!   kept; one line break right after the opening tag is not part of it.
//! - A fenced block (CommonMark: 3+ backticks or tildes, up to 3 spaces of
//!   indent, closed by the same character at least as long) whose info
//!   string is `ts|typescript|js|javascript` followed by `tool-calls` is a
//!   script. Every other fenced block is text, tags and all.
//! - An inline code span (a backtick run closed by a run of the same length
//!   on the same line) is text, tags and all.
//! - An opening tag inside a script is `nested`; the whole block, up to the
//!   closer that balances the outer opener, is a problem and never runs. A
//!   script still open at the end of the text is `unclosed`; a closing tag
//!   outside any script is `stray`. Problems keep their text.
//!
//! Offsets count UTF-16 code units, as JavaScript strings do.

mod blocks;
mod scanner;

pub use scanner::Detector;
use serde::Serialize;

use crate::compile::Language;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Form {
    Tag,
    Fence,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProblemKind {
    Nested,
    Unclosed,
    Stray,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Nested => "nested",
            ProblemKind::Unclosed => "unclosed",
            ProblemKind::Stray => "stray",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Segment {
    Text {
        text: String,
        start: usize,
        end: usize,
    },
    Script {
        source: String,
        #[serde(serialize_with = "language_str")]
        language: Language,
        start: usize,
        end: usize,
        #[serde(serialize_with = "attributes_map")]
        attributes: Vec<(String, String)>,
        form: Form,
    },
    Problem {
        kind: ProblemKind,
        text: String,
        start: usize,
        end: usize,
    },
}

fn language_str<S: serde::Serializer>(l: &Language, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(l.as_str())
}

fn attributes_map<S: serde::Serializer>(
    attrs: &[(String, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(attrs.len()))?;
    for (k, v) in attrs {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

impl Segment {
    pub fn span(&self) -> (usize, usize) {
        match self {
            Segment::Text { start, end, .. }
            | Segment::Script { start, end, .. }
            | Segment::Problem { start, end, .. } => (*start, *end),
        }
    }
}

/// Split `text` into ordered text, script and problem segments.
pub fn detect(text: &str) -> Vec<Segment> {
    let mut d = Detector::new();
    let mut out = d.push(text.as_bytes());
    out.extend(d.finish());
    coalesce(out)
}

/// Merge adjacent text segments (a stream releases text in pieces).
pub fn coalesce(segments: Vec<Segment>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::with_capacity(segments.len());
    for s in segments {
        if let (
            Some(Segment::Text { text, end, .. }),
            Segment::Text {
                text: more,
                end: e2,
                ..
            },
        ) = (out.last_mut(), &s)
        {
            text.push_str(more);
            *end = *e2;
            continue;
        }
        if let Segment::Text { text, .. } = &s
            && text.is_empty()
        {
            continue;
        }
        out.push(s);
    }
    out
}

#[cfg(test)]
mod tests;
