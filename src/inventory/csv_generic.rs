//! The generic inventory CSV: `sku,location,on_hand,reserved` (any order, any case), an
//! optional `tags` column (`;`-separated) and any other column as an attribute.

use std::io::Read;

use super::C;
use super::pipeline::{self, CsvSource, Prepare, Record, RecordSink};
use super::stock::hash_folded;
use super::{
    AddError, Added, InputError, LocationResolver, RowError, RowErrors, Stock, Untidy, clip,
    overflow_error,
};
use crate::input::{Header, missing_column, trim_cell};
use crate::model::{Location, LocationIx};

pub(super) fn read<R: Read>(
    name: &str,
    reader: R,
    locations: &[Location],
    untidy: &mut Untidy,
) -> Result<Stock, InputError> {
    let mut source = CsvSource::open(name, reader)?;
    let header = Header::new(source.headers());
    // Every named column is read (unknown ones as attributes), so any repeated name is refused.
    header.unique(name, |_| true)?;
    let [c_sku, c_loc, c_on_hand] = header
        .require(["sku", "location", "on_hand"])
        .map_err(|missing| {
            missing_column(
                name,
                format!("the header has no {} column", missing.join(", ")),
                if header.find("handle").is_some() {
                    "this looks like a Shopify export: pass `--inventory-format shopify`"
                } else {
                    "the first line must name the columns: `sku,location,on_hand,reserved` (reserved, tags and attribute columns are optional)"
                },
            )
        })?;
    let c_reserved = header.find("reserved");
    let c_tags = header.find("tags");
    let attr_cols: Vec<(usize, String)> = header
        .iter()
        .enumerate()
        .filter(|(i, h)| {
            ![
                Some(c_sku),
                Some(c_loc),
                Some(c_on_hand),
                c_reserved,
                c_tags,
            ]
            .contains(&Some(*i))
                && !h.trim().is_empty()
        })
        .map(|(i, h)| (i, h.trim().to_string()))
        .collect();
    let on_hand_name = header.name(c_on_hand);
    let mut cells = Cells {
        resolver: LocationResolver::new(locations),
        untidy,
        header,
        c_sku,
        c_loc,
        c_on_hand,
        c_reserved,
        c_tags,
        attr_cols: attr_cols.iter().map(|(c, _)| *c).collect(),
        prev: Vec::new(),
    };
    let mut rows = Rows {
        stock: Stock::new(),
        errors: RowErrors::default(),
        added: cells.untidy.take_added(),
        locations,
        on_hand_name,
        c_on_hand,
        c_tags,
        attr_ids: vec![None; attr_cols.len()],
        attr_cols,
        prev_recorded: false,
        tags_cell: String::new(),
        tag_ids: Vec::new(),
    };
    let read = pipeline::run(name, &mut source, &mut cells, &mut rows);
    cells.untidy.put_added(rows.added);
    read?;
    if !rows.errors.is_empty() {
        return Err(InputError::rows(name, rows.errors));
    }
    Ok(rows.stock)
}

/// How to fix a row whose length is not the header's, in both inventory CSV formats.
pub(super) const FIELD_COUNT_HELP: &str =
    "every row needs one value per header column (quote values that contain commas)";

/// A row as read on the reading thread: what is added to the stock, or its errors. Kept
/// small: every row's crosses to the adding thread.
#[derive(Default)]
struct Prepared {
    state: State,
    /// Its SKU (trimmed) in the batch.
    sku: (u32, u32),
    /// With [`State::NewSku`]: the SKU's `hash_folded`, made here to spare the adding thread.
    hash: u32,
    location: LocationIx,
    on_hand: u64,
    reserved: u64,
    /// Rare: its errors, and negative quantities read as 0.
    extra: Option<Box<Extra>>,
}

/// A prepared row, against the previous row added.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum State {
    /// Not added (an error, or left out).
    #[default]
    Skipped,
    /// Added; its SKU is not the previous row's.
    NewSku,
    /// Added; its SKU is the previous row's, its tags or attributes are not.
    SameSku,
    /// Added; its SKU, tags and attributes are the previous row's.
    Same,
}

#[derive(Default)]
struct Extra {
    /// Negative quantity cells read as 0, as written.
    negatives: Vec<String>,
    errors: Vec<RowError>,
}

impl Prepared {
    fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_default()
    }
}

/// The reading thread's part: each row's cells checked and parsed, its location resolved.
struct Cells<'a> {
    resolver: LocationResolver<'a>,
    untidy: &'a mut Untidy,
    header: Header,
    c_sku: usize,
    c_loc: usize,
    c_on_hand: usize,
    c_reserved: Option<usize>,
    c_tags: Option<usize>,
    attr_cols: Vec<usize>,
    /// The SKU, tags and attribute cells (each length-prefixed) of the previous row added.
    prev: Vec<u8>,
}

fn push_cell(buf: &mut Vec<u8>, v: &str) {
    buf.extend_from_slice(&(v.len() as u64).to_le_bytes());
    buf.extend_from_slice(v.as_bytes());
}

/// The cell at the front of `buf` (written by `push_cell`), moving past it.
fn take_cell<'a>(buf: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (len, rest) = buf.split_first_chunk::<8>()?;
    let len = usize::try_from(u64::from_le_bytes(*len)).ok()?;
    let cell = rest.get(..len)?;
    *buf = &rest[len..];
    Some(cell)
}

impl Prepare for Cells<'_> {
    type Out = Prepared;

    fn prepare(&mut self, record: Record<'_>, out: &mut Prepared) {
        out.state = State::Skipped;
        out.extra = None;
        let line = record.line();
        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim().is_empty()) {
            return; // a blank line
        }
        if let Err(e) = self.header.check_len(line, record.len(), FIELD_COUNT_HELP) {
            out.extra().errors.push(e);
            return;
        }
        let cell = |i: usize| record.get(i).unwrap_or("");
        let (c_sku, c_loc, c_on_hand) = (self.c_sku, self.c_loc, self.c_on_hand);
        let sku = match self.header.sku(line, c_sku, cell(c_sku), "SKU") {
            Ok(s) => s,
            Err(e) => {
                out.extra().errors.push(e);
                return;
            }
        };
        if sku.is_empty() {
            out.extra().errors.push(self.header.blank_sku(
                line,
                c_sku,
                "SKU",
                "every row needs the inventory SKU it counts",
            ));
            return;
        }
        let loc = match self
            .untidy
            .location(&mut self.resolver, trim_cell(cell(c_loc)))
        {
            Ok(Some(l)) => Some(l),
            // Left out by `inventory ignore_unknown_locations`, and counted.
            Ok(None) => return,
            Err(e) => {
                out.extra().errors.push(self.header.cell_error(
                    C::UNKNOWN_LOCATION,
                    line,
                    c_loc,
                    e,
                ));
                None
            }
        };
        let untidy = &*self.untidy;
        let header = &self.header;
        let mut qty = |col: usize| match untidy.quantity(cell(col)) {
            Ok((q, negative)) => {
                if negative {
                    out.extra().negatives.push(cell(col).trim().to_string());
                }
                Some(q)
            }
            Err(e) => {
                let e = header.cell_error(C::BAD_QUANTITY, line, col, e);
                out.extra().errors.push(e);
                None
            }
        };
        let on_hand = qty(c_on_hand);
        let reserved = match self.c_reserved {
            Some(c) => qty(c),
            None => Some(0),
        };
        let (Some(loc), Some(on_hand), Some(reserved)) = (loc, on_hand, reserved) else {
            return;
        };
        out.sku = record.range_of(sku);
        out.location = loc;
        out.on_hand = on_hand;
        out.reserved = reserved;
        let kept = || self.c_tags.iter().chain(&self.attr_cols).map(|&c| cell(c));
        // Compared with the previous row's cells in place: most rows repeat them (a SKU's
        // rows follow each other), and only a row that does not is copied.
        let mut rest = &self.prev[..];
        out.state = if take_cell(&mut rest) != Some(sku.as_bytes()) {
            out.hash = hash_folded(sku);
            State::NewSku
        } else if kept().all(|v| take_cell(&mut rest) == Some(v.as_bytes())) && rest.is_empty() {
            State::Same
        } else {
            State::SameSku
        };
        if out.state != State::Same {
            self.prev.clear();
            for v in std::iter::once(sku).chain(kept()) {
                push_cell(&mut self.prev, v);
            }
        }
    }
}

/// The adding thread's part: the stock and its errors.
struct Rows<'a> {
    stock: Stock,
    errors: RowErrors,
    added: Added,
    locations: &'a [Location],
    on_hand_name: String,
    c_on_hand: usize,
    c_tags: Option<usize>,
    attr_cols: Vec<(usize, String)>,
    /// The `Stock::attr_id` of each attribute column, once a row has set it.
    attr_ids: Vec<Option<u32>>,
    /// The previous row added had its tags and attributes recorded without error.
    prev_recorded: bool,
    /// The last tags cell whose tags were added, and their ids.
    tags_cell: String,
    tag_ids: Vec<u32>,
}

impl RecordSink<Prepared> for Rows<'_> {
    fn record(&mut self, record: Record<'_>, row: &mut Prepared) {
        let Extra { negatives, errors } = row.extra.take().map(|x| *x).unwrap_or_default();
        for e in errors {
            self.errors.push(e);
        }
        let line = record.line();
        let cell = |i: usize| record.get(i).unwrap_or("");
        let sku = record.at(row.sku);
        let loc = row.location;
        // The SKU is looked up once, and only when it is not the previous row's (the reading
        // thread knows, and hashed it); its row, tags and attributes are added by id.
        let id = match row.state {
            State::Skipped => return,
            State::NewSku => self.stock.intern_next(sku, Some(row.hash)),
            State::SameSku | State::Same => self.stock.intern_next(sku, None),
        };
        match self.stock.add_entry(id, loc, row.on_hand, row.reserved) {
            Ok(()) => {
                self.added.added(line);
                if !negatives.is_empty() {
                    self.added
                        .negative_row(sku, &self.locations[loc].name, &negatives);
                }
            }
            Err(AddError::DuplicateRow) => {
                self.errors.push(
                    RowError::new(C::DUPLICATE_ROW,
                        line,
                        format!(
                            "a second row for SKU `{}` at location `{}`",
                            clip(sku),
                            self.locations[loc].name
                        ),
                    )
                    .help("keep one row per SKU and location (add the quantities up if they are meant together)"),
                );
                self.prev_recorded = false;
                return;
            }
            Err(AddError::Overflow) => {
                self.errors.push(overflow_error(
                    line,
                    Some(self.c_on_hand as u64 + 1),
                    &self.on_hand_name,
                    sku,
                ));
                self.prev_recorded = false;
                return;
            }
        }
        // A SKU's rows usually follow each other with the same tags and attributes: then
        // they are recorded already (set semantics), and looking them up again is most of the
        // cost of such a row. Only a row recorded without error counts, so a row repeating a
        // refused one is refused again.
        if row.state == State::Same && self.prev_recorded {
            return;
        }
        let errors = self.errors.count();
        if let Some(c) = self.c_tags {
            // Neighbouring SKUs (a family) often have the same tags cell: its tags are then
            // not split and looked up again.
            let tags = cell(c);
            if tags != self.tags_cell {
                self.tags_cell.clear();
                self.tags_cell.push_str(tags);
                self.tag_ids.clear();
                for tag in tags.split(';').map(str::trim).filter(|t| !t.is_empty()) {
                    self.tag_ids.push(self.stock.tag_id(tag));
                }
            }
            for &tag in &self.tag_ids {
                self.stock.add_tag_id(id, tag);
            }
        }
        for (k, (c, attr)) in self.attr_cols.iter().enumerate() {
            let v = trim_cell(cell(*c));
            if v.is_empty() {
                continue;
            }
            let name = *self.attr_ids[k].get_or_insert_with(|| self.stock.attr_id(attr));
            if let Err(old) = self.stock.set_attr_id(id, name, v) {
                self.errors.push(
                    RowError::new(C::CONFLICTING_VALUE,
                        line,
                        format!(
                            "SKU `{}` has `{}` = `{}` here but `{}` on an earlier row",
                            clip(sku),
                            clip(attr),
                            clip(v),
                            clip(&old)
                        ),
                    )
                    .field(Some(*c as u64 + 1), attr.clone())
                    .help("an attribute belongs to the SKU: give it the same value on every row (or leave it blank)"),
                );
            }
        }
        self.prev_recorded = self.errors.count() == errors;
    }
}
