//! The one data model that flows forward: a checked `Policy` (names resolved, values typed) is
//! what `check` produces and what `sim` consumes; `Offer` is what `sim` produces and what `plan`
//! consumes. Spans are kept only so later stages can point back at the rule that decided.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::marketplaces::{Marketplace, Region};
use crate::span::Span;

/// A percentage in hundredths of a percent: 10000 is 100%. Exact integer arithmetic, so
/// `90% of 1` is exactly 0.9 before rounding, never 0.8999….
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Percent(pub u32);

impl Percent {
    pub const HUNDRED: Percent = Percent(10_000);
    pub const ZERO: Percent = Percent(0);

    /// `value × self` rounded as asked. Never overflows: computed in u128.
    pub fn of(self, value: u64, round: Round) -> u64 {
        let num = value as u128 * self.0 as u128;
        let q = num / 10_000;
        let r = num % 10_000;
        let out = match round {
            Round::Down => q,
            Round::Up => q + u128::from(r > 0),
            Round::Nearest => q + u128::from(r >= 5_000),
        };
        u64::try_from(out).unwrap_or(u64::MAX)
    }
}

impl std::fmt::Display for Percent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (whole, frac) = (self.0 / 100, self.0 % 100);
        if frac == 0 {
            write!(f, "{whole}%")
        } else if frac % 10 == 0 {
            write!(f, "{whole}.{}%", frac / 10)
        } else {
            write!(f, "{whole}.{frac:02}%")
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Round {
    /// The default, as every peer does: low stock rounds to 0 rather than oversell.
    #[default]
    Down,
    Up,
    Nearest,
}

/// What to do with an inventory SKU that has no stock row at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnMissing {
    /// No write; reported.
    #[default]
    Skip,
    /// Publish 0.
    Zero,
    /// Fail the run.
    Error,
}

/// What to do with an offer whose seller SKU Amazon fulfils (FBA). There is deliberately no
/// value that writes: a merchant quantity does not switch an FBA offer, Amazon adds a second,
/// merchant-fulfilled offer beside it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFba {
    /// Not written; listed in the preview with the reason.
    #[default]
    Skip,
    /// Fail the run, naming every such offer.
    Error,
}

/// Units or a percentage of the pool (for `buffer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Amount {
    Units(u64),
    Percent(Percent),
}

/// The `inventory` line's options: each turns a refused inventory row into one that is read
/// (and counted in a warning of the preview). All off by default: an untidy file is refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InventoryOptions {
    /// `negative_as_zero`: a negative `on_hand` or `reserved` is read as 0.
    pub negative_as_zero: bool,
    /// `ignore_unknown_locations`: rows for a location the policy does not declare are left out.
    pub ignore_unknown_locations: bool,
}

impl InventoryOptions {
    /// The option words, as written on the `inventory` line.
    pub const WORDS: [&'static str; 2] = ["negative_as_zero", "ignore_unknown_locations"];

    pub fn is_default(&self) -> bool {
        *self == InventoryOptions::default()
    }
}

/// Index into `Policy::locations` (not a supply source ID: those are strings).
pub type LocationIx = usize;
/// Index into `Policy::marketplaces` (not an Amazon marketplace ID: those are strings).
pub type MarketplaceIx = usize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Policy {
    pub name: String,
    pub seller_id: String,
    /// The policy's marketplaces, in the order written, built-in or custom.
    pub marketplaces: Vec<Marketplace>,
    pub locations: Vec<Location>,
    /// In order: the first rule whose selector matches an inventory SKU decides for it.
    pub rules: Vec<Rule>,
    pub tests: Vec<TestCase>,
    /// `guarantee no_oversell`: oversell warnings become errors.
    pub no_oversell: bool,
    /// The `inventory` line: how an untidy inventory snapshot is read.
    #[serde(skip_serializing_if = "InventoryOptions::is_default")]
    pub inventory: InventoryOptions,
    /// `kit` lines: inventory SKUs made of others, in policy order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kits: Vec<Kit>,
    /// Policy-wide default for `on_missing` (rules may override).
    pub on_missing: OnMissing,
    /// Policy-wide default for `on_fba` (rules may override).
    pub on_fba: OnFba,
    /// Where the seller ID's string and the `marketplaces` line were written, for the checks
    /// across files (`check::set`). Default (0..0) for policies not read from a file.
    #[serde(skip)]
    pub seller_span: Span,
    #[serde(skip)]
    pub marketplaces_span: Span,
    /// Where each location was declared (by `LocationIx`), for the simulation's errors;
    /// empty for policies not read from a file.
    #[serde(skip)]
    pub location_spans: Vec<Span>,
}

impl Policy {
    pub fn location_by_name(&self, name: &str) -> Option<LocationIx> {
        self.locations.iter().position(|l| l.name == name)
    }

    pub fn marketplace_by_code(&self, code: &str) -> Option<MarketplaceIx> {
        self.marketplaces.iter().position(|m| m.code == code)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub name: String,
    /// The `fulfillment_channel_code` Amazon knows this location by, if it is a supply source.
    pub supply_source: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rule {
    pub name: String,
    /// The rule's name literal, for diagnostics and provenance.
    pub span: Span,
    pub selector: Selector,
    pub action: Action,
    /// Where the clauses the simulation may refuse were written: read only when one of its
    /// errors is rendered, never per offer.
    #[serde(skip)]
    pub spans: RuleSpans,
}

/// Where a rule's clauses were written, for the errors only the simulation finds (they depend
/// on the stock). An empty span (0..0, the default, for rules not read from a file) means
/// "not written": the error points at the rule's name instead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuleSpans {
    /// The `on_missing` line the rule follows: its own, else the policy's.
    pub on_missing: Span,
    /// The `on_fba` line the rule follows: its own, else the policy's.
    pub on_fba: Span,
    /// `buffer column "…"`, `threshold column "…"`, `cap column "…"`, in that order.
    pub columns: [Span; 3],
}

impl RuleSpans {
    /// `span`, or `fallback` when it was not written.
    pub fn or(span: Span, fallback: Span) -> Span {
        if span.is_empty() { fallback } else { span }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Action {
    /// Publish nothing; leave these listings alone.
    Skip,
    Publish(Publish),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Publish {
    /// Locations whose stock counts; `None` means all the policy's locations.
    pub stock_from: Option<Vec<LocationIx>>,
    pub buffer: Option<Amount>,
    pub round: Round,
    /// A result strictly below this publishes 0.
    pub threshold: Option<u64>,
    pub cap: Option<u64>,
    /// `quantity N`: replaces the stock computation entirely; never scaled or clamped.
    pub fixed: Option<u64>,
    /// `quantity N once`: the fixed quantity is an initial one, written only while the offer
    /// has no quantity on Amazon; after that Amazon counts it down with each sale and allot
    /// leaves it alone (`Hold::InitialSent`). Only with `fixed`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fixed_once: bool,
    pub on_missing: OnMissing,
    /// The rule's `on_fba`, or the policy's.
    pub on_fba: OnFba,
    /// `default_channel 0`: add DEFAULT = 0 beside location quantities.
    pub default_channel_zero: bool,
    /// `buffer/threshold/cap column "…"`: values read per SKU from inventory columns, in
    /// place of the fixed `buffer`, `threshold` and `cap` (a rule has one or the other).
    #[serde(skip_serializing_if = "ColumnLimits::is_empty")]
    pub columns: ColumnLimits,
    pub targets: Vec<Target>,
}

/// A kit (bundle): an inventory SKU whose stock is made of other inventory SKUs. At each
/// location it has as many kits as its scarcest component makes: the minimum over its
/// components of their available units divided by the units one kit takes (rounded down).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Kit {
    pub sku: String,
    /// (component inventory SKU, units per kit), in the order written.
    pub parts: Vec<(String, u64)>,
    #[serde(skip)]
    pub span: Span,
}

/// The inventory columns a rule's buffer, threshold and cap come from, SKU by SKU. A SKU
/// without a value there has no buffer, threshold or cap.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ColumnLimits {
    pub buffer: Option<String>,
    pub threshold: Option<String>,
    pub cap: Option<String>,
}

impl ColumnLimits {
    pub fn is_empty(&self) -> bool {
        self.buffer.is_none() && self.threshold.is_none() && self.cap.is_none()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Target {
    pub marketplace: MarketplaceIx,
    pub sku: SkuTemplate,
    /// 100% unless a share was given (on the target, or at rule level).
    pub share: Percent,
    pub by_location: Option<ByLocation>,
    /// `from …`: the locations this target's pool counts, overriding the rule's `stock from`.
    pub stock_from: Option<Vec<LocationIx>>,
    /// `ratio N`: this target's part of an exact split of its pool (replaces `share`).
    pub ratio: Option<RatioPart>,
    /// `pack N`: units in one item of this offer; it publishes whole packs (`None`: 1).
    pub pack: Option<u64>,
    /// `handling_time`, `restock_date`: the target's own, else the rule's.
    #[serde(skip_serializing_if = "Availability::is_empty")]
    pub availability: Availability,
    pub span: Span,
    /// The `as "…"` template's string, where the simulation's seller SKU errors point (empty
    /// when none is written: the target's own span is used).
    #[serde(skip)]
    pub template_span: Span,
    /// The `by location …` option (empty when none is written).
    #[serde(skip)]
    pub by_location_span: Span,
}

/// One target's place in an exact split of a pool by ratios (`ratio 1`, `ratio 2`, `ratio 3`):
/// the weights of every target of the split, in policy order, and which one is this target's.
/// The parts add up to the pool exactly (largest remainder; ties to the first listed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RatioPart {
    pub weights: Vec<u64>,
    pub index: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ByLocation {
    /// One quantity per supply-source location, each from its own stock.
    PerSource,
    /// The offer's quantity divided among these locations (largest remainder; ties to the
    /// first listed). The percentages add up to exactly 100%.
    Split(Vec<(LocationIx, Percent)>),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum TemplatePart {
    Lit(String),
    /// `{sku}`: the inventory SKU.
    Sku,
    /// `{marketplace}`: the marketplace code, e.g. `UK`.
    Marketplace,
    /// `{column:amazon_sku}`: the value of this inventory attribute column for the SKU (a
    /// Linnworks-style mapping to seller SKUs that are not a function of the inventory SKU).
    Column(String),
}

/// A seller SKU template such as `"{sku}-UK"`. Checked at parse time for unknown placeholders;
/// the rendered SKU is checked against Amazon's limits per SKU in simulation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct SkuTemplate {
    pub parts: Vec<TemplatePart>,
    /// As written, for messages.
    pub source: String,
}

/// Amazon's limit on a seller SKU's length.
pub const MAX_SELLER_SKU_LEN: usize = 40;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateError {
    Empty,
    TooLong {
        seller_sku: String,
        len: usize,
    },
    BadChar {
        seller_sku: String,
        ch: char,
    },
    /// A `{column:NAME}` placeholder and the SKU has no value (no such attribute, or blank):
    /// no seller SKU, so no offer (reported, never made up).
    NoValue {
        column: String,
    },
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateError::Empty => write!(f, "the seller SKU is empty"),
            TemplateError::TooLong { seller_sku, len } => write!(
                f,
                "seller SKU `{sku}` is {len} characters; Amazon allows at most {MAX_SELLER_SKU_LEN}",
                sku = crate::diag::clip(seller_sku)
            ),
            TemplateError::BadChar { seller_sku, ch } => {
                write!(
                    f,
                    "seller SKU `{sku}` contains the control character {ch:?}",
                    sku = crate::diag::clip(seller_sku)
                )
            }
            TemplateError::NoValue { column } => write!(
                f,
                "the inventory has no value in column `{column}` for this SKU",
                column = crate::diag::clip(column)
            ),
        }
    }
}

impl TemplateError {
    /// What is wrong, without repeating the seller SKU: for a message that already quotes it
    /// (the value of an inventory column that is the whole seller SKU).
    pub fn what(&self) -> String {
        match self {
            TemplateError::TooLong { len, .. } => {
                format!("it is {len} characters; Amazon allows at most {MAX_SELLER_SKU_LEN}")
            }
            TemplateError::BadChar { ch, .. } => {
                format!("it contains the control character {ch:?}")
            }
            TemplateError::Empty | TemplateError::NoValue { .. } => self.to_string(),
        }
    }
}

impl SkuTemplate {
    /// The identity template `{sku}`.
    pub fn identity() -> Self {
        SkuTemplate {
            parts: vec![TemplatePart::Sku],
            source: "{sku}".to_string(),
        }
    }

    pub fn is_identity(&self) -> bool {
        self.parts == [TemplatePart::Sku]
    }

    /// True if the rendered SKU differs between marketplaces.
    pub fn mentions_marketplace(&self) -> bool {
        self.parts.contains(&TemplatePart::Marketplace)
    }

    /// The inventory columns the template reads (`{column:NAME}`), in order.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            TemplatePart::Column(c) => Some(c.as_str()),
            _ => None,
        })
    }

    /// Render for one inventory SKU and marketplace; checks the result is a valid seller SKU.
    /// A template reading an inventory column has no value here: use [`Self::render_with`].
    pub fn render(&self, inventory_sku: &str, marketplace: &str) -> Result<String, TemplateError> {
        self.render_with(inventory_sku, marketplace, |_| None)
    }

    /// [`Self::render`] with `value(column)`, the SKU's value of an inventory column. A missing
    /// or blank value is `NoValue`: the SKU has no seller SKU there.
    pub fn render_with<'v>(
        &self,
        inventory_sku: &str,
        marketplace: &str,
        value: impl Fn(&str) -> Option<&'v str>,
    ) -> Result<String, TemplateError> {
        let mut out = String::with_capacity(inventory_sku.len() + 8);
        self.render_into(&mut out, inventory_sku, marketplace, value)?;
        Ok(out)
    }

    /// [`Self::render_with`] into `out` (cleared first), so a run of a million offers reuses
    /// one buffer rather than allocating a string per offer.
    pub fn render_into<'v>(
        &self,
        out: &mut String,
        inventory_sku: &str,
        marketplace: &str,
        value: impl Fn(&str) -> Option<&'v str>,
    ) -> Result<(), TemplateError> {
        out.clear();
        for p in &self.parts {
            match p {
                TemplatePart::Lit(s) => out.push_str(s),
                TemplatePart::Sku => out.push_str(inventory_sku),
                TemplatePart::Marketplace => out.push_str(marketplace),
                TemplatePart::Column(c) => match value(c) {
                    Some(v) if !v.trim().is_empty() => out.push_str(v),
                    _ => return Err(TemplateError::NoValue { column: c.clone() }),
                },
            }
        }
        check_seller_sku(out)
    }
}

/// Amazon's rules for a seller SKU: 1 to [`MAX_SELLER_SKU_LEN`] characters, no control
/// character. The sandbox refuses what these refuse, so a rehearsal cannot pass a SKU a plan
/// would never produce.
pub fn check_seller_sku(seller_sku: &str) -> Result<(), TemplateError> {
    if seller_sku.is_empty() {
        return Err(TemplateError::Empty);
    }
    // The common case, checked a million times a run: short ASCII without control characters
    // (for ASCII, `char::is_control` is exactly the C0 range and DEL).
    if seller_sku.len() <= MAX_SELLER_SKU_LEN
        && seller_sku
            .bytes()
            .all(|b| b >= 0x20 && b != 0x7f && b < 0x80)
    {
        return Ok(());
    }
    if let Some(ch) = seller_sku.chars().find(|c| c.is_control()) {
        return Err(TemplateError::BadChar {
            seller_sku: seller_sku.to_string(),
            ch,
        });
    }
    let len = seller_sku.chars().count();
    if len > MAX_SELLER_SKU_LEN {
        return Err(TemplateError::TooLong {
            seller_sku: seller_sku.to_string(),
            len,
        });
    }
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Selector {
    Any,
    /// Any of these globs (`*` any run, `?` one character) matches the SKU.
    Sku(Vec<String>),
    /// The SKU carries any of these tags.
    Tag(Vec<String>),
    /// The attribute equals any of these values.
    Attr {
        name: String,
        values: Vec<String>,
    },
    Not(Box<Selector>),
    All(Vec<Selector>),
}

/// A `test` block, resolved.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestCase {
    pub name: String,
    pub span: Span,
    pub stock: Vec<TestStock>,
    pub expects: Vec<TestExpect>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestStock {
    pub sku: String,
    pub tags: Vec<String>,
    pub attrs: Vec<(String, String)>,
    /// (location, on_hand, reserved)
    pub entries: Vec<(LocationIx, u64, u64)>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestExpect {
    pub seller_sku: String,
    pub marketplace: MarketplaceIx,
    /// `None`: the offer's DEFAULT channel (or its only channel).
    pub channel: Option<ChannelRef>,
    /// `None`: expect no offer at all.
    pub quantity: Option<u64>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum ChannelRef {
    Default,
    Location(LocationIx),
}

/// Amazon's code for the merchant-fulfilled channel without a location.
pub const DEFAULT_CHANNEL: &str = "DEFAULT";

/// One `fulfillment_availability` entry: a channel code and its quantity, with the handling
/// time and restock date when the policy sets them (`handling_time`, `restock_date`). The two
/// are left out of every serialized form when unset, so plans and requests of policies that do
/// not use them are what they always were.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ChannelQty {
    /// `DEFAULT` or a supply source's code.
    pub channel: String,
    pub quantity: u64,
    /// Amazon's `lead_time_to_ship_max_days` (handling time, in days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_time_to_ship_max_days: Option<u32>,
    /// Amazon's `restock_date`, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restock_date: Option<String>,
}

impl ChannelQty {
    /// A channel with a quantity and nothing else.
    pub fn new(channel: impl Into<String>, quantity: u64) -> Self {
        ChannelQty {
            channel: channel.into(),
            quantity,
            ..ChannelQty::default()
        }
    }

    /// True when the entry carries a handling time or restock date (see [`ChangeKind::of`]).
    pub fn has_availability(&self) -> bool {
        self.lead_time_to_ship_max_days.is_some() || self.restock_date.is_some()
    }

    /// Sets the availability fields from a target's.
    pub fn with(mut self, a: &Availability) -> Self {
        self.lead_time_to_ship_max_days = a.lead_time_to_ship_max_days;
        self.restock_date = a.restock_date.clone();
        self
    }
}

/// Amazon's largest `lead_time_to_ship_max_days`: the product type definition schema
/// (getDefinitionsProductType) gives the `fulfillment_availability` item's field
/// `"type": "integer", "minimum": 0, "maximum": 30`. The Listings Items and feed schemas leave
/// attribute values open, so this is the bound that applies.
pub const MAX_HANDLING_DAYS: u32 = 30;

/// A target's `handling_time` and `restock_date` (its own, else its rule's), written beside the
/// quantity of each channel of its offers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Availability {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead_time_to_ship_max_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restock_date: Option<String>,
}

impl Availability {
    pub fn is_empty(&self) -> bool {
        self.lead_time_to_ship_max_days.is_none() && self.restock_date.is_none()
    }
}

/// True for a calendar date written `YYYY-MM-DD` (Amazon's `restock_date` is a JSON Schema
/// `"format": "date"`, RFC 3339's full-date), years 1..=9999.
pub fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |a, &c| {
            c.is_ascii_digit().then(|| a * 10 + u32::from(c - b'0'))
        })
    };
    let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1 && (1..=days).contains(&d)
}

/// One offer to publish: a seller SKU in one region, listed in some of its marketplaces, with a
/// quantity per channel. Amazon keeps ONE quantity per seller SKU per region (unified account),
/// so an offer carries every marketplace that shares it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Offer {
    pub seller_sku: String,
    pub region: Region,
    /// Marketplace codes, in policy order. Shared (`Arc`): the offers of one rule name the
    /// same marketplaces, and a million offers should not each own a copy.
    pub marketplaces: Arc<[String]>,
    /// Amazon marketplace IDs, parallel to `marketplaces`.
    pub marketplace_ids: Arc<[String]>,
    /// Sorted: DEFAULT first, then supply sources in policy order. Never empty.
    pub channels: Vec<ChannelQty>,
    /// The inventory SKU the quantity came from.
    pub inventory_sku: String,
    /// The rule that decided (by name), shared by every offer of the rule.
    pub rule: Arc<str>,
}

/// How an offer compares with the current listings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// Not in the current listings (or no current listings were given).
    New,
    /// Some channel's quantity differs, or the offer sets a handling time or restock date
    /// (which the current listings never tell).
    Changed,
    Unchanged,
    /// Changed, and every channel goes to 0 (the offer becomes unbuyable).
    Zeroed,
}

impl ChangeKind {
    /// The one change rule, shared by the preview and `allot show`: compare the channels an
    /// offer writes with the current listing (`current` looks a channel's quantity up; `None`:
    /// not listed). Only the written channels count, because a merge leaves the others alone.
    pub fn of<F: Fn(&str) -> Option<u64>>(
        channels: &[ChannelQty],
        current: Option<F>,
    ) -> ChangeKind {
        let Some(cur) = current else {
            return ChangeKind::New;
        };
        // The current listings never tell a handling time or restock date (no reader takes
        // them), so an offer that sets one is written every time: what the policy says is then
        // what Amazon has (docs/language.md, "Handling time and restock date").
        if channels
            .iter()
            .all(|c| !c.has_availability() && cur(&c.channel) == Some(c.quantity))
        {
            ChangeKind::Unchanged
        } else if channels.iter().all(|c| c.quantity == 0) {
            ChangeKind::Zeroed
        } else {
            ChangeKind::Changed
        }
    }

    /// [`ChangeKind::of`] against a listing's channel list (as a saved plan's `previous`).
    pub fn of_list(channels: &[ChannelQty], current: Option<&[ChannelQty]>) -> ChangeKind {
        ChangeKind::of(
            channels,
            current.map(|list| {
                |code: &str| list.iter().find(|c| c.channel == code).map(|c| c.quantity)
            }),
        )
    }
}

/// Why an offer the policy computes is not written. Writing it would be a write Amazon's rules
/// do not allow, or one whose effect is not what the policy means; the preview lists it with
/// the reason and the plan leaves it out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Hold {
    /// Amazon fulfils this seller SKU (FBA, channel `AMAZON_NA`/`AMAZON_EU`/`AMAZON_FE`) and owns
    /// its quantity: a DEFAULT quantity patched onto it adds a merchant offer beside it. Held
    /// under `on_fba skip`; under `on_fba error` the run fails instead.
    FulfilledByAmazon { channel: String },
    /// The current listings are known and do not hold this seller SKU: a PATCH would create an
    /// incomplete, unbuyable offer-only listing. `--allow-new` writes it.
    NotListed,
    /// The seller SKU is listed in the region, but in none of the offer's marketplaces (only in
    /// `listed_in`): a write would create offers there. `--allow-new` writes it.
    NotListedHere { listed_in: Vec<String> },
    /// `quantity N once`: the offer already has a quantity on Amazon (for every channel it
    /// writes), which Amazon counts down with each sale; writing N again would top it back up.
    #[serde(rename = "initial_quantity_sent")]
    InitialSent,
}

impl Hold {
    /// One line for people: why the offer is not written.
    pub fn reason(&self) -> String {
        match self {
            Hold::FulfilledByAmazon { channel } => format!(
                "fulfilled by Amazon ({channel}): Amazon owns its quantity; a merchant quantity would add a second offer"
            ),
            Hold::NotListed => "not listed on Amazon: a write would create an incomplete offer-only listing (--allow-new to create it)".to_string(),
            Hold::NotListedHere { listed_in } => format!(
                "listed only in {}, where this policy does not publish: a write would create offers in its marketplaces (--allow-new to create them)",
                listed_in.join(", ")
            ),
            Hold::InitialSent => "initial quantity already on Amazon: Amazon counts it down with each sale (`quantity N once`)".to_string(),
        }
    }

    /// Lifted by `--allow-new` (creating a listing is a decision the user can take; writing
    /// over Amazon's own quantity is not).
    pub fn is_new(&self) -> bool {
        matches!(self, Hold::NotListed | Hold::NotListedHere { .. })
    }
}

/// A fulfilment channel code of Amazon's own fulfilment (FBA): `AMAZON_NA`, `AMAZON_EU`, … .
pub fn is_amazon_channel(code: &str) -> bool {
    code.get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("AMAZON_"))
}

/// One offer of the preview with what the current listings show. The preview (`sim`) produces
/// these; the planner (`plan`) turns the ones that change, and are not held, into operations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OfferChange {
    pub offer: Offer,
    /// Channels as the current listings show them; `None` when the SKU is not listed.
    pub current: Option<Vec<ChannelQty>>,
    pub kind: ChangeKind,
    /// Set when the offer is not written, and why. Boxed: held offers are few, and a million
    /// offers should not each carry room for the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold: Option<Box<Hold>>,
}

impl OfferChange {
    /// True when applying the plan writes this offer.
    pub fn is_write(&self) -> bool {
        self.hold.is_none() && self.kind != ChangeKind::Unchanged
    }
}

/// The preview's counts, also recorded in a saved plan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub offers_new: u64,
    pub offers_changed: u64,
    pub offers_unchanged: u64,
    pub offers_zeroed: u64,
    pub skus_skipped_missing: u64,
    /// Units that could be sold beyond the stock backing them, summed over inventory SKUs.
    pub exposure: u64,
    /// Offers not written because Amazon fulfils them (FBA). Not in the counts above.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offers_fulfilled_by_amazon: u64,
    /// Offers not written because their seller SKU is not listed (there). Not in the counts above.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offers_not_listed: u64,
    /// Offers not written because their initial quantity (`quantity N once`) is already on
    /// Amazon. Not in the counts above.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offers_initial_kept: u64,
}

impl Summary {
    /// Adds another preview's offer and SKU counts (two parts of one run, or two policies);
    /// `exposure` is the caller's, whose sum is checked for overflow.
    pub fn add_counts(&mut self, o: &Summary) {
        self.offers_new += o.offers_new;
        self.offers_changed += o.offers_changed;
        self.offers_unchanged += o.offers_unchanged;
        self.offers_zeroed += o.offers_zeroed;
        self.skus_skipped_missing += o.skus_skipped_missing;
        self.offers_fulfilled_by_amazon += o.offers_fulfilled_by_amazon;
        self.offers_not_listed += o.offers_not_listed;
        self.offers_initial_kept += o.offers_initial_kept;
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What Amazon shows now (from `--current FILE` or `--current live`): per seller SKU, the
/// quantity of each channel. One quantity per seller SKU per region, so no marketplace key.
///
/// A report can hold millions of seller SKUs, each with one or two channels and marketplaces:
/// the inner values are sorted vectors ([`Channels`], [`Marketplaces`]), where a B-tree would
/// allocate a whole node per SKU (about 1 KB per SKU instead of a few hundred bytes). The outer
/// maps stay sorted maps: their order is the order of the output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Current {
    pub listings: std::collections::BTreeMap<String, Channels>,
    /// Where each seller SKU is listed (marketplace codes), when the source says so. A SKU
    /// listed in a marketplace the policy does not publish to still shows the new quantity
    /// there (one quantity per seller SKU per region): the preview warns.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub listed_in: std::collections::BTreeMap<String, Marketplaces>,
    /// Seller SKUs Amazon fulfils (FBA), with their channel code (`AMAZON_NA`, …). Their
    /// quantity is Amazon's: they are never in `listings` and never written.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub amazon_fulfilled: std::collections::BTreeMap<String, String>,
}

impl Current {
    /// Move channels of Amazon's own fulfilment out of `listings` into `amazon_fulfilled`
    /// (a file may list them as channels); every reader ends with this.
    pub fn separate_amazon_channels(&mut self) {
        for (sku, chans) in self.listings.iter_mut() {
            // The first Amazon channel in code order is the one recorded, as before.
            let mut first: Option<String> = None;
            chans.retain(|c, _| {
                if !is_amazon_channel(c) {
                    return true;
                }
                if first.is_none() {
                    first = Some(c.to_string());
                }
                false
            });
            if let Some(c) = first {
                self.amazon_fulfilled.entry(sku.clone()).or_insert(c);
            }
        }
        self.listings.retain(|_, c| !c.is_empty());
    }

    /// True when the seller SKU is known to Amazon: listed with a quantity, listed somewhere,
    /// or fulfilled by Amazon.
    pub fn knows(&self, seller_sku: &str) -> bool {
        self.listings.contains_key(seller_sku)
            || self.listed_in.contains_key(seller_sku)
            || self.amazon_fulfilled.contains_key(seller_sku)
    }

    /// The current channels of a seller SKU, DEFAULT first; `None` if it is not listed.
    pub fn channels(&self, seller_sku: &str) -> Option<Vec<ChannelQty>> {
        self.listings.get(seller_sku).map(channel_list)
    }
}

/// One seller SKU's current channels: channel code -> quantity, sorted by code (byte order, as
/// a `BTreeMap<String, u64>` iterates), one entry per code. Serialized as that map (a JSON
/// object). A vector, not a map: a SKU has one or two channels, and a million SKUs each holding
/// a B-tree node cost about a gigabyte.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Channels(Vec<(Box<str>, u64)>);

/// [`Channels::iter`]'s item from a stored entry.
type ChannelEntry<'a> = (&'a str, &'a u64);
type ChannelsIter<'a> = std::iter::Map<
    std::slice::Iter<'a, (Box<str>, u64)>,
    fn(&'a (Box<str>, u64)) -> ChannelEntry<'a>,
>;

fn channel_entry(e: &(Box<str>, u64)) -> ChannelEntry<'_> {
    (&e.0, &e.1)
}

impl Channels {
    fn find(&self, channel: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(c, _)| (**c).cmp(channel))
    }

    pub fn get(&self, channel: &str) -> Option<&u64> {
        self.find(channel).ok().map(|i| &self.0[i].1)
    }

    pub fn get_mut(&mut self, channel: &str) -> Option<&mut u64> {
        match self.find(channel) {
            Ok(i) => Some(&mut self.0[i].1),
            Err(_) => None,
        }
    }

    pub fn contains_key(&self, channel: &str) -> bool {
        self.find(channel).is_ok()
    }

    /// Set a channel's quantity; the old one if the channel was there (as `BTreeMap::insert`).
    pub fn insert<K: AsRef<str> + Into<Box<str>>>(
        &mut self,
        channel: K,
        quantity: u64,
    ) -> Option<u64> {
        match self.find(channel.as_ref()) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, quantity)),
            Err(i) => {
                // Exactly one more: a first push would make room for four.
                self.0.reserve_exact(1);
                self.0.insert(i, (channel.into(), quantity));
                None
            }
        }
    }

    pub fn remove(&mut self, channel: &str) -> Option<u64> {
        match self.find(channel) {
            Ok(i) => Some(self.0.remove(i).1),
            Err(_) => None,
        }
    }

    /// Keep the channels `keep` says yes to (as `BTreeMap::retain`).
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &mut u64) -> bool) {
        self.0.retain_mut(|(c, q)| keep(c, q));
        self.0.shrink_to_fit();
    }

    /// The channels in code order.
    pub fn iter<'a>(&'a self) -> ChannelsIter<'a> {
        let f: fn(&'a (Box<str>, u64)) -> ChannelEntry<'a> = channel_entry;
        self.0.iter().map(f)
    }

    /// The channel codes in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator + Clone {
        self.0.iter().map(|(c, _)| &**c)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Channels {
    type Item = ChannelEntry<'a>;
    type IntoIter = ChannelsIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<K: AsRef<str> + Into<Box<str>>> FromIterator<(K, u64)> for Channels {
    /// A later entry for the same code replaces an earlier one, as collecting a `BTreeMap` does.
    fn from_iter<I: IntoIterator<Item = (K, u64)>>(iter: I) -> Self {
        let mut c = Channels::default();
        for (k, q) in iter {
            c.insert(k, q);
        }
        c
    }
}

impl<K: AsRef<str> + Into<Box<str>>, const N: usize> From<[(K, u64); N]> for Channels {
    fn from(a: [(K, u64); N]) -> Self {
        a.into_iter().collect()
    }
}

impl From<std::collections::BTreeMap<String, u64>> for Channels {
    fn from(m: std::collections::BTreeMap<String, u64>) -> Self {
        // Already sorted and unique: no search per entry.
        Channels(
            m.into_iter()
                .map(|(c, q)| (c.into_boxed_str(), q))
                .collect(),
        )
    }
}

impl From<&Channels> for std::collections::BTreeMap<String, u64> {
    fn from(c: &Channels) -> Self {
        c.iter().map(|(k, &q)| (k.to_string(), q)).collect()
    }
}

impl Serialize for Channels {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Channels {
    /// Through the map it replaced: the same text is accepted, a repeated code keeps its last
    /// quantity as before.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        std::collections::BTreeMap::<String, u64>::deserialize(d).map(Channels::from)
    }
}

/// The marketplace codes a seller SKU is listed in: sorted (byte order, as a
/// `BTreeSet<String>` iterates), no repeats. Serialized as that set (a JSON array). A vector
/// for the reason [`Channels`] is one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Marketplaces(Vec<Box<str>>);

type MarketplacesIter<'a> =
    std::iter::Map<std::slice::Iter<'a, Box<str>>, fn(&'a Box<str>) -> &'a str>;

// The slice's item is `&Box<str>`: the iterator's function must take that.
#[allow(clippy::borrowed_box)]
fn marketplace_code(m: &Box<str>) -> &str {
    m
}

impl Marketplaces {
    fn find(&self, code: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|m| (**m).cmp(code))
    }

    /// Add a code; false if it was there (as `BTreeSet::insert`).
    pub fn insert<K: AsRef<str> + Into<Box<str>>>(&mut self, code: K) -> bool {
        match self.find(code.as_ref()) {
            Ok(_) => false,
            Err(i) => {
                // Exactly one more: a first push would make room for four.
                self.0.reserve_exact(1);
                self.0.insert(i, code.into());
                true
            }
        }
    }

    pub fn contains(&self, code: &str) -> bool {
        self.find(code).is_ok()
    }

    /// The codes in order.
    pub fn iter<'a>(&'a self) -> MarketplacesIter<'a> {
        let f: fn(&'a Box<str>) -> &'a str = marketplace_code;
        self.0.iter().map(f)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Marketplaces {
    type Item = &'a str;
    type IntoIter = MarketplacesIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<K: AsRef<str> + Into<Box<str>>> FromIterator<K> for Marketplaces {
    fn from_iter<I: IntoIterator<Item = K>>(iter: I) -> Self {
        let mut m = Marketplaces::default();
        for k in iter {
            m.insert(k);
        }
        m
    }
}

impl<K: AsRef<str> + Into<Box<str>>, const N: usize> From<[K; N]> for Marketplaces {
    fn from(a: [K; N]) -> Self {
        a.into_iter().collect()
    }
}

impl From<std::collections::BTreeSet<String>> for Marketplaces {
    fn from(s: std::collections::BTreeSet<String>) -> Self {
        // Already sorted and unique.
        Marketplaces(s.into_iter().map(String::into_boxed_str).collect())
    }
}

impl From<&Marketplaces> for std::collections::BTreeSet<String> {
    fn from(m: &Marketplaces) -> Self {
        m.iter().map(str::to_string).collect()
    }
}

impl Serialize for Marketplaces {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Marketplaces {
    /// Through the set it replaced: the same text is accepted, repeats collapse as before.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        std::collections::BTreeSet::<String>::deserialize(d).map(Marketplaces::from)
    }
}

/// A listing's channels as a list, DEFAULT first, then by code.
pub fn channel_list(m: &Channels) -> Vec<ChannelQty> {
    channel_list_sorted(m.iter().map(|(c, &q)| (c, q)))
}

/// [`channel_list`] for channels already in code order (a `Channels` or a `BTreeMap`).
pub(crate) fn channel_list_sorted<'a>(
    sorted: impl Iterator<Item = (&'a str, u64)> + Clone,
) -> Vec<ChannelQty> {
    // Sorted by code: only DEFAULT moves to the front.
    let mut v: Vec<ChannelQty> = Vec::with_capacity(sorted.size_hint().0);
    if let Some((_, q)) = sorted.clone().find(|(c, _)| *c == DEFAULT_CHANNEL) {
        v.push(ChannelQty::new(DEFAULT_CHANNEL, q));
    }
    v.extend(
        sorted
            .filter(|(c, _)| *c != DEFAULT_CHANNEL)
            .map(|(c, q)| ChannelQty::new(c, q)),
    );
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_are_a_sorted_map() {
        use std::collections::BTreeMap;
        let mut c = Channels::default();
        assert_eq!(c.insert("reno", 2), None);
        assert_eq!(c.insert("DEFAULT".to_string(), 5), None);
        assert_eq!(c.insert("AMAZON_NA", 0), None);
        // Replace on insert, as a map: the old quantity back, one entry.
        assert_eq!(c.insert("DEFAULT", 7), Some(5));
        assert_eq!(c.len(), 3);
        assert_eq!(
            c.iter().collect::<Vec<_>>(),
            [("AMAZON_NA", &0), ("DEFAULT", &7), ("reno", &2)]
        );
        assert_eq!(c.get("DEFAULT"), Some(&7));
        assert!(c.contains_key("reno") && !c.contains_key("RENO"));
        if let Some(q) = c.get_mut("reno") {
            *q = 3;
        }
        // The same order and contents as the map it replaced.
        let m: BTreeMap<String, u64> = [("reno", 3), ("DEFAULT", 7), ("AMAZON_NA", 0)]
            .into_iter()
            .map(|(k, q)| (k.to_string(), q))
            .collect();
        assert!(c.keys().eq(m.keys().map(String::as_str)));
        assert_eq!(BTreeMap::from(&c), m);
        // Serialized as the map was, and read back from the map's text.
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(text, serde_json::to_string(&m).unwrap());
        assert_eq!(serde_json::from_str::<Channels>(&text).unwrap(), c);
        // A repeated key keeps the last quantity, as the map did.
        let twice = r#"{"DEFAULT": 1, "DEFAULT": 2}"#;
        let m2: BTreeMap<String, u64> = serde_json::from_str(twice).unwrap();
        let c2: Channels = serde_json::from_str(twice).unwrap();
        assert_eq!(BTreeMap::from(&c2), m2);
        assert!(serde_json::from_str::<Channels>(r#"{"DEFAULT": -1}"#).is_err());
        assert!(serde_json::from_str::<Channels>(r#"["DEFAULT"]"#).is_err());
        // DEFAULT first, then by code.
        let list = channel_list(&c);
        let codes: Vec<&str> = list.iter().map(|q| q.channel.as_str()).collect();
        assert_eq!(codes, ["DEFAULT", "AMAZON_NA", "reno"]);
        assert_eq!(c.remove("AMAZON_NA"), Some(0));
        assert_eq!(c.remove("AMAZON_NA"), None);
        c.retain(|k, _| k != "reno");
        assert_eq!(c, [("DEFAULT".to_string(), 7)].into());
        let from_iter: Channels = [
            ("b".to_string(), 1),
            ("a".to_string(), 2),
            ("b".to_string(), 3),
        ]
        .into_iter()
        .collect();
        assert_eq!(from_iter.iter().collect::<Vec<_>>(), [("a", &2), ("b", &3)]);
        c.retain(|_, _| false);
        assert!(c.is_empty());
    }

    #[test]
    fn marketplaces_are_a_sorted_set() {
        use std::collections::BTreeSet;
        let mut m = Marketplaces::default();
        assert!(m.insert("US".to_string()));
        assert!(m.insert("MX".to_string()));
        assert!(m.insert("CA".to_string()));
        assert!(!m.insert("US".to_string()));
        assert_eq!(m.len(), 3);
        assert_eq!(m.iter().collect::<Vec<_>>(), ["CA", "MX", "US"]);
        assert!(m.contains("MX") && !m.contains("UK"));
        let s: BTreeSet<String> = ["US", "MX", "CA"].iter().map(|c| c.to_string()).collect();
        assert_eq!(BTreeSet::from(&m), s);
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(text, serde_json::to_string(&s).unwrap());
        assert_eq!(serde_json::from_str::<Marketplaces>(&text).unwrap(), m);
        let repeated: Marketplaces = serde_json::from_str(r#"["US", "CA", "US"]"#).unwrap();
        assert_eq!(repeated, ["CA".to_string(), "US".to_string()].into());
        assert!(serde_json::from_str::<Marketplaces>(r#"{"US": 1}"#).is_err());
        let collected: Marketplaces = ["US".to_string(), "CA".to_string()].into_iter().collect();
        assert_eq!(collected.iter().collect::<Vec<_>>(), ["CA", "US"]);
        assert!(Marketplaces::default().is_empty());
    }

    #[test]
    fn percent_rounding_is_exact() {
        assert_eq!(Percent(8000).of(10, Round::Down), 8);
        assert_eq!(Percent(9000).of(1, Round::Down), 0);
        assert_eq!(Percent(9000).of(1, Round::Up), 1);
        assert_eq!(Percent(5000).of(3, Round::Nearest), 2);
        assert_eq!(Percent(5000).of(6, Round::Down), 3);
        assert_eq!(Percent(10_000).of(u64::MAX, Round::Down), u64::MAX);
    }

    #[test]
    fn percent_displays_as_written() {
        assert_eq!(Percent(6000).to_string(), "60%");
        assert_eq!(Percent(1250).to_string(), "12.5%");
        assert_eq!(Percent(1205).to_string(), "12.05%");
    }

    #[test]
    fn the_ascii_fast_path_agrees_with_the_rules() {
        for b in 0u8..0x80 {
            let s = format!("A{}B", b as char);
            let slow = !(b as char).is_control();
            assert_eq!(check_seller_sku(&s).is_ok(), slow, "byte {b:#x}");
        }
        assert!(check_seller_sku(&"X".repeat(40)).is_ok());
        assert!(check_seller_sku(&"X".repeat(41)).is_err());
        assert!(check_seller_sku(&"É".repeat(40)).is_ok());
        assert!(check_seller_sku("A\u{85}B").is_err());
    }

    #[test]
    fn template_renders_and_checks_length() {
        let t = SkuTemplate {
            parts: vec![
                TemplatePart::Sku,
                TemplatePart::Lit("-".into()),
                TemplatePart::Marketplace,
            ],
            source: "{sku}-{marketplace}".into(),
        };
        assert_eq!(t.render("YOGA-1", "US").unwrap(), "YOGA-1-US");
        let long = "X".repeat(39);
        assert!(matches!(
            t.render(&long, "US"),
            Err(TemplateError::TooLong { len: 42, .. })
        ));
    }
}
