//! Amazon: the facts allot relies on, in one place, shared by the preview (`sim`), the planner
//! (`plan`), the SP-API client (`spapi`) and the local stand-in (`sandbox`), so what the preview
//! predicts, what the plan encodes, how the client paces itself and what the rehearsal enforces
//! cannot drift apart. Sources: ../shared/notes/spapi.md and ../shared/spapi-models.
//!
//! - here: Amazon's model of quantities (listing keys, patch semantics);
//! - [`limits`]: the usage plans (rate and burst per operation) and JSON_LISTINGS_FEED's window;
//! - [`feeds`]: JSON_LISTINGS_FEED's constants and the document the planner encodes;
//! - [`request`]: the request the planner encodes and the client sends, and path encoding.
//! - [`reports`]: the Reports API and the All Listings report's layout (live reads at scale);
//! - [`supply_sources`]: the Supply Sources API (the seller's locations).
//!
//! The rules of the model (../shared/notes/spapi.md sec. 2 and 5):
//! - quantity belongs to seller + seller SKU, not to a marketplace: in a unified account one
//!   seller SKU shows one quantity in every marketplace of the region where it is listed;
//! - writes are applied in order and the last write wins, whichever marketplace it named;
//! - `merge` changes only the channels it names; `replace` swaps the whole channel list;
//! - a Fulfilled-by-Amazon channel (`AMAZON_NA`, ...) belongs to Amazon: a seller write neither
//!   sets nor removes it, and a `replace` naming `DEFAULT` adds DEFAULT beside it (Amazon's own
//!   issue tracker reports this: the offer is not switched to merchant-fulfilled).

pub mod feeds;
pub mod limits;
pub mod reports;
pub mod request;
pub mod supply_sources;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::marketplaces::Region;
use crate::model::ChannelQty;

/// The product type sent with quantity-only writes (PATCH and feed messages): Amazon accepts the
/// generic `PRODUCT` when only offer attributes such as `fulfillment_availability` are patched.
pub const PRODUCT_TYPE: &str = "PRODUCT";
/// The attribute every write of allot patches.
pub const ATTRIBUTE_PATH: &str = "/attributes/fulfillment_availability";

/// How a write patches `fulfillment_availability`: `merge` changes only the channels it names,
/// `replace` swaps the whole list (and has dropped handling time: notes/spapi.md sec. 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PatchOp {
    Merge,
    Replace,
}

impl PatchOp {
    /// The patch's `op` as Amazon spells it.
    pub fn name(self) -> &'static str {
        match self {
            PatchOp::Merge => "merge",
            PatchOp::Replace => "replace",
        }
    }
}

/// True for the channel codes of Fulfilled by Amazon (`AMAZON_NA`, `AMAZON_EU`, `AMAZON_FE`;
/// `AMAZON_JP` is also cited): Amazon fulfils those offers from its own stock and owns their
/// quantity. The whole `AMAZON_` prefix counts, so an unfamiliar FBA code is never written over.
pub fn is_amazon_fulfilled(channel: &str) -> bool {
    channel.starts_with("AMAZON_")
}

/// The region whose FBA network a known Amazon channel code names, `None` for other codes.
pub fn amazon_channel_region(channel: &str) -> Option<Region> {
    match channel {
        "AMAZON_NA" => Some(Region::NA),
        "AMAZON_EU" => Some(Region::EU),
        // Sources differ on the Far East code; both are taken.
        "AMAZON_FE" | "AMAZON_JP" => Some(Region::FE),
        _ => None,
    }
}

/// The key of one quantity in Amazon: seller, region (unified account) and seller SKU.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ListingKey {
    pub seller_id: String,
    pub region: Region,
    pub seller_sku: String,
}

/// What Amazon holds for one key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// Marketplace IDs (or codes, as the caller chooses) where the SKU is listed.
    pub marketplaces: BTreeSet<String>,
    /// Channel code → quantity. `DEFAULT` is the merchant-fulfilled offer without a location.
    pub channels: BTreeMap<String, u64>,
}

impl Listing {
    /// One seller write to this listing ([`AmazonModel::write`] for one key, which the
    /// preview uses offer by offer).
    pub fn write(&mut self, marketplace: &str, channels: &[ChannelQty], op: PatchOp) {
        if !self.marketplaces.contains(marketplace) {
            self.marketplaces.insert(marketplace.to_string());
        }
        if op == PatchOp::Replace {
            self.channels.retain(|c, _| is_amazon_fulfilled(c));
        }
        for c in channels.iter().filter(|c| !is_amazon_fulfilled(&c.channel)) {
            match self.channels.get_mut(&c.channel) {
                Some(q) => *q = c.quantity,
                None => {
                    self.channels.insert(c.channel.clone(), c.quantity);
                }
            }
        }
    }

    /// The `fulfillment_availability` list, DEFAULT first.
    pub fn channel_list(&self) -> Vec<ChannelQty> {
        crate::model::channel_list_sorted(self.channels.iter().map(|(c, &q)| (c.as_str(), q)))
    }

    /// True when Amazon fulfils an offer of this listing (an `AMAZON_*` channel).
    pub fn is_fba(&self) -> bool {
        self.channels.keys().any(|c| is_amazon_fulfilled(c))
    }

    /// True when buyers would see two offers: a non-zero DEFAULT beside location channels.
    pub fn shows_two_offers(&self) -> bool {
        let has_location = self
            .channels
            .keys()
            .any(|c| c != crate::model::DEFAULT_CHANNEL);
        has_location
            && self
                .channels
                .get(crate::model::DEFAULT_CHANNEL)
                .is_some_and(|q| *q > 0)
    }
}

/// Amazon's state: every seller SKU's one quantity per region.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmazonModel {
    #[serde(with = "listing_map")]
    pub listings: BTreeMap<ListingKey, Listing>,
}

mod listing_map {
    //! JSON object keys must be strings: store the map as a list of entries.
    use super::*;
    use serde::{Deserializer, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Entry {
        #[serde(flatten)]
        key: ListingKey,
        #[serde(flatten)]
        listing: Listing,
    }

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<ListingKey, Listing>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter().map(|(k, v)| Entry {
            key: k.clone(),
            listing: v.clone(),
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<ListingKey, Listing>, D::Error> {
        let entries: Vec<Entry> = Vec::deserialize(d)?;
        Ok(entries.into_iter().map(|e| (e.key, e.listing)).collect())
    }
}

impl AmazonModel {
    pub fn new() -> Self {
        Self::default()
    }

    /// Apply one seller write, as Amazon does: the SKU becomes listed in `marketplace` and its
    /// one quantity per channel is set (last write wins across marketplaces). Amazon-fulfilled
    /// channels are Amazon's: a write neither sets them nor, with `replace`, drops them (use
    /// [`AmazonModel::seed`] to record what Amazon holds).
    pub fn write(
        &mut self,
        key: ListingKey,
        marketplace: &str,
        channels: &[ChannelQty],
        op: PatchOp,
    ) {
        self.listings
            .entry(key)
            .or_default()
            .write(marketplace, channels, op);
    }

    /// Record what Amazon already holds for a key (from the current listings), before writes.
    pub fn seed(&mut self, key: ListingKey, listing: Listing) {
        self.listings.insert(key, listing);
    }

    /// Remove the named channels of a listing (a `delete` patch with values): its other
    /// channels and its marketplaces stay. Unknown keys or channels are ignored, and so are
    /// Amazon-fulfilled ones (a seller cannot remove Amazon's offer this way).
    pub fn delete_channels(&mut self, key: &ListingKey, channels: &[String]) {
        if let Some(l) = self.listings.get_mut(key) {
            for c in channels.iter().filter(|c| !is_amazon_fulfilled(c)) {
                l.channels.remove(c);
            }
        }
    }

    /// Delist a SKU from one marketplace (deleteListingsItem). The quantity belongs to the key,
    /// so it survives while any marketplace of the region still lists the SKU; the key is
    /// removed with its last marketplace. Returns false if it was not listed there.
    pub fn delist(&mut self, key: &ListingKey, marketplace: &str) -> bool {
        let Some(l) = self.listings.get_mut(key) else {
            return false;
        };
        let was = l.marketplaces.remove(marketplace);
        if l.marketplaces.is_empty() {
            self.listings.remove(key);
        }
        was
    }

    /// True when the SKU of `key` is listed in `marketplace`.
    pub fn is_listed(&self, key: &ListingKey, marketplace: &str) -> bool {
        self.listings
            .get(key)
            .is_some_and(|l| l.marketplaces.contains(marketplace))
    }

    pub fn get(&self, key: &ListingKey) -> Option<&Listing> {
        self.listings.get(key)
    }

    /// The quantity buyers see for `channel` of a SKU in `marketplace`: the key's one quantity if
    /// the SKU is listed there, else `None`.
    pub fn shown(&self, key: &ListingKey, marketplace: &str, channel: &str) -> Option<u64> {
        let l = self.listings.get(key)?;
        if !l.marketplaces.contains(marketplace) {
            return None;
        }
        l.channels.get(channel).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seller_sku: &str) -> ListingKey {
        ListingKey {
            seller_id: "A2EXAMPLE0SELLER".into(),
            region: Region::EU,
            seller_sku: seller_sku.into(),
        }
    }

    fn default_qty(q: u64) -> Vec<ChannelQty> {
        vec![ChannelQty::new("DEFAULT", q)]
    }

    /// Seed 002: UK 10, DE 20, FR 30 sent for one shared SKU, in that order: 30 everywhere.
    #[test]
    fn seed_002_last_write_wins_across_marketplaces() {
        let mut m = AmazonModel::new();
        m.write(key("SKU123"), "UK", &default_qty(10), PatchOp::Merge);
        m.write(key("SKU123"), "DE", &default_qty(20), PatchOp::Merge);
        m.write(key("SKU123"), "FR", &default_qty(30), PatchOp::Merge);
        for mkt in ["UK", "DE", "FR"] {
            assert_eq!(m.shown(&key("SKU123"), mkt, "DEFAULT"), Some(30), "{mkt}");
        }
    }

    /// The fix from the same seed: one seller SKU per marketplace keeps each quantity.
    #[test]
    fn seed_002_fix_own_sku_per_marketplace() {
        let mut m = AmazonModel::new();
        m.write(key("SKU123_UK"), "UK", &default_qty(10), PatchOp::Merge);
        m.write(key("SKU123_DE"), "DE", &default_qty(20), PatchOp::Merge);
        m.write(key("SKU123_FR"), "FR", &default_qty(30), PatchOp::Merge);
        assert_eq!(m.shown(&key("SKU123_UK"), "UK", "DEFAULT"), Some(10));
        assert_eq!(m.shown(&key("SKU123_DE"), "DE", "DEFAULT"), Some(20));
        assert_eq!(m.shown(&key("SKU123_FR"), "FR", "DEFAULT"), Some(30));
        assert_eq!(m.shown(&key("SKU123_UK"), "DE", "DEFAULT"), None);
    }

    #[test]
    fn delete_channels_and_delist_keep_the_shared_quantity() {
        let mut m = AmazonModel::new();
        let both = vec![ChannelQty::new("DEFAULT", 3), ChannelQty::new("newark", 4)];
        m.write(key("S"), "UK", &both, PatchOp::Merge);
        m.write(key("S"), "DE", &[], PatchOp::Merge);
        m.delete_channels(&key("S"), &["newark".to_string()]);
        assert_eq!(m.get(&key("S")).unwrap().channels.len(), 1);
        assert!(m.delist(&key("S"), "UK"));
        assert!(!m.is_listed(&key("S"), "UK"));
        assert_eq!(m.shown(&key("S"), "DE", "DEFAULT"), Some(3));
        assert!(!m.delist(&key("S"), "UK"));
        assert!(m.delist(&key("S"), "DE"));
        assert!(m.get(&key("S")).is_none());
    }

    #[test]
    fn merge_keeps_other_channels_replace_drops_them() {
        let mut m = AmazonModel::new();
        let both = vec![ChannelQty::new("DEFAULT", 0), ChannelQty::new("newark", 4)];
        m.write(key("S"), "US", &both, PatchOp::Merge);
        m.write(key("S"), "US", &default_qty(7), PatchOp::Merge);
        assert_eq!(m.get(&key("S")).unwrap().channels.len(), 2);
        assert!(m.get(&key("S")).unwrap().shows_two_offers());
        m.write(key("S"), "US", &default_qty(7), PatchOp::Replace);
        assert_eq!(m.get(&key("S")).unwrap().channels.len(), 1);
    }

    /// Amazon's tracker: a DEFAULT write on an FBA SKU adds a merchant offer beside the FBA one.
    #[test]
    fn seller_writes_add_default_beside_fba_and_never_touch_it() {
        let mut m = AmazonModel::new();
        let fba = Listing {
            marketplaces: ["US".to_string()].into(),
            channels: [("AMAZON_NA".to_string(), 12)].into(),
        };
        m.seed(key("F"), fba);
        assert!(m.get(&key("F")).unwrap().is_fba());
        assert!(!m.get(&key("F")).unwrap().shows_two_offers());
        m.write(key("F"), "US", &default_qty(40), PatchOp::Replace);
        let amazon_40 = [ChannelQty::new("AMAZON_NA", 40)];
        m.write(key("F"), "US", &amazon_40, PatchOp::Merge);
        m.delete_channels(&key("F"), &["AMAZON_NA".to_string()]);
        let l = m.get(&key("F")).unwrap();
        assert_eq!(l.channels.get("AMAZON_NA"), Some(&12));
        assert_eq!(l.channels.get("DEFAULT"), Some(&40));
        assert!(l.shows_two_offers());
        assert!(is_amazon_fulfilled("AMAZON_EU") && !is_amazon_fulfilled("DEFAULT"));
        assert_eq!(amazon_channel_region("AMAZON_JP"), Some(Region::FE));
        assert_eq!(amazon_channel_region("newark"), None);
    }
}
