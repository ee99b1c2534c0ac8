//! What a policy change does (`allot diff`): the offers of two runs on the same inputs,
//! compared by what Amazon keys a quantity by (seller, region, seller SKU).
//!
//! Each side keeps only what the comparison needs of an offer (no steps, no current listing):
//! a [`Side`] is a [`Sink`] filled by `run_into`, one per policy file of the side. [`compare`]
//! then lists the offers whose published quantities differ, and counts the rest.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;

use crate::marketplaces::Region;
use crate::model::{Hold, OfferChange};

use super::{Provenance, Sink};

/// What Amazon keys a quantity by: one quantity per seller SKU in a region's unified account.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub seller_id: Arc<str>,
    pub region: Region,
    pub seller_sku: String,
}

/// Why a computed offer is not written (the preview's holds), for the diff's note.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Held {
    FulfilledByAmazon,
    NotListed,
    NotListedHere,
    InitialQuantitySent,
}

impl Held {
    fn of(h: &Hold) -> Held {
        match h {
            Hold::FulfilledByAmazon { .. } => Held::FulfilledByAmazon,
            Hold::NotListed => Held::NotListed,
            Hold::NotListedHere { .. } => Held::NotListedHere,
            Hold::InitialSent => Held::InitialQuantitySent,
        }
    }

    /// A few words for people.
    pub fn words(self) -> &'static str {
        match self {
            Held::FulfilledByAmazon => "fulfilled by Amazon",
            Held::NotListed => "not listed on Amazon",
            Held::NotListedHere => "not listed in its marketplaces",
            Held::InitialQuantitySent => "initial quantity already sent",
        }
    }
}

/// One side's offer: what the comparison needs of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub inventory_sku: String,
    /// Where the quantity is written (the preview's marketplaces, narrowed to where the seller
    /// SKU is listed when current listings are given).
    pub marketplaces: Arc<[String]>,
    /// Channel code and quantity, in the offer's order (DEFAULT first).
    pub channels: Vec<(String, u64)>,
    pub rule: Arc<str>,
    /// Set when allot would not write the offer: it then publishes nothing on this side.
    pub held: Option<Held>,
}

impl Entry {
    fn written(&self) -> bool {
        self.held.is_none()
    }

    fn total(&self) -> u64 {
        self.channels
            .iter()
            .fold(0u64, |t, (_, q)| t.saturating_add(*q))
    }

    fn quantity(&self, channel: &str) -> Option<u64> {
        self.channels
            .iter()
            .find(|(c, _)| c == channel)
            .map(|(_, q)| *q)
    }
}

/// A seller SKU two policy files of one side both write (in one region): the side cannot be
/// compared, as Amazon would keep only the last write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Twice {
    pub seller_sku: String,
    pub region: Region,
    pub first_rule: Arc<str>,
    pub second_rule: Arc<str>,
}

/// One side's offers, by key. Filled through [`Side::sink`], one policy at a time.
#[derive(Debug, Default)]
pub struct Side {
    pub offers: HashMap<Key, Entry>,
    /// The first seller SKU written twice, if any.
    pub twice: Option<Twice>,
}

impl Side {
    /// A sink for one policy's run, recording its offers under `seller_id`.
    pub fn sink<'s>(&'s mut self, seller_id: &str) -> SideSink<'s> {
        SideSink {
            side: self,
            seller_id: Arc::from(seller_id.trim()),
        }
    }
}

/// [`Side::sink`].
pub struct SideSink<'s> {
    side: &'s mut Side,
    seller_id: Arc<str>,
}

impl Sink for SideSink<'_> {
    fn expect(&mut self, offers: usize) {
        self.side.offers.reserve(offers);
    }

    fn offer(&mut self, change: &OfferChange, _: &Provenance) {
        let o = &change.offer;
        let key = Key {
            seller_id: self.seller_id.clone(),
            region: o.region,
            seller_sku: o.seller_sku.clone(),
        };
        let entry = Entry {
            inventory_sku: o.inventory_sku.clone(),
            marketplaces: o.marketplaces.clone(),
            channels: o
                .channels
                .iter()
                .map(|c| (c.channel.clone(), c.quantity))
                .collect(),
            rule: o.rule.clone(),
            held: change.hold.as_deref().map(Held::of),
        };
        match self.side.offers.entry(key) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(entry);
            }
            std::collections::hash_map::Entry::Occupied(o) => {
                // One policy never writes a seller SKU twice (the run refuses it): this is two
                // files of one seller.
                if self.side.twice.is_none() {
                    self.side.twice = Some(Twice {
                        seller_sku: o.key().seller_sku.clone(),
                        region: o.key().region,
                        first_rule: o.get().rule.clone(),
                        second_rule: entry.rule,
                    });
                }
            }
        }
    }
}

/// How an offer's published quantity moves from base to new.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    /// More units in all (over its channels).
    Up,
    /// Fewer units, but not none.
    Down,
    /// From some units to none: the offer becomes unbuyable.
    ToZero,
    /// Written by new only (absent from base, or not written there).
    Appear,
    /// Written by base only: allot no longer writes it, and Amazon keeps its quantity.
    Disappear,
    /// The same units in all, on other channels or marketplaces.
    Moved,
}

impl DiffKind {
    pub fn words(self) -> &'static str {
        match self {
            DiffKind::Up => "up",
            DiffKind::Down => "down",
            DiffKind::ToZero => "to zero",
            DiffKind::Appear => "appears",
            DiffKind::Disappear => "disappears",
            DiffKind::Moved => "moved",
        }
    }
}

/// One side of a differing offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SideView {
    pub inventory_sku: String,
    pub marketplaces: Arc<[String]>,
    pub rule: Arc<str>,
    pub held: Option<Held>,
    /// Units written over its channels (0 when held).
    pub total: u64,
}

/// One channel of a differing offer: `None` where that side writes no quantity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelDiff {
    pub channel: String,
    pub base: Option<u64>,
    pub new: Option<u64>,
}

/// An offer whose published quantity (or where it is published) differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferDiff {
    pub key: Key,
    pub kind: DiffKind,
    /// The offer as computed on each side (held or not); `None` when the side has no such offer.
    pub base: Option<SideView>,
    pub new: Option<SideView>,
    /// The channels whose quantity differs; every channel of the offer when only its
    /// marketplaces differ, or when it appears or disappears.
    pub channels: Vec<ChannelDiff>,
}

impl OfferDiff {
    /// The marketplaces of the side that writes it (new first), for ordering and display.
    pub fn marketplaces(&self) -> &[String] {
        self.new
            .as_ref()
            .filter(|v| v.held.is_none())
            .or(self.base.as_ref())
            .or(self.new.as_ref())
            .map_or(&[], |v| &v.marketplaces[..])
    }
}

/// Units published in one marketplace by each side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MarketplaceTotal {
    pub marketplace: String,
    pub base_units: u64,
    pub new_units: u64,
    /// `new_units - base_units` (saturating at the bounds of a 64-bit signed integer).
    pub delta: i64,
}

/// An inventory SKU that loses an offer and gains another in one region: its seller SKU was
/// renamed (a template or mapping changed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Renamed {
    pub inventory_sku: String,
    pub base_seller_sku: String,
    pub new_seller_sku: String,
}

/// An offer only the new side makes that allot will not write (held: FBA, not listed): no
/// quantity changes, but a reviewer renaming seller SKUs must know the new ones are not written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotWritten {
    pub seller_id: Arc<str>,
    pub region: Region,
    pub seller_sku: String,
    pub inventory_sku: String,
    pub marketplaces: Arc<[String]>,
    pub rule: Arc<str>,
    pub held: Held,
}

/// The counts of the comparison, every offer in one of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub up: u64,
    pub down: u64,
    pub to_zero: u64,
    pub appear: u64,
    pub disappear: u64,
    pub moved: u64,
    /// Offers the same on both sides (written with the same quantities where, or not written
    /// by either).
    pub unchanged: u64,
    /// Offers only the new side makes, not written (held): [`Diff::not_written`].
    pub not_written: u64,
}

impl Counts {
    pub fn differing(&self) -> u64 {
        self.up + self.down + self.to_zero + self.appear + self.disappear + self.moved
    }

    fn add(&mut self, k: DiffKind) {
        let c = match k {
            DiffKind::Up => &mut self.up,
            DiffKind::Down => &mut self.down,
            DiffKind::ToZero => &mut self.to_zero,
            DiffKind::Appear => &mut self.appear,
            DiffKind::Disappear => &mut self.disappear,
            DiffKind::Moved => &mut self.moved,
        };
        *c += 1;
    }
}

/// The comparison of two sides.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diff {
    /// The differing offers, by seller SKU, then marketplaces, then region and seller.
    pub offers: Vec<OfferDiff>,
    pub counts: Counts,
    /// Every marketplace either side publishes to, by code.
    pub totals: Vec<MarketplaceTotal>,
    /// Inventory SKUs whose seller SKU was renamed, by inventory SKU (one per old and new pair).
    pub renamed: Vec<Renamed>,
    /// Offers only the new side makes and allot will not write, by seller SKU.
    pub not_written: Vec<NotWritten>,
}

fn view(e: &Entry) -> SideView {
    SideView {
        inventory_sku: e.inventory_sku.clone(),
        marketplaces: e.marketplaces.clone(),
        rule: e.rule.clone(),
        held: e.held,
        total: if e.written() { e.total() } else { 0 },
    }
}

/// Compare base with new. Only written offers publish a quantity; a held one (FBA, not listed)
/// counts as absent, and its view says why.
pub fn compare(base: &Side, new: &Side) -> Diff {
    let mut diff = Diff::default();
    let mut totals: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (side, is_new) in [(base, false), (new, true)] {
        for e in side.offers.values().filter(|e| e.written()) {
            for m in e.marketplaces.iter() {
                let t = totals.entry(m.as_str()).or_default();
                let slot = if is_new { &mut t.1 } else { &mut t.0 };
                *slot = slot.saturating_add(e.total());
            }
        }
    }
    for (key, b) in &base.offers {
        let n = new.offers.get(key);
        if let Some(d) = one(key, Some(b), n) {
            diff.counts.add(d.kind);
            diff.offers.push(d);
        } else {
            diff.counts.unchanged += 1;
        }
    }
    for (key, n) in &new.offers {
        if base.offers.contains_key(key) {
            continue;
        }
        match (one(key, None, Some(n)), n.held) {
            (Some(d), _) => {
                diff.counts.add(d.kind);
                diff.offers.push(d);
            }
            // Made by new only, and held: neither side writes it, but it is new.
            (None, Some(held)) => diff.not_written.push(NotWritten {
                seller_id: key.seller_id.clone(),
                region: key.region,
                seller_sku: key.seller_sku.clone(),
                inventory_sku: n.inventory_sku.clone(),
                marketplaces: n.marketplaces.clone(),
                rule: n.rule.clone(),
                held,
            }),
            (None, None) => diff.counts.unchanged += 1,
        }
    }
    diff.counts.not_written = diff.not_written.len() as u64;
    diff.not_written
        .sort_by(|a, b| (&a.seller_sku, &a.marketplaces).cmp(&(&b.seller_sku, &b.marketplaces)));
    diff.offers.sort_by(|a, b| {
        (
            &a.key.seller_sku,
            a.marketplaces(),
            a.key.region,
            &a.key.seller_id,
        )
            .cmp(&(
                &b.key.seller_sku,
                b.marketplaces(),
                b.key.region,
                &b.key.seller_id,
            ))
    });
    diff.totals = totals
        .into_iter()
        .map(|(m, (b, n))| MarketplaceTotal {
            marketplace: m.to_string(),
            base_units: b,
            new_units: n,
            delta: signed(n).saturating_sub(signed(b)),
        })
        .collect();
    diff.renamed = renamed(&diff.offers, &diff.not_written);
    diff
}

fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The difference of one key, or None when both sides publish the same there.
fn one(key: &Key, b: Option<&Entry>, n: Option<&Entry>) -> Option<OfferDiff> {
    let bw = b.filter(|e| e.written());
    let nw = n.filter(|e| e.written());
    let (kind, channels) = match (bw, nw) {
        (None, None) => return None,
        (Some(b), None) => (DiffKind::Disappear, all_channels(b, false)),
        (None, Some(n)) => (DiffKind::Appear, all_channels(n, true)),
        (Some(b), Some(n)) => {
            let mut codes: Vec<&str> = b.channels.iter().map(|(c, _)| c.as_str()).collect();
            for (c, _) in &n.channels {
                if !codes.contains(&c.as_str()) {
                    codes.push(c);
                }
            }
            let all: Vec<ChannelDiff> = codes
                .into_iter()
                .map(|c| ChannelDiff {
                    channel: c.to_string(),
                    base: b.quantity(c),
                    new: n.quantity(c),
                })
                .collect();
            let differing: Vec<ChannelDiff> =
                all.iter().filter(|c| c.base != c.new).cloned().collect();
            let same_places = b.marketplaces == n.marketplaces;
            if differing.is_empty() && same_places {
                return None;
            }
            let (bt, nt) = (b.total(), n.total());
            let kind = if nt > bt {
                DiffKind::Up
            } else if nt == bt {
                DiffKind::Moved
            } else if nt == 0 {
                DiffKind::ToZero
            } else {
                DiffKind::Down
            };
            (kind, if differing.is_empty() { all } else { differing })
        }
    };
    Some(OfferDiff {
        key: key.clone(),
        kind,
        base: b.map(view),
        new: n.map(view),
        channels,
    })
}

/// Every channel of an offer written on one side only.
fn all_channels(e: &Entry, is_new: bool) -> Vec<ChannelDiff> {
    e.channels
        .iter()
        .map(|(c, q)| ChannelDiff {
            channel: c.clone(),
            base: (!is_new).then_some(*q),
            new: is_new.then_some(*q),
        })
        .collect()
}

/// Inventory SKUs with an offer that disappears and one that appears (written or not) in the
/// same seller and region: paired in seller SKU order.
fn renamed(offers: &[OfferDiff], not_written: &[NotWritten]) -> Vec<Renamed> {
    type Group<'a> = (Vec<&'a str>, Vec<&'a str>);
    let mut by_sku: BTreeMap<(&str, &str, Region), Group> = BTreeMap::new();
    for n in not_written {
        by_sku
            .entry((&n.inventory_sku, &n.seller_id, n.region))
            .or_default()
            .1
            .push(&n.seller_sku);
    }
    for d in offers {
        let (side, gone) = match d.kind {
            DiffKind::Disappear => (d.base.as_ref(), true),
            DiffKind::Appear => (d.new.as_ref(), false),
            _ => continue,
        };
        let Some(v) = side else { continue };
        let g = by_sku
            .entry((v.inventory_sku.as_str(), &d.key.seller_id, d.key.region))
            .or_default();
        if gone {
            g.0.push(&d.key.seller_sku);
        } else {
            g.1.push(&d.key.seller_sku);
        }
    }
    let mut out = Vec::new();
    for ((sku, _, _), (gone, mut came)) in by_sku {
        came.sort_unstable();
        for (b, n) in gone.iter().zip(&came) {
            out.push(Renamed {
                inventory_sku: sku.to_string(),
                base_seller_sku: b.to_string(),
                new_seller_sku: n.to_string(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(sku: &str, mkts: &[&str], ch: &[(&str, u64)], rule: &str) -> Entry {
        Entry {
            inventory_sku: sku.to_string(),
            marketplaces: mkts.iter().map(|m| m.to_string()).collect(),
            channels: ch.iter().map(|(c, q)| (c.to_string(), *q)).collect(),
            rule: Arc::from(rule),
            held: None,
        }
    }

    fn key(s: &str) -> Key {
        Key {
            seller_id: Arc::from("S"),
            region: Region::NA,
            seller_sku: s.to_string(),
        }
    }

    fn side(items: Vec<(&str, Entry)>) -> Side {
        Side {
            offers: items.into_iter().map(|(k, e)| (key(k), e)).collect(),
            twice: None,
        }
    }

    #[test]
    fn quantities_decide_not_rule_names() {
        let b = side(vec![(
            "A-US",
            entry("A", &["US"], &[("DEFAULT", 5)], "old"),
        )]);
        let n = side(vec![(
            "A-US",
            entry("A", &["US"], &[("DEFAULT", 5)], "new"),
        )]);
        let d = compare(&b, &n);
        assert!(d.offers.is_empty());
        assert_eq!(d.counts.unchanged, 1);
        assert_eq!(d.totals[0].delta, 0);
    }

    #[test]
    fn kinds_totals_and_renames() {
        let b = side(vec![
            ("A-US", entry("A", &["US"], &[("DEFAULT", 5)], "r")),
            ("B-US", entry("B", &["US"], &[("DEFAULT", 5)], "r")),
            ("C-UK", entry("C", &["UK"], &[("DEFAULT", 4)], "r")),
            (
                "D",
                entry("D", &["US"], &[("DEFAULT", 0), ("n", 3), ("a", 1)], "r"),
            ),
        ]);
        let n = side(vec![
            ("A-US", entry("A", &["US"], &[("DEFAULT", 7)], "r")),
            ("B-US", entry("B", &["US"], &[("DEFAULT", 0)], "r")),
            ("C_UK", entry("C", &["UK"], &[("DEFAULT", 4)], "r")),
            (
                "D",
                entry("D", &["US"], &[("DEFAULT", 0), ("n", 1), ("a", 3)], "r"),
            ),
        ]);
        let d = compare(&b, &n);
        let kinds: Vec<(&str, DiffKind)> = d
            .offers
            .iter()
            .map(|o| (o.key.seller_sku.as_str(), o.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("A-US", DiffKind::Up),
                ("B-US", DiffKind::ToZero),
                ("C-UK", DiffKind::Disappear),
                ("C_UK", DiffKind::Appear),
                ("D", DiffKind::Moved),
            ]
        );
        // Only the channels that differ are listed.
        assert_eq!(d.offers[4].channels.len(), 2);
        assert_eq!(d.counts.differing(), 5);
        assert_eq!(
            d.renamed,
            [Renamed {
                inventory_sku: "C".into(),
                base_seller_sku: "C-UK".into(),
                new_seller_sku: "C_UK".into()
            }]
        );
        let us = d.totals.iter().find(|t| t.marketplace == "US").unwrap();
        assert_eq!((us.base_units, us.new_units, us.delta), (14, 11, -3));
    }

    #[test]
    fn a_held_offer_publishes_nothing() {
        let mut held = entry("A", &["US"], &[("DEFAULT", 5)], "r");
        held.held = Some(Held::NotListed);
        let b = side(vec![("A-US", entry("A", &["US"], &[("DEFAULT", 5)], "r"))]);
        let n = side(vec![("A-US", held.clone())]);
        let d = compare(&b, &n);
        assert_eq!(d.offers[0].kind, DiffKind::Disappear);
        assert_eq!(
            d.offers[0].new.as_ref().unwrap().held,
            Some(Held::NotListed)
        );
        // Held on both sides: neither writes it.
        let d = compare(&n, &side(vec![("A-US", held)]));
        assert!(d.offers.is_empty());
        assert_eq!(d.counts.unchanged, 1);
    }
}
