//! `allot plan --current live`: read the current listings of the seller SKUs a plan touches,
//! one by one with getListingsItem (5/s: 18,000 reads an hour), or for a whole marketplace at
//! once from its All Listings report (`super::reports`: minutes, whatever the number of SKUs).
//! `auto` picks the report above [`AUTO_REPORT_ABOVE`] reads.

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
    let mut stream = futures::stream::iter(unique.iter().map(|seller_sku| async move {
        let r =
            listings::get_fulfillment(client, region, seller_id, seller_sku, marketplace_id).await;
        (seller_sku, r)
    }))
    .buffer_unordered(8);
    while let Some((seller_sku, r)) = stream.next().await {
        progress.inc(1);
        if let Some(item) = r? {
            // One quantity per seller SKU per region: any marketplace's answer is the SKU's.
            current
                .listings
                .entry((*seller_sku).clone())
                .or_insert_with(|| {
                    item.channels
                        .iter()
                        .map(|c| (c.channel.clone(), c.quantity))
                        .collect()
                });
            let listed = current.listed_in.entry((*seller_sku).clone()).or_default();
            if item.listed_here {
                // Amazon's code, as every listings source records it (`UK` for a policy's `GB`).
                listed.insert(crate::marketplaces::canonical(code).to_string());
            }
        }
    }
    current.separate_amazon_channels();
    Ok(())
}

/// How `--current live` reads (`--live-read`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LiveRead {
    /// The All Listings report above 1,500 reads, getListingsItem per seller SKU below.
    #[default]
    Auto,
    /// getListingsItem for each seller SKU and marketplace (5 a second).
    Items,
    /// One All Listings report per marketplace (Reports API).
    Report,
}

/// Above this many reads (seller SKU x marketplace), `auto` reads reports: 1,500 reads take 5
/// minutes at getListingsItem's 5 a second, about what Amazon takes to make a report (it
/// publishes no figure: see docs/apply.md).
pub const AUTO_REPORT_ABOVE: usize = 1_500;

/// What `--current live` read, for the preview to say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveSource {
    /// (seller SKU, marketplace) pairs the offers name.
    pub reads: usize,
    /// The reports read, one per marketplace (empty: read item by item).
    pub reports: Vec<super::reports::ReportRead>,
    /// getListingsItem reads made (every read, or the seller SKUs with location channels
    /// beside the reports).
    pub items_read: usize,
}

impl LiveSource {
    /// One line for the preview: how the current listings were read, and how fresh they are.
    pub fn describe(&self) -> String {
        if self.reports.is_empty() {
            return format!(
                "read live with getListingsItem ({} read{})",
                self.items_read,
                if self.items_read == 1 { "" } else { "s" }
            );
        }
        let each: Vec<String> = self
            .reports
            .iter()
            .map(|r| {
                let mut t = format!("{} report {} created {}", r.code, r.report_id, r.created);
                if r.reused {
                    t.push_str(" (requested earlier)");
                }
                if r.no_data {
                    t.push_str(" (cancelled by Amazon: no listings)");
                }
                t
            })
            .collect();
        let mut out = format!(
            "read live from All Listings reports: {}; a report can lag a few minutes behind recent writes",
            each.join(", ")
        );
        if self.items_read > 0 {
            out.push_str(&format!(
                "; {} read{} of seller SKUs with location quantities with getListingsItem (the report shows no location quantities)",
                self.items_read,
                if self.items_read == 1 { "" } else { "s" }
            ));
        }
        out
    }
}

/// Which way `how` reads `reads` (seller SKU x marketplace) pairs: true for reports.
pub fn by_report(how: LiveRead, reads: usize) -> bool {
    match how {
        LiveRead::Items => false,
        LiveRead::Report => true,
        LiveRead::Auto => reads > AUTO_REPORT_ABOVE,
    }
}

type Groups = std::collections::BTreeMap<(Region, String, String), Vec<String>>;

/// What `--current live` reads: the seller SKUs of each marketplace the offers name (by
/// region, marketplace ID and code), and those of the offers that write a location channel.
/// Gathered offer by offer (a [`crate::sim::Sink`]), so a million offers need not be kept.
#[derive(Debug, Default)]
pub struct Wanted {
    groups: Groups,
    located: Groups,
}

impl Wanted {
    pub fn from_offers<'a>(offers: impl IntoIterator<Item = &'a crate::model::Offer>) -> Self {
        let mut w = Wanted::default();
        offers.into_iter().for_each(|o| w.add(o));
        w.finish();
        w
    }

    pub fn add(&mut self, o: &crate::model::Offer) {
        let located = o
            .channels
            .iter()
            .any(|c| c.channel != crate::model::DEFAULT_CHANNEL);
        for (id, code) in o.marketplace_ids.iter().zip(o.marketplaces.iter()) {
            let key = (o.region, id.clone(), code.clone());
            if located {
                self.located
                    .entry(key.clone())
                    .or_default()
                    .push(o.seller_sku.clone());
            }
            self.groups
                .entry(key)
                .or_default()
                .push(o.seller_sku.clone());
        }
    }

    /// Sorts and dedups the seller SKUs (call after the last `add`).
    pub fn finish(&mut self) {
        for skus in self.groups.values_mut().chain(self.located.values_mut()) {
            skus.sort_unstable();
            skus.dedup();
        }
    }

    /// (seller SKU, marketplace) pairs to read.
    pub fn reads(&self) -> usize {
        self.groups.values().map(Vec::len).sum()
    }
}

impl crate::sim::Sink for Wanted {
    fn offer(&mut self, change: &crate::model::OfferChange, _: &crate::sim::Provenance) {
        self.add(&change.offer);
    }
}

/// `--current live` for a whole preview, the way `how` says (see [`by_report`]). With reports,
/// the seller SKUs of offers that write location channels are still read one by one: the All
/// Listings report has one quantity per row, and what it shows for location quantities is
/// not documented, so a location quantity is never taken from it. `on_event` hears each
/// report's progress ("US: report 5001 IN_PROGRESS").
pub async fn fetch_current_live(
    client: &Client,
    seller_id: &str,
    wanted: &Wanted,
    how: LiveRead,
    report: super::reports::ReportOptions,
    progress: &ProgressBar,
    on_event: &(dyn Fn(String) + Sync),
) -> Result<(Current, LiveSource), SpApiError> {
    let all = &wanted.groups;
    let reads = wanted.reads();
    if !by_report(how, reads) {
        let current = fetch_groups(client, seller_id, all, progress).await?;
        let source = LiveSource {
            reads,
            reports: Vec::new(),
            items_read: reads,
        };
        return Ok((current, source));
    }
    let reads_of = all.keys().map(|(region, id, code)| async move {
        let code = crate::marketplaces::canonical(code).to_string();
        super::reports::read_listings(client, *region, (id, &code), report, |report_id, status| {
            on_event(format!("{code}: All Listings report {report_id} {status}"))
        })
        .await
    });
    let mut read = futures::future::try_join_all(reads_of).await?;
    // Older reports first: a seller SKU in two marketplaces' reports keeps the newer reading
    // (one quantity per seller SKU in a region).
    read.sort_by(|a, b| a.1.created.cmp(&b.1.created));
    let mut current = Current::default();
    let mut source = LiveSource {
        reads,
        ..LiveSource::default()
    };
    for (listings, r) in read {
        merge_into(&mut current, listings.current);
        source.reports.push(r);
    }
    source.reports.sort_by(|a, b| a.code.cmp(&b.code));
    // Offers that write a location: their seller SKUs read one by one, replacing the report's.
    let located = &wanted.located;
    if !located.is_empty() {
        let exact = fetch_groups(client, seller_id, located, progress).await?;
        for seller_sku in located.values().flatten() {
            current.listings.remove(seller_sku);
            current.listed_in.remove(seller_sku);
            current.amazon_fulfilled.remove(seller_sku);
        }
        source.items_read = located.values().map(Vec::len).sum();
        merge_into(&mut current, exact);
    }
    Ok((current, source))
}

/// Adds `more` to `into`: a seller SKU's channels and Amazon channel replaced by `more`'s, its
/// marketplaces united.
fn merge_into(into: &mut Current, more: Current) {
    into.listings.extend(more.listings);
    into.amazon_fulfilled.extend(more.amazon_fulfilled);
    for (seller_sku, markets) in more.listed_in {
        let e = into.listed_in.entry(seller_sku).or_default();
        for m in markets.iter() {
            e.insert(m.to_string());
        }
    }
}

async fn fetch_groups(
    client: &Client,
    seller_id: &str,
    groups: &Groups,
    progress: &ProgressBar,
) -> Result<Current, SpApiError> {
    progress.set_length(groups.values().map(|v| v.len() as u64).sum());
    let mut current = Current::default();
    for ((region, id, code), skus) in groups {
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
    fetch_groups(
        client,
        seller_id,
        &Wanted::from_offers(offers).groups,
        progress,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amazon::limits::ApiOp;
    use crate::marketplaces::Region;
    use crate::sandbox::{SeedChannel, SeedListing, SeedRequest};
    use crate::spapi::fault_stub::{Fault, FaultStub};
    use axum::Json;
    use axum::response::IntoResponse;
    use serde_json::json;
    use std::collections::HashMap;

    const US: &str = "ATVPDKIKX0DER";

    fn listing(seller_sku: &str, marketplace: &str, channels: &[(&str, u64)]) -> SeedListing {
        SeedListing {
            sku: seller_sku.into(),
            marketplace_ids: vec![marketplace.into()],
            fulfillment_availability: channels
                .iter()
                .map(|(c, q)| SeedChannel {
                    fulfillment_channel_code: c.to_string(),
                    quantity: *q,
                })
                .collect(),
            ..SeedListing::default()
        }
    }

    #[tokio::test]
    async fn reads_quantities_and_treats_404_as_not_listed() {
        // The sandbox answers 404 for a SKU not listed in the marketplace asked; Amazon may
        // answer 200 with summaries naming only the other marketplaces of the region.
        let stub = FaultStub::proxy(|s| {
            if s.path.ends_with("/ELSEWHERE") {
                Fault::Reply(
                    Json(json!({"sku": "ELSEWHERE", "summaries": [],
                        "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 3}]}))
                    .into_response(),
                )
            } else {
                Fault::Pass
            }
        })
        .await;
        stub.sandbox()
            .seed(&SeedRequest {
                seller_id: "SELLER".into(),
                listings: vec![
                    listing("A/1", US, &[("newark", 4), ("DEFAULT", 7)]),
                    listing("FBA-1", US, &[("AMAZON_NA", 5)]),
                ],
            })
            .unwrap();
        // A channel that is always available has no quantity to read.
        let always = json!({"productType": "PRODUCT", "patches": [{"op": "merge",
            "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "ALWAYS", "is_inventory_available": true}]}]});
        let setup = stub.client(5);
        let v = setup
            .call(
                ApiOp::PatchListingsItem,
                Region::NA,
                "PATCH",
                "/listings/2021-08-01/items/SELLER/A%2F1",
                &[("marketplaceIds".into(), US.into())],
                Some(&always),
            )
            .await
            .unwrap();
        assert_eq!(v["status"], "ACCEPTED", "{v}");

        let client = stub.client(5);
        let skus = vec!["A/1".to_string(), "B".to_string(), "A/1".to_string()];
        let cur = fetch_current(&client, "SELLER", US, &skus).await.unwrap();
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
        let cur = fetch_current(&client, "SELLER", US, &more).await.unwrap();
        assert_eq!(cur.amazon_fulfilled["FBA-1"], "AMAZON_NA");
        assert!(!cur.listings.contains_key("FBA-1"));
        assert!(cur.listed_in["ELSEWHERE"].is_empty());
        assert_eq!(cur.channels("ELSEWHERE").unwrap()[0].quantity, 3);
        let e = fetch_current(&client, "SELLER", "NOPE", &skus)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("not built in"));
        // Every read names the seller, the marketplace and what it needs.
        for s in stub.seen().iter().filter(|s| s.method == "GET") {
            assert!(
                s.path.starts_with("/listings/2021-08-01/items/SELLER/"),
                "{s:?}"
            );
            let q: HashMap<String, String> = url::form_urlencoded::parse(s.query.as_bytes())
                .into_owned()
                .collect();
            assert_eq!(q["includedData"], "summaries,fulfillmentAvailability");
            assert_eq!(q["marketplaceIds"], US);
        }
    }
}
