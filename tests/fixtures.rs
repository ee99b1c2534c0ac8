//! Diagnostic fixtures: every `tests/fixtures/{ok,err}/*.allot` is checked and its rendered,
//! colourless diagnostics are snapshotted (one snapshot per file). Plus the language contract:
//! the sketch's example and the shipped policies check with exactly the promised findings.

use std::collections::BTreeSet;
use std::path::Path;

use allot::check::{self, Checked};
use allot::render::diagnostics::{SourceFile, human_all};

fn fixtures_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

fn check_file(path: &Path) -> (SourceFile, Checked) {
    let (mut file, checked) = check::load(path).expect("fixture is readable UTF-8");
    // Report under a path relative to the fixtures folder, so snapshots do not depend on
    // where the repository is checked out.
    file.name = path
        .strip_prefix(fixtures_dir())
        .unwrap_or(path)
        .display()
        .to_string();
    (file, checked)
}

#[test]
fn fixtures() {
    insta::glob!("fixtures/{ok,err}/*.allot", |path| {
        let (file, checked) = check_file(path);
        let ok = file.name.starts_with("ok");
        if ok {
            assert_eq!(checked.errors(), 0, "ok fixture {} has errors", file.name);
            assert!(checked.policy.is_some());
        } else {
            assert!(
                !checked.diagnostics.is_empty(),
                "err fixture {} reports nothing",
                file.name
            );
        }
        assert_eq!(checked.policy.is_some(), checked.errors() == 0);
        let rendered = human_all(&file, &checked.diagnostics, false);
        let diagnostics = if rendered.is_empty() {
            "(no diagnostics)\n".to_string()
        } else {
            rendered
        };
        insta::assert_snapshot!(diagnostics);
    });
}

fn codes_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("allot::") {
        let code: String = text[i..]
            .chars()
            .skip("allot::".len())
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
            .collect();
        let code = code.trim_end_matches('-');
        if !code.is_empty() {
            out.insert(format!("allot::{code}"));
        }
    }
    out
}

/// Every code the checker can report is documented, and every documented code (the checker's
/// in docs/language.md, the syntax codes in docs/syntax.md) is reported by some err fixture.
#[test]
fn every_documented_code_has_a_failing_fixture() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let language =
        std::fs::read_to_string(root.join("docs/language.md")).expect("docs/language.md");
    let mut documented = codes_in(&language);
    for code in check::codes::ALL {
        assert!(
            documented.contains(*code),
            "{code} is not documented in docs/language.md"
        );
    }
    if let Ok(syntax) = std::fs::read_to_string(root.join("docs/syntax.md")) {
        documented.extend(codes_in(&syntax));
        // `allot fmt`'s internal error: no policy file can make `check` report it.
        documented.remove(allot::fmt::FMT_MISMATCH);
    }
    let mut reported = BTreeSet::new();
    for entry in std::fs::read_dir(fixtures_dir().join("err")).expect("err fixtures") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "allot") {
            let (_, checked) = check_file(&path);
            reported.extend(checked.diagnostics.iter().map(|d| d.code.to_string()));
        }
    }
    let missing: Vec<&String> = documented.difference(&reported).collect();
    assert!(
        missing.is_empty(),
        "documented codes without a failing fixture in tests/fixtures/err: {missing:?}"
    );
}

fn codes_of(checked: &Checked) -> Vec<(&'static str, bool)> {
    checked
        .diagnostics
        .iter()
        .map(|d| (d.code, d.is_error()))
        .collect()
}

/// The language sketch's example, verbatim: exactly the two warnings its comments promise.
#[test]
fn sketch_example_checks_with_its_two_warnings() {
    let src = std::fs::read_to_string(fixtures_dir().join("ok/sketch-acme-na.allot"))
        .expect("sketch fixture");
    let checked = check::check_source(&src);
    assert_eq!(
        codes_of(&checked),
        vec![("allot::oversell", false), ("allot::fixed-quantity", false)]
    );
    let oversell = &checked.diagnostics[0];
    let at = oversell.primary_span();
    assert!(src[at.start..].starts_with("publish US as \"{sku}-US\", CA"));
    let fixed = &checked.diagnostics[1];
    let at = fixed.primary_span();
    assert_eq!(&src[at.start..at.end], "quantity 1");
    let policy = checked.policy.expect("policy");
    assert_eq!(policy.rules.len(), 6);
    assert_eq!(policy.tests.len(), 1);
}

#[test]
fn shipped_policies() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (_, na) = check::load(&root.join("policies/acme-na.allot")).expect("acme-na");
    assert_eq!(
        codes_of(&na),
        vec![("allot::oversell", false), ("allot::fixed-quantity", false)]
    );
    let (file, eu) = check::load(&root.join("policies/acme-eu.allot")).expect("acme-eu");
    assert!(eu.diagnostics.is_empty(), "{:?}", eu.diagnostics);
    let policy = eu.policy.expect("policy");
    assert_eq!(policy.marketplaces.len(), 3);
    assert!(file.text.contains("UK as \"{sku}_UK\" share 20%"));
    // acme-na differs from the sketch only in the column of one comment.
    let sketch = std::fs::read_to_string(fixtures_dir().join("ok/sketch-acme-na.allot")).unwrap();
    let na_text = std::fs::read_to_string(root.join("policies/acme-na.allot")).unwrap();
    let diff: Vec<(&str, &str)> = sketch
        .lines()
        .zip(na_text.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(diff.len(), 1);
    assert!(diff[0].1.starts_with("location toronto"));
    assert_eq!(diff[0].1.find('#'), Some(40));
}

/// The eu-trap is refused exactly as the sketch says.
#[test]
fn eu_trap_is_refused_with_the_fix() {
    let (file, checked) = check_file(&fixtures_dir().join("err/eu-trap.allot"));
    assert!(checked.policy.is_none());
    assert_eq!(codes_of(&checked), vec![("allot::unified-conflict", true)]);
    let d = &checked.diagnostics[0];
    let at = d.primary_span();
    assert!(file.text[at.start..].starts_with("publish UK share 20%"));
    assert!(
        d.message.contains("one quantity per seller SKU"),
        "{}",
        d.message
    );
    assert!(d.message.contains("last write wins"), "{}", d.message);
    assert!(
        d.message
            .contains("FR's 50% would overwrite UK's 20% and DE's 30%"),
        "{}",
        d.message
    );
    let help = d.help.as_deref().unwrap_or_default();
    assert!(
        help.contains(
            r#"UK as "{sku}_UK" share 20%, DE as "{sku}_DE" share 30%, FR as "{sku}_FR" share 50%"#
        ),
        "{help}"
    );
}
