//! Rules: statements lowered to typed values, with the type and structure diagnostics.
//!
//! `Checker::rule` walks a rule's statements once (`statement`: each lowered, a repeat
//! reported), lowers its `publish` targets (`targets.rs`), then runs the findings that need
//! the whole rule, one function each (`findings.rs`).

mod findings;
mod targets;

use crate::diag::Diagnostic;
use crate::model::{
    self, Action, Amount, ByLocation, LocationIx, MarketplaceIx, OnFba, OnMissing, Percent,
    Publish, Round, Selector, SkuTemplate,
};
use crate::span::{Span, Spanned};
use crate::syntax::ast::{self, Ident, Number as Written, SelectorKind, StmtKind};

use super::Checker;
use super::codes::*;

/// One rule as far as it lowered. Kept even when parts failed, so the Amazon rules can still
/// look at the targets that resolved.
pub(crate) struct RuleInfo<'a> {
    pub ast: &'a ast::Rule,
    pub match_span: Option<Span>,
    pub selector: Option<Selector>,
    pub skip: Option<Span>,
    /// The first `publish` line (a rule may have several: their targets add up).
    pub publish: Option<&'a ast::Stmt>,
    /// The targets whose marketplace resolved (others were reported).
    pub targets: Vec<TargetInfo>,
    pub stock_from: Option<Vec<LocationIx>>,
    pub buffer: Option<Amount>,
    pub round: Round,
    pub round_span: Option<Span>,
    pub threshold: Option<(u64, Span)>,
    pub cap: Option<(u64, Span)>,
    pub fixed: Option<(u64, Span)>,
    /// `quantity N once`.
    pub fixed_once: bool,
    pub on_missing: Option<OnMissing>,
    pub on_fba: Option<OnFba>,
    pub default_channel: Option<Span>,
    /// `buffer/threshold/cap column "…"`.
    pub columns: model::ColumnLimits,
    /// Where its `on_missing`, `on_fba` and column statements were written (the policy's
    /// lines are put in for the first two when it has none of its own: `into_model`).
    pub spans: model::RuleSpans,
}

pub(crate) struct TargetInfo {
    pub marketplace: MarketplaceIx,
    pub code: String,
    /// The seller SKU template; None if it was refused.
    pub template: Option<SkuTemplate>,
    pub share: Percent,
    /// The target's own `share`.
    pub own_share: Option<Span>,
    pub by_location: Option<ByLocation>,
    /// `from …`: this target's own counted locations (else the rule's).
    pub stock_from: Option<Vec<LocationIx>>,
    /// `ratio N` and where it is written.
    pub ratio: Option<(u64, Span)>,
    /// The exact split this target's ratio takes part in (set once every target is known).
    pub ratio_part: Option<model::RatioPart>,
    /// `pack N`: units per item of the offer.
    pub pack: Option<u64>,
    /// Its handling time and restock date: its own, else the rule's.
    pub availability: model::Availability,
    /// The `handling_time` and `restock_date` the target gives itself (for suggestions).
    pub own_availability: model::Availability,
    pub span: Span,
    /// The `as "…"` string (empty when none is written).
    pub template_span: Span,
    /// The `by location …` option (empty when none is written).
    pub by_location_span: Span,
}

impl TargetInfo {
    /// The locations this target's pool counts: its own `from`, the rule's `stock from`, or
    /// `None` for every location.
    pub fn counted<'a>(&'a self, rule: &'a RuleInfo) -> Option<&'a [LocationIx]> {
        self.stock_from.as_deref().or(rule.stock_from.as_deref())
    }
}

impl RuleInfo<'_> {
    /// The rule for the model; the policy's `on_missing` and `on_fba` (and the spans of their
    /// lines) are the rule's where it has none of its own.
    pub fn into_model(
        self,
        (default_on_missing, on_missing_span): (OnMissing, Span),
        (default_on_fba, on_fba_span): (OnFba, Span),
    ) -> Option<model::Rule> {
        let spans = model::RuleSpans {
            on_missing: if self.on_missing.is_some() {
                self.spans.on_missing
            } else {
                on_missing_span
            },
            on_fba: if self.on_fba.is_some() {
                self.spans.on_fba
            } else {
                on_fba_span
            },
            ..self.spans
        };
        let action = if self.skip.is_some() {
            Action::Skip
        } else {
            let targets = self
                .targets
                .into_iter()
                .map(|t| {
                    Some(model::Target {
                        marketplace: t.marketplace,
                        sku: t.template?,
                        share: t.share,
                        by_location: t.by_location,
                        stock_from: t.stock_from,
                        ratio: t.ratio_part,
                        pack: t.pack,
                        availability: t.availability,
                        span: t.span,
                        template_span: t.template_span,
                        by_location_span: t.by_location_span,
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            Action::Publish(Publish {
                stock_from: self.stock_from,
                buffer: self.buffer,
                round: self.round,
                threshold: self.threshold.map(|t| t.0),
                cap: self.cap.map(|t| t.0),
                fixed: self.fixed.map(|t| t.0),
                fixed_once: self.fixed.is_some() && self.fixed_once,
                on_missing: self.on_missing.unwrap_or(default_on_missing),
                on_fba: self.on_fba.unwrap_or(default_on_fba),
                default_channel_zero: self.default_channel.is_some(),
                columns: self.columns,
                targets,
            })
        };
        Some(model::Rule {
            name: self.ast.name.node.clone(),
            span: self.ast.name.span,
            selector: self.selector?,
            action,
            spans,
        })
    }
}

fn pct(p: u32) -> String {
    Percent(p).to_string()
}

impl<'a> RuleInfo<'a> {
    /// A rule before its walk: nothing lowered yet, rounding down unless it says otherwise.
    fn new(ast: &'a ast::Rule) -> Self {
        RuleInfo {
            ast,
            match_span: None,
            selector: None,
            skip: None,
            publish: None,
            targets: Vec::new(),
            stock_from: None,
            buffer: None,
            round: Round::Down,
            round_span: None,
            threshold: None,
            cap: None,
            fixed: None,
            fixed_once: false,
            on_missing: None,
            on_fba: None,
            default_channel: None,
            columns: model::ColumnLimits::default(),
            spans: model::RuleSpans::default(),
        }
    }
}

/// What the walk of a rule's statements keeps beside the rule itself: read by the targets
/// and the findings, needed by nothing after them (the model takes `RuleInfo` only).
struct Lowering<'a> {
    /// Each statement's first line, in the rule's order (a repeat is reported and dropped;
    /// `publish` lines are not here: they add up).
    lines: Vec<Line>,
    /// Every `publish` line's targets, in order.
    publishes: Vec<&'a ast::Target>,
    /// The rule's own `share`: every target without one takes it.
    share: Option<(Percent, Span)>,
    /// A `default_channel` line was written (even a refused one: it was reported as itself).
    default_channel_written: bool,
    /// The rule's `handling_time` and `restock_date`: every target's, unless it gives its own.
    availability: model::Availability,
    /// Every target lowered (no diagnostics on any target).
    targets_ok: bool,
}

/// One statement as written: its keyword, what it is for, where it is.
struct Line {
    name: &'static str,
    role: Role,
    span: Span,
}

/// What a statement is for, as the `skip` and `quantity` findings see it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Shapes a quantity computed from stock: ignored beside `quantity`, refused beside `skip`.
    Shaping,
    /// Matters only to what is published: refused beside `skip`.
    Publishing,
    /// `match`, `quantity`, `skip`, `publish`: findings of their own.
    Own,
}

impl Lowering<'_> {
    fn new() -> Self {
        Lowering {
            lines: Vec::new(),
            publishes: Vec::new(),
            share: None,
            default_channel_written: false,
            availability: model::Availability::default(),
            targets_ok: true,
        }
    }

    /// The statements of one role, in the rule's order.
    fn lines(&self, role: Role) -> impl Iterator<Item = &Line> {
        self.lines.iter().filter(move |l| l.role == role)
    }
}

fn role(k: &StmtKind) -> Role {
    match k {
        StmtKind::StockFrom(_)
        | StmtKind::Buffer(_)
        | StmtKind::Share(_)
        | StmtKind::Round(_)
        | StmtKind::Threshold(_)
        | StmtKind::Cap(_)
        | StmtKind::FromColumn { .. } => Role::Shaping,
        StmtKind::DefaultChannel(_)
        | StmtKind::OnMissing(_)
        | StmtKind::OnFba(_)
        | StmtKind::HandlingTime(_)
        | StmtKind::RestockDate(_) => Role::Publishing,
        StmtKind::Match(_) | StmtKind::Quantity { .. } | StmtKind::Publish(_) | StmtKind::Skip => {
            Role::Own
        }
    }
}

impl Checker {
    pub(crate) fn rules<'a>(&mut self, ast: &'a ast::Ast) -> Vec<RuleInfo<'a>> {
        let mut out: Vec<RuleInfo<'a>> = Vec::new();
        let mut names: Vec<(&str, Span)> = Vec::new();
        for item in &ast.items {
            let ast::ItemKind::Rule(rule) = &item.kind else {
                continue;
            };
            if let Some((_, first)) = names.iter().find(|(n, _)| *n == rule.name.node) {
                let first = *first;
                self.duplicate(
                    &format!("rule name \"{}\"", rule.name.node),
                    rule.name.span,
                    first,
                    "give each rule its own name: previews and plans say which rule decided",
                );
            } else {
                self.non_empty(&rule.name, "the rule name", "`rule \"yoga pants\" { … }`");
                names.push((&rule.name.node, rule.name.span));
            }
            out.push(self.rule(rule));
        }
        out
    }

    /// `units` where units belong; a percent is a type error with `hint(percent)` as help.
    fn units(
        &mut self,
        a: &Spanned<Written>,
        what: &str,
        hint: impl FnOnce(&str) -> String,
    ) -> Option<u64> {
        match a.node {
            Written::Units(n) => Some(n),
            Written::Percent(p) => {
                let p = pct(p);
                self.push(
                    Diagnostic::error(
                        TYPE_MISMATCH,
                        format!("`{what}` takes units (a number of items), not a percent"),
                    )
                    .at(a.span, "a percent")
                    .help(hint(&p)),
                );
                None
            }
        }
    }

    /// A percent where a percent belongs: checked against 100%; units are a type error.
    fn percent(
        &mut self,
        a: &Spanned<Written>,
        what: &str,
        hint: impl FnOnce(u64) -> String,
    ) -> Option<Percent> {
        match a.node {
            Written::Percent(p) if p > Percent::HUNDRED.0 => {
                self.push(
                    Diagnostic::error(
                        PERCENT_RANGE,
                        format!("{what} of {} is above 100%", pct(p)),
                    )
                    .at(a.span, "above 100%")
                    .help("a percent is between 0% and 100%: more than the whole stock cannot be published (use separate offers' shares that add up to at most 100%)"),
                );
                None
            }
            Written::Percent(p) => Some(Percent(p)),
            Written::Units(n) => {
                self.push(
                    Diagnostic::error(TYPE_MISMATCH, format!("{what} takes a percent, not units"))
                        .at(a.span, "units")
                        .help(hint(n)),
                );
                None
            }
        }
    }

    /// One rule: its statements lowered in one walk, its `publish` targets, then each finding
    /// that needs the whole rule. The findings keep this order: diagnostics at one place are
    /// reported in the order they are pushed (snapshots and editors show that order).
    fn rule<'a>(&mut self, rule: &'a ast::Rule) -> RuleInfo<'a> {
        let mut info = RuleInfo::new(rule);
        let mut low = Lowering::new();
        for stmt in &rule.stmts {
            self.statement(&mut info, &mut low, stmt);
        }
        if info.publish.is_some() {
            let before = self.diags.len();
            self.targets(&mut info, &low);
            low.targets_ok = self.diags[before..].iter().all(|d| !d.is_error());
        }
        self.missing_match(&info);
        self.missing_publish(&info);
        self.skip_and_publish(&info);
        self.statements_in_skipping_rule(&info, &low);
        self.shaping_beside_quantity(&info, &low);
        self.target_parts_beside_quantity(&info);
        self.fixed_quantity(&info);
        self.unreachable_threshold(&info);
        self.rule_share_ignored(&info, &low);
        self.default_channel_ignored(&info, &low);
        info
    }

    /// Lowers one statement into the rule, or reports it as a repeat. A value that does not
    /// lower is reported and left unset; the statement still counts as written.
    fn statement<'a>(
        &mut self,
        info: &mut RuleInfo<'a>,
        low: &mut Lowering<'a>,
        stmt: &'a ast::Stmt,
    ) {
        if let StmtKind::Publish(targets) = &stmt.kind {
            // Several `publish` lines add up (one per stock source reads best: `publish UK …
            // from uk_wh`, `publish DE … from de_wh`); every other statement is once per rule.
            low.publishes.extend(targets);
            info.publish.get_or_insert(stmt);
            return;
        }
        // `stock from`, not `stock`: messages name the statement as it is known.
        let name = stmt.kind.name();
        if self.duplicate_statement(info.ast, &low.lines, name, stmt.span) {
            return;
        }
        let span = stmt.span;
        low.lines.push(Line {
            name,
            role: role(&stmt.kind),
            span,
        });
        match &stmt.kind {
            StmtKind::Match(sel) => {
                info.match_span = Some(span);
                info.selector = self.selector(sel);
            }
            // A location that did not resolve was reported; the others still count.
            StmtKind::StockFrom(list) => {
                info.stock_from = Some(self.locations_named(list, "`stock from`").0);
            }
            StmtKind::Buffer(a) => info.buffer = self.buffer(a),
            StmtKind::Share(a) => low.share = self.rule_share(a).map(|p| (p, span)),
            StmtKind::Round(v) => {
                info.round_span = Some(span);
                info.round = self.round(v);
            }
            StmtKind::Threshold(a) => info.threshold = self.threshold(a).map(|n| (n, span)),
            StmtKind::Cap(a) => info.cap = self.cap(a).map(|n| (n, span)),
            StmtKind::Quantity { amount, once } => {
                if let Some(n) = self.quantity(amount) {
                    info.fixed = Some((n, span));
                    info.fixed_once = *once;
                }
            }
            StmtKind::FromColumn { limit, column } => {
                self.column_limit(&mut info.columns, *limit, column);
                let k = match limit {
                    ast::ColumnLimit::Buffer => 0,
                    ast::ColumnLimit::Threshold => 1,
                    ast::ColumnLimit::Cap => 2,
                };
                info.spans.columns[k] = span;
            }
            StmtKind::DefaultChannel(a) => {
                low.default_channel_written = true;
                info.default_channel = self.default_channel(a).then_some(span);
            }
            StmtKind::OnMissing(v) => {
                info.on_missing = self.on_missing_value(v);
                info.spans.on_missing = span;
            }
            StmtKind::OnFba(v) => {
                info.on_fba = self.on_fba_value(v);
                info.spans.on_fba = span;
            }
            StmtKind::Skip => info.skip = Some(stmt.keyword),
            StmtKind::HandlingTime(a) => {
                low.availability.lead_time_to_ship_max_days = self.handling_time(a);
            }
            StmtKind::RestockDate(s) => low.availability.restock_date = self.restock_date(s),
            // Taken above: `publish` lines add up.
            StmtKind::Publish(_) => {}
        }
    }

    /// A statement written twice in one rule (`cap 10`, then `cap 12`): which one is meant?
    /// A column limit counts as its statement. Returns whether `name` is a repeat.
    fn duplicate_statement(
        &mut self,
        rule: &ast::Rule,
        lines: &[Line],
        name: &str,
        span: Span,
    ) -> bool {
        let Some(first) = lines.iter().find(|l| l.name == name) else {
            return false;
        };
        self.duplicate(
            &format!("`{name}` in rule \"{}\"", rule.name.node),
            span,
            first.span,
            format!("keep one `{name}` statement in this rule"),
        );
        true
    }

    /// `buffer 2` keeps back units, `buffer 10%` a percent of the pool.
    fn buffer(&mut self, a: &Spanned<Written>) -> Option<Amount> {
        match a.node {
            Written::Units(n) => Some(Amount::Units(n)),
            Written::Percent(_) => self
                .percent(a, "`buffer`", |_| String::new())
                .map(Amount::Percent),
        }
    }

    /// The rule's `share 80%`, for every target without its own.
    fn rule_share(&mut self, a: &Spanned<Written>) -> Option<Percent> {
        self.percent(a, "`share`", |n| {
            format!("did you mean `share {n}%`? A share is a percent of the pool")
        })
    }

    /// `round down|up|nearest`; an unknown value is reported and rounds down.
    fn round(&mut self, v: &Ident) -> Round {
        match v.node.as_str() {
            "down" => Round::Down,
            "up" => Round::Up,
            "nearest" => Round::Nearest,
            _ => {
                self.unknown_value(v, "round", &["down", "up", "nearest"]);
                Round::Down
            }
        }
    }

    fn threshold(&mut self, a: &Spanned<Written>) -> Option<u64> {
        self.units(a, "threshold", |p| {
            format!(
                "threshold takes units: a result below this many items publishes 0. Did you mean `threshold {}`? (to keep back a percent, use `buffer {p}`)",
                p.trim_end_matches('%')
            )
        })
    }

    fn cap(&mut self, a: &Spanned<Written>) -> Option<u64> {
        self.units(a, "cap", |p| {
            format!("cap takes units; did you mean `share {p}`?")
        })
    }

    fn quantity(&mut self, a: &Spanned<Written>) -> Option<u64> {
        self.units(a, "quantity", |p| {
            format!("quantity takes units (a fixed number of items); did you mean `share {p}`?")
        })
    }

    /// `cap column "max_qty"`: the limit read SKU by SKU from an inventory column.
    fn column_limit(
        &mut self,
        columns: &mut model::ColumnLimits,
        limit: ast::ColumnLimit,
        column: &ast::Str,
    ) {
        if !self.non_empty(column, "the column name", "`cap column \"max_qty\"`") {
            return;
        }
        let slot = match limit {
            ast::ColumnLimit::Buffer => &mut columns.buffer,
            ast::ColumnLimit::Threshold => &mut columns.threshold,
            ast::ColumnLimit::Cap => &mut columns.cap,
        };
        *slot = Some(column.node.clone());
    }

    /// `default_channel 0`. Only 0 is allowed: beside location quantities any other DEFAULT
    /// quantity is a second offer. Returns whether it is the 0.
    fn default_channel(&mut self, a: &Spanned<Written>) -> bool {
        match a.node {
            Written::Units(0) => return true,
            Written::Units(n) => self.push(
                Diagnostic::error(
                    DEFAULT_CHANNEL,
                    format!("`default_channel {n}`: only 0 is allowed"),
                )
                .at(a.span, "must be 0")
                .help("write `default_channel 0`: beside location quantities Amazon requires DEFAULT = 0; any other DEFAULT quantity is a second, location-less offer"),
            ),
            Written::Percent(p) => self.push(
                Diagnostic::error(
                    TYPE_MISMATCH,
                    format!("`default_channel` takes the number 0, not {}", pct(p)),
                )
                .at(a.span, "a percent")
                .help("write `default_channel 0`"),
            ),
        }
        false
    }

    /// `handling_time N`: whole days, at most Amazon's maximum.
    fn handling_time(&mut self, a: &Spanned<Written>) -> Option<u32> {
        let n = match a.node {
            Written::Units(n) => n,
            Written::Percent(p) => {
                // `2%` is most likely `2`; `2.5%` has no whole-day reading to suggest.
                let hint = if p % 100 == 0 {
                    format!("did you mean `handling_time {}`? A", p / 100)
                } else {
                    "a".to_string()
                };
                self.push(
                    Diagnostic::error(
                        TYPE_MISMATCH,
                        "`handling_time` takes a whole number of days, not a percent",
                    )
                    .at(a.span, "a percent")
                    .help(format!(
                        "{hint} handling time is the days between an order and its dispatch, 0 to 30: `handling_time 2`"
                    )),
                );
                return None;
            }
        };
        match u32::try_from(n) {
            Ok(n) if n <= model::MAX_HANDLING_DAYS => Some(n),
            _ => {
                self.push(
                    Diagnostic::error(
                        PERCENT_RANGE,
                        format!(
                            "`handling_time {n}` is above Amazon's maximum of {} days",
                            model::MAX_HANDLING_DAYS
                        ),
                    )
                    .at(a.span, "more than 30 days")
                    .help("Amazon takes a handling time from 0 to 30 days; for stock that comes back later, publish 0 with a `restock_date`"),
                );
                None
            }
        }
    }

    /// `restock_date "2027-01-15"`: a calendar date, as Amazon takes it.
    fn restock_date(&mut self, s: &ast::Str) -> Option<String> {
        if model::is_iso_date(&s.node) {
            return Some(s.node.clone());
        }
        self.push(
            Diagnostic::error(
                TYPE_MISMATCH,
                format!(
                    "`restock_date` takes a date written YYYY-MM-DD, not {:?}",
                    crate::diag::clip(&s.node)
                ),
            )
            .at(s.span, "not a date")
            .help("write the year, month and day with dashes, e.g. `restock_date \"2027-01-15\"` (a real calendar day: no month 13, no 30 February)"),
        );
        None
    }

    fn selector(&mut self, sel: &ast::Selector) -> Option<Selector> {
        match &sel.kind {
            SelectorKind::Any => Some(Selector::Any),
            SelectorKind::Sku(list) => {
                let mut ok = true;
                for s in list {
                    ok &= self.non_empty(s, "the SKU pattern", "`match sku \"YOGA-*\"`");
                }
                ok.then(|| Selector::Sku(list.iter().map(|s| s.node.clone()).collect()))
            }
            SelectorKind::Tag(list) => {
                let mut ok = true;
                for s in list {
                    ok &= self.non_empty(s, "the tag", "`match tag \"candles\"`");
                }
                ok.then(|| Selector::Tag(list.iter().map(|s| s.node.clone()).collect()))
            }
            SelectorKind::Attr { name, values } => Some(Selector::Attr {
                name: name.node.clone(),
                values: values.iter().map(|s| s.node.clone()).collect(),
            }),
            SelectorKind::Not(inner) => Some(Selector::Not(Box::new(self.selector(inner)?))),
            SelectorKind::And(parts) => {
                let parts: Vec<Option<Selector>> = parts.iter().map(|p| self.selector(p)).collect();
                Some(Selector::All(
                    parts.into_iter().collect::<Option<Vec<_>>>()?,
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests;
