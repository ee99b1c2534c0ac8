//! The planner's errors: building a plan from offers, reading and writing plan files, encoding.
//! Each names the file or seller SKU at fault and says how to fix it.

use std::path::PathBuf;

use miette::Diagnostic;
use thiserror::Error;

use crate::marketplaces::Region;

#[derive(Debug, Error, Diagnostic)]
pub enum PlanError {
    #[error("the seller ID is empty")]
    #[diagnostic(
        code = "allot::plan::no-seller-id",
        help(
            "set `seller` in the policy to your Merchant ID (Seller Central: Settings → Account Info)"
        )
    )]
    NoSellerId,

    #[error(
        "seller SKU `{seller_sku}` ({region}) is written twice with different channels: {first} and {second}"
    )]
    #[diagnostic(
        code = "allot::plan::sku-conflict",
        help(
            "Amazon keeps one quantity per seller SKU per region, so only one of these would survive; give each a different seller SKU (e.g. `sku \"{{sku}}-{{marketplace}}\"`) or let one rule decide"
        )
    )]
    SkuConflict {
        seller_sku: String,
        region: Region,
        /// The first write: its channels, inventory SKU and rule.
        first: String,
        second: String,
    },

    #[error(
        "offer `{seller_sku}` (inventory SKU `{inventory_sku}`, rule `{rule}`) cannot be planned: {reason}"
    )]
    #[diagnostic(
        code = "allot::plan::invalid-offer",
        help(
            "this is a bug in the simulator's output; please report it with the policy and inventory"
        )
    )]
    InvalidOffer {
        seller_sku: String,
        inventory_sku: String,
        rule: String,
        reason: String,
    },

    #[error(
        "offer `{seller_sku}` (inventory SKU `{inventory_sku}`, rule `{rule}`) would publish {quantity} on channel `{channel}`; Amazon accepts at most {max}"
    )]
    #[diagnostic(
        code = "allot::plan::quantity-too-large",
        help(
            "check the inventory's on_hand for this SKU (a unit or export error?), or add a `cap` to the rule"
        )
    )]
    QuantityTooLarge {
        seller_sku: String,
        inventory_sku: String,
        rule: String,
        channel: String,
        quantity: u64,
        max: u64,
    },

    #[error(
        "seller SKU `{seller_sku}` cannot be written by a Listings Items PATCH: HTTP clients and servers remove the path segment `.` or `..`, so the request would address another path"
    )]
    #[diagnostic(
        code = "allot::plan::sku-not-addressable",
        help(
            "plan with `--emit feed` (or the default `--emit auto`, which chooses feeds for such a SKU): a JSON_LISTINGS_FEED names the SKU in its body"
        )
    )]
    SkuNotAddressable { seller_sku: String },

    #[error("the plan has {count} operations; at most {max} fit in one plan")]
    #[diagnostic(
        code = "allot::plan::too-many-operations",
        help("split the inventory or the policy into several plans")
    )]
    TooManyOperations { count: usize, max: usize },

    #[error("cannot read plan file {path}: {source}")]
    #[diagnostic(
        code = "allot::plan::read",
        help("check the path; a plan is written by `allot plan ... --out PATH`")
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot write plan file {path}: {source}")]
    #[diagnostic(
        code = "allot::plan::write",
        help("check that the folder exists and is writable; nothing was written")
    )]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{path} is not a plan file: {reason}")]
    #[diagnostic(
        code = "allot::plan::corrupt",
        help(
            "the file is damaged or is not a plan: re-create it with `allot plan ... --out {}`",
            path.display()
        )
    )]
    Corrupt { path: PathBuf, reason: String },

    #[error(
        "{path} has plan format {found}, which this allot does not understand (it reads {supported}.x)"
    )]
    #[diagnostic(
        code = "allot::plan::unsupported-version",
        help(
            "use the allot version that wrote the plan, or re-create the plan with this one: `allot plan ... --out {}`",
            path.display()
        )
    )]
    UnsupportedVersion {
        path: PathBuf,
        found: String,
        supported: String,
    },

    #[error(
        "{path} was changed after it was written: its digest is {recorded} but its content hashes to {actual}"
    )]
    #[diagnostic(
        code = "allot::plan::digest-mismatch",
        help(
            "a plan is applied exactly as reviewed, so it must not be edited by hand: change the policy or the inventory and re-create it with `allot plan ... --out {}`",
            path.display()
        )
    )]
    DigestMismatch {
        path: PathBuf,
        recorded: String,
        actual: String,
    },

    #[error("cannot read plan file {path}: a temporary file could not be written: {source}")]
    #[diagnostic(
        code = "allot::plan::scratch",
        help(
            "to find a seller SKU written twice in a large plan, the reader writes 8 bytes per operation (80 MB for 10M operations) to a temporary file in TMPDIR (or /tmp), and that file could not be written (the disk is full?): make room there, or set TMPDIR to a folder with room"
        )
    )]
    Scratch {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{path} changed while it was being read (its bytes differ between two passes)")]
    #[diagnostic(
        code = "allot::plan::changed-while-reading",
        help(
            "something wrote the plan while allot read it; run again once it is finished (a plan is not edited after it is written)"
        )
    )]
    ChangedWhileReading { path: PathBuf },

    #[error("the plan's digest does not match its content (it was changed after it was built)")]
    #[diagnostic(
        code = "allot::plan::unsealed",
        help("call `plan::seal` after changing a plan in code, before writing it")
    )]
    Unsealed,

    #[error("the run stopped before the plan was complete: nothing was saved")]
    #[diagnostic(
        code = "allot::plan::incomplete",
        help("the reason is reported above; fix it and run `allot plan ... --out PATH` again")
    )]
    Incomplete,

    #[error("the plan's input files changed since it was made:\n{}", list(.problems))]
    #[diagnostic(
        code = "allot::plan::stale-inputs",
        help(
            "the plan no longer reflects these files: re-create it with `allot plan ... --out PATH`, review it, then apply the new plan (relative paths are read from the current directory: run from where the plan was made)"
        )
    )]
    StaleInputs { problems: Vec<String> },

    #[error(
        "region {region} has {count} marketplace IDs; one JSON_LISTINGS_FEED submission names at most {max}"
    )]
    #[diagnostic(
        code = "allot::plan::too-many-marketplaces",
        help(
            "split the policy so each plan lists at most {max} marketplaces per region, or use `--emit patch`"
        )
    )]
    TooManyMarketplaces {
        region: Region,
        count: usize,
        max: usize,
    },

    #[error(
        "the feed message for seller SKU `{seller_sku}` is {bytes} bytes; a feed document holds at most {max} bytes"
    )]
    #[diagnostic(
        code = "allot::plan::message-too-large",
        help("send this plan with `--emit patch`")
    )]
    MessageTooLarge {
        seller_sku: String,
        bytes: usize,
        max: usize,
    },
}

fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use crate::model::Summary;
    use miette::Diagnostic as _;

    /// The one plan error no other test makes: more operations than a plan holds, refused at
    /// the header (a plan that large cannot be built in a test, so the tally is told so).
    #[test]
    fn too_many_operations_is_refused_at_the_header() {
        let mut tally = Tally::new(false);
        tally.count = MAX_OPERATIONS + 1;
        let opts = crate::plan::tests::opts(EmitChoice::Patch);
        let e = tally
            .header("p", "A2EXAMPLE", &Summary::default(), &[], opts)
            .unwrap_err();
        assert!(matches!(e, PlanError::TooManyOperations { .. }), "{e}");
        assert_eq!(
            e.code().map(|c| c.to_string()).as_deref(),
            Some("allot::plan::too-many-operations")
        );
        assert!(e.help().is_some());
    }
}
