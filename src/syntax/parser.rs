//! The pest parser and the lowering of its pairs to the `Ast`. The grammar is lenient (unknown
//! words, loose numbers); the lowering is strict and reports what the grammar let through.

use pest::Parser;
use pest::iterators::Pair;

use crate::diag::{Diagnostic, did_you_mean};
use crate::span::{Span, Spanned};

use super::ast::*;
use super::errors::{self, codes};
use super::keywords::is_keyword;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/allot.pest"]
pub(crate) struct AllotParser;

/// Deepest selector nesting (`not`, parentheses) accepted; beyond it is not a real policy.
const MAX_DEPTH: usize = 32;
/// Longest list (marketplaces, targets, SKUs, …) accepted in one statement.
const MAX_LIST: usize = 10_000;

/// What one step of the driver produced.
pub(crate) enum Step {
    /// An item (or `None` if it was reported and dropped), and where the next one starts.
    Item(Option<Item>, usize),
    /// Only blank lines and comments were left.
    End,
}

/// Parse the next item of `src` starting at byte `pos`. `Err` is pest's error (positions in `src`).
pub(crate) fn next_item(
    src: &str,
    pos: usize,
    diags: &mut Vec<Diagnostic>,
) -> Result<Step, Box<pest::error::Error<Rule>>> {
    let rest = &src[pos..];
    let mut pairs = AllotParser::parse(Rule::one_item, rest).map_err(Box::new)?;
    // `one_item` always yields exactly one pair when it succeeds.
    let Some(one) = pairs.next() else {
        return Ok(Step::End);
    };
    let end = pos + one.as_span().end();
    let mut lower = Lower { base: pos, diags };
    for p in one.into_inner() {
        match p.as_rule() {
            Rule::nl | Rule::EOI => {}
            _ => return Ok(Step::Item(lower.item(p), end)),
        }
    }
    if end >= src.len() || end == pos {
        Ok(Step::End)
    } else {
        Ok(Step::Item(None, end))
    }
}

/// Which block the driver is recovering inside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Block {
    Rule,
    Test,
}

/// After an error inside a block: parse the block's remaining lines from `pos` up to its `}`
/// (statements are lowered for their diagnostics only). Returns where the block ends.
pub(crate) fn rest_of_block(
    src: &str,
    pos: usize,
    block: Block,
    diags: &mut Vec<Diagnostic>,
) -> Result<usize, Box<pest::error::Error<Rule>>> {
    let rule = match block {
        Block::Rule => Rule::rule_rest,
        Block::Test => Rule::test_rest,
    };
    let mut pairs = AllotParser::parse(rule, &src[pos..]).map_err(Box::new)?;
    let Some(rest) = pairs.next() else {
        return Ok(src.len());
    };
    let end = pos + rest.as_span().end();
    let mut lower = Lower { base: pos, diags };
    for p in meaningful(rest) {
        match block {
            Block::Rule => {
                lower.stmt(p);
            }
            Block::Test => {
                lower.test_stmt(p);
            }
        }
    }
    Ok(end)
}

/// Lower the statements in `src[from..to]` (whole lines of a block before a line in error) for
/// their diagnostics; the parse of that block already failed, so nothing else is kept.
pub(crate) fn lines_of_block(
    src: &str,
    from: usize,
    to: usize,
    block: Block,
    diags: &mut Vec<Diagnostic>,
) {
    if from >= to || to > src.len() {
        return;
    }
    let rule = match block {
        Block::Rule => Rule::rule_lines,
        Block::Test => Rule::test_lines,
    };
    let Ok(mut pairs) = AllotParser::parse(rule, &src[from..to]) else {
        return;
    };
    let Some(lines) = pairs.next() else {
        return;
    };
    let mut lower = Lower { base: from, diags };
    for p in meaningful(lines) {
        match block {
            Block::Rule => {
                lower.stmt(p);
            }
            Block::Test => {
                lower.test_stmt(p);
            }
        }
    }
}

struct Lower<'d> {
    base: usize,
    diags: &'d mut Vec<Diagnostic>,
}

/// The pairs that carry meaning: punctuation and line ends dropped.
fn meaningful(p: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    p.into_inner().filter(|q| {
        !matches!(
            q.as_rule(),
            Rule::nl
                | Rule::comma
                | Rule::eq
                | Rule::lbrace
                | Rule::rbrace
                | Rule::lparen
                | Rule::rparen
        )
    })
}

impl Lower<'_> {
    fn span(&self, p: &Pair<'_, Rule>) -> Span {
        let s = p.as_span();
        Span::new(self.base + s.start(), self.base + s.end())
    }

    fn ident(&self, p: Pair<'_, Rule>) -> Ident {
        Spanned::new(p.as_str().to_string(), self.span(&p))
    }

    fn list_guard(&mut self, n: usize, span: Span) -> bool {
        if n > MAX_LIST {
            self.diags.push(
                Diagnostic::error(
                    codes::INPUT_TOO_LARGE,
                    format!("this list has {n} entries; at most {MAX_LIST} are accepted"),
                )
                .at(span, "too many entries")
                .help("split the list over several rules or items"),
            );
            return false;
        }
        true
    }

    fn string(&mut self, p: Pair<'_, Rule>) -> Option<Str> {
        let span = self.span(&p);
        let raw = p.as_str();
        let inner = &raw[1..raw.len() - 1];
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.char_indices();
        let mut ok = true;
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((j, other)) => {
                    let at = span.start + 1 + i;
                    let end = span.start + 1 + j + other.len_utf8();
                    self.diags.push(
                        Diagnostic::error(
                            codes::SYNTAX,
                            format!("unknown escape `\\{other}` in a string"),
                        )
                        .at(Span::new(at, end), "not an escape allot knows")
                        .help(r#"the escapes are `\"` (quote), `\\` (backslash), `\n` and `\t`; write `\\` for a plain backslash"#),
                    );
                    ok = false;
                }
                // The grammar never ends a string on a backslash.
                None => ok = false,
            }
        }
        ok.then(|| Spanned::new(out, span))
    }

    fn strings<'i>(&mut self, ps: impl Iterator<Item = Pair<'i, Rule>>) -> Option<Vec<Str>> {
        let mut out = Vec::new();
        let mut ok = true;
        for p in ps {
            match self.string(p) {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn amount(&mut self, p: Pair<'_, Rule>) -> Option<Spanned<Number>> {
        let span = self.span(&p);
        match parse_amount(p.as_str()) {
            Ok(a) => Some(Spanned::new(a, span)),
            Err((msg, label, help)) => {
                self.diags.push(
                    Diagnostic::error(codes::BAD_NUMBER, msg)
                        .at(span, label)
                        .help(help),
                );
                None
            }
        }
    }

    fn item(&mut self, p: Pair<'_, Rule>) -> Option<Item> {
        let span = self.span(&p);
        let rule = p.as_rule();
        let mut it = meaningful(p).filter(|q| !is_keyword(q.as_rule()));
        let kind = match rule {
            Rule::policy_item => ItemKind::Policy(self.string(it.next()?)?),
            Rule::seller_item => ItemKind::Seller(self.string(it.next()?)?),
            Rule::marketplaces_item => {
                let v: Vec<Ident> = it.map(|q| self.ident(q)).collect();
                if !self.list_guard(v.len(), span) {
                    return None;
                }
                ItemKind::Marketplaces(v)
            }
            Rule::marketplace_item => {
                let code = self.ident(it.next()?);
                let id = self.string(it.next()?)?;
                let region = self.ident(it.next()?);
                ItemKind::Marketplace { code, id, region }
            }
            Rule::location_item => {
                let name = self.ident(it.next()?);
                let supply_source = match it.next() {
                    Some(s) => Some(self.string(s)?),
                    None => None,
                };
                ItemKind::Location {
                    name,
                    supply_source,
                }
            }
            Rule::guarantee_item => ItemKind::Guarantee(self.ident(it.next()?)),
            Rule::inventory_item => {
                let v: Vec<Ident> = it.map(|q| self.ident(q)).collect();
                if !self.list_guard(v.len(), span) {
                    return None;
                }
                ItemKind::Inventory(v)
            }
            Rule::kit_item => {
                let sku = self.string(it.next()?)?;
                let mut parts = Vec::new();
                for part in it.filter(|q| q.as_rule() == Rule::kit_part) {
                    let pspan = self.span(&part);
                    let mut pi = meaningful(part);
                    let psku = self.string(pi.next()?)?;
                    let units = self.amount(pi.next()?)?;
                    parts.push(KitPart {
                        sku: psku,
                        units,
                        span: pspan,
                    });
                }
                if !self.list_guard(parts.len(), span) {
                    return None;
                }
                ItemKind::Kit { sku, parts }
            }
            Rule::on_missing_item => ItemKind::OnMissing(self.ident(it.next()?)),
            Rule::on_fba_item => ItemKind::OnFba(self.ident(it.next()?)),
            Rule::rule_item => {
                let name = self.string(it.next()?);
                let body = it.next()?;
                let body_span = self.span(&body);
                let mut stmts = Vec::new();
                for s in meaningful(body) {
                    if let Some(s) = self.stmt(s) {
                        stmts.push(s);
                    }
                }
                ItemKind::Rule(Rule_ {
                    name: name?,
                    stmts,
                    body_span,
                })
            }
            Rule::test_item => {
                let name = self.string(it.next()?);
                let body = it.next()?;
                let body_span = self.span(&body);
                let mut stmts = Vec::new();
                for s in meaningful(body) {
                    if let Some(s) = self.test_stmt(s) {
                        stmts.push(s);
                    }
                }
                ItemKind::Test(Test {
                    name: name?,
                    stmts,
                    body_span,
                })
            }
            Rule::unknown_item => {
                let word = it.next()?;
                let wspan = self.span(&word);
                self.diags.push(errors::unknown_item(word.as_str(), wspan));
                return None;
            }
            _ => return None,
        };
        Some(Item { kind, span })
    }

    fn stmt(&mut self, p: Pair<'_, Rule>) -> Option<Stmt> {
        let span = self.span(&p);
        let rule = p.as_rule();
        // `once` is the one keyword that carries a value: look for it before keywords are
        // dropped below.
        let once = rule == Rule::quantity_stmt
            && p.clone().into_inner().any(|q| q.as_rule() == Rule::kw_once);
        let mut it = meaningful(p);
        let first = it.next()?;
        let keyword = self.span(&first);
        if rule == Rule::unknown_stmt {
            self.diags
                .push(errors::unknown_stmt(first.as_str(), keyword));
            return None;
        }
        let mut it = it.filter(|q| !is_keyword(q.as_rule())).peekable();
        let kind = match rule {
            Rule::match_stmt => {
                let sel = it.next()?;
                let depth = nesting(&sel);
                if depth > MAX_DEPTH {
                    let sspan = self.span(&sel);
                    self.diags.push(
                        Diagnostic::error(
                            codes::INPUT_TOO_LARGE,
                            format!("this selector nests {depth} levels deep; at most {MAX_DEPTH} are accepted"),
                        )
                        .at(sspan, "nested too deeply")
                        .help("write the selector with fewer `not`s and parentheses (`not not x` is `x`)"),
                    );
                    return None;
                }
                StmtKind::Match(self.selector(sel, 0)?)
            }
            Rule::stock_stmt => {
                let v: Vec<Ident> = it.map(|q| self.ident(q)).collect();
                if !self.list_guard(v.len(), span) {
                    return None;
                }
                StmtKind::StockFrom(v)
            }
            Rule::buffer_stmt | Rule::threshold_stmt | Rule::cap_stmt
                if it.peek().is_some_and(|q| q.as_rule() == Rule::column_ref) =>
            {
                let limit = match rule {
                    Rule::buffer_stmt => ColumnLimit::Buffer,
                    Rule::threshold_stmt => ColumnLimit::Threshold,
                    _ => ColumnLimit::Cap,
                };
                let col = it.next()?;
                let s = meaningful(col).find(|q| q.as_rule() == Rule::string)?;
                StmtKind::FromColumn {
                    limit,
                    column: self.string(s)?,
                }
            }
            Rule::buffer_stmt => StmtKind::Buffer(self.amount(it.next()?)?),
            Rule::share_stmt => StmtKind::Share(self.amount(it.next()?)?),
            Rule::round_stmt => StmtKind::Round(self.ident(it.next()?)),
            Rule::threshold_stmt => StmtKind::Threshold(self.amount(it.next()?)?),
            Rule::cap_stmt => StmtKind::Cap(self.amount(it.next()?)?),
            Rule::quantity_stmt => StmtKind::Quantity {
                amount: self.amount(it.next()?)?,
                once,
            },
            Rule::default_channel_stmt => StmtKind::DefaultChannel(self.amount(it.next()?)?),
            Rule::on_missing_stmt => StmtKind::OnMissing(self.ident(it.next()?)),
            Rule::on_fba_stmt => StmtKind::OnFba(self.ident(it.next()?)),
            Rule::skip_stmt => StmtKind::Skip,
            Rule::handling_time_stmt => StmtKind::HandlingTime(self.amount(it.next()?)?),
            Rule::restock_date_stmt => StmtKind::RestockDate(self.string(it.next()?)?),
            Rule::publish_stmt => {
                let mut targets = Vec::new();
                let mut ok = true;
                for t in it {
                    match self.target(t) {
                        Some(t) => targets.push(t),
                        None => ok = false,
                    }
                }
                if !ok || !self.list_guard(targets.len(), span) {
                    return None;
                }
                StmtKind::Publish(targets)
            }
            _ => return None,
        };
        Some(Stmt {
            kind,
            span,
            keyword,
        })
    }

    fn selector(&mut self, p: Pair<'_, Rule>, depth: usize) -> Option<Selector> {
        let span = self.span(&p);
        if depth > MAX_DEPTH {
            self.diags.push(
                Diagnostic::error(
                    codes::INPUT_TOO_LARGE,
                    format!("this selector nests deeper than {MAX_DEPTH} levels"),
                )
                .at(span, "nested too deeply")
                .help("write the selector without so many `not`s and parentheses"),
            );
            return None;
        }
        match p.as_rule() {
            Rule::selector => {
                let mut terms = Vec::new();
                let mut ok = true;
                for q in meaningful(p).filter(|q| q.as_rule() != Rule::kw_and) {
                    match self.selector(q, depth + 1) {
                        Some(s) => terms.push(s),
                        None => ok = false,
                    }
                }
                if !ok || !self.list_guard(terms.len(), span) {
                    return None;
                }
                if terms.len() == 1 {
                    terms.pop()
                } else {
                    Some(Selector {
                        kind: SelectorKind::And(terms),
                        span,
                    })
                }
            }
            Rule::paren_sel => {
                let inner = meaningful(p).next()?;
                self.selector(inner, depth + 1)
            }
            Rule::not_sel => {
                let inner = meaningful(p).find(|q| q.as_rule() != Rule::kw_not)?;
                let inner = self.selector(inner, depth + 1)?;
                Some(Selector {
                    kind: SelectorKind::Not(Box::new(inner)),
                    span,
                })
            }
            Rule::any_sel => Some(Selector {
                kind: SelectorKind::Any,
                span,
            }),
            Rule::sku_sel | Rule::tag_sel => {
                let is_sku = p.as_rule() == Rule::sku_sel;
                let v = self.strings(meaningful(p).filter(|q| q.as_rule() == Rule::string))?;
                if !self.list_guard(v.len(), span) {
                    return None;
                }
                let kind = if is_sku {
                    SelectorKind::Sku(v)
                } else {
                    SelectorKind::Tag(v)
                };
                Some(Selector { kind, span })
            }
            Rule::attr_sel => {
                let mut it = meaningful(p);
                let name = self.ident(it.next()?);
                let values = self.strings(it)?;
                if !self.list_guard(values.len(), span) {
                    return None;
                }
                Some(Selector {
                    kind: SelectorKind::Attr { name, values },
                    span,
                })
            }
            Rule::unknown_sel => {
                let word = meaningful(p).next()?;
                let wspan = self.span(&word);
                self.diags
                    .push(errors::unknown_selector(word.as_str(), wspan));
                None
            }
            _ => None,
        }
    }

    fn target(&mut self, p: Pair<'_, Rule>) -> Option<Target> {
        let span = self.span(&p);
        let mut it = meaningful(p);
        let marketplace = self.ident(it.next()?);
        let mut t = Target {
            marketplace,
            sku: None,
            share: None,
            ratio: None,
            pack: None,
            from: None,
            by_location: None,
            handling_time: None,
            restock_date: None,
            span,
        };
        let mut ok = true;
        for opt in it {
            let ospan = self.span(&opt);
            let (name, seen) = match opt.as_rule() {
                Rule::as_opt => ("as", t.sku.is_some()),
                Rule::share_opt => ("share", t.share.is_some()),
                Rule::from_opt => ("from", t.from.is_some()),
                Rule::ratio_opt => ("ratio", t.ratio.is_some()),
                Rule::pack_opt => ("pack", t.pack.is_some()),
                Rule::handling_opt => ("handling_time", t.handling_time.is_some()),
                Rule::restock_opt => ("restock_date", t.restock_date.is_some()),
                Rule::by_location => ("by location", t.by_location.is_some()),
                _ => continue,
            };
            if seen {
                self.diags.push(
                    Diagnostic::error(
                        codes::SYNTAX,
                        format!(
                            "`{name}` is given twice for marketplace `{}`",
                            t.marketplace.node
                        ),
                    )
                    .at(ospan, "second one")
                    .help(format!("keep one `{name}` per marketplace")),
                );
                ok = false;
                continue;
            }
            match opt.as_rule() {
                Rule::as_opt => {
                    let s = meaningful(opt).find(|q| q.as_rule() == Rule::string)?;
                    match self.string(s) {
                        Some(s) => t.sku = Some(s),
                        None => ok = false,
                    }
                }
                Rule::share_opt => {
                    let n = meaningful(opt).find(|q| q.as_rule() == Rule::number)?;
                    match self.amount(n) {
                        Some(a) => t.share = Some(a),
                        None => ok = false,
                    }
                }
                Rule::ratio_opt => {
                    let n = meaningful(opt).find(|q| q.as_rule() == Rule::number)?;
                    match self.amount(n) {
                        Some(a) => t.ratio = Some(a),
                        None => ok = false,
                    }
                }
                Rule::pack_opt => {
                    let n = meaningful(opt).find(|q| q.as_rule() == Rule::number)?;
                    match self.amount(n) {
                        Some(a) => t.pack = Some(a),
                        None => ok = false,
                    }
                }
                Rule::handling_opt => {
                    let n = meaningful(opt).find(|q| q.as_rule() == Rule::number)?;
                    match self.amount(n) {
                        Some(a) => t.handling_time = Some(a),
                        None => ok = false,
                    }
                }
                Rule::restock_opt => {
                    let s = meaningful(opt).find(|q| q.as_rule() == Rule::string)?;
                    match self.string(s) {
                        Some(s) => t.restock_date = Some(s),
                        None => ok = false,
                    }
                }
                Rule::from_opt => {
                    let names: Vec<_> = meaningful(opt)
                        .filter(|q| q.as_rule() == Rule::ident)
                        .map(|q| self.ident(q))
                        .collect();
                    if !self.list_guard(names.len(), ospan) {
                        ok = false;
                    }
                    t.from = Some(FromList {
                        locations: names,
                        span: ospan,
                    });
                }
                _ => {
                    let mut split = Vec::new();
                    for part in meaningful(opt).filter(|q| q.as_rule() == Rule::split_part) {
                        let pspan = self.span(&part);
                        let mut pi = meaningful(part);
                        let location = self.ident(pi.next()?);
                        match self.amount(pi.next()?) {
                            Some(share) => split.push(SplitPart {
                                location,
                                share,
                                span: pspan,
                            }),
                            None => ok = false,
                        }
                    }
                    if !self.list_guard(split.len(), ospan) {
                        ok = false;
                    }
                    t.by_location = Some(ByLocation { split, span: ospan });
                }
            }
        }
        ok.then_some(t)
    }

    fn test_stmt(&mut self, p: Pair<'_, Rule>) -> Option<TestStmt> {
        let span = self.span(&p);
        let rule = p.as_rule();
        let mut it = meaningful(p);
        let first = it.next()?;
        if rule == Rule::unknown_test_stmt {
            let wspan = self.span(&first);
            self.diags
                .push(errors::unknown_test_stmt(first.as_str(), wspan));
            return None;
        }
        let kind = match rule {
            Rule::stock_test => {
                let sku = self.string(it.next()?);
                let mut tags = Vec::new();
                let mut attrs = Vec::new();
                let mut entries = Vec::new();
                let mut ok = sku.is_some();
                for q in it {
                    match q.as_rule() {
                        Rule::tags_opt => {
                            match self
                                .strings(meaningful(q).filter(|s| s.as_rule() == Rule::string))
                            {
                                Some(v) => tags.extend(v),
                                None => ok = false,
                            }
                        }
                        Rule::attr_pair => {
                            let mut ai = meaningful(q);
                            let name = self.ident(ai.next()?);
                            match self.string(ai.next()?) {
                                Some(v) => attrs.push((name, v)),
                                None => ok = false,
                            }
                        }
                        Rule::stock_entry => {
                            let espan = self.span(&q);
                            let mut ei = meaningful(q).filter(|s| !is_keyword(s.as_rule()));
                            let location = self.ident(ei.next()?);
                            let on_hand = self.amount(ei.next()?);
                            let reserved = ei.next().map(|r| self.amount(r));
                            match (on_hand, reserved) {
                                (Some(on_hand), None) => entries.push(StockEntry {
                                    location,
                                    on_hand,
                                    reserved: None,
                                    span: espan,
                                }),
                                (Some(on_hand), Some(Some(r))) => entries.push(StockEntry {
                                    location,
                                    on_hand,
                                    reserved: Some(r),
                                    span: espan,
                                }),
                                _ => ok = false,
                            }
                        }
                        _ => {}
                    }
                }
                let n = tags.len().max(attrs.len()).max(entries.len());
                if !ok || !self.list_guard(n, span) {
                    return None;
                }
                TestStmtKind::Stock {
                    sku: sku?,
                    tags,
                    attrs,
                    entries,
                }
            }
            Rule::expect_test => {
                let mut it = it.filter(|q| {
                    !matches!(
                        q.as_rule(),
                        Rule::kw_on | Rule::kw_at | Rule::kw_unpublished
                    )
                });
                let seller_sku = self.string(it.next()?)?;
                let marketplace = self.ident(it.next()?);
                let mut channel = None;
                let mut quantity = None;
                for q in it {
                    match q.as_rule() {
                        Rule::ident => channel = Some(self.ident(q)),
                        Rule::number => quantity = Some(self.amount(q)?),
                        _ => {}
                    }
                }
                TestStmtKind::Expect {
                    seller_sku,
                    marketplace,
                    channel,
                    quantity,
                }
            }
            _ => return None,
        };
        Some(TestStmt { kind, span })
    }
}

type Rule_ = super::ast::Rule;

/// How deep `not` and parentheses nest in a selector (without recursion: input may be deep).
fn nesting(sel: &Pair<'_, Rule>) -> usize {
    let mut max = 0;
    let mut stack = vec![(sel.clone(), 0usize)];
    while let Some((p, d)) = stack.pop() {
        let d = if matches!(p.as_rule(), Rule::not_sel | Rule::paren_sel) {
            d + 1
        } else {
            d
        };
        max = max.max(d);
        stack.extend(p.into_inner().map(|q| (q, d)));
    }
    max
}

/// A number as lexed (`-3`, `2.5`, `12.5%`, …) to a `Number`, or what is wrong with it:
/// (message, label, help).
pub(crate) fn parse_amount(text: &str) -> Result<Number, (String, String, String)> {
    if let Some(rest) = text.strip_prefix('-') {
        return Err((
            format!("`{text}` is negative; quantities are never negative"),
            "negative number".into(),
            format!("numbers start at 0: write `{rest}`, or `0`"),
        ));
    }
    let (body, percent) = match text.strip_suffix('%') {
        Some(b) => (b, true),
        None => (text, false),
    };
    let (whole, frac) = match body.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (body, None),
    };
    let too_large = || {
        (
            format!("`{text}` is too large"),
            "too large to store".into(),
            if percent {
                "a percent is at most 42949672.95%; shares are usually 0% to 100%".to_string()
            } else {
                format!("units are at most {}", u64::MAX)
            },
        )
    };
    if !percent {
        if frac.is_some() {
            return Err((
                format!("`{text}` is not a whole number; units are whole items"),
                "units must be whole".into(),
                format!(
                    "write a whole number of units such as `{}`, or a percent such as `{text}%`",
                    whole
                ),
            ));
        }
        return whole
            .parse::<u64>()
            .map(Number::Units)
            .map_err(|_| too_large());
    }
    let frac = frac.unwrap_or("");
    if body.ends_with('.') {
        return Err((
            format!("`{text}` has a decimal point but no decimals"),
            "digits missing after `.`".into(),
            format!("write `{whole}%`"),
        ));
    }
    if frac.len() > 2 {
        return Err((
            format!("`{text}` has more than two decimals; percents are stored in hundredths"),
            "too many decimals".into(),
            format!(
                "round it to two decimals, such as `{whole}.{}%`",
                &frac[..2]
            ),
        ));
    }
    let whole: u64 = whole.parse().map_err(|_| too_large())?;
    let mut hundredths: u64 = 0;
    for (i, c) in frac.chars().enumerate() {
        let d = u64::from(c.to_digit(10).unwrap_or(0));
        hundredths += d * if i == 0 { 10 } else { 1 };
    }
    let total = whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(hundredths))
        .ok_or_else(too_large)?;
    u32::try_from(total)
        .map(Number::Percent)
        .map_err(|_| too_large())
}

/// Which of the known words `word` is likely a typo of.
/// A close typo, or a keyword the word is the start of (`supply` for `supply_source`).
pub(crate) fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    did_you_mean(word, candidates.iter().copied()).or_else(|| {
        (word.len() >= 3)
            .then(|| candidates.iter().copied().find(|c| c.starts_with(word)))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("10"), Ok(Number::Units(10)));
        assert_eq!(parse_amount("60%"), Ok(Number::Percent(6000)));
        assert_eq!(parse_amount("12.5%"), Ok(Number::Percent(1250)));
        assert_eq!(parse_amount("12.05%"), Ok(Number::Percent(1205)));
        assert_eq!(parse_amount("0%"), Ok(Number::Percent(0)));
        assert!(parse_amount("-1").is_err());
        assert!(parse_amount("2.5").is_err());
        assert!(parse_amount("1.234%").is_err());
        assert!(parse_amount("99999999999999999999").is_err());
        assert!(parse_amount("42949673%").is_err());
        assert_eq!(parse_amount("42949672.95%"), Ok(Number::Percent(u32::MAX)));
        assert!(parse_amount("5.%").is_err());
    }
}
