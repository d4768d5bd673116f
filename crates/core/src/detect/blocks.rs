//! CommonMark's indented code blocks, as far as the detector needs them: a
//! line indented four columns past the current list item's content, after a
//! blank line or another such line, is code, so a `<tool-calls>` on it is
//! an example shown to the reader, not a script. (An indented line right
//! after a paragraph line continues the paragraph: that is not code.)

/// What the detector knows of the lines before the one it looks at.
#[derive(Debug, Clone, Copy)]
pub(super) struct LineContext {
    /// The line before was blank, or there was none.
    pub prev_blank: bool,
    /// The line before was a line of an indented code block.
    pub prev_code: bool,
    /// Content column of the list item being continued; 0 outside lists.
    pub list_indent: usize,
}

impl Default for LineContext {
    fn default() -> Self {
        LineContext {
            prev_blank: true,
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
    let bytes = line.as_bytes();
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
    if col >= ctx.list_indent + 4 && (ctx.prev_blank || ctx.prev_code) {
        return LineKind::Code;
    }
    match list_marker(&bytes[i..]) {
        Some(width) => ctx.list_indent = col + width,
        None if ctx.prev_blank && col < ctx.list_indent => ctx.list_indent = 0,
        None => {}
    }
    LineKind::Other
}

/// Width of a list item marker and the spaces after it (`- `, `* `, `+ `,
/// `1. `, `12) `), which is where the item's content starts.
fn list_marker(bytes: &[u8]) -> Option<usize> {
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
        5.. => Some(marker + 1),
        n => Some(marker + n),
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
