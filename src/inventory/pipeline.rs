//! A CSV file read on two cores. This thread reads the file, splits it into records and
//! prepares each one (`Prepare`: the work that needs no stock, such as parsing cells); a second
//! thread adds them to the stock (`RecordSink`). Records keep their lines, so every error keeps
//! its place, and the batches are handled in file order, so SKUs keep the order of their first
//! row and errors the order of their rows. A file that fits in one batch is read on this thread
//! alone (a thread is not worth starting for it).
//!
//! Splitting: a block of whole lines with no `"` and no `\r` in it, valid UTF-8, is split here
//! at each `,` and `\n` (memchr), which is what the csv crate would make of it, several times
//! faster. From the first block that has a quote, a carriage return or bad UTF-8 on, the csv
//! crate reads the rest of the file (with CRLF read as LF), and its lines are counted on from
//! where the blocks left off: its errors are the ones a read of the whole file would give.

use std::io::{Chain, Cursor, Read};
use std::sync::mpsc;

use super::C;
use super::InputError;
use crate::input::{CrlfToLf, csv_error_at};

/// Bytes per block read in the fast path: enough whole lines that the channel is crossed
/// rarely, small enough that the blocks in flight stay a few megabytes.
const BLOCK: usize = 256 * 1024;

/// Records per batch read by the csv crate.
const BATCH: usize = 2048;

/// Batches queued between the threads; with the ones being filled and handled, at most this
/// plus two exist (they are recycled, so their buffers are allocated once).
const QUEUED: usize = 4;

/// One record: its line and its fields.
#[derive(Clone, Copy)]
pub(super) struct Record<'a> {
    line: u64,
    text: &'a str,
    fields: &'a [(u32, u32)],
}

impl<'a> Record<'a> {
    /// The line it starts on (1 is the header's).
    pub fn line(&self) -> u64 {
        self.line
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn get(&self, i: usize) -> Option<&'a str> {
        let &(start, end) = self.fields.get(i)?;
        self.text.get(start as usize..end as usize)
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let text = self.text;
        self.fields
            .iter()
            .map(move |&(s, e)| text.get(s as usize..e as usize).unwrap_or(""))
    }

    /// Where `part`, a slice of one of its fields, lies in its batch: kept by `Prepare`
    /// so the sink can find the same text with [`Record::at`].
    pub fn range_of(&self, part: &str) -> (u32, u32) {
        let start = (part.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
        (start as u32, (start + part.len()) as u32)
    }

    /// The text at a range from [`Record::range_of`].
    pub fn at(&self, (start, end): (u32, u32)) -> &'a str {
        self.text.get(start as usize..end as usize).unwrap_or("")
    }
}

/// The work done on the reading thread for each record. `out` holds an earlier record's
/// result (it is recycled): `prepare` sets all of it.
pub(super) trait Prepare {
    type Out: Default + Send;
    fn prepare(&mut self, record: Record<'_>, out: &mut Self::Out);
}

/// Nothing prepared: the sink does all the work.
pub(super) struct NoPrep;

impl Prepare for NoPrep {
    type Out = ();
    fn prepare(&mut self, _: Record<'_>, _: &mut ()) {}
}

/// What adds the prepared records to the stock, on the second thread.
pub(super) trait RecordSink<O>: Send {
    fn record(&mut self, record: Record<'_>, prepared: &mut O);
}

struct Batch<O> {
    /// A block of the file (fast path) or the records' fields end to end (csv crate).
    text: String,
    fields: Vec<(u32, u32)>,
    /// Each record's line and its fields' range in `fields`.
    rows: Vec<(u64, u32, u32)>,
    prepared: Vec<O>,
}

impl<O: Default> Batch<O> {
    fn new() -> Self {
        Batch {
            text: String::new(),
            fields: Vec::new(),
            rows: Vec::new(),
            prepared: Vec::new(),
        }
    }

    fn clear(&mut self) {
        self.text.clear();
        self.fields.clear();
        self.rows.clear();
    }

    /// Each record with its prepared value, in order.
    fn each(&mut self, mut f: impl FnMut(Record<'_>, &mut O)) {
        let Batch {
            text,
            fields,
            rows,
            prepared,
        } = self;
        if prepared.len() < rows.len() {
            prepared.resize_with(rows.len(), O::default);
        }
        for (&(line, a, b), out) in rows.iter().zip(prepared.iter_mut()) {
            let record = Record {
                line,
                text,
                fields: &fields[a as usize..b as usize],
            };
            f(record, out);
        }
    }

    fn prepare<P: Prepare<Out = O>>(&mut self, prep: &mut P) {
        self.each(|record, out| prep.prepare(record, out));
    }

    fn deliver<S: RecordSink<O>>(&mut self, sink: &mut S) {
        self.each(|record, out| sink.record(record, out));
    }

    /// Split a block of whole lines (no quote, no `\r`) into records; `line` is the first
    /// line's number, and is moved past the block. Empty lines are skipped, as the csv crate
    /// skips them.
    fn split(&mut self, line: &mut u64) {
        let Batch {
            text, fields, rows, ..
        } = self;
        let bytes = text.as_bytes();
        // One pass over the block for both separators, found eight bytes at a time (cells
        // are a few bytes: a search per separator cost twice as much in setting up).
        let (mut start, mut s, mut first) = (0, 0, fields.len() as u32);
        let mut at_separator = |at: usize| {
            if bytes[at] == b',' {
                fields.push((s as u32, at as u32));
                s = at + 1;
                return;
            }
            // An empty line has no field (no comma either: one would make it non-empty).
            if at > start {
                fields.push((s as u32, at as u32));
                rows.push((*line, first, fields.len() as u32));
            }
            *line += 1;
            (start, s, first) = (at + 1, at + 1, fields.len() as u32);
        };
        let mut words = bytes.chunks_exact(8);
        let mut base = 0;
        for w in &mut words {
            let mut found = separators(w);
            while found != 0 {
                at_separator(base + found.trailing_zeros() as usize / 8);
                found &= found - 1;
            }
            base += 8;
        }
        for (i, &b) in words.remainder().iter().enumerate() {
            if b == b',' || b == b'\n' {
                at_separator(base + i);
            }
        }
        if start < bytes.len() {
            fields.push((s as u32, bytes.len() as u32));
            rows.push((*line, first, fields.len() as u32));
            *line += 1;
        }
    }
}

/// The high bit of each byte of `w` (eight bytes, in order) that is a `,` or a `\n`.
fn separators(w: &[u8]) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // The high bit of each zero byte, exactly (no carry crosses into the next byte).
    let zeros = |x: u64| !(((x & LOW7) + LOW7) | x | LOW7);
    let mut b = [0u8; 8];
    b.copy_from_slice(w);
    let w = u64::from_le_bytes(b);
    zeros(w ^ 0x2c2c_2c2c_2c2c_2c2c) | zeros(w ^ 0x0a0a_0a0a_0a0a_0a0a)
}

type Fallback<R> = csv::Reader<CrlfToLf<Chain<Cursor<Vec<u8>>, R>>>;

enum Mode<R> {
    /// Blocks split here; `line` is the number of the first line not yet read.
    Fast {
        inner: R,
        /// Read past the last block's last `\n`.
        carry: Vec<u8>,
        line: u64,
        eof: bool,
        block: usize,
    },
    /// The csv crate, from a line on: its line numbers are `offset` short.
    Csv {
        rdr: Box<Fallback<R>>,
        offset: u64,
        record: csv::StringRecord,
    },
    /// Only while switching from one to the other.
    Switching,
}

/// A comma-separated file with a header line, read as the csv crate reads it (quotes, CRLF,
/// empty lines skipped, rows of any length), in batches.
pub(super) struct CsvSource<R> {
    mode: Mode<R>,
    headers: csv::StringRecord,
}

/// A block: at least `BLOCK` bytes (or the rest of the file), cut after its last `\n`. Read
/// into `buf` after `carry`; what follows the cut is left in `carry`. True at the end of the
/// file (then all of the rest is in `buf`).
fn read_block<R: Read>(
    inner: &mut R,
    carry: &mut Vec<u8>,
    buf: &mut Vec<u8>,
    block: usize,
) -> std::io::Result<bool> {
    buf.clear();
    buf.append(carry);
    // Bytes at the front of `buf` known to hold no `\n` (a line longer than a block).
    let mut searched = 0;
    loop {
        if buf.len() >= block {
            if let Some(i) = memchr::memrchr(b'\n', &buf[searched..]) {
                let cut = searched + i + 1;
                carry.extend_from_slice(&buf[cut..]);
                buf.truncate(cut);
                return Ok(false);
            }
            searched = buf.len();
        }
        let len = buf.len();
        let want = if len < block { block } else { len + block };
        buf.resize(want, 0);
        let mut filled = len;
        while filled < want {
            match inner.read(&mut buf[filled..]) {
                Ok(0) => {
                    buf.truncate(filled);
                    return Ok(true);
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    buf.truncate(filled);
                    return Err(e);
                }
            }
        }
    }
}

/// Whether a block can be split here: no quote and no carriage return.
fn plain(block: &[u8]) -> bool {
    memchr::memchr2(b'"', b'\r', block).is_none()
}

impl<R: Read> CsvSource<R> {
    /// Open a file and read its header (the first line that is not empty).
    pub fn open(name: &str, inner: R) -> Result<Self, InputError> {
        Self::with_block(name, inner, BLOCK)
    }

    /// `open` with blocks of `size` bytes (tests make them small, to cross many).
    fn with_block(name: &str, mut inner: R, size: usize) -> Result<Self, InputError> {
        let mut carry = Vec::new();
        let mut block = Vec::new();
        let eof =
            read_block(&mut inner, &mut carry, &mut block, size).map_err(|e| io_error(name, e))?;
        if plain(&block)
            && let Ok(text) = std::str::from_utf8(&block)
        {
            let mut line = 1;
            let mut start = 0;
            for l in text.split_inclusive('\n') {
                start += l.len();
                let l = l.strip_suffix('\n').unwrap_or(l);
                if l.is_empty() {
                    line += 1;
                    continue;
                }
                let headers = csv::StringRecord::from(l.split(',').collect::<Vec<_>>());
                // The rest of the block is read again as the start of the first batch.
                let mut rest = block[start..].to_vec();
                rest.append(&mut carry);
                return Ok(CsvSource {
                    mode: Mode::Fast {
                        inner,
                        carry: rest,
                        line: line + 1,
                        eof,
                        block: size,
                    },
                    headers,
                });
            }
            if eof {
                // Nothing but empty lines: no header, as the csv crate reads it.
                return Ok(CsvSource {
                    mode: Mode::Fast {
                        inner,
                        carry: Vec::new(),
                        line,
                        eof,
                        block: size,
                    },
                    headers: csv::StringRecord::new(),
                });
            }
        }
        block.append(&mut carry);
        let mut rdr = fallback(block, inner, true);
        let headers = rdr.headers().map_err(|e| csv_error_at(name, e, 0))?.clone();
        Ok(CsvSource {
            mode: Mode::Csv {
                rdr: Box::new(rdr),
                offset: 0,
                record: csv::StringRecord::new(),
            },
            headers,
        })
    }

    pub fn headers(&self) -> &csv::StringRecord {
        &self.headers
    }

    /// Read the next batch; true at the end of the file. On an error the batch holds the
    /// records before it.
    fn fill<O: Default>(&mut self, name: &str, batch: &mut Batch<O>) -> Result<bool, InputError> {
        batch.clear();
        if let Mode::Fast {
            inner,
            carry,
            line,
            eof,
            block,
        } = &mut self.mode
        {
            if *eof && carry.is_empty() {
                return Ok(true);
            }
            let mut buf = std::mem::take(&mut batch.text).into_bytes();
            let end = if *eof {
                buf.clear();
                buf.append(carry);
                true
            } else {
                read_block(inner, carry, &mut buf, *block).map_err(|e| io_error(name, e))?
            };
            *eof = end;
            if buf.len() > MAX_TEXT {
                return Err(too_long(name, *line));
            }
            if plain(&buf) {
                match String::from_utf8(buf) {
                    Ok(text) => {
                        batch.text = text;
                        batch.split(line);
                        return Ok(end && carry.is_empty());
                    }
                    Err(e) => buf = e.into_bytes(),
                }
            }
            // From this block on, the csv crate reads.
            buf.append(carry);
            let offset = *line - 1;
            self.mode = match std::mem::replace(&mut self.mode, Mode::Switching) {
                Mode::Fast { inner, .. } => Mode::Csv {
                    rdr: Box::new(fallback(buf, inner, false)),
                    offset,
                    record: csv::StringRecord::new(),
                },
                other => other,
            };
        }
        let Mode::Csv {
            rdr,
            offset,
            record,
        } = &mut self.mode
        else {
            return Ok(true);
        };
        for _ in 0..BATCH {
            match rdr.read_record(record) {
                Ok(true) => {}
                Ok(false) => return Ok(true),
                Err(e) => return Err(csv_error_at(name, e, *offset)),
            }
            let line = record.position().map_or(0, |p| p.line()) + *offset;
            if batch.text.len() + record.as_slice().len() > MAX_TEXT {
                return Err(too_long(name, line));
            }
            let first = batch.fields.len() as u32;
            let mut at = batch.text.len() as u32;
            batch.text.push_str(record.as_slice());
            for f in record.iter() {
                batch.fields.push((at, at + f.len() as u32));
                at += f.len() as u32;
            }
            batch.rows.push((line, first, batch.fields.len() as u32));
        }
        Ok(false)
    }
}

fn fallback<R: Read>(start: Vec<u8>, rest: R, has_headers: bool) -> Fallback<R> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(has_headers)
        .from_reader(CrlfToLf::new(Cursor::new(start).chain(rest)))
}

/// A batch's text is addressed with u32 offsets: a line (or batch of rows) past 4 GiB is
/// refused, never cut.
const MAX_TEXT: usize = u32::MAX as usize;

fn too_long(name: &str, line: u64) -> InputError {
    InputError::file_at(
        C::BAD_SYNTAX,
        name,
        line,
        None,
        "the rows from this line on are more than 4 GiB long: this is not an inventory",
        Some("check the file is the inventory CSV export (one line per SKU and location)".into()),
    )
}

fn io_error(name: &str, e: std::io::Error) -> InputError {
    InputError::file(C::UNREADABLE, name, format!("cannot read the file: {e}"))
}

/// Feed every record after the header to `prep`, then `sink`, in order. A record that cannot
/// be read (bad UTF-8, bad quoting, an I/O error) ends the read with that error: the records
/// before it have been handled, those after it are not read.
pub(super) fn run<R: Read, P: Prepare, S: RecordSink<P::Out>>(
    name: &str,
    source: &mut CsvSource<R>,
    prep: &mut P,
    sink: &mut S,
) -> Result<(), InputError> {
    let mut first = Batch::new();
    let eof = source.fill(name, &mut first);
    if !matches!(eof, Ok(false)) {
        first.prepare(prep);
        first.deliver(sink);
        return eof.map(|_| ());
    }
    std::thread::scope(|scope| {
        let (to_worker, batches) = mpsc::sync_channel::<Batch<P::Out>>(QUEUED);
        let (give_back, spare) = mpsc::channel::<Batch<P::Out>>();
        let worker = scope.spawn(move || {
            for mut batch in batches {
                batch.deliver(sink);
                // The reader may have finished already: then the batch is simply dropped.
                let _ = give_back.send(batch);
            }
        });
        let mut batch = first;
        let read = loop {
            batch.prepare(prep);
            // A send fails only if the worker is gone (it panicked): its join says why.
            if to_worker.send(batch).is_err() {
                break Ok(());
            }
            batch = spare.try_recv().unwrap_or_else(|_| Batch::new());
            match source.fill(name, &mut batch) {
                Ok(false) => {}
                end => {
                    // The last records, or those before a bad one, as on one thread.
                    batch.prepare(prep);
                    let _ = to_worker.send(batch);
                    break end.map(|_| ());
                }
            }
        };
        drop(to_worker);
        if let Err(panic) = worker.join() {
            std::panic::resume_unwind(panic);
        }
        read
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every record as (line, fields), or the error's line and message.
    type Read = (
        Vec<String>,
        Vec<(u64, Vec<String>)>,
        Option<(Option<u64>, String)>,
    );

    fn by_source(bytes: &[u8], block: usize) -> Read {
        let mut out = Vec::new();
        let mut source = match CsvSource::with_block("f", bytes, block) {
            Ok(s) => s,
            Err(e) => return (Vec::new(), out, Some(error_of(e))),
        };
        let headers = source.headers().iter().map(String::from).collect();
        let mut batch = Batch::<()>::new();
        loop {
            let end = source.fill("f", &mut batch);
            for &(line, a, b) in &batch.rows {
                let record = Record {
                    line,
                    text: &batch.text,
                    fields: &batch.fields[a as usize..b as usize],
                };
                out.push((line, record.iter().map(String::from).collect()));
            }
            match end {
                Ok(false) => {}
                Ok(true) => return (headers, out, None),
                Err(e) => return (headers, out, Some(error_of(e))),
            }
        }
    }

    fn error_of(e: InputError) -> (Option<u64>, String) {
        match e {
            InputError::File { line, message, .. } => (line, message),
            other => (None, other.to_string()),
        }
    }

    /// The csv crate reading the whole file, as the readers did before the fast path.
    fn by_csv(bytes: &[u8]) -> Read {
        let mut rdr = crate::input::csv_reader(bytes, b',', true);
        let headers = match rdr.headers() {
            Ok(h) => h.iter().map(String::from).collect(),
            Err(e) => {
                return (
                    Vec::new(),
                    Vec::new(),
                    Some(error_of(csv_error_at("f", e, 0))),
                );
            }
        };
        let mut out = Vec::new();
        let mut record = csv::StringRecord::new();
        loop {
            match rdr.read_record(&mut record) {
                Ok(true) => out.push((
                    record.position().map_or(0, |p| p.line()),
                    record.iter().map(String::from).collect(),
                )),
                Ok(false) => return (headers, out, None),
                Err(e) => return (headers, out, Some(error_of(csv_error_at("f", e, 0)))),
            }
        }
    }

    /// Lines made of pieces that matter to a CSV reader: commas, quotes, CR, LF, spaces,
    /// multi-byte and invalid UTF-8, empty lines and long cells.
    fn file() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            8 => "[a-z0-9]{1,6}".prop_map(String::into_bytes),
            4 => Just(b",".to_vec()),
            3 => Just(b"\n".to_vec()),
            1 => Just(b"\n\n".to_vec()),
            1 => Just(b" ".to_vec()),
            1 => Just(b"\"".to_vec()),
            1 => Just(b"\"a,\nb\"".to_vec()),
            1 => Just(b"\r\n".to_vec()),
            1 => Just(b"\r".to_vec()),
            1 => Just("é€".as_bytes().to_vec()),
            1 => Just(vec![0xff]),
            1 => Just(vec![b'x'; 40]),
        ];
        // Mostly plain files, whose blocks take the fast path, some with a fault late on.
        (
            proptest::collection::vec(piece, 0..120),
            proptest::bool::weighted(0.6),
        )
            .prop_map(|(pieces, plain)| {
                let mut out = b"sku,location,on_hand\n".to_vec();
                let n = pieces.len();
                for (i, p) in pieces.into_iter().enumerate() {
                    let tricky = p.iter().any(|&b| b == b'"' || b == b'\r' || b >= 0x80);
                    // A plain file keeps its tricky pieces to the last tenth, if any.
                    if plain && tricky && i < n * 9 / 10 {
                        continue;
                    }
                    out.extend(p);
                }
                out
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn blocks_split_as_the_csv_crate_reads(bytes in file(), block in 1usize..64) {
            let (mut ours, mut theirs) = (by_source(&bytes, block), by_csv(&bytes));
            // After an empty line the csv crate gives a record the empty line's number; the
            // blocks give its own. Only there may the lines differ.
            if bytes.windows(2).any(|w| w == b"\n\n") {
                for read in [&mut ours, &mut theirs] {
                    read.1.iter_mut().for_each(|r| r.0 = 0);
                    if let Some(e) = &mut read.2 {
                        e.0 = None;
                    }
                }
            }
            prop_assert_eq!(ours, theirs);
        }
    }

    /// Each separator is found and no other byte, for every byte value in every position
    /// and beside every other (a carry between bytes would mark its neighbour).
    #[test]
    fn separators_are_exactly_the_commas_and_newlines() {
        for at in 0..8 {
            for b in 0..=255u8 {
                for fill in [0u8, b',', b'\n', b'+', b'-', 0x0b, 0x2d, 0x80, 0xff] {
                    let mut w = [fill; 8];
                    w[at] = b;
                    let want = w.iter().enumerate().fold(0u64, |m, (i, &c)| {
                        m | (u64::from(c == b',' || c == b'\n') << (i * 8 + 7))
                    });
                    assert_eq!(separators(&w), want, "{w:?}");
                }
            }
        }
    }

    #[test]
    fn a_line_longer_than_a_block_is_one_record() {
        let long = "x".repeat(1000);
        let text = format!("a,b\n{long},1\n2,{long}\nlast,row");
        assert_eq!(by_source(text.as_bytes(), 16), by_csv(text.as_bytes()));
        assert_eq!(by_source(text.as_bytes(), 16).1.len(), 3);
    }

    #[test]
    fn a_row_after_empty_lines_keeps_its_own_line() {
        let text = "a,b\n1,2\n\n\n3,4\n";
        let lines: Vec<u64> = by_source(text.as_bytes(), 4)
            .1
            .iter()
            .map(|r| r.0)
            .collect();
        assert_eq!(lines, [2, 5]);
        // The csv crate numbers it from the first empty line: the blocks are right.
        let lines: Vec<u64> = by_csv(text.as_bytes()).1.iter().map(|r| r.0).collect();
        assert_eq!(lines, [2, 3]);
    }

    #[test]
    fn a_quote_far_into_a_file_is_read_by_the_csv_crate_on_the_right_line() {
        let mut text = String::from("sku,location\n");
        for i in 0..500 {
            text.push_str(&format!("S{i},wh1\n"));
        }
        text.push_str("\"Q,1\",wh2\nafter,wh1\n\"open\n");
        let (_, rows, err) = by_source(text.as_bytes(), 64);
        assert_eq!((rows[500].0, rows[500].1[0].as_str()), (502, "Q,1"));
        assert_eq!(rows[501].0, 503);
        assert_eq!(by_source(text.as_bytes(), 64), by_csv(text.as_bytes()));
        assert!(
            err.is_none(),
            "an open quote at the end is the rest of the file: {err:?}"
        );
    }

    #[test]
    fn bad_utf8_far_into_a_file_is_reported_on_its_line() {
        let mut text = b"sku,location\n".to_vec();
        for i in 0..300 {
            text.extend(format!("S{i},wh1\n").bytes());
        }
        text.extend(b"bad\xff,wh1\nnext,wh1\n");
        let read = by_source(&text, 32);
        assert_eq!(read.1.len(), 300);
        assert_eq!(read.2.as_ref().map(|e| e.0), Some(Some(302)));
        assert_eq!(read, by_csv(&text));
    }

    #[test]
    fn headers_after_empty_lines_and_files_with_no_header() {
        for text in ["", "\n\n", "\n\na,b\n1,2", "a,b", "\"a\",b\n1,2\n"] {
            assert_eq!(
                by_source(text.as_bytes(), 4),
                by_csv(text.as_bytes()),
                "{text:?}"
            );
            assert_eq!(
                by_source(text.as_bytes(), BLOCK),
                by_csv(text.as_bytes()),
                "{text:?}"
            );
        }
    }
}
