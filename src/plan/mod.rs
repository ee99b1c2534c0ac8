//! Stage 4: offers → saved plan (Listings Items PATCH requests or JSON_LISTINGS_FEED documents).
//!
//! `build` turns the preview's offer changes into one operation per seller SKU per region;
//! `write`/`read` keep it on disk with a digest, so `apply` sends exactly what was reviewed;
//! `encode` turns operations into the bytes Amazon receives. See docs/plan-format.md.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

pub mod encode;
mod error;
mod file;
pub mod model;
mod repeats;

pub use crate::amazon::PatchOp;
pub use error::PlanError;
pub use file::{
    Encoded, PlanFile, PlanJsonWriter, VerifiedPlan, parse, read, verify, verify_pinned, write,
    write_streaming, write_streaming_then,
};
pub use model::{Emit, FORMAT_VERSION, InputFile, Inputs, OpRef, Operation, Plan, PlanHeader};

use crate::marketplaces::Region;
use crate::model::{ChangeKind, ChannelQty, Offer, OfferChange, Summary};

/// How operations are to be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmitChoice {
    Patch,
    Feed,
    /// Feeds when the plan has more than [`AUTO_FEED_THRESHOLD`] operations, else patches.
    Auto,
}

/// Above this many operations, `--emit auto` chooses feeds.
///
/// patchListingsItem is limited to 5 requests a second (burst 5): 5,000 operations take about
/// 17 minutes, with a result per SKU as it goes. A JSON_LISTINGS_FEED carries up to 25,000
/// messages per document and 5 submissions per 5 minutes per region, but each feed waits in
/// Amazon's queue: minutes usually, up to hours under load. Up to 5,000 operations, patching is
/// about as fast as a feed's usual turnaround and reports every SKU at once; beyond it, patch time
/// grows linearly (18,000 ≈ 1 hour, 100,000 ≈ 5.5 hours) while a feed's stays roughly flat.
pub const AUTO_FEED_THRESHOLD: usize = 5_000;

/// Feed `messageId`s are at most 2^31 − 1, and operation IDs double as message IDs.
pub const MAX_OPERATIONS: usize = 2_147_483_647;

#[derive(Clone, Debug)]
pub struct BuildOptions {
    pub emit: EmitChoice,
    pub patch_op: PatchOp,
    /// Also write offers the current listings already show (`kind == Unchanged`).
    pub all: bool,
    pub issue_locale: String,
    pub inputs: Inputs,
    /// RFC 3339 UTC; passed in so a plan is reproducible (and snapshots are stable).
    pub created_at: String,
}

/// Builds the saved plan. Only offers that change (kind != Unchanged) unless `all`. One operation
/// per seller SKU per region, all its channels together; refuses (error) a seller SKU written
/// twice with different channels, even if one of the two writes is unchanged.
pub fn build(
    policy_name: &str,
    seller_id: &str,
    changes: &[OfferChange],
    summary: &Summary,
    opts: BuildOptions,
) -> Result<Plan, PlanError> {
    if seller_id.trim().is_empty() {
        return Err(PlanError::NoSellerId);
    }
    // (region, seller SKU) → index into `ops`; every change is checked for conflicts, written or not.
    let mut seen: HashMap<(Region, &str), usize> = HashMap::new();
    let mut ops: Vec<Operation> = Vec::new();
    // Whether the operation at the same index is to be written.
    let mut writes: Vec<bool> = Vec::new();
    for change in changes {
        // A held offer (FBA, not listed) is never written, `--all` or not.
        if change.hold.is_some() {
            continue;
        }
        let offer = &change.offer;
        validate_offer(change)?;
        let write = opts.all || change.kind != ChangeKind::Unchanged;
        match seen.get(&(offer.region, offer.seller_sku.as_str())) {
            Some(&i) => {
                let op = &mut ops[i];
                if op.channels != offer.channels {
                    return Err(PlanError::SkuConflict {
                        seller_sku: offer.seller_sku.clone(),
                        region: offer.region,
                        first: format!(
                            "{} (inventory SKU `{}`, rule `{}`)",
                            channels_text(&op.channels),
                            op.inventory_sku,
                            op.rule
                        ),
                        second: format!(
                            "{} (inventory SKU `{}`, rule `{}`)",
                            channels_text(&offer.channels),
                            offer.inventory_sku,
                            offer.rule
                        ),
                    });
                }
                // Same SKU, same channels: one write covers both; list every marketplace.
                for id in offer.marketplace_ids.iter() {
                    if !op.marketplace_ids.contains(id) {
                        op.marketplace_ids.push(id.clone());
                    }
                }
                if op.previous.is_none() {
                    op.previous = change.current.clone();
                }
                writes[i] |= write;
            }
            None => {
                seen.insert((offer.region, offer.seller_sku.as_str()), ops.len());
                // Ids are given once the operations to write are known.
                ops.push(operation_of(change, 0));
                writes.push(write);
            }
        }
    }
    let mut operations: Vec<Operation> = ops
        .into_iter()
        .zip(writes)
        .filter_map(|(op, w)| w.then_some(op))
        .collect();
    if operations.len() > MAX_OPERATIONS {
        return Err(PlanError::TooManyOperations {
            count: operations.len(),
            max: MAX_OPERATIONS,
        });
    }
    for (i, op) in operations.iter_mut().enumerate() {
        // Fits: checked against MAX_OPERATIONS (< u32::MAX) just above.
        op.id = u32::try_from(i + 1).unwrap_or(u32::MAX);
    }
    let unaddressable = operations
        .iter()
        .find(|o| unaddressable(&o.seller_sku))
        .map(|o| o.seller_sku.as_str());
    let emit = choose_emit(opts.emit, operations.len(), unaddressable)?;
    let mut plan = Plan {
        format_version: FORMAT_VERSION.to_string(),
        seller_id: seller_id.to_string(),
        policy: policy_name.to_string(),
        created_at: opts.created_at,
        inputs: opts.inputs,
        emit,
        patch_op: opts.patch_op,
        issue_locale: opts.issue_locale,
        summary: summary.clone(),
        operations,
        locations: Vec::new(),
        digest: String::new(),
    };
    seal(&mut plan);
    Ok(plan)
}

/// `.` and `..` are dot-segments: no PATCH path can address them (URL parsers remove even
/// `%2E`), while a feed names the SKU in its body.
fn unaddressable(seller_sku: &str) -> bool {
    seller_sku == "." || seller_sku == ".."
}

/// How a plan of `count` operations is sent; `unaddressable` is a seller SKU no PATCH can name.
fn choose_emit(
    choice: EmitChoice,
    count: usize,
    unaddressable: Option<&str>,
) -> Result<Emit, PlanError> {
    Ok(match choice {
        EmitChoice::Patch => {
            if let Some(sku) = unaddressable {
                return Err(PlanError::SkuNotAddressable {
                    seller_sku: sku.to_string(),
                });
            }
            Emit::Patch
        }
        EmitChoice::Feed => Emit::Feed,
        EmitChoice::Auto if count > AUTO_FEED_THRESHOLD => Emit::Feed,
        EmitChoice::Auto if unaddressable.is_some() => Emit::Feed,
        EmitChoice::Auto => Emit::Patch,
    })
}

/// The locations a plan names: those whose supply source some written channel is (enough for
/// `allot show` to name a channel as the preview does).
pub fn written_locations(
    locations: &[crate::model::Location],
    written: impl Fn(&str) -> bool,
) -> Vec<crate::model::Location> {
    locations
        .iter()
        .filter(|l| l.supply_source.as_deref().is_some_and(&written))
        .cloned()
        .collect()
}

/// [`build`] for a run whose offers stream by rather than stay in memory: a first run of the
/// simulator shows every offer to [`Tally::see`] (which checks each as `build` does and counts
/// the operations), [`Tally::header`] makes the plan's header, and a second run encodes each
/// offer's operation with an [`Encoder`], straight into a [`PlanFile`]. A run in parts
/// (`sim::run_chunks`) has a tally per part, added up in order ([`Tally::absorb`]). For one
/// policy only: the simulator has then already refused a seller
/// SKU made by two offers, the one case where `build` must look at two offers together.
#[derive(Debug, Default)]
pub struct Tally {
    all: bool,
    count: usize,
    unaddressable: Option<String>,
    /// Supply-source channel codes some operation writes.
    channels: std::collections::BTreeSet<String>,
    error: Option<PlanError>,
}

impl Tally {
    /// `all`: also write offers the current listings already show (`--all`).
    pub fn new(all: bool) -> Self {
        Tally {
            all,
            ..Tally::default()
        }
    }

    fn writes(&self, change: &OfferChange) -> bool {
        is_written(self.all, change)
    }

    /// One offer of the first run.
    pub fn see(&mut self, change: &OfferChange) {
        if self.error.is_some() || change.hold.is_some() {
            return;
        }
        if let Err(e) = validate_offer(change) {
            self.error = Some(e);
            return;
        }
        if !self.writes(change) {
            return;
        }
        self.count += 1;
        if self.unaddressable.is_none() && unaddressable(&change.offer.seller_sku) {
            self.unaddressable = Some(change.offer.seller_sku.clone());
        }
        for c in &change.offer.channels {
            if c.channel != crate::model::DEFAULT_CHANNEL && !self.channels.contains(&c.channel) {
                self.channels.insert(c.channel.clone());
            }
        }
    }

    /// The plan's header after the first run, or why there is no plan.
    pub fn header(
        &mut self,
        policy_name: &str,
        seller_id: &str,
        summary: &Summary,
        locations: &[crate::model::Location],
        opts: BuildOptions,
    ) -> Result<PlanHeader, PlanError> {
        if seller_id.trim().is_empty() {
            return Err(PlanError::NoSellerId);
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.count > MAX_OPERATIONS {
            return Err(PlanError::TooManyOperations {
                count: self.count,
                max: MAX_OPERATIONS,
            });
        }
        Ok(PlanHeader {
            format_version: FORMAT_VERSION.to_string(),
            seller_id: seller_id.to_string(),
            policy: policy_name.to_string(),
            created_at: opts.created_at,
            inputs: opts.inputs,
            emit: choose_emit(opts.emit, self.count, self.unaddressable.as_deref())?,
            patch_op: opts.patch_op,
            issue_locale: opts.issue_locale,
            summary: summary.clone(),
            locations: written_locations(locations, |code| self.channels.contains(code)),
        })
    }

    /// How many operations the plan has (after the first run).
    pub fn operations(&self) -> usize {
        self.count
    }

    /// Adds what a tally of the offers that follow this one's saw (a run in parts, see
    /// `sim::run_chunks`): the result is the tally of the offers of both.
    pub fn absorb(&mut self, later: Tally) {
        if self.error.is_some() {
            return;
        }
        self.error = later.error;
        self.count += later.count;
        if self.unaddressable.is_none() {
            self.unaddressable = later.unaddressable;
        }
        self.channels.extend(later.channels);
    }

    /// An encoder for the second run's offers from the one at run position `first` on: its
    /// operations are numbered from `first_id` (one more than the operations before it).
    pub fn encoder(&self, first_id: u32) -> Encoder {
        Encoder {
            all: self.all,
            next_id: first_id,
            ops: Encoded::default(),
        }
    }
}

/// The second run's offers as their operations' canonical text, numbered in run order (see
/// [`Tally`]), ready for [`PlanFile::encoded`].
#[derive(Debug)]
pub struct Encoder {
    all: bool,
    next_id: u32,
    ops: Encoded,
}

impl Encoder {
    pub fn see(&mut self, change: &OfferChange) {
        if is_written(self.all, change) {
            self.ops.push(&op_ref(change, self.next_id));
            self.next_id += 1;
        }
    }

    pub fn finish(self) -> Encoded {
        self.ops
    }
}

/// Whether a plan writes the offer: not held, and changed (or `--all`).
fn is_written(all: bool, change: &OfferChange) -> bool {
    change.hold.is_none() && (all || change.kind != ChangeKind::Unchanged)
}

/// One offer as the fields of the operation that writes it.
pub fn op_ref(change: &OfferChange, id: u32) -> OpRef<'_> {
    let offer = &change.offer;
    OpRef {
        id,
        seller_sku: &offer.seller_sku,
        region: offer.region,
        marketplace_ids: &offer.marketplace_ids,
        channels: &offer.channels,
        previous: change.current.as_deref(),
        inventory_sku: &offer.inventory_sku,
        rule: &offer.rule,
    }
}

/// One offer as the operation that writes it (`build` and `Tally` alike).
fn operation_of(change: &OfferChange, id: u32) -> Operation {
    let offer = &change.offer;
    Operation {
        id,
        seller_sku: offer.seller_sku.clone(),
        region: offer.region,
        marketplace_ids: offer.marketplace_ids.to_vec(),
        channels: offer.channels.clone(),
        previous: change.current.clone(),
        inventory_sku: offer.inventory_sku.clone(),
        rule: offer.rule.to_string(),
    }
}

/// The largest quantity Amazon accepts (the models' integer is 32-bit signed).
pub const MAX_QUANTITY: u64 = i32::MAX as u64;

/// What the planner relies on in an offer; the simulator guarantees it, this makes sure.
fn validate_offer(change: &OfferChange) -> Result<(), PlanError> {
    let offer = &change.offer;
    // Huge stock is an input problem (a unit or export error), not a simulator bug: say so.
    if let Some(c) = offer.channels.iter().find(|c| c.quantity > MAX_QUANTITY) {
        return Err(PlanError::QuantityTooLarge {
            seller_sku: offer.seller_sku.clone(),
            inventory_sku: offer.inventory_sku.clone(),
            rule: offer.rule.to_string(),
            channel: c.channel.clone(),
            quantity: c.quantity,
            max: MAX_QUANTITY,
        });
    }
    let bad = |reason: String| PlanError::InvalidOffer {
        seller_sku: offer.seller_sku.clone(),
        inventory_sku: offer.inventory_sku.clone(),
        rule: offer.rule.to_string(),
        reason,
    };
    if let Some(reason) = operation_problem(
        &offer.seller_sku,
        &offer.marketplace_ids,
        &offer.channels,
        change.current.as_deref(),
    ) {
        return Err(bad(reason));
    }
    Ok(())
}

/// The invariants of one operation (shared by `build` and `read`), or what breaks them.
fn operation_problem(
    seller_sku: &str,
    marketplace_ids: &[String],
    channels: &[ChannelQty],
    previous: Option<&[ChannelQty]>,
) -> Option<String> {
    if seller_sku.is_empty() {
        return Some("the seller SKU is empty".into());
    }
    let len = seller_sku.chars().count();
    if len > crate::model::MAX_SELLER_SKU_LEN {
        return Some(format!(
            "`seller_sku` is {len} characters; Amazon allows at most {}",
            crate::model::MAX_SELLER_SKU_LEN
        ));
    }
    if let Some(c) = seller_sku.chars().find(|c| c.is_control()) {
        return Some(format!("`seller_sku` contains the control character {c:?}"));
    }
    if marketplace_ids.is_empty() {
        return Some("it names no marketplace".into());
    }
    if marketplace_ids.iter().any(|m| m.is_empty()) {
        return Some("a marketplace ID is empty".into());
    }
    if channels.is_empty() {
        return Some("it has no channels (a write without quantities would deactivate it)".into());
    }
    for list in std::iter::once(channels).chain(previous) {
        for (i, c) in list.iter().enumerate() {
            if c.channel.is_empty() {
                return Some("a fulfillment channel code is empty".into());
            }
            if list[..i].iter().any(|d| d.channel == c.channel) {
                return Some(format!("channel `{}` is listed twice", c.channel));
            }
            if let Some(d) = c.lead_time_to_ship_max_days
                && d > crate::model::MAX_HANDLING_DAYS
            {
                return Some(format!(
                    "channel `{}` has `lead_time_to_ship_max_days` {d}, above Amazon's maximum {}",
                    c.channel,
                    crate::model::MAX_HANDLING_DAYS
                ));
            }
            if let Some(d) = &c.restock_date
                && !crate::model::is_iso_date(d)
            {
                return Some(format!(
                    "channel `{}` has `restock_date` {:?}, not a date written YYYY-MM-DD",
                    c.channel,
                    crate::diag::clip(d)
                ));
            }
            if c.quantity > MAX_QUANTITY {
                return Some(format!(
                    "channel `{}` has quantity {}, above Amazon's maximum {MAX_QUANTITY}",
                    c.channel, c.quantity
                ));
            }
        }
    }
    None
}

fn channels_text(channels: &[ChannelQty]) -> String {
    let parts: Vec<String> = channels
        .iter()
        .map(|c| format!("{} = {}", c.channel, c.quantity))
        .collect();
    format!("[{}]", parts.join(", "))
}

/// SHA-256 of a file, with the path as given.
pub fn digest_inputs(path: &Path) -> io::Result<InputFile> {
    let shown = path.to_str().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "the path {} is not valid UTF-8; a plan records input paths as text",
                path.display()
            ),
        )
    })?;
    Ok(InputFile {
        path: shown.to_string(),
        sha256: sha256_file(path)?,
    })
}

/// SHA-256 of bytes already read (standard input), recorded under `path`.
pub fn digest_bytes(path: &str, bytes: &[u8]) -> InputFile {
    InputFile {
        path: path.to_string(),
        sha256: hex::encode(Sha256::digest(bytes)),
    }
}

fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Sets `plan.digest` from its content. `build` does it; call it after changing a plan in code.
/// Hashed operation by operation, never holding the plan as one JSON value.
pub fn seal(plan: &mut Plan) {
    plan.digest = file::digest_of(&plan.header(), &plan.operations);
}

/// The digest of a plan's JSON object: SHA-256 (hex) of its canonical form without `digest`.
/// Canonical: object keys sorted by their UTF-8 bytes at every level, no whitespace, strings
/// escaped as serde_json (and Python's `json.dumps(..., ensure_ascii=False)`) escape them.
/// Computed on the JSON as read, so fields a newer minor version adds are covered too.
pub fn compute_digest(plan_json: &Value) -> String {
    let mut out = Vec::with_capacity(4096);
    write_canonical(plan_json, &mut out, Some("digest"));
    hex::encode(Sha256::digest(&out))
}

/// `value` as canonical JSON text (see [`compute_digest`]).
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out, None);
    // Built from serde_json output and ASCII punctuation: always UTF-8.
    String::from_utf8(out).expect("canonical JSON is UTF-8")
}

/// Writes canonical JSON without copying the value; `skip` is a top-level key to leave out.
fn write_canonical(value: &Value, out: &mut Vec<u8>, skip: Option<&str>) {
    match value {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().filter(|k| Some(k.as_str()) != skip).collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                scalar(k, out);
                out.push(b':');
                write_canonical(&m[k], out, None);
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(v, out, None);
            }
            out.push(b']');
        }
        other => scalar(other, out),
    }
}

/// A key or scalar with serde_json's escaping.
fn scalar<T: serde::Serialize + ?Sized>(v: &T, out: &mut Vec<u8>) {
    // Writing a string or a JSON scalar into a Vec cannot fail.
    serde_json::to_writer(out, v).expect("a JSON scalar always serializes into a Vec");
}

fn major(version: &str) -> &str {
    version.split('.').next().unwrap_or(version)
}

/// `1.0`, `1.12`: two runs of ASCII digits around one dot.
fn is_major_minor(version: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    version
        .split_once('.')
        .is_some_and(|(a, b)| digits(a) && digits(b))
}

/// How far in the future `created_at` may be: clocks of two machines disagree a little, but a
/// plan dated later would pass `--max-age` for as long as it stays in the future.
pub const CLOCK_SKEW: std::time::Duration = std::time::Duration::from_secs(300);

/// Re-hashes the input files named in the plan; lists every one that changed or vanished.
/// Relative paths are resolved from the current directory, as they were when the plan was made.
pub fn check_inputs(plan: &Plan) -> Result<(), PlanError> {
    check_input_files(&plan.inputs)
}

/// [`check_inputs`] from a plan's `inputs` alone (a streamed plan's header). An inventory read
/// from standard input cannot be read again: it is not checked here (see [`unverifiable`]).
pub fn check_input_files(inputs: &Inputs) -> Result<(), PlanError> {
    let files = std::iter::once(("policy", Some(&inputs.policy)))
        .chain(inputs.more_policies.iter().map(|p| ("policy", Some(p))))
        .chain(inputs.inventories().map(|p| ("inventory", Some(p))))
        .chain([("current listings", inputs.current.as_ref())]);
    let mut problems = Vec::new();
    for (what, file) in files {
        let Some(file) = file else { continue };
        if what == "inventory" && file.is_stdin() {
            continue;
        }
        match sha256_file(Path::new(&file.path)) {
            Ok(h) if h == file.sha256 => {}
            Ok(h) => problems.push(format!(
                "{what} file {} changed (sha256 was {}, is now {h})",
                file.path, file.sha256
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                problems.push(format!("{what} file {} is gone", file.path))
            }
            Err(e) => problems.push(format!("{what} file {} cannot be read: {e}", file.path)),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(PlanError::StaleInputs { problems })
    }
}

/// The inputs apply cannot check because they were read from standard input, in words.
pub fn unverifiable(inputs: &Inputs) -> Vec<String> {
    inputs
        .inventories()
        .filter(|f| f.is_stdin())
        .map(|f| {
            format!(
                "the inventory was read from standard input (sha256 {}): it cannot be read again, so apply cannot check that it is unchanged",
                f.sha256
            )
        })
        .collect()
}

/// The plan's operations as the preview's offer changes (for rendering a saved plan as the
/// preview did). Marketplace codes come from the built-in table; an unknown ID is shown as is.
pub fn offer_changes(plan: &Plan) -> Vec<OfferChange> {
    plan.operations.iter().map(offer_change).collect()
}

/// One operation as the preview's offer change; its kind by the simulator's own rule
/// ([`ChangeKind::of`]), so a row of `allot show` agrees with the plan's summary.
pub fn offer_change(op: &Operation) -> OfferChange {
    OfferChange {
        offer: Offer {
            seller_sku: op.seller_sku.clone(),
            region: op.region,
            marketplaces: op
                .marketplace_ids
                .iter()
                .map(|id| marketplace_code(id))
                .collect(),
            marketplace_ids: op.marketplace_ids.clone().into(),
            channels: op.channels.clone(),
            inventory_sku: op.inventory_sku.clone(),
            rule: op.rule.as_str().into(),
        },
        current: op.previous.clone(),
        kind: ChangeKind::of_list(&op.channels, op.previous.as_deref()),
        hold: None,
    }
}

/// The policy code of a marketplace ID (`UK` for `A1F83G8C2ARO7P`), or the ID if not built in.
pub fn marketplace_code(id: &str) -> String {
    crate::marketplaces::by_id(id).map_or_else(|| id.to_string(), |m| m.code)
}

#[cfg(test)]
pub(crate) mod tests;
