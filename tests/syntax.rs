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
    assert!(matches!(&yoga.stmts[2].kind, StmtKind::Buffer(a) if a.node == Amount::Units(2)));
    assert!(matches!(&yoga.stmts[3].kind, StmtKind::Cap(a) if a.node == Amount::Units(10)));

    let ItemKind::Rule(mugs) = &ast.items[8].kind else {
        panic!("not a rule")
    };
    let StmtKind::Publish(t) = &mugs.stmts[1].kind else {
        panic!("not publish")
    };
    assert_eq!(
        t[0].share.as_ref().map(|a| a.node),
        Some(Amount::Percent(6000))
    );
    assert_eq!(
        t[1].share.as_ref().map(|a| a.node),
        Some(Amount::Percent(4000))
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
        matches!(&shoes.stmts[2].kind, StmtKind::DefaultChannel(a) if a.node == Amount::Units(0))
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
            assert_eq!(entries[1].on_hand.node, Amount::Units(9));
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
            assert_eq!(quantity.as_ref().map(|q| q.node), Some(Amount::Units(10)));
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
