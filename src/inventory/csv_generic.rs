//! The generic inventory CSV: `sku,location,on_hand,reserved` (any order, any case), an
//! optional `tags` column (`;`-separated) and any other column as an attribute.

use std::io::Read;

use super::pipeline::{self, RecordSink};
use super::{
    AddError, InputError, LocationResolver, RowError, RowErrors, Stock, Untidy, clean_sku, clip,
    csv_error, csv_reader, duplicate_header, duplicate_header_error, overflow_error,
};
use crate::model::Location;

pub(super) fn read<R: Read>(
    name: &str,
    reader: R,
    locations: &[Location],
    untidy: &mut Untidy,
) -> Result<Stock, InputError> {
    let mut rdr = csv_reader(reader, b',', true);
    let headers = rdr.headers().map_err(|e| csv_error(name, e))?.clone();
    // Every named column is read (unknown ones as attributes), so any repeated name is refused.
    if let Some(dup) = duplicate_header(headers.iter(), |_| true) {
        return Err(duplicate_header_error(name, dup));
    }
    let find = |want: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(want))
    };
    let (Some(c_sku), Some(c_loc), Some(c_on_hand)) =
        (find("sku"), find("location"), find("on_hand"))
    else {
        let missing: Vec<&str> = [
            ("sku", find("sku")),
            ("location", find("location")),
            ("on_hand", find("on_hand")),
        ]
        .iter()
        .filter(|(_, c)| c.is_none())
        .map(|(n, _)| *n)
        .collect();
        let shopify = find("handle").is_some();
        return Err(InputError::file_at(
            name,
            1,
            None,
            format!("the header has no {} column", missing.join(", ")),
            Some(if shopify {
                "this looks like a Shopify export: pass `--inventory-format shopify`".into()
            } else {
                "the first line must name the columns: `sku,location,on_hand,reserved` (reserved, tags and attribute columns are optional)".into()
            }),
        ));
    };
    let c_reserved = find("reserved");
    let c_tags = find("tags");
    let attr_cols: Vec<(usize, String)> = headers
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
    let mut rows = Rows {
        stock: Stock::new(),
        errors: RowErrors::default(),
        resolver: LocationResolver::new(locations),
        locations,
        untidy,
        c_sku,
        c_loc,
        c_on_hand,
        c_reserved,
        c_tags,
        attr_ids: vec![None; attr_cols.len()],
        last: None,
        last_cells: Vec::new(),
        cells: Vec::new(),
        attr_cols,
        headers,
    };
    pipeline::run(name, &mut rdr, &mut rows)?;
    if !rows.errors.is_empty() {
        return Err(InputError::rows(name, rows.errors));
    }
    Ok(rows.stock)
}

/// The reading of one file's rows: its columns and what has been read so far.
struct Rows<'a> {
    stock: Stock,
    errors: RowErrors,
    resolver: LocationResolver<'a>,
    locations: &'a [Location],
    untidy: &'a mut Untidy,
    headers: csv::StringRecord,
    c_sku: usize,
    c_loc: usize,
    c_on_hand: usize,
    c_reserved: Option<usize>,
    c_tags: Option<usize>,
    attr_cols: Vec<(usize, String)>,
    /// The `Stock::attr_id` of each attribute column, once a row has set it.
    attr_ids: Vec<Option<u32>>,
    /// The SKU of the last row whose tags and attributes were recorded, and those cells
    /// (each length-prefixed); `cells` is the current row's.
    last: Option<u32>,
    last_cells: Vec<u8>,
    cells: Vec<u8>,
}

impl Rows<'_> {
    fn hname(&self, i: usize) -> String {
        self.headers.get(i).unwrap_or("").trim().to_string()
    }
}

impl RecordSink for Rows<'_> {
    fn record(&mut self, record: &csv::StringRecord) {
        let line = record.position().map_or(0, |p| p.line());
        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim().is_empty()) {
            return; // a blank line
        }
        if record.len() != self.headers.len() {
            self.errors.push(
                RowError::new(
                    line,
                    format!(
                        "the row has {} fields but the header has {}",
                        record.len(),
                        self.headers.len()
                    ),
                )
                .help("every row needs one value per header column (quote values that contain commas)"),
            );
            return;
        }
        let cell = |i: usize| record.get(i).unwrap_or("");
        let (c_sku, c_loc, c_on_hand) = (self.c_sku, self.c_loc, self.c_on_hand);
        let sku = match clean_sku(cell(c_sku), "SKU") {
            Ok(s) => s,
            Err(e) => {
                let h = self.hname(c_sku);
                self.errors.push(RowError::cell(line, c_sku, h, e));
                return;
            }
        };
        if sku.is_empty() {
            let h = self.hname(c_sku);
            self.errors.push(
                RowError::new(line, "the SKU is blank")
                    .field(Some(c_sku as u64 + 1), h)
                    .help("every row needs the inventory SKU it counts"),
            );
            return;
        }
        let loc = match self.untidy.location(&mut self.resolver, cell(c_loc).trim()) {
            Ok(Some(l)) => Some(l),
            // Left out by `inventory ignore_unknown_locations`, and counted.
            Ok(None) => return,
            Err(e) => {
                let h = self.hname(c_loc);
                self.errors.push(RowError::cell(line, c_loc, h, e));
                None
            }
        };
        let untidy = &*self.untidy;
        let mut negatives: Vec<String> = Vec::new();
        let mut qty = |col: usize| match untidy.quantity(cell(col)) {
            Ok((q, negative)) => {
                if negative {
                    negatives.push(cell(col).trim().to_string());
                }
                Some(q)
            }
            Err(e) => {
                let h = self.headers.get(col).unwrap_or("").trim().to_string();
                self.errors.push(RowError::cell(line, col, h, e));
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
        // The SKU is looked up once; its row, tags and attributes are added by id.
        let id = self.stock.intern(sku);
        match self.stock.add_entry(id, loc, on_hand, reserved) {
            Ok(()) => {
                self.untidy.added(line);
                if !negatives.is_empty() {
                    self.untidy
                        .negative_row(sku, &self.locations[loc].name, &negatives);
                }
            }
            Err(AddError::DuplicateRow) => {
                self.errors.push(
                    RowError::new(
                        line,
                        format!(
                            "a second row for SKU `{}` at location `{}`",
                            clip(sku),
                            self.locations[loc].name
                        ),
                    )
                    .help("keep one row per SKU and location (add the quantities up if they are meant together)"),
                );
                return;
            }
            Err(AddError::Overflow) => {
                let h = self.hname(c_on_hand);
                self.errors
                    .push(overflow_error(line, Some(c_on_hand as u64 + 1), &h, sku));
                return;
            }
        }
        // A SKU's rows usually follow each other with the same tags and attributes: then
        // they are recorded already (set semantics), and looking them up again is most of the
        // cost of such a row. Only a row recorded without error is remembered, so a row
        // repeating a refused one is refused again.
        self.cells.clear();
        for c in self
            .c_tags
            .iter()
            .chain(self.attr_cols.iter().map(|(c, _)| c))
        {
            let v = cell(*c).as_bytes();
            self.cells
                .extend_from_slice(&(v.len() as u64).to_le_bytes());
            self.cells.extend_from_slice(v);
        }
        if self.last == Some(id) && self.cells == self.last_cells {
            return;
        }
        let errors = self.errors.count();
        if let Some(c) = self.c_tags {
            for tag in cell(c).split(';').map(str::trim).filter(|t| !t.is_empty()) {
                self.stock.add_tag(id, tag);
            }
        }
        for (k, (c, attr)) in self.attr_cols.iter().enumerate() {
            let v = cell(*c).trim();
            if v.is_empty() {
                continue;
            }
            let name = *self.attr_ids[k].get_or_insert_with(|| self.stock.attr_id(attr));
            if let Err(old) = self.stock.set_attr_id(id, name, v) {
                self.errors.push(
                    RowError::new(
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
        if self.errors.count() == errors {
            self.last = Some(id);
            std::mem::swap(&mut self.cells, &mut self.last_cells);
        }
    }
}
