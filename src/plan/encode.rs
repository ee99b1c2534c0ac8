//! Operations as Amazon receives them: Listings Items `patchListingsItem` requests and
//! JSON_LISTINGS_FEED documents, as the types the client sends ([`Request`], [`FeedDocument`],
//! from `crate::amazon`). Conformance to Amazon's schemas is tested in
//! tests/plan_conformance.rs.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Operation, Plan, PlanError};
use crate::amazon::feeds::{
    FEED_MAX_BYTES, FEED_MAX_MARKETPLACES, FEED_MAX_MESSAGES, FEED_VERSION, FeedDocument,
};
use crate::amazon::request::{Request, listings_item_path};
use crate::amazon::{ATTRIBUTE_PATH, PRODUCT_TYPE, PatchOp};
use crate::marketplaces::Region;

/// The patch that writes one operation's channels: `merge` (or `replace`) of
/// `fulfillment_availability` with every channel and its quantity, and its handling time and
/// restock date only when the policy sets them (so other plans' requests stay as they were).
fn patches(op_kind: PatchOp, op: &Operation) -> Value {
    let value: Vec<Value> = op.channels.iter().map(availability_entry).collect();
    json!([{"op": op_kind.name(), "path": ATTRIBUTE_PATH, "value": value}])
}

/// One `fulfillment_availability` entry (the product type schema's field names).
fn availability_entry(c: &crate::model::ChannelQty) -> Value {
    let mut v = json!({"fulfillment_channel_code": c.channel, "quantity": c.quantity});
    if let Value::Object(m) = &mut v {
        if let Some(d) = c.lead_time_to_ship_max_days {
            m.insert("lead_time_to_ship_max_days".into(), json!(d));
        }
        if let Some(d) = &c.restock_date {
            m.insert("restock_date".into(), json!(d));
        }
    }
    v
}

/// The `patchListingsItem` request for one operation.
///
/// `marketplaceIds` names only the operation's first marketplace: Amazon keeps one quantity per
/// seller + seller SKU and applies it in every marketplace where the SKU is listed, whichever
/// marketplace the request names (notes/spapi.md sec. 2); naming one keeps the request valid where
/// `maxItems: 1` still applies (it did for PATCH until recently, and still does for PUT/DELETE).
/// `validate_only` adds `mode=VALIDATION_PREVIEW`: Amazon checks the request without saving it.
pub fn patch_request(plan: &Plan, op: &Operation, validate_only: bool) -> Request {
    patch_request_for(
        &plan.seller_id,
        &plan.issue_locale,
        plan.patch_op,
        op,
        validate_only,
    )
}

/// [`patch_request`] from the plan's header fields it needs (a plan read one operation at a
/// time is not held).
pub fn patch_request_for(
    seller_id: &str,
    issue_locale: &str,
    patch_op: PatchOp,
    op: &Operation,
    validate_only: bool,
) -> Request {
    let path = listings_item_path(seller_id, &op.seller_sku);
    // `build` and `read` guarantee at least one marketplace ID; an empty value would be refused
    // by Amazon rather than applied anywhere unexpected.
    let marketplace = op.marketplace_ids.first().cloned().unwrap_or_default();
    let mut query = vec![
        ("marketplaceIds".to_string(), marketplace),
        ("issueLocale".to_string(), issue_locale.to_string()),
    ];
    if validate_only {
        query.push(("mode".to_string(), "VALIDATION_PREVIEW".to_string()));
    }
    Request {
        method: "PATCH".to_string(),
        path,
        query,
        body: json!({"productType": PRODUCT_TYPE, "patches": patches(patch_op, op)}),
    }
}

/// The feed documents for the whole plan: one set per region, split so that no document has more
/// than 25,000 messages or 10 MiB (compact serialization). An empty plan has no documents.
pub fn feed_documents(plan: &Plan) -> Result<Vec<FeedDocument>, PlanError> {
    feed_documents_with_limits(plan, FEED_MAX_MESSAGES, FEED_MAX_BYTES)
}

/// [`feed_documents`] with other limits (for tests).
pub fn feed_documents_with_limits(
    plan: &Plan,
    max_messages: usize,
    max_bytes: usize,
) -> Result<Vec<FeedDocument>, PlanError> {
    let splits = feed_splits_with_limits(plan, max_messages, max_bytes)?;
    Ok(splits.iter().map(|s| feed_document(plan, s)).collect())
}

/// Which operations go in which feed document, without the documents: what `allot apply`
/// checks before sending anything, then turns into documents one at a time as it sends them
/// ([`feed_document`]). A document's messages as JSON values take a few kilobytes each: a plan
/// of a million offers made into documents all at once took more memory than a CI runner has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedSplit {
    pub region: Region,
    /// For createFeed's `marketplaceIds`: every marketplace of the region the plan writes to.
    pub marketplace_ids: Vec<String>,
    /// The document's operations: indices into the plan's `operations`, in order.
    pub operations: Vec<usize>,
}

/// The split of [`feed_documents`]: the same documents, the same errors.
pub fn feed_splits(plan: &Plan) -> Result<Vec<FeedSplit>, PlanError> {
    feed_splits_with_limits(plan, FEED_MAX_MESSAGES, FEED_MAX_BYTES)
}

/// [`feed_splits`] with other limits (for tests).
pub fn feed_splits_with_limits(
    plan: &Plan,
    max_messages: usize,
    max_bytes: usize,
) -> Result<Vec<FeedSplit>, PlanError> {
    let mut by_region: BTreeMap<Region, Vec<usize>> = BTreeMap::new();
    for (i, op) in plan.operations.iter().enumerate() {
        by_region.entry(op.region).or_default().push(i);
    }
    // `{"header":…,"messages":[]}`: what a document costs before its messages.
    let base = json!({"header": feed_header(plan), "messages": []})
        .to_string()
        .len();
    let mut splits = Vec::new();
    for (region, indices) in by_region {
        let mut marketplace_ids: Vec<String> = Vec::new();
        for &i in &indices {
            for id in &plan.operations[i].marketplace_ids {
                if !marketplace_ids.contains(id) {
                    marketplace_ids.push(id.clone());
                }
            }
        }
        if marketplace_ids.len() > FEED_MAX_MARKETPLACES {
            return Err(PlanError::TooManyMarketplaces {
                region,
                count: marketplace_ids.len(),
                max: FEED_MAX_MARKETPLACES,
            });
        }
        let finish = |operations: Vec<usize>| FeedSplit {
            region,
            marketplace_ids: marketplace_ids.clone(),
            operations,
        };
        let mut operations: Vec<usize> = Vec::new();
        let mut bytes = base;
        for i in indices {
            let op = &plan.operations[i];
            let len = feed_message(plan, op).to_string().len();
            if base + len > max_bytes {
                return Err(PlanError::MessageTooLarge {
                    seller_sku: op.seller_sku.clone(),
                    bytes: len,
                    max: max_bytes,
                });
            }
            // A comma separates it from the previous message.
            let cost = len + usize::from(!operations.is_empty());
            if operations.len() == max_messages || bytes + cost > max_bytes {
                splits.push(finish(std::mem::take(&mut operations)));
                bytes = base;
            }
            bytes += len + usize::from(!operations.is_empty());
            operations.push(i);
        }
        if !operations.is_empty() {
            splits.push(finish(operations));
        }
    }
    Ok(splits)
}

/// The feed document of one split (from [`feed_splits`] of the same plan).
pub fn feed_document(plan: &Plan, split: &FeedSplit) -> FeedDocument {
    let ops = split
        .operations
        .iter()
        .filter_map(|&i| plan.operations.get(i));
    let (ids, messages): (Vec<u32>, Vec<Value>) =
        ops.map(|op| (op.id, feed_message(plan, op))).unzip();
    FeedDocument {
        region: split.region,
        marketplace_ids: split.marketplace_ids.clone(),
        operation_ids: ids,
        body: json!({"header": feed_header(plan), "messages": messages}),
    }
}

fn feed_header(plan: &Plan) -> Value {
    json!({
        "sellerId": plan.seller_id,
        "version": FEED_VERSION,
        "issueLocale": plan.issue_locale,
    })
}

/// One operation's message: its `messageId` is the operation's id.
fn feed_message(plan: &Plan, op: &Operation) -> Value {
    json!({
        "messageId": op.id,
        "sku": op.seller_sku,
        "operationType": "PATCH",
        "productType": PRODUCT_TYPE,
        "patches": patches(plan.patch_op, op),
    })
}
