//! `allot init`: a starter policy written from the seller's own data. The CLI (`cli/init.rs`)
//! reads the files; this module decides the policy's parts (locations, SKU families, seller SKU
//! templates), writes its text, computes its tests' expectations with the simulator, and proves
//! the text is what it claims: formatted, checked and its tests passing, before anyone sees it.

use std::collections::{HashMap, HashSet};

use crate::diag::Diagnostic;
use crate::inventory::Stock;
use crate::marketplaces::Marketplace;
use crate::model::{Current, DEFAULT_CHANNEL, TestStock};

/// SKU families with fewer SKUs than this go to the "everything else" rule.
pub const MIN_FAMILY: usize = 2;
/// At most this many family rules (the largest families); the rest go to "everything else".
pub const MAX_FAMILIES: usize = 20;
/// The seller ID written when none is given: it passes `allot check` (any non-empty ID that is
/// no marketplace ID does), so the file is usable at once, and it says what to put there.
pub const SELLER_PLACEHOLDER: &str = "REPLACE-WITH-YOUR-MERCHANT-ID";
/// The longest affix a seller SKU template may add (`-US`, `_FBM`, `AMZ-`): longer common
/// parts are more likely coincidences than a naming scheme.
const MAX_AFFIX: usize = 12;

/// One declared location: its name in the policy and its name as the inventory writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitLocation {
    pub name: String,
    pub raw: String,
}

/// The name a location of the inventory gets in the policy: as written when it is a valid name,
/// else its matching form (lower case, `_` for other characters; a leading `_` before a digit),
/// which the inventory reader matches back to the raw name. Err: the reason it cannot be named.
pub fn location_name(raw: &str) -> Result<InitLocation, String> {
    if is_name(raw) {
        return Ok(InitLocation {
            name: raw.to_string(),
            raw: raw.to_string(),
        });
    }
    let mut n = crate::inventory::normalised_location(raw);
    // The reader ignores leading punctuation when matching, so `_2nd_street` matches `2nd Street`.
    if n.starts_with(|c: char| c.is_ascii_digit()) {
        n.insert(0, '_');
    }
    if is_name(&n) {
        Ok(InitLocation {
            name: n,
            raw: raw.to_string(),
        })
    } else {
        Err(format!(
            "the location `{}` cannot be written as a policy name: names are ASCII letters, digits and `_`, and the inventory reader matches a location by its letters and digits only, so no ASCII name would match it",
            crate::diag::clip(raw)
        ))
    }
}

/// A policy name: an ASCII letter or `_`, then ASCII letters, digits or `_` (docs/syntax.md).
fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A string literal of the policy language, as the formatter writes it.
fn quote(s: &str) -> String {
    crate::fmt::string(s)
}

/// Everything `generate` needs: the data already read and the user's choices.
pub struct Spec<'a> {
    pub name: String,
    /// `None`: the placeholder is written.
    pub seller: Option<String>,
    /// One region, in the order written.
    pub marketplaces: Vec<Marketplace>,
    pub locations: Vec<InitLocation>,
    /// Read against `locations` (the same order: a `LocationIx` is an index into it).
    pub stock: &'a Stock,
    /// The inventory needed `inventory negative_as_zero` to be read.
    pub negative_as_zero: bool,
    pub current: Option<&'a Current>,
    /// As the user named them, for the header.
    pub inventory_file: String,
    pub current_file: Option<String>,
    /// Where the policy will be written (for the commands in the header), if a file.
    pub out_file: Option<String>,
    pub date: String,
}

/// A SKU family: SKUs whose part before the first `-` or `_` is `prefix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Family {
    pub prefix: String,
    /// The separators seen after the prefix, in the order first seen (`-`, `_`).
    pub separators: Vec<char>,
    /// Its SKUs, in inventory order.
    pub skus: Vec<String>,
}

impl Family {
    pub fn globs(&self) -> Vec<String> {
        self.separators
            .iter()
            .map(|s| format!("{}{s}*", self.prefix))
            .collect()
    }
}

/// The family prefix of a SKU, if it has one that can be written in a glob.
fn family_of(inventory_sku: &str) -> Option<(&str, char)> {
    let at = inventory_sku.find(['-', '_'])?;
    let prefix = &inventory_sku[..at];
    let sep = inventory_sku[at..].chars().next()?;
    // `*` and `?` are glob characters (there is no escape); braces, quotes and spaces would
    // make rule names and globs hard to read. Such SKUs are left to "everything else".
    let writable = !prefix.is_empty()
        && !prefix.chars().any(|c| {
            matches!(c, '*' | '?' | '{' | '}' | '"' | '\\') || c.is_whitespace() || c.is_control()
        });
    writable.then_some((prefix, sep))
}

/// The families of at least [`MIN_FAMILY`] SKUs, the [`MAX_FAMILIES`] largest (ties: first
/// seen), in inventory order.
pub fn families(stock: &Stock) -> Vec<Family> {
    let mut all: Vec<Family> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for item in stock.items() {
        let inventory_sku = item.sku();
        let Some((prefix, sep)) = family_of(inventory_sku) else {
            continue;
        };
        let i = *index.entry(prefix.to_string()).or_insert_with(|| {
            all.push(Family {
                prefix: prefix.to_string(),
                separators: Vec::new(),
                skus: Vec::new(),
            });
            all.len() - 1
        });
        let f = &mut all[i];
        if !f.separators.contains(&sep) {
            f.separators.push(sep);
        }
        f.skus.push(inventory_sku.to_string());
    }
    let mut order: Vec<usize> = (0..all.len())
        .filter(|&i| all[i].skus.len() >= MIN_FAMILY)
        .collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(all[i].skus.len()), i));
    order.truncate(MAX_FAMILIES);
    order.sort_unstable();
    order.into_iter().map(|i| all[i].clone()).collect()
}

/// The seller SKU template found for a set of seller SKUs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    /// `{sku}`, `{sku}-US`, `AMZ-{sku}`.
    pub template: String,
    /// Seller SKUs the template renders from an inventory SKU.
    pub matched: usize,
    pub total: usize,
}

/// The template most seller SKUs follow: the inventory SKU itself, or it with a fixed suffix or
/// prefix. `None` when there are no seller SKUs, or fewer than half follow any one template
/// (then there is no scheme to write down).
pub fn detect_template<'a>(
    seller_skus: impl IntoIterator<Item = &'a str>,
    inventory: &HashSet<&str>,
) -> Option<Detection> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut total = 0;
    let mut seen: Vec<String> = Vec::new();
    for s in seller_skus {
        total += 1;
        seen.clear();
        if inventory.contains(s) {
            seen.push("{sku}".into());
        }
        for (k, _) in s.char_indices().skip(1) {
            let (head, tail) = s.split_at(k);
            if tail.len() <= MAX_AFFIX && inventory.contains(head) && affix_ok(tail) {
                seen.push(format!("{{sku}}{tail}"));
            }
            if head.len() <= MAX_AFFIX && inventory.contains(tail) && affix_ok(head) {
                seen.push(format!("{head}{{sku}}"));
            }
        }
        seen.sort();
        seen.dedup();
        for t in &seen {
            *counts.entry(t.clone()).or_default() += 1;
        }
    }
    // The most followed; ties: the plain SKU, then the shortest, then in text order.
    let (template, matched) = counts.into_iter().min_by(|(a, x), (b, y)| {
        y.cmp(x)
            .then((b == "{sku}").cmp(&(a == "{sku}")))
            .then(a.len().cmp(&b.len()))
            .then(a.cmp(b))
    })?;
    (matched * 2 >= total).then_some(Detection {
        template,
        matched,
        total,
    })
}

/// Fixed text a template may hold: no placeholder braces, quotes or invisible characters.
fn affix_ok(s: &str) -> bool {
    !s.chars()
        .any(|c| matches!(c, '{' | '}' | '"' | '\\') || c.is_whitespace() || c.is_control())
}

/// What the current listings say about one marketplace's seller SKUs.
struct MarketplaceSkus {
    code: String,
    template: String,
    note: String,
}

/// Each marketplace's template and a note saying how it was found.
fn templates(spec: &Spec<'_>) -> (Vec<MarketplaceSkus>, Vec<String>) {
    let codes = spec.marketplaces.iter().map(|m| m.code.clone());
    let Some(current) = spec.current else {
        let first = spec.marketplaces.first().map_or("US", |m| m.code.as_str());
        let out = codes
            .map(|code| MarketplaceSkus {
                code,
                template: "{sku}".into(),
                note: String::new(),
            })
            .collect();
        return (
            out,
            vec![
                "Seller SKUs: no current listings were given (--current), so every offer uses the inventory SKU".into(),
                format!("as its seller SKU; if yours differ (e.g. \"MUG-1-{first}\"), write `publish {first} as \"{{sku}}-{first}\"`."),
            ],
        );
    };
    let inventory: HashSet<&str> = spec.stock.items().map(|i| i.sku()).collect();
    // Every seller SKU the listings know, with where it is listed (empty: not said).
    let mut where_listed: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for s in current
        .listings
        .keys()
        .chain(current.listed_in.keys())
        .chain(current.amazon_fulfilled.keys())
    {
        where_listed.entry(s.as_str()).or_default();
    }
    for (s, ms) in &current.listed_in {
        if let Some(v) = where_listed.get_mut(s.as_str()) {
            v.extend(ms.iter());
        }
    }
    let unplaced: Vec<&str> = where_listed
        .iter()
        .filter(|(_, ms)| ms.is_empty())
        .map(|(s, _)| *s)
        .collect();
    let mut notes = vec![
        "Seller SKUs, as the current listings name them (the inventory SKU, or it with a common suffix or prefix):"
            .to_string(),
    ];
    let mut out = Vec::new();
    for code in codes {
        let here: Vec<&str> = where_listed
            .iter()
            .filter(|(_, ms)| {
                ms.iter().any(|m| {
                    crate::marketplaces::canonical(m) == crate::marketplaces::canonical(&code)
                })
            })
            .map(|(s, _)| *s)
            .collect();
        let (skus, whose) = if here.is_empty() {
            (&unplaced, "listed without a marketplace")
        } else {
            (&here, "listed there")
        };
        let found = detect_template(skus.iter().copied(), &inventory);
        let (template, note) = match found {
            _ if skus.is_empty() => (
                "{sku}".to_string(),
                format!("{code}: no seller SKUs listed there; the inventory SKU is used"),
            ),
            None => (
                "{sku}".to_string(),
                format!(
                    "{code}: no common pattern among {} seller SKUs {whose}; the inventory SKU is used (check it)",
                    skus.len()
                ),
            ),
            Some(d) => {
                let pct = d.matched * 100 / d.total.max(1);
                let what = if d.template == "{sku}" {
                    "equal the inventory SKU".to_string()
                } else {
                    format!("follow \"{}\"", d.template)
                };
                (
                    d.template.clone(),
                    format!(
                        "{code}: {pct}% of the seller SKUs {whose} ({} of {}) {what}",
                        d.matched, d.total
                    ),
                )
            }
        };
        out.push(MarketplaceSkus {
            code,
            template,
            note,
        });
    }
    notes.extend(out.iter().map(|m| format!("  {}", m.note)));
    let fba = current.amazon_fulfilled.len();
    if fba > 0 {
        notes.push(format!(
            "{fba} seller SKU{} fulfilled by Amazon (FBA): allot never writes {}.",
            if fba == 1 { " is" } else { "s are" },
            if fba == 1 { "it" } else { "them" }
        ));
    }
    (out, notes)
}

/// The `publish` line's targets: one shared seller SKU when every marketplace has the same
/// template, else the stock split in equal shares (separate seller SKUs are separate offers:
/// each at 100% of one pool would sell a unit twice, which `allot check` warns about).
fn publish_targets(ts: &[MarketplaceSkus]) -> (String, bool) {
    let mut distinct: Vec<&str> = ts.iter().map(|t| t.template.as_str()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let split = distinct.len() > 1;
    // Hundredths of a percent, rounded down: the shares never add up to more than 100%.
    let share = 10_000 / distinct.len().max(1) as u64;
    let share = if share.is_multiple_of(100) {
        format!("{}%", share / 100)
    } else {
        format!("{}.{:02}%", share / 100, share % 100)
    };
    let parts: Vec<String> = ts
        .iter()
        .map(|t| {
            let mut s = t.code.clone();
            if t.template != "{sku}" {
                s.push_str(&format!(" as {}", quote(&t.template)));
            }
            if split {
                s.push_str(&format!(" share {share}"));
            }
            s
        })
        .collect();
    (parts.join(", "), split)
}

/// Why `generate` wrote nothing.
#[derive(Debug)]
pub enum Failure {
    /// The generated text (or the policy without tests) does not pass: a bug in `init`.
    Invalid {
        text: String,
        diagnostics: Vec<Diagnostic>,
    },
    /// A test block written does not pass, or could not be computed: a bug in `init`.
    Tests { text: String, message: String },
}

/// The generated policy, and the warnings `allot check` gives it (none expected).
#[derive(Debug)]
pub struct Generated {
    pub text: String,
    pub warnings: Vec<Diagnostic>,
}

/// Write the policy, compute its tests and verify the result (formatted, checked, tests
/// passing, formatting it again changes nothing).
pub fn generate(spec: &Spec<'_>) -> Result<Generated, Failure> {
    let families = families(spec.stock);
    let (targets, notes) = templates(spec);
    let (publish, split) = publish_targets(&targets);
    let body = policy_text(spec, &families, &notes, &publish, split);
    // The policy without tests, to compute what the tests expect.
    let formatted = format(&body)?;
    let checked = crate::check::check_source(&formatted);
    let Some(policy) = checked.policy else {
        return Err(Failure::Invalid {
            text: formatted,
            diagnostics: checked.diagnostics,
        });
    };
    let mut text = body;
    for (rule, skus) in test_skus(spec.stock, &families) {
        // A rule none of whose SKUs simulates gets no test: `allot plan` reports why.
        if let Some(block) = skus
            .iter()
            .find_map(|inventory_sku| test_block(spec, &policy, &rule, inventory_sku).ok())
        {
            text.push('\n');
            text.push_str(&block);
        }
    }
    let text = format(&text)?;
    let checked = crate::check::check_source(&text);
    let Some(policy) = checked.policy else {
        return Err(Failure::Invalid {
            text,
            diagnostics: checked.diagnostics,
        });
    };
    for r in crate::sim::testrun::run_all(&policy) {
        if !r.passed() {
            let message = r.error.clone().unwrap_or_else(|| {
                r.mismatches
                    .iter()
                    .map(|m| format!("{}: got {:?}", m.expect, m.actual))
                    .collect::<Vec<_>>()
                    .join("; ")
            });
            return Err(Failure::Tests {
                text,
                message: format!("test \"{}\" fails: {message}", r.name),
            });
        }
    }
    if format(&text)? != text {
        return Err(Failure::Tests {
            text,
            message: "the text is not in the canonical layout (`allot fmt --check` would fail)"
                .into(),
        });
    }
    Ok(Generated {
        text,
        warnings: checked.diagnostics,
    })
}

fn format(text: &str) -> Result<String, Failure> {
    crate::fmt::format(text).map_err(|diagnostics| Failure::Invalid {
        text: text.to_string(),
        diagnostics,
    })
}

/// The header, top-level lines and rules (no tests).
fn policy_text(
    spec: &Spec<'_>,
    families: &[Family],
    notes: &[String],
    publish: &str,
    split: bool,
) -> String {
    let mut t = String::new();
    let line = |t: &mut String, s: &str| {
        t.push_str(s);
        t.push('\n');
    };
    let from = match &spec.current_file {
        Some(c) => format!("{} and the current listings {c}", spec.inventory_file),
        None => spec.inventory_file.clone(),
    };
    // Written to standard output: name the file it is usually saved as.
    let file = spec
        .out_file
        .clone()
        .unwrap_or_else(|| format!("policies/{}.allot", spec.name));
    let current = spec
        .current_file
        .as_deref()
        .map_or(String::new(), |c| format!(" --current {c}"));
    line(
        &mut t,
        &format!("# Generated by `allot init` from {from} on {}.", spec.date),
    );
    line(
        &mut t,
        "# A starting point, not a finished policy: read each rule and adjust it, then run",
    );
    line(&mut t, &format!("#   allot check {file}"));
    line(&mut t, &format!("#   allot test {file}"));
    line(
        &mut t,
        &format!(
            "#   allot plan {file} --inventory {}{current}",
            spec.inventory_file
        ),
    );
    line(
        &mut t,
        "# and read the plan before anything is applied (docs/language.md has every statement).",
    );
    line(&mut t, "");
    line(&mut t, &format!("policy {}", quote(&spec.name)));
    match &spec.seller {
        Some(s) => line(&mut t, &format!("seller {}", quote(s))),
        None => line(
            &mut t,
            &format!(
                "seller {}   # PLACEHOLDER: your Merchant ID (Seller Central: Settings → Account Info → Merchant Token)",
                quote(SELLER_PLACEHOLDER)
            ),
        ),
    }
    let codes: Vec<&str> = spec.marketplaces.iter().map(|m| m.code.as_str()).collect();
    line(&mut t, &format!("marketplaces {}", codes.join(", ")));
    if spec.negative_as_zero {
        line(
            &mut t,
            "inventory negative_as_zero   # the inventory has negative counts: read as 0, with a warning",
        );
    }
    line(&mut t, "");
    line(
        &mut t,
        "# The inventory's locations, in the order first seen; all count toward every rule's stock.",
    );
    // Location quantities (`by location`) are Amazon US only.
    if spec.marketplaces.iter().any(|m| m.code == "US") {
        line(
            &mut t,
            "# Add `supply_source \"…\"` to publish one by location in the US (`allot sources` lists them).",
        );
    }
    for l in &spec.locations {
        if l.name == l.raw {
            line(&mut t, &format!("location {}", l.name));
        } else {
            line(
                &mut t,
                &format!(
                    "location {}   # {} in the inventory (matched ignoring case and punctuation)",
                    l.name,
                    quote(&l.raw)
                ),
            );
        }
    }
    line(&mut t, "");
    for n in notes {
        line(&mut t, &format!("# {n}"));
    }
    if split {
        line(
            &mut t,
            "# Each seller SKU is its own offer with its own quantity: the stock is split in equal shares",
        );
        line(
            &mut t,
            "# so no unit is offered twice; change the shares to suit your marketplaces.",
        );
    }
    line(
        &mut t,
        "# One rule per SKU family (the part before the first `-` or `_`, families of 2 or more SKUs).",
    );
    for f in families {
        line(&mut t, "");
        let shown: Vec<&str> = f.skus.iter().take(3).map(String::as_str).collect();
        let more = if f.skus.len() > shown.len() {
            ", …"
        } else {
            ""
        };
        line(
            &mut t,
            &format!("# {} SKUs: {}{more}", f.skus.len(), shown.join(", ")),
        );
        line(&mut t, &format!("rule {} {{", quote(&f.prefix)));
        let globs: Vec<String> = f.globs().iter().map(|g| quote(g)).collect();
        line(&mut t, &format!("  match sku {}", globs.join(", ")));
        line(
            &mut t,
            "  buffer 1   # kept back; adjust, and add share, threshold or cap as needed",
        );
        line(&mut t, &format!("  publish {publish}"));
        line(&mut t, "}");
    }
    line(&mut t, "");
    line(&mut t, "rule \"everything else\" {");
    line(&mut t, "  match any");
    line(&mut t, "  buffer 1");
    line(
        &mut t,
        &format!("  publish {publish}   # or `skip` to leave these listings alone"),
    );
    line(&mut t, "}");
    t
}

/// How many SKUs of a rule are tried for its test (the first that simulates is used).
const TEST_CANDIDATES: usize = 5;

/// The SKUs to test each rule with, in inventory order: a family's SKUs with stock rows, and
/// those left to "everything else". Several, because one may not simulate (a seller SKU past
/// Amazon's 40 characters): then the next is tried.
fn test_skus(stock: &Stock, families: &[Family]) -> Vec<(String, Vec<String>)> {
    let has_rows = |inventory_sku: &str| {
        stock
            .get(inventory_sku)
            .is_some_and(|i| i.entries().next().is_some())
    };
    let mut out: Vec<(String, Vec<String>)> = families
        .iter()
        .map(|f| {
            let skus = f
                .skus
                .iter()
                .filter(|s| has_rows(s))
                .take(TEST_CANDIDATES)
                .cloned()
                .collect();
            (f.prefix.clone(), skus)
        })
        .collect();
    let globs: Vec<String> = families.iter().flat_map(Family::globs).collect();
    let rest: Vec<String> = stock
        .items()
        .filter(|i| {
            i.entries().next().is_some()
                && !globs
                    .iter()
                    .any(|g| crate::check::selector::glob_match(g, i.sku()))
        })
        .take(TEST_CANDIDATES)
        .map(|i| i.sku().to_string())
        .collect();
    out.push(("everything else".into(), rest));
    out
}

/// A test block for one SKU: its stock rows as in the inventory, and what the policy publishes
/// from them (simulated as `allot test` will).
fn test_block(
    spec: &Spec<'_>,
    policy: &crate::model::Policy,
    rule: &str,
    inventory_sku: &str,
) -> Result<String, Failure> {
    let fail = |message: String| Failure::Tests {
        text: String::new(),
        message,
    };
    let item = spec
        .stock
        .get(inventory_sku)
        .ok_or_else(|| fail(format!("SKU {inventory_sku} vanished")))?;
    let entries: Vec<_> = item.entries().collect();
    let rows: Vec<String> = entries
        .iter()
        .map(|e| {
            let name = &spec.locations[e.location].name;
            if e.reserved > 0 {
                format!("{name} {} reserved {}", e.on_hand, e.reserved)
            } else {
                format!("{name} {}", e.on_hand)
            }
        })
        .collect();
    let case = TestStock {
        sku: inventory_sku.to_string(),
        tags: Vec::new(),
        attrs: Vec::new(),
        entries: entries
            .iter()
            .map(|e| (e.location, e.on_hand, e.reserved))
            .collect(),
    };
    let stock = Stock::from_tests(&[case]).map_err(fail)?;
    let preview = crate::sim::run(policy, &stock, None).map_err(|e| fail(e.to_string()))?;
    let mut expects = Vec::new();
    for code in policy.marketplaces.iter().map(|m| &m.code) {
        for c in preview.changes.iter().filter(|c| {
            c.offer.inventory_sku == inventory_sku && c.offer.marketplaces.iter().any(|m| m == code)
        }) {
            let q = c
                .offer
                .channels
                .iter()
                .find(|x| x.channel == DEFAULT_CHANNEL)
                .map(|x| x.quantity)
                .unwrap_or_default();
            expects.push(format!(
                "  expect {} on {code} = {q}",
                quote(&c.offer.seller_sku)
            ));
        }
    }
    let mut t = format!(
        "test {} {{\n  stock {} {}\n",
        quote(&format!(
            "{rule}: {inventory_sku} with its stock from the inventory"
        )),
        quote(inventory_sku),
        rows.join(", ")
    );
    for e in expects {
        t.push_str(&e);
        t.push('\n');
    }
    t.push_str("}\n");
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_names_match_the_reader() {
        assert_eq!(location_name("newark").unwrap().name, "newark");
        let l = location_name("Newark Warehouse").unwrap();
        assert_eq!(
            (l.name.as_str(), l.raw.as_str()),
            ("newark_warehouse", "Newark Warehouse")
        );
        assert_eq!(location_name("2nd Street").unwrap().name, "_2nd_street");
        assert!(location_name("Zürich").is_err());
        assert!(location_name("!!!").is_err());
    }

    #[test]
    fn templates_are_detected() {
        let inv: HashSet<&str> = ["MUG-1", "MUG-2", "YOGA-1"].into_iter().collect();
        let d = detect_template(["MUG-1-US", "MUG-2-US", "YOGA-1-US"], &inv).unwrap();
        assert_eq!(
            (d.template.as_str(), d.matched, d.total),
            ("{sku}-US", 3, 3)
        );
        let d = detect_template(["MUG-1", "MUG-2", "OTHER"], &inv).unwrap();
        assert_eq!((d.template.as_str(), d.matched), ("{sku}", 2));
        let d = detect_template(["AMZ-MUG-1", "AMZ-YOGA-1"], &inv).unwrap();
        assert_eq!(d.template, "AMZ-{sku}");
        assert!(detect_template(["X", "Y", "MUG-1"], &inv).is_none());
        assert!(detect_template([], &inv).is_none());
    }

    #[test]
    fn families_need_two_skus_and_a_writable_prefix() {
        let mut s = Stock::new();
        for sku in [
            "MUG-1", "MUG_2", "ONE-1", "A*B-1", "A*B-2", "PLAIN", "CUP-1", "CUP-2",
        ] {
            s.intern(sku);
        }
        let f = families(&s);
        let names: Vec<&str> = f.iter().map(|f| f.prefix.as_str()).collect();
        assert_eq!(names, ["MUG", "CUP"]);
        assert_eq!(f[0].globs(), ["MUG-*", "MUG_*"]);
    }
}
