use super::*;
use crate::model::{InventoryOptions, Location};

fn locs() -> Vec<Location> {
    ["newark", "austin", "toronto"]
        .iter()
        .map(|n| Location {
            name: n.to_string(),
            supply_source: None,
        })
        .collect()
}

fn rd(text: &str, f: Format) -> Result<Stock, InventoryError> {
    read_from("inv", text.as_bytes(), f, &locs(), Default::default())
}

#[test]
fn generic_csv_with_tags_attributes_bom_and_crlf() {
    let text = "\u{feff}SKU,Location,On_Hand,Reserved,tags,brand\r\nA,newark,5,1,candles; fragile,acme\r\nA,austin,2,0,,\r\nB,toronto,0,0,,\r\n";
    let s = rd(text, Format::Csv).unwrap();
    assert_eq!(s.len(), 2);
    let a = s.get("A").unwrap();
    assert_eq!(a.available_at(0), 4);
    assert_eq!(a.available_at(1), 2);
    assert_eq!(a.available_at(2), 0);
    let tags: Vec<&str> = a.tags().map(|t| s.tag_names[t as usize].as_str()).collect();
    assert_eq!(tags, vec!["candles", "fragile"]);
    assert_eq!(
        a.attrs().collect::<Vec<_>>(),
        vec![(s.find_attr("brand").unwrap(), "acme")]
    );
}

#[test]
fn reserved_above_on_hand_is_zero_available() {
    let s = rd("sku,location,on_hand,reserved\nA,newark,2,5\n", Format::Csv).unwrap();
    assert_eq!(s.get("A").unwrap().available_at(0), 0);
}

#[test]
fn every_bad_row_is_reported_with_place_and_help() {
    let text = "sku,location,on_hand,reserved\n\
                A,newark,-2,0\n\
                B,newrak,3,0\n\
                C,austin,,0\n\
                D,austin,1.5,0\n\
                A,austin,1,0\n\
                A,austin,1,0\n\
                E,austin,1\n\
                ,austin,1,0\n";
    let e = rd(text, Format::Csv).unwrap_err();
    let s = e.to_string();
    assert_eq!(e.count(), 7, "{s}");
    assert!(
        s.contains("inv:2, column 3 (on_hand): the quantity `-2` is negative"),
        "{s}"
    );
    assert!(
        s.contains("inv:3, column 2 (location): unknown location `newrak`"),
        "{s}"
    );
    assert!(s.contains("did you mean `newark`?"), "{s}");
    assert!(
        s.contains("inv:4, column 3 (on_hand): the quantity is blank"),
        "{s}"
    );
    assert!(s.contains("never read as 0"), "{s}");
    assert!(
        s.contains("inv:5") && s.contains("not a whole number"),
        "{s}"
    );
    assert!(
        s.contains("inv:7: a second row for SKU `A` at location `austin`"),
        "{s}"
    );
    assert!(s.contains("inv:8: the row has 3 fields"), "{s}");
    assert!(s.contains("inv:9, column 1 (sku): the SKU is blank"), "{s}");
    assert!(s.contains("nothing was read"), "{s}");
}

#[test]
fn row_errors_stop_at_the_limit_and_count_the_rest() {
    let mut text = String::from("sku,location,on_hand\n");
    for i in 0..70 {
        text.push_str(&format!("S{i},newark,x\n"));
    }
    let e = rd(&text, Format::Csv).unwrap_err();
    let s = e.to_string();
    assert!(s.contains("and 20 more"), "{s}");
    assert_eq!(e.count(), 70);
}

#[test]
fn missing_columns_are_named() {
    let e = rd("sku,on_hand\nA,1\n", Format::Csv).unwrap_err();
    assert!(e.to_string().contains("no location column"), "{e}");
}

#[test]
fn shopify_export_maps_committed_and_unavailable_to_reserved() {
    let text = "Handle,Title,Option1 Name,Option1 Value,SKU,Location,Incoming,Unavailable,Committed,Available,On hand\n\
                mug,Mug,Size,L,MUG-1,Newark,10,1,2,7,10\n\
                mug,Mug,Size,L,MUG-1,Austin,0,0,0,not stocked,not stocked\n\
                mug,Mug,Size,S,,Newark,0,0,0,3,3\n";
    let s = rd(text, Format::Shopify).unwrap();
    let m = s.get("MUG-1").unwrap();
    assert_eq!(m.entries().count(), 1);
    assert_eq!(m.available_at(0), 7);
    assert_eq!(s.warnings.len(), 1);
    assert_eq!(detect(Path::new("x.csv"), text.as_bytes()), Format::Shopify);
}

#[test]
fn shopify_location_names_match_loosely_and_errors_are_located() {
    let l = vec![Location {
        name: "newark_warehouse".into(),
        supply_source: None,
    }];
    let text = "Handle,SKU,Location,On hand,Committed,Unavailable\nh,A,Newark Warehouse,3,0,0\nh,B,Brooklyn,1,0,0\n";
    let e = read_from(
        "shop.csv",
        text.as_bytes(),
        Format::Shopify,
        &l,
        Default::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("shop.csv:3, column 3 (Location): unknown location `Brooklyn`"),
        "{e}"
    );
    let ok = read_from(
        "shop.csv",
        "Handle,SKU,Location,On hand\nh,A,Newark Warehouse,3\n".as_bytes(),
        Format::Shopify,
        &l,
        Default::default(),
    )
    .unwrap();
    assert_eq!(ok.get("A").unwrap().available_at(0), 3);
}

#[test]
fn json_list_streams_and_locates_item_errors() {
    let text = r#"[
  {"sku": "A", "location": "newark", "on_hand": 5, "reserved": 1, "tags": ["candles"]},
  {"sku": "B", "location": "newark", "on_hand": -1},
  {"sku": "C", "location": "austin", "on_hnad": 1}
]"#;
    let e = rd(text, Format::Json).unwrap_err();
    let s = e.to_string();
    assert!(
        s.contains("inv:3, column 3 (on_hand): item 2: the quantity -1 is negative"),
        "{s}"
    );
    assert!(
        s.contains("inv:4, column 3 (on_hnad): item 3: unknown key `on_hnad`"),
        "{s}"
    );
    assert!(s.contains("did you mean `on_hand`?"), "{s}");
    let ok = rd(
        r#"[{"sku": "A", "location": "newark", "on_hand": 5, "reserved": 1, "tags": ["candles"], "attributes": {"brand": "acme"}}]"#,
        Format::Json,
    )
    .unwrap();
    assert_eq!(ok.get("A").unwrap().available_at(0), 4);
    assert_eq!(ok.find_tag("candles"), Some(0));
}

#[test]
fn json_syntax_error_has_line_and_column() {
    let e = rd("[\n {\"sku\": \"A\",,}\n]", Format::Json).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("error[allot::inventory::bad-syntax]: inv:2:"),
        "{e}"
    );
}

#[test]
fn yaml_list_with_located_errors() {
    let ok = rd(
        "- sku: A\n  location: newark\n  on_hand: 3\n  reserved: 0\n  tags: [candles]\n- sku: B\n  location: austin\n  on_hand: 1\n",
        Format::Yaml,
    )
    .unwrap();
    assert_eq!(ok.len(), 2);
    let e = rd(
        "- sku: A\n  location: newark\n  on_hand: 3\n- sku: B\n  location: austin\n  on_hand: ~\n",
        Format::Yaml,
    )
    .unwrap_err();
    let s = e.to_string();
    assert!(s.contains("inv:4") && s.contains("null"), "{s}");
}

#[test]
fn quantities_parse_strictly() {
    assert_eq!(parse_quantity(" 12 "), Ok(12));
    assert_eq!(parse_quantity("007"), Ok(7));
    assert!(parse_quantity("").is_err());
    assert!(parse_quantity("-1").is_err());
    assert!(parse_quantity("1,200").is_err());
    assert!(parse_quantity("abc").is_err());
    assert!(parse_quantity("NaN").is_err());
}

/// A reader that hands out at most `chunk` bytes per read, to split `\r\n` across reads.
struct Trickle<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn crlf_becomes_lf_whatever_the_read_sizes() {
    use std::io::Read;
    let input = b"a,b\r\nc,d\r\n\r\nlone\rcr\r\r\nend\r";
    for chunk in 1..=8 {
        for buf_len in [2usize, 3, 7, 64] {
            let mut r = crate::input::CrlfToLf::new(Trickle { data: input, chunk });
            let mut out = Vec::new();
            let mut buf = vec![0u8; buf_len];
            loop {
                let n = r.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            assert_eq!(
                out, b"a,b\nc,d\n\nlone\rcr\r\nend\r",
                "chunk {chunk}, buffer {buf_len}"
            );
        }
    }
}

#[test]
fn crlf_rows_are_reported_on_their_own_line() {
    let text = "sku,location,on_hand,reserved\r\nA,newark,,0\r\nB,newark,-1,0\r\n";
    let err = rd(text, Format::Csv).unwrap_err().to_string();
    assert!(err.contains(":2, column 3"), "{err}");
    assert!(err.contains(":3, column 3"), "{err}");
}

#[test]
fn quantities_are_plain_digits_only() {
    for bad in ["12.0", "1e3", "+7", "1_000", "0x10", "1E3", " 1 2 ", "１２"] {
        let e = parse_quantity(bad).unwrap_err();
        assert!(e.0.contains("not a whole number"), "{bad}: {e:?}");
    }
    assert!(parse_quantity("-0").unwrap_err().0.contains("negative"));
    let e = parse_quantity("18446744073709551616").unwrap_err();
    assert!(e.0.contains("too large"), "{e:?}");
    // The same spellings are refused in JSON, where they are numbers rather than text.
    let e = rd(
        r#"[{"sku": "A", "location": "newark", "on_hand": 1e3}]"#,
        Format::Json,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("inv:1") && e.contains("not written as a whole number"),
        "{e}"
    );
    let e = rd(
        "- sku: A\n  location: newark\n  on_hand: 12.0\n",
        Format::Yaml,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("not written as a whole number"), "{e}");
}

#[test]
fn stock_that_adds_up_past_2_64_is_a_located_error_never_a_wrapped_pool() {
    let half = 1u64 << 63;
    let text = format!("sku,location,on_hand,reserved\nA,newark,{half},0\nA,austin,{half},0\n");
    let e = rd(&text, Format::Csv).unwrap_err().to_string();
    assert!(
        e.contains("inv:3, column 3 (on_hand): the stock of SKU `A` over its locations adds up to more than 18446744073709551615"),
        "{e}"
    );
    assert!(e.contains("help: a quantity this large"), "{e}");
    let text = format!(
        "sku,location,on_hand,reserved\nA,newark,{},0\nA,austin,10,0\n",
        u64::MAX
    );
    assert!(rd(&text, Format::Csv).is_err());
    // Reserved stock is taken off first: what is added up is the available stock.
    let text = format!(
        "sku,location,on_hand,reserved\nA,newark,{},5\nA,austin,5,0\n",
        u64::MAX
    );
    assert_eq!(
        rd(&text, Format::Csv)
            .unwrap()
            .get("A")
            .unwrap()
            .available_at(1),
        5
    );
    let json = format!(
        r#"[{{"sku": "A", "location": "newark", "on_hand": {half}}},
 {{"sku": "A", "location": "austin", "on_hand": {half}}}]"#
    );
    let e = rd(&json, Format::Json).unwrap_err().to_string();
    assert!(
        e.contains("inv:2") && e.contains("item 2: the stock of SKU `A`"),
        "{e}"
    );
    let shopify = format!("Handle,SKU,Location,On hand\nh,A,newark,{half}\nh,A,austin,{half}\n");
    let e = rd(&shopify, Format::Shopify).unwrap_err().to_string();
    assert!(
        e.contains("inv:3, column 4 (On hand)") && e.contains("adds up"),
        "{e}"
    );
}

#[test]
fn duplicate_header_names_are_refused_naming_both_columns() {
    let e = rd("sku,location,on_hand,SKU\nA,newark,1,B\n", Format::Csv)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("inv:1:4: columns 1 and 4 of the header are both named `SKU`"),
        "{e}"
    );
    let e = rd(
        "sku,location,on_hand,brand,Brand\nA,newark,1,x,y\n",
        Format::Csv,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("columns 4 and 5"), "{e}");
    let e = rd(
        "Handle,SKU,Location,On hand,On hand\nh,A,newark,1,2\n",
        Format::Shopify,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("columns 4 and 5") && e.contains("`On hand`"),
        "{e}"
    );
    // Columns Shopify exports that allot does not read may repeat.
    assert!(
        rd(
            "Handle,SKU,Location,On hand,x,x\nh,A,newark,1,,\n",
            Format::Shopify
        )
        .is_ok()
    );
}

#[test]
fn invisible_characters_in_a_sku_are_refused_by_code_point() {
    for (sku, name) in [
        ("A\u{200B}", "U+200B ZERO WIDTH SPACE"),
        ("A\u{FEFF}B", "U+FEFF"),
        ("A\u{A0}", "U+00A0 NO-BREAK SPACE"),
        ("\u{2060}A", "U+2060"),
    ] {
        let text = format!("sku,location,on_hand\nOK,newark,1\n{sku},newark,1\n");
        let e = rd(&text, Format::Csv).unwrap_err().to_string();
        assert!(
            e.contains("inv:3, column 1 (sku)") && e.contains(name),
            "{sku:?}: {e}"
        );
        assert!(e.contains("invisible character"), "{e}");
        let json = format!("[{{\"sku\": \"{sku}\", \"location\": \"newark\", \"on_hand\": 1}}]");
        let e = rd(&json, Format::Json).unwrap_err().to_string();
        assert!(e.contains(name), "{sku:?}: {e}");
    }
    // ASCII spaces around a SKU are trimmed, as before; inside it they are part of it.
    let s = rd("sku,location,on_hand\n  A B ,newark,1\n", Format::Csv).unwrap();
    assert!(s.get("A B").is_some());
}

#[test]
fn a_huge_cell_is_quoted_by_its_start_and_length_only() {
    let sku = "S".repeat(200_000);
    let text = format!("sku,location,on_hand\n{sku},nowhere,x\n{sku},newark,1\n{sku},newark,1\n");
    let e = rd(&text, Format::Csv).unwrap_err().to_string();
    assert!(e.len() < 4_000, "{} bytes", e.len());
    assert!(e.contains("… (200000 characters)"), "{e}");
    let loc = "L".repeat(200_000);
    let e = rd(&format!("sku,location,on_hand\nA,{loc},1\n"), Format::Csv)
        .unwrap_err()
        .to_string();
    assert!(e.len() < 4_000, "{} bytes", e.len());
}

/// Found by tests/fuzz.rs: a 78,000-character header name was echoed as the field of every
/// row error (156 KB of messages).
#[test]
fn a_huge_header_name_is_clipped_where_errors_name_the_field() {
    let h = "x".repeat(78_000);
    let text = format!("sku,location,on_hand,{h}\nA,newark,1,a\nA,austin,1,b\nB,newark,-1,c\n");
    let e = rd(&text, Format::Csv).unwrap_err().to_string();
    assert!(e.contains("(78000 characters)"), "{e}");
    assert!(e.len() < 2_000, "{} bytes", e.len());
}

/// A generated file of `n` SKUs whose rows are interleaved: every SKU's second row comes
/// `n` rows after its first, so rows of one SKU fall in different batches of the pipeline.
fn interleaved(n: usize, crlf: bool) -> String {
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut t = format!("\u{feff}sku,location,on_hand,reserved,tags,brand{eol}");
    for loc in ["newark", "austin"] {
        for i in 0..n {
            let tag = if loc == "newark" { "a" } else { "b" };
            t.push_str(&format!("S{i},{loc},{i},1,{tag};x,br{}{eol}", i % 7));
        }
    }
    t
}

#[test]
fn the_pipeline_keeps_sku_order_tags_and_rows_across_batches() {
    for crlf in [false, true] {
        let n = 10_000;
        let s = rd(&interleaved(n, crlf), Format::Csv).unwrap();
        assert_eq!(s.len(), n);
        for (i, item) in s.items().enumerate() {
            assert_eq!(item.sku(), format!("S{i}"));
            let locs: Vec<usize> = item.entries().map(|e| e.location).collect();
            assert_eq!(locs, vec![0, 1], "rows in the order read");
            assert_eq!(item.available_at(1), (i as u64).saturating_sub(1));
            let tags: Vec<&str> = item
                .tags()
                .map(|t| s.tag_names[t as usize].as_str())
                .collect();
            assert_eq!(tags, vec!["a", "x", "b"]);
            let brand = format!("br{}", i % 7);
            assert_eq!(item.attrs().collect::<Vec<_>>(), vec![(0, brand.as_str())]);
        }
        // Attribute values are stored once each, however many SKUs share them.
        assert_eq!(s.interned_values(), 7);
        assert_eq!(s.get("S9999").unwrap().sku(), "S9999");
        assert!(s.get("S10000").is_none());
    }
}

#[test]
fn the_pipeline_reports_errors_late_in_a_file_on_their_own_lines() {
    for crlf in [false, true] {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut t = interleaved(5_000, crlf);
        // Lines 10002.. : a bad quantity, a duplicate of an early row, an attribute conflict.
        t.push_str(&format!("T1,newark,x,0,,{eol}"));
        t.push_str(&format!("S3,austin,1,0,,{eol}"));
        t.push_str(&format!("S4,toronto,1,0,,other{eol}"));
        let e = rd(&t, Format::Csv).unwrap_err();
        let s = e.to_string();
        assert_eq!(e.count(), 3, "{s}");
        let at = |l: &str| s.find(l).unwrap_or_else(|| panic!("{l} in {s}"));
        assert!(
            at("inv:10002, column 3 (on_hand): the quantity `x`")
                < at("inv:10003: a second row for SKU `S3` at location `austin`")
        );
        assert!(s.contains("inv:10004, column 6 (brand): SKU `S4` has `brand` = `other` here but `br4` on an earlier row"), "{s}");
    }
}

#[test]
fn a_bad_record_late_in_a_file_is_reported_with_its_line() {
    let mut t = interleaved(3_000, false).into_bytes();
    t.extend_from_slice(b"Z,newark,1,0,\xff,\n");
    let e = read_from("inv", &t[..], Format::Csv, &locs(), Default::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("inv:6002: the row is not valid UTF-8"), "{e}");
}

#[test]
fn shopify_exports_read_on_two_threads_as_on_one() {
    let mut t = String::from("Handle,SKU,Location,On hand,Committed\n");
    for i in 0..6_000 {
        t.push_str(&format!("h,M{},Newark,{i},1\n", i % 4_000));
    }
    t.push_str("h,,Newark,1,0\n");
    let e = rd(&t, Format::Shopify).unwrap_err().to_string();
    // Rows 4002.. repeat SKUs of rows 2..: each is a second row, on its own line.
    assert!(e.contains("inv:4002: a second row for SKU `M0`"), "{e}");
    assert!(e.contains("and 1950 more"), "{e}");
    let ok = t.lines().take(4_001).collect::<Vec<_>>().join("\n") + "\nh,,Newark,1,0\n";
    let s = rd(&ok, Format::Shopify).unwrap();
    assert_eq!(s.len(), 4_000);
    assert_eq!(s.items().nth(3_999).unwrap().available_at(0), 3_998);
    assert_eq!(s.warnings.len(), 1);
}

#[test]
fn rows_of_a_sku_far_apart_are_kept_in_order_after_shrinking() {
    let s = rd(
        "sku,location,on_hand\nA,austin,1\nB,newark,2\nA,toronto,3\nB,austin,4\nA,newark,5\n",
        Format::Csv,
    )
    .unwrap();
    let rows = |sku| {
        s.get(sku)
            .unwrap()
            .entries()
            .map(|e| (e.location, e.on_hand))
            .collect::<Vec<_>>()
    };
    assert_eq!(rows("A"), vec![(1, 1), (2, 3), (0, 5)]);
    assert_eq!(rows("B"), vec![(0, 2), (1, 4)]);
}

#[test]
fn case_twins_are_found_with_the_fast_hasher() {
    let s = rd(
        "sku,location,on_hand\nYOGA-1,newark,1\nyoga-1,newark,1\nÄpfel,newark,1\näPFEL,newark,1\nYoga-1,austin,1\nB,newark,1\n",
        Format::Csv,
    )
    .unwrap();
    assert_eq!(s.warnings.len(), 1);
    assert!(
        s.warnings[0].starts_with("inv: 3 SKUs differ from another only in letter case (`YOGA-1` and `yoga-1`, `Äpfel` and `äPFEL`, `YOGA-1` and `Yoga-1`)"),
        "{}",
        s.warnings[0]
    );
}

/// Twins are found as SKUs are added: across files, through the Kelvin sign (which lower-cases
/// to ASCII `k`), past the 64 bytes hashed on the stack, and `get` still finds each SKU by its
/// exact name.
#[test]
fn case_twins_are_found_across_files_and_long_skus() {
    let long = "L".repeat(70);
    let a = format!("sku,location,on_hand\n{long},newark,1\n\u{212A}IT,newark,1\nB,newark,1\n");
    let b = format!(
        "sku,location,on_hand\n{},austin,1\nkit,austin,2\nb,austin,1\n",
        long.to_lowercase()
    );
    let inputs = [Input::Stdin(a.as_bytes()), Input::Stdin(b.as_bytes())];
    let s = read_all(&inputs, Some(Format::Csv), &locs(), Default::default()).unwrap();
    let w = s.warnings.join("\n");
    assert!(
        w.contains("3 SKUs differ from another only in letter case"),
        "{w}"
    );
    assert!(
        w.contains("`\u{212A}IT` and `kit`") && w.contains("`B` and `b`"),
        "{w}"
    );
    assert_eq!(s.get("kit").unwrap().available_at(1), 2);
    assert_eq!(s.get("\u{212A}IT").unwrap().available_at(0), 1);
    assert!(s.get("KIT").is_none());
}

/// The index's hash lowers exactly the ASCII capitals, whatever byte and place.
#[test]
fn the_folded_hash_lowers_ascii_capitals_only() {
    use super::stock::lower_word;
    for b in 0..=255u8 {
        for at in 0..8 {
            let mut w = [b'x'; 8];
            w[at] = b;
            let mut want = w;
            want[at] = b.to_ascii_lowercase();
            assert_eq!(
                lower_word(u64::from_le_bytes(w)),
                u64::from_le_bytes(want),
                "{b:#x} at {at}"
            );
        }
    }
}

mod case_twin_props {
    use super::*;
    use proptest::prelude::*;

    /// What the note says, the slow way: each SKU (first rows only) whose lower case an
    /// earlier SKU has, with the first such SKU.
    fn reference(skus: &[String]) -> (usize, Vec<(String, String)>) {
        let mut seen: Vec<&String> = Vec::new();
        let mut pairs = Vec::new();
        for s in skus {
            if seen.contains(&s) {
                continue;
            }
            if let Some(first) = seen.iter().find(|t| t.to_lowercase() == s.to_lowercase()) {
                pairs.push(((*first).clone(), s.clone()));
            }
            seen.push(s);
        }
        (pairs.len(), pairs.into_iter().take(5).collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn twins_found_while_adding_match_a_pairwise_search(
            skus in proptest::collection::vec("[aAkK\u{212A}\u{DF}\u{130}i]{1,3}|[aA]{60,70}", 0..40)
        ) {
            let mut st = Stock::new();
            for s in &skus {
                st.intern(s);
            }
            let t = st.case_twins();
            let got: Vec<(String, String)> = t
                .first
                .iter()
                .map(|&(a, b)| (st.sku(a).to_string(), st.sku(b).to_string()))
                .collect();
            prop_assert_eq!((t.total, got), reference(&skus));
            for s in &skus {
                prop_assert_eq!(st.get(s).map(|i| i.sku()), Some(s.as_str()));
            }
        }
    }
}

mod row_props {
    use super::*;
    use proptest::prelude::*;

    /// A stock and its row errors' (line, code), built the slow way: each row added to a
    /// `Stock` by SKU, every tag and attribute set again.
    type Read = (Vec<Item>, Vec<(u64, String)>);

    /// A SKU: its rows, its tags and its attributes (`name=value`).
    type Item = (String, Vec<StockEntry>, Vec<String>, Vec<String>);

    fn view(st: &Stock) -> Vec<Item> {
        st.items()
            .map(|i| {
                let tags = i.tags().map(|t| st.tag_names[t as usize].clone()).collect();
                let attrs = i.attrs().map(|(n, v)| format!("{n}={v}")).collect();
                (i.sku().to_string(), i.entries().collect(), tags, attrs)
            })
            .collect()
    }

    fn reference(rows: &[(String, usize, u64, String, String)]) -> Read {
        let (mut st, mut errors) = (Stock::new(), Vec::new());
        for (i, (sku, loc, q, tags, brand)) in rows.iter().enumerate() {
            let line = i as u64 + 2;
            let sku = sku.trim();
            if sku.is_empty() {
                errors.push((line, C::BAD_SKU.to_string()));
                continue;
            }
            match st.add(sku, *loc, *q, 0) {
                Ok(()) => {}
                Err(AddError::DuplicateRow) => {
                    errors.push((line, C::DUPLICATE_ROW.to_string()));
                    continue;
                }
                Err(AddError::Overflow) => unreachable!("quantities are small"),
            }
            st.add_tags(
                sku,
                tags.split(';').map(str::trim).filter(|t| !t.is_empty()),
            );
            let brand = brand.trim();
            if !brand.is_empty() && st.set_attr(sku, "brand", brand).is_err() {
                errors.push((line, C::CONFLICTING_VALUE.to_string()));
            }
        }
        (view(&st), errors)
    }

    fn row() -> impl Strategy<Value = (String, usize, u64, String, String)> {
        (
            prop_oneof![4 => "[ABa]", 1 => Just(" B ".to_string()), 1 => Just(" ".to_string())],
            0usize..3,
            0u64..5,
            prop_oneof![Just(""), Just("t1"), Just("t1;t2"), Just(" t2 ")].prop_map(String::from),
            prop_oneof![Just(""), Just("x"), Just("y"), Just(" x")].prop_map(String::from),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The reader skips the lookups a row repeating the row before makes (its SKU, its
        /// tags, its attributes): what it reads is what adding every row in full makes.
        #[test]
        fn rows_read_as_added_one_by_one(rows in proptest::collection::vec(row(), 1..30)) {
            let names = ["newark", "austin", "toronto"];
            let mut text = String::from("sku,location,on_hand,reserved,tags,brand\n");
            for (sku, loc, q, tags, brand) in &rows {
                text.push_str(&format!("{sku},{},{q},0,{tags},{brand}\n", names[*loc]));
            }
            let got = match rd(&text, Format::Csv) {
                Ok(st) => (view(&st), Vec::new()),
                Err(InputError::Rows { errors, .. }) => {
                    let (want_view, _) = reference(&rows);
                    let lines = errors.iter().map(|e| (e.line, e.code.to_string())).collect();
                    (want_view, lines)
                }
                Err(e) => panic!("{e}"),
            };
            prop_assert_eq!(got, reference(&rows));
        }
    }
}

/// A SKU's rows that repeat the tags and attributes of the row before are not looked up
/// again, but a row repeating a refused row (an attribute conflict) is refused again, and a
/// row with new tags still adds them.
#[test]
fn repeated_rows_of_a_sku_keep_their_tags_and_errors() {
    let text = "sku,location,on_hand,reserved,tags,brand\nA,newark,1,0,t1,acme\nA,austin,1,0,t1,acme\nA,toronto,1,0,t1;t2,acme\nB,newark,1,0,,x\nB,austin,1,0,,y\nB,toronto,1,0,,y\n";
    let e = rd(text, Format::Csv).unwrap_err();
    let s = e.to_string();
    assert_eq!(e.count(), 2, "{s}");
    assert!(s.contains("inv:6, column 6 (brand)"), "{s}");
    assert!(s.contains("inv:7, column 6 (brand)"), "{s}");
    let ok = text.replace(",y\n", ",x\n");
    let st = rd(&ok, Format::Csv).unwrap();
    let a = st.get("A").unwrap();
    let tags: Vec<&str> = a
        .tags()
        .map(|t| st.tag_names[t as usize].as_str())
        .collect();
    assert_eq!(tags, ["t1", "t2"]);
    assert_eq!(st.len(), 2);
}

fn opts(negative_as_zero: bool, ignore_unknown_locations: bool) -> InventoryOptions {
    InventoryOptions {
        negative_as_zero,
        ignore_unknown_locations,
    }
}

fn rd_with(text: &str, f: Format, o: InventoryOptions) -> Result<Stock, InventoryError> {
    read_from("inv", text.as_bytes(), f, &locs(), o)
}

/// The same untidy inventory (a negative count, a location the policy does not declare) in
/// each format: the rows, in order, are A@newark -2/0, A@brooklyn 4, B@austin 3/-1.
fn untidy_inputs() -> [(Format, &'static str); 4] {
    [
        (
            Format::Csv,
            "sku,location,on_hand,reserved\nA,newark,-2,0\nA,brooklyn,4,0\nB,austin,3,-1\n",
        ),
        (
            Format::Shopify,
            "Handle,SKU,Location,Committed,On hand\nh,A,Newark,0,-2\nh,A,Brooklyn,0,4\ni,B,Austin,-1,3\n",
        ),
        (
            Format::Json,
            r#"[{"sku": "A", "location": "newark", "on_hand": -2},
{"sku": "A", "location": "brooklyn", "on_hand": 4},
{"sku": "B", "location": "austin", "on_hand": 3, "reserved": "-1"}]"#,
        ),
        (
            Format::Yaml,
            "- {sku: A, location: newark, on_hand: -2}\n- {sku: A, location: brooklyn, on_hand: 4}\n- {sku: B, location: austin, on_hand: 3, reserved: -1}\n",
        ),
    ]
}

#[test]
fn untidy_rows_are_refused_by_default_with_a_help_naming_the_option() {
    for (f, text) in untidy_inputs() {
        let e = rd_with(text, f, opts(false, false))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is negative"), "{f:?}: {e}");
        assert!(
            e.contains("add `inventory negative_as_zero` to the policy"),
            "{f:?}: {e}"
        );
        assert!(e.contains("unknown location `"), "{f:?}: {e}");
        assert!(
            e.contains("add `inventory ignore_unknown_locations` to the policy"),
            "{f:?}: {e}"
        );
    }
}

#[test]
fn negative_as_zero_reads_negatives_as_0_in_every_format_with_one_warning() {
    for (f, text) in untidy_inputs() {
        // The unknown location is still refused: each option does one thing.
        let e = rd_with(text, f, opts(true, false)).unwrap_err().to_string();
        assert!(!e.contains("negative"), "{f:?}: {e}");
        assert_eq!(e.matches("unknown location").count(), 1, "{f:?}: {e}");
        let s = rd_with(text, f, opts(true, true)).unwrap();
        let a = s.get("A").unwrap();
        assert_eq!(
            a.entries()
                .map(|e| (e.location, e.on_hand))
                .collect::<Vec<_>>(),
            vec![(0, 0)],
            "{f:?}"
        );
        let b = s.get("B").unwrap().entries().next().unwrap();
        assert_eq!((b.on_hand, b.reserved, b.available()), (3, 0, 3), "{f:?}");
        let neg: Vec<&String> = s
            .warnings
            .iter()
            .filter(|w| w.contains("negative"))
            .collect();
        assert_eq!(
            neg,
            vec![
                "inv: 2 inventory rows with a negative quantity read as 0 (inventory negative_as_zero): A at newark (-2), B at austin (-1)"
            ],
            "{f:?}"
        );
    }
}

#[test]
fn ignore_unknown_locations_leaves_the_rows_out_in_every_format_with_one_warning() {
    for (f, text) in untidy_inputs() {
        let e = rd_with(text, f, opts(false, true)).unwrap_err().to_string();
        assert!(!e.contains("unknown location"), "{f:?}: {e}");
        let s = rd_with(text, f, opts(true, true)).unwrap();
        assert_eq!(s.get("A").unwrap().entries().count(), 1, "{f:?}");
        let unknown: Vec<&String> = s
            .warnings
            .iter()
            .filter(|w| w.contains("left out"))
            .collect();
        let shown = if f == Format::Shopify {
            "Brooklyn"
        } else {
            "brooklyn"
        };
        assert_eq!(
            unknown,
            vec![&format!(
                "inv: 1 inventory row left out for location the policy does not declare (inventory ignore_unknown_locations): `{shown}`; declare a location with `location NAME` to allot its stock"
            )],
            "{f:?}"
        );
    }
}

#[test]
fn a_blank_location_is_an_error_even_when_unknown_ones_are_ignored() {
    let e = rd_with(
        "sku,location,on_hand\nA,,1\n",
        Format::Csv,
        opts(false, true),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("the location is blank"), "{e}");
    assert!(!e.contains("ignore_unknown_locations"), "{e}");
}

#[test]
fn warnings_name_five_and_count_every_row() {
    let mut text = String::from("sku,location,on_hand\n");
    for i in 0..7 {
        text.push_str(&format!(
            "S{i},newark,-{i}\nS{i},store{i},1\nS{i},store0,1\n"
        ));
    }
    let s = rd_with(&text, Format::Csv, opts(true, true)).unwrap();
    // `-0` is written with a sign: counted like any other negative.
    assert_eq!(
        s.warnings,
        vec![
            "inv: 7 inventory rows with a negative quantity read as 0 (inventory negative_as_zero): S0 at newark (-0), S1 at newark (-1), S2 at newark (-2), S3 at newark (-3), S4 at newark (-4), …".to_string(),
            "inv: 14 inventory rows left out for locations the policy does not declare (inventory ignore_unknown_locations): `store0`, `store1`, `store2`, `store3`, `store4`, …; declare a location with `location NAME` to allot its stock".to_string(),
        ]
    );
}

#[test]
fn several_inputs_read_as_one_with_rows_tags_and_attributes_united() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.json");
    std::fs::write(
        &a,
        "sku,location,on_hand,tags,brand\nA,newark,5,candles,acme\nB,newark,1,,\n",
    )
    .unwrap();
    std::fs::write(
        &b,
        r#"[{"sku": "A", "location": "austin", "on_hand": 2, "tags": ["fragile"], "attributes": {"brand": "acme"}},
{"sku": "C", "location": "toronto", "on_hand": 7}]"#,
    )
    .unwrap();
    let stdin = b"sku,location,on_hand\nB,austin,3\n";
    let s = read_all(
        &[Input::File(&a), Input::File(&b), Input::Stdin(stdin)],
        None,
        &locs(),
        InventoryOptions::default(),
    )
    .unwrap();
    assert_eq!(
        s.items().map(|i| i.sku()).collect::<Vec<_>>(),
        vec!["A", "B", "C"]
    );
    let a_item = s.get("A").unwrap();
    assert_eq!((a_item.available_at(0), a_item.available_at(1)), (5, 2));
    let tags: Vec<&str> = a_item
        .tags()
        .map(|t| s.tag_names[t as usize].as_str())
        .collect();
    assert_eq!(tags, vec!["candles", "fragile"]);
    assert_eq!(s.get("B").unwrap().available_at(1), 3);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn a_row_in_two_inputs_is_an_error_naming_both_files_and_lines() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    std::fs::write(&a, "sku,location,on_hand\nX,austin,1\nY,newark,2\n").unwrap();
    std::fs::write(
        &b,
        "sku,location,on_hand,brand\nZ,newark,1,\nQ,newark,1,\nY,Newark,3,acme\n",
    )
    .unwrap();
    let e = read_all(
        &[Input::File(&a), Input::File(&b)],
        None,
        &locs(),
        InventoryOptions::default(),
    )
    .unwrap_err()
    .to_string();
    let (an, bn) = (a.display(), b.display());
    assert!(
        e.contains(&format!(
            "error[allot::inventory::duplicate-row]: {bn}:4: a second row for SKU `Y` at location `newark`: {an}:3 and {bn}:4"
        )),
        "{e}"
    );
    let twice = read_all(
        &[Input::File(&a), Input::File(&a)],
        None,
        &locs(),
        InventoryOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        twice.contains("this file is given twice as --inventory"),
        "{twice}"
    );
    // An attribute that disagrees across files is refused as within one.
    std::fs::write(&a, "sku,location,on_hand,brand\nY,austin,2,other\n").unwrap();
    let e = read_all(
        &[Input::File(&a), Input::File(&b)],
        None,
        &locs(),
        InventoryOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("SKU `Y` has `brand` = `acme` here but `other` in an earlier --inventory file"),
        "{e}"
    );
}

#[test]
fn untidy_rows_of_several_inputs_make_one_warning_naming_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    std::fs::write(&a, "sku,location,on_hand\nX,newark,-1\nX,popup,1\n").unwrap();
    let stdin = b"[{\"sku\": \"Y\", \"location\": \"austin\", \"on_hand\": -4}]";
    let s = read_all(
        &[Input::File(&a), Input::Stdin(stdin)],
        None,
        &locs(),
        opts(true, true),
    )
    .unwrap();
    let an = a.display();
    assert_eq!(
        s.warnings,
        vec![
            format!(
                "{an}, <stdin>: 2 inventory rows with a negative quantity read as 0 (inventory negative_as_zero): X at newark (-1), Y at austin (-4)"
            ),
            format!(
                "{an}: 1 inventory row left out for location the policy does not declare (inventory ignore_unknown_locations): `popup`; declare a location with `location NAME` to allot its stock"
            ),
        ]
    );
}

#[test]
fn a_near_location_name_is_suggested_before_the_option() {
    let e = rd("sku,location,on_hand\nA,newrak,1\n", Format::Csv)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("help: did you mean `newark`? If it is a location the policy does not allot, add `inventory ignore_unknown_locations` to the policy to leave its rows out (with a warning)"),
        "{e}"
    );
}

#[test]
fn location_names_as_written_first_seen_one_per_location() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("inv.csv");
    std::fs::write(
        &p,
        "sku,location,on_hand\nA,Newark Warehouse,1\nB,austin,2\nC,newark-warehouse,3\nD, Austin ,4\nE,toronto,-1\n",
    )
    .unwrap();
    // `newark-warehouse` and ` Austin ` are the locations named before them to the resolver;
    // the negative row is not read here (the real read reports it).
    let names = location_names(&p, None).unwrap();
    assert_eq!(names, ["Newark Warehouse", "austin", "toronto"]);
    // A blank location is still an error, with its place.
    std::fs::write(&p, "sku,location,on_hand\nA,,1\n").unwrap();
    let e = location_names(&p, None).unwrap_err().to_string();
    assert!(e.contains("the location is blank"), "{e}");
}
