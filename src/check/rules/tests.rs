//! One test per finding of a rule, and the order the rule checks report in.

use crate::check::Checker;
use crate::check::codes::*;
use crate::diag::Severity;

const HEAD: &str = "policy \"p\"\nseller \"A1PP0FEH11RW77\"\nmarketplaces US, CA, MX\nlocation newark supply_source \"S1\"\n";

/// The diagnostics of the policy's rules as the checker emits them, before `check` sorts
/// them by place: the rule checks' own order is what these tests pin.
fn emitted(body: &str) -> Vec<(&'static str, Severity, String)> {
    let src = format!("{HEAD}{body}");
    let ast = crate::syntax::parse(&src).expect("the test policy parses");
    let mut c = Checker::default();
    c.top_level(&ast);
    let before = c.diags.len();
    let _rules = c.rules(&ast);
    c.diags[before..]
        .iter()
        .map(|d| (d.code, d.severity, d.message.clone()))
        .collect()
}

fn codes(body: &str) -> Vec<&'static str> {
    emitted(body).into_iter().map(|(c, _, _)| c).collect()
}

fn rule(stmts: &str) -> String {
    format!("rule \"r\" {{\n{stmts}\n}}\n")
}

#[test]
fn a_clean_rule_reports_nothing() {
    assert_eq!(
        codes(&rule("match any\nstock from newark\ncap 5\npublish US")),
        [] as [&str; 0]
    );
}

#[test]
fn duplicate_statement_is_reported_once_per_repeat_and_a_column_limit_counts() {
    let d = emitted(&rule(
        "match any\ncap 5\ncap 6\ncap column \"max\"\npublish US",
    ));
    let messages: Vec<&str> = d.iter().map(|(_, _, m)| m.as_str()).collect();
    assert_eq!(
        messages,
        [
            "`cap` in rule \"r\" is given twice",
            "`cap` in rule \"r\" is given twice"
        ]
    );
    // Several `publish` lines add up: no repeat.
    assert_eq!(
        codes(&rule("match any\npublish US\npublish CA as \"{sku}_CA\"")),
        [] as [&str; 0]
    );
}

#[test]
fn default_channel_takes_the_number_0() {
    let d = emitted(&rule(
        "match any\npublish US by location\ndefault_channel 5%",
    ));
    assert!(
        d.iter()
            .any(|(c, _, m)| *c == TYPE_MISMATCH
                && m == "`default_channel` takes the number 0, not 5%"),
        "{d:#?}"
    );
    let d = emitted(&rule(
        "match any\npublish US by location\ndefault_channel 2",
    ));
    assert_eq!(d[0].0, DEFAULT_CHANNEL, "{d:#?}");
}

#[test]
fn missing_match_and_missing_publish() {
    assert_eq!(codes(&rule("cap 5")), [MISSING_MATCH, MISSING_PUBLISH]);
}

#[test]
fn skip_and_publish_conflict() {
    let d = emitted(&rule("match any\nskip\npublish US"));
    assert_eq!(
        d,
        [(
            CONFLICTING_STATEMENTS,
            Severity::Error,
            "rule \"r\" both skips and publishes".to_string()
        )]
    );
}

#[test]
fn a_skipping_rule_refuses_every_other_statement_in_order() {
    let d = emitted(&rule(
        "match any\non_missing zero\ncap 5\nskip\nquantity 3\nround up",
    ));
    let messages: Vec<&str> = d.iter().map(|(_, _, m)| m.as_str()).collect();
    // The statements that shape a quantity first, then the others, then `quantity`.
    assert_eq!(
        messages,
        [
            "`cap` in a rule that skips",
            "`round` in a rule that skips",
            "`on_missing` in a rule that skips",
            "`quantity` in a rule that skips",
        ]
    );
    assert!(d.iter().all(|(c, _, _)| *c == CONFLICTING_STATEMENTS));
}

#[test]
fn quantity_ignores_the_stock_computation_then_warns_it_is_fixed() {
    let d = emitted(&rule(
        "match any\nbuffer 2\nquantity 4 once\nthreshold 9\ncap 1\npublish CA as \"{sku}_CA\" ratio 1, MX as \"{sku}_MX\" ratio 2 share 5%",
    ));
    let messages: Vec<&str> = d.iter().map(|(_, _, m)| m.as_str()).collect();
    assert_eq!(
        messages,
        [
            "MX gives both `share` and `ratio`",
            "`buffer` is ignored: `quantity` replaces the stock computation",
            "`threshold` is ignored: `quantity` replaces the stock computation",
            "`cap` is ignored: `quantity` replaces the stock computation",
            "the ratio on CA is ignored: `quantity` is never split",
            "`quantity 4 once` is not tied to stock: it publishes 4 even when nothing is on hand",
        ]
    );
    // A threshold above the cap is no further finding: the quantity replaces both.
    assert!(!d.iter().any(|(c, _, _)| *c == UNREACHABLE_THRESHOLD));
}

#[test]
fn quantity_ignores_a_targets_ratio_and_share() {
    let d = emitted(&rule(
        "match any\nquantity 0\npublish CA as \"{sku}_CA\" ratio 1, MX as \"{sku}_MX\" ratio 1",
    ));
    let messages: Vec<&str> = d.iter().map(|(_, _, m)| m.as_str()).collect();
    assert_eq!(
        messages,
        [
            "the ratio on CA is ignored: `quantity` is never split",
            "the ratio on MX is ignored: `quantity` is never split",
        ]
    );
    let d = emitted(&rule("match any\nquantity 0\npublish US share 10%"));
    let messages: Vec<&str> = d.iter().map(|(_, _, m)| m.as_str()).collect();
    assert_eq!(
        messages,
        ["the share on US is ignored: `quantity` is never scaled"]
    );
    assert!(
        d.iter()
            .all(|(c, s, _)| *c == IGNORED_STATEMENT && *s == Severity::Warning)
    );
}

#[test]
fn a_fixed_quantity_above_0_warns_and_is_an_error_under_the_guarantee() {
    let d = emitted(&rule("match any\nquantity 3\npublish US"));
    assert_eq!(
        d.iter().map(|(c, s, _)| (*c, *s)).collect::<Vec<_>>(),
        [(FIXED_QUANTITY, Severity::Warning)]
    );
    let d = emitted(&format!(
        "guarantee no_oversell\n{}",
        rule("match any\nquantity 3\npublish US")
    ));
    assert_eq!(
        d.iter().map(|(c, s, _)| (*c, *s)).collect::<Vec<_>>(),
        [(FIXED_QUANTITY, Severity::Error)]
    );
}

#[test]
fn unreachable_threshold_only_when_the_rule_publishes_from_stock() {
    let d = emitted(&rule("match any\nthreshold 9\ncap 4\npublish US"));
    assert_eq!(
        d,
        [(
            UNREACHABLE_THRESHOLD,
            Severity::Warning,
            "`threshold 9` is above `cap 4`: every offer of this rule publishes 0".to_string()
        )]
    );
    assert_eq!(
        codes(&rule("match any\nthreshold 4\ncap 4\npublish US")),
        [] as [&str; 0]
    );
    // In a skipping rule both are refused as conflicting, nothing more.
    assert_eq!(
        codes(&rule("match any\nthreshold 9\ncap 4\nskip")),
        [CONFLICTING_STATEMENTS, CONFLICTING_STATEMENTS]
    );
}

#[test]
fn the_rule_share_is_ignored_only_when_every_target_lowered_with_its_own() {
    let d = emitted(&rule(
        "match any\nshare 50%\npublish CA as \"{sku}_CA\" share 20%, MX as \"{sku}_MX\" ratio 1",
    ));
    // MX's ratio beside CA's share is refused first; the rule share is then no finding of
    // its own (the targets did not lower).
    assert_eq!(
        codes(&rule(
            "match any\nshare 50%\npublish CA share 20%, MX share 30%"
        )),
        [IGNORED_STATEMENT]
    );
    assert!(!d.iter().any(|(c, _, _)| *c == IGNORED_STATEMENT), "{d:#?}");
    // One target without its own share takes the rule's.
    assert_eq!(
        codes(&rule("match any\nshare 50%\npublish CA share 20%, MX")),
        [] as [&str; 0]
    );
}

#[test]
fn default_channel_0_is_ignored_without_a_location_target() {
    let d = emitted(&rule("match any\npublish US\ndefault_channel 0"));
    assert_eq!(
        d,
        [(
            IGNORED_STATEMENT,
            Severity::Warning,
            "`default_channel 0` is ignored: no target publishes `by location`".to_string()
        )]
    );
    assert_eq!(
        codes(&rule(
            "match any\npublish US by location\ndefault_channel 0"
        )),
        [] as [&str; 0]
    );
    // In a skipping rule it is refused as conflicting instead.
    assert_eq!(
        codes(&rule("match any\nskip\ndefault_channel 0")),
        [CONFLICTING_STATEMENTS]
    );
}

#[test]
fn location_quantities_need_default_channel_even_a_refused_one_counts() {
    assert_eq!(
        codes(&rule("match any\npublish US by location")),
        [TWO_OFFERS]
    );
    // A refused `default_channel 2` is reported as itself, not again as missing.
    assert_eq!(
        codes(&rule(
            "match any\npublish US by location\ndefault_channel 2"
        )),
        [DEFAULT_CHANNEL]
    );
}

#[test]
fn targets_inherit_the_rules_handling_time_and_restock_date() {
    let src = format!(
        "{HEAD}{}",
        rule(
            "match any\nhandling_time 3\nrestock_date \"2027-01-15\"\npublish US, CA as \"{sku}_CA\" handling_time 1"
        )
    );
    let ast = crate::syntax::parse(&src).expect("parses");
    let mut c = Checker::default();
    c.top_level(&ast);
    let rules = c.rules(&ast);
    assert!(c.diags.is_empty(), "{:#?}", c.diags);
    let t = &rules[0].targets;
    assert_eq!(t[0].availability.lead_time_to_ship_max_days, Some(3));
    assert_eq!(t[1].availability.lead_time_to_ship_max_days, Some(1));
    assert_eq!(t[1].own_availability.restock_date, None);
    assert_eq!(
        t[1].availability.restock_date.as_deref(),
        Some("2027-01-15")
    );
}
