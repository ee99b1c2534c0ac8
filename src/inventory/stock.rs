//! `Stock`, laid out for a million SKUs and more: every SKU string in one arena, an index of u32
//! ids hashed through the arena, and each SKU's rows, tags and attributes as short chains in
//! shared vectors, so a SKU costs a few dozen bytes and no allocation of its own.

use std::fmt;
use std::hash::Hasher;

use hashbrown::HashTable;
use rustc_hash::{FxHashMap, FxHasher};

use crate::model::{LocationIx, TestStock};

/// The end of a chain.
const NONE: u32 = u32::MAX;

/// A string's 32-bit hash. The tables keep it beside each id, so growing a table rehashes
/// without reading the strings again (a cache miss each, for a million SKUs).
fn hash32(s: &str) -> u32 {
    let mut h = FxHasher::default();
    h.write(s.as_bytes());
    // Mixed (splitmix64's finaliser): Fx alone leaves SKUs that differ in a digit or two
    // (`LAMP-0000001`, `LAMP-0000002`) close together, and the table probed long runs.
    finalise(h.finish())
}

fn finalise(x: u64) -> u32 {
    let x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((x ^ (x >> 31)) >> 32) as u32
}

/// A SKU's hash: of its lower case, so SKUs that differ only in letter case (`YOGA-1`,
/// `yoga-1`) share a probe sequence and are found as the second one is added
/// ([`Stock::case_twins`]), where a pass over every SKU afterwards would be a sort of a million
/// keys on one core. Their exact strings still tell them apart: they stay two SKUs.
pub(super) fn hash_folded(s: &str) -> u32 {
    if s.is_ascii() {
        fold_hash(s.as_bytes())
    } else {
        // Rare; `to_lowercase` may turn a non-ASCII letter into ASCII (U+212A KELVIN SIGN
        // into `k`), so it is its lower case that is hashed, as for ASCII.
        fold_hash(s.to_lowercase().as_bytes())
    }
}

/// The hash of `b` with its ASCII capitals lowered, eight bytes at a time (bytes past 0x7F
/// are kept as they are): it runs on every row, on the thread that reads the file.
fn fold_hash(b: &[u8]) -> u32 {
    let mix =
        |h: u64, w: u64| (h.rotate_left(26) ^ lower_word(w)).wrapping_mul(0xf135_7aea_2e62_a9c5);
    let mut h = b.len() as u64;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = mix(h, u64::from_le_bytes(w));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = mix(h, u64::from_le_bytes(w));
    }
    finalise(h)
}

/// Eight bytes with their ASCII capitals lowered, the others kept.
pub(super) fn lower_word(w: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let h = w & LOW7;
    // Each byte's high bit: at least `A` (0x41), not past `Z` (0x5A), and ASCII. No sum
    // carries into the next byte (at most 0x7F + 0x3F).
    let capital = (h + 0x3f3f_3f3f_3f3f_3f3f) & !(h + 0x2525_2525_2525_2525) & !w & HIGH;
    w | (capital >> 2)
}

/// Whether two SKUs differ only in letter case (or not at all).
fn same_folded(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

/// The table's 64-bit hash from the kept 32 bits: hashbrown takes buckets from the low bits
/// and its tag from the top 7, so both halves carry them.
fn spread(h: u32) -> u64 {
    (u64::from(h) << 32) | u64::from(h)
}

/// Strings stored once, end to end, with a u32 id each; the table holds (hash, id) only and
/// compares through the arena, so a string is never stored twice.
#[derive(Clone, Debug, Default)]
struct Interner {
    bytes: String,
    /// `ends[i]` is where string `i` ends in `bytes` (it starts where `i - 1` ends).
    ends: Vec<usize>,
    table: HashTable<(u32, u32)>,
}

fn slice<'a>(bytes: &'a str, ends: &[usize], id: u32) -> &'a str {
    let i = id as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] };
    &bytes[start..ends[i]]
}

impl Interner {
    fn get(&self, id: u32) -> &str {
        slice(&self.bytes, &self.ends, id)
    }

    fn find(&self, s: &str, h: u32) -> Option<u32> {
        self.table
            .find(spread(h), |&(k, id)| k == h && self.get(id) == s)
            .map(|&(_, id)| id)
    }

    /// The id of `s`, added if new; true when it was added.
    fn intern(&mut self, s: &str) -> (u32, bool) {
        self.intern_hashed(s, hash32(s))
    }

    fn intern_hashed(&mut self, s: &str, h: u32) -> (u32, bool) {
        let Interner { bytes, ends, table } = self;
        let entry = table.entry(
            spread(h),
            |&(k, id)| k == h && slice(bytes, ends, id) == s,
            |&(k, _)| spread(k),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(o) => (o.get().1, false),
            hashbrown::hash_table::Entry::Vacant(v) => {
                let id = ends.len() as u32;
                bytes.push_str(s);
                ends.push(bytes.len());
                v.insert((h, id));
                (id, true)
            }
        }
    }

    /// The first string (the smallest id) other than `id` whose hash is `h` and that `id`'s
    /// string equals up to letter case. hashbrown's `iter_hash` visits every entry that may
    /// have the hash.
    fn first_folded_twin(&self, id: u32, h: u32) -> Option<u32> {
        let s = self.get(id);
        self.table
            .iter_hash(spread(h))
            .filter(|&&(k, other)| k == h && other != id && same_folded(self.get(other), s))
            .map(|&(_, other)| other)
            .min()
    }

    fn shrink(&mut self) {
        self.bytes.shrink_to_fit();
        self.ends.shrink_to_fit();
        self.table.shrink_to_fit(|&(k, _)| spread(k));
    }
}

/// One location's row for a SKU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StockEntry {
    pub location: LocationIx,
    pub on_hand: u64,
    pub reserved: u64,
}

impl StockEntry {
    /// Step 1 of the order of operations: `max(on_hand - reserved, 0)`.
    pub fn available(&self) -> u64 {
        self.on_hand.saturating_sub(self.reserved)
    }
}

/// The heads of one SKU's chains (its id is its index, shared with the SKU arena).
#[derive(Clone, Copy, Debug)]
struct Item {
    entries: u32,
    tags: u32,
    attrs: u32,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    on_hand: u64,
    reserved: u64,
    location: u32,
    next: u32,
}

#[derive(Clone, Copy, Debug)]
struct TagLink {
    tag: u32,
    next: u32,
}

#[derive(Clone, Copy, Debug)]
struct AttrLink {
    name: u32,
    /// Into `Stock::values`: a brand or colour is stored once, not once per SKU.
    value: u32,
    next: u32,
}

/// The inventory snapshot: every SKU with its stock per location. SKUs keep the order of their
/// first row.
#[derive(Clone, Debug, Default)]
pub struct Stock {
    skus: Interner,
    items: Vec<Item>,
    entries: Vec<Entry>,
    tag_links: Vec<TagLink>,
    attr_links: Vec<AttrLink>,
    values: Interner,
    pub tag_names: Vec<String>,
    tag_index: FxHashMap<Box<str>, u32>,
    pub attr_names: Vec<String>,
    /// Notes about the input that are not errors (e.g. Shopify rows without a SKU).
    pub warnings: Vec<String>,
    /// The id `intern` returned last: rows of one SKU usually follow each other, and then the
    /// SKU is compared once instead of hashed.
    last: Option<u32>,
    /// SKUs that differ from an earlier one only in letter case: see [`Stock::case_twins`].
    twins: CaseTwins,
    /// A row was added to a SKU before a row of an earlier SKU: the rows are not side by side
    /// in SKU order (`shrink` lays them so). Kept as rows are added, so that a file already in
    /// SKU order is not walked again to find out.
    rows_unordered: bool,
    /// The SKU of the row added last.
    last_row_sku: u32,
}

/// How many SKUs had the lower case of an earlier SKU when added, and the first few of them
/// (each with the first SKU of that lower case), in the order they were added.
#[derive(Clone, Debug, Default)]
pub struct CaseTwins {
    pub total: usize,
    pub first: Vec<(u32, u32)>,
}

/// The pairs [`CaseTwins`] keeps to name.
const TWINS_NAMED: usize = 5;

/// Why a row could not be added to a SKU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddError {
    /// A second row for the same SKU and location.
    DuplicateRow,
    /// The SKU's available stock over its rows would not fit in a quantity (u64): a pool of
    /// its locations could not be computed without wrapping.
    Overflow,
}

/// What [`Stock::merge`] met while adding another stock's rows. Rows are numbered in the order
/// each stock added them (neither stock shrunk yet).
#[derive(Debug)]
pub enum Conflict<'a> {
    /// Row `second` of the other stock was added (as the next row of this one).
    Added { second: usize },
    /// Row `second` of the other stock is a second row for its SKU at a location this stock
    /// has a row for (row `first`).
    Row {
        sku: &'a str,
        location: LocationIx,
        first: usize,
        second: usize,
    },
    /// Row `second` would make the SKU's stock overflow.
    Overflow { sku: &'a str, second: usize },
    /// The SKU has another value of an attribute here; `second` is its first row in the other
    /// stock, if it has one.
    Attr {
        sku: &'a str,
        attr: &'a str,
        value: &'a str,
        old: String,
        second: Option<usize>,
    },
}

/// One inventory SKU as the engine reads it: a view into `Stock`.
#[derive(Clone, Copy)]
pub struct StockItem<'a> {
    stock: &'a Stock,
    id: u32,
}

impl<'a> StockItem<'a> {
    pub fn sku(&self) -> &'a str {
        self.stock.skus.get(self.id)
    }

    /// Its rows, in the order they were read.
    pub fn entries(&self) -> impl Iterator<Item = StockEntry> + 'a {
        let entries = &self.stock.entries;
        let mut at = self.stock.items[self.id as usize].entries;
        std::iter::from_fn(move || {
            let e = entries.get(at as usize)?;
            at = e.next;
            Some(StockEntry {
                location: e.location as LocationIx,
                on_hand: e.on_hand,
                reserved: e.reserved,
            })
        })
    }

    /// Available stock at one location: 0 when the SKU has no row there.
    pub fn available_at(&self, loc: LocationIx) -> u64 {
        // `Stock::add` keeps one row per location: nothing to add up.
        self.entries()
            .find(|e| e.location == loc)
            .map_or(0, |e| e.available())
    }

    /// Indexes into `Stock::tag_names`, in the order first seen.
    pub fn tags(&self) -> impl Iterator<Item = u32> + 'a {
        let links = &self.stock.tag_links;
        let mut at = self.stock.items[self.id as usize].tags;
        std::iter::from_fn(move || {
            let l = links.get(at as usize)?;
            at = l.next;
            Some(l.tag)
        })
    }

    /// (index into `Stock::attr_names`, value), in the order first set.
    pub fn attrs(&self) -> impl Iterator<Item = (u32, &'a str)> + 'a {
        let stock = self.stock;
        let mut at = stock.items[self.id as usize].attrs;
        std::iter::from_fn(move || {
            let l = stock.attr_links.get(at as usize)?;
            at = l.next;
            Some((l.name, stock.values.get(l.value)))
        })
    }
}

impl fmt::Debug for StockItem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StockItem")
            .field("sku", &self.sku())
            .field("tags", &self.tags().collect::<Vec<_>>())
            .field("attrs", &self.attrs().collect::<Vec<_>>())
            .field("entries", &self.entries().collect::<Vec<_>>())
            .finish()
    }
}

impl Stock {
    pub fn new() -> Self {
        Stock::default()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every SKU, in the order of its first row.
    pub fn items(&self) -> impl ExactSizeIterator<Item = StockItem<'_>> + Clone {
        (0..self.items.len() as u32).map(|id| StockItem { stock: self, id })
    }

    /// The `n`th SKU (in the order of [`Stock::items`]), if there are that many.
    pub fn nth(&self, n: usize) -> Option<StockItem<'_>> {
        let id = u32::try_from(n).ok()?;
        (n < self.items.len()).then_some(StockItem { stock: self, id })
    }

    pub fn get(&self, sku: &str) -> Option<StockItem<'_>> {
        let id = self.skus.find(sku, hash_folded(sku))?;
        Some(StockItem { stock: self, id })
    }

    /// The id of `sku`'s item, created empty if new. Readers look a row's SKU up once and add
    /// the row, its tags and attributes by id. A SKU's rows usually follow each other: the
    /// SKU of the row before is found without hashing.
    pub fn intern(&mut self, sku: &str) -> u32 {
        if let Some(last) = self.last
            && self.skus.get(last) == sku
        {
            return last;
        }
        self.intern_hashed(sku, hash_folded(sku))
    }

    /// The SKUs met so far that differ from an earlier SKU only in letter case: two inventory
    /// SKUs to allot, very likely one product typed twice.
    pub fn case_twins(&self) -> &CaseTwins {
        &self.twins
    }

    /// `intern` for a reader that knows whether `sku` is the SKU interned last (`hash` is
    /// None) or not (`hash` is its [`hash_folded`]): it is not compared with the last again.
    pub(super) fn intern_next(&mut self, sku: &str, hash: Option<u32>) -> u32 {
        match (hash, self.last) {
            (None, Some(last)) => {
                debug_assert_eq!(self.skus.get(last), sku, "not the last SKU interned");
                last
            }
            (Some(hash), _) => {
                debug_assert!(self.last.is_none_or(|l| self.skus.get(l) != sku));
                self.intern_other(sku, hash)
            }
            (None, None) => self.intern(sku),
        }
    }

    /// `intern` with the SKU's hash ([`hash_folded`]) already computed.
    fn intern_hashed(&mut self, sku: &str, hash: u32) -> u32 {
        if let Some(last) = self.last
            && self.skus.get(last) == sku
        {
            return last;
        }
        self.intern_other(sku, hash)
    }

    /// `intern_hashed` of a SKU that is not the last one interned.
    fn intern_other(&mut self, sku: &str, hash: u32) -> u32 {
        let (id, new) = self.skus.intern_hashed(sku, hash);
        if new {
            self.items.push(Item {
                entries: NONE,
                tags: NONE,
                attrs: NONE,
            });
            // The probe sequence was just read: looking along it again stays in the cache.
            if let Some(first) = self.skus.first_folded_twin(id, hash) {
                self.twins.total += 1;
                if self.twins.first.len() < TWINS_NAMED {
                    self.twins.first.push((first, id));
                }
            }
        }
        self.last = Some(id);
        id
    }

    /// Record one row. A second row for the same SKU and location is refused, and so is a row
    /// that makes the SKU's available stock over all its rows overflow: every pool (a sum over
    /// some of those rows) then fits, so the engine never adds up past 2^64.
    pub fn add(
        &mut self,
        sku: &str,
        location: LocationIx,
        on_hand: u64,
        reserved: u64,
    ) -> Result<(), AddError> {
        let id = self.intern(sku);
        self.add_entry(id, location, on_hand, reserved)
    }

    /// Adds the policy's kits as inventory SKUs: at each location where every component has a
    /// row, as many kits as the scarcest component makes (its available units divided by the
    /// units one kit takes, rounded down). A kit with a component missing from the inventory
    /// gets no row at all (it is missing: `on_missing` decides). Err when the inventory also
    /// has rows of its own for a kit's SKU (which would count?).
    pub fn add_kits(&mut self, kits: &[crate::model::Kit]) -> Result<(), String> {
        for kit in kits {
            if self.get(&kit.sku).is_some() {
                return Err(format!(
                    "inventory SKU `{}` has rows of its own and is declared as a kit: allot cannot tell which stock counts\n  help: remove its rows from the inventory (the kit's stock comes from its components), or remove the `kit` line",
                    crate::diag::clip(&kit.sku)
                ));
            }
            let comps: Option<Vec<(StockItem<'_>, u64)>> = kit
                .parts
                .iter()
                .map(|(c, units)| self.get(c).map(|i| (i, *units)))
                .collect();
            let Some(comps) = comps else {
                continue;
            };
            // Locations where every component has a row, in order.
            let mut rows: Vec<(LocationIx, u64)> = Vec::new();
            if let Some((first, _)) = comps.first() {
                for e in first.entries() {
                    let l = e.location;
                    if !comps
                        .iter()
                        .all(|(i, _)| i.entries().any(|x| x.location == l))
                    {
                        continue;
                    }
                    let kits = comps
                        .iter()
                        .map(|(i, units)| i.available_at(l) / (*units).max(1))
                        .min()
                        .unwrap_or(0);
                    rows.push((l, kits));
                }
            }
            let id = self.intern(&kit.sku);
            for (l, n) in rows {
                // One row per location of a new SKU, each at most a component's stock: no
                // duplicate and no overflow can occur.
                if self.add_entry(id, l, n, 0).is_err() {
                    return Err(format!(
                        "kit `{}`: its stock does not add up",
                        crate::diag::clip(&kit.sku)
                    ));
                }
            }
        }
        Ok(())
    }

    /// `add` for an interned SKU.
    pub fn add_entry(
        &mut self,
        id: u32,
        location: LocationIx,
        on_hand: u64,
        reserved: u64,
    ) -> Result<(), AddError> {
        let row = StockEntry {
            location,
            on_hand,
            reserved,
        };
        let mut total = row.available();
        // Walk the chain once: duplicate check, overflow check and its tail.
        let mut tail = None;
        let mut at = self.items[id as usize].entries;
        while let Some(e) = self.entries.get(at as usize) {
            if e.location as LocationIx == location {
                return Err(AddError::DuplicateRow);
            }
            tail = Some(at);
            at = e.next;
        }
        let mut at = self.items[id as usize].entries;
        while let Some(e) = self.entries.get(at as usize) {
            total = total
                .checked_add(e.on_hand.saturating_sub(e.reserved))
                .ok_or(AddError::Overflow)?;
            at = e.next;
        }
        let new = self.entries.len() as u32;
        self.entries.push(Entry {
            on_hand,
            reserved,
            location: location as u32,
            next: NONE,
        });
        match tail {
            Some(t) => self.entries[t as usize].next = new,
            None => self.items[id as usize].entries = new,
        }
        // Rows added in SKU order lie side by side already (see `shrink`).
        self.rows_unordered |= id < self.last_row_sku;
        self.last_row_sku = id;
        Ok(())
    }

    pub fn tag_id(&mut self, tag: &str) -> u32 {
        if let Some(&i) = self.tag_index.get(tag) {
            return i;
        }
        let i = self.tag_names.len() as u32;
        self.tag_names.push(tag.to_string());
        self.tag_index.insert(tag.into(), i);
        i
    }

    /// The id of a tag if any SKU carries it.
    pub fn find_tag(&self, tag: &str) -> Option<u32> {
        self.tag_index.get(tag).copied()
    }

    pub fn attr_id(&mut self, name: &str) -> u32 {
        if let Some(i) = self.find_attr(name) {
            return i;
        }
        self.attr_names.push(name.to_string());
        (self.attr_names.len() - 1) as u32
    }

    pub fn find_attr(&self, name: &str) -> Option<u32> {
        self.attr_names
            .iter()
            .position(|n| n == name)
            .map(|i| i as u32)
    }

    /// Add a tag to an interned SKU (set semantics).
    pub fn add_tag(&mut self, id: u32, tag: &str) {
        let tag = self.tag_id(tag);
        self.add_tag_id(id, tag);
    }

    /// `add_tag` for a tag id (`tag_id`).
    pub fn add_tag_id(&mut self, id: u32, tag: u32) {
        let mut tail = None;
        let mut at = self.items[id as usize].tags;
        while let Some(l) = self.tag_links.get(at as usize) {
            if l.tag == tag {
                return;
            }
            tail = Some(at);
            at = l.next;
        }
        let new = self.tag_links.len() as u32;
        self.tag_links.push(TagLink { tag, next: NONE });
        match tail {
            Some(t) => self.tag_links[t as usize].next = new,
            None => self.items[id as usize].tags = new,
        }
    }

    /// Add tags to a SKU (set semantics).
    pub fn add_tags<'a>(&mut self, sku: &str, tags: impl IntoIterator<Item = &'a str>) {
        let id = self.intern(sku);
        for t in tags {
            self.add_tag(id, t);
        }
    }

    /// Set attribute `name` (an `attr_id`) of an interned SKU; a different value already set is
    /// returned as the conflict.
    pub fn set_attr_id(&mut self, id: u32, name: u32, value: &str) -> Result<(), String> {
        let mut tail = None;
        let mut at = self.items[id as usize].attrs;
        while let Some(l) = self.attr_links.get(at as usize) {
            if l.name == name {
                let old = self.values.get(l.value);
                return if old == value {
                    Ok(())
                } else {
                    Err(old.to_string())
                };
            }
            tail = Some(at);
            at = l.next;
        }
        let (value, _) = self.values.intern(value);
        let new = self.attr_links.len() as u32;
        self.attr_links.push(AttrLink {
            name,
            value,
            next: NONE,
        });
        match tail {
            Some(t) => self.attr_links[t as usize].next = new,
            None => self.items[id as usize].attrs = new,
        }
        Ok(())
    }

    /// Set an attribute; a different value already set is returned as the conflict.
    pub fn set_attr(&mut self, sku: &str, name: &str, value: &str) -> Result<(), String> {
        let name = self.attr_id(name);
        let id = self.intern(sku);
        self.set_attr_id(id, name, value)
    }

    /// Add `other`'s SKUs, rows, tags and attributes, with the rules of rows of one file: one
    /// row per SKU and location, tags united, one value per attribute. Both stocks must not be
    /// shrunk yet (rows are told by the order they were added). Every row added and every
    /// conflict is told to `on`, in `other`'s order.
    pub fn merge<'o>(&mut self, other: &'o Stock, mut on: impl FnMut(Conflict<'o>)) {
        for (oid, item) in other.items.iter().enumerate() {
            let oid = oid as u32;
            let sku = other.skus.get(oid);
            let id = self.intern(sku);
            let mut at = item.entries;
            while let Some(e) = other.entries.get(at as usize) {
                let second = at as usize;
                let location = e.location as LocationIx;
                match self.add_entry(id, location, e.on_hand, e.reserved) {
                    Ok(()) => on(Conflict::Added { second }),
                    Err(AddError::DuplicateRow) => on(Conflict::Row {
                        sku,
                        location,
                        first: self.entry_at(id, location).unwrap_or(0),
                        second,
                    }),
                    Err(AddError::Overflow) => on(Conflict::Overflow { sku, second }),
                }
                at = e.next;
            }
            let mut at = item.tags;
            while let Some(l) = other.tag_links.get(at as usize) {
                self.add_tag(id, &other.tag_names[l.tag as usize]);
                at = l.next;
            }
            let mut at = item.attrs;
            while let Some(l) = other.attr_links.get(at as usize) {
                let attr = other.attr_names[l.name as usize].as_str();
                let value = other.values.get(l.value);
                let name = self.attr_id(attr);
                if let Err(old) = self.set_attr_id(id, name, value) {
                    on(Conflict::Attr {
                        sku,
                        attr,
                        value,
                        old,
                        second: (item.entries != NONE).then_some(item.entries as usize),
                    });
                }
                at = l.next;
            }
        }
    }

    /// The index of a SKU's row at a location.
    fn entry_at(&self, id: u32, location: LocationIx) -> Option<usize> {
        let mut at = self.items[id as usize].entries;
        while let Some(e) = self.entries.get(at as usize) {
            if e.location as LocationIx == location {
                return Some(at as usize);
            }
            at = e.next;
        }
        None
    }

    /// Drop spare capacity once a file is read (the vectors grew by doubling), and lay each
    /// SKU's rows side by side in SKU order, so the engine reads them from one place even when
    /// the file interleaved them.
    pub fn shrink(&mut self) {
        debug_assert!(self.rows_unordered || self.entries_packed());
        if self.rows_unordered {
            let mut packed = Vec::with_capacity(self.entries.len());
            for item in &mut self.items {
                let mut at = item.entries;
                if at != NONE {
                    item.entries = packed.len() as u32;
                }
                while let Some(e) = self.entries.get(at as usize) {
                    at = e.next;
                    let next = if at == NONE {
                        NONE
                    } else {
                        packed.len() as u32 + 1
                    };
                    packed.push(Entry { next, ..*e });
                }
            }
            self.entries = packed;
            self.rows_unordered = false;
            // A row added after this is out of order unless it is for the last SKU.
            self.last_row_sku = (self.items.len() as u32).saturating_sub(1);
        }
        self.entries.shrink_to_fit();
        self.skus.shrink();
        self.values.shrink();
        self.items.shrink_to_fit();
        self.tag_links.shrink_to_fit();
        self.attr_links.shrink_to_fit();
    }

    /// Whether every SKU's rows already lie side by side in SKU order (a file sorted by SKU):
    /// then there is nothing to move, and no second copy of the rows is made. What
    /// `rows_unordered` keeps; walked only to check it (debug builds).
    fn entries_packed(&self) -> bool {
        let mut want = 0u32;
        for item in &self.items {
            let mut at = item.entries;
            while let Some(e) = self.entries.get(at as usize) {
                if at != want {
                    return false;
                }
                want += 1;
                at = e.next;
            }
        }
        true
    }

    /// The stock of a `test` block.
    pub fn from_tests(stock: &[TestStock]) -> Result<Stock, String> {
        let mut s = Stock::new();
        for t in stock {
            let id = s.intern(&t.sku);
            for tag in &t.tags {
                s.add_tag(id, tag);
            }
            for (name, value) in &t.attrs {
                let name_id = s.attr_id(name);
                s.set_attr_id(id, name_id, value).map_err(|old| {
                    format!(
                        "attribute `{name}` of `{}` is given twice ({old}, {value})",
                        t.sku
                    )
                })?;
            }
            for &(loc, on_hand, reserved) in &t.entries {
                s.add_entry(id, loc, on_hand, reserved).map_err(|e| match e {
                    AddError::DuplicateRow => {
                        format!("`{}` has two rows for one location", t.sku)
                    }
                    AddError::Overflow => format!(
                        "the stock of `{}` over its locations adds up to more than {}: a quantity is far too large",
                        t.sku,
                        u64::MAX
                    ),
                })?;
            }
        }
        Ok(s)
    }

    /// The SKU of an interned id.
    pub fn sku(&self, id: u32) -> &str {
        self.skus.get(id)
    }

    #[cfg(test)]
    pub(crate) fn interned_values(&self) -> usize {
        self.values.ends.len()
    }
}
