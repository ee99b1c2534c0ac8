//! Helpers shared by the integration tests: running the built binary from the repository's
//! root, writing input files, and validating machine outputs against the JSON Schemas under
//! schemas/.
// Each test crate includes this module and uses some of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// The repository's root: the shipped policies and examples are named from it.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The built `allot`, run from the repository's root, without colours.
pub fn allot() -> Command {
    let mut c = Command::cargo_bin("allot").expect("binary");
    c.current_dir(root()).env("NO_COLOR", "1");
    c
}

/// Writes `text` to `dir/name` and returns its path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The schema `schemas/NAME.schema.json`, compiled as draft 2020-12.
pub fn validator(name: &str) -> jsonschema::Validator {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(format!("{name}.schema.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::draft202012::new(&schema).expect("the schema compiles")
}

/// Fails with every error (and where it is) when `doc` does not validate.
pub fn assert_valid(v: &jsonschema::Validator, doc: &Value) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{doc:#}");
}

/// `doc` changed by `edit` must fail: a schema that accepts it is too permissive.
pub fn assert_rejects(
    v: &jsonschema::Validator,
    doc: &Value,
    what: &str,
    edit: impl FnOnce(&mut Value),
) {
    let mut bad = doc.clone();
    edit(&mut bad);
    assert_ne!(&bad, doc, "the edit ({what}) changed nothing");
    assert!(
        !v.is_valid(&bad),
        "the schema accepts a document with {what}"
    );
}
