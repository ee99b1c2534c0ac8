//! Rules: statements lowered to typed values, with the type and structure diagnostics.

use crate::diag::Diagnostic;
use crate::model::{
    self, Action, Amount, ByLocation, LocationId, MarketplaceId, OnFba, OnMissing, Percent,
    Publish, Round, Selector, SkuTemplate,
};
use crate::span::{Span, Spanned};
use crate::syntax::ast::{self, Amount as Written, Ident, SelectorKind, StmtKind};

use super::Checker;
use super::codes::*;
use super::template;

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
    /// Every target lowered (no diagnostics on any target).
    pub targets_ok: bool,
    pub stock_from: Option<Vec<LocationId>>,
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
    /// A `default_channel` line was written (even a refused one).
    pub default_channel_written: bool,
    /// `buffer/threshold/cap column "…"`.
    pub columns: model::ColumnLimits,
    /// `handling_time N` and `restock_date "…"`: every target's, unless it gives its own.
    pub handling_time: Option<u32>,
    pub restock_date: Option<String>,
}

pub(crate) struct TargetInfo {
    pub marketplace: MarketplaceId,
    pub code: String,
    /// None if the template was refused.
    pub sku: Option<SkuTemplate>,
    pub share: Percent,
    /// The target's own `share`.
    pub own_share: Option<Span>,
    pub by_location: Option<ByLocation>,
    /// `from …`: this target's own counted locations (else the rule's).
    pub stock_from: Option<Vec<LocationId>>,
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
}

impl TargetInfo {
    /// The locations this target's pool counts: its own `from`, the rule's `stock from`, or
    /// `None` for every location.
    pub fn counted<'a>(&'a self, rule: &'a RuleInfo) -> Option<&'a [LocationId]> {
        self.stock_from.as_deref().or(rule.stock_from.as_deref())
    }
}

impl RuleInfo<'_> {
    pub fn into_model(
        self,
        default_on_missing: OnMissing,
        default_on_fba: OnFba,
    ) -> Option<model::Rule> {
        let action = if self.skip.is_some() {
            Action::Skip
        } else {
            let targets = self
                .targets
                .into_iter()
                .map(|t| {
                    Some(model::Target {
                        marketplace: t.marketplace,
                        sku: t.sku?,
                        share: t.share,
                        by_location: t.by_location,
                        stock_from: t.stock_from,
                        ratio: t.ratio_part,
                        pack: t.pack,
                        availability: t.availability,
                        span: t.span,
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
        })
    }
}

fn pct(p: u32) -> String {
    Percent(p).to_string()
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

    fn rule<'a>(&mut self, rule: &'a ast::Rule) -> RuleInfo<'a> {
        let mut info = RuleInfo {
            ast: rule,
            match_span: None,
            selector: None,
            skip: None,
            publish: None,
            targets: Vec::new(),
            targets_ok: true,
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
            default_channel_written: false,
            columns: model::ColumnLimits::default(),
            handling_time: None,
            restock_date: None,
        };
        let mut seen: Vec<(&'static str, Span)> = Vec::new();
        // Statements that shape a stock-derived quantity (for the `quantity` and `skip` checks).
        let mut shaping: Vec<(&'static str, Span)> = Vec::new();
        let mut others: Vec<(&'static str, Span)> = Vec::new();
        let mut rule_share: Option<(Percent, Span)> = None;
        // Several `publish` lines add up (one per stock source reads best: `publish UK … from
        // uk_wh`, `publish DE … from de_wh`); every other statement is once per rule.
        let mut publishes: Vec<&ast::Target> = Vec::new();
        for stmt in &rule.stmts {
            // `stock from`, not `stock`: messages name the statement as it is known.
            let name = stmt.kind.name();
            if let StmtKind::Publish(targets) = &stmt.kind {
                publishes.extend(targets);
                info.publish.get_or_insert(stmt);
                continue;
            }
            if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
                let first = *first;
                self.duplicate(
                    &format!("`{name}` in rule \"{}\"", rule.name.node),
                    stmt.span,
                    first,
                    format!("keep one `{name}` statement in this rule"),
                );
                continue;
            }
            seen.push((name, stmt.span));
            match &stmt.kind {
                StmtKind::Match(sel) => {
                    info.match_span = Some(stmt.span);
                    info.selector = self.selector(sel);
                }
                StmtKind::StockFrom(list) => {
                    shaping.push((name, stmt.span));
                    // A location that did not resolve was reported; the others still count.
                    info.stock_from = Some(self.locations_named(list, "`stock from`").0);
                }
                StmtKind::Buffer(a) => {
                    shaping.push((name, stmt.span));
                    info.buffer = match a.node {
                        Written::Units(n) => Some(Amount::Units(n)),
                        Written::Percent(_) => self
                            .percent(a, "`buffer`", |_| String::new())
                            .map(Amount::Percent),
                    };
                }
                StmtKind::Share(a) => {
                    shaping.push((name, stmt.span));
                    if let Some(p) = self.percent(a, "`share`", |n| {
                        format!("did you mean `share {n}%`? A share is a percent of the pool")
                    }) {
                        rule_share = Some((p, stmt.span));
                    }
                }
                StmtKind::Round(v) => {
                    shaping.push((name, stmt.span));
                    info.round_span = Some(stmt.span);
                    info.round = match v.node.as_str() {
                        "down" => Round::Down,
                        "up" => Round::Up,
                        "nearest" => Round::Nearest,
                        _ => {
                            self.unknown_value(v, "round", &["down", "up", "nearest"]);
                            Round::Down
                        }
                    };
                }
                StmtKind::Threshold(a) => {
                    shaping.push((name, stmt.span));
                    if let Some(n) = self.units(a, "threshold", |p| {
                        format!(
                            "threshold takes units: a result below this many items publishes 0. Did you mean `threshold {}`? (to keep back a percent, use `buffer {p}`)",
                            p.trim_end_matches('%')
                        )
                    }) {
                        info.threshold = Some((n, stmt.span));
                    }
                }
                StmtKind::Cap(a) => {
                    shaping.push((name, stmt.span));
                    if let Some(n) = self.units(a, "cap", |p| {
                        format!("cap takes units; did you mean `share {p}`?")
                    }) {
                        info.cap = Some((n, stmt.span));
                    }
                }
                StmtKind::Quantity { amount: a, once } => {
                    if let Some(n) = self.units(a, "quantity", |p| {
                        format!("quantity takes units (a fixed number of items); did you mean `share {p}`?")
                    }) {
                        info.fixed = Some((n, stmt.span));
                        info.fixed_once = *once;
                    }
                }
                StmtKind::FromColumn { limit, column } => {
                    shaping.push((name, stmt.span));
                    if self.non_empty(column, "the column name", "`cap column \"max_qty\"`") {
                        let slot = match limit {
                            ast::ColumnLimit::Buffer => &mut info.columns.buffer,
                            ast::ColumnLimit::Threshold => &mut info.columns.threshold,
                            ast::ColumnLimit::Cap => &mut info.columns.cap,
                        };
                        *slot = Some(column.node.clone());
                    }
                }
                StmtKind::Publish(_) => {}
                StmtKind::DefaultChannel(a) => {
                    others.push((name, stmt.span));
                    info.default_channel_written = true;
                    match a.node {
                        Written::Units(0) => info.default_channel = Some(stmt.span),
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
                }
                StmtKind::OnMissing(v) => {
                    others.push((name, stmt.span));
                    info.on_missing = self.on_missing_value(v);
                }
                StmtKind::OnFba(v) => {
                    others.push((name, stmt.span));
                    info.on_fba = self.on_fba_value(v);
                }
                StmtKind::Skip => info.skip = Some(stmt.keyword),
                StmtKind::HandlingTime(a) => {
                    others.push((name, stmt.span));
                    info.handling_time = self.handling_time(a);
                }
                StmtKind::RestockDate(s) => {
                    others.push((name, stmt.span));
                    info.restock_date = self.restock_date(s);
                }
            }
        }

        if info.publish.is_some() {
            self.targets(&mut info, &publishes, rule_share.map(|s| s.0));
        }

        // Structure.
        if info.match_span.is_none() {
            self.push(
                Diagnostic::error(
                    MISSING_MATCH,
                    format!("rule \"{}\" has no `match`", rule.name.node),
                )
                .at(rule.name.span, "which SKUs does this rule decide for?")
                .help("add a selector, e.g. `match sku \"YOGA-*\"`, `match tag \"candles\"` or `match any`"),
            );
        }
        match (info.skip, info.publish) {
            (None, None) => self.push(
                Diagnostic::error(
                    MISSING_PUBLISH,
                    format!("rule \"{}\" neither publishes nor skips", rule.name.node),
                )
                .at(rule.name.span, "no `publish` and no `skip`")
                .help("add `publish US` (the marketplaces to publish to) or `skip` (publish nothing for these SKUs)"),
            ),
            (Some(skip), Some(publish)) => self.push(
                Diagnostic::error(
                    CONFLICTING_STATEMENTS,
                    format!("rule \"{}\" both skips and publishes", rule.name.node),
                )
                .at(skip, "publish nothing…")
                .also(publish.keyword, "…and publish")
                .help("remove `skip` to publish, or remove `publish` to leave these listings alone"),
            ),
            (Some(skip), None) => {
                let mut conflicting: Vec<(&str, Span)> = shaping.clone();
                conflicting.extend(others.iter().copied());
                if let Some((_, s)) = info.fixed {
                    conflicting.push(("quantity", s));
                }
                for (name, span) in conflicting {
                    self.push(
                        Diagnostic::error(
                            CONFLICTING_STATEMENTS,
                            format!("`{name}` in a rule that skips"),
                        )
                        .at(span, "has no effect: the rule publishes nothing")
                        .also(skip, "skips here")
                        .help(format!(
                            "remove `{name}`, or replace `skip` with a `publish` line"
                        )),
                    );
                }
            }
            (None, Some(_)) => {}
        }

        // A fixed quantity replaces the stock computation.
        // In a skipping rule these were all reported as conflicting already.
        if let (None, Some((n, qspan))) = (info.skip, info.fixed) {
            let once = if info.fixed_once { " once" } else { "" };
            for (name, span) in &shaping {
                self.push(
                    Diagnostic::warning(
                        IGNORED_STATEMENT,
                        format!("`{name}` is ignored: `quantity` replaces the stock computation"),
                    )
                    .at(*span, "ignored")
                    .also(qspan, "fixed quantity here")
                    .help(format!(
                        "remove `{name}`, or remove `quantity` to publish from stock"
                    )),
                );
            }
            for t in &info.targets {
                if let Some((_, s)) = t.ratio {
                    self.push(
                        Diagnostic::warning(
                            IGNORED_STATEMENT,
                            format!(
                                "the ratio on {} is ignored: `quantity` is never split",
                                t.code
                            ),
                        )
                        .at(s, "ignored")
                        .also(qspan, "fixed quantity here")
                        .help("remove the ratio, or remove `quantity` to split the stock"),
                    );
                }
                if let Some(s) = t.own_share {
                    self.push(
                        Diagnostic::warning(
                            IGNORED_STATEMENT,
                            format!("the share on {} is ignored: `quantity` is never scaled", t.code),
                        )
                        .at(s, "ignored")
                        .also(qspan, "fixed quantity here")
                        .help("remove the share, or remove `quantity` to publish a share of the stock"),
                    );
                }
            }
            if n > 0 {
                let mut d = Diagnostic::warning(
                    FIXED_QUANTITY,
                    format!("`quantity {n}{once}` is not tied to stock: it publishes {n} even when nothing is on hand"),
                )
                .at(qspan, "fixed, whatever the stock")
                .help("publish from stock (`share`, `cap`) to sell only what you have; keep `quantity` for items you can always supply");
                if let Some(g) = self.guarantee {
                    d.severity = crate::diag::Severity::Error;
                    d = d.also(g, "this policy guarantees no oversell");
                }
                self.push(d);
            }
        } else if let (None, Some((t, tspan)), Some((c, cspan))) =
            (info.skip, info.threshold, info.cap)
            && t > c
        {
            self.push(
                Diagnostic::warning(
                    UNREACHABLE_THRESHOLD,
                    format!(
                        "`threshold {t}` is above `cap {c}`: every offer of this rule publishes 0"
                    ),
                )
                .at(tspan, "never reached")
                .also(cspan, "results are at most this")
                .help(format!(
                    "lower the threshold to at most {c}, or raise the cap"
                )),
            );
        }
        if let Some((_, s)) = rule_share
            && info.fixed.is_none()
            && !info.targets.is_empty()
            && info.targets_ok
            && info
                .targets
                .iter()
                .all(|t| t.own_share.is_some() || t.ratio.is_some())
        {
            self.push(
                Diagnostic::warning(
                    IGNORED_STATEMENT,
                    "the rule's `share` is ignored: every target has its own",
                )
                .at(s, "ignored")
                .help("remove the rule-level `share`, or remove the targets' own shares"),
            );
        }
        if let Some(dc) = info.default_channel
            && info.skip.is_none()
            && info.targets_ok
            && info.targets.iter().all(|t| t.by_location.is_none())
        {
            self.push(
                Diagnostic::warning(
                    IGNORED_STATEMENT,
                    "`default_channel 0` is ignored: no target publishes `by location`",
                )
                .at(dc, "ignored")
                .help("remove it (it only matters beside location quantities), or publish `by location`"),
            );
        }
        info
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

    fn targets(
        &mut self,
        info: &mut RuleInfo,
        targets: &[&ast::Target],
        rule_share: Option<Percent>,
    ) {
        let before = self.diags.len();
        // A marketplace may take several offers of one inventory SKU (the single and the
        // 6-pack, an old and a new listing), each under its own seller SKU; the same seller
        // SKU twice in one marketplace is one offer written twice.
        let mut seen: Vec<(MarketplaceId, String, Span)> = Vec::new();
        for t in targets {
            let Some(mk) = self.resolve_marketplace(&t.marketplace) else {
                continue;
            };
            let written = t
                .sku
                .as_ref()
                .map_or("{sku}".to_string(), |s| s.node.clone());
            if let Some((_, _, first)) = seen.iter().find(|(m, w, _)| *m == mk && *w == written) {
                let first = *first;
                self.duplicate(
                    &format!("marketplace `{}` with seller SKU \"{written}\" in `publish`", t.marketplace.node),
                    t.span,
                    first,
                    "publish each seller SKU once per marketplace; a second offer in one marketplace (a pack, another listing) needs its own seller SKU (`as \"{sku}-6PK\"`)",
                );
                continue;
            }
            seen.push((mk, written, t.span));
            let code = self.marketplaces[mk].code.clone();
            let sku = match &t.sku {
                None => Some(SkuTemplate::identity()),
                Some(s) => match template::parse(&s.node, s.span)
                    .and_then(|tpl| template::check_length(&tpl, &code, s.span).map(|()| tpl))
                {
                    Ok(tpl) => Some(tpl),
                    Err(d) => {
                        self.push(d);
                        None
                    }
                },
            };
            let share = match &t.share {
                Some(a) => self.percent(a, "`share`", |n| format!("did you mean `{n}%`?")),
                None => Some(rule_share.unwrap_or(Percent::HUNDRED)),
            };
            let stock_from = match &t.from {
                None => Some(None),
                Some(f) => self.location_list(&f.locations, "`from`").map(Some),
            };
            let Some(stock_from) = stock_from else {
                continue;
            };
            let by_location = t
                .by_location
                .as_ref()
                .and_then(|b| self.by_location(info, b, &code, stock_from.as_deref()));
            let (Some(share), by_ok) = (share, t.by_location.is_none() || by_location.is_some())
            else {
                continue;
            };
            if !by_ok {
                continue;
            }
            let ratio = match &t.ratio {
                None => None,
                Some(a) => match self.units(a, "ratio", |p| {
                    format!("a ratio is a whole weight (`ratio 1`, `ratio 2`); for a percent write `share {p}`")
                }) {
                    Some(n) => Some((n, a.span)),
                    None => continue,
                },
            };
            let pack = match &t.pack {
                None => None,
                Some(a) => match self.units(a, "pack", |_| {
                    "a pack is a whole number of units: `pack 6` for a 6-pack".to_string()
                }) {
                    Some(0) => {
                        self.push(
                            Diagnostic::error(TYPE_MISMATCH, "`pack 0`: a pack holds at least one unit")
                                .at(a.span, "0 units")
                                .help("write the units one item of this offer holds: `pack 6` for a 6-pack (`pack 1` is a single)"),
                        );
                        continue;
                    }
                    Some(n) => Some(n),
                    None => continue,
                },
            };
            if let (Some((_, rs)), Some(sh)) = (ratio, &t.share) {
                self.push(
                    Diagnostic::error(
                        CONFLICTING_STATEMENTS,
                        format!("{code} gives both `share` and `ratio`"),
                    )
                    .at(rs, "an exact part of the pool…")
                    .also(sh.span, "…and a percentage of it")
                    .help("keep one: `ratio` splits the pool exactly among the targets that give one; `share` takes a percentage of it"),
                );
                continue;
            }
            if let (Some((_, rs)), Some(ByLocation::PerSource)) = (ratio, &by_location) {
                self.push(
                    Diagnostic::error(
                        CONFLICTING_STATEMENTS,
                        format!("{code} gives `ratio` and `by location`"),
                    )
                    .at(rs, "a part of the whole pool…")
                    .help("`by location` publishes each supply source's own stock; to split a ratio's part among locations, write `by location { newark 60%, austin 40% }`"),
                );
                continue;
            }
            let own_handling = match &t.handling_time {
                None => None,
                Some(a) => match self.handling_time(a) {
                    Some(n) => Some(n),
                    None => continue,
                },
            };
            let own_restock = match &t.restock_date {
                None => None,
                Some(s) => match self.restock_date(s) {
                    Some(d) => Some(d),
                    None => continue,
                },
            };
            info.targets.push(TargetInfo {
                marketplace: mk,
                code,
                sku,
                share,
                own_share: t.share.as_ref().map(|a| a.span),
                by_location,
                stock_from,
                ratio,
                ratio_part: None,
                pack,
                availability: model::Availability {
                    lead_time_to_ship_max_days: own_handling.or(info.handling_time),
                    restock_date: own_restock.clone().or_else(|| info.restock_date.clone()),
                },
                own_availability: model::Availability {
                    lead_time_to_ship_max_days: own_handling,
                    restock_date: own_restock,
                },
                span: t.span,
            });
        }
        self.ratio_splits(info);
        info.targets_ok = self.diags[before..].iter().all(|d| !d.is_error());
    }

    /// Targets that draw on one pool and give a `ratio` split it exactly. Every target of that
    /// pool must give one (a share beside an exact split would be over the top of it), and the
    /// weights must not all be 0.
    fn ratio_splits(&mut self, info: &mut RuleInfo) {
        if info.targets.iter().all(|t| t.ratio.is_none()) {
            return;
        }
        let all: Vec<LocationId> = (0..self.locations.len()).collect();
        let pool_of = |t: &TargetInfo, rule: &Option<Vec<LocationId>>| -> Vec<LocationId> {
            let mut v = t
                .stock_from
                .clone()
                .or_else(|| rule.clone())
                .unwrap_or_else(|| all.clone());
            v.sort_unstable();
            v.dedup();
            v
        };
        let mut pools: Vec<Vec<LocationId>> = Vec::new();
        for t in &info.targets {
            let p = pool_of(t, &info.stock_from);
            if !pools.contains(&p) {
                pools.push(p);
            }
        }
        for pool in pools {
            let members: Vec<usize> = (0..info.targets.len())
                .filter(|&i| pool_of(&info.targets[i], &info.stock_from) == pool)
                .collect();
            let with: Vec<usize> = members
                .iter()
                .copied()
                .filter(|&i| info.targets[i].ratio.is_some())
                .collect();
            if with.is_empty() {
                continue;
            }
            if with.len() < members.len() {
                let missing: Vec<String> = members
                    .iter()
                    .filter(|&&i| info.targets[i].ratio.is_none())
                    .map(|&i| info.targets[i].code.clone())
                    .collect();
                let first = info.targets[with[0]]
                    .ratio
                    .map_or(info.targets[with[0]].span, |r| r.1);
                let mut d = Diagnostic::error(
                    CONFLICTING_STATEMENTS,
                    format!(
                        "some targets of one pool give a `ratio` and {} does not",
                        missing.join(", ")
                    ),
                )
                .at(first, "an exact split of the pool");
                for &i in members.iter().filter(|&&i| info.targets[i].ratio.is_none()) {
                    d = d.also(
                        info.targets[i].span,
                        "no ratio: its share would come on top",
                    );
                }
                self.push(d.help("give every target that draws on this pool a `ratio` (the parts add up to the pool exactly), or none (and use `share`)"));
                continue;
            }
            let weights: Vec<u64> = with
                .iter()
                .filter_map(|&i| info.targets[i].ratio.map(|r| r.0))
                .collect();
            if weights.iter().all(|&w| w == 0) {
                let first = info.targets[with[0]]
                    .ratio
                    .map_or(info.targets[with[0]].span, |r| r.1);
                self.push(
                    Diagnostic::error(PERCENT_RANGE, "every ratio of this pool is 0: there is nothing to split by")
                        .at(first, "all 0")
                        .help("give the targets positive weights (`ratio 1`, `ratio 2`, …); `ratio 0` publishes 0 beside others"),
                );
                continue;
            }
            for (index, &i) in with.iter().enumerate() {
                info.targets[i].ratio_part = Some(model::RatioPart {
                    weights: weights.clone(),
                    index,
                });
            }
        }
    }

    fn by_location(
        &mut self,
        info: &RuleInfo,
        b: &ast::ByLocation,
        code: &str,
        own_from: Option<&[LocationId]>,
    ) -> Option<ByLocation> {
        if code != "US" {
            self.push(
                Diagnostic::error(
                    MLI_OUTSIDE_US,
                    format!("`by location` on {code}: Amazon offers multi-location inventory in the US marketplace only"),
                )
                .at(b.span, "location quantities outside US")
                .help(format!("publish one quantity to {code} (remove `by location`), or publish by location to US only")),
            );
        }
        if !info.default_channel_written {
            self.push(
                Diagnostic::error(
                    TWO_OFFERS,
                    "location quantities without `default_channel 0`: Amazon would show two offers",
                )
                .at(b.span, "location quantities")
                .help(format!(
                    "add the line `default_channel 0` to rule \"{}\": Amazon's multi-location inventory guide requires the seller to set DEFAULT to 0 beside location quantities",
                    info.ast.name.node
                )),
            );
        }
        if b.split.is_empty() {
            let counted: Vec<LocationId> = match own_from.or(info.stock_from.as_deref()) {
                Some(v) => v.to_vec(),
                None => (0..self.locations.len()).collect(),
            };
            if !counted.iter().any(|&l| {
                self.locations
                    .get(l)
                    .is_some_and(|l| l.supply_source.is_some())
            }) {
                self.push(
                    Diagnostic::error(
                        NO_SUPPLY_SOURCE,
                        "`by location` but no counted location is an Amazon supply source",
                    )
                    .at(b.span, "no supply source to publish to")
                    .help("give a location its supply source (`location newark supply_source \"…\"`) and count it (`stock from`), or publish one quantity without `by location`"),
                );
                return None;
            }
            return Some(ByLocation::PerSource);
        }
        let mut parts: Vec<(LocationId, Percent)> = Vec::new();
        let mut spans: Vec<Span> = Vec::new();
        let mut ok = true;
        for part in &b.split {
            let loc = self.resolve_location(&part.location);
            let share = self.percent(&part.share, "a split part", |n| {
                format!("did you mean `{} {n}%`?", part.location.node)
            });
            let (Some(loc), Some(share)) = (loc, share) else {
                ok = false;
                continue;
            };
            if let Some(i) = parts.iter().position(|(l, _)| *l == loc) {
                self.duplicate(
                    &format!("location `{}` in the split", part.location.node),
                    part.span,
                    spans[i],
                    "name each location once; put its whole percentage on one part",
                );
                ok = false;
                continue;
            }
            if self.locations[loc].supply_source.is_none() {
                self.no_source_in_split(&part.location, loc);
                ok = false;
                continue;
            }
            parts.push((loc, share));
            spans.push(part.span);
        }
        if !ok {
            return None;
        }
        // In u64: each part is at most 100%, but a split may have any number of parts.
        let sum: u64 = parts.iter().map(|(_, p)| u64::from(p.0)).sum();
        if sum != u64::from(Percent::HUNDRED.0) {
            self.push(
                Diagnostic::error(
                    SPLIT_SUM,
                    format!("the split adds up to {}, not 100%", Percent(u32::try_from(sum).unwrap_or(u32::MAX))),
                )
                .at(b.span, format!("{} in all", Percent(u32::try_from(sum).unwrap_or(u32::MAX))))
                .help("make the parts add up to exactly 100%: the split divides the offer's whole quantity among the locations"),
            );
            return None;
        }
        Some(ByLocation::Split(parts))
    }

    /// A list of location names resolved (unknown ones reported), each once (a repeat
    /// reported). Returns the locations and whether every name resolved once.
    fn locations_named(&mut self, list: &[Ident], what: &str) -> (Vec<LocationId>, bool) {
        let mut ids: Vec<(LocationId, Span)> = Vec::new();
        let mut ok = true;
        for l in list {
            let Some(id) = self.resolve_location(l) else {
                ok = false;
                continue;
            };
            if let Some((_, first)) = ids.iter().find(|(i, _)| *i == id) {
                let first = *first;
                self.duplicate(
                    &format!("location `{}` in {what}", l.node),
                    l.span,
                    first,
                    "name each location once",
                );
                ok = false;
            } else {
                ids.push((id, l.span));
            }
        }
        (ids.into_iter().map(|(i, _)| i).collect(), ok)
    }

    /// A target's `from` list: its locations, or None when a name did not resolve.
    fn location_list(&mut self, list: &[Ident], what: &str) -> Option<Vec<LocationId>> {
        let (ids, ok) = self.locations_named(list, what);
        ok.then_some(ids)
    }

    fn no_source_in_split(&mut self, name: &Ident, loc: LocationId) {
        let d = Diagnostic::error(
            NO_SUPPLY_SOURCE,
            format!("location `{}` in the split is no Amazon supply source", name.node),
        )
        .at(name.span, "no supply source")
        .also(self.loc_spans[loc], "declared without `supply_source`")
        .help(format!(
            "give it one (`location {} supply_source \"…\"`), or split among locations that have one",
            name.node
        ));
        self.push(d);
    }
}
