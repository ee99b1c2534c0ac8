use super::encode;
use super::*;
use crate::amazon::feeds::{FEED_MAX_BYTES, FEED_MAX_MESSAGES, FeedDocument};
use crate::amazon::request::encode_component;
use crate::model::{ChangeKind, ChannelQty, Offer, OfferChange, Summary};

const UK: &str = "A1F83G8C2ARO7P";
const DE: &str = "A1PA6795UKMFR9";
const US: &str = "ATVPDKIKX0DER";

fn ch(channel: &str, quantity: u64) -> ChannelQty {
    ChannelQty::new(channel, quantity)
}

fn ch_avail(channel: &str, quantity: u64, days: Option<u32>, restock: Option<&str>) -> ChannelQty {
    ChannelQty {
        lead_time_to_ship_max_days: days,
        restock_date: restock.map(str::to_string),
        ..ChannelQty::new(channel, quantity)
    }
}

fn change(sku: &str, region: Region, ids: &[&str], channels: Vec<ChannelQty>) -> OfferChange {
    OfferChange {
        offer: Offer {
            seller_sku: sku.into(),
            region,
            marketplaces: ids.iter().map(|i| i.to_string()).collect(),
            marketplace_ids: ids.iter().map(|i| i.to_string()).collect(),
            channels,
            inventory_sku: sku.into(),
            rule: "r".into(),
        },
        current: None,
        kind: ChangeKind::New,
        hold: None,
    }
}

/// Build options for tests: the inputs named and digested, a fixed time (also sim's tests').
pub(crate) fn opts(emit: EmitChoice) -> BuildOptions {
    BuildOptions {
        emit,
        patch_op: PatchOp::Merge,
        all: false,
        issue_locale: "en_US".into(),
        inputs: Inputs {
            more_policies: Vec::new(),
            more_inventory: Vec::new(),
            policy: InputFile {
                path: "p.allot".into(),
                sha256: "00".into(),
            },
            inventory: InputFile {
                path: "inv.csv".into(),
                sha256: "11".into(),
            },
            current: None,
        },
        created_at: "2026-11-23T09:30:00Z".into(),
    }
}

fn plan_of(changes: &[OfferChange]) -> Plan {
    build(
        "p",
        "A2EXAMPLE",
        changes,
        &Summary::default(),
        opts(EmitChoice::Patch),
    )
    .unwrap()
}

#[test]
fn only_changing_offers_unless_all() {
    let mut unchanged = change("B", Region::EU, &[UK], vec![ch("DEFAULT", 3)]);
    unchanged.kind = ChangeKind::Unchanged;
    unchanged.current = Some(vec![ch("DEFAULT", 3)]);
    let mut zeroed = change("C", Region::EU, &[UK], vec![ch("DEFAULT", 0)]);
    zeroed.kind = ChangeKind::Zeroed;
    let changes = vec![
        change("A", Region::EU, &[UK, DE], vec![ch("DEFAULT", 5)]),
        unchanged,
        zeroed,
    ];
    let plan = plan_of(&changes);
    let skus: Vec<_> = plan
        .operations
        .iter()
        .map(|o| o.seller_sku.as_str())
        .collect();
    assert_eq!(skus, ["A", "C"]);
    assert_eq!(
        plan.operations.iter().map(|o| o.id).collect::<Vec<_>>(),
        [1, 2]
    );
    let mut o = opts(EmitChoice::Patch);
    o.all = true;
    let all = build("p", "S", &changes, &Summary::default(), o).unwrap();
    assert_eq!(all.operations.len(), 3);
    assert_eq!(all.operations[1].previous, Some(vec![ch("DEFAULT", 3)]));
}

#[test]
fn one_operation_per_seller_sku_per_region() {
    // The same SKU reached twice with the same channels (e.g. two targets) is written once,
    // naming every marketplace; the same SKU in another region is its own write.
    let changes = vec![
        change("A", Region::EU, &[UK], vec![ch("DEFAULT", 5)]),
        change("A", Region::EU, &[DE, UK], vec![ch("DEFAULT", 5)]),
        change("A", Region::NA, &[US], vec![ch("DEFAULT", 9)]),
    ];
    let plan = plan_of(&changes);
    assert_eq!(plan.operations.len(), 2);
    assert_eq!(plan.operations[0].marketplace_ids, [UK, DE]);
    assert_eq!(plan.operations[1].region, Region::NA);
}

#[test]
fn a_seller_sku_written_twice_differently_is_refused() {
    let changes = vec![
        change("A", Region::EU, &[UK], vec![ch("DEFAULT", 5)]),
        change("A", Region::EU, &[DE], vec![ch("DEFAULT", 6)]),
    ];
    let err = build(
        "p",
        "S",
        &changes,
        &Summary::default(),
        opts(EmitChoice::Patch),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, PlanError::SkuConflict { .. }), "{msg}");
    assert!(
        msg.contains("[DEFAULT = 5]") && msg.contains("[DEFAULT = 6]"),
        "{msg}"
    );

    // Even when the first of the two is unchanged (and so not written by itself).
    let mut first = change("A", Region::EU, &[UK], vec![ch("DEFAULT", 5)]);
    first.kind = ChangeKind::Unchanged;
    let changes = vec![
        first,
        change("A", Region::EU, &[DE], vec![ch("DEFAULT", 6)]),
    ];
    assert!(matches!(
        build(
            "p",
            "S",
            &changes,
            &Summary::default(),
            opts(EmitChoice::Patch)
        ),
        Err(PlanError::SkuConflict { .. })
    ));
}

#[test]
fn invalid_offers_are_refused_not_planned() {
    let empty = change("A", Region::EU, &[UK], vec![]);
    let err = build(
        "p",
        "S",
        &[empty],
        &Summary::default(),
        opts(EmitChoice::Patch),
    );
    assert!(matches!(err, Err(PlanError::InvalidOffer { .. })));
    let dup = change(
        "A",
        Region::EU,
        &[UK],
        vec![ch("DEFAULT", 1), ch("DEFAULT", 2)],
    );
    let err = build(
        "p",
        "S",
        &[dup],
        &Summary::default(),
        opts(EmitChoice::Patch),
    );
    assert!(err.unwrap_err().to_string().contains("listed twice"));
    let nowhere = change("A", Region::EU, &[], vec![ch("DEFAULT", 1)]);
    assert!(
        build(
            "p",
            "S",
            &[nowhere],
            &Summary::default(),
            opts(EmitChoice::Patch)
        )
        .is_err()
    );
    assert!(matches!(
        build("p", " ", &[], &Summary::default(), opts(EmitChoice::Patch)),
        Err(PlanError::NoSellerId)
    ));
}

#[test]
fn a_quantity_above_amazons_maximum_is_refused_with_its_place() {
    let at_max = change("A", Region::EU, &[UK], vec![ch("DEFAULT", MAX_QUANTITY)]);
    let plan = build(
        "p",
        "S",
        &[at_max],
        &Summary::default(),
        opts(EmitChoice::Patch),
    );
    assert!(plan.is_ok());
    let over = change(
        "A",
        Region::EU,
        &[UK],
        vec![ch("DEFAULT", MAX_QUANTITY + 1)],
    );
    let err = build(
        "p",
        "S",
        &[over],
        &Summary::default(),
        opts(EmitChoice::Patch),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        PlanError::QuantityTooLarge {
            quantity: 2_147_483_648,
            ..
        }
    ));
    assert!(
        err.to_string()
            .contains("Amazon accepts at most 2147483647"),
        "{err}"
    );
}

#[test]
fn location_channels_keep_default_zero() {
    let changes = vec![change(
        "MUG",
        Region::NA,
        &[US],
        vec![ch("DEFAULT", 0), ch("newark", 4), ch("reno", 7)],
    )];
    let plan = plan_of(&changes);
    let req = encode::patch_request(&plan, &plan.operations[0], false);
    assert_eq!(
        req.body["patches"][0]["value"],
        serde_json::json!([
            {"fulfillment_channel_code": "DEFAULT", "quantity": 0},
            {"fulfillment_channel_code": "newark", "quantity": 4},
            {"fulfillment_channel_code": "reno", "quantity": 7},
        ])
    );
}

#[test]
fn auto_emit_switches_to_feeds_above_the_threshold() {
    let many = |n: usize| -> Vec<OfferChange> {
        (0..n)
            .map(|i| change(&format!("S{i}"), Region::EU, &[UK], vec![ch("DEFAULT", 1)]))
            .collect()
    };
    let at = build(
        "p",
        "S",
        &many(AUTO_FEED_THRESHOLD),
        &Summary::default(),
        opts(EmitChoice::Auto),
    )
    .unwrap();
    assert_eq!(at.emit, Emit::Patch);
    let above = build(
        "p",
        "S",
        &many(AUTO_FEED_THRESHOLD + 1),
        &Summary::default(),
        opts(EmitChoice::Auto),
    )
    .unwrap();
    assert_eq!(above.emit, Emit::Feed);
    let forced = build(
        "p",
        "S",
        &many(1),
        &Summary::default(),
        opts(EmitChoice::Feed),
    )
    .unwrap();
    assert_eq!(forced.emit, Emit::Feed);
}

#[test]
fn sku_is_one_percent_encoded_path_segment() {
    let plan = plan_of(&[change(
        "BLUE/MUG #1 50%+ä",
        Region::EU,
        &[DE, UK],
        vec![ch("DEFAULT", 2)],
    )]);
    let req = encode::patch_request(&plan, &plan.operations[0], true);
    assert_eq!(req.method, "PATCH");
    assert_eq!(
        req.path,
        "/listings/2021-08-01/items/A2EXAMPLE/BLUE%2FMUG%20%231%2050%25%2B%C3%A4"
    );
    assert_eq!(
        req.path_and_query(),
        format!(
            "{}?marketplaceIds={DE}&issueLocale=en_US&mode=VALIDATION_PREVIEW",
            req.path
        )
    );
    assert_eq!(encode_component("a-b.c_d~e"), "a-b.c_d~e");
}

#[test]
fn dot_skus_stay_one_path_segment() {
    // `.` and `..` sent as-is are dot-segments: the request would reach `…/items/A2EXAMPLE/`.
    // (`build` plans such SKUs as feeds; the encoder still never emits a bare dot-segment.)
    for (sku, encoded) in [(".", "%2E"), ("..", "%2E%2E"), ("a..b", "a..b")] {
        let mut plan = plan_of(&[change("X", Region::EU, &[DE], vec![ch("DEFAULT", 1)])]);
        plan.operations[0].seller_sku = sku.into();
        let req = encode::patch_request(&plan, &plan.operations[0], false);
        assert_eq!(
            req.path,
            format!("/listings/2021-08-01/items/A2EXAMPLE/{encoded}")
        );
    }
}

#[test]
fn digest_round_trip_and_tamper_detection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let plan = plan_of(&[change("A", Region::EU, &[UK], vec![ch("DEFAULT", 5)])]);
    write(&plan, &path).unwrap();
    assert_eq!(read(&path).unwrap(), plan);
    // No temporary file left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replace("\"quantity\":5", "\"quantity\":500");
    assert_ne!(edited, text);
    let err = parse(&edited, &path).unwrap_err();
    assert!(matches!(err, PlanError::DigestMismatch { .. }), "{err}");

    // Reformatting is not an edit: the digest is over canonical JSON.
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(parse(&v.to_string(), &path).unwrap(), plan);
}

#[test]
fn unknown_fields_of_a_known_major_are_ignored_but_covered_by_the_digest() {
    let plan = plan_of(&[change("A", Region::EU, &[UK], vec![ch("DEFAULT", 5)])]);
    let mut v = serde_json::to_value(&plan).unwrap();
    v["format_version"] = "1.7".into();
    v["operations"][0]["handling_days"] = 2.into();
    v["future"] = serde_json::json!({"x": [1, 2]});
    v["digest"] = compute_digest(&v).into();
    let read_back = parse(&v.to_string(), Path::new("p.json")).unwrap();
    assert_eq!(read_back.operations, plan.operations);
    // ...and editing an unknown field is still caught.
    v["future"]["x"][0] = 9.into();
    assert!(matches!(
        parse(&v.to_string(), Path::new("p.json")),
        Err(PlanError::DigestMismatch { .. })
    ));
}

#[test]
fn foreign_versions_and_corrupt_files_are_clear_errors() {
    let plan = plan_of(&[]);
    let mut v = serde_json::to_value(&plan).unwrap();
    v["format_version"] = "2.0".into();
    v["digest"] = compute_digest(&v).into();
    let err = parse(&v.to_string(), Path::new("p.json")).unwrap_err();
    assert!(matches!(err, PlanError::UnsupportedVersion { ref found, .. } if found == "2.0"));
    assert!(err.to_string().contains("1.x"), "{err}");

    for (text, needle) in [
        ("{\"format_version\": \"1.0\", ", "invalid JSON at line 1"),
        ("[1]", "not a JSON object"),
        ("{\"digest\": \"x\"}", "no `format_version`"),
        ("{\"format_version\": 1}", "not a string"),
        ("{\"format_version\": \"1.0\"}", "no `digest`"),
    ] {
        let err = parse(text, Path::new("p.json")).unwrap_err();
        assert!(err.to_string().contains(needle), "{text}: {err}");
    }

    // Digest right, but the content breaks the format (a field of the wrong type).
    let mut v = serde_json::to_value(&plan).unwrap();
    v["emit"] = "carrier-pigeon".into();
    v["digest"] = compute_digest(&v).into();
    let err = parse(&v.to_string(), Path::new("p.json")).unwrap_err();
    assert!(
        err.to_string().contains("does not match plan format 1.0"),
        "{err}"
    );
    // The same with a field 100,000 characters long: its value is not quoted whole.
    let mut v = serde_json::to_value(&plan).unwrap();
    v["emit"] = "x".repeat(100_000).into();
    v["digest"] = compute_digest(&v).into();
    let err = parse(&v.to_string(), Path::new("p.json")).unwrap_err();
    assert!(
        err.to_string().len() < 4_000,
        "{} bytes",
        err.to_string().len()
    );
    assert!(err.to_string().contains("characters cut"), "{err}");

    // Digest right, but the invariants broken (duplicate ids).
    let mut p = plan_of(&[
        change("A", Region::EU, &[UK], vec![ch("DEFAULT", 1)]),
        change("B", Region::EU, &[UK], vec![ch("DEFAULT", 1)]),
    ]);
    p.operations[1].id = 1;
    seal(&mut p);
    let err = parse(&serde_json::to_string(&p).unwrap(), Path::new("p.json")).unwrap_err();
    assert!(err.to_string().contains("used twice"), "{err}");

    let missing = read(Path::new("/nonexistent/plan.json")).unwrap_err();
    assert!(matches!(missing, PlanError::Read { .. }));
}

#[test]
fn write_refuses_a_stale_digest_and_keeps_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let mut plan = plan_of(&[change("A", Region::EU, &[UK], vec![ch("DEFAULT", 5)])]);
    write(&plan, &path).unwrap();
    plan.operations[0].channels[0].quantity = 6;
    assert!(matches!(write(&plan, &path), Err(PlanError::Unsealed)));
    assert_eq!(read(&path).unwrap().operations[0].channels[0].quantity, 5);
    seal(&mut plan);
    write(&plan, &path).unwrap();
    assert_eq!(read(&path).unwrap().operations[0].channels[0].quantity, 6);
    assert!(matches!(
        write(&plan, &dir.path().join("no/such/dir/plan.json")),
        Err(PlanError::Write { .. })
    ));
}

#[test]
fn check_inputs_lists_every_changed_or_vanished_file() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.allot");
    let inventory = dir.path().join("inv.csv");
    let current = dir.path().join("current.json");
    std::fs::write(&policy, "policy").unwrap();
    std::fs::write(&inventory, "sku,qty\n").unwrap();
    std::fs::write(&current, "{}").unwrap();
    let mut o = opts(EmitChoice::Patch);
    o.inputs = Inputs {
        more_policies: Vec::new(),
        more_inventory: Vec::new(),
        policy: digest_inputs(&policy).unwrap(),
        inventory: digest_inputs(&inventory).unwrap(),
        current: Some(digest_inputs(&current).unwrap()),
    };
    let plan = build("p", "S", &[], &Summary::default(), o).unwrap();
    check_inputs(&plan).unwrap();
    std::fs::write(&inventory, "sku,qty\nA,1\n").unwrap();
    std::fs::remove_file(&current).unwrap();
    let err = check_inputs(&plan).unwrap_err().to_string();
    assert!(
        err.contains("inventory file") && err.contains("changed"),
        "{err}"
    );
    assert!(
        err.contains("current listings file") && err.contains("is gone"),
        "{err}"
    );
    assert!(!err.contains("policy file"), "{err}");
}

#[test]
fn every_inventory_is_checked_but_stdin_is_said_to_be_unverifiable() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.allot");
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    for f in [&policy, &a, &b] {
        std::fs::write(f, "x").unwrap();
    }
    let mut o = opts(EmitChoice::Patch);
    o.inputs = Inputs {
        more_policies: Vec::new(),
        policy: digest_inputs(&policy).unwrap(),
        inventory: digest_inputs(&a).unwrap(),
        more_inventory: vec![
            digest_inputs(&b).unwrap(),
            digest_bytes(InputFile::STDIN, b"sku,location,on_hand\n"),
        ],
        current: None,
    };
    let plan = build("p", "S", &[], &Summary::default(), o).unwrap();
    // Written only when there is more than one inventory, and read back.
    let text = serde_json::to_string(&plan).unwrap();
    assert!(text.contains("\"more_inventory\":[{\"path\""), "{text}");
    check_inputs(&plan).unwrap();
    let notes = unverifiable(&plan.inputs);
    assert_eq!(notes.len(), 1);
    assert!(notes[0].contains("read from standard input"), "{notes:?}");
    std::fs::write(&b, "y").unwrap();
    let err = check_inputs(&plan).unwrap_err().to_string();
    assert!(
        err.contains("inventory file") && err.contains("b.csv"),
        "{err}"
    );
    let mut one = plan.inputs.clone();
    one.more_inventory.clear();
    assert!(
        !serde_json::to_string(&one)
            .unwrap()
            .contains("more_inventory")
    );
    assert!(unverifiable(&one).is_empty());
}

#[test]
fn digest_inputs_is_sha256_of_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x");
    std::fs::write(&f, "abc").unwrap();
    assert_eq!(
        digest_inputs(&f).unwrap().sha256,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(digest_inputs(&dir.path().join("missing")).is_err());
}

#[test]
fn canonical_json_sorts_keys_at_every_level() {
    let v: Value =
        serde_json::from_str(r#"{"b": {"z": 1, "a": [ {"y": "é", "x": null} ]}, "a": 2}"#).unwrap();
    assert_eq!(
        canonical_json(&v),
        r#"{"a":2,"b":{"a":[{"x":null,"y":"é"}],"z":1}}"#
    );
}

fn feed_plan(n: usize, channels: usize) -> Plan {
    let changes: Vec<OfferChange> = (0..n)
        .map(|i| {
            let mut chans = vec![ch("DEFAULT", 0)];
            chans.extend(
                (1..channels).map(|c| ch(&format!("SUPPLY-SOURCE-{c:04}-XXXXXXXXXXXXXXXX"), 7)),
            );
            change(&format!("SKU-{i:06}"), Region::NA, &[US], chans)
        })
        .collect();
    build(
        "p",
        "A2EXAMPLE",
        &changes,
        &Summary::default(),
        opts(EmitChoice::Feed),
    )
    .unwrap()
}

fn check_docs(plan: &Plan, docs: &[FeedDocument], max_msgs: usize, max_bytes: usize) {
    let mut ids = Vec::new();
    for d in docs {
        let bytes = serde_json::to_vec(&d.body).unwrap().len();
        let msgs = d.body["messages"].as_array().unwrap();
        assert!(bytes <= max_bytes, "{bytes} > {max_bytes}");
        assert!(!msgs.is_empty() && msgs.len() <= max_msgs);
        let msg_ids: Vec<u32> = msgs
            .iter()
            .map(|m| m["messageId"].as_u64().unwrap() as u32)
            .collect();
        assert_eq!(msg_ids, d.operation_ids);
        ids.extend(msg_ids);
    }
    let all: Vec<u32> = plan.operations.iter().map(|o| o.id).collect();
    assert_eq!(ids, all, "every operation once, in order");
}

#[test]
fn feeds_split_at_25000_messages() {
    let plan = feed_plan(FEED_MAX_MESSAGES + 1, 1);
    let docs = encode::feed_documents(&plan).unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].operation_ids.len(), FEED_MAX_MESSAGES);
    assert_eq!(docs[1].operation_ids, [FEED_MAX_MESSAGES as u32 + 1]);
    check_docs(&plan, &docs, FEED_MAX_MESSAGES, FEED_MAX_BYTES);
}

#[test]
fn feeds_split_at_10_mib_measured_on_the_bytes() {
    // ~60 channels of ~60 bytes: ~3.7 KB a message, so ~2,800 messages fill 10 MiB.
    let plan = feed_plan(3_500, 60);
    let docs = encode::feed_documents(&plan).unwrap();
    assert_eq!(docs.len(), 2);
    let first = serde_json::to_vec(&docs[0].body).unwrap().len();
    // Full: the next message would not have fit.
    let one = serde_json::to_vec(&docs[1].body["messages"][0])
        .unwrap()
        .len();
    assert!(first + one + 1 > FEED_MAX_BYTES, "{first} + {one}");
    check_docs(&plan, &docs, FEED_MAX_MESSAGES, FEED_MAX_BYTES);
}

#[test]
fn feed_split_is_exact_at_small_limits() {
    let plan = feed_plan(10, 1);
    for max_bytes in [320, 400, 555, 1000, 5000] {
        for max_msgs in [1, 2, 3, 10] {
            let docs = encode::feed_documents_with_limits(&plan, max_msgs, max_bytes).unwrap();
            check_docs(&plan, &docs, max_msgs, max_bytes);
            // Greedy: each document but the last could not take the next message.
            for w in docs.windows(2) {
                let len = serde_json::to_vec(&w[0].body).unwrap().len();
                let next = serde_json::to_vec(&w[1].body["messages"][0]).unwrap().len();
                assert!(
                    w[0].operation_ids.len() == max_msgs || len + 1 + next > max_bytes,
                    "{max_bytes}/{max_msgs}"
                );
            }
        }
    }
    assert!(matches!(
        encode::feed_documents_with_limits(&plan, 10, 300),
        Err(PlanError::MessageTooLarge { .. })
    ));
}

#[test]
fn feeds_are_per_region_with_the_regions_marketplaces() {
    let plan = plan_of(&[
        change("A", Region::EU, &[UK], vec![ch("DEFAULT", 1)]),
        change("B", Region::NA, &[US], vec![ch("DEFAULT", 1)]),
        change("C", Region::EU, &[DE, UK], vec![ch("DEFAULT", 1)]),
    ]);
    let docs = encode::feed_documents(&plan).unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!((docs[0].region, docs[1].region), (Region::NA, Region::EU));
    assert_eq!(docs[1].marketplace_ids, [UK, DE]);
    assert_eq!(docs[1].operation_ids, [1, 3]);
    assert_eq!(docs[0].body["header"]["sellerId"], "A2EXAMPLE");
    assert!(encode::feed_documents(&plan_of(&[])).unwrap().is_empty());

    let ids: Vec<String> = (0..26).map(|i| format!("M{i}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let wide = plan_of(&[change("A", Region::EU, &refs, vec![ch("DEFAULT", 1)])]);
    assert!(matches!(
        encode::feed_documents(&wide),
        Err(PlanError::TooManyMarketplaces { count: 26, .. })
    ));
}

#[test]
fn offer_changes_rebuild_the_preview_from_a_plan() {
    let mut changed = change("A", Region::EU, &[UK, DE], vec![ch("DEFAULT", 5)]);
    changed.current = Some(vec![ch("DEFAULT", 2)]);
    let mut zeroed = change("B", Region::EU, &[UK], vec![ch("DEFAULT", 0), ch("x", 0)]);
    zeroed.current = Some(vec![ch("DEFAULT", 2)]);
    let mut same = change("C", Region::EU, &[UK], vec![ch("x", 1), ch("DEFAULT", 0)]);
    same.current = Some(vec![ch("DEFAULT", 0), ch("x", 1)]);
    let fresh = change("D", Region::EU, &["CUSTOM-ID"], vec![ch("DEFAULT", 0)]);
    let mut o = opts(EmitChoice::Patch);
    o.all = true;
    let plan = build(
        "p",
        "S",
        &[changed, zeroed, same, fresh],
        &Summary::default(),
        o,
    )
    .unwrap();
    let back = offer_changes(&plan);
    let kinds: Vec<ChangeKind> = back.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            ChangeKind::Changed,
            ChangeKind::Zeroed,
            ChangeKind::Unchanged,
            ChangeKind::New
        ]
    );
    assert_eq!(*back[0].offer.marketplaces, ["UK", "DE"]);
    assert_eq!(*back[3].offer.marketplaces, ["CUSTOM-ID"]);
    assert_eq!(back[0].current, Some(vec![ch("DEFAULT", 2)]));
    assert_eq!(&*back[0].offer.rule, "r");
}

/// A plan's JSON after `edit`, with a digest that matches the edit (so only the rules refuse it).
fn resealed(plan: &Plan, edit: impl FnOnce(&mut Value)) -> String {
    let mut v = serde_json::to_value(plan).unwrap();
    edit(&mut v);
    v["digest"] = compute_digest(&v).into();
    v.to_string()
}

fn parse_err(text: &str) -> String {
    parse(text, Path::new("p.json")).unwrap_err().to_string()
}

#[test]
fn duplicate_keys_are_refused_not_read_as_the_last() {
    let plan = plan_of(&[change("A", Region::EU, &[UK], vec![ch("DEFAULT", 999)])]);
    let text = serde_json::to_string(&plan).unwrap();
    let one = r#"{"channel":"DEFAULT","quantity":999}"#;
    assert!(text.contains(one));
    // The digest is right for what serde_json keeps (999); a reviewer's tool may show 10.
    let doubled = text.replace(one, r#"{"channel":"DEFAULT","quantity":10,"quantity":999}"#);
    let err = parse_err(&doubled);
    assert!(
        err.contains("`operations[0].channels[0].quantity` appears twice"),
        "{err}"
    );
    // At the top level too.
    let doubled = text.replacen("{", r#"{"emit":"feed","#, 1);
    assert!(parse_err(&doubled).contains("`emit` appears twice"));
    // Equal keys in different objects are fine.
    assert_eq!(parse(&text, Path::new("p.json")).unwrap(), plan);
}

#[test]
fn format_version_must_be_major_dot_minor_digits() {
    let plan = plan_of(&[]);
    for bad in ["1", "1.0.0", "1.x", "1.", ".0", "01a.0", " 1.0"] {
        let err = parse_err(&resealed(&plan, |v| v["format_version"] = bad.into()));
        assert!(err.contains("MAJOR.MINOR"), "{bad}: {err}");
    }
    for good in ["1.0", "1.12"] {
        assert!(
            parse(
                &resealed(&plan, |v| v["format_version"] = good.into()),
                Path::new("p")
            )
            .is_ok()
        );
    }
}

#[test]
fn created_at_in_the_future_is_refused() {
    let plan = plan_of(&[]);
    let at = |d: time::Duration| {
        (time::OffsetDateTime::now_utc() + d)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    // Within the clock-skew allowance: accepted.
    let text = resealed(&plan, |v| {
        v["created_at"] = at(time::Duration::minutes(2)).into()
    });
    assert!(parse(&text, Path::new("p")).is_ok());
    let text = resealed(&plan, |v| {
        v["created_at"] = at(time::Duration::hours(24)).into()
    });
    let err = parse_err(&text);
    assert!(
        err.contains("`created_at`") && err.contains("future"),
        "{err}"
    );
    let err = parse_err(&resealed(&plan, |v| v["created_at"] = "yesterday".into()));
    assert!(err.contains("not an RFC 3339 time"), "{err}");
}

#[test]
fn seller_skus_breaking_amazons_rules_are_refused_with_their_operation() {
    let plan = plan_of(&[
        change("A", Region::EU, &[UK], vec![ch("DEFAULT", 1)]),
        change("B", Region::EU, &[UK], vec![ch("DEFAULT", 1)]),
    ]);
    let long = "L".repeat(41);
    let err = parse_err(&resealed(&plan, |v| {
        v["operations"][1]["seller_sku"] = long.clone().into()
    }));
    assert!(
        err.contains("operation 2") && err.contains("`seller_sku` is 41 characters"),
        "{err}"
    );
    // 40 characters (multi-byte ones counted as one) are fine.
    let forty = "é".repeat(40);
    assert!(
        parse(
            &resealed(&plan, |v| v["operations"][1]["seller_sku"] = forty.into()),
            Path::new("p")
        )
        .is_ok()
    );
    let err = parse_err(&resealed(&plan, |v| {
        v["operations"][0]["seller_sku"] = "A\nB".into()
    }));
    assert!(
        err.contains("operation 1 (`A\\nB`)") && err.contains("control character"),
        "{err}"
    );
}

#[test]
fn a_marketplace_of_another_region_is_refused() {
    let plan = plan_of(&[change("A", Region::EU, &[UK], vec![ch("DEFAULT", 1)])]);
    let err = parse_err(&resealed(&plan, |v| {
        v["operations"][0]["marketplace_ids"] = serde_json::json!([UK, US])
    }));
    assert!(
        err.contains("operation 1") && err.contains("`marketplace_ids` names ATVPDKIKX0DER (US)"),
        "{err}"
    );
    let err = parse_err(&resealed(&plan, |v| {
        v["operations"][0]["region"] = "FE".into()
    }));
    assert!(err.contains("`region` is FE"), "{err}");
    // A marketplace declared in a policy (not built in) cannot be checked and is kept.
    let text = resealed(&plan, |v| {
        v["operations"][0]["marketplace_ids"] = serde_json::json!([UK, "A1234567890"])
    });
    assert!(parse(&text, Path::new("p")).is_ok());
}

#[test]
fn dot_seller_skus_are_planned_as_feeds_or_refused_for_patch() {
    let changes = vec![
        change(
            "A-1",
            Region::NA,
            &["ATVPDKIKX0DER"],
            vec![ch("DEFAULT", 3)],
        ),
        change("..", Region::NA, &["ATVPDKIKX0DER"], vec![ch("DEFAULT", 2)]),
    ];
    let p = build(
        "p",
        "A2EXAMPLE",
        &changes,
        &Summary::default(),
        opts(EmitChoice::Auto),
    )
    .unwrap();
    assert_eq!(p.emit, Emit::Feed);
    let e = build(
        "p",
        "A2EXAMPLE",
        &changes,
        &Summary::default(),
        opts(EmitChoice::Patch),
    )
    .unwrap_err();
    assert!(
        matches!(e, PlanError::SkuNotAddressable { ref seller_sku } if seller_sku == ".."),
        "{e}"
    );
    // Without such a SKU, auto stays with patches.
    let p = build(
        "p",
        "A2EXAMPLE",
        &changes[..1],
        &Summary::default(),
        opts(EmitChoice::Auto),
    )
    .unwrap();
    assert_eq!(p.emit, Emit::Patch);
}

// ---- Streaming write and read ----

/// A plan with every optional part: locations, several policies, current listings, SKUs that
/// need escapes, summary counts that are only written above 0.
fn rich_plan() -> Plan {
    let mut a = change(
        "Tasse-Größe-M \"quoted\" back\\slash ✓",
        Region::EU,
        &[UK, DE],
        vec![ch("DEFAULT", 0), ch("newark-dc", 40)],
    );
    a.current = Some(vec![ch("DEFAULT", 3), ch("reno", 2)]);
    a.offer.rule = "rule\twith tab and \u{1} control".into();
    a.offer.inventory_sku = "日本-1".into();
    let b = change("B/2 #50%", Region::NA, &[US], vec![ch("DEFAULT", 7)]);
    let mut o = opts(EmitChoice::Feed);
    o.inputs.more_policies = vec![InputFile {
        path: "more/ü.allot".into(),
        sha256: "22".into(),
    }];
    o.inputs.current = Some(InputFile {
        path: "current.json".into(),
        sha256: "33".into(),
    });
    let summary = Summary {
        offers_new: 1,
        offers_fulfilled_by_amazon: 2,
        ..Summary::default()
    };
    let mut plan = build("p + q", "A2EXAMPLE", &[a, b], &summary, o).unwrap();
    plan.locations = vec![
        crate::model::Location {
            name: "newark".into(),
            supply_source: Some("newark-dc".into()),
        },
        crate::model::Location {
            name: "home".into(),
            supply_source: None,
        },
    ];
    seal(&mut plan);
    plan
}

#[test]
fn streaming_writer_digest_is_the_canonical_digest() {
    let dir = tempfile::tempdir().unwrap();
    for plan in [
        plan_of(&[]),
        plan_of(&[change("A", Region::EU, &[UK], vec![ch("DEFAULT", 5)])]),
        rich_plan(),
    ] {
        let path = dir.path().join("plan.json");
        let digest = write_streaming(&plan.header(), plan.operations.iter(), &path).unwrap();
        assert_eq!(
            digest,
            compute_digest(&serde_json::to_value(&plan).unwrap())
        );
        assert_eq!(digest, plan.digest);
        // The header as serde_json's pretty print of it (fields in the struct's order, which
        // is the file's: locations before operations), then one operation per line in its
        // canonical form, then the digest.
        let text = std::fs::read_to_string(&path).unwrap();
        let header = serde_json::to_string_pretty(&plan.header()).unwrap();
        let mut expected = format!("{},\n  \"operations\": [", header.trim_end_matches("\n}"));
        for (i, op) in plan.operations.iter().enumerate() {
            expected.push_str(if i == 0 { "\n    " } else { ",\n    " });
            expected.push_str(&canonical_json(&serde_json::to_value(op).unwrap()));
        }
        expected.push_str(if plan.operations.is_empty() {
            "]"
        } else {
            "\n  ]"
        });
        expected.push_str(&format!(",\n  \"digest\": \"{}\"\n}}\n", plan.digest));
        assert_eq!(text, expected);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            serde_json::to_value(&plan).unwrap()
        );
        assert_eq!(read(&path).unwrap(), plan);
        // Owned operations from any iterator work too.
        let again = write_streaming(&plan.header(), plan.operations.clone(), &path).unwrap();
        assert_eq!(again, digest);
    }
}

#[test]
fn verify_then_for_each_yields_every_operation_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let plan = rich_plan();
    write(&plan, &path).unwrap();
    let mut seen = 0;
    let v = verify(&path, |_| seen += 1).unwrap();
    assert_eq!(seen, 2);
    assert_eq!(v.operations, 2);
    assert_eq!(v.header, plan.header());
    assert_eq!(v.digest, plan.digest);
    let mut ops = Vec::new();
    v.for_each(|op| {
        ops.push(op);
        Ok::<_, PlanError>(())
    })
    .unwrap();
    assert_eq!(ops, plan.operations);
}

#[test]
fn the_old_field_order_is_read_in_a_second_pass() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let plan = rich_plan();
    // As allot wrote it before: `locations` after `operations`.
    let mut v = serde_json::to_value(&plan).unwrap();
    let obj = v.as_object_mut().unwrap();
    let locations = obj.shift_remove("locations").unwrap();
    let digest = obj.shift_remove("digest").unwrap();
    obj.insert("locations".into(), locations);
    obj.insert("digest".into(), digest);
    let text = serde_json::to_string_pretty(&v).unwrap();
    assert!(text.find("\"locations\"").unwrap() > text.find("\"operations\"").unwrap());
    std::fs::write(&path, &text).unwrap();
    assert_eq!(read(&path).unwrap(), plan);
    let verified = verify(&path, |_| {}).unwrap();
    let mut n = 0;
    verified
        .for_each(|_| {
            n += 1;
            Ok::<_, PlanError>(())
        })
        .unwrap();
    assert_eq!(n, 2);
    // ...and still catches an edit there.
    std::fs::write(&path, text.replace("\"newark\"", "\"elsewhere\"")).unwrap();
    assert!(matches!(read(&path), Err(PlanError::DigestMismatch { .. })));
    assert!(matches!(
        verify(&path, |_| {}),
        Err(PlanError::DigestMismatch { .. })
    ));

    // A future key sorting before `operations`, after it in the file: covered too.
    let mut v = serde_json::to_value(&plan).unwrap();
    v["aaa_future"] = serde_json::json!({"b": 1, "a": [2]});
    v["digest"] = compute_digest(&v).into();
    let text = v.to_string();
    assert!(text.find("aaa_future").unwrap() > text.find("\"operations\"").unwrap());
    assert_eq!(parse(&text, &path).unwrap(), plan_with_digest(&plan, &v));
    let edited = text.replace("{\"b\":1", "{\"b\":2");
    assert!(matches!(
        parse(&edited, &path),
        Err(PlanError::DigestMismatch { .. })
    ));
}

fn plan_with_digest(plan: &Plan, v: &Value) -> Plan {
    let mut p = plan.clone();
    p.digest = v["digest"].as_str().unwrap().to_string();
    p
}

#[test]
fn streaming_reader_refuses_corrupt_plans() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let plan = rich_plan();
    write(&plan, &path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();

    // Cut short.
    std::fs::write(&path, &text[..text.len() * 2 / 3]).unwrap();
    let err = verify(&path, |_| {}).unwrap_err();
    assert!(err.to_string().contains("invalid JSON at line"), "{err}");
    // A duplicate key inside an operation.
    let doubled = text.replacen("\"quantity\":40", "\"quantity\":4,\n\"quantity\":40", 1);
    std::fs::write(&path, &doubled).unwrap();
    let err = verify(&path, |_| {}).unwrap_err().to_string();
    assert!(
        err.contains("`operations[0].channels[1].quantity` appears twice"),
        "{err}"
    );
    // `operations` twice.
    let twice = text.replacen(
        "\"operations\": [",
        "\"operations\": [],\n  \"operations\": [",
        1,
    );
    std::fs::write(&path, &twice).unwrap();
    let err = verify(&path, |_| {}).unwrap_err().to_string();
    assert!(err.contains("`operations` appears twice"), "{err}");
    // An edited quantity.
    std::fs::write(&path, text.replace("\"quantity\":40", "\"quantity\":41")).unwrap();
    assert!(matches!(
        verify(&path, |_| {}),
        Err(PlanError::DigestMismatch { .. })
    ));
    // `operations` not an array, digest right: a format error.
    let mut v = serde_json::to_value(&plan).unwrap();
    v["operations"] = serde_json::json!({"id": 1});
    v["digest"] = compute_digest(&v).into();
    let err = parse_err(&v.to_string());
    assert!(err.contains("does not match plan format 1.0"), "{err}");
    // No `operations` at all.
    let mut v = serde_json::to_value(&plan).unwrap();
    v.as_object_mut().unwrap().shift_remove("operations");
    v["digest"] = compute_digest(&v).into();
    let err = parse_err(&v.to_string());
    assert!(err.contains("missing field `operations`"), "{err}");
}

#[test]
fn a_plan_edited_between_the_passes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let plan = rich_plan();
    write(&plan, &path).unwrap();
    let verified = verify(&path, |_| {}).unwrap();
    // Edited after the first pass, digest and all (a well-formed plan of its own).
    let mut other = plan.clone();
    other.operations[1].channels[0].quantity = 8;
    seal(&mut other);
    write(&other, &path).unwrap();
    let err = verified.for_each(|_| Ok::<_, PlanError>(())).unwrap_err();
    assert!(
        matches!(err, PlanError::ChangedWhileReading { .. }),
        "{err}"
    );
}

/// A plan verified to be sent yields no operation that is not the one verified: an edit
/// between the passes stops the reading at the first operation that differs, before the
/// consumer sees it; the operations before it are yielded as verified.
#[test]
fn a_pinned_plan_edited_between_the_passes_stops_before_the_first_changed_operation() {
    /// The operations a second pass yields, and how it ends.
    fn read_again(v: &VerifiedPlan) -> (Vec<Operation>, Result<(), PlanError>) {
        let mut ops = Vec::new();
        let end = v.for_each(|op| {
            ops.push(op);
            Ok::<_, PlanError>(())
        });
        (ops, end)
    }
    let changed =
        |end: Result<(), PlanError>| matches!(end, Err(PlanError::ChangedWhileReading { .. }));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let plan = plan_of(&[
        change("A", Region::EU, &[UK], vec![ch("DEFAULT", 1)]),
        change("B", Region::EU, &[UK], vec![ch("DEFAULT", 2)]),
        change("C", Region::EU, &[UK], vec![ch("DEFAULT", 3)]),
    ]);
    write(&plan, &path).unwrap();
    // Unchanged: every operation, as verified.
    let verified = verify_pinned(&path, |_| {}).unwrap();
    let (ops, end) = read_again(&verified);
    assert!(end.is_ok());
    assert_eq!(ops, plan.operations);
    // The second operation's quantity edited after the first pass, digest and all: only the
    // first is yielded.
    let mut other = plan.clone();
    other.operations[1].channels[0].quantity = 8;
    seal(&mut other);
    write(&other, &path).unwrap();
    let (ops, end) = read_again(&verified);
    assert!(changed(end));
    assert_eq!(ops, plan.operations[..1]);
    // An operation added at the end: the verified ones are yielded, the new one is not.
    let mut longer = plan.clone();
    let mut extra = longer.operations[2].clone();
    extra.id = 4;
    extra.seller_sku = "D".into();
    longer.operations.push(extra);
    seal(&mut longer);
    write(&longer, &path).unwrap();
    let (ops, end) = read_again(&verified);
    assert!(changed(end));
    assert_eq!(ops, plan.operations);
    // A plan verified without pins notices only at its end, after yielding the edit.
    write(&plan, &path).unwrap();
    let unpinned = verify(&path, |_| {}).unwrap();
    write(&other, &path).unwrap();
    let (ops, end) = read_again(&unpinned);
    assert!(changed(end));
    assert_eq!(ops, other.operations);
}

/// `nth` reads one operation again.
#[test]
fn nth_reads_one_operation_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let plan = rich_plan();
    write(&plan, &path).unwrap();
    let verified = verify(&path, |_| {}).unwrap();
    assert_eq!(verified.nth(1).unwrap(), plan.operations[1]);
    assert_eq!(verified.nth(0).unwrap(), plan.operations[0]);
    assert!(matches!(
        verified.nth(2),
        Err(PlanError::ChangedWhileReading { .. })
    ));
}

#[test]
fn a_seller_sku_written_twice_is_found_exactly_even_when_hashes_collide() {
    let plan = plan_of(&[
        change("A", Region::EU, &[UK], vec![ch("DEFAULT", 1)]),
        change("B", Region::EU, &[UK], vec![ch("DEFAULT", 1)]),
        change("A", Region::NA, &[US], vec![ch("DEFAULT", 1)]),
    ]);
    let twice = resealed(&plan, |v| v["operations"][2]["seller_sku"] = "B".into());
    let twice_na = resealed(&plan, |v| {
        v["operations"][2]["seller_sku"] = "B".into();
        v["operations"][2]["region"] = "EU".into();
        v["operations"][2]["marketplace_ids"] = serde_json::json!([UK]);
    });
    // In memory, and spilled to a temporary file in runs of one and two operations.
    for (collide, run) in [
        (false, None),
        (true, None),
        (false, Some(1)),
        (true, Some(2)),
    ] {
        super::file::COLLIDE.with(|c| c.set(collide));
        super::repeats::TEST_RUN.with(|r| r.set(run));
        // Every hash alike: all suspects, none a duplicate (same SKU, other region).
        let text = serde_json::to_string(&plan).unwrap();
        assert_eq!(
            parse(&text, Path::new("p")).unwrap(),
            plan,
            "collide {collide}"
        );
        assert!(
            parse(&twice, Path::new("p")).is_ok(),
            "B in NA is another offer"
        );
        let err = parse_err(&twice_na);
        assert!(
            err.contains("seller SKU `B` (EU) is written twice"),
            "collide {collide}: {err}"
        );
    }
    super::file::COLLIDE.with(|c| c.set(false));
    super::repeats::TEST_RUN.with(|r| r.set(None));
}

#[test]
fn a_temporary_file_that_cannot_be_written_refuses_the_plan_and_none_at_all_keeps_keys_in_memory() {
    let plan = plan_of(&[
        change("A", Region::EU, &[UK], vec![ch("DEFAULT", 1)]),
        change("B", Region::EU, &[UK], vec![ch("DEFAULT", 1)]),
    ]);
    let text = serde_json::to_string(&plan).unwrap();
    super::repeats::TEST_RUN.with(|r| r.set(Some(1)));
    super::repeats::TEST_FULL.with(|f| f.set(true));
    let err = parse(&text, Path::new("big.json")).unwrap_err();
    super::repeats::TEST_FULL.with(|f| f.set(false));
    super::repeats::TEST_RUN.with(|r| r.set(None));
    assert!(matches!(err, PlanError::Scratch { .. }), "{err}");
    let shown = err.to_string();
    assert!(
        shown.contains("big.json") && shown.contains("no space left"),
        "{shown}"
    );
    let help = miette::Diagnostic::help(&err).unwrap().to_string();
    assert!(help.contains("TMPDIR"), "{help}");
    // The same plan in memory is read.
    assert_eq!(parse(&text, Path::new("big.json")).unwrap(), plan);
    // No temporary file can be made at all (a read-only TMPDIR): the keys stay in memory, and
    // a seller SKU written twice is still found.
    let twice = resealed(&plan, |v| v["operations"][1]["seller_sku"] = "A".into());
    super::repeats::TEST_RUN.with(|r| r.set(Some(1)));
    super::repeats::TEST_NO_TMP.with(|f| f.set(true));
    let read = parse(&text, Path::new("big.json"));
    let refused = parse_err(&twice);
    super::repeats::TEST_NO_TMP.with(|f| f.set(false));
    super::repeats::TEST_RUN.with(|r| r.set(None));
    assert_eq!(read.unwrap(), plan);
    assert!(
        refused.contains("seller SKU `A` (EU) is written twice"),
        "{refused}"
    );
}

#[test]
fn the_change_kind_of_a_saved_operation_is_the_simulators() {
    // The listing has a channel the offer does not write (merge leaves it): the simulator
    // calls the offer unchanged, and so must `allot show` (it used to compare every channel
    // and call it changed, disagreeing with the plan's summary).
    let mut c = change("A", Region::EU, &[UK], vec![ch("DEFAULT", 5)]);
    c.current = Some(vec![ch("DEFAULT", 5), ch("reno", 2)]);
    let mut current = crate::model::Current::default();
    current.listings.insert(
        "A".into(),
        [("DEFAULT".to_string(), 5u64), ("reno".to_string(), 2)]
            .into_iter()
            .collect(),
    );
    let sim_kind = ChangeKind::of(
        &c.offer.channels,
        current
            .listings
            .get("A")
            .map(|m| |k: &str| m.get(k).copied()),
    );
    assert_eq!(sim_kind, ChangeKind::Unchanged);
    c.kind = sim_kind;
    let mut o = opts(EmitChoice::Patch);
    o.all = true;
    let plan = build("p", "S", &[c], &Summary::default(), o).unwrap();
    assert_eq!(offer_change(&plan.operations[0]).kind, sim_kind);
    assert_eq!(offer_changes(&plan)[0].kind, ChangeKind::Unchanged);
}

#[test]
fn many_operations_stream_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let header = plan_of(&[]).header();
    // 200,000 in release; fewer in debug, where the crate's own code is unoptimised (three
    // passes of 200,000 take about 20 s there).
    const N: u32 = if cfg!(debug_assertions) {
        40_000
    } else {
        200_000
    };
    let ops = (1..=N).map(|i| Operation {
        id: i,
        seller_sku: format!("SKU-{i}"),
        region: if i % 2 == 0 { Region::EU } else { Region::NA },
        marketplace_ids: vec![if i % 2 == 0 { UK } else { US }.to_string()],
        channels: vec![ch("DEFAULT", u64::from(i % 50))],
        previous: (i % 3 == 0).then(|| vec![ch("DEFAULT", 1)]),
        inventory_sku: format!("SKU-{i}"),
        rule: "r".into(),
    });
    let digest = write_streaming(&header, ops, &path).unwrap();
    let verified = verify(&path, |_| {}).unwrap();
    assert_eq!(verified.digest, digest);
    assert_eq!(verified.operations, u64::from(N));
    let mut next = 1;
    verified
        .for_each(|op| {
            assert_eq!(op.id, next);
            next += 1;
            Ok::<_, PlanError>(())
        })
        .unwrap();
    assert_eq!(next, N + 1);
}

/// The canonical form written field by field is the canonical form of the operation's JSON
/// value, for operations with and without `previous`, several marketplaces and channels, and
/// strings that need escaping.
#[test]
fn canonical_operation_is_the_values() {
    let ops = [
        Operation {
            id: 1,
            seller_sku: "A-1".into(),
            region: Region::NA,
            marketplace_ids: vec!["ATVPDKIKX0DER".into()],
            channels: vec![ch("DEFAULT", 3)],
            previous: None,
            inventory_sku: "A".into(),
            rule: "r".into(),
        },
        Operation {
            id: 4_000_000,
            seller_sku: "ÜBER \"qu\\ote\"\u{1}".into(),
            region: Region::EU,
            marketplace_ids: vec!["A1F83G8C2ARO7P".into(), "A1PA6795UKMFR9".into()],
            channels: vec![ch("DEFAULT", 0), ch("11111111-aaaa", u64::from(u32::MAX))],
            previous: Some(vec![ch("DEFAULT", 2), ch("x\ny", 0)]),
            inventory_sku: "日本".into(),
            rule: "everything </else>".into(),
        },
        Operation {
            id: 7,
            seller_sku: "B".into(),
            region: Region::FE,
            marketplace_ids: vec![],
            channels: vec![],
            previous: Some(vec![]),
            inventory_sku: String::new(),
            rule: String::new(),
        },
        Operation {
            id: 8,
            seller_sku: "H".into(),
            region: Region::NA,
            marketplace_ids: vec!["ATVPDKIKX0DER".into()],
            channels: vec![
                ch_avail("DEFAULT", 0, None, None),
                ch_avail("S1", 4, Some(2), Some("2027-01-15")),
                ch_avail("S\"2", 1, None, Some("2027-01-16")),
                ch_avail("S3", 9, Some(30), None),
            ],
            previous: Some(vec![ch("DEFAULT", 2)]),
            inventory_sku: "H".into(),
            rule: "r".into(),
        },
    ];
    for op in &ops {
        let mut direct = Vec::new();
        super::file::canonical_operation(&op.as_ref(), &mut direct);
        let value = canonical_json(&serde_json::to_value(op).unwrap());
        assert_eq!(String::from_utf8(direct).unwrap(), value);
    }
}

/// A streamed plan whose producer failed half-way is not saved: the plan already at the path
/// stays as it was, and no temporary file is left beside it.
#[test]
fn a_streamed_plan_not_committed_is_not_saved() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let old = rich_plan();
    write(&old, &path).unwrap();
    let before = std::fs::read(&path).unwrap();
    let plan = plan_of(&[change("A", Region::EU, &[UK], vec![ch("DEFAULT", 5)])]);
    let err = write_streaming_then(&plan.header(), plan.operations.iter(), &path, |_| {
        Err(PlanError::Incomplete)
    })
    .unwrap_err();
    assert!(matches!(err, PlanError::Incomplete));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

/// The handling time and restock date go into the `fulfillment_availability` entry of the PATCH
/// and of the feed message exactly when set; a plan without them is written as before.
#[test]
fn handling_time_and_restock_date_are_sent_exactly_when_set() {
    let changes = vec![
        change(
            "A",
            Region::NA,
            &[US],
            vec![
                ch_avail("DEFAULT", 0, None, None),
                ch_avail("S1", 4, Some(2), Some("2027-01-15")),
            ],
        ),
        change("B", Region::NA, &[US], vec![ch("DEFAULT", 5)]),
    ];
    let plan = plan_of(&changes);
    let body = |i: usize| encode::patch_request(&plan, &plan.operations[i], false).body;
    assert_eq!(
        body(0)["patches"][0]["value"],
        serde_json::json!([
            {"fulfillment_channel_code": "DEFAULT", "quantity": 0},
            {"fulfillment_channel_code": "S1", "quantity": 4, "lead_time_to_ship_max_days": 2, "restock_date": "2027-01-15"}
        ])
    );
    assert_eq!(
        body(1).to_string(),
        r#"{"productType":"PRODUCT","patches":[{"op":"merge","path":"/attributes/fulfillment_availability","value":[{"fulfillment_channel_code":"DEFAULT","quantity":5}]}]}"#
    );
    let docs = encode::feed_documents(&plan).unwrap();
    let msgs = &docs[0].body["messages"];
    assert_eq!(msgs[0]["patches"], body(0)["patches"]);
    assert_eq!(msgs[1]["patches"], body(1)["patches"]);

    // Saved and read back: the digest covers them, and an edit is caught.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    write(&plan, &path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(r#"{"channel":"S1","lead_time_to_ship_max_days":2,"quantity":4,"restock_date":"2027-01-15"}"#), "{text}");
    assert!(
        text.contains(r#"{"channel":"DEFAULT","quantity":5}"#),
        "{text}"
    );
    assert_eq!(read(&path).unwrap(), plan);
    let edited = text.replace(
        "\"lead_time_to_ship_max_days\":2",
        "\"lead_time_to_ship_max_days\":3",
    );
    assert!(matches!(
        parse(&edited, &path),
        Err(PlanError::DigestMismatch { .. })
    ));
}

/// A plan that gives a handling time or restock date Amazon would refuse is refused on read.
#[test]
fn a_plan_with_an_impossible_handling_time_or_date_is_refused() {
    for (days, date, needle) in [
        (Some(31), None, "above Amazon's maximum 30"),
        (None, Some("2027-02-30"), "not a date written YYYY-MM-DD"),
    ] {
        // `build` refuses it too (as an invalid offer).
        let bad = [change(
            "A",
            Region::NA,
            &[US],
            vec![ch_avail("DEFAULT", 1, days, date)],
        )];
        let built = build(
            "p",
            "A2EXAMPLE",
            &bad,
            &Summary::default(),
            opts(EmitChoice::Patch),
        );
        assert!(matches!(built, Err(PlanError::InvalidOffer { .. })));
        let mut p = plan_of(&[change("A", Region::NA, &[US], vec![ch("DEFAULT", 1)])]);
        p.operations[0].channels[0] = ch_avail("DEFAULT", 1, days, date);
        seal(&mut p);
        let err = parse(&serde_json::to_string(&p).unwrap(), Path::new("p.json")).unwrap_err();
        assert!(err.to_string().contains(needle), "{err}");
    }
}

/// Feed documents laid out from one pass over the operations ([`encode::FeedSizer`]) and
/// filled from another ([`encode::FeedAssembler`]), as `show --requests` makes them, against
/// the documents of the plan in memory and against a slow reference that measures every
/// document it makes.
mod feed_assembly {
    use std::collections::BTreeMap;

    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;
    use crate::amazon::feeds::FEED_MAX_MARKETPLACES;

    /// One random operation: region, marketplaces (numbers into a pool per region), characters
    /// of its seller SKU, its channels' quantities, and a handling time.
    type RandomOp = (u8, Vec<u8>, Vec<char>, Vec<u64>, Option<u32>);

    fn random_op() -> impl Strategy<Value = RandomOp> {
        (
            0u8..3,
            vec(0u8..48, 1..4),
            vec(
                prop::sample::select(vec!['x', 'é', '"', '/', '\\', '<', '7']),
                0..36,
            ),
            vec(0..=MAX_QUANTITY, 1..4),
            proptest::option::of(0u32..=30),
        )
    }

    fn random_plan(ops: &[RandomOp], pool: u8, patch_op: PatchOp) -> Plan {
        let changes: Vec<OfferChange> = ops
            .iter()
            .enumerate()
            .map(|(i, (region, markets, sku, quantities, days))| {
                let region = [Region::NA, Region::EU, Region::FE][usize::from(*region)];
                let ids: Vec<String> = markets
                    .iter()
                    .map(|m| format!("{region}-M{}", m % pool))
                    .collect();
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                // The index keeps seller SKUs apart (one a region would be merged).
                let sku = format!("{i}-{}", sku.iter().collect::<String>());
                let channels = quantities
                    .iter()
                    .enumerate()
                    .map(|(c, &q)| match c {
                        0 => ch_avail("DEFAULT", q, *days, None),
                        _ => ch(&format!("loc-{c}"), q),
                    })
                    .collect();
                change(&sku, region, &ids, channels)
            })
            .collect();
        let opts = BuildOptions {
            patch_op,
            ..opts(EmitChoice::Feed)
        };
        build("p", "A2EXAMPLE", &changes, &Summary::default(), opts).unwrap()
    }

    /// Every region's operations in the plan's order, a document closed when the next message
    /// would break a limit, measured on the document's own bytes.
    fn slow_documents(
        plan: &Plan,
        max_messages: usize,
        max_bytes: usize,
    ) -> Result<Vec<FeedDocument>, PlanError> {
        let header = encode::FeedHeader::of_plan(plan);
        let mut markets: BTreeMap<Region, Vec<String>> = BTreeMap::new();
        for op in &plan.operations {
            let m = markets.entry(op.region).or_default();
            for id in &op.marketplace_ids {
                if !m.contains(id) {
                    m.push(id.clone());
                }
            }
        }
        let mut docs = Vec::new();
        for (&region, ids) in &markets {
            if ids.len() > FEED_MAX_MARKETPLACES {
                return Err(PlanError::TooManyMarketplaces {
                    region,
                    count: ids.len(),
                    max: FEED_MAX_MARKETPLACES,
                });
            }
            let document = |ops: &[&Operation]| encode::document_of(header, region, ids, ops);
            let bytes = |d: &FeedDocument| serde_json::to_vec(&d.body).unwrap().len();
            let mut doc: Vec<&Operation> = Vec::new();
            for op in plan.operations.iter().filter(|o| o.region == region) {
                let alone = document(&[op]);
                if bytes(&alone) > max_bytes {
                    return Err(PlanError::MessageTooLarge {
                        bytes: serde_json::to_vec(&alone.body["messages"][0])
                            .unwrap()
                            .len(),
                        seller_sku: op.seller_sku.clone(),
                        max: max_bytes,
                    });
                }
                doc.push(op);
                if doc.len() > max_messages || bytes(&document(&doc)) > max_bytes {
                    let next = doc.pop().unwrap();
                    docs.push(document(&doc));
                    doc = vec![next];
                }
            }
            if !doc.is_empty() {
                docs.push(document(&doc));
            }
        }
        Ok(docs)
    }

    /// The documents `show --requests` prints: laid out from a pass over the operations, then
    /// assembled from one pass a region (in their order), and from one pass for all regions
    /// (in the order they are finished, sorted).
    fn assembled(
        plan: &Plan,
        max_messages: usize,
        max_bytes: usize,
    ) -> Result<Vec<FeedDocument>, PlanError> {
        let mut sizer = encode::FeedSizer::default();
        for op in &plan.operations {
            sizer.see(op);
        }
        let plan_header = plan.header();
        let header = encode::FeedHeader::of(&plan_header);
        let layout = sizer.finish(header, max_messages, max_bytes, |i| {
            Ok(plan.operations[i].clone())
        })?;
        assert_eq!(layout.operations(), plan.operations.len());
        let skus_of = |d: &encode::AssembledDoc| -> Vec<String> {
            d.document
                .operation_ids
                .iter()
                .map(|&id| plan.operations[id as usize - 1].seller_sku.clone())
                .collect()
        };
        let mut per_region = Vec::new();
        for region in layout.regions() {
            let mut asm = encode::FeedAssembler::new(&layout, header, Some(region));
            for op in &plan.operations {
                if let Some(d) = asm.push(op.clone()).unwrap() {
                    assert_eq!(d.document.region, region);
                    assert_eq!(d.seller_skus, skus_of(&d));
                    per_region.push(d);
                }
            }
            asm.finish().unwrap();
        }
        let mut all = Vec::new();
        let mut asm = encode::FeedAssembler::new(&layout, header, None);
        for op in &plan.operations {
            all.extend(asm.push(op.clone()).unwrap());
        }
        asm.finish().unwrap();
        all.sort_by_key(|d| d.index);
        let indices =
            |docs: &[encode::AssembledDoc]| docs.iter().map(|d| d.index).collect::<Vec<_>>();
        let want: Vec<usize> = (0..layout.docs.len()).collect();
        assert_eq!(indices(&per_region), want, "one pass a region: in order");
        assert_eq!(indices(&all), want);
        let all: Vec<FeedDocument> = all.into_iter().map(|d| d.document).collect();
        let per_region: Vec<FeedDocument> = per_region.into_iter().map(|d| d.document).collect();
        assert_eq!(per_region, all);
        Ok(all)
    }

    /// Documents compared whole; errors by every field (Debug).
    fn outcome(r: Result<Vec<FeedDocument>, PlanError>) -> Result<Vec<FeedDocument>, String> {
        r.map_err(|e| format!("{e:?}"))
    }

    proptest! {
        #[test]
        fn feed_documents_assembled_in_two_passes_are_the_plans(
            ops in vec(random_op(), 0..60),
            pool in 1u8..48,
            replace in any::<bool>(),
            max_messages in 1usize..5,
            max_bytes in 250usize..3000,
        ) {
            let patch_op = if replace { PatchOp::Replace } else { PatchOp::Merge };
            let plan = random_plan(&ops, pool, patch_op);
            let in_memory =
                outcome(encode::feed_documents_with_limits(&plan, max_messages, max_bytes));
            prop_assert_eq!(
                &in_memory,
                &outcome(slow_documents(&plan, max_messages, max_bytes))
            );
            prop_assert_eq!(
                &outcome(assembled(&plan, max_messages, max_bytes)),
                &in_memory
            );
        }
    }
}
