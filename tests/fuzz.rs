//! A bounded, seeded fuzz pass over every input allot reads, on stable Rust (no cargo-fuzz):
//! seeds (shipped policies, fixtures, the docs' examples, example inventories and listings, a
//! saved plan) are mutated at byte and token level and fed to the parser, checker, formatter,
//! diagnostic renderers, engine, inventory and listings readers and the saved-plan parser.
//!
//! Promises checked: no panic anywhere; `fmt` is idempotent and keeps the diagnostics' meaning;
//! a reader returns stock or an error naming the file, never a huge echo of the input.
//!
//! Bounds: `ALLOT_FUZZ_SECS` (default 20) seconds in all, shared by the targets, and at most
//! `ALLOT_FUZZ_CASES` (default 200000) cases per target. `ALLOT_FUZZ_SEED` fixes the seed
//! (default: from the clock, printed); a failure prints the seed and case to rerun it with
//! `ALLOT_FUZZ_SEED=S ALLOT_FUZZ_CASE=N cargo test --test fuzz` and writes the input under
//! target/fuzz-failures/.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use allot::render::diagnostics::{SourceFile, github_annotations, human_all, json_records};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Share of the total time budget each target gets (they run in parallel, so the wall time is
/// about the largest share, the CPU time about the total).
fn budget(share: f64) -> Duration {
    let total = std::env::var("ALLOT_FUZZ_SECS")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(20.0);
    Duration::from_secs_f64((total * share).max(0.0))
}

fn seed() -> u64 {
    env_u64("ALLOT_FUZZ_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    })
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn files(dir: &str, exts: &[&str]) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| exts.contains(&e))
    });
    v.sort();
    v
}

/// Fenced blocks of a doc whose first line satisfies `keep`.
fn doc_blocks(doc: &str, keep: impl Fn(&str, &str) -> bool) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(&read(&root().join(doc))).into_owned();
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        let Some(lang) = l.trim_start().strip_prefix("```") else {
            continue;
        };
        let body: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.trim_start().starts_with("```"))
            .collect();
        let body = body.join("\n") + "\n";
        if keep(lang.trim(), &body) {
            out.push(body.into_bytes());
        }
    }
    out
}

/// Words and marks that make mutations reach deep: keywords, punctuation, quantities at and
/// past every limit, invisible characters, line ends.
const DICT: &[&str] = &[
    "policy",
    "seller",
    "marketplaces",
    "location",
    "supply_source",
    "rule",
    "match",
    "any",
    "sku",
    "tag",
    "not",
    "and",
    "publish",
    "as",
    "share",
    "by location",
    "stock from",
    "buffer",
    "cap",
    "threshold",
    "quantity",
    "round up",
    "round nearest",
    "on_missing zero",
    "on_missing error",
    "on_fba error",
    "default_channel 0",
    "handling_time 2",
    "restock_date \"2027-01-15\"",
    "restock_date \"2027-02-30\"",
    "skip",
    "test",
    "expect",
    "on",
    "guarantee no_oversell",
    "inventory negative_as_zero, ignore_unknown_locations",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ";",
    "%",
    "\"",
    "'",
    "#",
    "=",
    ":",
    "-",
    "*",
    "?",
    "{sku}",
    "{marketplace}",
    "US",
    "CA",
    "UK",
    "DE",
    "JP",
    "newark",
    "0",
    "1",
    "100%",
    "0%",
    "100.01%",
    "42949672.95%",
    "2147483647",
    "2147483648",
    "4294967295",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999",
    "-1",
    "1e3",
    "+7",
    "12.0",
    "1,200",
    "\u{200B}",
    "\u{FEFF}",
    "\u{A0}",
    "\u{202E}",
    "\u{0}",
    "é",
    "\t",
    "\r",
    "\n",
    "\r\n",
    "\\",
    "\\u{0}",
    "null",
    "true",
    "DEFAULT",
    "AMAZON_NA",
    "seller_sku",
    "on_hand",
    "reserved",
    "seller-sku",
];

struct Mutator {
    rng: fastrand::Rng,
}

impl Mutator {
    /// Split into tokens: runs of word characters, runs of spaces, anything else alone.
    fn tokens(text: &[u8]) -> Vec<Vec<u8>> {
        let class = |b: u8| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | 0x80.. => 0,
            b' ' | b'\t' => 1,
            _ => 2,
        };
        let mut out: Vec<Vec<u8>> = Vec::new();
        for &b in text {
            match out.last_mut() {
                Some(t) if class(b) != 2 && class(t[0]) == class(b) => t.push(b),
                _ => out.push(vec![b]),
            }
        }
        out
    }

    fn dict(&mut self) -> Vec<u8> {
        DICT[self.rng.usize(..DICT.len())].as_bytes().to_vec()
    }

    fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
        let mut toks = Self::tokens(seed);
        if toks.is_empty() {
            toks.push(b"x".to_vec());
        }
        for _ in 0..self.rng.usize(1..=4) {
            let n = toks.len().max(1);
            let i = self.rng.usize(..n).min(toks.len().saturating_sub(1));
            match self.rng.u8(..14) {
                0 if toks.len() > 1 => {
                    toks.remove(i);
                }
                1 => {
                    let t = toks[i].clone();
                    toks.insert(i, t);
                }
                2 => {
                    let j = self.rng.usize(..toks.len());
                    toks.swap(i, j);
                }
                3 | 4 => {
                    let t = self.dict();
                    toks.insert(i, t);
                }
                5 => toks[i] = self.dict(),
                // A number token becomes a huge or odd one.
                6 => {
                    let big = [
                        "18446744073709551616",
                        "9223372036854775808",
                        "4294967296",
                        "1e3",
                        "+7",
                        "007",
                    ];
                    toks[i] = big[self.rng.usize(..big.len())].as_bytes().to_vec();
                }
                // A very long line: columns past 65,535 once broke the diagnostics.
                7 => {
                    let fill = if self.rng.bool() { b' ' } else { b'x' };
                    toks.insert(i, vec![fill; self.rng.usize(1_000..80_000)]);
                }
                // Deep nesting.
                8 => {
                    let open = [&b"{"[..], b"(", b"[", b"not ", b"- "];
                    let o = open[self.rng.usize(..open.len())];
                    toks.insert(i, o.repeat(self.rng.usize(10..3_000)));
                }
                // A run of tokens duplicated many times.
                9 => {
                    let end = (i + self.rng.usize(1..20)).min(toks.len());
                    let run: Vec<Vec<u8>> = toks[i..end].to_vec();
                    for _ in 0..self.rng.usize(1..50) {
                        toks.splice(i..i, run.iter().cloned());
                    }
                }
                10 => {
                    let mut flat: Vec<u8> = toks.concat();
                    if !flat.is_empty() {
                        let at = self.rng.usize(..flat.len());
                        flat[at] = self.rng.u8(..);
                    }
                    toks = Self::tokens(&flat);
                }
                11 => {
                    let flat = toks.concat();
                    let cut = self.rng.usize(..=flat.len());
                    toks = Self::tokens(&flat[..cut]);
                }
                12 => {
                    let mut flat = b"\xEF\xBB\xBF".to_vec();
                    flat.extend(toks.concat());
                    toks = Self::tokens(&flat);
                }
                _ => {
                    let flat: Vec<u8> = toks.concat();
                    let mut crlf = Vec::with_capacity(flat.len() + 64);
                    for b in flat {
                        if b == b'\n' {
                            crlf.push(b'\r');
                        }
                        crlf.push(b);
                    }
                    toks = Self::tokens(&crlf);
                }
            }
            if toks.is_empty() {
                toks.push(Vec::new());
            }
        }
        toks.concat()
    }
}

/// Run `check` on mutated seeds until the case count or time budget is spent. A panic is
/// reported with the seed and case to rerun it, and the input is saved.
fn fuzz(target: &str, seeds: &[Vec<u8>], share: f64, check: impl Fn(&[u8])) {
    assert!(!seeds.is_empty(), "{target}: no seeds");
    let seed = seed();
    let only = env_u64("ALLOT_FUZZ_CASE");
    let max_cases = env_u64("ALLOT_FUZZ_CASES").unwrap_or(200_000);
    let deadline = Instant::now() + budget(share);
    // Every seed unmutated first: they must pass too.
    for s in seeds {
        check(s);
    }
    let mut cases = 0u64;
    while cases < max_cases && (only.is_some() || Instant::now() < deadline) {
        let case = only.unwrap_or(cases);
        // One generator per case, so any case reruns alone from the seed and its number.
        let mut m = Mutator {
            rng: fastrand::Rng::with_seed(seed ^ case.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        };
        let base = &seeds[m.rng.usize(..seeds.len())];
        let input = m.mutate(base);
        let input = if m.rng.u8(..4) == 0 {
            m.mutate(&input)
        } else {
            input
        };
        if let Err(e) = catch_unwind(AssertUnwindSafe(|| check(&input))) {
            let dir = root().join("target/fuzz-failures");
            let file = dir.join(format!("{target}-{seed}-{case}.bin"));
            let saved = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&file, &input));
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!(
                "fuzz {target} failed: {msg}\n  rerun: ALLOT_FUZZ_SEED={seed} ALLOT_FUZZ_CASE={case} cargo test --test fuzz {target}\n  input: {} ({saved:?})",
                file.display()
            );
        }
        cases += 1;
        if only.is_some() {
            break;
        }
    }
    eprintln!("fuzz {target}: {cases} cases, seed {seed}");
}

fn policy_seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = files("policies", &["allot"])
        .into_iter()
        .chain(files("tests/fixtures/ok", &["allot"]))
        .chain(files("tests/fixtures/err", &["allot"]))
        .chain(files("tests/fixtures/safety", &["allot"]))
        .map(|p| read(&p))
        .collect();
    for doc in ["docs/language.md", "docs/syntax.md", "README.md"] {
        seeds.extend(doc_blocks(doc, |lang, body| {
            matches!(lang, "" | "allot" | "text")
                && (body.contains("rule ") || body.contains("policy "))
        }));
    }
    seeds
}

/// The diagnostics' meaning: what is reported, not where.
fn meaning(d: &[allot::diag::Diagnostic]) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = d
        .iter()
        .map(|d| {
            (
                d.code.to_string(),
                d.severity.as_str().to_string(),
                d.message.clone(),
            )
        })
        .collect();
    v.sort();
    v
}

fn render_all(name: &str, text: &str, diags: &[allot::diag::Diagnostic]) {
    let file = SourceFile {
        name: name.into(),
        text: text.into(),
    };
    let _ = human_all(&file, diags, false);
    let _ = human_all(&file, diags, true);
    let _ = github_annotations(&json_records(&file, diags));
}

#[test]
fn fuzz_policy() {
    let acme = allot::check::check_source(&String::from_utf8_lossy(&read(
        &root().join("policies/acme-na.allot"),
    )));
    let inventory = read(&root().join("examples/inventory.csv"));
    let current = allot::listings::read(&root().join("examples/current.json"), None, None)
        .expect("example current listings")
        .current;
    assert!(acme.policy.is_some());
    fuzz("fuzz_policy", &policy_seeds(), 0.45, |bytes| {
        let src = String::from_utf8_lossy(bytes);
        let checked = allot::check::check_source(&src);
        render_all("p.allot", &src, &checked.diagnostics);
        match allot::fmt::format(&src) {
            Ok(once) => {
                let twice = allot::fmt::format(&once);
                assert_eq!(twice.as_deref(), Ok(once.as_str()), "fmt is not idempotent");
                let after = allot::check::check_source(&once);
                assert_eq!(
                    meaning(&checked.diagnostics),
                    meaning(&after.diagnostics),
                    "fmt changed the diagnostics"
                );
            }
            Err(diags) => render_all("p.allot", &src, &diags),
        }
        // A policy that checks is simulated on the example inventory: the engine's sums.
        if let Some(policy) = &checked.policy
            && let Ok(stock) = allot::inventory::read_from(
                "inv.csv",
                &inventory[..],
                allot::inventory::Format::Csv,
                &policy.locations,
                policy.inventory,
            )
        {
            let _ = allot::sim::run(policy, &stock, Some(&current));
        }
    });
}

#[test]
fn fuzz_inventory() {
    let mut seeds: Vec<Vec<u8>> = [
        "examples/inventory.csv",
        "examples/shopify-inventory.csv",
        "tests/fixtures/safety/inventory.csv",
        "tests/fixtures/safety/case-twins.csv",
        "tests/fixtures/sets/inventory.csv",
    ]
    .iter()
    .map(|p| read(&root().join(p)))
    .collect();
    seeds.extend(doc_blocks("docs/inventory.md", |lang, body| {
        matches!(lang, "json" | "yaml") && body.contains("on_hand") || body.starts_with("sku,")
    }));
    let policy = allot::check::check_source(&String::from_utf8_lossy(&read(
        &root().join("policies/acme-na.allot"),
    )))
    .policy
    .expect("acme-na checks");
    fuzz("fuzz_inventory", &seeds, 0.2, |bytes| {
        use allot::inventory::Format;
        for f in [Format::Csv, Format::Shopify, Format::Json, Format::Yaml] {
            match allot::inventory::read_from("inv", bytes, f, &policy.locations, policy.inventory)
            {
                Ok(stock) => {
                    let _ = allot::sim::run(&policy, &stock, None);
                }
                Err(e) => located(&e.to_string(), "inv"),
            }
        }
    });
}

/// An input error names the file and does not echo the input whole.
fn located(msg: &str, name: &str) {
    // `error[CODE]: NAME…`: the code of the input family, then the file.
    let located = msg
        .strip_prefix("error[allot::inventory::")
        .and_then(|m| m.split_once("]: "))
        .is_some_and(|(_, m)| m.starts_with(name) || m.starts_with(&format!("cannot read {name}")));
    assert!(located, "not located: {msg}");
    // 50 errors of a few clipped quotes each, plus the summary lines.
    assert!(msg.len() < 100_000, "an error of {} bytes", msg.len());
}

#[test]
fn fuzz_listings() {
    let mut seeds: Vec<Vec<u8>> = [
        "examples/current.json",
        "examples/sandbox-listings.json",
        "tests/fixtures/sets/current.csv",
        "tests/fixtures/safety/all-listings.txt",
    ]
    .iter()
    .map(|p| read(&root().join(p)))
    .collect();
    seeds.push(b"- seller_sku: A\n  channel: DEFAULT\n  quantity: 3\n  marketplace: US\n".to_vec());
    seeds.push(br#"{"listings": {"A": {"DEFAULT": 1}}, "listed_in": {"A": ["US"]}, "amazon_fulfilled": {"F": "AMAZON_NA"}}"#.to_vec());
    fuzz("fuzz_listings", &seeds, 0.2, |bytes| {
        use allot::listings::Format;
        for f in [Format::Json, Format::Yaml, Format::Csv, Format::Amazon] {
            for m in [None, Some("US")] {
                if let Err(e) = allot::listings::read_from("cur", bytes, f, m) {
                    located(&e.to_string(), "cur");
                }
            }
        }
        // A report downloaded by `--current live`: its bytes in the charset the download names
        // (or refused), then the same reader.
        for ct in [
            None,
            Some("text/plain;charset=Cp1252"),
            Some("text/plain; charset=x-bogus"),
        ] {
            if let Ok(text) = allot::spapi::reports::decode_text(bytes.to_vec(), ct)
                && let Err(e) =
                    allot::listings::read_from("cur", &text[..], Format::Amazon, Some("US"))
            {
                located(&e.to_string(), "cur");
            }
        }
    });
}

#[test]
fn fuzz_saved_plan() {
    let snap = String::from_utf8_lossy(&read(
        &root().join("tests/snapshots/plan_conformance__example_acme_na_plan.snap"),
    ))
    .into_owned();
    // The snapshot's body, after insta's `---` header.
    let body = snap.splitn(3, "---\n").nth(2).unwrap_or(&snap).to_string();
    let mut seeds = vec![body.into_bytes()];
    seeds.extend(doc_blocks("docs/plan-format.md", |lang, body| {
        lang == "json" && body.contains("format_version")
    }));
    fuzz("fuzz_saved_plan", &seeds, 0.15, |bytes| {
        let _ = allot::plan::parse(&String::from_utf8_lossy(bytes), Path::new("plan.json"));
    });
}
