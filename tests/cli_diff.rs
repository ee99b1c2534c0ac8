//! `allot diff BASE NEW` as a reviewer runs it: small policies in a tempdir with hand-computed
//! expectations, and the shipped example against a changed copy (tests/fixtures/diff).

use std::path::Path;

use predicates::prelude::*;

mod common;
use common::{allot, root, write};

/// A one-seller policy around one rule (the rule's body given).
fn policy(marketplaces: &str, rule: &str) -> String {
    format!(
        "policy \"shop\"\nseller \"A1PP0FEH11RW77\"\nmarketplaces {marketplaces}\n\n\
         location newark supply_source \"353e4e48-6301-4d50-990e-43a86e8787a3\"\n\
         location austin supply_source \"8e07a0c9-ab0a-4108-9f16-83dc3496bee0\"\n\n{rule}\n"
    )
}

/// MUG-1: 10 available, MUG-2: 4 (all at newark).
const INVENTORY: &str = "sku,location,on_hand,reserved\nMUG-1,newark,10,0\nMUG-2,newark,5,1\n";

/// Runs `allot diff base new --inventory inv` plus `extra`; returns the exit code and stdout.
fn diff(dir: &Path, base: &str, new: &str, extra: &[&str]) -> (i32, String, String) {
    let b = write(dir, "base.allot", base);
    let n = write(dir, "new.allot", new);
    let inv = write(dir, "inv.csv", INVENTORY);
    let out = allot()
        .arg("diff")
        .arg(&b)
        .arg(&n)
        .arg("--inventory")
        .arg(&inv)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn json(dir: &Path, base: &str, new: &str) -> serde_json::Value {
    let (code, out, err) = diff(dir, base, new, &["--format", "json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// A differing offer: seller SKU, kind, and (channel, base, new) per channel.
type Row = (String, String, Vec<(String, String, String)>);

/// The differing offers of a JSON document.
fn offers(v: &serde_json::Value) -> Vec<Row> {
    let s = |x: &serde_json::Value| match x {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    v["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                s(&o["seller_sku"]),
                s(&o["kind"]),
                o["channels"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| (s(&c["channel"]), s(&c["base"]), s(&c["new"])))
                    .collect(),
            )
        })
        .collect()
}

fn t(a: &str, b: &str, c: &str) -> (String, String, String) {
    (a.into(), b.into(), c.into())
}

#[test]
fn a_larger_buffer_moves_quantities_down() {
    let dir = tempfile::tempdir().unwrap();
    let base = policy(
        "US",
        "rule \"mugs\" {\n  match sku \"MUG-*\"\n  buffer 1\n  publish US as \"{sku}-US\"\n}",
    );
    let new = policy(
        "US",
        "rule \"mugs\" {\n  match sku \"MUG-*\"\n  buffer 3\n  publish US as \"{sku}-US\"\n}",
    );
    // MUG-1: 10 - 1 = 9 → 10 - 3 = 7; MUG-2: 4 - 1 = 3 → 4 - 3 = 1.
    let v = json(dir.path(), &base, &new);
    assert_eq!(
        offers(&v),
        [
            (
                "MUG-1-US".into(),
                "down".into(),
                vec![t("DEFAULT", "9", "7")]
            ),
            (
                "MUG-2-US".into(),
                "down".into(),
                vec![t("DEFAULT", "3", "1")]
            ),
        ]
    );
    assert_eq!(v["summary"]["down"], 2);
    assert_eq!(v["summary"]["unchanged"], 0);
    assert_eq!(
        v["marketplaces"],
        serde_json::json!([{"marketplace": "US", "base_units": 12, "new_units": 8, "delta": -4}])
    );
    // The table says the same, one row per channel, with the rule.
    let (code, out, _) = diff(dir.path(), &base, &new, &[]);
    assert_eq!(code, 0);
    assert!(
        out.contains("MUG-1-US    MUG-1          US            DEFAULT  9 → 7"),
        "{out}"
    );
    assert!(out.contains("2 offers differ: 0 up, 2 down"), "{out}");
    assert!(out.contains("US           12    8    -4"), "{out}");
}

#[test]
fn a_share_change_moves_units_between_marketplaces() {
    let dir = tempfile::tempdir().unwrap();
    let rule = |us: u32, ca: u32| {
        format!(
            "rule \"mugs\" {{\n  match sku \"MUG-*\"\n  publish US as \"{{sku}}-US\" share {us}%, CA as \"{{sku}}-CA\" share {ca}%\n}}"
        )
    };
    let v = json(
        dir.path(),
        &policy("US, CA", &rule(50, 50)),
        &policy("US, CA", &rule(70, 30)),
    );
    // MUG-1 (10): US 5 → 7, CA 5 → 3. MUG-2 (4): US 2 → 2 (70% of 4 rounds down), CA 2 → 1.
    assert_eq!(
        offers(&v),
        [
            (
                "MUG-1-CA".into(),
                "down".into(),
                vec![t("DEFAULT", "5", "3")]
            ),
            ("MUG-1-US".into(), "up".into(), vec![t("DEFAULT", "5", "7")]),
            (
                "MUG-2-CA".into(),
                "down".into(),
                vec![t("DEFAULT", "2", "1")]
            ),
        ]
    );
    assert_eq!(v["summary"]["unchanged"], 1);
    assert_eq!(
        v["marketplaces"],
        serde_json::json!([
            {"marketplace": "CA", "base_units": 7, "new_units": 4, "delta": -3},
            {"marketplace": "US", "base_units": 7, "new_units": 9, "delta": 2},
        ])
    );
}

#[test]
fn a_renamed_rule_with_the_same_quantities_is_no_difference() {
    let dir = tempfile::tempdir().unwrap();
    let base = policy(
        "US",
        "rule \"mugs\" {\n  match sku \"MUG-*\"\n  publish US as \"{sku}-US\"\n}",
    );
    let new = base.replace("rule \"mugs\"", "rule \"kitchen\"");
    let (code, out, err) = diff(dir.path(), &base, &new, &["--detailed-exitcode"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("No differences: 2 offers"), "{out}");
}

#[test]
fn a_seller_sku_template_change_says_old_offers_disappear_and_new_appear() {
    let dir = tempfile::tempdir().unwrap();
    let rule = |tpl: &str| {
        format!("rule \"mugs\" {{\n  match sku \"MUG-*\"\n  publish US as \"{tpl}\"\n}}")
    };
    let (base, new) = (
        policy("US", &rule("{sku}-US")),
        policy("US", &rule("{sku}_US")),
    );
    let v = json(dir.path(), &base, &new);
    assert_eq!(
        offers(&v),
        [
            (
                "MUG-1-US".into(),
                "disappear".into(),
                vec![t("DEFAULT", "10", "null")]
            ),
            (
                "MUG-1_US".into(),
                "appear".into(),
                vec![t("DEFAULT", "null", "10")]
            ),
            (
                "MUG-2-US".into(),
                "disappear".into(),
                vec![t("DEFAULT", "4", "null")]
            ),
            (
                "MUG-2_US".into(),
                "appear".into(),
                vec![t("DEFAULT", "null", "4")]
            ),
        ]
    );
    assert_eq!(v["offers"][0]["new"], serde_json::Value::Null);
    assert_eq!(v["offers"][0]["base"]["rule"], "mugs");
    assert_eq!(v["summary"]["renamed"][0]["new_seller_sku"], "MUG-1_US");
    // Units are the same: only where they are written moved.
    assert_eq!(v["marketplaces"][0]["delta"], 0);
    let (_, out, _) = diff(dir.path(), &base, &new, &[]);
    assert!(
        out.contains("2 offers are only in base: allot will no longer write them, and they keep whatever quantity Amazon has now"),
        "{out}"
    );
    assert!(out.contains("2 offers are only in new"), "{out}");
    assert!(
        out.contains("MUG-1: MUG-1-US → MUG-1_US, MUG-2: MUG-2-US → MUG-2_US): a seller SKU template or mapping changed"),
        "{out}"
    );
}

#[test]
fn a_marketplace_added_to_a_shared_seller_sku_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let rule = |m: &str| format!("rule \"mugs\" {{\n  match sku \"MUG-1\"\n  publish {m}\n}}");
    let v = json(
        dir.path(),
        &policy("US, CA", &rule("US")),
        &policy("US, CA", &rule("US, CA")),
    );
    // One seller SKU, one quantity: the same units, now also shown in CA.
    assert_eq!(
        offers(&v),
        [(
            "MUG-1".into(),
            "moved".into(),
            vec![t("DEFAULT", "10", "10")]
        )]
    );
    assert_eq!(
        v["offers"][0]["new"]["marketplaces"],
        serde_json::json!(["US", "CA"])
    );
    assert_eq!(v["marketplaces"][0]["marketplace"], "CA");
    assert_eq!(v["marketplaces"][0]["delta"], 10);
}

#[test]
fn location_channels_are_compared_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let inv = "sku,location,on_hand,reserved\nSHOE-1,newark,4,0\nSHOE-1,austin,2,0\n";
    let rule = |buffer: u32| {
        format!(
            "rule \"shoes\" {{\n  match sku \"SHOE-*\"\n  buffer {buffer}\n  publish US by location\n  default_channel 0\n}}"
        )
    };
    let b = write(dir.path(), "base.allot", &policy("US", &rule(0)));
    let n = write(dir.path(), "new.allot", &policy("US", &rule(1)));
    let i = write(dir.path(), "shoes.csv", inv);
    let out = allot()
        .arg("diff")
        .args([&b, &n])
        .arg("--inventory")
        .arg(&i)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The buffer applies per location: newark 4 → 3, austin 2 → 1; DEFAULT stays 0 (not listed).
    assert_eq!(
        offers(&v),
        [(
            "SHOE-1".into(),
            "down".into(),
            vec![
                t("353e4e48-6301-4d50-990e-43a86e8787a3", "4", "3"),
                t("8e07a0c9-ab0a-4108-9f16-83dc3496bee0", "2", "1"),
            ]
        )]
    );
    assert_eq!(v["offers"][0]["channels"][0]["location"], "newark");
}

#[test]
fn detailed_exitcode_is_0_without_differences_and_2_with() {
    let dir = tempfile::tempdir().unwrap();
    let base = policy(
        "US",
        "rule \"mugs\" {\n  match sku \"MUG-*\"\n  publish US as \"{sku}-US\"\n}",
    );
    let (code, out, _) = diff(dir.path(), &base, &base, &["--detailed-exitcode"]);
    assert_eq!(code, 0);
    assert!(out.contains("No differences"), "{out}");
    let new = base.replace("publish", "cap 2\n  publish");
    let (code, _, _) = diff(dir.path(), &base, &new, &["--detailed-exitcode"]);
    assert_eq!(code, 2);
    // Without the flag, differences are success.
    let (code, _, _) = diff(dir.path(), &base, &new, &[]);
    assert_eq!(code, 0);
    // A usage error is 1, never the 2 of "differences".
    let (code, _, err) = diff(dir.path(), &base, &new, &["--detailed-exitcode", "--bogus"]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn a_bad_new_policy_exits_1_naming_the_file_and_the_side() {
    let dir = tempfile::tempdir().unwrap();
    let base = policy(
        "US",
        "rule \"mugs\" {\n  match sku \"MUG-*\"\n  publish US as \"{sku}-US\"\n}",
    );
    let new = base.replace("publish US", "publish ZZ");
    let (code, out, err) = diff(dir.path(), &base, &new, &["--detailed-exitcode"]);
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert!(err.contains("new.allot"), "{err}");
    assert!(err.contains("the new policies"), "{err}");
    assert!(!err.contains("the base policies"), "{err}");
}

#[test]
fn warnings_show_on_stderr_and_fail_only_with_deny_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let base = policy(
        "US",
        "rule \"mugs\" {\n  match sku \"MUG-*\"\n  publish US as \"{sku}-US\"\n}",
    );
    // A fixed quantity is a warning (not tied to stock).
    let new = base.replace("publish", "quantity 5\n  publish");
    let (code, out, err) = diff(dir.path(), &base, &new, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("fixed-quantity"), "{err}");
    assert!(out.contains("2 offers differ"), "{out}");
    let (code, _, err) = diff(dir.path(), &base, &new, &["--deny-warnings"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--deny-warnings"), "{err}");
    // The base's warnings are not the change's: they never fail the run.
    let (code, _, err) = diff(dir.path(), &new, &base, &["--deny-warnings"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn markdown_is_summary_first_and_capped_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let mut inv = String::from("sku,location,on_hand,reserved\n");
    for i in 0..200 {
        inv.push_str(&format!("MUG-{i},newark,{},0\n", 10 + i));
    }
    let b = write(
        dir.path(),
        "base.allot",
        &policy(
            "US",
            "rule \"mugs\" {\n  match sku \"MUG-*\"\n  publish US as \"{sku}-US\"\n}",
        ),
    );
    let n = write(
        dir.path(),
        "new.allot",
        &policy(
            "US",
            "rule \"mugs\" {\n  match sku \"MUG-*\"\n  buffer 1\n  publish US as \"{sku}-US\"\n}",
        ),
    );
    let i = write(dir.path(), "inv.csv", &inv);
    let run = |max: &str| {
        let out = allot()
            .arg("diff")
            .args([&b, &n])
            .arg("--inventory")
            .arg(&i)
            .args(["--format", "markdown", "--max-chars", max])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    let full = run("60000");
    assert!(!full.contains("rows not shown"), "{full}");
    let summary = full.find("200 offers differ").unwrap();
    let details = full.find("<details>").unwrap();
    assert!(summary < details, "{full}");
    let cut = run("3000");
    assert!(cut.len() <= 3000, "{}", cut.len());
    assert!(cut.contains("<details><summary>200 offers differ (200 channel rows)</summary>"));
    let note = cut
        .lines()
        .find(|l| l.contains("rows not shown"))
        .expect("a note of the rows cut");
    let shown = cut.lines().filter(|l| l.starts_with("| `MUG-")).count();
    assert!(shown > 0);
    assert!(
        note.starts_with(&format!("_{} of 200 rows not shown", 200 - shown)),
        "{note}"
    );
    assert!(cut.trim_end().ends_with("</details>"));
}

#[test]
fn json_validates_against_the_published_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/diff.schema.json")).unwrap(),
    )
    .unwrap();
    let v = jsonschema::validator_for(&schema).expect("the diff schema compiles");
    let run = |extra: &[&str]| {
        let out = allot()
            .args([
                "diff",
                "policies/acme-na.allot",
                "tests/fixtures/diff/acme-na-new.allot",
                "--inventory",
                "examples/inventory.csv",
                "--format",
                "json",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    for doc in [
        run(&[]),
        run(&["--current", "examples/current.json"]),
        // No differences, too.
        {
            let out = allot()
                .args([
                    "diff",
                    "policies/acme-na.allot",
                    "policies/acme-na.allot",
                    "--inventory",
                    "examples/inventory.csv",
                    "--format",
                    "json",
                ])
                .output()
                .unwrap();
            serde_json::from_slice(&out.stdout).unwrap()
        },
    ] {
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}\n{doc:#}");
        assert_eq!(doc["format_version"], "1.0");
    }
    // The schema does catch a wrong document: a kind the diff does not have.
    let mut bad = run(&[]);
    bad["offers"][0]["kind"] = serde_json::json!("sideways");
    assert!(!v.is_valid(&bad));
}

#[test]
fn diff_table_on_the_shipped_example() {
    let out = allot()
        .args([
            "diff",
            "policies/acme-na.allot",
            "tests/fixtures/diff/acme-na-new.allot",
            "--inventory",
            "examples/inventory.csv",
            "--current",
            "examples/current.json",
        ])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!("diff_table_example", String::from_utf8(out).unwrap());
}

#[test]
fn folders_of_policies_are_compared_as_sides() {
    // A CI job checks the base branch out beside the pull request's: `allot diff base/ new/`.
    let dir = tempfile::tempdir().unwrap();
    for side in ["base", "new"] {
        std::fs::create_dir(dir.path().join(side)).unwrap();
    }
    let rule = |cap: u32| {
        format!(
            "rule \"mugs\" {{\n  match sku \"MUG-*\"\n  cap {cap}\n  publish US as \"{{sku}}-US\"\n}}"
        )
    };
    write(
        &dir.path().join("base"),
        "us.allot",
        &policy("US", &rule(8)),
    );
    write(&dir.path().join("new"), "us.allot", &policy("US", &rule(5)));
    let inv = write(dir.path(), "inv.csv", INVENTORY);
    allot()
        .arg("diff")
        .arg(dir.path().join("base"))
        .arg(dir.path().join("new"))
        .arg("--inventory")
        .arg(&inv)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("8 → 5"))
        .stdout(predicate::str::contains("1 offer differs: 0 up, 1 down"));
    // Standard input is not read (each side reads the inventory).
    allot()
        .arg("diff")
        .arg(dir.path().join("base"))
        .arg(dir.path().join("new"))
        .args(["--inventory", "-"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--inventory FILE"));
}

#[test]
fn renamed_seller_skus_amazon_does_not_list_are_said_to_be_not_written() {
    // With current listings, the renamed seller SKUs are held (not listed): the old offers
    // disappear and nothing replaces them, which the summary must say.
    let dir = tempfile::tempdir().unwrap();
    let rule = |tpl: &str| {
        format!("rule \"mugs\" {{\n  match sku \"MUG-*\"\n  publish US as \"{tpl}\"\n}}")
    };
    let cur = write(
        dir.path(),
        "cur.csv",
        "seller_sku,channel,quantity,marketplace\nMUG-1-US,DEFAULT,10,US\nMUG-2-US,DEFAULT,3,US\n",
    );
    let cur = cur.to_str().unwrap();
    let (base, new) = (
        policy("US", &rule("{sku}-US")),
        policy("US", &rule("{sku}_US")),
    );
    let (code, out, err) = diff(dir.path(), &base, &new, &["--current", cur]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("MUG-1-US    MUG-1          US            DEFAULT  10 → -"),
        "{out}"
    );
    assert!(
        out.contains("2 offers are only in new but not written by allot"),
        "{out}"
    );
    assert!(
        out.contains("  MUG-1_US (US; not listed on Amazon; rule \"mugs\")"),
        "{out}"
    );
    assert!(out.contains("MUG-2: MUG-2-US → MUG-2_US"), "{out}");
    assert!(out.contains("US           14    0    -14"), "{out}");
    let (_, out, _) = diff(
        dir.path(),
        &base,
        &new,
        &["--current", cur, "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["disappear"], 2);
    assert_eq!(v["summary"]["not_written"], 2);
    assert_eq!(v["not_written"][0]["held"], "not_listed");
    assert_eq!(v["not_written"][0]["seller_id"], "A1PP0FEH11RW77");
    assert_eq!(v["current_known"], true);
}

#[test]
fn a_bad_base_policy_names_the_base_side() {
    let dir = tempfile::tempdir().unwrap();
    let new = policy(
        "US",
        "rule \"mugs\" {\n  match sku \"MUG-*\"\n  publish US as \"{sku}-US\"\n}",
    );
    let base = new.replace("rule \"mugs\" {", "rule \"mugs\" {\n  cap");
    let (code, out, err) = diff(dir.path(), &base, &new, &["--detailed-exitcode"]);
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert!(
        err.contains("base.allot") && err.contains("the base policies"),
        "{err}"
    );
}
