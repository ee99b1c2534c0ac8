//! `allot check` as a user runs it: exit codes, --deny-warnings, JSON output, folders.

use std::path::{Path, PathBuf};

use predicates::prelude::*;

mod common;
use common::{allot, root};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

const CLEAN: &str = "policy \"p\"\nseller \"A1PP0FEH11RW77\"\nmarketplaces US\n\nrule \"all\" {\n  match any\n  publish US\n}\n";

#[test]
fn clean_policy_exits_0() {
    allot()
        .args(["check", "policies/acme-eu.allot"])
        .assert()
        .code(0)
        .stdout("")
        .stderr(predicate::str::contains(
            "checked 1 file: 0 errors, 0 warnings",
        ));
}

#[test]
fn warnings_exit_0_unless_denied() {
    allot()
        .args(["check", "policies/acme-na.allot"])
        .assert()
        .code(0)
        .stderr(
            predicate::str::contains("allot::oversell")
                .and(predicate::str::contains("allot::fixed-quantity"))
                .and(predicate::str::contains(
                    "checked 1 file: 0 errors, 2 warnings",
                )),
        );
    allot()
        .args(["check", "--deny-warnings", "policies/acme-na.allot"])
        .assert()
        .code(1);
}

#[test]
fn errors_exit_1() {
    allot()
        .args(["check", "tests/fixtures/err/eu-trap.allot"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("allot::unified-conflict").and(predicate::str::contains(
                "checked 1 file: 1 error, 0 warnings",
            )),
        );
}

#[test]
fn missing_file_exits_2_and_names_it() {
    allot()
        .args(["check", "policies/acme-na.allot", "nope/missing.allot"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("nope/missing.allot"));
}

#[test]
fn not_utf8_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.allot");
    std::fs::write(&p, b"policy \"\xff\"\n").unwrap();
    allot()
        .arg("check")
        .arg(&p)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not UTF-8"))
        .stderr(predicate::str::contains(
            "checked 1 file: 0 errors, 0 warnings, 1 unreadable",
        ));
}

#[test]
fn usage_error_exits_2() {
    allot().args(["check"]).assert().code(2);
    allot()
        .args(["check", "--format", "xml", "policies"])
        .assert()
        .code(2);
}

#[test]
fn json_output_is_one_array_with_the_documented_fields() {
    let out = allot()
        .args([
            "check",
            "--format",
            "json",
            "policies/acme-na.allot",
            "tests/fixtures/err/eu-trap.allot",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("stdout is JSON");
    let arr = v.as_array().expect("an array");
    assert_eq!(arr.len(), 3);
    let keys: Vec<&str> = arr[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "file",
            "code",
            "severity",
            "message",
            "help",
            "line",
            "column",
            "end_line",
            "end_column"
        ]
    );
    let over = &arr[0];
    assert_eq!(over["file"], "policies/acme-na.allot");
    assert_eq!(over["code"], "allot::oversell");
    assert_eq!(over["severity"], "warning");
    assert_eq!(over["line"], 18);
    assert_eq!(over["column"], 3);
    assert_eq!(arr[1]["code"], "allot::fixed-quantity");
    assert_eq!(arr[1]["line"], 40);
    let trap = &arr[2];
    assert_eq!(trap["file"], "tests/fixtures/err/eu-trap.allot");
    assert_eq!(trap["code"], "allot::unified-conflict");
    assert_eq!(trap["severity"], "error");
    assert_eq!(
        (trap["line"].as_u64(), trap["column"].as_u64()),
        (Some(7), Some(3))
    );
    assert!(
        trap["help"]
            .as_str()
            .unwrap()
            .contains(r#"UK as "{sku}_UK" share 20%"#)
    );
}

#[test]
fn folder_is_searched_recursively_and_sorted() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "b.allot", CLEAN);
    write(
        dir.path(),
        "sub/a.allot",
        &CLEAN.replace("publish US", "publish USA"),
    );
    write(dir.path(), "notes.txt", "not a policy");
    let out = allot()
        .arg("check")
        .arg("--format=json")
        .arg(dir.path())
        .assert()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    // b.allot is clean; sub/a.allot names an unknown marketplace: only it reports.
    let files: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["file"].as_str().unwrap())
        .collect();
    assert!(
        files.iter().all(|f| f.ends_with("sub/a.allot")),
        "{files:?}"
    );
    allot()
        .arg("check")
        .arg(dir.path())
        .assert()
        .stderr(predicate::str::contains("checked 2 files"));
    // A folder with no policies is a usage error.
    let empty = tempfile::tempdir().unwrap();
    allot()
        .arg("check")
        .arg(empty.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no *.allot files"));
}

#[test]
fn github_format_annotates_the_pull_request() {
    let out = allot()
        .args([
            "check",
            "--format",
            "github",
            "policies/acme-na.allot",
            "tests/fixtures/err/eu-trap.allot",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "checked 2 files: 1 error, 2 warnings",
        ))
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with(
        "::warning file=policies/acme-na.allot,line=18,col=3,endLine=18,endColumn=10,title=allot%3A%3Aoversell::"
    ), "{out}");
    assert!(
        lines[2].starts_with("::error file=tests/fixtures/err/eu-trap.allot,line=7,col=3,"),
        "{out}"
    );
    // Messages are escaped for workflow commands: no raw newline or `%` inside one annotation.
    assert!(lines[2].contains("FR's 50%25 would overwrite"), "{out}");
    assert!(
        lines[2].contains("%0Ahelp: give each marketplace its own seller SKU"),
        "{out}"
    );
}

#[test]
fn marketplaces_table_and_json() {
    allot()
        .arg("marketplaces")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("CODE MARKETPLACE ID"))
        .stdout(predicate::str::contains(
            "UK   A1F83G8C2ARO7P   United Kingdom         EU     https://sellingpartnerapi-eu.amazon.com",
        ));
    let out = allot()
        .args(["marketplaces", "--format", "json"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let all = v.as_array().unwrap();
    assert_eq!(all.len(), 23);
    let jp = all.iter().find(|m| m["code"] == "JP").unwrap();
    assert_eq!(jp["id"], "A1VC38T7YXB528");
    assert_eq!(jp["region"], "FE");
    assert_eq!(jp["endpoint"], "https://sellingpartnerapi-fe.amazon.com");
}

const TRAP: &str = "tests/fixtures/sets/seed002-trap";
const FIXED: &str = "tests/fixtures/sets/seed002-fixed";

/// Seed 002 split across three files of one seller: each file checks alone, together they write
/// one seller SKU in UK, DE and FR. A located error in each file, exit 1.
#[test]
fn one_seller_many_files_trap_fails_in_each_file() {
    let out = allot()
        .args(["check", TRAP])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "checked 3 files: 3 errors, 0 warnings",
        ))
        .get_output()
        .stderr
        .clone();
    let text = String::from_utf8(out).unwrap();
    for f in ["uk", "de", "fr"] {
        assert!(
            text.contains(&format!("╭─[{TRAP}/{f}.allot:12:11]")),
            "{f}: {text}"
        );
    }
    insta::assert_snapshot!("seed002_trap_human", text);
}

#[test]
fn one_seller_many_files_fixed_passes() {
    allot()
        .args(["check", FIXED])
        .assert()
        .code(0)
        .stderr("checked 3 files: 0 errors, 0 warnings\n");
    // Each file of the trap alone checks clean: only the set is wrong.
    allot()
        .args(["check", &format!("{TRAP}/uk.allot")])
        .assert()
        .code(0);
}

#[test]
fn one_seller_many_files_in_json_and_github() {
    let out = allot()
        .args(["check", "--format", "json", TRAP])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
    let records = v.as_array().expect("array");
    assert_eq!(records.len(), 3);
    for (r, f) in records.iter().zip(["de", "fr", "uk"]) {
        assert_eq!(r["file"], format!("{TRAP}/{f}.allot"));
        assert_eq!(r["code"], "allot::unified-conflict");
        assert_eq!(r["severity"], "error");
        assert_eq!(
            (r["line"].as_u64(), r["column"].as_u64()),
            (Some(12), Some(11))
        );
    }
    let out = allot()
        .args(["check", "--format", "github", TRAP])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(
        out.lines()
            .all(|l| l.starts_with("::error file=tests/fixtures/sets/seed002-trap/"))
    );
}

#[test]
fn one_seller_in_two_regions_fails_in_each_file() {
    let dir = tempfile::tempdir().unwrap();
    let eu = write(dir.path(), "eu.allot", &CLEAN.replace("US", "DE"));
    let na = write(dir.path(), "na.allot", CLEAN);
    allot()
        .args(["check"])
        .arg(&eu)
        .arg(&na)
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("allot::mixed-regions").and(predicate::str::contains(
                "checked 2 files: 2 errors, 0 warnings",
            )),
        );
}

#[test]
fn allot_test_runs_the_set_check_too() {
    allot()
        .args(["test", TRAP])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("allot::unified-conflict"))
        .stdout(predicate::str::contains(
            "3 errors across files (one seller's files overwrite each other)",
        ));
    allot()
        .args(["test", FIXED])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("3 passed, 0 failed"));
}

/// Issue "Nothing lost, nothing leaked, no panic": a diagnostic past column ~65,530 made
/// miette panic (exit 101, "Formatting argument out of range") in check, fmt and plan. The
/// snippet is now a window of the line, still headed by the real file:line:column.
#[test]
fn a_diagnostic_past_column_65535_renders_a_window_of_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let acme = std::fs::read_to_string(root().join("policies/acme-na.allot")).unwrap();
    let from = "  publish US as \"{sku}-US\", CA as \"{sku}-CA\"   #";
    assert!(acme.contains(from));
    let warned = acme.replacen(from, &format!("{}{}", " ".repeat(70_000), &from[2..]), 1);
    let broken = format!(
        "policy \"p\"\nseller \"A1PP0FEH11RW77\"\nmarketplaces US\n{}bogus \"\n",
        " ".repeat(70_000)
    );
    let cases: [(&[&str], &str, &str, i32); 5] = [
        (&["check"], &warned, "p.allot:18:70001]", 0),
        (&["fmt", "--check"], &broken, "p.allot:4:70007]", 1),
        (&["fmt"], &broken, "p.allot:4:70007]", 1),
        (&["check"], &broken, "p.allot:4:70007]", 1),
        (
            &[
                "plan",
                "--inventory",
                "examples/inventory.csv",
                "--current",
                "examples/current.json",
            ],
            &warned,
            "p.allot:18:70001]",
            0,
        ),
    ];
    for (args, text, at, code) in cases {
        let p = write(dir.path(), "p.allot", text);
        let mut cmd = allot();
        cmd.arg(args[0]).arg(&p).args(&args[1..]);
        let out = cmd.assert().code(code).get_output().clone();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(at), "{args:?}: {err}");
        assert!(err.len() < 20_000, "{args:?}: {} bytes", err.len());
    }
}

/// `allot check --format sarif`: SARIF 2.1.0 that validates against the OASIS schema, with a
/// rule (documented) for every code and a located result per diagnostic.
#[test]
fn sarif_output_validates_against_the_oasis_schema() {
    let out = allot()
        .args([
            "check",
            "--format",
            "sarif",
            "tests/fixtures/err/duplicate.allot",
            "policies/acme-na.allot",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("checked 2 files"))
        .get_output()
        .stdout
        .clone();
    let sarif: serde_json::Value = serde_json::from_slice(&out).expect("SARIF is JSON");
    let schema_path = match std::env::var_os("ALLOT_SARIF_SCHEMA") {
        Some(p) => PathBuf::from(p),
        None => root().join("../shared/schemas/sarif-schema-2.1.0.json"),
    };
    match std::fs::read_to_string(&schema_path) {
        Ok(text) => {
            let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
            let v = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
            let errors: Vec<String> = v
                .iter_errors(&sarif)
                .map(|e| format!("{e} at {}", e.instance_path))
                .collect();
            assert!(errors.is_empty(), "{errors:#?}");
            // The schema does catch a wrong document: a level SARIF does not have.
            let mut bad = sarif.clone();
            bad["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
            assert!(!v.is_valid(&bad));
        }
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!(
                "the SARIF schema is not at {} (set ALLOT_SARIF_SCHEMA)",
                schema_path.display()
            )
        }
        Err(_) => eprintln!(
            "SKIPPED: the SARIF schema is not at {}",
            schema_path.display()
        ),
    }
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "allot");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    for code in allot::check::codes::ALL
        .iter()
        .chain(allot::syntax::codes::ALL)
    {
        assert!(ids.contains(code), "no rule for {code}");
    }
    let oversell = rules.iter().find(|r| r["id"] == "allot::oversell").unwrap();
    assert!(
        oversell["help"]["markdown"]
            .as_str()
            .unwrap()
            .contains("docs/language.md#allotoversell")
    );
    let results = run["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .any(|r| r["level"] == "error" && r["ruleId"] == "allot::duplicate")
    );
    assert!(
        results
            .iter()
            .any(|r| r["level"] == "warning" && r["ruleId"] == "allot::oversell")
    );
    for r in results {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap() >= 1);
    }
    let acme = results
        .iter()
        .find(|r| r["ruleId"] == "allot::oversell")
        .unwrap();
    assert_eq!(
        acme["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "policies/acme-na.allot"
    );
    assert_eq!(
        acme["locations"][0]["physicalLocation"]["region"]["startLine"],
        18
    );
}

/// `allot completions SHELL` prints a completion script naming every command; `allot man` a
/// roff manual page; an unknown shell is a usage error (2).
#[test]
fn completions_and_the_manual_page() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = allot()
            .args(["completions", shell])
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(out).unwrap();
        for command in ["check", "plan", "apply", "sources", "sandbox"] {
            assert!(text.contains(command), "{shell}: no `{command}`");
        }
    }
    allot()
        .args(["completions", "nushell"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("possible values"));
    allot()
        .arg("man")
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(".ie").and(predicate::str::contains(".TH allot 1")));
}
