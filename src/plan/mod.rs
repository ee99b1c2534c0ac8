//! Stage 4: offers → saved plan (Listings Items PATCH requests or JSON_LISTINGS_FEED documents).
//!
//! `build` turns the preview's offer changes into one operation per seller SKU per region;
//! `write`/`read` keep it on disk with a digest, so `apply` sends exactly what was reviewed;
//! `encode` turns operations into the bytes Amazon receives. See docs/plan-format.md.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

pub mod encode;
mod error;
pub mod model;

pub use crate::amazon::PatchOp;
pub use error::PlanError;
pub use model::{Emit, FORMAT_VERSION, InputFile, Inputs, Operation, Plan};

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
                ops.push(Operation {
                    id: 0,
                    seller_sku: offer.seller_sku.clone(),
                    region: offer.region,
                    marketplace_ids: offer.marketplace_ids.to_vec(),
                    channels: offer.channels.clone(),
                    previous: change.current.clone(),
                    inventory_sku: offer.inventory_sku.clone(),
                    rule: offer.rule.to_string(),
                });
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
    // `.` and `..` are dot-segments: no PATCH path can address them (URL parsers remove even
    // `%2E`), while a feed names the SKU in its body.
    let unaddressable = operations
        .iter()
        .find(|o| o.seller_sku == "." || o.seller_sku == "..");
    let emit = match opts.emit {
        EmitChoice::Patch => {
            if let Some(o) = unaddressable {
                return Err(PlanError::SkuNotAddressable {
                    seller_sku: o.seller_sku.clone(),
                });
            }
            Emit::Patch
        }
        EmitChoice::Feed => Emit::Feed,
        EmitChoice::Auto if operations.len() > AUTO_FEED_THRESHOLD => Emit::Feed,
        EmitChoice::Auto if unaddressable.is_some() => Emit::Feed,
        EmitChoice::Auto => Emit::Patch,
    };
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
pub fn seal(plan: &mut Plan) {
    plan.digest = compute_digest(&plan_value(plan));
}

fn plan_value(plan: &Plan) -> Value {
    // A Plan is plain data (strings, integers, enums, maps with string keys): it always serializes.
    serde_json::to_value(plan).expect("a Plan always serializes to JSON")
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

/// Writes the plan as pretty JSON, atomically: a temporary file beside it, then a rename, so a
/// crash never leaves half a plan. Refuses a plan whose digest is stale (see [`seal`]).
pub fn write(plan: &Plan, path: &Path) -> Result<(), PlanError> {
    let value = plan_value(plan);
    if compute_digest(&value) != plan.digest {
        return Err(PlanError::Unsealed);
    }
    // A serde_json::Value has string keys only: printing it cannot fail.
    let mut text = serde_json::to_string_pretty(&value).expect("a JSON value always prints");
    text.push('\n');
    let err = |source: io::Error| PlanError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| {
        err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a file path",
        ))
    })?;
    let tmp = dir.join(format!(
        ".{}.{}-{:08x}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        fastrand::u32(..)
    ));
    let result = (|| {
        let mut f = File::create_new(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(err(e));
    }
    Ok(())
}

/// Reads a plan: parses it, refuses an unknown major `format_version` (fields a known major does
/// not know are ignored), verifies `digest` and the operations' invariants.
pub fn read(path: &Path) -> Result<Plan, PlanError> {
    let text = fs::read_to_string(path).map_err(|source| PlanError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// [`read`] on text already in memory; `path` is for messages.
pub fn parse(text: &str, path: &Path) -> Result<Plan, PlanError> {
    let corrupt = |reason: String| PlanError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let value: Value = serde_json::from_str(text).map_err(|e| {
        corrupt(format!(
            "invalid JSON at line {} column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    // serde_json keeps the last of two equal keys: `"quantity": 10, "quantity": 999` would be
    // read as 999 by us and as 10 by a reviewer's tool. A plan is refused rather than guessed.
    no_duplicate_keys(text).map_err(corrupt)?;
    let Value::Object(obj) = &value else {
        return Err(corrupt("it is not a JSON object".into()));
    };
    let version = match obj.get("format_version") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(corrupt("`format_version` is not a string".into())),
        None => return Err(corrupt("it has no `format_version`".into())),
    };
    if !is_major_minor(&version) {
        return Err(corrupt(format!(
            "`format_version` is `{version}`; it must be MAJOR.MINOR digits, like `{FORMAT_VERSION}`"
        )));
    }
    let supported_major = major(FORMAT_VERSION);
    if major(&version) != supported_major {
        return Err(PlanError::UnsupportedVersion {
            path: path.to_path_buf(),
            found: version,
            supported: supported_major.to_string(),
        });
    }
    let recorded = match obj.get("digest") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(corrupt("it has no `digest`".into())),
    };
    let actual = compute_digest(&value);
    if recorded != actual {
        return Err(PlanError::DigestMismatch {
            path: path.to_path_buf(),
            recorded,
            actual,
        });
    }
    let plan: Plan = serde_json::from_value(value)
        .map_err(|e| corrupt(format!("it does not match plan format {version}: {e}")))?;
    validate_plan(&plan).map_err(corrupt)?;
    Ok(plan)
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

/// A JSON object with two equal keys anywhere in `text`, as an error naming where.
fn no_duplicate_keys(text: &str) -> Result<(), String> {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_str(text);
    // Bounded: serde_json's own recursion limit (128) applies to this pass too.
    NoDuplicates { at: String::new() }
        .deserialize(&mut de)
        .map_err(|e| e.to_string())
}

/// Walks a JSON value, refusing an object with a key twice; `at` is the path for the message.
struct NoDuplicates {
    at: String,
}

impl<'de> serde::de::DeserializeSeed<'de> for NoDuplicates {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for NoDuplicates {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let at = if self.at.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.at)
            };
            if !seen.insert(key) {
                return Err(serde::de::Error::custom(format!(
                    "the key `{at}` appears twice (a JSON reader would silently keep one)"
                )));
            }
            map.next_value_seed(NoDuplicates { at })?;
        }
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        while seq
            .next_element_seed(NoDuplicates {
                at: format!("{}[{i}]", self.at),
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

fn validate_plan(plan: &Plan) -> Result<(), String> {
    if plan.seller_id.is_empty() {
        return Err("`seller_id` is empty".into());
    }
    let created = time::OffsetDateTime::parse(
        &plan.created_at,
        &time::format_description::well_known::Rfc3339,
    )
    .map_err(|_| format!("`created_at` `{}` is not an RFC 3339 time", plan.created_at))?;
    if created > time::OffsetDateTime::now_utc() + CLOCK_SKEW {
        return Err(format!(
            "`created_at` {} is in the future (more than {} minutes ahead of this clock); a \
             plan from the future would never count as too old",
            plan.created_at,
            CLOCK_SKEW.as_secs() / 60
        ));
    }
    let mut ids = std::collections::HashSet::new();
    let mut skus = std::collections::HashSet::new();
    for op in &plan.operations {
        if op.id == 0 || !ids.insert(op.id) {
            return Err(format!(
                "operation id {} is zero or used twice (seller SKU `{}`)",
                op.id, op.seller_sku
            ));
        }
        if op.id as usize > MAX_OPERATIONS {
            return Err(format!("operation id {} is too large", op.id));
        }
        if !skus.insert((op.region, op.seller_sku.as_str())) {
            return Err(format!(
                "seller SKU `{}` ({}) is written twice",
                op.seller_sku, op.region
            ));
        }
        if let Some(p) = operation_problem(
            &op.seller_sku,
            &op.marketplace_ids,
            &op.channels,
            op.previous.as_deref(),
        ) {
            return Err(format!(
                "operation {} (`{}`): {p}",
                op.id,
                op.seller_sku.escape_debug()
            ));
        }
        // A marketplace of another region would be written through the wrong endpoint. IDs
        // outside the built-in table (declared in a policy) cannot be checked here.
        for id in &op.marketplace_ids {
            if let Some(m) = crate::marketplaces::by_id(id).filter(|m| m.region != op.region) {
                return Err(format!(
                    "operation {} (`{}`): `marketplace_ids` names {id} ({}), which is in region \
                     {}, but `region` is {}",
                    op.id, op.seller_sku, m.code, m.region, op.region
                ));
            }
        }
    }
    Ok(())
}

/// Re-hashes the input files named in the plan; lists every one that changed or vanished.
/// Relative paths are resolved from the current directory, as they were when the plan was made.
pub fn check_inputs(plan: &Plan) -> Result<(), PlanError> {
    let inputs = &plan.inputs;
    let files = std::iter::once(("policy", Some(&inputs.policy)))
        .chain(inputs.more_policies.iter().map(|p| ("policy", Some(p))))
        .chain([
            ("inventory", Some(&inputs.inventory)),
            ("current listings", inputs.current.as_ref()),
        ]);
    let mut problems = Vec::new();
    for (what, file) in files {
        let Some(file) = file else { continue };
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

/// The plan's operations as the preview's offer changes (for rendering a saved plan as the
/// preview did). Marketplace codes come from the built-in table; an unknown ID is shown as is.
pub fn offer_changes(plan: &Plan) -> Vec<OfferChange> {
    plan.operations
        .iter()
        .map(|op| {
            let kind = match &op.previous {
                None => ChangeKind::New,
                Some(prev) if same_channels(prev, &op.channels) => ChangeKind::Unchanged,
                Some(_) if op.channels.iter().all(|c| c.quantity == 0) => ChangeKind::Zeroed,
                Some(_) => ChangeKind::Changed,
            };
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
                kind,
                hold: None,
            }
        })
        .collect()
}

/// The policy code of a marketplace ID (`UK` for `A1F83G8C2ARO7P`), or the ID if not built in.
pub fn marketplace_code(id: &str) -> String {
    crate::marketplaces::by_id(id).map_or_else(|| id.to_string(), |m| m.code)
}

fn same_channels(a: &[ChannelQty], b: &[ChannelQty]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    a == b
}

#[cfg(test)]
mod tests;
