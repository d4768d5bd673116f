//! CommonMark's indented code blocks, as far as the detector needs them: a
//! line indented four columns past the current list item's content (and
//! past any `>` of a block quote) is code, so a `<tool-calls>` on it is an
//! example shown to the reader, not a script, unless the line before it is
//! a paragraph line, which it continues. Blank lines, headings, thematic
//! breaks, fence lines, lone HTML tags and code lines are not paragraph
//! lines.

/// What the detector knows of the lines before the one it looks at.
#[derive(Debug, Clone, Copy)]
pub(super) struct LineContext {
    /// The line before was blank, or there was none.
    pub prev_blank: bool,
    /// The line before was a paragraph line (an indented line continues it).
    pub prev_paragraph: bool,
    /// The line before was a line of an indented code block.
    pub prev_code: bool,
    /// Content column of the list item being continued; 0 outside lists.
    pub list_indent: usize,
}

impl Default for LineContext {
    fn default() -> Self {
        LineContext {
            prev_blank: true,
            prev_paragraph: false,
            prev_code: false,
            list_indent: 0,
        }
    }
}

pub(super) enum LineKind {
    /// Only indentation has arrived so far.
    NeedMore,
    /// A line of an indented code block.
    Code,
    Other,
}

pub(super) fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// Classify the line that starts `line` (it runs to its `\n` or the end of
/// what has arrived), updating `ctx.list_indent` once the answer is final.
pub(super) fn classify(line: &str, last: bool, ctx: &mut LineContext) -> LineKind {
    let bytes = strip_quote_markers(line.as_bytes());
    let mut col = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' => col += 1,
            b'\t' => col += 4 - col % 4,
            _ => break,
        }
        i += 1;
    }
    if i == bytes.len() {
        return if last {
            LineKind::Other
        } else {
            LineKind::NeedMore
        };
    }
    if matches!(bytes[i], b'\n' | b'\r') {
        return LineKind::Other;
    }
    if col >= ctx.list_indent + 4 && !ctx.prev_paragraph {
        return LineKind::Code;
    }
    match list_marker(&bytes[i..]) {
        Some((width, spaces)) => {
            ctx.list_indent = col + width;
            // `-     x`: the item starts with an indented code block.
            if spaces >= 5 && !is_blank(&bytes[i + width - 1..]) {
                return LineKind::Code;
            }
        }
        None if ctx.prev_blank && col < ctx.list_indent => ctx.list_indent = 0,
        None => {}
    }
    LineKind::Other
}

/// A line's content after the `>` markers of block quotes (each with the
/// one space it may take).
fn strip_quote_markers(mut bytes: &[u8]) -> &[u8] {
    loop {
        let indent = bytes.iter().take(3).take_while(|b| **b == b' ').count();
        match bytes.get(indent) {
            Some(b'>') => {
                bytes = &bytes[indent + 1..];
                if bytes.first() == Some(&b' ') {
                    bytes = &bytes[1..];
                }
            }
            _ => return bytes,
        }
    }
}

/// Whether a complete line (without its `\n`) is a paragraph line, one an
/// indented line after it would continue rather than start code.
pub(super) fn is_paragraph_line(line: &[u8]) -> bool {
    let content = strip_quote_markers(line);
    let indent = content
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    let rest = &content[indent..];
    if is_blank(rest) || indent >= 4 {
        return false;
    }
    let text = std::str::from_utf8(rest).unwrap_or("").trim_end();
    let atx = text.bytes().take_while(|b| *b == b'#').count();
    if (1..=6).contains(&atx) && matches!(text.as_bytes().get(atx), None | Some(b' ' | b'\t')) {
        return false;
    }
    let marks: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b' ' | b'\t'))
        .collect();
    if marks.len() >= 3
        && matches!(marks[0], b'*' | b'-' | b'_')
        && marks.iter().all(|b| *b == marks[0])
    {
        return false;
    }
    if text.starts_with("```") || text.starts_with("~~~") || text.starts_with("<!--") {
        return false;
    }
    // A lone HTML tag on its line opens or closes an HTML block.
    let lone_tag = text.starts_with('<')
        && text.ends_with('>')
        && text.len() > 2
        && text[1..text.len() - 1].find(['<', '>']).is_none()
        && !text.starts_with("<tool-calls")
        && !text.starts_with("</tool-calls");
    !lone_tag
}

/// Width of a list item marker and the spaces after it (`- `, `* `, `+ `,
/// `1. `, `12) `), which is where the item's content starts, and how many
/// spaces followed the marker.
fn list_marker(bytes: &[u8]) -> Option<(usize, usize)> {
    let digits = bytes
        .iter()
        .take(9)
        .take_while(|b| b.is_ascii_digit())
        .count();
    let marker = match bytes.first()? {
        b'-' | b'*' | b'+' => 1,
        _ if digits > 0 && matches!(bytes.get(digits), Some(b'.' | b')')) => digits + 1,
        _ => return None,
    };
    let spaces = bytes[marker..].iter().take_while(|b| **b == b' ').count();
    match spaces {
        0 => None,
        // Five or more: the content is an indented code block one space in.
        5.. => Some((marker + 1, spaces)),
        n => Some((marker + n, n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(line: &str, ctx: LineContext) -> &'static str {
        let mut ctx = ctx;
        match classify(line, true, &mut ctx) {
            LineKind::Code => "code",
            LineKind::Other => "other",
            LineKind::NeedMore => "more",
        }
    }

    #[test]
    fn indented_lines_after_a_blank_are_code() {
        let after_blank = LineContext::default();
        let in_paragraph = LineContext {
            prev_blank: false,
            prev_paragraph: true,
            ..LineContext::default()
        };
        assert_eq!(kind("    <tool-calls>\n", after_blank), "code");
        assert_eq!(kind("\t<tool-calls>\n", after_blank), "code");
        assert_eq!(kind("   <tool-calls>\n", after_blank), "other");
        assert_eq!(kind("    <tool-calls>\n", in_paragraph), "other");
        let in_list = LineContext {
            list_indent: 3,
            ..LineContext::default()
        };
        assert_eq!(kind("    <tool-calls>\n", in_list), "other");
        assert_eq!(kind("       <tool-calls>\n", in_list), "code");
    }

    #[test]
    fn headings_breaks_fences_and_tags_are_not_paragraph_lines() {
        for line in [
            "# h",
            "---",
            "* * *",
            "```",
            "~~~ ts",
            "<!-- c -->",
            "<div>",
            "</div>",
            ">",
            "    code",
            "",
        ] {
            assert!(!is_paragraph_line(line.as_bytes()), "{line}");
        }
        for line in [
            "text",
            "> a",
            "#hashtag",
            "<tool-calls>x</tool-calls>",
            "a <b>c</b>",
        ] {
            assert!(is_paragraph_line(line.as_bytes()), "{line}");
        }
        let quoted = LineContext::default();
        assert_eq!(kind(">     <tool-calls>\n", quoted), "code");
        assert_eq!(kind("-     <tool-calls>\n", quoted), "code");
        assert_eq!(kind("1.     <tool-calls>\n", quoted), "code");
    }

    #[test]
    fn list_items_set_the_content_column() {
        let mut ctx = LineContext::default();
        assert!(matches!(
            classify("1. Step\n", true, &mut ctx),
            LineKind::Other
        ));
        assert_eq!(ctx.list_indent, 3);
        assert!(matches!(classify("- x\n", true, &mut ctx), LineKind::Other));
        assert_eq!(ctx.list_indent, 2);
        assert!(matches!(
            classify("text\n", true, &mut ctx),
            LineKind::Other
        ));
        assert_eq!(ctx.list_indent, 0);
    }
}
