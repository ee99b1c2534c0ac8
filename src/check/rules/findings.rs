//! The findings about a whole rule, once its statements and targets are lowered: one function
//! per finding, each beside the diagnostic it emits. `Checker::rule` runs them in a fixed
//! order (diagnostics at one place keep the order they are pushed in).

use crate::diag::{Diagnostic, Severity};

use super::{Lowering, Role, RuleInfo};
use crate::check::Checker;
use crate::check::codes::*;

impl Checker {
    /// A rule without `match` decides for no SKU anyone can name.
    pub(super) fn missing_match(&mut self, info: &RuleInfo) {
        if info.match_span.is_some() {
            return;
        }
        let name = &info.ast.name;
        self.push(
            Diagnostic::error(
                MISSING_MATCH,
                format!("rule \"{}\" has no `match`", name.node),
            )
            .at(name.span, "which SKUs does this rule decide for?")
            .help("add a selector, e.g. `match sku \"YOGA-*\"`, `match tag \"candles\"` or `match any`"),
        );
    }

    /// A rule that neither publishes nor skips decides nothing for the SKUs it matches.
    pub(super) fn missing_publish(&mut self, info: &RuleInfo) {
        if info.skip.is_some() || info.publish.is_some() {
            return;
        }
        let name = &info.ast.name;
        self.push(
            Diagnostic::error(
                MISSING_PUBLISH,
                format!("rule \"{}\" neither publishes nor skips", name.node),
            )
            .at(name.span, "no `publish` and no `skip`")
            .help("add `publish US` (the marketplaces to publish to) or `skip` (publish nothing for these SKUs)"),
        );
    }

    /// `skip` and `publish` in one rule say opposite things.
    pub(super) fn skip_and_publish(&mut self, info: &RuleInfo) {
        let (Some(skip), Some(publish)) = (info.skip, info.publish) else {
            return;
        };
        self.push(
            Diagnostic::error(
                CONFLICTING_STATEMENTS,
                format!("rule \"{}\" both skips and publishes", info.ast.name.node),
            )
            .at(skip, "publish nothing…")
            .also(publish.keyword, "…and publish")
            .help("remove `skip` to publish, or remove `publish` to leave these listings alone"),
        );
    }

    /// A rule that skips publishes nothing, so every statement about what it would publish
    /// has no effect: the writer meant something else. Refused, in the order: the statements
    /// that shape a quantity, the others, then `quantity`.
    pub(super) fn statements_in_skipping_rule(&mut self, info: &RuleInfo, low: &Lowering) {
        let (Some(skip), None) = (info.skip, info.publish) else {
            return;
        };
        let quantity = info.fixed.map(|(_, s)| ("quantity", s));
        let written = low
            .lines(Role::Shaping)
            .chain(low.lines(Role::Publishing))
            .map(|l| (l.name, l.span))
            .chain(quantity);
        for (name, span) in written {
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

    /// A fixed `quantity` replaces the stock computation: the statements that shape it do
    /// nothing. (In a rule that skips they were refused already.)
    pub(super) fn shaping_beside_quantity(&mut self, info: &RuleInfo, low: &Lowering) {
        let (None, Some((_, qspan))) = (info.skip, info.fixed) else {
            return;
        };
        for l in low.lines(Role::Shaping) {
            let name = l.name;
            self.push(
                Diagnostic::warning(
                    IGNORED_STATEMENT,
                    format!("`{name}` is ignored: `quantity` replaces the stock computation"),
                )
                .at(l.span, "ignored")
                .also(qspan, "fixed quantity here")
                .help(format!(
                    "remove `{name}`, or remove `quantity` to publish from stock"
                )),
            );
        }
    }

    /// Nor is a fixed `quantity` split by a target's ratio or scaled by its share.
    pub(super) fn target_parts_beside_quantity(&mut self, info: &RuleInfo) {
        let (None, Some((_, qspan))) = (info.skip, info.fixed) else {
            return;
        };
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
                        format!(
                            "the share on {} is ignored: `quantity` is never scaled",
                            t.code
                        ),
                    )
                    .at(s, "ignored")
                    .also(qspan, "fixed quantity here")
                    .help("remove the share, or remove `quantity` to publish a share of the stock"),
                );
            }
        }
    }

    /// `quantity N` above 0 publishes N whatever is on hand: a warning, and an error under
    /// `guarantee no_oversell` (it can sell units the seller does not have).
    pub(super) fn fixed_quantity(&mut self, info: &RuleInfo) {
        let (None, Some((n, qspan))) = (info.skip, info.fixed) else {
            return;
        };
        if n == 0 {
            return;
        }
        let once = if info.fixed_once { " once" } else { "" };
        let mut d = Diagnostic::warning(
            FIXED_QUANTITY,
            format!("`quantity {n}{once}` is not tied to stock: it publishes {n} even when nothing is on hand"),
        )
        .at(qspan, "fixed, whatever the stock")
        .help("publish from stock (`share`, `cap`) to sell only what you have; keep `quantity` for items you can always supply");
        if let Some(g) = self.guarantee {
            d.severity = Severity::Error;
            d = d.also(g, "this policy guarantees no oversell");
        }
        self.push(d);
    }

    /// A `threshold` above the `cap`: every result is at most the cap, so below the threshold,
    /// so 0. (Beside `quantity` both are ignored, which is reported as that.)
    pub(super) fn unreachable_threshold(&mut self, info: &RuleInfo) {
        let (None, None, Some((t, tspan)), Some((c, cspan))) =
            (info.skip, info.fixed, info.threshold, info.cap)
        else {
            return;
        };
        if t <= c {
            return;
        }
        self.push(
            Diagnostic::warning(
                UNREACHABLE_THRESHOLD,
                format!("`threshold {t}` is above `cap {c}`: every offer of this rule publishes 0"),
            )
            .at(tspan, "never reached")
            .also(cspan, "results are at most this")
            .help(format!(
                "lower the threshold to at most {c}, or raise the cap"
            )),
        );
    }

    /// The rule's `share` when every target gives its own share or ratio: no target takes it.
    /// Only said of targets that all lowered (a refused one might have taken it).
    pub(super) fn rule_share_ignored(&mut self, info: &RuleInfo, low: &Lowering) {
        let Some((_, s)) = low.share else {
            return;
        };
        if info.fixed.is_some()
            || info.targets.is_empty()
            || !low.targets_ok
            || !info
                .targets
                .iter()
                .all(|t| t.own_share.is_some() || t.ratio.is_some())
        {
            return;
        }
        self.push(
            Diagnostic::warning(
                IGNORED_STATEMENT,
                "the rule's `share` is ignored: every target has its own",
            )
            .at(s, "ignored")
            .help("remove the rule-level `share`, or remove the targets' own shares"),
        );
    }

    /// `default_channel 0` matters beside location quantities only. Only said of targets that
    /// all lowered (a refused one might have published by location).
    pub(super) fn default_channel_ignored(&mut self, info: &RuleInfo, low: &Lowering) {
        let Some(dc) = info.default_channel else {
            return;
        };
        if info.skip.is_some()
            || !low.targets_ok
            || info.targets.iter().any(|t| t.by_location.is_some())
        {
            return;
        }
        self.push(
            Diagnostic::warning(
                IGNORED_STATEMENT,
                "`default_channel 0` is ignored: no target publishes `by location`",
            )
            .at(dc, "ignored")
            .help(
                "remove it (it only matters beside location quantities), or publish `by location`",
            ),
        );
    }
}
