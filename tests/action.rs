//! The GitHub Action (action.yml and action/allot-action.sh): its inputs are wired to the
//! script, and the script, run here with a fake GitHub environment and a stand-in `gh`, runs the
//! commands docs/ci.md recommends, sets the outputs and posts one sticky comment per kind.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fake GitHub: `gh` logs its arguments (and the comment bodies it is given) and answers the
/// comment listing with the ids in `existing` (empty: no comment yet).
struct Github {
    dir: tempfile::TempDir,
}

impl Github {
    fn new(existing: &str) -> Github {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::write(dir.path().join("existing"), existing).unwrap();
        let gh = bin.join("gh");
        std::fs::write(
            &gh,
            r#"#!/usr/bin/env bash
d=$(dirname "$0")/..
echo "$*" >> "$d/gh.log"
for a in "$@"; do
  case $a in body=@*) { echo "--- body"; cat "${a#body=@}"; } >> "$d/bodies.log" ;; esac
done
case " $* " in
  *" --paginate "*) cat "$d/existing" ;;
esac
"#,
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&gh, std::fs::Permissions::from_mode(0o755)).unwrap();
        Github { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    /// Runs `allot-action.sh run` with the action's inputs in `env`, on a pull request.
    fn run(&self, env: &[(&str, &str)]) -> Output {
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("bash");
        cmd.arg(root().join("action/allot-action.sh"))
            .arg("run")
            .current_dir(root())
            .env("PATH", path)
            .env("ALLOT_BIN", env!("CARGO_BIN_EXE_allot"))
            .env("OUT_DIR", self.path("out"))
            .env("GITHUB_OUTPUT", self.path("output"))
            .env("GITHUB_STEP_SUMMARY", self.path("summary"))
            .env("GITHUB_EVENT_NAME", "pull_request")
            .env("GITHUB_REPOSITORY", "acme/policies")
            .env("PR_NUMBER", "7");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const PREVIEW: &[(&str, &str)] = &[
    ("POLICIES", "policies/acme-na.allot"),
    ("INVENTORY", "examples/inventory.csv"),
    ("CURRENT", "examples/current.json"),
];

#[test]
fn a_pull_request_gets_annotations_a_test_report_and_one_preview_comment() {
    let gh = Github::new("");
    let out = gh.run(PREVIEW);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // check's warnings as annotations on the diff.
    assert!(
        stdout.contains("::warning file=policies/acme-na.allot,line=18"),
        "{stdout}"
    );
    let outputs = gh.read("output");
    assert!(outputs.contains("changes=true\n"), "{outputs}");
    let report = gh.path("out/allot-test-results.xml");
    assert!(outputs.contains(&format!("test-report={}\n", report.display())));
    let xml = std::fs::read_to_string(&report).unwrap();
    assert!(
        xml.contains("<testsuites") && xml.contains("yoga is capped at 10"),
        "{xml}"
    );
    let preview = std::fs::read_to_string(gh.path("out/allot-preview.md")).unwrap();
    assert!(preview.contains("YOGA-1-CA"), "{preview}");
    assert!(
        gh.read("summary").contains(&preview),
        "the preview is in the job summary"
    );
    // No comment yet: listed, then created, with the marker first.
    let log = gh.read("gh.log");
    let calls: Vec<&str> = log.lines().collect();
    assert_eq!(calls.len(), 2, "{log}");
    assert!(calls[0].contains("repos/acme/policies/issues/7/comments --paginate"));
    assert!(calls[1].starts_with("api --method POST repos/acme/policies/issues/7/comments"));
    let bodies = gh.read("bodies.log");
    assert!(
        bodies.starts_with("--- body\n<!-- allot:preview -->\n"),
        "{bodies}"
    );
    assert!(bodies.contains("YOGA-1-CA"));
}

#[test]
fn a_second_push_edits_the_comment_instead_of_adding_one() {
    let gh = Github::new("4242\n");
    let out = gh.run(PREVIEW);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let log = gh.read("gh.log");
    assert!(
        log.lines()
            .any(|l| l.starts_with("api --method PATCH repos/acme/policies/issues/comments/4242")),
        "{log}"
    );
    assert!(!log.contains("POST"), "{log}");
}

#[test]
fn a_bad_policy_fails_the_action_after_every_step_ran() {
    let gh = Github::new("");
    let out = gh.run(&[("POLICIES", "tests/fixtures/err/duplicate.allot")]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("::error file=tests/fixtures/err/duplicate.allot"),
        "{stdout}"
    );
    assert!(
        stderr.contains("allot: failed:") && stderr.contains("check"),
        "{stderr}"
    );
    // The tests still ran and wrote their report (the policy does not check: an error case).
    let xml = std::fs::read_to_string(gh.path("out/allot-test-results.xml")).unwrap();
    assert!(xml.contains("<error"), "{xml}");
    // No inventory: no preview, no comment.
    assert_eq!(gh.read("gh.log"), "");
}

#[test]
fn the_diff_against_the_base_branch_is_a_second_sticky_comment() {
    let gh = Github::new("");
    let out = gh.run(&[
        ("POLICIES", "tests/fixtures/diff/acme-na-new.allot"),
        ("BASE_POLICIES", "policies/acme-na.allot"),
        ("INVENTORY", "examples/inventory.csv"),
        ("TEST", "false"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let outputs = gh.read("output");
    assert!(outputs.contains("differences=true\n"), "{outputs}");
    let bodies = gh.read("bodies.log");
    assert!(bodies.contains("<!-- allot:preview -->"), "{bodies}");
    assert!(bodies.contains("<!-- allot:diff -->"), "{bodies}");
}

#[test]
fn outside_a_pull_request_nothing_is_posted_and_base_without_inventory_is_refused() {
    let gh = Github::new("");
    let mut env = PREVIEW.to_vec();
    env.push(("GITHUB_EVENT_NAME", "push"));
    let out = gh.run(&env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("not a pull request (push)"));
    assert_eq!(gh.read("gh.log"), "");

    let out = gh.run(&[
        ("POLICIES", "policies/acme-na.allot"),
        ("BASE_POLICIES", "policies/acme-na.allot"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("'base-policies' needs 'inventory'"));
}

#[test]
fn the_cache_key_follows_the_sources() {
    let key = || {
        let out = Command::new("bash")
            .arg(root().join("action/allot-action.sh"))
            .arg("key")
            .env_remove("GITHUB_OUTPUT")
            .output()
            .unwrap();
        assert!(out.status.success());
        text(&out.stdout)
    };
    let a = key();
    assert!(
        a.starts_with("key=allot-") && a.trim_end().len() > 20,
        "{a}"
    );
    assert_eq!(a, key(), "stable while the sources do not change");
}

/// Every input action.yml declares reaches the script (or a step that uses it), and every
/// `inputs.X` it uses is declared: a renamed input cannot silently do nothing.
#[test]
fn every_input_is_declared_and_used() {
    let yml = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let action: serde_json::Value = serde_saphyr::from_str(&yml).unwrap();
    let declared: Vec<&str> = action["inputs"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let used: std::collections::BTreeSet<&str> = yml
        .match_indices("inputs.")
        .map(|(i, _)| {
            let rest = &yml[i + "inputs.".len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect();
    for u in &used {
        assert!(declared.contains(u), "inputs.{u} is used but not declared");
    }
    for d in &declared {
        assert!(used.contains(d), "input {d} is declared but never used");
    }
    let script = std::fs::read_to_string(root().join("action/allot-action.sh")).unwrap();
    let steps = action["runs"]["steps"].as_array().unwrap();
    for step in steps {
        if let Some(env) = step["env"].as_object() {
            for var in env.keys() {
                assert!(
                    script.contains(var.as_str()),
                    "{var} is given to the script but it never reads it"
                );
            }
        }
    }
    assert!(Path::new(&root().join("action/allot-action.sh")).exists());
}
