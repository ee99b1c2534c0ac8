//! Inventory snapshot readers (`--inventory FILE`): generic CSV, Shopify's inventory CSV export,
//! JSON and YAML. Readers stream: memory grows with the number of distinct SKUs, not with the
//! size of the file. Every bad row is reported with its place; one bad row fails the whole file
//! (no partial stock is ever simulated). See docs/inventory.md.

use std::io::Read;
use std::path::Path;

use rustc_hash::FxHashMap;

use crate::model::{InventoryOptions, Location, LocationIx};

mod csv_generic;
pub mod error;
mod pipeline;
mod serde_list;
mod shopify;
mod stock;

/// The codes as the readers name them: short, since nearly every error site names one.
use error::codes as C;
pub use error::{InputError, InventoryError, RowError, RowErrors, codes};
pub use stock::{AddError, Conflict, Stock, StockEntry, StockItem};

use crate::diag::clip;
// The readers' shared parts, named here so that the format modules find them with the rest.
use crate::input::{Formats, head, parse_quantity};

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

/// The text of a negative whole number (`-2`, ` -15 `), trimmed, if `raw` is one.
fn negative_text(raw: &str) -> Option<&str> {
    let t = raw.trim();
    let digits = t.strip_prefix('-')?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(t)
}

/// The help of a refused negative quantity, naming the policy option that reads it as 0.
const NEGATIVE_HELP: &str = "quantities are whole numbers of items, 0 or more; if the inventory system allows negative counts (Shopify does), add `inventory negative_as_zero` to the policy to read them as 0, with a warning";

/// The rows an `inventory` option let through, counted across every file of one read, so the
/// preview gets one warning per option however many files and rows there are. Readers ask it
/// for locations and quantities; in a read of several files it also keeps the line of every
/// row added (`lines`), so a row found in two files can be named in both.
#[derive(Debug, Default)]
pub(crate) struct Untidy {
    opts: InventoryOptions,
    /// The file being read, and the files that had rows counted here.
    file: String,
    unknown_files: Vec<String>,
    unknown_rows: u64,
    /// The first distinct names, as written.
    unknown_names: Vec<String>,
    unknown_more: bool,
    /// For [`location_names`]: every unknown location as first written (with its normalised
    /// form, which decides whether two spellings are one location), its rows left out.
    discovered: Option<Vec<(String, String)>>,
    /// What is noted of rows once they are added: apart, so that a reader can add rows on
    /// one thread while its cells are read on another ([`Untidy::take_added`]).
    added: Added,
}

/// What [`Untidy`] notes of the rows added to a stock.
#[derive(Debug, Default)]
pub(crate) struct Added {
    /// The file being read (as `Untidy::file`).
    file: String,
    negative_files: Vec<String>,
    negative_rows: u64,
    /// The first few, as `SKU at location (-2)`.
    negative_named: Vec<String>,
    /// With several files: the line of each row added, in the order added.
    lines: Option<Vec<u64>>,
}

/// How many SKUs or locations a warning names.
const NAMED: usize = 5;

impl Untidy {
    pub(crate) fn new(opts: InventoryOptions) -> Self {
        Untidy {
            opts,
            ..Untidy::default()
        }
    }

    /// The file whose rows are read next.
    pub(crate) fn set_file(&mut self, name: &str) {
        self.file = name.to_string();
        self.added.file = name.to_string();
    }

    /// The notes of rows added, taken out to be kept on the thread that adds them; give them
    /// back with [`Untidy::put_added`].
    pub(crate) fn take_added(&mut self) -> Added {
        std::mem::take(&mut self.added)
    }

    pub(crate) fn put_added(&mut self, added: Added) {
        self.added = added;
    }

    fn note_file(files: &mut Vec<String>, file: &str) {
        if files.last().is_none_or(|f| f != file) {
            files.push(file.to_string());
        }
    }

    /// A row's location: `Ok(None)` when it is unknown and `ignore_unknown_locations` leaves
    /// the row out (counted). A blank location is an error either way.
    pub(crate) fn location(
        &mut self,
        resolver: &mut LocationResolver<'_>,
        name: &str,
    ) -> Result<Option<LocationIx>, (String, String)> {
        match resolver.resolve(name) {
            Ok(l) => Ok(Some(l)),
            Err(_) if self.discovered.is_some() && !name.trim().is_empty() => {
                let name = name.trim();
                let key = normalise(name);
                let found = self.discovered.get_or_insert_with(Vec::new);
                if !found.iter().any(|(_, k)| *k == key) {
                    found.push((name.to_string(), key));
                }
                Ok(None)
            }
            Err(_) if self.opts.ignore_unknown_locations && !name.trim().is_empty() => {
                self.unknown_rows += 1;
                Untidy::note_file(&mut self.unknown_files, &self.file);
                let name = name.trim();
                if !self.unknown_names.iter().any(|n| n == name) {
                    if self.unknown_names.len() < NAMED {
                        self.unknown_names.push(name.to_string());
                    } else {
                        self.unknown_more = true;
                    }
                }
                Ok(None)
            }
            // A near name is likely a typo: the fix comes first, the option only after.
            Err((m, h)) if !name.trim().is_empty() => Err((
                m,
                if h.ends_with('?') {
                    format!(
                        "{h} If it is a location the policy does not allot, add `inventory ignore_unknown_locations` to the policy to leave its rows out (with a warning)"
                    )
                } else {
                    format!(
                        "{h}; or add `inventory ignore_unknown_locations` to the policy to leave out the rows of locations it does not declare (with a warning)"
                    )
                },
            )),
            Err(e) => Err(e),
        }
    }

    /// A quantity cell: with `negative_as_zero`, a negative whole number is 0 (and `true`:
    /// the row is counted once it is added, see [`Untidy::negative_row`]).
    pub(crate) fn quantity(&self, raw: &str) -> Result<(u64, bool), (String, String)> {
        if let Some(q) = crate::input::plain_quantity(raw) {
            return Ok((q, false));
        }
        match negative_text(raw) {
            Some(_) if self.opts.negative_as_zero => Ok((0, true)),
            Some(t) => Err((
                format!("the quantity `{}` is negative", clip(t)),
                NEGATIVE_HELP.into(),
            )),
            None => parse_quantity(raw).map(|q| (q, false)),
        }
    }

    /// A quantity given as a number (JSON, YAML).
    pub(crate) fn signed(&self, v: i64) -> Result<(u64, bool), (String, String)> {
        match u64::try_from(v) {
            Ok(q) => Ok((q, false)),
            Err(_) if self.opts.negative_as_zero => Ok((0, true)),
            Err(_) => Err((
                format!("the quantity {v} is negative"),
                NEGATIVE_HELP.into(),
            )),
        }
    }

    /// A row added with negative quantities read as 0 (`values` as written).
    pub(crate) fn negative_row(&mut self, sku: &str, location: &str, values: &[String]) {
        self.added.negative_row(sku, location, values);
    }

    /// A row was added to the stock (in a read of several files, its line is kept).
    pub(crate) fn added(&mut self, line: u64) {
        self.added.added(line);
    }

    /// One warning per option that let rows through.
    pub(crate) fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        let a = &self.added;
        if a.negative_rows > 0 {
            let n = a.negative_rows;
            out.push(format!(
                "{}: {n} inventory row{} with a negative quantity read as 0 (inventory negative_as_zero): {}{}",
                a.negative_files.join(", "),
                plural(n),
                a.negative_named.join(", "),
                if n > a.negative_named.len() as u64 { ", …" } else { "" }
            ));
        }
        if self.unknown_rows > 0 {
            let n = self.unknown_rows;
            let names: Vec<String> = self
                .unknown_names
                .iter()
                .map(|l| format!("`{}`", clip(l)))
                .collect();
            out.push(format!(
                "{}: {n} inventory row{} left out for location{} the policy does not declare (inventory ignore_unknown_locations): {}{}; declare a location with `location NAME` to allot its stock",
                self.unknown_files.join(", "),
                plural(n),
                if names.len() == 1 && !self.unknown_more { "" } else { "s" },
                names.join(", "),
                if self.unknown_more { ", …" } else { "" }
            ));
        }
        out
    }
}

impl Added {
    /// A row added with negative quantities read as 0 (`values` as written).
    pub(crate) fn negative_row(&mut self, sku: &str, location: &str, values: &[String]) {
        self.negative_rows += 1;
        Untidy::note_file(&mut self.negative_files, &self.file);
        if self.negative_named.len() < NAMED {
            self.negative_named.push(format!(
                "{} at {location} ({})",
                clip(sku),
                values.join(", ")
            ));
        }
    }

    /// A row was added to the stock (in a read of several files, its line is kept).
    pub(crate) fn added(&mut self, line: u64) {
        if let Some(lines) = &mut self.lines {
            lines.push(line);
        }
    }
}

/// The row error for a SKU whose stock over its rows overflows.
pub(crate) fn overflow_error(line: u64, col: Option<u64>, field: &str, sku: &str) -> RowError {
    RowError::new(C::STOCK_OVERFLOW,
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
    cache: FxHashMap<Box<str>, Option<LocationIx>>,
}

impl<'a> LocationResolver<'a> {
    pub fn new(locations: &'a [Location]) -> Self {
        LocationResolver {
            locations,
            normalised: locations.iter().map(|l| normalise(&l.name)).collect(),
            cache: FxHashMap::default(),
        }
    }

    pub fn resolve(&mut self, name: &str) -> Result<LocationIx, (String, String)> {
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

/// The format of a file: by extension, then by its first bytes; a CSV whose header has
/// Shopify's columns is Shopify's export.
pub fn detect(path: &Path, head: &[u8]) -> Format {
    crate::input::detect(
        path,
        head,
        &Formats {
            json: Format::Json,
            yaml: Format::Yaml,
            csv: Format::Csv,
            dialect: (Format::Shopify, looks_shopify, &[]),
            header_first: false,
        },
    )
}

/// A (lower-cased) header line of Shopify's inventory export.
fn looks_shopify(first_line: &str) -> bool {
    first_line.contains("handle")
        && first_line.contains("location")
        && (first_line.contains("on hand") || first_line.contains("available"))
}

/// One inventory input of a read: a file, or standard input (`-`) already read whole (it
/// cannot be read twice, and it is read once per policy).
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    File(&'a Path),
    Stdin(&'a [u8]),
}

impl Input<'_> {
    /// The name errors and warnings give it.
    pub fn name(&self) -> String {
        match self {
            Input::File(p) => p.display().to_string(),
            Input::Stdin(_) => "<stdin>".to_string(),
        }
    }
}

/// The location names of an inventory file as written, in the order first seen, one per
/// location: names that differ only in case or punctuation (`Newark Warehouse`,
/// `newark_warehouse`) are one location to [`LocationResolver`], so only the first spelling is
/// given. For `allot init`, which declares the locations of a policy it has not written yet.
/// Rows are not otherwise read (a bad quantity is found by the real read, with the policy's
/// locations).
pub fn location_names(path: &Path, format: Option<Format>) -> Result<Vec<String>, InventoryError> {
    let mut untidy = Untidy::new(InventoryOptions::default());
    untidy.discovered = Some(Vec::new());
    let name = path.display().to_string();
    untidy.set_file(&name);
    read_path(path, &name, format, &[], &mut untidy)?;
    Ok(untidy
        .discovered
        .unwrap_or_default()
        .into_iter()
        .map(|(raw, _)| raw)
        .collect())
}

/// The form a location name is matched in ([`LocationResolver`]): lower case, each run of
/// characters other than letters and digits read as one `_`, none at either end.
pub fn normalised_location(name: &str) -> String {
    normalise(name)
}

/// Read an inventory file. `format` overrides detection; locations are resolved against the
/// policy's, and `opts` (the policy's `inventory` line) says which untidy rows are read.
pub fn read(
    path: &Path,
    format: Option<Format>,
    locations: &[Location],
    opts: InventoryOptions,
) -> Result<Stock, InventoryError> {
    read_all(&[Input::File(path)], format, locations, opts)
}

/// Read an inventory from any reader (the name is used in errors).
pub fn read_from<R: Read>(
    name: &str,
    reader: R,
    format: Format,
    locations: &[Location],
    opts: InventoryOptions,
) -> Result<Stock, InventoryError> {
    let mut untidy = Untidy::new(opts);
    untidy.set_file(name);
    let stock = read_one(name, reader, format, locations, &mut untidy)?;
    Ok(finish(stock, name, &untidy))
}

/// Read one or more inventory inputs as if they were one file: each with its own format
/// (`format`, else detected), rows added up into one stock. A SKU's row at one location in two
/// inputs is an error naming both; its tags are united and its attributes must agree, as across
/// the rows of one file.
pub fn read_all(
    inputs: &[Input<'_>],
    format: Option<Format>,
    locations: &[Location],
    opts: InventoryOptions,
) -> Result<Stock, InventoryError> {
    let mut untidy = Untidy::new(opts);
    if inputs.len() > 1 {
        untidy.added.lines = Some(Vec::new());
    }
    let names: Vec<String> = inputs.iter().map(Input::name).collect();
    // One file given twice would make every row a duplicate of itself: say so once.
    for (i, input) in inputs.iter().enumerate() {
        if let Input::File(p) = input
            && inputs[..i]
                .iter()
                .any(|q| matches!(q, Input::File(q) if q == p))
        {
            return Err(InputError::File {
                code: C::REPEATED_FILE,
                path: names[i].clone(),
                line: None,
                column: None,
                message: "this file is given twice as --inventory".into(),
                help: Some("give each inventory file once".into()),
            });
        }
    }
    let mut all: Option<Stock> = None;
    // With several inputs: the (input, line) of every row of `all`, in the order added.
    let mut origins: Vec<(usize, u64)> = Vec::new();
    for (i, (input, name)) in inputs.iter().zip(&names).enumerate() {
        untidy.set_file(name);
        let stock = match *input {
            Input::File(path) => read_path(path, name, format, locations, &mut untidy)?,
            Input::Stdin(bytes) => {
                let format = format.unwrap_or_else(|| detect(Path::new("-"), head(bytes)));
                read_one(name, bytes, format, locations, &mut untidy)?
            }
        };
        let lines = untidy
            .added
            .lines
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        match &mut all {
            None => {
                origins.extend(lines.into_iter().map(|l| (i, l)));
                all = Some(stock);
            }
            Some(all) => {
                merge(all, &stock, i, &lines, &names, locations, &mut origins)?;
                all.warnings.extend(stock.warnings);
            }
        }
    }
    let stock = all.unwrap_or_default();
    Ok(finish(stock, &names.join(", "), &untidy))
}

fn read_path(
    path: &Path,
    name: &str,
    format: Option<Format>,
    locations: &[Location],
    untidy: &mut Untidy,
) -> Result<Stock, InventoryError> {
    let (reader, format) = crate::input::open(path, name, format, detect)?;
    read_one(name, reader, format, locations, untidy)
}

/// Read one input's rows into a stock of its own (not yet shrunk: its rows are in the order
/// added, which `merge` relies on).
fn read_one<R: Read>(
    name: &str,
    reader: R,
    format: Format,
    locations: &[Location],
    untidy: &mut Untidy,
) -> Result<Stock, InventoryError> {
    let reader = crate::input::buffered(name, reader)?;
    match format {
        Format::Csv => csv_generic::read(name, reader, locations, untidy),
        Format::Shopify => shopify::read(name, reader, locations, untidy),
        Format::Json => serde_list::read_json(name, reader, locations, untidy),
        Format::Yaml => serde_list::read_yaml(name, reader, locations, untidy),
    }
}

/// Add input `i`'s stock to the stock of the inputs before it. `lines` are the lines of its
/// rows in the order added; `origins` those of `all`'s, extended with the rows added here.
fn merge(
    all: &mut Stock,
    stock: &Stock,
    i: usize,
    lines: &[u64],
    names: &[String],
    locations: &[Location],
    origins: &mut Vec<(usize, u64)>,
) -> Result<(), InventoryError> {
    let mut errors = RowErrors::default();
    let line_of = |row: usize| lines.get(row).copied().unwrap_or(0);
    let at = |(input, line): (usize, u64)| {
        format!("{}:{line}", names.get(input).map_or("?", String::as_str))
    };
    all.merge(stock, |conflict| match conflict {
        stock::Conflict::Added { second } => origins.push((i, line_of(second))),
        stock::Conflict::Row {
            sku,
            location,
            first,
            second,
        } => {
            let line = line_of(second);
            let first = origins.get(first).copied().unwrap_or((0, 0));
            let location = locations.get(location).map_or("?", |l| l.name.as_str());
            errors.push(
                RowError::new(C::DUPLICATE_ROW,
                    line,
                    format!(
                        "a second row for SKU `{}` at location `{location}`: {} and {}",
                        clip(sku),
                        at(first),
                        at((i, line))
                    ),
                )
                .help("keep one row per SKU and location over all the --inventory files (add the quantities up if they are meant together)"),
            );
        }
        stock::Conflict::Overflow { sku, second } => {
            errors.push(overflow_error(line_of(second), None, "on_hand", sku))
        }
        stock::Conflict::Attr {
            sku,
            attr,
            value,
            old,
            second,
        } => errors.push(
            RowError::new(C::CONFLICTING_VALUE,
                second.map_or(0, line_of),
                format!(
                    "SKU `{}` has `{}` = `{}` here but `{}` in an earlier --inventory file",
                    clip(sku),
                    clip(attr),
                    clip(value),
                    clip(&old)
                ),
            )
            .field(None, attr.to_string())
            .help("an attribute belongs to the SKU: give it the same value in every file (or leave it out)"),
        ),
    });
    if !errors.is_empty() {
        return Err(InputError::rows(&names[i], errors));
    }
    Ok(())
}

/// The end of a read: spare capacity dropped, and the notes about the whole input.
fn finish(mut stock: Stock, name: &str, untidy: &Untidy) -> Stock {
    stock.shrink();
    stock.warnings.extend(untidy.warnings());
    if let Some(w) = case_twins(&stock) {
        stock.warnings.push(format!("{name}: {w}"));
    }
    stock
}

/// SKUs that differ only in letter case (`YOGA-1` and `yoga-1`): two inventory SKUs to allot,
/// but very likely one product typed twice, whose stock is then split and whose seller SKUs
/// may collide on Amazon. One note naming the first few pairs, or None.
fn case_twins(stock: &Stock) -> Option<String> {
    // Found as the SKUs were added (`Stock::case_twins`), in inventory order.
    let twins = stock.case_twins();
    let (total, pairs) = (twins.total, &twins.first);
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

#[cfg(test)]
mod tests;
