//! The generic inventory CSV: `sku,location,on_hand,reserved` (any order, any case), an
//! optional `tags` column (`;`-separated) and any other column as an attribute.

use std::io::Read;

use super::{
    AddError, InputError, LocationResolver, RowError, RowErrors, Stock, clean_sku, clip, csv_error,
    csv_reader, duplicate_header, duplicate_header_error, overflow_error, parse_quantity,
};
use crate::model::Location;

pub(super) fn read<R: Read>(
    name: &str,
    reader: R,
    locations: &[Location],
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
    let hname = |i: usize| headers.get(i).unwrap_or("").trim().to_string();

    let mut stock = Stock::new();
    let mut errors = RowErrors::default();
    let mut resolver = LocationResolver::new(locations);
    let mut record = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(name, e)),
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim().is_empty()) {
            continue; // a blank line
        }
        if record.len() != headers.len() {
            errors.push(
                RowError::new(
                    line,
                    format!(
                        "the row has {} fields but the header has {}",
                        record.len(),
                        headers.len()
                    ),
                )
                .help("every row needs one value per header column (quote values that contain commas)"),
            );
            continue;
        }
        let cell = |i: usize| record.get(i).unwrap_or("");
        let sku = match clean_sku(cell(c_sku), "SKU") {
            Ok(s) => s,
            Err(e) => {
                errors.push(RowError::cell(line, c_sku, hname(c_sku), e));
                continue;
            }
        };
        if sku.is_empty() {
            errors.push(
                RowError::new(line, "the SKU is blank")
                    .field(Some(c_sku as u64 + 1), hname(c_sku))
                    .help("every row needs the inventory SKU it counts"),
            );
            continue;
        }
        let loc = errors.keep(
            resolver
                .resolve(cell(c_loc).trim())
                .map_err(|e| RowError::cell(line, c_loc, hname(c_loc), e)),
        );
        let mut qty = |col: usize| {
            errors.keep(
                parse_quantity(cell(col)).map_err(|e| RowError::cell(line, col, hname(col), e)),
            )
        };
        let on_hand = qty(c_on_hand);
        let reserved = match c_reserved {
            Some(c) => qty(c),
            None => Some(0),
        };
        let (Some(loc), Some(on_hand), Some(reserved)) = (loc, on_hand, reserved) else {
            continue;
        };
        match stock.add(sku, loc, on_hand, reserved) {
            Ok(()) => {}
            Err(AddError::DuplicateRow) => {
                errors.push(
                    RowError::new(
                        line,
                        format!(
                            "a second row for SKU `{}` at location `{}`",
                            clip(sku),
                            locations[loc].name
                        ),
                    )
                    .help("keep one row per SKU and location (add the quantities up if they are meant together)"),
                );
                continue;
            }
            Err(AddError::Overflow) => {
                errors.push(overflow_error(
                    line,
                    Some(c_on_hand as u64 + 1),
                    &hname(c_on_hand),
                    sku,
                ));
                continue;
            }
        }
        if let Some(c) = c_tags {
            let tags = cell(c).split(';').map(str::trim).filter(|t| !t.is_empty());
            stock.add_tags(sku, tags);
        }
        for (c, attr) in &attr_cols {
            let v = cell(*c).trim();
            if v.is_empty() {
                continue;
            }
            if let Err(old) = stock.set_attr(sku, attr, v) {
                errors.push(
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
    }
    if !errors.is_empty() {
        return Err(InputError::rows(name, errors));
    }
    Ok(stock)
}
