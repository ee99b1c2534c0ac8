//! Renderers of the preview (`allot plan`) and of a trace (`allot explain`): a terminal table,
//! a Markdown pull-request comment, and the documented JSON ([`FORMAT_VERSION`],
//! docs/inventory.md, schemas/preview.schema.json). Renderers write to any `io::Write` so a
//! million offers are streamed, never held as text.

use std::io::{self, Write};
use std::sync::Arc;

use serde::Serialize;

use crate::model::{
    ChangeKind, ChannelQty, DEFAULT_CHANNEL, Hold, OfferChange, Percent, Policy, Summary,
};
use crate::sim::{Exposure, Preview, Provenance, Skipped, Step, StepKind, Trace, Unmapped};

/// The JSON format's version (major.minor): a new major may change or remove fields.
/// 1.4: `lead_time_to_ship_max_days` and `restock_date` on channels, when the policy sets them.
pub const FORMAT_VERSION: &str = "1.4";

/// How many skipped SKUs and exposures the table lists before "and N more".
/// The most items a list of the preview shows (held offers, skipped SKUs, exposures).
pub const LIST_LIMIT: usize = 20;

fn kind_str(k: ChangeKind) -> &'static str {
    match k {
        ChangeKind::New => "new",
        ChangeKind::Changed => "changed",
        ChangeKind::Unchanged => "unchanged",
        ChangeKind::Zeroed => "zeroed",
    }
}

/// A channel code as people know it: the location's name for a supply source.
pub fn channel_name<'a>(policy: &'a Policy, code: &'a str) -> &'a str {
    policy
        .locations
        .iter()
        .find(|l| l.supply_source.as_deref() == Some(code))
        .map_or(code, |l| l.name.as_str())
}

/// One step in words: "buffer 2 → 15".
pub fn step_text(policy: &Policy, s: &Step) -> String {
    let at = s
        .location
        .and_then(|l| policy.locations.get(l))
        .map(|l| format!(" @{}", l.name))
        .unwrap_or_default();
    let p = s.param.unwrap_or(0);
    let pct = |v: u64| Percent(u32::try_from(v).unwrap_or(u32::MAX)).to_string();
    match s.kind {
        StepKind::Pool => format!("pool{at} {}", s.value),
        StepKind::Buffer => format!("buffer{at} -{p} → {}", s.value),
        StepKind::Share => format!("share{at} {} → {}", pct(p), s.value),
        StepKind::Ratio => format!("ratio{at} {p} → {}", s.value),
        StepKind::Pack => format!("packs of {p}{at} → {}", s.value),
        StepKind::Threshold => format!("threshold{at} {p} → {}", s.value),
        StepKind::Cap => format!("cap{at} {p} → {}", s.value),
        StepKind::Fixed => format!("quantity{at} {}", s.value),
        StepKind::MissingZero => format!("missing{at} (on_missing zero) → 0"),
        StepKind::Split => format!("split{at} {} → {}", pct(p), s.value),
        StepKind::DefaultZero => "default_channel 0".to_string(),
    }
}

pub fn steps_text(policy: &Policy, steps: &[Step]) -> String {
    steps
        .iter()
        .map(|s| step_text(policy, s))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a channel writes beside its quantity, for the CURRENT → NEW cell: ` (ships in 2 d,
/// restock 2027-01-15)`; empty when the policy sets neither (the common case allocates
/// nothing).
pub fn availability_suffix(ch: &ChannelQty) -> std::borrow::Cow<'static, str> {
    let mut parts: Vec<String> = Vec::new();
    if let Some(d) = ch.lead_time_to_ship_max_days {
        parts.push(format!("ships in {d} d"));
    }
    if let Some(d) = &ch.restock_date {
        parts.push(format!("restock {d}"));
    }
    if parts.is_empty() {
        std::borrow::Cow::Borrowed("")
    } else {
        std::borrow::Cow::Owned(format!(" ({})", parts.join(", ")))
    }
}

fn current_of(c: &OfferChange, channel: &str) -> Option<u64> {
    c.current
        .as_ref()
        .and_then(|cur| cur.iter().find(|x| x.channel == channel))
        .map(|x| x.quantity)
}

/// The table's rows of one offer that changes, one per channel (callers skip offers that do
/// not: `OfferChange::is_write`).
pub fn change_rows<'a>(
    policy: &'a Policy,
    c: &'a OfferChange,
) -> impl Iterator<Item = [String; 6]> + 'a {
    c.offer.channels.iter().map(move |ch| {
        let cur = current_of(c, &ch.channel).map_or("-".to_string(), |q| q.to_string());
        [
            c.offer.seller_sku.clone(),
            c.offer.marketplaces.join(","),
            channel_name(policy, &ch.channel).to_string(),
            format!("{cur} → {}{}", ch.quantity, availability_suffix(ch)),
            kind_str(c.kind).to_string(),
            c.offer.rule.to_string(),
        ]
    })
}

/// A line without its trailing whitespace, as `str::trim_end` cuts it: ASCII spaces (the
/// padding) byte by byte, and only a line that then ends in a non-ASCII character is read as
/// text (it may end in Unicode whitespace, e.g. in a rule's name).
fn trim_end(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    // `char::is_whitespace` in ASCII: tab, line feed, vertical tab, form feed, CR, space.
    while end > 0 && matches!(line[end - 1], b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ') {
        end -= 1;
    }
    let line = &line[..end];
    match line.last() {
        Some(&b) if b >= 0x80 => match std::str::from_utf8(line) {
            Ok(t) => t.trim_end().as_bytes(),
            Err(_) => line,
        },
        _ => line,
    }
}

/// Characters in a cell (what the terminal shows), without walking ASCII text char by char.
fn chars(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// Decimal digits of a number.
fn digits(mut n: u64) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// "2 fulfilled by Amazon, 1 not listed on Amazon", or None when every offer is written.
pub fn held_counts(s: &Summary) -> Option<String> {
    let mut parts = Vec::new();
    if s.offers_fulfilled_by_amazon > 0 {
        parts.push(format!(
            "{} fulfilled by Amazon",
            s.offers_fulfilled_by_amazon
        ));
    }
    if s.offers_not_listed > 0 {
        parts.push(format!("{} not listed on Amazon", s.offers_not_listed));
    }
    if s.offers_initial_kept > 0 {
        parts.push(format!(
            "{} initial quantity already on Amazon",
            s.offers_initial_kept
        ));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Said plainly when no current listings were given.
pub const CURRENT_UNKNOWN: &str = "no current listings were given (--current), so allot cannot tell which seller SKUs exist on Amazon and every offer shows as new; a write to a seller SKU Amazon does not know creates an incomplete, unbuyable offer-only listing. Give --current FILE (an All Listings report) or --current live; `--out` refuses to save a plan without them unless --allow-new";

fn summary_lines(s: &Summary, preview: &Preview) -> Vec<String> {
    let mut offers = format!(
        "offers: {} new, {} changed, {} unchanged, {} zeroed",
        s.offers_new, s.offers_changed, s.offers_unchanged, s.offers_zeroed
    );
    if let Some(h) = held_counts(s) {
        offers.push_str(&format!("; not written: {h}"));
    }
    vec![
        offers,
        format!(
            "SKUs: {} skipped for missing stock, {} skipped by rule, {} matched no rule",
            s.skus_skipped_missing, preview.skipped_by_rule, preview.unmatched
        ),
        format!(
            "oversell exposure: {} unit{} over {} inventory SKU{}",
            s.exposure,
            if s.exposure == 1 { "" } else { "s" },
            preview.exposed,
            if preview.exposed == 1 { "" } else { "s" }
        ),
    ]
}

const HEAD: [&str; 6] = [
    "SELLER SKU",
    "MARKETPLACES",
    "CHANNEL",
    "CURRENT → NEW",
    "KIND",
    "RULE",
];
/// The widest a column grows; longer cells overflow it.
const MAX_WIDTH: usize = 44;

/// The held offers of one table section: the first [`LIST_LIMIT`] and how many in all.
struct Listed<T> {
    first: Vec<T>,
    count: usize,
}

impl<T> Default for Listed<T> {
    fn default() -> Self {
        Listed {
            first: Vec::new(),
            count: 0,
        }
    }
}

impl<T> Listed<T> {
    fn add(&mut self, item: impl FnOnce() -> T) {
        if self.first.len() < LIST_LIMIT {
            self.first.push(item());
        }
        self.count += 1;
    }

    /// Adds a later list: the first `LIST_LIMIT` of both, in order, and both counts.
    fn absorb(&mut self, later: Listed<T>) {
        let room = LIST_LIMIT.saturating_sub(self.first.len());
        self.first.extend(later.first.into_iter().take(room));
        self.count += later.count;
    }
}

/// What the table needs to know about every offer before it writes a row: the columns'
/// widths, and the offers it lists under the rows (held ones, partly written ones; the first
/// few of each). Gathered from a preview in memory, or as a run streams its offers by
/// (`sim::run_into`), so a million offers need not be held.
pub struct Measure<'p> {
    policy: &'p Policy,
    width: [usize; 6],
    any: bool,
    /// Held offers: fulfilled by Amazon, and not listed (there).
    fba: Listed<OfferChange>,
    not_listed: Listed<OfferChange>,
    /// Held: `quantity N once` already sent.
    initial: Listed<OfferChange>,
    /// Written offers left out of marketplaces where they are not listed.
    partial: Listed<(OfferChange, Box<[String]>)>,
}

impl<'p> Measure<'p> {
    pub fn new(policy: &'p Policy) -> Self {
        Measure {
            policy,
            width: HEAD.map(|h| h.chars().count()),
            any: false,
            fba: Listed::default(),
            not_listed: Listed::default(),
            initial: Listed::default(),
            partial: Listed::default(),
        }
    }

    /// One offer; `not_listed_in` is its provenance's (empty when unknown).
    pub fn see(&mut self, c: &OfferChange, not_listed_in: &[String]) {
        if !self.see_holds(c, not_listed_in) {
            return;
        }
        let o = &c.offer;
        let markets = o.marketplaces.iter().map(|m| chars(m)).sum::<usize>()
            + o.marketplaces.len().saturating_sub(1);
        for ch in &o.channels {
            // "{current} → {new}": the arrow and its spaces are 3 characters.
            let arrow = current_of(c, &ch.channel).map_or(1, digits)
                + 3
                + digits(ch.quantity)
                + chars(&availability_suffix(ch));
            self.widen([
                chars(&o.seller_sku),
                markets,
                chars(channel_name(self.policy, &ch.channel)),
                arrow,
                kind_str(c.kind).len(),
                chars(&o.rule),
            ]);
        }
    }

    /// A row's cells' widths (in characters).
    fn widen(&mut self, cells: [usize; 6]) {
        for (w, n) in self.width.iter_mut().zip(cells) {
            *w = (*w).max(n.min(MAX_WIDTH));
        }
    }

    /// All of `see` but the widths of the offer's rows; true when it has rows (it is written).
    fn see_holds(&mut self, c: &OfferChange, not_listed_in: &[String]) -> bool {
        match c.hold.as_deref() {
            Some(Hold::FulfilledByAmazon { .. }) => self.fba.add(|| c.clone()),
            Some(Hold::InitialSent) => self.initial.add(|| c.clone()),
            Some(Hold::NotListed | Hold::NotListedHere { .. }) => self.not_listed.add(|| c.clone()),
            None => {}
        }
        if !c.is_write() {
            return false;
        }
        if !not_listed_in.is_empty() {
            self.partial.add(|| (c.clone(), not_listed_in.into()));
        }
        self.any = true;
        true
    }
}

impl Measure<'_> {
    /// Adds the measure of the offers that follow this one's (a run in parts, see
    /// `sim::run_chunks`): the result is the measure of the offers of both.
    pub fn absorb(&mut self, later: Measure) {
        for (w, n) in self.width.iter_mut().zip(later.width) {
            *w = (*w).max(n);
        }
        self.any |= later.any;
        self.fba.absorb(later.fba);
        self.not_listed.absorb(later.not_listed);
        self.initial.absorb(later.initial);
        self.partial.absorb(later.partial);
    }
}

impl crate::sim::Sink for Measure<'_> {
    fn offer(&mut self, change: &OfferChange, provenance: &Provenance) {
        self.see(change, &provenance.not_listed_in);
    }
}

/// Writes the table's rows (one per channel of every offer that changes) as offers come by,
/// to the widths a [`Measure`] of the same offers found. Nothing is allocated per row.
pub struct Rows<'a, W: Write> {
    w: W,
    policy: &'a Policy,
    width: [usize; 6],
    /// Bytes: the spooled rows' cells are replayed as bytes with their widths, never decoded.
    line: Vec<u8>,
    cells: CellText,
    /// The first write error; nothing is written after it.
    err: Option<io::Error>,
}

impl<'a, W: Write> Rows<'a, W> {
    /// Writes the header (or "No offer changes." when no offer changes: then no row follows).
    pub fn start(w: W, m: &Measure<'a>) -> io::Result<Self> {
        let mut rows = Rows::resume(w, m);
        if m.any {
            for (i, h) in HEAD.iter().enumerate() {
                rows.push(i, h);
            }
            rows.end_line()?;
        } else {
            writeln!(rows.w, "No offer changes.")?;
        }
        Ok(rows)
    }

    /// Rows that follow others already written (a run in parts): no header.
    pub fn resume(w: W, m: &Measure<'a>) -> Self {
        Rows {
            w,
            policy: m.policy,
            width: m.width,
            line: Vec::new(),
            cells: CellText::default(),
            err: None,
        }
    }

    /// The writer, once every row is written (or the first write error).
    pub fn into_inner(self) -> io::Result<W> {
        match self.err {
            Some(e) => Err(e),
            None => Ok(self.w),
        }
    }

    /// One cell, padded to its column's width plus two spaces (the last is not padded).
    fn push(&mut self, i: usize, text: &str) {
        self.push_bytes(i, text.as_bytes(), chars(text));
    }

    /// `push` of a cell's text as bytes, `shown` characters wide.
    fn push_bytes(&mut self, i: usize, text: &[u8], shown: usize) {
        const SPACES: &[u8; 64] = &[b' '; 64];
        self.line.extend_from_slice(text);
        if i + 1 < self.width.len() {
            let mut pad = self.width[i].saturating_sub(shown) + 2;
            while pad > 0 {
                let n = pad.min(SPACES.len());
                self.line.extend_from_slice(&SPACES[..n]);
                pad -= n;
            }
        }
    }

    fn end_line(&mut self) -> io::Result<()> {
        let r = self
            .w
            .write_all(trim_end(&self.line))
            .and_then(|()| self.w.write_all(b"\n"));
        self.line.clear();
        r
    }

    pub fn see(&mut self, c: &OfferChange) {
        if self.err.is_some() || !c.is_write() {
            return;
        }
        let mut cells = std::mem::take(&mut self.cells);
        for ch in &c.offer.channels {
            let row = cells.of(self.policy, c, ch);
            if let Err(e) = self.row(row) {
                self.err = Some(e);
                break;
            }
        }
        self.cells = cells;
    }

    /// One row, its cells padded to the columns' widths.
    fn row(&mut self, cells: [&str; 6]) -> io::Result<()> {
        for (i, text) in cells.into_iter().enumerate() {
            self.push(i, text);
        }
        self.end_line()
    }

    /// `row` of spooled cells: (text, characters shown).
    fn row_bytes(&mut self, cells: [(&[u8], usize); 6]) -> io::Result<()> {
        for (i, (text, shown)) in cells.into_iter().enumerate() {
            self.push_bytes(i, text, shown);
        }
        self.end_line()
    }

    /// The first write error, if any.
    pub fn finish(self) -> io::Result<()> {
        self.err.map_or(Ok(()), Err)
    }
}

/// The text of one row's computed cells (the marketplaces, and the quantities' arrow), kept
/// between rows so that no row allocates.
#[derive(Default)]
struct CellText {
    markets: String,
    arrow: String,
}

impl CellText {
    /// The six cells of the row of channel `ch` of `c`, unpadded.
    fn of<'a>(
        &'a mut self,
        policy: &'a Policy,
        c: &'a OfferChange,
        ch: &'a ChannelQty,
    ) -> [&'a str; 6] {
        let o = &c.offer;
        self.markets.clear();
        for (i, m) in o.marketplaces.iter().enumerate() {
            if i > 0 {
                self.markets.push(',');
            }
            self.markets.push_str(m);
        }
        self.arrow.clear();
        let mut n = itoa::Buffer::new();
        match current_of(c, &ch.channel) {
            Some(q) => self.arrow.push_str(n.format(q)),
            None => self.arrow.push('-'),
        }
        self.arrow.push_str(" → ");
        self.arrow.push_str(n.format(ch.quantity));
        if ch.lead_time_to_ship_max_days.is_some() || ch.restock_date.is_some() {
            self.arrow.push_str(&availability_suffix(ch));
        }
        [
            &o.seller_sku,
            &self.markets,
            channel_name(policy, &ch.channel),
            &self.arrow,
            kind_str(c.kind),
            &o.rule,
        ]
    }
}

/// The table's rows made in the same pass as their [`Measure`], before the columns' widths are
/// known: kept unpadded and padded when replayed into [`Rows`]. Up to [`SPOOL_IN_MEMORY`]
/// bytes stay in memory, beyond that they go to an anonymous temporary file (removed by the
/// system however the run ends): a million offers' rows would otherwise be recomputed by a
/// second simulation pass just to pad them.
///
/// A row is spooled compactly, as what it is made of rather than its text: the seller SKU's
/// text; the marketplaces, the channel and the rule as texts of the part's own dictionary
/// (each written once per part, then by number); the current and new quantities as numbers;
/// the kind as one byte. Every part (the rows of one `into_bytes` or `drain_into`) defines the
/// texts it uses, so the replay can start at any part.
pub struct RowSpool<'p> {
    policy: &'p Policy,
    bytes: Vec<u8>,
    texts: SpoolTexts,
}

/// The texts a part of the spool has defined: each kind's keys, with their number and the
/// characters they show. Looked up by pointer first (an offer's marketplaces and rule are
/// shared by the offers of its rule), then by value.
#[derive(Default)]
struct SpoolTexts {
    markets: Vec<(Arc<[String]>, u32, usize)>,
    channels: Vec<(String, u32, usize)>,
    rules: Vec<(Arc<str>, u32, usize)>,
    next: u32,
}

/// The most texts of one kind a part defines; any more are written out in every row.
const SPOOL_TEXTS: usize = 64;

/// How one of a row's dictionary cells is spooled.
#[derive(Clone, Copy)]
enum Slot {
    /// Defined earlier in the part: its number.
    Known(u32),
    /// Defined by this row, as this number.
    New(u32),
    /// Written out in full.
    Inline,
}

impl SpoolTexts {
    fn slot<K>(
        list: &mut Vec<(K, u32, usize)>,
        next: &mut u32,
        same: impl Fn(&K) -> bool,
        key: impl FnOnce() -> K,
        shown: impl FnOnce() -> usize,
    ) -> (Slot, usize) {
        if let Some(&(_, id, n)) = list.iter().find(|(k, _, _)| same(k)) {
            return (Slot::Known(id), n);
        }
        let n = shown();
        if list.len() >= SPOOL_TEXTS {
            return (Slot::Inline, n);
        }
        let id = *next;
        *next += 1;
        list.push((key(), id, n));
        (Slot::New(id), n)
    }

    /// `slot` of a shared text: found by pointer first (an offer's marketplaces and rule are
    /// shared by the offers of its rule; `show` makes them anew for each operation).
    fn shared<T: ?Sized + PartialEq>(
        list: &mut Vec<(Arc<T>, u32, usize)>,
        next: &mut u32,
        text: &Arc<T>,
        shown: impl FnOnce() -> usize,
    ) -> (Slot, usize) {
        if let Some(&(_, id, n)) = list.iter().find(|(k, _, _)| Arc::ptr_eq(k, text)) {
            return (Slot::Known(id), n);
        }
        Self::slot(list, next, |k| **k == **text, || text.clone(), shown)
    }

    fn markets(&mut self, m: &Arc<[String]>) -> (Slot, usize) {
        Self::shared(&mut self.markets, &mut self.next, m, || {
            m.iter().map(|c| chars(c)).sum::<usize>() + m.len().saturating_sub(1)
        })
    }

    fn channel(&mut self, code: &str, name: impl FnOnce() -> usize) -> (Slot, usize) {
        Self::slot(
            &mut self.channels,
            &mut self.next,
            |k| k == code,
            || code.to_string(),
            name,
        )
    }

    fn rule(&mut self, rule: &Arc<str>) -> (Slot, usize) {
        Self::shared(&mut self.rules, &mut self.next, rule, || chars(rule))
    }
}

/// What [`RowSpool`] keeps in memory before it spills to a temporary file.
pub const SPOOL_IN_MEMORY: usize = 16 << 20;

/// A spooled cell's text: its length times two, plus one when it shows fewer characters than
/// it has bytes (then that number follows), in LEB128; then its bytes.
fn spool_text(out: &mut Vec<u8>, text: &str, shown: usize) {
    let wide = shown != text.len();
    leb128(out, (text.len() << 1) | usize::from(wide));
    if wide {
        leb128(out, shown);
    }
    out.extend_from_slice(text.as_bytes());
}

/// A dictionary cell: its number times four plus 2 when it is known, its number times four
/// plus 1 and its text when this row defines it, 0 and its text when it is written out.
fn spool_slot(out: &mut Vec<u8>, slot: &mut Slot, text: impl FnOnce() -> (String, usize)) {
    match *slot {
        Slot::Known(id) => leb128(out, ((id as usize) << 2) | 2),
        Slot::New(id) => {
            leb128(out, ((id as usize) << 2) | 1);
            let (t, n) = text();
            spool_text(out, &t, n);
            *slot = Slot::Known(id);
        }
        Slot::Inline => {
            out.push(0);
            let (t, n) = text();
            spool_text(out, &t, n);
        }
    }
}

const KINDS: [ChangeKind; 4] = [
    ChangeKind::New,
    ChangeKind::Changed,
    ChangeKind::Unchanged,
    ChangeKind::Zeroed,
];

impl<'p> RowSpool<'p> {
    pub fn new(policy: &'p Policy) -> Self {
        RowSpool {
            policy,
            bytes: Vec::new(),
            texts: SpoolTexts::default(),
        }
    }

    /// The rows of one offer (one per channel; none unless it is written), as [`Rows::see`].
    pub fn see(&mut self, c: &OfferChange) {
        if !c.is_write() {
            return;
        }
        self.encode(c, None);
    }

    /// `see`, and the offer seen by `m` ([`Measure::see`]) from the same cells: each row's
    /// widths are found once, for the measure and for the spool.
    pub fn see_measured(&mut self, c: &OfferChange, not_listed_in: &[String], m: &mut Measure) {
        if m.see_holds(c, not_listed_in) {
            self.encode(c, Some(m));
        }
    }

    fn encode(&mut self, c: &OfferChange, mut m: Option<&mut Measure>) {
        let o = &c.offer;
        let out = &mut self.bytes;
        let sku_shown = chars(&o.seller_sku);
        let (mut markets, markets_shown) = self.texts.markets(&o.marketplaces);
        let (mut rule, rule_shown) = self.texts.rule(&o.rule);
        let kind = KINDS.iter().position(|k| *k == c.kind).unwrap_or(0) as u8;
        for ch in &o.channels {
            let name = || channel_name(self.policy, &ch.channel);
            let (mut channel, channel_shown) = self.texts.channel(&ch.channel, || chars(name()));
            let current = current_of(c, &ch.channel);
            let suffix = match ch.lead_time_to_ship_max_days.is_some() || ch.restock_date.is_some()
            {
                true => availability_suffix(ch),
                false => std::borrow::Cow::Borrowed(""),
            };
            let suffix_shown = chars(&suffix);
            let arrow_shown = current.map_or(1, digits) + 3 + digits(ch.quantity) + suffix_shown;
            if let Some(m) = &mut m {
                m.widen([
                    sku_shown,
                    markets_shown,
                    channel_shown,
                    arrow_shown,
                    kind_str(c.kind).len(),
                    rule_shown,
                ]);
            }
            spool_text(out, &o.seller_sku, sku_shown);
            spool_slot(out, &mut markets, || {
                (o.marketplaces.join(","), markets_shown)
            });
            spool_slot(out, &mut channel, || (name().to_string(), channel_shown));
            // The arrow: which parts it has, then its numbers (and the rare suffix's text).
            let flags = usize::from(current.is_some()) | (usize::from(!suffix.is_empty()) << 1);
            out.push(flags as u8);
            if let Some(q) = current {
                leb128_u64(out, q);
            }
            leb128_u64(out, ch.quantity);
            if !suffix.is_empty() {
                spool_text(out, &suffix, suffix_shown);
            }
            out.push(kind);
            spool_slot(out, &mut rule, || (o.rule.to_string(), rule_shown));
        }
    }

    /// The bytes of the rows encoded so far.
    pub fn encoded(&self) -> usize {
        self.bytes.len()
    }

    /// Appends the rows encoded so far to `spool` (a part of whole rows), and starts again.
    pub fn drain_into(&mut self, spool: &mut Spool) -> io::Result<()> {
        if self.bytes.is_empty() {
            return Ok(());
        }
        spool.append(&self.bytes)?;
        self.bytes.clear();
        // The next part defines its texts again: a part is replayed on its own.
        self.texts = SpoolTexts::default();
        Ok(())
    }

    /// The encoded rows so far (a chunk's, appended in order to a [`Spool`]).
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Rows of a [`RowSpool`], gathered in run order, in memory and then in a temporary file.
pub struct Spool {
    mem: Vec<u8>,
    file: Option<io::BufWriter<std::fs::File>>,
    /// Bytes kept in memory before spilling ([`SPOOL_IN_MEMORY`]).
    limit: usize,
    /// Where each part appended ends: parts hold whole rows, so the file can be cut there
    /// and its pieces padded apart.
    ends: Vec<u64>,
    /// The bytes per piece padded on a worker when the spool is replayed from its file.
    piece: u64,
    /// Tests: no temporary file can be made.
    #[cfg(test)]
    pub(crate) no_file: bool,
}

/// The bytes of spooled rows a worker pads at a time (about four times as many padded).
const REPLAY_PIECE: u64 = 1 << 18;

impl Default for Spool {
    fn default() -> Self {
        Spool::with_limit(SPOOL_IN_MEMORY)
    }
}

impl Spool {
    /// A spool that spills beyond `limit` bytes (tests spill early).
    pub fn with_limit(limit: usize) -> Self {
        Spool {
            mem: Vec::new(),
            file: None,
            limit,
            ends: Vec::new(),
            piece: REPLAY_PIECE,
            #[cfg(test)]
            no_file: false,
        }
    }

    /// A spool that keeps `limit` bytes in memory and replays pieces of about `limit / 16`
    /// (each padded to about four times its bytes): for a reader whose memory must stay small
    /// (`allot show`).
    pub fn small(limit: usize) -> Self {
        Spool {
            piece: (limit as u64 / 16).max(1),
            ..Spool::with_limit(limit)
        }
    }

    pub fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let end = self.ends.last().copied().unwrap_or(0) + bytes.len() as u64;
        self.ends.push(end);
        if self.file.is_none() && self.mem.len() + bytes.len() <= self.limit {
            self.mem.extend_from_slice(bytes);
            return Ok(());
        }
        let file = match &mut self.file {
            Some(f) => f,
            None => {
                #[cfg(test)]
                if self.no_file {
                    return Err(io::Error::new(io::ErrorKind::NotFound, "no TMPDIR (test)"));
                }
                let mut f = io::BufWriter::with_capacity(1 << 20, tempfile::tempfile()?);
                f.write_all(&self.mem)?;
                self.mem = Vec::new();
                self.file.insert(f)
            }
        };
        file.write_all(bytes)
    }

    /// Writes every spooled row to `rows`, padded, in the order they were appended. Rows
    /// spilled to the file are padded on every core, a piece (whole parts, about
    /// [`REPLAY_PIECE`] bytes) at a time, and written here in order: padding is most of the
    /// replay, and a million offers' rows are a couple of hundred megabytes.
    pub fn replay<W: Write>(self, rows: &mut Rows<'_, W>) -> io::Result<()> {
        let Some(f) = self.file else {
            let used = replay_rows(&self.mem, rows)?;
            return match used == self.mem.len() {
                true => Ok(()),
                false => Err(spool_cut()),
            };
        };
        let mut f = f.into_inner().map_err(|e| e.into_error())?;
        io::Seek::rewind(&mut f)?;
        // Each piece's end: the first part end at least `piece` bytes past the last cut.
        let mut cuts: Vec<u64> = Vec::new();
        for &end in &self.ends {
            if end - cuts.last().copied().unwrap_or(0) >= self.piece {
                cuts.push(end);
            }
        }
        if let Some(&end) = self.ends.last()
            && cuts.last() != Some(&end)
        {
            cuts.push(end);
        }
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (width, policy) = (rows.width, rows.policy);
        std::thread::scope(|scope| {
            let (work, pieces) = crossbeam_channel::bounded::<(usize, Vec<u8>)>(workers * 2);
            let (done, padded) = crossbeam_channel::unbounded::<(usize, io::Result<Vec<u8>>)>();
            for _ in 0..workers {
                let (pieces, done) = (pieces.clone(), done.clone());
                scope.spawn(move || {
                    for (i, bytes) in pieces {
                        let mut out = Rows {
                            // A spooled row pads to about four times its bytes.
                            w: Vec::with_capacity(bytes.len() * 4),
                            policy,
                            width,
                            line: Vec::new(),
                            cells: CellText::default(),
                            err: None,
                        };
                        let r = replay_rows(&bytes, &mut out).and_then(|used| {
                            match used == bytes.len() {
                                true => Ok(out.w),
                                false => Err(spool_cut()),
                            }
                        });
                        if done.send((i, r)).is_err() {
                            return;
                        }
                    }
                });
            }
            drop((pieces, done));
            // Pieces padded out of order wait here for their turn.
            let mut waiting: std::collections::BTreeMap<usize, Vec<u8>> = Default::default();
            // Pieces written so far (all of them before this one).
            let mut next = 0;
            let mut write_ready = |waiting: &mut std::collections::BTreeMap<usize, Vec<u8>>,
                                   next: &mut usize,
                                   (i, r): (usize, io::Result<Vec<u8>>)|
             -> io::Result<()> {
                waiting.insert(i, r?);
                while let Some(bytes) = waiting.remove(next) {
                    rows.w.write_all(&bytes)?;
                    *next += 1;
                }
                Ok(())
            };
            // Pieces read and not yet written, at most: memory stays a few pieces whatever
            // the table's size, even when the output is slower than the padding.
            let ahead = workers * 3;
            let mut start = 0;
            for (i, &end) in cuts.iter().enumerate() {
                let mut bytes = vec![0; (end - start) as usize];
                io::Read::read_exact(&mut f, &mut bytes).map_err(|e| match e.kind() {
                    io::ErrorKind::UnexpectedEof => spool_cut(),
                    _ => e,
                })?;
                start = end;
                while i - next >= ahead {
                    match padded.recv() {
                        Ok(d) => write_ready(&mut waiting, &mut next, d)?,
                        Err(_) => return Err(spool_cut()),
                    }
                }
                // Workers never wait on the (unbounded) `padded`: this send only waits for
                // one of them to take a piece.
                if work.send((i, bytes)).is_err() {
                    return Err(spool_cut());
                }
            }
            drop(work);
            for d in padded {
                write_ready(&mut waiting, &mut next, d)?;
            }
            match next == cuts.len() {
                true => Ok(()),
                false => Err(spool_cut()),
            }
        })
    }
}

fn leb128(out: &mut Vec<u8>, n: usize) {
    leb128_u64(out, n as u64);
}

fn leb128_u64(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// The LEB128 number at `*p` (moved past it); None when the bytes end first, Err when it is
/// longer than a u64 can be.
fn read_leb128(bytes: &[u8], p: &mut usize) -> io::Result<Option<u64>> {
    let mut n = 0u64;
    let mut shift = 0;
    loop {
        let Some(&b) = bytes.get(*p) else {
            return Ok(None);
        };
        *p += 1;
        n |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(Some(n));
        }
        shift += 7;
        if shift > 63 {
            return Err(spool_cut());
        }
    }
}

fn spool_cut() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "the table's spooled rows are cut short",
    )
}

/// Replays the whole rows at the start of `bytes` (whole parts: see [`RowSpool`]); returns how
/// many bytes they took. Bytes that cannot be a row (a number too long, a text not yet
/// defined) are an error.
fn replay_rows<W: Write>(bytes: &[u8], rows: &mut Rows<'_, W>) -> io::Result<usize> {
    // The part's texts: each number's place in `bytes` and the characters it shows.
    let mut texts: Vec<Option<TextAt>> = Vec::new();
    let mut arrow: Vec<u8> = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let mut p = at;
        let Some(row) = replay_row(bytes, &mut p, &mut texts, &mut arrow)? else {
            break;
        };
        rows.row_bytes(row)?;
        at = p;
    }
    Ok(at)
}

/// A row's six cells: each its text and the characters it shows.
type RowCells<'b> = [(&'b [u8], usize); 6];

/// Where a spooled text lies in the bytes (start, end), and the characters it shows.
type TextAt = (usize, usize, usize);

/// One spooled row's cells (text, characters shown), read from `*p` on; None when the bytes
/// end first.
fn replay_row<'b>(
    bytes: &'b [u8],
    p: &mut usize,
    texts: &mut Vec<Option<TextAt>>,
    arrow: &'b mut Vec<u8>,
) -> io::Result<Option<RowCells<'b>>> {
    macro_rules! next {
        ($e:expr) => {
            match $e? {
                Some(v) => v,
                None => return Ok(None),
            }
        };
    }
    let sku = next!(replay_text(bytes, p));
    let markets = next!(replay_slot(bytes, p, texts));
    let channel = next!(replay_slot(bytes, p, texts));
    let Some(&flags) = bytes.get(*p) else {
        return Ok(None);
    };
    *p += 1;
    if flags > 3 {
        return Err(spool_cut());
    }
    let current = match flags & 1 {
        1 => Some(next!(read_leb128(bytes, p))),
        _ => None,
    };
    let quantity = next!(read_leb128(bytes, p));
    let suffix = match flags & 2 {
        2 => next!(replay_text(bytes, p)),
        _ => (&[][..], 0),
    };
    let Some(&kind) = bytes.get(*p) else {
        return Ok(None);
    };
    *p += 1;
    let kind = KINDS.get(usize::from(kind)).ok_or_else(spool_cut)?;
    let rule = next!(replay_slot(bytes, p, texts));
    arrow.clear();
    let mut n = itoa::Buffer::new();
    match current {
        Some(q) => arrow.extend_from_slice(n.format(q).as_bytes()),
        None => arrow.push(b'-'),
    }
    arrow.extend_from_slice(" → ".as_bytes());
    arrow.extend_from_slice(n.format(quantity).as_bytes());
    arrow.extend_from_slice(suffix.0);
    let arrow_shown = current.map_or(1, digits) + 3 + digits(quantity) + suffix.1;
    let kind = kind_str(*kind).as_bytes();
    let at = |(s, e, n): (usize, usize, usize)| (&bytes[s..e], n);
    Ok(Some([
        sku,
        at(markets),
        at(channel),
        (&arrow[..], arrow_shown),
        (kind, kind.len()),
        at(rule),
    ]))
}

/// A cell's text ([`spool_text`]) at `*p`: its bytes and the characters it shows.
fn replay_text<'b>(bytes: &'b [u8], p: &mut usize) -> io::Result<Option<(&'b [u8], usize)>> {
    Ok(replay_text_at(bytes, p)?.map(|(s, e, n)| (&bytes[s..e], n)))
}

/// [`replay_text`] as the text's place in `bytes`.
fn replay_text_at(bytes: &[u8], p: &mut usize) -> io::Result<Option<TextAt>> {
    let Some(head) = read_leb128(bytes, p)? else {
        return Ok(None);
    };
    let len = usize::try_from(head >> 1).map_err(|_| spool_cut())?;
    let shown = match head & 1 {
        0 => len,
        _ => match read_leb128(bytes, p)? {
            Some(n) => usize::try_from(n).map_err(|_| spool_cut())?,
            None => return Ok(None),
        },
    };
    let start = *p;
    let Some(end) = start.checked_add(len).filter(|&e| e <= bytes.len()) else {
        return Ok(None);
    };
    *p = end;
    Ok(Some((start, end, shown)))
}

/// A dictionary cell ([`spool_slot`]) at `*p`, defining its text in `texts` when it does.
fn replay_slot(
    bytes: &[u8],
    p: &mut usize,
    texts: &mut Vec<Option<TextAt>>,
) -> io::Result<Option<TextAt>> {
    let Some(v) = read_leb128(bytes, p)? else {
        return Ok(None);
    };
    let id = usize::try_from(v >> 2).map_err(|_| spool_cut())?;
    match v & 3 {
        0 if id == 0 => replay_text_at(bytes, p),
        1 => {
            let Some(text) = replay_text_at(bytes, p)? else {
                return Ok(None);
            };
            // A part numbers at most this many texts (their definitions need not come in
            // order: an offer's rule is numbered before its channels, written after them).
            if id >= 3 * SPOOL_TEXTS {
                return Err(spool_cut());
            }
            if texts.len() <= id {
                texts.resize(id + 1, None);
            }
            texts[id] = Some(text);
            Ok(Some(text))
        }
        2 => match texts.get(id) {
            Some(&Some(text)) => Ok(Some(text)),
            _ => Err(spool_cut()),
        },
        _ => Err(spool_cut()),
    }
}

impl<W: Write> crate::sim::Sink for Rows<'_, W> {
    fn offer(&mut self, change: &OfferChange, _: &Provenance) {
        self.see(change);
    }
}

/// The table of the offers that change (one row per channel), or "No offer changes.". Shared
/// by the preview and `allot show` (a saved plan's operations as offer changes).
pub fn changes_table<W: Write>(
    w: &mut W,
    policy: &Policy,
    changes: &[OfferChange],
) -> io::Result<()> {
    let mut m = Measure::new(policy);
    changes.iter().for_each(|c| m.see(c, &[]));
    let mut rows = Rows::start(&mut *w, &m)?;
    changes.iter().for_each(|c| rows.see(c));
    rows.finish()
}

/// The terminal table: changed offers, skipped SKUs, the largest exposures, the summary and the
/// warnings.
pub fn table<W: Write>(w: &mut W, policy: &Policy, preview: &Preview) -> io::Result<()> {
    let mut m = Measure::new(policy);
    for (c, p) in preview.changes.iter().zip(&preview.provenance) {
        m.see(c, &p.not_listed_in);
    }
    let mut rows = Rows::start(&mut *w, &m)?;
    preview.changes.iter().for_each(|c| rows.see(c));
    rows.finish()?;
    table_after_rows(w, &m, preview)
}

/// The table below its rows: held and partly written offers (from `m`), skipped SKUs, the
/// largest exposures, the summary and the warnings. With [`Measure`] and [`Rows`], the table
/// of a run whose offers were streamed rather than kept.
pub fn table_after_rows<W: Write>(w: &mut W, m: &Measure, preview: &Preview) -> io::Result<()> {
    write_held(w, m, preview)?;
    if !preview.skipped.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "Skipped for missing stock (no inventory row; nothing is written):"
        )?;
        write_skipped(w, &preview.skipped, "  ")?;
    }
    if !preview.unmapped.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "No seller SKU (the inventory column is missing or blank; nothing is written there):"
        )?;
        write_unmapped(w, &preview.unmapped, "  ")?;
    }
    if !preview.exposure.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "Oversell exposure (units published beyond the stock behind them):"
        )?;
        for e in top_exposure(&preview.exposure) {
            writeln!(
                w,
                "  {}: {} published on independent offers, {} available → exposure {}",
                e.inventory_sku, e.published, e.backing, e.exposure
            )?;
        }
        if preview.exposed > LIST_LIMIT as u64 {
            writeln!(w, "  ... and {} more", preview.exposed - LIST_LIMIT as u64)?;
        }
    }
    writeln!(w)?;
    writeln!(w, "Summary")?;
    for l in summary_lines(&preview.summary, preview) {
        writeln!(w, "  {l}")?;
    }
    if !preview.warnings.is_empty() {
        writeln!(w)?;
        for warn in &preview.warnings {
            writeln!(w, "warning: {warn}")?;
        }
    }
    Ok(())
}

/// One held offer in words: `YOGA-1-US (US; DEFAULT 10; rule "yoga pants")`.
fn held_line(policy: &Policy, c: &OfferChange, h: &Hold) -> String {
    let chans: Vec<String> = c
        .offer
        .channels
        .iter()
        .map(|x| format!("{} {}", channel_name(policy, &x.channel), x.quantity))
        .collect();
    let place = match h {
        Hold::FulfilledByAmazon { channel } => channel.clone(),
        Hold::NotListed => c.offer.marketplaces.join(","),
        Hold::NotListedHere { listed_in } => format!(
            "{}; listed only in {}",
            c.offer.marketplaces.join(","),
            listed_in.join(",")
        ),
        Hold::InitialSent => {
            let now: Vec<String> = c
                .offer
                .channels
                .iter()
                .map(|x| {
                    let q = current_of(c, &x.channel).map_or("-".to_string(), |q| q.to_string());
                    format!("{} {q}", channel_name(policy, &x.channel))
                })
                .collect();
            format!(
                "{}; on Amazon now {}",
                c.offer.marketplaces.join(","),
                now.join(", ")
            )
        }
    };
    format!(
        "{} ({place}; the policy computes {}; rule \"{}\")",
        c.offer.seller_sku,
        chans.join(", "),
        c.offer.rule
    )
}

/// The offers not written, under a heading per reason, and the marketplaces left out of
/// written offers; then the note when no current listings were given.
fn write_held<W: Write>(w: &mut W, m: &Measure, preview: &Preview) -> io::Result<()> {
    let sections = [
        (
            "Fulfilled by Amazon: not written (Amazon owns these quantities; a merchant quantity would add a second offer beside Amazon's):",
            &m.fba,
        ),
        (
            "Not listed on Amazon: not written (a write would create an incomplete, unbuyable offer-only listing; --allow-new writes them):",
            &m.not_listed,
        ),
        (
            "Initial quantity already on Amazon: not written (Amazon counts it down with each sale; `quantity N once`):",
            &m.initial,
        ),
    ];
    for (title, held) in sections {
        if held.count == 0 {
            continue;
        }
        writeln!(w)?;
        writeln!(w, "{title}")?;
        for c in &held.first {
            if let Some(h) = c.hold.as_deref() {
                writeln!(w, "  {}", held_line(m.policy, c, h))?;
            }
        }
        if held.count > LIST_LIMIT {
            writeln!(w, "  ... and {} more", held.count - LIST_LIMIT)?;
        }
    }
    if m.partial.count > 0 {
        writeln!(w)?;
        writeln!(
            w,
            "Written only where listed (the seller SKU is not listed in the other marketplaces; --allow-new creates offers there):"
        )?;
        for (c, not_listed_in) in &m.partial.first {
            writeln!(
                w,
                "  {}: written for {}, not listed in {}",
                c.offer.seller_sku,
                c.offer.marketplaces.join(", "),
                not_listed_in.join(", ")
            )?;
        }
        if m.partial.count > LIST_LIMIT {
            writeln!(w, "  ... and {} more", m.partial.count - LIST_LIMIT)?;
        }
    }
    if !preview.current_known {
        writeln!(w)?;
        writeln!(w, "note: {CURRENT_UNKNOWN}")?;
    }
    if let Some(source) = &preview.current_source {
        writeln!(w)?;
        writeln!(w, "note: current listings {source}")?;
    }
    Ok(())
}

fn write_skipped<W: Write>(w: &mut W, skipped: &[Skipped], indent: &str) -> io::Result<()> {
    for s in skipped.iter().take(LIST_LIMIT) {
        writeln!(w, "{indent}{} (rule \"{}\")", s.inventory_sku, s.rule)?;
    }
    if skipped.len() > LIST_LIMIT {
        writeln!(w, "{indent}... and {} more", skipped.len() - LIST_LIMIT)?;
    }
    Ok(())
}

fn write_unmapped<W: Write>(w: &mut W, unmapped: &[Unmapped], indent: &str) -> io::Result<()> {
    for u in unmapped.iter().take(LIST_LIMIT) {
        writeln!(
            w,
            "{indent}{} on {}: no value in column `{}` (rule \"{}\")",
            u.inventory_sku, u.marketplace, u.column, u.rule
        )?;
    }
    if unmapped.len() > LIST_LIMIT {
        writeln!(w, "{indent}... and {} more", unmapped.len() - LIST_LIMIT)?;
    }
    Ok(())
}

/// The largest exposures first (ties in inventory order).
fn top_exposure(e: &[Exposure]) -> Vec<&Exposure> {
    let mut v: Vec<&Exposure> = e.iter().collect();
    v.sort_by_key(|e| std::cmp::Reverse(e.exposure));
    v.truncate(LIST_LIMIT);
    v
}

pub fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// What the Markdown comment needs of the offers, gathered as they come by (from a preview in
/// memory, or chunk by chunk from a streamed run, `absorb`ed in order): the change table's rows
/// up to the comment's size (no more can be shown), the counts, and the first held offers. A
/// million offers are then a comment's worth of memory.
pub struct MarkdownRows<'p> {
    policy: &'p Policy,
    max_chars: usize,
    /// The first rows, end to end, `max_chars` bytes at most; `cut` when a row was left out.
    body: String,
    ends: Vec<usize>,
    cut: bool,
    changed: usize,
    total_rows: usize,
    /// Held offers: seller SKU and reason.
    held: Listed<(String, String)>,
}

impl<'p> MarkdownRows<'p> {
    pub fn new(policy: &'p Policy, max_chars: usize) -> Self {
        MarkdownRows {
            policy,
            max_chars,
            body: String::new(),
            ends: Vec::new(),
            cut: false,
            changed: 0,
            total_rows: 0,
            held: Listed::default(),
        }
    }

    pub fn see(&mut self, c: &OfferChange) {
        if let Some(h) = c.hold.as_deref() {
            self.held.add(|| (c.offer.seller_sku.clone(), h.reason()));
        }
        if !c.is_write() {
            return;
        }
        self.changed += 1;
        self.total_rows += c.offer.channels.len();
        if self.cut {
            return;
        }
        for r in change_rows(self.policy, c) {
            let line = markdown_row(&r);
            if self.body.len() + line.len() > self.max_chars {
                self.cut = true;
                return;
            }
            self.body.push_str(&line);
            self.ends.push(self.body.len());
        }
    }

    /// Adds the rows of the offers that follow this one's.
    pub fn absorb(&mut self, later: MarkdownRows) {
        self.held.absorb(later.held);
        self.changed += later.changed;
        self.total_rows += later.total_rows;
        if self.cut {
            return;
        }
        let mut start = 0;
        for end in later.ends {
            let line = &later.body[start..end];
            start = end;
            if self.body.len() + line.len() > self.max_chars {
                self.cut = true;
                return;
            }
            self.body.push_str(line);
            self.ends.push(self.body.len());
        }
        self.cut |= later.cut;
    }

    /// The collapsible section of the changes, its rows cut to `budget` characters (at most
    /// `max_chars`).
    fn section(&self, budget: usize) -> String {
        let shown = self.ends.iter().take_while(|&&e| e <= budget).count();
        let body = &self.body[..shown.checked_sub(1).map_or(0, |i| self.ends[i])];
        changes_markdown_parts(self.changed, self.total_rows, shown, body, self.max_chars)
    }
}

impl crate::sim::Sink for MarkdownRows<'_> {
    fn offer(&mut self, change: &OfferChange, _: &Provenance) {
        self.see(change);
    }
}

/// The Markdown pull-request comment: summary first, then the changes in a collapsible
/// section, cut to stay under `max_chars` characters with a note of what was cut.
pub fn markdown(policy: &Policy, preview: &Preview, max_chars: usize) -> String {
    let mut rows = MarkdownRows::new(policy, max_chars);
    preview.changes.iter().for_each(|c| rows.see(c));
    markdown_of(preview, &rows)
}

/// [`markdown`] from rows gathered while the offers streamed by.
pub fn markdown_of(preview: &Preview, rows: &MarkdownRows) -> String {
    let (policy, max_chars) = (rows.policy, rows.max_chars);
    let s = &preview.summary;
    let mut out = String::new();
    out.push_str(&format!(
        "### allot plan: `{}`\n\n",
        md_escape(&policy.name)
    ));
    out.push_str("| new | changed | unchanged | zeroed | skipped (missing stock) | exposure |\n");
    out.push_str("|---:|---:|---:|---:|---:|---:|\n");
    out.push_str(&format!(
        "| {} | {} | {} | {} | {} | {} |\n\n",
        s.offers_new,
        s.offers_changed,
        s.offers_unchanged,
        s.offers_zeroed,
        s.skus_skipped_missing,
        s.exposure
    ));
    if let Some(h) = held_counts(s) {
        out.push_str(&format!("**Not written:** {h} (listed below).\n\n"));
    }
    if !preview.current_known {
        out.push_str(&format!("> [!NOTE]\n> {}\n\n", md_escape(CURRENT_UNKNOWN)));
    }
    if let Some(source) = &preview.current_source {
        out.push_str(&format!(
            "> [!NOTE]\n> Current listings {}\n\n",
            md_escape(source)
        ));
    }
    // Warnings can be one per SKU: the first few make the point, the rest are counted.
    for warn in preview.warnings.iter().take(LIST_LIMIT) {
        out.push_str(&format!("> [!WARNING]\n> {}\n\n", md_escape(warn)));
    }
    if preview.warnings.len() > LIST_LIMIT {
        out.push_str(&format!(
            "> [!WARNING]\n> … and {} more warnings (`--format table` or `json` lists them all)\n\n",
            preview.warnings.len() - LIST_LIMIT
        ));
    }
    // Room kept for the closing tags and the note about what was cut.
    let budget = max_chars.saturating_sub(out.len() + 600);
    out.push_str(&rows.section(budget));
    let held = &rows.held;
    if held.count > 0 {
        out.push_str(&format!(
            "\n<details><summary>{} offer{} not written</summary>\n\n",
            held.count,
            if held.count == 1 { "" } else { "s" }
        ));
        for (sku, reason) in &held.first {
            out.push_str(&format!("- `{}`: {}\n", md_escape(sku), md_escape(reason)));
        }
        if held.count > LIST_LIMIT {
            out.push_str(&format!("- … and {} more\n", held.count - LIST_LIMIT));
        }
        out.push_str("\n</details>\n");
    }
    if !preview.skipped.is_empty() {
        out.push_str(&format!(
            "\n<details><summary>{} SKU{} skipped for missing stock</summary>\n\n",
            preview.skipped.len(),
            if preview.skipped.len() == 1 { "" } else { "s" }
        ));
        for sk in preview.skipped.iter().take(LIST_LIMIT) {
            out.push_str(&format!(
                "- `{}` (rule \"{}\")\n",
                md_escape(&sk.inventory_sku),
                md_escape(&sk.rule)
            ));
        }
        if preview.skipped.len() > LIST_LIMIT {
            out.push_str(&format!(
                "- … and {} more\n",
                preview.skipped.len() - LIST_LIMIT
            ));
        }
        out.push_str("\n</details>\n");
    }
    if !preview.unmapped.is_empty() {
        out.push_str(&format!(
            "\n<details><summary>{} offer{} without a seller SKU (empty inventory column)</summary>\n\n",
            preview.unmapped.len(),
            if preview.unmapped.len() == 1 { "" } else { "s" }
        ));
        for u in preview.unmapped.iter().take(LIST_LIMIT) {
            out.push_str(&format!(
                "- `{}` on {}: no value in column `{}` (rule \"{}\")\n",
                md_escape(&u.inventory_sku),
                md_escape(&u.marketplace),
                md_escape(&u.column),
                md_escape(&u.rule)
            ));
        }
        if preview.unmapped.len() > LIST_LIMIT {
            out.push_str(&format!(
                "- … and {} more\n",
                preview.unmapped.len() - LIST_LIMIT
            ));
        }
        out.push_str("\n</details>\n");
    }
    if !preview.exposure.is_empty() {
        out.push_str("\n<details><summary>Oversell exposure</summary>\n\n| inventory SKU | published | available | exposure |\n|---|---:|---:|---:|\n");
        for e in top_exposure(&preview.exposure) {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                md_escape(&e.inventory_sku),
                e.published,
                e.backing,
                e.exposure
            ));
        }
        if preview.exposed > LIST_LIMIT as u64 {
            out.push_str(&format!(
                "\n_… and {} more SKUs._\n",
                preview.exposed - LIST_LIMIT as u64
            ));
        }
        out.push_str("\n</details>\n");
    }
    out
}

/// One row of the Markdown change table.
pub fn markdown_row(r: &[String; 6]) -> String {
    format!(
        "| `{}` | {} | {} | {} | {} | {} |\n",
        md_escape(&r[0]),
        r[1],
        md_escape(&r[2]),
        r[3],
        r[4],
        md_escape(&r[5])
    )
}

/// The Markdown change table around rows already cut to the budget: `changed` offers with
/// `total_rows` rows, of which the first `shown` are in `body`.
pub fn changes_markdown_parts(
    changed: usize,
    total_rows: usize,
    shown: usize,
    body: &str,
    max_chars: usize,
) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "<details><summary>{} offer{} change{} ({} channel row{})</summary>\n\n",
        changed,
        if changed == 1 { "" } else { "s" },
        if changed == 1 { "s" } else { "" },
        total_rows,
        if total_rows == 1 { "" } else { "s" }
    ));
    if total_rows > 0 {
        out.push_str("| seller SKU | marketplaces | channel | current → new | kind | rule |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        out.push_str(body);
    }
    if shown < total_rows {
        out.push_str(&format!(
            "\n_{} of {} rows not shown (the comment is capped at {} characters); run `allot plan` for all._\n",
            total_rows - shown,
            total_rows,
            max_chars
        ));
    }
    out.push_str("\n</details>\n");
    out
}

// ---- JSON (FORMAT_VERSION, documented in docs/inventory.md and schemas/preview.schema.json) ----

#[derive(Serialize)]
struct JsonPreview<'a> {
    // What the run counts comes after `changes`: everything before them is known before the
    // run, so one policy's preview is written in a single run, as its offers are made. (The
    // order of keys is not part of the format: this order came in without a version change.)
    format_version: &'static str,
    policy: &'a str,
    seller_id: &'a str,
    /// False when no current listings were given (every offer shows as new).
    current_known: bool,
    /// How the current listings were read live, and how fresh they are (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    current_source: Option<&'a str>,
    #[serde(serialize_with = "ser_changes")]
    changes: (&'a Policy, &'a Preview),
    summary: &'a Summary,
    skus_skipped_by_rule: u64,
    skus_unmatched: u64,
    has_changes: bool,
    /// Written offers whose listed marketplaces the current listings do not say.
    listed_where_unknown: u64,
    skipped: &'a [Skipped],
    /// Targets without a seller SKU for a SKU (`{column:NAME}` empty): only when there are any.
    #[serde(skip_serializing_if = "<[Unmapped]>::is_empty")]
    unmapped: &'a [Unmapped],
    exposure: &'a [Exposure],
    warnings: &'a [String],
}

#[derive(Serialize)]
struct JsonChannel<'a> {
    channel: &'a str,
    /// The location's name when the channel is a supply source.
    location: Option<&'a str>,
    current: Option<u64>,
    new: u64,
    /// Since 1.4, only when the policy sets it.
    #[serde(skip_serializing_if = "Option::is_none")]
    lead_time_to_ship_max_days: Option<u32>,
    /// Since 1.4, only when the policy sets it.
    #[serde(skip_serializing_if = "Option::is_none")]
    restock_date: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonStep<'a> {
    step: StepKind,
    location: Option<&'a str>,
    param: Option<u64>,
    value: u64,
}

#[derive(Serialize)]
struct JsonProvenance<'a> {
    rule: &'a str,
    rule_index: usize,
    missing: bool,
    steps: Vec<JsonStep<'a>>,
}

#[derive(Serialize)]
struct JsonChange<'a> {
    seller_sku: &'a str,
    region: &'a str,
    marketplaces: &'a [String],
    marketplace_ids: &'a [String],
    inventory_sku: &'a str,
    kind: ChangeKind,
    /// Whether applying the plan writes this offer (changed and not held).
    written: bool,
    /// Why the offer is not written (`fulfilled_by_amazon`, `not_listed`, `not_listed_here`,
    /// `initial_quantity_sent`).
    hold: Option<&'a Hold>,
    /// Marketplaces the policy names where the seller SKU is not listed (not written there).
    not_listed_in: &'a [String],
    channels: Vec<JsonChannel<'a>>,
    /// What buyers will see after the write (every marketplace the SKU is listed in).
    shown: &'a [ChannelQty],
    also_shown_in: &'a [String],
    provenance: JsonProvenance<'a>,
}

fn json_change<'a>(policy: &'a Policy, c: &'a OfferChange, p: &'a Provenance) -> JsonChange<'a> {
    JsonChange {
        seller_sku: &c.offer.seller_sku,
        region: c.offer.region.as_str(),
        marketplaces: &c.offer.marketplaces,
        marketplace_ids: &c.offer.marketplace_ids,
        inventory_sku: &c.offer.inventory_sku,
        kind: c.kind,
        written: c.is_write(),
        hold: c.hold.as_deref(),
        not_listed_in: &p.not_listed_in,
        channels: c
            .offer
            .channels
            .iter()
            .map(|ch| JsonChannel {
                channel: &ch.channel,
                location: policy
                    .locations
                    .iter()
                    .find(|l| l.supply_source.as_deref() == Some(ch.channel.as_str()))
                    .map(|l| l.name.as_str()),
                current: current_of(c, &ch.channel),
                new: ch.quantity,
                lead_time_to_ship_max_days: ch.lead_time_to_ship_max_days,
                restock_date: ch.restock_date.as_deref(),
            })
            .collect(),
        shown: match (c.hold.as_deref(), c.current.as_deref()) {
            // Nothing is written: buyers keep seeing Amazon's count.
            (Some(Hold::InitialSent), Some(cur)) => cur,
            _ => p.shown.as_deref().unwrap_or(&c.offer.channels),
        },
        also_shown_in: &p.also_shown_in,
        provenance: JsonProvenance {
            rule: &c.offer.rule,
            rule_index: p.rule,
            missing: p.missing,
            steps: p
                .steps
                .iter()
                .map(|s| JsonStep {
                    step: s.kind,
                    location: s
                        .location
                        .and_then(|l| policy.locations.get(l))
                        .map(|l| l.name.as_str()),
                    param: s.param,
                    value: s.value,
                })
                .collect(),
        },
    }
}

fn ser_changes<S: serde::Serializer>(v: &(&Policy, &Preview), s: S) -> Result<S::Ok, S::Error> {
    let (policy, preview) = *v;
    s.collect_seq(
        preview
            .changes
            .iter()
            .zip(&preview.provenance)
            .map(|(c, p)| json_change(policy, c, p)),
    )
}

/// The JSON preview up to its `changes` (`"changes": [`), for a run that streams them
/// ([`JsonRows`]), as [`json`] prints it. It holds nothing a run counts: only whether the
/// current listings are known and where they come from, so it is written before any run.
pub fn json_head(
    policy: &Policy,
    current_known: bool,
    current_source: Option<&str>,
) -> io::Result<String> {
    let before = Preview {
        current_known,
        current_source: current_source.map(str::to_string),
        ..Preview::default()
    };
    let text =
        serde_json::to_string_pretty(&json_doc(policy, &before)).map_err(io::Error::other)?;
    // `changes` is printed as `[]`: the rows go between the brackets.
    let at = text
        .find("\"changes\": []")
        .ok_or_else(|| io::Error::other("the JSON preview has no `changes`"))?
        + "\"changes\": [".len();
    Ok(text[..at].to_string())
}

/// The JSON preview after its `changes` (after [`JsonRows::close`]), written as [`json`]
/// prints it (a test holds the two equal): what the run counted, then its lists. Written
/// straight to `w`, and the exposures (one per over-published SKU, a few hundred thousand
/// in a large catalogue) by hand, as the entries are: through serde they were most of the
/// single-threaded end of a 1M-SKU preview.
pub fn write_json_tail<W: Write + ?Sized>(w: &mut W, preview: &Preview) -> io::Result<()> {
    let mut w = io::BufWriter::with_capacity(64 * 1024, w);
    w.write_all(b",\n  \"summary\": ")?;
    nested(&mut w, &preview.summary)?;
    write!(
        w,
        ",\n  \"skus_skipped_by_rule\": {},\n  \"skus_unmatched\": {},\n  \"has_changes\": {},\n  \"listed_where_unknown\": {}",
        preview.skipped_by_rule,
        preview.unmatched,
        preview.has_changes(),
        preview.listed_where_unknown
    )?;
    w.write_all(b",\n  \"skipped\": ")?;
    nested(&mut w, &preview.skipped)?;
    if !preview.unmapped.is_empty() {
        w.write_all(b",\n  \"unmapped\": ")?;
        nested(&mut w, &preview.unmapped)?;
    }
    w.write_all(b",\n  \"exposure\": ")?;
    write_exposure(&mut w, &preview.exposure)?;
    w.write_all(b",\n  \"warnings\": ")?;
    nested(&mut w, &preview.warnings)?;
    w.write_all(b"\n}\n")?;
    w.flush()
}

/// A value serde writes one level into the document (a key's value in the preview).
fn nested<W: Write + ?Sized, T: Serialize + ?Sized>(w: &mut W, value: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(w, Nested::at(1));
    value.serialize(&mut ser).map_err(io::Error::other)
}

/// The `exposure` array one level in, as serde's pretty printer writes `[Exposure]` there.
fn write_exposure<W: Write + ?Sized>(w: &mut W, list: &[Exposure]) -> io::Result<()> {
    if list.is_empty() {
        return w.write_all(b"[]");
    }
    let mut b = Vec::with_capacity(64 * 1024);
    for (i, e) in list.iter().enumerate() {
        b.extend_from_slice(if i == 0 {
            b"[\n    {\n      \"inventory_sku\": "
        } else {
            b",\n    {\n      \"inventory_sku\": "
        });
        if plain(e.inventory_sku.as_bytes()) {
            b.push(b'"');
            b.extend_from_slice(e.inventory_sku.as_bytes());
            b.push(b'"');
        } else {
            json_str_vec(&mut b, &e.inventory_sku);
        }
        let mut n = itoa::Buffer::new();
        b.extend_from_slice(b",\n      \"published\": ");
        b.extend_from_slice(n.format(e.published).as_bytes());
        b.extend_from_slice(b",\n      \"backing\": ");
        b.extend_from_slice(n.format(e.backing).as_bytes());
        b.extend_from_slice(b",\n      \"exposure\": ");
        b.extend_from_slice(n.format(e.exposure).as_bytes());
        b.extend_from_slice(b"\n    }");
        if b.len() >= 60 * 1024 {
            w.write_all(&b)?;
            b.clear();
        }
    }
    b.extend_from_slice(b"\n  ]");
    w.write_all(&b)
}

/// Offers as the JSON preview's `changes` entries, as they come by: each is `,`, a new line and
/// the entry indented as [`json`] indents it. Chunks written one after another, the first
/// comma dropped (see [`JsonRows::write_all`]), between [`json_head`] and [`write_json_tail`], make
/// [`json`]'s text.
pub struct JsonRows {
    parts: EntryParts,
    /// The entries' bytes are `out[..used]`; the rest is room already initialised.
    out: Vec<u8>,
    used: usize,
    err: Option<io::Error>,
}

/// One entry of the JSON preview's `changes`, as serde_json's pretty printer writes
/// [`json_change`] at depth 2: the keys in that order, two spaces a level. `e` holds the
/// policy's names already written as JSON.
fn write_entry(
    out: &mut Cursor,
    e: &mut EntryParts,
    c: &OfferChange,
    p: &Provenance,
) -> io::Result<()> {
    let o = &c.offer;
    out.put(b"{\n      \"seller_sku\": ");
    out.str(&o.seller_sku);
    out.put(e.markets(o.region.as_str(), &o.marketplaces, &o.marketplace_ids));
    out.put(b",\n      \"inventory_sku\": ");
    out.str(&o.inventory_sku);
    out.put(match (c.kind, c.is_write()) {
        (ChangeKind::New, true) => b",\n      \"kind\": \"new\",\n      \"written\": true",
        (ChangeKind::New, false) => b",\n      \"kind\": \"new\",\n      \"written\": false",
        (ChangeKind::Changed, true) => b",\n      \"kind\": \"changed\",\n      \"written\": true",
        (ChangeKind::Changed, false) => {
            b",\n      \"kind\": \"changed\",\n      \"written\": false"
        }
        (ChangeKind::Unchanged, true) => {
            b",\n      \"kind\": \"unchanged\",\n      \"written\": true"
        }
        (ChangeKind::Unchanged, false) => {
            b",\n      \"kind\": \"unchanged\",\n      \"written\": false"
        }
        (ChangeKind::Zeroed, true) => b",\n      \"kind\": \"zeroed\",\n      \"written\": true",
        (ChangeKind::Zeroed, false) => b",\n      \"kind\": \"zeroed\",\n      \"written\": false",
    });
    match (c.hold.as_deref(), p.not_listed_in.is_empty()) {
        // Nearly every offer: three keys at once.
        (None, true) => {
            out.put(b",\n      \"hold\": null,\n      \"not_listed_in\": [],\n      \"channels\": ")
        }
        (hold, _) => {
            out.put(b",\n      \"hold\": ");
            match hold {
                None => out.put(b"null"),
                // Rare, and an internally tagged enum: serde writes it.
                Some(h) => {
                    let mut text = Vec::new();
                    let mut ser = serde_json::Serializer::with_formatter(&mut text, Nested::at(3));
                    h.serialize(&mut ser).map_err(io::Error::other)?;
                    out.put(&text);
                }
            }
            out.put(b",\n      \"not_listed_in\": ");
            out.strs(&p.not_listed_in, 3);
            out.put(b",\n      \"channels\": ");
        }
    }
    // Each item's closing is merged with what follows it: the next item's opening, or the
    // array's end and the next key (fewer, longer writes).
    if o.channels.is_empty() {
        out.put(b"[],\n      \"shown\": ");
    }
    for (i, ch) in o.channels.iter().enumerate() {
        out.put(if i == 0 {
            b"[\n        {\n          \"channel\": "
        } else {
            b"\n        },\n        {\n          \"channel\": "
        });
        e.channel(out, &ch.channel);
        match current_of(c, &ch.channel) {
            None => out.put(b",\n          \"current\": null,\n          \"new\": "),
            Some(n) => {
                out.put(b",\n          \"current\": ");
                out.u64(n);
                out.put(b",\n          \"new\": ");
            }
        }
        out.u64(ch.quantity);
        out.availability(ch, 5);
    }
    if !o.channels.is_empty() {
        out.put(b"\n        }\n      ],\n      \"shown\": ");
    }
    let shown = match (c.hold.as_deref(), c.current.as_deref()) {
        // Nothing is written: buyers keep seeing Amazon's count.
        (Some(Hold::InitialSent), Some(cur)) => cur,
        _ => p.shown.as_deref().unwrap_or(&o.channels),
    };
    if shown.is_empty() {
        out.put(b"[]");
    }
    for (i, ch) in shown.iter().enumerate() {
        match (i, ch.channel == DEFAULT_CHANNEL) {
            (0, true) => out.put(
                b"[\n        {\n          \"channel\": \"DEFAULT\",\n          \"quantity\": ",
            ),
            (_, true) => out.put(
                b"\n        },\n        {\n          \"channel\": \"DEFAULT\",\n          \"quantity\": ",
            ),
            (i, false) => {
                out.put(if i == 0 {
                    b"[\n        {\n          \"channel\": "
                } else {
                    b"\n        },\n        {\n          \"channel\": "
                });
                out.str(&ch.channel);
                out.put(b",\n          \"quantity\": ");
            }
        }
        out.u64(ch.quantity);
        out.availability(ch, 5);
    }
    if !shown.is_empty() {
        out.put(b"\n        }\n      ]");
    }
    if p.also_shown_in.is_empty() {
        out.put(b",\n      \"also_shown_in\": []");
    } else {
        out.put(b",\n      \"also_shown_in\": ");
        out.strs(&p.also_shown_in, 3);
    }
    out.put(e.rule(&o.rule, p.rule));
    out.put(if p.missing {
        b",\n        \"missing\": true,\n        \"steps\": "
    } else {
        b",\n        \"missing\": false,\n        \"steps\": "
    });
    if p.steps.is_empty() {
        out.put(b"[]");
    }
    for (i, st) in p.steps.iter().enumerate() {
        out.put(if i == 0 {
            b"[\n          {"
        } else {
            b"\n          },\n          {"
        });
        out.put(e.step(st));
        out.opt_u64(st.param);
        out.put(b",\n            \"value\": ");
        out.u64(st.value);
    }
    out.put(if p.steps.is_empty() {
        b"\n      }\n    }"
    } else {
        b"\n          }\n        ]\n      }\n    }"
    });
    Ok(())
}

/// What the JSON entries of one policy's offers repeat, written once: its locations' names
/// (by index and by supply source), a step's keys, the `region`, `marketplaces` and
/// `marketplace_ids` of each set of marketplaces its rules publish to, and each rule's
/// `provenance` head (offers of one rule share their lists and name, see `Offer`).
struct EntryParts {
    /// Each location's name as JSON, by index into `Policy::locations`.
    locations: Vec<Vec<u8>>,
    /// Supply source code and the index of its location.
    sources: Vec<(String, usize)>,
    /// A step's keys up to its `param`, by kind and location (`step_slot`), made when first
    /// needed.
    steps: Vec<Vec<u8>>,
    /// The `DEFAULT` channel's name and location.
    default: Vec<u8>,
    /// Each supply source's name and location, parallel to `sources`.
    source_texts: Vec<Vec<u8>>,
    /// The offers' shared marketplace lists with their region, and the three keys as written
    /// (a few: one per publish target); beyond `MARKET_SETS`, written each time.
    markets: Vec<MarketSet>,
    /// Each rule's `provenance` head, as offers come by; beyond `MARKET_SETS`, written each
    /// time.
    rules: Vec<RuleText>,
    scratch: Vec<u8>,
}

struct MarketSet {
    region: &'static str,
    codes: Arc<[String]>,
    ids: Arc<[String]>,
    /// `,` and the `region`, `marketplaces` and `marketplace_ids` keys with their values.
    text: Vec<u8>,
}

/// The `provenance` key up to its `rule_index`, for one rule (offers of a rule share its
/// name, see `Offer`).
struct RuleText {
    name: Arc<str>,
    index: usize,
    text: Vec<u8>,
}

const MARKET_SETS: usize = 64;

/// How many kinds of step there are (`StepKind`'s last, plus one).
const STEP_KINDS: usize = StepKind::DefaultZero as usize + 1;

impl EntryParts {
    fn new(policy: &Policy) -> Self {
        let locations: Vec<Vec<u8>> = policy
            .locations
            .iter()
            .map(|l| {
                let mut b = Vec::new();
                json_str_vec(&mut b, &l.name);
                b
            })
            .collect();
        let sources: Vec<(String, usize)> = policy
            .locations
            .iter()
            .enumerate()
            .filter_map(|(i, l)| Some((l.supply_source.clone()?, i)))
            .collect();
        let mut parts = EntryParts {
            steps: vec![Vec::new(); STEP_KINDS * (locations.len() + 1)],
            locations,
            sources,
            default: Vec::new(),
            source_texts: Vec::new(),
            markets: Vec::new(),
            rules: Vec::new(),
            scratch: Vec::new(),
        };
        parts.default = parts.channel_text(DEFAULT_CHANNEL);
        parts.source_texts = (parts.sources.iter())
            .map(|(s, _)| parts.channel_text(s))
            .collect();
        parts
    }

    /// A channel's name and `location` key as the entry writes them.
    fn channel_text(&self, channel: &str) -> Vec<u8> {
        let mut b = Vec::new();
        json_str_vec(&mut b, channel);
        b.extend_from_slice(b",\n          \"location\": ");
        b.extend_from_slice(self.location_of(channel));
        b
    }

    /// A channel's name and `location` key: DEFAULT's and the supply sources' are written
    /// already.
    fn channel(&self, out: &mut Cursor, channel: &str) {
        if channel == DEFAULT_CHANNEL {
            return out.put(&self.default);
        }
        match self.sources.iter().position(|(s, _)| s == channel) {
            Some(i) => out.put(&self.source_texts[i]),
            None => out.put(&self.channel_text(channel)),
        }
    }

    /// A step's text from after its `{` up to its `param`'s value.
    fn step(&mut self, st: &Step) -> &[u8] {
        // Out of range reads as no location, as `location` writes it (`null`).
        let loc = st.location.filter(|&l| l < self.locations.len());
        let slot = st.kind as usize * (self.locations.len() + 1) + loc.map_or(0, |l| l + 1);
        if slot >= self.steps.len() {
            // A kind added after `STEP_KINDS`' last: its slots come after every other's.
            self.steps.resize(slot + 1, Vec::new());
        }
        if self.steps[slot].is_empty() {
            let mut b = Vec::new();
            b.extend_from_slice(b"\n            \"step\": \"");
            b.extend_from_slice(st.kind.as_str().as_bytes());
            b.extend_from_slice(b"\",\n            \"location\": ");
            b.extend_from_slice(self.location(loc));
            b.extend_from_slice(b",\n            \"param\": ");
            self.steps[slot] = b;
        }
        &self.steps[slot]
    }

    fn location(&self, index: Option<usize>) -> &[u8] {
        index
            .and_then(|i| self.locations.get(i))
            .map_or(b"null", |b| b.as_slice())
    }

    /// The location whose supply source is `channel` (the first, as the table finds it).
    fn location_of(&self, channel: &str) -> &[u8] {
        let found = self.sources.iter().find(|(s, _)| s == channel);
        self.location(found.map(|&(_, i)| i))
    }

    /// `,` and the `marketplaces` and `marketplace_ids` keys with their arrays.
    fn markets(
        &mut self,
        region: &'static str,
        codes: &Arc<[String]>,
        ids: &Arc<[String]>,
    ) -> &[u8] {
        let at = self.markets.iter().position(|m| {
            m.region == region && Arc::ptr_eq(&m.codes, codes) && Arc::ptr_eq(&m.ids, ids)
        });
        if let Some(at) = at {
            return &self.markets[at].text;
        }
        let mut text = Vec::new();
        let mut room = 256;
        loop {
            text.resize(room, 0);
            let mut out = Cursor::new(&mut text);
            out.put(b",\n      \"region\": ");
            out.str(region);
            out.put(b",\n      \"marketplaces\": ");
            out.strs(codes, 3);
            out.put(b",\n      \"marketplace_ids\": ");
            out.strs(ids, 3);
            if let Some(n) = out.done() {
                text.truncate(n);
                break;
            }
            room *= 2;
        }
        if self.markets.len() < MARKET_SETS {
            self.markets.push(MarketSet {
                region,
                codes: codes.clone(),
                ids: ids.clone(),
                text,
            });
            return &self.markets[self.markets.len() - 1].text;
        }
        self.scratch = text;
        &self.scratch
    }

    /// `,` and the `provenance` key up to its `rule_index`'s value.
    fn rule(&mut self, name: &Arc<str>, index: usize) -> &[u8] {
        let at = (self.rules.iter()).position(|r| r.index == index && Arc::ptr_eq(&r.name, name));
        if let Some(at) = at {
            return &self.rules[at].text;
        }
        let mut text = Vec::new();
        text.extend_from_slice(b",\n      \"provenance\": {\n        \"rule\": ");
        json_str_vec(&mut text, name);
        text.extend_from_slice(b",\n        \"rule_index\": ");
        text.extend_from_slice(itoa::Buffer::new().format(index).as_bytes());
        if self.rules.len() < MARKET_SETS {
            self.rules.push(RuleText {
                name: name.clone(),
                index,
                text,
            });
            return &self.rules[self.rules.len() - 1].text;
        }
        self.scratch = text;
        &self.scratch
    }
}

/// Writes into an initialised slice, its position a local the compiler keeps in a register:
/// pushing onto a `Vec` stores and reloads its length at every one of an entry's hundred
/// small writes, and that chain was most of the entry's time. A write that does not fit is
/// dropped and marks the cursor full ([`Cursor::done`] is then `None`): the caller makes the
/// whole entry again with more room.
struct Cursor<'b> {
    buf: &'b mut [u8],
    pos: usize,
    full: bool,
}

impl<'b> Cursor<'b> {
    fn new(buf: &'b mut [u8]) -> Self {
        Cursor {
            buf,
            pos: 0,
            full: false,
        }
    }

    /// The bytes written, or `None` when one did not fit.
    fn done(self) -> Option<usize> {
        (!self.full).then_some(self.pos)
    }

    #[inline(always)]
    fn put(&mut self, b: &[u8]) {
        match self.buf.get_mut(self.pos..self.pos + b.len()) {
            Some(to) => {
                copy(to, b);
                self.pos += b.len();
            }
            None => self.full = true,
        }
    }

    /// A string as serde_json writes it: as it is between quotes when nothing in it needs an
    /// escape (nearly always), else through serde_json.
    fn str(&mut self, s: &str) {
        if plain(s.as_bytes()) {
            let n = s.len();
            match self.buf.get_mut(self.pos..self.pos + n + 2) {
                Some(to) => {
                    to[0] = b'"';
                    copy(&mut to[1..=n], s.as_bytes());
                    to[n + 1] = b'"';
                    self.pos += n + 2;
                }
                None => self.full = true,
            }
        } else {
            let mut text = Vec::new();
            json_str_vec(&mut text, s);
            self.put(&text);
        }
    }

    /// An array of strings whose brackets are `depth` levels in (its items one more).
    fn strs(&mut self, items: &[String], depth: usize) {
        const SPACES: &[u8; 32] = &[b' '; 32];
        if items.is_empty() {
            self.put(b"[]");
            return;
        }
        let item = &SPACES[..(2 * depth + 2).min(SPACES.len())];
        for (i, s) in items.iter().enumerate() {
            self.put(if i == 0 { b"[\n" } else { b",\n" });
            self.put(item);
            self.str(s);
        }
        self.put(b"\n");
        self.put(&SPACES[..(2 * depth).min(SPACES.len())]);
        self.put(b"]");
    }

    /// A number; quantities are nearly always under 1000, written without a copy.
    #[inline(always)]
    fn u64(&mut self, n: u64) {
        let d = |k: u64| b'0' + (k % 10) as u8;
        match n {
            0..10 => self.put(&[d(n)]),
            10..100 => self.put(&[d(n / 10), d(n)]),
            100..1000 => self.put(&[d(n / 100), d(n / 10), d(n)]),
            _ => self.put(itoa::Buffer::new().format(n).as_bytes()),
        }
    }

    fn opt_u64(&mut self, n: Option<u64>) {
        match n {
            Some(n) => self.u64(n),
            None => self.put(b"null"),
        }
    }

    /// A channel's handling time and restock date, each only when set (as `ChannelQty` and
    /// `JsonChannel` skip them), its keys `depth` levels in.
    fn availability(&mut self, ch: &ChannelQty, depth: usize) {
        const SPACES: &[u8; 32] = &[b' '; 32];
        let indent = &SPACES[..(2 * depth).min(SPACES.len())];
        if let Some(d) = ch.lead_time_to_ship_max_days {
            self.put(b",\n");
            self.put(indent);
            self.put(b"\"lead_time_to_ship_max_days\": ");
            self.u64(u64::from(d));
        }
        if let Some(d) = &ch.restock_date {
            self.put(b",\n");
            self.put(indent);
            self.put(b"\"restock_date\": ");
            self.str(d);
        }
    }
}

/// `to.copy_from_slice(from)`, `to` as long as `from` (both callers cut it so), without a
/// call to `memcpy` for the short pieces of an entry (SKUs, names, parts written once): two
/// overlapping copies of a fixed size, which compile to a few moves. Longer ones go to
/// `memcpy`.
#[inline(always)]
fn copy(to: &mut [u8], from: &[u8]) {
    match from.len() {
        // The parts written once (a step's keys, the marketplaces) are 40 to 120 bytes.
        64..=128 => ends::<64>(to, from),
        32..64 => ends::<32>(to, from),
        16..32 => ends::<16>(to, from),
        8..16 => ends::<8>(to, from),
        4..8 => ends::<4>(to, from),
        _ => to.copy_from_slice(from),
    }
}

/// The first and the last `K` bytes of `from` (at least `K`, at most `2K` long): all of it.
#[inline(always)]
fn ends<const K: usize>(to: &mut [u8], from: &[u8]) {
    let n = from.len();
    to[..K].copy_from_slice(&from[..K]);
    to[n - K..].copy_from_slice(&from[n - K..]);
}

/// Whether JSON writes `s` as it is between quotes: no control character, `"` or `\`.
/// Eight bytes at a time (a SKU is one to three words): each test below is nonzero exactly
/// when some byte of the word matches, and a UTF-8 byte (0x80 and up) matches none.
fn plain(s: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let any_bad = |x: u64| {
        let quote = x ^ (ONES * u64::from(b'"'));
        let slash = x ^ (ONES * u64::from(b'\\'));
        (x.wrapping_sub(ONES * 0x20) & !x
            | quote.wrapping_sub(ONES) & !quote
            | slash.wrapping_sub(ONES) & !slash)
            & HIGH
            != 0
    };
    let word = |b: &[u8]| b.try_into().map_or(0, u64::from_ne_bytes);
    if s.len() < 8 {
        return s.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\');
    }
    let mut words = s.chunks_exact(8);
    // The last word overlaps the one before: no byte is missed and none is read twice wrong.
    !(words.any(|w| any_bad(word(w))) || any_bad(word(&s[s.len() - 8..])))
}

/// A string as serde_json writes it.
fn json_str_vec(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec does not fail, and a str always serializes.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Room for most entries (about 1.2 kB): a larger one is made again with twice the room.
const ENTRY_ROOM: usize = 4096;

/// The least a buffer grows by, so that it is zeroed seldom.
const GROW: usize = 64 * 1024;

/// One entry (after `,` and a new line) appended to `out` at `used`: `out`'s bytes past
/// `used` are room already initialised, grown when short.
fn append_entry(
    out: &mut Vec<u8>,
    used: &mut usize,
    e: &mut EntryParts,
    c: &OfferChange,
    p: &Provenance,
) -> io::Result<()> {
    let mut room = ENTRY_ROOM;
    loop {
        if out.len() - *used < room {
            // Zeroed once: the buffer keeps its initialised length from chunk to chunk.
            out.resize(*used + room.max(GROW), 0);
        }
        let mut cur = Cursor::new(&mut out[*used..]);
        cur.put(b",\n    ");
        write_entry(&mut cur, e, c, p)?;
        if let Some(n) = cur.done() {
            *used += n;
            return Ok(());
        }
        room *= 2;
    }
}

/// serde_json's pretty layout (two spaces a level) for a value nested `depth` levels into a
/// document: the value's first line is where the caller put it, its other lines indented
/// as `to_writer_pretty` of the whole document would indent them.
struct Nested {
    depth: usize,
    has_value: bool,
}

impl Nested {
    fn at(depth: usize) -> Self {
        Nested {
            depth,
            has_value: false,
        }
    }

    fn indent<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        (0..self.depth).try_for_each(|_| w.write_all(b"  "))
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            self.indent(w)?;
        }
        w.write_all(bracket)
    }

    fn item<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(w)
    }
}

impl serde_json::ser::Formatter for Nested {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

impl JsonRows {
    pub fn new(policy: &Policy) -> Self {
        Self::with_buffer(policy, Vec::new())
    }

    /// Entries written into `out` (its bytes overwritten): a buffer an earlier chunk's text
    /// used.
    pub fn with_buffer(policy: &Policy, out: Vec<u8>) -> Self {
        JsonRows {
            parts: EntryParts::new(policy),
            out,
            used: 0,
            err: None,
        }
    }

    pub fn see(&mut self, c: &OfferChange, p: &Provenance) {
        if self.err.is_some() {
            return;
        }
        // Written in place at the depth of `changes` (two levels in), by hand: serde's
        // generic path (a call per key and bracket, a Vec per entry's channels and steps) was
        // half a worker's time. The layout is serde's pretty one, `[json]`'s; a test holds
        // the two equal.
        if let Err(e) = append_entry(&mut self.out, &mut self.used, &mut self.parts, c, p) {
            self.err = Some(e);
        }
    }

    /// The entries' text, or the first error.
    pub fn finish(mut self) -> io::Result<Vec<u8>> {
        self.out.truncate(self.used);
        self.err.map_or(Ok(self.out), Err)
    }

    /// Writes chunks of entries (from [`JsonRows::finish`]) in order; `any` says whether an
    /// entry was written before (the first entry has no comma).
    pub fn write_all<W: Write + ?Sized>(w: &mut W, chunk: &[u8], any: &mut bool) -> io::Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        w.write_all(if *any { chunk } else { &chunk[1..] })?;
        *any = true;
        Ok(())
    }

    /// What closes `changes`: `]` right after `[` when empty, else on its own line.
    pub fn close(any: bool) -> &'static str {
        if any { "\n  ]" } else { "]" }
    }
}

fn json_doc<'a>(policy: &'a Policy, preview: &'a Preview) -> JsonPreview<'a> {
    JsonPreview {
        format_version: FORMAT_VERSION,
        policy: &policy.name,
        seller_id: &policy.seller_id,
        current_known: preview.current_known,
        current_source: preview.current_source.as_deref(),
        changes: (policy, preview),
        summary: &preview.summary,
        skus_skipped_by_rule: preview.skipped_by_rule,
        skus_unmatched: preview.unmatched,
        has_changes: preview.has_changes(),
        listed_where_unknown: preview.listed_where_unknown,
        skipped: &preview.skipped,
        unmapped: &preview.unmapped,
        exposure: &preview.exposure,
        warnings: &preview.warnings,
    }
}

pub fn json<W: Write>(w: &mut W, policy: &Policy, preview: &Preview) -> io::Result<()> {
    let doc = json_doc(policy, preview);
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(io::Error::other)?;
    writeln!(w)
}

// ---- explain ----

#[derive(Serialize)]
struct JsonTrace<'a> {
    format_version: &'static str,
    #[serde(flatten)]
    trace: &'a Trace,
    #[serde(serialize_with = "ser_trace_offers")]
    offers_detail: (&'a Policy, &'a Trace),
}

fn ser_trace_offers<S: serde::Serializer>(v: &(&Policy, &Trace), s: S) -> Result<S::Ok, S::Error> {
    let (policy, t) = *v;
    s.collect_seq(t.offers.iter().map(|(c, p)| json_change(policy, c, p)))
}

/// A trace as JSON.
pub fn trace_json<W: Write>(w: &mut W, policy: &Policy, t: &Trace) -> io::Result<()> {
    let doc = JsonTrace {
        format_version: FORMAT_VERSION,
        trace: t,
        offers_detail: (policy, t),
    };
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(io::Error::other)?;
    writeln!(w)
}

/// A trace in words: stock, rules tried, steps, offers and what Amazon will show.
pub fn trace_text<W: Write>(w: &mut W, policy: &Policy, t: &Trace) -> io::Result<()> {
    if let Some(src) = &t.seller_sku {
        writeln!(
            w,
            "seller SKU {} comes from inventory SKU {} (rule \"{}\", {} as \"{}\")",
            src.seller_sku, src.inventory_sku, src.rule, src.marketplace, src.template
        )?;
    }
    writeln!(w, "SKU {}", t.sku)?;
    if t.in_inventory {
        writeln!(
            w,
            "  stock (available = on_hand - reserved, never below 0):"
        )?;
        for s in &t.stock {
            writeln!(
                w,
                "    {:<12} on_hand {:>6}  reserved {:>6}  available {:>6}{}",
                s.location,
                s.on_hand,
                s.reserved,
                s.available,
                if s.counted {
                    ""
                } else {
                    "  (not counted by the rule)"
                }
            )?;
        }
        if t.stock.is_empty() {
            writeln!(w, "    (no rows)")?;
        }
        if !t.tags.is_empty() {
            writeln!(w, "  tags: {}", t.tags.join(", "))?;
        }
        for (k, v) in &t.attributes {
            writeln!(w, "  {k} = \"{v}\"")?;
        }
    } else {
        writeln!(w, "  not in the inventory (missing stock)")?;
    }
    writeln!(w, "rules tried, in order:")?;
    for (name, matched) in &t.tried {
        writeln!(
            w,
            "  {} \"{name}\"",
            if *matched {
                "✓ matched "
            } else {
                "✗ no match"
            }
        )?;
    }
    if t.decided.is_none() {
        writeln!(w, "  (no rule matched)")?;
    }
    let rule = t
        .offers
        .first()
        .and_then(|(_, p)| policy.rules.get(p.rule))
        .and_then(|r| match &r.action {
            crate::model::Action::Publish(p) => Some(p),
            crate::model::Action::Skip => None,
        });
    // Targets with their own `from`: each offer has its own pool, said with the offer.
    let per_target = rule.is_some_and(|p| p.targets.iter().any(|t| t.stock_from.is_some()));
    if let Some(p) = t.pool {
        if per_target {
            writeln!(
                w,
                "stock over every location the offers count: {p} (each offer counts its own: below)"
            )?;
        } else {
            writeln!(w, "pool over the counted locations: {p}")?;
        }
    }
    writeln!(w, "outcome: {}", t.outcome)?;
    for (c, p) in &t.offers {
        writeln!(w)?;
        writeln!(
            w,
            "offer {} ({}: {}) [{}]",
            c.offer.seller_sku,
            c.offer.region,
            c.offer.marketplaces.join(", "),
            match c.hold.as_deref() {
                Some(Hold::FulfilledByAmazon { .. }) => "fulfilled by Amazon",
                Some(Hold::InitialSent) => "initial quantity on Amazon",
                Some(Hold::NotListed | Hold::NotListedHere { .. }) => "not listed",
                None => kind_str(c.kind),
            }
        )?;
        if let (true, Some(r)) = (per_target, rule) {
            let from = r
                .targets
                .iter()
                .find(|t| {
                    c.offer
                        .marketplaces
                        .first()
                        .is_some_and(|m| policy.marketplaces[t.marketplace].code == *m)
                })
                .and_then(|t| t.stock_from.as_ref().or(r.stock_from.as_ref()));
            let names: Vec<&str> = match from {
                Some(ids) => ids
                    .iter()
                    .map(|&l| policy.locations[l].name.as_str())
                    .collect(),
                None => policy.locations.iter().map(|l| l.name.as_str()).collect(),
            };
            writeln!(w, "  pool counts: {}", names.join(", "))?;
        }
        writeln!(w, "  steps: {}", steps_text(policy, &p.steps))?;
        let fba = matches!(c.hold.as_deref(), Some(Hold::FulfilledByAmazon { .. }));
        let initial = matches!(c.hold.as_deref(), Some(Hold::InitialSent));
        for ch in &c.offer.channels {
            // An FBA offer's quantity is Amazon's: there is no merchant quantity to compare.
            let missing = if fba { "Amazon's" } else { "not listed" };
            let cur = current_of(c, &ch.channel).map_or(missing.to_string(), |q| q.to_string());
            if initial {
                // Kept, not replaced: an arrow would read as a write.
                writeln!(
                    w,
                    "  {:<10} {} kept (initial quantity {})",
                    channel_name(policy, &ch.channel),
                    cur,
                    ch.quantity
                )?;
                continue;
            }
            writeln!(
                w,
                "  {:<10} {} → {}{}",
                channel_name(policy, &ch.channel),
                cur,
                ch.quantity,
                availability_suffix(ch)
            )?;
        }
        if let Some(h) = c.hold.as_deref() {
            writeln!(w, "  not written: {}", h.reason())?;
            continue;
        }
        if !p.not_listed_in.is_empty() {
            writeln!(
                w,
                "  not written for {}: the seller SKU is not listed there (--allow-new creates offers there)",
                p.not_listed_in.join(", ")
            )?;
        }
        let shown = p.shown.as_deref().unwrap_or(&c.offer.channels);
        let shown_txt: Vec<String> = shown
            .iter()
            .map(|x| format!("{} {}", channel_name(policy, &x.channel), x.quantity))
            .collect();
        let mut mkts = c.offer.marketplaces.to_vec();
        mkts.extend(p.also_shown_in.iter().cloned());
        writeln!(
            w,
            "  Amazon will show in {}: {}",
            mkts.join(", "),
            shown_txt.join(", ")
        )?;
    }
    if let Some(e) = &t.exposure {
        writeln!(w)?;
        writeln!(
            w,
            "oversell exposure: {} published on independent offers, {} available → {}",
            e.published, e.backing, e.exposure
        )?;
    }
    for warn in &t.warnings {
        writeln!(w, "warning: {warn}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::testkit::{AUSTIN, NEWARK, acme_na, stock};

    /// A value written by `Nested` at depth 2 is the pretty-printed value with every line but
    /// the first indented by four spaces, as the entries of `changes` were written before.
    #[test]
    fn nested_layout_is_pretty_printing_indented() {
        let v = serde_json::json!({
            "a": [], "b": {}, "c": [1, [2, []], {"d": null, "e": "x\ny"}],
            "f": {"g": [{"h": true}]}, "i": "é"
        });
        for value in [
            v.clone(),
            serde_json::json!([]),
            serde_json::json!(3),
            v["c"].clone(),
        ] {
            let pretty = serde_json::to_string_pretty(&value).unwrap();
            let expected = pretty.replace('\n', "\n    ");
            let mut out = Vec::new();
            let mut ser = serde_json::Serializer::with_formatter(&mut out, Nested::at(2));
            value.serialize(&mut ser).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
    }

    /// `JsonRows` writes each entry by hand exactly as serde writes `json_change` (what `json`
    /// prints): holds of every kind, escapes, supply-source channels, availability, empty
    /// lists, steps of every kind.
    #[test]
    fn entries_written_by_hand_are_what_serde_writes() {
        use ChangeKind::*;
        let mut policy = acme_na();
        policy.locations[0].supply_source = Some("SRC-NEWARK".into());
        let st = stock(&[("MUG-1", NEWARK, 9, 0), ("YOGA-1", AUSTIN, 4, 0)]);
        let preview = crate::sim::run_with(&policy, &st, None, Default::default())
            .expect("the example policy runs");
        let mut cases: Vec<(OfferChange, Provenance)> = preview
            .changes
            .iter()
            .cloned()
            .zip(preview.provenance.iter().cloned())
            .collect();
        let holds = [
            None,
            Some(Hold::FulfilledByAmazon {
                channel: "AMAZON_NA".into(),
            }),
            Some(Hold::NotListed),
            Some(Hold::NotListedHere {
                listed_in: vec!["CA".into(), "MX".into()],
            }),
            Some(Hold::InitialSent),
        ];
        let steps = [
            StepKind::Pool,
            StepKind::Buffer,
            StepKind::Share,
            StepKind::Ratio,
            StepKind::Pack,
            StepKind::Threshold,
            StepKind::Cap,
            StepKind::Fixed,
            StepKind::MissingZero,
            StepKind::Split,
            StepKind::DefaultZero,
        ];
        for (i, hold) in holds.into_iter().enumerate() {
            let (mut c, mut p) = cases[0].clone();
            c.hold = hold.map(Box::new);
            c.kind = [New, Changed, Unchanged, Zeroed, New][i];
            c.current = (i % 2 == 0).then(|| {
                vec![
                    ChannelQty::new("DEFAULT", 3),
                    ChannelQty::new("SRC-NEWARK", 1),
                ]
            });
            c.offer.seller_sku =
                ["A\"B", "tab\there", "back\\slash", "é\u{1}\u{7f}", "plain"][i].into();
            c.offer.rule = std::sync::Arc::from(["rule \"q\"", "r\n", "r", "ü", "r"][i]);
            let mut later = ChannelQty::new("SRC-NEWARK", 2);
            later.lead_time_to_ship_max_days = (i != 2).then_some(3);
            later.restock_date = (i != 1).then(|| "2027-01-15".into());
            later.quantity = [2, 10, 999, 1000, 12_345][i];
            let first = ChannelQty::new("DEFAULT", [0, 9, 99, 100, u64::MAX][i]);
            c.offer.channels = vec![first, later.clone()];
            if i == 4 {
                // Longer than the room an entry is first given: it is made again.
                c.offer.inventory_sku = "Ä\"".repeat(GROW);
            }
            // DEFAULT after another channel too (its text is written whole).
            p.shown = (i == 1).then(|| {
                vec![
                    later,
                    ChannelQty::new("OTHER", 5),
                    ChannelQty::new("DEFAULT", 1),
                ]
            });
            p.also_shown_in = if i % 2 == 1 {
                vec!["CA".into()]
            } else {
                vec![]
            };
            p.not_listed_in = if i == 2 {
                vec!["MX".into(), "BR".into()].into()
            } else {
                Box::default()
            };
            p.missing = i == 4;
            p.steps = steps
                .iter()
                .enumerate()
                .map(|(j, &kind)| Step {
                    kind,
                    location: (j % 3 == 0).then_some(j % 2),
                    param: (j % 2 == 0).then_some(j as u64 * 100),
                    value: j as u64,
                })
                .collect();
            if i == 3 {
                c.offer.channels.clear();
                c.offer.marketplaces = Vec::new().into();
                p.steps.clear();
                p.shown = Some(Vec::new());
            }
            cases.push((c, p));
        }
        // One for all entries: the later ones reuse what the first wrote.
        let mut parts = EntryParts::new(&policy);
        for (c, p) in &cases {
            let mut want = Vec::new();
            let mut ser = serde_json::Serializer::with_formatter(&mut want, Nested::at(2));
            json_change(&policy, c, p).serialize(&mut ser).unwrap();
            // From a buffer too small for any entry: each is made again until it fits.
            let mut got = vec![b'x'; 7];
            let mut used = 3;
            append_entry(&mut got, &mut used, &mut parts, c, p).unwrap();
            got.truncate(used);
            assert_eq!(got.drain(..3 + 6).collect::<Vec<_>>(), b"xxx,\n    ");
            assert_eq!(
                String::from_utf8(got).unwrap(),
                String::from_utf8(want).unwrap()
            );
        }
        for k in steps {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        for k in [New, Changed, Unchanged, Zeroed] {
            assert_eq!(serde_json::to_value(k).unwrap(), kind_str(k));
        }
    }

    /// The head, the entries and the tail written apart are the whole document `json`
    /// prints: with every list of the tail empty, and with each holding items (escapes, the
    /// keys serde skips when empty or zero).
    #[test]
    fn json_written_in_parts_is_the_whole_document() {
        use crate::sim::{Skipped, Unmapped};
        let policy = acme_na();
        let st = stock(&[("MUG-1", NEWARK, 9, 0), ("YOGA-1", AUSTIN, 4, 0)]);
        let full = crate::sim::run_with(&policy, &st, None, Default::default())
            .expect("the example policy runs");
        let mut busy = full.clone();
        busy.current_known = true;
        busy.current_source = Some("read live \"now\"".into());
        busy.summary.offers_fulfilled_by_amazon = 2;
        busy.summary.exposure = 12_345;
        busy.unmatched = 3;
        busy.skipped_by_rule = 4;
        busy.listed_where_unknown = 5;
        busy.skipped = vec![Skipped {
            inventory_sku: "A\\B".into(),
            rule: "mugs".into(),
            reason: "no stock row",
        }];
        busy.unmapped = vec![Unmapped {
            inventory_sku: "C".into(),
            rule: "r".into(),
            marketplace: "US".into(),
            column: "asin".into(),
        }];
        busy.exposure = ["plain", "tab\there", "é\"q", "a-sku-longer-than-sixteen"]
            .iter()
            .enumerate()
            .map(|(i, sku)| Exposure {
                inventory_sku: sku.to_string(),
                published: 10 + i as u64,
                backing: i as u64,
                exposure: u64::MAX - i as u64,
            })
            .collect();
        busy.warnings = vec!["one".into(), "two \"quoted\"\n".into()];
        let empty = Preview::default();
        for preview in [&empty, &full, &busy] {
            let mut want = Vec::new();
            json(&mut want, &policy, preview).unwrap();
            let head = json_head(
                &policy,
                preview.current_known,
                preview.current_source.as_deref(),
            )
            .unwrap();
            let mut got = head.into_bytes();
            let mut rows = JsonRows::new(&policy);
            for (c, p) in preview.changes.iter().zip(&preview.provenance) {
                rows.see(c, p);
            }
            let mut any = false;
            JsonRows::write_all(&mut got, &rows.finish().unwrap(), &mut any).unwrap();
            got.extend_from_slice(JsonRows::close(any).as_bytes());
            write_json_tail(&mut got, preview).unwrap();
            assert_eq!(
                String::from_utf8(got).unwrap(),
                String::from_utf8(want).unwrap()
            );
        }
    }

    /// The copy by overlapping pieces copies every length whole.
    #[test]
    fn copies_of_every_length_are_whole() {
        let from: Vec<u8> = (0..300u32).map(|i| (i * 7 % 251) as u8).collect();
        for n in 0..=from.len() {
            let mut to = vec![0u8; n];
            copy(&mut to, &from[..n]);
            assert_eq!(to, &from[..n]);
        }
    }

    /// The word-at-a-time test finds every byte JSON escapes, in every position, and no other.
    #[test]
    fn plain_strings_are_the_ones_serde_leaves_unescaped() {
        for len in 0..=24 {
            for at in 0..len.max(1) {
                for b in 0..=255u8 {
                    let mut s = vec![b'a'; len];
                    if len > 0 {
                        s[at] = b;
                    }
                    let needs = s.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
                    assert_eq!(plain(&s), !needs, "{s:?}");
                }
            }
        }
        for s in ["", "é", "ü-日本", "x\u{7f}y", "\u{1f600}12345678"] {
            let escaped = serde_json::to_string(s).unwrap();
            assert_eq!(plain(s.as_bytes()), escaped.len() == s.len() + 2, "{s}");
        }
    }

    /// Trailing whitespace is cut from a row's bytes as from its text.
    #[test]
    fn trimmed_lines_are_what_str_trim_end_keeps() {
        for line in [
            "",
            "   ",
            "a  ",
            "a\u{3000}",
            "a\u{3000}  ",
            "a\u{85} ",
            "é",
            "é ",
            "a\t\x0b\x0c\r\n ",
            "a\x1f ",
            "a\u{A0}",
            " a",
            "x\u{2029}\u{2028} \t",
        ] {
            assert_eq!(
                trim_end(line.as_bytes()),
                line.trim_end().as_bytes(),
                "{line:?}"
            );
        }
    }

    /// Offers as varied as a spool sees: current quantities, an availability suffix, every
    /// kind, and rules and marketplace lists that are not shared (as `allot show` reads them
    /// from a plan), more of them than a part numbers.
    fn varied(changes: &mut [OfferChange]) {
        for (i, c) in changes.iter_mut().enumerate() {
            c.kind = [
                ChangeKind::New,
                ChangeKind::Changed,
                ChangeKind::Zeroed,
                ChangeKind::Changed,
            ][i % 4];
            if i % 3 == 0 {
                c.current = Some(vec![ChannelQty::new(DEFAULT_CHANNEL, i as u64 % 1000)]);
            }
            if i % 5 == 0 {
                c.offer.rule = Arc::from(format!("rule {}", i % 97));
                let mut m = c.offer.marketplaces.to_vec();
                m.push(format!("X{}", i % 83));
                c.offer.marketplaces = m.into();
            }
            if i % 7 == 0
                && let Some(ch) = c.offer.channels.first_mut()
            {
                ch.lead_time_to_ship_max_days = Some(3);
                ch.restock_date = (i % 2 == 0).then(|| "2027-01-15".to_string());
            }
        }
    }

    /// A spool's bytes cut short or changed are refused with an error, never a panic, and
    /// never rows from a text no part defined.
    #[test]
    fn a_damaged_spool_is_an_error() {
        let policy = acme_na();
        let skus: Vec<String> = (0..12).map(|i| format!("MUG-{i}")).collect();
        let rows: Vec<(&str, usize, u64, u64)> =
            skus.iter().map(|s| (s.as_str(), NEWARK, 9, 0)).collect();
        let mut preview = crate::sim::run_with(&policy, &stock(&rows), None, Default::default())
            .expect("the example policy runs");
        varied(&mut preview.changes);
        let mut r = RowSpool::new(&policy);
        preview.changes.iter().for_each(|c| r.see(c));
        let bytes = r.into_bytes();
        let m = Measure::new(&policy);
        let replay = |bytes: &[u8]| {
            let mut spool = Spool::default();
            spool.append(bytes).unwrap();
            let mut rows = Rows::resume(Vec::new(), &m);
            spool.replay(&mut rows).map(|()| rows.into_inner().unwrap())
        };
        let whole = replay(&bytes).unwrap();
        let rows = whole.iter().filter(|&&b| b == b'\n').count();
        // Cut between rows, the rows before it are whole; cut anywhere else, it is refused.
        let mut cut_between = 0;
        for cut in 1..bytes.len() {
            match replay(&bytes[..cut]) {
                Ok(part) => {
                    assert!(whole.starts_with(&part), "cut at {cut}");
                    cut_between += 1;
                }
                Err(e) => assert_eq!(e.kind(), io::ErrorKind::InvalidData, "cut at {cut}"),
            }
        }
        assert!(rows > 4 && cut_between < rows, "{cut_between} of {rows}");
        // Every byte changed to every value: an error or rows, never a panic.
        let mut refused = 0;
        for at in 0..bytes.len() {
            for b in [0u8, 1, 2, 3, 0x7f, 0x80, 0xff] {
                let mut changed = bytes.clone();
                changed[at] = b;
                refused += usize::from(replay(&changed).is_err());
            }
        }
        assert!(refused > 0);
        // A text used before any part defined it.
        let mut early = Vec::new();
        spool_text(&mut early, "SKU-1", 5);
        leb128(&mut early, (7 << 2) | 2);
        assert!(replay(&early).is_err());
    }

    /// The table written in one pass (spooled, padded on replay) is byte for byte the table
    /// written from the same offers by `Rows`, whether the spool stays in memory or spills to
    /// its temporary file, however the chunks cut it.
    #[test]
    fn spooled_rows_replay_as_rows_write_them() {
        let policy = acme_na();
        let mut rows: Vec<(String, usize, u64, u64)> = (0..3000u64)
            .flat_map(|i| {
                let sku = format!("{}-{i}", ["YOGA", "MUG", "SHOE", "CANDLE"][i as usize % 4]);
                [
                    (sku.clone(), NEWARK, i * 7 % 50, 1),
                    (sku, AUSTIN, i % 3, 0),
                ]
            })
            .collect();
        // Characters wider than a byte, and a seller SKU longer than the widest column.
        rows.push(("MUG-café-ü".into(), NEWARK, 9, 0));
        rows.push((format!("YOGA-{}", "L".repeat(30)), NEWARK, 30, 0));
        let refs: Vec<(&str, usize, u64, u64)> = rows
            .iter()
            .map(|(s, l, a, b)| (s.as_str(), *l, *a, *b))
            .collect();
        let mut preview = crate::sim::run_with(&policy, &stock(&refs), None, Default::default())
            .expect("the example policy runs");
        varied(&mut preview.changes);
        let mut m = Measure::new(&policy);
        preview.changes.iter().for_each(|c| m.see(c, &[]));
        let mut direct = Rows::start(Vec::new(), &m).unwrap();
        preview.changes.iter().for_each(|c| direct.see(c));
        let expected = direct.into_inner().unwrap();
        assert!(expected.len() > 100_000, "enough rows to cross blocks");
        let text = String::from_utf8_lossy(&expected);
        for part in [
            "restock 2027-01-15",
            "rule 96",
            "7 → ",
            "changed",
            "zeroed",
            ",X82",
        ] {
            assert!(text.contains(part), "{part}");
        }
        // Measured from the spooled cells: the same widths, and the same table.
        let mut measured = Measure::new(&policy);
        let mut r = RowSpool::new(&policy);
        preview
            .changes
            .iter()
            .for_each(|c| r.see_measured(c, &[], &mut measured));
        assert_eq!(measured.width, m.width);
        let mut spool = Spool::default();
        spool.append(&r.into_bytes()).unwrap();
        let mut replayed = Rows::start(Vec::new(), &measured).unwrap();
        spool.replay(&mut replayed).unwrap();
        assert!(replayed.into_inner().unwrap() == expected);
        for (limit, cut, piece) in [
            (usize::MAX, 1000, REPLAY_PIECE),
            (0, 7, REPLAY_PIECE),
            (4096, 1, 1),
            (0, 100_000, REPLAY_PIECE),
            (0, 13, 5000),
            (0, 1, 0),
        ] {
            let mut spool = Spool::with_limit(limit);
            spool.piece = piece;
            for part in preview.changes.chunks(cut) {
                let mut r = RowSpool::new(&policy);
                part.iter().for_each(|c| r.see(c));
                spool.append(&r.into_bytes()).unwrap();
            }
            let mut replayed = Rows::start(Vec::new(), &m).unwrap();
            spool.replay(&mut replayed).unwrap();
            let got = replayed.into_inner().unwrap();
            assert!(
                got == expected,
                "limit {limit}, chunks of {cut}, pieces of {piece}: the tables differ"
            );
        }
    }
}
