//! `test` blocks → `TestCase`s: names resolved, quantities typed.

use crate::diag::Diagnostic;
use crate::model::{ChannelRef, DEFAULT_CHANNEL, TestCase, TestExpect, TestStock};
use crate::span::Span;
use crate::syntax::ast::{self, Number as Written, TestStmtKind};

use super::Checker;
use super::codes::*;

impl Checker {
    pub(crate) fn tests(&mut self, ast: &ast::Ast) -> Vec<TestCase> {
        let mut out: Vec<TestCase> = Vec::new();
        let mut names: Vec<(String, Span)> = Vec::new();
        for item in &ast.items {
            let ast::ItemKind::Test(test) = &item.kind else {
                continue;
            };
            if let Some((_, first)) = names.iter().find(|(n, _)| *n == test.name.node) {
                let first = *first;
                self.duplicate(
                    &format!("test name \"{}\"", test.name.node),
                    test.name.span,
                    first,
                    "give each test its own name: `allot test` reports by name",
                );
            } else {
                self.non_empty(
                    &test.name,
                    "the test name",
                    "`test \"yoga is capped\" { … }`",
                );
                names.push((test.name.node.clone(), test.name.span));
            }
            out.push(self.test(test));
        }
        out
    }

    fn count(&mut self, a: &crate::span::Spanned<Written>, what: &str) -> u64 {
        match a.node {
            Written::Units(n) => n,
            Written::Percent(p) => {
                let p = crate::model::Percent(p).to_string();
                self.push(
                    Diagnostic::error(
                        TYPE_MISMATCH,
                        format!("{what} takes units (a number of items), not a percent"),
                    )
                    .at(a.span, "a percent")
                    .help(format!(
                        "write a whole number of items: did you mean `{}`?",
                        p.trim_end_matches('%')
                    )),
                );
                0
            }
        }
    }

    fn test(&mut self, test: &ast::Test) -> TestCase {
        let mut stock = Vec::new();
        let mut expects = Vec::new();
        for stmt in &test.stmts {
            match &stmt.kind {
                TestStmtKind::Stock {
                    sku,
                    tags,
                    attrs,
                    entries,
                } => {
                    self.non_empty(sku, "the inventory SKU", "`stock \"YOGA-1\" newark 8`");
                    let mut rows = Vec::new();
                    for e in entries {
                        let on_hand = self.count(&e.on_hand, "stock on hand");
                        let reserved = e
                            .reserved
                            .as_ref()
                            .map(|r| self.count(r, "reserved stock"))
                            .unwrap_or(0);
                        if let Some(l) = self.resolve_location(&e.location) {
                            rows.push((l, on_hand, reserved));
                        }
                    }
                    stock.push(TestStock {
                        sku: sku.node.clone(),
                        tags: tags.iter().map(|t| t.node.clone()).collect(),
                        attrs: attrs
                            .iter()
                            .map(|(k, v)| (k.node.clone(), v.node.clone()))
                            .collect(),
                        entries: rows,
                    });
                }
                TestStmtKind::Expect {
                    seller_sku,
                    marketplace,
                    channel,
                    quantity,
                } => {
                    self.non_empty(
                        seller_sku,
                        "the seller SKU",
                        "`expect \"YOGA-1-US\" on US = 10`",
                    );
                    let mk = self.resolve_marketplace(marketplace);
                    let channel = match channel {
                        None => None,
                        Some(c) if c.node == DEFAULT_CHANNEL => Some(ChannelRef::Default),
                        Some(c) => match self.resolve_location(c) {
                            Some(l) if self.locations[l].supply_source.is_none() => {
                                self.push(
                                    Diagnostic::error(
                                        NO_SUPPLY_SOURCE,
                                        format!("location `{}` is no Amazon supply source, so no offer has a channel for it", c.node),
                                    )
                                    .at(c.span, "no supply source")
                                    .also(self.loc_spans[l], "declared without `supply_source`")
                                    .help("expect a location that has a supply source, or `at DEFAULT`"),
                                );
                                None
                            }
                            Some(l) => Some(ChannelRef::Location(l)),
                            None => None,
                        },
                    };
                    let quantity = quantity.as_ref().map(|q| self.count(q, "`expect … =`"));
                    if let Some(mk) = mk {
                        expects.push(TestExpect {
                            seller_sku: seller_sku.node.clone(),
                            marketplace: mk,
                            channel,
                            quantity,
                            span: stmt.span,
                        });
                    }
                }
            }
        }
        TestCase {
            name: test.name.node.clone(),
            span: test.name.span,
            stock,
            expects,
        }
    }
}
