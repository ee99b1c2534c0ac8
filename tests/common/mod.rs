//! Helpers shared by the integration tests: running the built binary from the repository's
//! root, writing input files, validating machine outputs against the JSON Schemas under
//! schemas/, and waiting for something another process or task does.
// Each test crate includes this module and uses some of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

/// How often [`wait_for`] looks again.
const POLL: Duration = Duration::from_millis(20);

/// Looks at `ready` every few milliseconds until it gives a value (something another process or
/// thread does: a file written, a process ended); None after `within`.
pub fn poll_until<T>(within: Duration, mut ready: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = ready() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// [`poll_until`], panicking naming `what` after `within`.
pub fn wait_for<T>(what: &str, within: Duration, ready: impl FnMut() -> Option<T>) -> T {
    poll_until(within, ready).unwrap_or_else(|| panic!("{what}: not within {within:?}"))
}

/// [`wait_for`] inside a runtime, for what a task or a server does (it yields while it waits).
pub async fn wait_for_async<T>(
    what: &str,
    within: Duration,
    mut ready: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = ready().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(POLL).await;
    }
}
