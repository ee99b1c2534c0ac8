//! Current-listings readers (`--current FILE`): JSON, YAML, CSV (`seller_sku, channel,
//! quantity`, `marketplace` optional) and Amazon's tab-separated All Listings report. They give
//! a `model::Current`: per seller SKU, the quantity of each channel (one quantity per seller SKU
//! per region, so marketplaces only say where a SKU is listed). Errors are located like the
//! inventory's (`crate::inventory::error`). See docs/inventory.md.

use std::io::Read;
use std::path::Path;

use crate::diag::clip;
use crate::input::{
    Formats, Header, Item, blank_sku, clean_sku, csv_error, csv_reader, missing_column,
    parse_quantity,
};
use crate::inventory::error::{InputError, RowError, RowErrors, codes as C};
use crate::model::{Current, DEFAULT_CHANNEL, is_amazon_channel};

/// The formats `--current-format` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A list of `{seller_sku, channel, quantity, marketplace}` (or the object `{"listings": …}`).
    Json,
    /// The same list in YAML.
    Yaml,
    /// `seller_sku,channel,quantity[,marketplace]`.
    Csv,
    /// Amazon's All Listings report (tab-separated; `seller-sku`, `quantity`, `fulfillment-channel`).
    Amazon,
}

/// The current listings and notes about rows that were not read as quantities.
#[derive(Clone, Debug, Default)]
pub struct Listings {
    pub current: Current,
    pub warnings: Vec<String>,
}

/// Accumulates rows, refusing a second, different quantity for one SKU and channel.
struct Acc {
    current: Current,
    errors: RowErrors,
    /// `--current-marketplace`: the marketplace of rows that name none.
    default_marketplace: Option<String>,
}

impl Acc {
    fn new(default_marketplace: Option<&str>) -> Self {
        Acc {
            current: Current::default(),
            errors: RowErrors::default(),
            default_marketplace: default_marketplace.map(str::to_string),
        }
    }

    /// A seller SKU that exists on Amazon without a quantity to read: Amazon-fulfilled (FBA)
    /// when `channel` is one of Amazon's, else listed (e.g. inactive) with its quantity unknown.
    fn known(&mut self, sku: &str, channel: &str, marketplace: Option<&str>) {
        if is_amazon_channel(channel) {
            self.current
                .amazon_fulfilled
                .entry(sku.to_string())
                .or_insert_with(|| channel.to_string());
        }
        let listed = self.current.listed_in.entry(sku.to_string()).or_default();
        if let Some(m) = marketplace.or(self.default_marketplace.as_deref()) {
            listed.insert(m.to_string());
        }
    }

    /// One merchant row. `qcol` is the quantity's column, when the format has columns.
    fn add(
        &mut self,
        (line, qcol): (u64, Option<u64>),
        sku: &str,
        channel: &str,
        qty: u64,
        marketplace: Option<&str>,
    ) {
        if is_amazon_channel(channel) {
            // Amazon's own quantity: known, never a current quantity allot could write over.
            self.known(sku, channel, marketplace);
            return;
        }
        if let Err((m, h)) = within_amazon_limit(qty) {
            self.errors.push(
                RowError::new(C::BAD_QUANTITY, line, m)
                    .field(qcol, "quantity")
                    .help(h),
            );
            return;
        }
        let marketplace = marketplace.or(self.default_marketplace.as_deref());
        let chans = self.current.listings.entry(sku.to_string()).or_default();
        match chans.get(channel) {
            Some(&old) if old != qty => self.errors.push(
                RowError::new(C::CONFLICTING_VALUE,
                    line,
                    format!(
                        "seller SKU `{}` channel `{}` has quantity {qty} here but {old} on an earlier row",
                        clip(sku),
                        clip(channel)
                    ),
                )
                .help("Amazon keeps one quantity per seller SKU and channel in a region: the rows must agree"),
            ),
            _ => {
                chans.insert(channel.to_string(), qty);
            }
        }
        if let Some(m) = marketplace {
            self.current
                .listed_in
                .entry(sku.to_string())
                .or_default()
                .insert(m.to_string());
        }
    }

    fn finish(mut self, name: &str, warnings: Vec<String>) -> Result<Listings, InputError> {
        if !self.errors.is_empty() {
            return Err(InputError::rows(name, self.errors));
        }
        self.current.separate_amazon_channels();
        Ok(Listings {
            current: self.current,
            warnings,
        })
    }
}

/// A current quantity Amazon could have: at most its 32-bit maximum (what `plan` refuses to
/// write too). A larger one is a broken file, refused where it is read.
fn within_amazon_limit(qty: u64) -> Result<u64, (String, String)> {
    let max = crate::plan::MAX_QUANTITY;
    if qty > max {
        return Err((
            format!("the quantity {qty} is above Amazon's maximum {max}"),
            "Amazon keeps quantities from 0 to 2147483647: this file is not what Amazon shows; download the current listings again".into(),
        ));
    }
    Ok(qty)
}

/// Check the model's own form (`{"listings": …}`), read whole by serde: the same seller SKU
/// and quantity rules as the row formats, located by the line where the seller SKU first
/// appears in the text.
fn check_object(name: &str, cur: &Current, text: &str) -> Result<(), InputError> {
    let mut errors = RowErrors::default();
    let line_of = |sku: &str| {
        let key = serde_json::to_string(sku).unwrap_or_default();
        text.lines()
            .position(|l| l.contains(&key) || l.contains(sku))
            .map_or(0, |i| i as u64 + 1)
    };
    let skus = cur
        .listings
        .keys()
        .chain(cur.listed_in.keys())
        .chain(cur.amazon_fulfilled.keys());
    for sku in skus {
        match clean_sku(sku, "seller SKU") {
            Ok(t) if t.is_empty() || t.len() != sku.len() => errors.push(
                RowError::new(
                    C::BAD_SKU,
                    line_of(sku),
                    format!(
                        "the seller SKU `{}` is blank or has spaces around it",
                        clip(sku)
                    ),
                )
                .help("write the seller SKU as Amazon has it"),
            ),
            Ok(_) => {}
            Err((m, h)) => errors.push(RowError::new(C::BAD_SKU, line_of(sku), m).help(h)),
        }
    }
    for (sku, chans) in &cur.listings {
        for (channel, &q) in chans {
            if is_amazon_channel(channel) {
                continue;
            }
            if let Err((m, h)) = within_amazon_limit(q) {
                errors.push(
                    RowError::new(
                        C::BAD_QUANTITY,
                        line_of(sku),
                        format!(
                            "seller SKU `{}` channel `{}`: {m}",
                            clip(sku),
                            clip(channel)
                        ),
                    )
                    .help(h),
                );
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(InputError::rows(name, errors))
    }
}

/// A marketplace cell: a built-in code or marketplace ID, returned as the code.
pub fn marketplace(raw: &str) -> Result<String, (String, String)> {
    let t = raw.trim();
    // Data names a marketplace (no seller SKU is rendered from it): `GB` becomes Amazon's `UK`.
    if let Some(m) = crate::marketplaces::lookup_data(t) {
        return Ok(m.code);
    }
    let help = match crate::diag::did_you_mean(t, crate::marketplaces::codes()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => "use a marketplace code such as US or DE, or a marketplace ID (see `allot marketplaces`)".into(),
    };
    Err((format!("unknown marketplace `{}`", clip(t)), help))
}

/// The format of a file: an All Listings report by its header whatever its name, else by
/// extension (`.txt` and `.tsv` are reports), then by its first bytes.
pub fn detect(path: &Path, head: &[u8]) -> Format {
    crate::input::detect(
        path,
        head,
        &Formats {
            json: Format::Json,
            yaml: Format::Yaml,
            csv: Format::Csv,
            dialect: (
                Format::Amazon,
                |first_line| first_line.contains("seller-sku"),
                &["txt", "tsv"],
            ),
            header_first: true,
        },
    )
}

/// Read a current-listings file; `format` overrides detection. `marketplace` (a code) is where
/// rows that name no marketplace are listed (`--current-marketplace`: an All Listings report
/// is downloaded for one marketplace and does not say which).
pub fn read(
    path: &Path,
    format: Option<Format>,
    marketplace: Option<&str>,
) -> Result<Listings, InputError> {
    let name = path.display().to_string();
    let (reader, format) = crate::input::open(path, &name, format, detect)?;
    read_from(&name, reader, format, marketplace)
}

pub fn read_from<R: Read>(
    name: &str,
    reader: R,
    format: Format,
    marketplace: Option<&str>,
) -> Result<Listings, InputError> {
    let mut reader = crate::input::buffered(name, reader)?;
    match format {
        Format::Csv => read_csv(name, reader, marketplace),
        Format::Amazon => read_amazon(name, reader, marketplace),
        Format::Json => {
            let mut text = String::new();
            reader
                .read_to_string(&mut text)
                .map_err(|e| InputError::file(C::NOT_UTF8, name, format!("not UTF-8 text: {e}")))?;
            let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                InputError::file_at(
                    C::BAD_SYNTAX,
                    name,
                    e.line() as u64,
                    Some(e.column() as u64),
                    format!("not valid JSON: {e}"),
                    Some(LIST_HELP.into()),
                )
            })?;
            read_value(name, value, &text, Lines::Json, marketplace)
        }
        Format::Yaml => {
            let mut text = String::new();
            reader
                .read_to_string(&mut text)
                .map_err(|e| InputError::file(C::NOT_UTF8, name, format!("not UTF-8 text: {e}")))?;
            let value: serde_json::Value = serde_saphyr::from_str(&text).map_err(|e| {
                // The parser's message may quote a key whole (a fuzzed 50 KB key): clipped.
                let msg = crate::diag::clip_message(&e.to_string());
                InputError::file(C::BAD_SYNTAX, name, format!("not valid YAML: {msg}"))
            })?;
            read_value(name, value, &text, Lines::Yaml, marketplace)
        }
    }
}

const LIST_HELP: &str = "write a list of {\"seller_sku\": \"A-1\", \"channel\": \"DEFAULT\", \"quantity\": 5, \"marketplace\": \"US\"}";

#[derive(Clone, Copy)]
enum Lines {
    Json,
    Yaml,
}

/// The line where the n-th (0-based) item of the top-level list starts, found by scanning
/// for `"seller_sku"` keys (JSON) or `- ` items (YAML); 0 if it cannot be told.
fn item_lines(text: &str, how: Lines) -> Vec<u64> {
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let t = l.trim_start();
        let hit = match how {
            Lines::Json => t.contains("\"seller_sku\""),
            Lines::Yaml => t.starts_with("- ") && l.len() - t.len() == 0,
        };
        if hit {
            out.push(i as u64 + 1);
        }
    }
    out
}

fn read_value(
    name: &str,
    value: serde_json::Value,
    text: &str,
    how: Lines,
    default_marketplace: Option<&str>,
) -> Result<Listings, InputError> {
    use serde_json::Value;
    let mut acc = Acc::new(default_marketplace);
    match value {
        Value::Object(map) if map.contains_key("listings") => {
            let mut cur: Current = serde_json::from_value(Value::Object(map)).map_err(|e| {
                InputError::file(
                    C::BAD_SYNTAX,
                    name,
                    // serde quotes a value of the wrong type whole: cut it.
                    format!(
                        "not a valid current-listings object: {}",
                        crate::diag::clip_message(&e.to_string())
                    ),
                )
            })?;
            check_object(name, &cur, text)?;
            cur.separate_amazon_channels();
            return Ok(Listings {
                current: cur,
                warnings: Vec::new(),
            });
        }
        Value::Array(items) => {
            let lines = item_lines(text, how);
            let keys = ["seller_sku", "channel", "quantity", "marketplace"];
            for (n, item_value) in items.into_iter().enumerate() {
                let line = lines.get(n).copied().unwrap_or(0);
                let item = Item {
                    n: n as u64 + 1,
                    line,
                    column: None,
                };
                let err = |code: &'static str, m: String| item.error(code, m);
                let Value::Object(obj) = item_value else {
                    acc.errors
                        .push(err(C::BAD_ITEM, "expected a map".into()).help(LIST_HELP));
                    continue;
                };
                item.unknown_keys(obj.keys(), &keys, &mut acc.errors);
                // A seller SKU that is not text reads as blank.
                let raw_sku = obj.get("seller_sku").map(|v| match v {
                    Value::String(s) => s.as_str(),
                    _ => "",
                });
                let blank = "`seller_sku` is missing or blank";
                let texts = (blank, blank, LIST_HELP);
                let sku_read = item.sku(raw_sku, "seller_sku", "seller SKU", texts);
                let Some(sku) = acc.errors.keep(sku_read) else {
                    continue;
                };
                let channel = match obj.get("channel") {
                    None => DEFAULT_CHANNEL.to_string(),
                    Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
                    Some(_) => {
                        acc.errors.push(
                            err(C::BAD_VALUE, "`channel` must be a non-blank string".into())
                                .field(None, "channel")
                                .help("DEFAULT, or a supply source's channel code"),
                        );
                        continue;
                    }
                };
                // Amazon's own quantity (FBA) needs no value: it is never written.
                let fba = is_amazon_channel(&channel);
                let qty = match obj.get("quantity") {
                    Some(Value::Null) | None if fba => Ok(0),
                    Some(Value::Number(n)) => match n.as_u64() {
                        Some(q) => Ok(q),
                        None => parse_quantity(&n.to_string()),
                    },
                    Some(Value::String(s)) => parse_quantity(s),
                    Some(Value::Null) | None => Err((
                        "the quantity is missing or null".into(),
                        "write the quantity Amazon shows (0 if none); a missing quantity is never read as 0".into(),
                    )),
                    Some(_) => Err(("the quantity is not a number".into(), "write a whole number".into())),
                };
                let qty = match qty {
                    Ok(q) => q,
                    Err((m, h)) => {
                        acc.errors
                            .push(err(C::BAD_QUANTITY, m).field(None, "quantity").help(h));
                        continue;
                    }
                };
                let mkt = match obj.get("marketplace") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => match marketplace(s) {
                        Ok(m) => Some(m),
                        Err((m, h)) => {
                            acc.errors
                                .push(err(C::BAD_VALUE, m).field(None, "marketplace").help(h));
                            continue;
                        }
                    },
                    Some(_) => {
                        acc.errors.push(
                            err(C::BAD_VALUE, "`marketplace` must be a string".into())
                                .field(None, "marketplace")
                                .help("a code such as US"),
                        );
                        continue;
                    }
                };
                acc.add((line, None), &sku, &channel, qty, mkt.as_deref());
            }
        }
        _ => {
            return Err(InputError::File {
                code: C::BAD_SYNTAX,
                path: name.to_string(),
                line: None,
                column: None,
                message: "expected a list of current listings".into(),
                help: Some(LIST_HELP.into()),
            });
        }
    }
    acc.finish(name, Vec::new())
}

fn read_csv<R: Read>(
    name: &str,
    reader: R,
    default_marketplace: Option<&str>,
) -> Result<Listings, InputError> {
    let mut rdr = csv_reader(reader, b',', true);
    let header = Header::new(rdr.headers().map_err(|e| csv_error(name, e))?);
    header.unique(name, |_| true)?;
    let [c_sku, c_qty] = header.require(["seller_sku", "quantity"]).map_err(|_| {
        missing_column(
            name,
            "the header needs `seller_sku` and `quantity` columns",
            "write `seller_sku,channel,quantity,marketplace` (channel and marketplace are optional)",
        )
    })?;
    let c_chan = header.find("channel");
    let c_mkt = header.find("marketplace");
    let hname = |i: usize| header.name(i);
    let mut acc = Acc::new(default_marketplace);
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(name, e)),
        }
        let line = rec.position().map_or(0, |p| p.line());
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if let Err(e) = header.check_len(line, rec.len(), "one value per header column") {
            acc.errors.push(e);
            continue;
        }
        let cell = |i: usize| rec.get(i).unwrap_or("").trim();
        let sku_read = header.sku(line, c_sku, rec.get(c_sku).unwrap_or(""), "seller SKU");
        let Some(sku) = acc.errors.keep(sku_read) else {
            continue;
        };
        if sku.is_empty() {
            acc.errors.push(header.blank_sku(
                line,
                c_sku,
                "seller SKU",
                "every row needs the seller SKU",
            ));
            continue;
        }
        let channel = match c_chan {
            None => DEFAULT_CHANNEL,
            Some(c) if cell(c).is_empty() => {
                acc.errors.push(
                    RowError::new(C::BAD_VALUE, line, "the channel is blank")
                        .field(Some(c as u64 + 1), hname(c))
                        .help("write DEFAULT or the supply source's channel code"),
                );
                continue;
            }
            Some(c) => cell(c),
        };
        // Amazon's own quantity (FBA) may be blank: it is never written.
        let qty = if is_amazon_channel(channel) && cell(c_qty).is_empty() {
            Some(0)
        } else {
            acc.errors.keep(header.quantity(line, c_qty, cell(c_qty)))
        };
        let Some(qty) = qty else {
            continue;
        };
        let mkt = match c_mkt.map(cell).filter(|m| !m.is_empty()) {
            None => None,
            Some(m) => match marketplace(m) {
                Ok(m) => Some(m),
                Err(e) => {
                    let c = c_mkt.unwrap_or(0);
                    acc.errors.push(header.cell_error(C::BAD_VALUE, line, c, e));
                    continue;
                }
            },
        };
        acc.add(
            (line, Some(c_qty as u64 + 1)),
            sku,
            channel,
            qty,
            mkt.as_deref(),
        );
    }
    acc.finish(name, Vec::new())
}

/// Amazon's All Listings report. Its text is not always UTF-8 and not CSV-quoted (titles hold
/// quotes), so it is read as raw tab-separated bytes and only the needed columns are decoded.
///
/// FBA rows (`fulfillment-channel` AMAZON_NA, AMAZON_EU…, whose stock Amazon manages; their
/// `quantity` is empty) are read as Amazon-fulfilled: known, never written. A merchant row with
/// an empty `quantity` (an inactive listing) is read as listed with its quantity unknown (never
/// as 0). A note counts both.
fn read_amazon<R: Read>(
    name: &str,
    reader: R,
    default_marketplace: Option<&str>,
) -> Result<Listings, InputError> {
    let mut rdr = csv_reader(reader, b'\t', false);
    let header = Header::from_bytes(rdr.byte_headers().map_err(|e| csv_error(name, e))?);
    // Only the columns read must be unique: the report's others are not allot's business.
    let read = ["seller-sku", "quantity", "fulfillment-channel"];
    header.unique(name, |h| read.contains(&h))?;
    let [c_sku, c_qty] = header.require(["seller-sku", "quantity"]).map_err(|_| {
        missing_column(
            name,
            "the header needs `seller-sku` and `quantity` columns",
            "download the All Listings report (Inventory > Inventory Reports) as tab-delimited text",
        )
    })?;
    let c_chan = header.find("fulfillment-channel");
    let mut acc = Acc::new(default_marketplace);
    let (mut fba, mut inactive) = (0u64, 0u64);
    let mut rec = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(name, e)),
        }
        let line = rec.position().map_or(0, |p| p.line());
        if rec.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        let raw = |i: usize| -> Result<&str, RowError> {
            std::str::from_utf8(rec.get(i).unwrap_or(b"")).map_err(|_| {
                RowError::new(C::NOT_UTF8, line, "the cell is not valid UTF-8")
                    // The name as written, untrimmed, as this report has always shown it.
                    .field(Some(i as u64 + 1), header.raw_name(i))
                    .help("re-save the report as UTF-8")
            })
        };
        let text = |i: usize| raw(i).map(str::trim);
        let sku = raw(c_sku).and_then(|s| {
            clean_sku(s, "seller SKU")
                .map_err(|e| RowError::cell(C::BAD_SKU, line, c_sku, "seller-sku", e))
        });
        let cells = (sku, text(c_qty), c_chan.map(text).transpose());
        let (sku, qty_raw, chan) = match cells {
            (Ok(s), Ok(q), Ok(c)) => (s, q, c),
            (a, b, c) => {
                for e in [a.err(), b.err(), c.err()].into_iter().flatten() {
                    acc.errors.push(e);
                }
                continue;
            }
        };
        if sku.is_empty() {
            acc.errors.push(blank_sku(
                line,
                c_sku,
                "seller-sku",
                "seller SKU",
                "every row of the report names a seller SKU",
            ));
            continue;
        }
        let channel = match chan {
            Some(c) if !c.is_empty() => c,
            _ => DEFAULT_CHANNEL,
        };
        if is_amazon_channel(channel) {
            fba += 1;
            acc.known(sku, channel, None);
            continue;
        }
        if qty_raw.is_empty() {
            inactive += 1;
            acc.known(sku, channel, None);
            continue;
        }
        match parse_quantity(qty_raw) {
            Ok(q) => acc.add((line, Some(c_qty as u64 + 1)), sku, channel, q, None),
            Err(e) => acc
                .errors
                .push(RowError::cell(C::BAD_QUANTITY, line, c_qty, "quantity", e)),
        }
    }
    let mut warnings = Vec::new();
    if fba > 0 {
        warnings.push(format!(
            "{name}: {fba} FBA row{} (fulfilled by Amazon): allot never writes these seller SKUs",
            if fba == 1 { "" } else { "s" }
        ));
    }
    if inactive > 0 {
        warnings.push(format!("{name}: {inactive} row{} with an empty quantity (inactive listings) read as listed with the quantity unknown", if inactive == 1 { "" } else { "s" }));
    }
    acc.finish(name, warnings)
}

/// Channel map of one SKU, for tests.
#[cfg(test)]
fn chans(l: &Listings, sku: &str) -> std::collections::BTreeMap<String, u64> {
    l.current
        .listings
        .get(sku)
        .map(std::collections::BTreeMap::from)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by tests/fuzz.rs: a YAML key of 55,000 characters given twice was quoted whole in
    /// the parser's message, twice (a 110 KB error).
    #[test]
    fn a_huge_yaml_key_is_not_echoed_whole() {
        let key = "x".repeat(55_000);
        // As the fuzzer made it: keys without values in a flow mapping.
        let text = format!("{{\n  \"a\": 1,\n  {key}\",\n  {key}\",\n}}\n");
        let Err(err) = rd(&text, Format::Yaml) else {
            panic!("a duplicate key is refused");
        };
        let msg = err.to_string();
        assert!(msg.len() < 4_000, "{} bytes", msg.len());
        assert!(msg.contains("duplicate mapping key"), "{msg}");
    }

    /// Found by tests/fuzz.rs: a current-listings object whose quantity, read as YAML, is a
    /// string of 120,000 characters was quoted whole in serde's message.
    #[test]
    fn a_huge_value_of_the_wrong_type_is_not_echoed_whole() {
        let text = format!(
            r#"{{"listings": {{"A": {{"DEFAULT":  1{}}}}}}}"#,
            "x".repeat(120_000)
        );
        for f in [Format::Yaml, Format::Json] {
            let Err(err) = rd(&text, f) else {
                panic!("a quantity that is not a number is refused");
            };
            let msg = err.to_string();
            assert!(msg.len() < 4_000, "{f:?}: {} bytes", msg.len());
        }
        let msg = rd(&text, Format::Yaml).unwrap_err().to_string();
        assert!(msg.contains("invalid type: string \"1xxx"), "{msg}");
        assert!(msg.contains("characters cut"), "{msg}");
    }

    fn rd(text: &str, f: Format) -> Result<Listings, InputError> {
        read_from("cur", text.as_bytes(), f, None)
    }

    #[test]
    fn json_list_with_marketplaces() {
        let l = rd(
            r#"[{"seller_sku":"A-US","channel":"DEFAULT","quantity":4,"marketplace":"US"},
                {"seller_sku":"C","quantity":2,"marketplace":"MX"},
                {"seller_sku":"C","quantity":2,"marketplace":"A2EUQ1WTGCTBG2"}]"#,
            Format::Json,
        )
        .unwrap();
        assert_eq!(chans(&l, "A-US")["DEFAULT"], 4);
        assert_eq!(
            l.current.listed_in["C"].iter().collect::<Vec<_>>(),
            vec!["CA", "MX"]
        );
    }

    #[test]
    fn json_errors_are_collected_and_located() {
        let text = "[\n {\"seller_sku\": \"A\", \"quantity\": -1},\n {\"seller_sku\": \"B\", \"quantity\": null},\n {\"seller_sku\": \"C\", \"quantity\": 1, \"marketplace\": \"UZ\"},\n {\"seler_sku\": \"D\", \"quantity\": 1}\n]";
        let e = rd(text, Format::Json).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("cur:2") && s.contains("negative"), "{s}");
        assert!(s.contains("cur:3") && s.contains("null"), "{s}");
        assert!(s.contains("unknown marketplace `UZ`"), "{s}");
        assert!(s.contains("did you mean `seller_sku`"), "{s}");
    }

    #[test]
    fn conflicting_quantities_for_one_sku_are_refused() {
        let e = rd(
            "seller_sku,channel,quantity,marketplace\nA,DEFAULT,3,US\nA,DEFAULT,5,CA\n",
            Format::Csv,
        )
        .unwrap_err();
        assert!(e.to_string().contains("cur:3"), "{e}");
    }

    #[test]
    fn csv_blank_quantity_is_an_error() {
        let e = rd("seller_sku,quantity\r\nA,\r\n", Format::Csv).unwrap_err();
        assert!(e.to_string().contains("blank"), "{e}");
    }

    #[test]
    fn amazon_report_reads_fba_and_inactive_rows_as_known_not_as_quantities() {
        let text = "item-name\tlisting-id\tseller-sku\tprice\tquantity\tfulfillment-channel\tstatus\n\
                    Mug \"big\"\t1\tMUG-1-US\t9.99\t7\tDEFAULT\tActive\n\
                    Pants\t2\tYOGA-1-US\t20\t\tAMAZON_NA\tActive\n\
                    Old\t3\tOLD-1\t5\t\tDEFAULT\tInactive\n";
        let l = read_from(
            "rep.txt",
            (&b"\xEF\xBB\xBF"[..]).chain(text.as_bytes()),
            Format::Amazon,
            Some("US"),
        )
        .unwrap();
        assert_eq!(chans(&l, "MUG-1-US")["DEFAULT"], 7);
        assert!(!l.current.listings.contains_key("YOGA-1-US"));
        assert_eq!(l.current.amazon_fulfilled["YOGA-1-US"], "AMAZON_NA");
        assert!(l.current.knows("OLD-1") && !l.current.listings.contains_key("OLD-1"));
        assert!(l.current.listed_in["MUG-1-US"].contains("US"));
        assert_eq!(l.warnings.len(), 2, "{:?}", l.warnings);
        assert_eq!(detect(Path::new("x.txt"), text.as_bytes()), Format::Amazon);
    }

    #[test]
    fn object_form_round_trips() {
        let mut c = Current::default();
        c.listings
            .insert("A".into(), [("DEFAULT".to_string(), 1)].into());
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(rd(&text, Format::Json).unwrap().current, c);
    }

    #[test]
    fn yaml_list() {
        let l = rd(
            "- seller_sku: A\n  channel: DEFAULT\n  quantity: 3\n- seller_sku: B\n  quantity: 0\n",
            Format::Yaml,
        )
        .unwrap();
        assert_eq!(chans(&l, "A")["DEFAULT"], 3);
        assert_eq!(chans(&l, "B")["DEFAULT"], 0);
    }
}

#[cfg(test)]
mod input_fault_tests {
    use super::*;

    fn rd(text: &str, f: Format) -> Result<Listings, InputError> {
        read_from("cur", text.as_bytes(), f, None)
    }

    #[test]
    fn a_current_quantity_above_amazons_maximum_is_refused_where_it_is_read() {
        let csv = "seller_sku,quantity\nA,2147483647\nB,2147483648\n";
        let e = rd(csv, Format::Csv).unwrap_err().to_string();
        assert!(
            e.contains("cur:3, column 2 (quantity): the quantity 2147483648 is above Amazon's maximum 2147483647"),
            "{e}"
        );
        let json = "[\n{\"seller_sku\": \"A\", \"quantity\": 99999999999}\n]";
        let e = rd(json, Format::Json).unwrap_err().to_string();
        assert!(
            e.contains("cur:2") && e.contains("above Amazon's maximum"),
            "{e}"
        );
        let report = "seller-sku\tquantity\nA\t4294967296\n";
        let e = rd(report, Format::Amazon).unwrap_err().to_string();
        assert!(
            e.contains("cur:2, column 2") && e.contains("above Amazon's maximum"),
            "{e}"
        );
        let obj = "{\"listings\": {\n\"A\": {\"DEFAULT\": 3000000000}}}";
        let e = rd(obj, Format::Json).unwrap_err().to_string();
        assert!(
            e.contains("cur:2") && e.contains("above Amazon's maximum"),
            "{e}"
        );
        // Amazon's own (FBA) quantities are never read, so never refused.
        let fba = "seller_sku,channel,quantity\nF,AMAZON_NA,3000000000\n";
        assert!(rd(fba, Format::Csv).is_ok());
    }

    #[test]
    fn duplicate_header_names_are_refused_naming_both_columns() {
        let e = rd("seller_sku,quantity,Quantity\nA,1,2\n", Format::Csv)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cur:1:3: columns 2 and 3 of the header are both named `Quantity`"),
            "{e}"
        );
        let e = rd(
            "seller-sku\tquantity\tseller-sku\nA\t1\tB\n",
            Format::Amazon,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("columns 1 and 3"), "{e}");
        // The report's columns allot does not read may repeat.
        assert!(rd("seller-sku\tquantity\tx\tx\nA\t1\t\t\n", Format::Amazon).is_ok());
    }

    #[test]
    fn invisible_characters_in_a_seller_sku_are_refused_by_code_point() {
        let e = rd("seller_sku,quantity\nA\u{200B},1\n", Format::Csv)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cur:2, column 1") && e.contains("U+200B"), "{e}");
        let e = rd("seller-sku\tquantity\nA\u{A0}\t1\n", Format::Amazon)
            .unwrap_err()
            .to_string();
        assert!(e.contains("U+00A0"), "{e}");
        let e = rd(
            r#"[{"seller_sku": "\ufeffA", "quantity": 1}]"#,
            Format::Json,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("U+FEFF"), "{e}");
        let e = rd(r#"{"listings": {"A\u200d": {"DEFAULT": 1}}}"#, Format::Json)
            .unwrap_err()
            .to_string();
        assert!(e.contains("U+200D"), "{e}");
    }

    #[test]
    fn quantities_are_plain_digits_in_every_format() {
        for q in ["1e3", "+7", "12.0"] {
            let e = rd(&format!("seller_sku,quantity\nA,{q}\n"), Format::Csv).unwrap_err();
            assert!(e.to_string().contains("not a whole number"), "{q}: {e}");
        }
        let e = rd(r#"[{"seller_sku": "A", "quantity": 1e3}]"#, Format::Json).unwrap_err();
        assert!(e.to_string().contains("not a whole number"), "{e}");
    }

    #[test]
    fn a_huge_cell_is_quoted_by_its_start_and_length_only() {
        let sku = "S".repeat(100_000);
        let text =
            format!("seller_sku,quantity,marketplace\n{sku},1,US\n{sku},2,CA\n{sku},1,{sku}\n");
        let e = rd(&text, Format::Csv).unwrap_err().to_string();
        assert!(e.len() < 4_000, "{} bytes", e.len());
        assert!(e.contains("(100000 characters)"), "{e}");
    }
}

#[cfg(test)]
mod fba_tests {
    use super::*;

    #[test]
    fn amazon_channels_in_any_format_are_fulfilled_by_amazon_not_quantities() {
        let json = r#"[{"seller_sku":"F","channel":"AMAZON_NA","marketplace":"US"},
                       {"seller_sku":"M","channel":"DEFAULT","quantity":3,"marketplace":"US"}]"#;
        let csv = "seller_sku,channel,quantity,marketplace\nF,AMAZON_NA,,US\nM,DEFAULT,3,US\n";
        let obj = r#"{"listings":{"F":{"AMAZON_NA":0},"M":{"DEFAULT":3}}}"#;
        for (text, f) in [
            (json, Format::Json),
            (csv, Format::Csv),
            (obj, Format::Json),
        ] {
            let l = read_from("cur", text.as_bytes(), f, None).unwrap();
            assert_eq!(l.current.amazon_fulfilled["F"], "AMAZON_NA", "{text}");
            assert!(!l.current.listings.contains_key("F"), "{text}");
            assert!(l.current.knows("F"));
            assert_eq!(chans(&l, "M")["DEFAULT"], 3);
        }
    }

    #[test]
    fn current_marketplace_fills_rows_that_name_none() {
        let l = read_from(
            "cur",
            "seller_sku,quantity\nA,4\n".as_bytes(),
            Format::Csv,
            Some("CA"),
        )
        .unwrap();
        assert!(l.current.listed_in["A"].contains("CA"));
        let l = read_from(
            "cur",
            "seller_sku,quantity,marketplace\nA,4,US\n".as_bytes(),
            Format::Csv,
            Some("CA"),
        )
        .unwrap();
        assert_eq!(l.current.listed_in["A"].iter().collect::<Vec<_>>(), ["US"]);
    }
}
