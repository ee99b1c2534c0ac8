//! One seller, many files: the checks that need every policy of a seller at once.
//!
//! Amazon keeps one quantity per seller ID, region and seller SKU. Two files that publish for the
//! same `seller` are therefore one set: if both can write one seller SKU in one region, the last
//! run wins (seed 002: `uk.allot`, `de.allot` and `fr.allot` each writing `SKU123`, and Amazon
//! shows the last quantity everywhere). Each file checks cleanly on its own, so only a check
//! over all of them sees it. The same holds for regions: one seller ID is one region's account.
//!
//! Two targets write one seller SKU when they render it from the same inventory SKU (equal
//! template keys, as inside one file). Their rules are taken to select a common inventory SKU
//! unless that is provably impossible (`disjoint`): a reported conflict may be one the inventory
//! never triggers, which is the safe side. Not looked for: two different inventory SKUs that
//! render one seller SKU through different templates (`{sku}` of "A-DE" and `{sku}-DE` of "A"),
//! nor a column's value that equals another column's or another template's (`{column:x}`: the
//! values are only known when simulated, which refuses a seller SKU written twice).

use std::path::PathBuf;

use crate::diag::Diagnostic;
use crate::marketplaces::Region;
use crate::model::{Action, Policy, Selector, Target};
use crate::render::diagnostics::SourceFile;
use crate::span::{LineIndex, Span};

use super::Checked;
use super::codes::{MIXED_REGIONS, UNIFIED_CONFLICT};
use super::selector::covers;
use super::template::{self, KeyPart};

/// Check policies of several files as sets, one per `seller`. Returns one list of diagnostics
/// per input, in the input's order (each located in that file). Give it only policies that
/// checked without errors; files of different sellers never interact.
///
/// `plan` (and anything else that publishes several files) should call this, or
/// [`check_files`], before building: a conflict here means the files overwrite each other.
pub fn check_set(files: &[(&SourceFile, &Policy)]) -> Vec<Vec<Diagnostic>> {
    let mut out: Vec<Vec<Diagnostic>> = vec![Vec::new(); files.len()];
    let places: Vec<Place> = files.iter().map(|(f, _)| Place::new(f)).collect();
    for (i, (fa, pa)) in files.iter().enumerate() {
        // The other files of this seller (a file given twice is one file).
        let same_seller: Vec<usize> = (0..files.len())
            .filter(|&j| {
                j != i
                    && files[j].1.seller_id.trim() == pa.seller_id.trim()
                    && files[j].0.name != fa.name
            })
            .collect();
        if same_seller.is_empty() {
            continue;
        }
        let region = region_of(pa);
        let (same_region, other_region): (Vec<usize>, Vec<usize>) = same_seller
            .into_iter()
            .partition(|&j| region_of(files[j].1) == region);
        if !other_region.is_empty() {
            out[i].push(mixed_regions(files, &places, i, &other_region));
        }
        for (r, rule) in pa.rules.iter().enumerate() {
            let Action::Publish(p) = &rule.action else {
                continue;
            };
            // Targets of one rule with one key are one shared seller SKU (the single-file check
            // judged them): reported once, at the first.
            let mut done: Vec<(Option<Region>, Vec<KeyPart>)> = Vec::new();
            for t in &p.targets {
                let m = &pa.marketplaces[t.marketplace];
                let key = (Some(m.region), template::key(&t.sku, &m.code));
                if done.contains(&key) {
                    continue;
                }
                let group: Vec<&Target> = p
                    .targets
                    .iter()
                    .filter(|x| {
                        let mx = &pa.marketplaces[x.marketplace];
                        (Some(mx.region), template::key(&x.sku, &mx.code)) == key
                    })
                    .collect();
                done.push(key);
                let writers = other_writers(files, i, &same_region, &rule.selector, pa, t);
                if !writers.is_empty() {
                    out[i].push(conflict(files, &places, i, r, &group, &writers));
                }
            }
        }
    }
    for d in &mut out {
        d.sort_by_key(|d| d.primary_span().start);
    }
    out
}

/// Read and check each file, then check them as sets: the entry point for commands that take
/// several policy files (`allot check`, `allot test`, and `plan` when it publishes several).
/// Each file's `Checked` gets the set's diagnostics appended, and loses its policy if they hold
/// an error (so `policy` is still Some iff the file has no error). Err for I/O only: the first
/// file that cannot be read (the message names it).
pub fn check_files(paths: &[PathBuf]) -> std::io::Result<Vec<(SourceFile, Checked)>> {
    let mut loaded = Vec::new();
    for p in paths {
        loaded.push(super::load(p)?);
    }
    let extra = check_loaded(&loaded);
    Ok(loaded
        .into_iter()
        .zip(extra)
        .map(|((f, mut c), e)| {
            if e.iter().any(Diagnostic::is_error) {
                c.policy = None;
            }
            c.diagnostics.extend(e);
            (f, c)
        })
        .collect())
}

/// The set check over files already checked one by one: per input, in order, the set's
/// diagnostics (none for a file that has errors of its own: it is not part of any set).
pub fn check_loaded(files: &[(SourceFile, Checked)]) -> Vec<Vec<Diagnostic>> {
    let clean: Vec<(usize, (&SourceFile, &Policy))> = files
        .iter()
        .enumerate()
        .filter_map(|(i, (f, c))| c.policy.as_ref().map(|p| (i, (f, p))))
        .collect();
    let pairs: Vec<(&SourceFile, &Policy)> = clean.iter().map(|(_, x)| *x).collect();
    let mut out = vec![Vec::new(); files.len()];
    for ((i, _), d) in clean.iter().zip(check_set(&pairs)) {
        out[*i] = d;
    }
    out
}

/// Where a file's lines are, for "de.allot:9" in another file's message.
struct Place {
    index: LineIndex,
}

impl Place {
    fn new(f: &SourceFile) -> Self {
        Place {
            index: LineIndex::new(&f.text),
        }
    }

    fn line(&self, f: &SourceFile, span: Span) -> usize {
        self.index.line_col(&f.text, span.start).0
    }
}

fn region_of(p: &Policy) -> Option<Region> {
    p.marketplaces.first().map(|m| m.region)
}

/// A target of another file that can write the same seller SKU as `t`.
struct Writer {
    file: usize,
    target_span: Span,
    code: String,
    same_marketplace: bool,
}

fn other_writers(
    files: &[(&SourceFile, &Policy)],
    i: usize,
    same_region: &[usize],
    selector: &Selector,
    pa: &Policy,
    t: &Target,
) -> Vec<Writer> {
    let ma = &pa.marketplaces[t.marketplace];
    let key = template::key(&t.sku, &ma.code);
    let mut out = Vec::new();
    for &j in same_region {
        debug_assert_ne!(i, j);
        let pb = files[j].1;
        for rule in &pb.rules {
            let Action::Publish(p) = &rule.action else {
                continue;
            };
            if disjoint(selector, &rule.selector) {
                continue;
            }
            for tb in &p.targets {
                let mb = &pb.marketplaces[tb.marketplace];
                if mb.region == ma.region && template::key(&tb.sku, &mb.code) == key {
                    out.push(Writer {
                        file: j,
                        target_span: tb.span,
                        code: mb.code.clone(),
                        same_marketplace: mb.id == ma.id,
                    });
                }
            }
        }
    }
    out
}

/// A key as a seller SKU pattern: `{sku}_UK`.
fn key_text(key: &[KeyPart]) -> String {
    key.iter()
        .map(|k| match k {
            KeyPart::Lit(s) => s.clone(),
            KeyPart::Sku => "{sku}".to_string(),
            KeyPart::Column(c) => format!("{{column:{c}}}"),
        })
        .collect()
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// One diagnostic for the targets `group` (one seller SKU of rule `r` in file `i`) that other
/// files' `writers` also write.
fn conflict(
    files: &[(&SourceFile, &Policy)],
    places: &[Place],
    i: usize,
    r: usize,
    group: &[&Target],
    writers: &[Writer],
) -> Diagnostic {
    let pa = files[i].1;
    let t = group[0];
    let code = &pa.marketplaces[t.marketplace].code;
    let codes: Vec<String> = group
        .iter()
        .map(|x| pa.marketplaces[x.marketplace].code.clone())
        .collect();
    let seller_sku = key_text(&template::key(&t.sku, code));
    let others: Vec<String> = writers
        .iter()
        .map(|w| {
            let f = files[w.file].0;
            format!(
                "{}:{} ({})",
                f.name,
                places[w.file].line(f, w.target_span),
                w.code
            )
        })
        .collect();
    let mut other_files: Vec<String> = Vec::new();
    for w in writers {
        let name = &files[w.file].0.name;
        if !other_files.contains(name) {
            other_files.push(name.clone());
        }
    }
    let seller_lines: Vec<String> = writers
        .iter()
        .map(|w| w.file)
        .fold(Vec::new(), |mut acc: Vec<usize>, f| {
            if !acc.contains(&f) {
                acc.push(f);
            }
            acc
        })
        .into_iter()
        .map(|j| {
            let (f, p) = files[j];
            format!("{}:{}", f.name, places[j].line(f, p.seller_span))
        })
        .collect();
    let mut d = Diagnostic::error(
        UNIFIED_CONFLICT,
        format!(
            "seller SKU \"{seller_sku}\" on {} is also written by {} for the same seller \"{}\": Amazon keeps one quantity per seller SKU in a region and the last write wins, so these files overwrite each other",
            join_and(&codes),
            join_and(&others),
            pa.seller_id.trim()
        ),
    )
    .at(t.span, format!("also written by {}", join_and(&other_files)))
    .also(
        pa.seller_span,
        format!("the same seller as {}", join_and(&seller_lines)),
    );
    for x in &group[1..] {
        d = d.also(x.span, "the same seller SKU");
    }
    let help = if writers.iter().any(|w| w.same_marketplace) {
        format!(
            "publish each seller SKU from one file: narrow the `match` of rule \"{}\" or of the rule in {} so they select different inventory SKUs, or publish {code} from one file only",
            pa.rules[r].name,
            join_and(&other_files)
        )
    } else {
        let mut theirs: Vec<String> = Vec::new();
        for w in writers {
            let s = format!(
                "`{} as \"{}\"` in {}",
                w.code,
                template::suggest_own(&t.sku, &w.code),
                files[w.file].0.name
            );
            if !theirs.contains(&s) {
                theirs.push(s);
            }
        }
        let ours: Vec<String> = codes
            .iter()
            .map(|c| format!("`{c} as \"{}\"`", template::suggest_own(&t.sku, c)))
            .collect();
        format!(
            "give each marketplace its own seller SKU: {} here, {}",
            join_and(&ours),
            join_and(&theirs)
        )
    };
    d.help(help)
}

fn mixed_regions(
    files: &[(&SourceFile, &Policy)],
    places: &[Place],
    i: usize,
    others: &[usize],
) -> Diagnostic {
    let (_, pa) = files[i];
    let here = region_of(pa).map_or("?", Region::as_str);
    let named: Vec<String> = others
        .iter()
        .map(|&j| {
            let (f, p) = files[j];
            let codes: Vec<&str> = p.marketplaces.iter().map(|m| m.code.as_str()).collect();
            format!(
                "{} in {}:{} ({})",
                region_of(p).map_or("?", Region::as_str),
                f.name,
                places[j].line(f, p.marketplaces_span),
                codes.join(", ")
            )
        })
        .collect();
    let seller_lines: Vec<String> = others
        .iter()
        .map(|&j| {
            let (f, p) = files[j];
            format!("{}:{}", f.name, places[j].line(f, p.seller_span))
        })
        .collect();
    Diagnostic::error(
        MIXED_REGIONS,
        format!(
            "seller \"{}\" publishes to {here} here and to {}: a seller ID belongs to one region's unified account",
            pa.seller_id.trim(),
            join_and(&named)
        ),
    )
    .at(pa.marketplaces_span, format!("{here} here"))
    .also(
        pa.seller_span,
        format!("the same seller as {}", join_and(&seller_lines)),
    )
    .help("one policy file per region, each with its own `seller` (the Merchant Token of that region's account): check which of these files has the wrong seller ID")
}

/// True when no inventory SKU can be selected by both `a` and `b`. Conservative: false unless
/// it is certain (tags can always be shared; an attribute has one value per SKU).
pub fn disjoint(a: &Selector, b: &Selector) -> bool {
    match (a, b) {
        (Selector::Any, _) | (_, Selector::Any) => false,
        (Selector::All(parts), other) | (other, Selector::All(parts)) => {
            parts.iter().any(|p| disjoint(p, other))
        }
        (Selector::Not(inner), other) | (other, Selector::Not(inner)) => covers(inner, other),
        (Selector::Sku(ga), Selector::Sku(gb)) => {
            ga.iter().all(|x| gb.iter().all(|y| globs_disjoint(x, y)))
        }
        (
            Selector::Attr {
                name: na,
                values: va,
            },
            Selector::Attr {
                name: nb,
                values: vb,
            },
        ) => na == nb && !va.iter().any(|v| vb.contains(v)),
        _ => false,
    }
}

/// True when no string matches both globs (`*` any run, `?` one character). Exact: a search over
/// pairs of positions in the two patterns for a string both can read to their ends.
pub fn globs_disjoint(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (la, lb) = (a.len(), b.len());
    let mut seen = vec![false; (la + 1) * (lb + 1)];
    let mut todo = vec![(0usize, 0usize)];
    while let Some((i, j)) = todo.pop() {
        let cell = i * (lb + 1) + j;
        if seen[cell] {
            continue;
        }
        seen[cell] = true;
        if i == la && j == lb {
            return false;
        }
        // A `*` may match nothing.
        if i < la && a[i] == '*' {
            todo.push((i + 1, j));
        }
        if j < lb && b[j] == '*' {
            todo.push((i, j + 1));
        }
        // Both read one character: a literal needs the same literal or a wildcard.
        if i < la && j < lb {
            let (x, y) = (a[i], b[j]);
            let wild = |c: char| c == '*' || c == '?';
            if wild(x) || wild(y) || x == y {
                let ni = if x == '*' { i } else { i + 1 };
                let nj = if y == '*' { j } else { j + 1 };
                todo.push((ni, nj));
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory_skus(v: &[&str]) -> Selector {
        Selector::Sku(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn glob_disjointness() {
        for (a, b) in [
            ("UK-*", "DE-*"),
            ("*-UK", "*-DE"),
            ("X", "Y"),
            ("?", ""),
            ("A*B", "A*C"),
            ("MUG-?", "MUG-10"),
            ("CLR-1", "CLR-10"),
        ] {
            assert!(globs_disjoint(a, b), "{a} / {b}");
            assert!(globs_disjoint(b, a), "{b} / {a}");
        }
        for (a, b) in [
            ("A*", "*B"),
            ("A?C", "AB*"),
            ("MUG-*", "MUG-1"),
            ("*", ""),
            ("*A*", "*B*"),
            ("??", "*"),
            ("YOGA-*", "YOGA-*"),
            ("a*b*c", "*c"),
        ] {
            assert!(!globs_disjoint(a, b), "{a} / {b}");
            assert!(!globs_disjoint(b, a), "{b} / {a}");
        }
    }

    #[test]
    fn selector_disjointness_is_conservative() {
        assert!(disjoint(
            &inventory_skus(&["UK-*", "GB-*"]),
            &inventory_skus(&["DE-*"])
        ));
        assert!(!disjoint(
            &inventory_skus(&["UK-*", "DE-1"]),
            &inventory_skus(&["DE-*"])
        ));
        assert!(!disjoint(&Selector::Any, &inventory_skus(&["DE-*"])));
        let tag = Selector::Tag(vec!["x".into()]);
        assert!(!disjoint(&tag, &Selector::Tag(vec!["y".into()])));
        assert!(disjoint(
            &Selector::All(vec![tag.clone(), inventory_skus(&["A-*"])]),
            &inventory_skus(&["B-*"])
        ));
        assert!(disjoint(
            &Selector::Not(Box::new(inventory_skus(&["A-*"]))),
            &inventory_skus(&["A-1"])
        ));
        assert!(!disjoint(
            &Selector::Not(Box::new(inventory_skus(&["A-1"]))),
            &inventory_skus(&["A-*"])
        ));
        let attr = |v: &str| Selector::Attr {
            name: "brand".into(),
            values: vec![v.into()],
        };
        assert!(disjoint(&attr("acme"), &attr("zed")));
        assert!(!disjoint(&attr("acme"), &attr("acme")));
    }

    fn policy_file(name: &str, text: &str) -> (SourceFile, Policy) {
        let checked = super::super::check_source(text);
        let policy = checked
            .policy
            .unwrap_or_else(|| panic!("{name}: {:#?}", checked.diagnostics));
        (
            SourceFile {
                name: name.into(),
                text: text.into(),
            },
            policy,
        )
    }

    fn eu(code: &str, publish: &str, sel: &str) -> String {
        format!(
            "policy \"{code}\"\nseller \"A2EXAMPLE0SELLER\"\nmarketplaces {code}\n\nrule \"all\" {{\n  match   {sel}\n  publish {publish}\n}}\n"
        )
    }

    fn run(files: &[(SourceFile, Policy)]) -> Vec<Vec<Diagnostic>> {
        let pairs: Vec<(&SourceFile, &Policy)> = files.iter().map(|(f, p)| (f, p)).collect();
        check_set(&pairs)
    }

    #[test]
    fn seed_002_split_across_files_is_a_conflict_in_each() {
        let files = [
            policy_file("uk.allot", &eu("UK", "UK", "any")),
            policy_file("de.allot", &eu("DE", "DE", "any")),
            policy_file("fr.allot", &eu("FR", "FR", "any")),
        ];
        let out = run(&files);
        for (i, d) in out.iter().enumerate() {
            assert_eq!(d.len(), 1, "{i}: {d:#?}");
            assert_eq!(d[0].code, UNIFIED_CONFLICT);
            assert!(d[0].is_error());
        }
        let uk = &out[0][0];
        assert!(
            uk.message
                .contains("also written by de.allot:7 (DE) and fr.allot:7 (FR)"),
            "{}",
            uk.message
        );
        assert!(uk.message.contains("last write wins"), "{}", uk.message);
        let text = &files[0].0.text;
        let at = uk.primary_span();
        assert_eq!(&text[at.start..at.end], "UK");
        assert_eq!(
            uk.help.as_deref(),
            Some(
                "give each marketplace its own seller SKU: `UK as \"{sku}_UK\"` here, `DE as \"{sku}_DE\"` in de.allot and `FR as \"{sku}_FR\"` in fr.allot"
            )
        );
        assert!(
            out[1][0]
                .message
                .contains("uk.allot:7 (UK) and fr.allot:7 (FR)")
        );
    }

    #[test]
    fn own_seller_skus_disjoint_selectors_and_other_sellers_are_fine() {
        let fixed = [
            policy_file("uk.allot", &eu("UK", "UK as \"{sku}_UK\"", "any")),
            policy_file(
                "de.allot",
                &eu("DE", "DE as \"{sku}-{marketplace}\"", "any"),
            ),
        ];
        assert!(run(&fixed).iter().all(Vec::is_empty));
        let split = [
            policy_file("uk.allot", &eu("UK", "UK", "sku \"UK-*\", \"GB-*\"")),
            policy_file("de.allot", &eu("DE", "DE", "sku \"DE-*\"")),
        ];
        assert!(run(&split).iter().all(Vec::is_empty));
        let other_seller = eu("DE", "DE", "any").replace("A2EXAMPLE0SELLER", "A3OTHER0SELLER");
        let two = [
            policy_file("uk.allot", &eu("UK", "UK", "any")),
            policy_file("de.allot", &other_seller),
        ];
        assert!(run(&two).iter().all(Vec::is_empty));
        // One file given twice is one file.
        let same = [
            policy_file("uk.allot", &eu("UK", "UK", "any")),
            policy_file("uk.allot", &eu("UK", "UK", "any")),
        ];
        assert!(run(&same).iter().all(Vec::is_empty));
    }

    #[test]
    fn one_column_in_two_files_conflicts_different_columns_do_not() {
        // The same column in one region: the same seller SKU for every inventory SKU.
        let same = [
            policy_file(
                "uk.allot",
                &eu("UK", "UK as \"{column:amazon_sku}\"", "any"),
            ),
            policy_file(
                "de.allot",
                &eu("DE", "DE as \"{column:amazon_sku}\"", "any"),
            ),
        ];
        let out = run(&same);
        assert_eq!(out[0].len(), 1, "{:#?}", out[0]);
        assert!(
            out[0][0].message.contains("\"{column:amazon_sku}\""),
            "{}",
            out[0][0].message
        );
        // Values of different columns (or a column and `{sku}`) may meet or not: left to the
        // simulation, which refuses one seller SKU written twice.
        let different = [
            policy_file("uk.allot", &eu("UK", "UK as \"{column:sku_uk}\"", "any")),
            policy_file("de.allot", &eu("DE", "DE as \"{column:sku_de}\"", "any")),
            policy_file("fr.allot", &eu("FR", "FR", "any")),
        ];
        assert!(run(&different).iter().all(Vec::is_empty));
    }

    #[test]
    fn two_files_writing_one_marketplace_conflict() {
        let files = [
            policy_file("a.allot", &eu("UK", "UK", "sku \"MUG-*\"")),
            policy_file("b.allot", &eu("UK", "UK", "sku \"*-1\"")),
        ];
        let out = run(&files);
        assert_eq!(out[0].len(), 1);
        assert_eq!(out[1].len(), 1);
        let help = out[0][0].help.as_deref().unwrap();
        assert!(
            help.starts_with("publish each seller SKU from one file"),
            "{help}"
        );
    }

    #[test]
    fn check_files_merges_the_set_into_each_file() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sets");
        let paths: Vec<PathBuf> = ["uk", "de", "fr"]
            .iter()
            .map(|f| dir.join(format!("seed002-trap/{f}.allot")))
            .collect();
        let out = check_files(&paths).expect("readable");
        for (_, c) in &out {
            assert!(c.policy.is_none());
            assert_eq!(c.errors(), 1);
            assert_eq!(c.diagnostics[0].code, UNIFIED_CONFLICT);
        }
        let fixed: Vec<PathBuf> = ["uk", "de", "fr"]
            .iter()
            .map(|f| dir.join(format!("seed002-fixed/{f}.allot")))
            .collect();
        let out = check_files(&fixed).expect("readable");
        assert!(
            out.iter()
                .all(|(_, c)| c.policy.is_some() && c.diagnostics.is_empty())
        );
        assert!(check_files(&[dir.join("nope.allot")]).is_err());
    }

    #[test]
    fn one_seller_in_two_regions_is_mixed_regions_in_each() {
        let us = "policy \"us\"\nseller \"A2EXAMPLE0SELLER\"\nmarketplaces US\nrule \"all\" {\n  match any\n  publish US\n}\n";
        let files = [
            policy_file("uk.allot", &eu("UK", "UK", "any")),
            policy_file("us.allot", us),
        ];
        let out = run(&files);
        for d in &out {
            assert_eq!(d.len(), 1, "{d:#?}");
            assert_eq!(d[0].code, MIXED_REGIONS);
        }
        assert!(
            out[0][0]
                .message
                .contains("publishes to EU here and to NA in us.allot:3 (US)"),
            "{}",
            out[0][0].message
        );
    }
}
