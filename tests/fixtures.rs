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

/// The failing examples of a docs page: for each `#### `CODE`` heading whose code starts with
/// `prefix`, the code and the fenced blocks of its section as (language, text).
fn documented_examples(page: &str, prefix: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut block: Option<(String, String)> = None;
    for line in page.lines() {
        if let Some((lang, text)) = &mut block {
            if line.starts_with("```") {
                let done = (std::mem::take(lang), std::mem::take(text));
                if let Some(last) = out.last_mut() {
                    last.1.push(done);
                }
                block = None;
            } else {
                text.push_str(line);
                text.push('\n');
            }
        } else if let Some(code) = line
            .strip_prefix("#### `")
            .and_then(|l| l.strip_suffix('`'))
        {
            if code.starts_with(prefix) {
                out.push((code.to_string(), Vec::new()));
            }
        } else if line.starts_with('#') {
            // A heading of another kind ends the section: its blocks belong to no code.
            if out.last().is_some_and(|l| !l.0.is_empty()) {
                out.push((String::new(), Vec::new()));
            }
        } else if let Some(lang) = line.strip_prefix("```") {
            block = Some((lang.to_string(), String::new()));
        }
    }
    out.retain(|(code, _)| !code.is_empty());
    out
}

/// Every input-file error code is documented in docs/inventory.md with a failing example, and
/// the example fails with that code. The three that no text can show (a missing file, bytes
/// that are not UTF-8, a file given twice) are made here.
#[test]
fn every_inventory_code_is_documented_with_a_failing_example() {
    use allot::inventory::{self, Format, Input, codes};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(root.join("docs/inventory.md")).expect("docs/inventory.md");
    let (_, checked) = check::load(&root.join("policies/acme-na.allot")).expect("acme-na");
    let policy = checked.policy.expect("acme-na checks");
    let read = |inputs: &[Input<'_>], format: Option<Format>| {
        inventory::read_all(inputs, format, &policy.locations, policy.inventory)
    };
    let code_of = |r: Result<inventory::Stock, inventory::InputError>| match r {
        Ok(_) => "(read without error)".to_string(),
        Err(e) => {
            // The text names the code too, and the records say the same.
            let text = e.to_string();
            assert!(text.starts_with(&format!("error[{}]", e.code())), "{text}");
            assert!(e.records().iter().all(|r| r.code == e.code()));
            e.code().to_string()
        }
    };
    let examples = documented_examples(&page, "allot::inventory::");
    let documented: BTreeSet<&str> = examples.iter().map(|(c, _)| c.as_str()).collect();
    let all: BTreeSet<&str> = codes::ALL.iter().copied().collect();
    assert_eq!(
        documented, all,
        "docs/inventory.md and inventory::codes::ALL differ"
    );
    let made_here = [codes::UNREADABLE, codes::NOT_UTF8, codes::REPEATED_FILE];
    for (code, blocks) in &examples {
        if made_here.contains(&code.as_str()) {
            continue;
        }
        let (lang, text) = blocks
            .first()
            .unwrap_or_else(|| panic!("{code} has no failing example"));
        let format = match lang.as_str() {
            "csv" => Format::Csv,
            "json" => Format::Json,
            "yaml" => Format::Yaml,
            other => panic!("{code}: an example in `{other}`"),
        };
        let got = code_of(read(&[Input::Stdin(text.as_bytes())], Some(format)));
        assert_eq!(&got, code, "the example of {code}:\n{text}");
    }
    let dir = std::env::temp_dir().join(format!("allot-codes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let missing = dir.join("missing.csv");
    assert_eq!(
        code_of(read(&[Input::File(&missing)], None)),
        codes::UNREADABLE
    );
    let bytes = b"sku,location,on_hand\nA-\xff,newark,5\n";
    assert_eq!(
        code_of(read(&[Input::Stdin(bytes)], Some(Format::Csv))),
        codes::NOT_UTF8
    );
    let ok = dir.join("ok.csv");
    std::fs::write(&ok, "sku,location,on_hand\nA-1,newark,5\n").expect("write");
    assert_eq!(
        code_of(read(&[Input::File(&ok), Input::File(&ok)], None)),
        codes::REPEATED_FILE
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every simulation error code is documented in docs/inventory.md, and each example given as a
/// policy and an inventory fails the simulation with its code.
#[test]
fn every_sim_code_is_documented_and_its_examples_fail_with_it() {
    use allot::inventory::{self, Format, Input};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(root.join("docs/inventory.md")).expect("docs/inventory.md");
    let examples = documented_examples(&page, "allot::sim::");
    let documented: BTreeSet<&str> = examples.iter().map(|(c, _)| c.as_str()).collect();
    let all: BTreeSet<&str> = allot::sim::codes::ALL.iter().copied().collect();
    assert_eq!(
        documented, all,
        "docs/inventory.md and sim::codes::ALL differ"
    );
    let mut ran = 0;
    for (code, blocks) in &examples {
        let block = |lang: &str| blocks.iter().find(|(l, _)| l == lang).map(|(_, t)| t);
        let (Some(policy), Some(csv)) = (block("allot"), block("csv")) else {
            continue;
        };
        let policy_text = policy;
        let checked = check::check_source(policy);
        let policy = checked
            .policy
            .unwrap_or_else(|| panic!("the example of {code} does not check"));
        let stock = inventory::read_all(
            &[Input::Stdin(csv.as_bytes())],
            Some(Format::Csv),
            &policy.locations,
            policy.inventory,
        )
        .unwrap_or_else(|e| panic!("the inventory of {code}'s example: {e}"));
        let e = allot::sim::run(&policy, &stock, None)
            .err()
            .unwrap_or_else(|| panic!("the example of {code} simulates without error"));
        assert_eq!(e.problems[0].code(), code, "{e}");
        assert!(
            e.to_string().starts_with(&format!("error[{code}]: ")),
            "{e}"
        );
        // The record points at the clause that caused it, not at line 1.
        let file = SourceFile {
            name: "p.allot".into(),
            text: policy_text.to_string(),
        };
        let record = &e.records(&[&file])[0];
        assert_eq!(record.code, *code);
        assert_eq!(record.file, "p.allot");
        let line = policy_text.lines().nth(record.line - 1).unwrap_or("");
        let at: String = line.chars().skip(record.column - 1).collect();
        let expected = match code.as_str() {
            "allot::sim::bad-seller-sku" => "\"{sku}-with-a-suffix",
            "allot::sim::duplicate-seller-sku" => "\"{column:asin}\"",
            "allot::sim::missing-stock" => "on_missing error",
            "allot::sim::bad-column-value" => "cap column \"max\"",
            other => panic!("{other}: say where its example's record points"),
        };
        assert!(
            at.starts_with(expected),
            "{code} points at {}:{}: `{at}`",
            record.line,
            record.column
        );
        ran += 1;
    }
    assert!(ran >= 4, "only {ran} simulation examples ran");
}

/// The codes of the commands' own errors: `cli::codes::ALL` and every `code = "allot::…"`
/// literal in src/ (the saved plans' `PlanError`, and any code written in place).
fn command_codes() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    walk(&root.join("src"), &mut files);
    let mut in_source: BTreeSet<String> = allot::cli::codes::ALL
        .iter()
        .map(|c| c.to_string())
        .collect();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for part in text.split("code = \"").skip(1) {
            let code = &part[..part.find('"').unwrap()];
            if code.starts_with("allot::") {
                in_source.insert(code.to_string());
            }
        }
    }
    in_source
}

/// docs/ci.md's section `### NAME`, up to the next heading of that level or above.
fn ci_section(name: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/ci.md")).unwrap();
    let section = doc
        .split(&format!("\n### {name}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("docs/ci.md has no section `### {name}`"));
    let end = [section.find("\n### "), section.find("\n## ")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(section.len());
    section[..end].to_string()
}

/// Every code a command gives its own errors is in docs/ci.md's table of them, and the table
/// names no code the source does not have.
#[test]
fn every_command_error_code_is_documented() {
    let section = ci_section("The commands' own error codes");
    let in_doc: BTreeSet<String> = section
        .split("#### Renamed codes")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|c| c.starts_with("allot::"))
        .map(String::from)
        .collect();
    let in_source = command_codes();
    assert!(in_source.len() > 40, "{in_source:?}");
    assert_eq!(
        in_source, in_doc,
        "the codes in src/ against docs/ci.md's table"
    );
    for c in &in_source {
        let rest = c.strip_prefix("allot::").unwrap();
        assert!(
            rest.split("::")
                .all(|p| !p.is_empty() && p.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-')),
            "{c} is not kebab-case"
        );
    }
}

/// One example of docs/ci.md's "Failing examples": files to write, the command lines.
#[derive(Default)]
struct CommandExample {
    files: Vec<(String, String)>,
    lines: Vec<String>,
    /// Why no command line makes it (the section says, and names its unit test).
    not_from_outside: bool,
}

/// The section's examples by code, and the files every example gets (before the first code).
fn command_examples() -> (
    Vec<(String, String)>,
    std::collections::BTreeMap<String, CommandExample>,
) {
    let section = ci_section("Failing examples");
    let mut shared = Vec::new();
    let mut examples = std::collections::BTreeMap::new();
    let mut current: Option<String> = None;
    let mut block: Option<(String, String)> = None;
    for line in section.lines() {
        if let Some((info, text)) = &mut block {
            if line.starts_with("```") {
                let (info, text) = (std::mem::take(info), std::mem::take(text));
                block = None;
                let mut words = info.split_whitespace();
                let lang = words.next().unwrap_or("");
                let name = words.next();
                let target = match &current {
                    Some(c) => examples
                        .entry(c.clone())
                        .or_insert_with(CommandExample::default),
                    None => {
                        let name = name.expect("a shared block names its file");
                        shared.push((name.to_string(), text));
                        continue;
                    }
                };
                match (lang, name) {
                    ("sh", None) => target.lines.extend(text.lines().map(String::from)),
                    (_, Some(name)) => target.files.push((name.to_string(), text)),
                    (lang, None) => panic!("a `{lang}` block without a file name"),
                }
            } else {
                text.push_str(line);
                text.push('\n');
            }
        } else if let Some(code) = line
            .strip_prefix("#### `")
            .and_then(|l| l.strip_suffix('`'))
        {
            current = Some(code.to_string());
            examples
                .entry(code.to_string())
                .or_insert_with(CommandExample::default);
        } else if let Some(info) = line.strip_prefix("```") {
            block = Some((info.to_string(), String::new()));
        } else if line.starts_with("Not produced") {
            let c = current.as_ref().expect("a note under a code");
            examples.get_mut(c).unwrap().not_from_outside = true;
        }
    }
    (shared, examples)
}

/// Runs one line of an example in `dir`: `[VAR=value ...] allot ARGS [> /dev/full]`, or
/// `cp FROM TO`. Returns the exit status and standard error.
fn run_example_line(dir: &Path, line: &str) -> (i32, String) {
    let (status, stderr, _) = run_example_line_with(dir, line, &[]);
    (status, stderr)
}

/// [`run_example_line`] with `extra` arguments after the line's, also returning stdout (empty
/// when it is `/dev/full`).
fn run_example_line_with(dir: &Path, line: &str, extra: &[&str]) -> (i32, String, String) {
    use std::process::{Command, Stdio};
    let line = line.split("   # exit").next().unwrap().trim();
    let (line, full) = match line.strip_suffix("> /dev/full") {
        Some(l) => (l.trim(), true),
        None => (line, false),
    };
    let mut words = line.split_whitespace().peekable();
    let mut env = Vec::new();
    while let Some(w) = words.peek() {
        match w.split_once('=') {
            Some((k, v)) if k.chars().all(|c| c.is_ascii_uppercase() || c == '_') => {
                env.push((k.to_string(), v.to_string()));
                words.next();
            }
            _ => break,
        }
    }
    let program = words.next().expect("a command");
    let args: Vec<&str> = words.collect();
    if program == "cp" {
        std::fs::copy(dir.join(args[0]), dir.join(args[1])).unwrap();
        return (0, String::new(), String::new());
    }
    assert_eq!(program, "allot", "an example runs allot: {line}");
    let err_path = dir.join(".stderr");
    let out_path = dir.join(".stdout");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_allot"));
    cmd.args(&args)
        .args(extra)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("LWA_APP_ID")
        .env_remove("LWA_CLIENT_SECRET")
        .env_remove("SP_API_REFRESH_TOKEN")
        .env_remove("SP_API_CREDENTIALS")
        .envs(env)
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap());
    if full {
        let dev_full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        cmd.stdout(dev_full);
    } else {
        cmd.stdout(std::fs::File::create(&out_path).unwrap());
    }
    let mut child = cmd.spawn().expect("allot runs");
    // An example that does not fail (a sandbox that starts) must not hang the suite.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{line}` did not end within 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let stdout = match full {
        true => String::new(),
        false => std::fs::read_to_string(&out_path).unwrap_or_default(),
    };
    (status.code().unwrap_or(-1), stderr, stdout)
}

/// Every code of docs/ci.md's table has a failing example in its "Failing examples", run here
/// against the built binary: the last line prints the code and exits as the example says. A
/// code no command line can make says so (and its section names the unit test that makes it).
#[test]
fn every_command_error_code_has_a_failing_example() {
    let (shared, examples) = command_examples();
    let documented: BTreeSet<String> = examples.keys().cloned().collect();
    assert_eq!(
        documented,
        command_codes(),
        "docs/ci.md's failing examples against the codes"
    );
    let mut ran = 0;
    let mut with_records = 0;
    for (code, ex) in &examples {
        if ex.not_from_outside {
            assert!(ex.lines.is_empty(), "{code}: an example and a note");
            continue;
        }
        assert!(!ex.lines.is_empty(), "{code} has no failing example");
        if ex.lines.iter().any(|l| l.contains("/dev/full")) && !Path::new("/dev/full").exists() {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in shared.iter().chain(&ex.files) {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let (last, setup) = ex.lines.split_last().unwrap();
        for line in setup {
            let (status, stderr) = run_example_line(dir.path(), line);
            let want = line
                .split("   # exit ")
                .nth(1)
                .map_or(0, |n| n.trim().parse().unwrap());
            assert_eq!(status, want, "{code}: `{line}`\n{stderr}");
        }
        let want: i32 = last
            .split("   # exit ")
            .nth(1)
            .unwrap_or_else(|| panic!("{code}: the last line says `   # exit N`"))
            .trim()
            .parse()
            .unwrap();
        let (status, stderr) = run_example_line(dir.path(), last);
        assert!(
            stderr.lines().any(|l| l.trim() == code.as_str()),
            "{code}: `{last}` did not print the code:\n{stderr}"
        );
        assert_eq!(status, want, "{code}: `{last}`\n{stderr}");
        ran += 1;
        // The commands with `--error-format` also print the error as a JSON record on stdout
        // (after the preview when it fails after one, as `--deny-warnings` does).
        let mut words = last.split_whitespace().skip_while(|w| {
            w.split_once('=')
                .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        });
        let with_format = words.next() == Some("allot")
            && matches!(words.next(), Some("plan" | "diff" | "explain" | "init"));
        if with_format && !last.contains("/dev/full") {
            let (status, _, stdout) =
                run_example_line_with(dir.path(), last, &["--error-format", "json"]);
            assert_eq!(status, want, "{code}: `{last}` --error-format json");
            let at = match stdout.starts_with('[') {
                true => 0,
                false => stdout.rfind("\n[\n").map_or(0, |i| i + 1),
            };
            let records: serde_json::Value = serde_json::from_str(&stdout[at..])
                .unwrap_or_else(|e| panic!("{code}: `{last}` --error-format json: {e}\n{stdout}"));
            assert!(
                records
                    .as_array()
                    .is_some_and(|r| r.iter().any(|r| r["code"] == code.as_str())),
                "{code}: `{last}` --error-format json printed no record of it:\n{stdout}"
            );
            with_records += 1;
        }
    }
    assert!(ran >= 30, "only {ran} examples ran");
    assert!(
        with_records >= 15,
        "only {with_records} examples checked their record"
    );
}
