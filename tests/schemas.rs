//! Every machine output of allot against its JSON Schema under schemas/: the real binary on the
//! shipped policies and fixtures, chosen so that the optional parts appear (held offers,
//! unmapped targets, handling time and restock date, several policies or inventories, both emit
//! modes). Each schema must also reject a broken document, so a schema that accepts anything
//! cannot pass. `allot sources` and the preview's `current_source` need the SP-API: they are
//! validated in tests/live.rs, against the sandbox.

mod common;

use std::path::Path;

use assert_cmd::Command;
use common::{assert_rejects, assert_valid, root, validator};
use serde_json::Value;

fn allot() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_allot"));
    c.current_dir(root()).env("NO_COLOR", "1");
    c
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// Runs allot with `args`, expects exit `code`, and parses stdout as one JSON document.
fn run_json(args: &[&str], code: i32) -> Value {
    let out = allot().args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "allot {args:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "allot {args:?}: not one JSON document ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn remove(doc: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let removed = doc
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .and_then(|o| o.remove(key));
    assert!(removed.is_some(), "no {pointer} to remove");
}

fn set(doc: &mut Value, pointer: &str, value: Value) {
    *doc.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer}")) = value;
}

const ACME: &str = "policies/acme-na.allot";
const INVENTORY: &str = "examples/inventory.csv";
const CURRENT: &str = "examples/current.json";
const SAFETY: &str = "tests/fixtures/safety";
const SETS: &str = "tests/fixtures/sets";

/// An inventory for policies/shop-us.allot: a limited edition (`quantity 1 once`), glasses
/// (`pack 6`), tees (`ratio`) and the rest with `handling_time 2` and column limits.
const SHOP_INVENTORY: &str = "sku,location,on_hand,reserved,tags,safety_stock,max_qty\n\
    POSTER-9,store,0,0,limited,,\nPOSTER-8,store,2,0,limited,,\nGLASS-1,warehouse,14,0,,,\n\
    TEE-1,store,10,0,,,\nMUG-1,store,5,1,,1,3\nMUG-2,warehouse,4,0,,,\n";
/// POSTER-8 already has its initial quantity (held), GLASS-1 and MUG-1 are listed.
const SHOP_CURRENT: &str = "seller_sku,channel,quantity,marketplace\nPOSTER-8,DEFAULT,1,US\n\
    GLASS-1,DEFAULT,3,US\nMUG-1,DEFAULT,2,US\n";

/// A policy with a restock date, and a seller SKU listed only in a marketplace it does not
/// publish to (held: `not_listed_here`).
const RESTOCK_POLICY: &str = "policy \"restock\"\nseller \"A1PP0FEH11RW77\"\nmarketplaces US\n\
    location newark\n\nrule \"all\" {\n  match any\n  restock_date \"2027-01-15\"\n  publish US\n}\n";

#[test]
fn every_schema_is_a_draft_2020_12_schema_named_by_its_id() {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root().join("schemas")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        assert!(
            name.ends_with(".schema.json"),
            "{name}: not a *.schema.json"
        );
        let schema: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).expect(&name);
        if let Err(e) = jsonschema::draft202012::meta::validate(&schema) {
            panic!("{name} is not a valid draft 2020-12 schema: {e}");
        }
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}"
        );
        let id = schema["$id"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has no $id"));
        assert!(id.ends_with(&format!("/{name}")), "{name}: $id {id}");
        for key in ["title", "description"] {
            assert!(schema[key].is_string(), "{name} has no {key}");
        }
        jsonschema::draft202012::new(&schema).unwrap_or_else(|e| panic!("{name}: {e}"));
        names.push(name);
    }
    names.sort();
    // A machine output without a schema is caught here when one is added.
    assert_eq!(
        names,
        [
            "check.schema.json",
            "diff.schema.json",
            "explain.schema.json",
            "marketplaces.schema.json",
            "plan.schema.json",
            "preview.schema.json",
            "requests.schema.json",
            "sources.schema.json",
            "test.schema.json",
        ]
    );
}

#[test]
fn check_json_validates_clean_with_errors_and_with_warnings() {
    let v = validator("check");
    // Clean: an empty array.
    let doc = run_json(
        &[
            "check",
            "--format",
            "json",
            "tests/fixtures/ok/locations.allot",
        ],
        0,
    );
    assert_valid(&v, &doc);
    assert_eq!(doc, serde_json::json!([]));
    // Warnings only (exit 0), errors of the checker and of the syntax, and a set's conflicts.
    let warned = run_json(&["check", "--format", "json", ACME], 0);
    assert_valid(&v, &warned);
    assert!(
        warned
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["severity"] == "warning")
    );
    let errors = run_json(
        &[
            "check",
            "--format",
            "json",
            "tests/fixtures/err/oversell.allot",
            "tests/fixtures/err/duplicate.allot",
            "tests/fixtures/err/syntax-unclosed-string.allot",
            "tests/fixtures/err/shadowed-rule.allot",
            "tests/fixtures/err/unknown-marketplace-hints.allot",
        ],
        1,
    );
    assert_valid(&v, &errors);
    let severities: Vec<&str> = errors
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["severity"].as_str().unwrap())
        .collect();
    assert!(severities.contains(&"error"), "{severities:?}");
    let trap = run_json(
        &["check", "--format", "json", &format!("{SETS}/seed002-trap")],
        1,
    );
    assert_valid(&v, &trap);
    assert!(!trap.as_array().unwrap().is_empty());

    assert_rejects(&v, &errors, "a severity it does not have", |d| {
        set(d, "/0/severity", "fatal".into())
    });
    assert_rejects(&v, &errors, "no help", |d| remove(d, "/0/help"));
    assert_rejects(&v, &errors, "a 0 line", |d| set(d, "/0/line", 0.into()));
}

#[test]
fn preview_json_validates_with_holds_unmapped_handling_time_and_several_policies() {
    let v = validator("preview");
    let dir = tempfile::tempdir().unwrap();
    let shop_inv = write(dir.path(), "shop.csv", SHOP_INVENTORY);
    let shop_cur = write(dir.path(), "shop-current.csv", SHOP_CURRENT);
    let uk_inv = write(
        dir.path(),
        "ukdefr.csv",
        "sku,location,on_hand,reserved\nSKU123,uk_wh,10,0\nSKU123,de_wh,20,0\nSKU123,fr_wh,30,0\nSKU7,uk_wh,0,0\n",
    );
    let mapped_inv = write(
        dir.path(),
        "mapped.csv",
        "sku,location,on_hand,reserved,sku_uk,sku_de\nA,leeds,5,0,A-UK,\nB,leeds,3,0,,B\n",
    );
    let restock = write(dir.path(), "restock.allot", RESTOCK_POLICY);
    let restock_inv = write(
        dir.path(),
        "restock.csv",
        "sku,location,on_hand,reserved\nR-1,newark,0,0\nR-2,newark,4,0\n",
    );
    let restock_cur = write(
        dir.path(),
        "restock-current.csv",
        "seller_sku,channel,quantity,marketplace\nR-1,DEFAULT,0,US\nR-2,DEFAULT,1,CA\n",
    );
    let plan = |args: &[&str]| {
        let mut a = vec!["plan"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--format", "json"]);
        let doc = run_json(&a, 0);
        assert_valid(&v, &doc);
        assert_eq!(doc["format_version"], "1.4");
        doc
    };

    // The README's example, with and without current listings.
    let with = plan(&[ACME, "--inventory", INVENTORY, "--current", CURRENT]);
    assert_eq!(with["current_known"], true);
    let holds: Vec<&str> = with["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["hold"]["reason"].as_str())
        .collect();
    assert!(
        holds.contains(&"fulfilled_by_amazon") && holds.contains(&"not_listed"),
        "{holds:?}"
    );
    assert!(with["summary"]["offers_not_listed"].as_u64().unwrap() > 0);
    let without = plan(&[ACME, "--inventory", INVENTORY]);
    assert_eq!(without["current_known"], false);
    assert!(without["summary"].get("offers_not_listed").is_none());
    assert!(without.get("unmapped").is_none(), "absent when empty");

    // shop-us: an initial quantity already sent, packs, ratios, handling time.
    let shop = plan(&["policies/shop-us.allot", "--inventory", &shop_inv]);
    let text = shop.to_string();
    for part in [
        "\"lead_time_to_ship_max_days\":2",
        "\"step\":\"pack\"",
        "\"step\":\"ratio\"",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    let shop = plan(&[
        "policies/shop-us.allot",
        "--inventory",
        &shop_inv,
        "--current",
        &shop_cur,
    ]);
    assert!(shop.to_string().contains("\"initial_quantity_sent\""));
    assert_eq!(shop["summary"]["offers_initial_kept"], 1);

    // A restock date, and a seller SKU listed only elsewhere.
    let doc = plan(&[
        &restock,
        "--inventory",
        &restock_inv,
        "--current",
        &restock_cur,
    ]);
    let text = doc.to_string();
    assert!(text.contains("\"restock_date\":\"2027-01-15\""), "{text}");
    assert!(text.contains("\"not_listed_here\""), "{text}");

    // One marketplace per warehouse; FBA and unlisted SKUs from an All Listings report; seller
    // SKUs from inventory columns (unmapped); a set of policies of one seller.
    plan(&["policies/uk-de-fr.allot", "--inventory", &uk_inv]);
    plan(&[
        &format!("{SAFETY}/fba-mix.allot"),
        "--inventory",
        &format!("{SAFETY}/inventory.csv"),
        "--current",
        &format!("{SAFETY}/all-listings.txt"),
        "--current-marketplace",
        "US",
    ]);
    let mapped = plan(&[
        "tests/fixtures/ok/inventory-mapping.allot",
        "--inventory",
        &mapped_inv,
    ]);
    assert!(!mapped["unmapped"].as_array().unwrap().is_empty());
    let set_doc = plan(&[
        &format!("{SETS}/seed002-fixed"),
        "--inventory",
        &format!("{SETS}/inventory.csv"),
        "--current",
        &format!("{SETS}/current.csv"),
    ]);
    assert!(set_doc["policy"].as_str().unwrap().contains(" + "));

    assert_rejects(&v, &with, "no `written`", |d| {
        remove(d, "/changes/0/written")
    });
    assert_rejects(&v, &with, "a hold reason it does not have", |d| {
        set(
            d,
            "/changes/0/hold",
            serde_json::json!({"reason": "sold_out"}),
        )
    });
    assert_rejects(&v, &with, "a change kind it does not have", |d| {
        set(d, "/changes/0/kind", "removed".into())
    });
    assert_rejects(&v, &with, "a held count of 0 (absent when 0)", |d| {
        d["summary"]["offers_initial_kept"] = 0.into()
    });
    assert_rejects(&v, &with, "an unknown field", |d| {
        d["changes"][0]["provenance"]["extra"] = true.into()
    });
}

#[test]
fn saved_plans_validate_in_patch_and_feed_modes_as_written_and_as_shown() {
    let v = validator("plan");
    let requests = validator("requests");
    let dir = tempfile::tempdir().unwrap();
    let shop_a = write(
        dir.path(),
        "shop-a.csv",
        "sku,location,on_hand,reserved,tags,safety_stock,max_qty\nPOSTER-9,store,0,0,limited,,\nGLASS-1,warehouse,14,0,,,\n",
    );
    let shop_b = write(
        dir.path(),
        "shop-b.csv",
        "sku,location,on_hand,reserved,tags,safety_stock,max_qty\nMUG-1,store,5,1,,1,3\nMUG-2,warehouse,4,0,,,\n",
    );
    let shop_cur = write(dir.path(), "shop-current.csv", SHOP_CURRENT);
    let saved = |name: &str, args: &[&str]| {
        let out = dir.path().join(name);
        let mut a = vec!["plan"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--out", out.to_str().unwrap()]);
        let o = allot().args(&a).output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let doc: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert_valid(&v, &doc);
        // `allot show --format json` prints the plan itself; --requests what apply sends.
        let path = out.to_str().unwrap();
        let shown = run_json(&["show", path, "--format", "json"], 0);
        assert_valid(&v, &shown);
        assert_eq!(shown, doc);
        let sent = run_json(&["show", path, "--requests", "--format", "json"], 0);
        assert_valid(&requests, &sent);
        (doc, sent)
    };

    // Patch mode from current listings: operations with `previous`, held counts, locations.
    let (patch, patch_requests) = saved(
        "patch.json",
        &[ACME, "--inventory", INVENTORY, "--current", CURRENT],
    );
    assert_eq!(patch["emit"], "patch");
    assert!(patch["inputs"]["current"].is_object());
    assert!(patch["locations"].is_array());
    assert!(patch_requests[0]["method"] == "PATCH");
    // Feed mode, every offer, new listings allowed, no current listings.
    let (feed, feed_requests) = saved(
        "feed.json",
        &[
            ACME,
            "--inventory",
            INVENTORY,
            "--allow-new",
            "--all",
            "--emit",
            "feed",
        ],
    );
    assert_eq!(feed["emit"], "feed");
    assert!(feed["inputs"]["current"].is_null());
    assert_eq!(feed_requests[0]["feed_type"], "JSON_LISTINGS_FEED");
    // Two inventories, handling time on every channel, replace.
    let (shop, _) = saved(
        "shop.json",
        &[
            "policies/shop-us.allot",
            "--inventory",
            &shop_a,
            "--inventory",
            &shop_b,
            "--current",
            &shop_cur,
            "--allow-new",
            "--patch-op",
            "replace",
        ],
    );
    assert_eq!(
        shop["inputs"]["more_inventory"].as_array().unwrap().len(),
        1
    );
    assert!(
        shop.to_string()
            .contains("\"lead_time_to_ship_max_days\":2")
    );
    // Several policies of one seller.
    let (several, _) = saved(
        "set.json",
        &[
            &format!("{SETS}/seed002-fixed"),
            "--inventory",
            &format!("{SETS}/inventory.csv"),
            "--current",
            &format!("{SETS}/current.csv"),
        ],
    );
    assert_eq!(
        several["inputs"]["more_policies"].as_array().unwrap().len(),
        2
    );

    assert_rejects(&v, &patch, "an emit mode it does not have", |d| {
        set(d, "/emit", "email".into())
    });
    assert_rejects(&v, &patch, "no digest", |d| remove(d, "/digest"));
    assert_rejects(&v, &patch, "a null quantity", |d| {
        set(d, "/operations/0/channels/0/quantity", Value::Null)
    });
    assert_rejects(&v, &feed, "an operation id 0", |d| {
        set(d, "/operations/0/id", 0.into())
    });
    assert_rejects(
        &requests,
        &patch_requests,
        "a method apply does not send",
        |d| set(d, "/0/method", "PUT".into()),
    );
    assert_rejects(&requests, &feed_requests, "no feed header", |d| {
        remove(d, "/0/body/header")
    });
}

#[test]
fn explain_json_validates_for_published_missing_held_and_seller_skus() {
    let v = validator("explain");
    let safety_sku = std::fs::read_to_string(root().join(SAFETY).join("inventory.csv"))
        .unwrap()
        .lines()
        .nth(1)
        .and_then(|l| l.split(',').next())
        .unwrap()
        .to_string();
    let cases: [Vec<String>; 5] = [
        vec![
            ACME.into(),
            "--inventory".into(),
            INVENTORY.into(),
            "--current".into(),
            CURRENT.into(),
            "YOGA-1-US".into(),
        ],
        vec![
            ACME.into(),
            "--inventory".into(),
            INVENTORY.into(),
            "SHOE-1".into(),
        ],
        vec![
            ACME.into(),
            "--inventory".into(),
            INVENTORY.into(),
            "CLR-2".into(),
        ],
        vec![
            ACME.into(),
            "--inventory".into(),
            INVENTORY.into(),
            "NOPE-1".into(),
        ],
        vec![
            format!("{SAFETY}/fba-mix.allot"),
            "--inventory".into(),
            format!("{SAFETY}/inventory.csv"),
            "--current".into(),
            format!("{SAFETY}/all-listings.txt"),
            "--current-marketplace".into(),
            "US".into(),
            safety_sku,
        ],
    ];
    let mut docs = Vec::new();
    for case in &cases {
        let mut a = vec!["explain"];
        a.extend(case.iter().map(String::as_str));
        a.extend_from_slice(&["--format", "json"]);
        let doc = run_json(&a, 0);
        assert_valid(&v, &doc);
        docs.push(doc);
    }
    assert!(docs[0]["seller_sku"].is_object());
    assert!(docs[1].get("seller_sku").is_none());
    assert_rejects(&v, &docs[0], "no outcome", |d| remove(d, "/outcome"));
    assert_rejects(&v, &docs[0], "a step it does not have", |d| {
        set(
            d,
            "/offers_detail/0/provenance/steps/0/step",
            "round".into(),
        )
    });
}

#[test]
fn marketplaces_json_validates() {
    let v = validator("marketplaces");
    let doc = run_json(&["marketplaces", "--format", "json"], 0);
    assert_valid(&v, &doc);
    assert_eq!(doc[0]["code"], "US");
    assert_rejects(&v, &doc, "a region it does not have", |d| {
        set(d, "/0/region", "XX".into())
    });
    assert_rejects(&v, &doc, "no endpoint", |d| remove(d, "/0/endpoint"));
}
