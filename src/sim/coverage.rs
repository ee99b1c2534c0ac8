//! Test coverage (`allot test --coverage`): which parts of a policy the `test` blocks exercise.
//!
//! Nothing here evaluates a rule: every fact comes from the runs the tests already make, the
//! offers of each preview with their provenance (rule and steps), and the engine's own
//! `decide` for the SKUs of a test's stock (a `skip` rule makes no offer to be seen by).
//!
//! The items of a policy:
//! - each rule: covered when it decided some SKU of a test (it was the first rule to match);
//! - each publish target (marketplace and seller SKU of a rule): covered when a test made an
//!   offer through it;
//! - each step of the order of operations a rule declares and that can change a quantity
//!   (buffer, share, ratio, pack, threshold, cap): covered when, in some offer of some test,
//!   the value after the step differs from the value before it (a `threshold 3` that zeroed a
//!   quantity, a `cap 20` that bound). A step that only ever passed its value through is
//!   declared but untested.

use serde::Serialize;

use super::Preview;
use super::engine::{Engine, Step, StepKind};
use crate::inventory::Stock;
use crate::model::{Action, Amount, Percent, Policy};
use crate::span::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Rule,
    Target,
    Step,
}

/// One thing a test can exercise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub kind: ItemKind,
    /// Index into `Policy::rules`.
    pub rule: usize,
    /// Index into the rule's targets: targets, and the steps a target declares (share, ratio,
    /// pack). `None` for the rule and its own steps (buffer, threshold, cap).
    pub target: Option<usize>,
    pub step: Option<StepKind>,
    /// Where it is written: the target, else the rule's name.
    pub span: Span,
    pub covered: bool,
}

/// The coverage items of one policy, marked as the tests run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    pub items: Vec<Item>,
}

/// The steps a rule's own clauses add (buffer, threshold, cap), in the order they run.
const RULE_STEPS: [StepKind; 3] = [StepKind::Buffer, StepKind::Threshold, StepKind::Cap];

impl Coverage {
    /// Every item of the policy, none covered yet, in policy order.
    pub fn of(policy: &Policy) -> Self {
        let mut items = Vec::new();
        for (ri, rule) in policy.rules.iter().enumerate() {
            let item = |kind, target, step, span| Item {
                kind,
                rule: ri,
                target,
                step,
                span,
                covered: false,
            };
            items.push(item(ItemKind::Rule, None, None, rule.span));
            let Action::Publish(p) = &rule.action else {
                continue;
            };
            for (ti, t) in p.targets.iter().enumerate() {
                items.push(item(ItemKind::Target, Some(ti), None, t.span));
            }
            // `quantity N` replaces the whole computation: its other steps never run, and
            // no test could exercise them.
            if p.fixed.is_some() {
                continue;
            }
            let declared = [
                p.buffer.is_some() || p.columns.buffer.is_some(),
                p.threshold.is_some() || p.columns.threshold.is_some(),
                p.cap.is_some() || p.columns.cap.is_some(),
            ];
            for (kind, on) in RULE_STEPS.into_iter().zip(declared) {
                if on {
                    items.push(item(ItemKind::Step, None, Some(kind), rule.span));
                }
            }
            for (ti, t) in p.targets.iter().enumerate() {
                let mut kinds = Vec::new();
                if t.ratio.is_some() {
                    kinds.push(StepKind::Ratio);
                } else if t.share != Percent::HUNDRED {
                    kinds.push(StepKind::Share);
                }
                if t.pack.is_some_and(|n| n > 1) {
                    kinds.push(StepKind::Pack);
                }
                for kind in kinds {
                    items.push(item(ItemKind::Step, Some(ti), Some(kind), t.span));
                }
            }
        }
        Coverage { items }
    }

    /// Mark what one test's run exercised: `stock` is the test's stock, `preview` its result.
    pub fn record(&mut self, policy: &Policy, stock: &Stock, preview: &Preview) {
        let engine = Engine::new(policy, stock);
        let mut decided = vec![false; policy.rules.len()];
        for item in stock.items() {
            if let Some(ri) = engine.decide(item.sku(), Some(item)) {
                decided[ri] = true;
            }
        }
        // (rule, target, step kind) that changed a quantity; (rule, target) that made an offer.
        let mut changed: Vec<(usize, usize, StepKind)> = Vec::new();
        let mut offered: Vec<(usize, usize)> = Vec::new();
        for (change, prov) in preview.changes.iter().zip(&preview.provenance) {
            let ri = prov.rule;
            if let Some(d) = decided.get_mut(ri) {
                // SKUs without a stock row (`on_missing zero`) are decided too.
                *d = true;
            }
            let Some(Action::Publish(p)) = policy.rules.get(ri).map(|r| &r.action) else {
                continue;
            };
            let offer = &change.offer;
            let item = stock.get(&offer.inventory_sku);
            // The targets that made this offer: its marketplaces, and the seller SKU their
            // template renders for the SKU (two targets of a rule may share a marketplace).
            let targets: Vec<usize> = p
                .targets
                .iter()
                .enumerate()
                .filter(|(_, t)| {
                    let code = &policy.marketplaces[t.marketplace].code;
                    offer.marketplaces.iter().any(|m| m == code)
                        && engine
                            .seller_sku(t, &offer.inventory_sku, item)
                            .is_ok_and(|s| s == offer.seller_sku)
                })
                .map(|(ti, _)| ti)
                .collect();
            let kinds = changing_steps(&prov.steps);
            for &ti in &targets {
                offered.push((ri, ti));
                changed.extend(kinds.iter().map(|&k| (ri, ti, k)));
            }
        }
        for it in &mut self.items {
            if it.covered {
                continue;
            }
            it.covered = match (it.kind, it.target, it.step) {
                (ItemKind::Rule, _, _) => decided.get(it.rule).copied().unwrap_or(false),
                (ItemKind::Target, Some(ti), _) => offered.contains(&(it.rule, ti)),
                // A rule's own step: through any of its targets.
                (ItemKind::Step, None, Some(k)) => {
                    changed.iter().any(|&(r, _, c)| r == it.rule && c == k)
                }
                (ItemKind::Step, Some(ti), Some(k)) => changed.contains(&(it.rule, ti, k)),
                _ => false,
            };
        }
    }

    pub fn covered(&self) -> usize {
        self.items.iter().filter(|i| i.covered).count()
    }

    pub fn total(&self) -> usize {
        self.items.len()
    }

    /// An item as a reader finds it in the policy: `rule "mugs"`, `target CA as "{sku}-CA" of
    /// rule "mugs"`, `cap 10 of rule "yoga pants"`, `share 40% of target CA … of rule "mugs"`.
    pub fn describe(policy: &Policy, it: &Item) -> String {
        let Some(rule) = policy.rules.get(it.rule) else {
            return String::from("?");
        };
        let of_rule = format!("rule \"{}\"", rule.name);
        let Action::Publish(p) = &rule.action else {
            return of_rule;
        };
        let target = it.target.and_then(|ti| p.targets.get(ti)).map(|t| {
            let code = policy
                .marketplaces
                .get(t.marketplace)
                .map_or("?", |m| m.code.as_str());
            if t.sku.source.is_empty() || t.sku.source == "{sku}" {
                format!("target {code}")
            } else {
                format!("target {code} as \"{}\"", t.sku.source)
            }
        });
        let step = it.step.map(|k| step_label(p, it.target, k));
        match (step, target) {
            (None, None) => of_rule,
            (None, Some(t)) => format!("{t} of {of_rule}"),
            (Some(s), None) => format!("{s} of {of_rule}"),
            (Some(s), Some(t)) => format!("{s} of {t} of {of_rule}"),
        }
    }
}

/// `cap 10`, `threshold column "min"`, `share 40%`, `pack 6`, `ratio 2`.
fn step_label(p: &crate::model::Publish, target: Option<usize>, k: StepKind) -> String {
    let amount = |a: &Amount| match a {
        Amount::Units(n) => n.to_string(),
        Amount::Percent(pc) => pc.to_string(),
    };
    let column = |c: &Option<String>| c.as_ref().map(|c| format!("column \"{c}\""));
    let t = target.and_then(|ti| p.targets.get(ti));
    let param = match k {
        StepKind::Buffer => column(&p.columns.buffer).or(p.buffer.as_ref().map(amount)),
        StepKind::Threshold => column(&p.columns.threshold).or(p.threshold.map(|n| n.to_string())),
        StepKind::Cap => column(&p.columns.cap).or(p.cap.map(|n| n.to_string())),
        StepKind::Share => t.map(|t| t.share.to_string()),
        StepKind::Pack => t.and_then(|t| t.pack).map(|n| n.to_string()),
        StepKind::Ratio => t
            .and_then(|t| t.ratio.as_ref())
            .and_then(|r| r.weights.get(r.index))
            .map(|w| w.to_string()),
        _ => None,
    };
    let name = step_name(k);
    match param {
        Some(v) => format!("{name} {v}"),
        None => name.to_string(),
    }
}

/// The keyword of a step, as the policy writes it.
pub fn step_name(k: StepKind) -> &'static str {
    match k {
        StepKind::Pool => "pool",
        StepKind::Buffer => "buffer",
        StepKind::Share => "share",
        StepKind::Ratio => "ratio",
        StepKind::Pack => "pack",
        StepKind::Threshold => "threshold",
        StepKind::Cap => "cap",
        StepKind::Fixed => "quantity",
        StepKind::MissingZero => "on_missing zero",
        StepKind::Split => "split",
        StepKind::DefaultZero => "default_channel 0",
    }
}

/// The steps of one offer whose value differs from the value before them. Each quantity's
/// chain starts with its pool (one per location under `by location`), so the step before is
/// the previous one in the list; steps that start a chain or split a whole are never counted.
fn changing_steps(steps: &[Step]) -> Vec<StepKind> {
    let mut out = Vec::new();
    let mut before: Option<u64> = None;
    for s in steps {
        let counted = matches!(
            s.kind,
            StepKind::Buffer
                | StepKind::Share
                | StepKind::Ratio
                | StepKind::Pack
                | StepKind::Threshold
                | StepKind::Cap
        );
        if counted && before.is_some_and(|b| b != s.value) && !out.contains(&s.kind) {
            out.push(s.kind);
        }
        before = Some(s.value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::testrun::run_all_covered;

    /// Worked out by hand: YOGA-1 (9 units) goes buffer 1 → 8, share 50% → 4, threshold 3
    /// (4 stays 4), cap 5 (4 stays 4), on US and CA. YOGA-2 (30) → 29 → 14 or 15 → cap 5 binds.
    /// No test stocks a candle, so that rule, its target and its pack are not covered; `X`
    /// reaches the `skip` rule only in the second test.
    const POLICY: &str = r#"policy "cov"
seller "A1PP0FEH11RW77"
marketplaces US, CA
location a

rule "yoga" {
  match sku "YOGA-*"
  buffer 1
  threshold 3
  cap 5
  publish US as "{sku}-US" share 50%, CA as "{sku}-CA" share 50%
}

rule "candles" {
  match sku "C-*"
  publish US as "{sku}-6PK" pack 6
}

rule "rest" {
  match any
  skip
}

test "small" {
  stock "YOGA-1" a 9
  expect "YOGA-1-US" on US = 4
}
"#;

    const SECOND: &str = r#"
test "large" {
  stock "YOGA-2" a 30
  stock "X" a 1
  expect "YOGA-2-CA" on CA = 5
}
"#;

    fn checked(src: &str) -> Policy {
        let c = crate::check::check_source(src);
        c.policy
            .unwrap_or_else(|| panic!("does not check: {:?}", c.diagnostics))
    }

    fn uncovered(policy: &Policy, cov: &Coverage) -> Vec<String> {
        cov.items
            .iter()
            .filter(|i| !i.covered)
            .map(|i| Coverage::describe(policy, i))
            .collect()
    }

    #[test]
    fn what_one_test_covers_is_what_it_exercised() {
        let policy = checked(POLICY);
        let (results, cov) = run_all_covered(&policy);
        assert!(results.iter().all(|r| r.passed()), "{results:?}");
        // 3 rules, 3 targets, yoga's buffer/threshold/cap and two shares, the candle's pack.
        assert_eq!(cov.total(), 12, "{cov:#?}");
        assert_eq!(
            uncovered(&policy, &cov),
            [
                "threshold 3 of rule \"yoga\"",
                "cap 5 of rule \"yoga\"",
                "rule \"candles\"",
                "target US as \"{sku}-6PK\" of rule \"candles\"",
                "pack 6 of target US as \"{sku}-6PK\" of rule \"candles\"",
                "rule \"rest\"",
            ]
        );
        assert_eq!(cov.covered(), 6);
    }

    #[test]
    fn a_second_test_that_binds_the_cap_and_reaches_skip_adds_them() {
        let policy = checked(&format!("{POLICY}{SECOND}"));
        let (results, cov) = run_all_covered(&policy);
        assert!(results.iter().all(|r| r.passed()), "{results:?}");
        assert_eq!(
            uncovered(&policy, &cov),
            [
                "threshold 3 of rule \"yoga\"",
                "rule \"candles\"",
                "target US as \"{sku}-6PK\" of rule \"candles\"",
                "pack 6 of target US as \"{sku}-6PK\" of rule \"candles\"",
            ]
        );
        let cap = cov
            .items
            .iter()
            .find(|i| i.step == Some(StepKind::Cap))
            .unwrap();
        assert_eq!(cap.span, policy.rules[0].span);
    }

    #[test]
    fn a_threshold_that_zeroes_and_a_pack_count_as_changes() {
        let steps = |v: &[(StepKind, u64)]| -> Vec<Step> {
            v.iter()
                .map(|&(kind, value)| Step {
                    kind,
                    location: None,
                    param: None,
                    value,
                })
                .collect()
        };
        use StepKind::*;
        assert_eq!(
            changing_steps(&steps(&[(Pool, 2), (Threshold, 0), (Cap, 0)])),
            [Threshold]
        );
        assert_eq!(
            changing_steps(&steps(&[(Pool, 12), (Pack, 2), (Cap, 2)])),
            [Pack]
        );
        // A second location's chain starts again from its own pool.
        assert_eq!(
            changing_steps(&steps(&[(Pool, 9), (Cap, 5), (Pool, 3), (Cap, 3)])),
            [Cap]
        );
        assert!(changing_steps(&steps(&[(Fixed, 4)])).is_empty());
    }
}
