//! Whole model turns: reading each API's response into ordered blocks, and
//! writing history items and the continuation that reports scripts back.
//! Pure functions over JSON; the host runs the scripts in between.

use serde_json::{Map, Value, json};

use crate::compile::{Language, sha256_hex};
use crate::detect::{Segment, detect};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFormat {
    Responses,
    Chat,
    Messages,
}

impl ApiFormat {
    pub fn parse(s: &str) -> Option<ApiFormat> {
        match s {
            "responses" => Some(ApiFormat::Responses),
            "chat" => Some(ApiFormat::Chat),
            "messages" => Some(ApiFormat::Messages),
            _ => None,
        }
    }
}

/// One piece of a turn, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// A history item kept as it is (reasoning, native calls).
    Item(Value),
    /// Assistant text outside scripts; `phase` where the API sent one.
    Text {
        text: String,
        phase: Option<Value>,
    },
    Script {
        source: String,
        language: Language,
    },
    Problem {
        kind: &'static str,
        text: String,
        line: u32,
    },
    /// Something in the response the harness did not read (a second Chat
    /// choice, a content part of a type it does not model): reported, so
    /// that nothing is dropped silently.
    Unread {
        field: String,
        message: String,
    },
}

fn drop_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), drop_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(drop_nulls).collect()),
        other => other.clone(),
    }
}

fn reasoning_item(fields: Map<String, Value>, raw: &Value) -> Value {
    let mut item = Map::new();
    item.insert("type".into(), json!("reasoning"));
    item.extend(fields);
    item.insert("raw".into(), raw.clone());
    Value::Object(item)
}

/// A Responses `custom_tool_call` (a freeform tool such as codex's
/// apply_patch): a native call the host runs, with its input as sent.
fn custom_tool_call(item: &Value, i: usize) -> Result<Value, String> {
    let call_id = item
        .get("call_id")
        .and_then(Value::as_str)
        .ok_or(format!("response.output[{i}].call_id: missing"))?;
    let mut out = Map::new();
    out.insert("type".into(), json!("custom_tool_call"));
    if let Some(id) = item.get("id").and_then(Value::as_str) {
        out.insert("id".into(), json!(id));
    }
    out.insert("call_id".into(), json!(call_id));
    out.insert(
        "name".into(),
        json!(item.get("name").and_then(Value::as_str).unwrap_or_default()),
    );
    out.insert(
        "input".into(),
        json!(
            item.get("input")
                .and_then(Value::as_str)
                .unwrap_or_default()
        ),
    );
    Ok(Value::Object(out))
}

/// An item or block of a type the harness does not model (a Responses
/// `web_search_call`, an Anthropic `server_tool_use`, ...), kept exactly as
/// received so the host can send it back.
fn other_item(raw: &Value) -> Value {
    json!({ "type": "other", "raw": raw })
}

fn function_call(call_id: &str, name: &str, arguments: String, id: Option<&str>) -> Value {
    let mut item = Map::new();
    item.insert("type".into(), json!("function_call"));
    if let Some(id) = id {
        item.insert("id".into(), json!(id));
    }
    item.insert("call_id".into(), json!(call_id));
    item.insert("name".into(), json!(name));
    item.insert("arguments".into(), json!(arguments));
    Value::Object(item)
}

/// What a turn holds, in order, before its text is split into scripts.
enum Block {
    Item(Value),
    Text { text: String, phase: Option<Value> },
    Unread { field: String, message: String },
}

fn read_blocks(format: ApiFormat, response: &Value) -> Result<Vec<Block>, String> {
    let mut blocks = Vec::new();
    match format {
        ApiFormat::Responses => {
            let output = match response {
                Value::Array(a) => a,
                Value::Object(o) => o
                    .get("output")
                    .and_then(Value::as_array)
                    .ok_or("response: a Responses API response needs an `output` array")?,
                _ => {
                    return Err(
                        "response: expected a Responses API response or its `output` array".into(),
                    );
                }
            };
            for (i, item) in output.iter().enumerate() {
                match item.get("type").and_then(Value::as_str) {
                    Some("reasoning") => {
                        let Value::Object(fields) = drop_nulls(item) else {
                            unreachable!()
                        };
                        let mut fields = fields;
                        fields.remove("type");
                        fields.remove("status");
                        blocks.push(Block::Item(reasoning_item(fields, item)));
                    }
                    Some("message") => {
                        assistant_only(item, &format!("response.output[{i}].role"))?;
                        let phase = item.get("phase").filter(|p| !p.is_null()).cloned();
                        for (j, part) in item
                            .get("content")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .enumerate()
                        {
                            match part.get("type").and_then(Value::as_str) {
                                Some("output_text") => blocks.push(Block::Text {
                                    text: part
                                        .get("text")
                                        .and_then(Value::as_str)
                                        .unwrap_or_default()
                                        .to_owned(),
                                    phase: phase.clone(),
                                }),
                                Some("refusal") => blocks.push(Block::Text {
                                    text: part
                                        .get("refusal")
                                        .and_then(Value::as_str)
                                        .unwrap_or_default()
                                        .to_owned(),
                                    phase: phase.clone(),
                                }),
                                other => blocks.push(unread_part(
                                    format!("response.output[{i}].content[{j}]"),
                                    other,
                                )),
                            }
                        }
                    }
                    Some("custom_tool_call") => {
                        blocks.push(Block::Item(custom_tool_call(item, i)?))
                    }
                    Some("function_call") => {
                        let call_id = item
                            .get("call_id")
                            .and_then(Value::as_str)
                            .ok_or(format!("response.output[{i}].call_id: missing"))?;
                        let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
                        let arguments = item
                            .get("arguments")
                            .and_then(Value::as_str)
                            .unwrap_or("{}")
                            .to_owned();
                        blocks.push(Block::Item(function_call(
                            call_id,
                            name,
                            arguments,
                            item.get("id").and_then(Value::as_str),
                        )));
                    }
                    Some(_) => blocks.push(Block::Item(other_item(item))),
                    None => {
                        return Err(format!(
                            "response.output[{i}]: an output item needs a `type`"
                        ));
                    }
                }
            }
        }
        ApiFormat::Chat => read_chat(response, &mut blocks)?,
        ApiFormat::Messages => {
            let content = match response {
                Value::Array(a) => a,
                Value::Object(o) => {
                    assistant_only(response, "response.role")?;
                    o.get("content")
                        .and_then(Value::as_array)
                        .ok_or("response: a Messages API response needs a `content` array")?
                }
                _ => {
                    return Err(
                        "response: expected a Messages API response or its `content` array".into(),
                    );
                }
            };
            for (i, block) in content.iter().enumerate() {
                match block.get("type").and_then(Value::as_str) {
                    Some("thinking") => {
                        let mut fields = Map::new();
                        fields.insert("summary".into(), json!([]));
                        let text = block
                            .get("thinking")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        fields.insert(
                            "content".into(),
                            json!([{ "type": "reasoning_text", "text": text }]),
                        );
                        if let Some(sig) = block.get("signature").and_then(Value::as_str) {
                            fields.insert("encrypted_content".into(), json!(sig));
                        }
                        blocks.push(Block::Item(reasoning_item(fields, block)));
                    }
                    Some("redacted_thinking") => {
                        let mut fields = Map::new();
                        fields.insert("summary".into(), json!([]));
                        if let Some(data) = block.get("data").and_then(Value::as_str) {
                            fields.insert("encrypted_content".into(), json!(data));
                        }
                        blocks.push(Block::Item(reasoning_item(fields, block)));
                    }
                    Some("text") => blocks.push(Block::Text {
                        text: block
                            .get("text")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        phase: None,
                    }),
                    Some("tool_use") => {
                        let id = block
                            .get("id")
                            .and_then(Value::as_str)
                            .ok_or(format!("response.content[{i}].id: missing"))?;
                        let name = block
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        // A stream cut short leaves input JSON that does not
                        // parse: its text is the call's arguments as sent.
                        let arguments = match block.get("partial_json").and_then(Value::as_str) {
                            Some(raw) => raw.to_owned(),
                            None => block.get("input").cloned().unwrap_or(json!({})).to_string(),
                        };
                        blocks.push(Block::Item(function_call(id, name, arguments, None)));
                    }
                    Some(_) => blocks.push(Block::Item(other_item(block))),
                    None => {
                        return Err(format!(
                            "response.content[{i}]: a content block needs a `type`"
                        ));
                    }
                }
            }
        }
    }
    Ok(blocks)
}

/// A content part the harness does not read as text.
fn unread_part(field: String, kind: Option<&str>) -> Block {
    let message = match kind {
        Some(kind) => format!("{field}: a `{kind}` content part is not read for scripts or text"),
        None => format!("{field}: a content part without a `type` is not read"),
    };
    Block::Unread { field, message }
}

/// Read a turn and split its text into text, scripts and problems.
pub fn plan(format: ApiFormat, response: &Value) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    for block in read_blocks(format, response)? {
        match block {
            Block::Item(v) => pieces.push(Piece::Item(v)),
            Block::Unread { field, message } => pieces.push(Piece::Unread { field, message }),
            Block::Text { text, phase } => {
                for segment in detect(&text) {
                    match segment {
                        Segment::Text { text, .. } => pieces.push(Piece::Text {
                            text,
                            phase: phase.clone(),
                        }),
                        Segment::Script {
                            source, language, ..
                        } => pieces.push(Piece::Script { source, language }),
                        Segment::Problem {
                            kind,
                            text: raw,
                            start,
                            ..
                        } => {
                            let line = text
                                .encode_utf16()
                                .take(start)
                                .filter(|u| *u == u16::from(b'\n'))
                                .count() as u32
                                + 1;
                            pieces.push(Piece::Problem {
                                kind: kind.as_str(),
                                text: raw,
                                line,
                            });
                        }
                    }
                }
            }
        }
    }
    Ok(pieces)
}

/// Cut `text` to at most `max` bytes, with a marker saying how much went.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [cut: {} more bytes]", &text[..end], text.len() - end)
}

/// The text the model reads about one script's outcome.
pub fn script_report(call_id: &str, result: &Value, max_return_bytes: usize) -> String {
    let mut out = String::new();
    let ok = result.get("ok").and_then(Value::as_bool).unwrap_or(false);
    out.push_str(&format!(
        "[script {call_id}] {}\n",
        if ok { "completed" } else { "failed" }
    ));
    if let Some(e) = result.get("error").filter(|e| !e.is_null()) {
        let code = e
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or("HarnessInternalError");
        let message = e.get("message").and_then(Value::as_str).unwrap_or_default();
        match e.get("line").and_then(Value::as_u64) {
            Some(line) => out.push_str(&format!(
                "error: {code} at line {line}: {}\n",
                cut(message, 2000)
            )),
            None => out.push_str(&format!("error: {code}: {}\n", cut(message, 2000))),
        }
    } else if let Some(v) = result.get("value") {
        out.push_str(&format!(
            "return: {}\n",
            cut(&v.to_string(), max_return_bytes)
        ));
    } else {
        out.push_str("return: (no value)\n");
    }
    let logs = result
        .get("logs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !logs.is_empty() {
        let mut console = String::new();
        for l in &logs {
            let level = l.get("level").and_then(Value::as_str).unwrap_or("log");
            let message = l.get("message").and_then(Value::as_str).unwrap_or_default();
            console.push_str(&format!("  {level}: {message}\n"));
        }
        out.push_str("console:\n");
        out.push_str(&cut(&console, 8 * 1024));
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    let calls: Vec<String> = result
        .get("toolCalls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            format!(
                "{} {}",
                c.get("toolName").and_then(Value::as_str).unwrap_or("?"),
                c.get("status").and_then(Value::as_str).unwrap_or("?")
            )
        })
        .collect();
    if !calls.is_empty() {
        out.push_str(&format!("tool calls: {}\n", calls.join(", ")));
    }
    out.trim_end().to_owned()
}

/// A history message item for text.
pub fn message_item(text: &str, phase: Option<&Value>) -> Value {
    let mut item = json!({ "type": "message", "role": "assistant", "content": [{ "type": "output_text", "text": text }] });
    if let Some(p) = phase {
        item["phase"] = p.clone();
    }
    item
}

pub fn script_call_item(call_id: &str, source: &str, language: Language, ok: bool) -> Value {
    json!({
        "type": "script_tool_call",
        "id": format!("stc_{call_id}"),
        "call_id": call_id,
        "language": language.as_str(),
        "source_code": source,
        "source_sha256": sha256_hex(source),
        "status": if ok { "completed" } else { "error" },
    })
}

pub fn script_output_item(call_id: &str, result: &Value, summary: &str) -> Value {
    let mut item = json!({
        "type": "script_tool_call_output",
        "id": format!("stco_{call_id}"),
        "call_id": call_id,
        "summary": summary,
        "metadata": {
            "duration_ms": result.pointer("/metadata/durationMs").cloned().unwrap_or(json!(0)),
            "tool_calls_made": result.pointer("/metadata/toolCallsMade").cloned().unwrap_or(json!(0)),
        },
    });
    if let Some(m) = result.pointer("/metadata/memoryUsedMb") {
        item["metadata"]["memory_used_mb"] = m.clone();
    }
    if let Some(v) = result.get("value") {
        item["output_json"] = json!(v.to_string());
    }
    if let Some(e) = result.get("error").filter(|e| !e.is_null()) {
        item["error"] = e.clone();
    }
    item
}

/// The provider-native input element that carries `blocks` back.
pub fn continuation(format: ApiFormat, blocks: &[String]) -> Option<Value> {
    if blocks.is_empty() {
        return None;
    }
    Some(match format {
        ApiFormat::Responses => json!({
            "type": "message", "role": "user",
            "content": blocks.iter().map(|b| json!({ "type": "input_text", "text": b })).collect::<Vec<_>>(),
        }),
        ApiFormat::Chat => json!({ "role": "user", "content": blocks.join("\n\n") }),
        ApiFormat::Messages => json!({
            "role": "user",
            "content": blocks.iter().map(|b| json!({ "type": "text", "text": b })).collect::<Vec<_>>(),
        }),
    })
}

/// `plan` as JSON for the host: `[{kind: 'item'|'text'|'script'|'problem', ...}]`.
pub fn plan_json(format: ApiFormat, response: &Value) -> Result<Value, String> {
    Ok(Value::Array(
        plan(format, response)?
            .into_iter()
            .map(|p| match p {
                Piece::Item(item) => json!({ "kind": "item", "item": item }),
                Piece::Text { text, phase } => {
                    json!({ "kind": "text", "text": text, "phase": phase })
                }
                Piece::Script { source, language } => {
                    json!({ "kind": "script", "source": source, "language": language.as_str() })
                }
                Piece::Problem { kind, text, line } => {
                    json!({ "kind": "problem", "problem": kind, "text": text, "line": line })
                }
                Piece::Unread { field, message } => {
                    json!({ "kind": "unread", "field": field, "message": message })
                }
            })
            .collect(),
    ))
}

/// The most `unread` problems a turn reports one by one; the rest are one
/// problem that counts them.
const MAX_UNREAD_REPORTED: usize = 100;

/// Items, continuation and problems of a planned turn, given one result per
/// script in order (`ScriptResult` JSON; in dry-run, the validation report).
pub fn finish_json(
    format: ApiFormat,
    plan: &[Value],
    results: &[Value],
    dry_run: bool,
    max_return_bytes: usize,
) -> Value {
    let mut items: Vec<Value> = Vec::new();
    let mut blocks: Vec<String> = Vec::new();
    let mut problems: Vec<Value> = Vec::new();
    let (mut unread, mut unread_skipped) = (0usize, 0usize);
    let mut results = results.iter();
    let mut script_index = 0;
    for piece in plan {
        match piece.get("kind").and_then(Value::as_str) {
            Some("item") => items.push(piece["item"].clone()),
            Some("text") => {
                let text = piece["text"].as_str().unwrap_or_default();
                // Text that is only whitespace between scripts adds nothing.
                if text.trim().is_empty() {
                    continue;
                }
                // Adjacent text of one message stays one message item.
                if let Some(last) = items.last_mut()
                    && last["type"] == "message"
                    && last.get("phase") == piece.get("phase").filter(|p| !p.is_null())
                    && let Some(t) = last.pointer_mut("/content/0/text")
                {
                    let joined = format!("{}{}", t.as_str().unwrap_or_default(), text);
                    *t = json!(joined);
                    continue;
                }
                items.push(message_item(
                    text,
                    piece.get("phase").filter(|p| !p.is_null()),
                ));
            }
            Some("script") => {
                script_index += 1;
                let result = results.next().cloned().unwrap_or(Value::Null);
                let source = piece["source"].as_str().unwrap_or_default();
                let language = if piece["language"] == "js" {
                    Language::Js
                } else {
                    Language::Ts
                };
                let hash = sha256_hex(source);
                let call_id = result
                    .get("scriptId")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("scr_{}_{script_index}", &hash[..12]));
                let (ok, summary) = if dry_run {
                    let ok = result.get("ok").and_then(Value::as_bool).unwrap_or(false);
                    let tools: Vec<&str> = result
                        .get("toolsReferenced")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    let mut text = format!("[script {call_id}] dry-run: not run. ");
                    match result.get("errors").and_then(|e| e.get(0)) {
                        Some(e) => text.push_str(&format!(
                            "It would fail: {} at line {}: {}",
                            e["code"].as_str().unwrap_or_default(),
                            e["line"].as_u64().unwrap_or(0),
                            e["message"].as_str().unwrap_or_default()
                        )),
                        None => text.push_str(&format!(
                            "It is valid and would call: {}",
                            if tools.is_empty() {
                                "no tools".to_owned()
                            } else {
                                tools.join(", ")
                            }
                        )),
                    }
                    (ok, text)
                } else {
                    (
                        result.get("ok").and_then(Value::as_bool).unwrap_or(false),
                        script_report(&call_id, &result, max_return_bytes),
                    )
                };
                items.push(script_call_item(&call_id, source, language, ok));
                let output = if dry_run {
                    json!({ "type": "script_tool_call_output", "id": format!("stco_{call_id}"), "call_id": call_id, "summary": summary, "metadata": { "duration_ms": 0, "tool_calls_made": 0 } })
                } else {
                    script_output_item(&call_id, &result, &summary)
                };
                items.push(output);
                blocks.push(summary);
            }
            // Reported to the host only: the model wrote nothing wrong. A
            // response of thousands of unread parts is reported in a few.
            Some("unread") if unread < MAX_UNREAD_REPORTED => {
                unread += 1;
                problems.push(json!({
                    "kind": "unread",
                    "message": piece["message"],
                    "field": piece["field"],
                }));
            }
            Some("unread") => unread_skipped += 1,
            Some("problem") => {
                let kind = piece["problem"].as_str().unwrap_or("unclosed");
                let text = piece["text"].as_str().unwrap_or_default();
                let line = piece["line"].as_u64().unwrap_or(1);
                let message = match kind {
                    "nested" => "a <tool-calls> block inside another; nothing in it ran",
                    "stray" => "a closing </tool-calls> with no block open",
                    _ => "a <tool-calls> block that never closed; it did not run",
                };
                problems
                    .push(json!({ "kind": kind, "message": message, "line": line, "text": text }));
                blocks.push(format!("[problem {kind} at line {line}] {message}"));
                // The raw text stays in the turn as text.
                if let Some(last) = items.last_mut()
                    && last["type"] == "message"
                    && let Some(t) = last.pointer_mut("/content/0/text")
                {
                    let joined = format!("{}{}", t.as_str().unwrap_or_default(), text);
                    *t = json!(joined);
                } else {
                    items.push(message_item(text, None));
                }
            }
            _ => {}
        }
    }
    let continuation: Vec<Value> = continuation(format, &blocks).into_iter().collect();
    if unread_skipped > 0 {
        problems.push(json!({
            "kind": "unread",
            "message": format!("and {unread_skipped} more parts of the response not read"),
            "field": "",
        }));
    }
    json!({ "items": items, "continuation": continuation, "problems": problems })
}

/// A Chat Completions response, or its `choices[0].message`.
fn read_chat(response: &Value, blocks: &mut Vec<Block>) -> Result<(), String> {
    let (message, field, prefix) = match response {
        Value::Object(o) if o.contains_key("choices") => {
            let choices = o.get("choices").and_then(Value::as_array);
            // Only the first choice is a turn; the others (n > 1) are
            // reported, not dropped silently.
            for k in 1..choices.map_or(0, Vec::len) {
                blocks.push(Block::Unread {
                    field: format!("response.choices[{k}]"),
                    message: format!(
                        "response.choices[{k}]: only the first choice is read; this one was not"
                    ),
                });
            }
            (
                choices
                    .and_then(|c| c.first())
                    .and_then(|c| c.get("message"))
                    .ok_or("response.choices[0].message: missing")?,
                "response.choices[0].message.role",
                "response.choices[0].message",
            )
        }
        Value::Object(o) if o.contains_key("role") || o.contains_key("content") => {
            (response, "response.role", "response")
        }
        _ => {
            return Err(
                "response: expected a Chat Completions response or its `choices[0].message`".into(),
            );
        }
    };
    assistant_only(message, field)?;
    if let Some(r) = message.get("reasoning_content").and_then(Value::as_str) {
        let mut fields = Map::new();
        fields.insert("summary".into(), json!([]));
        fields.insert(
            "content".into(),
            json!([{ "type": "reasoning_text", "text": r }]),
        );
        blocks.push(Block::Item(reasoning_item(
            fields,
            &json!({ "reasoning_content": r }),
        )));
    }
    match message.get("content") {
        Some(Value::String(text)) => blocks.push(Block::Text {
            text: text.to_owned(),
            phase: None,
        }),
        // An array of content parts: the SDK's type allows it, and several
        // OpenAI-compatible servers send it.
        Some(Value::Array(parts)) => {
            for (j, part) in parts.iter().enumerate() {
                let kind = part.get("type").and_then(Value::as_str);
                let text = match kind {
                    Some("text") => part.get("text"),
                    Some("refusal") => part.get("refusal"),
                    _ => None,
                };
                match text.and_then(Value::as_str) {
                    Some(text) => blocks.push(Block::Text {
                        text: text.to_owned(),
                        phase: None,
                    }),
                    None => blocks.push(unread_part(format!("{prefix}.content[{j}]"), kind)),
                }
            }
        }
        _ => {}
    }
    if let Some(refusal) = message.get("refusal").and_then(Value::as_str) {
        blocks.push(Block::Text {
            text: refusal.to_owned(),
            phase: None,
        });
    }
    for (i, call) in message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let id = call
            .get("id")
            .and_then(Value::as_str)
            .ok_or(format!("response.tool_calls[{i}].id: missing"))?;
        if call.get("type").and_then(Value::as_str) == Some("custom") {
            let custom = call.get("custom").cloned().unwrap_or(Value::Null);
            blocks.push(Block::Item(json!({
                "type": "custom_tool_call",
                "call_id": id,
                "name": custom.get("name").and_then(Value::as_str).unwrap_or_default(),
                "input": custom.get("input").and_then(Value::as_str).unwrap_or_default(),
            })));
            continue;
        }
        let f = call.get("function").cloned().unwrap_or(Value::Null);
        let name = f.get("name").and_then(Value::as_str).unwrap_or_default();
        let arguments = f
            .get("arguments")
            .and_then(Value::as_str)
            .unwrap_or("{}")
            .to_owned();
        blocks.push(Block::Item(function_call(id, name, arguments, None)));
    }
    Ok(())
}

/// Scripts run only from what the model wrote: a message whose `role` is
/// present and not `assistant` (a user's or a tool's text quoting
/// `<tool-calls>`) is refused before anything runs.
fn assistant_only(message: &Value, field: &str) -> Result<(), String> {
    match message.get("role") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(r)) if r == "assistant" => Ok(()),
        Some(other) => Err(format!(
            "{field}: only assistant output is read for scripts, got {other}"
        )),
    }
}
