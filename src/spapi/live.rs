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
    let mut stream = futures::stream::iter(unique.into_iter().map(|sku| async move {
        let r = listings::get_fulfillment(client, region, seller_id, sku, marketplace_id).await;
        (sku, r)
    }))
    .buffer_unordered(8);
    let mut current = Current::default();
    while let Some((sku, r)) = stream.next().await {
        progress.inc(1);
        if let Some(channels) = r? {
            current.listings.insert(
                sku.clone(),
                channels
                    .into_iter()
                    .map(|c| (c.channel, c.quantity))
                    .collect(),
            );
        }
    }
    Ok(current)
}
