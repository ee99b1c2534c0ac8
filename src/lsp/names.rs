//! The names of one document: the word under the cursor, and what the document declares
//! (locations, custom marketplaces), read from the parser's AST. The AST is the lenient one, so a
//! file being typed (with a syntax error somewhere) still has the declarations that parse.

use crate::span::Span;
use crate::syntax::ast::{Ast, Ident, ItemKind, StmtKind, Str, TestStmtKind};

/// A `location` line.
pub struct LocationDecl<'a> {
    pub name: &'a Ident,
    pub supply_source: Option<&'a Str>,
    /// The whole line, keyword to last token.
    pub item: Span,
}

/// A `marketplace XX id "…" region EU` line.
pub struct MarketplaceDecl<'a> {
    pub code: &'a Ident,
    pub item: Span,
}

pub fn locations(ast: &Ast) -> Vec<LocationDecl<'_>> {
    ast.items
        .iter()
        .filter_map(|item| match &item.kind {
            ItemKind::Location {
                name,
                supply_source,
            } => Some(LocationDecl {
                name,
                supply_source: supply_source.as_ref(),
                item: item.span,
            }),
            _ => None,
        })
        .collect()
}

pub fn custom_marketplaces(ast: &Ast) -> Vec<MarketplaceDecl<'_>> {
    ast.items
        .iter()
        .filter_map(|item| match &item.kind {
            ItemKind::Marketplace { code, .. } => Some(MarketplaceDecl {
                code,
                item: item.span,
            }),
            _ => None,
        })
        .collect()
}

/// Every place a location name is written where the language expects one: `stock from`, a
/// target's `from`, a `by location { … }` split, a test's stock entries and `expect … at`, and
/// the declarations themselves.
pub fn location_uses(ast: &Ast) -> Vec<Span> {
    let mut out = Vec::new();
    for item in &ast.items {
        match &item.kind {
            ItemKind::Location { name, .. } => out.push(name.span),
            ItemKind::Rule(rule) => {
                for stmt in &rule.stmts {
                    match &stmt.kind {
                        StmtKind::StockFrom(names) => out.extend(names.iter().map(|n| n.span)),
                        StmtKind::Publish(targets) => {
                            for t in targets {
                                if let Some(from) = &t.from {
                                    out.extend(from.locations.iter().map(|n| n.span));
                                }
                                if let Some(by) = &t.by_location {
                                    out.extend(by.split.iter().map(|p| p.location.span));
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            ItemKind::Test(test) => {
                for stmt in &test.stmts {
                    match &stmt.kind {
                        TestStmtKind::Stock { entries, .. } => {
                            out.extend(entries.iter().map(|e| e.location.span))
                        }
                        TestStmtKind::Expect {
                            channel: Some(c), ..
                        } => out.push(c.span),
                        TestStmtKind::Expect { .. } => {}
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// A word of the text: an identifier-like run of characters and where it is.
pub struct Word<'a> {
    pub text: &'a str,
    pub span: Span,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The word at (or just before) `offset`, unless it is inside a string or a comment.
pub fn word_at(text: &str, offset: usize) -> Option<Word<'_>> {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let at_word = text[offset..].chars().next().is_some_and(is_word_char);
    let after_word = text[..offset].chars().next_back().is_some_and(is_word_char);
    if !at_word && !after_word {
        return None;
    }
    let start = text[..offset]
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_word_char(c))
        .last()
        .map_or(offset, |(i, _)| i);
    let end = text[offset..]
        .char_indices()
        .find(|&(_, c)| !is_word_char(c))
        .map_or(text.len(), |(i, _)| offset + i);
    if start == end || in_string_or_comment(text, start) {
        return None;
    }
    Some(Word {
        text: &text[start..end],
        span: Span::new(start, end),
    })
}

/// Whether `offset` is inside a string literal or a comment of its line, read the way the
/// grammar reads a line (a string ends at its closing quote or the line's end; `\` escapes one
/// character; `#` outside a string starts a comment).
pub fn in_string_or_comment(text: &str, offset: usize) -> bool {
    let line_start = text[..offset].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let mut in_string = false;
    let mut chars = text[line_start..offset].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_string => {
                chars.next();
            }
            '"' => in_string = !in_string,
            '#' if !in_string => return true,
            _ => {}
        }
    }
    in_string
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_outside_strings_and_comments() {
        let text = "stock from newark # austin\n  match sku \"US\\\" x\"";
        let w = word_at(text, text.find("newark").unwrap() + 2).unwrap();
        assert_eq!(w.text, "newark");
        // Just after a word (the cursor at its end) still finds it.
        assert_eq!(word_at(text, 5).unwrap().text, "stock");
        assert!(word_at(text, text.find("austin").unwrap()).is_none());
        assert!(word_at(text, text.find("US").unwrap()).is_none());
        assert!(word_at(text, text.find('x').unwrap()).is_none());
        assert_eq!(
            word_at(text, text.find("sku").unwrap()).unwrap().text,
            "sku"
        );
        assert!(word_at(text, text.len() + 10).is_none());
    }
}
