//! Errors of the simulation: things the checker cannot see because they depend on the
//! inventory or the current listings (rendered seller SKUs, collisions between SKUs,
//! `on_missing error`, `on_fba error`).

use std::fmt;

use crate::diag::{JsonDiagnostic, Severity};
use crate::marketplaces::Region;

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
    },
    /// Two inventory SKUs would write the same seller SKU in one region.
    DuplicateSellerSku {
        seller_sku: String,
        region: Region,
        first: String,
        second: String,
        /// The inventory column the seller SKU was read from (`{column:NAME}`), if any.
        column: Option<String>,
    },
    /// One rule gives one seller SKU different quantities in two marketplaces of a region.
    SharedSkuConflict {
        seller_sku: String,
        inventory_sku: String,
        rule: String,
    },
    /// `on_missing error` and the SKU has no inventory row.
    MissingStock { inventory_sku: String, rule: String },
    /// `on_fba error` and Amazon fulfils the offer's seller SKU.
    FulfilledByAmazon {
        seller_sku: String,
        channel: String,
        rule: String,
    },
    /// A location of a split or a channel has no supply source.
    NoSupplySource { location: String, rule: String },
    /// A `test` block's stock is not valid.
    BadTestStock { message: String },
    /// Two policies of one seller (several files planned together) write one seller SKU.
    SellerSkuInTwoPolicies {
        seller_sku: String,
        region: Region,
        first: String,
        second: String,
    },
    /// Policies planned together differ where they must agree (seller, a location's source).
    PoliciesDisagree { message: String },
    /// `cap column "…"` (or buffer, threshold): the column is not in the inventory, or a SKU's
    /// value there is not a number it can take.
    BadColumnValue { message: String, help: String },
    /// A sum of quantities (a pool, units published, exposure) does not fit in a quantity:
    /// refused rather than wrapped or clamped to a number that would then be shown or written.
    Overflow { message: String },
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
            } => write!(
                f,
                "rule \"{rule}\" gives seller SKU `{seller_sku}` (from `{inventory_sku}`) different quantities in marketplaces of one region; Amazon keeps one quantity, the last write wins\n  help: give each marketplace its own seller SKU (`as \"{{sku}}-{{marketplace}}\"`)",
                inventory_sku = crate::diag::clip(inventory_sku),
                seller_sku = crate::diag::clip(seller_sku)
            ),
            SimProblem::MissingStock {
                inventory_sku,
                rule,
            } => write!(
                f,
                "inventory SKU `{inventory_sku}` has no inventory row and rule \"{rule}\" says `on_missing error`\n  help: add the SKU to the inventory, or use `on_missing skip` or `on_missing zero`",
                inventory_sku = crate::diag::clip(inventory_sku)
            ),
            SimProblem::FulfilledByAmazon {
                seller_sku,
                channel,
                rule,
            } => write!(
                f,
                "seller SKU `{seller_sku}` is fulfilled by Amazon ({channel}) and rule \"{rule}\" says `on_fba error`\n  help: convert the offer to merchant-fulfilled in Seller Central first, or use `on_fba skip` to leave it to Amazon",
                seller_sku = crate::diag::clip(seller_sku),
                channel = crate::diag::clip(channel)
            ),
            SimProblem::NoSupplySource { location, rule } => write!(
                f,
                "rule \"{rule}\" publishes by location to `{location}`, which has no supply source\n  help: declare `location {location} supply_source \"...\"`"
            ),
            SimProblem::BadTestStock { message } => write!(f, "{message}"),
            SimProblem::SellerSkuInTwoPolicies {
                seller_sku,
                region,
                first,
                second,
            } => write!(
                f,
                "policies \"{first}\" and \"{second}\" both write seller SKU `{seller_sku}` in {region}; Amazon keeps one quantity per seller SKU, so the last write would win\n  help: give each marketplace its own seller SKU (e.g. `UK as \"{{sku}}_UK\"` in one policy, `DE as \"{{sku}}_DE\"` in the other), or publish it from one policy; `allot check` on the files together shows where",
                seller_sku = crate::diag::clip(seller_sku),
                first = crate::diag::clip(first),
                second = crate::diag::clip(second)
            ),
            SimProblem::PoliciesDisagree { message } => write!(f, "{message}"),
            SimProblem::BadColumnValue { message, help } => {
                write!(f, "{message}\n  help: {help}")
            }
            SimProblem::Overflow { message } => write!(
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

impl SimError {
    /// Every problem as the records check's diagnostics are rendered from (JSON, GitHub
    /// annotations, SARIF), reported at `file` (the policy simulated): a simulation problem is
    /// about SKUs and rows, not a place in the policy, so line and column are 1.
    pub fn records(&self, file: &str) -> Vec<JsonDiagnostic> {
        self.problems
            .iter()
            .map(|p| {
                let (message, help) = p.message_and_help();
                JsonDiagnostic {
                    file: file.to_string(),
                    code: p.code().to_string(),
                    severity: Severity::Error,
                    message,
                    help,
                    line: 1,
                    column: 1,
                    end_line: 1,
                    end_column: 1,
                }
            })
            .collect()
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
