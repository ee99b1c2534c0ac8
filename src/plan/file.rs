//! Saved plans on disk, streamed both ways: the writer takes operations from an iterator (or
//! encoded ahead, [`Encoded`]) and writes each on a line of its own in its canonical form, the
//! bytes it hashes; the reader yields operations one at a time and hashes
//! them as it reads. Neither holds the plan's operations (≈ 2M in a 1M-SKU plan), so memory does
//! not grow with the plan (the reader's check that no seller SKU is written twice spills to a
//! temporary file, see [`OpCheck`]).
//!
//! The canonical form (docs/plan-format.md) sorts the top-level keys, and `operations` sits in
//! the middle of them: `created_at … locations` before, `patch_op … summary` after. The file
//! puts every header field but unknown future ones before `operations`, so the canonical prefix
//! is known when the operations start. A file with a key that sorts before `operations` after
//! the array (plans written before `locations` moved, or hand-reordered) is hashed in a second
//! pass, with the header from the first.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::fs::{self, File};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::model::{FORMAT_VERSION, OpRef, Operation, Plan, PlanHeader};
use super::repeats::Repeats;
use super::{
    MAX_OPERATIONS, PlanError, compute_digest, operation_problem, scalar, write_canonical,
};

const OPS: &str = "operations";
const DIGEST: &str = "digest";

// ---- The canonical form, around a streamed `operations` ----

/// Top-level keys but `operations` and `digest`, sorted as the canonical form sorts them.
fn sorted_keys(top: &Map<String, Value>, keep: impl Fn(&str) -> bool) -> Vec<&String> {
    let mut keys: Vec<&String> = top
        .keys()
        .filter(|k| k.as_str() != OPS && k.as_str() != DIGEST && keep(k))
        .collect();
    keys.sort();
    keys
}

/// The canonical text up to the first operation: `{`, every entry sorting before `operations`
/// (each with its comma), `"operations":[`.
fn canonical_head(top: &Map<String, Value>, out: &mut Vec<u8>) {
    out.push(b'{');
    for k in sorted_keys(top, |k| k < OPS) {
        scalar(k, out);
        out.push(b':');
        write_canonical(&top[k], out, None);
        out.push(b',');
    }
    out.extend_from_slice(b"\"operations\":[");
}

/// The canonical text after the last operation: `]`, the entries sorting after `operations`, `}`.
fn canonical_tail(top: &Map<String, Value>, out: &mut Vec<u8>) {
    out.push(b']');
    for k in sorted_keys(top, |k| k > OPS) {
        out.push(b',');
        scalar(k, out);
        out.push(b':');
        write_canonical(&top[k], out, None);
    }
    out.push(b'}');
}

// ---- Writing ----

/// Writes a plan: the header's fields as pretty JSON, then `operations` with one operation per
/// line in its canonical form (the bytes hashed for the digest are the bytes written), then
/// `digest`. Computes the digest as it goes; [`PlanJsonWriter::finish`] writes it and returns it.
pub struct PlanJsonWriter<W: Write> {
    out: W,
    top: Map<String, Value>,
    hasher: Sha256,
    count: u64,
    /// Reused: one operation's canonical text.
    canon: Vec<u8>,
}

impl<W: Write> PlanJsonWriter<W> {
    pub fn new(header: &PlanHeader, mut out: W) -> io::Result<Self> {
        let top = match serde_json::to_value(header).map_err(io::Error::other)? {
            Value::Object(m) => m,
            // A struct always serializes to an object; say so rather than write a broken plan.
            _ => return Err(io::Error::other("a plan header is not a JSON object")),
        };
        let mut canon = Vec::with_capacity(1024);
        let mut pretty = Vec::with_capacity(1024);
        let mut hasher = Sha256::new();
        canonical_head(&top, &mut canon);
        hasher.update(&canon);
        out.write_all(b"{\n")?;
        for (k, v) in &top {
            out.write_all(b"  ")?;
            serde_json::to_writer(&mut out, k)?;
            out.write_all(b": ")?;
            pretty_at(v, 1, &mut pretty, &mut out)?;
            out.write_all(b",\n")?;
        }
        out.write_all(b"  \"operations\": [")?;
        Ok(PlanJsonWriter {
            out,
            top,
            hasher,
            count: 0,
            canon,
        })
    }

    pub fn operation(&mut self, op: &Operation) -> io::Result<()> {
        let mut canon = std::mem::take(&mut self.canon);
        canon.clear();
        canonical_operation(&op.as_ref(), &mut canon);
        let r = self.canonical(&canon);
        self.canon = canon;
        r
    }

    /// Operations encoded ahead (on other threads), in order.
    pub fn encoded(&mut self, ops: &Encoded) -> io::Result<()> {
        ops.iter().try_for_each(|op| self.canonical(op))
    }

    /// One operation's canonical text: hashed after a comma (but the first), written on a line
    /// of its own.
    fn canonical(&mut self, op: &[u8]) -> io::Result<()> {
        if self.count > 0 {
            self.hasher.update(b",");
        }
        self.hasher.update(op);
        self.out.write_all(if self.count == 0 {
            b"\n    "
        } else {
            b",\n    "
        })?;
        self.out.write_all(op)?;
        self.count += 1;
        Ok(())
    }

    /// Closes `operations`, writes `digest` and returns it with the writer.
    pub fn finish(mut self) -> io::Result<(String, W)> {
        self.canon.clear();
        canonical_tail(&self.top, &mut self.canon);
        self.hasher.update(&self.canon);
        let digest = hex::encode(self.hasher.finalize());
        self.out
            .write_all(if self.count == 0 { b"]" } else { b"\n  ]" })?;
        self.out.write_all(b",\n  \"digest\": ")?;
        serde_json::to_writer(&mut self.out, &digest)?;
        self.out.write_all(b"\n}\n")?;
        Ok((digest, self.out))
    }
}

/// Operations in their canonical text, one after another, encoded where they are made (a
/// worker thread) and written in order by [`PlanJsonWriter::encoded`]: a million operations
/// are then a few large buffers, not millions of small allocations.
#[derive(Debug, Default)]
pub struct Encoded {
    bytes: Vec<u8>,
    /// Where each operation ends in `bytes`.
    ends: Vec<usize>,
}

impl Encoded {
    pub fn push(&mut self, op: &OpRef) {
        canonical_operation(op, &mut self.bytes);
        self.ends.push(self.bytes.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(a, &b)| &self.bytes[a..b])
    }
}

/// One operation's canonical JSON (see `compute_digest`), written field by field: what
/// `write_canonical` makes of its `serde_json::Value`, without building one per operation (a
/// million operations each made a map of eight keys). `canonical_operation_is_the_values`
/// (tests) holds the two together.
pub(super) fn canonical_operation(op: &OpRef, out: &mut Vec<u8>) {
    fn channels(list: &[crate::model::ChannelQty], out: &mut Vec<u8>) {
        out.push(b'[');
        for (i, c) in list.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // Keys in byte order; the optional ones only when set.
            out.extend_from_slice(b"{\"channel\":");
            string(&c.channel, out);
            if let Some(d) = c.lead_time_to_ship_max_days {
                out.extend_from_slice(b",\"lead_time_to_ship_max_days\":");
                out.extend_from_slice(itoa::Buffer::new().format(d).as_bytes());
            }
            out.extend_from_slice(b",\"quantity\":");
            out.extend_from_slice(itoa::Buffer::new().format(c.quantity).as_bytes());
            if let Some(d) = &c.restock_date {
                out.extend_from_slice(b",\"restock_date\":");
                string(d, out);
            }
            out.push(b'}');
        }
        out.push(b']');
    }
    // Keys in byte order: channels, id, inventory_sku, marketplace_ids, previous, region, rule,
    // seller_sku.
    out.extend_from_slice(b"{\"channels\":");
    channels(op.channels, out);
    out.extend_from_slice(b",\"id\":");
    out.extend_from_slice(itoa::Buffer::new().format(op.id).as_bytes());
    out.extend_from_slice(b",\"inventory_sku\":");
    string(op.inventory_sku, out);
    out.extend_from_slice(b",\"marketplace_ids\":[");
    for (i, m) in op.marketplace_ids.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(m, out);
    }
    out.extend_from_slice(b"],\"previous\":");
    match op.previous {
        Some(p) => channels(p, out),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"region\":");
    string(op.region.as_str(), out);
    out.extend_from_slice(b",\"rule\":");
    string(op.rule, out);
    out.extend_from_slice(b",\"seller_sku\":");
    string(op.seller_sku, out);
    out.push(b'}');
}

/// A JSON string as serde_json writes it; text with nothing to escape (quotes, backslashes,
/// control characters) is copied as it is.
fn string(s: &str, out: &mut Vec<u8>) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        scalar(s, out);
    }
}

/// The digest of a plan made of `header` and `ops` (what [`PlanJsonWriter`] writes), hashed one
/// operation at a time.
pub fn digest_of<'a>(header: &PlanHeader, ops: impl IntoIterator<Item = &'a Operation>) -> String {
    // Plain data (strings, integers, enums, maps with string keys) always serializes to JSON,
    // and a struct to an object.
    let top = match serde_json::to_value(header) {
        Ok(Value::Object(m)) => m,
        _ => unreachable!("a plan header always serializes to a JSON object"),
    };
    let mut canon = Vec::with_capacity(1024);
    let mut hasher = Sha256::new();
    canonical_head(&top, &mut canon);
    hasher.update(&canon);
    for (i, op) in ops.into_iter().enumerate() {
        canon.clear();
        if i > 0 {
            canon.push(b',');
        }
        canonical_operation(&op.as_ref(), &mut canon);
        hasher.update(&canon);
    }
    canon.clear();
    canonical_tail(&top, &mut canon);
    hasher.update(&canon);
    hex::encode(hasher.finalize())
}

/// `v` pretty-printed as it would be `level` objects deep: serde_json's own pretty text with
/// each line break followed by the indentation (strings never hold a raw line break).
fn pretty_at<W: Write, T: serde::Serialize + ?Sized>(
    v: &T,
    level: usize,
    buf: &mut Vec<u8>,
    out: &mut W,
) -> io::Result<()> {
    buf.clear();
    serde_json::to_writer_pretty(&mut *buf, v)?;
    let indent = &b"            "[..(2 * level).min(12)];
    let mut first = true;
    for line in buf.split(|&b| b == b'\n') {
        if !first {
            out.write_all(b"\n")?;
            out.write_all(indent)?;
        }
        first = false;
        out.write_all(line)?;
    }
    Ok(())
}

/// Writes a plan from its header and operations (any iterator, so they need not be held),
/// atomically (a temporary file beside it, fsynced, then renamed), and returns its digest.
pub fn write_streaming<I>(header: &PlanHeader, ops: I, path: &Path) -> Result<String, PlanError>
where
    I: IntoIterator,
    I::Item: Borrow<Operation>,
{
    write_streaming_then(header, ops, path, |_| Ok(()))
}

/// [`write_streaming`] that saves the plan only if `commit(digest)` says so once every
/// operation is written (a producer that failed half-way says no): otherwise the temporary
/// file is removed and any plan already at `path` is left as it was.
pub fn write_streaming_then<I>(
    header: &PlanHeader,
    ops: I,
    path: &Path,
    commit: impl FnOnce(&str) -> Result<(), PlanError>,
) -> Result<String, PlanError>
where
    I: IntoIterator,
    I::Item: Borrow<Operation>,
{
    let mut file = PlanFile::create(header, path)?;
    for op in ops {
        file.operation(op.borrow())?;
    }
    file.save_if(commit)
}

/// A plan being written: a temporary file beside its path, renamed over it once saved
/// ([`PlanFile::save_if`]). Dropped unsaved (an error, a run stopped half-way), the temporary
/// file is removed and any plan already at the path stays as it was: a crash never leaves
/// half a plan.
pub struct PlanFile {
    path: PathBuf,
    tmp: PathBuf,
    writer: Option<PlanJsonWriter<BufWriter<Flushing>>>,
}

/// The temporary plan file, with its writing handed to the disk as it goes: every
/// [`FLUSH_EVERY`] bytes a thread of its own syncs what is written so far, so the final sync
/// before the rename (a plan is only saved once it is on disk) has little left to wait for. A
/// million-operation plan is half a gigabyte, and its sync alone took as long as half the
/// simulation; now the disk works while the plan is made.
struct Flushing {
    file: File,
    since: u64,
    background: Background,
}

/// The thread that syncs, and how to wake it; dropped, it is stopped and joined (so its handle
/// on the file is closed, for systems that refuse to remove an open file).
struct Background {
    wake: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Background {
    fn drop(&mut self) {
        self.wake = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const FLUSH_EVERY: u64 = 64 << 20;

impl Flushing {
    fn new(file: File) -> Flushing {
        // Without a second handle (or a thread), the final sync does all the work, as before.
        let background = file.try_clone().ok().and_then(|f| {
            let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
            let thread = std::thread::Builder::new()
                .name("plan-sync".into())
                .spawn(move || {
                    for () in woken {
                        // Early and best effort: the final `sync_all` reports any failure.
                        let _ = f.sync_data();
                    }
                })
                .ok()?;
            Some((wake, thread))
        });
        let (wake, thread) = background.unzip();
        Flushing {
            file,
            since: 0,
            background: Background { wake, thread },
        }
    }

    /// Stops the background syncs (waiting for one under way) and gives the file back.
    fn finish(self) -> File {
        let Flushing {
            file, background, ..
        } = self;
        drop(background);
        file
    }
}

impl Write for Flushing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.since += n as u64;
        if self.since >= FLUSH_EVERY {
            self.since = 0;
            if let Some(w) = &self.background.wake {
                // A sync still running will see these bytes too: no need to queue another.
                let _ = w.try_send(());
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl PlanFile {
    pub fn create(header: &PlanHeader, path: &Path) -> Result<PlanFile, PlanError> {
        let err = |source: io::Error| PlanError::Write {
            path: path.to_path_buf(),
            source,
        };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path.file_name().ok_or_else(|| {
            err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a file path",
            ))
        })?;
        let tmp = dir.join(format!(
            ".{}.{}-{:08x}.tmp",
            name.to_string_lossy(),
            std::process::id(),
            fastrand::u32(..)
        ));
        let f = File::create_new(&tmp).map_err(err)?;
        // From here on, dropping `file` removes the temporary file.
        let mut file = PlanFile {
            path: path.to_path_buf(),
            tmp,
            writer: None,
        };
        let w = PlanJsonWriter::new(
            header,
            BufWriter::with_capacity(256 * 1024, Flushing::new(f)),
        );
        file.writer = Some(w.map_err(err)?);
        Ok(file)
    }

    fn err(&self, source: io::Error) -> PlanError {
        PlanError::Write {
            path: self.path.clone(),
            source,
        }
    }

    fn writer(&mut self) -> Result<&mut PlanJsonWriter<BufWriter<Flushing>>, PlanError> {
        match &mut self.writer {
            Some(w) => Ok(w),
            None => Err(PlanError::Incomplete),
        }
    }

    pub fn operation(&mut self, op: &Operation) -> Result<(), PlanError> {
        let r = self.writer()?.operation(op);
        r.map_err(|e| self.err(e))
    }

    /// How many operations are written so far.
    pub fn operations(&self) -> u64 {
        self.writer.as_ref().map_or(0, |w| w.count)
    }

    /// Operations encoded ahead, in order.
    pub fn encoded(&mut self, ops: &Encoded) -> Result<(), PlanError> {
        let r = self.writer()?.encoded(ops);
        r.map_err(|e| self.err(e))
    }

    /// Finishes the plan and, if `commit(digest)` agrees, saves it (fsynced, then renamed over
    /// the path). Returns the digest.
    pub fn save_if(
        mut self,
        commit: impl FnOnce(&str) -> Result<(), PlanError>,
    ) -> Result<String, PlanError> {
        let w = self.writer.take().ok_or(PlanError::Incomplete)?;
        let (digest, buf) = w.finish().map_err(|e| self.err(e))?;
        commit(&digest)?;
        let f = buf
            .into_inner()
            .map_err(|e| self.err(e.into_error()))?
            .finish();
        f.sync_all().map_err(|e| self.err(e))?;
        drop(f);
        fs::rename(&self.tmp, &self.path).map_err(|e| self.err(e))?;
        // Renamed: nothing left for `drop` to remove.
        self.tmp = PathBuf::new();
        Ok(digest)
    }
}

impl Drop for PlanFile {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            // Close it before removing it (some systems refuse to remove an open file).
            self.writer = None;
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Writes the plan (laid out as [`PlanJsonWriter`] says), atomically: a temporary file beside
/// it, then a rename, so a crash never leaves half a plan. Refuses a plan whose digest is stale
/// (see [`super::seal`]).
pub fn write(plan: &Plan, path: &Path) -> Result<(), PlanError> {
    let expect = |digest: &str| {
        if digest == plan.digest {
            Ok(())
        } else {
            Err(PlanError::Unsealed)
        }
    };
    write_streaming_then(&plan.header(), &plan.operations, path, expect).map(|_| ())
}

// ---- Reading ----

/// Where a plan's bytes come from: a file (re-opened for each pass) or text in memory.
#[derive(Clone, Copy)]
enum Source<'a> {
    File(&'a Path),
    Bytes(&'a [u8]),
}

/// Hashes every byte read through it: the raw SHA-256 that tells two passes read one file.
struct HashRead<'h, R> {
    inner: R,
    hasher: &'h mut Sha256,
}

impl<R: Read> Read for HashRead<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// The operations' invariants that span operations, checked as they stream. Ids are kept as a
/// contiguous run plus a set of the others (empty for a plan allot wrote); each (region, seller
/// SKU) as a 64-bit hash, gathered in bounded memory and spilled to a temporary file in sorted
/// runs ([`Repeats`]). A hash seen twice is only a suspect: [`resolve`] compares the SKUs with
/// that hash exactly in another pass.
#[derive(Default)]
struct OpCheck {
    /// Every id in 1..=contiguous was seen.
    contiguous: u32,
    other_ids: HashSet<u32>,
    skus: Repeats,
    /// The temporary file of `skus` could not be written.
    scratch: Option<io::Error>,
    /// The first operation that breaks a rule: (index, why).
    invalid: Option<(u64, String)>,
}

#[cfg(test)]
thread_local! {
    /// Tests: every SKU hashes alike, so every operation after the first is a suspect.
    pub(super) static COLLIDE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn sku_hash(region: crate::marketplaces::Region, sku: &str) -> u64 {
    #[cfg(test)]
    if COLLIDE.with(|c| c.get()) {
        return 0;
    }
    // Fixed keys: the same on every pass (a collision only costs a resolving pass).
    let mut h = DefaultHasher::new();
    region.hash(&mut h);
    sku.hash(&mut h);
    h.finish()
}

impl OpCheck {
    fn insert_id(&mut self, id: u32) -> bool {
        if id <= self.contiguous {
            return false;
        }
        if Some(id) == self.contiguous.checked_add(1) {
            self.contiguous = id;
            while let Some(next) = self.contiguous.checked_add(1) {
                if !self.other_ids.remove(&next) {
                    break;
                }
                self.contiguous = next;
            }
            true
        } else {
            self.other_ids.insert(id)
        }
    }

    fn check(&mut self, index: u64, op: &Operation) {
        if self.invalid.is_some() {
            return;
        }
        if let Some(why) = self.problem(op) {
            self.invalid = Some((index, why));
        }
    }

    fn problem(&mut self, op: &Operation) -> Option<String> {
        if op.id == 0 || !self.insert_id(op.id) {
            return Some(format!(
                "operation id {} is zero or used twice (seller SKU `{}`)",
                op.id, op.seller_sku
            ));
        }
        if op.id as usize > MAX_OPERATIONS {
            return Some(format!("operation id {} is too large", op.id));
        }
        if self.scratch.is_none()
            && let Err(e) = self.skus.push(sku_hash(op.region, &op.seller_sku))
        {
            self.scratch = Some(e);
        }
        if let Some(p) = operation_problem(
            &op.seller_sku,
            &op.marketplace_ids,
            &op.channels,
            op.previous.as_deref(),
        ) {
            return Some(format!(
                "operation {} (`{}`): {p}",
                op.id,
                op.seller_sku.escape_debug()
            ));
        }
        // A marketplace of another region would be written through the wrong endpoint. IDs
        // outside the built-in table (declared in a policy) cannot be checked here.
        for id in &op.marketplace_ids {
            if let Some(m) = crate::marketplaces::by_id(id).filter(|m| m.region != op.region) {
                return Some(format!(
                    "operation {} (`{}`): `marketplace_ids` names {id} ({}), which is in region \
                     {}, but `region` is {}",
                    op.id, op.seller_sku, m.code, m.region, op.region
                ));
            }
        }
        None
    }
}

/// A consumer's "stop here" (its own error is kept by the caller).
struct Stop;

type OnOp<'f> = &'f mut dyn FnMut(u64, Operation) -> Result<(), Stop>;

/// One pass's state, shared by the serde visitors below.
struct PassState<'k, 'f> {
    /// Every top-level entry but a streamed `operations`, in file order.
    top: Map<String, Value>,
    /// The header of an earlier pass: its keys make the canonical prefix and suffix.
    known: Option<&'k Map<String, Value>>,
    ops_seen: bool,
    /// `operations` was an array and was hashed as it streamed.
    streamed: bool,
    /// `operations` was something else (a corrupt plan): kept to report it.
    ops_other: Option<Value>,
    /// A key sorting before `operations` came after it: the streamed hash is not canonical.
    late: bool,
    hasher: Sha256,
    count: u64,
    canon: Vec<u8>,
    check: Option<OpCheck>,
    /// The first operation that does not match the format; nothing is checked or yielded after.
    typed_err: Option<String>,
    on_op: OnOp<'f>,
    /// Why the parse stopped, when it was not a JSON error.
    fail: Option<PlanError>,
    stopped: bool,
    not_object: bool,
    /// A later pass over bytes an earlier one verified (their raw SHA-256 is compared at the
    /// end): operations are read straight into their type, without the per-value duplicate
    /// checks and the canonical hash, and the rest of the header is skipped.
    trust: bool,
}

impl PassState<'_, '_> {
    fn operation(&mut self, v: Value) -> Result<(), Stop> {
        let index = self.count;
        self.canon.clear();
        if index > 0 {
            self.canon.push(b',');
        }
        write_canonical(&v, &mut self.canon, None);
        self.hasher.update(&self.canon);
        self.count += 1;
        if self.typed_err.is_some() {
            return Ok(());
        }
        let op: Operation = match serde_json::from_value(v) {
            Ok(op) => op,
            Err(e) => {
                self.typed_err = Some(e.to_string());
                return Ok(());
            }
        };
        if let Some(c) = &mut self.check {
            c.check(index, &op);
            if c.invalid.is_some() {
                return Ok(());
            }
        }
        (self.on_op)(index, op)
    }
}

/// A JSON path for messages (`operations[0].channels[1].quantity`), built only on error.
#[derive(Clone, Copy)]
enum Seg<'a> {
    Root,
    Key(&'a str),
    Index(u64),
}

#[derive(Clone, Copy)]
struct At<'a> {
    parent: Option<&'a At<'a>>,
    seg: Seg<'a>,
}

impl At<'_> {
    fn render(&self) -> String {
        let mut parts = Vec::new();
        let mut cur = Some(self);
        while let Some(a) = cur {
            parts.push(a.seg);
            cur = a.parent;
        }
        let mut s = String::new();
        for seg in parts.into_iter().rev() {
            match seg {
                Seg::Root => {}
                Seg::Key(k) if s.is_empty() => s.push_str(k),
                Seg::Key(k) => {
                    s.push('.');
                    s.push_str(k);
                }
                Seg::Index(i) => s.push_str(&format!("[{i}]")),
            }
        }
        s
    }
}

fn twice<E: de::Error>(at: &At) -> E {
    E::custom(format!(
        "the key `{}` appears twice (a JSON reader would silently keep one)",
        at.render()
    ))
}

/// A JSON value built like `serde_json::Value`'s own, refusing an object with a key twice
/// (serde_json would keep the last: `"quantity": 10, "quantity": 999` reads as 999 here and may
/// read as 10 in a reviewer's tool). serde_json's recursion limit (128) still applies.
struct DupFree<'a> {
    at: &'a At<'a>,
}

impl<'de> DeserializeSeed<'de> for DupFree<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DupFree<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        loop {
            let at = At {
                parent: Some(self.at),
                seg: Seg::Index(out.len() as u64),
            };
            match seq.next_element_seed(DupFree { at: &at })? {
                Some(v) => out.push(v),
                None => break,
            }
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let at = At {
                parent: Some(self.at),
                seg: Seg::Key(&key),
            };
            if out.contains_key(&key) {
                return Err(twice(&at));
            }
            let v = map.next_value_seed(DupFree { at: &at })?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// The whole plan object.
struct Top<'s, 'k, 'f>(&'s mut PassState<'k, 'f>);

impl<'de> DeserializeSeed<'de> for Top<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Top<'_, '_, '_> {
    fn not_object<E: de::Error>(self) -> Result<(), E> {
        self.0.not_object = true;
        Err(E::custom("it is not a JSON object"))
    }
}

impl<'de> Visitor<'de> for Top<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a plan object")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_object()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_object()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_object()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_object()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_object()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_object()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.not_object()
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.0;
        let root = At {
            parent: None,
            seg: Seg::Root,
        };
        while let Some(key) = map.next_key::<String>()? {
            let at = At {
                parent: Some(&root),
                seg: Seg::Key(&key),
            };
            if st.trust && key != OPS {
                map.next_value::<de::IgnoredAny>()?;
                continue;
            }
            if key == OPS {
                if st.ops_seen {
                    return Err(twice(&at));
                }
                st.ops_seen = true;
                map.next_value_seed(Ops { st: &mut *st })?;
            } else {
                if st.top.contains_key(&key) {
                    return Err(twice(&at));
                }
                let v = map.next_value_seed(DupFree { at: &at })?;
                if st.streamed && key.as_str() < OPS && key != DIGEST {
                    st.late = true;
                }
                st.top.insert(key, v);
            }
        }
        Ok(())
    }
}

/// The value of `operations`: an array is streamed, anything else kept to be reported.
struct Ops<'s, 'k, 'f> {
    st: &'s mut PassState<'k, 'f>,
}

impl<'de> DeserializeSeed<'de> for Ops<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

const OPS_AT: At<'static> = At {
    parent: None,
    seg: Seg::Key(OPS),
};

impl Ops<'_, '_, '_> {
    fn other<E>(self, v: Result<Value, E>) -> Result<(), E> {
        self.st.ops_other = Some(v?);
        Ok(())
    }
}

impl<'de> Visitor<'de> for Ops<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("the operations")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.other(DupFree { at: &OPS_AT }.visit_bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.other(DupFree { at: &OPS_AT }.visit_i64(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.other(DupFree { at: &OPS_AT }.visit_u64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.other(DupFree { at: &OPS_AT }.visit_f64(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.other(DupFree { at: &OPS_AT }.visit_str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.other(DupFree { at: &OPS_AT }.visit_unit())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.other(DupFree { at: &OPS_AT }.visit_map(map))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let st = self.st;
        st.streamed = true;
        if st.trust {
            while let Some(op) = seq.next_element::<Operation>()? {
                let index = st.count;
                st.count += 1;
                if (st.on_op)(index, op).is_err() {
                    st.stopped = true;
                    return Err(de::Error::custom("stopped by the consumer"));
                }
            }
            return Ok(());
        }
        st.canon.clear();
        canonical_head(st.known.unwrap_or(&st.top), &mut st.canon);
        st.hasher.update(&st.canon);
        loop {
            let at = At {
                parent: Some(&OPS_AT),
                seg: Seg::Index(st.count),
            };
            let Some(v) = seq.next_element_seed(DupFree { at: &at })? else {
                break;
            };
            if st.operation(v).is_err() {
                st.stopped = true;
                return Err(de::Error::custom("stopped by the consumer"));
            }
        }
        Ok(())
    }
}

/// What one pass saw.
struct Scan {
    top: Map<String, Value>,
    streamed: bool,
    ops_other: Option<Value>,
    late: bool,
    /// The canonical digest of the streamed plan (meaningful unless `late` without `known`).
    digest: String,
    count: u64,
    raw: [u8; 32],
    check: Option<OpCheck>,
    typed_err: Option<String>,
}

fn corrupt(path: &Path, reason: String) -> PlanError {
    PlanError::Corrupt {
        path: path.to_path_buf(),
        reason,
    }
}

fn read_err(path: &Path, source: io::Error) -> PlanError {
    PlanError::Read {
        path: path.to_path_buf(),
        source,
    }
}

/// One pass over the plan's bytes: JSON syntax and duplicate keys are refused at once (and a
/// consumer's [`Stop`] ends it); everything else is recorded for [`finish`] to judge in the
/// order the old whole-file reader did (version, digest, format, invariants).
fn scan(
    src: Source,
    path: &Path,
    known: Option<&Map<String, Value>>,
    check_ops: bool,
    trust: bool,
    on_op: OnOp,
) -> Result<Scan, PlanError> {
    let reader: Box<dyn Read> = match src {
        Source::File(p) => Box::new(File::open(p).map_err(|e| read_err(path, e))?),
        Source::Bytes(b) => Box::new(b),
    };
    let mut raw_hash = Sha256::new();
    // Given to serde_json by value: its byte reader then takes std's fast path for a
    // `BufReader` (through `&mut` every byte is a `read` call).
    let raw = BufReader::with_capacity(
        256 * 1024,
        HashRead {
            inner: reader,
            hasher: &mut raw_hash,
        },
    );
    let mut st = PassState {
        top: Map::new(),
        known,
        ops_seen: false,
        streamed: false,
        ops_other: None,
        late: false,
        hasher: Sha256::new(),
        count: 0,
        canon: Vec::with_capacity(1024),
        check: check_ops.then(OpCheck::default),
        typed_err: None,
        on_op,
        fail: None,
        stopped: false,
        not_object: false,
        trust,
    };
    let result = {
        let mut de = serde_json::Deserializer::from_reader(raw);
        Top(&mut st).deserialize(&mut de).and_then(|()| de.end())
    };
    if let Err(e) = result {
        if st.stopped {
            return Err(corrupt(path, "stopped".into()));
        }
        if let Some(f) = st.fail.take() {
            return Err(f);
        }
        if st.not_object {
            return Err(corrupt(path, "it is not a JSON object".into()));
        }
        return Err(match e.classify() {
            serde_json::error::Category::Io => read_err(path, e.into()),
            serde_json::error::Category::Data => corrupt(path, e.to_string()),
            _ => corrupt(
                path,
                format!(
                    "invalid JSON at line {} column {}: {e}",
                    e.line(),
                    e.column()
                ),
            ),
        });
    }
    let mut canon = Vec::new();
    canonical_tail(known.unwrap_or(&st.top), &mut canon);
    st.hasher.update(&canon);
    Ok(Scan {
        digest: hex::encode(st.hasher.finalize()),
        top: st.top,
        streamed: st.streamed,
        ops_other: st.ops_other,
        late: st.late,
        count: st.count,
        raw: raw_hash.finalize().into(),
        check: st.check,
        typed_err: st.typed_err,
    })
}

fn changed(path: &Path) -> PlanError {
    PlanError::ChangedWhileReading {
        path: path.to_path_buf(),
    }
}

/// Judges a first pass (re-hashing in a second pass if the file's key order needs it, and
/// resolving suspected duplicate SKUs): the header and the digest of a verified plan.
fn finish(src: Source, path: &Path, mut first: Scan) -> Result<(PlanHeader, String), PlanError> {
    let version = match first.top.get("format_version") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(corrupt(path, "`format_version` is not a string".into())),
        None => return Err(corrupt(path, "it has no `format_version`".into())),
    };
    if !super::is_major_minor(&version) {
        return Err(corrupt(
            path,
            format!(
                "`format_version` is `{version}`; it must be MAJOR.MINOR digits, like `{FORMAT_VERSION}`"
            ),
        ));
    }
    let supported_major = super::major(FORMAT_VERSION);
    if super::major(&version) != supported_major {
        return Err(PlanError::UnsupportedVersion {
            path: path.to_path_buf(),
            found: version,
            supported: supported_major.to_string(),
        });
    }
    let recorded = match first.top.get(DIGEST) {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(corrupt(path, "it has no `digest`".into())),
    };
    let actual = if first.streamed {
        if first.late {
            // A key sorting before `operations` came after it: hash again, knowing the header.
            let again = scan(
                src,
                path,
                Some(&first.top),
                false,
                false,
                &mut |_, _| Ok(()),
            )?;
            if again.raw != first.raw {
                return Err(changed(path));
            }
            again.digest
        } else {
            first.digest.clone()
        }
    } else {
        // No array of operations (a corrupt plan): hash what is there, as the format says.
        let mut whole = first.top.clone();
        if let Some(v) = first.ops_other.take() {
            whole.insert(OPS.to_string(), v);
        }
        compute_digest(&Value::Object(whole))
    };
    if recorded != actual {
        return Err(PlanError::DigestMismatch {
            path: path.to_path_buf(),
            recorded,
            actual,
        });
    }
    // serde quotes a value of the wrong type whole: cut it.
    let format = |e: String| {
        corrupt(
            path,
            format!(
                "it does not match plan format {version}: {}",
                crate::diag::clip_message(&e)
            ),
        )
    };
    let header: PlanHeader = serde_json::from_value(Value::Object(first.top.clone()))
        .map_err(|e| format(e.to_string()))?;
    if !first.streamed {
        let e = match first.ops_other.take() {
            Some(v) => serde_json::from_value::<Vec<Operation>>(v)
                .err()
                .map_or_else(
                    || "`operations` is not an array".to_string(),
                    |e| e.to_string(),
                ),
            None => "missing field `operations`".to_string(),
        };
        return Err(format(e));
    }
    if let Some(e) = first.typed_err.take() {
        return Err(format(e));
    }
    validate_header(&header).map_err(|e| corrupt(path, e))?;
    if let Some(check) = first.check.take() {
        let scratch = |source| PlanError::Scratch {
            path: path.to_path_buf(),
            source,
        };
        if let Some(e) = check.scratch {
            return Err(scratch(e));
        }
        let suspects = check.skus.repeated().map_err(scratch)?;
        let dup = resolve(src, path, &first, &suspects)?;
        let invalid = match (dup, check.invalid) {
            (Some(d), Some(i)) => Some(if d.0 <= i.0 { d } else { i }),
            (d, i) => d.or(i),
        };
        if let Some((_, why)) = invalid {
            return Err(corrupt(path, why));
        }
    }
    Ok((header, actual))
}

/// The first operation that writes a (region, seller SKU) an earlier one wrote: reads the plan
/// again and compares exactly, but only the operations whose hash was seen twice (normally
/// none: this pass runs only when a hash repeated).
fn resolve(
    src: Source,
    path: &Path,
    first: &Scan,
    suspects: &HashSet<u64>,
) -> Result<Option<(u64, String)>, PlanError> {
    if suspects.is_empty() {
        return Ok(None);
    }
    let mut seen: HashSet<(crate::marketplaces::Region, String)> = HashSet::new();
    let mut dup: Option<(u64, String)> = None;
    let again = scan(src, path, Some(&first.top), false, false, &mut |i, op| {
        if dup.is_none()
            && suspects.contains(&sku_hash(op.region, &op.seller_sku))
            && !seen.insert((op.region, op.seller_sku.clone()))
        {
            dup = Some((
                i,
                format!(
                    "seller SKU `{}` ({}) is written twice",
                    op.seller_sku, op.region
                ),
            ));
        }
        Ok(())
    })?;
    if again.raw != first.raw {
        return Err(changed(path));
    }
    Ok(dup)
}

fn validate_header(h: &PlanHeader) -> Result<(), String> {
    if h.seller_id.is_empty() {
        return Err("`seller_id` is empty".into());
    }
    let created = time::OffsetDateTime::parse(
        &h.created_at,
        &time::format_description::well_known::Rfc3339,
    )
    .map_err(|_| format!("`created_at` `{}` is not an RFC 3339 time", h.created_at))?;
    if created > time::OffsetDateTime::now_utc() + super::CLOCK_SKEW {
        return Err(format!(
            "`created_at` {} is in the future (more than {} minutes ahead of this clock); a \
             plan from the future would never count as too old",
            h.created_at,
            super::CLOCK_SKEW.as_secs() / 60
        ));
    }
    Ok(())
}

/// Reads a whole plan: parses it, refuses an unknown major `format_version` (fields a known
/// major does not know are ignored), verifies `digest` and the operations' invariants. Memory
/// grows with the plan (its operations); [`verify`] and [`VerifiedPlan::for_each`] do not.
pub fn read(path: &Path) -> Result<Plan, PlanError> {
    read_from(Source::File(path), path)
}

/// [`read`] on text already in memory; `path` is for messages.
pub fn parse(text: &str, path: &Path) -> Result<Plan, PlanError> {
    read_from(Source::Bytes(text.as_bytes()), path)
}

fn read_from(src: Source, path: &Path) -> Result<Plan, PlanError> {
    let mut ops = Vec::new();
    let first = scan(src, path, None, true, false, &mut |_, op| {
        ops.push(op);
        Ok(())
    })?;
    let (header, digest) = finish(src, path, first)?;
    Ok(Plan::from_parts(header, ops, digest))
}

/// A plan whose every byte was verified by [`verify`]: its header, digest and operation count.
/// Its operations are read again, one at a time, by [`VerifiedPlan::for_each`].
#[derive(Debug)]
pub struct VerifiedPlan {
    pub header: PlanHeader,
    pub digest: String,
    pub operations: u64,
    path: PathBuf,
    top: Map<String, Value>,
    raw: [u8; 32],
    /// Each operation's fingerprint ([`pin_of`]), when the plan is read again to send it.
    pins: Option<Vec<u64>>,
}

/// An operation's fingerprint: the first 8 bytes of the SHA-256 of its canonical form, so a
/// second read can tell it is the operation the first read verified (8 bytes per operation,
/// where holding the plan took about a kilobyte).
fn pin_of(op: &Operation, buf: &mut Vec<u8>) -> u64 {
    buf.clear();
    canonical_operation(&op.as_ref(), buf);
    let digest = Sha256::digest(&buf[..]);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// First pass over a saved plan, in memory that does not grow with it (but for the duplicate
/// checks' hashes): verifies the format version, the digest, duplicate keys and every
/// operation's invariants. `observe` sees each operation as it is read, *before* the digest is
/// known to be right: use it to measure (column widths, counts), never to act.
pub fn verify(path: &Path, observe: impl FnMut(&Operation)) -> Result<VerifiedPlan, PlanError> {
    verify_inner(path, observe, false)
}

/// [`verify`] for a plan about to be sent: each operation's fingerprint is kept (8 bytes an
/// operation), and [`VerifiedPlan::for_each`] yields an operation only once it matches the
/// one this pass verified. A file changed in between is refused at the first operation that
/// differs, before it reaches the consumer.
pub fn verify_pinned(
    path: &Path,
    observe: impl FnMut(&Operation),
) -> Result<VerifiedPlan, PlanError> {
    verify_inner(path, observe, true)
}

fn verify_inner(
    path: &Path,
    mut observe: impl FnMut(&Operation),
    pin: bool,
) -> Result<VerifiedPlan, PlanError> {
    let src = Source::File(path);
    let mut pins = pin.then(Vec::new);
    let mut buf = Vec::new();
    let first = scan(src, path, None, true, false, &mut |_, op| {
        if let Some(p) = &mut pins {
            p.push(pin_of(&op, &mut buf));
        }
        observe(&op);
        Ok(())
    })?;
    let raw = first.raw;
    let operations = first.count;
    let top = first.top.clone();
    let (header, digest) = finish(src, path, first)?;
    Ok(VerifiedPlan {
        header,
        digest,
        operations,
        path: path.to_path_buf(),
        top,
        raw,
        pins,
    })
}

impl VerifiedPlan {
    /// Second pass: yields each operation in order. The file's raw SHA-256 is compared with
    /// the first pass's at the end, and a file changed in between is refused
    /// ([`PlanError::ChangedWhileReading`]). A plan verified by [`verify`] is refused only at
    /// the end, after earlier operations were yielded (enough for rendering and validation
    /// previews); one verified by [`verify_pinned`] at the first operation that differs from
    /// the one verified, before it is yielded: every operation yielded is the plan's (what
    /// sending writes needs).
    pub fn for_each<E: From<PlanError>>(
        &self,
        mut f: impl FnMut(Operation) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut user: Option<E> = None;
        let mut differs = false;
        let mut buf = Vec::new();
        let pins = self.pins.as_deref();
        let r = scan(
            Source::File(&self.path),
            &self.path,
            Some(&self.top),
            false,
            true,
            &mut |i, op| {
                if let Some(pins) = pins {
                    let at = usize::try_from(i).ok().and_then(|i| pins.get(i));
                    if at != Some(&pin_of(&op, &mut buf)) {
                        differs = true;
                        return Err(Stop);
                    }
                }
                f(op).map_err(|e| {
                    user = Some(e);
                    Stop
                })
            },
        );
        if let Some(e) = user {
            return Err(e);
        }
        if differs {
            return Err(changed(&self.path).into());
        }
        // The first pass read these bytes whole and well-formed: a parse error now means the
        // file changed in between.
        let again = r.map_err(|e| match e {
            PlanError::Read { .. } => e,
            _ => changed(&self.path),
        })?;
        if again.raw != self.raw || again.count != self.operations {
            return Err(changed(&self.path).into());
        }
        Ok(())
    }

    /// The `index`th operation (0-based), read again: for a message that names one operation
    /// the first pass only counted.
    pub fn nth(&self, index: usize) -> Result<Operation, PlanError> {
        let mut found = None;
        let mut at = 0usize;
        let r = self.for_each(|op| {
            if at == index {
                found = Some(op);
                return Err(NthStop::Found);
            }
            at += 1;
            Ok(())
        });
        match (r, found) {
            (_, Some(op)) => Ok(op),
            (Err(NthStop::Plan(e)), None) => Err(e),
            _ => Err(changed(&self.path)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

enum NthStop {
    Found,
    Plan(PlanError),
}

impl From<PlanError> for NthStop {
    fn from(e: PlanError) -> Self {
        NthStop::Plan(e)
    }
}
