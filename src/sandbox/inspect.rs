//! Inspection and control endpoints under `/_sandbox/`, for tests and rehearsals. They need no
//! token, are never throttled or faulted, and are not in the request log.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::amazon::{ListingKey, PRODUCT_TYPE, amazon_channel_region, is_amazon_fulfilled};

use super::listings::{self, FaEntry};
use super::{Faults, Shared, add_request_id, error_response};

fn ok(v: Value) -> Response {
    let mut r = (StatusCode::OK, axum::Json(v)).into_response();
    add_request_id(r.headers_mut());
    r
}

fn bad(message: &str) -> Response {
    let mut r = error_response(StatusCode::BAD_REQUEST, "InvalidInput", message, None);
    add_request_id(r.headers_mut());
    r
}

/// `GET /_sandbox/state`: counts, Amazon's model (quantities and marketplaces), the other
/// listing data, feeds, reports, supply sources and documents (without their bytes).
pub async fn state(State(shared): State<Arc<Shared>>) -> Response {
    let inner = shared.lock();
    let s = &inner.state;
    let items: Vec<Value> = s
        .items
        .iter()
        .map(|(k, i)| {
            let mut v = serde_json::to_value(k).unwrap_or(Value::Null);
            if let (Some(o), Ok(Value::Object(d))) = (v.as_object_mut(), serde_json::to_value(i)) {
                o.extend(d);
            }
            v
        })
        .collect();
    let documents: Vec<Value> = s
        .documents
        .values()
        .map(|d| {
            json!({
                "id": d.id,
                "kind": d.kind,
                "contentType": d.content_type,
                "uploaded": d.content.is_some(),
                "size": d.content.as_ref().map_or(0, Vec::len),
                "gzip": d.gzip,
            })
        })
        .collect();
    // Counts a rehearsal checks: FBA offers, FBA offers a seller write gave a merchant
    // DEFAULT offer beside (two offers for one SKU), and ghost offer-only listings.
    let fba = s.amazon.listings.values().filter(|l| l.is_fba());
    let fba_with_default = fba
        .clone()
        .filter(|l| l.channels.contains_key(crate::model::DEFAULT_CHANNEL))
        .count();
    let summary = json!({
        "listings": s.amazon.listings.len(),
        "fba": fba.count(),
        "fba_with_default": fba_with_default,
        "offer_only": s.items.values().filter(|i| i.offer_only).count(),
    });
    ok(json!({
        "summary": summary,
        "amazon": s.amazon,
        "items": items,
        "feeds": s.feeds.values().collect::<Vec<_>>(),
        "reports": s.reports.values().collect::<Vec<_>>(),
        "supplySources": s.supply_sources.values().collect::<Vec<_>>(),
        "documents": documents,
    }))
}

#[derive(Deserialize)]
pub struct Since {
    since: Option<u64>,
}

/// `GET /_sandbox/requests[?since=SEQ]`: the last SP-API requests (and feed messages) in
/// order, at most the log limit; the headers say the limit and the first `seq` still kept.
pub async fn requests(State(shared): State<Arc<Shared>>, Query(q): Query<Since>) -> Response {
    let inner = shared.lock();
    let since = q.since.unwrap_or(0);
    let log: Vec<_> = inner.state.log.iter().filter(|e| e.seq > since).collect();
    let mut r = ok(json!(log));
    let first = inner
        .state
        .log
        .front()
        .map_or(inner.state.log_seq + 1, |e| e.seq);
    for (name, value) in [
        ("x-sandbox-log-limit", inner.log_limit() as u64),
        ("x-sandbox-log-first-seq", first),
    ] {
        r.headers_mut().insert(name, value.into());
    }
    r
}

fn not_saved() -> Response {
    let o = super::not_saved();
    let mut r = (o.status, axum::Json(o.body)).into_response();
    add_request_id(r.headers_mut());
    r
}

/// `POST /_sandbox/reset`: forget listings, feeds, reports, supply sources, documents, the log
/// and the rate buckets.
/// Issued tokens stay valid, so a client can go on.
pub async fn reset(State(shared): State<Arc<Shared>>) -> Response {
    {
        let mut inner = shared.lock();
        for t in inner.tasks.drain(..) {
            t.abort();
        }
        let tokens = std::mem::take(&mut inner.state.tokens);
        // Sequence numbers go on, so `?since=` stays meaningful across a reset.
        let log_seq = inner.state.log_seq;
        inner.state = super::SandboxState::new();
        inner.state.tokens = tokens;
        inner.state.log_seq = log_seq;
        inner.limits.reset();
    }
    let v = shared.mark_dirty();
    if !shared.persisted(v).await {
        return not_saved();
    }
    ok(json!({ "reset": true }))
}

/// Body of `PUT /_sandbox/listings`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedRequest {
    pub seller_id: String,
    pub listings: Vec<SeedListing>,
}

/// One listing to seed: listed in `marketplace_ids` (one region), with these channels.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedListing {
    pub sku: String,
    pub marketplace_ids: Vec<String>,
    /// `[{fulfillmentChannelCode, quantity}]`, as getListingsItem shows it.
    #[serde(default)]
    pub fulfillment_availability: Vec<SeedChannel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_type: Option<String>,
    /// Other attributes, stored as given.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
    /// Seed an incomplete, unbuyable listing, as a PATCH of an unknown SKU leaves it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub offer_only: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedChannel {
    pub fulfillment_channel_code: String,
    pub quantity: u64,
}

/// What a seed file or body must look like (for error messages).
pub const SEED_SHAPE: &str = r#"{"sellerId": "...", "listings": [{"sku": "...", "marketplaceIds": ["ATVPDKIKX0DER"], "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 5}]}]}"#;

/// Create or replace the listings of `req`. Everything is checked first: one bad entry seeds
/// nothing. Returns the number of listings seeded.
pub(crate) fn apply_seed(
    state: &mut super::SandboxState,
    req: &SeedRequest,
) -> Result<usize, String> {
    if req.seller_id.is_empty() {
        return Err("'sellerId' must not be empty.".into());
    }
    let mut plan = Vec::new();
    for (i, l) in req.listings.iter().enumerate() {
        let n = i + 1;
        if l.sku.is_empty() {
            return Err(format!("listings[{n}]: 'sku' must not be empty."));
        }
        if let Err(o) = listings::check_sku(&l.sku) {
            let msg = o.body["errors"][0]["message"]
                .as_str()
                .unwrap_or("Invalid 'sku'.");
            return Err(format!("listings[{n}]: {msg}"));
        }
        let region = listings::resolve(&l.marketplace_ids, None).map_err(|o| {
            let msg = o.body["errors"][0]["message"].as_str().unwrap_or("invalid");
            format!("listings[{n}] ({}): {msg}", l.sku)
        })?;
        let mut seen = std::collections::BTreeSet::new();
        for c in &l.fulfillment_availability {
            let code = &c.fulfillment_channel_code;
            if code.is_empty() || !seen.insert(code) {
                return Err(format!(
                    "listings[{n}] ({}): each fulfillmentChannelCode must be non-empty and appear once.",
                    l.sku
                ));
            }
            // An FBA code names one region's fulfilment network.
            if is_amazon_fulfilled(code) && amazon_channel_region(code) != Some(region) {
                return Err(format!(
                    "listings[{n}] ({}): '{code}' is not the Fulfilled-by-Amazon channel of region {region} (AMAZON_NA, AMAZON_EU, AMAZON_FE or AMAZON_JP, by region).",
                    l.sku
                ));
            }
        }
        let key = ListingKey {
            seller_id: req.seller_id.clone(),
            region,
            seller_sku: l.sku.clone(),
        };
        let fa: Vec<FaEntry> = l
            .fulfillment_availability
            .iter()
            .map(|c| FaEntry {
                channel: c.fulfillment_channel_code.clone(),
                quantity: Some(c.quantity),
                extras: Map::new(),
            })
            .collect();
        plan.push((key, l, fa));
    }
    let n = plan.len();
    for (key, l, fa) in plan {
        let pt = l.product_type.as_deref().unwrap_or(PRODUCT_TYPE);
        listings::apply_put(
            state,
            &key,
            &l.marketplace_ids,
            pt,
            l.attributes.clone(),
            Some(fa),
        );
        // A seed says what Amazon holds, FBA channels included, which a seller write (the PUT
        // above) never sets: put the channels in place as given.
        if let Some(listing) = state.amazon.listings.get_mut(&key) {
            listing.channels = l
                .fulfillment_availability
                .iter()
                .map(|c| (c.fulfillment_channel_code.clone(), c.quantity))
                .collect();
        }
        if let Some(item) = state.items.get_mut(&key) {
            item.offer_only = l.offer_only;
        }
    }
    Ok(n)
}

/// `PUT /_sandbox/listings`: create or replace listings (for `--current live` tests). Each
/// listing's channels replace what the key had; nothing is in the request log.
pub async fn seed(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let req: SeedRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return bad(&format!(
                "The seed body is not valid: {e}. Expected {SEED_SHAPE}"
            ));
        }
    };
    let result = apply_seed(&mut shared.lock().state, &req);
    match result {
        Ok(n) => {
            let v = shared.mark_dirty();
            if !shared.persisted(v).await {
                return not_saved();
            }
            ok(json!({ "seeded": n }))
        }
        Err(e) => bad(&e),
    }
}

/// `GET /_sandbox/faults`.
pub async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    let f = shared.lock().faults.clone();
    ok(serde_json::to_value(f).unwrap_or(Value::Null))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsPatch {
    fail_rate: Option<f64>,
    drop_rate: Option<f64>,
    latency_ms: Option<u64>,
    drop_after_apply: Option<bool>,
    /// Replaces the script of faults for the next requests.
    next: Option<Vec<super::NextFault>>,
}

/// `PUT /_sandbox/faults`: change fault injection while running (fields optional).
pub async fn set_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let p: FaultsPatch = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => {
            return bad(&format!(
                "Invalid faults body: {e}. Fields: fail_rate, drop_rate (0.0 to 1.0), latency_ms, drop_after_apply, next (a list of \"429\", \"500\", \"503\", \"drop-after\", \"drop-before\", \"pass\")."
            ));
        }
    };
    for v in [p.fail_rate, p.drop_rate].into_iter().flatten() {
        if !(0.0..=1.0).contains(&v) {
            return bad("fail_rate and drop_rate must be between 0.0 and 1.0.");
        }
    }
    let mut inner = shared.lock();
    let f: &mut Faults = &mut inner.faults;
    if let Some(v) = p.fail_rate {
        f.fail_rate = v;
    }
    if let Some(v) = p.drop_rate {
        f.drop_rate = v;
    }
    if let Some(v) = p.latency_ms {
        f.latency = std::time::Duration::from_millis(v);
    }
    if let Some(v) = p.drop_after_apply {
        f.drop_after_apply = v;
    }
    if let Some(v) = p.next {
        f.next = v.into();
    }
    let f = f.clone();
    ok(serde_json::to_value(f).unwrap_or(Value::Null))
}
