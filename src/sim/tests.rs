//! The worked examples (peers' published behaviour) and the engine's rules, on hand-built
//! policies.

use super::testkit::*;
use super::*;
use crate::model::{
    Amount, ByLocation, ChangeKind, LocationIx, OnFba, OnMissing, Percent, Publish, Round, Selector,
};

/// Each offer's seller SKU and the quantity of its first channel, in preview order.
fn first_quantities(preview: &Preview) -> Vec<(String, u64)> {
    preview
        .changes
        .iter()
        .map(|c| (c.offer.seller_sku.clone(), c.offer.channels[0].quantity))
        .collect()
}

/// The offer of one seller SKU.
fn offer_of<'p>(preview: &'p Preview, seller_sku: &str) -> &'p OfferChange {
    preview
        .changes
        .iter()
        .find(|c| c.offer.seller_sku == seller_sku)
        .unwrap()
}

/// An offer's channels and their quantities.
fn channel_quantities(c: &OfferChange) -> Vec<(&str, u64)> {
    c.offer
        .channels
        .iter()
        .map(|c| (c.channel.as_str(), c.quantity))
        .collect()
}

/// A US policy of one rule `r` that matches every inventory SKU and publishes `p`.
fn us_policy(p: Publish) -> Policy {
    policy(&["US"], vec![rule("r", Selector::Any, p)])
}

/// [`us_policy`] with one target: all of the pool to the seller SKU `template`.
fn us_policy_as(template: &str) -> Policy {
    us_policy(Publish {
        targets: vec![target(0, template, 10_000)],
        ..publish()
    })
}

/// The preview of [`us_policy`] on these stock rows, no current listings.
fn run_us(p: Publish, rows: &[(&str, LocationIx, u64, u64)]) -> Preview {
    run(&us_policy(p), &stock(rows), None).unwrap()
}

/// Each (inventory SKU, quantity) on hand in newark, none reserved.
fn newark_stock(rows: &[(String, u64)]) -> Stock {
    let refs: Vec<(&str, LocationIx, u64, u64)> = rows
        .iter()
        .map(|(s, q)| (s.as_str(), NEWARK, *q, 0))
        .collect();
    stock(&refs)
}

/// Publish `p` with one US target `{sku}` (share `share`) for SKU "A" with `available` in newark.
fn qty(mut p: Publish, share: u32, available: u64) -> u64 {
    p.targets = vec![target(0, "{sku}", share)];
    let pol = us_policy(p);
    let st = stock(&[("A", NEWARK, available, 0)]);
    let pre = run(&pol, &st, None).expect("runs");
    assert_eq!(pre.changes.len(), 1);
    let ch = &pre.changes[0].offer.channels;
    assert_eq!(ch.len(), 1);
    assert_eq!(ch[0].channel, "DEFAULT");
    ch[0].quantity
}

/// The worked examples (docs/language.md, docs/inventory.md) and the other one-offer cases, as
/// one table: each row is a test named after it, `name: settings, share (basis points),
/// available => published;`, checked through [`qty`].
macro_rules! one_offer {
    ($($(#[$doc:meta])* $name:ident:
        $settings:expr, $share:expr, $available:expr => $published:expr;)*) => {
        $(
            $(#[$doc])*
            #[test]
            fn $name() {
                assert_eq!(qty($settings, $share, $available), $published);
            }
        )*
    };
}

one_offer! {
    worked_share_80_of_10_is_8: publish(), 8000, 10 => 8;
    worked_share_90_of_1_rounds_down_to_0: publish(), 9000, 1 => 0;
    worked_25_with_cap_5_is_5: Publish { cap: Some(5), ..publish() }, 10_000, 25 => 5;
    /// 6 × 50% = 3 under a threshold of 4 → 0.
    worked_threshold_strictly_below_is_zero:
        Publish { threshold: Some(4), ..publish() }, 5000, 6 => 0;
    /// Exactly 4 (8 × 50%) → 4.
    worked_threshold_equal_is_published:
        Publish { threshold: Some(4), ..publish() }, 5000, 8 => 4;
    worked_buffer_5_on_5_is_0:
        Publish { buffer: Some(Amount::Units(5)), ..publish() }, 10_000, 5 => 0;
    /// Never negative: a buffer above the pool is 0 too.
    worked_buffer_5_on_3_is_0:
        Publish { buffer: Some(Amount::Units(5)), ..publish() }, 10_000, 3 => 0;
    worked_cap_10_on_20_is_10: Publish { cap: Some(10), ..publish() }, 10_000, 20 => 10;
    worked_cap_10_on_5_is_5: Publish { cap: Some(10), ..publish() }, 10_000, 5 => 5;
    worked_fixed_quantity_ignores_stock_even_zero: fixed_1(), 10_000, 0 => 1;
    worked_fixed_quantity_ignores_plenty_of_stock: fixed_1(), 10_000, 500 => 1;
    /// Never scaled by a share either.
    worked_fixed_quantity_ignores_the_share: fixed_1(), 5000, 7 => 1;
    /// 10% of 15 = 1.5 kept → 2 kept → 13.
    percent_buffer_rounds_the_kept_units_up: percent_buffer_10(), 10_000, 15 => 13;
    percent_buffer_on_nothing_is_0: percent_buffer_10(), 10_000, 0 => 0;
    round_up_90_percent_of_1_is_1: Publish { round: Round::Up, ..publish() }, 9000, 1 => 1;
    round_up_33_percent_of_10_is_4: Publish { round: Round::Up, ..publish() }, 3333, 10 => 4;
    round_nearest_50_percent_of_3_is_2:
        Publish { round: Round::Nearest, ..publish() }, 5000, 3 => 2;
    round_nearest_33_percent_of_10_is_3:
        Publish { round: Round::Nearest, ..publish() }, 3333, 10 => 3;
    never_negative: Publish {
        buffer: Some(Amount::Units(u64::MAX)),
        targets: vec![target(0, "{sku}", 10_000)],
        ..publish()
    }, 10_000, u64::MAX => 0;
    never_overflowing: publish(), 10_000, u64::MAX => u64::MAX;
}

/// `quantity 1`, with settings it must ignore.
fn fixed_1() -> Publish {
    Publish {
        fixed: Some(1),
        cap: Some(0),
        buffer: Some(Amount::Units(9)),
        ..publish()
    }
}

/// `buffer 10%`.
fn percent_buffer_10() -> Publish {
    Publish {
        buffer: Some(Amount::Percent(Percent(1000))),
        ..publish()
    }
}

#[test]
fn order_is_buffer_share_threshold_cap() {
    // pool 30, buffer 2 → 28, share 50% → 14, threshold 5 → 14, cap 10 → 10.
    let p = Publish {
        buffer: Some(Amount::Units(2)),
        threshold: Some(5),
        cap: Some(10),
        targets: vec![target(0, "{sku}", 5000)],
        ..publish()
    };
    let pre = run_us(p, &[("A", NEWARK, 20, 0), ("A", TORONTO, 12, 2)]);
    let steps: Vec<(StepKind, u64)> = pre.provenance[0]
        .steps
        .iter()
        .map(|s| (s.kind, s.value))
        .collect();
    assert_eq!(
        steps,
        vec![
            (StepKind::Pool, 30),
            (StepKind::Buffer, 28),
            (StepKind::Share, 14),
            (StepKind::Threshold, 14),
            (StepKind::Cap, 10)
        ]
    );
}

#[test]
fn available_is_on_hand_minus_reserved_never_negative_and_stock_from_counts() {
    let p = Publish {
        stock_from: Some(vec![NEWARK, AUSTIN]),
        targets: vec![target(0, "{sku}", 10_000)],
        ..publish()
    };
    // newark 5-8 → 0 (not -3), austin 7-1 → 6, toronto not counted.
    let pre = run_us(
        p,
        &[
            ("A", NEWARK, 5, 8),
            ("A", AUSTIN, 7, 1),
            ("A", TORONTO, 100, 0),
        ],
    );
    assert_eq!(pre.changes[0].offer.channels[0].quantity, 6);
}

#[test]
fn split_largest_remainder_ties_to_first_listed() {
    assert_eq!(
        engine::split(10, &[Percent(6000), Percent(4000)]),
        vec![6, 4]
    );
    // 5 × 50/50 = 2.5 each: the tie goes to the first listed.
    assert_eq!(
        engine::split(5, &[Percent(5000), Percent(5000)]),
        vec![3, 2]
    );
    // 7 × 1/3 each: remainders equal, first two get the extra units.
    assert_eq!(
        engine::split(7, &[Percent(3334), Percent(3333), Percent(3333)]),
        vec![3, 2, 2]
    );
    // Largest remainder wins over listed order: 3 × (10%, 90%) = 0.3, 2.7 → 0, 3.
    assert_eq!(
        engine::split(3, &[Percent(1000), Percent(9000)]),
        vec![0, 3]
    );
    for n in 0..50u64 {
        let parts = engine::split(n, &[Percent(3333), Percent(3333), Percent(3334)]);
        assert_eq!(parts.iter().sum::<u64>(), n);
    }
}

#[test]
fn by_location_split_sends_parts_to_supply_sources_with_default_zero() {
    let mut t = target(0, "{sku}", 10_000);
    t.by_location = Some(ByLocation::Split(vec![
        (AUSTIN, Percent(5000)),
        (NEWARK, Percent(5000)),
    ]));
    let p = Publish {
        default_channel_zero: true,
        targets: vec![t],
        ..publish()
    };
    let pre = run_us(p, &[("A", NEWARK, 3, 0), ("A", TORONTO, 2, 0)]);
    let ch = channel_quantities(&pre.changes[0]);
    // 5 split 50/50: austin (listed first) gets the odd unit; channels in policy order.
    assert_eq!(ch, vec![("DEFAULT", 0), ("NWK", 2), ("AUS", 3)]);
}

#[test]
fn by_location_per_source_uses_each_locations_own_stock() {
    let mut t = target(0, "{sku}", 10_000);
    t.by_location = Some(ByLocation::PerSource);
    let p = Publish {
        cap: Some(5),
        default_channel_zero: true,
        targets: vec![t],
        ..publish()
    };
    let pre = run_us(
        p,
        &[
            ("A", NEWARK, 9, 1),
            ("A", AUSTIN, 2, 0),
            ("A", TORONTO, 50, 0),
        ],
    );
    let ch = channel_quantities(&pre.changes[0]);
    assert_eq!(ch, vec![("DEFAULT", 0), ("NWK", 5), ("AUS", 2)]);
    // toronto is no supply source: its stock backs nothing published but counts in the pool.
    assert_eq!(pre.summary.exposure, 0);
}

fn missing_policy(on_missing: OnMissing) -> Policy {
    let p = Publish {
        on_missing,
        targets: vec![target(0, "{sku}", 10_000)],
        ..publish()
    };
    policy(
        &["US"],
        vec![rule(
            "r",
            Selector::Sku(vec!["GONE-1".into(), "HERE-*".into()]),
            p,
        )],
    )
}

#[test]
fn on_missing_skip_reports_and_writes_nothing() {
    let pre = run(
        &missing_policy(OnMissing::Skip),
        &stock(&[("HERE-1", NEWARK, 4, 0)]),
        None,
    )
    .unwrap();
    assert_eq!(pre.changes.len(), 1);
    assert_eq!(pre.summary.skus_skipped_missing, 1);
    assert_eq!(pre.skipped[0].inventory_sku, "GONE-1");
}

#[test]
fn on_missing_zero_publishes_zero() {
    let pre = run(&missing_policy(OnMissing::Zero), &stock(&[]), None).unwrap();
    assert_eq!(pre.changes.len(), 1);
    assert_eq!(pre.changes[0].offer.seller_sku, "GONE-1");
    assert_eq!(pre.changes[0].offer.channels[0].quantity, 0);
    assert!(pre.provenance[0].missing);
}

#[test]
fn on_missing_error_fails_the_run() {
    let err = run(&missing_policy(OnMissing::Error), &stock(&[]), None).unwrap_err();
    assert!(
        matches!(&err.problems[0], SimProblem::MissingStock { inventory_sku, .. } if inventory_sku == "GONE-1")
    );
}

#[test]
fn missing_skus_from_current_listings_map_back_through_the_template() {
    let p = Publish {
        targets: vec![target(0, "{sku}-US", 10_000)],
        ..publish()
    };
    let pol = policy(
        &["US"],
        vec![rule("r", Selector::Sku(vec!["YOGA-*".into()]), p)],
    );
    let mut cur = Current::default();
    for s in ["YOGA-9-US", "OTHER-1-US", "YOGA-1-US"] {
        cur.listings
            .insert(s.into(), [("DEFAULT".to_string(), 3)].into());
    }
    let pre = run(&pol, &stock(&[("YOGA-1", NEWARK, 2, 0)]), Some(&cur)).unwrap();
    let skipped: Vec<&str> = pre
        .skipped
        .iter()
        .map(|s| s.inventory_sku.as_str())
        .collect();
    assert_eq!(skipped, vec!["YOGA-9"]);
    assert_eq!(pre.changes[0].kind, ChangeKind::Changed);
}

#[test]
fn first_matching_rule_decides() {
    let a = Publish {
        fixed: Some(7),
        targets: vec![target(0, "{sku}", 10_000)],
        ..publish()
    };
    let b = Publish {
        fixed: Some(9),
        targets: vec![target(0, "{sku}", 10_000)],
        ..publish()
    };
    let pol = policy(
        &["US"],
        vec![
            rule("first", Selector::Sku(vec!["A*".into()]), a),
            skip_rule("none", Selector::Sku(vec!["B*".into()])),
            rule("second", Selector::Any, b),
        ],
    );
    let st = stock(&[
        ("AX", NEWARK, 1, 0),
        ("BX", NEWARK, 1, 0),
        ("CX", NEWARK, 1, 0),
    ]);
    let pre = run(&pol, &st, None).unwrap();
    let got: Vec<(&str, u64, &str)> = pre
        .changes
        .iter()
        .map(|c| {
            (
                c.offer.seller_sku.as_str(),
                c.offer.channels[0].quantity,
                &*c.offer.rule,
            )
        })
        .collect();
    assert_eq!(got, vec![("AX", 7, "first"), ("CX", 9, "second")]);
    assert_eq!(pre.skipped_by_rule, 1);
}

#[test]
fn shared_seller_sku_is_one_offer_and_counted_once_for_exposure() {
    let pol = acme_na();
    let mut st = stock(&[("CANDLE-1", NEWARK, 2, 0)]);
    st.add_tags("CANDLE-1", ["candles"]);
    let pre = run(&pol, &st, None).unwrap();
    assert_eq!(pre.changes.len(), 1);
    let o = &pre.changes[0].offer;
    assert_eq!(*o.marketplaces, ["US", "CA", "MX"]);
    assert_eq!(o.marketplace_ids.len(), 3);
    assert_eq!(o.channels[0].quantity, 2);
    assert_eq!(pre.summary.exposure, 0);
}

#[test]
fn sketch_yoga_is_capped_and_exposure_counts_independent_offers() {
    let pol = acme_na();
    let st = stock(&[("YOGA-1", NEWARK, 8, 0), ("YOGA-1", AUSTIN, 9, 0)]);
    let pre = run(&pol, &st, None).unwrap();
    let got: Vec<(&str, u64)> = pre
        .changes
        .iter()
        .map(|c| (c.offer.seller_sku.as_str(), c.offer.channels[0].quantity))
        .collect();
    assert_eq!(got, vec![("YOGA-1-US", 10), ("YOGA-1-CA", 10)]);
    // 20 published on two independent offers, 17 available behind them.
    assert_eq!(pre.exposure[0].published, 20);
    assert_eq!(pre.exposure[0].backing, 17);
    assert_eq!(pre.summary.exposure, 3);
}

#[test]
fn fixed_quantity_on_zero_stock_is_exposure() {
    let pol = acme_na();
    let pre = run(
        &pol,
        &stock(&[("CLR-1", NEWARK, 0, 0), ("CLR-2", NEWARK, 4, 0)]),
        None,
    )
    .unwrap();
    assert_eq!(pre.summary.exposure, 1);
    assert_eq!(pre.exposure[0].inventory_sku, "CLR-1");
}

#[test]
fn two_inventory_skus_on_one_seller_sku_is_an_error() {
    let pol = us_policy_as("X-{marketplace}");
    let err = run(
        &pol,
        &stock(&[("A", NEWARK, 1, 0), ("B", NEWARK, 1, 0)]),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(&err.problems[0], SimProblem::DuplicateSellerSku { seller_sku, first, second, .. }
            if seller_sku == "X-US" && first == "A" && second == "B"),
        "{err}"
    );
}

/// Run in chunks, the two SKUs of one seller SKU fall to different workers (each sorts its own
/// owner keys): the error is the single run's.
#[test]
fn two_inventory_skus_on_one_seller_sku_on_two_workers_is_an_error() {
    let pol = us_policy_as("X-{marketplace}");
    let st = stock(&[
        ("A", NEWARK, 1, 0),
        ("M", NEWARK, 1, 0),
        ("B", NEWARK, 1, 0),
    ]);
    for (threads, chunk) in [(2, 1), (3, 1), (2, 2)] {
        let err = run_chunks(
            &Prepared::new(&pol, &st, None),
            Options::default(),
            Chunks { threads, chunk },
            |_: usize| Part::new(&pol),
            |_: Part| true,
        )
        .unwrap_err();
        assert!(
            matches!(&err.problems[0], SimProblem::DuplicateSellerSku { seller_sku, first, second, .. }
                if seller_sku == "X-US" && first == "A" && second == "M"),
            "threads {threads}, chunk {chunk}: {err}"
        );
    }
}

#[test]
fn invalid_rendered_seller_sku_is_an_error_naming_the_sku() {
    let pol = us_policy_as("{sku}-US");
    let long = "L".repeat(39);
    let err = run(&pol, &stock(&[(long.as_str(), NEWARK, 1, 0)]), None).unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&long) && text.contains("40"), "{text}");
}

#[test]
fn shared_sku_with_different_quantities_is_an_error() {
    // The eu-trap: one seller SKU, three shares (the checker refuses it; the engine too).
    let p = Publish {
        targets: vec![
            target(0, "{sku}", 2000),
            target(1, "{sku}", 3000),
            target(2, "{sku}", 5000),
        ],
        ..publish()
    };
    let pol = policy(&["UK", "DE", "FR"], vec![rule("r", Selector::Any, p)]);
    let err = run(&pol, &stock(&[("A", NEWARK, 10, 0)]), None).unwrap_err();
    assert!(matches!(
        err.problems[0],
        SimProblem::SharedSkuConflict { .. }
    ));
}

#[test]
fn change_kinds_against_current_listings() {
    let pol = us_policy_as("{sku}");
    let st = stock(&[
        ("NEW", NEWARK, 1, 0),
        ("SAME", NEWARK, 4, 0),
        ("MORE", NEWARK, 6, 0),
        ("GONE", NEWARK, 0, 0),
    ]);
    let mut cur = Current::default();
    for (s, q) in [("SAME", 4), ("MORE", 2), ("GONE", 5)] {
        cur.listings
            .insert(s.into(), [("DEFAULT".to_string(), q)].into());
    }
    let pre = run(&pol, &st, Some(&cur)).unwrap();
    let kinds: Vec<ChangeKind> = pre.changes.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        vec![
            ChangeKind::New,
            ChangeKind::Unchanged,
            ChangeKind::Changed,
            ChangeKind::Zeroed
        ]
    );
    // The seller SKU Amazon does not know is held back (a write would create a ghost listing).
    assert_eq!(pre.changes[0].hold.as_deref(), Some(&Hold::NotListed));
    assert!(pre.changes[1..].iter().all(|c| c.hold.is_none()));
    assert_eq!(pre.summary.offers_not_listed, 1);
    assert_eq!(
        (
            pre.summary.offers_new,
            pre.summary.offers_unchanged,
            pre.summary.offers_changed,
            pre.summary.offers_zeroed
        ),
        (0, 1, 1, 1)
    );
    // `--allow-new` writes it.
    let opts = Options {
        allow_new: true,
        ..Options::default()
    };
    let pre = run_with(&pol, &st, Some(&cur), opts).unwrap();
    assert!(pre.changes.iter().all(|c| c.hold.is_none()));
    assert_eq!(
        (
            pre.summary.offers_new,
            pre.summary.offers_unchanged,
            pre.summary.offers_changed,
            pre.summary.offers_zeroed,
            pre.summary.offers_not_listed
        ),
        (1, 1, 1, 1, 0)
    );
    assert!(pre.has_changes());
}

#[test]
fn leftover_default_beside_locations_warns_two_offers() {
    let mut t = target(0, "{sku}", 10_000);
    t.by_location = Some(ByLocation::PerSource);
    let p = Publish {
        targets: vec![t],
        ..publish()
    };
    let pol = us_policy(p);
    let mut cur = Current::default();
    cur.listings
        .insert("A".into(), [("DEFAULT".to_string(), 5)].into());
    let pre = run(&pol, &stock(&[("A", NEWARK, 3, 0)]), Some(&cur)).unwrap();
    let shown = pre.provenance[0]
        .shown
        .as_ref()
        .expect("DEFAULT 5 stays beside the sources");
    assert_eq!(shown[0].channel, "DEFAULT");
    assert_eq!(shown[0].quantity, 5);
    assert!(
        pre.warnings.iter().any(|w| w.contains("two offers")),
        "{:?}",
        pre.warnings
    );
}

#[test]
fn listed_in_another_marketplace_of_the_region_warns() {
    let pol = us_policy_as("{sku}");
    let mut cur = Current::default();
    cur.listings
        .insert("A".into(), [("DEFAULT".to_string(), 5)].into());
    cur.listed_in.insert(
        "A".into(),
        ["US".to_string(), "MX".to_string(), "UK".to_string()].into(),
    );
    let pre = run(&pol, &stock(&[("A", NEWARK, 3, 0)]), Some(&cur)).unwrap();
    assert_eq!(pre.provenance[0].also_shown_in, vec!["MX"]);
}

#[test]
fn gb_renders_gb_and_is_the_uk_listing() {
    let p = Publish {
        targets: vec![target(0, "{sku}-{marketplace}", 10_000)],
        ..publish()
    };
    let pol = policy(&["GB"], vec![rule("r", Selector::Any, p)]);
    let mut cur = Current::default();
    cur.listed_in
        .insert("A-GB".into(), ["UK".to_string()].into());
    let pre = run(&pol, &stock(&[("A", NEWARK, 3, 0)]), Some(&cur)).unwrap();
    assert_eq!(pre.changes[0].offer.seller_sku, "A-GB");
    assert_eq!(*pre.changes[0].offer.marketplace_ids, ["A1F83G8C2ARO7P"]);
    // Listed in UK (the data's code) is the marketplace GB names: not "also shown in UK".
    assert!(
        pre.provenance[0].also_shown_in.is_empty(),
        "{:?}",
        pre.warnings
    );
}

#[test]
fn tags_and_attributes_select() {
    let a = Publish {
        fixed: Some(1),
        targets: vec![target(0, "{sku}", 10_000)],
        ..publish()
    };
    let pol = policy(
        &["US"],
        vec![
            rule(
                "brand",
                Selector::Attr {
                    name: "brand".into(),
                    values: vec!["acme".into()],
                },
                a.clone(),
            ),
            rule(
                "not-fragile",
                Selector::All(vec![
                    Selector::Sku(vec!["*".into()]),
                    Selector::Not(Box::new(Selector::Tag(vec!["fragile".into()]))),
                ]),
                Publish {
                    fixed: Some(2),
                    ..a
                },
            ),
        ],
    );
    let mut st = stock(&[
        ("A", NEWARK, 1, 0),
        ("B", NEWARK, 1, 0),
        ("C", NEWARK, 1, 0),
    ]);
    st.set_attr("A", "brand", "acme").unwrap();
    st.add_tags("B", ["fragile"]);
    let pre = run(&pol, &st, None).unwrap();
    let got: Vec<(&str, &str)> = pre
        .changes
        .iter()
        .map(|c| (c.offer.seller_sku.as_str(), &*c.offer.rule))
        .collect();
    assert_eq!(got, vec![("A", "brand"), ("C", "not-fragile")]);
    assert_eq!(pre.unmatched, 1);
}

#[test]
fn explain_traces_rules_steps_and_view() {
    let pol = acme_na();
    let st = stock(&[("MUG-1", NEWARK, 7, 2), ("MUG-1", TORONTO, 5, 0)]);
    let t = explain(&pol, &st, None, "MUG-1", Options::default()).unwrap();
    assert_eq!(t.tried.len(), 3);
    assert!(t.tried[2].1 && !t.tried[0].1);
    assert_eq!(t.pool, Some(10));
    let q: Vec<u64> = t
        .offers
        .iter()
        .map(|(c, _)| c.offer.channels[0].quantity)
        .collect();
    assert_eq!(q, vec![6, 4]);
    let missing = explain(&pol, &st, None, "CLR-2", Options::default()).unwrap();
    assert!(!missing.in_inventory);
    assert!(missing.outcome.contains("no inventory row"));
}

#[test]
fn amazon_view_shows_shared_quantity_everywhere() {
    let pol = acme_na();
    let mut st = stock(&[("CANDLE-1", NEWARK, 9, 0)]);
    st.add_tags("CANDLE-1", ["candles"]);
    let pre = run(&pol, &st, None).unwrap();
    let view = amazon_view(&pol, &pre, None);
    let key = crate::amazon::ListingKey {
        seller_id: pol.seller_id.clone(),
        region: crate::marketplaces::Region::NA,
        seller_sku: "CANDLE-1".into(),
    };
    for m in ["US", "CA", "MX"] {
        assert_eq!(view.shown(&key, m, "DEFAULT"), Some(3), "{m}");
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn split_parts_add_up_and_differ_from_exact_by_less_than_one(
            whole in 0u64..1_000_000,
            a in 0u32..=10_000,
        ) {
            let pcts = [Percent(a), Percent(10_000 - a)];
            let parts = engine::split(whole, &pcts);
            prop_assert_eq!(parts.iter().sum::<u64>(), whole);
            for (p, pct) in parts.iter().zip(pcts) {
                let exact = whole as f64 * pct.0 as f64 / 10_000.0;
                prop_assert!((*p as f64 - exact).abs() < 1.0);
            }
        }

        #[test]
        fn steps_never_exceed_pool_or_cap_and_respect_threshold(
            pool in 0u64..100_000,
            buffer in proptest::option::of(0u64..1000),
            share in 0u32..=10_000,
            threshold in proptest::option::of(0u64..500),
            cap in proptest::option::of(0u64..500),
        ) {
            let p = Publish {
                buffer: buffer.map(Amount::Units),
                threshold,
                cap,
                ..publish()
            };
            let mut steps = Vec::new();
            let q = engine::steps_2_to_6(&p, Percent(share), pool, None, &mut steps);
            prop_assert!(q <= pool);
            if let Some(c) = cap { prop_assert!(q <= c); }
            if let Some(t) = threshold {
                // Either 0, or at least the threshold (unless the cap brought it lower).
                prop_assert!(q == 0 || q >= t || cap.is_some_and(|c| q == c));
            }
            prop_assert_eq!(steps.last().map_or(pool, |s| s.value), q);
        }
    }
}

#[test]
fn markdown_keeps_the_first_warnings_and_counts_the_rest() {
    let mut p = publish();
    p.targets = vec![target(0, "{sku}", 10_000)];
    let pol = us_policy(p);
    let mut pre = run(&pol, &stock(&[("A", NEWARK, 3, 0)]), None).unwrap();
    pre.warnings = (0..45).map(|i| format!("warning number {i}")).collect();
    let md = crate::render::preview::markdown(&pol, &pre, 60_000);
    assert!(md.contains("warning number 19"), "{md}");
    assert!(!md.contains("warning number 20"), "{md}");
    assert!(md.contains("… and 25 more warnings"), "{md}");
}

/// One shared seller SKU on US, CA and MX (`{sku}`), 5 units of "A" in newark.
fn shared_na() -> (Policy, Stock) {
    let p = Publish {
        targets: vec![
            target(0, "{sku}", 10_000),
            target(1, "{sku}", 10_000),
            target(2, "{sku}", 10_000),
        ],
        ..publish()
    };
    (
        policy(&["US", "CA", "MX"], vec![rule("r", Selector::Any, p)]),
        stock(&[("A", NEWARK, 5, 0)]),
    )
}

fn listed(sku: &str, qty: u64, marketplaces: &[&str]) -> Current {
    let mut cur = Current::default();
    cur.listings
        .insert(sku.into(), [("DEFAULT".to_string(), qty)].into());
    cur.listed_in.insert(
        sku.into(),
        marketplaces.iter().map(|m| m.to_string()).collect(),
    );
    cur
}

#[test]
fn an_fba_seller_sku_is_never_written_even_with_allow_new() {
    let (pol, st) = shared_na();
    let mut cur = Current::default();
    cur.amazon_fulfilled.insert("A".into(), "AMAZON_NA".into());
    for opts in [
        Options::default(),
        Options {
            allow_new: true,
            ..Options::default()
        },
    ] {
        let pre = run_with(&pol, &st, Some(&cur), opts).unwrap();
        assert_eq!(
            pre.changes[0].hold.as_deref(),
            Some(&Hold::FulfilledByAmazon {
                channel: "AMAZON_NA".into()
            })
        );
        assert!(!pre.has_changes());
        assert_eq!(pre.summary.offers_fulfilled_by_amazon, 1);
        assert_eq!(pre.summary.offers_new + pre.summary.offers_changed, 0);
        // Nothing published, nothing exposed.
        assert!(pre.exposure.is_empty());
    }
}

#[test]
fn a_shared_seller_sku_is_written_only_where_it_is_listed() {
    let (pol, st) = shared_na();
    let pre = run(&pol, &st, Some(&listed("A", 1, &["US"]))).unwrap();
    let c = &pre.changes[0];
    assert!(c.hold.is_none());
    assert_eq!(*c.offer.marketplaces, ["US"]);
    assert_eq!(*c.offer.marketplace_ids, ["ATVPDKIKX0DER"]);
    assert_eq!(&*pre.provenance[0].not_listed_in, ["CA", "MX"]);
    // --allow-new creates the offers in CA and MX too.
    let opts = Options {
        allow_new: true,
        ..Options::default()
    };
    let pre = run_with(&pol, &st, Some(&listed("A", 1, &["US"])), opts).unwrap();
    assert_eq!(*pre.changes[0].offer.marketplaces, ["US", "CA", "MX"]);
    assert!(pre.provenance[0].not_listed_in.is_empty());
}

#[test]
fn a_seller_sku_listed_only_outside_the_policys_marketplaces_is_held() {
    let p = Publish {
        targets: vec![target(0, "{sku}", 10_000)],
        ..publish()
    };
    let pol = policy(&["CA"], vec![rule("r", Selector::Any, p)]);
    let st = stock(&[("A", NEWARK, 5, 0)]);
    let pre = run(&pol, &st, Some(&listed("A", 1, &["US"]))).unwrap();
    assert_eq!(
        pre.changes[0].hold.as_deref(),
        Some(&Hold::NotListedHere {
            listed_in: vec!["US".into()]
        })
    );
    // Listed only in another region: as good as not listed here.
    let pre = run(&pol, &st, Some(&listed("A", 1, &["DE"]))).unwrap();
    assert_eq!(pre.changes[0].hold.as_deref(), Some(&Hold::NotListed));
}

#[test]
fn listed_without_marketplaces_is_written_and_counted() {
    let (pol, st) = shared_na();
    let mut cur = listed("A", 1, &[]);
    cur.listed_in.clear();
    let pre = run(&pol, &st, Some(&cur)).unwrap();
    assert!(pre.changes[0].hold.is_none());
    assert_eq!(pre.listed_where_unknown, 1);
    assert!(
        pre.warnings
            .iter()
            .any(|w| w.contains("do not say in which marketplaces")),
        "{:?}",
        pre.warnings
    );
    // Without current listings nothing can be told: written as the policy says, flagged.
    let pre = run(&pol, &st, None).unwrap();
    assert!(!pre.current_known && pre.changes[0].hold.is_none());
}

#[test]
fn explain_finds_the_inventory_sku_of_a_seller_sku() {
    let p = Publish {
        targets: vec![target(0, "{sku}-US", 10_000)],
        ..publish()
    };
    let pol = policy(
        &["US"],
        vec![rule("yoga", Selector::Sku(vec!["YOGA-*".into()]), p)],
    );
    let st = stock(&[("YOGA-1", NEWARK, 5, 0)]);
    let src = seller_sku_source(&pol, &st, "YOGA-1-US").unwrap();
    assert_eq!(
        (
            src.inventory_sku.as_str(),
            src.rule.as_str(),
            src.marketplace.as_str()
        ),
        ("YOGA-1", "yoga", "US")
    );
    assert!(seller_sku_source(&pol, &st, "MUG-1-US").is_none());
}

#[test]
fn merge_refuses_one_seller_sku_written_by_two_policies() {
    // `{sku}` of inventory SKU "A-DE" and `{sku}-DE` of "A" render the same seller SKU: the
    // static set check does not look for this, the merged preview refuses it.
    let one = |tpl: &str| {
        let p = Publish {
            targets: vec![target(0, tpl, 10_000)],
            ..publish()
        };
        policy(&["DE"], vec![rule("r", Selector::Any, p)])
    };
    let (mut a, mut b) = (one("{sku}"), one("{sku}-DE"));
    a.name = "plain".into();
    b.name = "suffixed".into();
    let pa = run(&a, &stock(&[("A-DE", NEWARK, 3, 0)]), None).unwrap();
    let pb = run(&b, &stock(&[("A", NEWARK, 5, 0)]), None).unwrap();
    let err = merge(vec![(a.clone(), pa.clone()), (b.clone(), pb.clone())]).unwrap_err();
    assert!(
        matches!(&err.problems[0], SimProblem::SellerSkuInTwoPolicies { seller_sku, first, second, .. }
            if seller_sku == "A-DE" && first == "plain" && second == "suffixed"),
        "{err}"
    );
    // Different seller SKUs merge: names joined, rules offset, counts added.
    let pb = run(&b, &stock(&[("B", NEWARK, 5, 0)]), None).unwrap();
    let (pol, pre) = merge(vec![(a, pa), (b, pb)]).unwrap();
    assert_eq!(pol.name, "plain + suffixed");
    assert_eq!(pol.rules.len(), 2);
    assert_eq!(pre.changes.len(), 2);
    assert_eq!(pre.provenance[1].rule, 1);
    assert_eq!(pre.summary.offers_new, 2);
}

#[test]
fn merge_refuses_policies_of_two_sellers() {
    let a = us_policy_as("{sku}");
    let mut b = a.clone();
    b.seller_id = "A3OTHERSELLER".into();
    let pa = run(&a, &stock(&[("X", NEWARK, 1, 0)]), None).unwrap();
    let pb = run(&b, &stock(&[("Y", NEWARK, 1, 0)]), None).unwrap();
    let err = merge(vec![(a, pa), (b, pb)]).unwrap_err();
    assert!(err.to_string().contains("different sellers"), "{err}");
}

/// One US rule `{sku}` with the given `on_fba`; "A", "B" and "C" in stock.
fn fba_policy(on_fba: OnFba) -> (Policy, Stock) {
    let p = Publish {
        on_fba,
        targets: vec![target(0, "{sku}", 10_000)],
        ..publish()
    };
    (
        us_policy(p),
        stock(&[
            ("A", NEWARK, 5, 0),
            ("B", NEWARK, 2, 0),
            ("C", NEWARK, 1, 0),
        ]),
    )
}

/// "A" and "C" fulfilled by Amazon, "B" listed with DEFAULT.
fn fba_current() -> Current {
    let mut cur = listed("B", 1, &["US"]);
    cur.amazon_fulfilled.insert("A".into(), "AMAZON_NA".into());
    cur.amazon_fulfilled.insert("C".into(), "AMAZON_NA".into());
    cur
}

#[test]
fn on_fba_skip_holds_the_offer_and_writes_the_rest() {
    let (pol, st) = fba_policy(OnFba::Skip);
    let pre = run(&pol, &st, Some(&fba_current())).unwrap();
    let held: Vec<&str> = pre
        .held()
        .map(|(c, _)| c.offer.seller_sku.as_str())
        .collect();
    assert_eq!(held, ["A", "C"]);
    assert_eq!(pre.summary.offers_fulfilled_by_amazon, 2);
    assert!(pre.has_changes());
}

#[test]
fn on_fba_error_fails_the_run_naming_every_fba_offer() {
    let (pol, st) = fba_policy(OnFba::Error);
    let err = run(&pol, &st, Some(&fba_current())).unwrap_err();
    assert_eq!(
        err.problems,
        [
            SimProblem::FulfilledByAmazon {
                seller_sku: "A".into(),
                channel: "AMAZON_NA".into(),
                rule: "r".into(),
                at: Place::default(),
            },
            SimProblem::FulfilledByAmazon {
                seller_sku: "C".into(),
                channel: "AMAZON_NA".into(),
                rule: "r".into(),
                at: Place::default(),
            },
        ]
    );
    let text = err.to_string();
    assert!(
        text.starts_with(
            "error[allot::sim::fulfilled-by-amazon]: seller SKU `A` is fulfilled by Amazon (AMAZON_NA) and rule \"r\" says `on_fba error`\n  help: convert the offer to merchant-fulfilled in Seller Central first, or use `on_fba skip`"
        ),
        "{text}"
    );
    // `--allow-new` does not lift it, and explain fails the same way.
    assert!(
        run_with(
            &pol,
            &st,
            Some(&fba_current()),
            Options {
                allow_new: true,
                ..Options::default()
            }
        )
        .is_err()
    );
    let e = explain(&pol, &st, Some(&fba_current()), "C", Options::default()).unwrap_err();
    assert!(
        matches!(&e.problems[..], [SimProblem::FulfilledByAmazon { seller_sku, .. }] if seller_sku == "C")
    );
    assert!(explain(&pol, &st, Some(&fba_current()), "B", Options::default()).is_ok());
    // Without FBA seller SKUs, `on_fba error` changes nothing.
    let pre = run(&pol, &st, Some(&listed("B", 1, &["US"]))).unwrap();
    assert_eq!(pre.summary.offers_fulfilled_by_amazon, 0);
    assert!(run(&pol, &st, None).is_ok());
}

#[test]
fn a_rules_on_fba_overrides_the_policys() {
    let src = r#"policy "p"
seller "A1PP0FEH11RW77"
marketplaces US
on_fba error
rule "own label" {
  match   sku "A", "B"
  on_fba  skip
  publish US
}
rule "rest" {
  match   any
  publish US
}
"#;
    let pol = crate::check::check_source(src)
        .policy
        .expect("the policy checks");
    assert_eq!(pol.on_fba, OnFba::Error);
    let on_fba = |i: usize| match &pol.rules[i].action {
        Action::Publish(p) => p.on_fba,
        Action::Skip => panic!("publishing rule"),
    };
    assert_eq!((on_fba(0), on_fba(1)), (OnFba::Skip, OnFba::Error));
    let st = stock(&[
        ("A", NEWARK, 5, 0),
        ("B", NEWARK, 2, 0),
        ("C", NEWARK, 1, 0),
    ]);
    // "A" is FBA under the rule that skips: held, and the run goes on.
    let mut cur = listed("B", 1, &["US"]);
    cur.amazon_fulfilled.insert("A".into(), "AMAZON_NA".into());
    let pre = run_with(
        &pol,
        &st,
        Some(&cur),
        Options {
            allow_new: true,
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(pre.summary.offers_fulfilled_by_amazon, 1);
    // "C" is FBA under the rule that inherits `on_fba error`: the run fails naming it.
    cur.amazon_fulfilled.insert("C".into(), "AMAZON_NA".into());
    let err = run(&pol, &st, Some(&cur)).unwrap_err();
    assert_eq!(
        err.problems,
        [SimProblem::FulfilledByAmazon {
            seller_sku: "C".into(),
            channel: "AMAZON_NA".into(),
            rule: "rest".into(),
            // The rule has no `on_fba` of its own: the policy's line is the cause.
            at: Place::at(crate::span::Span::new(
                src.find("on_fba error").unwrap(),
                src.find("on_fba error").unwrap() + "on_fba error".len()
            )),
        }]
    );
}

/// The table written from a streamed run (measured in one run, written in a second, no offer
/// kept) is the table of the preview held in memory, byte for byte, with more held and partly
/// written offers than the table lists.
#[test]
fn a_streamed_table_is_the_table_of_the_preview_in_memory() {
    use crate::render::preview::{Measure, Rows, table, table_after_rows};
    let (pol, _) = shared_na();
    let rows: Vec<(String, u64)> = (0..70).map(|i| (format!("S{i:02}"), i)).collect();
    let st = newark_stock(&rows);
    let mut cur = Current::default();
    for i in 0..70 {
        let sku = format!("S{i:02}");
        match i {
            0..25 => {
                cur.amazon_fulfilled.insert(sku, "AMAZON_NA".into());
            }
            25..50 => {
                cur.listings
                    .insert(sku.clone(), [("DEFAULT".to_string(), 3)].into());
                cur.listed_in.insert(sku, ["US".to_string()].into());
            }
            50..60 => {
                cur.listings
                    .insert(sku, [("DEFAULT".to_string(), i)].into());
            }
            _ => {}
        }
    }
    let opts = Options {
        drop_steps: true,
        ..Options::default()
    };
    let pre = run_with(&pol, &st, Some(&cur), Options::default()).unwrap();
    let mut held = Vec::new();
    table(&mut held, &pol, &pre).unwrap();

    let mut m = Measure::new(&pol);
    let streamed = run_into(&pol, &st, Some(&cur), opts, &mut m).unwrap();
    assert!(streamed.changes.is_empty());
    assert_eq!(streamed.summary, pre.summary);
    let mut out = Vec::new();
    let mut rows = Rows::start(&mut out, &m).unwrap();
    run_into(&pol, &st, Some(&cur), opts, &mut rows).unwrap();
    rows.finish().unwrap();
    table_after_rows(&mut out, &m, &streamed).unwrap();
    let (held, out) = (
        String::from_utf8(held).unwrap(),
        String::from_utf8(out).unwrap(),
    );
    assert_eq!(out, held);
    assert!(out.contains("... and 5 more"), "{out}");
    assert!(out.contains("Written only where listed"), "{out}");
}

/// Keeping only the largest exposures (`exposure_kept`, as the streamed table does) lists the
/// same ones as sorting them all, ties in inventory order, and still counts every one.
#[test]
fn keeping_the_largest_exposures_lists_what_the_table_lists() {
    use crate::render::preview::{LIST_LIMIT, table};
    let p = Publish {
        targets: vec![target(0, "{sku}-US", 10_000), target(1, "{sku}-CA", 10_000)],
        ..publish()
    };
    let pol = policy(&["US", "CA"], vec![rule("r", Selector::Any, p)]);
    // Exposure = the stock (two offers of 100% each); many ties.
    let rows: Vec<(String, u64)> = (0..200)
        .map(|i| (format!("S{i:03}"), (i * 7) % 13))
        .collect();
    let st = newark_stock(&rows);
    let all = run(&pol, &st, None).unwrap();
    let kept = run_with(
        &pol,
        &st,
        None,
        Options {
            exposure_kept: Some(LIST_LIMIT),
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(all.exposed, all.exposure.len() as u64);
    assert!(all.exposed > 2 * LIST_LIMIT as u64, "{}", all.exposed);
    assert_eq!(kept.exposed, all.exposed);
    assert_eq!(kept.exposure.len(), LIST_LIMIT);
    let mut sorted = all.exposure.clone();
    sorted.sort_by_key(|e| std::cmp::Reverse(e.exposure));
    sorted.truncate(LIST_LIMIT);
    assert_eq!(kept.exposure, sorted);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    table(&mut a, &pol, &all).unwrap();
    table(&mut b, &pol, &kept).unwrap();
    assert_eq!(String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap());
}

/// The offers of one chunk of a run in parts, and what each format makes of them.
struct Part<'p> {
    changes: Vec<OfferChange>,
    measure: crate::render::preview::Measure<'p>,
    markdown: crate::render::preview::MarkdownRows<'p>,
    rows: Option<crate::render::preview::Rows<'p, Vec<u8>>>,
    json: Option<crate::render::preview::JsonRows>,
}

impl<'p> Part<'p> {
    fn new(pol: &'p Policy) -> Self {
        Part {
            changes: Vec::new(),
            measure: crate::render::preview::Measure::new(pol),
            markdown: crate::render::preview::MarkdownRows::new(pol, 2_000),
            rows: None,
            json: None,
        }
    }
}

impl Sink for Part<'_> {
    fn offer(&mut self, change: &OfferChange, prov: &Provenance) {
        self.measure.see(change, &prov.not_listed_in);
        self.markdown.see(change);
        if let Some(r) = &mut self.rows {
            r.see(change);
        }
        if let Some(j) = &mut self.json {
            j.see(change, prov);
        }
        self.changes.push(change.clone());
    }
}

impl ChunkSink for Part<'_> {
    type Out = Self;
    fn done(self) -> Self {
        self
    }
}

/// A run in chunks on several threads (`run_chunks`, what `allot plan` streams) makes the
/// offers of a single run, in the same order, the same preview (counts, holds, exposures,
/// warnings) and, gathered and written a chunk at a time, the same table, Markdown comment
/// (its rows cut to its size) and JSON byte for byte, for chunks of one SKU up to all of them.
#[test]
fn a_run_in_chunks_is_the_run() {
    use crate::render::preview::{
        JsonRows, MarkdownRows, Measure, Rows, json, json_head, markdown, markdown_of, table,
        table_after_rows, write_json_tail,
    };
    let (pol, _) = shared_na();
    let rows: Vec<(String, u64)> = (0..70).map(|i| (format!("S{i:02}"), i % 9)).collect();
    let st = newark_stock(&rows);
    let mut cur = Current::default();
    for i in 0..70 {
        let sku = format!("S{i:02}");
        match i % 7 {
            0 => {
                cur.amazon_fulfilled.insert(sku, "AMAZON_NA".into());
            }
            1 | 2 => {
                cur.listings
                    .insert(sku.clone(), [("DEFAULT".to_string(), 3)].into());
                cur.listed_in.insert(sku, ["US".to_string()].into());
            }
            3 => {
                cur.listings
                    .insert(sku, [("DEFAULT".to_string(), i % 9)].into());
            }
            _ => {}
        }
    }
    for (current, allow_new) in [(Some(&cur), false), (Some(&cur), true), (None, false)] {
        let opts = Options {
            allow_new,
            exposure_kept: Some(crate::render::preview::LIST_LIMIT),
            ..Options::default()
        };
        let one = run_with(&pol, &st, current, opts).unwrap();
        let mut held = Vec::new();
        table(&mut held, &pol, &one).unwrap();
        let mut one_json = Vec::new();
        json(&mut one_json, &pol, &one).unwrap();
        let one_markdown = markdown(&pol, &one, 2_000);
        assert!(one_markdown.contains("rows not shown"), "{one_markdown}");
        for (threads, chunk) in [(1, 1), (2, 1), (3, 4), (2, 7), (2, 1000)] {
            let new = |_: usize| Part::new(&pol);
            let mut m = Measure::new(&pol);
            let mut md = MarkdownRows::new(&pol, 2_000);
            let mut changes = Vec::new();
            let parts = run_chunks(
                &Prepared::new(&pol, &st, current),
                opts,
                Chunks { threads, chunk },
                new,
                |p: Part| {
                    m.absorb(p.measure);
                    md.absorb(p.markdown);
                    changes.extend(p.changes);
                    true
                },
            )
            .unwrap();
            assert_eq!(markdown_of(&parts, &md), one_markdown);
            assert_eq!(changes, one.changes, "threads {threads}, chunk {chunk}");
            assert_eq!(parts.summary, one.summary);
            assert_eq!(parts.exposure, one.exposure);
            assert_eq!(parts.exposed, one.exposed);
            assert_eq!(parts.warnings, one.warnings);
            assert_eq!(parts.skipped, one.skipped);
            assert_eq!(
                (parts.unmatched, parts.skipped_by_rule),
                (one.unmatched, one.skipped_by_rule)
            );
            assert_eq!(parts.listed_where_unknown, one.listed_where_unknown);

            let mut out = Vec::new();
            Rows::start(&mut out, &m).unwrap().finish().unwrap();
            let write = |_: usize| Part {
                rows: Some(Rows::resume(Vec::new(), &m)),
                json: Some(JsonRows::new(&pol)),
                ..Part::new(&pol)
            };
            // The head holds nothing a run counts: it is written before any run.
            let head =
                json_head(&pol, parts.current_known, parts.current_source.as_deref()).unwrap();
            let mut js = head.into_bytes();
            let mut any = false;
            run_chunks(
                &Prepared::new(&pol, &st, current),
                opts,
                Chunks { threads, chunk },
                write,
                |p: Part| {
                    let rows = p.rows.map(|r| r.into_inner().unwrap()).unwrap_or_default();
                    out.extend(rows);
                    let entries = p.json.map(|j| j.finish().unwrap()).unwrap_or_default();
                    JsonRows::write_all(&mut js, &entries, &mut any).unwrap();
                    true
                },
            )
            .unwrap();
            js.extend_from_slice(JsonRows::close(any).as_bytes());
            write_json_tail(&mut js, &parts).unwrap();
            assert_eq!(
                String::from_utf8(js).unwrap(),
                String::from_utf8(one_json.clone()).unwrap(),
                "threads {threads}, chunk {chunk}"
            );
            table_after_rows(&mut out, &m, &parts).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                String::from_utf8(held.clone()).unwrap(),
                "threads {threads}, chunk {chunk}"
            );
        }
    }
}

/// A run in chunks refuses what a single run refuses (here one seller SKU made by two
/// inventory SKUs in different chunks), and a taker that stops early ends the run.
#[test]
fn a_run_in_chunks_fails_and_stops_as_the_run_does() {
    let pol = us_policy_as("SAME");
    let st = stock(&[
        ("A", NEWARK, 1, 0),
        ("B", NEWARK, 1, 0),
        ("C", NEWARK, 2, 0),
    ]);
    let one = run(&pol, &st, None).unwrap_err();
    let new = |_: usize| Part::new(&pol);
    let parts = run_chunks(
        &Prepared::new(&pol, &st, None),
        Options::default(),
        Chunks {
            threads: 2,
            chunk: 1,
        },
        new,
        |_| true,
    )
    .unwrap_err();
    assert_eq!(parts.to_string(), one.to_string());

    let many: Vec<(String, u64)> = (0..500).map(|i| (format!("S{i:03}"), 1)).collect();
    let st = newark_stock(&many);
    let pol = us_policy_as("{sku}-US");
    let mut taken = 0;
    run_chunks(
        &Prepared::new(&pol, &st, None),
        Options::default(),
        Chunks {
            threads: 2,
            chunk: 3,
        },
        new,
        |_| {
            taken += 1;
            taken < 5
        },
    )
    .unwrap();
    assert_eq!(taken, 5);
}

/// A plan saved from a run in chunks (a tally per chunk, added up; each chunk's operations
/// encoded on a worker from the id the first run noted) is the plan built from the preview in
/// memory, byte for byte: the operations, their ids across chunks, the header and the digest.
#[test]
fn a_plan_encoded_in_chunks_is_the_plan_built_in_memory() {
    use crate::plan::{BuildOptions, EmitChoice, PlanFile, Tally};
    let (pol, _) = shared_na();
    let rows: Vec<(String, u64)> = (0..40).map(|i| (format!("S{i:02}"), i % 5)).collect();
    let st = newark_stock(&rows);
    let mut cur = Current::default();
    for i in (0..40).step_by(3) {
        let sku = format!("S{i:02}");
        cur.listings
            .insert(sku.clone(), [("DEFAULT".to_string(), i % 5)].into());
        cur.listed_in.insert(sku, ["US".to_string()].into());
    }
    let build_opts = |all: bool| BuildOptions {
        all,
        created_at: "2026-12-02T09:30:00Z".into(),
        ..crate::plan::tests::opts(EmitChoice::Patch)
    };
    let dir = tempfile::tempdir().unwrap();
    for all in [false, true] {
        let opts = Options {
            allow_new: true,
            drop_steps: true,
            ..Options::default()
        };
        let one = run_with(&pol, &st, Some(&cur), opts).unwrap();
        let built = crate::plan::build(
            &pol.name,
            &pol.seller_id,
            &one.changes,
            &one.summary,
            build_opts(all),
        )
        .unwrap();
        assert!(built.operations.len() > 20, "{}", built.operations.len());
        let in_memory = dir.path().join("one.json");
        crate::plan::write(&built, &in_memory).unwrap();

        // As `allot plan --out` streams it: chunks of 3 SKUs on 2 threads, twice.
        struct Count(Tally);
        impl Sink for Count {
            fn offer(&mut self, change: &OfferChange, _: &Provenance) {
                self.0.see(change);
            }
        }
        impl ChunkSink for Count {
            type Out = Tally;
            fn done(self) -> Tally {
                self.0
            }
        }
        struct Encode(crate::plan::Encoder);
        impl Sink for Encode {
            fn offer(&mut self, change: &OfferChange, _: &Provenance) {
                self.0.see(change);
            }
        }
        impl ChunkSink for Encode {
            type Out = crate::plan::Encoded;
            fn done(self) -> crate::plan::Encoded {
                self.0.finish()
            }
        }
        let mut tally = Tally::new(all);
        let mut first_ids = Vec::new();
        let count = |_: usize| Count(Tally::new(all));
        let pre = run_chunks(
            &Prepared::new(&pol, &st, Some(&cur)),
            opts,
            Chunks {
                threads: 2,
                chunk: 3,
            },
            count,
            |t: Tally| {
                first_ids.push(1 + tally.operations() as u32);
                tally.absorb(t);
                true
            },
        )
        .unwrap();
        let header = tally
            .header(
                &pol.name,
                &pol.seller_id,
                &pre.summary,
                &pol.locations,
                build_opts(all),
            )
            .unwrap();
        let streamed = dir.path().join("chunks.json");
        let mut file = PlanFile::create(&header, &streamed).unwrap();
        let encode = |k: usize| Encode(tally.encoder(first_ids[k]));
        run_chunks(
            &Prepared::new(&pol, &st, Some(&cur)),
            opts,
            Chunks {
                threads: 2,
                chunk: 3,
            },
            encode,
            |e| {
                file.encoded(&e).unwrap();
                true
            },
        )
        .unwrap();
        assert_eq!(file.operations(), built.operations.len() as u64);
        let digest = file.save_if(|_| Ok(())).unwrap();
        assert_eq!(digest, built.digest);
        assert_eq!(
            std::fs::read_to_string(&streamed).unwrap(),
            std::fs::read_to_string(&in_memory).unwrap()
        );
    }
}

/// Issue 11 item 1 (seed 002): each target's pool counts its own locations; buffer, share and
/// cap apply to each pool; `by location` under a target's `from` publishes only its locations.
#[test]
fn each_target_counts_its_own_locations() {
    use crate::check::check_source;
    let src = r#"policy "p"
seller "A2EXAMPLE0SELLER"
marketplaces UK, DE, FR
location uk_wh
location de_wh
location fr_wh
rule "r" {
  match   any
  buffer  1
  cap     25
  publish UK as "{sku}_UK" from uk_wh
  publish DE as "{sku}_DE" from de_wh and fr_wh, FR as "{sku}_FR"
}
"#;
    let checked = check_source(src);
    let policy = checked.policy.expect("checks");
    // Hand-computed: UK 10-1 = 9; DE (20+30)-1 = 49, capped 25; FR (all: 60)-1 = 59 → 25.
    let stock = stock(&[
        ("SKU123", 0, 10, 0),
        ("SKU123", 1, 20, 0),
        ("SKU123", 2, 30, 0),
    ]);
    let preview = run(&policy, &stock, None).unwrap();
    let q = first_quantities(&preview);
    assert_eq!(
        q,
        [
            ("SKU123_UK".to_string(), 9),
            ("SKU123_DE".to_string(), 25),
            ("SKU123_FR".to_string(), 25)
        ]
    );
    // The pool step of each offer is its own pool.
    let pools: Vec<u64> = preview
        .provenance
        .iter()
        .map(|p| p.steps[0].value)
        .collect();
    assert_eq!(pools, [10, 50, 60]);
    // Exposure: 9 + 25 + 25 = 59 published on 60 available (every location some target
    // counts): none.
    assert_eq!(preview.summary.exposure, 0);
}

#[test]
fn by_location_under_a_targets_own_from_publishes_its_locations_only() {
    use crate::check::check_source;
    let src = r#"policy "p"
seller "A1PP0FEH11RW77"
marketplaces US
location newark supply_source "S1"
location austin supply_source "S2"
rule "r" {
  match   any
  publish US by location from newark
  default_channel 0
}
"#;
    let policy = check_source(src).policy.expect("checks");
    let stock = stock(&[("SHOE-1", 0, 3, 0), ("SHOE-1", 1, 7, 0)]);
    let preview = run(&policy, &stock, None).unwrap();
    let ch = channel_quantities(&preview.changes[0]);
    assert_eq!(ch, [("DEFAULT", 0), ("S1", 3)]);
}

/// `quantity 10 once` on US for SKUs "NEW", "SOLD", "ZERO", "SAME", "INACTIVE" (5 in stock each).
fn once_policy() -> (Policy, Stock) {
    let p = Publish {
        fixed: Some(10),
        fixed_once: true,
        targets: vec![target(0, "{sku}", 10_000)],
        ..publish()
    };
    let pol = policy(&["US"], vec![rule("singles", Selector::Any, p)]);
    let st = stock(&[
        ("NEW", NEWARK, 5, 0),
        ("SOLD", NEWARK, 5, 0),
        ("ZERO", NEWARK, 5, 0),
        ("SAME", NEWARK, 5, 0),
        ("INACTIVE", NEWARK, 5, 0),
    ]);
    (pol, st)
}

#[test]
fn once_without_current_listings_writes_the_initial_quantity() {
    let (pol, st) = once_policy();
    let pre = run(&pol, &st, None).unwrap();
    assert!(pre.changes.iter().all(|c| c.is_write()));
    assert!(
        pre.changes
            .iter()
            .all(|c| c.offer.channels[0].quantity == 10)
    );
    assert_eq!(pre.summary.offers_initial_kept, 0);
}

#[test]
fn once_holds_an_offer_amazon_has_a_quantity_for_whatever_its_value() {
    let (pol, st) = once_policy();
    let mut cur = Current::default();
    // Three sold since the first run; sold out; untouched since.
    for (s, q) in [("SOLD", 7), ("ZERO", 0), ("SAME", 10)] {
        cur.listings
            .insert(s.into(), [("DEFAULT".to_string(), q)].into());
        cur.listed_in.insert(s.into(), ["US".to_string()].into());
    }
    // Listed, inactive, its quantity unknown: the initial quantity was never sent.
    cur.listed_in
        .insert("INACTIVE".into(), ["US".to_string()].into());
    for allow_new in [false, true] {
        let opts = Options {
            allow_new,
            ..Options::default()
        };
        let pre = run_with(&pol, &st, Some(&cur), opts).unwrap();
        let by = |s: &str| offer_of(&pre, s);
        for s in ["SOLD", "ZERO", "SAME"] {
            assert_eq!(by(s).hold.as_deref(), Some(&Hold::InitialSent), "{s}");
            assert!(!by(s).is_write());
        }
        assert!(by("INACTIVE").is_write());
        assert_eq!(by("INACTIVE").offer.channels[0].quantity, 10);
        // Not listed at all: held as any new listing is, unless --allow-new.
        if allow_new {
            assert!(by("NEW").is_write());
        } else {
            assert_eq!(by("NEW").hold.as_deref(), Some(&Hold::NotListed));
        }
        assert_eq!(pre.summary.offers_initial_kept, 3);
        assert_eq!(pre.summary.offers_unchanged, 0);
        assert_eq!(
            pre.summary.offers_new + pre.summary.offers_changed,
            1 + u64::from(allow_new)
        );
    }
}

#[test]
fn plain_quantity_still_tops_up_after_a_sale() {
    let (mut pol, st) = once_policy();
    if let Action::Publish(p) = &mut pol.rules[0].action {
        p.fixed_once = false;
    }
    let mut cur = Current::default();
    cur.listings
        .insert("SOLD".into(), [("DEFAULT".to_string(), 7)].into());
    let pre = run(&pol, &st, Some(&cur)).unwrap();
    let c = offer_of(&pre, "SOLD");
    assert!(c.hold.is_none() && c.kind == ChangeKind::Changed);
}

#[test]
fn once_leaves_fba_held_as_fba() {
    let (pol, st) = once_policy();
    let mut cur = Current::default();
    cur.amazon_fulfilled
        .insert("SOLD".into(), "AMAZON_NA".into());
    cur.listings
        .insert("SOLD".into(), [("DEFAULT".to_string(), 7)].into());
    let pre = run(&pol, &st, Some(&cur)).unwrap();
    let c = offer_of(&pre, "SOLD");
    assert_eq!(
        c.hold.as_deref(),
        Some(&Hold::FulfilledByAmazon {
            channel: "AMAZON_NA".into()
        })
    );
    assert_eq!(pre.summary.offers_fulfilled_by_amazon, 1);
    assert_eq!(pre.summary.offers_initial_kept, 0);
}

#[test]
fn once_writes_a_channel_amazon_has_no_quantity_for() {
    // Listed with a quantity for another channel only (say a supply source), none for DEFAULT.
    let (pol, st) = once_policy();
    let mut cur = Current::default();
    cur.listings
        .insert("SOLD".into(), [("OTHER".to_string(), 4)].into());
    cur.listed_in
        .insert("SOLD".into(), ["US".to_string()].into());
    let pre = run(&pol, &st, Some(&cur)).unwrap();
    let c = offer_of(&pre, "SOLD");
    // DEFAULT has no quantity on Amazon: the initial quantity is written.
    assert!(c.is_write());
    assert_eq!(c.offer.channels[0].quantity, 10);
}

/// Issue 11 item 4: `ratio` splits a pool exactly, as shares in two-decimal percents cannot.
#[test]
fn ratio_splits_a_pool_exactly_by_largest_remainder() {
    use super::engine::ratio_split;
    // 10/20/30 of 60: exact (shares of 16.67%/33.33%/50% give 10/19/30).
    assert_eq!(ratio_split(60, &[1, 2, 3]), [10, 20, 30]);
    // 10 by 1:2:3 = 1.67, 3.33, 5: rounded down 1, 3, 5 and the one unit left to 1.67.
    assert_eq!(ratio_split(10, &[1, 2, 3]), [2, 3, 5]);
    // Equal remainders: the first listed first.
    assert_eq!(ratio_split(2, &[1, 1, 1]), [1, 1, 0]);
    assert_eq!(ratio_split(0, &[1, 2]), [0, 0]);
    assert_eq!(ratio_split(7, &[0, 1]), [0, 7]);
    assert_eq!(ratio_split(5, &[0, 0]), [0, 0]);
    // Never more than the pool, whatever the weights.
    for whole in [0u64, 1, 2, 3, 7, 99, 1000, u64::MAX] {
        for w in [&[1u64, 1, 1][..], &[3, 5, 7, 11], &[u64::MAX, 1], &[1]] {
            let parts = ratio_split(whole, w);
            let sum = parts.iter().fold(0u128, |a, &p| a + u128::from(p));
            assert_eq!(sum, u128::from(whole), "{whole} {w:?}");
        }
    }
}

#[test]
fn ratio_targets_publish_their_exact_parts_after_the_buffer() {
    use crate::check::check_source;
    let src = r#"policy "p"
seller "A2EXAMPLE0SELLER"
marketplaces UK, DE, FR
location wh
rule "r" {
  match   any
  buffer  2
  publish UK as "{sku}_UK" ratio 1, DE as "{sku}_DE" ratio 2, FR as "{sku}_FR" ratio 3
}
"#;
    let checked = check_source(src);
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    let policy = checked.policy.expect("checks");
    let stock = stock(&[("A", 0, 62, 0)]);
    let preview = run(&policy, &stock, None).unwrap();
    let q: Vec<u64> = preview
        .changes
        .iter()
        .map(|c| c.offer.channels[0].quantity)
        .collect();
    assert_eq!(q, [10, 20, 30]);
    let last = &preview.provenance[2].steps;
    assert_eq!(last[2].kind, StepKind::Ratio);
    assert_eq!((last[2].param, last[2].value), (Some(3), 30));
    assert_eq!(preview.summary.exposure, 0);
}

/// Issue 11 item 3: a pack offer publishes whole packs (floor), threshold and cap count packs,
/// and the exposure counts units (a 6-pack's quantity times 6).
#[test]
fn packs_publish_whole_packs_and_expose_units() {
    use crate::check::check_source;
    let src = r#"policy "p"
seller "A1PP0FEH11RW77"
marketplaces US
location wh
rule "r" {
  match   any
  publish US, US as "{sku}-6PK" pack 6, US as "{sku}-12PK" pack 12
}
"#;
    let checked = check_source(src);
    let policy = checked.policy.expect("checks");
    let stock = stock(&[("A", 0, 5003, 0), ("B", 0, 12, 0)]);
    let preview = run(&policy, &stock, None).unwrap();
    let q = first_quantities(&preview);
    // 5003 / 6 = 833.8 → 833 (a share of 16.67% would give 834); 12 / 12 = 1 (8.33% gives 0).
    assert_eq!(
        q,
        [
            ("A".to_string(), 5003),
            ("A-6PK".to_string(), 833),
            ("A-12PK".to_string(), 416),
            ("B".to_string(), 12),
            ("B-6PK".to_string(), 2),
            ("B-12PK".to_string(), 1),
        ]
    );
    let steps = &preview.provenance[1].steps;
    assert_eq!(steps[1].kind, StepKind::Pack);
    assert_eq!((steps[1].param, steps[1].value), (Some(6), 833));
    // A: 5003 + 833×6 + 416×12 = 14,993 units on 5003: exposure 9990; B: 12+12+12 on 12: 24.
    let e: Vec<(String, u64, u64)> = preview
        .exposure
        .iter()
        .map(|e| (e.inventory_sku.clone(), e.published, e.exposure))
        .collect();
    assert!(e.contains(&("A".to_string(), 14_993, 9_990)), "{e:?}");
    assert!(e.contains(&("B".to_string(), 36, 24)), "{e:?}");
    // Cap and threshold count packs: 100 units in 6-packs = 16, capped at 10.
    let src = src.replace(
        "  publish US, US as \"{sku}-6PK\" pack 6, US as \"{sku}-12PK\" pack 12",
        "  cap     10\n  publish US as \"{sku}-6PK\" pack 6",
    );
    let policy = check_source(&src).policy.expect("checks");
    let more = super::testkit::stock(&[("C", 0, 100, 0)]);
    let preview = run(&policy, &more, None).unwrap();
    assert_eq!(preview.changes[0].offer.channels[0].quantity, 10);
}

/// Issue 11 item 7: buffer, threshold and cap read per SKU from inventory columns (the
/// min/max imports of Linnworks and InfiPlex); a blank value means none for that SKU.
#[test]
fn buffer_threshold_and_cap_come_from_inventory_columns() {
    use crate::check::check_source;
    let src = r#"policy "p"
seller "A1PP0FEH11RW77"
marketplaces US
location wh
rule "r" {
  match     any
  buffer    column "safety"
  threshold column "min_qty"
  cap       column "max_qty"
  publish   US
}
"#;
    let checked = check_source(src);
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    let policy = checked.policy.expect("checks");
    let csv = "sku,location,on_hand,reserved,safety,min_qty,max_qty\n\
               A,wh,50,0,5,,20\n\
               B,wh,50,0,10%,,\n\
               C,wh,4,0,,5,\n\
               D,wh,9,0,,,\n";
    let locs = [crate::model::Location {
        name: "wh".into(),
        supply_source: None,
    }];
    let read = |text: &str| {
        crate::inventory::read_from(
            "inv.csv",
            text.as_bytes(),
            crate::inventory::Format::Csv,
            &locs,
            Default::default(),
        )
        .unwrap()
    };
    let preview = run(&policy, &read(csv), None).unwrap();
    let q = first_quantities(&preview);
    // A: 50 - 5 = 45, capped at 20. B: 10% of 50 kept back, 45, no cap. C: 4 is below its
    // threshold 5: 0. D: no values: 9.
    assert_eq!(
        q,
        [
            ("A".to_string(), 20),
            ("B".to_string(), 45),
            ("C".to_string(), 0),
            ("D".to_string(), 9)
        ]
    );
    // A value that is not a number fails the run, naming the SKU, the column and the value.
    let bad = csv.replace("A,wh,50,0,5,,20", "A,wh,50,0,5,,twenty");
    let e = run(&policy, &read(&bad), None).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("`A` has `max_qty` = `twenty`"), "{text}");
    // A percent is a buffer's only.
    let bad = csv.replace("A,wh,50,0,5,,20", "A,wh,50,0,5,,20%");
    assert!(run(&policy, &read(&bad), None).is_err());
    // A column no SKU has a value in is refused rather than read as "no cap" everywhere.
    let none = "sku,location,on_hand,reserved,safety,min_qty\nA,wh,5,0,1,1\n";
    let e = run(&policy, &read(none), None).unwrap_err();
    assert!(
        e.to_string()
            .contains("no SKU of the inventory has a value in a column `max_qty`"),
        "{e}"
    );
}

/// Kits: as many as the scarcest component makes, per location where every component has a
/// row; a kit with a component missing from the inventory is missing itself.
#[test]
fn a_kit_has_what_its_scarcest_component_makes() {
    use crate::check::check_source;
    let src = r#"policy "p"
seller "A1PP0FEH11RW77"
marketplaces US
location a
location b
kit "GIFT-1" contains "MUG-1" 2, "CANDLE-1" 1
kit "GIFT-2" contains "MUG-1" 1, "NOPE" 1
rule "gifts" {
  match sku "GIFT-*"
  publish US
}
rule "rest" {
  match any
  skip
}
"#;
    let policy = check_source(src).policy.expect("checks");
    // Location a: mugs 7 → 3 kits, candles 5 → 5: 3. Location b: mugs 9 → 4, no candle row: no
    // kits there. Total 3.
    let mut st = stock(&[
        ("MUG-1", 0, 7, 0),
        ("CANDLE-1", 0, 5, 0),
        ("MUG-1", 1, 9, 0),
    ]);
    st.add_kits(&policy.kits).unwrap();
    let preview = run(&policy, &st, None).unwrap();
    let q = first_quantities(&preview);
    assert_eq!(q, [("GIFT-1".to_string(), 3)]);
    // GIFT-2 has a component missing from the inventory: missing, skipped (on_missing skip).
    assert_eq!(preview.skipped.len(), 1);
    assert_eq!(preview.skipped[0].inventory_sku, "GIFT-2");
    // A kit SKU with rows of its own is refused.
    let mut st = stock(&[("GIFT-1", 0, 1, 0), ("MUG-1", 0, 2, 0)]);
    let e = st.add_kits(&policy.kits).unwrap_err();
    assert!(
        e.contains("has rows of its own and is declared as a kit"),
        "{e}"
    );
}

/// UK and DE (one region) with seller SKUs from the inventory columns `sku_uk` and `sku_de`,
/// DE at half.
fn mapped_policy() -> Policy {
    let p = Publish {
        targets: vec![
            target(0, "{column:sku_uk}", 10_000),
            target(1, "{column:sku_de}", 5_000),
        ],
        ..publish()
    };
    policy(&["UK", "DE"], vec![rule("mapped", Selector::Any, p)])
}

#[test]
fn a_seller_sku_from_an_inventory_column_is_the_skus_value() {
    let pol = mapped_policy();
    let mut st = stock(&[("SKU123", NEWARK, 10, 0)]);
    st.set_attr("SKU123", "sku_uk", "OLD-LISTING-7781").unwrap();
    st.set_attr("SKU123", "sku_de", "DE-7781").unwrap();
    let pre = run(&pol, &st, None).unwrap();
    let offers: Vec<(&str, u64)> = pre
        .changes
        .iter()
        .map(|c| (c.offer.seller_sku.as_str(), c.offer.channels[0].quantity))
        .collect();
    assert_eq!(offers, [("OLD-LISTING-7781", 10), ("DE-7781", 5)]);
    assert!(pre.unmapped.is_empty());
}

#[test]
fn a_sku_without_a_value_gets_no_offer_there_and_is_listed() {
    let pol = mapped_policy();
    let mut st = stock(&[("SKU123", NEWARK, 10, 0), ("SKU124", NEWARK, 4, 0)]);
    st.set_attr("SKU123", "sku_uk", "OLD-LISTING-7781").unwrap();
    // Blank is no value: never a made-up (or empty) seller SKU.
    st.set_attr("SKU123", "sku_de", "  ").unwrap();
    let pre = run(&pol, &st, None).unwrap();
    let skus: Vec<&str> = pre
        .changes
        .iter()
        .map(|c| c.offer.seller_sku.as_str())
        .collect();
    assert_eq!(skus, ["OLD-LISTING-7781"]);
    let unmapped: Vec<(&str, &str, &str, &str)> = pre
        .unmapped
        .iter()
        .map(|u| {
            (
                u.inventory_sku.as_str(),
                u.marketplace.as_str(),
                u.column.as_str(),
                u.rule.as_str(),
            )
        })
        .collect();
    assert_eq!(
        unmapped,
        [
            ("SKU123", "DE", "sku_de", "mapped"),
            ("SKU124", "UK", "sku_uk", "mapped"),
            ("SKU124", "DE", "sku_de", "mapped"),
        ]
    );
}

#[test]
fn a_bad_column_value_is_an_error_naming_the_sku_column_and_value() {
    let pol = mapped_policy();
    let mut st = stock(&[("SKU123", NEWARK, 10, 0)]);
    let long = "L".repeat(41);
    st.set_attr("SKU123", "sku_uk", &long).unwrap();
    st.set_attr("SKU123", "sku_de", "DE-1").unwrap();
    let err = run(&pol, &st, None).unwrap_err();
    assert!(
        matches!(&err.problems[0], SimProblem::BadSellerSku { inventory_sku, column: Some(cv), .. }
            if inventory_sku == "SKU123" && cv.0 == "sku_uk" && cv.1 == long),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("`SKU123`") && text.contains("column `sku_uk`") && text.contains("41"),
        "{text}"
    );
}

#[test]
fn two_skus_with_one_column_value_is_an_error_naming_the_column() {
    let pol = mapped_policy();
    let mut st = stock(&[("SKU123", NEWARK, 10, 0), ("SKU124", NEWARK, 4, 0)]);
    for sku in ["SKU123", "SKU124"] {
        st.set_attr(sku, "sku_uk", "OLD-LISTING-7781").unwrap();
    }
    let err = run(&pol, &st, None).unwrap_err();
    assert!(
        matches!(&err.problems[0], SimProblem::DuplicateSellerSku { seller_sku, first, second, column: Some(c), .. }
            if seller_sku == "OLD-LISTING-7781" && first == "SKU123" && second == "SKU124" && c == "sku_uk"),
        "{err}"
    );
    assert!(err.to_string().contains("column `sku_uk`"), "{err}");
}

#[test]
fn two_columns_with_one_value_in_a_region_are_one_offer_or_refused() {
    // Different columns are different seller SKUs to the checker; when their values meet, the
    // engine sees one offer and refuses it if the quantities differ.
    let pol = mapped_policy();
    let mut st = stock(&[("SKU123", NEWARK, 10, 0)]);
    st.set_attr("SKU123", "sku_uk", "SAME").unwrap();
    st.set_attr("SKU123", "sku_de", "SAME").unwrap();
    let err = run(&pol, &st, None).unwrap_err();
    assert!(
        matches!(&err.problems[0], SimProblem::SharedSkuConflict { seller_sku, .. } if seller_sku == "SAME"),
        "{err}"
    );
}

#[test]
fn explain_finds_the_inventory_sku_of_a_mapped_seller_sku() {
    let pol = mapped_policy();
    let mut st = stock(&[("SKU123", NEWARK, 10, 0), ("SKU124", NEWARK, 4, 0)]);
    st.set_attr("SKU123", "sku_uk", "OLD-LISTING-7781").unwrap();
    st.set_attr("SKU124", "sku_de", "OLD-DE-9").unwrap();
    let src = seller_sku_source(&pol, &st, "OLD-DE-9").unwrap();
    assert_eq!(
        (
            src.inventory_sku.as_str(),
            src.marketplace.as_str(),
            src.template.as_str()
        ),
        ("SKU124", "DE", "{column:sku_de}")
    );
    let src = seller_sku_source(&pol, &st, "OLD-LISTING-7781").unwrap();
    assert_eq!(src.inventory_sku, "SKU123");
    assert!(seller_sku_source(&pol, &st, "SKU123").is_none());
    // The trace says why there is no DE offer.
    let t = explain(&pol, &st, None, "SKU123", Options::default()).unwrap();
    assert!(
        t.outcome
            .contains("none on DE: no value in inventory column `sku_de`"),
        "{}",
        t.outcome
    );
}

#[test]
fn handling_time_and_restock_date_reach_every_channel_of_the_target() {
    use crate::check::check_source;
    let src = r#"policy "p"
seller "A1PP0FEH11RW77"
marketplaces US, CA
location newark supply_source "S1"
location austin supply_source "S2"
rule "shoes" {
  match   sku "SHOE-*"
  handling_time 2
  publish US by location, CA as "{sku}-CA" share 0% handling_time 5 restock_date "2027-01-15"
  default_channel 0
}
rule "rest" {
  match   any
  publish US
}
"#;
    let policy = check_source(src).policy.expect("checks");
    let stock = stock(&[("SHOE-1", 0, 3, 0), ("SHOE-1", 1, 7, 0), ("MUG-1", 0, 4, 0)]);
    let preview = run(&policy, &stock, None).unwrap();
    let ch = |i: usize| -> Vec<(&str, u64, Option<u32>, Option<&str>)> {
        preview.changes[i]
            .offer
            .channels
            .iter()
            .map(|c| {
                (
                    c.channel.as_str(),
                    c.quantity,
                    c.lead_time_to_ship_max_days,
                    c.restock_date.as_deref(),
                )
            })
            .collect()
    };
    // Every location channel gets the target's values; DEFAULT = 0 beside them none.
    assert_eq!(
        ch(0),
        [
            ("DEFAULT", 0, None, None),
            ("S1", 3, Some(2), None),
            ("S2", 7, Some(2), None)
        ]
    );
    // The target's own handling time over the rule's, and its restock date.
    assert_eq!(ch(1), [("DEFAULT", 0, Some(5), Some("2027-01-15"))]);
    // A rule without them: nothing set.
    assert_eq!(ch(2), [("DEFAULT", 4, None, None)]);
}

#[test]
fn an_offer_that_sets_a_handling_time_is_written_even_at_the_same_quantity() {
    use crate::check::check_source;
    let src = "policy \"p\"\nseller \"A1PP0FEH11RW77\"\nmarketplaces US\nlocation newark\nrule \"a\" {\n  match sku \"A-*\"\n  handling_time 3\n  publish US\n}\nrule \"b\" {\n  match any\n  publish US\n}\n";
    let policy = check_source(src).policy.expect("checks");
    let st = stock(&[("A-1", 0, 4, 0), ("A-0", 0, 0, 0), ("B-1", 0, 4, 0)]);
    let mut cur = Current::default();
    for s in ["A-1", "B-1"] {
        cur.listings
            .insert(s.into(), [("DEFAULT".to_string(), 4)].into());
    }
    cur.listings
        .insert("A-0".into(), [("DEFAULT".to_string(), 0)].into());
    let pre = run(&policy, &st, Some(&cur)).unwrap();
    let kinds: Vec<(&str, ChangeKind)> = pre
        .changes
        .iter()
        .map(|c| (c.offer.seller_sku.as_str(), c.kind))
        .collect();
    // The current listings never tell the handling time: "a" is written, "b" is not.
    assert_eq!(
        kinds,
        [
            ("A-1", ChangeKind::Changed),
            ("A-0", ChangeKind::Zeroed),
            ("B-1", ChangeKind::Unchanged)
        ]
    );
    assert!(pre.changes[0].is_write() && !pre.changes[2].is_write());
}

/// A run writes each SKU's offers over the last one's and reuses their buffers (issue 9): no
/// offer may keep anything of an earlier one (channels, handling time, restock date, seller
/// SKU, marketplaces, rule). Each SKU's offers in one run equal those of a run of it alone.
#[test]
fn reused_offers_carry_nothing_of_earlier_ones() {
    use crate::check::check_source;
    let src = r#"policy "p"
seller "A1PP0FEH11RW77"
marketplaces US, CA
location newark supply_source "S1"
location austin supply_source "S2"
rule "shoes" {
  match   sku "SHOE-*"
  handling_time 2
  publish US by location, CA as "{sku}-CA" share 0% handling_time 5 restock_date "2027-01-15"
  default_channel 0
}
rule "mugs" {
  match   sku "MUG-*"
  publish US, CA
}
rule "rest" {
  match   any
  publish CA as "{sku}-LONGER-SELLER-SKU-CA"
}
"#;
    let policy = check_source(src).policy.expect("checks");
    let rows = [
        ("SHOE-1", 0, 3, 0),
        ("SHOE-1", 1, 7, 0),
        ("MUG-1", 0, 4, 0),
        ("X", 1, 9, 0),
        ("SHOE-2", 1, 5, 0),
        ("MUG-2", 0, 1, 0),
        ("SHOE-3", 0, 2, 0),
        ("Y", 0, 6, 0),
        ("MUG-3", 1, 8, 0),
    ];
    let all = super::run_with(&policy, &stock(&rows), None, super::Options::default()).unwrap();
    let (mut alone, mut alone_provenance) = (Vec::new(), Vec::new());
    let mut skus: Vec<&str> = rows.iter().map(|r| r.0).collect();
    skus.dedup();
    for sku in skus {
        let own: Vec<_> = rows.iter().copied().filter(|r| r.0 == sku).collect();
        let one = super::run_with(&policy, &stock(&own), None, super::Options::default()).unwrap();
        alone.extend(one.changes);
        alone_provenance.extend(one.provenance);
    }
    assert_eq!(all.changes.len(), 11);
    assert_eq!(all.changes, alone);
    // The steps too: their lists are reused from offer to offer.
    let lens: std::collections::BTreeSet<usize> =
        all.provenance.iter().map(|p| p.steps.len()).collect();
    assert!(lens.len() > 1, "steps of different lengths: {lens:?}");
    assert_eq!(all.provenance, alone_provenance);
}

/// Keys repeated within one worker's sorted run or across runs are found; unique keys are not.
#[test]
fn repeated_keys_are_found_within_and_across_sorted_runs() {
    let set = |v: &[u64]| v.iter().copied().collect::<HashSet<u64>>();
    assert_eq!(repeated(&[]), None);
    assert_eq!(repeated(&[vec![], vec![1, 2, 9]]), None);
    assert_eq!(repeated(&[vec![1, 1, 4]]), Some(set(&[1])));
    assert_eq!(
        repeated(&[vec![1, 3, 5, 7], vec![2, 3, 6, 7, 7], vec![0, 8]]),
        Some(set(&[3, 7]))
    );
    assert_eq!(
        repeated(&[vec![u64::MAX], vec![u64::MAX]]),
        Some(set(&[u64::MAX]))
    );
}
