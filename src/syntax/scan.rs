//! A small line scanner beside the grammar: it collects comments (the grammar skips them), finds
//! strings left open at the end of a line, and the `{` that open blocks. It follows the same
//! lexical rules as `grammar/allot.pest`: `#` outside a string starts a comment to end of line;
//! strings never span lines.

use crate::span::Span;

use super::ast::Comment;

#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub comments: Vec<Comment>,
    /// Byte offset of each opening quote whose string is not closed on its line.
    pub unclosed_strings: Vec<usize>,
    /// Byte offset of each `{` that is the last token on its line (a block opener).
    pub block_opens: Vec<usize>,
}

pub(crate) fn scan(src: &str) -> Scan {
    let mut out = Scan::default();
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // One line: [i, end).
        let mut end = i;
        while end < b.len() && b[end] != b'\n' && b[end] != b'\r' {
            end += 1;
        }
        scan_line(src, i, end, &mut out);
        i = next_line_start(src, end);
    }
    out
}

fn scan_line(src: &str, start: usize, end: usize, out: &mut Scan) {
    let b = src.as_bytes();
    let mut i = start;
    let mut last_brace: Option<usize> = None;
    while i < end {
        match b[i] {
            b'"' => {
                let open = i;
                i += 1;
                let mut closed = false;
                while i < end {
                    match b[i] {
                        b'\\' => i += 2,
                        b'"' => {
                            closed = true;
                            i += 1;
                            break;
                        }
                        _ => i += 1,
                    }
                }
                if !closed {
                    out.unclosed_strings.push(open);
                    return;
                }
                last_brace = None;
                continue;
            }
            b'#' => {
                // Comment text without the `#`; trailing blanks are layout, not text.
                let text = src[i + 1..end].trim_end_matches([' ', '\t']);
                out.comments.push(Comment {
                    text: text.to_string(),
                    span: Span::new(i, i + 1 + text.len()),
                });
                break;
            }
            b'{' => {
                last_brace = Some(i);
            }
            b' ' | b'\t' => {}
            _ => {
                last_brace = None;
            }
        }
        i += 1;
    }
    if let Some(p) = last_brace {
        out.block_opens.push(p);
    }
}

/// Byte offset where the line holding `pos` starts.
pub(crate) fn line_start(src: &str, pos: usize) -> usize {
    let pos = pos.min(src.len());
    src.as_bytes()[..pos]
        .iter()
        .rposition(|&c| c == b'\n' || c == b'\r')
        .map_or(0, |i| i + 1)
}

/// Byte offset just past the line break ending the line holding `pos` (or the end of text).
pub(crate) fn next_line_start(src: &str, pos: usize) -> usize {
    let b = src.as_bytes();
    let mut i = pos.min(b.len());
    while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
        i += 1;
    }
    if i < b.len() && b[i] == b'\r' {
        i += 1;
        if i < b.len() && b[i] == b'\n' {
            i += 1;
        }
    } else if i < b.len() {
        i += 1;
    }
    i
}

/// The code of the line starting at `ls`: without its comment and trailing blanks.
fn code_of_line(src: &str, ls: usize) -> &str {
    let b = src.as_bytes();
    let mut i = ls;
    let mut in_string = false;
    while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
        match b[i] {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            b'#' if !in_string => break,
            _ => {}
        }
        i += 1;
    }
    let end = i.min(b.len());
    src[ls..end].trim_end()
}

/// The line start after the statement on the line holding `pos`, skipping the lines a list
/// continues on (a line whose code ends with a comma goes on on the next).
pub(crate) fn after_statement(src: &str, pos: usize) -> usize {
    let mut ls = line_start(src, pos);
    loop {
        let next = next_line_start(src, ls);
        if next >= src.len() || !code_of_line(src, ls).ends_with(',') {
            return next;
        }
        ls = next;
    }
}

/// The start of the statement the line holding `pos` belongs to (earlier lines ending with a
/// comma continue onto it).
pub(crate) fn statement_start(src: &str, pos: usize) -> usize {
    let mut ls = line_start(src, pos);
    while ls > 0 {
        let prev = line_start(src, ls - 1);
        if !code_of_line(src, prev).ends_with(',') {
            break;
        }
        ls = prev;
    }
    ls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_strings_and_braces() {
        let src = "a \"x # y\" # real\nrule \"r\" {  # c\n  b \"open\n}\r\n#x  \n";
        let s = scan(src);
        let texts: Vec<&str> = s.comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, [" real", " c", "x"]);
        assert_eq!(
            &src[s.comments[0].span.start..s.comments[0].span.end],
            "# real"
        );
        assert_eq!(s.unclosed_strings, [src.find("\"open").unwrap()]);
        assert_eq!(s.block_opens, [src.find('{').unwrap()]);
        assert_eq!(line_start(src, 20), 17);
        assert_eq!(next_line_start(src, 0), 17);
    }

    #[test]
    fn continued_statements() {
        let src = "a 1, # c,\n  b \"x,\",\n  c\nd\n";
        assert_eq!(after_statement(src, 0), src.find("d\n").unwrap());
        assert_eq!(statement_start(src, src.find("c\n").unwrap()), 0);
        assert_eq!(
            statement_start(src, src.find("d\n").unwrap()),
            src.find("d\n").unwrap()
        );
    }
}
