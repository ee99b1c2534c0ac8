//! Operations as Amazon receives them: Listings Items `patchListingsItem` requests and
//! JSON_LISTINGS_FEED documents. Conformance to Amazon's schemas is tested in
//! tests/plan_conformance.rs.

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde_json::{Value, json};

use super::{Operation, Plan, PlanError};
use crate::amazon::PatchOp;
use crate::marketplaces::Region;

/// The product type sent with quantity-only patches: Amazon accepts the generic `PRODUCT` when
/// only offer attributes such as `fulfillment_availability` are patched.
pub const PRODUCT_TYPE: &str = "PRODUCT";
/// The attribute every operation writes.
pub const ATTRIBUTE_PATH: &str = "/attributes/fulfillment_availability";
/// Amazon's limits on one JSON_LISTINGS_FEED document.
pub const FEED_MAX_MESSAGES: usize = 25_000;
pub const FEED_MAX_BYTES: usize = 10_485_760;
/// createFeed names 1 to 25 marketplace IDs.
pub const FEED_MAX_MARKETPLACES: usize = 25;
pub const FEED_VERSION: &str = "2.0";
pub const FEED_TYPE: &str = "JSON_LISTINGS_FEED";
/// The content type for createFeedDocument and the upload (the same on both).
pub const FEED_CONTENT_TYPE: &str = "application/json; charset=UTF-8";

/// RFC 3986 unreserved characters stay; every other byte (`/`, space, `#`, `%`, `+`, non-ASCII
/// UTF-8 bytes, …) is percent-encoded, so any seller SKU is one path segment.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `s` percent-encoded as one query key or value.
pub fn encode_component(s: &str) -> String {
    utf8_percent_encode(s, PATH_SEGMENT).to_string()
}

/// `s` percent-encoded as one URL path segment. `.` and `..` are dot-segments that HTTP clients
/// and servers remove (RFC 3986 sec. 5.2.4), so a seller SKU `..` would address another path:
/// their dots are encoded (`%2E`), which no normalisation touches.
pub fn encode_segment(s: &str) -> String {
    if s == "." || s == ".." {
        return "%2E".repeat(s.len());
    }
    encode_component(s)
}

/// One HTTP request, before authentication. `path` is already percent-encoded; `query` values
/// are not (see [`HttpRequest::path_and_query`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Value,
}

impl HttpRequest {
    /// The path with its query string, every key and value percent-encoded.
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        let q: Vec<String> = self
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
            .collect();
        format!("{}?{}", self.path, q.join("&"))
    }
}

/// The patch that writes one operation's channels: `merge` (or `replace`) of
/// `fulfillment_availability` with every channel and its quantity.
fn patches(op_kind: PatchOp, op: &Operation) -> Value {
    let value: Vec<Value> = op
        .channels
        .iter()
        .map(|c| json!({"fulfillment_channel_code": c.channel, "quantity": c.quantity}))
        .collect();
    let op_name = match op_kind {
        PatchOp::Merge => "merge",
        PatchOp::Replace => "replace",
    };
    json!([{"op": op_name, "path": ATTRIBUTE_PATH, "value": value}])
}

/// The `patchListingsItem` request for one operation.
///
/// `marketplaceIds` names only the operation's first marketplace: Amazon keeps one quantity per
/// seller + seller SKU and applies it in every marketplace where the SKU is listed, whichever
/// marketplace the request names (notes/spapi.md sec. 2); naming one keeps the request valid where
/// `maxItems: 1` still applies (it did for PATCH until recently, and still does for PUT/DELETE).
/// `validate_only` adds `mode=VALIDATION_PREVIEW`: Amazon checks the request without saving it.
pub fn patch_request(plan: &Plan, op: &Operation, validate_only: bool) -> HttpRequest {
    let path = format!(
        "/listings/2021-08-01/items/{}/{}",
        encode_segment(&plan.seller_id),
        encode_segment(&op.seller_sku)
    );
    // `build` and `read` guarantee at least one marketplace ID; an empty value would be refused
    // by Amazon rather than applied anywhere unexpected.
    let marketplace = op.marketplace_ids.first().cloned().unwrap_or_default();
    let mut query = vec![
        ("marketplaceIds".to_string(), marketplace),
        ("issueLocale".to_string(), plan.issue_locale.clone()),
    ];
    if validate_only {
        query.push(("mode".to_string(), "VALIDATION_PREVIEW".to_string()));
    }
    HttpRequest {
        method: "PATCH".to_string(),
        path,
        query,
        body: json!({"productType": PRODUCT_TYPE, "patches": patches(plan.patch_op, op)}),
    }
}

/// One JSON_LISTINGS_FEED document and what createFeed needs with it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeedDocument {
    pub region: Region,
    /// For createFeed's `marketplaceIds`: every marketplace of the region the plan writes to.
    pub marketplace_ids: Vec<String>,
    /// The operations in this document, in order (each message's `messageId` is its id).
    pub operation_ids: Vec<u32>,
    /// The document. Its size limit is measured on `serde_json::to_vec(&body)` (compact): upload
    /// exactly those bytes.
    pub body: Value,
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
    let mut by_region: BTreeMap<Region, Vec<&Operation>> = BTreeMap::new();
    for op in &plan.operations {
        by_region.entry(op.region).or_default().push(op);
    }
    let header = json!({
        "sellerId": plan.seller_id,
        "version": FEED_VERSION,
        "issueLocale": plan.issue_locale,
    });
    // `{"header":…,"messages":[]}`: what a document costs before its messages.
    let base = json!({"header": header, "messages": []}).to_string().len();
    let mut docs = Vec::new();
    for (region, ops) in by_region {
        let mut marketplace_ids: Vec<String> = Vec::new();
        for op in &ops {
            for id in &op.marketplace_ids {
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
        let mut messages: Vec<Value> = Vec::new();
        let mut ids: Vec<u32> = Vec::new();
        let mut bytes = base;
        let finish = |messages: Vec<Value>, ids: Vec<u32>| FeedDocument {
            region,
            marketplace_ids: marketplace_ids.clone(),
            operation_ids: ids,
            body: json!({"header": header, "messages": messages}),
        };
        for op in ops {
            let message = json!({
                "messageId": op.id,
                "sku": op.seller_sku,
                "operationType": "PATCH",
                "productType": PRODUCT_TYPE,
                "patches": patches(plan.patch_op, op),
            });
            let len = message.to_string().len();
            if base + len > max_bytes {
                return Err(PlanError::MessageTooLarge {
                    seller_sku: op.seller_sku.clone(),
                    bytes: len,
                    max: max_bytes,
                });
            }
            // A comma separates it from the previous message.
            let cost = len + usize::from(!messages.is_empty());
            if messages.len() == max_messages || bytes + cost > max_bytes {
                docs.push(finish(
                    std::mem::take(&mut messages),
                    std::mem::take(&mut ids),
                ));
                bytes = base;
            }
            bytes += len + usize::from(!messages.is_empty());
            messages.push(message);
            ids.push(op.id);
        }
        if !messages.is_empty() {
            docs.push(finish(messages, ids));
        }
    }
    Ok(docs)
}
