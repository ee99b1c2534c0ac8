//! The targets of a rule's `publish` lines: each lowered on its own (a refused one is
//! dropped, the others kept for the Amazon rules), then the exact splits their ratios make.

use crate::diag::Diagnostic;
use crate::model::{self, ByLocation, LocationIx, MarketplaceIx, Percent, SkuTemplate};
use crate::span::{Span, Spanned};
use crate::syntax::ast::{self, Ident, Number as Written};

use super::{Lowering, RuleInfo, TargetInfo};
use crate::check::Checker;
use crate::check::codes::*;
use crate::check::template;

impl Checker {
    pub(super) fn targets(&mut self, info: &mut RuleInfo, low: &Lowering) {
        // A marketplace may take several offers of one inventory SKU (the single and the
        // 6-pack, an old and a new listing), each under its own seller SKU; the same seller
        // SKU twice in one marketplace is one offer written twice.
        let mut seen: Vec<(MarketplaceIx, String, Span)> = Vec::new();
        for t in &low.publishes {
            let Some(mk) = self.resolve_marketplace(&t.marketplace) else {
                continue;
            };
            if self.duplicate_target(&mut seen, mk, t) {
                continue;
            }
            if let Some(target) = self.target(info, low, t, mk) {
                info.targets.push(target);
            }
        }
        self.ratio_splits(info);
    }

    /// One seller SKU twice in one marketplace. Returns whether `t` repeats one in `seen`
    /// (else it is added there).
    fn duplicate_target(
        &mut self,
        seen: &mut Vec<(MarketplaceIx, String, Span)>,
        mk: MarketplaceIx,
        t: &ast::Target,
    ) -> bool {
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
            return true;
        }
        seen.push((mk, written, t.span));
        false
    }

    /// One target, or None when a part of it was refused (reported). A refused seller SKU
    /// still lowers the target (without one), so the Amazon rules see its marketplace.
    fn target(
        &mut self,
        info: &RuleInfo,
        low: &Lowering,
        t: &ast::Target,
        mk: MarketplaceIx,
    ) -> Option<TargetInfo> {
        let code = self.marketplaces[mk].code.clone();
        let template = self.seller_sku(t, &code);
        let share = match &t.share {
            Some(a) => self.percent(a, "`share`", |n| format!("did you mean `{n}%`?")),
            None => Some(low.share.map_or(Percent::HUNDRED, |s| s.0)),
        };
        let stock_from = match &t.from {
            None => None,
            Some(f) => Some(self.location_list(&f.locations, "`from`")?),
        };
        // Checked even when the share was refused: every finding of the target is reported.
        let by_location = t
            .by_location
            .as_ref()
            .map(|b| self.by_location(info, low, b, &code, stock_from.as_deref()));
        let share = share?;
        let by_location = match by_location {
            None => None,
            Some(b) => Some(b?),
        };
        let ratio = match &t.ratio {
            None => None,
            Some(a) => Some((self.ratio(a)?, a.span)),
        };
        let pack = match &t.pack {
            None => None,
            Some(a) => Some(self.pack(a)?),
        };
        if self.share_and_ratio(&code, ratio, t.share.as_ref())
            || self.ratio_and_by_location(&code, ratio, by_location.as_ref())
        {
            return None;
        }
        let (availability, own_availability) = self.target_availability(t, low)?;
        Some(TargetInfo {
            marketplace: mk,
            code,
            template,
            share,
            own_share: t.share.as_ref().map(|a| a.span),
            by_location,
            stock_from,
            ratio,
            ratio_part: None,
            pack,
            availability,
            own_availability,
            span: t.span,
            template_span: t.sku.as_ref().map(|s| s.span).unwrap_or_default(),
            by_location_span: t.by_location.as_ref().map(|b| b.span).unwrap_or_default(),
        })
    }

    /// A target's handling time and restock date: (its own, else the rule's; its own), or
    /// None when its own was refused (reported).
    fn target_availability(
        &mut self,
        t: &ast::Target,
        low: &Lowering,
    ) -> Option<(model::Availability, model::Availability)> {
        let own = model::Availability {
            lead_time_to_ship_max_days: match &t.handling_time {
                None => None,
                Some(a) => Some(self.handling_time(a)?),
            },
            restock_date: match &t.restock_date {
                None => None,
                Some(s) => Some(self.restock_date(s)?),
            },
        };
        let rule = &low.availability;
        let effective = model::Availability {
            lead_time_to_ship_max_days: own
                .lead_time_to_ship_max_days
                .or(rule.lead_time_to_ship_max_days),
            restock_date: own
                .restock_date
                .clone()
                .or_else(|| rule.restock_date.clone()),
        };
        Some((effective, own))
    }

    /// `as "{sku}-US"` parsed and its longest rendering checked; none written is the
    /// inventory SKU itself. None when refused (reported).
    fn seller_sku(&mut self, t: &ast::Target, code: &str) -> Option<SkuTemplate> {
        let Some(s) = &t.sku else {
            return Some(SkuTemplate::identity());
        };
        match template::parse(&s.node, s.span)
            .and_then(|tpl| template::check_length(&tpl, code, s.span).map(|()| tpl))
        {
            Ok(tpl) => Some(tpl),
            Err(d) => {
                self.push(d);
                None
            }
        }
    }

    /// `ratio 2`: a whole weight.
    fn ratio(&mut self, a: &Spanned<Written>) -> Option<u64> {
        self.units(a, "ratio", |p| {
            format!(
                "a ratio is a whole weight (`ratio 1`, `ratio 2`); for a percent write `share {p}`"
            )
        })
    }

    /// `pack 6`: the units one item of the offer holds, at least 1.
    fn pack(&mut self, a: &Spanned<Written>) -> Option<u64> {
        let n = self.units(a, "pack", |_| {
            "a pack is a whole number of units: `pack 6` for a 6-pack".to_string()
        })?;
        if n == 0 {
            self.push(
                Diagnostic::error(TYPE_MISMATCH, "`pack 0`: a pack holds at least one unit")
                    .at(a.span, "0 units")
                    .help("write the units one item of this offer holds: `pack 6` for a 6-pack (`pack 1` is a single)"),
            );
            return None;
        }
        Some(n)
    }

    /// A target's `share` beside its `ratio`: a percentage of the pool and an exact part of
    /// it cannot both hold. Returns whether it was reported.
    fn share_and_ratio(
        &mut self,
        code: &str,
        ratio: Option<(u64, Span)>,
        share: Option<&Spanned<Written>>,
    ) -> bool {
        let (Some((_, rs)), Some(sh)) = (ratio, share) else {
            return false;
        };
        self.push(
            Diagnostic::error(
                CONFLICTING_STATEMENTS,
                format!("{code} gives both `share` and `ratio`"),
            )
            .at(rs, "an exact part of the pool…")
            .also(sh.span, "…and a percentage of it")
            .help("keep one: `ratio` splits the pool exactly among the targets that give one; `share` takes a percentage of it"),
        );
        true
    }

    /// A target's `ratio` beside `by location` (each source's own stock): a part of the whole
    /// pool cannot also be each source's stock. Returns whether it was reported.
    fn ratio_and_by_location(
        &mut self,
        code: &str,
        ratio: Option<(u64, Span)>,
        by_location: Option<&ByLocation>,
    ) -> bool {
        let (Some((_, rs)), Some(ByLocation::PerSource)) = (ratio, by_location) else {
            return false;
        };
        self.push(
            Diagnostic::error(
                CONFLICTING_STATEMENTS,
                format!("{code} gives `ratio` and `by location`"),
            )
            .at(rs, "a part of the whole pool…")
            .help("`by location` publishes each supply source's own stock; to split a ratio's part among locations, write `by location { newark 60%, austin 40% }`"),
        );
        true
    }

    /// Targets that draw on one pool and give a `ratio` split it exactly. Every target of that
    /// pool must give one (a share beside an exact split would be over the top of it), and the
    /// weights must not all be 0.
    fn ratio_splits(&mut self, info: &mut RuleInfo) {
        if info.targets.iter().all(|t| t.ratio.is_none()) {
            return;
        }
        let all: Vec<LocationIx> = (0..self.locations.len()).collect();
        let pool_of = |t: &TargetInfo, rule: &Option<Vec<LocationIx>>| -> Vec<LocationIx> {
            let mut v = t
                .stock_from
                .clone()
                .or_else(|| rule.clone())
                .unwrap_or_else(|| all.clone());
            v.sort_unstable();
            v.dedup();
            v
        };
        let mut pools: Vec<Vec<LocationIx>> = Vec::new();
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
            if with.is_empty()
                || self.ratio_missing_in_pool(&info.targets, &members, with[0])
                || self.every_ratio_zero(&info.targets, &with)
            {
                continue;
            }
            let weights: Vec<u64> = with
                .iter()
                .filter_map(|&i| info.targets[i].ratio.map(|r| r.0))
                .collect();
            for (index, &i) in with.iter().enumerate() {
                info.targets[i].ratio_part = Some(model::RatioPart {
                    weights: weights.clone(),
                    index,
                });
            }
        }
    }

    /// Some targets of one pool give a ratio and others do not: the others' shares would come
    /// on top of an exact split. Returns whether it was reported.
    fn ratio_missing_in_pool(
        &mut self,
        targets: &[TargetInfo],
        members: &[usize],
        first_with: usize,
    ) -> bool {
        let without: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&i| targets[i].ratio.is_none())
            .collect();
        if without.is_empty() {
            return false;
        }
        let missing: Vec<String> = without.iter().map(|&i| targets[i].code.clone()).collect();
        let first = &targets[first_with];
        let mut d = Diagnostic::error(
            CONFLICTING_STATEMENTS,
            format!(
                "some targets of one pool give a `ratio` and {} does not",
                missing.join(", ")
            ),
        )
        .at(
            first.ratio.map_or(first.span, |r| r.1),
            "an exact split of the pool",
        );
        for &i in &without {
            d = d.also(targets[i].span, "no ratio: its share would come on top");
        }
        self.push(d.help("give every target that draws on this pool a `ratio` (the parts add up to the pool exactly), or none (and use `share`)"));
        true
    }

    /// Every ratio of one pool is 0: there is nothing to split by. Returns whether it was
    /// reported.
    fn every_ratio_zero(&mut self, targets: &[TargetInfo], with: &[usize]) -> bool {
        if !with
            .iter()
            .all(|&i| targets[i].ratio.is_none_or(|r| r.0 == 0))
        {
            return false;
        }
        let first = &targets[with[0]];
        self.push(
            Diagnostic::error(PERCENT_RANGE, "every ratio of this pool is 0: there is nothing to split by")
                .at(first.ratio.map_or(first.span, |r| r.1), "all 0")
                .help("give the targets positive weights (`ratio 1`, `ratio 2`, …); `ratio 0` publishes 0 beside others"),
        );
        true
    }

    /// `by location`: Amazon's multi-location inventory, each supply source's own stock or
    /// a split of the offer's quantity. Where it may be written is reported first, then the
    /// form itself lowers.
    fn by_location(
        &mut self,
        info: &RuleInfo,
        low: &Lowering,
        b: &ast::ByLocation,
        code: &str,
        own_from: Option<&[LocationIx]>,
    ) -> Option<ByLocation> {
        self.mli_outside_us(b, code);
        self.two_offers(info, low, b);
        if b.split.is_empty() {
            self.per_source(info, b, own_from)
        } else {
            self.split(b)
        }
    }

    /// Amazon takes location quantities in the US marketplace only.
    fn mli_outside_us(&mut self, b: &ast::ByLocation, code: &str) {
        if code == "US" {
            return;
        }
        self.push(
            Diagnostic::error(
                MLI_OUTSIDE_US,
                format!("`by location` on {code}: Amazon offers multi-location inventory in the US marketplace only"),
            )
            .at(b.span, "location quantities outside US")
            .help(format!("publish one quantity to {code} (remove `by location`), or publish by location to US only")),
        );
    }

    /// Location quantities beside a DEFAULT quantity are two offers: the rule must say
    /// `default_channel 0` (a refused `default_channel` line was reported as itself).
    fn two_offers(&mut self, info: &RuleInfo, low: &Lowering, b: &ast::ByLocation) {
        if low.default_channel_written {
            return;
        }
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

    /// `by location` alone: each counted location that is a supply source publishes its own
    /// stock, so at least one must be.
    fn per_source(
        &mut self,
        info: &RuleInfo,
        b: &ast::ByLocation,
        own_from: Option<&[LocationIx]>,
    ) -> Option<ByLocation> {
        let counted: Vec<LocationIx> = match own_from.or(info.stock_from.as_deref()) {
            Some(v) => v.to_vec(),
            None => (0..self.locations.len()).collect(),
        };
        if counted.iter().any(|&l| {
            self.locations
                .get(l)
                .is_some_and(|l| l.supply_source.is_some())
        }) {
            return Some(ByLocation::PerSource);
        }
        self.push(
            Diagnostic::error(
                NO_SUPPLY_SOURCE,
                "`by location` but no counted location is an Amazon supply source",
            )
            .at(b.span, "no supply source to publish to")
            .help("give a location its supply source (`location newark supply_source \"…\"`) and count it (`stock from`), or publish one quantity without `by location`"),
        );
        None
    }

    /// `by location { newark 60%, austin 40% }`: each part a supply source, named once, and
    /// the parts adding up to 100%.
    fn split(&mut self, b: &ast::ByLocation) -> Option<ByLocation> {
        let mut parts: Vec<(LocationIx, Percent)> = Vec::new();
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
        (ok && self.split_sums_to_100(b, &parts)).then_some(ByLocation::Split(parts))
    }

    /// A split divides the offer's whole quantity: its parts add up to exactly 100%.
    fn split_sums_to_100(&mut self, b: &ast::ByLocation, parts: &[(LocationIx, Percent)]) -> bool {
        // In u64: each part is at most 100%, but a split may have any number of parts.
        let sum: u64 = parts.iter().map(|(_, p)| u64::from(p.0)).sum();
        if sum == u64::from(Percent::HUNDRED.0) {
            return true;
        }
        self.push(
            Diagnostic::error(
                SPLIT_SUM,
                format!("the split adds up to {}, not 100%", Percent(u32::try_from(sum).unwrap_or(u32::MAX))),
            )
            .at(b.span, format!("{} in all", Percent(u32::try_from(sum).unwrap_or(u32::MAX))))
            .help("make the parts add up to exactly 100%: the split divides the offer's whole quantity among the locations"),
        );
        false
    }

    /// A list of location names resolved (unknown ones reported), each once (a repeat
    /// reported). Returns the locations and whether every name resolved once.
    pub(super) fn locations_named(
        &mut self,
        list: &[Ident],
        what: &str,
    ) -> (Vec<LocationIx>, bool) {
        let mut ids: Vec<(LocationIx, Span)> = Vec::new();
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
    fn location_list(&mut self, list: &[Ident], what: &str) -> Option<Vec<LocationIx>> {
        let (ids, ok) = self.locations_named(list, what);
        ok.then_some(ids)
    }

    fn no_source_in_split(&mut self, name: &Ident, loc: LocationIx) {
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
