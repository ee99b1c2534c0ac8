//! Parser and formatter tests: the sketch's shape, each syntax diagnostic at its place, and the
//! formatter's promises (idempotent, every comment kept, no panics on any input).

use std::fs;
use std::path::{Path, PathBuf};

use allot::span::LineIndex;
use allot::syntax::ast::*;
use allot::syntax::parse;

fn fixture(path: &str) -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn files_in(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == ext));
    v.sort();
    v
}

fn ok(src: &str) -> Ast {
    match parse(src) {
        Ok(a) => a,
        Err(d) => panic!("did not parse: {d:#?}"),
    }
}

#[test]
fn sketch_parses_to_the_expected_shape() {
    let src = fixture("tests/fixtures/ok/sketch-acme-na.allot");
    let ast = ok(&src);
    let kinds: Vec<String> = ast
        .items
        .iter()
        .map(|i| match &i.kind {
            ItemKind::Policy(s) => format!("policy {}", s.node),
            ItemKind::Seller(s) => format!("seller {}", s.node),
            ItemKind::Marketplaces(v) => format!(
                "marketplaces {}",
                v.iter()
                    .map(|m| m.node.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            ItemKind::Location {
                name,
                supply_source,
            } => {
                format!("location {} {}", name.node, supply_source.is_some())
            }
            ItemKind::Rule(r) => format!("rule {} {}", r.name.node, r.stmts.len()),
            ItemKind::Test(t) => format!("test {} {}", t.name.node, t.stmts.len()),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "policy acme-na",
            "seller A1PP0FEH11RW77",
            "marketplaces US,CA,MX",
            "location newark true",
            "location austin true",
            "location toronto false",
            "rule yoga pants 5",
            "rule aroma candles 3",
            "rule mugs 2",
            "rule ship from stores 3",
            "rule clearance 3",
            "rule everything else 2",
            "test yoga is capped at 10 2",
        ]
    );
    // Spans point at the text they came from.
    let ItemKind::Rule(yoga) = &ast.items[6].kind else {
        panic!("not a rule")
    };
    let s = &yoga.stmts[4];
    assert_eq!(&src[s.keyword.start..s.keyword.end], "publish");
    assert_eq!(
        &src[s.span.start..s.span.end],
        r#"publish US as "{sku}-US", CA as "{sku}-CA""#
    );
    let StmtKind::Publish(targets) = &s.kind else {
        panic!("not publish")
    };
    assert_eq!(targets.len(), 2);
    assert_eq!(targets[1].marketplace.node, "CA");
    assert_eq!(
        targets[1].sku.as_ref().map(|s| s.node.as_str()),
        Some("{sku}-CA")
    );
    assert!(matches!(
        yoga.stmts[0].kind,
        StmtKind::Match(Selector { kind: SelectorKind::Sku(ref v), .. }) if v[0].node == "YOGA-*"
    ));
    assert!(matches!(&yoga.stmts[1].kind, StmtKind::StockFrom(v) if v.len() == 2));
    assert!(matches!(&yoga.stmts[2].kind, StmtKind::Buffer(a) if a.node == Number::Units(2)));
    assert!(matches!(&yoga.stmts[3].kind, StmtKind::Cap(a) if a.node == Number::Units(10)));

    let ItemKind::Rule(mugs) = &ast.items[8].kind else {
        panic!("not a rule")
    };
    let StmtKind::Publish(t) = &mugs.stmts[1].kind else {
        panic!("not publish")
    };
    assert_eq!(
        t[0].share.as_ref().map(|a| a.node),
        Some(Number::Percent(6000))
    );
    assert_eq!(
        t[1].share.as_ref().map(|a| a.node),
        Some(Number::Percent(4000))
    );

    let ItemKind::Rule(shoes) = &ast.items[9].kind else {
        panic!("not a rule")
    };
    let StmtKind::Publish(t) = &shoes.stmts[1].kind else {
        panic!("not publish")
    };
    assert!(
        t[0].by_location
            .as_ref()
            .is_some_and(|b| b.split.is_empty())
    );
    assert!(
        matches!(&shoes.stmts[2].kind, StmtKind::DefaultChannel(a) if a.node == Number::Units(0))
    );

    let ItemKind::Rule(rest) = &ast.items[11].kind else {
        panic!("not a rule")
    };
    assert!(matches!(
        &rest.stmts[0].kind,
        StmtKind::Match(Selector {
            kind: SelectorKind::Any,
            ..
        })
    ));
    assert!(matches!(&rest.stmts[1].kind, StmtKind::Skip));

    let ItemKind::Test(t) = &ast.items[12].kind else {
        panic!("not a test")
    };
    match &t.stmts[0].kind {
        TestStmtKind::Stock { sku, entries, .. } => {
            assert_eq!(sku.node, "YOGA-1");
            assert_eq!(entries.len(), 2);
            assert_eq!(entries[1].location.node, "austin");
            assert_eq!(entries[1].on_hand.node, Number::Units(9));
        }
        other => panic!("{other:?}"),
    }
    match &t.stmts[1].kind {
        TestStmtKind::Expect {
            seller_sku,
            marketplace,
            channel,
            quantity,
        } => {
            assert_eq!(seller_sku.node, "YOGA-1-US");
            assert_eq!(marketplace.node, "US");
            assert!(channel.is_none());
            assert_eq!(quantity.as_ref().map(|q| q.node), Some(Number::Units(10)));
        }
        other => panic!("{other:?}"),
    }

    // Every comment, in order, with its span.
    assert_eq!(ast.comments.len(), 17);
    assert!(ast.comments[0].text.starts_with(" Stock we publish"));
    for c in &ast.comments {
        assert_eq!(&src[c.span.start..c.span.end], format!("#{}", c.text));
    }
}

#[test]
fn eu_trap_parses() {
    let ast = ok(&fixture("tests/fixtures/err/eu-trap.allot"));
    assert_eq!(ast.items.len(), 4);
}

#[test]
fn every_ok_fixture_parses() {
    let files = files_in("tests/fixtures/ok", "allot");
    assert!(files.len() >= 2);
    for f in files {
        let src = fs::read_to_string(&f).unwrap();
        if let Err(d) = parse(&src) {
            panic!("{}: {d:#?}", f.display());
        }
    }
}

/// Each `syntax-*.allot` fixture names its expected code and place in its first line:
/// `# expect: allot::bad-number at 3:7`.
#[test]
fn every_err_fixture_reports_its_code_at_its_place() {
    let files = files_in("tests/fixtures/err", "allot");
    let files: Vec<_> = files
        .into_iter()
        .filter(|f| {
            f.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("syntax-"))
        })
        .collect();
    assert!(!files.is_empty());
    for f in files {
        let src = fs::read_to_string(&f).unwrap();
        let want = src
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| {
                panic!(
                    "{}: first line must be `# expect: CODE at L:C`",
                    f.display()
                )
            });
        let (code, place) = want.split_once(" at ").unwrap();
        let diags = match parse(&src) {
            Ok(_) => panic!("{} parsed", f.display()),
            Err(d) => d,
        };
        let index = LineIndex::new(&src);
        let first = &diags[0];
        let (l, c) = index.line_col(&src, first.primary_span().start);
        assert_eq!(
            (first.code, format!("{l}:{c}")),
            (code, place.to_string()),
            "{}: {diags:#?}",
            f.display()
        );
        assert!(first.help.is_some(), "{}: no help", f.display());
        assert!(
            first.labels.iter().any(|l| l.primary),
            "{}: no primary label",
            f.display()
        );
    }
}

// ------------------------------------------------------------------ formatter

use allot::fmt::format;

fn comment_texts(src: &str) -> Vec<String> {
    ok(src).comments.into_iter().map(|c| c.text).collect()
}

fn assert_formats_well(name: &str, src: &str) {
    let once = format(src).unwrap_or_else(|d| panic!("{name}: {d:#?}"));
    let twice = format(&once).unwrap_or_else(|d| panic!("{name} (formatted): {d:#?}"));
    assert_eq!(once, twice, "{name}: formatting is not idempotent");
    assert_eq!(
        comment_texts(src),
        comment_texts(&once),
        "{name}: comments changed"
    );
    assert!(
        once.ends_with('\n') || once.is_empty(),
        "{name}: no final newline"
    );
    assert!(!once.contains("\n\n\n"), "{name}: more than one blank line");
    assert!(
        once.lines().all(|l| l == l.trim_end()),
        "{name}: trailing whitespace"
    );
}

#[test]
fn every_ok_fixture_and_policy_formats_idempotently_keeping_comments() {
    let mut files = files_in("tests/fixtures/ok", "allot");
    files.extend(files_in("policies", "allot"));
    for f in files {
        let src = fs::read_to_string(&f).unwrap();
        assert_formats_well(&f.display().to_string(), &src);
    }
}

#[test]
fn sketch_is_canonical_except_the_toronto_comment() {
    let src = fixture("tests/fixtures/ok/sketch-acme-na.allot");
    let fixed = src.replace(
        "location toronto                         #",
        "location toronto                        #",
    );
    assert_ne!(src, fixed, "the sketch changed: update this test");
    assert_eq!(format(&src).unwrap(), fixed);
    assert_eq!(format(&fixed).unwrap(), fixed);
    let eu = fixture("tests/fixtures/err/eu-trap.allot");
    assert_eq!(format(&eu).unwrap(), eu);
}

#[test]
fn layout_rules() {
    let src = "\n\n# head\npolicy \"p\"\nmarketplaces US,CA   #  two\n\n\n\nlocation a supply_source \"s1\"\n# between\nlocation bbbb\n\nlocation c   \nrule \"r\" { # open\n\n  match not (sku \"A\" and tag \"b\") and x = \"1\",\"2\"\n   threshold 2\n  publish US as \"{sku}-US\" share 12.50% by location {a 60%,bbbb 40%}, CA\n\n\n  default_channel 0\n  skip\n\n  # closing\n\n} # done\ntest \"t\" {\n  expect \"X\" on US unpublished\n  stock \"X\" tags \"a\" brand = \"B\" a 1 reserved 0, bbbb 2\n}\n";
    let want = "# head\npolicy \"p\"\nmarketplaces US, CA                     #  two\n\nlocation a    supply_source \"s1\"\n# between\nlocation bbbb\n\nlocation c\n\nrule \"r\" {                              # open\n  match   not (sku \"A\" and tag \"b\") and x = \"1\", \"2\"\n  threshold 2\n  publish US as \"{sku}-US\" share 12.5% by location { a 60%, bbbb 40% }, CA\n\n  default_channel 0\n  skip\n\n  # closing\n}                                       # done\n\ntest \"t\" {\n  expect \"X\" on US unpublished\n  stock  \"X\" tags \"a\" brand = \"B\" a 1 reserved 0, bbbb 2\n}\n";
    let got = format(src).unwrap();
    assert_eq!(got, want, "\n--- got ---\n{got}\n--- want ---\n{want}");
}

#[test]
fn crlf_and_bom_are_read_and_written_as_lf() {
    let src = "\u{feff}policy \"p\"\r\nrule \"r\" {\r\n  match any   # c\r\n  skip\r\n}\r\n";
    let out = format(src).unwrap();
    assert_eq!(
        out,
        "policy \"p\"\n\nrule \"r\" {\n  match any                             # c\n  skip\n}\n"
    );
}

#[test]
fn format_refuses_what_does_not_parse() {
    let d = format("rule \"r\" {\n  cpa 10\n}\n").unwrap_err();
    assert_eq!(d[0].code, "allot::unknown-keyword");
}

// ------------------------------------------------------------------ no panics, ever

use proptest::prelude::*;

/// Every keyword of the language (the parser's table, so a new one is fuzzed too) and the
/// values, punctuation and odd characters between them.
fn tokens() -> Vec<&'static str> {
    const OTHERS: &[&str] = &[
        "negative_as_zero",
        "ignore_unknown_locations",
        "\"2027-01-15\"",
        "US",
        "newark",
        "\"x\"",
        "\"{sku}-US\"",
        "\"a\\\"b\"",
        "\"open",
        "{",
        "}",
        "(",
        ")",
        ",",
        "=",
        "10",
        "60%",
        "12.5%",
        "-3",
        "2.5",
        "1.234%",
        "99999999999999999999999",
        "# c",
        "\n",
        "\n",
        "\n",
        "\r\n",
        "\t",
        "é",
        "\u{feff}",
    ];
    allot::syntax::KEYWORDS
        .iter()
        .chain(OTHERS)
        .copied()
        .collect()
}

fn token_soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(tokens()), 0..60).prop_map(|v| v.join(" "))
}

/// The sketch with a few random edits (delete, insert, replace) at random places.
fn mutated_sketch() -> impl Strategy<Value = String> {
    let sketch = fixture("tests/fixtures/ok/sketch-acme-na.allot");
    proptest::collection::vec(
        (
            any::<prop::sample::Index>(),
            0u8..3,
            proptest::sample::select(tokens()),
        ),
        1..4,
    )
    .prop_map(move |edits| {
        let mut s = sketch.clone();
        for (at, op, tok) in edits {
            let mut i = at.index(s.len() + 1);
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            let mut j = (i + 1).min(s.len());
            while !s.is_char_boundary(j) {
                j += 1;
            }
            match op {
                0 => s.replace_range(i..j, ""),
                1 => s.insert_str(i, tok),
                _ => s.replace_range(i..j, tok),
            }
        }
        s
    })
}

/// Whatever the input: no panic; diagnostics have a primary label inside the text (or at its
/// end) and help; what parses formats, idempotently, keeping every comment.
fn check_any_input(src: &str) {
    match parse(src) {
        Err(diags) => {
            assert!(!diags.is_empty());
            for d in &diags {
                let s = d.primary_span();
                assert!(s.start <= s.end && s.end <= src.len(), "{d:?}");
                assert!(d.help.is_some(), "{d:?}");
                assert!(d.labels.iter().any(|l| l.primary), "{d:?}");
            }
            assert!(format(src).is_err());
        }
        Ok(_) => assert_formats_well("generated", src),
    }
}

const ITEM_LINES: &[&str] = &[
    "policy \"p\"",
    "seller \"A1\"",
    "marketplaces US,CA ,  MX",
    "marketplaces US,\n  CA,   # the rest\n MX",
    "marketplace XX id \"A1\" region EU",
    "location newark supply_source \"s\"",
    "location a",
    "location austin_2   supply_source \"t\"",
    "guarantee no_oversell",
    "inventory negative_as_zero",
    "inventory ignore_unknown_locations ,negative_as_zero",
    "kit \"GIFT-1\" contains \"MUG-1\" 2,   # two mugs\n  \"CANDLE-1\" 1",
    "on_missing zero",
    "on_fba error",
];
const RULE_LINES: &[&str] = &[
    "match any",
    "match sku \"A-*\", \"B\"",
    "match not tag \"x\" and brand = \"a\",\"b\"",
    "match not (tag \"x\" and (any and not any))",
    "match ((any))",
    "stock from newark, a",
    "buffer 10%",
    "buffer 2",
    "share 12.05%",
    "round nearest",
    "threshold 4",
    "cap 50%",
    "cap column \"max_qty\"",
    "buffer column \"safety\"",
    "threshold column \"min_qty\"",
    "quantity 0",
    "quantity 10 once",
    "publish US",
    "publish US as \"{sku}-US\" share 60% by location { newark 60%, a 40% }, CA by location",
    "publish UK as \"{sku}_UK\" from newark and a, DE as \"{sku}_DE\" ratio 2 from a",
    "publish US ratio 1, CA ratio 3 share 10%",
    "publish US, US as \"{sku}-6PK\" pack 6 share 50% from a",
    "publish UK as \"{column:sku_uk}\" share 60%,DE  as \"{column:sku_de}-{marketplace}\"",
    "handling_time 2",
    "handling_time 31",
    "restock_date \"2027-01-15\"",
    "publish US handling_time 3 restock_date \"2027-02-01\" by location, CA as \"{sku}-CA\" restock_date \"x\" handling_time 0",
    "default_channel 0",
    "on_missing error",
    "on_fba skip",
    "skip",
    "publish US as \"{sku}-US\",   # continued\n    CA as \"{sku}-CA\" by location { newark 50%,\n a 50% }",
    "match sku \"A\",\n\t\"B\" and tag \"t\",\n \"u\"",
];
const TEST_LINES: &[&str] = &[
    "stock \"A\" newark 8, a 9 reserved 1",
    "stock \"B\" tags \"x\", \"y\" brand = \"z\"",
    "stock \"C\" sku_uk = \"OLD-1\"   a 2",
    "expect \"A-US\" on US = 3",
    "expect \"A\" on US at DEFAULT = 0",
    "expect \"A\" on CA unpublished",
    "stock \"C\" tags \"x\",\n  \"y\" newark 1,\n    a 2 reserved 1",
];

/// Decoration around a line: blank lines and comments before, indentation, a trailing comment.
fn decorate(line: &str, (blanks, own, indent, trailing): (u8, bool, u8, bool)) -> String {
    let mut out = String::new();
    for _ in 0..blanks {
        out.push('\n');
    }
    if own {
        out.push_str(&" ".repeat(usize::from(indent)));
        out.push_str("#own comment\n");
    }
    out.push_str(["", " ", "  ", "\t"][usize::from(indent % 4)]);
    out.push_str(line);
    if trailing {
        out.push_str("   #  trailing ");
    }
    out.push('\n');
    out
}

fn decoration() -> impl Strategy<Value = (u8, bool, u8, bool)> {
    (0u8..3, any::<bool>(), 0u8..4, any::<bool>())
}

/// Valid policies in arbitrary layouts: what the formatter must always handle.
fn valid_policy() -> impl Strategy<Value = String> {
    let simple =
        (proptest::sample::select(ITEM_LINES), decoration()).prop_map(|(l, d)| decorate(l, d));
    let block = |head: &'static str, lines: &'static [&'static str]| {
        (
            decoration(),
            proptest::collection::vec((proptest::sample::select(lines), decoration()), 0..6),
            decoration(),
        )
            .prop_map(move |(d, stmts, close)| {
                let mut s = decorate(head, d);
                for (l, d) in stmts {
                    s.push_str(&decorate(l, d));
                }
                s.push_str(&decorate("}", close));
                s
            })
    };
    let item = prop_oneof![
        3 => simple,
        2 => block("rule \"r\" {", RULE_LINES),
        1 => block("test \"t\" {", TEST_LINES),
    ];
    proptest::collection::vec(item, 0..8).prop_map(|v| v.concat())
}

proptest! {

    #[test]
    fn valid_policies_in_any_layout_format_well(src in valid_policy()) {
        prop_assert!(parse(&src).is_ok(), "{}", src);
        check_any_input(&src);
    }
}

proptest! {

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,200}") {
        check_any_input(&src);
    }

    #[test]
    fn token_soup_never_panics(src in token_soup()) {
        check_any_input(&src);
    }

    #[test]
    fn mutated_sketch_never_panics(src in mutated_sketch()) {
        check_any_input(&src);
    }
}

#[test]
fn huge_and_deep_inputs_end_in_a_diagnostic() {
    let too_big = "#".repeat(allot::syntax::MAX_SOURCE_BYTES + 1);
    assert_eq!(
        parse(&too_big).unwrap_err()[0].code,
        "allot::input-too-large"
    );
    let deep = format!("rule \"r\" {{\n  match {}any\n}}\n", "not ".repeat(200_000));
    assert_eq!(parse(&deep).unwrap_err()[0].code, "allot::input-too-large");
    let parens = format!("rule \"r\" {{\n  match {}\n}}\n", "(".repeat(500_000));
    assert_eq!(
        parse(&parens).unwrap_err()[0].code,
        "allot::input-too-large"
    );
    let long = format!("marketplaces {}US\n", "US, ".repeat(20_000));
    assert_eq!(parse(&long).unwrap_err()[0].code, "allot::input-too-large");
}

// ------------------------------------------------------------------ `allot fmt`

mod cli {
    use super::fixture;
    use assert_cmd::Command;
    use predicates::prelude::*;
    use std::fs;

    fn allot() -> Command {
        let mut c = Command::cargo_bin("allot").expect("the allot binary is built for tests");
        c.env_remove("NO_COLOR");
        c
    }

    #[test]
    fn a_folder_without_policies_is_an_error_not_all_formatted() {
        let dir = tempfile::tempdir().unwrap();
        allot()
            .args(["fmt", "--check"])
            .arg(dir.path())
            .assert()
            .code(2)
            .stderr(predicate::str::contains("no *.allot files under"));
    }

    #[test]
    fn check_lists_files_that_would_change_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let sketch = fixture("tests/fixtures/ok/sketch-acme-na.allot");
        let eu = fixture("tests/fixtures/err/eu-trap.allot");
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("sub/acme.allot"), &sketch).unwrap();
        fs::write(dir.path().join("eu.allot"), &eu).unwrap();
        fs::write(dir.path().join("notes.txt"), "not a policy {").unwrap();

        allot()
            .args(["fmt", "--check"])
            .arg(dir.path())
            .assert()
            .code(1)
            .stdout(
                predicate::str::contains("acme.allot")
                    .and(predicate::str::contains("eu.allot").not()),
            );
        assert_eq!(
            fs::read_to_string(dir.path().join("sub/acme.allot")).unwrap(),
            sketch
        );

        allot()
            .arg("fmt")
            .arg(dir.path())
            .assert()
            .code(0)
            .stdout("");
        let formatted = fs::read_to_string(dir.path().join("sub/acme.allot")).unwrap();
        assert_ne!(formatted, sketch);
        assert_eq!(formatted, allot::fmt::format(&sketch).unwrap());
        // No temporary files left behind.
        assert_eq!(fs::read_dir(dir.path().join("sub")).unwrap().count(), 1);

        allot()
            .args(["fmt", "--check"])
            .arg(dir.path())
            .assert()
            .code(0)
            .stdout("");
    }

    #[test]
    fn a_file_that_does_not_parse_prints_its_diagnostics_and_exits_1() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.allot");
        let text = "policy \"p\"\nrule \"r\" {\n  cpa 10\n}\n";
        fs::write(&bad, text).unwrap();
        allot().arg("fmt").arg(&bad).assert().code(1).stderr(
            predicate::str::contains("allot::unknown-keyword")
                .and(predicate::str::contains("did you mean `cap`?"))
                .and(predicate::str::contains("bad.allot:3:3"))
                // Not a terminal: no colour codes.
                .and(predicate::str::contains("\u{1b}[").not()),
        );
        assert_eq!(fs::read_to_string(&bad).unwrap(), text);
    }

    #[test]
    fn a_missing_path_exits_2() {
        allot()
            .args(["fmt", "/nonexistent/policy.allot"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("cannot read"));
    }
}

#[test]
fn one_line_and_empty_blocks() {
    let src = "rule \"a\" { match any }   # one line\nrule \"b\" {\n}\ntest \"t\" {}\n";
    let ast = ok(src);
    assert_eq!(ast.items.len(), 3);
    let out = format(src).unwrap();
    assert_eq!(
        out,
        "rule \"a\" {\n  match any\n}                                       # one line\n\nrule \"b\" {\n}\n\ntest \"t\" {\n}\n"
    );
}

#[test]
fn several_errors_are_reported_per_block_and_per_line() {
    let src = "policy \"p\"\nrule \"r\" {\n  cpa 10\n  cap\n  publish US sahre 60%\n}\nrul \"x\" {\n  cap 3\n}\nmarketplaces US CA\ncap 3\n";
    let diags = parse(src).unwrap_err();
    let index = LineIndex::new(src);
    let got: Vec<(usize, &str)> = diags
        .iter()
        .map(|d| (index.line_col(src, d.primary_span().start).0, d.code))
        .collect();
    assert_eq!(
        got,
        [
            (3, "allot::unknown-keyword"),
            (4, "allot::syntax"),
            (5, "allot::unknown-keyword"),
            (7, "allot::unknown-keyword"),
            (10, "allot::syntax"),
            (11, "allot::unknown-keyword"),
        ]
    );
    assert_eq!(diags[2].help.as_deref(), Some("did you mean `share`?"));
    assert_eq!(diags[3].help.as_deref(), Some("did you mean `rule`?"));
}

#[test]
fn targeted_help_for_likely_mistakes() {
    let first = |src: &str| parse(src).unwrap_err().remove(0);
    let d = first("rule \"r\" {\n  cap -3\n}\n");
    assert_eq!(d.code, "allot::bad-number");
    assert!(d.message.contains("never negative"), "{d:?}");
    let d = first("rule \"r\" {\n  cap 2.5\n}\n");
    assert!(d.message.contains("whole"), "{d:?}");
    let d = first("rule \"r\" {\n  share 12.345%\n}\n");
    assert!(d.message.contains("two decimals"), "{d:?}");
    let d = first("rule \"r\" {\n  cap 18446744073709551616\n}\n");
    assert!(d.message.contains("too large"), "{d:?}");
    let d = first("policy acme\n");
    assert_eq!(
        d.help.as_deref(),
        Some("strings are written in double quotes: `\"acme\"`")
    );
    let d = first("rule \"r\" {\n  match skus \"A\"\n  skip\n}\n");
    assert_eq!(
        (d.code, d.help.as_deref()),
        ("allot::unknown-keyword", Some("did you mean `sku`?"))
    );
    let d = first("}\n");
    assert_eq!(d.message, "this `}` closes no block");
    let d = first("cap 3\n");
    assert!(d.message.contains("not a top-level item"), "{d:?}");
    let d = first("rule \"r\" {\n  match any\n  skip\n");
    assert_eq!(d.code, "allot::unclosed-block");
    // Points at the `{`, and at the end of the file.
    assert_eq!(d.primary_span().start, 9);
    assert!(d.labels.iter().any(|l| !l.primary && l.span.start == 30));
    let d = first("policy \"p\nseller \"s\"\n");
    assert_eq!(
        (d.code, d.primary_span().start),
        ("allot::unclosed-string", 7)
    );
    let d = first("policy \u{201c}acme\u{201d}\n");
    assert!(
        d.help
            .as_deref()
            .is_some_and(|h| h.contains("typographic quote")),
        "{d:?}"
    );
    let d = first("rule \"r\" {\n  cap\u{a0}10\n}\n");
    assert!(d.message.contains("U+00A0"), "{d:?}");
    let d = first("location a supply \"x\"\n");
    assert_eq!(d.help.as_deref(), Some("did you mean `supply_source`?"));
}

mod cli_stdin {
    use assert_cmd::Command;

    #[test]
    fn dash_formats_standard_input_to_standard_output() {
        Command::cargo_bin("allot")
            .unwrap()
            .args(["fmt", "-"])
            .write_stdin("policy   \"p\"\nrule \"r\" { match any }\n")
            .assert()
            .code(0)
            .stdout("policy \"p\"\n\nrule \"r\" {\n  match any\n}\n");
        Command::cargo_bin("allot")
            .unwrap()
            .args(["fmt", "--check", "-"])
            .write_stdin("policy   \"p\"\n")
            .assert()
            .code(1)
            .stdout("-\n");
    }
}

#[test]
fn lists_go_on_after_a_comma_aligned_under_their_first_entry() {
    let src = "marketplaces UK,   # first\n  DE,\nFR\nrule \"r\" {\n  match any\n  publish UK as \"{sku}_UK\" share 20%,   # uk\n DE as \"{sku}_DE\" share 80%\n}\n";
    let want = "marketplaces UK,                        # first\n             DE,\n             FR\n\nrule \"r\" {\n  match   any\n  publish UK as \"{sku}_UK\" share 20%,   # uk\n          DE as \"{sku}_DE\" share 80%\n}\n";
    let got = format(src).unwrap();
    assert_eq!(got, want, "\n--- got ---\n{got}");
    // A blank line is not a continuation.
    let d = parse("marketplaces UK,\n\n  DE\n").unwrap_err();
    assert_eq!(d[0].code, "allot::syntax");
}

#[test]
fn on_fba_parses_and_formats_at_top_level_and_in_a_rule() {
    let src = "policy \"p\"\non_fba   error   # CI stops on FBA\nrule \"r\" {\n  match any\n    on_fba skip\n  publish US\n}\n";
    let ast = ok(src);
    assert!(matches!(&ast.items[1].kind, ItemKind::OnFba(v) if v.node == "error"));
    let ItemKind::Rule(r) = &ast.items[2].kind else {
        panic!("a rule: {ast:#?}")
    };
    assert!(matches!(&r.stmts[1].kind, StmtKind::OnFba(v) if v.node == "skip"));
    let want = "policy \"p\"\non_fba error                            # CI stops on FBA\n\nrule \"r\" {\n  match   any\n  on_fba  skip\n  publish US\n}\n";
    let got = format(src).unwrap();
    assert_eq!(got, want, "\n--- got ---\n{got}");
    assert_eq!(format(want).unwrap(), want);
    // A misspelling gets the keyword; a missing value gets the two values.
    let d = parse("on_fab skip\n").unwrap_err().remove(0);
    assert_eq!(
        (d.code, d.help.as_deref()),
        ("allot::unknown-keyword", Some("did you mean `on_fba`?"))
    );
    let d = parse("rule \"r\" {\n  on_fba\n}\n").unwrap_err().remove(0);
    assert_eq!(
        d.message,
        "expected `skip` or `error`, found the end of the line"
    );
}

#[test]
fn the_inventory_line_parses_and_formats_keeping_its_comments() {
    let src = "policy \"p\"\ninventory   negative_as_zero ,ignore_unknown_locations   # Shopify\n# a new store\ninventory ignore_unknown_locations,\n   negative_as_zero\n";
    let ast = ok(src);
    let ItemKind::Inventory(v) = &ast.items[1].kind else {
        panic!("an inventory line: {ast:#?}")
    };
    let words: Vec<&str> = v.iter().map(|w| w.node.as_str()).collect();
    assert_eq!(words, ["negative_as_zero", "ignore_unknown_locations"]);
    let want = "policy \"p\"\ninventory negative_as_zero, ignore_unknown_locations   # Shopify\n# a new store\ninventory ignore_unknown_locations,\n          negative_as_zero\n";
    let got = format(src).unwrap();
    assert_eq!(got, want, "\n--- got ---\n{got}");
    assert_eq!(format(want).unwrap(), want);
    // A misspelled keyword is found; a missing option names the two.
    let d = parse("inventroy negative_as_zero\n").unwrap_err().remove(0);
    assert_eq!(
        (d.code, d.help.as_deref()),
        ("allot::unknown-keyword", Some("did you mean `inventory`?"))
    );
    let d = parse("inventory\n").unwrap_err().remove(0);
    assert_eq!(
        d.message,
        "expected `negative_as_zero` or `ignore_unknown_locations`, found the end of the line"
    );
}
