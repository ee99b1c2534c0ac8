//! Stage 2: `Ast` → checked `model::Policy` + diagnostics (names, types, Amazon's rules).
//!
//! The checker reports every finding of a file, not just the first: each part of the policy is
//! lowered on its own, and the cross-cutting Amazon rules run on whatever lowered cleanly.
//! Codes are in `codes.rs` and documented in `docs/language.md`.

mod amazon_rules;
pub mod codes;
mod rules;
pub mod selector;
pub mod set;
pub mod template;
mod tests_lower;

use std::path::Path;

use crate::diag::{Diagnostic, did_you_mean};
use crate::marketplaces::{self, Marketplace, Region};
use crate::model::{Location, OnFba, OnMissing, Policy};
use crate::render::diagnostics::SourceFile;
use crate::span::Span;
use crate::syntax::ast::{Ast, Ident, ItemKind, Str};

use codes::*;

/// The result of checking one policy file.
#[derive(Clone, Debug)]
pub struct Checked {
    pub policy: Option<Policy>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }
}

/// Check a parsed policy. `policy` is Some iff there is no error-severity diagnostic.
pub fn check(ast: &Ast) -> Checked {
    let mut c = Checker::default();
    c.top_level(ast);
    let rules = c.rules(ast);
    amazon_rules::analyse(&mut c, &rules);
    let tests = c.tests(ast);
    let mut diagnostics = std::mem::take(&mut c.diags);
    // Stable order: by place in the file, then by code.
    diagnostics
        .sort_by(|a, b| (a.primary_span().start, a.code).cmp(&(b.primary_span().start, b.code)));
    let policy = if diagnostics.iter().any(|d| d.is_error()) {
        None
    } else {
        c.build(rules, tests)
    };
    Checked {
        policy,
        diagnostics,
    }
}

/// Parse and check one text (syntax errors become the diagnostics, policy None).
pub fn check_source(src: &str) -> Checked {
    match crate::syntax::parse(src) {
        Ok(ast) => check(&ast),
        Err(diagnostics) => Checked {
            policy: None,
            diagnostics,
        },
    }
}

/// Read, parse and check one file. Err only for I/O: not found, unreadable, not UTF-8.
pub fn load(path: &Path) -> std::io::Result<(SourceFile, Checked)> {
    let bytes = std::fs::read(path).map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display()))
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} is not UTF-8 text (invalid byte at offset {}); save it as UTF-8",
                path.display(),
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    let checked = check_source(&text);
    Ok((
        SourceFile {
            name: path.display().to_string(),
            text,
        },
        checked,
    ))
}

/// The state of one check: what the top-level lines declared, and the findings so far.
#[derive(Default)]
pub(crate) struct Checker {
    diags: Vec<Diagnostic>,
    name: Option<(String, Span)>,
    seller: Option<(String, Span)>,
    /// The seller ID's string literal, where `allot::seller-is-marketplace` points.
    seller_value: Option<Span>,
    /// The `marketplaces` line: its span, and the policy's marketplaces as resolved.
    marketplaces_line: Option<Span>,
    marketplaces: Vec<Marketplace>,
    mk_spans: Vec<Span>,
    /// `marketplace XX id "…" region EU` declarations.
    customs: Vec<(Marketplace, Span)>,
    /// Custom codes whose declaration was refused: already reported, so not "unknown" again.
    bad_customs: Vec<String>,
    locations: Vec<Location>,
    loc_spans: Vec<Span>,
    guarantee: Option<Span>,
    /// The `inventory` line, and the options it turned on.
    inventory_line: Option<Span>,
    inventory: crate::model::InventoryOptions,
    /// `kit` lines, lowered, with each component's span (for the oversell warning).
    kits: Vec<(crate::model::Kit, Vec<Span>)>,
    on_missing: OnMissing,
    on_missing_span: Option<Span>,
    on_fba: OnFba,
    on_fba_span: Option<Span>,
}

impl Checker {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn duplicate(&mut self, what: &str, second: Span, first: Span, help: impl Into<String>) {
        self.push(
            Diagnostic::error(DUPLICATE, format!("{what} is given twice"))
                .at(second, "given again here")
                .also(first, "first given here")
                .help(help),
        );
    }

    /// `kit "GIFT-BOX" contains "MUG-1" 2, "CANDLE-LAV" 1`: names not empty, each component
    /// once, whole units of at least 1, not itself and no kit inside a kit.
    fn kit(&mut self, kit_sku: &Str, parts: &[crate::syntax::ast::KitPart], span: Span) {
        let example = "`kit \"GIFT-BOX\" contains \"MUG-1\" 2, \"CANDLE-LAV\" 1`";
        let mut ok = self.non_empty(kit_sku, "the kit's SKU", example);
        if let Some((_, first)) = self.kits.iter().find(|(k, _)| k.sku == kit_sku.node) {
            let first = first.first().copied().unwrap_or(span);
            self.duplicate(
                &format!("kit \"{}\"", kit_sku.node),
                kit_sku.span,
                first,
                "declare each kit once, with all its components",
            );
            ok = false;
        }
        let mut lowered: Vec<(String, u64)> = Vec::new();
        let mut spans: Vec<Span> = Vec::new();
        for p in parts {
            ok &= self.non_empty(&p.sku, "a kit component's SKU", example);
            if p.sku.node == kit_sku.node {
                self.push(
                    Diagnostic::error(
                        CONFLICTING_STATEMENTS,
                        format!("kit \"{}\" contains itself", kit_sku.node),
                    )
                    .at(p.sku.span, "the kit itself")
                    .help("a kit is made of other inventory SKUs: name its components"),
                );
                ok = false;
                continue;
            }
            if let Some(i) = lowered.iter().position(|(c, _)| *c == p.sku.node) {
                self.duplicate(
                    &format!("component \"{}\" of kit \"{}\"", p.sku.node, kit_sku.node),
                    p.span,
                    spans[i],
                    "name each component once, with all its units (`\"MUG-1\" 2`)",
                );
                ok = false;
                continue;
            }
            let units = match p.units.node {
                crate::syntax::ast::Number::Units(0) => {
                    self.push(
                        Diagnostic::error(TYPE_MISMATCH, "a kit takes at least 1 unit of each component")
                            .at(p.units.span, "0 units")
                            .help("write how many units of the component one kit holds (`\"MUG-1\" 2`), or remove the component"),
                    );
                    None
                }
                crate::syntax::ast::Number::Units(n) => Some(n),
                crate::syntax::ast::Number::Percent(_) => {
                    self.push(
                        Diagnostic::error(
                            TYPE_MISMATCH,
                            "a kit component takes whole units, not a percent",
                        )
                        .at(p.units.span, "a percent")
                        .help(
                            "write how many units of the component one kit holds (`\"MUG-1\" 2`)",
                        ),
                    );
                    None
                }
            };
            match units {
                Some(n) => {
                    lowered.push((p.sku.node.clone(), n));
                    spans.push(p.span);
                }
                None => ok = false,
            }
        }
        // A kit inside a kit (either way round, in any order of the lines).
        let nested: Vec<String> = self
            .kits
            .iter()
            .filter(|(other, _)| {
                lowered.iter().any(|(c, _)| *c == other.sku)
                    || other.parts.iter().any(|(c, _)| *c == kit_sku.node)
            })
            .map(|(other, _)| other.sku.clone())
            .collect();
        for other in nested {
            {
                self.push(
                    Diagnostic::error(
                        CONFLICTING_STATEMENTS,
                        format!(
                            "kits \"{}\" and \"{other}\": one is a component of the other",
                            kit_sku.node
                        ),
                    )
                    .at(kit_sku.span, "a kit inside a kit")
                    .help("name the inner kit's components directly, with their units multiplied"),
                );
                ok = false;
            }
        }
        if ok {
            self.kits.push((
                crate::model::Kit {
                    sku: kit_sku.node.clone(),
                    parts: lowered,
                    span,
                },
                spans,
            ));
        }
    }

    fn non_empty(&mut self, s: &Str, what: &str, example: &str) -> bool {
        if s.trim().is_empty() {
            self.push(
                Diagnostic::error(EMPTY_VALUE, format!("{what} is empty"))
                    .at(s.span, "empty")
                    .help(format!(
                        "write the value between the quotes, e.g. {example}"
                    )),
            );
            false
        } else {
            true
        }
    }

    fn top_level(&mut self, ast: &Ast) {
        let mut mk_line: Option<&Vec<Ident>> = None;
        for item in &ast.items {
            match &item.kind {
                ItemKind::Policy(s) => match &self.name {
                    Some((_, first)) => {
                        let first = *first;
                        self.duplicate(
                            "the `policy` line",
                            item.span,
                            first,
                            "a file holds one policy: remove one `policy` line (or split the file)",
                        )
                    }
                    None => {
                        self.non_empty(s, "the policy name", "`policy \"acme-na\"`");
                        self.name = Some((s.node.clone(), item.span));
                    }
                },
                ItemKind::Seller(s) => match &self.seller {
                    Some((_, first)) => {
                        let first = *first;
                        self.duplicate(
                            "the `seller` line",
                            item.span,
                            first,
                            "a policy publishes for one seller ID: remove one `seller` line (one policy file per seller account)",
                        )
                    }
                    None => {
                        self.non_empty(s, "the seller ID", "`seller \"A1PP0FEH11RW77\"`");
                        self.seller = Some((s.node.clone(), item.span));
                        self.seller_value = Some(s.span);
                    }
                },
                ItemKind::Marketplaces(list) => match self.marketplaces_line {
                    Some(first) => self.duplicate(
                        "the `marketplaces` line",
                        item.span,
                        first,
                        "list every marketplace on one line: `marketplaces US, CA, MX`",
                    ),
                    None => {
                        self.marketplaces_line = Some(item.span);
                        mk_line = Some(list);
                    }
                },
                ItemKind::Marketplace { code, id, region } => self.custom(code, id, region),
                ItemKind::Location {
                    name,
                    supply_source,
                } => self.location(name, supply_source.as_ref()),
                ItemKind::Guarantee(g) => {
                    if let Some(first) = self.guarantee {
                        self.duplicate(
                            "`guarantee no_oversell`",
                            item.span,
                            first,
                            "remove the second `guarantee` line",
                        );
                    } else if g.node == "no_oversell" {
                        self.guarantee = Some(item.span);
                    } else {
                        self.unknown_value(g, "guarantee", &["no_oversell"]);
                    }
                }
                ItemKind::Kit { sku, parts } => self.kit(sku, parts, item.span),
                ItemKind::Inventory(words) => match self.inventory_line {
                    Some(first) => self.duplicate(
                        "the `inventory` line",
                        item.span,
                        first,
                        "put every option on one line: `inventory negative_as_zero, ignore_unknown_locations`",
                    ),
                    None => {
                        self.inventory_line = Some(item.span);
                        self.inventory_options(words);
                    }
                },
                ItemKind::OnMissing(v) => {
                    if let Some(first) = self.on_missing_span {
                        self.duplicate(
                            "the policy-wide `on_missing`",
                            item.span,
                            first,
                            "remove one of them (a rule can override it with its own `on_missing`)",
                        );
                    } else if let Some(m) = self.on_missing_value(v) {
                        self.on_missing = m;
                        self.on_missing_span = Some(item.span);
                    }
                }
                ItemKind::OnFba(v) => {
                    if let Some(first) = self.on_fba_span {
                        self.duplicate(
                            "the policy-wide `on_fba`",
                            item.span,
                            first,
                            "remove one of them (a rule can override it with its own `on_fba`)",
                        );
                    } else if let Some(m) = self.on_fba_value(v) {
                        self.on_fba = m;
                        self.on_fba_span = Some(item.span);
                    }
                }
                ItemKind::Rule(_) | ItemKind::Test(_) => {}
            }
        }
        self.seller_is_marketplace();
        let start = Span::new(0, 0);
        if self.name.is_none() {
            self.push(
                Diagnostic::error(MISSING_POLICY, "this file has no `policy` line")
                    .at(start, "expected `policy \"name\"` in this file")
                    .help("start the file with `policy \"acme-na\"`: the name shows in previews and plans"),
            );
        }
        if self.seller.is_none() {
            self.push(
                Diagnostic::error(MISSING_SELLER, "this policy has no `seller` line")
                    .at(start, "expected `seller \"…\"` in this file")
                    .help("add `seller \"A1PP0FEH11RW77\"` with your Merchant ID (Seller Central: Settings → Account Info → Merchant Token)"),
            );
        }
        match mk_line {
            None => self.push(
                Diagnostic::error(MISSING_MARKETPLACES, "this policy has no `marketplaces` line")
                    .at(start, "expected `marketplaces …` in this file")
                    .help("add the marketplaces you publish to, e.g. `marketplaces US, CA, MX` (`allot marketplaces` lists the codes)"),
            ),
            Some(list) => self.marketplaces_list(list),
        }
    }

    /// A marketplace ID in the `seller` line: a common slip (both are 13-14 letter codes), and
    /// every request would be refused with a confusing authorisation error.
    fn seller_is_marketplace(&mut self) {
        let (Some((seller, _)), Some(span)) = (&self.seller, self.seller_value) else {
            return;
        };
        let id = seller.trim();
        let named = match marketplaces::by_id(id) {
            Some(m) => format!("{} ({})", m.code, m.country),
            None => match self.customs.iter().find(|(m, _)| m.id == id) {
                Some((m, _)) => format!("{} (declared in this file)", m.code),
                None => return,
            },
        };
        self.push(
            Diagnostic::error(
                SELLER_IS_MARKETPLACE,
                format!("{id} is the marketplace ID of {named}, not a seller ID"),
            )
            .at(span, "a marketplace ID")
            .help("write your Merchant Token here (Seller Central: Settings → Account Info → Merchant Token); marketplaces go on the `marketplaces` line"),
        );
    }

    fn custom(&mut self, code: &Ident, id: &Str, region: &Ident) {
        if let Some(b) = marketplaces::lookup_written(code) {
            self.push(
                Diagnostic::error(DUPLICATE, format!("marketplace `{}` is built in", code.node))
                    .at(code.span, format!("already means {} ({})", b.country, b.id))
                    .help(format!(
                        "remove this line and use `{}` as it is, or give the custom marketplace a code of its own",
                        code.node
                    )),
            );
            return;
        }
        if let Some((_, first)) = self.customs.iter().find(|(m, _)| m.code == code.node) {
            let first = *first;
            self.duplicate(
                &format!("marketplace `{}`", code.node),
                code.span,
                first,
                "declare each custom marketplace once",
            );
            return;
        }
        let mut ok_id = self.non_empty(id, "the marketplace ID", "`id \"A1F83G8C2ARO7P\"`");
        // One Amazon marketplace under two codes would let two rules' quantities collide unseen.
        if let Some(b) = marketplaces::by_id(&id.node) {
            ok_id = false;
            self.push(
                Diagnostic::error(
                    DUPLICATE,
                    format!(
                        "marketplace ID \"{}\" is the built-in `{}` ({})",
                        id.node, b.code, b.country
                    ),
                )
                .at(id.span, format!("already `{}`", b.code))
                .help(format!(
                    "remove this line and write `{}` where you meant this marketplace",
                    b.code
                )),
            );
        } else if let Some((m, first)) = self.customs.iter().find(|(m, _)| m.id == id.node) {
            ok_id = false;
            let (other, first) = (m.code.clone(), *first);
            self.push(
                Diagnostic::error(
                    DUPLICATE,
                    format!(
                        "marketplace ID \"{}\" is declared for both `{other}` and `{}`",
                        id.node, code.node
                    ),
                )
                .at(id.span, "given again here")
                .also(first, "first declared here")
                .help("declare each Amazon marketplace once, under one code"),
            );
        }
        let region_v = Region::parse(&region.node);
        if region_v.is_none() {
            let help = match did_you_mean(&region.node, ["NA", "EU", "FE"]) {
                Some(s) => format!("did you mean `{s}`? The regions are NA, EU and FE"),
                None => {
                    "the regions are NA (North America), EU (Europe) and FE (Far East)".to_string()
                }
            };
            self.push(
                Diagnostic::error(UNKNOWN_REGION, format!("unknown region `{}`", region.node))
                    .at(region.span, "not a region")
                    .help(help),
            );
        }
        if !ok_id || region_v.is_none() {
            self.bad_customs.push(code.node.clone());
        }
        if let (true, Some(r)) = (ok_id, region_v) {
            self.customs.push((
                Marketplace {
                    code: code.node.clone(),
                    id: id.node.clone(),
                    country: code.node.clone(),
                    region: r,
                    builtin: false,
                },
                code.span,
            ));
        }
    }

    fn location(&mut self, name: &Ident, supply_source: Option<&Str>) {
        if let Some(i) = self.locations.iter().position(|l| l.name == name.node) {
            let first = self.loc_spans[i];
            self.duplicate(
                &format!("location `{}`", name.node),
                name.span,
                first,
                "declare each location once (rename one if they are different places)",
            );
            return;
        }
        let mut source = None;
        if let Some(s) = supply_source
            && self.non_empty(
                s,
                "the supply source code",
                "`supply_source \"353e4e48-…\"`",
            )
        {
            if let Some(other) = self
                .locations
                .iter()
                .position(|l| l.supply_source.as_deref() == Some(&s.node))
            {
                let first = self.loc_spans[other];
                let other_name = self.locations[other].name.clone();
                self.push(
                    Diagnostic::error(
                        DUPLICATE,
                        format!(
                            "supply source \"{}\" is given to `{}` and `{other_name}`",
                            s.node, name.node
                        ),
                    )
                    .at(s.span, "given again here")
                    .also(first, "first given here")
                    .help("each supply source is one Amazon channel: one location per supply source, or the quantities overwrite each other"),
                );
            }
            source = Some(s.node.clone());
        }
        self.locations.push(Location {
            name: name.node.clone(),
            supply_source: source,
        });
        self.loc_spans.push(name.span);
    }

    fn marketplaces_list(&mut self, list: &[Ident]) {
        for code in list {
            let Some(m) = self.resolve_code(code) else {
                continue;
            };
            // By ID: `GB` and `UK` are one marketplace under two codes.
            if let Some(i) = self.marketplaces.iter().position(|x| x.id == m.id) {
                let first = self.mk_spans[i];
                let first_code = self.marketplaces[i].code.clone();
                if first_code == m.code {
                    self.duplicate(
                        &format!("marketplace `{}`", m.code),
                        code.span,
                        first,
                        "list each marketplace once",
                    );
                } else {
                    let amazon = marketplaces::canonical(&m.code).to_string();
                    self.duplicate(
                        &format!(
                            "marketplace {} (`{first_code}` and `{}` are one Amazon marketplace, {})",
                            m.country, m.code, m.id
                        ),
                        code.span,
                        first,
                        format!(
                            "list each marketplace once: keep `{amazon}` (Amazon's code) or the code your seller SKUs use, not both"
                        ),
                    );
                }
                continue;
            }
            if let Some(amazon) = marketplaces::alias_of(&m.code) {
                self.push(
                    Diagnostic::warning(
                        MARKETPLACE_ALIAS,
                        format!(
                            "`{}` is Amazon's {} marketplace ({}), whose code is {amazon}; `{{marketplace}}` renders `{}` here, as written",
                            m.code, m.country, m.id, m.code
                        ),
                    )
                    .at(code.span, format!("Amazon's code is {amazon}"))
                    .help(format!(
                        "write `{amazon}` to use Amazon's code; keep `{}` if your seller SKUs end in {}",
                        m.code, m.code
                    )),
                );
            }
            self.marketplaces.push(m);
            self.mk_spans.push(code.span);
        }
        let mut regions: Vec<Region> = self.marketplaces.iter().map(|m| m.region).collect();
        regions.sort();
        regions.dedup();
        if regions.len() > 1
            && let Some(line) = self.marketplaces_line
        {
            let names: Vec<String> = regions
                .iter()
                .map(|r| {
                    let codes: Vec<&str> = self
                        .marketplaces
                        .iter()
                        .filter(|m| m.region == *r)
                        .map(|m| m.code.as_str())
                        .collect();
                    format!("{r} ({})", codes.join(", "))
                })
                .collect();
            self.push(
                Diagnostic::error(
                    MIXED_REGIONS,
                    format!(
                        "these marketplaces span several regions: {}",
                        names.join(", ")
                    ),
                )
                .at(line, "one seller ID, several regions")
                .help("a seller ID belongs to one region's unified account: write one policy file per region (each with its own `seller`)"),
            );
        }
    }

    /// A marketplace code → the marketplace (custom declaration first, then the table).
    fn resolve_code(&mut self, code: &Ident) -> Option<Marketplace> {
        if let Some((m, _)) = self.customs.iter().find(|(m, _)| m.code == code.node) {
            return Some(m.clone());
        }
        if let Some(m) = marketplaces::lookup_written(&code.node) {
            return Some(m);
        }
        if self.bad_customs.contains(&code.node) {
            return None;
        }
        let known: Vec<String> = marketplaces::codes()
            .map(str::to_string)
            .chain(self.customs.iter().map(|(m, _)| m.code.clone()))
            .collect();
        let (label, help) = if let Some(hint) = marketplaces::unknown_hint(&code.node) {
            let label = if Region::parse(&code.node).is_some() {
                "a region, not a marketplace"
            } else if code.node.chars().any(char::is_lowercase) {
                "not upper case"
            } else {
                "no Amazon marketplace of its own"
            };
            (label, hint)
        } else {
            let help = match did_you_mean(&code.node, known.iter().map(String::as_str)) {
                Some(s) => format!(
                    "did you mean `{s}`? (`allot marketplaces` lists the built-in codes; declare another with `marketplace {} id \"…\" region EU`)",
                    code.node
                ),
                None => format!(
                    "use a built-in code (`allot marketplaces` lists them) or declare it: `marketplace {} id \"…\" region EU`",
                    code.node
                ),
            };
            ("not a built-in code and not declared", help)
        };
        self.push(
            Diagnostic::error(
                UNKNOWN_MARKETPLACE,
                format!("unknown marketplace `{}`", code.node),
            )
            .at(code.span, label)
            .help(help),
        );
        None
    }

    /// A marketplace reference in a rule or test → its index in the policy's marketplaces.
    fn resolve_marketplace(&mut self, code: &Ident) -> Option<usize> {
        let m = self.resolve_code(code)?;
        if let Some(i) = self.marketplaces.iter().position(|x| x.code == m.code) {
            return Some(i);
        }
        // Without a `marketplaces` line, `allot::missing-marketplaces` already says it all.
        self.marketplaces_line?;
        // The same marketplace under its other code (`UK` listed, `GB` here): the code decides
        // what `{marketplace}` renders, so a policy uses one.
        if let Some(i) = self.marketplaces.iter().position(|x| x.id == m.id) {
            let listed = self.marketplaces[i].code.clone();
            let first = self.mk_spans[i];
            self.push(
                Diagnostic::error(
                    MARKETPLACE_NOT_LISTED,
                    format!(
                        "marketplace `{}` is listed as `{listed}` in this policy's `marketplaces` line",
                        code.node
                    ),
                )
                .at(code.span, format!("written `{listed}` above"))
                .also(first, "listed here")
                .help(format!(
                    "write `{listed}` here too: one marketplace has one code in a policy (the code is what `{{marketplace}}` renders)"
                )),
            );
            return None;
        }
        let mut d = Diagnostic::error(
            MARKETPLACE_NOT_LISTED,
            format!(
                "marketplace `{}` is not in this policy's `marketplaces` line",
                code.node
            ),
        )
        .at(code.span, "not listed");
        if let Some(line) = self.marketplaces_line {
            d = d.also(line, "the policy's marketplaces");
        }
        self.push(d.help(format!(
            "add `{}` to the `marketplaces` line, or publish to a listed marketplace",
            m.code
        )));
        None
    }

    fn resolve_location(&mut self, name: &Ident) -> Option<usize> {
        if let Some(i) = self.locations.iter().position(|l| l.name == name.node) {
            return Some(i);
        }
        let help = match did_you_mean(&name.node, self.locations.iter().map(|l| l.name.as_str())) {
            Some(s) => format!("did you mean `{s}`?"),
            None if self.locations.is_empty() => format!(
                "declare it first: `location {} supply_source \"…\"` (this policy declares no locations)",
                name.node
            ),
            None => {
                let names: Vec<&str> = self.locations.iter().map(|l| l.name.as_str()).collect();
                format!(
                    "the declared locations are {}; declare it with `location {}`",
                    names.join(", "),
                    name.node
                )
            }
        };
        self.push(
            Diagnostic::error(
                UNKNOWN_LOCATION,
                format!("unknown location `{}`", name.node),
            )
            .at(name.span, "not declared")
            .help(help),
        );
        None
    }

    fn unknown_value(&mut self, v: &Ident, what: &str, allowed: &[&str]) {
        self.unknown_value_because(v, what, allowed, None);
    }

    /// [`Self::unknown_value`], adding why no other value exists.
    fn unknown_value_because(
        &mut self,
        v: &Ident,
        what: &str,
        allowed: &[&str],
        why: Option<&str>,
    ) {
        let list = allowed
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let help = match did_you_mean(&v.node, allowed.iter().copied()) {
            Some(s) => format!("did you mean `{s}`? `{what}` takes {list}"),
            None => format!("`{what}` takes {list}"),
        };
        let help = match why {
            Some(why) => format!("{help}; {why}"),
            None => help,
        };
        self.push(
            Diagnostic::error(
                UNKNOWN_VALUE,
                format!("unknown `{what}` value `{}`", v.node),
            )
            .at(v.span, "not allowed here")
            .help(help),
        );
    }

    /// The words of the `inventory` line: each known option once.
    fn inventory_options(&mut self, words: &[Ident]) {
        let mut seen: Vec<&Ident> = Vec::new();
        for w in words {
            if let Some(first) = seen.iter().find(|s| s.node == w.node) {
                let first = first.span;
                self.duplicate(
                    &format!("the `inventory` option `{}`", w.node),
                    w.span,
                    first,
                    "remove the second one",
                );
                continue;
            }
            match w.node.as_str() {
                "negative_as_zero" => self.inventory.negative_as_zero = true,
                "ignore_unknown_locations" => self.inventory.ignore_unknown_locations = true,
                _ => {
                    self.unknown_value(w, "inventory", &crate::model::InventoryOptions::WORDS);
                    continue;
                }
            }
            seen.push(w);
        }
    }

    fn on_missing_value(&mut self, v: &Ident) -> Option<OnMissing> {
        match v.node.as_str() {
            "skip" => Some(OnMissing::Skip),
            "zero" => Some(OnMissing::Zero),
            "error" => Some(OnMissing::Error),
            _ => {
                self.unknown_value(v, "on_missing", &["skip", "zero", "error"]);
                None
            }
        }
    }

    fn on_fba_value(&mut self, v: &Ident) -> Option<OnFba> {
        match v.node.as_str() {
            "skip" => Some(OnFba::Skip),
            "error" => Some(OnFba::Error),
            _ => {
                self.unknown_value_because(
                    v,
                    "on_fba",
                    &["skip", "error"],
                    Some("there is no `write`: a merchant quantity does not switch an offer Amazon fulfils, Amazon adds a second, merchant-fulfilled offer beside it (convert the offer to merchant-fulfilled in Seller Central first)"),
                );
                None
            }
        }
    }

    fn build(
        self,
        rules: Vec<rules::RuleInfo>,
        tests: Vec<crate::model::TestCase>,
    ) -> Option<Policy> {
        let rules = rules
            .into_iter()
            .map(|r| {
                r.into_model(
                    (self.on_missing, self.on_missing_span.unwrap_or_default()),
                    (self.on_fba, self.on_fba_span.unwrap_or_default()),
                )
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Policy {
            name: self.name?.0,
            seller_id: self.seller?.0,
            marketplaces: self.marketplaces,
            locations: self.locations,
            rules,
            tests,
            no_oversell: self.guarantee.is_some(),
            inventory: self.inventory,
            kits: self.kits.into_iter().map(|(k, _)| k).collect(),
            on_missing: self.on_missing,
            on_fba: self.on_fba,
            seller_span: self.seller_value.unwrap_or_default(),
            marketplaces_span: self.marketplaces_line.unwrap_or_default(),
            location_spans: self.loc_spans,
        })
    }
}

#[cfg(test)]
mod unit;
