//! Errors of the simulation: things the checker cannot see because they depend on the
//! inventory or the current listings (rendered seller SKUs, collisions between SKUs,
//! `on_missing error`, `on_fba error`).

use std::fmt;

use crate::diag::{JsonDiagnostic, Related, Severity};
use crate::marketplaces::Region;
use crate::render::diagnostics::SourceFile;
use crate::span::{LineIndex, Span};

/// The codes of simulation errors. Stable: never renamed once shipped; each is documented in
/// `docs/language.md` (section "Simulation error codes") with a failing example.
pub mod codes {
    pub const BAD_SELLER_SKU: &str = "allot::sim::bad-seller-sku";
    pub const DUPLICATE_SELLER_SKU: &str = "allot::sim::duplicate-seller-sku";
    pub const SHARED_SKU_CONFLICT: &str = "allot::sim::shared-sku-conflict";
    pub const MISSING_STOCK: &str = "allot::sim::missing-stock";
    pub const FULFILLED_BY_AMAZON: &str = "allot::sim::fulfilled-by-amazon";
    pub const NO_SUPPLY_SOURCE: &str = "allot::sim::no-supply-source";
    pub const BAD_TEST_STOCK: &str = "allot::sim::bad-test-stock";
    pub const SELLER_SKU_IN_TWO_POLICIES: &str = "allot::sim::seller-sku-in-two-policies";
    pub const POLICIES_DISAGREE: &str = "allot::sim::policies-disagree";
    pub const BAD_COLUMN_VALUE: &str = "allot::sim::bad-column-value";
    pub const OVERFLOW: &str = "allot::sim::overflow";

    /// Every code a simulation can fail with.
    pub const ALL: &[&str] = &[
        BAD_SELLER_SKU,
        DUPLICATE_SELLER_SKU,
        SHARED_SKU_CONFLICT,
        MISSING_STOCK,
        FULFILLED_BY_AMAZON,
        NO_SUPPLY_SOURCE,
        BAD_TEST_STOCK,
        SELLER_SKU_IN_TWO_POLICIES,
        POLICIES_DISAGREE,
        BAD_COLUMN_VALUE,
        OVERFLOW,
    ];
}

/// How many problems are listed; the rest are counted.
pub const MAX_PROBLEMS: usize = 50;

/// Where in the policies a problem was caused: which policy (its place among the policies
/// planned together, 0 for a single run's) and the clause's byte range in its text. Made only
/// when a problem is found, turned into a line and column only when it is rendered, and kept
/// to 12 bytes: every `SimProblem` result the engine returns per SKU carries it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Place {
    policy: u32,
    start: u32,
    end: u32,
}

/// A number as a `Place` keeps it: a policy over 4 GiB (or four billion policies) is not one
/// a person wrote; past that the place is clamped to the largest.
fn small(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Place {
    /// A place in the policy of a single run.
    pub fn at(span: Span) -> Place {
        Place::new(0, span)
    }

    /// A place in the `policy`-th of the policies planned together.
    pub fn new(policy: usize, span: Span) -> Place {
        Place {
            policy: small(policy),
            start: small(span.start),
            end: small(span.end),
        }
    }

    pub fn policy(self) -> usize {
        self.policy as usize
    }

    pub fn span(self) -> Span {
        Span::new(self.start as usize, self.end as usize)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimProblem {
    /// A rendered seller SKU is not valid for Amazon.
    BadSellerSku {
        inventory_sku: String,
        rule: String,
        template: String,
        /// The first inventory column the template reads and the SKU's value there (boxed:
        /// every `SimProblem` result carries this variant's size).
        column: Option<Box<(String, String)>>,
        reason: String,
        /// The template (`as "…"`).
        at: Place,
    },
    /// Two inventory SKUs would write the same seller SKU in one region.
    DuplicateSellerSku {
        seller_sku: String,
        region: Region,
        first: String,
        second: String,
        /// The inventory column the seller SKU was read from (`{column:NAME}`), if any.
        column: Option<String>,
        /// The template that made it for the second SKU, and for the first.
        at: Place,
        first_at: Place,
    },
    /// One rule gives one seller SKU different quantities in two marketplaces of a region.
    SharedSkuConflict {
        seller_sku: String,
        inventory_sku: String,
        rule: String,
        /// The target whose quantities differ from an earlier one's (its template).
        at: Place,
    },
    /// `on_missing error` and the SKU has no inventory row.
    MissingStock {
        inventory_sku: String,
        rule: String,
        /// The `on_missing error` line the rule follows.
        at: Place,
    },
    /// `on_fba error` and Amazon fulfils the offer's seller SKU.
    FulfilledByAmazon {
        seller_sku: String,
        channel: String,
        rule: String,
        /// The `on_fba error` line the rule follows.
        at: Place,
    },
    /// A location of a split or a channel has no supply source.
    NoSupplySource {
        location: String,
        rule: String,
        /// The target's `by location`.
        at: Place,
    },
    /// A `test` block's stock is not valid.
    BadTestStock { message: String, at: Place },
    /// Two policies of one seller (several files planned together) write one seller SKU.
    SellerSkuInTwoPolicies {
        seller_sku: String,
        region: Region,
        first: String,
        second: String,
        /// The target of the second policy that writes it, and of the first.
        at: Place,
        first_at: Place,
    },
    /// Policies planned together differ where they must agree (seller, a location's source).
    PoliciesDisagree {
        message: String,
        /// The second policy's line, and the first's (the seller, or the location).
        at: Place,
        first_at: Place,
    },
    /// `cap column "…"` (or buffer, threshold): the column is not in the inventory, or a SKU's
    /// value there is not a number it can take.
    BadColumnValue {
        message: String,
        help: String,
        /// The `… column "…"` statement.
        at: Place,
    },
    /// A sum of quantities (a pool, units published, exposure) does not fit in a quantity:
    /// refused rather than wrapped or clamped to a number that would then be shown or written.
    Overflow {
        message: String,
        /// The rule whose sum it is (0..0 for the run's total exposure: no one rule's).
        at: Place,
    },
}

impl SimProblem {
    /// The problem's stable code (one per variant).
    pub fn code(&self) -> &'static str {
        match self {
            SimProblem::BadSellerSku { .. } => codes::BAD_SELLER_SKU,
            SimProblem::DuplicateSellerSku { .. } => codes::DUPLICATE_SELLER_SKU,
            SimProblem::SharedSkuConflict { .. } => codes::SHARED_SKU_CONFLICT,
            SimProblem::MissingStock { .. } => codes::MISSING_STOCK,
            SimProblem::FulfilledByAmazon { .. } => codes::FULFILLED_BY_AMAZON,
            SimProblem::NoSupplySource { .. } => codes::NO_SUPPLY_SOURCE,
            SimProblem::BadTestStock { .. } => codes::BAD_TEST_STOCK,
            SimProblem::SellerSkuInTwoPolicies { .. } => codes::SELLER_SKU_IN_TWO_POLICIES,
            SimProblem::PoliciesDisagree { .. } => codes::POLICIES_DISAGREE,
            SimProblem::BadColumnValue { .. } => codes::BAD_COLUMN_VALUE,
            SimProblem::Overflow { .. } => codes::OVERFLOW,
        }
    }

    /// The message and the help apart, as the records need them. The text is written once (by
    /// `Display`, help on its own line) so the two renderings cannot drift apart.
    pub fn message_and_help(&self) -> (String, Option<String>) {
        let text = self.to_string();
        match text.split_once(HELP) {
            Some((m, h)) => (m.to_string(), Some(h.to_string())),
            None => (text, None),
        }
    }
}

/// How `Display` puts the help after the message.
const HELP: &str = "\n  help: ";

impl fmt::Display for SimProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimProblem::BadSellerSku {
                inventory_sku,
                rule,
                template,
                column: Some(cv),
                reason,
                ..
            } => write!(
                f,
                "inventory SKU `{inventory_sku}` (rule \"{rule}\", template \"{template}\"): its value in inventory column `{column}` is \"{value}\": {reason}\n  help: fix the SKU's `{column}` value in the inventory (a seller SKU is 1 to {max} characters without control characters), or exclude the SKU with a rule above",
                inventory_sku = crate::diag::clip(inventory_sku),
                template = crate::diag::clip(template),
                column = crate::diag::clip(&cv.0),
                value = crate::diag::clip(&cv.1),
                max = crate::model::MAX_SELLER_SKU_LEN
            ),
            SimProblem::BadSellerSku {
                inventory_sku,
                rule,
                template,
                column: None,
                reason,
                ..
            } => write!(
                f,
                "inventory SKU `{inventory_sku}` (rule \"{rule}\", template \"{template}\"): {reason}\n  help: shorten the template or the inventory SKU, or exclude it with a rule above",
                inventory_sku = crate::diag::clip(inventory_sku),
                template = crate::diag::clip(template)
            ),
            SimProblem::DuplicateSellerSku {
                seller_sku,
                region,
                first,
                second,
                column: Some(column),
                ..
            } => write!(
                f,
                "inventory SKUs `{first}` and `{second}` both publish seller SKU `{seller_sku}` in {region} (read from inventory column `{column}`); Amazon keeps one quantity per seller SKU, so one would overwrite the other\n  help: give each inventory SKU its own value in column `{column}`, or skip one of the SKUs",
                seller_sku = crate::diag::clip(seller_sku),
                first = crate::diag::clip(first),
                second = crate::diag::clip(second),
                column = crate::diag::clip(column)
            ),
            SimProblem::DuplicateSellerSku {
                seller_sku,
                region,
                first,
                second,
                column: None,
                ..
            } => write!(
                f,
                "inventory SKUs `{first}` and `{second}` both publish seller SKU `{seller_sku}` in {region}; Amazon keeps one quantity per seller SKU, so one would overwrite the other\n  help: give the rules different templates (e.g. `as \"{{sku}}-B\"`) or skip one of the SKUs",
                seller_sku = crate::diag::clip(seller_sku),
                first = crate::diag::clip(first),
                second = crate::diag::clip(second)
            ),
            SimProblem::SharedSkuConflict {
                seller_sku,
                inventory_sku,
                rule,
                ..
            } => write!(
                f,
                "rule \"{rule}\" gives seller SKU `{seller_sku}` (from `{inventory_sku}`) different quantities in marketplaces of one region; Amazon keeps one quantity, the last write wins\n  help: give each marketplace its own seller SKU (`as \"{{sku}}-{{marketplace}}\"`)",
                inventory_sku = crate::diag::clip(inventory_sku),
                seller_sku = crate::diag::clip(seller_sku)
            ),
            SimProblem::MissingStock {
                inventory_sku,
                rule,
                ..
            } => write!(
                f,
                "inventory SKU `{inventory_sku}` has no inventory row and rule \"{rule}\" says `on_missing error`\n  help: add the SKU to the inventory, or use `on_missing skip` or `on_missing zero`",
                inventory_sku = crate::diag::clip(inventory_sku)
            ),
            SimProblem::FulfilledByAmazon {
                seller_sku,
                channel,
                rule,
                ..
            } => write!(
                f,
                "seller SKU `{seller_sku}` is fulfilled by Amazon ({channel}) and rule \"{rule}\" says `on_fba error`\n  help: convert the offer to merchant-fulfilled in Seller Central first, or use `on_fba skip` to leave it to Amazon",
                seller_sku = crate::diag::clip(seller_sku),
                channel = crate::diag::clip(channel)
            ),
            SimProblem::NoSupplySource { location, rule, .. } => write!(
                f,
                "rule \"{rule}\" publishes by location to `{location}`, which has no supply source\n  help: declare `location {location} supply_source \"...\"`"
            ),
            SimProblem::BadTestStock { message, .. } => write!(f, "{message}"),
            SimProblem::SellerSkuInTwoPolicies {
                seller_sku,
                region,
                first,
                second,
                ..
            } => write!(
                f,
                "policies \"{first}\" and \"{second}\" both write seller SKU `{seller_sku}` in {region}; Amazon keeps one quantity per seller SKU, so the last write would win\n  help: give each marketplace its own seller SKU (e.g. `UK as \"{{sku}}_UK\"` in one policy, `DE as \"{{sku}}_DE\"` in the other), or publish it from one policy; `allot check` on the files together shows where",
                seller_sku = crate::diag::clip(seller_sku),
                first = crate::diag::clip(first),
                second = crate::diag::clip(second)
            ),
            SimProblem::PoliciesDisagree { message, .. } => write!(f, "{message}"),
            SimProblem::BadColumnValue { message, help, .. } => {
                write!(f, "{message}\n  help: {help}")
            }
            SimProblem::Overflow { message, .. } => write!(
                f,
                "{message}\n  help: a quantity this large is a typo or a corrupted export: fix the inventory's quantities or the rule's `quantity`, `cap` or `buffer`"
            ),
        }
    }
}

/// Why a simulation produced no preview. Every problem found is listed (up to the limit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimError {
    pub problems: Vec<SimProblem>,
    pub more: usize,
}

impl SimError {
    pub fn one(p: SimProblem) -> Self {
        SimError {
            problems: vec![p],
            more: 0,
        }
    }
}

impl SimProblem {
    /// Where in the policies the problem was caused.
    pub fn place(&self) -> Place {
        match self {
            SimProblem::BadSellerSku { at, .. }
            | SimProblem::DuplicateSellerSku { at, .. }
            | SimProblem::SharedSkuConflict { at, .. }
            | SimProblem::MissingStock { at, .. }
            | SimProblem::FulfilledByAmazon { at, .. }
            | SimProblem::NoSupplySource { at, .. }
            | SimProblem::BadTestStock { at, .. }
            | SimProblem::SellerSkuInTwoPolicies { at, .. }
            | SimProblem::PoliciesDisagree { at, .. }
            | SimProblem::BadColumnValue { at, .. }
            | SimProblem::Overflow { at, .. } => *at,
        }
    }

    /// The other place a problem of two is about (the first writer of a seller SKU, the first
    /// policy's line), and what is there.
    pub fn related(&self) -> Option<(Place, &'static str)> {
        match self {
            SimProblem::DuplicateSellerSku { first_at, .. } => Some((
                *first_at,
                "the first inventory SKU's seller SKU is made here",
            )),
            SimProblem::SellerSkuInTwoPolicies { first_at, .. } => {
                Some((*first_at, "the first policy writes it here"))
            }
            SimProblem::PoliciesDisagree { first_at, .. } => {
                Some((*first_at, "the other policy says it here"))
            }
            _ => None,
        }
    }
}

/// Line and column of a place in the policies simulated (`files`, in the order planned), each
/// file's line index made once, when a problem in it is first rendered.
struct Locator<'a> {
    files: &'a [&'a SourceFile],
    index: Vec<Option<LineIndex>>,
}

/// A place as the records give it: file, then start and end line and column (1-based).
struct Located {
    file: String,
    start: (usize, usize),
    end: (usize, usize),
}

impl<'a> Locator<'a> {
    fn new(files: &'a [&'a SourceFile]) -> Self {
        Locator {
            files,
            index: files.iter().map(|_| None).collect(),
        }
    }

    /// The place's file and its line and column; a policy not in `files` (not read from one)
    /// is reported at line 1 of the first.
    fn locate(&mut self, place: Place) -> Located {
        let Some(file) = self.files.get(place.policy()) else {
            return Located {
                file: self
                    .files
                    .first()
                    .map(|f| f.name.clone())
                    .unwrap_or_default(),
                start: (1, 1),
                end: (1, 1),
            };
        };
        let index = self.index[place.policy()].get_or_insert_with(|| LineIndex::new(&file.text));
        // A span past the text (a policy other than this file's) is clamped to it.
        let span = place.span();
        let end = span.end.min(file.text.len());
        let start = span.start.min(end);
        Located {
            file: file.name.clone(),
            start: index.line_col(&file.text, start),
            end: index.line_col(&file.text, end),
        }
    }
}

impl SimError {
    /// Every problem as the records check's diagnostics are rendered from (JSON, GitHub
    /// annotations, SARIF), at the clause of the policy that caused it: `files` are the
    /// policies simulated, in the order planned (one for a single run). A problem of two
    /// places (two policies, two templates) is at the second; the first is its related
    /// location (SARIF's `relatedLocations`) and is named in the message.
    pub fn records(&self, files: &[&SourceFile]) -> Vec<JsonDiagnostic> {
        let mut at = Locator::new(files);
        self.problems
            .iter()
            .map(|p| {
                let (mut message, help) = p.message_and_help();
                let here = at.locate(p.place());
                // Two inventory SKUs of one rule share its template: one place, said once.
                let related: Vec<Related> = p
                    .related()
                    .filter(|(place, _)| *place != p.place())
                    .map(|(place, text)| {
                        let there = at.locate(place);
                        message.push_str(&format!(
                            " ({text}: {}:{}:{})",
                            there.file, there.start.0, there.start.1
                        ));
                        Related {
                            file: there.file,
                            line: there.start.0,
                            column: there.start.1,
                            end_line: there.end.0,
                            end_column: there.end.1,
                            message: text.to_string(),
                        }
                    })
                    .into_iter()
                    .collect();
                JsonDiagnostic {
                    file: here.file,
                    code: p.code().to_string(),
                    severity: Severity::Error,
                    message,
                    help,
                    line: here.start.0,
                    column: here.start.1,
                    end_line: here.end.0,
                    end_column: here.end.1,
                    related,
                }
            })
            .collect()
    }

    /// The text for standard error: each problem as `Display` writes it, with the place in the
    /// policy (`--> file:line:column`) after its message.
    pub fn human(&self, files: &[&SourceFile]) -> String {
        let mut out = String::new();
        for r in self.records(files) {
            out.push_str(&format!(
                "error[{}]: {}\n  --> {}:{}:{}\n",
                r.code, r.message, r.file, r.line, r.column
            ));
            if let Some(h) = &r.help {
                out.push_str(&format!("  help: {h}\n"));
            }
        }
        if self.more > 0 {
            out.push_str(&format!("... and {} more\n", self.more));
        }
        out
    }
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.problems {
            writeln!(f, "error[{}]: {p}", p.code())?;
        }
        if self.more > 0 {
            writeln!(f, "... and {} more", self.more)?;
        }
        Ok(())
    }
}

impl std::error::Error for SimError {}

/// Collects problems up to the limit.
#[derive(Debug, Default)]
pub struct Problems {
    pub list: Vec<SimProblem>,
    pub more: usize,
}

impl Problems {
    pub fn push(&mut self, p: SimProblem) {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(p);
        } else {
            self.more += 1;
        }
    }

    pub fn into_result(self) -> Result<(), SimError> {
        if self.list.is_empty() {
            Ok(())
        } else {
            Err(SimError {
                problems: self.list,
                more: self.more,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> SourceFile {
        SourceFile {
            name: name.into(),
            text: text.into(),
        }
    }

    /// The place of `needle` in `text`, in policy `policy`.
    fn place(policy: usize, text: &str, needle: &str) -> Place {
        let i = text.find(needle).expect("needle");
        Place::new(policy, Span::new(i, i + needle.len()))
    }

    #[test]
    fn a_record_is_at_its_place_in_its_policys_file() {
        let a = file(
            "a.allot",
            "policy \"a\"\nrule \"r\" {\n  publish US by location { wh 100% }\n}\n",
        );
        let b = file(
            "b.allot",
            "policy \"b\"\n\nrule \"s\" {\n  publish US as \"{sku}\"\n}\n",
        );
        let e = SimError {
            problems: vec![
                // Checked policies never reach these two: hand-built ones (and tests) do.
                SimProblem::NoSupplySource {
                    location: "wh".into(),
                    rule: "r".into(),
                    at: place(0, &a.text, "by location { wh 100% }"),
                },
                SimProblem::BadTestStock {
                    message: "bad".into(),
                    at: place(1, &b.text, "\"s\""),
                },
                // Not read from a file: line 1 of the first.
                SimProblem::Overflow {
                    message: "too much".into(),
                    at: Place::new(7, Span::new(3, 4)),
                },
            ],
            more: 0,
        };
        let r = e.records(&[&a, &b]);
        let got: Vec<(&str, usize, usize, usize, usize)> = r
            .iter()
            .map(|r| (r.file.as_str(), r.line, r.column, r.end_line, r.end_column))
            .collect();
        assert_eq!(
            got,
            [
                ("a.allot", 3, 14, 3, 37),
                ("b.allot", 3, 6, 3, 9),
                ("a.allot", 1, 1, 1, 1)
            ]
        );
        let human = e.human(&[&a, &b]);
        assert!(
            human.starts_with("error[allot::sim::no-supply-source]: rule \"r\" publishes by location to `wh`, which has no supply source\n  --> a.allot:3:14\n  help: declare"),
            "{human}"
        );
    }

    #[test]
    fn a_problem_of_two_places_names_the_first_and_relates_it_in_sarif() {
        let a = file(
            "a.allot",
            "policy \"a\"\nrule \"r\" {\n  publish US as \"{column:a}\"\n}\n",
        );
        let b = file(
            "b.allot",
            "policy \"b\"\nrule \"s\" {\n  publish US as \"{column:b}\"\n}\n",
        );
        let e = SimError::one(SimProblem::SellerSkuInTwoPolicies {
            seller_sku: "X".into(),
            region: Region::NA,
            first: "a".into(),
            second: "b".into(),
            at: place(1, &b.text, "\"{column:b}\""),
            first_at: place(0, &a.text, "\"{column:a}\""),
        });
        let r = e.records(&[&a, &b]);
        assert_eq!(
            (r[0].file.as_str(), r[0].line, r[0].column),
            ("b.allot", 3, 17)
        );
        assert!(
            r[0].message
                .ends_with("(the first policy writes it here: a.allot:3:17)"),
            "{}",
            r[0].message
        );
        let sarif = crate::render::diagnostics::sarif(&r);
        let related = &sarif["runs"][0]["results"][0]["relatedLocations"][0];
        assert_eq!(
            related["physicalLocation"]["artifactLocation"]["uri"],
            "a.allot"
        );
        assert_eq!(related["physicalLocation"]["region"]["startLine"], 3);
        assert_eq!(related["physicalLocation"]["region"]["startColumn"], 17);
        // The JSON record keeps its documented fields only.
        let json = serde_json::to_value(&r[0]).unwrap();
        assert!(json.get("related").is_none(), "{json}");
    }
}
