//! Stage 1: policy text → `Ast`. The grammar lives in `grammar/allot.pest`; `parser` lowers
//! pest's pairs to the AST, `errors` turns every failure into a diagnostic in the user's words,
//! `scan` collects comments and finds unclosed strings and blocks.
//!
//! The driver parses one top-level item at a time, so after an error it can skip to the next
//! line that starts an item (`rule`, `test`, `location`, …) and report the errors there too.

pub mod ast;
pub mod errors;
mod parser;
mod scan;

use std::num::NonZeroUsize;
use std::sync::Once;

use crate::diag::Diagnostic;
use crate::span::Span;

use ast::Ast;
use parser::Step;

pub use errors::codes;

/// Largest policy file accepted (1 MiB).
pub const MAX_SOURCE_BYTES: usize = 1 << 20;
/// After this many diagnostics the rest of the file is not looked at.
const MAX_DIAGNOSTICS: usize = 50;
/// pest's budget of rule calls per item: generous for any real policy, and bounds backtracking.
const CALL_LIMIT: usize = 20_000_000;

/// Parse a policy file. On failure, every syntax error found (at least the first, precisely).
pub fn parse(src: &str) -> Result<Ast, Vec<Diagnostic>> {
    static LIMIT: Once = Once::new();
    LIMIT.call_once(|| pest::set_call_limit(NonZeroUsize::new(CALL_LIMIT)));

    if src.len() > MAX_SOURCE_BYTES {
        return Err(vec![errors::input_too_large(src.len(), MAX_SOURCE_BYTES)]);
    }
    let scan = scan::scan(src);
    let mut diags: Vec<Diagnostic> = scan
        .unclosed_strings
        .iter()
        .map(|&q| errors::unclosed_string(src, q))
        .collect();
    let mut items = Vec::new();
    let mut pos = if src.starts_with('\u{feff}') { 3 } else { 0 };
    loop {
        if diags.len() >= MAX_DIAGNOSTICS {
            break;
        }
        match parser::next_item(src, pos, &mut diags) {
            Ok(Step::End) => break,
            Ok(Step::Item(item, next)) => {
                items.extend(item);
                if next <= pos {
                    break;
                }
                pos = next;
            }
            Err(e) => {
                let (d, at) = errors::from_pest(src, pos, &e, &scan);
                diags.extend(d);
                match resume_point(src, pos, at) {
                    Some(r) => pos = r,
                    None => break,
                }
            }
        }
    }
    if diags.is_empty() {
        return Ok(Ast {
            items,
            comments: scan.comments,
        });
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
    Err(diags)
}

const TOP_KEYWORDS: &[&str] = &[
    "policy",
    "seller",
    "marketplaces",
    "marketplace",
    "location",
    "guarantee",
    "on_missing",
    "rule",
    "test",
];

/// After an error at `at` in the item starting at `pos`: the next line that starts (in column 1)
/// with a top-level keyword, skipping the failed line unless the error is its first word.
fn resume_point(src: &str, pos: usize, at: usize) -> Option<usize> {
    let ls = scan::line_start(src, at);
    let first_word = src[ls..at].trim_matches([' ', '\t']).is_empty();
    let mut l = if first_word {
        ls
    } else {
        scan::next_line_start(src, at)
    };
    while l < src.len() {
        if l > pos {
            let rest = &src[l..];
            let word_len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if TOP_KEYWORDS.contains(&&rest[..word_len]) {
                return Some(l);
            }
        }
        l = scan::next_line_start(src, l);
    }
    None
}
