//! Inventory snapshot readers (`--inventory FILE`): generic CSV, Shopify's inventory CSV export,
//! JSON and YAML. Readers stream: memory grows with the number of distinct SKUs, not with the
//! size of the file. Every bad row is reported with its place; one bad row fails the whole file
//! (no partial stock is ever simulated). See docs/inventory.md.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use rustc_hash::FxHashMap;

use crate::model::{Location, LocationId};

mod csv_generic;
pub mod error;
mod pipeline;
mod serde_list;
mod shopify;
mod stock;

pub use error::{InputError, InventoryError, RowError, RowErrors};
pub use stock::{AddError, Stock, StockEntry, StockItem};

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
    if t.bytes().all(|b| b.is_ascii_digit()) {
        // The common case: no message to build, so the cell is not clipped (a walk over its
        // characters) for nothing.
        return t.parse::<u64>().map_err(|_| {
            let shown = clip(t);
            (
                format!(
                    "the quantity `{shown}` is too large (at most {})",
                    u64::MAX
                ),
                "a quantity this large is a typo or a corrupted export: write the real number of items".into(),
            )
        });
    }
    let shown = clip(t);
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
    cache: FxHashMap<Box<str>, Option<LocationId>>,
}

impl<'a> LocationResolver<'a> {
    pub fn new(locations: &'a [Location]) -> Self {
        LocationResolver {
            locations,
            normalised: locations.iter().map(|l| normalise(&l.name)).collect(),
            cache: FxHashMap::default(),
        }
    }

    pub fn resolve(&mut self, name: &str) -> Result<LocationId, (String, String)> {
        // An exact name is found by comparing it with the few locations of a policy, faster
        // than hashing it; the cache is for the names that need normalising.
        let exact = if self.locations.len() <= 16 {
            self.locations.iter().position(|l| l.name == name)
        } else {
            None
        };
        let found = match (exact, self.cache.get(name)) {
            (Some(f), _) => Some(f),
            (None, Some(f)) => *f,
            (None, None) => {
                let f = self
                    .locations
                    .iter()
                    .position(|l| l.name == name)
                    .or_else(|| {
                        let n = normalise(name);
                        self.normalised.iter().position(|x| *x == n)
                    });
                self.cache.insert(name.into(), f);
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
    // The hash of every lower-cased SKU (not a second copy of the strings), sorted: SKUs that
    // can be twins end up side by side, and a sort reads memory in order where a hash table
    // of a million SKUs would miss the cache on every insert.
    let state = rustc_hash::FxBuildHasher;
    let mut buf: Vec<u8> = Vec::new();
    let mut keys: Vec<(u64, u32)> = stock
        .items()
        .enumerate()
        .map(|(i, item)| {
            let s = item.sku();
            buf.clear();
            if s.is_ascii() {
                buf.extend(s.bytes().map(|b| b.to_ascii_lowercase()));
            } else {
                buf.extend_from_slice(s.to_lowercase().as_bytes());
            }
            let mut h = state.build_hasher();
            h.write(&buf);
            (h.finish(), i as u32)
        })
        .collect();
    keys.sort_unstable();
    let same = |a: &str, b: &str| {
        if a.is_ascii() && b.is_ascii() {
            a.eq_ignore_ascii_case(b)
        } else {
            a.to_lowercase() == b.to_lowercase()
        }
    };
    // Each SKU whose lower case an earlier SKU has, paired with the first such SKU. Within a
    // run of one hash (ids ascending) the first SKU of each lower case is kept: more than one
    // only if two different SKUs share a 64-bit hash.
    let mut twins: Vec<(u32, u32)> = Vec::new();
    let mut firsts: Vec<u32> = Vec::new();
    for run in keys.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
        firsts.clear();
        for &(_, i) in run {
            match firsts.iter().find(|&&j| same(stock.sku(j), stock.sku(i))) {
                Some(&j) => twins.push((j, i)),
                None => firsts.push(i),
            }
        }
    }
    let total = twins.len();
    // The first pairs in inventory order, as a reader meets them.
    twins.sort_unstable_by_key(|&(_, i)| i);
    let pairs = &twins[..total.min(5)];
    if total == 0 {
        return None;
    }
    let named: Vec<String> = pairs
        .iter()
        .map(|&(a, b)| format!("`{}` and `{}`", clip(stock.sku(a)), clip(stock.sku(b))))
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
