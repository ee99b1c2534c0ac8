//! Stage 3: the allocation engine, Amazon's model and the preview.
//!
//! `run` evaluates every inventory SKU against the policy's rules (first match decides, order of
//! operations in `engine`), adds the SKUs that are missing from the inventory, compares every
//! offer with the current listings, works out what buyers will see (Amazon's model, `amazon`)
//! and how much could be oversold. One pass over the SKUs, O(SKUs × rules).

pub mod coverage;
pub mod diff;
pub mod engine;
pub mod error;
pub mod testrun;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use serde::Serialize;

use crate::amazon::{AmazonModel, Listing, ListingKey, PatchOp};
use crate::inventory::{Stock, StockItem};
use crate::marketplaces::Region;
use crate::model::{
    Action, ChangeKind, ChannelQty, Channels, Current, Hold, Marketplaces, Offer, OfferChange,
    OnFba, Policy, RuleSpans, Selector, Summary, TemplatePart,
};
pub use engine::{Decision, Step, StepKind};
use engine::{Engine, Produced};
use error::Problems;
pub use error::{Place, SimError, SimProblem, codes};

/// How an offer's quantity came about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// Index into `Policy::rules` of the rule that decided.
    pub rule: usize,
    /// The SKU had no inventory row (published by `on_missing zero`).
    pub missing: bool,
    /// The value after each step, in order.
    pub steps: Vec<Step>,
    /// Units per item of the offer (`pack N`; 1 for singles), for the exposure in units.
    #[serde(skip)]
    pub pack: u64,
    /// What buyers will see after the write, when it differs from the offer's channels
    /// (channels of the current listing that the write leaves alone).
    pub shown: Option<Vec<ChannelQty>>,
    /// Marketplaces of the region where the SKU is listed now but the policy does not publish:
    /// the new quantity shows there too.
    pub also_shown_in: Vec<String>,
    /// Marketplaces the policy publishes to where the current listings say the SKU is not
    /// listed: not written there (a write would create an offer), unless `--allow-new`.
    /// A boxed slice: no room taken beyond a pointer when empty, as it nearly always is.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub not_listed_in: Box<[String]>,
    /// Written, and its seller SKU is listed, but the current listings do not say in which
    /// marketplaces (counted in `Preview::listed_where_unknown`).
    #[serde(skip)]
    pub listed_where_unknown: bool,
}

/// Choices of the run that are the user's to make, not the policy's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Write offers whose seller SKU is not listed (creating offer-only listings), instead of
    /// holding them back.
    pub allow_new: bool,
    /// Do not keep each offer's steps (`Provenance::steps` left empty): the table and Markdown
    /// previews and saved plans never print them, and on a million offers they are most of
    /// the preview's memory. `explain`, `allot test` and the JSON preview keep them.
    pub drop_steps: bool,
    /// Keep only this many of the largest exposures in `Preview::exposure` (ties in inventory
    /// order; `Preview::exposed` still counts them all): the table lists a few, and ten
    /// million SKUs can have millions. `None` keeps every one (the JSON preview lists them).
    pub exposure_kept: Option<usize>,
}

/// An inventory SKU that was not published, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub inventory_sku: String,
    pub rule: String,
    pub reason: &'static str,
}

/// A target that made no offer for an inventory SKU because its seller SKU comes from an
/// inventory column (`{column:NAME}`) and the SKU has no value there (no such column, or blank).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unmapped {
    pub inventory_sku: String,
    pub rule: String,
    /// The target's marketplace code.
    pub marketplace: String,
    pub column: String,
}

/// Units that could be sold beyond the stock behind them, for one inventory SKU.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Exposure {
    pub inventory_sku: String,
    /// Units published on its independent offers (a seller SKU shared by marketplaces once).
    pub published: u64,
    /// Available stock over the locations the deciding rule counts.
    pub backing: u64,
    /// `published - backing`, never negative.
    pub exposure: u64,
}

/// The dry run: every offer with what changes, how it was computed, and the risks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Preview {
    /// Every offer, in inventory order (missing SKUs last), with its current channels.
    pub changes: Vec<OfferChange>,
    /// Parallel to `changes`.
    pub provenance: Vec<Provenance>,
    /// SKUs skipped for missing stock.
    pub skipped: Vec<Skipped>,
    /// Targets without a seller SKU for a SKU (an empty inventory column), in run order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unmapped: Vec<Unmapped>,
    /// Inventory SKUs whose exposure is above 0 (only the largest, largest first, when the run
    /// was told so: `Options::exposure_kept`).
    pub exposure: Vec<Exposure>,
    /// How many inventory SKUs have an exposure above 0.
    pub exposed: u64,
    pub warnings: Vec<String>,
    pub summary: Summary,
    /// Inventory SKUs no rule matched (nothing published).
    pub unmatched: u64,
    /// Inventory SKUs a `skip` rule matched.
    pub skipped_by_rule: u64,
    /// False when no current listings were given: new and existing seller SKUs cannot be told
    /// apart, so every offer shows as new.
    pub current_known: bool,
    /// Written offers whose seller SKU is listed, but the current listings do not say in which
    /// marketplaces (e.g. an All Listings report without `--current-marketplace`).
    pub listed_where_unknown: u64,
    /// Where the current listings come from and how fresh they are, when read live (the
    /// reports' creation times): said with the preview, as a note (not a warning).
    pub current_source: Option<String>,
}

impl Preview {
    /// True when applying the plan would write anything.
    pub fn has_changes(&self) -> bool {
        // From the counts, which a streamed run (no `changes` kept) has too: an offer is
        // written when it is not held (held offers are not in these counts) and it changes.
        let s = &self.summary;
        s.offers_new + s.offers_changed + s.offers_zeroed > 0
    }

    /// Offers not written, and why (FBA, not listed), in preview order.
    pub fn held(&self) -> impl Iterator<Item = (&OfferChange, &Hold)> {
        self.changes
            .iter()
            .filter_map(|c| c.hold.as_deref().map(|h| (c, h)))
    }
}

/// The key of a seller SKU in a region for finding one written twice: a 64-bit hash. A run
/// keeps one per offer (8 bytes; no string), sorts them at the end, and only on an equal pair
/// looks at the strings again (`duplicates`).
fn owner_key(region: Region, seller_sku: &str) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    region.hash(&mut h);
    seller_sku.hash(&mut h);
    h.finish()
}

/// The `k` largest exposures, largest first, ties in the order they came (inventory order:
/// a stable sort keeps it, and every one kept came before every one added since).
fn keep_largest(exposure: &mut Vec<Exposure>, k: usize) {
    exposure.sort_by_key(|e| std::cmp::Reverse(e.exposure));
    exposure.truncate(k);
}

/// The keys that appear more than once in sorted runs (one per worker, each sorted there, so
/// the sorting is spread over the cores), or None (the common case: no allocation): within a
/// run they are side by side, across two runs a walk of both finds them without a merged copy.
fn repeated(runs: &[Vec<u64>]) -> Option<HashSet<u64>> {
    let mut dups = HashSet::new();
    for (i, a) in runs.iter().enumerate() {
        dups.extend(a.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]));
        for b in &runs[i + 1..] {
            let (mut x, mut y) = (0, 0);
            while let (Some(&p), Some(&q)) = (a.get(x), b.get(y)) {
                if p == q {
                    dups.insert(p);
                }
                // Without a branch on the order: the keys are hashes, so it is a coin toss.
                x += usize::from(p <= q);
                y += usize::from(q <= p);
            }
        }
    }
    (!dups.is_empty()).then_some(dups)
}

/// Compare an offer's channels with the current listing: [`ChangeKind::of`], the rule `allot
/// show` uses too.
fn classify(channels: &[ChannelQty], current: Option<&Channels>) -> ChangeKind {
    ChangeKind::of(channels, current.map(|m| |c: &str| m.get(c).copied()))
}

/// The same channels and quantities (Amazon's model keeps no handling time: it is not compared).
fn same_channels(a: &[ChannelQty], b: &[ChannelQty]) -> bool {
    let mut a: Vec<(&str, u64)> = a.iter().map(|c| (c.channel.as_str(), c.quantity)).collect();
    let mut b: Vec<(&str, u64)> = b.iter().map(|c| (c.channel.as_str(), c.quantity)).collect();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

/// Where a written offer goes.
enum Placement {
    /// Every marketplace the policy names; `where_unknown`: the seller SKU is listed but the
    /// current listings do not say where.
    All { where_unknown: bool },
    /// Only these (indices into `Produced::marketplaces`); the codes of those left out because
    /// the seller SKU is not listed there.
    Narrowed(Vec<usize>, Vec<String>),
}

/// Where an offer may be written, given what Amazon holds: `Err(hold)` when it must not be
/// written at all. The common case allocates nothing and looks each map up once: this runs once
/// per offer.
fn placement(
    policy: &Policy,
    p: &Produced,
    on: Option<OnAmazon>,
    opts: Options,
) -> Result<Placement, Hold> {
    let all = Placement::All {
        where_unknown: false,
    };
    let Some(on) = on else {
        return Ok(all);
    };
    if let Some(channel) = on.fba {
        // Never lifted: Amazon owns the quantity, and a merchant quantity adds a second offer.
        return Err(Hold::FulfilledByAmazon {
            channel: channel.clone(),
        });
    }
    let listed = on.marketplaces.filter(|l| !l.is_empty());
    let known = listed.is_some() || on.known();
    if opts.allow_new {
        return Ok(Placement::All {
            where_unknown: known && listed.is_none(),
        });
    }
    if !known {
        return Err(Hold::NotListed);
    }
    let Some(listed) = listed else {
        // Listed, but the source does not say where: written as the policy says (the preview
        // counts these and says how to tell allot where they are listed).
        return Ok(Placement::All {
            where_unknown: true,
        });
    };
    let code = |i: usize| policy.marketplaces[p.marketplaces[i]].code.as_str();
    // Listings data names Amazon's code (`UK`) where the policy may write an alias (`GB`).
    let here = |i: &usize| listed.contains(crate::marketplaces::canonical(code(*i)));
    let n = p.marketplaces.len();
    if (0..n).all(|i| here(&i)) {
        return Ok(all);
    }
    let (keep, elsewhere): (Vec<usize>, Vec<usize>) = (0..n).partition(here);
    if keep.is_empty() {
        let in_region: Vec<String> = listed
            .iter()
            .filter(|m| region_of(policy, m) == Some(p.region))
            .map(str::to_string)
            .collect();
        if in_region.is_empty() {
            return Err(Hold::NotListed);
        }
        return Err(Hold::NotListedHere {
            listed_in: in_region,
        });
    }
    let left_out = elsewhere.into_iter().map(|i| code(i).to_string()).collect();
    Ok(Placement::Narrowed(keep, left_out))
}

/// `quantity N once`: the offer's initial quantity was sent before when the current listings
/// hold a quantity for every channel it writes. A channel without one (not listed, listed
/// without a quantity, or a new channel) still needs its initial quantity, and the offer is
/// written whole.
fn initial_sent(policy: &Policy, p: &Produced, current: Option<&Channels>) -> bool {
    let Some(Action::Publish(rule)) = policy.rules.get(p.rule).map(|r| &r.action) else {
        return false;
    };
    rule.fixed_once
        && current.is_some_and(|cur| p.channels.iter().all(|c| cur.get(&c.channel).is_some()))
}

/// `on_fba error`: an offer held back because Amazon fulfils it fails the run instead of being
/// listed, for sellers who expect none of the rule's offers to be FBA.
fn fba_refused(policy: &Policy, change: &OfferChange, rule: usize) -> Option<SimProblem> {
    let Some(Hold::FulfilledByAmazon { channel }) = change.hold.as_deref() else {
        return None;
    };
    let r = policy.rules.get(rule)?;
    let Action::Publish(p) = &r.action else {
        return None;
    };
    (p.on_fba == OnFba::Error).then(|| SimProblem::FulfilledByAmazon {
        seller_sku: change.offer.seller_sku.clone(),
        channel: channel.clone(),
        rule: change.offer.rule.to_string(),
        at: Place::at(RuleSpans::or(r.spans.on_fba, r.span)),
    })
}

/// The region of a marketplace code: built in, or declared by the policy.
fn region_of(policy: &Policy, code: &str) -> Option<Region> {
    crate::marketplaces::lookup_data(code)
        .map(|x| x.region)
        .or_else(|| {
            policy
                .marketplaces
                .iter()
                .find(|x| x.code == code)
                .map(|x| x.region)
        })
}

/// An offer's marketplace codes and their IDs, shared.
type CodesAndIds = (Arc<[String]>, Arc<[String]>);

/// Strings every offer of a rule or target shares, made once per run rather than once per offer.
#[derive(Default)]
struct Shared {
    /// Rule names by index.
    rules: Vec<Option<Arc<str>>>,
    /// Marketplace indices → their codes and IDs.
    marketplaces: FxHashMap<Box<[usize]>, CodesAndIds>,
}

impl Shared {
    fn rule(&mut self, policy: &Policy, i: usize) -> &Arc<str> {
        if self.rules.len() <= i {
            self.rules.resize(i + 1, None);
        }
        self.rules[i].get_or_insert_with(|| Arc::from(policy.rules[i].name.as_str()))
    }

    fn marketplaces(&mut self, policy: &Policy, idx: &[usize]) -> &CodesAndIds {
        // Looked up, then inserted: `entry` would need the key boxed for every offer.
        if !self.marketplaces.contains_key(idx) {
            let pick = |f: fn(&crate::marketplaces::Marketplace) -> &String| -> Arc<[String]> {
                idx.iter()
                    .map(|&m| f(&policy.marketplaces[m]).clone())
                    .collect()
            };
            let v = (pick(|m| &m.code), pick(|m| &m.id));
            self.marketplaces.insert(idx.into(), v);
        }
        &self.marketplaces[idx]
    }
}

/// What the current listings hold for one seller SKU: looked up once per offer.
#[derive(Clone, Copy, Debug, Default)]
struct OnAmazon<'c> {
    channels: Option<&'c Channels>,
    marketplaces: Option<&'c Marketplaces>,
    fba: Option<&'c String>,
}

impl OnAmazon<'_> {
    /// Known to Amazon: listed with a quantity, listed somewhere, or fulfilled by Amazon.
    fn known(&self) -> bool {
        self.channels.is_some() || self.marketplaces.is_some() || self.fba.is_some()
    }
}

/// The current listings by seller SKU. A run hashes them once (`hashed`): an offer is then one
/// hash lookup, where the maps (sorted by seller SKU) took about eight string searches of a
/// million keys each. `explain`, for one SKU, looks the maps up (`direct`).
pub(crate) struct CurrentIndex<'c> {
    current: &'c Current,
    by_sku: Option<FxHashMap<&'c str, OnAmazon<'c>>>,
}

impl<'c> CurrentIndex<'c> {
    pub(crate) fn hashed(current: &'c Current) -> Self {
        let mut by_sku: FxHashMap<&str, OnAmazon> = FxHashMap::default();
        by_sku.reserve(current.listings.len().max(current.listed_in.len()));
        for (k, v) in &current.listings {
            by_sku.entry(k).or_default().channels = Some(v);
        }
        for (k, v) in &current.listed_in {
            by_sku.entry(k).or_default().marketplaces = Some(v);
        }
        for (k, v) in &current.amazon_fulfilled {
            by_sku.entry(k).or_default().fba = Some(v);
        }
        CurrentIndex {
            current,
            by_sku: Some(by_sku),
        }
    }

    pub(crate) fn direct(current: &'c Current) -> Self {
        CurrentIndex {
            current,
            by_sku: None,
        }
    }

    fn get(&self, seller_sku: &str) -> OnAmazon<'c> {
        match &self.by_sku {
            Some(m) => m.get(seller_sku).copied().unwrap_or_default(),
            None => OnAmazon {
                channels: self.current.listings.get(seller_sku),
                marketplaces: self.current.listed_in.get(seller_sku),
                fba: self.current.amazon_fulfilled.get(seller_sku),
            },
        }
    }
}

/// An offer with nothing in it, to be filled by [`finish_into`].
fn blank_offer() -> (OfferChange, Provenance) {
    let offer = Offer {
        seller_sku: String::new(),
        region: Region::NA,
        marketplaces: Arc::default(),
        marketplace_ids: Arc::default(),
        channels: Vec::new(),
        inventory_sku: String::new(),
        rule: Arc::from(""),
    };
    let change = OfferChange {
        offer,
        current: None,
        kind: ChangeKind::New,
        hold: None,
    };
    let prov = Provenance {
        rule: 0,
        missing: false,
        steps: Vec::new(),
        pack: 1,
        shown: None,
        also_shown_in: Vec::new(),
        not_listed_in: Box::default(),
        listed_where_unknown: false,
    };
    (change, prov)
}

/// [`finish_into`] a new offer (for one SKU's offers: `explain`).
fn finish(
    policy: &Policy,
    p: Produced,
    inventory_sku: &str,
    current: Option<&CurrentIndex>,
    opts: Options,
    warnings: &mut Vec<String>,
) -> (OfferChange, Provenance) {
    let mut slot = blank_offer();
    let mut shared = Shared::default();
    let mut spare = engine::Spare::default();
    let mut ctx = Finishing {
        shared: &mut shared,
        spare: &mut spare,
        opts,
    };
    finish_into(
        policy,
        p,
        inventory_sku,
        current,
        &mut ctx,
        warnings,
        &mut slot,
    );
    slot
}

/// What [`finish_into`] shares between offers: strings made once per run, buffers to reuse, and
/// the run's options.
struct Finishing<'r> {
    shared: &'r mut Shared,
    spare: &'r mut engine::Spare,
    opts: Options,
}

/// Turn an engine offer into the preview's change and provenance, written over an earlier
/// offer's `slot` (its buffers reused, its shared strings kept when they are the same, so a
/// run of a million offers allocates nothing per offer); warnings about what buyers will see
/// go to `warnings`.
fn finish_into(
    policy: &Policy,
    mut p: Produced,
    inventory_sku: &str,
    current: Option<&CurrentIndex>,
    ctx: &mut Finishing,
    warnings: &mut Vec<String>,
    slot: &mut (OfferChange, Provenance),
) {
    let Finishing {
        shared,
        spare,
        opts,
    } = ctx;
    let opts = *opts;
    // `None`: no current listings were given.
    let on = current.map(|c| c.get(&p.seller_sku));
    let cur_map = on.and_then(|o| o.channels);
    let kind = classify(&p.channels, cur_map);
    // FBA and not-listed holds come first, as without `once`: they say why nothing is written
    // at all; an initial quantity already on Amazon is then the one reason left.
    let placed = placement(policy, &p, on, opts).and_then(|pl| {
        if initial_sent(policy, &p, cur_map) {
            Err(Hold::InitialSent)
        } else {
            Ok(pl)
        }
    });
    let (hold, not_listed_in, listed_where_unknown) = match placed {
        Ok(Placement::All { where_unknown }) => (None, Box::default(), where_unknown),
        Ok(Placement::Narrowed(keep, left_out)) => {
            p.marketplaces = keep.iter().map(|&i| p.marketplaces[i]).collect();
            (None, left_out.into_boxed_slice(), false)
        }
        Err(h) => (Some(Box::new(h)), Box::default(), false),
    };
    let (change, prov) = slot;
    let rule = shared.rule(policy, p.rule);
    if !Arc::ptr_eq(&change.offer.rule, rule) {
        change.offer.rule = rule.clone();
    }
    let (codes, ids) = shared.marketplaces(policy, &p.marketplaces);
    let mut shown = None;
    let mut also = Vec::new();
    let listed_in = on.and_then(|o| o.marketplaces);
    if hold.is_none() && (cur_map.is_some() || listed_in.is_some()) {
        // Amazon's model: the listing as it is now, then our writes (merge), once per
        // marketplace; what remains is what buyers see in every marketplace it is listed in.
        // One key: its listing alone, no model of every key.
        let mut l = Listing {
            marketplaces: listed_in.map(BTreeSet::from).unwrap_or_default(),
            channels: cur_map.map(BTreeMap::from).unwrap_or_default(),
        };
        // Amazon's codes: listings data says `UK` where a policy may write `GB`.
        let amazon_codes: Vec<&str> = codes
            .iter()
            .map(|c| crate::marketplaces::canonical(c))
            .collect();
        for code in &amazon_codes {
            l.write(code, &p.channels, PatchOp::Merge);
        }
        let mut list = l.channel_list();
        if !same_channels(&list, &p.channels) {
            // Amazon's model keeps quantities only: the written channels' handling time and
            // restock date are what buyers see with them.
            for c in &mut list {
                if let Some(w) = p.channels.iter().find(|w| w.channel == c.channel) {
                    c.lead_time_to_ship_max_days = w.lead_time_to_ship_max_days;
                    c.restock_date.clone_from(&w.restock_date);
                }
            }
            shown = Some(list);
        }
        if l.shows_two_offers() {
            warnings.push(format!(
                "seller SKU `{}`: after the write it has a DEFAULT quantity above 0 beside location quantities, so buyers see two offers (add `default_channel 0` to the rule)",
                p.seller_sku
            ));
        }
        also = l
            .marketplaces
            .iter()
            .filter(|m| !amazon_codes.contains(&m.as_str()))
            .filter(|m| region_of(policy, m) == Some(p.region))
            .cloned()
            .collect();
        if !also.is_empty() {
            warnings.push(format!(
                "seller SKU `{}` is also listed in {}: Amazon keeps one quantity per seller SKU, so the quantity written for {} shows there too",
                p.seller_sku,
                also.join(", "),
                codes.join(", ")
            ));
        }
    }
    if opts.drop_steps {
        p.steps = Vec::new();
    }
    let o = &mut change.offer;
    if !Arc::ptr_eq(&o.marketplaces, codes) {
        o.marketplaces = codes.clone();
        o.marketplace_ids = ids.clone();
    }
    spare.give_indices(p.marketplaces);
    // The slot's old buffers go back for the engine's next offers.
    spare.give_string(std::mem::replace(&mut o.seller_sku, p.seller_sku));
    spare.give_channels(std::mem::replace(&mut o.channels, p.channels));
    spare.give_steps(std::mem::take(&mut prov.steps));
    o.region = p.region;
    o.inventory_sku.clear();
    o.inventory_sku.push_str(inventory_sku);
    change.current = cur_map.map(crate::model::channel_list);
    change.kind = kind;
    change.hold = hold;
    *prov = Provenance {
        rule: p.rule,
        missing: p.missing,
        pack: p.pack,
        steps: p.steps,
        shown,
        also_shown_in: also,
        not_listed_in,
        listed_where_unknown,
    };
}

/// Units published on independent offers minus the stock behind them (never negative). Offers
/// that are not written (held) publish nothing. Units published past 2^64 (fixed quantities
/// that large) are refused: a clamped total would be shown as if it were the real one.
fn exposure_of<'a>(
    inventory_sku: &str,
    offers: impl IntoIterator<Item = (&'a OfferChange, u64)>,
    backing: u64,
    rule_span: crate::span::Span,
) -> Result<Option<Exposure>, SimProblem> {
    // In units: a 6-pack's quantity 2 sells 12 units.
    let published = offers
        .into_iter()
        .filter(|(c, _)| c.hold.is_none())
        .flat_map(|(c, pack)| c.offer.channels.iter().map(move |ch| (ch.quantity, pack)))
        .try_fold(0u64, |a, (q, pack)| {
            q.checked_mul(pack).and_then(|u| a.checked_add(u))
        })
        .ok_or_else(|| SimProblem::Overflow {
            message: format!(
                "the units inventory SKU `{}` publishes over its offers add up to more than {}",
                crate::diag::clip(inventory_sku),
                u64::MAX
            ),
            at: Place::at(rule_span),
        })?;
    let exposure = published.saturating_sub(backing);
    Ok((exposure > 0).then(|| Exposure {
        inventory_sku: inventory_sku.to_string(),
        published,
        backing,
        exposure,
    }))
}

/// The summary's total exposure plus one SKU's, refused past 2^64 like every other sum.
fn add_exposure(total: u64, more: u64) -> Result<u64, SimProblem> {
    total.checked_add(more).ok_or_else(|| SimProblem::Overflow {
        message: format!(
            "the total exposure over all inventory SKUs adds up to more than {}",
            u64::MAX
        ),
        // A sum over every rule: no one clause to point at.
        at: Place::default(),
    })
}

/// The inventory column an offer's seller SKU was read from, if its target reads one.
fn column_of(policy: &Policy, p: &Produced) -> Option<String> {
    let Action::Publish(publish) = &policy.rules.get(p.rule)?.action else {
        return None;
    };
    publish
        .targets
        .iter()
        .filter(|t| p.marketplaces.contains(&t.marketplace))
        .find_map(|t| t.sku.columns().next().map(str::to_string))
}

/// Where the seller SKU of an offer of rule `rule` in the marketplaces `in_offer` (by the
/// policy's index) is made: the template of the rule's first target there, else the rule.
fn template_span(
    policy: &Policy,
    rule: usize,
    in_offer: impl Fn(crate::model::MarketplaceIx) -> bool,
) -> crate::span::Span {
    let Some(r) = policy.rules.get(rule) else {
        return crate::span::Span::default();
    };
    let Action::Publish(p) = &r.action else {
        return r.span;
    };
    p.targets
        .iter()
        .find(|t| in_offer(t.marketplace))
        .map_or(r.span, |t| RuleSpans::or(t.template_span, t.span))
}

/// Literal SKUs named in `match sku` lists (not under `not`).
fn literal_skus(sel: &Selector, out: &mut Vec<String>) {
    match sel {
        Selector::Sku(globs) => {
            out.extend(globs.iter().filter(|g| !g.contains(['*', '?'])).cloned())
        }
        Selector::All(v) => v.iter().for_each(|s| literal_skus(s, out)),
        _ => {}
    }
}

/// The inventory SKU a seller SKU would come from through a template for one marketplace.
/// None for a template reading an inventory column: its SKU is found by value (`by_column`).
fn invert<'s>(parts: &[TemplatePart], marketplace: &str, seller_sku: &'s str) -> Option<&'s str> {
    let n = parts.iter().filter(|p| **p == TemplatePart::Sku).count();
    if n == 0 || parts.iter().any(|p| matches!(p, TemplatePart::Column(_))) {
        return None;
    }
    let fixed: usize = parts
        .iter()
        .map(|p| match p {
            TemplatePart::Lit(s) => s.len(),
            TemplatePart::Marketplace => marketplace.len(),
            TemplatePart::Sku | TemplatePart::Column(_) => 0,
        })
        .sum();
    let rest = seller_sku.len().checked_sub(fixed)?;
    if rest == 0 || rest % n != 0 {
        return None;
    }
    let len = rest / n;
    let mut at = 0;
    for p in parts {
        match p {
            TemplatePart::Lit(s) => at += s.len(),
            TemplatePart::Marketplace => at += marketplace.len(),
            TemplatePart::Sku => return seller_sku.get(at..at + len),
            TemplatePart::Column(_) => return None,
        }
    }
    None
}

/// Where a seller SKU comes from: the inventory SKU, the rule that decides for it, and the
/// target (marketplace code and template as written) that renders it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SellerSkuSource {
    pub seller_sku: String,
    pub inventory_sku: String,
    pub rule: String,
    pub marketplace: String,
    pub template: String,
}

/// The inventory SKU whose offer is this seller SKU (`allot explain` given a seller SKU): the
/// first publishing target, in rule order, whose template renders it from an inventory SKU
/// that rule decides for. None when no rule can produce it.
pub fn seller_sku_source(
    policy: &Policy,
    stock: &Stock,
    seller_sku: &str,
) -> Option<SellerSkuSource> {
    let engine = Engine::new(policy, stock);
    inversions(policy, &engine, stock, seller_sku)
        .find(|(ri, _, cand)| engine.decide(cand, stock.get(cand)) == Some(*ri))
        .map(|(ri, t, cand)| SellerSkuSource {
            seller_sku: seller_sku.to_string(),
            inventory_sku: cand,
            rule: policy.rules[ri].name.clone(),
            marketplace: policy.marketplaces[t.marketplace].code.clone(),
            template: t.sku.source.clone(),
        })
}

/// Every (rule index, target, inventory SKU) whose template renders `seller_sku` from that
/// inventory SKU, in rule order; whether the rule really decides for it is the caller's test.
/// A template reading an inventory column cannot be inverted: its SKUs are the inventory SKUs
/// whose values render `seller_sku` (a scan of the inventory, as `explain` does once).
fn inversions<'p>(
    policy: &'p Policy,
    engine: &'p Engine<'p>,
    stock: &'p Stock,
    seller_sku: &'p str,
) -> impl Iterator<Item = (usize, &'p crate::model::Target, String)> + 'p {
    targets(policy).flat_map(move |(ri, t)| {
        let code = &policy.marketplaces[t.marketplace].code;
        let found: Vec<String> = if t.sku.columns().next().is_some() {
            stock
                .items()
                .filter(|i| engine.seller_sku(t, i.sku(), Some(*i)).as_deref() == Ok(seller_sku))
                .map(|i| i.sku().to_string())
                .collect()
        } else {
            invert(&t.sku.parts, code, seller_sku)
                .filter(|cand| t.sku.render(cand, code).as_deref() == Ok(seller_sku))
                .map(|cand| vec![cand.to_string()])
                .unwrap_or_default()
        };
        found.into_iter().map(move |cand| (ri, t, cand))
    })
}

/// Every publishing rule's targets, with the rule's index, in rule order.
fn targets(policy: &Policy) -> impl Iterator<Item = (usize, &crate::model::Target)> {
    policy
        .rules
        .iter()
        .enumerate()
        .filter_map(|(ri, r)| match &r.action {
            Action::Publish(p) => Some((ri, p)),
            Action::Skip => None,
        })
        .flat_map(|(ri, p)| p.targets.iter().map(move |t| (ri, t)))
}

/// Inventory SKUs without any inventory row that the policy or the current listings name:
/// literal SKUs of `match sku` lists, then seller SKUs of the current listings that map back
/// through the template of the rule that would decide for them.
fn missing_skus(
    engine: &Engine,
    policy: &Policy,
    stock: &Stock,
    current: Option<&Current>,
) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for r in &policy.rules {
        let mut lits = Vec::new();
        literal_skus(&r.selector, &mut lits);
        for s in lits {
            if stock.get(&s).is_none() && seen.insert(s.clone()) {
                out.push(s);
            }
        }
    }
    // A kit a component of which has no inventory row has no stock to count: it is missing
    // (its rule's `on_missing` decides), never silently left out.
    for k in &policy.kits {
        if stock.get(&k.sku).is_none() && seen.insert(k.sku.clone()) {
            out.push(k.sku.clone());
        }
    }
    let Some(current) = current else {
        return out;
    };
    // As `inversions`, cheapest test first: most candidates are in the inventory (or are no
    // inventory SKU at all), and a million listings are tried against every template.
    let targets: Vec<(usize, &crate::model::Target, &str)> = targets(policy)
        .map(|(ri, t)| (ri, t, policy.marketplaces[t.marketplace].code.as_str()))
        .collect();
    for seller_sku in current.listings.keys() {
        for &(ri, t, code) in &targets {
            let Some(cand) = invert(&t.sku.parts, code, seller_sku) else {
                continue;
            };
            if stock.get(cand).is_some() || seen.contains(cand) {
                continue;
            }
            if t.sku.render(cand, code).as_deref() == Ok(seller_sku.as_str())
                && engine.decide(cand, None) == Some(ri)
            {
                seen.insert(cand.to_string());
                out.push(cand.to_string());
            }
        }
    }
    out
}

/// The preview: evaluate every inventory SKU (and every missing one) against the policy.
pub fn run(policy: &Policy, stock: &Stock, current: Option<&Current>) -> Result<Preview, SimError> {
    run_with(policy, stock, current, Options::default())
}

/// Receives the offers of a run as they are made, in preview order. A preview of a million
/// SKUs need not be held in memory: the table and the saved plan are written from a sink.
/// Offers are lent, not given: once the sink has seen one, the run reuses its buffers for the
/// next offers, so a run allocates nothing per offer; a sink that keeps offers clones them.
pub trait Sink {
    /// How many offers the run expects to make (when nothing fails), before the first.
    fn expect(&mut self, _offers: usize) {}
    fn offer(&mut self, change: &OfferChange, provenance: &Provenance);
}

/// Collects every offer, as [`Preview::changes`] and [`Preview::provenance`] hold them.
#[derive(Default)]
pub struct Collect {
    pub changes: Vec<OfferChange>,
    pub provenance: Vec<Provenance>,
}

impl Sink for Collect {
    fn expect(&mut self, offers: usize) {
        // Allocated once at their size: a million SKUs make millions of offers, and doubling
        // would waste a lot.
        self.changes.reserve_exact(offers);
        self.provenance.reserve_exact(offers);
    }
    fn offer(&mut self, change: &OfferChange, provenance: &Provenance) {
        self.changes.push(change.clone());
        self.provenance.push(provenance.clone());
    }
}

/// [`run`] with the user's choices.
pub fn run_with(
    policy: &Policy,
    stock: &Stock,
    current: Option<&Current>,
    opts: Options,
) -> Result<Preview, SimError> {
    let mut all = Collect::default();
    let mut preview = run_into(policy, stock, current, opts, &mut all)?;
    preview.changes = all.changes;
    preview.provenance = all.provenance;
    Ok(preview)
}

/// [`run_with`], each offer handed to `sink` as it is made instead of kept: the returned
/// preview has everything but `changes` and `provenance`. The run is deterministic, so two
/// runs hand the same offers (a renderer may run once to measure and once to write).
pub fn run_into(
    policy: &Policy,
    stock: &Stock,
    current: Option<&Current>,
    opts: Options,
    sink: &mut dyn Sink,
) -> Result<Preview, SimError> {
    let missing = missing_skus(&Engine::new(policy, stock), policy, stock, current);
    let index = current.map(CurrentIndex::hashed);
    let mut runner = Runner::new(policy, stock, index.as_ref(), opts, &missing);
    // Offers counted first, so a collecting sink allocates once at its size.
    let total = stock.len() + missing.len();
    let expected: usize = (0..total)
        .filter_map(|seq| {
            let (inventory_sku, item) = runner.nth(seq);
            runner.engine.decide(inventory_sku, item)
        })
        .map(|r| runner.engine.offers_per_sku(r))
        .sum();
    sink.expect(expected);
    let part = runner.range(0..total, sink);
    let mut run = Merged::new(stock, current.is_some());
    run.absorb(part, opts);
    run.owners.push(runner.sorted_owners());
    run.finish(&runner, opts)
}

/// A run's inputs with what is worked out from them once, for any number of runs
/// ([`run_chunks`]): the SKUs without inventory rows that the policy or the listings name, and
/// the current listings hashed by seller SKU.
pub struct Prepared<'a> {
    policy: &'a Policy,
    stock: &'a Stock,
    current: Option<&'a Current>,
    missing: Vec<String>,
    index: Option<CurrentIndex<'a>>,
}

impl<'a> Prepared<'a> {
    pub fn new(policy: &'a Policy, stock: &'a Stock, current: Option<&'a Current>) -> Self {
        let engine = Engine::new(policy, stock);
        // Two threads: the missing SKUs walk every listing, the index hashes every listing.
        let (missing, index) = std::thread::scope(|scope| {
            let index = scope.spawn(|| current.map(CurrentIndex::hashed));
            let missing = missing_skus(&engine, policy, stock, current);
            // A panic in the index thread is a bug: raise it here.
            let index = index
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (missing, index)
        });
        Prepared {
            policy,
            stock,
            current,
            missing,
            index,
        }
    }
}

/// One chunk's sink in [`run_chunks`]: made on a worker thread, fed that chunk's offers in
/// order, then turned into what the caller takes (rendered rows, encoded operations).
pub trait ChunkSink: Sink + Send {
    type Out: Send;
    fn done(self) -> Self::Out;
}

/// How many SKUs a chunk of [`run_chunks`] holds: small enough that the chunks in flight stay
/// a few megabytes, large enough that handing them over costs nothing.
pub const CHUNK_SKUS: usize = 2048;

/// How [`run_chunks`] cuts a run: `threads` workers, `chunk` SKUs a chunk.
#[derive(Clone, Copy, Debug)]
pub struct Chunks {
    pub threads: usize,
    pub chunk: usize,
}

impl Chunks {
    /// A worker per core (at most 8), chunks of [`CHUNK_SKUS`].
    pub fn all_cores() -> Self {
        Chunks {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
            chunk: CHUNK_SKUS,
        }
    }
}

/// [`run_into`] on several threads: the SKUs are cut into chunks of `cut.chunk` SKUs, evaluated
/// by `cut.threads` workers (chunk k's offers go to its own sink, `make(k)`), and `take` receives
/// each chunk's sink output in run order, so what it writes is what a single run writes. The
/// preview (counts, lists, warnings, errors) is the same as [`run_into`]'s. `take` returning
/// false stops the run early (the returned preview is then partial). Memory: at most two
/// chunks per worker wait for `take`.
pub fn run_chunks<S: ChunkSink>(
    inputs: &Prepared,
    opts: Options,
    cut: Chunks,
    make: impl Fn(usize) -> S + Sync,
    mut take: impl FnMut(S::Out) -> bool,
) -> Result<Preview, SimError> {
    let (policy, stock, current) = (inputs.policy, inputs.stock, inputs.current);
    let total = stock.len() + inputs.missing.len();
    let chunk = cut.chunk.max(1);
    let chunks = total.div_ceil(chunk);
    let threads = cut.threads.clamp(1, chunks.max(1));
    let missing = &inputs.missing[..];
    let index = inputs.index.as_ref();
    let make = &make;
    let mut run = Merged::new(stock, current.is_some());
    std::thread::scope(|scope| {
        let mut inbox = Vec::with_capacity(threads);
        let mut workers = Vec::with_capacity(threads);
        for w in 0..threads {
            let (tx, rx) = std::sync::mpsc::sync_channel::<(Part, S::Out)>(1);
            inbox.push(rx);
            workers.push(scope.spawn(move || {
                let mut runner = Runner::new(policy, stock, index, opts, missing);
                // Worker w takes chunks w, w + threads, ...: the reader below takes them in
                // turn, so the order is the run's and no worker runs far ahead.
                for k in (w..chunks).step_by(threads) {
                    let mut sink = make(k);
                    let part = runner.range(k * chunk..((k + 1) * chunk).min(total), &mut sink);
                    if tx.send((part, sink.done())).is_err() {
                        return Vec::new();
                    }
                }
                // Sorted here, while the other workers finish: not on one core at the end.
                runner.sorted_owners()
            }));
        }
        for k in 0..chunks {
            // A worker that stopped early panicked: the scope re-raises its panic.
            let Ok((part, out)) = inbox[k % threads].recv() else {
                break;
            };
            run.absorb(part, opts);
            if !take(out) {
                break;
            }
        }
        // Dropping the receivers ends workers waiting to hand a chunk over.
        drop(inbox);
        for w in workers {
            // A panic in a worker is a bug: raise it here.
            let owners = w.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            run.owners.push(owners);
        }
    });
    let runner = Runner::new(policy, stock, index, opts, missing);
    run.finish(&runner, opts)
}

/// What one range of SKUs made: its share of the preview's counts and lists and its problems.
struct Part {
    preview: Preview,
    problems: Problems,
}

/// Evaluates SKUs by run position (inventory SKUs, then missing ones) into offers.
struct Runner<'a> {
    policy: &'a Policy,
    stock: &'a Stock,
    current: Option<&'a CurrentIndex<'a>>,
    opts: Options,
    missing: &'a [String],
    engine: Engine<'a>,
    shared: Shared,
    scratch: Vec<Produced>,
    /// One SKU's finished offers, before they go to the sink (its exposure needs them all).
    batch: Vec<(OfferChange, Provenance)>,
    /// Every offer's owner key ([`owner_key`]), for finding a seller SKU written by two
    /// inventory SKUs.
    owners: Vec<u64>,
}

impl<'a> Runner<'a> {
    fn new(
        policy: &'a Policy,
        stock: &'a Stock,
        current: Option<&'a CurrentIndex<'a>>,
        opts: Options,
        missing: &'a [String],
    ) -> Self {
        let mut engine = Engine::new(policy, stock);
        engine.keep_steps = !opts.drop_steps;
        Runner {
            policy,
            stock,
            current,
            opts,
            missing,
            engine,
            shared: Shared::default(),
            scratch: Vec::new(),
            batch: Vec::new(),
            owners: Vec::new(),
        }
    }

    /// The owner keys of every offer this runner made, sorted (for [`repeated`]).
    fn sorted_owners(&mut self) -> Vec<u64> {
        let mut owners = std::mem::take(&mut self.owners);
        owners.sort_unstable();
        owners
    }

    /// The SKU at run position `seq`, with its inventory rows (none for a missing SKU).
    fn nth(&self, seq: usize) -> (&'a str, Option<StockItem<'a>>) {
        match self.stock.nth(seq) {
            Some(i) => (i.sku(), Some(i)),
            None => (self.missing[seq - self.stock.len()].as_str(), None),
        }
    }

    fn range(&mut self, seqs: std::ops::Range<usize>, sink: &mut dyn Sink) -> Part {
        let (policy, current, opts) = (self.policy, self.current, self.opts);
        let mut problems = Problems::default();
        let mut preview = Preview::default();
        // Taken for the loop (the runner is borrowed in it) and put back after.
        let mut owners = std::mem::take(&mut self.owners);
        for seq in seqs {
            let (inventory_sku, item) = self.nth(seq);
            let decided = self.engine.decide(inventory_sku, item);
            self.scratch.clear();
            let decision = self.engine.evaluate_decided(
                inventory_sku,
                item,
                decided,
                &mut self.scratch,
                &mut problems,
            );
            match decision {
                Decision::NoRule => preview.unmatched += 1,
                Decision::Skip(_) => preview.skipped_by_rule += 1,
                Decision::MissingSkipped(ri) => {
                    preview.summary.skus_skipped_missing += 1;
                    preview.skipped.push(Skipped {
                        inventory_sku: inventory_sku.to_string(),
                        rule: policy.rules[ri].name.clone(),
                        reason: "no inventory row (on_missing skip)",
                    });
                }
                Decision::Failed(_) => {}
                Decision::Published(ri) => {
                    for (marketplace, column) in self.engine.unmapped(ri, inventory_sku, item) {
                        preview.unmapped.push(Unmapped {
                            inventory_sku: inventory_sku.to_string(),
                            rule: policy.rules[ri].name.clone(),
                            marketplace,
                            column,
                        });
                    }
                    // The engine's buffers are borrowed for the finishing only: nothing else
                    // in it borrows them, and the sinks never see the engine.
                    let mut spare = self.engine.spare.borrow_mut();
                    let mut ctx = Finishing {
                        shared: &mut self.shared,
                        spare: &mut spare,
                        opts,
                    };
                    // The batch's slots are the last SKU's offers, overwritten in place.
                    let mut live = 0;
                    for p in self.scratch.drain(..) {
                        owners.push(owner_key(p.region, &p.seller_sku));
                        if live == self.batch.len() {
                            self.batch.push(blank_offer());
                        }
                        let slot = &mut self.batch[live];
                        let warnings = &mut preview.warnings;
                        finish_into(policy, p, inventory_sku, current, &mut ctx, warnings, slot);
                        live += 1;
                        let (change, prov) = &*slot;
                        if let Some(problem) = fba_refused(policy, change, prov.rule) {
                            problems.push(problem);
                        }
                        count(&mut preview, change, prov);
                    }
                    drop(spare);
                    let batch = &self.batch[..live];
                    // Published means the pool was computed, so it fits.
                    if let Some(backing) = self.engine.pool(ri, item) {
                        match exposure_of(
                            inventory_sku,
                            batch.iter().map(|(c, p)| (c, p.pack)),
                            backing,
                            policy.rules[ri].span,
                        ) {
                            Ok(None) => {}
                            Ok(Some(e)) => {
                                match add_exposure(preview.summary.exposure, e.exposure) {
                                    Ok(total) => {
                                        preview.summary.exposure = total;
                                        preview.exposure.push(e);
                                        preview.exposed += 1;
                                        trim_exposure(&mut preview.exposure, opts);
                                    }
                                    Err(p) => problems.push(p),
                                }
                            }
                            Err(p) => problems.push(p),
                        }
                    }
                    for (change, prov) in batch {
                        sink.offer(change, prov);
                    }
                }
            }
        }
        self.owners = owners;
        Part { preview, problems }
    }
}

/// Keeps the largest exposures only once the list is twice as long as asked (then sorting
/// costs little per entry).
fn trim_exposure(exposure: &mut Vec<Exposure>, opts: Options) {
    if let Some(k) = opts.exposure_kept
        && exposure.len() >= 2 * k.max(1)
    {
        keep_largest(exposure, k);
    }
}

/// The parts of a run added up in run order.
struct Merged {
    preview: Preview,
    problems: Problems,
    /// Each runner's owner keys, sorted.
    owners: Vec<Vec<u64>>,
}

impl Merged {
    fn new(stock: &Stock, current_known: bool) -> Self {
        Merged {
            preview: Preview {
                warnings: stock.warnings.clone(),
                current_known,
                ..Preview::default()
            },
            problems: Problems::default(),
            owners: Vec::new(),
        }
    }

    fn absorb(&mut self, part: Part, opts: Options) {
        let (to, from) = (&mut self.preview, part.preview);
        let (s, f) = (&mut to.summary, &from.summary);
        s.add_counts(f);
        match add_exposure(s.exposure, f.exposure) {
            Ok(total) => s.exposure = total,
            Err(p) => self.problems.push(p),
        }
        to.skipped.extend(from.skipped);
        to.unmapped.extend(from.unmapped);
        to.exposure.extend(from.exposure);
        trim_exposure(&mut to.exposure, opts);
        to.exposed += from.exposed;
        to.warnings.extend(from.warnings);
        to.unmatched += from.unmatched;
        to.skipped_by_rule += from.skipped_by_rule;
        to.listed_where_unknown += from.listed_where_unknown;
        for p in part.problems.list {
            self.problems.push(p);
        }
        self.problems.more += part.problems.more;
    }

    /// The run's preview, or its problems: a seller SKU made twice, then anything the parts
    /// found.
    fn finish(self, runner: &Runner, opts: Options) -> Result<Preview, SimError> {
        let Merged {
            mut preview,
            mut problems,
            owners,
        } = self;
        let engine = &runner.engine;
        if let Some(dups) = repeated(&owners) {
            // Rare: look at the strings of the offers whose keys repeat, in run order.
            let mut first: HashMap<(Region, String), (usize, Option<String>, Place)> =
                HashMap::new();
            let mut out = Vec::new();
            let mut ignored = Problems::default();
            let total = runner.stock.len() + runner.missing.len();
            for seq in 0..total {
                let (inventory_sku, item) = runner.nth(seq);
                out.clear();
                let d = engine.decide(inventory_sku, item);
                engine.evaluate_decided(inventory_sku, item, d, &mut out, &mut ignored);
                for p in out.drain(..) {
                    if !dups.contains(&owner_key(p.region, &p.seller_sku)) {
                        continue;
                    }
                    let column = column_of(runner.policy, &p);
                    let at = Place::at(template_span(runner.policy, p.rule, |m| {
                        p.marketplaces.contains(&m)
                    }));
                    match first.entry((p.region, p.seller_sku)) {
                        std::collections::hash_map::Entry::Vacant(v) => {
                            v.insert((seq, column, at));
                        }
                        std::collections::hash_map::Entry::Occupied(o) => {
                            let ((region, seller_sku), (prev, col, first_at)) =
                                (o.key().clone(), o.get());
                            problems.push(SimProblem::DuplicateSellerSku {
                                seller_sku,
                                region,
                                first: runner.nth(*prev).0.to_string(),
                                second: inventory_sku.to_string(),
                                column: column.or_else(|| col.clone()),
                                at,
                                first_at: *first_at,
                            });
                        }
                    }
                }
            }
        }
        problems.into_result()?;
        if let Some(k) = opts.exposure_kept {
            keep_largest(&mut preview.exposure, k);
        }
        if preview.listed_where_unknown > 0 {
            let n = preview.listed_where_unknown;
            preview.warnings.push(format!(
            "{n} written offer{} listed on Amazon, but the current listings do not say in which marketplaces: a write to a marketplace where a seller SKU is not listed creates an offer there (give a `marketplace` column, or `--current-marketplace CODE` for an All Listings report of one marketplace)",
            if n == 1 { " is" } else { "s are" },
        ));
        }
        if preview.unmatched > 0 {
            preview.warnings.push(format!(
            "{} inventory SKU{} matched no rule: nothing is published for {} (add `match any` as the last rule to say what happens)",
            preview.unmatched,
            if preview.unmatched == 1 { "" } else { "s" },
            if preview.unmatched == 1 { "it" } else { "them" },
        ));
        }
        Ok(preview)
    }
}

/// The previews of several policies of one seller (files planned together) as one: one policy
/// to render them by (name joined, marketplaces and locations united, rules in file order) and
/// one preview. A seller SKU written by two of them in one region is refused, as Amazon would
/// keep only the last write. Policies must name one seller and agree on each location's supply
/// source.
pub fn merge(parts: Vec<(Policy, Preview)>) -> Result<(Policy, Preview), SimError> {
    let mut parts = parts.into_iter();
    let Some((mut policy, mut preview)) = parts.next() else {
        return Err(SimError::one(SimProblem::PoliciesDisagree {
            message: "no policy to plan".into(),
            at: Place::default(),
            first_at: Place::default(),
        }));
    };
    if parts.len() == 0 {
        // One policy: nothing to merge (and a million seller SKUs need no second index).
        return Ok((policy, preview));
    }
    let names = |policy: &Policy| policy.name.clone();
    let first_name = names(&policy);
    for w in &mut preview.warnings {
        *w = format!("[{first_name}] {w}");
    }
    // (region, seller SKU) → the policy (by its place in `parts`) and the index in
    // `preview.changes` of its offer, over every offer written or held: the offer is looked
    // at again only for a seller SKU two policies write.
    let mut writers: HashMap<(Region, String), (usize, usize)> = preview
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| ((c.offer.region, c.offer.seller_sku.clone()), (0, i)))
        .collect();
    // Each policy's marketplace codes: its targets' marketplace indexes are into its own list.
    let mut codes: Vec<Vec<String>> =
        vec![policy.marketplaces.iter().map(|m| m.code.clone()).collect()];
    // Where each location of the merged policy was declared (policy, span).
    let mut loc_places: Vec<Place> = (0..policy.locations.len())
        .map(|l| Place::at(policy.location_spans.get(l).copied().unwrap_or_default()))
        .collect();
    // The template an offer's seller SKU comes from: `rule` indexes the merged rules.
    let offer_place =
        |policy: &Policy, codes: &[String], part: usize, rule: usize, c: &OfferChange| {
            let span = template_span(policy, rule, |m| {
                codes
                    .get(m)
                    .is_some_and(|code| c.offer.marketplaces.contains(code))
            });
            Place::new(part, span)
        };
    let mut problems = Problems::default();
    let mut all_names = vec![first_name];
    for (part, (p, mut pv)) in (1..).zip(parts) {
        let name = names(&p);
        if p.seller_id != policy.seller_id {
            problems.push(SimProblem::PoliciesDisagree {
                message: format!(
                    "policies \"{}\" and \"{name}\" are for different sellers ({} and {}): a plan writes for one seller\n  help: plan each seller's policies on their own",
                    all_names[0], policy.seller_id, p.seller_id
                ),
                at: Place::new(part, p.seller_span),
                first_at: Place::at(policy.seller_span),
            });
            continue;
        }
        // Locations by name; one name must mean one supply source across the files.
        let mut loc_map = Vec::with_capacity(p.locations.len());
        for (li, l) in p.locations.iter().enumerate() {
            let here = Place::new(part, p.location_spans.get(li).copied().unwrap_or_default());
            match policy.locations.iter().position(|x| x.name == l.name) {
                Some(i) if policy.locations[i].supply_source == l.supply_source => loc_map.push(i),
                Some(i) => {
                    problems.push(SimProblem::PoliciesDisagree {
                        message: format!(
                            "location `{}` has supply source {:?} in one policy and {:?} in \"{name}\"\n  help: declare each location the same way in every policy of the seller",
                            l.name, policy.locations[i].supply_source, l.supply_source
                        ),
                        at: here,
                        first_at: loc_places.get(i).copied().unwrap_or_default(),
                    });
                    loc_map.push(i);
                }
                None => {
                    policy.locations.push(l.clone());
                    loc_places.push(here);
                    loc_map.push(policy.locations.len() - 1);
                }
            }
        }
        for m in &p.marketplaces {
            if !policy.marketplaces.iter().any(|x| x.code == m.code) {
                policy.marketplaces.push(m.clone());
            }
        }
        codes.push(p.marketplaces.iter().map(|m| m.code.clone()).collect());
        let offset = policy.rules.len();
        policy.rules.extend(p.rules);
        for (ci, c) in pv.changes.iter().enumerate() {
            let key = (c.offer.region, c.offer.seller_sku.clone());
            match writers.get(&key) {
                Some(&(first_part, first_ci)) => {
                    let first_at = match (
                        preview.changes.get(first_ci),
                        preview.provenance.get(first_ci),
                    ) {
                        (Some(fc), Some(fp)) => {
                            offer_place(&policy, &codes[first_part], first_part, fp.rule, fc)
                        }
                        _ => Place::default(),
                    };
                    let at = pv.provenance.get(ci).map_or_else(Place::default, |pr| {
                        offer_place(&policy, &codes[part], part, offset + pr.rule, c)
                    });
                    problems.push(SimProblem::SellerSkuInTwoPolicies {
                        seller_sku: c.offer.seller_sku.clone(),
                        region: c.offer.region,
                        first: all_names.get(first_part).unwrap_or(&name).clone(),
                        second: name.clone(),
                        at,
                        first_at,
                    })
                }
                None => {
                    writers.insert(key, (part, preview.changes.len() + ci));
                }
            }
        }
        for prov in &mut pv.provenance {
            prov.rule += offset;
            for st in &mut prov.steps {
                st.location = st.location.and_then(|l| loc_map.get(l).copied());
            }
        }
        preview.changes.append(&mut pv.changes);
        preview.provenance.append(&mut pv.provenance);
        preview.skipped.append(&mut pv.skipped);
        preview.unmapped.append(&mut pv.unmapped);
        preview.exposure.append(&mut pv.exposure);
        preview.exposed += pv.exposed;
        preview
            .warnings
            .extend(pv.warnings.into_iter().map(|w| format!("[{name}] {w}")));
        let (s, o) = (&mut preview.summary, &pv.summary);
        s.add_counts(o);
        s.exposure = add_exposure(s.exposure, o.exposure).map_err(SimError::one)?;
        preview.unmatched += pv.unmatched;
        preview.skipped_by_rule += pv.skipped_by_rule;
        preview.listed_where_unknown += pv.listed_where_unknown;
        all_names.push(name);
    }
    problems.into_result()?;
    policy.name = all_names.join(" + ");
    policy.tests.clear();
    Ok((policy, preview))
}

/// Count one offer in the summary: held offers by their reason, written ones by their kind.
fn count(preview: &mut Preview, change: &OfferChange, prov: &Provenance) {
    if prov.listed_where_unknown {
        preview.listed_where_unknown += 1;
    }
    let s = &mut preview.summary;
    match change.hold.as_deref() {
        Some(Hold::FulfilledByAmazon { .. }) => s.offers_fulfilled_by_amazon += 1,
        Some(Hold::NotListed | Hold::NotListedHere { .. }) => s.offers_not_listed += 1,
        Some(Hold::InitialSent) => s.offers_initial_kept += 1,
        None => match change.kind {
            ChangeKind::New => s.offers_new += 1,
            ChangeKind::Changed => s.offers_changed += 1,
            ChangeKind::Unchanged => s.offers_unchanged += 1,
            ChangeKind::Zeroed => s.offers_zeroed += 1,
        },
    }
}

/// One location's stock in a trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TraceStock {
    pub location: String,
    pub on_hand: u64,
    pub reserved: u64,
    pub available: u64,
    /// Whether the deciding rule counts this location.
    pub counted: bool,
}

/// Everything `allot explain` shows for one inventory SKU.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Trace {
    /// Set when `explain` was given a seller SKU: where it comes from (`sku` is its inventory
    /// SKU).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller_sku: Option<SellerSkuSource>,
    pub sku: String,
    pub in_inventory: bool,
    pub stock: Vec<TraceStock>,
    pub tags: Vec<String>,
    pub attributes: Vec<(String, String)>,
    /// Rules tried in order: (name, matched). The last one matched, if any did.
    pub tried: Vec<(String, bool)>,
    pub decided: Option<String>,
    /// What happened: published, skip rule, skipped (missing stock), no rule.
    pub outcome: String,
    pub pool: Option<u64>,
    pub offers: Vec<(OfferChange, Provenance)>,
    pub exposure: Option<Exposure>,
    pub warnings: Vec<String>,
}

/// Trace one inventory SKU (`allot explain`). A SKU without inventory rows is traced as missing.
pub fn explain(
    policy: &Policy,
    stock: &Stock,
    current: Option<&Current>,
    inventory_sku: &str,
    opts: Options,
) -> Result<Trace, SimError> {
    let engine = Engine::new(policy, stock);
    let item = stock.get(inventory_sku);
    let decided = engine.decide(inventory_sku, item);
    let tried = policy
        .rules
        .iter()
        .enumerate()
        .take(decided.map_or(policy.rules.len(), |d| d + 1))
        .map(|(i, r)| (r.name.clone(), Some(i) == decided))
        .collect();
    let counted: Vec<usize> = decided
        .map(|d| engine.counted(d).to_vec())
        .unwrap_or_default();
    let stock_rows = item
        .map(|i| {
            i.entries()
                .map(|e| TraceStock {
                    location: policy.locations[e.location].name.clone(),
                    on_hand: e.on_hand,
                    reserved: e.reserved,
                    available: e.available(),
                    counted: counted.contains(&e.location),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut problems = Problems::default();
    let mut produced = Vec::new();
    let decision = engine.evaluate(inventory_sku, item, &mut produced, &mut problems);
    problems.into_result()?;
    let mut warnings = Vec::new();
    let pool = decided
        .filter(|&d| matches!(policy.rules[d].action, Action::Publish(_)))
        .and_then(|d| engine.pool(d, item));

    let outcome = match decision {
        Decision::NoRule => "no rule matched: nothing is published".to_string(),
        Decision::Skip(_) => "skipped by the rule: its listings are left alone".to_string(),
        Decision::MissingSkipped(_) => {
            "skipped: the SKU has no inventory row (on_missing skip): no write".to_string()
        }
        Decision::Published(ri) => {
            let mut s = format!(
                "published: {} offer{}",
                produced.len(),
                if produced.len() == 1 { "" } else { "s" }
            );
            for (code, column) in engine.unmapped(ri, inventory_sku, item) {
                s.push_str(&format!(
                    "; none on {code}: no value in inventory column `{column}`"
                ));
            }
            s
        }
        Decision::Failed(_) => format!(
            "published: {} offer{}",
            produced.len(),
            if produced.len() == 1 { "" } else { "s" }
        ),
    };
    let index = current.map(CurrentIndex::direct);
    let offers: Vec<(OfferChange, Provenance)> = produced
        .into_iter()
        .map(|p| {
            finish(
                policy,
                p,
                inventory_sku,
                index.as_ref(),
                opts,
                &mut warnings,
            )
        })
        .collect();
    // As in `run`: `on_fba error` fails rather than showing the held offer.
    let mut problems = Problems::default();
    for (c, prov) in &offers {
        if let Some(problem) = fba_refused(policy, c, prov.rule) {
            problems.push(problem);
        }
    }
    problems.into_result()?;
    let exposure = match decision {
        Decision::Published(d) => match engine.pool(d, item) {
            Some(backing) => exposure_of(
                inventory_sku,
                offers.iter().map(|(c, p)| (c, p.pack)),
                backing,
                policy.rules[d].span,
            )
            .map_err(SimError::one)?,
            None => None,
        },
        _ => None,
    };
    Ok(Trace {
        seller_sku: None,
        sku: inventory_sku.to_string(),
        in_inventory: item.is_some(),
        stock: stock_rows,
        tags: item
            .map(|i| {
                i.tags()
                    .map(|t| stock.tag_names[t as usize].clone())
                    .collect()
            })
            .unwrap_or_default(),
        attributes: item
            .map(|i| {
                i.attrs()
                    .map(|(a, v)| (stock.attr_names[a as usize].clone(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default(),
        tried,
        decided: decided.map(|d| policy.rules[d].name.clone()),
        outcome,
        pool,
        offers,
        exposure,
        warnings,
    })
}

/// What Amazon will show after the preview's writes, per marketplace code: (seller SKU,
/// channels). Feeds every offer through Amazon's model in order, seeded with the current
/// listings, so a shared SKU shows its one quantity everywhere it is listed.
pub fn amazon_view(policy: &Policy, preview: &Preview, current: Option<&Current>) -> AmazonModel {
    let mut model = AmazonModel::new();
    // Held offers are not written: what Amazon shows for them is what it shows now.
    for c in preview.changes.iter().filter(|c| c.hold.is_none()) {
        let key = ListingKey {
            seller_id: policy.seller_id.clone(),
            region: c.offer.region,
            seller_sku: c.offer.seller_sku.clone(),
        };
        if model.get(&key).is_none()
            && let Some(cur) = current
        {
            let channels = cur.listings.get(&c.offer.seller_sku).map(BTreeMap::from);
            let listed: BTreeSet<String> = cur
                .listed_in
                .get(&c.offer.seller_sku)
                .map(BTreeSet::from)
                .unwrap_or_default();
            if channels.is_some() || !listed.is_empty() {
                model.seed(
                    key.clone(),
                    Listing {
                        marketplaces: listed,
                        channels: channels.unwrap_or_default(),
                    },
                );
            }
        }
        for m in c.offer.marketplaces.iter() {
            // Amazon's code, as the current listings (data) spell it.
            let m = crate::marketplaces::canonical(m);
            model.write(key.clone(), m, &c.offer.channels, PatchOp::Merge);
        }
    }
    model
}

#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;
