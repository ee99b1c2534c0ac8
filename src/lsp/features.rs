//! Hover, go to definition and completion on one document.

use lsp_types::{
    CompletionItem, CompletionItemKind, Hover, HoverContents, Location, MarkupContent, MarkupKind,
    Position, Uri,
};

use crate::marketplaces;
use crate::syntax::KEYWORDS;
use crate::syntax::ast::Ast;

use super::keywords;
use super::names::{self, Word};
use super::position::LineMap;

/// One open document, parsed for its names.
pub struct Doc<'a> {
    pub uri: &'a Uri,
    pub text: &'a str,
    pub ast: Ast,
}

impl<'a> Doc<'a> {
    pub fn new(uri: &'a Uri, text: &'a str) -> Self {
        Doc {
            uri,
            text,
            ast: crate::syntax::parse_lenient(text).0,
        }
    }

    fn word(&self, pos: Position) -> Option<Word<'a>> {
        names::word_at(self.text, LineMap::new(self.text).offset(pos))
    }

    /// The declaration of the location a word names, if it names one here: where the parser
    /// saw a location name, or (in lines that do not parse yet) any word spelled as one that is
    /// no keyword.
    fn location<'d>(&'d self, w: &Word<'_>) -> Option<names::LocationDecl<'d>> {
        let decl = names::locations(&self.ast)
            .into_iter()
            .find(|d| d.name.node == w.text)?;
        let used_as_location = names::location_uses(&self.ast).contains(&w.span);
        (used_as_location || !KEYWORDS.contains(&w.text)).then_some(decl)
    }

    pub fn hover(&self, pos: Position) -> Option<Hover> {
        let w = self.word(pos)?;
        let markdown = if let Some(decl) = self.location(&w) {
            let line = &self.text[decl.item.start..decl.item.end.min(self.text.len())];
            let what = match decl.supply_source {
                Some(s) => format!(
                    "Location `{}`: an Amazon supply source (`{}`), so it can get its own quantity with `by location`.",
                    decl.name.node, s.node
                ),
                None => format!(
                    "Location `{}`: its stock counts toward pools; it is no supply source, so it never gets a quantity of its own.",
                    decl.name.node
                ),
            };
            format!("```allot\n{line}\n```\n\n{what}")
        } else if let Some(m) = self.marketplace(w.text) {
            m
        } else if let Some((text, anchor)) = keywords::doc(w.text) {
            format!(
                "{text}\n\n[docs/language.md]({}#{anchor})",
                self.docs_link()
            )
        } else {
            return None;
        };
        let map = LineMap::new(self.text);
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: markdown,
            }),
            range: Some(map.range(w.span)),
        })
    }

    /// A marketplace code's description: the built-in table's entry, or the document's own
    /// `marketplace` declaration.
    fn marketplace(&self, code: &str) -> Option<String> {
        if let Some(d) = names::custom_marketplaces(&self.ast)
            .into_iter()
            .find(|d| d.code.node == code)
        {
            let line = &self.text[d.item.start..d.item.end.min(self.text.len())];
            return Some(format!(
                "```allot\n{line}\n```\n\nA marketplace declared in this policy."
            ));
        }
        let m = marketplaces::lookup_written(code)?;
        let alias = match marketplaces::alias_of(code) {
            Some(of) => format!(" (`{code}` is written for Amazon's `{of}`)"),
            None => String::new(),
        };
        Some(format!(
            "**{code}**: Amazon {}{alias}\n\nmarketplace ID `{}`, region {} ({})",
            m.country,
            m.id,
            m.region,
            m.endpoint()
        ))
    }

    /// Where docs/language.md is: the checkout the document lives in when it has one (a file
    /// link opens in the editor), else the path relative to the repository.
    fn docs_link(&self) -> String {
        let file = url::Url::parse(self.uri.as_str())
            .ok()
            .and_then(|u| u.to_file_path().ok());
        let mut dir = file.as_deref().and_then(std::path::Path::parent);
        while let Some(d) = dir {
            let page = d.join("docs").join("language.md");
            if page.is_file()
                && let Ok(u) = url::Url::from_file_path(&page)
            {
                return u.to_string();
            }
            dir = d.parent();
        }
        "docs/language.md".to_string()
    }

    /// A location's declaration, or a custom marketplace code's `marketplace` line.
    pub fn definition(&self, pos: Position) -> Option<Location> {
        let w = self.word(pos)?;
        let span = match self.location(&w) {
            Some(decl) => decl.name.span,
            None => {
                names::custom_marketplaces(&self.ast)
                    .into_iter()
                    .find(|d| d.code.node == w.text)?
                    .code
                    .span
            }
        };
        let map = LineMap::new(self.text);
        Some(Location::new(self.uri.clone(), map.range(span)))
    }

    /// Keywords, marketplace codes and the document's locations; the client filters by what is
    /// typed.
    pub fn completion(&self) -> Vec<CompletionItem> {
        let mut out: Vec<CompletionItem> = KEYWORDS
            .iter()
            .map(|k| CompletionItem {
                label: k.to_string(),
                kind: Some(CompletionItemKind::KEYWORD),
                detail: keywords::doc(k).map(|(d, _)| d.to_string()),
                ..Default::default()
            })
            .collect();
        out.extend(marketplaces::builtin().into_iter().map(|m| CompletionItem {
            label: m.code.clone(),
            kind: Some(CompletionItemKind::CONSTANT),
            detail: Some(format!("{} ({}, {})", m.country, m.id, m.region)),
            ..Default::default()
        }));
        out.extend(
            names::custom_marketplaces(&self.ast)
                .into_iter()
                .map(|d| CompletionItem {
                    label: d.code.node.clone(),
                    kind: Some(CompletionItemKind::CONSTANT),
                    detail: Some("marketplace declared in this policy".to_string()),
                    ..Default::default()
                }),
        );
        out.extend(
            names::locations(&self.ast)
                .into_iter()
                .map(|d| CompletionItem {
                    label: d.name.node.clone(),
                    kind: Some(CompletionItemKind::VARIABLE),
                    detail: Some(
                        self.text[d.item.start..d.item.end.min(self.text.len())].to_string(),
                    ),
                    ..Default::default()
                }),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hover and definition at every position of real and odd documents: never a panic, and
    /// every range they give lies within the document.
    #[test]
    fn every_position_of_odd_documents_is_answered() {
        let uri: Uri = "file:///x/p.allot".parse().unwrap();
        let docs = [
            include_str!("../../policies/acme-na.allot").to_string(),
            include_str!("../../policies/uk-de-fr.allot").to_string(),
            include_str!("../../policies/acme-na.allot").replace('\n', "\r\n"),
            "location é😀\rstock from é😀, \"unclosed\nlocation x\n  from x # x\n\u{feff}"
                .to_string(),
            String::new(),
        ];
        for text in &docs {
            let doc = Doc::new(&uri, text);
            let lines = text.split(['\n', '\r']).count() as u32 + 1;
            for line in 0..lines {
                for character in 0..130 {
                    let pos = Position::new(line, character);
                    if let Some(h) = doc.hover(pos) {
                        let r = h.range.unwrap();
                        assert!(r.start <= r.end && r.end.line < lines, "{r:?}");
                    }
                    if let Some(l) = doc.definition(pos) {
                        assert!(l.range.start.line < lines);
                    }
                }
            }
            assert!(doc.completion().iter().any(|c| c.label == "US"));
        }
    }

    #[test]
    fn custom_marketplaces_and_aliases() {
        let uri: Uri = "file:///x/p.allot".parse().unwrap();
        let text = "marketplace XZ id \"A1234567890\" region EU\nmarketplaces XZ, GB\n";
        let doc = Doc::new(&uri, text);
        let def = doc.definition(Position::new(1, 13)).unwrap();
        assert_eq!(def.range.start, Position::new(0, 12));
        let hover = |line, character| match doc.hover(Position::new(line, character)) {
            Some(Hover {
                contents: HoverContents::Markup(m),
                ..
            }) => m.value,
            other => panic!("{other:?}"),
        };
        assert!(hover(1, 13).contains("marketplace XZ id"));
        let gb = hover(1, 17);
        assert!(gb.contains("United Kingdom") && gb.contains("`UK`"), "{gb}");
        assert!(hover(0, 2).contains("docs/language.md#top-level-lines"));
    }
}
