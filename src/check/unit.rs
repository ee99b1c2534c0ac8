//! Checker behaviour on small policies (parsed with the real parser).

use super::*;
use crate::model::{Action, Amount, ByLocation, ChannelRef, Percent, Round, Selector};

const HEAD: &str = "policy \"p\"\nseller \"A1PP0FEH11RW77\"\n";

fn run(body: &str) -> Checked {
    let src = format!("{HEAD}{body}");
    let c = check_source(&src);
    assert_eq!(c.policy.is_some(), c.errors() == 0);
    c
}

fn codes(c: &Checked) -> Vec<&'static str> {
    c.diagnostics.iter().map(|d| d.code).collect()
}

#[test]
fn lowers_the_sketch_rules() {
    let c = run(r#"marketplaces US, CA, MX
location newark supply_source "S1"
location austin supply_source "S2"
location toronto
on_missing zero
rule "yoga" {
  match   sku "YOGA-*"
  stock   from newark, austin
  buffer  10%
  round   nearest
  threshold 2
  cap     10
  publish US as "{sku}-US" share 60%, CA as "{sku}-CA" share 40%
}
rule "shoes" {
  match   sku "SHOE-*" and not tag "x"
  publish US by location { newark 60%, austin 40% }
  default_channel 0
  on_missing skip
}
rule "rest" {
  match any
  skip
}
test "t" {
  stock  "YOGA-1" newark 8, austin 9 reserved 1
  expect "YOGA-1-US" on US at newark = 4
  expect "YOGA-1-CA" on CA at DEFAULT = 4
  expect "X" on MX unpublished
}
"#);
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let p = c.policy.unwrap();
    assert_eq!(
        p.marketplaces
            .iter()
            .map(|m| m.code.as_str())
            .collect::<Vec<_>>(),
        ["US", "CA", "MX"]
    );
    assert_eq!(p.marketplaces[1].id, "A2EUQ1WTGCTBG2");
    assert_eq!(p.on_missing, crate::model::OnMissing::Zero);
    let Action::Publish(y) = &p.rules[0].action else {
        panic!()
    };
    assert_eq!(y.stock_from, Some(vec![0, 1]));
    assert_eq!(y.buffer, Some(Amount::Percent(Percent(1000))));
    assert_eq!(
        (y.round, y.threshold, y.cap, y.fixed),
        (Round::Nearest, Some(2), Some(10), None)
    );
    assert_eq!(y.on_missing, crate::model::OnMissing::Zero);
    assert_eq!(y.targets[0].share, Percent(6000));
    assert_eq!(y.targets[1].sku.render("Y-1", "CA").unwrap(), "Y-1-CA");
    let Action::Publish(s) = &p.rules[1].action else {
        panic!()
    };
    assert!(s.default_channel_zero);
    assert_eq!(s.on_missing, crate::model::OnMissing::Skip);
    assert_eq!(
        s.targets[0].by_location,
        Some(ByLocation::Split(vec![
            (0, Percent(6000)),
            (1, Percent(4000))
        ]))
    );
    assert!(matches!(&p.rules[1].selector, Selector::All(v) if v.len() == 2));
    assert_eq!(p.rules[2].action, Action::Skip);
    let t = &p.tests[0];
    assert_eq!(t.stock[0].entries, vec![(0, 8, 0), (1, 9, 1)]);
    assert_eq!(t.expects[0].channel, Some(ChannelRef::Location(0)));
    assert_eq!(t.expects[1].channel, Some(ChannelRef::Default));
    assert_eq!(t.expects[2].quantity, None);
}

#[test]
fn equal_shares_on_one_shared_sku_are_fine() {
    let c = run(
        "marketplaces UK, DE, FR\nrule \"r\" {\n  match any\n  share 50%\n  publish UK, DE, FR\n}\n",
    );
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let c = run(
        "marketplaces UK, DE\nrule \"r\" {\n  match any\n  publish UK share 50%, DE share 50%\n}\n",
    );
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
}

#[test]
fn different_regions_never_share_a_sku() {
    // US and UK: same rendered SKU, different regions: two offers, 100% + 0%.
    let c = run("marketplaces US, UK\nrule \"r\" {\n  match any\n  publish US, UK share 0%\n}\n");
    assert_eq!(codes(&c), ["allot::mixed-regions"]);
}

#[test]
fn marketplace_placeholder_makes_skus_distinct() {
    let c = run(
        "marketplaces UK, DE\nrule \"r\" {\n  match any\n  publish UK as \"{sku}-{marketplace}\" share 30%, DE as \"{sku}-{marketplace}\" share 70%\n}\n",
    );
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
}

#[test]
fn seller_skus_from_inventory_columns_lower_and_compare_by_column() {
    let c = run(
        "marketplaces UK, DE\nrule \"r\" {\n  match any\n  publish UK as \"{column:sku_uk}\", DE as \"{column:sku_de}-{marketplace}\" share 40%\n}\n",
    );
    // Different columns: separate offers (the oversell warning), never a shared-SKU error.
    assert_eq!(codes(&c), ["allot::oversell"]);
    let p = c.policy.unwrap();
    let Action::Publish(r) = &p.rules[0].action else {
        panic!()
    };
    assert_eq!(r.targets[0].sku.columns().collect::<Vec<_>>(), ["sku_uk"]);
    assert_eq!(
        r.targets[1]
            .sku
            .render_with("SKU123", "DE", |c| (c == "sku_de").then_some("OLD-7781")),
        Ok("OLD-7781-DE".to_string())
    );
    // One column on two marketplaces of a region is one seller SKU: one quantity.
    let c = run(
        "marketplaces UK, DE\nrule \"r\" {\n  match any\n  publish UK as \"{column:amazon_sku}\", DE as \"{column:amazon_sku}\" share 40%\n}\n",
    );
    assert_eq!(codes(&c), ["allot::unified-conflict"]);
    let c = run(
        "marketplaces UK, DE\nrule \"r\" {\n  match any\n  publish UK as \"{column:amazon_sku}\", DE as \"{column:amazon_sku}\"\n}\n",
    );
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
}

#[test]
fn an_unknown_placeholder_naming_a_sku_column_points_to_the_column_form() {
    let c =
        run("marketplaces UK\nrule \"r\" {\n  match any\n  publish UK as \"{amazon_sku}\"\n}\n");
    assert_eq!(codes(&c), ["allot::bad-template"]);
    let help = c.diagnostics[0].help.as_deref().unwrap_or("");
    assert!(help.contains("write \"{column:amazon_sku}\""), "{help}");
}

#[test]
fn by_location_difference_is_a_unified_conflict() {
    let c = run(
        "marketplaces US, CA\nlocation n supply_source \"S\"\nrule \"r\" {\n  match any\n  publish US by location, CA\n  default_channel 0\n}\n",
    );
    assert_eq!(codes(&c), ["allot::unified-conflict"]);
}

#[test]
fn guarantee_turns_oversell_into_an_error() {
    let body = "marketplaces US, CA\nrule \"r\" {\n  match any\n  publish US as \"{sku}-US\" share 70%, CA as \"{sku}-CA\" share 40%\n}\n";
    let c = run(body);
    assert_eq!(codes(&c), ["allot::oversell"]);
    assert!(!c.diagnostics[0].is_error());
    let c = run(&format!("guarantee no_oversell\n{body}"));
    assert_eq!(codes(&c), ["allot::oversell"]);
    assert!(c.diagnostics[0].is_error());
    assert!(c.policy.is_none());
    // Exclusive shares that add up to 100% do not warn.
    let c = run(
        "marketplaces US, CA\nrule \"r\" {\n  match any\n  publish US as \"{sku}-US\" share 60%, CA as \"{sku}-CA\" share 40%\n}\n",
    );
    assert!(c.diagnostics.is_empty());
}

#[test]
fn names_get_did_you_mean() {
    let c = run(
        "marketplaces US, CAN\nlocation newark\nrule \"r\" {\n  match any\n  stock from newrak\n  round dwn\n  publish US\n}\n",
    );
    assert_eq!(
        codes(&c),
        [
            "allot::unknown-marketplace",
            "allot::unknown-location",
            "allot::unknown-value"
        ]
    );
    let helps: Vec<&str> = c
        .diagnostics
        .iter()
        .map(|d| d.help.as_deref().unwrap())
        .collect();
    assert!(helps[0].contains("did you mean `CA`?"), "{}", helps[0]);
    assert!(helps[1].contains("did you mean `newark`?"));
    assert!(helps[2].contains("did you mean `down`?"));
}

#[test]
fn type_hints() {
    let c =
        run("marketplaces US\nrule \"r\" {\n  match any\n  cap 50%\n  publish US share 50\n}\n");
    let helps: Vec<&str> = c
        .diagnostics
        .iter()
        .map(|d| d.help.as_deref().unwrap())
        .collect();
    assert_eq!(helps[0], "cap takes units; did you mean `share 50%`?");
    assert_eq!(helps[1], "did you mean `50%`?");
}

#[test]
fn gb_is_uk_under_the_code_as_written() {
    let c = run(
        "marketplaces GB, DE\nrule \"r\" {\n  match any\n  publish GB as \"{sku}-{marketplace}\", DE as \"{sku}-{marketplace}\"\n}\n",
    );
    assert_eq!(codes(&c), ["allot::marketplace-alias", "allot::oversell"]);
    let d = &c.diagnostics[0];
    assert!(!d.is_error());
    assert_eq!(
        d.message,
        "`GB` is Amazon's United Kingdom marketplace (A1F83G8C2ARO7P), whose code is UK; `{marketplace}` renders `GB` here, as written"
    );
    assert_eq!(
        d.help.as_deref(),
        Some("write `UK` to use Amazon's code; keep `GB` if your seller SKUs end in GB")
    );
    let p = c.policy.unwrap();
    let gb = &p.marketplaces[0];
    assert_eq!((gb.code.as_str(), gb.id.as_str()), ("GB", "A1F83G8C2ARO7P"));
    assert_eq!(gb.region, Region::EU);
    let Action::Publish(publish) = &p.rules[0].action else {
        panic!("publishes")
    };
    assert_eq!(
        publish.targets[0].sku.render("MUG-1", &gb.code).unwrap(),
        "MUG-1-GB"
    );
}

#[test]
fn gb_and_uk_on_one_line_are_one_marketplace_twice() {
    let c = run("marketplaces UK, GB\nrule \"r\" {\n  match any\n  publish UK\n}\n");
    assert_eq!(codes(&c), ["allot::duplicate"]);
    let d = &c.diagnostics[0];
    assert!(d.message.contains("`UK` and `GB`"), "{}", d.message);
    assert_eq!(d.labels.len(), 2);
}

#[test]
fn the_other_code_of_a_listed_marketplace_is_not_listed() {
    let c = run("marketplaces GB\nrule \"r\" {\n  match any\n  publish UK\n}\n");
    assert_eq!(
        codes(&c),
        ["allot::marketplace-alias", "allot::marketplace-not-listed"]
    );
    assert!(
        c.diagnostics[1]
            .help
            .as_deref()
            .unwrap()
            .starts_with("write `GB` here too")
    );
}

#[test]
fn seller_that_is_a_marketplace_id_is_refused() {
    let c = check_source(
        "policy \"p\"\nseller \"ATVPDKIKX0DER\"\nmarketplaces US\nrule \"r\" {\n  match any\n  publish US\n}\n",
    );
    assert_eq!(codes(&c), ["allot::seller-is-marketplace"]);
    let d = &c.diagnostics[0];
    assert!(d.is_error());
    assert_eq!(
        d.message,
        "ATVPDKIKX0DER is the marketplace ID of US (United States), not a seller ID"
    );
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .contains("Settings → Account Info → Merchant Token")
    );
    let span = d.primary_span();
    assert_eq!(span.end - span.start, "\"ATVPDKIKX0DER\"".len());
    // A custom marketplace's ID, declared after the seller line.
    let c = check_source(
        "policy \"p\"\nseller \"AEXAMPLE01\"\nmarketplace XX id \"AEXAMPLE01\" region FE\nmarketplaces XX\nrule \"r\" {\n  match any\n  publish XX\n}\n",
    );
    assert_eq!(codes(&c), ["allot::seller-is-marketplace"]);
    assert!(
        c.diagnostics[0]
            .message
            .contains("of XX (declared in this file)")
    );
}

#[test]
fn unknown_marketplace_helps_with_countries_regions_and_case() {
    for (code, help) in [
        (
            "AT",
            "Austria has no Amazon marketplace of its own: Austrian buyers shop on amazon.de; publish to DE",
        ),
        ("CH", "Swiss buyers shop on amazon.de; publish to DE"),
        (
            "EU",
            "`EU` is a region, not a marketplace: its marketplaces are IE, ES, UK, FR",
        ),
        ("us", "marketplace codes are upper case: did you mean `US`?"),
    ] {
        let c = run(&format!(
            "marketplaces DE, {code}\nrule \"r\" {{\n  match any\n  publish DE\n}}\n"
        ));
        assert_eq!(codes(&c), ["allot::unknown-marketplace"], "{code}");
        let got = c.diagnostics[0].help.as_deref().unwrap();
        assert!(got.contains(help), "{code}: {got}");
    }
    // A target too.
    let c = run("marketplaces DE\nrule \"r\" {\n  match any\n  publish AT\n}\n");
    assert_eq!(codes(&c), ["allot::unknown-marketplace"]);
    assert!(
        c.diagnostics[0]
            .help
            .as_deref()
            .unwrap()
            .contains("publish to DE")
    );
}

#[test]
fn amazons_must_rules_are_errors() {
    let two = run(
        "marketplaces US\nlocation n supply_source \"S\"\nrule \"r\" {\n  match any\n  publish US by location\n}\n",
    );
    assert_eq!(codes(&two), ["allot::two-offers"]);
    assert!(two.diagnostics[0].is_error());
    assert!(
        two.diagnostics[0]
            .help
            .as_deref()
            .unwrap()
            .starts_with("add the line `default_channel 0` to rule \"r\"")
    );
    let mli = run(
        "marketplaces US, CA\nlocation n supply_source \"S\"\nrule \"r\" {\n  match any\n  publish CA by location\n  default_channel 0\n}\n",
    );
    assert_eq!(codes(&mli), ["allot::mli-outside-us"]);
    assert!(mli.diagnostics[0].is_error());
    let mixed = run("marketplaces US, UK\nrule \"r\" {\n  match any\n  publish US\n}\n");
    assert_eq!(codes(&mixed), ["allot::mixed-regions"]);
    assert!(mixed.diagnostics[0].is_error());
}

#[test]
fn custom_marketplace_resolves() {
    let c = run(
        "marketplace XX id \"AEXAMPLE\" region FE\nmarketplaces JP, XX\nrule \"r\" {\n  match any\n  publish JP, XX\n}\n",
    );
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let p = c.policy.unwrap();
    assert_eq!(p.marketplaces[1].id, "AEXAMPLE");
    assert!(!p.marketplaces[1].builtin);
}

#[test]
fn every_finding_is_reported_not_just_the_first() {
    let c = check_source("rule \"a\" {\n  cap 5%\n}\nrule \"a\" {\n  match any\n  skip\n}\n");
    let cs = codes(&c);
    for want in [
        "allot::missing-policy",
        "allot::missing-seller",
        "allot::missing-marketplaces",
        "allot::missing-match",
        "allot::missing-publish",
        "allot::type-mismatch",
        "allot::duplicate",
    ] {
        assert!(cs.contains(&want), "{want} missing from {cs:?}");
    }
}

#[test]
fn load_reports_io_errors_clearly() {
    let e = load(Path::new("/nonexistent/p.allot")).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    assert!(e.to_string().contains("/nonexistent/p.allot"));
}

#[test]
fn rounding_oversell_is_exact() {
    use super::amazon_rules::rounding_excess;
    let p = |v: &[u32]| v.iter().map(|&x| Percent(x)).collect::<Vec<_>>();
    assert_eq!(rounding_excess(&p(&[5000, 5000]), Round::Up), Some((1, 2)));
    assert_eq!(
        rounding_excess(&p(&[5000, 5000]), Round::Nearest),
        Some((1, 2))
    );
    assert_eq!(rounding_excess(&p(&[6000, 4000]), Round::Nearest), None);
    assert_eq!(rounding_excess(&p(&[6000, 4000]), Round::Up), Some((1, 2)));
    assert_eq!(rounding_excess(&p(&[5000, 5000]), Round::Down), None);
    assert_eq!(rounding_excess(&p(&[10000, 0]), Round::Up), None);
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// Every keyword of the language (the parser's table, so a new one is fuzzed too) and
    /// the values and punctuation between them.
    fn words() -> Vec<&'static str> {
        const OTHERS: &[&str] = &[
            "no_oversell",
            "up",
            "\"2027-01-15\"",
            "US",
            "CA",
            "UK",
            "DE",
            "XX",
            "EU",
            "newark",
            "austin",
            "0",
            "1",
            "10",
            "0%",
            "50%",
            "100%",
            "150%",
            "12.5%",
            "\"{sku}-US\"",
            "\"{sku}\"",
            "\"X\"",
            "\"\"",
            "\"A-*\"",
            "{",
            "}",
            ",",
            "=",
            "(",
            ")",
            "\n",
            "\n",
        ];
        crate::syntax::KEYWORDS
            .iter()
            .chain(OTHERS)
            .copied()
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Whatever the input, checking never panics, and a policy comes back iff no error.
        #[test]
        fn never_panics(picked in proptest::collection::vec(proptest::sample::select(words()), 0..80)) {
            let src: String = picked.join(" ");
            let c = check_source(&src);
            prop_assert_eq!(c.policy.is_some(), c.errors() == 0);
        }

        /// Valid-shaped policies with random shares: never panics, every finding has a code
        /// and a primary label inside the text.
        #[test]
        fn shares_and_targets(shares in proptest::collection::vec(0u32..=12_000, 1..4),
                              own in proptest::collection::vec(any::<bool>(), 1..4),
                              round in 0usize..3) {
            let codes = ["UK", "DE", "FR"];
            let targets: Vec<String> = shares.iter().zip(&own).zip(codes).map(|((s, o), c)| {
                let template = if *o { format!(" as \"{{sku}}_{c}\"") } else { String::new() };
                format!("{c}{template} share {}", Percent(*s))
            }).collect();
            let src = format!(
                "policy \"p\"\nseller \"S\"\nmarketplaces UK, DE, FR\nrule \"r\" {{\n  match any\n  round {}\n  publish {}\n}}\n",
                ["down", "up", "nearest"][round], targets.join(", "));
            let c = check_source(&src);
            prop_assert_eq!(c.policy.is_some(), c.errors() == 0);
            for d in &c.diagnostics {
                prop_assert!(d.labels.iter().any(|l| l.primary));
                prop_assert!(d.primary_span().end <= src.len());
                prop_assert!(d.help.is_some(), "{} has no help", d.code);
            }
        }
    }
}

#[test]
fn fixed_quantity_ignores_shares_on_a_shared_sku() {
    let c = run(
        "marketplaces UK, DE\nrule \"r\" {\n  match any\n  quantity 0\n  publish UK share 20%, DE share 30%\n}\n",
    );
    assert_eq!(
        codes(&c),
        ["allot::ignored-statement", "allot::ignored-statement"]
    );
    assert!(c.policy.is_some());
}

#[test]
fn custom_marketplace_cannot_reuse_an_id() {
    let c = run(
        "marketplace XX id \"A1F83G8C2ARO7P\" region EU\nmarketplace YY id \"AX\" region EU\nmarketplace ZZ id \"AX\" region EU\nmarketplaces UK\nrule \"r\" {\n  match any\n  publish UK\n}\n",
    );
    assert_eq!(codes(&c), ["allot::duplicate", "allot::duplicate"]);
    assert!(c.diagnostics[0].message.contains("built-in `UK`"));
}

#[test]
fn on_fba_lowers_per_rule_and_refuses_a_value_that_writes() {
    let c = run(
        "marketplaces US\non_fba error\nrule \"own\" {\n  match sku \"A\"\n  on_fba skip\n  publish US\n}\nrule \"rest\" {\n  match any\n  publish US\n}\n",
    );
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let p = c.policy.unwrap();
    assert_eq!(p.on_fba, crate::model::OnFba::Error);
    let on_fba = |i: usize| match &p.rules[i].action {
        Action::Publish(x) => x.on_fba,
        Action::Skip => panic!("publishing rule"),
    };
    assert_eq!(
        (on_fba(0), on_fba(1)),
        (crate::model::OnFba::Skip, crate::model::OnFba::Error)
    );
    // The default is `skip`.
    let c = run("marketplaces US\nrule \"r\" {\n  match any\n  publish US\n}\n");
    assert_eq!(c.policy.unwrap().on_fba, crate::model::OnFba::Skip);

    let c = run("marketplaces US\non_fba write\nrule \"r\" {\n  match any\n  publish US\n}\n");
    assert_eq!(codes(&c), ["allot::unknown-value"]);
    let d = &c.diagnostics[0];
    assert_eq!(d.message, "unknown `on_fba` value `write`");
    let help = d.help.as_deref().unwrap_or_default();
    assert!(
        help.starts_with("`on_fba` takes `skip`, `error`; "),
        "{help}"
    );
    assert!(help.contains("second, merchant-fulfilled offer"), "{help}");
    let c = run("marketplaces US\nrule \"r\" {\n  match any\n  on_fba erorr\n  publish US\n}\n");
    assert!(
        c.diagnostics[0]
            .help
            .as_deref()
            .is_some_and(|h| h.starts_with("did you mean `error`?")),
        "{:#?}",
        c.diagnostics
    );
}

#[test]
fn on_fba_twice_or_in_a_skipping_rule_is_refused() {
    let c = run(
        "marketplaces US\non_fba skip\non_fba error\nrule \"r\" {\n  match any\n  on_fba skip\n  on_fba error\n  publish US\n}\n",
    );
    assert_eq!(codes(&c), ["allot::duplicate", "allot::duplicate"]);
    assert!(c.diagnostics[0].message.contains("policy-wide `on_fba`"));
    let c = run("marketplaces US\nrule \"r\" {\n  match any\n  on_fba error\n  skip\n}\n");
    assert_eq!(codes(&c), ["allot::conflicting-statements"]);
    assert_eq!(c.diagnostics[0].message, "`on_fba` in a rule that skips");
}

/// Issue 11 item 1 (seed 002): each marketplace's offer counts its own warehouse.
#[test]
fn a_target_has_its_own_stock_source_and_publish_lines_add_up() {
    let c = run(r#"marketplaces UK, DE, FR
location uk_wh
location de_wh
location fr_wh
location shared
rule "r" {
  match   any
  stock   from shared
  publish UK as "{sku}_UK" from uk_wh and shared
  publish DE as "{sku}_DE" from de_wh, FR as "{sku}_FR"
}
"#);
    let p = c.policy.as_ref().unwrap();
    let Action::Publish(r) = &p.rules[0].action else {
        panic!()
    };
    let from: Vec<_> = r.targets.iter().map(|t| t.stock_from.clone()).collect();
    assert_eq!(from, [Some(vec![0, 3]), Some(vec![1]), None]);
    assert_eq!(r.stock_from, Some(vec![3]));
    // UK and FR both count `shared`: 200% of it can be offered, so they oversell; DE does not
    // meet either, and the warning names UK and FR only.
    assert_eq!(codes(&c), ["allot::oversell"]);
    let d = &c.diagnostics[0];
    let labels: Vec<&str> = d.labels.iter().map(|l| l.text.as_str()).collect();
    assert!(labels.iter().any(|l| l.contains("on UK")), "{labels:?}");
    assert!(labels.iter().any(|l| l.contains("on FR")), "{labels:?}");
    assert!(!labels.iter().any(|l| l.contains("on DE")), "{labels:?}");
    // Disjoint warehouses: nothing to report.
    let c = run(r#"marketplaces UK, DE
location uk_wh
location de_wh
rule "r" {
  match   any
  publish UK as "{sku}_UK" from uk_wh
  publish DE as "{sku}_DE" from de_wh
}
"#);
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
}

#[test]
fn one_seller_sku_from_two_stock_sources_is_a_unified_conflict() {
    // One shared seller SKU, two pools: two quantities for one offer.
    let c = run(r#"marketplaces UK, DE
location uk_wh
location de_wh
rule "r" {
  match   any
  publish UK from uk_wh, DE from de_wh
}
"#);
    assert_eq!(codes(&c), ["allot::unified-conflict"]);
    assert!(
        c.diagnostics[0].message.contains("from de_wh"),
        "{}",
        c.diagnostics[0].message
    );
}

#[test]
fn a_from_list_names_declared_locations_once() {
    let c = run(
        "marketplaces UK\nlocation uk_wh\nrule \"r\" {\n  match any\n  publish UK from uk_wj\n}\n",
    );
    assert_eq!(codes(&c), ["allot::unknown-location"]);
    let c = run(
        "marketplaces UK\nlocation uk_wh\nrule \"r\" {\n  match any\n  publish UK from uk_wh and uk_wh\n}\n",
    );
    assert_eq!(codes(&c), ["allot::duplicate"]);
    // `from` twice on one target, and `stock from` written inside a target, are syntax
    // errors whose help shows the right form.
    let c = check_source(&format!(
        "{HEAD}marketplaces UK\nlocation a\nrule \"r\" {{\n  match any\n  publish UK from a from a\n}}\n"
    ));
    assert_eq!(codes(&c), ["allot::syntax"]);
    let c = check_source(&format!(
        "{HEAD}marketplaces UK\nlocation uk_wh\nrule \"r\" {{\n  match any\n  publish UK as \"{{sku}}_UK\" stock from uk_wh\n}}\n"
    ));
    assert_eq!(codes(&c), ["allot::syntax"]);
    let help = c.diagnostics[0].help.as_deref().unwrap_or("");
    assert!(help.contains("written `from`, without `stock`"), "{help}");
}

#[test]
fn one_rule_per_marketplace_is_shadowed_and_the_help_merges_them() {
    let c = run(r#"marketplaces UK, DE
location uk_wh
location de_wh
rule "uk" {
  match   any
  stock   from uk_wh
  publish UK as "{sku}_UK"
}
rule "de" {
  match   any
  stock   from de_wh
  publish DE as "{sku}_DE"
}
"#);
    assert_eq!(codes(&c), ["allot::shadowed-rule"]);
    let help = c.diagnostics[0].help.as_deref().unwrap_or("");
    assert!(
        help.contains(
            "`publish UK as \"{sku}_UK\" from uk_wh` and `publish DE as \"{sku}_DE\" from de_wh`"
        ),
        "{help}"
    );
    assert!(!help.contains("move \"de\" above"), "{help}");
    // Same marketplace twice: moving or narrowing is the advice, as before.
    let c = run(
        "marketplaces UK\nrule \"a\" {\n  match any\n  publish UK\n}\nrule \"b\" {\n  match any\n  publish UK\n}\n",
    );
    let help = c.diagnostics[0].help.as_deref().unwrap_or("");
    assert!(help.contains("move \"b\" above \"a\""), "{help}");
}

#[test]
fn quantity_once_lowers_to_an_initial_fixed_quantity() {
    let c = run(
        "marketplaces US\nrule \"singles\" {\n  match sku \"S-*\"\n  quantity 1 once\n  publish US\n}\nrule \"rest\" {\n  match any\n  quantity 3\n  publish US\n}\n",
    );
    // Still not tied to stock: the same warning as a plain `quantity`, naming `once`.
    assert_eq!(
        codes(&c),
        ["allot::fixed-quantity", "allot::fixed-quantity"]
    );
    assert!(c.diagnostics[0].message.contains("`quantity 1 once`"));
    let p = c.policy.unwrap();
    let fixed = |i: usize| match &p.rules[i].action {
        Action::Publish(x) => (x.fixed, x.fixed_once),
        Action::Skip => panic!("publishing rule"),
    };
    assert_eq!((fixed(0), fixed(1)), ((Some(1), true), (Some(3), false)));
}

#[test]
fn once_anywhere_else_is_a_syntax_error_saying_where_it_goes() {
    for line in [
        "cap 10 once",
        "quantity once",
        "publish US once",
        "quantity 1 once once",
    ] {
        let c = run(&format!(
            "marketplaces US\nrule \"r\" {{\n  match any\n  {line}\n  publish US\n}}\n"
        ));
        assert_eq!(codes(&c), ["allot::syntax"], "{line}");
        let help = c.diagnostics[0].help.as_deref().unwrap_or("");
        assert!(help.contains("`quantity 10 once`"), "{line}: {help}");
    }
}

#[test]
fn quantity_once_under_no_oversell_is_an_error() {
    let c = run(
        "marketplaces US\nguarantee no_oversell\nrule \"r\" {\n  match any\n  quantity 1 once\n  publish US\n}\n",
    );
    assert_eq!(codes(&c), ["allot::fixed-quantity"]);
    assert!(c.policy.is_none());
}

#[test]
fn ratios_split_one_pool_and_are_refused_where_they_cannot() {
    // A clean split: no oversell (the parts add up to the pool), no conflict.
    let c = run(
        "marketplaces UK, DE, FR\nrule \"r\" {\n  match any\n  publish UK as \"{sku}_UK\" ratio 1, DE as \"{sku}_DE\" ratio 2, FR as \"{sku}_FR\" ratio 3\n}\n",
    );
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let p = c.policy.unwrap();
    let Action::Publish(r) = &p.rules[0].action else {
        panic!()
    };
    assert_eq!(
        r.targets[2].ratio,
        Some(crate::model::RatioPart {
            weights: vec![1, 2, 3],
            index: 2
        })
    );
    // Share and ratio on one target; a target of the pool without a ratio; all weights 0;
    // a percent as a ratio; a ratio on a shared seller SKU.
    for (body, code) in [
        (
            "publish UK as \"{sku}_UK\" share 50% ratio 1, DE as \"{sku}_DE\" ratio 1",
            "allot::conflicting-statements",
        ),
        (
            "publish UK as \"{sku}_UK\" ratio 1, DE as \"{sku}_DE\"",
            "allot::conflicting-statements",
        ),
        (
            "publish UK as \"{sku}_UK\" ratio 0, DE as \"{sku}_DE\" ratio 0",
            "allot::percent-range",
        ),
        (
            "publish UK as \"{sku}_UK\" ratio 50%, DE as \"{sku}_DE\" ratio 1",
            "allot::type-mismatch",
        ),
        ("publish UK ratio 1, DE ratio 2", "allot::unified-conflict"),
    ] {
        let c = run(&format!(
            "marketplaces UK, DE\nrule \"r\" {{\n  match any\n  {body}\n}}\n"
        ));
        assert!(codes(&c).contains(&code), "{body}: {:#?}", c.diagnostics);
    }
    // Different pools split on their own: UK alone in uk_wh, DE and FR by 1:1 in the rest.
    let c = run(
        "marketplaces UK, DE, FR\nlocation uk_wh\nlocation eu_wh\nrule \"r\" {\n  match any\n  publish UK as \"{sku}_UK\" from uk_wh\n  publish DE as \"{sku}_DE\" from eu_wh ratio 1, FR as \"{sku}_FR\" from eu_wh ratio 1\n}\n",
    );
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
}

#[test]
fn the_inventory_line_sets_its_options_once_each() {
    let body = "marketplaces US\nrule \"r\" {\n  match any\n  publish US\n}\n";
    let c = run(body);
    assert_eq!(
        c.policy.unwrap().inventory,
        crate::model::InventoryOptions::default()
    );
    let c = run(&format!("inventory negative_as_zero\n{body}"));
    let o = c.policy.unwrap().inventory;
    assert!(o.negative_as_zero && !o.ignore_unknown_locations);
    let c = run(&format!(
        "inventory ignore_unknown_locations, negative_as_zero\n{body}"
    ));
    let o = c.policy.unwrap().inventory;
    assert!(o.negative_as_zero && o.ignore_unknown_locations);
    let c = run(&format!("inventory ignore_unknown_location\n{body}"));
    assert_eq!(codes(&c), ["allot::unknown-value"]);
    assert_eq!(
        c.diagnostics[0].help.as_deref(),
        Some(
            "did you mean `ignore_unknown_locations`? `inventory` takes `negative_as_zero`, `ignore_unknown_locations`"
        )
    );
    let c = run(&format!(
        "inventory negative_as_zero, negative_as_zero\ninventory negative_as_zero\n{body}"
    ));
    assert_eq!(codes(&c), ["allot::duplicate", "allot::duplicate"]);
}

#[test]
fn several_offers_in_one_marketplace_and_packs() {
    let body = |publish: &str| {
        format!("marketplaces UK, DE\nrule \"r\" {{\n  match any\n  {publish}\n}}\n")
    };
    // The single and the 6-pack share one pool: 200% of it, an oversell warning.
    let only_us =
        |publish: &str| format!("marketplaces US\nrule \"r\" {{\n  match any\n  {publish}\n}}\n");
    let c = run(&only_us("publish US, US as \"{sku}-6PK\" pack 6"));
    assert_eq!(codes(&c), ["allot::oversell"]);
    let c = run(&only_us(
        "publish US share 50%, US as \"{sku}-6PK\" pack 6 share 50%",
    ));
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let p = c.policy.unwrap();
    let Action::Publish(r) = &p.rules[0].action else {
        panic!()
    };
    assert_eq!(r.targets[1].pack, Some(6));
    // One seller SKU twice in one marketplace is one offer written twice.
    let c = run(&only_us("publish US, US"));
    assert_eq!(codes(&c), ["allot::duplicate"]);
    for (publish, code) in [
        ("publish US as \"{sku}-6PK\" pack 0", "allot::type-mismatch"),
        (
            "publish US as \"{sku}-6PK\" pack 50%",
            "allot::type-mismatch",
        ),
    ] {
        let c = run(&only_us(publish));
        assert_eq!(codes(&c), [code], "{publish}");
    }
    // One shared seller SKU in packs of 6 on UK and singles on DE: two quantities.
    let c = run(&body("publish UK pack 6, DE"));
    assert!(
        codes(&c).contains(&"allot::unified-conflict"),
        "{:#?}",
        c.diagnostics
    );
}

#[test]
fn limits_from_columns_lower_and_count_as_their_statement() {
    let c = run(
        "marketplaces US\nrule \"r\" {\n  match any\n  cap column \"max_qty\"\n  buffer column \"safety\"\n  publish US\n}\n",
    );
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let p = c.policy.unwrap();
    let Action::Publish(r) = &p.rules[0].action else {
        panic!()
    };
    assert_eq!(r.columns.cap.as_deref(), Some("max_qty"));
    assert_eq!(r.columns.buffer.as_deref(), Some("safety"));
    assert_eq!(r.cap, None);
    // `cap 10` and `cap column "x"` in one rule: one cap given twice.
    let c = run(
        "marketplaces US\nrule \"r\" {\n  match any\n  cap 10\n  cap column \"max_qty\"\n  publish US\n}\n",
    );
    assert_eq!(codes(&c), ["allot::duplicate"]);
    let c = run("marketplaces US\nrule \"r\" {\n  match any\n  cap column \"\"\n  publish US\n}\n");
    assert_eq!(codes(&c), ["allot::empty-value"]);
}

/// Issue 11 item 3: kits (bundles) of other inventory SKUs.
#[test]
fn kits_lower_and_their_components_are_checked_for_oversell() {
    let kit = "kit \"GIFT-1\" contains \"MUG-1\" 2, \"CANDLE-1\" 1\n";
    let rules = "rule \"gifts\" {\n  match sku \"GIFT-*\"\n  publish US\n}\nrule \"mugs\" {\n  match sku \"MUG-*\"\n  publish US\n}\n";
    let c = run(&format!("marketplaces US\n{kit}{rules}"));
    // The kit and the mugs rule both sell MUG-1's units: 100% + 100%.
    assert_eq!(codes(&c), ["allot::oversell"]);
    assert!(
        c.diagnostics[0]
            .message
            .contains("kit \"GIFT-1\" takes 2 units of `MUG-1`"),
        "{}",
        c.diagnostics[0].message
    );
    let p = c.policy.unwrap();
    assert_eq!(
        p.kits[0].parts,
        [("MUG-1".to_string(), 2), ("CANDLE-1".to_string(), 1)]
    );
    // Shares that add up to 100%: clean.
    let shared = rules
        .replace(
            "  publish US\n}\nrule \"mugs\"",
            "  share 50%\n  publish US\n}\nrule \"mugs\"",
        )
        .replace(
            "match sku \"MUG-*\"\n  publish US",
            "match sku \"MUG-*\"\n  share 50%\n  publish US",
        );
    let c = run(&format!("marketplaces US\n{kit}{shared}"));
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    // Itself, twice, 0 units, a kit in a kit.
    for (line, code) in [
        (
            "kit \"K\" contains \"K\" 1\n",
            "allot::conflicting-statements",
        ),
        ("kit \"K\" contains \"A\" 1, \"A\" 2\n", "allot::duplicate"),
        ("kit \"K\" contains \"A\" 0\n", "allot::type-mismatch"),
        (
            "kit \"K\" contains \"A\" 1\nkit \"L\" contains \"K\" 1\n",
            "allot::conflicting-statements",
        ),
        (
            "kit \"K\" contains \"A\" 1\nkit \"K\" contains \"B\" 1\n",
            "allot::duplicate",
        ),
    ] {
        let c = run(&format!(
            "marketplaces US\n{line}rule \"r\" {{\n  match any\n  skip\n}}\n"
        ));
        assert!(codes(&c).contains(&code), "{line}: {:#?}", c.diagnostics);
    }
}

fn availability_of(c: &Checked) -> Vec<crate::model::Availability> {
    let p = c.policy.as_ref().unwrap();
    let Action::Publish(x) = &p.rules[0].action else {
        panic!()
    };
    x.targets.iter().map(|t| t.availability.clone()).collect()
}

#[test]
fn handling_time_and_restock_date_lower_per_target_over_the_rule() {
    let c = run(r#"marketplaces US, CA, MX
rule "r" {
  match any
  cap 10
  handling_time 2
  restock_date "2027-01-15"
  publish US as "{sku}-US", CA as "{sku}-CA" handling_time 5, MX as "{sku}-MX" restock_date "2028-02-29" handling_time 0
}
"#);
    // Three offers on one pool: the oversell help's example keeps each target's own options.
    let help = c.diagnostics[0].help.clone().unwrap_or_default();
    assert!(
        help.contains("CA as \"{sku}-CA\" share 33.33% handling_time 5, MX as \"{sku}-MX\" share 33.33% handling_time 0 restock_date \"2028-02-29\""),
        "{help}"
    );
    let c = Checked {
        diagnostics: c
            .diagnostics
            .into_iter()
            .filter(|d| d.code != "allot::oversell")
            .collect(),
        ..c
    };
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let a = availability_of(&c);
    let pair =
        |a: &crate::model::Availability| (a.lead_time_to_ship_max_days, a.restock_date.clone());
    assert_eq!(pair(&a[0]), (Some(2), Some("2027-01-15".into())));
    assert_eq!(pair(&a[1]), (Some(5), Some("2027-01-15".into())));
    assert_eq!(pair(&a[2]), (Some(0), Some("2028-02-29".into())));
    // Neither written: nothing set.
    let c = run("marketplaces US\nrule \"r\" {\n  match any\n  publish US\n}\n");
    assert!(availability_of(&c)[0].is_empty());
}

#[test]
fn handling_time_is_whole_days_up_to_amazons_30() {
    let body = |v: &str| {
        format!(
            "marketplaces US\nrule \"r\" {{\n  match any\n  handling_time {v}\n  publish US\n}}\n"
        )
    };
    let c = run(&body("30"));
    assert_eq!(availability_of(&c)[0].lead_time_to_ship_max_days, Some(30));
    let c = run(&body("31"));
    assert_eq!(codes(&c), ["allot::percent-range"]);
    let d = &c.diagnostics[0];
    assert_eq!(
        d.message,
        "`handling_time 31` is above Amazon's maximum of 30 days"
    );
    assert!(d.help.as_deref().unwrap().contains("0 to 30 days"));
    let c = run(&body("99999999999"));
    assert_eq!(codes(&c), ["allot::percent-range"]);
    let c = run(&body("2%"));
    assert_eq!(codes(&c), ["allot::type-mismatch"]);
    assert_eq!(
        c.diagnostics[0].help.as_deref(),
        Some(
            "did you mean `handling_time 2`? A handling time is the days between an order and its dispatch, 0 to 30: `handling_time 2`"
        )
    );
    let c = run(&body("2.5%"));
    assert_eq!(codes(&c), ["allot::type-mismatch"]);
    assert!(
        c.diagnostics[0]
            .help
            .as_deref()
            .unwrap()
            .starts_with("a handling time")
    );
    // On a target too.
    let c = run("marketplaces US\nrule \"r\" {\n  match any\n  publish US handling_time 45\n}\n");
    assert_eq!(codes(&c), ["allot::percent-range"]);
}

#[test]
fn restock_date_is_a_real_calendar_day() {
    let body = |v: &str| {
        format!(
            "marketplaces US\nrule \"r\" {{\n  match any\n  restock_date \"{v}\"\n  publish US\n}}\n"
        )
    };
    for ok in ["2027-01-15", "2028-02-29", "2000-02-29", "2027-12-31"] {
        let c = run(&body(ok));
        assert_eq!(availability_of(&c)[0].restock_date.as_deref(), Some(ok));
    }
    for bad in [
        "2027-1-15",
        "15/01/2027",
        "2027-13-01",
        "2027-02-29",
        "1900-02-29",
        "2027-04-31",
        "2027-01-00",
        "",
        "2027-01-15T00:00:00Z",
        "0000-01-01",
    ] {
        let c = run(&body(bad));
        assert_eq!(codes(&c), ["allot::type-mismatch"], "{bad}");
        let d = &c.diagnostics[0];
        assert!(
            d.message
                .starts_with("`restock_date` takes a date written YYYY-MM-DD"),
            "{}",
            d.message
        );
        assert!(
            d.help
                .as_deref()
                .unwrap()
                .contains("`restock_date \"2027-01-15\"`")
        );
        // Located at the string.
        let src = format!("{HEAD}{}", body(bad));
        let at = d.labels[0].span;
        assert_eq!(&src[at.start..at.end], format!("\"{bad}\""));
    }
    let c =
        run("marketplaces US\nrule \"r\" {\n  match any\n  publish US restock_date \"soon\"\n}\n");
    assert_eq!(codes(&c), ["allot::type-mismatch"]);
}

#[test]
fn handling_time_is_once_per_rule_and_not_in_a_skipping_rule() {
    let c = run(
        "marketplaces US\nrule \"r\" {\n  match any\n  handling_time 2\n  handling_time 3\n  restock_date \"2027-01-15\"\n  restock_date \"2027-01-16\"\n  publish US\n}\n",
    );
    assert_eq!(codes(&c), ["allot::duplicate", "allot::duplicate"]);
    let c = run("marketplaces US\nrule \"r\" {\n  match any\n  handling_time 2\n  skip\n}\n");
    assert_eq!(codes(&c), ["allot::conflicting-statements"]);
}

#[test]
fn one_shared_seller_sku_with_two_handling_times_is_a_unified_conflict() {
    let c = run(
        "marketplaces US, CA\nrule \"r\" {\n  match any\n  handling_time 2\n  publish US, CA handling_time 4\n}\n",
    );
    assert_eq!(codes(&c), ["allot::unified-conflict"]);
    let d = &c.diagnostics[0];
    assert!(
        d.message
            .contains("different handling times or restock dates in US and CA"),
        "{}",
        d.message
    );
    let help = d.help.as_deref().unwrap();
    assert!(
        help.contains("CA as \"{sku}_CA\" share 100% handling_time 4"),
        "{help}"
    );
    // The same values everywhere (the rule's): one offer, fine.
    let c = run(
        "marketplaces US, CA\nrule \"r\" {\n  match any\n  handling_time 2\n  publish US, CA handling_time 2\n}\n",
    );
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
}

#[test]
fn a_statement_without_its_value_says_how_it_is_written() {
    for (line, help) in [
        (
            "handling_time",
            "`handling_time` is written `handling_time 2` (days, 0 to 30)",
        ),
        (
            "restock_date 2027-01-15",
            "`restock_date` is written `restock_date \"2027-01-15\"`",
        ),
        ("cap", "`cap` is written `cap 10`"),
    ] {
        let c = run(&format!(
            "marketplaces US\nrule \"r\" {{\n  match any\n  {line}\n  publish US\n}}\n"
        ));
        assert_eq!(c.diagnostics[0].help.as_deref(), Some(help), "{line}");
    }
}
