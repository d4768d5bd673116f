//! Lines and columns: byte offsets of the script as the model wrote it, and
//! positions in the generated code mapped back through the source map.

use oxc_sourcemap::{SourceMap, Token};

/// 1-based line and column (in UTF-16 units, as JavaScript counts) of a
/// byte offset into `text`.
pub fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let before = &text[..floor_boundary(text, offset)];
    let line = before.matches('\n').count() as u32 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].encode_utf16().count() as u32 + 1;
    (line, column)
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Maps positions in generated JavaScript back to the TypeScript source.
#[derive(Debug, Default)]
pub struct LineMap {
    /// (generated line, generated column, source line, source column), all
    /// 0-based, sorted by generated position.
    tokens: Vec<(u32, u32, u32, u32)>,
}

impl LineMap {
    pub fn from_source_map(map: &SourceMap) -> LineMap {
        let mut tokens: Vec<(u32, u32, u32, u32)> = map
            .get_tokens()
            .map(|t: Token| {
                (
                    t.get_dst_line(),
                    t.get_dst_col(),
                    t.get_src_line(),
                    t.get_src_col(),
                )
            })
            .collect();
        tokens.sort_unstable();
        LineMap { tokens }
    }

    /// The source position (1-based) of a generated position (1-based), or
    /// `None` when this map is the identity (JavaScript input).
    pub fn original(&self, line: u32, column: u32) -> Option<(u32, u32)> {
        if self.tokens.is_empty() {
            return None;
        }
        let key = (
            line.saturating_sub(1),
            column.saturating_sub(1),
            u32::MAX,
            u32::MAX,
        );
        let i = self.tokens.partition_point(|t| *t <= key);
        // The last token at or before the position; a position before every
        // token of its line takes the line's first token.
        let token = match i {
            0 => self.tokens[0],
            i if self.tokens[i - 1].0 == key.0 => self.tokens[i - 1],
            i => self
                .tokens
                .get(i)
                .filter(|t| t.0 == key.0)
                .copied()
                .unwrap_or(self.tokens[i - 1]),
        };
        Some((token.2 + 1, token.3 + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_utf16() {
        let text = "a\nü😀x";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 2), (2, 1));
        let x = text.find('x').unwrap();
        assert_eq!(line_col(text, x), (2, 4));
    }
}
