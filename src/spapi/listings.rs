//! Listings Items API v2021-08-01: patchListingsItem and getListingsItem.

use serde::Deserialize;
use serde_json::Value;

use super::client::Client;
use super::{Issue, SpApiError};
use crate::amazon::limits::ApiOp;
use crate::amazon::request::{Request, listings_item_path};
use crate::marketplaces::Region;
use crate::model::ChannelQty;

/// Amazon's answer to a PATCH: `status` ACCEPTED, INVALID or (validation preview) VALID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    pub status: String,
    pub submission_id: Option<String>,
    pub issues: Vec<Issue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireIssue {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    attribute_names: Vec<String>,
}

impl From<WireIssue> for Issue {
    fn from(w: WireIssue) -> Issue {
        Issue {
            severity: w.severity,
            code: w.code,
            message: w.message,
            attributes: w.attribute_names,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSubmission {
    status: String,
    #[serde(default)]
    submission_id: Option<String>,
    #[serde(default)]
    issues: Vec<WireIssue>,
}

/// Send one patchListingsItem. A 200 is returned as a [`Submission`] whatever its status: the
/// caller decides (a 200 is not success).
pub async fn patch(
    client: &Client,
    region: Region,
    req: &Request,
) -> Result<Submission, SpApiError> {
    let v = client
        .call(
            ApiOp::PatchListingsItem,
            region,
            &req.method,
            &req.path,
            &req.query,
            Some(&req.body),
        )
        .await?;
    let w: WireSubmission = serde_json::from_value(v).map_err(|_| SpApiError::Decode {
        op: ApiOp::PatchListingsItem.name(),
        reason: "the response has no `status`".into(),
    })?;
    Ok(Submission {
        status: w.status,
        submission_id: w.submission_id,
        // Issue texts come from the server: scrubbed like any other server text.
        issues: w
            .issues
            .into_iter()
            .map(|i| client.redact_issue(Issue::from(i)))
            .collect(),
    })
}

/// What getListingsItem says of one seller SKU in one marketplace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemFulfillment {
    /// The channels with a quantity; an Amazon-fulfilled (FBA) channel is kept even without
    /// one (quantity 0), so the caller knows Amazon fulfils the SKU.
    pub channels: Vec<ChannelQty>,
    /// Whether the SKU is listed in the marketplace asked: its summaries name it (a 200 whose
    /// summaries name only other marketplaces is a listing elsewhere in the region).
    pub listed_here: bool,
}

/// getListingsItem with `includedData=summaries,fulfillmentAvailability`: the SKU's channels
/// and whether it is listed in `marketplace_id`, or `None` when Amazon answers 404 (unknown).
pub async fn get_fulfillment(
    client: &Client,
    region: Region,
    seller_id: &str,
    seller_sku: &str,
    marketplace_id: &str,
) -> Result<Option<ItemFulfillment>, SpApiError> {
    let path = listings_item_path(seller_id, seller_sku);
    let query = vec![
        ("marketplaceIds".to_string(), marketplace_id.to_string()),
        (
            "includedData".to_string(),
            "summaries,fulfillmentAvailability".to_string(),
        ),
    ];
    let v = match client
        .call(ApiOp::GetListingsItem, region, "GET", &path, &query, None)
        .await
    {
        Ok(v) => v,
        Err(e) if e.status() == Some(404) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in v
        .get("fulfillmentAvailability")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let channel = entry.get("fulfillmentChannelCode").and_then(Value::as_str);
        let quantity = entry.get("quantity").and_then(Value::as_u64);
        match (channel, quantity) {
            (Some(channel), Some(quantity)) => out.push(ChannelQty::new(channel, quantity)),
            // Amazon's own channel may carry no quantity: it still says who fulfils the SKU.
            (Some(channel), None) if crate::model::is_amazon_channel(channel) => {
                out.push(ChannelQty::new(channel, 0))
            }
            // An entry without a quantity (e.g. `is_inventory_available`) has no count to compare.
            _ => {}
        }
    }
    out.sort_by_key(|c| {
        (
            c.channel != crate::model::DEFAULT_CHANNEL,
            c.channel.clone(),
        )
    });
    let listed_here = match v.get("summaries").and_then(Value::as_array) {
        Some(list) => list
            .iter()
            .any(|s| s.get("marketplaceId").and_then(Value::as_str) == Some(marketplace_id)),
        None => true,
    };
    Ok(Some(ItemFulfillment {
        channels: out,
        listed_here,
    }))
}
