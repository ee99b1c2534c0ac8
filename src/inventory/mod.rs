//! Inventory snapshot readers (`--inventory FILE`): generic CSV, Shopify's inventory CSV export,
//! JSON and YAML. Readers stream: memory grows with the number of distinct SKUs, not with the
//! size of the file. Every bad row is reported with its place; one bad row fails the whole file
//! (no partial stock is ever simulated). See docs/inventory.md.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::model::{Location, LocationId, TestStock};

mod csv_generic;
pub mod error;
mod serde_list;
mod shopify;

pub use error::{InputError, InventoryError, RowError, RowErrors};

use crate::diag::clip;

/// The input formats `--inventory-format` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `sku,location,on_hand,reserved` plus optional `tags` and attribute columns.
    Csv,
    /// Shopify's inventory CSV export (Handle, Title, SKU, Location, …, On hand).
    Shopify,
    /// A list of `{sku, location, on_hand, reserved, tags, attributes}`.
    Json,
    /// The same list in YAML.
    Yaml,
}

/// One location's row for a SKU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StockEntry {
    pub location: LocationId,
    pub on_hand: u64,
    pub reserved: u64,
}

impl StockEntry {
    /// Step 1 of the order of operations: `max(on_hand - reserved, 0)`.
    pub fn available(&self) -> u64 {
        self.on_hand.saturating_sub(self.reserved)
    }
}

/// One inventory SKU: its rows per location, tags and attributes (interned in `Stock`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockItem {
    pub sku: String,
    /// Indexes into `Stock::tag_names`.
    pub tags: Vec<u32>,
    /// (index into `Stock::attr_names`, value).
    pub attrs: Vec<(u32, String)>,
    pub entries: Vec<StockEntry>,
}

impl StockItem {
    /// Available stock at one location: 0 when the SKU has no row there.
    pub fn available_at(&self, loc: LocationId) -> u64 {
        // `Stock::add` keeps one row per location: nothing to add up.
        self.entries
            .iter()
            .find(|e| e.location == loc)
            .map_or(0, StockEntry::available)
    }
}

/// The inventory snapshot: every SKU with its stock per location. SKUs keep the order of their
/// first row.
#[derive(Clone, Debug, Default)]
pub struct Stock {
    pub items: Vec<StockItem>,
    index: HashMap<Box<str>, u32>,
    pub tag_names: Vec<String>,
    tag_index: HashMap<String, u32>,
    pub attr_names: Vec<String>,
    /// Notes about the input that are not errors (e.g. Shopify rows without a SKU).
    pub warnings: Vec<String>,
}

/// Why a row could not be added to a SKU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddError {
    /// A second row for the same SKU and location.
    DuplicateRow,
    /// The SKU's available stock over its rows would not fit in a quantity (u64): a pool of
    /// its locations could not be computed without wrapping.
    Overflow,
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

    pub fn get(&self, sku: &str) -> Option<&StockItem> {
        self.index.get(sku).map(|&i| &self.items[i as usize])
    }

    /// The item for `sku`, created empty if new.
    pub fn item_mut(&mut self, sku: &str) -> &mut StockItem {
        let i = match self.index.get(sku) {
            Some(&i) => i as usize,
            None => {
                let i = self.items.len();
                self.items.push(StockItem {
                    sku: sku.to_string(),
                    tags: Vec::new(),
                    attrs: Vec::new(),
                    entries: Vec::new(),
                });
                self.index.insert(sku.into(), i as u32);
                i
            }
        };
        &mut self.items[i]
    }

    /// Record one row. A second row for the same SKU and location is refused, and so is a row
    /// that makes the SKU's available stock over all its rows overflow: every pool (a sum over
    /// some of those rows) then fits, so the engine never adds up past 2^64.
    pub fn add(
        &mut self,
        sku: &str,
        location: LocationId,
        on_hand: u64,
        reserved: u64,
    ) -> Result<(), AddError> {
        let item = self.item_mut(sku);
        if item.entries.iter().any(|e| e.location == location) {
            return Err(AddError::DuplicateRow);
        }
        let row = StockEntry {
            location,
            on_hand,
            reserved,
        };
        item.entries
            .iter()
            .try_fold(row.available(), |a, e| a.checked_add(e.available()))
            .ok_or(AddError::Overflow)?;
        item.entries.push(StockEntry {
            location,
            on_hand,
            reserved,
        });
        Ok(())
    }

    pub fn tag_id(&mut self, tag: &str) -> u32 {
        if let Some(&i) = self.tag_index.get(tag) {
            return i;
        }
        let i = self.tag_names.len() as u32;
        self.tag_names.push(tag.to_string());
        self.tag_index.insert(tag.to_string(), i);
        i
    }

    /// The id of a tag if any SKU carries it.
    pub fn find_tag(&self, tag: &str) -> Option<u32> {
        self.tag_index.get(tag).copied()
    }

    pub fn attr_id(&mut self, name: &str) -> u32 {
        if let Some(i) = self.attr_names.iter().position(|n| n == name) {
            return i as u32;
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

    /// Add tags to a SKU (set semantics).
    pub fn add_tags<'a>(&mut self, sku: &str, tags: impl IntoIterator<Item = &'a str>) {
        let ids: Vec<u32> = tags.into_iter().map(|t| self.tag_id(t)).collect();
        let item = self.item_mut(sku);
        for id in ids {
            if !item.tags.contains(&id) {
                item.tags.push(id);
            }
        }
    }

    /// Set an attribute; a different value already set is returned as the conflict.
    pub fn set_attr(&mut self, sku: &str, name: &str, value: &str) -> Result<(), String> {
        let id = self.attr_id(name);
        let item = self.item_mut(sku);
        match item.attrs.iter().find(|(i, _)| *i == id) {
            Some((_, v)) if v != value => Err(v.clone()),
            Some(_) => Ok(()),
            None => {
                item.attrs.push((id, value.to_string()));
                Ok(())
            }
        }
    }

    /// Drop spare capacity once a file is read: a million SKUs each with a few rows would
    /// otherwise keep about a hundred unused bytes apiece.
    pub fn shrink(&mut self) {
        for i in &mut self.items {
            i.entries.shrink_to_fit();
            i.tags.shrink_to_fit();
            i.attrs.shrink_to_fit();
        }
        self.items.shrink_to_fit();
    }

    /// The stock of a `test` block.
    pub fn from_tests(stock: &[TestStock]) -> Result<Stock, String> {
        let mut s = Stock::new();
        for t in stock {
            s.item_mut(&t.sku);
            s.add_tags(&t.sku, t.tags.iter().map(String::as_str));
            for (name, value) in &t.attrs {
                s.set_attr(&t.sku, name, value).map_err(|old| {
                    format!(
                        "attribute `{name}` of `{}` is given twice ({old}, {value})",
                        t.sku
                    )
                })?;
            }
            for &(loc, on_hand, reserved) in &t.entries {
                s.add(&t.sku, loc, on_hand, reserved).map_err(|e| match e {
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
}

/// Parse a quantity cell: plain decimal digits, nothing else (no sign, decimals, exponent or
/// separators: `+7`, `12.0`, `1e3` and `1,200` are refused, so a cell means one thing only).
/// Surrounding spaces are fine. Blank is an error (never read as 0). Returns (message, help).
pub(crate) fn parse_quantity(raw: &str) -> Result<u64, (String, String)> {
    let t = raw.trim();
    if t.is_empty() {
        return Err((
            "the quantity is blank".into(),
            "write a whole number (0 if there is no stock); a blank is never read as 0".into(),
        ));
    }
    let shown = clip(t);
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse::<u64>().map_err(|_| {
            (
                format!(
                    "the quantity `{shown}` is too large (at most {})",
                    u64::MAX
                ),
                "a quantity this large is a typo or a corrupted export: write the real number of items".into(),
            )
        });
    }
    if let Some(rest) = t.strip_prefix('-')
        && !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        return Err((
            format!("the quantity `{shown}` is negative"),
            "quantities are whole numbers of items, 0 or more".into(),
        ));
    }
    Err((
        format!("the quantity `{shown}` is not a whole number"),
        if t.contains([',', '.', 'e', 'E', '+', '_']) {
            "write the number with digits only: no sign, separators, decimals or exponent, e.g. `1200`".into()
        } else {
            "write a whole number of items with digits only, e.g. `12`".into()
        },
    ))
}

/// Trim a SKU cell of ASCII spaces only and refuse what would make it another SKU than the one
/// Amazon or the inventory has: a character that cannot be seen (U+200B, U+FEFF, U+00A0…) is
/// named, never stripped. `what` is "SKU" or "seller SKU". Returns (message, help).
pub(crate) fn clean_sku<'a>(raw: &'a str, what: &str) -> Result<&'a str, (String, String)> {
    let t = raw.trim_matches(|c: char| c.is_ascii_whitespace());
    match crate::diag::invisible_char(t) {
        None => Ok(t),
        Some((at, c)) => Err((
            format!(
                "the {what} `{}` contains the invisible character {} at character {}",
                clip(t).escape_debug(),
                crate::diag::char_name(c),
                at + 1
            ),
            format!(
                "a {what} with an invisible character is a different {what}: delete the character (it is often pasted in from a web page or spreadsheet)"
            ),
        )),
    }
}

/// Two header columns with one name (ignoring case and surrounding spaces) among those
/// `relevant` says are read: 0-based (first, second) and the name. Reading the first and
/// ignoring the second would silently pick one of two values.
pub(crate) fn duplicate_header<'a>(
    headers: impl IntoIterator<Item = &'a str>,
    relevant: impl Fn(&str) -> bool,
) -> Option<(usize, usize, String)> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, h) in headers.into_iter().enumerate() {
        let key = h.trim().to_lowercase();
        if key.is_empty() || !relevant(&key) {
            continue;
        }
        if let Some(&first) = seen.get(&key) {
            return Some((first, i, h.trim().to_string()));
        }
        seen.insert(key, i);
    }
    None
}

/// The located error for `duplicate_header`'s finding.
pub(crate) fn duplicate_header_error(name: &str, dup: (usize, usize, String)) -> InputError {
    let (a, b, h) = dup;
    InputError::file_at(
        name,
        1,
        Some(b as u64 + 1),
        format!(
            "columns {} and {} of the header are both named `{}`",
            a + 1,
            b + 1,
            clip(&h)
        ),
        Some("rename or delete one of them: allot will not guess which of the two to read".into()),
    )
}

/// The row error for a SKU whose stock over its rows overflows.
pub(crate) fn overflow_error(line: u64, col: Option<u64>, field: &str, sku: &str) -> RowError {
    RowError::new(
        line,
        format!(
            "the stock of SKU `{}` over its locations adds up to more than {} (with this row)",
            clip(sku),
            u64::MAX
        ),
    )
    .field(col, field)
    .help("a quantity this large is a typo or a corrupted export: fix the quantities of this SKU's rows")
}

/// Normalise a location name for matching: case-insensitive, with runs of anything but letters
/// and digits read as `_` (Shopify's "Newark Warehouse" matches a policy's `newark_warehouse`).
fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut gap = false;
    for c in name.trim().chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// Resolves location names of an input against the policy's locations.
pub(crate) struct LocationResolver<'a> {
    locations: &'a [Location],
    normalised: Vec<String>,
    cache: HashMap<String, Option<LocationId>>,
}

impl<'a> LocationResolver<'a> {
    pub fn new(locations: &'a [Location]) -> Self {
        LocationResolver {
            locations,
            normalised: locations.iter().map(|l| normalise(&l.name)).collect(),
            cache: HashMap::new(),
        }
    }

    pub fn resolve(&mut self, name: &str) -> Result<LocationId, (String, String)> {
        let found = match self.cache.get(name) {
            Some(f) => *f,
            None => {
                let f = self
                    .locations
                    .iter()
                    .position(|l| l.name == name)
                    .or_else(|| {
                        let n = normalise(name);
                        self.normalised.iter().position(|x| *x == n)
                    });
                self.cache.insert(name.to_string(), f);
                f
            }
        };
        found.ok_or_else(|| {
            let names: Vec<&str> = self.locations.iter().map(|l| l.name.as_str()).collect();
            let msg = if name.trim().is_empty() {
                "the location is blank".to_string()
            } else {
                format!("unknown location `{}`", clip(name))
            };
            let help = match crate::diag::did_you_mean(name, names.iter().copied()) {
                Some(s) if !name.trim().is_empty() => format!("did you mean `{s}`?"),
                _ if names.is_empty() => {
                    "the policy declares no locations: add `location NAME` to it".to_string()
                }
                _ => format!(
                    "the policy's locations are {}; declare this one with `location {}` or fix the row",
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    clip(&normalise(name))
                ),
            };
            (msg, help)
        })
    }
}

/// Strip a UTF-8 byte-order mark at the start of a reader.
pub(crate) fn skip_bom<R: BufRead>(r: &mut R) -> std::io::Result<()> {
    let buf = r.fill_buf()?;
    if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
        r.consume(3);
    }
    Ok(())
}

/// The format of a file: by extension, then by its first bytes.
pub fn detect(path: &Path, head: &[u8]) -> Format {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let head = head.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(head);
    let first_line = String::from_utf8_lossy(head.split(|b| *b == b'\n').next().unwrap_or(&[]))
        .to_ascii_lowercase();
    let looks_shopify = first_line.contains("handle")
        && first_line.contains("location")
        && (first_line.contains("on hand") || first_line.contains("available"));
    match ext.as_deref() {
        Some("json") => Format::Json,
        Some("yaml" | "yml") => Format::Yaml,
        Some("csv") if looks_shopify => Format::Shopify,
        Some("csv") => Format::Csv,
        _ => match head.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[' | b'{') => Format::Json,
            _ if looks_shopify => Format::Shopify,
            _ if first_line.contains(',') => Format::Csv,
            _ => Format::Yaml,
        },
    }
}

/// Read an inventory file. `format` overrides detection; locations are resolved against the
/// policy's.
pub fn read(
    path: &Path,
    format: Option<Format>,
    locations: &[Location],
) -> Result<Stock, InventoryError> {
    let name = path.display().to_string();
    let io = |source| InputError::Io {
        path: name.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let format = match format {
        Some(f) => f,
        None => {
            let head = reader.fill_buf().map_err(io)?;
            detect(path, &head[..head.len().min(4096)])
        }
    };
    read_from(&name, reader, format, locations)
}

/// Read an inventory from any reader (the name is used in errors).
pub fn read_from<R: Read>(
    name: &str,
    reader: R,
    format: Format,
    locations: &[Location],
) -> Result<Stock, InventoryError> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    skip_bom(&mut reader).map_err(|source| InputError::Io {
        path: name.to_string(),
        source,
    })?;
    let mut stock = match format {
        Format::Csv => csv_generic::read(name, reader, locations),
        Format::Shopify => shopify::read(name, reader, locations),
        Format::Json => serde_list::read_json(name, reader, locations),
        Format::Yaml => serde_list::read_yaml(name, reader, locations),
    }?;
    stock.shrink();
    if let Some(w) = case_twins(&stock) {
        stock.warnings.push(format!("{name}: {w}"));
    }
    Ok(stock)
}

/// SKUs that differ only in letter case (`YOGA-1` and `yoga-1`): two inventory SKUs to allot,
/// but very likely one product typed twice, whose stock is then split and whose seller SKUs
/// may collide on Amazon. One note naming the first few pairs, or None.
fn case_twins(stock: &Stock) -> Option<String> {
    use std::hash::{BuildHasher, Hasher};
    // Keyed by a hash of the lower-cased SKU (not a second copy of every string).
    let state = std::collections::hash_map::RandomState::new();
    let key = |s: &str| {
        let mut h = state.build_hasher();
        if s.is_ascii() {
            s.bytes().for_each(|b| h.write_u8(b.to_ascii_lowercase()));
        } else {
            h.write(s.to_lowercase().as_bytes());
        }
        h.finish()
    };
    let mut first: HashMap<u64, u32> = HashMap::with_capacity(stock.items.len());
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    let mut total = 0usize;
    for (i, item) in stock.items.iter().enumerate() {
        match first.entry(key(&item.sku)) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(i as u32);
            }
            std::collections::hash_map::Entry::Occupied(o) => {
                let j = *o.get();
                let other = &stock.items[j as usize].sku;
                if other.to_lowercase() == item.sku.to_lowercase() {
                    total += 1;
                    if pairs.len() < 5 {
                        pairs.push((j, i as u32));
                    }
                }
            }
        }
    }
    if total == 0 {
        return None;
    }
    let named: Vec<String> = pairs
        .iter()
        .map(|&(a, b)| {
            format!(
                "`{}` and `{}`",
                clip(&stock.items[a as usize].sku),
                clip(&stock.items[b as usize].sku)
            )
        })
        .collect();
    Some(format!(
        "{total} SKU{} differ{} from another only in letter case ({}{}): allot treats them as different inventory SKUs, so their stock is not added up; if they are one product, write its SKU one way",
        if total == 1 { "" } else { "s" },
        if total == 1 { "s" } else { "" },
        named.join(", "),
        if total > named.len() { ", …" } else { "" }
    ))
}

/// Open a CSV reader the way every CSV input is read: headers, flexible rows (reported, not
/// rejected by the library), CRLF accepted.
pub(crate) fn csv_reader<R: Read>(r: R, delimiter: u8, quoting: bool) -> csv::Reader<CrlfToLf<R>> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quoting(quoting)
        .flexible(true)
        .has_headers(true)
        .from_reader(CrlfToLf::new(r))
}

/// Streams a file with CRLF line ends as LF. The csv crate reports a record's line before it
/// consumes the `\n` of the previous record's `\r\n`, so every row of a Windows-made file
/// would be reported one line too early; with plain LF its line numbers are right.
pub(crate) struct CrlfToLf<R> {
    inner: R,
    /// A `\r` that ended the last chunk: kept back until we know whether `\n` follows.
    pending_cr: bool,
}

impl<R> CrlfToLf<R> {
    fn new(inner: R) -> Self {
        CrlfToLf {
            inner,
            pending_cr: false,
        }
    }
}

impl<R: Read> Read for CrlfToLf<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            // Leave room for a held-back `\r` that turns out not to precede `\n`.
            let start = usize::from(self.pending_cr);
            if buf.len() <= start {
                // A one-byte buffer with a pending `\r`: give the `\r` back as it is.
                buf[0] = b'\r';
                self.pending_cr = false;
                return Ok(1);
            }
            let n = self.inner.read(&mut buf[start..])?;
            if n == 0 {
                if self.pending_cr {
                    self.pending_cr = false;
                    buf[0] = b'\r';
                    return Ok(1);
                }
                return Ok(0);
            }
            if self.pending_cr {
                buf[0] = b'\r';
            }
            let end = start + n;
            // Compact in place, dropping every `\r` directly followed by `\n`.
            let mut w = 0;
            let mut i = 0;
            while i < end {
                let b = buf[i];
                if b == b'\r' && i + 1 < end && buf[i + 1] == b'\n' {
                    i += 1;
                    continue;
                }
                buf[w] = b;
                w += 1;
                i += 1;
            }
            // A `\r` at the very end may be the first half of a `\r\n` split across reads.
            self.pending_cr = w > 0 && buf[w - 1] == b'\r';
            if self.pending_cr {
                w -= 1;
            }
            if w > 0 {
                return Ok(w);
            }
        }
    }
}

/// A csv error as an input error with its position.
pub(crate) fn csv_error(name: &str, e: csv::Error) -> InputError {
    let line = e.position().map(|p| p.line());
    match e.kind() {
        csv::ErrorKind::Io(_) => InputError::file(name, format!("cannot read the file: {e}")),
        csv::ErrorKind::Utf8 { .. } => InputError::File {
            path: name.to_string(),
            line,
            column: None,
            message: "the row is not valid UTF-8".into(),
            help: Some("save the file as UTF-8 (spreadsheet: \"CSV UTF-8\")".into()),
        },
        _ => InputError::File {
            path: name.to_string(),
            line,
            column: None,
            message: format!("not a readable CSV row: {e}"),
            help: Some("check the quoting of this row".into()),
        },
    }
}

#[cfg(test)]
mod tests;
