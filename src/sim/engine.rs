//! The order of operations for one inventory SKU (docs/inventory.md, "Order of operations"):
//! the first matching rule decides; its targets become offers with the value after every step.

use serde::Serialize;

use super::error::{Place, Problems, SimProblem};
use crate::inventory::{Stock, StockItem};
use crate::marketplaces::Region;
use crate::model::{
    Action, Amount, Availability, ByLocation, ChannelQty, DEFAULT_CHANNEL, LocationIx, OnMissing,
    Percent, Policy, Publish, Round, RuleSpans, Selector, Target, TemplateError, TemplatePart,
};

/// One step of the order of operations and the value after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Step 2: sum of available stock over the counted locations (or one location, by location).
    Pool,
    /// Step 3: `param` units kept back.
    Buffer,
    /// Step 4: `param` is the share in hundredths of a percent.
    Share,
    /// Step 4 with `ratio N`: this target's exact part of the pool; `param` is its weight.
    Ratio,
    /// Step 4b with `pack N`: whole packs of `param` units.
    Pack,
    /// Step 5: `param` is the threshold.
    Threshold,
    /// Step 6: `param` is the cap.
    Cap,
    /// Step 7: `quantity N`.
    Fixed,
    /// Step 8: `on_missing zero`.
    MissingZero,
    /// Step 10: the part of a split going to `location`; `param` is its percentage.
    Split,
    /// `default_channel 0`.
    DefaultZero,
}

impl StepKind {
    /// Its name as serialized (`snake_case`; a test holds them equal).
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Pool => "pool",
            StepKind::Buffer => "buffer",
            StepKind::Share => "share",
            StepKind::Ratio => "ratio",
            StepKind::Pack => "pack",
            StepKind::Threshold => "threshold",
            StepKind::Cap => "cap",
            StepKind::Fixed => "fixed",
            StepKind::MissingZero => "missing_zero",
            StepKind::Split => "split",
            StepKind::DefaultZero => "default_zero",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    pub kind: StepKind,
    /// The location this step is about (by location), if any.
    pub location: Option<LocationIx>,
    /// The rule's parameter of the step (units kept back, percent hundredths, threshold, cap…).
    pub param: Option<u64>,
    /// The value after the step.
    pub value: u64,
}

impl Step {
    fn new(kind: StepKind, location: Option<LocationIx>, param: Option<u64>, value: u64) -> Self {
        Step {
            kind,
            location,
            param,
            value,
        }
    }
}

/// A selector with its tags and attributes resolved against the stock once.
enum CSel {
    Any,
    Sku(Vec<Glob>),
    /// Tag ids present in the stock (missing tags can never match).
    Tag(Vec<u32>),
    Attr(Option<u32>, Vec<String>),
    Not(Box<CSel>),
    All(Vec<CSel>),
}

enum Glob {
    Exact(String),
    Prefix(String),
    Pattern(String),
}

impl Glob {
    fn new(p: &str) -> Glob {
        if !p.contains(['*', '?']) {
            Glob::Exact(p.to_string())
        } else if let Some(prefix) = p.strip_suffix('*')
            && !prefix.contains(['*', '?'])
        {
            Glob::Prefix(prefix.to_string())
        } else {
            Glob::Pattern(p.to_string())
        }
    }

    fn matches(&self, inventory_sku: &str) -> bool {
        match self {
            Glob::Exact(s) => s == inventory_sku,
            Glob::Prefix(p) => inventory_sku.starts_with(p.as_str()),
            Glob::Pattern(p) => crate::check::selector::glob_match(p, inventory_sku),
        }
    }
}

impl CSel {
    fn compile(sel: &Selector, stock: &Stock) -> CSel {
        match sel {
            Selector::Any => CSel::Any,
            Selector::Sku(globs) => CSel::Sku(globs.iter().map(|g| Glob::new(g)).collect()),
            Selector::Tag(tags) => {
                CSel::Tag(tags.iter().filter_map(|t| stock.find_tag(t)).collect())
            }
            Selector::Attr { name, values } => CSel::Attr(stock.find_attr(name), values.clone()),
            Selector::Not(s) => CSel::Not(Box::new(CSel::compile(s, stock))),
            Selector::All(v) => CSel::All(v.iter().map(|s| CSel::compile(s, stock)).collect()),
        }
    }

    fn matches(&self, inventory_sku: &str, item: Option<StockItem<'_>>) -> bool {
        match self {
            CSel::Any => true,
            CSel::Sku(globs) => globs.iter().any(|g| g.matches(inventory_sku)),
            CSel::Tag(ids) => item.is_some_and(|i| i.tags().any(|t| ids.contains(&t))),
            CSel::Attr(id, values) => match (id, item) {
                (Some(id), Some(i)) => i
                    .attrs()
                    .any(|(a, v)| a == *id && values.iter().any(|x| x == v)),
                _ => false,
            },
            CSel::Not(s) => !s.matches(inventory_sku, item),
            CSel::All(v) => v.iter().all(|s| s.matches(inventory_sku, item)),
        }
    }
}

struct CRule {
    sel: CSel,
    /// How many offers the rule makes per SKU: targets that render one seller SKU in one
    /// region are one offer.
    offers: usize,
    /// Locations whose stock counts, in policy order: the rule's (`stock from`, else all).
    counted: Vec<LocationIx>,
    /// Per target, its own `from` (sorted), if it has one.
    own: Vec<Option<Vec<LocationIx>>>,
    /// Every location some target counts: the stock behind the rule's offers (exposure).
    backing: Vec<LocationIx>,
    /// No target has its own `from`: every pool is the rule's (`backing`), added up once.
    uniform: bool,
    /// The inventory attribute ids of `buffer/threshold/cap column "…"` (the outer None: not
    /// used; the inner: no SKU has a value in that column).
    columns: [Option<Option<u32>>; 3],
}

/// A rule's buffer, threshold and cap for one inventory SKU: the rule's own, or its columns' values
/// (not the API rate limits of `spapi::ratelimit` and `sandbox::limits`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuleLimits {
    pub buffer: Option<Amount>,
    pub threshold: Option<u64>,
    pub cap: Option<u64>,
}

impl RuleLimits {
    pub fn of(p: &Publish) -> Self {
        RuleLimits {
            buffer: p.buffer,
            threshold: p.threshold,
            cap: p.cap,
        }
    }
}

/// A column value as a buffer (units or `N%`), a threshold or a cap (units).
fn column_amount(raw: &str, percent_ok: bool) -> Option<Amount> {
    let t = raw.trim();
    if let Some(num) = t.strip_suffix('%').filter(|_| percent_ok) {
        let num = num.trim();
        let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
        if whole.is_empty()
            || frac.len() > 2
            || !whole
                .chars()
                .chain(frac.chars())
                .all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let hundredths = whole.parse::<u32>().ok()?.checked_mul(100)?;
        let frac = format!("{frac:0<2}").parse::<u32>().ok()?;
        let p = hundredths.checked_add(frac)?;
        return (p <= Percent::HUNDRED.0).then_some(Amount::Percent(Percent(p)));
    }
    if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    t.parse::<u64>().ok().map(Amount::Units)
}

fn sorted(mut v: Vec<LocationIx>) -> Vec<LocationIx> {
    v.sort_unstable();
    v.dedup();
    v
}

/// What the deciding rule did with a SKU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// No rule matched: nothing is published.
    NoRule,
    /// A `skip` rule matched.
    Skip(usize),
    /// The SKU has no inventory row and the rule's `on_missing` is `skip`.
    MissingSkipped(usize),
    /// The rule published offers (possibly none, if it has no targets).
    Published(usize),
    /// An error was recorded.
    Failed(usize),
}

/// One offer as the engine produced it, before it is compared with the current listings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Produced {
    pub seller_sku: String,
    pub region: Region,
    /// Indexes into `Policy::marketplaces`, ascending.
    pub marketplaces: Vec<usize>,
    pub channels: Vec<ChannelQty>,
    pub steps: Vec<Step>,
    pub rule: usize,
    pub missing: bool,
    /// Units in one item of the offer (`pack N`; 1 for singles): its quantity times this is
    /// the stock it can sell.
    pub pack: u64,
}

pub struct Engine<'p> {
    pub policy: &'p Policy,
    rules: Vec<CRule>,
    /// Every inventory column a seller SKU template reads (`{column:NAME}`), with its
    /// attribute id in the inventory (None: no SKU has it).
    columns: Vec<(String, Option<u32>)>,
    /// Record each offer's steps (`Produced::steps`); off when no one prints them.
    pub keep_steps: bool,
    /// The steps of the offer being made when they are not kept: reused, never reallocated.
    scratch: std::cell::Cell<Vec<Step>>,
    /// Buffers of offers that are done with, for the next offers (see [`Spare`]).
    pub spare: std::cell::RefCell<Spare>,
}

/// The buffers of offers a run is done with (seller SKUs, channel lists, marketplace lists),
/// given back once a sink has seen the offer and taken for the next: a run
/// of a million SKUs then makes its offers without allocating (issue 9: malloc and free were a
/// quarter of a worker's time). Bounded: a run takes as many as it gives back, per SKU.
#[derive(Default)]
pub struct Spare {
    strings: Vec<String>,
    channels: Vec<Vec<ChannelQty>>,
    indices: Vec<Vec<usize>>,
    steps: Vec<Vec<Step>>,
}

/// How many buffers of each kind are kept: more than any SKU's offers need at once.
const SPARE_MAX: usize = 64;

impl Spare {
    /// An empty string, with room from an earlier offer when there is one.
    pub fn string(&mut self) -> String {
        self.strings.pop().unwrap_or_default()
    }

    /// A channel list to be overwritten with [`put_channel`]: its entries are an earlier
    /// offer's, so their strings are reused.
    fn channels(&mut self) -> Vec<ChannelQty> {
        self.channels.pop().unwrap_or_default()
    }

    fn indices(&mut self) -> Vec<usize> {
        let mut v = self.indices.pop().unwrap_or_default();
        v.clear();
        v
    }

    pub fn give_string(&mut self, mut s: String) {
        if self.strings.len() < SPARE_MAX {
            s.clear();
            self.strings.push(s);
        }
    }

    pub fn give_channels(&mut self, v: Vec<ChannelQty>) {
        if self.channels.len() < SPARE_MAX && v.capacity() > 0 {
            self.channels.push(v);
        }
    }

    pub fn give_indices(&mut self, v: Vec<usize>) {
        if self.indices.len() < SPARE_MAX && v.capacity() > 0 {
            self.indices.push(v);
        }
    }

    /// An empty step list, with room from an earlier offer when there is one.
    fn steps(&mut self) -> Vec<Step> {
        let mut v = self.steps.pop().unwrap_or_default();
        v.clear();
        v
    }

    pub fn give_steps(&mut self, v: Vec<Step>) {
        if self.steps.len() < SPARE_MAX && v.capacity() > 0 {
            self.steps.push(v);
        }
    }
}

/// Writes channel number `*n` of `v` (reusing the entry there, and its strings, if there is
/// one) and counts it; the caller truncates `v` to `*n` when done.
fn put_channel(
    v: &mut Vec<ChannelQty>,
    n: &mut usize,
    channel: &str,
    quantity: u64,
    availability: Option<&Availability>,
) {
    let lead = availability.and_then(|a| a.lead_time_to_ship_max_days);
    let restock = availability.and_then(|a| a.restock_date.as_ref());
    match v.get_mut(*n) {
        Some(c) => {
            c.channel.clear();
            c.channel.push_str(channel);
            c.quantity = quantity;
            c.lead_time_to_ship_max_days = lead;
            match (&mut c.restock_date, restock) {
                (Some(old), Some(new)) => old.clone_from(new),
                (slot, new) => *slot = new.cloned(),
            }
        }
        None => v.push(ChannelQty {
            channel: channel.to_string(),
            quantity,
            lead_time_to_ship_max_days: lead,
            restock_date: restock.cloned(),
        }),
    }
    *n += 1;
}

impl<'p> Engine<'p> {
    pub fn new(policy: &'p Policy, stock: &Stock) -> Self {
        let all: Vec<LocationIx> = (0..policy.locations.len()).collect();
        let rules = policy
            .rules
            .iter()
            .map(|r| {
                let counted = match &r.action {
                    Action::Publish(p) => match &p.stock_from {
                        Some(from) => sorted(from.clone()),
                        None => all.clone(),
                    },
                    Action::Skip => Vec::new(),
                };
                let own: Vec<Option<Vec<LocationIx>>> = match &r.action {
                    Action::Publish(p) => p
                        .targets
                        .iter()
                        .map(|t| t.stock_from.clone().map(sorted))
                        .collect(),
                    Action::Skip => Vec::new(),
                };
                let backing = if own.iter().any(Option::is_some) {
                    // The rule's own set counts only if a target uses it.
                    let mut v: Vec<LocationIx> = own.iter().flatten().flatten().copied().collect();
                    if own.iter().any(Option::is_none) {
                        v.extend(&counted);
                    }
                    sorted(v)
                } else {
                    counted.clone()
                };
                let offers = match &r.action {
                    Action::Publish(p) => {
                        // A SKU no template can contain stands in for `{sku}`.
                        let mut keys: Vec<(Region, Option<String>)> = p
                            .targets
                            .iter()
                            .map(|t| {
                                let m = &policy.marketplaces[t.marketplace];
                                (m.region, t.sku.render("\u{1}", &m.code).ok())
                            })
                            .collect();
                        keys.sort();
                        keys.dedup();
                        keys.len()
                    }
                    Action::Skip => 0,
                };
                let columns = match &r.action {
                    Action::Publish(p) => [&p.columns.buffer, &p.columns.threshold, &p.columns.cap]
                        .map(|c| c.as_ref().map(|name| stock.find_attr(name))),
                    Action::Skip => [None, None, None],
                };
                CRule {
                    sel: CSel::compile(&r.selector, stock),
                    offers,
                    counted,
                    uniform: own.iter().all(Option::is_none),
                    own,
                    backing,
                    columns,
                }
            })
            .collect();
        let mut columns: Vec<(String, Option<u32>)> = Vec::new();
        for r in &policy.rules {
            if let Action::Publish(p) = &r.action {
                for c in p.targets.iter().flat_map(|t| t.sku.columns()) {
                    if !columns.iter().any(|(n, _)| n == c) {
                        columns.push((c.to_string(), stock.find_attr(c)));
                    }
                }
            }
        }
        Engine {
            policy,
            rules,
            columns,
            keep_steps: true,
            scratch: std::cell::Cell::default(),
            spare: std::cell::RefCell::default(),
        }
    }

    /// A SKU's value in an inventory column a template reads.
    fn value<'i>(&self, column: &str, item: Option<StockItem<'i>>) -> Option<&'i str> {
        let id = self.columns.iter().find(|(n, _)| n == column)?.1?;
        item?.attrs().find(|&(a, _)| a == id).map(|(_, v)| v)
    }

    /// A target's seller SKU for one inventory SKU (its columns' values from the SKU's
    /// inventory row). `NoValue`: the SKU has no seller SKU there, so no offer.
    pub fn seller_sku(
        &self,
        t: &Target,
        inventory_sku: &str,
        item: Option<StockItem<'_>>,
    ) -> Result<String, TemplateError> {
        let code = &self.policy.marketplaces[t.marketplace].code;
        t.sku
            .render_with(inventory_sku, code, |c| self.value(c, item))
    }

    /// [`Self::seller_sku`] into `out`.
    fn seller_sku_into(
        &self,
        out: &mut String,
        t: &Target,
        inventory_sku: &str,
        item: Option<StockItem<'_>>,
    ) -> Result<(), TemplateError> {
        let code = &self.policy.marketplaces[t.marketplace].code;
        t.sku
            .render_into(out, inventory_sku, code, |c| self.value(c, item))
    }

    /// The targets of rule `ri` that make no offer for this SKU because a column their
    /// template reads has no value: (marketplace code, column), in policy order.
    pub fn unmapped(
        &self,
        ri: usize,
        inventory_sku: &str,
        item: Option<StockItem<'_>>,
    ) -> Vec<(String, String)> {
        let Action::Publish(p) = &self.policy.rules[ri].action else {
            return Vec::new();
        };
        p.targets
            .iter()
            .filter(|t| t.sku.columns().next().is_some())
            .filter_map(|t| match self.seller_sku(t, inventory_sku, item) {
                Err(TemplateError::NoValue { column }) => {
                    Some((self.policy.marketplaces[t.marketplace].code.clone(), column))
                }
                _ => None,
            })
            .collect()
    }

    /// The first rule whose selector matches.
    pub fn decide(&self, inventory_sku: &str, item: Option<StockItem<'_>>) -> Option<usize> {
        self.rules
            .iter()
            .position(|r| r.sel.matches(inventory_sku, item))
    }

    /// How many offers a rule makes for one SKU (when nothing fails).
    pub fn offers_per_sku(&self, rule: usize) -> usize {
        self.rules[rule].offers
    }

    /// The locations a rule counts, in policy order: with targets of their own `from`, every
    /// location some target counts.
    pub fn counted(&self, rule: usize) -> &[LocationIx] {
        &self.rules[rule].backing
    }

    /// The rule's buffer, threshold and cap for one SKU: its columns' values where it reads
    /// them (a SKU without a value there has none), else its own.
    pub fn limits(
        &self,
        rule: usize,
        p: &Publish,
        inventory_sku: &str,
        item: Option<StockItem<'_>>,
    ) -> Result<RuleLimits, SimProblem> {
        let mut l = RuleLimits::of(p);
        let cols = &self.rules[rule].columns;
        if cols.iter().all(Option::is_none) {
            return Ok(l);
        }
        let names = [&p.columns.buffer, &p.columns.threshold, &p.columns.cap];
        let rule_name = &self.policy.rules[rule].name;
        for (k, (col, name)) in cols.iter().zip(names).enumerate() {
            let (Some(col), Some(name)) = (col, name) else {
                continue;
            };
            let what = ["buffer", "threshold", "cap"][k];
            // The `… column "…"` statement, else the rule's name.
            let at = || {
                let r = &self.policy.rules[rule];
                Place::at(RuleSpans::or(r.spans.columns[k], r.span))
            };
            let Some(id) = col else {
                return Err(SimProblem::BadColumnValue {
                    message: format!(
                        "rule \"{rule_name}\" reads `{what} column \"{}\"`, but no SKU of the inventory has a value in a column `{}`",
                        crate::diag::clip(name),
                        crate::diag::clip(name)
                    ),
                    help: "add the column to the inventory (its header names it exactly), or write a number: `cap 10`".into(),
                    at: at(),
                });
            };
            let raw = item.and_then(|i| i.attrs().find(|(a, _)| a == id).map(|(_, v)| v));
            let Some(raw) = raw.filter(|v| !v.trim().is_empty()) else {
                // No value for this SKU: no buffer, threshold or cap from the column.
                match k {
                    0 => l.buffer = None,
                    1 => l.threshold = None,
                    _ => l.cap = None,
                }
                continue;
            };
            let bad = || SimProblem::BadColumnValue {
                message: format!(
                    "inventory SKU `{}` has `{}` = `{}`, which rule \"{rule_name}\" reads as its {what}, but it is not {}",
                    crate::diag::clip(inventory_sku),
                    crate::diag::clip(name),
                    crate::diag::clip(raw),
                    if k == 0 {
                        "a whole number of units or a percent (`10%`)"
                    } else {
                        "a whole number of units"
                    }
                ),
                help: format!(
                    "write a whole number (`12`){} in that column, or leave it blank for no {what}",
                    if k == 0 { " or a percent (`10%`)" } else { "" }
                ),
                at: at(),
            };
            match (k, column_amount(raw, k == 0)) {
                (0, Some(a)) => l.buffer = Some(a),
                (1, Some(Amount::Units(n))) => l.threshold = Some(n),
                (2, Some(Amount::Units(n))) => l.cap = Some(n),
                _ => return Err(bad()),
            }
        }
        Ok(l)
    }

    /// The locations one target of a rule counts: its own `from`, else the rule's.
    pub fn counted_by(&self, rule: usize, target: usize) -> &[LocationIx] {
        let r = &self.rules[rule];
        r.own
            .get(target)
            .and_then(Option::as_deref)
            .unwrap_or(&r.counted)
    }

    /// The stock behind a rule's offers for a SKU (every location some target counts: step 2's
    /// pool when no target has its own `from`); None if the sum does not fit in a quantity
    /// (the inventory readers refuse such stock, so only a hand-built `Stock` gets here).
    pub fn pool(&self, rule: usize, item: Option<StockItem<'_>>) -> Option<u64> {
        sum_at(&self.rules[rule].backing, item)
    }

    /// Evaluate one SKU (`item` is None for a SKU without any inventory row) and append its
    /// offers to `out`.
    pub fn evaluate(
        &self,
        inventory_sku: &str,
        item: Option<StockItem<'_>>,
        out: &mut Vec<Produced>,
        problems: &mut Problems,
    ) -> Decision {
        self.evaluate_decided(
            inventory_sku,
            item,
            self.decide(inventory_sku, item),
            out,
            problems,
        )
    }

    /// `evaluate` with the deciding rule already known (`decide`'s result).
    pub fn evaluate_decided(
        &self,
        inventory_sku: &str,
        item: Option<StockItem<'_>>,
        decided: Option<usize>,
        out: &mut Vec<Produced>,
        problems: &mut Problems,
    ) -> Decision {
        let Some(ri) = decided else {
            return Decision::NoRule;
        };
        let rule = &self.policy.rules[ri];
        let p = match &rule.action {
            Action::Skip => return Decision::Skip(ri),
            Action::Publish(p) => p,
        };
        let missing = item.is_none();
        if missing {
            match p.on_missing {
                OnMissing::Skip => return Decision::MissingSkipped(ri),
                OnMissing::Error => {
                    problems.push(SimProblem::MissingStock {
                        inventory_sku: inventory_sku.to_string(),
                        rule: rule.name.clone(),
                        at: Place::at(RuleSpans::or(rule.spans.on_missing, rule.span)),
                    });
                    return Decision::Failed(ri);
                }
                OnMissing::Zero => {}
            }
        }
        let start = out.len();
        let mut failed = false;
        // Every pool a target may use is within the backing locations: if their sum fits, so
        // does each pool.
        let Some(backing) = self.pool(ri, item) else {
            problems.push(SimProblem::Overflow {
                message: format!(
                    "the stock of inventory SKU `{}` over the locations rule \"{}\" counts adds up to more than {}",
                    crate::diag::clip(inventory_sku),
                    rule.name,
                    u64::MAX
                ),
                at: Place::at(rule.span),
            });
            return Decision::Failed(ri);
        };
        let limits = match self.limits(ri, p, inventory_sku, item) {
            Ok(l) => l,
            Err(prob) => {
                problems.push(prob);
                return Decision::Failed(ri);
            }
        };
        for (ti, t) in p.targets.iter().enumerate() {
            let mkt = &self.policy.marketplaces[t.marketplace];
            // Within the backing stock, which fits (above): never None in practice, and never
            // a made-up quantity if it were.
            // A target without its own `from` counts the rule's locations: the backing sum
            // (no need to add the stock up again per target).
            let pool = if self.rules[ri].uniform {
                Some(backing)
            } else {
                sum_at(self.counted_by(ri, ti), item)
            };
            let Some(pool) = pool else {
                problems.push(SimProblem::Overflow {
                    message: format!(
                        "the stock of inventory SKU `{}` over the locations a target of rule \"{}\" counts adds up to more than {}",
                        crate::diag::clip(inventory_sku),
                        rule.name,
                        u64::MAX
                    ),
                    at: Place::at(t.span),
                });
                failed = true;
                continue;
            };
            let mut seller_sku = self.spare.borrow_mut().string();
            match self.seller_sku_into(&mut seller_sku, t, inventory_sku, item) {
                Ok(()) => {}
                // No seller SKU for this SKU here: no offer, listed by the run (`unmapped`).
                Err(TemplateError::NoValue { .. }) => {
                    self.spare.borrow_mut().give_string(seller_sku);
                    continue;
                }
                Err(e) => {
                    problems.push(SimProblem::BadSellerSku {
                        inventory_sku: inventory_sku.to_string(),
                        rule: rule.name.clone(),
                        template: t.sku.source.clone(),
                        column: t.sku.columns().next().map(|c| {
                            Box::new((c.to_string(), self.value(c, item).unwrap_or("").to_string()))
                        }),
                        // A template that is one column: the message quotes the value already.
                        reason: if matches!(t.sku.parts.as_slice(), [TemplatePart::Column(_)]) {
                            e.what()
                        } else {
                            e.to_string()
                        },
                        at: Place::at(RuleSpans::or(t.template_span, t.span)),
                    });
                    failed = true;
                    continue;
                }
            };
            // Kept steps go with the offer (and come back through `Spare` when its slot is
            // overwritten); a sink that keeps an offer clones them to their length.
            let mut steps = if self.keep_steps {
                self.spare.borrow_mut().steps()
            } else {
                self.scratch.take()
            };
            let made = self.channels(ri, ti, (p, &limits), t, item, pool, missing, &mut steps);
            if !self.keep_steps {
                steps.clear();
                self.scratch.set(std::mem::take(&mut steps));
            }
            let channels = match made {
                Ok(c) => c,
                Err(prob) => {
                    problems.push(prob);
                    failed = true;
                    continue;
                }
            };
            // Targets rendering the same seller SKU in one region are one offer in Amazon.
            if let Some(existing) = out[start..]
                .iter_mut()
                .find(|o| o.region == mkt.region && o.seller_sku == seller_sku)
            {
                if existing.channels != channels {
                    problems.push(SimProblem::SharedSkuConflict {
                        seller_sku,
                        inventory_sku: inventory_sku.to_string(),
                        rule: rule.name.clone(),
                        at: Place::at(RuleSpans::or(t.template_span, t.span)),
                    });
                    failed = true;
                } else {
                    if !existing.marketplaces.contains(&t.marketplace) {
                        existing.marketplaces.push(t.marketplace);
                        existing.marketplaces.sort_unstable();
                    }
                    let mut spare = self.spare.borrow_mut();
                    spare.give_string(seller_sku);
                    spare.give_channels(channels);
                    spare.give_steps(steps);
                }
                continue;
            }
            let mut marketplaces = self.spare.borrow_mut().indices();
            marketplaces.push(t.marketplace);
            out.push(Produced {
                seller_sku,
                region: mkt.region,
                marketplaces,
                channels,
                steps,
                rule: ri,
                missing,
                pack: t.pack.unwrap_or(1),
            });
        }
        if failed {
            out.truncate(start);
            Decision::Failed(ri)
        } else {
            Decision::Published(ri)
        }
    }

    /// Steps 2-10 for one target: its channels, DEFAULT first, then supply sources in policy
    /// order.
    #[allow(clippy::too_many_arguments)]
    fn channels(
        &self,
        ri: usize,
        ti: usize,
        (p, limits): (&Publish, &RuleLimits),
        t: &Target,
        item: Option<StockItem<'_>>,
        pool: u64,
        missing: bool,
        steps: &mut Vec<Step>,
    ) -> Result<Vec<ChannelQty>, SimProblem> {
        let policy = self.policy;
        let whole = |steps: &mut Vec<Step>, pool: u64, loc: Option<LocationIx>| -> u64 {
            if missing {
                steps.push(Step::new(StepKind::MissingZero, loc, None, 0));
                0
            } else if let Some(n) = p.fixed {
                steps.push(Step::new(StepKind::Fixed, loc, Some(n), n));
                n
            } else {
                let portion = match &t.ratio {
                    Some(r) => Portion::Ratio(r),
                    None => Portion::Share(t.share),
                };
                steps_2_to_6_with(p, limits, portion, t.pack, pool, loc, steps)
            }
        };
        let source_code = |loc: LocationIx| -> Result<&str, SimProblem> {
            policy.locations[loc]
                .supply_source
                .as_deref()
                .ok_or_else(|| SimProblem::NoSupplySource {
                    location: policy.locations[loc].name.clone(),
                    rule: policy.rules[ri].name.clone(),
                    at: Place::at(RuleSpans::or(t.by_location_span, t.span)),
                })
        };
        // An earlier offer's list, overwritten entry by entry (`put_channel`), then cut to `n`.
        let mut channels = self.spare.borrow_mut().channels();
        let mut n = 0;
        let avail = Some(&t.availability);
        // DEFAULT = 0 beside location quantities only keeps a location-less offer from being
        // buyable: no handling time or restock date of its own.
        if p.default_channel_zero && t.by_location.is_some() {
            put_channel(&mut channels, &mut n, DEFAULT_CHANNEL, 0, None);
        }
        match &t.by_location {
            None => {
                let q = whole(steps, pool, None);
                put_channel(&mut channels, &mut n, DEFAULT_CHANNEL, q, avail);
            }
            Some(ByLocation::PerSource) => {
                for &loc in self.counted_by(ri, ti) {
                    if policy.locations[loc].supply_source.is_none() {
                        continue;
                    }
                    let own = item.map_or(0, |i| i.available_at(loc));
                    let q = whole(steps, own, Some(loc));
                    put_channel(&mut channels, &mut n, source_code(loc)?, q, avail);
                }
            }
            Some(ByLocation::Split(parts)) => {
                let q = whole(steps, pool, None);
                let pcts: Vec<Percent> = parts.iter().map(|(_, p)| *p).collect();
                let amounts = split(q, &pcts);
                let mut by_loc: Vec<(LocationIx, u64, Percent)> = parts
                    .iter()
                    .zip(amounts)
                    .map(|(&(l, pct), a)| (l, a, pct))
                    .collect();
                for &(loc, a, pct) in &by_loc {
                    steps.push(Step::new(StepKind::Split, Some(loc), Some(pct.0 as u64), a));
                }
                by_loc.sort_by_key(|(l, _, _)| *l);
                for (loc, a, _) in by_loc {
                    put_channel(&mut channels, &mut n, source_code(loc)?, a, avail);
                }
            }
        }
        if p.default_channel_zero && t.by_location.is_some() {
            steps.push(Step::new(StepKind::DefaultZero, None, None, 0));
        }
        channels.truncate(n);
        Ok(channels)
    }
}

/// Steps 2-6 on one pool: buffer, share, threshold, cap. Never negative (unsigned, saturating).
/// Available stock over `locations`; None past u64.
fn sum_at(locations: &[LocationIx], item: Option<StockItem<'_>>) -> Option<u64> {
    item.map_or(Some(0), |i| {
        locations
            .iter()
            .try_fold(0u64, |a, &l| a.checked_add(i.available_at(l)))
    })
}

/// Step 4's part of the pool: a share, or an exact ratio part.
pub enum Portion<'a> {
    Share(Percent),
    Ratio(&'a crate::model::RatioPart),
}

pub fn steps_2_to_6(
    p: &Publish,
    share: Percent,
    pool: u64,
    loc: Option<LocationIx>,
    steps: &mut Vec<Step>,
) -> u64 {
    steps_2_to_6_part(p, Portion::Share(share), None, pool, loc, steps)
}

/// The parts of `whole` in proportion to `weights`, adding up to `whole` exactly: each part
/// rounded down, then the units left one each to the largest remainders (ties to the first
/// listed). All weights 0 (the checker refuses it): every part 0.
pub fn ratio_split(whole: u64, weights: &[u64]) -> Vec<u64> {
    let total: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    if total == 0 {
        return vec![0; weights.len()];
    }
    let mut parts: Vec<u64> = Vec::with_capacity(weights.len());
    let mut rems: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        let num = u128::from(whole) * u128::from(w);
        // At most `whole`: the weight is at most the total.
        parts.push(u64::try_from(num / total).unwrap_or(whole));
        rems.push((num % total, i));
    }
    let given: u64 = parts.iter().fold(0u64, |a, b| a.saturating_add(*b));
    // Fewer units left than parts: each remainder is below the total.
    let left = whole.saturating_sub(given);
    rems.sort_by_key(|r| std::cmp::Reverse(r.0));
    for &(_, i) in rems
        .iter()
        .take(usize::try_from(left).unwrap_or(usize::MAX))
    {
        parts[i] += 1;
    }
    parts
}

pub fn steps_2_to_6_part(
    p: &Publish,
    portion: Portion<'_>,
    pack: Option<u64>,
    pool: u64,
    loc: Option<LocationIx>,
    steps: &mut Vec<Step>,
) -> u64 {
    steps_2_to_6_with(p, &RuleLimits::of(p), portion, pack, pool, loc, steps)
}

/// Steps 2-6 with the buffer, threshold and cap of one SKU (`Engine::limits`).
#[inline]
pub fn steps_2_to_6_with(
    p: &Publish,
    limits: &RuleLimits,
    portion: Portion<'_>,
    pack: Option<u64>,
    pool: u64,
    loc: Option<LocationIx>,
    steps: &mut Vec<Step>,
) -> u64 {
    steps.push(Step::new(StepKind::Pool, loc, None, pool));
    let mut q = pool;
    if let Some(b) = limits.buffer {
        // A percent buffer rounds up: keeping back a fraction of an item more is the safe side.
        let kept = match b {
            Amount::Units(u) => u.min(q),
            Amount::Percent(pc) => pc.of(q, Round::Up).min(q),
        };
        q -= kept;
        steps.push(Step::new(StepKind::Buffer, loc, Some(kept), q));
    }
    match portion {
        Portion::Share(share) if share != Percent::HUNDRED => {
            q = share.of(q, p.round);
            steps.push(Step::new(StepKind::Share, loc, Some(share.0 as u64), q));
        }
        Portion::Share(_) => {}
        Portion::Ratio(r) => {
            q = ratio_split(q, &r.weights)
                .get(r.index)
                .copied()
                .unwrap_or(0);
            let w = r.weights.get(r.index).copied().unwrap_or(0);
            steps.push(Step::new(StepKind::Ratio, loc, Some(w), q));
        }
    }
    // Whole packs only: a part of a pack cannot be sold. Threshold and cap count packs.
    if let Some(n) = pack.filter(|&n| n > 1) {
        q /= n;
        steps.push(Step::new(StepKind::Pack, loc, Some(n), q));
    }
    if let Some(t) = limits.threshold {
        if q < t {
            q = 0;
        }
        steps.push(Step::new(StepKind::Threshold, loc, Some(t), q));
    }
    if let Some(c) = limits.cap {
        q = q.min(c);
        steps.push(Step::new(StepKind::Cap, loc, Some(c), q));
    }
    q
}

/// Divide `whole` by percentages so the parts add up exactly to `whole`: each part is rounded
/// down, then the units left over go one each to the largest remainders, ties to the part
/// listed first.
pub fn split(whole: u64, pcts: &[Percent]) -> Vec<u64> {
    if pcts.is_empty() {
        return Vec::new();
    }
    let mut parts: Vec<u64> = Vec::with_capacity(pcts.len());
    let mut rems: Vec<(u128, usize)> = Vec::with_capacity(pcts.len());
    for (i, p) in pcts.iter().enumerate() {
        let num = whole as u128 * p.0 as u128;
        parts.push(u64::try_from(num / 10_000).unwrap_or(u64::MAX));
        rems.push((num % 10_000, i));
    }
    // Each part is at most its share of `whole` and the shares add up to 100% (checked), so
    // the sum is at most `whole`; saturating only guards a policy the checker would refuse.
    let given: u64 = parts.iter().fold(0u64, |a, b| a.saturating_add(*b));
    let mut left = whole.saturating_sub(given);
    // Largest remainder first; the stable sort keeps listed order among equal remainders.
    rems.sort_by_key(|r| std::cmp::Reverse(r.0));
    let n = parts.len() as u64;
    // Only when the percentages do not add up to 100% (the checker refuses that) can more
    // than one round be needed.
    let each = left / n;
    if each > 0 {
        for p in &mut parts {
            *p += each;
        }
        left -= each * n;
    }
    for &(_, i) in rems.iter().take(left as usize) {
        parts[i] += 1;
    }
    parts
}
