//! `allot plan --current live`: read the current quantities of the SKUs a plan touches with
//! getListingsItem, within its rate limit (5/s: 18,000 SKUs an hour; beyond a few thousand
//! SKUs a downloaded All Listings report is faster).

use futures::StreamExt;
use indicatif::ProgressBar;

use super::client::Client;
use super::{SpApiError, listings};
use crate::marketplaces::{self, Region};
use crate::model::Current;

/// The current channels of `skus` in one built-in marketplace (a 404 means not listed, so the
/// SKU is absent from the result).
pub async fn fetch_current(
    client: &Client,
    seller_id: &str,
    marketplace_id: &str,
    skus: &[String],
) -> Result<Current, SpApiError> {
    let region = marketplaces::by_id(marketplace_id)
        .map(|m| m.region)
        .ok_or_else(|| {
            SpApiError::Config(format!(
                "marketplace ID `{marketplace_id}` is not built in, so its region is unknown; \
                 call fetch_current_in with the region"
            ))
        })?;
    fetch_current_in(
        client,
        region,
        seller_id,
        marketplace_id,
        skus,
        &ProgressBar::hidden(),
    )
    .await
}

/// As [`fetch_current`], for any marketplace of `region`, with a progress bar.
pub async fn fetch_current_in(
    client: &Client,
    region: Region,
    seller_id: &str,
    marketplace_id: &str,
    skus: &[String],
    progress: &ProgressBar,
) -> Result<Current, SpApiError> {
    let mut unique: Vec<&String> = skus.iter().collect();
    unique.sort();
    unique.dedup();
    progress.set_length(unique.len() as u64);
    let mut current = Current::default();
    let code = crate::plan::marketplace_code(marketplace_id);
    fetch_into(
        client,
        region,
        seller_id,
        (marketplace_id, &code),
        &unique,
        progress,
        &mut current,
    )
    .await?;
    Ok(current)
}

async fn fetch_into(
    client: &Client,
    region: Region,
    seller_id: &str,
    (marketplace_id, code): (&str, &str),
    unique: &[&String],
    progress: &ProgressBar,
    current: &mut Current,
) -> Result<(), SpApiError> {
    let mut stream = futures::stream::iter(unique.iter().map(|sku| async move {
        let r = listings::get_fulfillment(client, region, seller_id, sku, marketplace_id).await;
        (sku, r)
    }))
    .buffer_unordered(8);
    while let Some((sku, r)) = stream.next().await {
        progress.inc(1);
        if let Some(item) = r? {
            // One quantity per seller SKU per region: any marketplace's answer is the SKU's.
            current.listings.entry((*sku).clone()).or_insert_with(|| {
                item.channels
                    .iter()
                    .map(|c| (c.channel.clone(), c.quantity))
                    .collect()
            });
            let listed = current.listed_in.entry((*sku).clone()).or_default();
            if item.listed_here {
                // Amazon's code, as every listings source records it (`UK` for a policy's `GB`).
                listed.insert(crate::marketplaces::canonical(code).to_string());
            }
        }
    }
    current.separate_amazon_channels();
    Ok(())
}

/// `--current live` for a whole preview: the current channels of every offer's seller SKU and
/// the marketplaces it is listed in, read once per SKU and marketplace (a SKU shared by
/// several marketplaces is read in each, so the preview knows where it really shows and never
/// creates an offer where it is not listed).
pub async fn fetch_current_for_offers(
    client: &Client,
    seller_id: &str,
    offers: &[crate::model::Offer],
    progress: &ProgressBar,
) -> Result<Current, SpApiError> {
    use std::collections::BTreeMap;
    let mut groups: BTreeMap<(Region, String, String), Vec<String>> = BTreeMap::new();
    for o in offers {
        for (id, code) in o.marketplace_ids.iter().zip(o.marketplaces.iter()) {
            groups
                .entry((o.region, id.clone(), code.clone()))
                .or_default()
                .push(o.seller_sku.clone());
        }
    }
    for skus in groups.values_mut() {
        skus.sort();
        skus.dedup();
    }
    progress.set_length(groups.values().map(|v| v.len() as u64).sum());
    let mut current = Current::default();
    for ((region, id, code), skus) in &groups {
        let refs: Vec<&String> = skus.iter().collect();
        fetch_into(
            client,
            *region,
            seller_id,
            (id, code),
            &refs,
            progress,
            &mut current,
        )
        .await?;
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spapi::client::{ClientConfig, parse_endpoint};
    use crate::spapi::{Credentials, Secret};
    use axum::extract::{Path, Query};
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use axum::routing::{get, post};
    use axum::{Json, Router};
    use serde_json::json;
    use std::collections::HashMap;

    async fn item(
        Path((seller, sku)): Path<(String, String)>,
        Query(q): Query<HashMap<String, String>>,
    ) -> Response {
        assert_eq!(seller, "SELLER");
        assert_eq!(q["includedData"], "summaries,fulfillmentAvailability");
        assert_eq!(q["marketplaceIds"], "ATVPDKIKX0DER");
        match sku.as_str() {
            "A/1" => Json(json!({"sku": sku, "fulfillmentAvailability": [
                {"fulfillmentChannelCode": "newark", "quantity": 4},
                {"fulfillmentChannelCode": "DEFAULT", "quantity": 7},
                {"fulfillmentChannelCode": "ALWAYS", "isInventoryAvailable": true}]}))
            .into_response(),
            "FBA-1" => Json(json!({"sku": sku,
                "summaries": [{"marketplaceId": "ATVPDKIKX0DER"}],
                "fulfillmentAvailability": [{"fulfillmentChannelCode": "AMAZON_NA"}]}))
            .into_response(),
            "ELSEWHERE" => Json(json!({"sku": sku, "summaries": [],
                "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 3}]}))
            .into_response(),
            _ => (
                StatusCode::NOT_FOUND,
                Json(json!({"errors": [{"code": "NOT_FOUND", "message": "no"}]})),
            )
                .into_response(),
        }
    }

    #[tokio::test]
    async fn reads_quantities_and_treats_404_as_not_listed() {
        let app = Router::new()
            .route(
                "/auth/o2/token",
                post(|| async { Json(json!({"access_token": "Atza|t", "expires_in": 3600})) }),
            )
            .route("/listings/2021-08-01/items/{seller}/{sku}", get(item));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        let client = Client::new(
            Credentials {
                client_id: Secret::new("id"),
                client_secret: Secret::new("secret"),
                refresh_token: Secret::new("refresh"),
            },
            ClientConfig {
                endpoint: Some(parse_endpoint(&base).unwrap()),
                lwa_endpoint: parse_endpoint(&format!("{base}/auth/o2/token")).unwrap(),
                rate_scale: 1000.0,
                ..ClientConfig::default()
            },
        )
        .unwrap();
        let skus = vec!["A/1".to_string(), "B".to_string(), "A/1".to_string()];
        let cur = fetch_current(&client, "SELLER", "ATVPDKIKX0DER", &skus)
            .await
            .unwrap();
        assert_eq!(cur.listings.len(), 1);
        assert!(cur.listed_in["A/1"].contains("US"));
        let ch = cur.channels("A/1").unwrap();
        assert_eq!((ch[0].channel.as_str(), ch[0].quantity), ("DEFAULT", 7));
        assert_eq!((ch[1].channel.as_str(), ch[1].quantity), ("newark", 4));
        assert_eq!(ch.len(), 2);
        assert!(cur.channels("B").is_none());
        // Two reads: the duplicate SKU is read once.
        assert_eq!(client.requests(), 1 + 2);
        // An FBA SKU is known and Amazon-fulfilled, never a quantity; a 200 whose summaries do
        // not name the marketplace is a listing elsewhere in the region.
        let more = vec!["FBA-1".to_string(), "ELSEWHERE".to_string()];
        let cur = fetch_current(&client, "SELLER", "ATVPDKIKX0DER", &more)
            .await
            .unwrap();
        assert_eq!(cur.amazon_fulfilled["FBA-1"], "AMAZON_NA");
        assert!(!cur.listings.contains_key("FBA-1"));
        assert!(cur.listed_in["ELSEWHERE"].is_empty());
        assert_eq!(cur.channels("ELSEWHERE").unwrap()[0].quantity, 3);
        let e = fetch_current(&client, "SELLER", "NOPE", &skus)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("not built in"));
    }
}
