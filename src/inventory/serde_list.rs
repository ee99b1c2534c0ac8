//! JSON and YAML inventories: a list of `{sku, location, on_hand, reserved, tags, attributes}`.
//! Both are streamed item by item through a serde visitor, so a large file is never held whole.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::rc::Rc;

use serde::Deserialize;
use serde::de::{DeserializeSeed, SeqAccess, Visitor};

use super::C;
use super::{
    AddError, InputError, LocationResolver, RowErrors, Stock, Untidy, clip, overflow_error,
    parse_quantity,
};
use crate::input::Item;
use crate::model::Location;

/// Any value, so that a wrong type becomes a located row error instead of aborting the parse.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Raw {
    Null,
    Bool(#[allow(dead_code)] bool),
    UInt(u64),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Raw>),
    Map(BTreeMap<String, Raw>),
}

impl Raw {
    pub fn describe(&self) -> &'static str {
        match self {
            Raw::Null => "null",
            Raw::Bool(_) => "a boolean",
            Raw::UInt(_) | Raw::Int(_) | Raw::Float(_) => "a number",
            Raw::Str(_) => "a string",
            Raw::List(_) => "a list",
            Raw::Map(_) => "a map",
        }
    }

    /// A quantity as an inventory reads it: with `inventory negative_as_zero`, a negative
    /// whole number is 0 (and `true`, so the row is counted).
    fn inventory_quantity(&self, untidy: &Untidy) -> Result<(u64, bool), (String, String)> {
        match self {
            Raw::Int(v) => untidy.signed(*v),
            Raw::Str(s) => untidy.quantity(s),
            other => other.quantity().map(|q| (q, false)),
        }
    }

    /// A number as written, for a warning.
    fn shown(&self) -> String {
        match self {
            Raw::Str(s) => s.trim().to_string(),
            other => other.string().unwrap_or_default(),
        }
    }

    /// A quantity: a whole, non-negative number (a numeric string is accepted).
    pub fn quantity(&self) -> Result<u64, (String, String)> {
        match self {
            Raw::UInt(v) => Ok(*v),
            Raw::Int(v) if *v < 0 => Err((
                format!("the quantity {v} is negative"),
                "quantities are whole numbers of items, 0 or more".into(),
            )),
            Raw::Int(v) => Ok(*v as u64),
            // `12.0` or `1e3` is a number with a decimal point or exponent: refused like the
            // same text in a CSV cell, so every format reads one spelling of a quantity.
            Raw::Float(f) => Err((
                format!("the quantity {f} is not written as a whole number"),
                "write the number with digits only: no decimal point or exponent, e.g. 12".into(),
            )),
            Raw::Str(s) => parse_quantity(s),
            Raw::Null => Err((
                "the quantity is null".into(),
                "write a whole number (0 if there is no stock); null is never read as 0".into(),
            )),
            other => Err((
                format!("the quantity is {}, not a number", other.describe()),
                "write a whole number of items, e.g. 12".into(),
            )),
        }
    }

    pub fn string(&self) -> Option<String> {
        match self {
            Raw::Str(s) => Some(s.clone()),
            Raw::UInt(v) => Some(v.to_string()),
            Raw::Int(v) => Some(v.to_string()),
            _ => None,
        }
    }
}

const KEYS: &[&str] = &[
    "sku",
    "location",
    "on_hand",
    "reserved",
    "tags",
    "attributes",
];

/// Where an item starts, as well as the format can tell.
#[derive(Clone, Copy, Debug, Default)]
struct Pos {
    line: u64,
    column: Option<u64>,
}

/// Turns raw items into stock, collecting errors.
struct Builder<'a> {
    stock: Stock,
    errors: RowErrors,
    resolver: LocationResolver<'a>,
    locations: &'a [Location],
    untidy: &'a mut Untidy,
    index: u64,
}

impl Builder<'_> {
    fn item(&mut self, raw: Raw, pos: Pos) {
        self.index += 1;
        let n = self.index;
        let item = Item {
            n,
            line: pos.line,
            column: pos.column,
        };
        let err = |code: &'static str, msg: String| item.error(code, msg);
        let Raw::Map(mut map) = raw else {
            self.errors.push(
                err(
                    C::BAD_ITEM,
                    format!("expected a map, found {}", raw.describe()),
                )
                .help("each item is `{sku, location, on_hand, reserved}`"),
            );
            return;
        };
        item.unknown_keys(map.keys(), KEYS, &mut self.errors);
        let raw_sku = map.remove("sku").as_ref().and_then(Raw::string);
        let texts = (
            "the SKU is blank",
            "the SKU is missing or blank",
            "every item needs `sku: \"...\"`",
        );
        let Some(sku) = self
            .errors
            .keep(item.sku(raw_sku.as_deref(), "sku", "SKU", texts))
        else {
            return;
        };
        let loc = match map.remove("location") {
            Some(Raw::Str(l)) => match self.untidy.location(&mut self.resolver, l.trim()) {
                Ok(Some(l)) => Some(l),
                // Left out by `inventory ignore_unknown_locations`, and counted.
                Ok(None) => return,
                Err((m, h)) => {
                    self.errors
                        .push(err(C::UNKNOWN_LOCATION, m).field(None, "location").help(h));
                    None
                }
            },
            _ => {
                self.errors.push(
                    err(C::BAD_ITEM, format!("`{}` has no location", clip(&sku)))
                        .field(None, "location")
                        .help("every item needs `location: NAME` (one of the policy's locations)"),
                );
                None
            }
        };
        let untidy = &*self.untidy;
        let mut negatives: Vec<String> = Vec::new();
        let mut qty = |key: &str, required: bool| match map.remove(key) {
            Some(v) => match v.inventory_quantity(untidy) {
                Ok((q, negative)) => {
                    if negative {
                        negatives.push(v.shown());
                    }
                    Some(q)
                }
                Err((m, h)) => {
                    self.errors
                        .push(err(C::BAD_QUANTITY, m).field(None, key).help(h));
                    None
                }
            },
            None if required => {
                self.errors.push(
                    err(C::BAD_ITEM, format!("`{}` has no `{key}`", clip(&sku)))
                        .field(None, key)
                        .help(format!("add `{key}: N`")),
                );
                None
            }
            None => Some(0),
        };
        let on_hand = qty("on_hand", true);
        let reserved = qty("reserved", false);
        let (Some(loc), Some(on_hand), Some(reserved)) = (loc, on_hand, reserved) else {
            return;
        };
        // The SKU is looked up once; its row, tags and attributes are added by id.
        let id = self.stock.intern(&sku);
        match self.stock.add_entry(id, loc, on_hand, reserved) {
            Ok(()) => {
                self.untidy.added(pos.line);
                if !negatives.is_empty() {
                    self.untidy
                        .negative_row(&sku, &self.locations[loc].name, &negatives);
                }
            }
            Err(AddError::DuplicateRow) => {
                self.errors.push(
                    err(
                        C::DUPLICATE_ROW,
                        format!(
                            "a second item for SKU `{}` at location `{}`",
                            clip(&sku),
                            self.locations[loc].name
                        ),
                    )
                    .help("keep one item per SKU and location"),
                );
                return;
            }
            Err(AddError::Overflow) => {
                let mut e = overflow_error(pos.line, None, "on_hand", &sku);
                e.column = pos.column;
                e.message = format!("item {n}: {}", e.message);
                self.errors.push(e);
                return;
            }
        }
        match map.remove("tags") {
            None | Some(Raw::Null) => {}
            Some(Raw::Str(s)) => {
                for t in s.split(';').map(str::trim).filter(|t| !t.is_empty()) {
                    self.stock.add_tag(id, t);
                }
            }
            Some(Raw::List(list)) => {
                for t in list {
                    match t.string() {
                        Some(s) => self.stock.add_tag(id, &s),
                        None => self.errors.push(
                            err(
                                C::BAD_VALUE,
                                format!("a tag is {}, not a string", t.describe()),
                            )
                            .field(None, "tags")
                            .help("write tags as a list of strings"),
                        ),
                    }
                }
            }
            Some(other) => self.errors.push(
                err(C::BAD_VALUE, format!("`tags` is {}", other.describe()))
                    .field(None, "tags")
                    .help("write tags as a list of strings, e.g. [\"candles\", \"fragile\"]"),
            ),
        }
        match map.remove("attributes") {
            None | Some(Raw::Null) => {}
            Some(Raw::Map(attrs)) => {
                for (k, v) in attrs {
                    let Some(v) = v.string() else {
                        self.errors.push(
                            err(
                                C::BAD_VALUE,
                                format!("attribute `{}` is {}", clip(&k), v.describe()),
                            )
                            .field(None, "attributes")
                            .help("attribute values are strings"),
                        );
                        continue;
                    };
                    let name = self.stock.attr_id(&k);
                    if let Err(old) = self.stock.set_attr_id(id, name, &v) {
                        self.errors.push(
                            err(
                                C::CONFLICTING_VALUE,
                                format!(
                                    "`{}` has `{}` = `{}` here but `{}` before",
                                    clip(&sku),
                                    clip(&k),
                                    clip(&v),
                                    clip(&old)
                                ),
                            )
                            .field(None, "attributes")
                            .help("an attribute belongs to the SKU: give it one value"),
                        );
                    }
                }
            }
            Some(other) => self.errors.push(
                err(
                    C::BAD_VALUE,
                    format!("`attributes` is {}", other.describe()),
                )
                .field(None, "attributes")
                .help("write attributes as a map, e.g. {\"brand\": \"acme\"}"),
            ),
        }
    }
}

/// Visits the top-level list, handing each item to the builder as it is parsed.
struct ListSeed<'b, 'a, F> {
    builder: &'b mut Builder<'a>,
    read_item: F,
}

/// Reads one item from a sequence and says where it started.
trait ItemReader {
    fn next<'de, A: SeqAccess<'de>>(&mut self, seq: &mut A)
    -> Result<Option<(Raw, Pos)>, A::Error>;
}

impl<'de, F: ItemReader> DeserializeSeed<'de> for ListSeed<'_, '_, F> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: ItemReader> Visitor<'de> for ListSeed<'_, '_, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of inventory items")
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        while let Some((raw, pos)) = self.read_item.next(&mut seq)? {
            self.builder.item(raw, pos);
        }
        Ok(())
    }
}

/// Counts lines as serde_json consumes bytes, and notes where the next item starts.
#[derive(Default)]
struct Tracker {
    line: Cell<u64>,
    column: Cell<u64>,
    /// Set by `mark`; cleared at the next significant byte, whose place is recorded.
    marking: Cell<bool>,
    start: Cell<(u64, u64)>,
}

struct Counting<R> {
    inner: R,
    t: Rc<Tracker>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            if b == b'\n' {
                self.t.line.set(self.t.line.get() + 1);
                self.t.column.set(0);
                continue;
            }
            // Count characters, not bytes: skip UTF-8 continuation bytes.
            if b & 0xC0 != 0x80 {
                self.t.column.set(self.t.column.get() + 1);
            }
            if self.t.marking.get() && !b.is_ascii_whitespace() && b != b',' && b != b'[' {
                self.t.marking.set(false);
                self.t.start.set((self.t.line.get(), self.t.column.get()));
            }
        }
        Ok(n)
    }
}

struct JsonItems(Rc<Tracker>);

impl ItemReader for JsonItems {
    fn next<'de, A: SeqAccess<'de>>(
        &mut self,
        seq: &mut A,
    ) -> Result<Option<(Raw, Pos)>, A::Error> {
        self.0.marking.set(true);
        let item = seq.next_element::<Raw>()?;
        let (line, column) = self.0.start.get();
        Ok(item.map(|r| {
            (
                r,
                Pos {
                    line,
                    column: Some(column),
                },
            )
        }))
    }
}

struct YamlItems;

impl ItemReader for YamlItems {
    fn next<'de, A: SeqAccess<'de>>(
        &mut self,
        seq: &mut A,
    ) -> Result<Option<(Raw, Pos)>, A::Error> {
        let item = seq.next_element::<serde_saphyr::Spanned<Raw>>()?;
        Ok(item.map(|s| {
            let line = s.referenced.line();
            let column = s.referenced.column();
            (
                s.value,
                Pos {
                    line,
                    column: (column > 0).then_some(column),
                },
            )
        }))
    }
}

fn finish(name: &str, b: Builder<'_>) -> Result<Stock, InputError> {
    if !b.errors.is_empty() {
        return Err(InputError::rows(name, b.errors));
    }
    Ok(b.stock)
}

fn builder<'a>(locations: &'a [Location], untidy: &'a mut Untidy) -> Builder<'a> {
    Builder {
        stock: Stock::new(),
        errors: RowErrors::default(),
        resolver: LocationResolver::new(locations),
        locations,
        untidy,
        index: 0,
    }
}

pub(super) fn read_json<R: Read>(
    name: &str,
    reader: R,
    locations: &[Location],
    untidy: &mut Untidy,
) -> Result<Stock, InputError> {
    let tracker = Rc::new(Tracker::default());
    tracker.line.set(1);
    let counting = Counting {
        inner: reader,
        t: tracker.clone(),
    };
    let mut b = builder(locations, untidy);
    let mut de = serde_json::Deserializer::from_reader(counting);
    let seed = ListSeed {
        builder: &mut b,
        read_item: JsonItems(tracker),
    };
    let res = seed.deserialize(&mut de).and_then(|()| de.end());
    if let Err(e) = res {
        return Err(InputError::file_at(C::BAD_SYNTAX,
            name,
            e.line() as u64,
            Some(e.column() as u64),
            format!("not a valid JSON inventory: {e}"),
            Some("the file must be a JSON list: [{\"sku\": \"A-1\", \"location\": \"newark\", \"on_hand\": 5, \"reserved\": 0}]".into()),
        ));
    }
    finish(name, b)
}

pub(super) fn read_yaml<R: Read>(
    name: &str,
    reader: R,
    locations: &[Location],
    untidy: &mut Untidy,
) -> Result<Stock, InputError> {
    let mut b = builder(locations, untidy);
    let res = serde_saphyr::with_deserializer_from_reader(reader, |de| {
        ListSeed {
            builder: &mut b,
            read_item: YamlItems,
        }
        .deserialize(de)
    });
    if let Err(e) = res {
        return Err(InputError::File {
            code: C::BAD_SYNTAX,
            path: name.to_string(),
            line: None,
            column: None,
            message: format!(
                "not a valid YAML inventory: {}",
                crate::diag::clip_message(&e.to_string())
            ),
            help: Some(
                "the file must be a YAML list of `{sku, location, on_hand, reserved}` maps".into(),
            ),
        });
    }
    finish(name, b)
}
