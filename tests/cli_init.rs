//! `allot init` as a user runs it: the policy it writes must check, test and fmt-check clean
//! as written, and describe the inventory it was written from.

use std::path::{Path, PathBuf};

use predicates::prelude::*;

mod common;
use common::{allot, write};

/// Run `allot init ARGS --out DIR/NAME.allot`, then `check`, `test` and `fmt --check` on the
/// file it wrote; returns its text.
fn init_clean(dir: &Path, name: &str, args: &[&str]) -> String {
    let out = dir.join(format!("{name}.allot"));
    allot()
        .arg("init")
        .args(args)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0)
        .stdout("");
    let check = allot().arg("check").arg(&out).assert().code(0);
    let err = String::from_utf8(check.get_output().stderr.clone()).unwrap();
    assert!(err.contains("0 errors, 0 warnings"), "{err}");
    allot()
        .arg("test")
        .arg(&out)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("0 failed"));
    allot().args(["fmt", "--check"]).arg(&out).assert().code(0);
    std::fs::read_to_string(&out).unwrap()
}

/// The lines of `text` that are `needles`, in this order (other lines between them allowed).
fn in_order(text: &str, needles: &[&str]) {
    let lines: Vec<&str> = text.lines().collect();
    let mut at = 0;
    for n in needles {
        match lines[at..].iter().position(|l| l == n) {
            Some(i) => at += i + 1,
            None => panic!("no line `{n}` (in this order) in:\n{text}"),
        }
    }
}

#[test]
fn from_the_example_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let text = init_clean(
        dir.path(),
        "shop",
        &[
            "--inventory",
            "examples/inventory.csv",
            "--marketplaces",
            "US,CA",
            "--seller",
            "A1PP0FEH11RW77",
        ],
    );
    in_order(
        &text,
        &[
            "policy \"shop\"",
            "seller \"A1PP0FEH11RW77\"",
            "marketplaces US, CA",
            "location newark",
            "location austin",
            "location toronto",
            "rule \"YOGA\" {",
            "  match   sku \"YOGA-*\"",
            "  publish US, CA",
            "rule \"MUG\" {",
            "  match   sku \"MUG-*\"",
            "rule \"everything else\" {",
            "  match   any",
            "test \"YOGA: YOGA-1 with its stock from the inventory\" {",
            // The real rows: 8 at newark, 10 with 1 reserved at austin; 17 - buffer 1 = 16.
            "  stock  \"YOGA-1\" newark 8, austin 10 reserved 1",
            "  expect \"YOGA-1\" on US = 16",
            "  expect \"YOGA-1\" on CA = 16",
            "test \"MUG: MUG-1 with its stock from the inventory\" {",
            "test \"everything else: CANDLE-LAV with its stock from the inventory\" {",
        ],
    );
    // Families of one SKU are left to "everything else".
    assert!(!text.contains("rule \"CANDLE\""), "{text}");
    assert!(!text.contains("PLACEHOLDER"), "{text}");
    assert!(text.contains("#   allot plan "), "{text}");
}

#[test]
fn from_a_shopify_export_with_a_placeholder_seller() {
    let dir = tempfile::tempdir().unwrap();
    let text = init_clean(
        dir.path(),
        "shopify",
        &[
            "--inventory",
            "examples/shopify-inventory.csv",
            "--marketplaces",
            "US",
        ],
    );
    // Shopify's location names are valid names as written: kept, and read back as they are.
    in_order(
        &text,
        &[
            "location Newark",
            "location Austin",
            "location Toronto",
            "rule \"YOGA\" {",
        ],
    );
    assert!(
        text.contains("seller \"REPLACE-WITH-YOUR-MERCHANT-ID\"   # PLACEHOLDER"),
        "{text}"
    );
}

#[test]
fn stdout_by_default_and_a_snapshot_of_the_example() {
    let o = allot()
        .args([
            "init",
            "--inventory",
            "examples/inventory.csv",
            "--marketplaces",
            "US,CA,MX",
            "--seller",
            "A1PP0FEH11RW77",
        ])
        .assert()
        .code(0);
    let text = String::from_utf8(o.get_output().stdout.clone()).unwrap();
    assert!(text.contains("policy \"my-shop\""), "{text}");
    insta::with_settings!({filters => vec![(r"on \d{4}-\d{2}-\d{2}\.", "on DATE.")]}, {
        insta::assert_snapshot!("init_example", text);
    });
}

/// An All Listings report (one marketplace, named by --current-marketplace) whose seller SKUs
/// are the inventory SKUs with `-US`, and one FBA row.
fn all_listings(dir: &Path) -> PathBuf {
    let mut t = String::from(
        "item-name\tlisting-id\tseller-sku\tprice\tquantity\topen-date\tproduct-id-type\titem-condition\tfulfillment-channel\tstatus\n",
    );
    for s in ["YOGA-1", "YOGA-2", "MUG-1", "CANDLE-LAV", "SHOE-1"] {
        t.push_str(&format!(
            "Item\t01\t{s}-US\t9.99\t3\t2025-03-01 10:00:00 PST\t1\t11\tDEFAULT\tActive\n"
        ));
    }
    t.push_str("Item\t02\tMUG-2-US\t9.99\t\t2025-03-01 10:00:00 PST\t1\t11\tAMAZON_NA\tActive\n");
    write(dir, "all-listings.txt", &t)
}

#[test]
fn seller_sku_template_detected_from_an_all_listings_report() {
    let dir = tempfile::tempdir().unwrap();
    let report = all_listings(dir.path());
    let text = init_clean(
        dir.path(),
        "na",
        &[
            "--inventory",
            "examples/inventory.csv",
            "--current",
            report.to_str().unwrap(),
            "--current-marketplace",
            "US",
        ],
    );
    in_order(
        &text,
        &[
            // The marketplaces come from the listings.
            "marketplaces US",
            "#   US: 100% of the seller SKUs listed there (6 of 6) follow \"{sku}-US\"",
            "# 1 seller SKU is fulfilled by Amazon (FBA): allot never writes it.",
            "rule \"YOGA\" {",
            "  publish US as \"{sku}-US\"",
            "  expect \"YOGA-1-US\" on US = 16",
        ],
    );
}

#[test]
fn listings_that_equal_the_inventory_skus() {
    let dir = tempfile::tempdir().unwrap();
    let current = write(
        dir.path(),
        "current.csv",
        "seller_sku,channel,quantity,marketplace\nYOGA-1,DEFAULT,3,UK\nYOGA-2,DEFAULT,3,DE\nMUG-1,DEFAULT,1,UK\n",
    );
    let text = init_clean(
        dir.path(),
        "eu",
        &[
            "--inventory",
            "examples/inventory.csv",
            "--current",
            current.to_str().unwrap(),
        ],
    );
    in_order(
        &text,
        &[
            "marketplaces UK, DE",
            "#   UK: 100% of the seller SKUs listed there (2 of 2) equal the inventory SKU",
            "  publish UK, DE",
        ],
    );
}

#[test]
fn different_templates_per_marketplace_split_the_stock() {
    let dir = tempfile::tempdir().unwrap();
    let current = write(
        dir.path(),
        "current.csv",
        "seller_sku,channel,quantity,marketplace\nYOGA-1-US,DEFAULT,3,US\nYOGA-1_CA,DEFAULT,3,CA\nMUG-1_CA,DEFAULT,1,CA\n",
    );
    let text = init_clean(
        dir.path(),
        "split",
        &[
            "--inventory",
            "examples/inventory.csv",
            "--current",
            current.to_str().unwrap(),
        ],
    );
    in_order(
        &text,
        &["  publish US as \"{sku}-US\" share 50%, CA as \"{sku}_CA\" share 50%"],
    );
}

#[test]
fn refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = write(dir.path(), "mine.allot", "# my own policy\n");
    let args = [
        "init",
        "--inventory",
        "examples/inventory.csv",
        "--marketplaces",
        "US",
        "--out",
        out.to_str().unwrap(),
    ];
    allot()
        .args(args)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "mine.allot exists: nothing was written",
        ))
        .stderr(predicate::str::contains("--force"));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "# my own policy\n");
    allot().args(args).arg("--force").assert().code(0);
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("policy \"mine\"")
    );
}

#[test]
fn no_marketplaces_is_a_clear_error() {
    allot()
        .args(["init", "--inventory", "examples/inventory.csv"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "no marketplaces: give --marketplaces",
        ))
        .stderr(predicate::str::contains("e.g. `--marketplaces"));
}

#[test]
fn mixed_regions_are_refused() {
    allot()
        .args([
            "init",
            "--inventory",
            "examples/inventory.csv",
            "--marketplaces",
            "US,DE,UK",
        ])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "these marketplaces span several regions: NA (US), EU (DE, UK)",
        ));
}

#[test]
fn bad_input_is_exit_1_and_usage_exit_2() {
    allot()
        .args(["init", "--inventory", "no-such.csv", "--marketplaces", "US"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no-such.csv"));
    allot()
        .args(["init", "--marketplaces", "US"])
        .assert()
        .code(2);
    allot()
        .args([
            "init",
            "--inventory",
            "examples/inventory.csv",
            "--marketplaces",
            "US",
            "--seller",
            "ATVPDKIKX0DER",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is the marketplace ID of"));
    allot()
        .args([
            "init",
            "--inventory",
            "examples/inventory.csv",
            "--marketplaces",
            "XX",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown marketplace `XX`"));
}

#[test]
fn location_names_that_are_no_names() {
    let dir = tempfile::tempdir().unwrap();
    let inv = write(
        dir.path(),
        "stores.csv",
        "sku,location,on_hand,reserved\nTEE-1,Newark Warehouse,5,0\nTEE-2,2nd Street,3,0\nTEE-2,newark-warehouse,4,1\n",
    );
    let text = init_clean(
        dir.path(),
        "stores",
        &["--inventory", inv.to_str().unwrap(), "--marketplaces", "US"],
    );
    // Mapped to the name the reader matches them by, said in a comment; `newark-warehouse` is
    // the same location to the reader, so it is not declared twice.
    in_order(
        &text,
        &[
            "location newark_warehouse               # \"Newark Warehouse\" in the inventory (matched ignoring case and punctuation)",
            "location _2nd_street                    # \"2nd Street\" in the inventory (matched ignoring case and punctuation)",
        ],
    );
    assert_eq!(text.matches("\nlocation ").count(), 2, "{text}");
    // The generated policy reads the very file it came from.
    let policy = dir.path().join("stores.allot");
    allot()
        .arg("plan")
        .arg(&policy)
        .arg("--inventory")
        .arg(&inv)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("TEE-2"));

    // A name no ASCII name matches is refused, naming it.
    let inv = write(
        dir.path(),
        "zurich.csv",
        "sku,location,on_hand,reserved\nTEE-1,Zürich,5,0\n",
    );
    allot()
        .args([
            "init",
            "--inventory",
            inv.to_str().unwrap(),
            "--marketplaces",
            "DE",
        ])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "the location `Zürich` cannot be written",
        ));
}

#[test]
fn negative_counts_are_read_as_zero_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let inv = write(
        dir.path(),
        "neg.csv",
        "sku,location,on_hand,reserved\nTEE-1,shop,5,0\nTEE-2,shop,-2,0\n",
    );
    let text = init_clean(
        dir.path(),
        "neg",
        &["--inventory", inv.to_str().unwrap(), "--marketplaces", "US"],
    );
    assert!(text.contains("\ninventory negative_as_zero "), "{text}");
}
