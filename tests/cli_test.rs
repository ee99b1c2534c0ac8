//! `allot test` for machines: `--format json` validated against schemas/test.schema.json,
//! `--format junit` parsed as XML, `--coverage` and `--min-coverage`, and the exit codes, which
//! do not depend on the format.

use std::path::{Path, PathBuf};

use predicates::prelude::*;
use serde_json::Value;

mod common;
use common::{allot, root, write};

const ACME: &str = "policies/acme-na.allot";
const BROKEN: &str = "tests/fixtures/err/duplicate.allot";

/// acme-na with its test's expectation made wrong (10 → 12), for another seller (one seller's
/// two copies would also fail the check across files).
fn failing(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root().join(ACME))
        .unwrap()
        .replace(
            "expect \"YOGA-1-US\" on US = 10",
            "expect \"YOGA-1-US\" on US = 12",
        )
        .replace("A1PP0FEH11RW77", "A2QQ0FEH11RW88");
    write(dir, "failing.allot", &text)
}

/// A policy whose second test cannot run (`on_missing error` and no stock row for `MISSING`),
/// and whose first test's name needs escaping in XML.
const ODD: &str = r#"policy "odd"
seller "A3RR0FEH11RW99"
marketplaces US
location a

rule "exact" {
  match sku "MISSING", "HERE"
  on_missing error
  buffer 1
  cap 50
  publish US
}

rule "rest" {
  match any
  skip
}

test "a <b> & \"c\" 'd'" {
  stock "HERE" a 5
  stock "MISSING" a 1
  expect "HERE" on US = 4
  expect "NOPE" on US = 1
}

test "cannot run" {
  stock "HERE" a 5
}
"#;

fn run_json(args: &[&str], paths: &[&Path], code: i32) -> Value {
    let out = allot()
        .arg("test")
        .args(paths)
        .args(["--format", "json"])
        .args(args)
        .assert()
        .code(code)
        .get_output()
        .clone();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not one JSON document ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("schemas/test.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::draft202012::new(&schema).expect("the schema compiles")
}

fn assert_valid(v: &jsonschema::Validator, doc: &Value) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{doc:#}");
}

#[test]
fn json_output_validates_against_the_schema_passing_failing_and_erroring() {
    let dir = tempfile::tempdir().unwrap();
    let fail = failing(dir.path());
    let odd = write(dir.path(), "odd.allot", ODD);
    let v = validator();
    let acme = root().join(ACME);
    let broken = root().join(BROKEN);

    // Passing, with and without coverage.
    let doc = run_json(&[], &[&acme], 0);
    assert_valid(&v, &doc);
    assert_eq!(doc["format_version"], "1.0");
    assert_eq!(doc["files"][0]["status"], "passed");
    assert_eq!(doc["files"][0]["tests"][0]["name"], "yoga is capped at 10");
    assert_eq!(doc["files"][0]["tests"][0]["line"], 49);
    assert!(doc.get("coverage").is_none());
    let doc = run_json(&["--coverage"], &[&acme], 0);
    assert_valid(&v, &doc);
    assert!(
        doc["files"][0]["coverage"]["items"]
            .as_array()
            .unwrap()
            .len()
            > 5
    );

    // Failing, erroring (a test that cannot run) and a policy that does not check, together.
    for args in [&[][..], &["--coverage"][..]] {
        let doc = run_json(args, &[&fail, &odd, &broken], 1);
        assert_valid(&v, &doc);
        let files = doc["files"].as_array().unwrap();
        assert_eq!(files.len(), 3, "no file is dropped");
        let f = &files[0]["tests"][0]["failures"][0];
        assert_eq!(files[0]["status"], "failed");
        assert_eq!(f["expected"], 12);
        assert_eq!(f["actual"], 10);
        assert_eq!(f["line"], 51);
        assert_eq!(f["seller_sku"], "YOGA-1-US");
        assert_eq!(f["marketplace"], "US");
        assert_eq!(f["inventory_sku"], "YOGA-1");
        assert!(f["detail"].as_str().unwrap().contains("cap 10"), "{f}");
        let odd = &files[1]["tests"];
        assert_eq!(odd[0]["status"], "failed");
        // An offer that does not exist is `null`, not 0.
        let nope = &odd[0]["failures"][0];
        assert_eq!(
            (&nope["expected"], &nope["actual"]),
            (&1.into(), &Value::Null)
        );
        assert_eq!(odd[1]["status"], "error");
        assert!(
            odd[1]["error"].as_str().unwrap().contains("MISSING"),
            "{odd}"
        );
        let b = &files[2];
        assert_eq!(b["status"], "error");
        assert!(
            b["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["code"] == "allot::duplicate" && d["line"].as_u64().unwrap() > 1)
        );
        let s = &doc["summary"];
        assert_eq!(
            (
                &s["passed"],
                &s["failed"],
                &s["errors"],
                &s["files_not_run"]
            ),
            (&0.into(), &2.into(), &2.into(), &1.into())
        );
        assert_eq!(doc.get("coverage").is_some(), !args.is_empty());
    }

    // A file that cannot be read is an error entry too (exit 2), and the document still valid.
    let unreadable = dir.path().join("latin1.allot");
    std::fs::write(&unreadable, [b'p', 0xff, 0xfe]).unwrap();
    let doc = run_json(&[], &[&acme, &unreadable], 2);
    assert_valid(&v, &doc);
    assert_eq!(doc["files"][1]["status"], "error");
    assert!(
        doc["files"][1]["error"]
            .as_str()
            .unwrap()
            .contains("not UTF-8")
    );

    // The schema does catch a wrong document.
    let mut bad = run_json(&[], &[&fail], 1);
    bad["files"][0]["tests"][0]["status"] = "skipped".into();
    assert!(!v.is_valid(&bad));
    let mut bad = run_json(&[], &[&fail], 1);
    bad["files"][0]["tests"][0]["failures"] = serde_json::json!([]);
    assert!(!v.is_valid(&bad), "a failed test lists its failures");
}

#[test]
fn junit_is_well_formed_with_counts_failures_and_escaped_names() {
    let dir = tempfile::tempdir().unwrap();
    let fail = failing(dir.path());
    let odd = write(dir.path(), "odd.allot", ODD);
    let out = allot()
        .arg("test")
        .arg(ACME)
        .arg(&fail)
        .arg(&odd)
        .arg(BROKEN)
        .args(["--format", "junit", "--coverage"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "1 passed, 3 failed, 1 file not run",
        ))
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let xml = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let top = xml.root_element();
    assert_eq!(top.tag_name().name(), "testsuites");
    assert_eq!(
        (
            top.attribute("tests"),
            top.attribute("failures"),
            top.attribute("errors")
        ),
        (Some("5"), Some("2"), Some("2"))
    );
    let suites: Vec<_> = top
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 4);
    assert_eq!(suites[0].attribute("name"), Some(ACME));
    assert_eq!(suites[0].attribute("failures"), Some("0"));
    let case = suites[0]
        .children()
        .find(|n| n.has_tag_name("testcase"))
        .unwrap();
    assert_eq!(case.attribute("name"), Some("yoga is capped at 10"));
    assert_eq!(case.attribute("classname"), Some(ACME));
    assert_eq!(case.attribute("file"), Some(ACME));
    assert_eq!(case.attribute("line"), Some("49"));
    // Coverage in the suite's properties and system-out.
    let prop = |s: roxmltree::Node, k: &str| {
        s.descendants()
            .find(|n| n.has_tag_name("property") && n.attribute("name") == Some(k))
            .and_then(|n| n.attribute("value").map(str::to_string))
    };
    assert!(prop(suites[0], "allot.coverage.percent").is_some());
    assert!(prop(top, "allot.coverage.total").is_some());
    let sysout = suites[0]
        .children()
        .find(|n| n.has_tag_name("system-out"))
        .and_then(|n| n.text())
        .unwrap();
    assert!(
        sysout.contains("not covered: rule \"clearance\""),
        "{sysout}"
    );

    // The failure: expected and actual with the expect's line.
    assert_eq!(suites[1].attribute("failures"), Some("1"));
    let failure = suites[1]
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    let body = failure.text().unwrap();
    assert!(
        body.contains(":51: expect \"YOGA-1-US\" on US = 12"),
        "{body}"
    );
    assert!(
        body.contains("expected: 12") && body.contains("actual:   10"),
        "{body}"
    );
    assert!(failure.attribute("message").unwrap().contains("actual 10"));

    // The name with `<&">'` survives the round trip; the test that cannot run is an error.
    let names: Vec<&str> = suites[2]
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .filter_map(|n| n.attribute("name"))
        .collect();
    assert_eq!(names, ["a <b> & \"c\" 'd'", "cannot run"]);
    assert_eq!(
        (
            suites[2].attribute("failures"),
            suites[2].attribute("errors")
        ),
        (Some("1"), Some("1"))
    );
    // The policy that does not check: a suite with one testcase in error, its diagnostics.
    let err = suites[3]
        .descendants()
        .find(|n| n.has_tag_name("error"))
        .unwrap();
    assert_eq!(err.attribute("type"), Some("allot::duplicate"));
    assert!(err.text().unwrap().contains("allot::duplicate"));

    // Two files of one seller writing the same seller SKUs: a failing `(check across files)`.
    let copy = write(
        dir.path(),
        "copy.allot",
        &std::fs::read_to_string(root().join(ACME)).unwrap(),
    );
    let out = allot()
        .args(["test", ACME])
        .arg(&copy)
        .args(["--format", "junit"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let xml = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let across = xml
        .descendants()
        .find(|n| n.attribute("name") == Some("(check across files)"))
        .expect("a testcase for the check across files");
    let failure = across.first_element_child().unwrap();
    assert_eq!(failure.tag_name().name(), "failure");
    assert_eq!(failure.attribute("type"), Some("allot::unified-conflict"));
}

#[test]
fn human_output_is_unchanged_and_coverage_comes_after_it() {
    let plain = allot()
        .args(["test", ACME])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        String::from_utf8(plain.clone()).unwrap(),
        "policies/acme-na.allot\n  ok    yoga is capped at 10 (policies/acme-na.allot:49)\n\n1 passed, 0 failed\n"
    );
    let covered = allot()
        .args(["test", ACME, "--coverage"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let covered = String::from_utf8(covered).unwrap();
    assert!(covered.starts_with(std::str::from_utf8(&plain).unwrap()));
    assert!(
        covered.contains("not covered: rule \"clearance\" (line 38)"),
        "{covered}"
    );
    assert!(
        covered.contains("not covered: target CA as \"{sku}-CA\" of rule \"mugs\""),
        "{covered}"
    );
    assert!(covered.contains("total coverage: "), "{covered}");
}

#[test]
fn min_coverage_fails_below_and_names_what_to_test() {
    allot()
        .args(["test", ACME, "--min-coverage", "100"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("is below --min-coverage 100%")
                .and(predicate::str::contains("not covered:"))
                .and(predicate::str::contains("add a `test` block")),
        );
    allot()
        .args(["test", ACME, "--min-coverage", "0"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("total coverage: "));
    // The JSON says so too, and the exit code does not depend on the format.
    let doc = run_json(&["--min-coverage", "100"], &[&root().join(ACME)], 1);
    assert_eq!(doc["coverage"]["met"], false);
    assert_eq!(doc["coverage"]["min"], 100);
    allot()
        .args(["test", ACME, "--min-coverage", "101"])
        .assert()
        .code(2);
}

#[test]
fn exit_codes_do_not_depend_on_the_format() {
    let dir = tempfile::tempdir().unwrap();
    let fail = failing(dir.path());
    for format in ["human", "json", "junit"] {
        allot()
            .args(["test", ACME, "--format", format])
            .assert()
            .code(0);
        allot()
            .arg("test")
            .arg(&fail)
            .args(["--format", format])
            .assert()
            .code(1);
        allot()
            .args(["test", BROKEN, "--format", format])
            .assert()
            .code(1);
        // An unreadable file is an I/O error (2), and still a file in the report.
        let missing = dir.path().join("gone.allot");
        std::fs::write(&missing, [0xff, 0xfe]).unwrap();
        let out = allot()
            .args(["test", ACME])
            .arg(&missing)
            .args(["--format", format])
            .assert()
            .code(2)
            .get_output()
            .stdout
            .clone();
        let out = String::from_utf8(out).unwrap();
        if format != "human" {
            assert!(out.contains("gone.allot"), "{format}: {out}");
        }
    }
}
