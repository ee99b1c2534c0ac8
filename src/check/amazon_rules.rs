//! Amazon's rules across the targets of a rule and across rules: one quantity per seller SKU
//! per region (unified account), 0 delists everywhere, independent offers on one pool can
//! oversell, and the first matching rule decides (so later rules can be shadowed).

use crate::diag::{Diagnostic, Severity};
use crate::marketplaces::Region;
use crate::model::{ByLocation, Percent, Round};

use super::Checker;
use super::codes::*;
use super::rules::{RuleInfo, TargetInfo};
use super::selector::covers;
use super::template::{self, KeyPart};

pub(crate) fn analyse(c: &mut Checker, rules: &[RuleInfo]) {
    for r in rules {
        if r.skip.is_none() {
            let offers = unified(c, r);
            if r.fixed.is_none() {
                for group in pools(c, r, &offers) {
                    oversell(c, r, &group);
                }
            }
        }
    }
    shadowed(c, rules);
    kits(c, rules);
}

/// Whether a selector can select the inventory SKU `sku` (tags and attributes are not known
/// before the inventory: they may).
fn may_select(sel: &crate::model::Selector, inventory_sku: &str) -> bool {
    use crate::model::Selector as S;
    match sel {
        S::Any | S::Tag(_) | S::Attr { .. } => true,
        S::Sku(globs) => globs
            .iter()
            .any(|g| super::selector::glob_match(g, inventory_sku)),
        // `not any` selects nothing; any other negation may select it.
        S::Not(inner) => !matches!(**inner, S::Any),
        S::All(parts) => parts.iter().all(|p| may_select(p, inventory_sku)),
    }
}

/// A kit's components are units the kit offers too: a rule that also publishes a component
/// offers them twice (the scarcest component bounds the kits, not what the singles take).
fn kits(c: &mut Checker, rules: &[RuleInfo]) {
    let first_rule = |inventory_sku: &str| {
        rules.iter().find(|r| {
            r.selector
                .as_ref()
                .is_some_and(|s| may_select(s, inventory_sku))
        })
    };
    // The most of a pool a rule's offers can take, in hundredths of a percent: one share per
    // offer (targets writing one seller SKU in one region are one offer); a fixed quantity is
    // not tied to the pool at all.
    let taken = |r: &RuleInfo| -> u64 {
        if r.fixed.is_some() {
            return u64::MAX;
        }
        let mut offers: Vec<(Region, String, u64)> = Vec::new();
        for t in &r.targets {
            let region = c.marketplaces[t.marketplace].region;
            let key = t
                .template
                .as_ref()
                .map(|s| s.source.clone())
                .unwrap_or_default();
            let share = match &t.ratio_part {
                Some(rp) => {
                    let total: u128 = rp.weights.iter().map(|&w| u128::from(w)).sum();
                    let w = u128::from(rp.weights.get(rp.index).copied().unwrap_or(0));
                    u64::try_from((w * 10_000).div_ceil(total.max(1))).unwrap_or(u64::MAX)
                }
                None => u64::from(t.share.0),
            };
            match offers
                .iter_mut()
                .find(|(g, k, _)| *g == region && *k == key)
            {
                Some(o) => o.2 = o.2.max(share),
                None => offers.push((region, key, share)),
            }
        }
        offers.iter().map(|o| o.2).fold(0u64, u64::saturating_add)
    };
    let mut found = Vec::new();
    for (kit, spans) in &c.kits {
        let Some(kr) = first_rule(&kit.sku).filter(|r| r.skip.is_none()) else {
            continue;
        };
        for ((component, units), span) in kit.parts.iter().zip(spans) {
            let Some(cr) = first_rule(component).filter(|r| r.skip.is_none()) else {
                continue;
            };
            // Shares that add up to at most the whole: the kits take their share's worth of
            // the component at most, the singles theirs.
            if taken(kr).saturating_add(taken(cr)) <= u64::from(Percent::HUNDRED.0) {
                continue;
            }
            found.push((
                kit.sku.clone(),
                component.clone(),
                *units,
                *span,
                cr.ast.name.node.clone(),
                cr.match_span.unwrap_or(cr.ast.name.span),
                kr.ast.name.node.clone(),
            ));
        }
    }
    for (kit, component, units, span, rule, rule_span, kit_rule) in found {
        let mut d = Diagnostic::warning(
            OVERSELL,
            format!(
                "kit \"{kit}\" takes {units} unit{} of `{component}` per kit, and rule \"{rule}\" also publishes `{component}`: both offers draw on the same units and can oversell",
                if units == 1 { "" } else { "s" }
            ),
        )
        .at(span, "units the kit offers")
        .also(rule_span, format!("publishes `{component}` too"))
        .help(format!(
            "keep the singles from selling the kit's units: give rule \"{rule}\" a share of `{component}`'s stock (`share 50%`) and the kit's rule \"{kit_rule}\" the rest, or skip `{component}` in a rule above \"{rule}\"{}",
            if c.guarantee.is_some() { "" } else { "; `guarantee no_oversell` makes this an error" }
        ));
        if let Some(g) = c.guarantee {
            d.severity = Severity::Error;
            d = d.also(g, "this policy guarantees no oversell");
        }
        c.push(d);
    }
}

/// One seller SKU of one region: the targets that share it.
struct Offer<'r> {
    targets: Vec<&'r TargetInfo>,
}

impl Offer<'_> {
    fn codes(&self) -> Vec<String> {
        self.targets.iter().map(|t| t.code.clone()).collect()
    }

    /// The seller SKU's template as written.
    fn template_source(&self) -> String {
        self.targets[0]
            .template
            .as_ref()
            .map(|s| s.source.clone())
            .unwrap_or_default()
    }

    /// The rule's targets written back out, this offer's each with a seller SKU of its own
    /// (and its `ratio` if `ratio`): the `publish` a help suggests.
    fn own_skus(&self, c: &Checker, r: &RuleInfo, ratio: bool) -> String {
        let targets: Vec<String> = r
            .targets
            .iter()
            .map(|x| {
                let own = self.targets.iter().any(|y| std::ptr::eq(*y, x));
                let mut s = suggest_target(c, x, own);
                if let Some((w, _)) = x.ratio.filter(|_| ratio) {
                    s.push_str(&format!(" ratio {w}"));
                }
                s
            })
            .collect();
        targets.join(", ")
    }
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn describe(c: &Checker, t: &TargetInfo) -> String {
    let mut s = t.share.to_string();
    if let Some(n) = t.pack {
        s.push_str(&format!(" in packs of {n}"));
    }
    if let Some(from) = &t.stock_from {
        let names: Vec<&str> = from.iter().map(|&l| c.locations[l].name.as_str()).collect();
        s.push_str(&format!(" from {}", names.join(" and ")));
    }
    match &t.by_location {
        Some(ByLocation::PerSource) => s.push_str(", by location"),
        Some(ByLocation::Split(_)) => s.push_str(", split by location"),
        None => {}
    }
    s
}

/// Groups a rule's targets into offers and reports targets that would give one seller SKU
/// different quantities (or zero it in one marketplace only).
fn unified<'r>(c: &mut Checker, r: &'r RuleInfo) -> Vec<Offer<'r>> {
    let mut groups: Vec<((Region, Vec<KeyPart>), Offer<'r>)> = Vec::new();
    for t in &r.targets {
        let Some(template) = &t.template else {
            continue;
        };
        let region = c.marketplaces[t.marketplace].region;
        let k = (region, template::key(template, &t.code));
        match groups.iter_mut().find(|(gk, _)| *gk == k) {
            Some((_, g)) => g.targets.push(t),
            None => groups.push((k, Offer { targets: vec![t] })),
        }
    }
    let Some(publish) = r.publish else {
        return Vec::new();
    };
    for (_, g) in &groups {
        let first = g.targets[0];
        if g.targets.len() > 1
            && let Some(t) = g.targets.iter().find(|t| t.ratio.is_some())
        {
            let codes = g.codes();
            let sku_src = g.template_source();
            c.push(
                Diagnostic::error(
                    UNIFIED_CONFLICT,
                    format!(
                        "{} share one seller SKU (\"{sku_src}\"), one offer, but `ratio` splits a pool among separate offers",
                        join_and(&codes)
                    ),
                )
                .at(t.ratio.map_or(t.span, |r| r.1), "a part for one marketplace of a shared offer")
                .help(format!(
                    "give each marketplace its own seller SKU: `publish {}`",
                    g.own_skus(c, r, true)
                )),
            );
            continue;
        }
        // A fixed `quantity` ignores shares: only the channels can then differ.
        let fixed = r.fixed.is_some();
        // A fixed `quantity` ignores pools too.
        let pool_of = |t: &TargetInfo| counted_set(c, r, t);
        if g.targets.iter().all(|t| {
            (fixed || (t.share == first.share && pool_of(t) == pool_of(first)))
                && t.by_location == first.by_location
                && t.pack == first.pack
        }) {
            // One quantity, but the handling time and restock date are the seller SKU's too.
            if let Some(t) = g
                .targets
                .iter()
                .find(|t| t.availability != first.availability)
            {
                let codes = g.codes();
                let sku_src = g.template_source();
                let mut d = Diagnostic::error(
                    UNIFIED_CONFLICT,
                    format!(
                        "one seller SKU (\"{sku_src}\") would get different handling times or restock dates in {}: Amazon keeps one per seller SKU in a unified account and the last write wins",
                        join_and(&codes)
                    ),
                )
                .at(t.span, format!("{}: {}", t.code, availability_text(&t.availability)));
                for x in g.targets.iter().filter(|x| !std::ptr::eq(*x, t)) {
                    d = d.also(
                        x.span,
                        format!("{}: {}", x.code, availability_text(&x.availability)),
                    );
                }
                c.push(d.help(format!(
                    "write the same `handling_time` and `restock_date` for these marketplaces (on the rule), or give each marketplace its own seller SKU: `publish {}`",
                    g.own_skus(c, r, false)
                )));
            }
            continue;
        }
        let codes = g.codes();
        let sku_src = g.template_source();
        let zero = g
            .targets
            .iter()
            .find(|t| !fixed && t.share == Percent::ZERO);
        if let Some(z) = zero {
            let others: Vec<String> = g
                .targets
                .iter()
                .filter(|t| t.share != Percent::ZERO)
                .map(|t| t.code.clone())
                .collect();
            let mut d = Diagnostic::error(
                SHARED_ZERO,
                format!(
                    "a 0% share on {} zeroes the seller SKU \"{sku_src}\" that {} share{}: Amazon keeps one quantity per seller SKU, and 0 makes it unbuyable in every marketplace of the region",
                    z.code,
                    join_and(&others),
                    if others.len() == 1 { "s" } else { "" }
                ),
            )
            .at(z.own_share.unwrap_or(z.span), format!("zeroes {sku_src} in {} too", join_and(&others)));
            for t in g.targets.iter().filter(|t| t.share != Percent::ZERO) {
                d = d.also(t.span, format!("{}: {}", t.code, describe(c, t)));
            }
            c.push(d.help(format!(
                "give {} its own seller SKU so the 0 applies there alone: `{} as \"{}\" share 0%`",
                z.code,
                z.code,
                first.template.as_ref().map(|s| template::suggest_own(s, &z.code)).unwrap_or_default()
            )));
            continue;
        }
        let last = g.targets[g.targets.len() - 1];
        let earlier: Vec<String> = g.targets[..g.targets.len() - 1]
            .iter()
            .map(|t| format!("{}'s {}", t.code, describe(c, t)))
            .collect();
        let mut d = Diagnostic::error(
            UNIFIED_CONFLICT,
            format!(
                "one seller SKU (\"{sku_src}\") would get different quantities in {}: Amazon keeps one quantity per seller SKU in a unified account and the last write wins, so {}'s {} would overwrite {}",
                join_and(&codes),
                last.code,
                describe(c, last),
                join_and(&earlier)
            ),
        )
        .at(publish.keyword, format!("one seller SKU, {} quantities", g.targets.len()));
        for t in &g.targets {
            d = d.also(t.span, format!("{}: {}", t.code, describe(c, t)));
        }
        c.push(d.help(format!(
            "give each marketplace its own seller SKU: `publish {}`; or publish one shared quantity (the same share everywhere)",
            g.own_skus(c, r, false)
        )));
    }
    groups.into_iter().map(|(_, g)| g).collect()
}

/// A target's handling time and restock date in words.
fn availability_text(a: &crate::model::Availability) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(d) = a.lead_time_to_ship_max_days {
        parts.push(format!("handling_time {d}"));
    }
    if let Some(d) = &a.restock_date {
        parts.push(format!("restock_date \"{d}\""));
    }
    if parts.is_empty() {
        "no handling time or restock date".to_string()
    } else {
        parts.join(", ")
    }
}

/// A target written back out, with its own seller SKU if `own`.
fn suggest_target(c: &Checker, t: &TargetInfo, own: bool) -> String {
    let mut s = t.code.clone();
    if let Some(template) = &t.template {
        if own {
            s.push_str(&format!(
                " as \"{}\"",
                template::suggest_own(template, &t.code)
            ));
        } else if !template.is_identity() {
            s.push_str(&format!(" as \"{}\"", template.source));
        }
    }
    if t.own_share.is_some() || own {
        s.push_str(&format!(" share {}", t.share));
    }
    match &t.by_location {
        Some(ByLocation::PerSource) => s.push_str(" by location"),
        Some(ByLocation::Split(parts)) => {
            let p: Vec<String> = parts
                .iter()
                .map(|(l, p)| format!("{} {p}", c.locations[*l].name))
                .collect();
            s.push_str(&format!(" by location {{ {} }}", p.join(", ")));
        }
        None => {}
    }
    s.push_str(&own_availability(t));
    s
}

/// A target's own `handling_time` and `restock_date` options as written back out (so a
/// suggested `publish` line keeps them), or nothing.
fn own_availability(t: &TargetInfo) -> String {
    let mut s = String::new();
    if let Some(d) = t.own_availability.lead_time_to_ship_max_days {
        s.push_str(&format!(" handling_time {d}"));
    }
    if let Some(d) = &t.own_availability.restock_date {
        s.push_str(&format!(" restock_date \"{d}\""));
    }
    s
}

/// The locations a target's pool counts, sorted (every location when neither the target nor
/// the rule says).
fn counted_set(c: &Checker, r: &RuleInfo, t: &TargetInfo) -> Vec<usize> {
    let mut v = match t.counted(r) {
        Some(l) => l.to_vec(),
        None => (0..c.locations.len()).collect(),
    };
    v.sort_unstable();
    v.dedup();
    v
}

/// The groups of a rule's offers that draw on common stock: for each location, the offers
/// whose pool counts it (each group once, largest first). Offers whose pools share no
/// location (`publish UK … from uk_wh`, `publish DE … from de_wh`) cannot oversell each other.
/// A rule without per-target `from` is one group of every offer, as before.
fn pools<'o, 'r>(c: &Checker, r: &'r RuleInfo, offers: &'o [Offer<'r>]) -> Vec<Vec<&'o Offer<'r>>> {
    let sets: Vec<Vec<usize>> = offers
        .iter()
        .map(|o| {
            let mut v: Vec<usize> = o
                .targets
                .iter()
                .flat_map(|t| counted_set(c, r, t))
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        })
        .collect();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for loc in 0..c.locations.len().max(1) {
        let g: Vec<usize> = (0..offers.len())
            .filter(|&i| c.locations.is_empty() || sets[i].contains(&loc))
            .collect();
        if g.len() > 1 && !groups.contains(&g) {
            groups.push(g);
        }
    }
    // A group inside a larger one adds nothing the larger one does not report.
    let all = groups.clone();
    groups.retain(|g| {
        !all.iter()
            .any(|h| h.len() > g.len() && g.iter().all(|i| h.contains(i)))
    });
    groups
        .into_iter()
        .map(|g| g.into_iter().map(|i| &offers[i]).collect())
        .collect()
}

/// Independent offers (different seller SKUs) of one rule draw on one pool: their shares must
/// not add up to more than the pool (nor round up past it).
fn oversell(c: &mut Checker, r: &RuleInfo, offers: &[&Offer]) {
    let (Some(publish), true) = (r.publish, offers.len() > 1) else {
        return;
    };
    // An offer's share: its targets agree (or `unified` reported them). A ratio's part is its
    // weight over the split's, rounded down: the split itself never exceeds its pool.
    let share_of = |t: &TargetInfo| match &t.ratio_part {
        Some(rp) => {
            let total: u128 = rp.weights.iter().map(|&w| u128::from(w)).sum();
            let w = rp.weights.get(rp.index).copied().unwrap_or(0);
            let hundredths = (u128::from(w) * u128::from(Percent::HUNDRED.0))
                .checked_div(total)
                .unwrap_or(0);
            Percent(u32::try_from(hundredths).unwrap_or(Percent::HUNDRED.0))
        }
        None => t.share,
    };
    let shares: Vec<Percent> = offers
        .iter()
        .map(|o| {
            o.targets
                .iter()
                .map(|t| share_of(t))
                .max()
                .unwrap_or(Percent::ZERO)
        })
        .collect();
    // In u64: each share is at most 100%, but a policy may have any number of offers.
    let sum: u64 = shares.iter().map(|p| u64::from(p.0)).sum();
    let names: Vec<String> = offers
        .iter()
        .map(|o| {
            let t = o.targets[0];
            let template = t
                .template
                .as_ref()
                .map(|s| s.source.as_str())
                .unwrap_or("{sku}");
            let codes: Vec<String> = o.targets.iter().map(|t| t.code.clone()).collect();
            format!("\"{template}\" on {}", join_and(&codes))
        })
        .collect();
    let mut d = if sum > u64::from(Percent::HUNDRED.0) {
        let even = Percent(Percent::HUNDRED.0 / offers.len() as u32);
        let example: Vec<String> = offers
            .iter()
            .map(|o| {
                let t = o.targets[0];
                let template = t
                    .template
                    .as_ref()
                    .map(|s| s.source.as_str())
                    .unwrap_or("{sku}");
                format!(
                    "{} as \"{template}\" share {even}{}",
                    t.code,
                    own_availability(t)
                )
            })
            .collect();
        Diagnostic::warning(
            OVERSELL,
            format!(
                "{} separate offers (different seller SKUs) draw on one pool and publish {} of it in all: the same units are offered more than once and can be oversold",
                offers.len(),
                Percent(u32::try_from(sum).unwrap_or(u32::MAX)),
            ),
        )
        .at(publish.keyword, format!("{} of one pool", Percent(u32::try_from(sum).unwrap_or(u32::MAX))))
        .help(format!(
            "give the offers exclusive shares that add up to at most 100% (e.g. `publish {}`), or publish one shared seller SKU{}",
            example.join(", "),
            if c.guarantee.is_some() { "" } else { "; to refuse any oversell risk, add `guarantee no_oversell` (this warning becomes an error)" }
        ))
    } else if let Some((pool, total)) = rounding_excess(&shares, r.round) {
        let how = if r.round == Round::Up {
            "up"
        } else {
            "nearest"
        };
        let mut d = Diagnostic::warning(
            OVERSELL,
            format!(
                "`round {how}` can publish more than the pool across {} separate offers: from {pool} available, their shares round to {total}",
                offers.len()
            ),
        )
        .at(publish.keyword, "shares of one pool");
        if let Some(s) = r.round_span {
            d = d.also(s, "rounds up past the pool");
        }
        d.help("use `round down` (the default) when separate offers share one pool")
    } else {
        return;
    };
    for (o, name) in offers.iter().zip(&names) {
        let t = o.targets[0];
        d = d.also(t.span, format!("{name}: {}", t.share));
    }
    if let Some(g) = c.guarantee {
        d.severity = Severity::Error;
        d = d.also(g, "this policy guarantees no oversell");
    }
    c.push(d);
}

/// The smallest pool whose rounded shares add up to more than the pool, if any. Shares are in
/// hundredths of a percent, so the pattern repeats every 10,000 units: that range is enough.
pub(super) fn rounding_excess(shares: &[Percent], round: Round) -> Option<(u64, u64)> {
    if round == Round::Down {
        return None;
    }
    (1..=10_000u64).find_map(|pool| {
        let total: u64 = shares.iter().map(|p| p.of(pool, round)).sum();
        (total > pool).then_some((pool, total))
    })
}

/// A rule whose selector an earlier rule covers can never decide anything.
fn shadowed(c: &mut Checker, rules: &[RuleInfo]) {
    for (i, later) in rules.iter().enumerate() {
        let (Some(sel), Some(span)) = (&later.selector, later.match_span) else {
            continue;
        };
        let earlier = rules[..i].iter().find(|e| {
            e.selector.as_ref().is_some_and(|es| covers(es, sel)) && e.match_span.is_some()
        });
        if let Some(e) = earlier {
            let help = match merge_hint(c, e, later) {
                Some(h) => h,
                None => format!(
                    "rules are tried top to bottom and the first match decides: move \"{}\" above \"{}\", narrow \"{}\", or remove \"{}\"",
                    later.ast.name.node, e.ast.name.node, e.ast.name.node, later.ast.name.node
                ),
            };
            c.push(
                Diagnostic::warning(
                    SHADOWED_RULE,
                    format!(
                        "rule \"{}\" can never match: rule \"{}\" above it matches every SKU it does",
                        later.ast.name.node, e.ast.name.node
                    ),
                )
                .at(span, "never matches")
                .also(
                    e.match_span.unwrap_or(e.ast.name.span),
                    "takes every SKU first",
                )
                .help(help),
            );
        }
    }
}

/// When a shadowed rule publishes the same SKUs to other marketplaces (one rule per
/// marketplace, each with its own stock: seed 002's Linnworks layout), moving it above would
/// only shadow the other: the fix is one rule with both `publish` lines, each target with its
/// own stock source. Returns that help, or None when the marketplaces overlap.
fn merge_hint(c: &Checker, earlier: &RuleInfo, later: &RuleInfo) -> Option<String> {
    if earlier.skip.is_some() || later.skip.is_some() || later.targets.is_empty() {
        return None;
    }
    if later.targets.iter().any(|t| {
        earlier
            .targets
            .iter()
            .any(|e| e.marketplace == t.marketplace)
    }) {
        return None;
    }
    let names = |ids: &[usize]| -> String {
        ids.iter()
            .map(|&l| c.locations[l].name.as_str())
            .collect::<Vec<_>>()
            .join(" and ")
    };
    let line = |r: &RuleInfo| -> String {
        let targets: Vec<String> = r
            .targets
            .iter()
            .map(|t| {
                let mut s = suggest_target(c, t, false);
                if let Some(from) = t.counted(r) {
                    s.push_str(&format!(" from {}", names(from)));
                }
                s
            })
            .collect();
        format!("publish {}", targets.join(", "))
    };
    Some(format!(
        "only the first matching rule decides for a SKU, so \"{}\" publishes nothing, and moving it up would shadow \"{}\" instead: write both in one rule, one `publish` line each, every target with its own stock: `{}` and `{}` (then remove \"{}\")",
        later.ast.name.node,
        earlier.ast.name.node,
        line(earlier),
        line(later),
        later.ast.name.node
    ))
}
