//! Byte offsets ↔ LSP positions. LSP counts columns in UTF-16 code units (its default position
//! encoding, the only one every client supports), where `allot check --format json` counts
//! characters; and it breaks lines at `\n`, `\r\n` and a lone `\r`, as the policy grammar does.

use lsp_types::{Position, Range};

use crate::span::Span;

pub struct LineMap<'a> {
    text: &'a str,
    /// Byte offset of the start of each line.
    starts: Vec<usize>,
}

impl<'a> LineMap<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        let b = text.as_bytes();
        for (i, &c) in b.iter().enumerate() {
            match c {
                b'\n' => starts.push(i + 1),
                b'\r' if b.get(i + 1) != Some(&b'\n') => starts.push(i + 1),
                _ => {}
            }
        }
        LineMap { text, starts }
    }

    /// The position of a byte offset (clamped to the text; inside a character, its start).
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let col = self.text[self.starts[line]..offset].encode_utf16().count();
        Position::new(to_u32(line), to_u32(col))
    }

    pub fn range(&self, span: Span) -> Range {
        Range::new(self.position(span.start), self.position(span.end))
    }

    /// The byte offset of a position. A line past the end is the end of the text; a column past
    /// the end of its line is the line's end (before its line break), as the spec says.
    pub fn offset(&self, pos: Position) -> usize {
        let Some(&start) = self.starts.get(pos.line as usize) else {
            return self.text.len();
        };
        let end = self
            .starts
            .get(pos.line as usize + 1)
            .copied()
            .unwrap_or(self.text.len());
        let line = self.text[start..end].trim_end_matches(['\r', '\n']);
        let mut units = 0usize;
        for (i, c) in line.char_indices() {
            if units >= pos.character as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        start + line.len()
    }

    /// The range of the whole text.
    pub fn whole(&self) -> Range {
        Range::new(Position::new(0, 0), self.position(self.text.len()))
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_utf16_units() {
        // 'é' is 2 bytes and 1 unit; '😀' is 4 bytes and 2 units.
        let text = "ab\n\"é😀\" x\r\nlast\rcr";
        let m = LineMap::new(text);
        let x = text.find('x').unwrap();
        assert_eq!(m.position(x), Position::new(1, 6));
        assert_eq!(m.offset(Position::new(1, 6)), x);
        assert_eq!(m.position(text.find("last").unwrap()), Position::new(2, 0));
        assert_eq!(m.position(text.find("cr").unwrap()), Position::new(3, 0));
        assert_eq!(m.position(text.len()), Position::new(3, 2));
        // Inside the emoji: its start.
        let emoji = text.find('😀').unwrap();
        assert_eq!(m.position(emoji + 1), Position::new(1, 2));
        // Past the end of a line or of the text: clamped.
        assert_eq!(m.offset(Position::new(0, 99)), 2);
        assert_eq!(m.offset(Position::new(1, 99)), text.find('\r').unwrap());
        assert_eq!(m.offset(Position::new(99, 0)), text.len());
        assert_eq!(m.whole().end, Position::new(3, 2));
    }
}
