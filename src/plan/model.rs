//! The saved plan (`allot plan --out plan.json`): what `plan` writes, `show` renders and `apply`
//! sends. Versioned by `format_version` (major.minor): an unknown major is refused, unknown fields
//! of a known major are ignored. See docs/plan-format.md.

use serde::{Deserialize, Serialize};

use crate::amazon::PatchOp;
use crate::marketplaces::Region;
use crate::model::ChannelQty;
pub use crate::model::Summary;

pub const FORMAT_VERSION: &str = "1.0";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: String,
    /// The seller (Merchant ID) every operation writes for.
    pub seller_id: String,
    /// The policy's name.
    pub policy: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    pub inputs: Inputs,
    /// How `apply` sends the operations.
    pub emit: Emit,
    pub patch_op: PatchOp,
    /// `issueLocale` sent with requests and feeds, e.g. `en_US`.
    pub issue_locale: String,
    pub summary: Summary,
    /// The policy's locations, so `allot show` can name a supply source's channel as the
    /// preview does (`newark`, not its ID). Absent in plans that name no location. Before
    /// `operations`, as in the file (see [`PlanHeader`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<crate::model::Location>,
    pub operations: Vec<Operation>,
    /// SHA-256 (hex) of the canonical JSON of everything above; a hand edit breaks it.
    pub digest: String,
}

/// Everything in a plan but its operations and digest: what a streaming writer is given and a
/// streaming reader yields first. Field order is the file's: `locations` precedes `operations`
/// (as it does in the canonical form), so a reader can hash the file in one pass.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanHeader {
    pub format_version: String,
    pub seller_id: String,
    pub policy: String,
    pub created_at: String,
    pub inputs: Inputs,
    pub emit: Emit,
    pub patch_op: PatchOp,
    pub issue_locale: String,
    pub summary: Summary,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<crate::model::Location>,
}

impl Plan {
    /// A copy of everything but the operations and the digest.
    pub fn header(&self) -> PlanHeader {
        PlanHeader {
            format_version: self.format_version.clone(),
            seller_id: self.seller_id.clone(),
            policy: self.policy.clone(),
            created_at: self.created_at.clone(),
            inputs: self.inputs.clone(),
            emit: self.emit,
            patch_op: self.patch_op,
            issue_locale: self.issue_locale.clone(),
            summary: self.summary.clone(),
            locations: self.locations.clone(),
        }
    }

    pub fn from_parts(header: PlanHeader, operations: Vec<Operation>, digest: String) -> Plan {
        Plan {
            format_version: header.format_version,
            seller_id: header.seller_id,
            policy: header.policy,
            created_at: header.created_at,
            inputs: header.inputs,
            emit: header.emit,
            patch_op: header.patch_op,
            issue_locale: header.issue_locale,
            summary: header.summary,
            locations: header.locations,
            operations,
            digest,
        }
    }
}

/// An operation's fields, borrowed: from an [`Operation`], or straight from the offer that makes
/// it ([`super::op_ref`]) when a plan is encoded without building one per offer.
#[derive(Clone, Copy, Debug)]
pub struct OpRef<'a> {
    pub id: u32,
    pub seller_sku: &'a str,
    pub region: Region,
    pub marketplace_ids: &'a [String],
    pub channels: &'a [ChannelQty],
    pub previous: Option<&'a [ChannelQty]>,
    pub inventory_sku: &'a str,
    pub rule: &'a str,
}

impl Operation {
    pub fn as_ref(&self) -> OpRef<'_> {
        OpRef {
            id: self.id,
            seller_sku: &self.seller_sku,
            region: self.region,
            marketplace_ids: &self.marketplace_ids,
            channels: &self.channels,
            previous: self.previous.as_deref(),
            inventory_sku: &self.inventory_sku,
            rule: &self.rule,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Emit {
    /// One Listings Items PATCH per operation.
    Patch,
    /// JSON_LISTINGS_FEED documents, one or more per region.
    Feed,
}

/// The files the plan was made from, with their SHA-256, so apply can refuse a stale plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    pub policy: InputFile,
    /// The other policy files of a plan made from several policies of one seller, in the
    /// order given. Absent for a plan of one policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_policies: Vec<InputFile>,
    /// The inventory (the first, when several `--inventory` inputs were given). Its path is
    /// `-` when it was read from standard input: recorded, but apply cannot re-read it.
    pub inventory: InputFile,
    /// The other `--inventory` inputs, in the order given. Absent for one inventory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_inventory: Vec<InputFile>,
    /// Absent when no current listings were given (or `live`, which has no file to digest).
    pub current: Option<InputFile>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// As given on the command line; `-` is standard input.
    pub path: String,
    pub sha256: String,
}

impl InputFile {
    /// The path `allot plan` records for an input read from standard input.
    pub const STDIN: &'static str = "-";

    pub fn is_stdin(&self) -> bool {
        self.path == InputFile::STDIN
    }
}

impl Inputs {
    /// Every inventory input, in the order given.
    pub fn inventories(&self) -> impl Iterator<Item = &InputFile> {
        std::iter::once(&self.inventory).chain(&self.more_inventory)
    }
}

/// One write: every channel of one seller SKU in one region, in one request (Amazon never sees
/// half a change). Written once, whatever the number of marketplaces sharing it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// 1-based and unique within the plan; doubles as the feed `messageId`.
    pub id: u32,
    pub seller_sku: String,
    pub region: Region,
    /// Amazon marketplace IDs where the SKU is listed (the request names the first; the feed
    /// names all of the region's).
    pub marketplace_ids: Vec<String>,
    /// The full set of channels to write. Never empty; quantities are never null.
    pub channels: Vec<ChannelQty>,
    /// What the current listings showed, if known (for the preview and the journal).
    pub previous: Option<Vec<ChannelQty>>,
    /// The inventory SKU and rule that produced it (provenance for review).
    pub inventory_sku: String,
    pub rule: String,
}
