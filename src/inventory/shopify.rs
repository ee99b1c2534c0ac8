//! Shopify's inventory CSV export: one row per variant and location, with the columns
//! `Handle, Title, Option… , SKU, …, Location, Incoming, Unavailable, Committed, Available,
//! On hand`.
//!
//! Mapping (documented in docs/inventory.md): `on_hand` = `On hand`; `reserved` = `Committed` +
//! `Unavailable` (sold but not shipped, and damaged/quality-control/safety stock), so that
//! available = Shopify's own `Available`. `Incoming` is not stock yet and is ignored. An export
//! without `On hand` uses `Available` as on_hand with nothing reserved. A cell reading
//! `not stocked` means the variant is not stocked at that location: no row. Rows without a SKU
//! cannot be listed on Amazon; they are ignored and counted in a warning.

use std::io::Read;

use super::C;
use super::csv_generic::FIELD_COUNT_HELP;
use super::pipeline::{self, CsvSource, NoPrep, Record, RecordSink};
use super::{
    AddError, InputError, LocationResolver, RowError, RowErrors, Stock, Untidy, clip,
    overflow_error,
};
use crate::input::{Header, missing_column};
use crate::model::Location;

pub(super) fn read<R: Read>(
    name: &str,
    reader: R,
    locations: &[Location],
    untidy: &mut Untidy,
) -> Result<Stock, InputError> {
    let mut source = CsvSource::open(name, reader)?;
    let header = Header::new(source.headers());
    // Only the columns read must be unique: an export's other columns are not allot's business.
    let read = [
        "sku",
        "location",
        "on hand",
        "available",
        "committed",
        "unavailable",
    ];
    header.unique(name, |h| read.contains(&h))?;
    let [c_sku, c_loc] = header.require(["sku", "location"]).map_err(|_| {
        missing_column(
            name,
            "the header has no `SKU` or no `Location` column",
            "export the inventory from Shopify (Products > Inventory > Export) with all locations",
        )
    })?;
    let c_on_hand = header.find("on hand");
    let c_available = header.find("available");
    let c_committed = header.find("committed");
    let c_unavailable = header.find("unavailable");
    if c_on_hand.is_none() && c_available.is_none() {
        return Err(missing_column(
            name,
            "the header has neither an `On hand` nor an `Available` column",
            "export the inventory from Shopify with its quantity columns",
        ));
    }
    let mut rows = Rows {
        stock: Stock::new(),
        errors: RowErrors::default(),
        resolver: LocationResolver::new(locations),
        locations,
        untidy,
        header,
        no_sku: 0,
        c_sku,
        c_loc,
        c_on_hand,
        c_available,
        c_committed,
        c_unavailable,
    };
    pipeline::run(name, &mut source, &mut NoPrep, &mut rows)?;
    let Rows {
        mut stock,
        errors,
        no_sku,
        ..
    } = rows;
    if !errors.is_empty() {
        return Err(InputError::rows(name, errors));
    }
    if no_sku > 0 {
        stock.warnings.push(format!(
            "{name}: {no_sku} row{} without a SKU ignored (a variant needs a SKU to be listed on Amazon)",
            if no_sku == 1 { "" } else { "s" }
        ));
    }
    Ok(stock)
}

/// The reading of one export's rows: its columns and what has been read so far.
struct Rows<'a> {
    stock: Stock,
    errors: RowErrors,
    resolver: LocationResolver<'a>,
    locations: &'a [Location],
    untidy: &'a mut Untidy,
    header: Header,
    no_sku: u64,
    c_sku: usize,
    c_loc: usize,
    c_on_hand: Option<usize>,
    c_available: Option<usize>,
    c_committed: Option<usize>,
    c_unavailable: Option<usize>,
}

impl RecordSink<()> for Rows<'_> {
    fn record(&mut self, record: Record<'_>, _: &mut ()) {
        let line = record.line();
        if record.iter().all(|f| f.trim().is_empty()) {
            return;
        }
        if let Err(e) = self.header.check_len(line, record.len(), FIELD_COUNT_HELP) {
            self.errors.push(e);
            return;
        }
        let header = &self.header;
        let (c_sku, c_loc, c_on_hand, c_available) =
            (self.c_sku, self.c_loc, self.c_on_hand, self.c_available);
        let cell = |i: usize| record.get(i).unwrap_or("").trim();
        let Some(sku) = self
            .errors
            .keep(header.sku(line, c_sku, cell(c_sku), "SKU"))
        else {
            return;
        };
        if sku.is_empty() {
            self.no_sku += 1;
            return;
        }
        let not_stocked =
            |c: Option<usize>| c.is_some_and(|c| cell(c).eq_ignore_ascii_case("not stocked"));
        if not_stocked(c_on_hand) || (c_on_hand.is_none() && not_stocked(c_available)) {
            self.stock.intern(sku);
            return;
        }
        let loc = match self.untidy.location(&mut self.resolver, cell(c_loc)) {
            Ok(Some(l)) => Some(l),
            // Left out by `inventory ignore_unknown_locations`, and counted.
            Ok(None) => return,
            Err(e) => {
                self.errors
                    .push(header.cell_error(C::UNKNOWN_LOCATION, line, c_loc, e));
                None
            }
        };
        let errors = &mut self.errors;
        let untidy = &*self.untidy;
        let mut negatives: Vec<String> = Vec::new();
        let mut qty = |c: usize| {
            let (q, negative) = errors.keep(
                untidy
                    .quantity(cell(c))
                    .map_err(|e| header.cell_error(C::BAD_QUANTITY, line, c, e)),
            )?;
            if negative {
                negatives.push(cell(c).to_string());
            }
            Some(q)
        };
        let (on_hand, reserved) = match c_on_hand {
            Some(c) => {
                let on_hand = qty(c);
                let committed = self.c_committed.map_or(Some(0), &mut qty);
                let unavailable = self.c_unavailable.map_or(Some(0), &mut qty);
                // Saturating is exact in effect: a reserved count past 2^64 is above any
                // on_hand, so available is 0 either way, and reserved is never published.
                (
                    on_hand,
                    committed.zip(unavailable).map(|(a, b)| a.saturating_add(b)),
                )
            }
            None => (c_available.and_then(&mut qty), Some(0)),
        };
        let (Some(loc), Some(on_hand), Some(reserved)) = (loc, on_hand, reserved) else {
            return;
        };
        match self.stock.add(sku, loc, on_hand, reserved) {
            Ok(()) => {
                self.untidy.added(line);
                if !negatives.is_empty() {
                    self.untidy
                        .negative_row(sku, &self.locations[loc].name, &negatives);
                }
            }
            Err(AddError::DuplicateRow) => self.errors.push(
                RowError::new(C::DUPLICATE_ROW,
                    line,
                    format!("a second row for SKU `{}` at location `{}`", clip(sku), self.locations[loc].name),
                )
                .help("two Shopify locations map to one policy location, or a SKU is used by two variants: keep one row per SKU and location"),
            ),
            Err(AddError::Overflow) => {
                let c = c_on_hand.or(c_available).unwrap_or(c_sku);
                self.errors.push(overflow_error(line, Some(c as u64 + 1), &header.name(c), sku));
            }
        }
    }
}
