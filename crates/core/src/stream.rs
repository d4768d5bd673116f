//! Streamed turns: a provider's stream events, one at a time, assembled into
//! the whole response [`crate::turns::plan`] reads, while the text that is
//! safe to show and each script whose closing tag arrived are released at
//! once. Pure and napi-free, next to `turns`, so that every provider shape
//! lives in one crate; the host only runs the scripts it is handed.
//!
//! Where a JavaScript assembler would have stored an event under an index
//! that is not one (`items[undefined]`), the event's bookkeeping is skipped:
//! such a slot never reached the response there either. Text is never
//! dropped that way: a text delta is shown and scanned for scripts whatever
//! its indexes. An index that is an integer but above [`MAX_INDEX`] is
//! refused, so that what one event can make the assembler hold stays
//! bounded (items, blocks, content parts and tool calls are kept sparse;
//! holes never reach the response).
//! An event refused changes nothing.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::detect::{Detector, Segment};
use crate::turns::ApiFormat;

/// The largest output, content, block or tool-call index an event may carry.
/// Real turns stay in the tens; a larger one is a broken or hostile stream,
/// and refusing it bounds the holes one event could make the assembler fill
/// (an index is never used to size anything past this).
pub const MAX_INDEX: usize = 10_000;

/// What one pushed event released: the text to show now (held-back text
/// included once it is known to be text) and the script sources whose
/// closing tag arrived, in order. Problem text (an unclosed or nested block)
/// is shown like any text: the model wrote it and it never runs.
#[derive(Debug, Default, PartialEq, Serialize)]
pub struct Released {
    pub text: String,
    pub scripts: Vec<String>,
}

impl Released {
    fn take(&mut self, segments: Vec<Segment>) {
        for segment in segments {
            match segment {
                Segment::Script { source, .. } => self.scripts.push(source),
                Segment::Text { text, .. } | Segment::Problem { text, .. } => {
                    self.text.push_str(&text);
                }
            }
        }
    }
}

/// One Chat Completions tool call, put together from its deltas.
#[derive(Default)]
struct ToolCall {
    id: String,
    name: String,
    arguments: String,
}

/// The Chat Completions assistant message so far; `None` is a field no
/// delta carried, which the response gives as `null` or leaves out.
#[derive(Default)]
struct Chat {
    content: Option<String>,
    reasoning: Option<String>,
    refusal: Option<String>,
    tool_calls: BTreeMap<usize, ToolCall>,
}

/// A Messages API content block as started, with the tool input JSON
/// received so far (kept apart, so it never leaks into the block).
struct Block {
    value: Value,
    partial: Option<String>,
}

/// Assembles one streamed turn of one API format. Feed it every event with
/// [`TurnAssembler::push`], call [`TurnAssembler::finish`] when the stream
/// ends, then take [`TurnAssembler::response`].
pub struct TurnAssembler {
    format: ApiFormat,
    /// One detector per text part still open, keyed as the JavaScript
    /// assembler keyed them (`"{output_index}:{content_index}"`, `content`,
    /// the block index), with the order they opened in: parts finished
    /// together release their held text in that order.
    detectors: HashMap<String, (u64, Detector)>,
    opened: u64,
    /// Responses: output items by index (sparse: holes never reach the
    /// response), and the final output a completed event carried.
    items: BTreeMap<usize, Value>,
    /// Responses: content parts announced by `content_part.added`, by
    /// (output index, content index), kept apart from their items until the
    /// response is built: sparse, so an index far ahead costs one entry
    /// (padding each item's array up to it let 60 KB of events take
    /// gigabytes).
    parts: BTreeMap<(usize, usize), Value>,
    final_output: Option<Vec<Value>>,
    chat: Chat,
    /// Messages: content blocks by index (sparse, as items).
    blocks: BTreeMap<usize, Block>,
}

impl TurnAssembler {
    pub fn new(format: ApiFormat) -> Self {
        TurnAssembler {
            format,
            detectors: HashMap::new(),
            opened: 0,
            items: BTreeMap::new(),
            parts: BTreeMap::new(),
            final_output: None,
            chat: Chat::default(),
            blocks: BTreeMap::new(),
        }
    }

    /// One provider stream event (already parsed JSON). `Err(why)` for an
    /// event that is not of this format or is malformed where it matters;
    /// the host throws `TypeError("event: " + why)`, and the event changed
    /// nothing. Events of the format that carry nothing for the turn
    /// (`response.created`, `ping`, ...) release nothing.
    ///
    /// Pushing after [`TurnAssembler::finish`] is allowed (a text part then
    /// opens afresh); refusing it is the host's business.
    pub fn push(&mut self, event: &Value) -> Result<Released, String> {
        // An array passes JavaScript's `typeof event === 'object'` and is
        // then refused for its missing type, as there.
        if !(event.is_object() || event.is_array()) {
            return Err("must be an object".into());
        }
        let mut out = Released::default();
        match self.format {
            ApiFormat::Responses => self.push_responses(event, &mut out)?,
            ApiFormat::Chat => self.push_chat(event, &mut out)?,
            ApiFormat::Messages => self.push_messages(event, &mut out)?,
        }
        Ok(out)
    }

    /// The stream ended: every text part still open is finished, releasing
    /// what its detector held back (a trailing `<`, an unclosed block).
    /// Idempotent: a second call releases nothing.
    pub fn finish(&mut self) -> Released {
        let mut out = Released::default();
        self.finish_all(&mut out);
        out
    }

    /// The assembled response, in the shape [`crate::turns::plan`] takes
    /// for this format: Responses, the output item array, or the final
    /// `response.output` a completed, incomplete or failed event carried;
    /// Chat, the assistant message `{role, content, refusal,
    /// reasoning_content?, tool_calls?}`; Messages, the content block array,
    /// tool inputs parsed from their JSON, or kept as `partial_json` with
    /// `input: {}` when the stream cut them short. It reads the state and
    /// may be taken at any time; call [`TurnAssembler::finish`] first for
    /// the end of a stream.
    pub fn response(&self) -> Value {
        match self.format {
            ApiFormat::Responses => match &self.final_output {
                Some(output) => Value::Array(output.clone()),
                None => Value::Array(
                    self.items
                        .iter()
                        .map(|(&i, item)| self.with_parts(i, item))
                        .collect(),
                ),
            },
            ApiFormat::Chat => self.chat_message(),
            ApiFormat::Messages => Value::Array(
                self.blocks
                    .values()
                    .map(|b| {
                        let mut value = b.value.clone();
                        if is_tool_use(&value) || b.partial.is_some() {
                            assemble_tool_input(&mut value, b.partial.clone());
                        }
                        value
                    })
                    .collect(),
            ),
        }
    }

    /// Item `i` with the parts announced for it in place: its own content
    /// entries and the announced parts by index, holes left out.
    fn with_parts(&self, i: usize, item: &Value) -> Value {
        let mut announced = self.parts.range((i, 0)..=(i, usize::MAX)).peekable();
        if announced.peek().is_none() {
            return item.clone();
        }
        let mut item = item.clone();
        let mut content: BTreeMap<usize, Value> = match item.get("content") {
            Some(Value::Array(own)) => own.iter().cloned().enumerate().collect(),
            _ => BTreeMap::new(),
        };
        for (&(_, ci), part) in announced {
            content.insert(ci, part.clone());
        }
        if let Value::Object(fields) = &mut item {
            fields.insert(
                "content".into(),
                Value::Array(content.into_values().collect()),
            );
        }
        item
    }

    fn feed(&mut self, key: String, text: &str, out: &mut Released) {
        let opened = &mut self.opened;
        let (_, detector) = self.detectors.entry(key).or_insert_with(|| {
            *opened += 1;
            (*opened, Detector::new())
        });
        out.take(detector.push(text.as_bytes()));
    }

    /// A text part is complete (its part or block ended): what its detector
    /// held back is decided now. A later delta for the same key starts a
    /// new part.
    fn finish_key(&mut self, key: &str, out: &mut Released) {
        if let Some((_, mut detector)) = self.detectors.remove(key) {
            out.take(detector.finish());
        }
    }

    fn finish_all(&mut self, out: &mut Released) {
        let mut open: Vec<(u64, Detector)> = self.detectors.drain().map(|(_, d)| d).collect();
        open.sort_by_key(|(n, _)| *n);
        for (_, mut detector) in open {
            out.take(detector.finish());
        }
    }

    fn push_responses(&mut self, e: &Value, out: &mut Released) -> Result<(), String> {
        let kind = match e.get("type") {
            Some(Value::String(t)) if t.starts_with("response.") => t.as_str(),
            other => {
                return Err(format!(
                    "not a Responses API stream event: {}",
                    js_json(other)
                ));
            }
        };
        match kind {
            "response.output_item.added" | "response.output_item.done" => {
                if let Some(i) = index(e, "output_index")? {
                    // The item arrives whole: its own content replaces the
                    // parts announced before.
                    let announced: Vec<_> = self
                        .parts
                        .range((i, 0)..=(i, usize::MAX))
                        .map(|(k, _)| *k)
                        .collect();
                    for k in announced {
                        self.parts.remove(&k);
                    }
                    // An event without its item leaves a hole, as assigning
                    // `undefined` did.
                    match e.get("item") {
                        Some(item) => self.items.insert(i, item.clone()),
                        None => self.items.remove(&i),
                    };
                }
            }
            "response.content_part.added" => {
                let (oi, ci) = (index(e, "output_index")?, index(e, "content_index")?);
                if let (Some(oi), Some(ci)) = (oi, ci)
                    && let Some(Value::Object(_)) = self.items.get(&oi)
                {
                    let part = e.get("part").cloned().unwrap_or(Value::Null);
                    self.parts.insert((oi, ci), part);
                }
            }
            "response.output_text.delta" => {
                let (oi, ci) = (index(e, "output_index")?, index(e, "content_index")?);
                let Some(Value::String(delta)) = e.get("delta") else {
                    return Err("response.output_text.delta without a string `delta`".into());
                };
                if let (Some(oi), Some(ci)) = (oi, ci) {
                    let part = match self.parts.get_mut(&(oi, ci)) {
                        Some(announced) => Some(announced),
                        None => self
                            .items
                            .get_mut(&oi)
                            .and_then(|item| item.get_mut("content"))
                            .and_then(|content| content.get_mut(ci)),
                    };
                    if let Some(Value::Object(part)) = part {
                        let text = appended(part.get("text"), delta);
                        part.insert("text".into(), Value::String(text));
                    }
                }
                let key = part_key(e, oi, ci);
                self.feed(key, delta, out);
            }
            "response.output_text.done" | "response.content_part.done" => {
                let (oi, ci) = (index(e, "output_index")?, index(e, "content_index")?);
                self.finish_key(&part_key(e, oi, ci), out);
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                if let Some(Value::Array(output)) = e.get("response").and_then(|r| r.get("output"))
                {
                    self.final_output = Some(output.clone());
                }
                self.finish_all(out);
            }
            // Reasoning, function-call argument and lifecycle events: their
            // items arrive whole in `output_item.done`.
            _ => {}
        }
        Ok(())
    }

    fn push_chat(&mut self, e: &Value, out: &mut Released) -> Result<(), String> {
        let choices = match (e.get("object"), e.get("choices")) {
            (Some(Value::String(o)), Some(Value::Array(choices)))
                if o == "chat.completion.chunk" =>
            {
                choices
            }
            _ => return Err("not a chat.completion.chunk".into()),
        };
        let choice = choices.first();
        let delta = choice.and_then(|c| c.get("delta"));
        let field = |name: &str| delta.and_then(|d| d.get(name)).and_then(Value::as_str);
        // Tool-call indexes are checked before anything is taken, so that a
        // refused chunk changes nothing. A call whose index is not one is
        // skipped (the JavaScript assembler kept it off the array).
        let mut calls = Vec::new();
        if let Some(Value::Array(tcs)) = delta.and_then(|d| d.get("tool_calls")) {
            for (k, tc) in tcs.iter().enumerate() {
                if tc.is_object()
                    && let Some(i) = index(tc, "index")
                        .map_err(|why| format!("choices[0].delta.tool_calls[{k}].{why}"))?
                {
                    calls.push((i, tc));
                }
            }
        }
        if let Some(content) = field("content") {
            self.chat
                .content
                .get_or_insert_with(String::new)
                .push_str(content);
            self.feed("content".into(), content, out);
        }
        if let Some(r) = field("reasoning_content") {
            self.chat
                .reasoning
                .get_or_insert_with(String::new)
                .push_str(r);
        }
        if let Some(r) = field("refusal") {
            self.chat
                .refusal
                .get_or_insert_with(String::new)
                .push_str(r);
        }
        for (i, tc) in calls {
            let call = self.chat.tool_calls.entry(i).or_default();
            let f = tc.get("function");
            if let Some(id) = nonempty(Some(tc), "id") {
                id.clone_into(&mut call.id);
            }
            if let Some(name) = nonempty(f, "name") {
                call.name.push_str(name);
            }
            if let Some(arguments) = nonempty(f, "arguments") {
                call.arguments.push_str(arguments);
            }
        }
        if choice
            .and_then(|c| c.get("finish_reason"))
            .is_some_and(js_truthy)
        {
            self.finish_key("content", out);
        }
        Ok(())
    }

    fn chat_message(&self) -> Value {
        let mut m = Map::new();
        m.insert("role".into(), json!("assistant"));
        m.insert("content".into(), json!(self.chat.content));
        m.insert("refusal".into(), json!(self.chat.refusal));
        if let Some(r) = &self.chat.reasoning {
            m.insert("reasoning_content".into(), json!(r));
        }
        if !self.chat.tool_calls.is_empty() {
            let calls: Vec<Value> = self
                .chat
                .tool_calls
                .values()
                .map(|c| {
                    json!({
                        "id": c.id,
                        "type": "function",
                        "function": { "name": c.name, "arguments": c.arguments },
                    })
                })
                .collect();
            m.insert("tool_calls".into(), Value::Array(calls));
        }
        Value::Object(m)
    }

    fn push_messages(&mut self, e: &Value, out: &mut Released) -> Result<(), String> {
        match e.get("type").and_then(Value::as_str) {
            Some("message_start" | "message_delta" | "ping") => {}
            Some("message_stop") => self.finish_all(out),
            Some("content_block_start") => {
                let i = index(e, "index")?;
                let block = match e.get("content_block") {
                    None | Some(Value::Null) => {
                        return Err(format!(
                            "content_block_start for block {} without a content_block",
                            js_str(e.get("index"))
                        ));
                    }
                    Some(block) => block,
                };
                if let Some(i) = i {
                    let partial = is_tool_use(block).then(String::new);
                    self.blocks.insert(
                        i,
                        Block {
                            value: block.clone(),
                            partial,
                        },
                    );
                }
            }
            Some("content_block_delta") => self.block_delta(e, out)?,
            Some("content_block_stop") => {
                let i = index(e, "index")?;
                if let Some(b) = i.and_then(|i| self.blocks.get_mut(&i))
                    && (is_tool_use(&b.value) || b.partial.is_some())
                {
                    assemble_tool_input(&mut b.value, b.partial.take());
                }
                self.finish_key(&js_str(e.get("index")), out);
            }
            _ => {
                return Err(format!(
                    "not a Messages API stream event: {}",
                    js_json(e.get("type"))
                ));
            }
        }
        Ok(())
    }

    fn block_delta(&mut self, e: &Value, out: &mut Released) -> Result<(), String> {
        let i = index(e, "index")?;
        let label = js_str(e.get("index"));
        let Some(b) = i
            .and_then(|i| self.blocks.get_mut(&i))
            .filter(|b| js_truthy(&b.value))
        else {
            return Err(format!(
                "content_block_delta for block {label} before its start"
            ));
        };
        let d = e.get("delta");
        let piece = |name: &str| d.and_then(|d| d.get(name)).and_then(Value::as_str);
        match d.and_then(|d| d.get("type")).and_then(Value::as_str) {
            Some("text_delta") => {
                let Some(text) = piece("text") else {
                    return Err(format!(
                        "text_delta for block {label} without a string `text`"
                    ));
                };
                append_field(&mut b.value, "text", text);
                self.feed(label, text, out);
            }
            Some("thinking_delta") => {
                if let Some(t) = piece("thinking") {
                    append_field(&mut b.value, "thinking", t);
                }
            }
            Some("signature_delta") => {
                if let Some(s) = piece("signature") {
                    append_field(&mut b.value, "signature", s);
                }
            }
            // Any block may take tool input JSON (`server_tool_use` does):
            // it is gathered apart and parsed at the block's stop.
            Some("input_json_delta") => {
                if let Some(p) = piece("partial_json") {
                    b.partial.get_or_insert_with(String::new).push_str(p);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// A Chat tool-call piece that counts: JavaScript's `if (tc.id)` takes only
/// a truthy one, and only strings are joined here.
fn nonempty<'a>(v: Option<&'a Value>, name: &str) -> Option<&'a str> {
    v.and_then(|v| v.get(name))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn is_tool_use(block: &Value) -> bool {
    block.get("type").and_then(Value::as_str) == Some("tool_use")
}

/// A tool input cut short (max_tokens) is not JSON: its text is kept as
/// `partial_json` (the call's arguments, as `turns` reads them) with
/// `input: {}`, never an error. Input deeper than serde_json's nesting
/// limit takes the same way.
fn assemble_tool_input(block: &mut Value, partial: Option<String>) {
    let Value::Object(b) = block else {
        return;
    };
    match partial.filter(|p| !p.is_empty()) {
        None => {
            let input = b.entry("input").or_insert(Value::Null);
            if input.is_null() {
                *input = json!({});
            }
        }
        Some(partial) => match serde_json::from_str::<Value>(&partial) {
            Ok(input) => {
                b.insert("input".into(), input);
            }
            Err(_) => {
                b.insert("input".into(), json!({}));
                b.insert("partial_json".into(), Value::String(partial));
            }
        },
    }
}

/// `block[name] = (block[name] ?? '') + more`, on an object block only.
fn append_field(block: &mut Value, name: &str, more: &str) {
    if let Value::Object(b) = block {
        let text = appended(b.get(name), more);
        b.insert(name.into(), Value::String(text));
    }
}

/// `(current ?? '') + more`, with JavaScript's rendering of a current value
/// that is not a string.
fn appended(current: Option<&Value>, more: &str) -> String {
    match current {
        None | Some(Value::Null) => more.to_owned(),
        Some(other) => js_str(Some(other)) + more,
    }
}

/// An event's index field: `Ok(None)` when it is absent or not a
/// non-negative integer (the event's bookkeeping is then skipped), an error
/// past [`MAX_INDEX`].
fn index(event: &Value, field: &str) -> Result<Option<usize>, String> {
    let raw = event.get(field);
    match raw.and_then(Value::as_f64) {
        Some(n) if n >= 0.0 && n.fract() == 0.0 => {
            if n > MAX_INDEX as f64 {
                Err(format!(
                    "{field} out of range: {} (at most {MAX_INDEX})",
                    js_str(raw)
                ))
            } else {
                Ok(Some(n as usize))
            }
        }
        _ => Ok(None),
    }
}

/// A Responses text part's detector key, `"{output_index}:{content_index}"`
/// as a JavaScript template writes it.
fn part_key(e: &Value, oi: Option<usize>, ci: Option<usize>) -> String {
    let part = |i: Option<usize>, field: &str| match i {
        Some(i) => i.to_string(),
        None => js_str(e.get(field)),
    };
    format!("{}:{}", part(oi, "output_index"), part(ci, "content_index"))
}

/// A value as a JavaScript template literal writes it (`undefined` when
/// absent), except that arrays and objects are written as JSON.
fn js_str(v: Option<&Value>) -> String {
    match v {
        None => "undefined".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => u.to_string(),
            (_, Some(i), _) => i.to_string(),
            // `-0` is written `0`, as JavaScript writes it.
            (_, _, Some(f)) if f.abs() == 0.0 => "0".into(),
            (_, _, Some(f)) => f.to_string(),
            _ => n.to_string(),
        },
        Some(other) => other.to_string(),
    }
}

/// `JSON.stringify(v)` inside a template: `undefined` when absent.
fn js_json(v: Option<&Value>) -> String {
    v.map_or_else(|| "undefined".into(), Value::to_string)
}

fn js_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::turns::{Piece, plan};

    fn released(text: &str, scripts: &[&str]) -> Released {
        Released {
            text: text.into(),
            scripts: scripts.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn push_ok(a: &mut TurnAssembler, event: Value) -> Released {
        a.push(&event)
            .unwrap_or_else(|why| panic!("{event}: refused: {why}"))
    }

    /// Text with one script whose tags are split in the middle.
    const PIECES: [&str; 5] = [
        "Before <tool",
        "-ca",
        "lls>\nreturn 1 + 1\n</tool-c",
        "alls>",
        " All done <",
    ];

    fn expected_releases() -> Vec<Released> {
        vec![
            released("Before ", &[]),
            released("", &[]),
            released("", &[]),
            released("", &["return 1 + 1\n"]),
            released(" All done ", &[]),
        ]
    }

    fn responses_delta(oi: usize, ci: usize, delta: &str) -> Value {
        json!({ "type": "response.output_text.delta", "item_id": "m", "output_index": oi, "content_index": ci, "delta": delta })
    }

    fn chat_chunk(delta: Value, finish: Option<&str>) -> Value {
        json!({ "id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }] })
    }

    fn text_delta(index: usize, text: &str) -> Value {
        json!({ "type": "content_block_delta", "index": index, "delta": { "type": "text_delta", "text": text } })
    }

    fn message_item() -> Value {
        json!({ "type": "message", "id": "m", "role": "assistant", "status": "in_progress", "content": [] })
    }

    fn open_responses_part(a: &mut TurnAssembler, oi: usize, ci: usize) {
        if ci == 0 {
            push_ok(
                a,
                json!({ "type": "response.output_item.added", "output_index": oi, "item": message_item() }),
            );
        }
        push_ok(
            a,
            json!({ "type": "response.content_part.added", "output_index": oi, "content_index": ci, "part": { "type": "output_text", "annotations": [], "text": "" } }),
        );
    }

    #[test]
    fn responses_script_split_inside_its_tags() {
        let mut a = TurnAssembler::new(ApiFormat::Responses);
        open_responses_part(&mut a, 0, 0);
        let got: Vec<Released> = PIECES
            .iter()
            .map(|p| push_ok(&mut a, responses_delta(0, 0, p)))
            .collect();
        assert_eq!(got, expected_releases());
        let done = json!({ "type": "response.output_text.done", "output_index": 0, "content_index": 0, "text": PIECES.concat() });
        assert_eq!(push_ok(&mut a, done), released("<", &[]));
        assert_eq!(
            a.response()[0]["content"][0]["text"],
            json!(PIECES.concat())
        );
    }

    #[test]
    fn chat_script_split_inside_its_tags() {
        let mut a = TurnAssembler::new(ApiFormat::Chat);
        push_ok(
            &mut a,
            chat_chunk(json!({ "role": "assistant", "content": "" }), None),
        );
        let got: Vec<Released> = PIECES
            .iter()
            .map(|p| push_ok(&mut a, chat_chunk(json!({ "content": p }), None)))
            .collect();
        assert_eq!(got, expected_releases());
        assert_eq!(
            push_ok(&mut a, chat_chunk(json!({}), Some("stop"))),
            released("<", &[])
        );
        assert_eq!(a.response()["content"], json!(PIECES.concat()));
    }

    #[test]
    fn messages_script_split_inside_its_tags() {
        let mut a = TurnAssembler::new(ApiFormat::Messages);
        push_ok(
            &mut a,
            json!({ "type": "content_block_start", "index": 0, "content_block": { "type": "text", "text": "" } }),
        );
        let got: Vec<Released> = PIECES
            .iter()
            .map(|p| push_ok(&mut a, text_delta(0, p)))
            .collect();
        assert_eq!(got, expected_releases());
        assert_eq!(
            push_ok(&mut a, json!({ "type": "content_block_stop", "index": 0 })),
            released("<", &[])
        );
        assert_eq!(
            a.response(),
            json!([{ "type": "text", "text": PIECES.concat() }])
        );
    }

    #[test]
    fn trailing_lt_is_held_then_released_by_each_finish_event() {
        // Responses: the part's own done event, then response.completed
        // for a part left open.
        let mut a = TurnAssembler::new(ApiFormat::Responses);
        open_responses_part(&mut a, 0, 0);
        let part_done =
            json!({ "type": "response.content_part.done", "output_index": 0, "content_index": 0 });
        assert_eq!(
            push_ok(&mut a, responses_delta(0, 0, "All done <")),
            released("All done ", &[])
        );
        assert_eq!(push_ok(&mut a, part_done.clone()), released("<", &[]));
        // Finished once: a second done releases nothing.
        assert_eq!(push_ok(&mut a, part_done), released("", &[]));
        open_responses_part(&mut a, 0, 1);
        assert_eq!(
            push_ok(&mut a, responses_delta(0, 1, "x <")),
            released("x ", &[])
        );
        let completed = json!({ "type": "response.completed", "response": { "output": [] } });
        assert_eq!(push_ok(&mut a, completed), released("<", &[]));

        let mut a = TurnAssembler::new(ApiFormat::Chat);
        assert_eq!(
            push_ok(&mut a, chat_chunk(json!({ "content": "All done <" }), None)),
            released("All done ", &[])
        );
        assert_eq!(
            push_ok(&mut a, chat_chunk(json!({}), Some("length"))),
            released("<", &[])
        );

        let mut a = TurnAssembler::new(ApiFormat::Messages);
        for i in 0..2 {
            push_ok(
                &mut a,
                json!({ "type": "content_block_start", "index": i, "content_block": { "type": "text", "text": "" } }),
            );
        }
        push_ok(&mut a, text_delta(1, "b <"));
        push_ok(&mut a, text_delta(0, "a <"));
        // message_stop finishes every block, in the order they opened.
        assert_eq!(
            push_ok(&mut a, json!({ "type": "message_stop" })),
            released("<<", &[])
        );
        assert_eq!(a.finish(), released("", &[]));
    }

    #[test]
    fn finish_releases_what_is_open_once() {
        let mut a = TurnAssembler::new(ApiFormat::Chat);
        assert_eq!(
            push_ok(
                &mut a,
                chat_chunk(json!({ "content": "Start <tool-calls>return 1" }), None)
            ),
            released("Start ", &[])
        );
        // An unclosed block is shown as text at the end, and never runs.
        assert_eq!(a.finish(), released("<tool-calls>return 1", &[]));
        assert_eq!(a.finish(), Released::default());
    }

    #[test]
    fn a_finished_part_reopens_with_a_fresh_detector() {
        let mut a = TurnAssembler::new(ApiFormat::Messages);
        push_ok(
            &mut a,
            json!({ "type": "content_block_start", "index": 0, "content_block": { "type": "text", "text": "" } }),
        );
        push_ok(&mut a, text_delta(0, "<tool-calls>return 1"));
        let stop = json!({ "type": "content_block_stop", "index": 0 });
        assert_eq!(
            push_ok(&mut a, stop.clone()),
            released("<tool-calls>return 1", &[])
        );
        // The next delta for block 0 starts afresh: its closer is stray,
        // and a whole script in it is found.
        assert_eq!(
            push_ok(
                &mut a,
                text_delta(0, "</tool-calls> <tool-calls>return 2</tool-calls>.")
            ),
            released("</tool-calls> .", &["return 2"])
        );
        assert_eq!(push_ok(&mut a, stop), Released::default());
    }

    #[test]
    fn responses_response_is_assembled_then_replaced_by_the_final_output() {
        let mut a = TurnAssembler::new(ApiFormat::Responses);
        let reasoning = json!({ "id": "rs_1", "type": "reasoning", "summary": [] });
        let reasoning_done = json!({ "id": "rs_1", "type": "reasoning", "summary": [{ "type": "summary_text", "text": "Plan." }], "encrypted_content": "enc" });
        for event in [
            json!({ "type": "response.created", "response": { "id": "r", "output": [] } }),
            json!({ "type": "response.output_item.added", "output_index": 0, "item": reasoning }),
            json!({ "type": "response.reasoning_summary_text.delta", "output_index": 0, "summary_index": 0, "delta": "Plan." }),
            json!({ "type": "response.output_item.done", "output_index": 0, "item": reasoning_done }),
        ] {
            assert_eq!(push_ok(&mut a, event), Released::default());
        }
        open_responses_part(&mut a, 1, 0);
        assert_eq!(
            push_ok(&mut a, responses_delta(1, 0, "Hello ")),
            released("Hello ", &[])
        );
        push_ok(&mut a, responses_delta(1, 0, "there."));
        // A part added past a hole: the hole is left out (padding it let a
        // few bytes of events hold gigabytes).
        push_ok(
            &mut a,
            json!({ "type": "response.content_part.added", "output_index": 1, "content_index": 2, "part": { "type": "output_text", "text": "" } }),
        );
        assert_eq!(
            push_ok(&mut a, responses_delta(1, 2, "! <")),
            released("! ", &[])
        );
        // An item past a hole: the hole is dropped.
        let call = json!({ "type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": "{}" });
        push_ok(
            &mut a,
            json!({ "type": "response.output_item.done", "output_index": 3, "item": call }),
        );
        let message = json!({ "type": "message", "id": "m", "role": "assistant", "status": "in_progress", "content": [
            { "type": "output_text", "annotations": [], "text": "Hello there." },
            { "type": "output_text", "text": "! <" },
        ] });
        assert_eq!(
            a.response().to_string(),
            json!([reasoning_done, message, call]).to_string()
        );
        // The final output wins over what the events built.
        let final_output = json!([{ "type": "message", "role": "assistant", "content": [{ "type": "output_text", "text": "Final." }] }]);
        assert_eq!(
            push_ok(
                &mut a,
                json!({ "type": "response.incomplete", "response": { "output": final_output } })
            ),
            released("<", &[])
        );
        assert_eq!(a.response(), final_output);
        // A completed event without an output array changes nothing.
        push_ok(
            &mut a,
            json!({ "type": "response.completed", "response": { "output": "x" } }),
        );
        assert_eq!(a.response(), final_output);
    }

    #[test]
    fn chat_response_joins_content_reasoning_and_tool_calls_in_pieces() {
        let mut a = TurnAssembler::new(ApiFormat::Chat);
        let chunks = [
            json!({ "role": "assistant", "content": null, "reasoning_content": "Think" }),
            json!({ "reasoning_content": "ing." }),
            json!({ "content": "Calling." }),
            json!({ "tool_calls": [{ "index": 0, "id": "call_1", "type": "function", "function": { "name": "get_", "arguments": "" } }] }),
            json!({ "tool_calls": [{ "index": 0, "id": "", "function": { "name": "weather", "arguments": "{\"ci" } }] }),
            json!({ "tool_calls": [
                { "index": 0, "function": { "arguments": "ty\":\"Paris\"}" } },
                { "index": 2, "id": "call_2", "type": "function", "function": { "name": "noop", "arguments": "{}" } },
            ] }),
        ];
        for delta in chunks {
            push_ok(&mut a, chat_chunk(delta, None));
        }
        push_ok(&mut a, chat_chunk(json!({}), Some("tool_calls")));
        let expected = json!({
            "role": "assistant",
            "content": "Calling.",
            "refusal": null,
            "reasoning_content": "Thinking.",
            "tool_calls": [
                { "id": "call_1", "type": "function", "function": { "name": "get_weather", "arguments": "{\"city\":\"Paris\"}" } },
                { "id": "call_2", "type": "function", "function": { "name": "noop", "arguments": "{}" } },
            ],
        });
        // Compared as text: the key order is the one the JavaScript built.
        assert_eq!(a.response().to_string(), expected.to_string());
        let pieces = plan(ApiFormat::Chat, &a.response()).unwrap();
        assert!(pieces.contains(&Piece::Item(json!({ "type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}" }))));
    }

    #[test]
    fn chat_response_without_deltas_has_null_content_and_refusal() {
        let mut a = TurnAssembler::new(ApiFormat::Chat);
        push_ok(&mut a, chat_chunk(json!({ "role": "assistant" }), None));
        push_ok(&mut a, chat_chunk(json!({}), Some("stop")));
        assert_eq!(
            a.response().to_string(),
            r#"{"role":"assistant","content":null,"refusal":null}"#
        );
        push_ok(&mut a, chat_chunk(json!({ "refusal": "No." }), None));
        assert_eq!(a.response()["refusal"], json!("No."));
        // Refusal text is not scanned or shown, as before.
        assert_eq!(a.finish(), Released::default());
    }

    #[test]
    fn messages_response_parses_tool_input_or_keeps_it_partial() {
        let mut a = TurnAssembler::new(ApiFormat::Messages);
        let events = [
            json!({ "type": "message_start", "message": { "id": "msg", "content": [] } }),
            json!({ "type": "content_block_start", "index": 0, "content_block": { "type": "thinking", "thinking": "", "signature": "" } }),
            json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "thinking_delta", "thinking": "Hm" } }),
            json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "thinking_delta", "thinking": "m." } }),
            json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "signature_delta", "signature": "sig" } }),
            json!({ "type": "content_block_stop", "index": 0 }),
            json!({ "type": "ping" }),
            json!({ "type": "content_block_start", "index": 1, "content_block": { "type": "text", "text": "", "citations": null } }),
            text_delta(1, "Hi."),
            json!({ "type": "content_block_stop", "index": 1 }),
            json!({ "type": "content_block_start", "index": 2, "content_block": { "type": "tool_use", "id": "t1", "name": "f", "input": {} } }),
            json!({ "type": "content_block_delta", "index": 2, "delta": { "type": "input_json_delta", "partial_json": "" } }),
            json!({ "type": "content_block_delta", "index": 2, "delta": { "type": "input_json_delta", "partial_json": "{\"a\":" } }),
            json!({ "type": "content_block_delta", "index": 2, "delta": { "type": "input_json_delta", "partial_json": "[1,2]}" } }),
            json!({ "type": "content_block_stop", "index": 2 }),
            json!({ "type": "content_block_start", "index": 3, "content_block": { "type": "tool_use", "id": "t2", "name": "g", "input": {} } }),
            json!({ "type": "content_block_stop", "index": 3 }),
            json!({ "type": "content_block_start", "index": 4, "content_block": { "type": "server_tool_use", "id": "s1", "name": "web_search", "input": {} } }),
            json!({ "type": "content_block_delta", "index": 4, "delta": { "type": "input_json_delta", "partial_json": "{\"query\":\"x\"}" } }),
            json!({ "type": "content_block_stop", "index": 4 }),
            // Cut short by max_tokens: no stop for this block.
            json!({ "type": "content_block_start", "index": 6, "content_block": { "type": "tool_use", "id": "t3", "name": "h", "input": {} } }),
            json!({ "type": "content_block_delta", "index": 6, "delta": { "type": "input_json_delta", "partial_json": "{\"path\":\"src/ma" } }),
            json!({ "type": "message_delta", "delta": { "stop_reason": "max_tokens" } }),
            json!({ "type": "message_stop" }),
        ];
        let mut shown = Released::default();
        for event in events {
            let r = push_ok(&mut a, event);
            shown.text.push_str(&r.text);
        }
        assert_eq!(shown.text, "Hi.");
        let expected = json!([
            { "type": "thinking", "thinking": "Hmm.", "signature": "sig" },
            { "type": "text", "text": "Hi.", "citations": null },
            { "type": "tool_use", "id": "t1", "name": "f", "input": { "a": [1, 2] } },
            { "type": "tool_use", "id": "t2", "name": "g", "input": {} },
            { "type": "server_tool_use", "id": "s1", "name": "web_search", "input": { "query": "x" } },
            { "type": "tool_use", "id": "t3", "name": "h", "input": {}, "partial_json": "{\"path\":\"src/ma" },
        ]);
        assert_eq!(a.response().to_string(), expected.to_string());
        // response() only reads: taking it twice gives the same.
        assert_eq!(a.response(), expected);
        let pieces = plan(ApiFormat::Messages, &a.response()).unwrap();
        assert!(pieces.contains(&Piece::Item(json!({ "type": "function_call", "call_id": "t3", "name": "h", "arguments": "{\"path\":\"src/ma" }))));
    }

    #[test]
    fn events_of_another_shape_are_refused_with_the_bridge_texts() {
        let cases = [
            (
                ApiFormat::Responses,
                json!({ "type": "foo" }),
                r#"not a Responses API stream event: "foo""#,
            ),
            (
                ApiFormat::Responses,
                json!({}),
                "not a Responses API stream event: undefined",
            ),
            (
                ApiFormat::Responses,
                json!({ "type": 5 }),
                "not a Responses API stream event: 5",
            ),
            (
                ApiFormat::Responses,
                json!(["response.completed"]),
                "not a Responses API stream event: undefined",
            ),
            (
                ApiFormat::Responses,
                json!({ "type": "message_stop" }),
                r#"not a Responses API stream event: "message_stop""#,
            ),
            (
                ApiFormat::Chat,
                json!({ "type": "x" }),
                "not a chat.completion.chunk",
            ),
            (
                ApiFormat::Chat,
                json!({ "object": "chat.completion.chunk", "choices": {} }),
                "not a chat.completion.chunk",
            ),
            (
                ApiFormat::Chat,
                json!({ "object": "chat.completion", "choices": [] }),
                "not a chat.completion.chunk",
            ),
            (
                ApiFormat::Messages,
                json!({ "type": "x" }),
                r#"not a Messages API stream event: "x""#,
            ),
            (
                ApiFormat::Messages,
                json!({ "object": "chat.completion.chunk", "choices": [] }),
                "not a Messages API stream event: undefined",
            ),
            (
                ApiFormat::Messages,
                text_delta(3, "a"),
                "content_block_delta for block 3 before its start",
            ),
            (
                ApiFormat::Messages,
                json!({ "type": "content_block_delta", "delta": { "type": "text_delta", "text": "a" } }),
                "content_block_delta for block undefined before its start",
            ),
            (
                ApiFormat::Messages,
                json!({ "type": "content_block_start", "index": 0 }),
                "content_block_start for block 0 without a content_block",
            ),
            (
                ApiFormat::Responses,
                responses_delta(20_000, 0, "a"),
                "output_index out of range: 20000 (at most 10000)",
            ),
            (
                ApiFormat::Responses,
                json!({ "type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": 5 }),
                "response.output_text.delta without a string `delta`",
            ),
            (
                ApiFormat::Messages,
                text_delta(10_001, "a"),
                "index out of range: 10001 (at most 10000)",
            ),
            (
                ApiFormat::Chat,
                chat_chunk(json!({ "tool_calls": [{ "index": 1e9 }] }), None),
                "choices[0].delta.tool_calls[0].index out of range: 1000000000 (at most 10000)",
            ),
        ];
        for (format, event, why) in cases {
            let mut a = TurnAssembler::new(format);
            assert_eq!(a.push(&event), Err(why.to_owned()), "{format:?} {event}");
        }
        for format in [ApiFormat::Responses, ApiFormat::Chat, ApiFormat::Messages] {
            for event in [json!("text"), json!(5), json!(null), json!(true)] {
                let mut a = TurnAssembler::new(format);
                assert_eq!(a.push(&event), Err("must be an object".to_owned()));
            }
        }
    }

    #[test]
    fn a_refused_event_changes_nothing() {
        let mut a = TurnAssembler::new(ApiFormat::Chat);
        push_ok(&mut a, chat_chunk(json!({ "content": "a <" }), None));
        let bad = chat_chunk(
            json!({ "content": "tool-calls>return 1</tool-calls>", "tool_calls": [{ "index": 0, "id": "x" }, { "index": 99_999 }] }),
            Some("stop"),
        );
        assert!(a.push(&bad).is_err());
        assert_eq!(a.response()["content"], json!("a <"));
        assert!(a.response().get("tool_calls").is_none());
        // The held `<` is still held, and still decided by what comes next.
        assert_eq!(
            push_ok(&mut a, chat_chunk(json!({ "content": " b" }), None)),
            released("< b", &[])
        );

        let mut a = TurnAssembler::new(ApiFormat::Messages);
        push_ok(
            &mut a,
            json!({ "type": "content_block_start", "index": 0, "content_block": { "type": "text", "text": "" } }),
        );
        assert!(
            a.push(&json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "text_delta", "text": 7 } }))
                .is_err()
        );
        assert_eq!(a.response(), json!([{ "type": "text", "text": "" }]));
    }

    #[test]
    fn events_whose_index_is_not_one_keep_their_text_and_skip_bookkeeping() {
        let mut a = TurnAssembler::new(ApiFormat::Responses);
        // Stored under no index: never in the response, as `items[undefined]`.
        push_ok(
            &mut a,
            json!({ "type": "response.output_item.added", "output_index": "0", "item": message_item() }),
        );
        push_ok(
            &mut a,
            json!({ "type": "response.output_item.added", "output_index": -1, "item": message_item() }),
        );
        assert_eq!(a.response(), json!([]));
        // Text without indexes is still shown and scanned.
        let delta = json!({ "type": "response.output_text.delta", "delta": "x <tool-calls>return 1</tool-calls> <" });
        assert_eq!(push_ok(&mut a, delta), released("x  ", &["return 1"]));
        let done = json!({ "type": "response.output_text.done" });
        assert_eq!(push_ok(&mut a, done), released("<", &[]));
        assert_eq!(a.response(), json!([]));

        // A chat tool call without an index is dropped, as in JavaScript.
        let mut a = TurnAssembler::new(ApiFormat::Chat);
        push_ok(
            &mut a,
            chat_chunk(
                json!({ "tool_calls": [{ "id": "c", "function": { "name": "f" } }] }),
                None,
            ),
        );
        assert!(a.response().get("tool_calls").is_none());
    }

    #[test]
    fn parts_far_ahead_cost_one_entry_each() {
        // 60 KB of events once held gigabytes: every part padded its item
        // up to its index.
        let mut a = TurnAssembler::new(ApiFormat::Responses);
        for i in 0..3000 {
            let item = json!({ "type": "message", "role": "assistant", "content": [] });
            push_ok(
                &mut a,
                json!({ "type": "response.output_item.added", "output_index": i, "item": item }),
            );
            push_ok(
                &mut a,
                json!({ "type": "response.content_part.added", "output_index": i, "content_index": MAX_INDEX, "part": { "type": "output_text", "text": "" } }),
            );
        }
        let response = a.response().to_string();
        assert!(response.len() < 400_000, "{} bytes", response.len());
    }

    #[test]
    fn garbage_events_never_panic() {
        let garbage = [
            json!(null),
            json!(0),
            json!(-1),
            json!(1.5),
            json!(u64::MAX),
            json!(1e300),
            json!("x"),
            json!([]),
            json!([1, [2, [3]]]),
            json!({}),
            json!({ "type": null }),
            json!({ "type": [] }),
            json!({ "type": "response.output_item.added", "output_index": 1e300, "item": 1 }),
            json!({ "type": "response.output_item.added", "output_index": u64::MAX }),
            json!({ "type": "response.output_item.added", "output_index": 0, "item": "str" }),
            json!({ "type": "response.output_item.added", "output_index": 1, "item": { "content": "abc" } }),
            json!({ "type": "response.output_item.added", "output_index": 2, "item": null }),
            json!({ "type": "response.content_part.added", "output_index": 0, "content_index": 0, "part": 5 }),
            json!({ "type": "response.content_part.added", "output_index": 1, "content_index": 3 }),
            json!({ "type": "response.content_part.added", "output_index": 1, "content_index": -3, "part": {} }),
            json!({ "type": "response.output_text.delta", "output_index": 1, "content_index": 0, "delta": "a" }),
            json!({ "type": "response.output_text.delta", "output_index": { "a": 1 }, "content_index": [0], "delta": "<" }),
            json!({ "type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": null }),
            json!({ "type": "response.output_text.done", "output_index": 1e9 }),
            json!({ "type": "response.completed", "response": 5 }),
            json!({ "type": "response.failed", "response": { "output": [null, 1] } }),
            json!({ "object": "chat.completion.chunk", "choices": [null] }),
            json!({ "object": "chat.completion.chunk", "choices": [5, 6] }),
            json!({ "object": "chat.completion.chunk", "choices": [{ "delta": [1], "finish_reason": [] }] }),
            json!({ "object": "chat.completion.chunk", "choices": [{ "delta": { "content": 5, "tool_calls": "abc" } }] }),
            json!({ "object": "chat.completion.chunk", "choices": [{ "delta": { "tool_calls": [null, 1, { "index": 3, "function": 7, "id": 9 }] } }] }),
            json!({ "object": "chat.completion.chunk", "choices": [{ "delta": { "tool_calls": { "index": 0 } }, "finish_reason": 1 }] }),
            json!({ "object": "chat.completion.chunk", "choices": [{ "delta": { "tool_calls": [{ "index": -0.0, "function": { "name": "\u{0}", "arguments": 1 } }] } }] }),
            json!({ "type": "content_block_start", "index": 0, "content_block": 5 }),
            json!({ "type": "content_block_start", "index": 1, "content_block": { "type": "tool_use" } }),
            json!({ "type": "content_block_start", "index": 2, "content_block": { "type": "text", "text": 5 } }),
            json!({ "type": "content_block_start", "index": [], "content_block": {} }),
            json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "text_delta", "text": "<" } }),
            json!({ "type": "content_block_delta", "index": 1, "delta": { "type": "input_json_delta", "partial_json": "[[[[" } }),
            json!({ "type": "content_block_delta", "index": 1, "delta": 5 }),
            json!({ "type": "content_block_delta", "index": 2, "delta": { "type": "text_delta", "text": "x" } }),
            json!({ "type": "content_block_delta", "index": 2, "delta": { "type": "thinking_delta", "thinking": [] } }),
            json!({ "type": "content_block_delta", "index": 2, "delta": { "type": "input_json_delta", "partial_json": "{\"a\":1}" } }),
            json!({ "type": "content_block_stop", "index": 0 }),
            json!({ "type": "content_block_stop", "index": 2 }),
            json!({ "type": "content_block_stop", "index": 99_999_999 }),
            json!({ "type": "content_block_stop", "index": null }),
        ];
        for format in [ApiFormat::Responses, ApiFormat::Chat, ApiFormat::Messages] {
            let mut a = TurnAssembler::new(format);
            for (n, event) in garbage.iter().enumerate() {
                let _ = a.push(event);
                if n % 7 == 0 {
                    let _ = a.response();
                }
            }
            let _ = a.finish();
            let response = a.response();
            let _ = plan(format, &response);
            // Whatever came, nothing it holds is larger than the events.
            assert!(response.to_string().len() < 100_000, "{format:?}");
        }
    }

    /// Every fixture turn, streamed event by event, gives the turn its
    /// whole response gives, releases its scripts, and never shows a
    /// script body.
    #[test]
    fn fixture_streams_assemble_to_their_whole_responses() {
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../__test__/fixtures/turns");
        let mut seen = 0;
        for dir in std::fs::read_dir(&root).expect("the fixtures directory") {
            let mut files: Vec<_> = std::fs::read_dir(dir.unwrap().path())
                .unwrap()
                .map(|f| f.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            files.sort();
            for file in files {
                let fx: Value =
                    serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
                let format = ApiFormat::parse(fx["format"].as_str().unwrap()).unwrap();
                let mut a = TurnAssembler::new(format);
                let mut shown = Released::default();
                for event in fx["stream"].as_array().unwrap() {
                    let r = push_ok(&mut a, event.clone());
                    shown.text.push_str(&r.text);
                    shown.scripts.extend(r.scripts);
                }
                let rest = a.finish();
                shown.text.push_str(&rest.text);
                shown.scripts.extend(rest.scripts);
                let whole = plan(format, &fx["response"]).unwrap();
                let streamed = plan(format, &a.response()).unwrap();
                assert_eq!(streamed, whole, "{}", file.display());
                let scripts: Vec<String> = whole
                    .iter()
                    .filter_map(|p| match p {
                        Piece::Script { source, .. } => Some(source.clone()),
                        _ => None,
                    })
                    .collect();
                assert_eq!(shown.scripts, scripts, "{}", file.display());
                let text: String = whole
                    .iter()
                    .filter_map(|p| match p {
                        Piece::Text { text, .. } | Piece::Problem { text, .. } => {
                            Some(text.as_str())
                        }
                        _ => None,
                    })
                    .collect();
                assert_eq!(shown.text, text, "{}", file.display());
                for script in &scripts {
                    if script.trim().len() > 20 {
                        assert!(!shown.text.contains(script.trim()), "{}", file.display());
                    }
                }
                seen += 1;
            }
        }
        assert!(seen >= 20, "only {seen} fixtures");
    }
}
