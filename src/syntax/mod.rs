//! Stage 1: policy text → `Ast`. The grammar lives in `grammar/allot.pest`; `parser` lowers
//! pest's pairs to the AST, `errors` turns every failure into a diagnostic in the user's words,
//! `scan` collects comments and finds unclosed strings and blocks.
//!
//! The driver parses one top-level item at a time, so after an error it can go on: with the
//! next statement when the error is inside a rule or test block, else with the next line. The
//! statements before an error in a block are lowered too, for their own diagnostics.

pub mod ast;
pub mod errors;
mod keywords;
mod parser;
mod scan;

use std::num::NonZeroUsize;
use std::sync::Once;

use crate::diag::Diagnostic;
use crate::span::Span;

use ast::Ast;
use keywords::TOP_KEYWORDS;
use parser::{Block, Step};

pub use errors::codes;
pub use keywords::KEYWORDS;

/// Largest policy file accepted (1 MiB).
pub const MAX_SOURCE_BYTES: usize = 1 << 20;
/// After this many diagnostics the rest of the file is not looked at.
const MAX_DIAGNOSTICS: usize = 50;
/// pest's budget of rule calls per item: generous for any real policy, and bounds backtracking.
const CALL_LIMIT: usize = 20_000_000;

/// Parse a policy file. On failure, every syntax error found (at least the first, precisely).
pub fn parse(src: &str) -> Result<Ast, Vec<Diagnostic>> {
    let (ast, diags) = parse_lenient(src);
    if diags.is_empty() {
        Ok(ast)
    } else {
        Err(diags)
    }
}

/// Parse a policy file, keeping what parsed beside the syntax errors: the items the driver
/// lowered cleanly (an item with an error in it is left out). For tools that must work on a
/// file while it is being typed (the language server's names, hover, completion); anything
/// that acts on the policy uses `parse`.
pub fn parse_lenient(src: &str) -> (Ast, Vec<Diagnostic>) {
    static LIMIT: Once = Once::new();
    LIMIT.call_once(|| pest::set_call_limit(NonZeroUsize::new(CALL_LIMIT)));

    if src.len() > MAX_SOURCE_BYTES {
        let empty = Ast {
            items: Vec::new(),
            comments: Vec::new(),
        };
        return (
            empty,
            vec![errors::input_too_large(src.len(), MAX_SOURCE_BYTES)],
        );
    }
    let scan = scan::scan(src);
    let mut diags: Vec<Diagnostic> = scan
        .unclosed_strings
        .iter()
        .map(|&q| errors::unclosed_string(src, q))
        .collect();
    let mut items = Vec::new();
    let mut pos = if src.starts_with('\u{feff}') { 3 } else { 0 };
    // `Some(block)`: recovering inside a rule or test block after an error in it.
    let mut inside: Option<Block> = None;
    while diags.len() < MAX_DIAGNOSTICS && pos < src.len() {
        let result = match inside {
            None => parser::next_item(src, pos, &mut diags),
            Some(block) => {
                parser::rest_of_block(src, pos, block, &mut diags).map(|end| Step::Item(None, end))
            }
        };
        match result {
            Ok(Step::End) => break,
            Ok(Step::Item(item, next)) => {
                items.extend(item);
                if next <= pos {
                    break;
                }
                pos = next;
                inside = None;
            }
            Err(e) => {
                let (d, at) = errors::from_pest(src, pos, &e, &scan);
                let unclosed = d.as_ref().is_some_and(|d| d.code == codes::UNCLOSED_BLOCK);
                diags.extend(d);
                if unclosed {
                    // The lines of the open block still get their own diagnostics.
                    let (from, block) = match inside {
                        Some(b) => (pos, Some(b)),
                        None => (
                            scan::next_line_start(src, first_code_line(src, pos)),
                            block_of_failed_item(src, pos, at, &scan),
                        ),
                    };
                    if let Some(b) = block {
                        parser::lines_of_block(src, from, scan::line_start(src, at), b, &mut diags);
                    }
                    // The next block starts at `at` (or the file ended): go on from there.
                    if at <= pos || at >= src.len() {
                        break;
                    }
                    pos = at;
                    inside = None;
                    continue;
                }
                let line = scan::statement_start(src, at);
                let next = scan::after_statement(src, at);
                if next <= pos {
                    break;
                }
                inside = match inside {
                    // A `}` line that does not parse ends the block anyway.
                    Some(_) if src[line..].trim_start().starts_with('}') => None,
                    Some(b) => {
                        parser::lines_of_block(src, pos, line, b, &mut diags);
                        Some(b)
                    }
                    None => {
                        let b = block_of_failed_item(src, pos, at, &scan);
                        if let Some(b) = b {
                            let head = scan::next_line_start(src, first_code_line(src, pos));
                            parser::lines_of_block(src, head, line, b, &mut diags);
                        }
                        b
                    }
                };
                pos = next;
            }
        }
    }
    // A line with an unclosed string is reported once, for the string.
    diags.retain(|d| {
        d.code == codes::UNCLOSED_STRING || {
            let at = d.primary_span().start;
            let (ls, le) = (scan::line_start(src, at), scan::next_line_start(src, at));
            !scan.unclosed_strings.iter().any(|&q| q >= ls && q < le)
        }
    });
    let ast = Ast {
        items,
        comments: scan.comments,
    };
    if diags.is_empty() {
        return (ast, diags);
    }
    diags.sort_by_key(|d| d.primary_span().start);
    diags.dedup_by_key(|d| d.primary_span());
    if diags.len() >= MAX_DIAGNOSTICS {
        diags.truncate(MAX_DIAGNOSTICS);
        let at = src.len();
        diags.push(
            Diagnostic::error(
                codes::SYNTAX,
                "too many syntax errors; the rest of the file was not read",
            )
            .at(Span::new(at, at), "stopped before here")
            .help("fix the errors above and run again"),
        );
    }
    (ast, diags)
}

/// After an error at `at` in the item starting at (or after blank lines from) `pos`: the block the
/// driver should go on inside, if the error is in a `rule`/`test` block or on its opening line.
fn block_of_failed_item(src: &str, pos: usize, at: usize, scan: &scan::Scan) -> Option<Block> {
    let start = first_code_line(src, pos);
    let word: String = src[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let block = match word.as_str() {
        "test" => Block::Test,
        "rule" => Block::Rule,
        _ => return None,
    };
    let first_line_end = scan::next_line_start(src, start);
    if at >= first_line_end {
        // Inside the body.
        return Some(block);
    }
    // On the opening line: go on inside if that line opens a block, or if it lacks its `{` but
    // the lines after it still look like the block's (not a new top-level item).
    let opens = scan
        .block_opens
        .iter()
        .any(|&o| o >= start && o < first_line_end);
    let next = first_code_line(src, first_line_end);
    let next_is_item = next < src.len()
        && next == scan::line_start(src, next)
        && TOP_KEYWORDS.iter().any(|k| {
            src[next..].starts_with(k)
                && !src[next + k.len()..]
                    .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        });
    (opens || !next_is_item).then_some(block)
}

/// The first line at or after `pos` that holds something other than blanks and comments.
fn first_code_line(src: &str, mut pos: usize) -> usize {
    while pos < src.len() {
        let t = src[pos..scan::next_line_start(src, pos)].trim();
        if !t.is_empty() && !t.starts_with('#') {
            return pos + (src[pos..].len() - src[pos..].trim_start().len());
        }
        pos = scan::next_line_start(src, pos);
    }
    pos
}
