//! Helpers shared by the tests that validate allot's machine outputs against the JSON Schemas
//! under schemas/ (tests/schemas.rs, tests/live.rs).

use std::path::PathBuf;

use serde_json::Value;

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
