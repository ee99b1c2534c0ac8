//! Listings Items API 2021-08-01: get, put, patch, delete and search, and the patch logic the
//! feed processor shares (so a feed message and a PATCH request cannot behave differently).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::amazon::{ListingKey, PRODUCT_TYPE, PatchOp, is_amazon_fulfilled};
use crate::marketplaces::{self, Region};
use crate::model::{ChannelQty, DEFAULT_CHANNEL};

use super::state::{ItemData, SandboxState};
use super::{Call, Inner, Outcome, Shared, new_request_id, now_rfc3339, run_op};
use crate::amazon::limits::ApiOp;

pub const FA: &str = "fulfillment_availability";

/// One issue, in the Listings API's shape (and convertible to the feed report's).
#[derive(Clone, Debug, PartialEq)]
pub struct Issue {
    pub code: &'static str,
    pub message: String,
    pub attribute_names: Vec<String>,
    pub category: &'static str,
}

/// Sandbox issue codes (Amazon's are numeric strings too; these are the sandbox's own).
pub const CODE_MISSING: &str = "90220";
pub const CODE_INVALID_VALUE: &str = "4000001";
pub const CODE_UNSUPPORTED: &str = "4000002";
pub const CODE_INCOMPLETE: &str = "4000003";

impl Issue {
    fn missing(attr: &str, message: String) -> Issue {
        Issue {
            code: CODE_MISSING,
            message,
            attribute_names: vec![attr.to_string()],
            category: "MISSING_ATTRIBUTE",
        }
    }

    fn invalid(attr: &str, message: String) -> Issue {
        Issue {
            code: CODE_INVALID_VALUE,
            message,
            attribute_names: if attr.is_empty() {
                vec![]
            } else {
                vec![attr.to_string()]
            },
            category: "INVALID_ATTRIBUTE",
        }
    }

    fn unsupported(attr: &str, message: String) -> Issue {
        Issue {
            code: CODE_UNSUPPORTED,
            ..Issue::invalid(attr, message)
        }
    }

    /// The post-acceptance issue of an offer-only listing (wording and code the sandbox's own:
    /// Amazon's are not documented).
    pub fn offer_only() -> Issue {
        Issue {
            code: CODE_INCOMPLETE,
            message: "This listing was created from offer data alone (fulfillment_availability) for a SKU Amazon did not know: it is incomplete and not buyable until its product data is submitted (putListingsItem or a feed UPDATE).".into(),
            attribute_names: vec![],
            category: "MISSING_ATTRIBUTE",
        }
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "code": self.code,
            "message": self.message,
            "severity": "ERROR",
            "categories": [self.category],
        });
        if !self.attribute_names.is_empty() {
            v["attributeNames"] = json!(self.attribute_names);
        }
        v
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrOp {
    Add,
    Replace,
    Merge,
    Delete,
}

impl AttrOp {
    pub fn name(self) -> &'static str {
        match self {
            AttrOp::Add => "add",
            AttrOp::Replace => "replace",
            AttrOp::Merge => "merge",
            AttrOp::Delete => "delete",
        }
    }
}

/// One `fulfillment_availability` entry, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct FaEntry {
    pub channel: String,
    pub quantity: Option<u64>,
    /// Every other field of the entry (lead time, restock date, is_inventory_available, ...).
    pub extras: Map<String, Value>,
}

/// One patch, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Patch {
    pub op: AttrOp,
    pub attribute: String,
    pub value: Option<Vec<Value>>,
    /// For `fulfillment_availability`: the checked entries of `value`.
    pub fa: Option<Vec<FaEntry>>,
}

/// Check a list of JSON Patch operations as Amazon does: every problem becomes an issue; the
/// submission is only applied when there are none.
pub fn parse_patches(patches: &[Value]) -> Result<Vec<Patch>, Vec<Issue>> {
    let mut issues = Vec::new();
    let mut out = Vec::new();
    if patches.is_empty() {
        issues.push(Issue::invalid(
            "",
            "'patches' must hold at least one patch operation.".into(),
        ));
    }
    for (i, p) in patches.iter().enumerate() {
        let n = i + 1;
        let Some(obj) = p.as_object() else {
            issues.push(Issue::invalid(
                "",
                format!("Patch {n} is not an object with 'op', 'path' and 'value'."),
            ));
            continue;
        };
        let path = obj.get("path").and_then(Value::as_str).unwrap_or("");
        let attribute = match path.strip_prefix("/attributes/") {
            Some(a) if !a.is_empty() && !a.contains('/') => a.to_string(),
            _ => {
                issues.push(Issue::unsupported(
                    "",
                    format!(
                        "Patch {n}: path '{path}' is not supported. Only top-level listings item attributes can be patched, as '/attributes/<name>' (for quantities: '/attributes/fulfillment_availability')."
                    ),
                ));
                continue;
            }
        };
        let op = match obj.get("op").and_then(Value::as_str) {
            Some("add") => AttrOp::Add,
            Some("replace") => AttrOp::Replace,
            Some("merge") => AttrOp::Merge,
            Some("delete") => AttrOp::Delete,
            other => {
                issues.push(Issue::unsupported(
                    &attribute,
                    format!(
                        "Patch {n}: op {} is not supported; use one of add, replace, merge, delete.",
                        other.map_or("(missing)".to_string(), |o| format!("'{o}'"))
                    ),
                ));
                continue;
            }
        };
        let value = match obj.get("value") {
            None => None,
            Some(Value::Array(a)) => Some(a.clone()),
            Some(_) => {
                issues.push(Issue::invalid(
                    &attribute,
                    format!("Patch {n}: 'value' must be an array of objects."),
                ));
                continue;
            }
        };
        if value.is_none() && op != AttrOp::Delete {
            issues.push(Issue::missing(
                &attribute,
                format!(
                    "Patch {n}: '{attribute}' needs a 'value' for op '{}'.",
                    op.name()
                ),
            ));
            continue;
        }
        let fa = if attribute == FA {
            let entries = value.as_deref().unwrap_or(&[]);
            let before = issues.len();
            let fa = parse_fa(op, entries, &format!("Patch {n}: "), &mut issues);
            if issues.len() > before {
                continue;
            }
            Some(fa)
        } else {
            None
        };
        out.push(Patch {
            op,
            attribute,
            value,
            fa,
        });
    }
    if issues.is_empty() {
        Ok(out)
    } else {
        Err(issues)
    }
}

/// Check `fulfillment_availability` entries for `op`.
pub fn parse_fa(op: AttrOp, entries: &[Value], at: &str, issues: &mut Vec<Issue>) -> Vec<FaEntry> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, e) in entries.iter().enumerate() {
        let n = i + 1;
        let Some(obj) = e.as_object() else {
            issues.push(Issue::invalid(
                FA,
                format!("{at}entry {n} of '{FA}' is not an object."),
            ));
            continue;
        };
        let channel = match obj.get("fulfillment_channel_code") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            _ => {
                issues.push(Issue::missing(
                    FA,
                    format!(
                        "{at}'fulfillment_channel_code' is required but not supplied in entry {n} of '{FA}' (e.g. \"DEFAULT\")."
                    ),
                ));
                continue;
            }
        };
        if !seen.insert(channel.clone()) {
            issues.push(Issue::invalid(
                FA,
                format!("{at}channel '{channel}' appears more than once in '{FA}'."),
            ));
            continue;
        }
        if is_amazon_fulfilled(&channel) {
            // Amazon owns an FBA channel's quantity. What it answers to a seller naming one is
            // not documented: the sandbox takes the conservative line and refuses the entry.
            issues.push(Issue::invalid(
                FA,
                format!(
                    "{at}channel '{channel}' in entry {n} of '{FA}' is fulfilled by Amazon (FBA): Amazon owns its quantity, a seller cannot set or remove it. (The sandbox refuses this; Amazon's own answer is undocumented.)"
                ),
            ));
            continue;
        }
        if op == AttrOp::Delete {
            out.push(FaEntry {
                channel,
                quantity: None,
                extras: Map::new(),
            });
            continue;
        }
        let quantity = match obj.get("quantity") {
            None => None,
            Some(v) => match v.as_u64() {
                Some(q) if q <= i32::MAX as u64 => Some(q),
                _ => {
                    issues.push(Issue::invalid(
                        FA,
                        format!(
                            "{at}'quantity' of channel '{channel}' must be a whole number from 0 to 2147483647, got {v}."
                        ),
                    ));
                    continue;
                }
            },
        };
        let always = obj.get("is_inventory_available");
        if let Some(a) = always {
            if !a.is_boolean() {
                issues.push(Issue::invalid(
                    FA,
                    format!(
                        "{at}'is_inventory_available' of channel '{channel}' must be true or false, got {a}."
                    ),
                ));
                continue;
            }
            if quantity.is_some() {
                issues.push(Issue::invalid(
                    FA,
                    format!(
                        "{at}channel '{channel}' gives both 'quantity' and 'is_inventory_available'; a quantity cannot be specified when 'is_inventory_available' is provided."
                    ),
                ));
                continue;
            }
        }
        if let Some(l) = obj.get("lead_time_to_ship_max_days")
            && l.as_u64().is_none()
        {
            issues.push(Issue::invalid(
                FA,
                format!(
                    "{at}'lead_time_to_ship_max_days' of channel '{channel}' must be a whole number of days, got {l}."
                ),
            ));
            continue;
        }
        if quantity.is_none() && always.is_none() && op != AttrOp::Merge {
            issues.push(Issue::missing(
                FA,
                format!(
                    "{at}channel '{channel}' needs 'quantity' (or 'is_inventory_available'); only 'merge' may leave it out."
                ),
            ));
            continue;
        }
        let extras: Map<String, Value> = obj
            .iter()
            .filter(|(k, _)| *k != "fulfillment_channel_code" && *k != "quantity")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.push(FaEntry {
            channel,
            quantity,
            extras,
        });
    }
    out
}

fn qtys(entries: &[FaEntry]) -> Vec<ChannelQty> {
    entries
        .iter()
        .filter_map(|e| e.quantity.map(|q| ChannelQty::new(e.channel.clone(), q)))
        .collect()
}

fn item_entry<'a>(
    state: &'a mut SandboxState,
    key: &ListingKey,
    product_type: Option<&str>,
) -> &'a mut ItemData {
    let now = now_rfc3339();
    let item = state.items.entry(key.clone()).or_insert_with(|| ItemData {
        created: now.clone(),
        ..ItemData::default()
    });
    if let Some(pt) = product_type {
        item.product_type = pt.to_string();
    }
    item.updated = now;
    item
}

/// Set the whole channel list (replace/add): Amazon swaps the entry, details included.
fn fa_replace(state: &mut SandboxState, key: &ListingKey, marketplaces: &[String], e: &[FaEntry]) {
    let q = qtys(e);
    for m in marketplaces {
        state.amazon.write(key.clone(), m, &q, PatchOp::Replace);
    }
    let item = item_entry(state, key, None);
    item.channel_extras = e
        .iter()
        .map(|e| (e.channel.clone(), e.extras.clone()))
        .collect();
}

/// Merge: only the named channels change, and within them only the fields sent.
fn fa_merge(state: &mut SandboxState, key: &ListingKey, marketplaces: &[String], e: &[FaEntry]) {
    let q = qtys(e);
    for m in marketplaces {
        state.amazon.write(key.clone(), m, &q, PatchOp::Merge);
    }
    let always: Vec<String> = e
        .iter()
        .filter(|e| e.extras.contains_key("is_inventory_available"))
        .map(|e| e.channel.clone())
        .collect();
    state.amazon.delete_channels(key, &always);
    let item = item_entry(state, key, None);
    for e in e {
        let x = item.channel_extras.entry(e.channel.clone()).or_default();
        if e.quantity.is_some() {
            x.remove("is_inventory_available");
        }
        for (k, v) in &e.extras {
            x.insert(k.clone(), v.clone());
        }
    }
}

fn fa_delete(state: &mut SandboxState, key: &ListingKey, e: Option<&[FaEntry]>) {
    let channels: Vec<String> = match e {
        Some(e) => e.iter().map(|e| e.channel.clone()).collect(),
        None => {
            let mut all: BTreeSet<String> = state
                .amazon
                .get(key)
                .map(|l| l.channels.keys().cloned().collect())
                .unwrap_or_default();
            if let Some(i) = state.items.get(key) {
                all.extend(i.channel_extras.keys().cloned());
            }
            all.into_iter().collect()
        }
    };
    state.amazon.delete_channels(key, &channels);
    let item = item_entry(state, key, None);
    for c in &channels {
        item.channel_extras.remove(c);
    }
}

/// List the SKU in every marketplace named by a write that carries offer data only (PATCH,
/// feed PARTIAL_UPDATE). Amazon accepts such a write for a SKU it does not know, but the
/// listing it creates is incomplete and not buyable (Amazon's answer in its issue tracker):
/// mark it offer-only, so a rehearsal can count these ghost listings.
fn list_offer(state: &mut SandboxState, key: &ListingKey, marketplaces: &[String], pt: &str) {
    let unknown = state.amazon.get(key).is_none();
    for m in marketplaces {
        state.amazon.write(key.clone(), m, &[], PatchOp::Merge);
    }
    let item = item_entry(state, key, Some(pt));
    if unknown {
        item.offer_only = true;
    }
}

/// Apply checked patches, in order. The SKU becomes listed in every marketplace named (the
/// shared model's rule: a write lists the SKU there); an unknown SKU becomes offer-only.
pub fn apply_patches(
    state: &mut SandboxState,
    key: &ListingKey,
    marketplaces: &[String],
    product_type: &str,
    patches: &[Patch],
) {
    list_offer(state, key, marketplaces, product_type);
    for p in patches {
        match (&p.fa, p.op) {
            (Some(e), AttrOp::Add | AttrOp::Replace) => fa_replace(state, key, marketplaces, e),
            (Some(e), AttrOp::Merge) => fa_merge(state, key, marketplaces, e),
            (Some(e), AttrOp::Delete) => {
                let named = p.value.as_ref().map(|_| e.as_slice());
                fa_delete(state, key, named)
            }
            (None, AttrOp::Delete) => {
                item_entry(state, key, None).attributes.remove(&p.attribute);
            }
            (None, _) => {
                // Other attributes are stored as sent (merge treated as replace: the sandbox
                // only models fulfillment_availability's selectors).
                let v = Value::Array(p.value.clone().unwrap_or_default());
                item_entry(state, key, None)
                    .attributes
                    .insert(p.attribute.clone(), v);
            }
        }
    }
}

/// Checked attributes: the others (stored as sent) and `fulfillment_availability`, if given.
pub type Attributes = (Map<String, Value>, Option<Vec<FaEntry>>);

/// Check PUT (or feed UPDATE/PARTIAL_UPDATE) attributes: `fulfillment_availability` is checked
/// as a replace; the others are stored as sent.
pub fn parse_attributes(attrs: &Map<String, Value>) -> Result<Attributes, Vec<Issue>> {
    let mut issues = Vec::new();
    let mut others = Map::new();
    let mut fa = None;
    for (k, v) in attrs {
        if k == FA {
            match v.as_array() {
                Some(a) => fa = Some(parse_fa(AttrOp::Replace, a, "", &mut issues)),
                None => issues.push(Issue::invalid(
                    FA,
                    format!("'{FA}' must be an array of entries."),
                )),
            }
        } else {
            others.insert(k.clone(), v.clone());
        }
    }
    if issues.is_empty() {
        Ok((others, fa))
    } else {
        Err(issues)
    }
}

/// putListingsItem (and feed UPDATE): the item is replaced whole, quantities included (but
/// not an FBA channel's, which is Amazon's).
pub fn apply_put(
    state: &mut SandboxState,
    key: &ListingKey,
    marketplaces: &[String],
    product_type: &str,
    others: Map<String, Value>,
    fa: Option<Vec<FaEntry>>,
) {
    fa_replace(state, key, marketplaces, fa.as_deref().unwrap_or(&[]));
    let item = item_entry(state, key, Some(product_type));
    item.attributes = others;
    // A PUT sends the whole item; the sandbox does not check product-type requirements, so it
    // counts as complete.
    item.offer_only = false;
}

/// Feed PARTIAL_UPDATE: each attribute given is replaced, the others are kept.
pub fn apply_partial(
    state: &mut SandboxState,
    key: &ListingKey,
    marketplaces: &[String],
    product_type: &str,
    others: Map<String, Value>,
    fa: Option<Vec<FaEntry>>,
) {
    list_offer(state, key, marketplaces, product_type);
    if let Some(fa) = fa {
        fa_replace(state, key, marketplaces, &fa);
    }
    let item = item_entry(state, key, None);
    item.attributes.extend(others);
}

/// deleteListingsItem: delist from each marketplace; the item data goes with the last one.
/// Returns false if the SKU was listed in none of them.
pub fn apply_delete(state: &mut SandboxState, key: &ListingKey, marketplaces: &[String]) -> bool {
    let mut any = false;
    for m in marketplaces {
        any |= state.amazon.delist(key, m);
    }
    if state.amazon.get(key).is_none() {
        state.items.remove(key);
    }
    any
}

/// Resolve `marketplaceIds` to their one region. Unknown IDs and mixed regions are 400s.
pub fn resolve(ids: &[String], max: Option<usize>) -> Result<Region, Outcome> {
    if ids.is_empty() {
        return Err(Outcome::invalid_input(
            "Missing required parameter 'marketplaceIds' (a comma-separated list of Amazon marketplace IDs, e.g. ATVPDKIKX0DER).",
        ));
    }
    if let Some(max) = max
        && ids.len() > max
    {
        return Err(Outcome::invalid_input(&format!(
            "'marketplaceIds' accepts at most {max} value(s) for this operation; got {}.",
            ids.len()
        )));
    }
    let mut region = None;
    for id in ids {
        let Some(m) = marketplaces::by_id(id) else {
            return Err(Outcome::invalid_input(&format!(
                "Invalid marketplaceIds: '{id}' is not a known Amazon marketplace ID (see `allot marketplaces`)."
            )));
        };
        match region {
            None => region = Some(m.region),
            Some(r) if r != m.region => {
                return Err(Outcome::invalid_input(&format!(
                    "'marketplaceIds' mixes regions {r} and {}: one request writes one region.",
                    m.region
                )));
            }
            Some(_) => {}
        }
    }
    region.ok_or_else(|| Outcome::invalid_input("Missing required parameter 'marketplaceIds'."))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Included {
    Summaries,
    Attributes,
    Issues,
    FulfillmentAvailability,
    /// Known to Amazon, not modelled by the sandbox: accepted and left out of the answer.
    Other,
}

fn included(call: &Call, default: Included) -> Result<Vec<Included>, Outcome> {
    let names = call.list("includedData");
    if names.is_empty() {
        return Ok(vec![default]);
    }
    names
        .iter()
        .map(|n| match n.as_str() {
            "summaries" => Ok(Included::Summaries),
            "attributes" => Ok(Included::Attributes),
            "issues" => Ok(Included::Issues),
            "fulfillmentAvailability" => Ok(Included::FulfillmentAvailability),
            "offers" | "procurement" | "relationships" | "productTypes" => Ok(Included::Other),
            other => Err(Outcome::invalid_input(&format!(
                "Invalid includedData value '{other}'; use summaries, attributes, issues, offers, fulfillmentAvailability, procurement, relationships or productTypes."
            ))),
        })
        .collect()
}

/// A listings item as getListingsItem shows it, for the marketplaces asked that list it.
pub fn item_json(
    state: &SandboxState,
    key: &ListingKey,
    marketplaces: &[String],
    inc: &[Included],
) -> Value {
    let listing = state.amazon.get(key);
    let item = state.items.get(key);
    // Channels: those with a quantity (the shared model) and those with details only.
    let mut channels: Vec<(String, Option<u64>)> = listing
        .map(|l| {
            l.channel_list()
                .into_iter()
                .map(|c| (c.channel, Some(c.quantity)))
                .collect()
        })
        .unwrap_or_default();
    if let Some(i) = item {
        for c in i.channel_extras.keys() {
            if !channels.iter().any(|(n, _)| n == c) {
                channels.push((c.clone(), None));
            }
        }
    }
    channels.sort_by_key(|(c, _)| (c != DEFAULT_CHANNEL, c.clone()));
    let offer_only = item.is_some_and(|i| i.offer_only);
    let mut out = json!({ "sku": key.seller_sku });
    for i in inc {
        match i {
            Included::Summaries => {
                // An offer-only listing has no product data: neither buyable nor shown.
                let buyable = !offer_only
                    && channels.iter().any(|(c, q)| {
                        q.is_some_and(|q| q > 0)
                            || item.is_some_and(|i| {
                                i.channel_extras
                                    .get(c)
                                    .and_then(|x| x.get("is_inventory_available"))
                                    == Some(&Value::Bool(true))
                            })
                    });
                let summaries: Vec<Value> = marketplaces
                    .iter()
                    .filter(|m| listing.is_some_and(|l| l.marketplaces.contains(*m)))
                    .map(|m| {
                        let mut status = vec![];
                        if buyable {
                            status.push("BUYABLE");
                        }
                        if !offer_only {
                            status.push("DISCOVERABLE");
                        }
                        let mut s = json!({
                            "marketplaceId": m,
                            "productType": item.map_or(PRODUCT_TYPE, |i| i.product_type.as_str()),
                            "conditionType": "new_new",
                            "status": status,
                            "createdDate": item.map_or("", |i| i.created.as_str()),
                            "lastUpdatedDate": item.map_or("", |i| i.updated.as_str()),
                        });
                        if let Some(name) = item
                            .and_then(|i| i.attributes.get("item_name"))
                            .and_then(|v| v.get(0))
                            .and_then(|v| v.get("value"))
                        {
                            s["itemName"] = name.clone();
                        }
                        s
                    })
                    .collect();
                out["summaries"] = Value::Array(summaries);
            }
            Included::Attributes => {
                let mut attrs = item.map(|i| i.attributes.clone()).unwrap_or_default();
                if !channels.is_empty() {
                    let entries: Vec<Value> = channels
                        .iter()
                        .map(|(c, q)| {
                            let mut e = Map::new();
                            e.insert("fulfillment_channel_code".into(), json!(c));
                            if let Some(q) = q {
                                e.insert("quantity".into(), json!(q));
                            }
                            if let Some(x) = item.and_then(|i| i.channel_extras.get(c)) {
                                for (k, v) in x {
                                    e.insert(k.clone(), v.clone());
                                }
                            }
                            Value::Object(e)
                        })
                        .collect();
                    attrs.insert(FA.into(), Value::Array(entries));
                }
                out["attributes"] = Value::Object(attrs);
            }
            Included::Issues => {
                let issues: Vec<Value> = if offer_only {
                    vec![Issue::offer_only().to_json()]
                } else {
                    vec![]
                };
                out["issues"] = Value::Array(issues);
            }
            Included::FulfillmentAvailability => {
                let fa: Vec<Value> = channels
                    .iter()
                    .map(|(c, q)| match q {
                        Some(q) => json!({ "fulfillmentChannelCode": c, "quantity": q }),
                        None => json!({ "fulfillmentChannelCode": c }),
                    })
                    .collect();
                out["fulfillmentAvailability"] = Value::Array(fa);
            }
            Included::Other => {}
        }
    }
    out
}

fn key(seller_id: &str, region: Region, seller_sku: &str) -> ListingKey {
    ListingKey {
        seller_id: seller_id.to_string(),
        region,
        seller_sku: seller_sku.to_string(),
    }
}

/// The seller SKU of the path, by Amazon's rules (see [`crate::model::check_seller_sku`]): a
/// 400, as the model answers "missing or invalid parameters". The SKU is not echoed: it may
/// be thousands of characters long.
pub fn check_sku(seller_sku: &str) -> Result<(), Outcome> {
    use crate::model::{MAX_SELLER_SKU_LEN, TemplateError};
    crate::model::check_seller_sku(seller_sku).map_err(|e| {
        let why = match e {
            // `check_seller_sku` never says NoValue (a template's column, not a SKU's rule).
            TemplateError::Empty | TemplateError::NoValue { .. } => "it is empty".to_string(),
            TemplateError::TooLong { len, .. } => format!("it is {len} characters long"),
            TemplateError::BadChar { ch, .. } => {
                format!("it contains the control character U+{:04X}", ch as u32)
            }
        };
        Outcome::invalid_input(&format!(
            "Invalid 'sku': a seller SKU is 1 to {MAX_SELLER_SKU_LEN} characters without control characters, and {why}."
        ))
    })
}

fn not_found(seller_sku: &str, marketplaces: &[String]) -> Outcome {
    Outcome::error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        &format!(
            "SKU '{seller_sku}' not found in marketplace {}",
            marketplaces.join(",")
        ),
        None,
    )
}

fn submission(seller_sku: &str, status: &str, issues: &[Issue]) -> Outcome {
    let mut o = Outcome::json(
        StatusCode::OK,
        json!({
            "sku": seller_sku,
            "status": status,
            "submissionId": new_request_id().replace('-', ""),
            "issues": issues.iter().map(Issue::to_json).collect::<Vec<_>>(),
        }),
    );
    o.submission_status = Some(status.to_string());
    o
}

/// Parse a JSON request body; not JSON is a 400 with an `errors` body.
fn json_body(call: &Call) -> Result<Map<String, Value>, Outcome> {
    match serde_json::from_slice::<Value>(&call.body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Outcome::invalid_input(
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(Outcome::invalid_input(&format!(
            "The request body is not valid JSON: {e}"
        ))),
    }
}

fn product_type(body: &Map<String, Value>) -> Result<String, Outcome> {
    match body.get("productType") {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(Outcome::invalid_input(
            "Missing required field 'productType' in the request body (e.g. \"PRODUCT\").",
        )),
    }
}

/// `mode`: absent, or VALIDATION_PREVIEW.
fn preview(call: &Call) -> Result<bool, Outcome> {
    match call.param("mode") {
        None => Ok(false),
        Some("VALIDATION_PREVIEW") => Ok(true),
        Some(m) => Err(Outcome::invalid_input(&format!(
            "Invalid mode '{m}'; the only mode is VALIDATION_PREVIEW."
        ))),
    }
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(o) => return o,
        }
    };
}

/// A write (patch or put): the checks both make in Amazon's order, the body parsed by
/// `parse`, then VALID for a validation preview, else `apply` and ACCEPTED. `max` is how many
/// marketplaces the operation takes (put and delete: one).
fn write_op<T>(
    inner: &mut Inner,
    call: &Call,
    seller_id: &str,
    seller_sku: &str,
    max: Option<usize>,
    parse: impl FnOnce(&Map<String, Value>) -> Result<T, Outcome>,
    apply: impl FnOnce(&mut SandboxState, &ListingKey, &[String], &str, T),
) -> Outcome {
    tri!(check_sku(seller_sku));
    tri!(call.require_json());
    let ids = call.list("marketplaceIds");
    let region = tri!(resolve(&ids, max));
    let preview = tri!(preview(call));
    let body = tri!(json_body(call));
    let pt = tri!(product_type(&body));
    let parsed = tri!(parse(&body));
    if preview {
        return submission(seller_sku, "VALID", &[]);
    }
    let k = key(seller_id, region, seller_sku);
    apply(&mut inner.state, &k, &ids, &pt, parsed);
    submission(seller_sku, "ACCEPTED", &[]).applied()
}

pub async fn get_item(
    State(shared): State<Arc<Shared>>,
    Path((seller_id, seller_sku)): Path<(String, String)>,
    req: Request,
) -> Response {
    run_op(
        &shared,
        ApiOp::GetListingsItem,
        req,
        Some(seller_sku.clone()),
        |inner: &mut Inner, call: &Call| {
            tri!(check_sku(&seller_sku));
            let ids = call.list("marketplaceIds");
            let region = tri!(resolve(&ids, None));
            let inc = tri!(included(call, Included::Summaries));
            let k = key(&seller_id, region, &seller_sku);
            if !ids.iter().any(|m| inner.state.amazon.is_listed(&k, m)) {
                return not_found(&seller_sku, &ids);
            }
            Outcome::json(StatusCode::OK, item_json(&inner.state, &k, &ids, &inc))
        },
    )
    .await
}

pub async fn patch_item(
    State(shared): State<Arc<Shared>>,
    Path((seller_id, seller_sku)): Path<(String, String)>,
    req: Request,
) -> Response {
    run_op(
        &shared,
        ApiOp::PatchListingsItem,
        req,
        Some(seller_sku.clone()),
        |inner: &mut Inner, call: &Call| {
            let parse = |body: &Map<String, Value>| {
                let Some(Value::Array(patches)) = body.get("patches") else {
                    return Err(Outcome::invalid_input(
                        "Missing required field 'patches' (an array of JSON Patch operations) in the request body.",
                    ));
                };
                parse_patches(patches).map_err(|issues| submission(&seller_sku, "INVALID", &issues))
            };
            write_op(inner, call, &seller_id, &seller_sku, None, parse, |state, k, ids, pt, p| {
                apply_patches(state, k, ids, pt, &p)
            })
        },
    )
    .await
}

pub async fn put_item(
    State(shared): State<Arc<Shared>>,
    Path((seller_id, seller_sku)): Path<(String, String)>,
    req: Request,
) -> Response {
    run_op(
        &shared,
        ApiOp::PutListingsItem,
        req,
        Some(seller_sku.clone()),
        |inner: &mut Inner, call: &Call| {
            let parse = |body: &Map<String, Value>| {
                let Some(Value::Object(attrs)) = body.get("attributes") else {
                    return Err(Outcome::invalid_input(
                        "Missing required field 'attributes' (an object keyed by attribute name) in the request body.",
                    ));
                };
                parse_attributes(attrs).map_err(|issues| submission(&seller_sku, "INVALID", &issues))
            };
            write_op(
                inner,
                call,
                &seller_id,
                &seller_sku,
                Some(1),
                parse,
                |state, k, ids, pt, (others, fa)| apply_put(state, k, ids, pt, others, fa),
            )
        },
    )
    .await
}

pub async fn delete_item(
    State(shared): State<Arc<Shared>>,
    Path((seller_id, seller_sku)): Path<(String, String)>,
    req: Request,
) -> Response {
    run_op(
        &shared,
        ApiOp::DeleteListingsItem,
        req,
        Some(seller_sku.clone()),
        |inner: &mut Inner, call: &Call| {
            tri!(check_sku(&seller_sku));
            let ids = call.list("marketplaceIds");
            let region = tri!(resolve(&ids, Some(1)));
            let k = key(&seller_id, region, &seller_sku);
            // The model has no 404 for deleteListingsItem: a SKU that is not listed is
            // accepted and nothing changes (as a feed DELETE message does).
            let changed = apply_delete(&mut inner.state, &k, &ids);
            let o = submission(&seller_sku, "ACCEPTED", &[]);
            if changed { o.applied() } else { o }
        },
    )
    .await
}

pub async fn search(
    State(shared): State<Arc<Shared>>,
    Path(seller_id): Path<String>,
    req: Request,
) -> Response {
    run_op(
        &shared,
        ApiOp::SearchListingsItems,
        req,
        None,
        |inner: &mut Inner, call: &Call| {
            let ids = call.list("marketplaceIds");
            let region = tri!(resolve(&ids, None));
            let inc = tri!(included(call, Included::Summaries));
            let identifiers = call.list("identifiers");
            if !identifiers.is_empty() {
                match call.param("identifiersType") {
                    Some("SKU") => {}
                    Some(t) => {
                        return Outcome::invalid_input(&format!(
                            "identifiersType '{t}' is not supported by the sandbox; use SKU."
                        ));
                    }
                    None => {
                        return Outcome::invalid_input(
                            "'identifiersType' is required when 'identifiers' is given.",
                        );
                    }
                }
                if identifiers.len() > 20 {
                    return Outcome::invalid_input("'identifiers' accepts at most 20 values.");
                }
            }
            let page_size = tri!(call.page_size(20));
            let offset = match call.param("pageToken") {
                None => 0,
                Some(t) => match t
                    .strip_prefix("page-")
                    .and_then(|n| n.parse::<usize>().ok())
                {
                    Some(n) => n,
                    None => return Outcome::invalid_input(&format!("Invalid pageToken '{t}'.")),
                },
            };
            let keys: Vec<ListingKey> = inner
                .state
                .amazon
                .listings
                .iter()
                .filter(|(k, l)| {
                    k.seller_id == seller_id
                        && k.region == region
                        && ids.iter().any(|m| l.marketplaces.contains(m))
                        && (identifiers.is_empty() || identifiers.contains(&k.seller_sku))
                })
                .map(|(k, _)| k.clone())
                .collect();
            // Amazon pages through at most 1000 SKUs.
            let total = keys.len();
            let reachable = total.min(1000);
            let items: Vec<Value> = keys
                .iter()
                .take(reachable)
                .skip(offset)
                .take(page_size)
                .map(|k| item_json(&inner.state, k, &ids, &inc))
                .collect();
            let mut pagination = Map::new();
            if offset.saturating_add(page_size) < reachable {
                pagination.insert(
                    "nextToken".into(),
                    json!(format!("page-{}", offset + page_size)),
                );
            }
            if offset > 0 {
                pagination.insert(
                    "previousToken".into(),
                    json!(format!("page-{}", offset.saturating_sub(page_size))),
                );
            }
            let mut body = json!({ "numberOfResults": total, "items": items });
            if !pagination.is_empty() {
                body["pagination"] = Value::Object(pagination);
            }
            Outcome::json(StatusCode::OK, body)
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: Value) -> Result<Vec<Patch>, Vec<Issue>> {
        parse_patches(v.as_array().unwrap())
    }

    #[test]
    fn malformed_patches_give_issues() {
        let cases = [
            json!([]),
            json!([{"op":"merge","path":"/attributes/fulfillment_availability","value":[{"quantity":1}]}]),
            json!([{"op":"merge","path":"/attributes/fulfillment_availability","value":[{"fulfillment_channel_code":"DEFAULT","quantity":null}]}]),
            json!([{"op":"merge","path":"/attributes/fulfillment_availability","value":[{"fulfillment_channel_code":"DEFAULT","quantity":-1}]}]),
            json!([{"op":"merge","path":"/attributes/fulfillment_availability","value":[{"fulfillment_channel_code":"DEFAULT","quantity":1.5}]}]),
            json!([{"op":"merge","path":"/attributes/fulfillment_availability","value":[{"fulfillment_channel_code":"DEFAULT","quantity":"3"}]}]),
            json!([{"op":"merge","path":"/attributes/fulfillment_availability","value":[{"fulfillment_channel_code":"DEFAULT","quantity":1,"is_inventory_available":true}]}]),
            json!([{"op":"replace","path":"/attributes/fulfillment_availability/0/quantity","value":[{}]}]),
            json!([{"op":"replace","path":"/fulfillment_availability","value":[]}]),
            json!([{"op":"move","path":"/attributes/fulfillment_availability","value":[]}]),
            json!([{"op":"replace","path":"/attributes/fulfillment_availability"}]),
            json!([{"op":"replace","path":"/attributes/fulfillment_availability","value":[{"fulfillment_channel_code":"DEFAULT"}]}]),
        ];
        for c in cases {
            let issues = p(c.clone()).expect_err(&c.to_string());
            assert!(!issues.is_empty());
            for i in &issues {
                let j = i.to_json();
                assert_eq!(j["severity"], "ERROR");
                assert!(j["code"].as_str().is_some_and(|s| !s.is_empty()));
            }
        }
    }

    #[test]
    fn good_patches_parse() {
        let ok = p(json!([
            {"op":"merge","path":"/attributes/fulfillment_availability","value":[{"fulfillment_channel_code":"DEFAULT","quantity":0},{"fulfillment_channel_code":"newark","lead_time_to_ship_max_days":2}]},
            {"op":"delete","path":"/attributes/fulfillment_availability","value":[{"fulfillment_channel_code":"old"}]},
            {"op":"replace","path":"/attributes/item_name","value":[{"value":"Mat"}]}
        ]))
        .unwrap();
        assert_eq!(ok.len(), 3);
        assert_eq!(ok[0].fa.as_ref().unwrap()[1].quantity, None);
    }

    #[test]
    fn merge_keeps_lead_time_replace_drops_it() {
        let mut s = SandboxState::new();
        let k = key("S1", Region::NA, "A");
        let us = vec!["ATVPDKIKX0DER".to_string()];
        let first = p(
            json!([{"op":"replace","path":"/attributes/fulfillment_availability","value":[
            {"fulfillment_channel_code":"DEFAULT","quantity":5,"lead_time_to_ship_max_days":3},
            {"fulfillment_channel_code":"newark","quantity":2}]}]),
        )
        .unwrap();
        apply_patches(&mut s, &k, &us, "PRODUCT", &first);
        let merge = p(
            json!([{"op":"merge","path":"/attributes/fulfillment_availability","value":[
            {"fulfillment_channel_code":"DEFAULT","quantity":7}]}]),
        )
        .unwrap();
        apply_patches(&mut s, &k, &us, "PRODUCT", &merge);
        let item = item_json(&s, &k, &us, &[Included::Attributes]);
        assert_eq!(
            item["attributes"][FA],
            json!([{"fulfillment_channel_code":"DEFAULT","quantity":7,"lead_time_to_ship_max_days":3},
                   {"fulfillment_channel_code":"newark","quantity":2}])
        );
        let replace = p(
            json!([{"op":"replace","path":"/attributes/fulfillment_availability","value":[
            {"fulfillment_channel_code":"DEFAULT","quantity":1}]}]),
        )
        .unwrap();
        apply_patches(&mut s, &k, &us, "PRODUCT", &replace);
        let item = item_json(&s, &k, &us, &[Included::FulfillmentAvailability]);
        assert_eq!(
            item["fulfillmentAvailability"],
            json!([{"fulfillmentChannelCode":"DEFAULT","quantity":1}])
        );
    }
}
