//! What every input-file reader shares, for `inventory` (`--inventory`) and `listings`
//! (`--current`) alike: opening a file and telling its format, CSV reading (CRLF, positions of
//! csv errors), the header (a column by name, missing and repeated columns, the row-length
//! check), SKU and quantity cells, and the items of a JSON or YAML list.
//!
//! A module of its own beside both readers, not inside `inventory`: the listings reader is not
//! a kind of inventory reader, and a fix to how a cell or header is read must reach both. The
//! errors are `inventory::error`'s, the one family (`allot::inventory::…`) of input-file
//! errors; only this module and the readers build them.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::diag::clip;
use crate::inventory::error::{InputError, RowError, RowErrors, codes as C};

/// How many bytes of a file's start its format is told from.
const HEAD: usize = 4096;

/// The formats a reader tells apart, and which of them its header line alone can name.
pub(crate) struct Formats<F> {
    pub json: F,
    pub yaml: F,
    pub csv: F,
    /// A CSV dialect known by its header line (Shopify's export, Amazon's report): the format,
    /// the test of the lower-cased first line, and extensions that name it outright.
    pub dialect: (F, fn(&str) -> bool, &'static [&'static str]),
    /// The dialect's header line decides over any extension (Amazon's report is downloaded as
    /// `.txt` or renamed at will); otherwise only over `.csv` and an unknown extension.
    pub header_first: bool,
}

/// The format of a file: by extension, then by its first bytes (`head`, a BOM allowed): a list
/// or map is JSON, a first line with a comma CSV, anything else YAML.
pub(crate) fn detect<F: Copy>(path: &Path, head: &[u8], formats: &Formats<F>) -> F {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let head = head.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(head);
    let first_line = String::from_utf8_lossy(head.split(|b| *b == b'\n').next().unwrap_or(&[]))
        .to_ascii_lowercase();
    let (dialect, is_dialect, dialect_exts) = formats.dialect;
    let seen = is_dialect(&first_line);
    if formats.header_first && seen {
        return dialect;
    }
    match ext.as_deref() {
        Some("json") => formats.json,
        Some("yaml" | "yml") => formats.yaml,
        Some("csv") if seen => dialect,
        Some("csv") => formats.csv,
        Some(e) if dialect_exts.contains(&e) => dialect,
        _ => match head.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[' | b'{') => formats.json,
            _ if seen => dialect,
            _ if first_line.contains(',') => formats.csv,
            _ => formats.yaml,
        },
    }
}

/// At most the first 4 KiB, for format detection.
pub(crate) fn head(bytes: &[u8]) -> &[u8] {
    &bytes[..bytes.len().min(HEAD)]
}

/// Open a file for reading, its format `format` or else told by `detect` from its start.
pub(crate) fn open<F>(
    path: &Path,
    name: &str,
    format: Option<F>,
    detect: impl FnOnce(&Path, &[u8]) -> F,
) -> Result<(BufReader<File>, F), InputError> {
    let io = |source| InputError::Io {
        path: name.to_string(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    // Large reads: the CSV readers split whole blocks, and a 64 KiB buffer halves their calls.
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let format = match format {
        Some(f) => f,
        None => {
            let h = reader.fill_buf().map_err(io)?;
            detect(path, head(h))
        }
    };
    Ok((reader, format))
}

/// A reader buffered for reading, past the UTF-8 byte-order mark it may start with (as
/// spreadsheets write one).
pub(crate) fn buffered<R: Read>(name: &str, reader: R) -> Result<BufReader<R>, InputError> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    skip_bom(&mut reader).map_err(|source| InputError::Io {
        path: name.to_string(),
        source,
    })?;
    Ok(reader)
}

/// Strip a UTF-8 byte-order mark at the start of a reader.
fn skip_bom<R: BufRead>(r: &mut R) -> std::io::Result<()> {
    let buf = r.fill_buf()?;
    if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
        r.consume(3);
    }
    Ok(())
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
    pub(crate) fn new(inner: R) -> Self {
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
            // Most files have no `\r` at all: then there is nothing to compact (a memchr
            // instead of a byte loop: a sixth of the reading thread's time on a 1M-row file).
            if !buf[..end].contains(&b'\r') {
                self.pending_cr = false;
                return Ok(end);
            }
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
    csv_error_at(name, e, 0)
}

/// The same for a reader that started `offset` lines into the file.
pub(crate) fn csv_error_at(name: &str, e: csv::Error, offset: u64) -> InputError {
    let line = e.position().map(|p| p.line() + offset);
    match e.kind() {
        csv::ErrorKind::Io(_) => {
            InputError::file(C::UNREADABLE, name, format!("cannot read the file: {e}"))
        }
        csv::ErrorKind::Utf8 { .. } => InputError::File {
            code: C::NOT_UTF8,
            path: name.to_string(),
            line,
            column: None,
            message: "the row is not valid UTF-8".into(),
            help: Some("save the file as UTF-8 (spreadsheet: \"CSV UTF-8\")".into()),
        },
        _ => InputError::File {
            code: C::BAD_SYNTAX,
            path: name.to_string(),
            line,
            column: None,
            message: format!("not a readable CSV row: {e}"),
            help: Some("check the quoting of this row".into()),
        },
    }
}

/// A CSV header: its column names as written, found by name ignoring case and surrounding
/// spaces, as every CSV format allot reads names its columns.
#[derive(Clone, Debug)]
pub(crate) struct Header {
    names: Vec<String>,
}

impl Header {
    pub(crate) fn new(record: &csv::StringRecord) -> Self {
        Header {
            names: record.iter().map(str::to_string).collect(),
        }
    }

    /// A header whose names may not be UTF-8 (Amazon's report): read lossily.
    pub(crate) fn from_bytes(record: &csv::ByteRecord) -> Self {
        Header {
            names: record
                .iter()
                .map(|h| String::from_utf8_lossy(h).into_owned())
                .collect(),
        }
    }

    /// The names as written.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// The 0-based column named `want` (ignoring case and surrounding spaces).
    pub(crate) fn find(&self, want: &str) -> Option<usize> {
        self.names
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(want))
    }

    /// The columns of all `wanted` names, or the names the header lacks.
    pub(crate) fn require<'w, const N: usize>(
        &self,
        wanted: [&'w str; N],
    ) -> Result<[usize; N], Vec<&'w str>> {
        let found = wanted.map(|w| self.find(w));
        if found.iter().all(Option::is_some) {
            return Ok(found.map(|c| c.unwrap_or_default()));
        }
        Err(wanted
            .iter()
            .zip(found)
            .filter(|(_, c)| c.is_none())
            .map(|(w, _)| *w)
            .collect())
    }

    /// Column `i`'s name, trimmed (how errors name a cell's column).
    pub(crate) fn name(&self, i: usize) -> String {
        self.raw_name(i).trim().to_string()
    }

    /// Column `i`'s name as written.
    pub(crate) fn raw_name(&self, i: usize) -> &str {
        self.names.get(i).map_or("", String::as_str)
    }

    /// Refuse two columns with one name (ignoring case and surrounding spaces) among those
    /// `relevant` says are read (it is given the lower-cased name). Reading the first and
    /// ignoring the second would silently pick one of two values.
    pub(crate) fn unique(
        &self,
        file: &str,
        relevant: impl Fn(&str) -> bool,
    ) -> Result<(), InputError> {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, h) in self.names.iter().enumerate() {
            let key = h.trim().to_lowercase();
            if key.is_empty() || !relevant(&key) {
                continue;
            }
            if let Some(&first) = seen.get(&key) {
                return Err(InputError::file_at(
                    C::DUPLICATE_COLUMN,
                    file,
                    1,
                    Some(i as u64 + 1),
                    format!(
                        "columns {} and {} of the header are both named `{}`",
                        first + 1,
                        i + 1,
                        clip(h.trim())
                    ),
                    Some("rename or delete one of them: allot will not guess which of the two to read".into()),
                ));
            }
            seen.insert(key, i);
        }
        Ok(())
    }

    /// The row-length check: a row of `len` fields must have one per header column. `help`
    /// says how to fix it in the format at hand.
    #[inline]
    pub(crate) fn check_len(&self, line: u64, len: usize, help: &str) -> Result<(), RowError> {
        if len == self.names.len() {
            return Ok(());
        }
        Err(RowError::new(
            C::FIELD_COUNT,
            line,
            format!(
                "the row has {len} fields but the header has {}",
                self.names.len()
            ),
        )
        .help(help))
    }

    /// An error about the cell of column `col`, from a `(message, help)` pair as the cell
    /// parsers return it.
    pub(crate) fn cell_error(
        &self,
        code: &'static str,
        line: u64,
        col: usize,
        e: (String, String),
    ) -> RowError {
        RowError::cell(code, line, col, self.name(col), e)
    }

    /// A SKU cell (`what`: "SKU" or "seller SKU"), cleaned by [`clean_sku`]; blank is `Ok("")`.
    pub(crate) fn sku<'a>(
        &self,
        line: u64,
        col: usize,
        raw: &'a str,
        what: &str,
    ) -> Result<&'a str, RowError> {
        clean_sku(raw, what).map_err(|e| self.cell_error(C::BAD_SKU, line, col, e))
    }

    /// The error of a blank SKU cell.
    pub(crate) fn blank_sku(&self, line: u64, col: usize, what: &str, help: &str) -> RowError {
        blank_sku(line, col, self.name(col), what, help)
    }

    /// A quantity cell, read by [`parse_quantity`].
    pub(crate) fn quantity(&self, line: u64, col: usize, raw: &str) -> Result<u64, RowError> {
        parse_quantity(raw).map_err(|e| self.cell_error(C::BAD_QUANTITY, line, col, e))
    }
}

/// The error of a blank SKU cell in column `col` named `field`.
pub(crate) fn blank_sku(
    line: u64,
    col: usize,
    field: impl Into<String>,
    what: &str,
    help: &str,
) -> RowError {
    RowError::new(C::BAD_SKU, line, format!("the {what} is blank"))
        .field(Some(col as u64 + 1), field)
        .help(help)
}

/// The error of a header that lacks a column the format needs.
pub(crate) fn missing_column(file: &str, message: impl Into<String>, help: &str) -> InputError {
    InputError::file_at(C::MISSING_COLUMN, file, 1, None, message, Some(help.into()))
}

/// Parse a quantity cell: plain decimal digits, nothing else (no sign, decimals, exponent or
/// separators: `+7`, `12.0`, `1e3` and `1,200` are refused, so a cell means one thing only).
/// Surrounding spaces are fine. Blank is an error (never read as 0). Returns (message, help).
pub(crate) fn parse_quantity(raw: &str) -> Result<u64, (String, String)> {
    if let Some(q) = plain_quantity(raw) {
        return Ok(q);
    }
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
    // Nearly every SKU: printable ASCII with no space at either end, so nothing to trim and
    // nothing invisible (a walk over it, where the general path takes three).
    if printable_ascii(raw.as_bytes())
        && raw.as_bytes().first() != Some(&b' ')
        && raw.as_bytes().last() != Some(&b' ')
    {
        return Ok(raw);
    }
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

/// Whether every byte is printable ASCII (a space up to `~`), eight bytes at a time: such text
/// has no control, no invisible character and no whitespace but the ASCII space.
pub(crate) fn printable_ascii(b: &[u8]) -> bool {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Each byte's high bit: ASCII, at least 0x20 (low seven bits + 0x60 reach 0x80), and not
    // 0x7F (low seven bits + 1 stay under 0x80). No sum carries into the next byte.
    let ok = |w: u64| {
        let low = w & LOW7;
        !w & (low + 0x6060_6060_6060_6060) & !(low + 0x0101_0101_0101_0101) & HIGH == HIGH
    };
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        if !ok(u64::from_le_bytes(w)) {
            return false;
        }
    }
    // The rest padded with a printable byte.
    let mut w = [b'a'; 8];
    let rest = chunks.remainder();
    w[..rest.len()].copy_from_slice(rest);
    ok(u64::from_le_bytes(w))
}

/// A cell of 1 to 19 ASCII digits (any such number fits a u64), read without trimming or
/// checking it again: the common quantity cell.
pub(crate) fn plain_quantity(raw: &str) -> Option<u64> {
    let b = raw.as_bytes();
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    let mut n = 0u64;
    for &d in b {
        let d = d.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + u64::from(d);
    }
    Some(n)
}

/// `s.trim()`, with no work when it starts and ends with printable ASCII other than space
/// (nearly every cell): `str::trim` decodes characters from both ends.
pub(crate) fn trim_cell(s: &str) -> &str {
    let b = s.as_bytes();
    let solid = |c: Option<&u8>| c.is_some_and(|&c| (0x21..0x7f).contains(&c));
    if solid(b.first()) && solid(b.last()) {
        s
    } else {
        s.trim()
    }
}

/// One item of a JSON or YAML list, for its errors: its number (1-based) and where it starts,
/// as well as the format can tell.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Item {
    pub n: u64,
    pub line: u64,
    pub column: Option<u64>,
}

impl Item {
    /// An error about this item: located at its start, the message led by `item N: `.
    pub(crate) fn error(&self, code: &'static str, message: impl fmt::Display) -> RowError {
        let mut e = RowError::new(code, self.line, format!("item {}: {message}", self.n));
        e.column = self.column;
        e
    }

    /// Refuse each key not in `known`, suggesting the nearest known key.
    pub(crate) fn unknown_keys<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k String>,
        known: &[&str],
        errors: &mut RowErrors,
    ) {
        for key in keys {
            if known.contains(&key.as_str()) {
                continue;
            }
            let help = match crate::diag::did_you_mean(key, known.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("the keys are {}", known.join(", ")),
            };
            errors.push(
                self.error(C::BAD_ITEM, format_args!("unknown key `{}`", clip(key)))
                    .field(None, key.clone())
                    .help(help),
            );
        }
    }

    /// The item's SKU under `key` (`None` when absent or not text), cleaned by [`clean_sku`]:
    /// a blank or missing one is refused with `blank` or `missing` and `help`.
    pub(crate) fn sku(
        &self,
        raw: Option<&str>,
        key: &'static str,
        what: &str,
        (blank, missing, help): (&str, &str, &str),
    ) -> Result<String, RowError> {
        let Some(raw) = raw else {
            return Err(self.error(C::BAD_SKU, missing).field(None, key).help(help));
        };
        match clean_sku(raw, what) {
            Ok(t) if !t.is_empty() => Ok(t.to_string()),
            Ok(_) => Err(self.error(C::BAD_SKU, blank).field(None, key).help(help)),
            Err((m, h)) => Err(self.error(C::BAD_SKU, m).field(None, key).help(h)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `printable_ascii` is the byte-at-a-time check, for every byte value in every position
    /// of texts up to 24 bytes long.
    #[test]
    fn printable_ascii_is_the_byte_check() {
        for len in 0..=24 {
            for at in 0..len.max(1) {
                for b in 0..=255u8 {
                    let mut t = vec![b'a'; len];
                    if len > 0 {
                        t[at] = b;
                    }
                    let want = t.iter().all(|&c| (0x20..0x7f).contains(&c));
                    assert_eq!(printable_ascii(&t), want, "{t:?}");
                }
            }
        }
    }

    proptest! {
        /// The fast paths give what the general ones give, on cells with spaces, signs,
        /// letters, non-ASCII spaces and controls at either end.
        #[test]
        fn fast_paths_read_as_the_general_ones(
            raw in "[ \t\u{a0}\u{3000}\u{200b}x0-9-]{0,4}[0-9a-z ]{0,22}[ \t\u{a0}\u{85}\u{7f}x0-9]{0,3}"
        ) {
            prop_assert_eq!(trim_cell(&raw), raw.trim());
            let digits = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit());
            match plain_quantity(&raw) {
                Some(q) => prop_assert_eq!(Some(q), raw.parse::<u64>().ok()),
                None => prop_assert!(!digits || raw.len() > 19),
            }
            let slow = {
                let t = raw.trim_matches(|c: char| c.is_ascii_whitespace());
                crate::diag::invisible_char(t).map_or(Ok(t), |_| Err(()))
            };
            prop_assert_eq!(clean_sku(&raw, "SKU").map_err(drop), slow);
        }
    }

    #[test]
    fn quantities_of_nineteen_digits_and_more() {
        assert_eq!(
            plain_quantity("9999999999999999999"),
            Some(9_999_999_999_999_999_999)
        );
        assert_eq!(plain_quantity("18446744073709551615"), None);
        assert_eq!(parse_quantity("18446744073709551615"), Ok(u64::MAX));
        assert!(parse_quantity("18446744073709551616").is_err());
        assert_eq!(parse_quantity("00000000000000000000007"), Ok(7));
    }
}
