//! `allot plan`, `allot explain` and `allot test` as a user runs them, on the shipped examples.

use predicates::prelude::*;

mod common;
use common::{allot, root, write};

const PLAN: [&str; 6] = [
    "plan",
    "policies/acme-na.allot",
    "--inventory",
    "examples/inventory.csv",
    "--current",
    "examples/current.json",
];

#[test]
fn plan_table_shows_every_kind_of_row() {
    let out = allot()
        .args(PLAN)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    insta::assert_snapshot!("plan_table_example", text);
}

#[test]
fn plan_markdown_is_capped_with_a_note() {
    allot()
        .args(PLAN)
        .args(["--format", "markdown", "--max-chars", "900"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("<details>"))
        .stdout(predicate::str::contains("rows not shown"));
}

#[test]
fn plan_markdown_carries_the_policy_warnings_for_the_reviewer() {
    // A pull-request comment is all the reviewer sees: the check warnings go in it, summary
    // first, before the changes.
    let out = allot()
        .args(PLAN)
        .args(["--format", "markdown"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let oversell = text
        .find("policies/acme-na.allot:18:")
        .expect("oversell warning");
    let fixed = text
        .find("policies/acme-na.allot:40:")
        .expect("fixed-quantity warning");
    let changes = text
        .find("<details><summary>4 offers change")
        .expect("changes");
    assert!(oversell < fixed && fixed < changes, "{text}");
    assert!(text.contains("[allot::oversell]") && text.contains("[allot::fixed-quantity]"));
}

#[test]
fn plan_json_is_versioned_and_has_provenance() {
    let out = allot()
        .args(PLAN)
        .args(["--format", "json"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["format_version"], "1.4");
    assert_eq!(v["summary"]["offers_zeroed"], 1);
    assert_eq!(v["summary"]["skus_skipped_missing"], 2);
    let candle = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["seller_sku"] == "CANDLE-LAV")
        .unwrap();
    assert_eq!(
        candle["marketplaces"],
        serde_json::json!(["US", "CA", "MX"])
    );
    assert_eq!(candle["provenance"]["steps"][1]["step"], "cap");
    assert_eq!(candle["channels"][0]["new"], 3);
}

#[test]
fn detailed_exitcode_is_2_with_changes_0_without() {
    allot()
        .args(PLAN)
        .arg("--detailed-exitcode")
        .assert()
        .code(2);
    let dir = tempfile::tempdir().unwrap();
    let inv = write(
        dir.path(),
        "inv.csv",
        "sku,location,on_hand,reserved\nMUG-1,newark,10,0\n",
    );
    let cur = write(
        dir.path(),
        "cur.csv",
        "seller_sku,channel,quantity\nMUG-1-US,DEFAULT,6\nMUG-1-CA,DEFAULT,4\n",
    );
    allot()
        .args(["plan", "policies/acme-na.allot", "--inventory"])
        .arg(&inv)
        .arg("--current")
        .arg(&cur)
        .arg("--detailed-exitcode")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("No offer changes."));
}

#[test]
fn plan_usage_errors_exit_1_never_the_2_of_changes_present() {
    // Under --detailed-exitcode, 2 means "changes present": a mistyped flag must not look like it.
    allot()
        .args(PLAN)
        .args(["--detailed-exitcode", "--curent", "x"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--curent"));
    // Saving flags without --out are refused (not ignored), with exit 1 too.
    allot().args(PLAN).arg("--all").assert().code(1);
    // Other commands keep the usual 2 for usage errors.
    allot()
        .args(["check", "--bogus", "policies"])
        .assert()
        .code(2);
    allot().args(["plan", "--help"]).assert().code(0);
}

#[test]
fn a_reader_that_goes_away_is_no_panic() {
    use std::io::Read;
    use std::process::{Command as Std, Stdio};
    let mut child = Std::new(assert_cmd::cargo::cargo_bin("allot"))
        .args(["marketplaces"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close our end of stdout at once: every line allot prints goes to a closed pipe.
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        status.code().is_some_and(|c| c == 0 || c == 1),
        "{status:?}"
    );
}

#[test]
fn bad_inventory_exits_1_with_located_errors_and_no_preview() {
    let dir = tempfile::tempdir().unwrap();
    let inv = write(
        dir.path(),
        "inv.csv",
        "sku,location,on_hand,reserved\nMUG-1,newrak,10,0\nMUG-2,newark,,0\n",
    );
    allot()
        .args(["plan", "policies/acme-na.allot", "--inventory"])
        .arg(&inv)
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "inv.csv:2, column 2 (location): unknown location `newrak`",
        ))
        .stderr(predicate::str::contains("did you mean `newark`?"))
        .stderr(predicate::str::contains(
            "inv.csv:3, column 3 (on_hand): the quantity is blank",
        ));
}

#[test]
fn bad_policy_and_missing_file_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.allot", "policy \"x\"\nrule {\n");
    allot()
        .arg("plan")
        .arg(&bad)
        .args(["--inventory", "examples/inventory.csv"])
        .assert()
        .code(1);
    allot()
        .args(["plan", "policies/acme-na.allot", "--inventory", "nope.csv"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nope.csv"));
}

#[test]
fn explain_traces_one_sku() {
    allot()
        .args([
            "explain",
            "policies/acme-na.allot",
            "--inventory",
            "examples/inventory.csv",
            "--current",
            "examples/current.json",
            "SHOE-1",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("✗ no match \"yoga pants\""))
        .stdout(predicate::str::contains("✓ matched  \"ship from stores\""))
        .stdout(predicate::str::contains("pool @newark 3"))
        .stdout(predicate::str::contains(
            "Amazon will show in US: DEFAULT 0, newark 3, austin 2",
        ));
}

#[test]
fn test_command_passes_and_fails() {
    allot()
        .args(["test", "policies/acme-na.allot"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("ok    yoga is capped at 10"));
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("policies/acme-na.allot"))
        .unwrap()
        .replace(
            "expect \"YOGA-1-US\" on US = 10",
            "expect \"YOGA-1-US\" on US = 12",
        );
    let p = write(dir.path(), "p.allot", &text);
    allot()
        .arg("test")
        .arg(&p)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("- expected: 12"))
        .stdout(predicate::str::contains("+ actual:   10"))
        .stdout(predicate::str::contains("0 passed, 1 failed"));
    // A missing file is an I/O error (2), as for `allot check`, not a failed test.
    allot()
        .args(["test", "no-such-policy.allot"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no-such-policy.allot"));
}

// ---- Safety on a real account: the messages of tests/fixtures/safety (reviewed snapshots) ----

const SAFETY: &str = "tests/fixtures/safety";

fn out_and_err(o: &std::process::Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn explain_accepts_a_seller_sku_and_names_its_inventory_sku() {
    let o = allot()
        .args(PLAN)
        .args(["--format", "table"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let o = allot()
        .args([
            "explain",
            "policies/acme-na.allot",
            "--inventory",
            "examples/inventory.csv",
            "--current",
            "examples/current.json",
            "MUG-1-CA",
        ])
        .output()
        .unwrap();
    insta::assert_snapshot!("explain_seller_sku", out_and_err(&o));
}

#[test]
fn explain_of_an_unknown_sku_suggests_the_nearest_inventory_sku() {
    let o = allot()
        .args([
            "explain",
            "policies/acme-na.allot",
            "--inventory",
            "examples/inventory.csv",
            "mug-1",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "no rule publishes it as a seller SKU; did you mean the inventory SKU `MUG-1`?"
        ),
        "{err}"
    );
}

#[test]
fn skus_that_differ_only_in_case_are_warned_about() {
    let o = allot()
        .args([
            "plan",
            &format!("{SAFETY}/fba-mix.allot"),
            "--inventory",
            &format!("{SAFETY}/case-twins.csv"),
        ])
        .output()
        .unwrap();
    insta::assert_snapshot!("plan_case_twins", out_and_err(&o));
}

#[test]
fn a_failing_test_names_the_nearest_offer_that_exists() {
    let o = allot()
        .args(["test", &format!("{SAFETY}/nearest-offer.allot")])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!("test_nearest_offer", out_and_err(&o));
}

#[test]
fn a_plan_is_not_saved_without_current_listings_unless_allow_new() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.json");
    let o = allot()
        .args([
            "plan",
            &format!("{SAFETY}/fba-mix.allot"),
            "--inventory",
            &format!("{SAFETY}/inventory.csv"),
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(!out.exists());
    insta::assert_snapshot!("plan_out_without_current", out_and_err(&o));
    allot()
        .args([
            "plan",
            &format!("{SAFETY}/fba-mix.allot"),
            "--inventory",
            &format!("{SAFETY}/inventory.csv"),
            "--allow-new",
            "--out",
        ])
        .arg(&out)
        .assert()
        .code(0);
    assert!(out.exists());
}

#[test]
fn the_preview_without_current_listings_says_it_cannot_tell_new_from_existing() {
    allot()
        .args([
            "plan",
            &format!("{SAFETY}/fba-mix.allot"),
            "--inventory",
            &format!("{SAFETY}/inventory.csv"),
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "note: no current listings were given",
        ));
}

#[test]
fn the_fba_preview_as_a_reviewer_reads_it() {
    let o = allot()
        .args([
            "plan",
            &format!("{SAFETY}/fba-mix.allot"),
            "--inventory",
            &format!("{SAFETY}/inventory.csv"),
            "--current",
            &format!("{SAFETY}/all-listings.txt"),
            "--current-marketplace",
            "US",
            "--format",
            "markdown",
        ])
        .output()
        .unwrap();
    insta::assert_snapshot!("plan_fba_markdown", out_and_err(&o));
}

/// `on_fba error`: the same listings make no preview and no plan; the FBA offer is named.
#[test]
fn on_fba_error_fails_the_plan_naming_the_fba_offer() {
    let dir = tempfile::tempdir().unwrap();
    let policy = std::fs::read_to_string(root().join(SAFETY).join("fba-mix.allot")).unwrap();
    let text = policy.replace("location wh\n", "location wh\non_fba error\n");
    let policy = write(dir.path(), "fba-error.allot", &text);
    // The error points at the policy's `on_fba error` line (the rule has none of its own).
    let line = text.lines().position(|l| l == "on_fba error").unwrap() + 1;
    let out = dir.path().join("plan.json");
    allot()
        .arg("plan")
        .arg(&policy)
        .args(["--inventory", &format!("{SAFETY}/inventory.csv")])
        .args(["--current", &format!("{SAFETY}/all-listings.txt")])
        .args(["--current-marketplace", "US", "--out"])
        .arg(&out)
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(format!(
            "error[allot::sim::fulfilled-by-amazon]: seller SKU `FBA-1` is fulfilled by Amazon (AMAZON_NA) and rule \"everything\" says `on_fba error`\n  --> {}:{line}:1\n  help: convert the offer to merchant-fulfilled in Seller Central first, or use `on_fba skip`",
            policy.display()
        )));
    assert!(!out.exists());
}

/// A policy that writes `GB` publishes the seller SKUs the seller has (`…-GB`) to Amazon's UK
/// marketplace ID; a current listing reported under `UK` is that same listing.
#[test]
fn gb_renders_gb_in_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "gb.allot",
        "policy \"gb\"\nseller \"A2EXAMPLE0SELLER\"\nmarketplaces GB\nlocation newark\nrule \"all\" {\n  match any\n  publish GB as \"{sku}-{marketplace}\"\n}\n",
    );
    let inv = write(
        dir.path(),
        "inv.csv",
        "sku,location,on_hand,reserved\nYOGA-1,newark,8,0\n",
    );
    let out = allot()
        .arg("plan")
        .arg(&policy)
        .arg("--inventory")
        .arg(&inv)
        .arg("--format")
        .arg("json")
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("\"YOGA-1-GB\""), "{text}");
    assert!(!text.contains("YOGA-1-UK"), "{text}");
    assert!(text.contains("A1F83G8C2ARO7P"), "{text}");
}

/// Seed 002's fix as three files of one seller: planned together into one preview and one plan
/// that records every policy file; the trap version is refused before anything is planned.
#[test]
fn several_policies_of_one_seller_make_one_plan() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.json");
    let args = |set: &str| {
        vec![
            "plan".to_string(),
            format!("tests/fixtures/sets/{set}"),
            "--inventory".into(),
            "tests/fixtures/sets/inventory.csv".into(),
            "--current".into(),
            "tests/fixtures/sets/current.csv".into(),
            "--out".into(),
            out.to_str().unwrap().into(),
        ]
    };
    let o = allot().args(args("seed002-fixed")).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    for line in [
        "SKU123_UK   UK            DEFAULT  4 → 10",
        "SKU123_DE   DE            DEFAULT  4 → 20",
        "SKU123_FR   FR            DEFAULT  4 → 30",
    ] {
        assert!(text.contains(line), "{text}");
    }
    let plan = allot::plan::read(&out).unwrap();
    assert_eq!(plan.operations.len(), 3);
    assert_eq!(plan.policy, "acme-de + acme-fr + acme-uk");
    assert_eq!(plan.inputs.more_policies.len(), 2);
    let shown = allot()
        .args(["show", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&shown.stdout)
            .contains("Inputs: policies tests/fixtures/sets/seed002-fixed/de.allot")
    );
    std::fs::remove_file(&out).unwrap();
    let o = allot().args(args("seed002-trap")).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(!out.exists());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("allot::unified-conflict"), "{err}");
    assert!(err.contains("fix the policies first"), "{err}");
}

#[test]
fn plan_deny_warnings_fails_and_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.json");
    // The shipped example has two promised warnings (oversell, fixed quantity).
    let o = allot()
        .args(PLAN)
        .args(["--deny-warnings", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(!out.exists());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--deny-warnings: no plan was saved"), "{err}");
    // A clean set passes.
    allot()
        .args([
            "plan",
            "tests/fixtures/sets/seed002-fixed",
            "--inventory",
            "tests/fixtures/sets/inventory.csv",
            "--current",
            "tests/fixtures/sets/current.csv",
            "--deny-warnings",
        ])
        .assert()
        .code(0);
}

/// Issue "Nothing lost, nothing leaked, no panic": stock that adds up past 2^64 wrapped to a
/// small pool (two rows of 2^63 delisted the offer, exit 0). It is now refused where it is read.
#[test]
fn stock_adding_up_past_2_64_is_refused_with_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    for (rows, line) in [
        (
            "MUG-1,newark,9223372036854775808,0\nMUG-1,austin,9223372036854775808,0\n",
            3,
        ),
        (
            "MUG-1,newark,18446744073709551615,0\nMUG-1,toronto,10,0\n",
            3,
        ),
    ] {
        let inv = write(
            dir.path(),
            "inv.csv",
            &format!("sku,location,on_hand,reserved\n{rows}"),
        );
        let out = allot()
            .args([
                "plan",
                "policies/acme-na.allot",
                "--allow-new",
                "--inventory",
            ])
            .arg(&inv)
            .assert()
            .code(1)
            .get_output()
            .clone();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("inv.csv:{line}, column 3 (on_hand)"))
                && err.contains("SKU `MUG-1` over its locations adds up to more than"),
            "{err}"
        );
        assert!(out.stdout.is_empty(), "nothing is planned");
    }
}

/// Fixed quantities whose sum over a SKU's offers passes 2^64: the exposure was clamped.
#[test]
fn published_units_past_2_64_are_an_error_not_a_clamped_exposure() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "p.allot",
        "policy \"p\"\nseller \"A1PP0FEH11RW77\"\nmarketplaces US, CA\nlocation newark\n\
         rule \"all\" {\n  match any\n  quantity 18446744073709551615\n  publish US as \"{sku}-US\", CA as \"{sku}-CA\"\n}\n",
    );
    let inv = write(dir.path(), "inv.csv", "sku,location,on_hand\nA,newark,1\n");
    allot()
        .arg("plan")
        .arg(&policy)
        .args(["--allow-new", "--inventory"])
        .arg(&inv)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "the units inventory SKU `A` publishes over its offers add up to more than 18446744073709551615",
        ));
}

/// `plan --out` saves the same plan whatever the preview's format (one policy: the plan is
/// written while the offers stream by, beside table rows, JSON entries or, for the Markdown
/// comment, on its own): the same operations, header and locations; only the time and so the
/// digest differ. With `--all`, with held, changed and unchanged offers, and with
/// supply-source channels (acme-na), each over the shipped examples. That a plan encoded in
/// chunks is the plan built from the offers in memory is `sim::tests::a_plan_encoded_in_chunks_is_the_plan_built_in_memory`.
#[test]
fn a_plan_saved_while_streaming_is_the_plan_saved_from_memory() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, Vec<String>); 2] = [
        ("acme", PLAN[1..].iter().map(|s| s.to_string()).collect()),
        (
            "safety",
            vec![
                format!("{SAFETY}/fba-mix.allot"),
                "--inventory".into(),
                format!("{SAFETY}/inventory.csv"),
                "--current".into(),
                format!("{SAFETY}/all-listings.txt"),
                "--current-marketplace".into(),
                "US".into(),
            ],
        ),
    ];
    for (name, inputs) in cases {
        for all in [false, true] {
            let mut plans = Vec::new();
            for format in ["table", "json", "markdown"] {
                let out = dir.path().join(format!("{name}-{all}-{format}.json"));
                let mut cmd = allot();
                cmd.arg("plan")
                    .args(&inputs)
                    .args(["--format", format, "--out"]);
                cmd.arg(&out);
                if all {
                    cmd.arg("--all");
                }
                cmd.assert().success();
                let mut v: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
                let o = v.as_object_mut().unwrap();
                assert!(o.remove("created_at").is_some());
                assert!(o.remove("digest").is_some());
                plans.push(v);
            }
            assert_eq!(plans[0], plans[1], "{name}, --all {all}");
            assert_eq!(plans[0], plans[2], "{name}, --all {all}");
            assert!(
                !plans[0]["operations"].as_array().unwrap().is_empty(),
                "{name}, --all {all}: the case writes something"
            );
        }
    }
}

/// A table whose reader goes away mid-way (`allot plan ... --out p.json | head`) saves no plan,
/// as when the preview is kept in memory: the plan is only saved with the preview it goes with.
#[test]
fn a_plan_whose_preview_was_not_read_is_not_saved() {
    use std::io::Read;
    use std::process::{Command as Std, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.json");
    let mut child = Std::new(assert_cmd::cargo::cargo_bin("allot"))
        .current_dir(root())
        .args(PLAN)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!out.exists(), "{err}");
    assert!(!err.contains("saved"), "{err}");
}

/// Seed 002 the allot way (`policies/uk-de-fr.allot`): each marketplace's seller SKU publishes
/// its own warehouse's stock, the plan writes three different quantities, and `explain` says
/// which locations each offer's pool counts.
#[test]
fn seed_002_each_marketplace_from_its_own_warehouse() {
    let dir = tempfile::tempdir().unwrap();
    let inv = write(
        dir.path(),
        "inv.csv",
        "sku,location,on_hand,reserved\nSKU123,uk_wh,10,0\nSKU123,de_wh,20,0\nSKU123,fr_wh,30,0\n",
    );
    let out = allot()
        .args(["plan", "policies/uk-de-fr.allot", "--inventory"])
        .arg(&inv)
        .args(["--format", "json"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let got: Vec<(String, u64)> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["seller_sku"].as_str().unwrap().to_string(),
                c["channels"][0]["new"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("SKU123_UK".to_string(), 9),
            ("SKU123_DE".to_string(), 19),
            ("SKU123_FR".to_string(), 29)
        ]
    );
    allot()
        .args(["explain", "policies/uk-de-fr.allot", "--inventory"])
        .arg(&inv)
        .arg("SKU123")
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "stock over every location the offers count: 60 (each offer counts its own: below)",
        ))
        .stdout(predicate::str::contains(
            "offer SKU123_DE (EU: DE) [new]\n  pool counts: de_wh\n  steps: pool 20, buffer -1 → 19",
        ));
}

/// `quantity N once` (Salestio's Single/Custom modes): the initial quantity is written to a
/// listing without one, and left to Amazon on a listing that has one, whatever its value.
#[test]
fn an_initial_quantity_is_written_once_then_left_to_amazon() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "once.allot",
        "policy \"once\"\nseller \"A1PP0FEH11RW77\"\nmarketplaces US\nlocation newark\n\nrule \"singles\" {\n  match sku \"S-*\"\n  quantity 10 once\n  publish US\n}\n\nrule \"rest\" {\n  match any\n  cap 10\n  publish US\n}\n\ntest \"the first run sends the initial quantity\" {\n  stock \"S-1\" newark 0\n  expect \"S-1\" on US = 10\n}\n",
    );
    let inv = write(
        dir.path(),
        "inv.csv",
        "sku,location,on_hand,reserved\nS-SOLD,newark,5,0\nS-INACTIVE,newark,5,0\nX-1,newark,4,0\n",
    );
    // S-SOLD: 10 sent on the first run, 3 sold since. S-INACTIVE: listed, no quantity yet.
    let cur = write(
        dir.path(),
        "cur.json",
        r#"{"listings": {"S-SOLD": {"DEFAULT": 7}, "X-1": {"DEFAULT": 2}},
 "listed_in": {"S-SOLD": ["US"], "S-INACTIVE": ["US"], "X-1": ["US"]}}"#,
    );
    let plan = |format: &str| {
        let o = allot()
            .arg("plan")
            .arg(&policy)
            .arg("--inventory")
            .arg(&inv)
            .arg("--current")
            .arg(&cur)
            .args(["--format", format])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", out_and_err(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    insta::assert_snapshot!("plan_initial_quantity_table", plan("table"));

    let v: serde_json::Value = serde_json::from_str(&plan("json")).unwrap();
    assert_eq!(v["summary"]["offers_initial_kept"], 1, "{v}");
    assert_eq!(v["summary"]["offers_new"], 1, "{v}");
    assert_eq!(v["summary"]["offers_changed"], 1, "{v}");
    let change = |sku: &str| {
        v["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["seller_sku"] == sku)
            .unwrap()
            .clone()
    };
    let sold = change("S-SOLD");
    assert_eq!(sold["hold"]["reason"], "initial_quantity_sent", "{sold}");
    assert_eq!(sold["written"], false);
    assert_eq!(sold["channels"][0]["current"], 7);
    assert_eq!(
        sold["shown"][0]["quantity"], 7,
        "buyers keep Amazon's count"
    );
    let inactive = change("S-INACTIVE");
    assert!(inactive["hold"].is_null(), "{inactive}");
    assert_eq!(inactive["channels"][0]["new"], 10);

    // The saved plan writes the inactive listing's initial quantity and X-1, never S-SOLD.
    let out = dir.path().join("plan.json");
    allot()
        .arg("plan")
        .arg(&policy)
        .arg("--inventory")
        .arg(&inv)
        .arg("--current")
        .arg(&cur)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0);
    let saved = std::fs::read_to_string(&out).unwrap();
    assert!(
        saved.contains("S-INACTIVE") && saved.contains("X-1"),
        "{saved}"
    );
    assert!(!saved.contains("S-SOLD"), "{saved}");

    // Tests have no current listings: an expectation sees the initial quantity.
    allot().arg("test").arg(&policy).assert().code(0);
}

/// The `changes` of `allot plan --format json` with the given inventory flags (and stdin).
fn json_changes(inventory: &[&str], stdin: Option<&str>) -> (serde_json::Value, String) {
    let mut c = allot();
    c.args(["plan", "policies/acme-na.allot"]);
    for i in inventory {
        c.args(["--inventory", i]);
    }
    c.args(["--current", "examples/current.json", "--format", "json"]);
    if let Some(s) = stdin {
        c.write_stdin(s);
    }
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", out_and_err(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    (
        v["changes"].clone(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn several_inventory_files_and_stdin_read_as_one_inventory() {
    let whole = std::fs::read_to_string(root().join("examples/inventory.csv")).unwrap();
    let mut lines = whole.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let (first, second) = rows.split_at(rows.len() / 2);
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.csv",
        &format!("{header}\n{}\n", first.join("\n")),
    );
    // The second half as JSON lines would need another writer: a CSV of its own does.
    let b_text = format!("{header}\n{}\n", second.join("\n"));
    let b = write(dir.path(), "b.csv", &b_text);
    let (one, _) = json_changes(&["examples/inventory.csv"], None);
    let (two, _) = json_changes(&[a.to_str().unwrap(), b.to_str().unwrap()], None);
    assert_eq!(one, two);
    // `-` is standard input, its format detected from its content.
    let (piped, _) = json_changes(&[a.to_str().unwrap(), "-"], Some(&b_text));
    assert_eq!(one, piped);
    let (all_piped, _) = json_changes(&["-"], Some(&whole));
    assert_eq!(one, all_piped);

    // A saved plan records every inventory, stdin as `-`; show names it, and apply says it
    // cannot check it.
    let out = dir.path().join("plan.json");
    let o = allot()
        .args(["plan", "policies/acme-na.allot", "--inventory"])
        .arg(&a)
        .args([
            "--inventory",
            "-",
            "--current",
            "examples/current.json",
            "--out",
        ])
        .arg(&out)
        .write_stdin(b_text.clone())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out_and_err(&o));
    let plan = allot::plan::read(&out).unwrap();
    assert_eq!(plan.inputs.inventory.path, a.to_str().unwrap());
    assert_eq!(plan.inputs.more_inventory.len(), 1);
    assert_eq!(plan.inputs.more_inventory[0].path, "-");
    assert_eq!(
        plan.inputs.more_inventory[0].sha256,
        allot::plan::digest_bytes("-", b_text.as_bytes()).sha256
    );
    allot::plan::check_inputs(&plan).unwrap();
    assert_eq!(allot::plan::unverifiable(&plan.inputs).len(), 1);
    let shown = allot().arg("show").arg(&out).output().unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains(", <stdin> (sha256 "), "{shown}");
    let applied = allot()
        .arg("apply")
        .arg(&out)
        .env_remove("SPAPI_REFRESH_TOKEN")
        .env_remove("LWA_CLIENT_ID")
        .env_remove("LWA_CLIENT_SECRET")
        .output()
        .unwrap();
    assert!(
        out_and_err(&applied).contains("the inventory was read from standard input"),
        "{}",
        out_and_err(&applied)
    );
}

#[test]
fn a_row_in_two_inventory_files_and_stdin_twice_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.csv",
        "sku,location,on_hand\nYOGA-1,newark,1\n",
    );
    let b = write(
        dir.path(),
        "b.csv",
        "sku,location,on_hand\nMUG-1,newark,1\nYOGA-1,newark,2\n",
    );
    let o = allot()
        .args(["plan", "policies/acme-na.allot", "--inventory"])
        .arg(&a)
        .arg("--inventory")
        .arg(&b)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "{}:3: a second row for SKU `YOGA-1` at location `newark`: {}:2 and {}:3",
            b.display(),
            a.display(),
            b.display()
        )),
        "{err}"
    );
    let o = allot()
        .args([
            "plan",
            "policies/acme-na.allot",
            "--inventory",
            "-",
            "--inventory",
            "-",
        ])
        .write_stdin("sku,location,on_hand\n")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("given more than once"),
        "{}",
        out_and_err(&o)
    );
    // A stdin error is located in `<stdin>`.
    let o = allot()
        .args(["plan", "policies/acme-na.allot", "--inventory", "-"])
        .write_stdin("sku,location,on_hand\nYOGA-1,newark,x\n")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("error[allot::inventory::bad-quantity]: <stdin>:2, column 3 (on_hand)"),
        "{}",
        out_and_err(&o)
    );
}

#[test]
fn the_inventory_line_reads_an_untidy_inventory_and_says_so_in_the_preview() {
    let dir = tempfile::tempdir().unwrap();
    let policy = std::fs::read_to_string(root().join("policies/acme-na.allot")).unwrap();
    let inv = "sku,location,on_hand,reserved\nYOGA-1,newark,-2,0\nYOGA-1,brooklyn,5,0\nMUG-1,newark,7,0\n";
    let inv = write(dir.path(), "inv.csv", inv);
    let plain = write(dir.path(), "plain.allot", &policy);
    let o = allot()
        .arg("plan")
        .arg(&plain)
        .arg("--inventory")
        .arg(&inv)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("add `inventory negative_as_zero` to the policy"),
        "{err}"
    );
    assert!(
        err.contains("add `inventory ignore_unknown_locations` to the policy"),
        "{err}"
    );
    let lenient = policy.replacen(
        "\nlocation toronto",
        "\ninventory negative_as_zero, ignore_unknown_locations\nlocation toronto",
        1,
    );
    assert_ne!(lenient, policy);
    let lenient = write(dir.path(), "lenient.allot", &lenient);
    let o = allot()
        .arg("plan")
        .arg(&lenient)
        .arg("--inventory")
        .arg(&inv)
        .args(["--format", "markdown"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out_and_err(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("1 inventory row with a negative quantity read as 0 (inventory negative_as_zero): YOGA-1 at newark (-2)"),
        "{text}"
    );
    assert!(
        text.contains("1 inventory row left out for location the policy does not declare (inventory ignore_unknown_locations): `brooklyn`"),
        "{text}"
    );
}

/// A Linnworks-style inventory mapping: the seller SKU of each inventory SKU is its
/// `amazon_sku` column, one shared offer for UK and DE (one European unified account).
const MAPPED_POLICY: &str = r#"policy "mapped"
seller "A2EXAMPLE0SELLER"
marketplaces UK, DE
location leeds
rule "mapped" {
  match   any
  publish UK as "{column:amazon_sku}", DE as "{column:amazon_sku}"
}
"#;

#[test]
fn plan_and_explain_with_seller_skus_from_an_inventory_column() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "mapped.allot", MAPPED_POLICY);
    let inv = write(
        dir.path(),
        "inventory.csv",
        "sku,location,on_hand,reserved,amazon_sku\nSKU123,leeds,7,0,OLD-LISTING-7781\nSKU124,leeds,3,0,\n",
    );
    let (policy, inv) = (policy.to_str().unwrap(), inv.to_str().unwrap());
    allot()
        .args(["plan", policy, "--inventory", inv])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "OLD-LISTING-7781  UK,DE         DEFAULT  - → 7",
        ))
        .stdout(predicate::str::contains(
            "SKU124 on UK: no value in column `amazon_sku` (rule \"mapped\")",
        ))
        .stdout(predicate::str::contains(
            "SKU124 on DE: no value in column `amazon_sku`",
        ));
    allot()
        .args(["plan", policy, "--inventory", inv, "--format", "markdown"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "2 offers without a seller SKU (empty inventory column)",
        ))
        .stdout(predicate::str::contains(
            "- `SKU124` on UK: no value in column `amazon_sku` (rule \"mapped\")",
        ));
    allot()
        .args(["explain", policy, "--inventory", inv, "SKU124"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "outcome: published: 0 offers; none on UK: no value in inventory column `amazon_sku`; none on DE",
        ));
    allot()
        .args(["explain", policy, "--inventory", inv, "OLD-LISTING-7781"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "seller SKU OLD-LISTING-7781 comes from inventory SKU SKU123 (rule \"mapped\", UK as \"{column:amazon_sku}\")",
        ));
    // Two inventory SKUs mapped to one seller SKU: refused, naming the column.
    let dup = write(
        dir.path(),
        "dup.csv",
        "sku,location,on_hand,reserved,amazon_sku\nSKU123,leeds,7,0,OLD-LISTING-7781\nSKU124,leeds,3,0,OLD-LISTING-7781\n",
    );
    allot()
        .args(["plan", policy, "--inventory", dup.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "inventory SKUs `SKU123` and `SKU124` both publish seller SKU `OLD-LISTING-7781` in EU (read from inventory column `amazon_sku`)",
        ));
}

/// A policy's handling time and restock date go into the saved plan and the requests `allot
/// show --requests` prints (what `apply` sends), and into the preview's table and JSON.
#[test]
fn handling_time_reaches_the_plan_and_the_requests() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "p.allot",
        r#"policy "avail"
seller "A1PP0FEH11RW77"
marketplaces US, CA
location newark
location austin
location toronto
rule "yoga" {
  match sku "YOGA-1"
  cap 10
  handling_time 2
  publish US as "{sku}-US", CA as "{sku}-CA" handling_time 5 restock_date "2027-01-15"
}
rule "rest" {
  match any
  skip
}
"#,
    );
    let p = policy.to_str().unwrap();
    let base = [
        "plan",
        p,
        "--inventory",
        "examples/inventory.csv",
        "--current",
        "examples/current.json",
    ];
    let table = allot().args(base).output().unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    // Same quantity, but the handling time is not known from Amazon: written.
    assert!(text.contains("DEFAULT  10 → 10 (ships in 2 d)  "), "{text}");
    assert!(
        text.contains("6 → 10 (ships in 5 d, restock 2027-01-15)"),
        "{text}"
    );
    let js = allot()
        .args(base)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&js.stdout).unwrap();
    let ch = &v["changes"][0]["channels"][0];
    assert_eq!(ch["lead_time_to_ship_max_days"], 2);
    assert!(ch.get("restock_date").is_none(), "{ch}");

    let out = dir.path().join("plan.json");
    allot()
        .args(base)
        .args(["--out", out.to_str().unwrap()])
        .assert()
        .success();
    let shown = allot()
        .args(["show", out.to_str().unwrap(), "--requests"])
        .output()
        .unwrap();
    assert!(shown.status.success());
    let text = String::from_utf8(shown.stdout).unwrap();
    assert!(text.contains("\"lead_time_to_ship_max_days\": 2"), "{text}");
    assert!(text.contains("\"lead_time_to_ship_max_days\": 5"), "{text}");
    assert!(text.contains("\"restock_date\": \"2027-01-15\""), "{text}");
}

/// `--error-format`: an inventory or simulation error is also printed on stdout as `allot
/// check`'s records, with its stable code, for CI to match on; the text stays on stderr.
#[test]
fn input_and_simulation_errors_as_records() {
    let o = allot()
        .args([
            "plan",
            "policies/acme-na.allot",
            "--inventory",
            "-",
            "--error-format",
            "github",
        ])
        .write_stdin("sku,location,on_hand\nYOGA-1,newark,x\n")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with(
            "::error file=<stdin>,line=2,col=3,endLine=2,endColumn=3,title=allot%3A%3Ainventory%3A%3Abad-quantity::on_hand: "
        ),
        "{}",
        out_and_err(&o)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("error[allot::inventory::bad-quantity]: <stdin>:2, column 3 (on_hand)"),
        "{}",
        out_and_err(&o)
    );
    // A simulation error, as JSON.
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.allot");
    std::fs::write(
        &policy,
        "policy \"demo\"\nseller \"A1PP0FEH11RW77\"\nmarketplaces US\n\
         location newark supply_source \"353e4e48-6301-4d50-990e-43a86e8787a3\"\n\n\
         rule \"kit\" {\n  match sku \"KIT-1\"\n  on_missing error\n  publish US\n}\n",
    )
    .unwrap();
    let o = allot()
        .arg("plan")
        .arg(&policy)
        .args(["--inventory", "-", "--error-format", "json"])
        .write_stdin("sku,location,on_hand\nA-1,newark,5\n")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let records: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(records[0]["code"], "allot::sim::missing-stock", "{records}");
    assert_eq!(records[0]["file"], policy.display().to_string());
}

/// `--error-format` carries a policy that does not check too: `plan` prints exactly what
/// `allot check --format` prints for it (the same renderer), with check's exit code 1; `diff`
/// prints both sides' records as one document; `explain` as `plan`.
#[test]
fn policy_diagnostics_under_error_format_are_checks_records() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.allot",
        "policy \"demo\"\nseller \"A1PP0FEH11RW77\"\nmarketplaces XX\nlocation newark\n",
    );
    let inv = write(
        dir.path(),
        "inv.csv",
        "sku,location,on_hand\nA-1,newark,5\n",
    );
    for format in ["sarif", "json", "github"] {
        let check = allot()
            .arg("check")
            .arg(&bad)
            .args(["--format", format])
            .output()
            .unwrap();
        assert_eq!(check.status.code(), Some(1));
        let plan = allot()
            .arg("plan")
            .arg(&bad)
            .arg("--inventory")
            .arg(&inv)
            .args(["--error-format", format])
            .output()
            .unwrap();
        assert_eq!(
            plan.status.code(),
            check.status.code(),
            "{}",
            out_and_err(&plan)
        );
        assert_eq!(
            String::from_utf8_lossy(&plan.stdout),
            String::from_utf8_lossy(&check.stdout),
            "plan --error-format {format} against check --format {format}"
        );
        let explain = allot()
            .arg("explain")
            .arg(&bad)
            .arg("A-1")
            .arg("--inventory")
            .arg(&inv)
            .args(["--error-format", format])
            .output()
            .unwrap();
        assert_eq!(explain.status.code(), Some(1));
        assert_eq!(
            explain.stdout, check.stdout,
            "explain --error-format {format}"
        );
    }
    // Human (the default) prints nothing on stdout.
    let plan = allot()
        .arg("plan")
        .arg(&bad)
        .arg("--inventory")
        .arg(&inv)
        .output()
        .unwrap();
    assert!(plan.stdout.is_empty());
    // diff: both sides fail, one JSON array with both sides' records.
    let o = allot()
        .arg("diff")
        .arg(&bad)
        .arg(&bad)
        .arg("--inventory")
        .arg(&inv)
        .args(["--error-format", "json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let records: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 2, "{records:?}");
    assert!(
        records
            .iter()
            .all(|r| r["code"] == "allot::unknown-marketplace")
    );
}

/// `allot init --error-format`: an inventory error is also printed as records.
#[test]
fn init_inventory_errors_as_records() {
    let dir = tempfile::tempdir().unwrap();
    let inv = write(
        dir.path(),
        "inv.csv",
        "sku,location,on_hand\nA-1,newark,lots\n",
    );
    let o = allot()
        .arg("init")
        .arg("--inventory")
        .arg(&inv)
        .args(["--marketplaces", "US", "--error-format", "json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", out_and_err(&o));
    let records: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        records[0]["code"], "allot::inventory::bad-quantity",
        "{records}"
    );
    assert_eq!(records[0]["line"], 2);
}

/// Every simulation error a run can reach points, in its JSON record, at the clause of the
/// policy that caused it (file, line and column), not at line 1; a problem of two policies is
/// in the second file and names the first place in its message.
#[test]
fn simulation_errors_point_at_the_clause_that_caused_them() {
    const HEAD: &str = "policy \"demo\"\nseller \"A1PP0FEH11RW77\"\nmarketplaces US\n\
                        location newark supply_source \"353e4e48-6301-4d50-990e-43a86e8787a3\"\n\n";
    let dir = tempfile::tempdir().unwrap();
    // 1-based line and column of the first `needle` in `text`.
    let at = |text: &str, needle: &str| -> (u64, u64) {
        let i = text
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} in {text}"));
        let line = text[..i].matches('\n').count() as u64 + 1;
        let column = text[..i].rsplit('\n').next().unwrap().chars().count() as u64 + 1;
        (line, column)
    };
    // Plan `policies` (name, text) on `csv` with extra arguments; the first record.
    let run = |policies: &[(&str, &str)], csv: &str, extra: &[&str]| -> serde_json::Value {
        let mut cmd = allot();
        cmd.arg("plan");
        for (name, text) in policies {
            cmd.arg(write(dir.path(), name, text));
        }
        let o = cmd
            .args(["--inventory", "-", "--error-format", "json"])
            .args(extra)
            .write_stdin(csv.to_string())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", out_and_err(&o));
        let records: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        records[0].clone()
    };
    let check = |r: &serde_json::Value, code: &str, file: &str, (line, column): (u64, u64)| {
        assert_eq!(r["code"], code, "{r}");
        assert_eq!(
            r["file"],
            dir.path().join(file).display().to_string(),
            "{r}"
        );
        assert_eq!(
            (r["line"].as_u64(), r["column"].as_u64()),
            (Some(line), Some(column)),
            "{r}"
        );
    };
    let csv = "sku,location,on_hand\nA-1,newark,5\n";

    let p = format!(
        "{HEAD}rule \"all\" {{\n  match sku \"*\"\n  publish US as \"{{sku}}-with-a-suffix-far-too-long-for-amazon\"\n}}\n"
    );
    let r = run(&[("bad.allot", &p)], csv, &[]);
    check(
        &r,
        "allot::sim::bad-seller-sku",
        "bad.allot",
        at(&p, "\"{sku}-with"),
    );

    let p = format!(
        "{HEAD}rule \"all\" {{\n  match sku \"*\"\n  publish US as \"{{column:asin}}\"\n}}\n"
    );
    let r = run(
        &[("dup.allot", &p)],
        "sku,location,on_hand,asin\nA-1,newark,5,B0001\nA-2,newark,3,B0001\n",
        &[],
    );
    check(
        &r,
        "allot::sim::duplicate-seller-sku",
        "dup.allot",
        at(&p, "\"{column:asin}\""),
    );
    // One template made both: one place, not named twice.
    assert!(!r["message"].as_str().unwrap().contains("made here"), "{r}");
    // Two rules' templates: the second SKU's, the first's named in the message.
    let p = format!(
        "{HEAD}rule \"a\" {{\n  match sku \"A-*\"\n  publish US as \"{{column:asin}}\"\n}}\n\
         rule \"z\" {{\n  match any\n  publish US as \"{{column:alt}}\"\n}}\n"
    );
    let r = run(
        &[("dup2.allot", &p)],
        "sku,location,on_hand,asin,alt\nA-1,newark,5,B0001,\nZ-1,newark,3,,B0001\n",
        &[],
    );
    check(
        &r,
        "allot::sim::duplicate-seller-sku",
        "dup2.allot",
        at(&p, "\"{column:alt}\""),
    );
    let (line, column) = at(&p, "\"{column:asin}\"");
    let first = format!(
        "{}:{line}:{column}",
        dir.path().join("dup2.allot").display()
    );
    assert!(r["message"].as_str().unwrap().contains(&first), "{r}");

    let p = HEAD
        .replace("marketplaces US", "marketplaces UK, DE")
        .replace(
            "location newark supply_source \"353e4e48-6301-4d50-990e-43a86e8787a3\"",
            "location newark",
        )
        + "rule \"mapped\" {\n  match any\n  publish UK as \"{column:sku_uk}\", DE as \"{column:sku_de}\" share 50%\n}\n";
    let r = run(
        &[("shared.allot", &p)],
        "sku,location,on_hand,sku_uk,sku_de\nA-1,newark,10,SAME,SAME\n",
        &[],
    );
    check(
        &r,
        "allot::sim::shared-sku-conflict",
        "shared.allot",
        at(&p, "\"{column:sku_de}\""),
    );

    let p = format!(
        "{HEAD}rule \"kit\" {{\n  match sku \"KIT-1\"\n  on_missing error\n  publish US\n}}\n"
    );
    let r = run(&[("missing.allot", &p)], csv, &[]);
    check(
        &r,
        "allot::sim::missing-stock",
        "missing.allot",
        at(&p, "on_missing error"),
    );

    // `on_fba error` of the rule itself (the policy-wide line: on_fba_error_fails_the_plan…).
    let p = std::fs::read_to_string(root().join(SAFETY).join("fba-mix.allot"))
        .unwrap()
        .replace("  buffer  2\n", "  buffer  2\n  on_fba  error\n");
    let current = root().join(SAFETY).join("all-listings.txt");
    let inventory = std::fs::read_to_string(root().join(SAFETY).join("inventory.csv")).unwrap();
    let r = run(
        &[("fba.allot", &p)],
        &inventory,
        &[
            "--current",
            current.to_str().unwrap(),
            "--current-marketplace",
            "US",
        ],
    );
    check(
        &r,
        "allot::sim::fulfilled-by-amazon",
        "fba.allot",
        at(&p, "on_fba  error"),
    );

    let p = format!(
        "{HEAD}rule \"all\" {{\n  match sku \"*\"\n  publish US\n  cap column \"max\"\n}}\n"
    );
    let r = run(
        &[("col.allot", &p)],
        "sku,location,on_hand,max\nA-1,newark,5,lots\n",
        &[],
    );
    check(
        &r,
        "allot::sim::bad-column-value",
        "col.allot",
        at(&p, "cap column \"max\""),
    );

    // Units past 2^64 (a quantity of 2^64 - 1 packs of 2): the rule's name.
    let p = format!(
        "{HEAD}rule \"all\" {{\n  match sku \"*\"\n  quantity 18446744073709551615\n  publish US pack 2\n}}\n"
    );
    let r = run(&[("over.allot", &p)], csv, &[]);
    check(&r, "allot::sim::overflow", "over.allot", at(&p, "\"all\""));

    // Two policies: the second's template, the first's named in the message.
    let a = format!("{HEAD}rule \"a\" {{\n  match any\n  publish US as \"{{column:a}}\"\n}}\n");
    let b = format!("{HEAD}rule \"b\" {{\n  match any\n  publish US as \"{{column:b}}\"\n}}\n")
        .replace("policy \"demo\"", "policy \"other\"");
    let two = "sku,location,on_hand,a,b\nA-1,newark,5,X,X\n";
    let r = run(&[("a.allot", &a), ("b.allot", &b)], two, &[]);
    check(
        &r,
        "allot::sim::seller-sku-in-two-policies",
        "b.allot",
        at(&b, "\"{column:b}\""),
    );
    let (line, column) = at(&a, "\"{column:a}\"");
    let first = format!("{}:{line}:{column}", dir.path().join("a.allot").display());
    assert!(r["message"].as_str().unwrap().contains(&first), "{r}");

    // Two sellers: the second policy's seller, the first's named.
    let c = b.replace("A1PP0FEH11RW77", "A2PP0FEH11RW77");
    let r = run(&[("a.allot", &a), ("c.allot", &c)], two, &[]);
    check(
        &r,
        "allot::sim::policies-disagree",
        "c.allot",
        at(&c, "\"A2PP0FEH11RW77\""),
    );
    let (line, column) = at(&a, "\"A1PP0FEH11RW77\"");
    let first = format!("{}:{line}:{column}", dir.path().join("a.allot").display());
    assert!(r["message"].as_str().unwrap().contains(&first), "{r}");

    // One location, two supply sources: the second policy's location.
    let d = b.replace("353e4e48", "453e4e48");
    let r = run(&[("a.allot", &a), ("d.allot", &d)], two, &[]);
    check(
        &r,
        "allot::sim::policies-disagree",
        "d.allot",
        at(&d, "newark"),
    );
}

/// A simulation error of two policies as SARIF: the result at the second policy's template,
/// the first's as its related location, and the document valid SARIF 2.1.0 (when the OASIS
/// schema is at hand, as in `allot check`'s SARIF test).
#[test]
fn a_two_policy_error_in_sarif_relates_the_first_policy() {
    let head = "seller \"A1PP0FEH11RW77\"\nmarketplaces US\nlocation newark\n";
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.allot",
        &format!(
            "policy \"a\"\n{head}rule \"a\" {{\n  match any\n  publish US as \"{{column:a}}\"\n}}\n"
        ),
    );
    let b = write(
        dir.path(),
        "b.allot",
        &format!(
            "policy \"b\"\n{head}\nrule \"b\" {{\n  match any\n  publish US as \"{{column:b}}\"\n}}\n"
        ),
    );
    let o = allot()
        .arg("plan")
        .args([&a, &b])
        .args(["--inventory", "-", "--error-format", "sarif"])
        .write_stdin("sku,location,on_hand,a,b\nA-1,newark,5,X,X\n")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", out_and_err(&o));
    let sarif: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "allot::sim::seller-sku-in-two-policies");
    let region = |l: &serde_json::Value| {
        let p = &l["physicalLocation"];
        (
            p["artifactLocation"]["uri"].as_str().unwrap().to_string(),
            p["region"]["startLine"].as_u64().unwrap(),
            p["region"]["startColumn"].as_u64().unwrap(),
        )
    };
    let (uri, line, column) = region(&result["locations"][0]);
    assert!(uri.ends_with("b.allot"), "{result}");
    assert_eq!((line, column), (8, 17), "{result}");
    let (uri, line, column) = region(&result["relatedLocations"][0]);
    assert!(uri.ends_with("a.allot"), "{result}");
    assert_eq!((line, column), (7, 17), "{result}");
    let schema = root().join("../shared/schemas/sarif-schema-2.1.0.json");
    let schema = std::env::var_os("ALLOT_SARIF_SCHEMA").map_or(schema, std::path::PathBuf::from);
    match std::fs::read_to_string(&schema) {
        Ok(text) => {
            let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
            let v = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
            let errors: Vec<String> = v.iter_errors(&sarif).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{errors:#?}");
        }
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("the SARIF schema is not at {}", schema.display())
        }
        Err(_) => eprintln!("SKIPPED: the SARIF schema is not at {}", schema.display()),
    }
}

/// The records of `--error-format FORMAT` on `stdout`, which must be that one document (after
/// `text_before`, e.g. a preview table): each record's code and file (`None`: no file), and,
/// in SARIF, the document valid SARIF 2.1.0 when the OASIS schema is at hand.
fn error_records(format: &str, stdout: &str) -> Vec<(String, Option<String>)> {
    match format {
        "json" => {
            let doc: serde_json::Value = serde_json::from_str(stdout)
                .unwrap_or_else(|e| panic!("not one JSON document: {e}\n{stdout}"));
            common::assert_valid(&common::validator("check"), &doc);
            doc.as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["code"].as_str().unwrap().to_string(),
                        r["file"].as_str().map(str::to_string),
                    )
                })
                .collect()
        }
        "sarif" => {
            let doc: serde_json::Value = serde_json::from_str(stdout)
                .unwrap_or_else(|e| panic!("not one SARIF document: {e}\n{stdout}"));
            let schema = root().join("../shared/schemas/sarif-schema-2.1.0.json");
            let schema =
                std::env::var_os("ALLOT_SARIF_SCHEMA").map_or(schema, std::path::PathBuf::from);
            match std::fs::read_to_string(&schema) {
                Ok(text) => {
                    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
                    let v = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
                    let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
                    assert!(errors.is_empty(), "{errors:#?}\n{doc:#}");
                }
                Err(_) if std::env::var_os("CI").is_some() => {
                    panic!("the SARIF schema is not at {}", schema.display())
                }
                Err(_) => eprintln!("SKIPPED: the SARIF schema is not at {}", schema.display()),
            }
            doc["runs"][0]["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                        .as_str()
                        .map(str::to_string);
                    (r["ruleId"].as_str().unwrap().to_string(), uri)
                })
                .collect()
        }
        "github" => stdout
            .lines()
            .map(|l| {
                assert!(
                    l.starts_with("::error ") || l.starts_with("::warning "),
                    "{l}"
                );
                let (props, _) = l
                    .split_once("::")
                    .map(|(_, rest)| rest)
                    .unwrap()
                    .split_once("::")
                    .unwrap();
                let prop = |k: &str| {
                    props
                        .split(' ')
                        .nth(1)
                        .unwrap()
                        .split(',')
                        .find_map(|p| p.strip_prefix(&format!("{k}=")))
                        .map(|v| v.replace("%3A", ":").replace("%2C", ","))
                };
                (prop("title").unwrap(), prop("file"))
            })
            .collect(),
        _ => unreachable!(),
    }
}

/// Issue 14: a command's own error (a flag, a missing input, the plan file) is also printed as
/// one record under `--error-format`, in the same document as the other errors: its code, the
/// file it is about (none for a flag), the exit code unchanged, the text still on stderr.
#[test]
fn a_commands_own_error_is_one_record_under_error_format() {
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("no-such-folder").join("x.plan");
    let plan_path = plan_path.to_str().unwrap();
    let inv = "examples/inventory.csv";
    let cases: Vec<(Vec<&str>, &str, Option<&str>)> = vec![
        // A flag: about no file.
        (
            vec![
                "plan",
                "policies/acme-na.allot",
                "--inventory",
                inv,
                "--current-marketplace",
                "US",
            ],
            "allot::current-marketplace",
            None,
        ),
        (
            vec![
                "plan",
                "policies/acme-na.allot",
                "--inventory",
                inv,
                "--out",
                "x.plan",
            ],
            "allot::plan::no-current",
            None,
        ),
        // An input missing: no file to point at, the message names it.
        (
            vec![
                "diff",
                "policies-not-here",
                "policies/acme-na.allot",
                "--inventory",
                inv,
            ],
            "allot::policy-path",
            None,
        ),
        (
            vec![
                "explain",
                "policies/acme-na.allot",
                "A-1",
                "--inventory",
                inv,
                "--current",
                "live",
            ],
            "allot::live-only-in-plan",
            None,
        ),
        // About the current-listings file.
        (
            vec![
                "plan",
                "policies/acme-na.allot",
                "--inventory",
                inv,
                "--current",
                "examples/current.json",
                "--current-marketplace",
                "XX",
            ],
            "allot::current-marketplace",
            Some("examples/current.json"),
        ),
        // The plan file, which cannot be written: before any preview.
        (
            [PLAN.as_slice(), &["--out", plan_path]].concat(),
            "allot::plan::write",
            Some(plan_path),
        ),
    ];
    for (args, code, file) in &cases {
        for format in ["json", "sarif", "github"] {
            let o = allot()
                .args(args)
                .args(["--error-format", format])
                .output()
                .unwrap();
            let what = format!("{args:?} --error-format {format}: {}", out_and_err(&o));
            assert_eq!(o.status.code(), Some(1), "{what}");
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert!(stderr.contains(code) && stderr.contains("help:"), "{what}");
            let records = error_records(format, &String::from_utf8_lossy(&o.stdout));
            let file = file.map(|f| match format {
                // SARIF's URI of the path.
                "sarif" => f.replace('\\', "/"),
                _ => f.to_string(),
            });
            assert_eq!(records, vec![(code.to_string(), file)], "{what}");
        }
        // Without --error-format, nothing on stdout.
        let o = allot().args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(1));
        assert!(o.stdout.is_empty(), "{}", out_and_err(&o));
    }
}

/// `--deny-warnings` fails after the preview is printed: its record follows a table or a
/// comment on stdout (one records document), and none is added to a JSON preview, which stays
/// one document (its warnings are in it).
#[test]
fn warnings_denied_is_a_record_after_a_text_preview_never_inside_a_json_one() {
    for (cmd, code) in [
        (PLAN.to_vec(), "allot::plan::warnings-denied"),
        (
            vec![
                "diff",
                "policies/acme-na.allot",
                "policies/acme-na.allot",
                "--inventory",
                "examples/inventory.csv",
            ],
            "allot::diff::warnings-denied",
        ),
    ] {
        for format in ["json", "sarif", "github"] {
            let o = allot()
                .args(&cmd)
                .args([
                    "--deny-warnings",
                    "--format",
                    "markdown",
                    "--error-format",
                    format,
                ])
                .output()
                .unwrap();
            let what = format!("{cmd:?} {format}: {}", out_and_err(&o));
            assert_eq!(o.status.code(), Some(1), "{what}");
            assert!(String::from_utf8_lossy(&o.stderr).contains(code), "{what}");
            let stdout = String::from_utf8_lossy(&o.stdout);
            // The records start on the first line that opens them.
            let opens = match format {
                "json" => "\n[\n",
                "sarif" => "\n{\n",
                _ => "\n::error ",
            };
            let at = stdout
                .rfind(opens)
                .unwrap_or_else(|| panic!("no records: {what}"));
            let records = error_records(format, &stdout[at + 1..]);
            assert_eq!(records, vec![(code.to_string(), None)], "{what}");
            assert!(!stdout[..at].contains(code), "{what}");
        }
        // A JSON preview stays the one document on stdout.
        let o = allot()
            .args(&cmd)
            .args([
                "--deny-warnings",
                "--format",
                "json",
                "--error-format",
                "sarif",
            ])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", out_and_err(&o));
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", out_and_err(&o)));
        assert!(doc.get("runs").is_none(), "{doc:#}");
        assert!(String::from_utf8_lossy(&o.stderr).contains(code));
    }
}

/// `allot diff` checks both sides before failing: a missing path on each side gives one
/// document with both records, not the first side's alone.
#[test]
fn diff_reports_both_sides_missing_paths_in_one_document() {
    let o = allot()
        .args(["diff", "base-not-here", "new-not-here"])
        .args([
            "--inventory",
            "examples/inventory.csv",
            "--error-format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", out_and_err(&o));
    let records = error_records("json", &String::from_utf8_lossy(&o.stdout));
    assert_eq!(
        records,
        vec![
            ("allot::policy-path".to_string(), None),
            ("allot::policy-path".to_string(), None)
        ]
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("base-not-here") && err.contains("new-not-here"),
        "{err}"
    );
}

/// One policy's JSON preview is written in a single run (no first run: what a run counts comes
/// after `changes`) unless a plan is saved or errors are records on stdout; all three ways print
/// the same document, byte for byte, keys in the documented order.
#[test]
fn the_json_preview_of_one_run_is_the_json_preview_of_two() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.json");
    let run = |extra: &[&str]| {
        let o = allot()
            .args(PLAN)
            .args(["--format", "json"])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", out_and_err(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let single = run(&[]);
    assert_eq!(single, run(&["--error-format", "json"]));
    assert_eq!(single, run(&["--out", out.to_str().unwrap()]));
    let v: serde_json::Value = serde_json::from_str(&single).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "format_version",
            "policy",
            "seller_id",
            "current_known",
            "changes",
            "summary",
            "skus_skipped_by_rule",
            "skus_unmatched",
            "has_changes",
            "listed_where_unknown",
            "skipped",
            "exposure",
            "warnings"
        ]
    );
    // What the run counts is there: the shipped example's changes, and both policy warnings
    // (oversell, fixed quantity) and the current listings' ones after them.
    assert!(v["has_changes"].as_bool().unwrap(), "{v}");
    assert!(v["summary"]["offers_changed"].as_u64().unwrap() > 0, "{v}");
    assert!(v["warnings"].as_array().unwrap().len() >= 2, "{v}");
}

/// An error in the JSON preview's single run comes after part of the document: the exit code
/// is 1, the error is on stderr, and what is on stdout is cut short (never valid JSON, so never
/// read as a preview). With errors as records on stdout, stdout is the records alone.
#[test]
fn an_error_in_the_json_previews_single_run_leaves_no_valid_document() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "dup.allot",
        "policy \"demo\"\nseller \"A1PP0FEH11RW77\"\nmarketplaces US\nlocation newark\n\n\
         rule \"all\" {\n  match sku \"*\"\n  publish US as \"{column:asin}\"\n}\n",
    );
    let csv = "sku,location,on_hand,asin\nA-1,newark,5,B0001\nA-2,newark,3,B0001\n";
    let run = |extra: &[&str]| {
        allot()
            .arg("plan")
            .arg(&policy)
            .args(["--inventory", "-", "--format", "json"])
            .args(extra)
            .write_stdin(csv)
            .output()
            .unwrap()
    };
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", out_and_err(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("allot::sim::duplicate-seller-sku"), "{err}");
    assert!(o.stdout.starts_with(b"{"), "{}", out_and_err(&o));
    assert!(
        serde_json::from_slice::<serde_json::Value>(&o.stdout).is_err(),
        "{}",
        out_and_err(&o)
    );
    let o = run(&["--error-format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", out_and_err(&o));
    let records: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(records[0]["code"], "allot::sim::duplicate-seller-sku");
}
