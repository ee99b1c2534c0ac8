//! Rendering of saved plans (`allot show`): the operations as a table (text or markdown), and the
//! raw requests or feed documents they encode to.

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::amazon::PatchOp;
use crate::amazon::feeds::{
    FEED_CONTENT_TYPE, FEED_MAX_BYTES, FEED_MAX_MESSAGES, FEED_TYPE, FeedDocument,
};
use crate::amazon::request::Request;
use crate::model::{ChangeKind, OnFba, OnMissing, Policy};
use crate::plan::encode;
use crate::plan::{
    Emit, Operation, Plan, PlanError, PlanHeader, PlanJsonWriter, VerifiedPlan, offer_change,
};
use crate::render::preview;

fn emit_name(e: Emit) -> &'static str {
    match e {
        Emit::Patch => "patch",
        Emit::Feed => "feed",
    }
}

/// A saved plan to render: in memory, or verified on disk and read again for each pass (so
/// `allot show` of a million operations holds one at a time).
#[derive(Clone, Copy)]
pub enum Shown<'a> {
    Mem(&'a Plan),
    File(&'a VerifiedPlan),
}

/// Why rendering stopped: the plan (read again) failed, the output failed, or the renderer has
/// what it needs (`Enough`, not an error).
#[derive(Debug)]
pub enum RenderError {
    Plan(PlanError),
    Io(std::io::Error),
    Enough,
}

impl From<PlanError> for RenderError {
    fn from(e: PlanError) -> Self {
        RenderError::Plan(e)
    }
}

impl From<std::io::Error> for RenderError {
    fn from(e: std::io::Error) -> Self {
        RenderError::Io(e)
    }
}

impl Shown<'_> {
    fn header(&self) -> PlanHeader {
        match self {
            Shown::Mem(p) => p.header(),
            Shown::File(v) => v.header.clone(),
        }
    }

    fn digest(&self) -> &str {
        match self {
            Shown::Mem(p) => &p.digest,
            Shown::File(v) => &v.digest,
        }
    }

    fn count(&self) -> u64 {
        match self {
            Shown::Mem(p) => p.operations.len() as u64,
            Shown::File(v) => v.operations,
        }
    }

    /// Every operation in order; `Err(RenderError::Enough)` from `f` ends the pass early.
    fn each(
        &self,
        mut f: impl FnMut(&Operation) -> Result<(), RenderError>,
    ) -> Result<(), RenderError> {
        let r = match self {
            Shown::Mem(p) => p.operations.iter().try_for_each(&mut f),
            Shown::File(v) => v.for_each(|op| f(&op)),
        };
        match r {
            Err(RenderError::Enough) => Ok(()),
            r => r,
        }
    }
}

/// What the plan is: policy, seller, when, how it is sent, its digest and inputs.
fn header_lines(plan: &PlanHeader, count: u64, digest: &str) -> Vec<String> {
    let current = plan.inputs.current.as_ref().map_or_else(
        || "none".to_string(),
        |c| format!("{} (sha256 {})", c.path, short(&c.sha256)),
    );
    let ops = match count {
        1 => "1 operation".to_string(),
        n => format!("{n} operations"),
    };
    vec![
        format!(
            "Saved plan for policy `{}`, seller {}, made {}",
            plan.policy, plan.seller_id, plan.created_at
        ),
        format!(
            "{ops} as {} ({}), issueLocale {}, format {}, digest {}",
            emit_name(plan.emit),
            plan.patch_op.name(),
            plan.issue_locale,
            plan.format_version,
            short(digest)
        ),
        format!(
            "Inputs: polic{} {}, inventory {}, current listings {}",
            if plan.inputs.more_policies.is_empty() {
                "y"
            } else {
                "ies"
            },
            std::iter::once(&plan.inputs.policy)
                .chain(&plan.inputs.more_policies)
                .map(|p| format!("{} (sha256 {})", p.path, short(&p.sha256)))
                .collect::<Vec<_>>()
                .join(", "),
            plan.inputs
                .inventories()
                .map(|p| format!(
                    "{} (sha256 {})",
                    if p.is_stdin() { "<stdin>" } else { &p.path },
                    short(&p.sha256)
                ))
                .collect::<Vec<_>>()
                .join(", "),
            current
        ),
    ]
}

fn short(hex: &str) -> String {
    hex.chars().take(12).collect()
}

/// The preview's counts as the plan recorded them (the plan keeps totals, not the lists).
fn summary_lines(plan: &PlanHeader) -> Vec<String> {
    let s = &plan.summary;
    let mut offers = format!(
        "offers: {} new, {} changed, {} unchanged, {} zeroed",
        s.offers_new, s.offers_changed, s.offers_unchanged, s.offers_zeroed
    );
    if let Some(h) = super::preview::held_counts(s) {
        offers.push_str(&format!("; not written: {h} (not in the plan)"));
    }
    vec![
        offers,
        format!("SKUs: {} skipped for missing stock", s.skus_skipped_missing),
        format!(
            "oversell exposure: {} unit{}",
            s.exposure,
            if s.exposure == 1 { "" } else { "s" }
        ),
    ]
}

/// The policy as far as the plan knows it, for the preview's renderers: its name, seller and
/// locations (the change table names a supply source's channel by its location).
fn policy_stub(plan: &PlanHeader) -> Policy {
    Policy {
        name: plan.policy.clone(),
        seller_id: plan.seller_id.clone(),
        marketplaces: Vec::new(),
        locations: plan.locations.clone(),
        rules: Vec::new(),
        tests: Vec::new(),
        no_oversell: false,
        inventory: Default::default(),
        kits: Vec::new(),
        on_missing: OnMissing::default(),
        on_fba: OnFba::default(),
        seller_span: Default::default(),
        marketplaces_span: Default::default(),
        location_spans: Vec::new(),
    }
}

/// Channels the current listing has that an operation does not write: `merge` leaves them as
/// they are, `replace` removes them. (seller SKU, channel, quantity now)
fn unwritten(op: &Operation) -> impl Iterator<Item = (&str, &str, u64)> {
    op.previous
        .iter()
        .flatten()
        .filter(|p| !op.channels.iter().any(|c| c.channel == p.channel))
        .map(|p| (op.seller_sku.as_str(), p.channel.as_str(), p.quantity))
}

/// How many rewritten SKUs are named before "and N more".
const REWRITE_LIMIT: usize = 20;

fn unwritten_title(plan: &PlanHeader) -> &'static str {
    match plan.patch_op {
        PatchOp::Merge => "Channels not written (merge leaves them as they are):",
        PatchOp::Replace => "Channels the listing loses (replace removes them):",
    }
}

/// What one pass over the operations tells the renderers before they print the rows.
struct Measured<'p> {
    table: preview::Measure<'p>,
    /// Offers that change, and their rows (one per channel).
    changed: usize,
    rows: usize,
    /// Operations that write what the listing already shows (`--all`): the preview's change
    /// table leaves them out, so they are named separately. The first few: (seller SKU,
    /// marketplace codes).
    rewrites: usize,
    first_rewrites: Vec<(String, String)>,
    unwritten: usize,
}

/// A pass over the operations; with `spool` (and the bytes of rows appended to it at a time),
/// the rows of the written offers are kept there, unpadded, for the table to print once the
/// widths are known, and it is returned whole. A spool that cannot be written (no room for its
/// temporary file) is dropped, and the table is printed from another pass.
fn measure<'p>(
    shown: &Shown,
    policy: &'p Policy,
    mut spool: Option<(preview::Spool, usize)>,
) -> Result<(Measured<'p>, Option<preview::Spool>), RenderError> {
    let mut rows = preview::RowSpool::new(policy);
    let mut m = Measured {
        table: preview::Measure::new(policy),
        changed: 0,
        rows: 0,
        rewrites: 0,
        first_rewrites: Vec::new(),
        unwritten: 0,
    };
    shown.each(|op| {
        let c = offer_change(op);
        if c.kind == ChangeKind::Unchanged {
            m.rewrites += 1;
            if m.first_rewrites.len() < REWRITE_LIMIT {
                m.first_rewrites
                    .push((c.offer.seller_sku.clone(), c.offer.marketplaces.join(",")));
            }
        }
        if c.is_write() {
            m.changed += 1;
            m.rows += c.offer.channels.len();
        }
        let full = match &mut spool {
            Some((s, part)) => {
                rows.see_measured(&c, &[], &mut m.table);
                rows.encoded() >= *part && rows.drain_into(s).is_err()
            }
            None => {
                m.table.see(&c, &[]);
                false
            }
        };
        if full {
            spool = None;
        }
        m.unwritten += unwritten(op).count();
        Ok(())
    })?;
    let spool =
        spool.and_then(|(mut spool, _)| rows.drain_into(&mut spool).is_ok().then_some(spool));
    Ok((m, spool))
}

/// The spooled rows' bytes gathered before they are appended to the spool (a part: the
/// replay pads a part or more at a time, to about four times its bytes), and the spool's
/// bytes in memory.
const SPOOL_PART: usize = 1 << 16;
const SPOOL_IN_MEMORY: usize = 1 << 20;

/// The plan as the preview shows it: the same change table, then the plan's summary.
pub fn table(plan: &Plan) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and an in-memory plan is not read again.
    let _ = write_table(&Shown::Mem(plan), &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// [`table`], streamed: one pass to measure and spool the rows (as the preview does, but only
/// a megabyte in memory, then in a temporary file; without room for that file, a pass more to
/// print them), and one more for the channels not written when there are any.
pub fn write_table(shown: &Shown, w: &mut dyn Write) -> Result<(), RenderError> {
    // A small spool in memory: `show`'s memory does not grow with the plan.
    let spool = preview::Spool::small(SPOOL_IN_MEMORY);
    write_table_spooled(shown, w, spool, SPOOL_PART)
}

/// [`write_table`] with its spool, and the bytes of rows appended to it at a time (tests).
fn write_table_spooled(
    shown: &Shown,
    w: &mut dyn Write,
    spool: preview::Spool,
    part: usize,
) -> Result<(), RenderError> {
    let header = shown.header();
    let policy = policy_stub(&header);
    let (m, spool) = measure(shown, &policy, Some((spool, part)))?;
    writeln!(
        w,
        "{}\n",
        header_lines(&header, shown.count(), shown.digest()).join("\n")
    )?;
    let mut rows = preview::Rows::start(&mut *w, &m.table)?;
    match spool {
        Some(spool) => spool.replay(&mut rows)?,
        None => shown.each(|op| {
            rows.see(&offer_change(op));
            Ok(())
        })?,
    }
    rows.finish()?;
    if m.rewrites > 0 {
        write!(
            w,
            "\nAlso written, unchanged (the plan was made with --all): {} offer{}\n",
            m.rewrites,
            if m.rewrites == 1 { "" } else { "s" }
        )?;
        for (seller_sku, markets) in &m.first_rewrites {
            writeln!(w, "  {seller_sku} ({markets})")?;
        }
        if m.rewrites > REWRITE_LIMIT {
            writeln!(w, "  ... and {} more", m.rewrites - REWRITE_LIMIT)?;
        }
    }
    if m.unwritten > 0 {
        write!(w, "\n{}\n", unwritten_title(&header))?;
        shown.each(|op| {
            for (seller_sku, channel, q) in unwritten(op) {
                writeln!(w, "  {seller_sku}: {channel} (now {q})")?;
            }
            Ok(())
        })?;
    }
    w.write_all(b"\nSummary\n")?;
    for l in summary_lines(&header) {
        writeln!(w, "  {l}")?;
    }
    Ok(())
}

/// The plan as a pull-request comment, as the preview's Markdown (cut at `max_chars`).
pub fn markdown(plan: &Plan, max_chars: usize) -> String {
    // An in-memory plan is not read again: rendering it cannot fail.
    write_markdown(&Shown::Mem(plan), max_chars).unwrap_or_default()
}

/// [`markdown`], streamed: one pass to measure and collect the channels not written, one for
/// the rows that fit. Everything it holds is bounded by `max_chars`.
pub fn write_markdown(shown: &Shown, max_chars: usize) -> Result<String, RenderError> {
    let header = shown.header();
    let policy = policy_stub(&header);
    let (m, _) = measure(shown, &policy, None)?;
    let s = &header.summary;
    let mut out = format!(
        "### allot plan: `{}` (saved plan)\n\n",
        md_escape(&header.policy)
    );
    for l in header_lines(&header, shown.count(), shown.digest()) {
        out.push_str(&format!("- {}\n", md_escape(&l)));
    }
    out.push_str("\n| new | changed | unchanged | zeroed | skipped (missing stock) | exposure |\n");
    out.push_str("|---:|---:|---:|---:|---:|---:|\n");
    out.push_str(&format!(
        "| {} | {} | {} | {} | {} | {} |\n\n",
        s.offers_new,
        s.offers_changed,
        s.offers_unchanged,
        s.offers_zeroed,
        s.skus_skipped_missing,
        s.exposure
    ));
    if let Some(h) = super::preview::held_counts(s) {
        out.push_str(&format!("**Not written:** {h} (not in the plan).\n\n"));
    }
    let mut tail = String::new();
    if m.rewrites > 0 {
        tail.push_str(&format!(
            "\nAlso written, unchanged (the plan was made with `--all`): {} offer{}\n\n",
            m.rewrites,
            if m.rewrites == 1 { "" } else { "s" }
        ));
        for (seller_sku, markets) in &m.first_rewrites {
            tail.push_str(&format!(
                "- {} ({})\n",
                md_code(seller_sku),
                md_escape(markets)
            ));
        }
        if m.rewrites > REWRITE_LIMIT {
            tail.push_str(&format!("- … and {} more\n", m.rewrites - REWRITE_LIMIT));
        }
    }
    if m.unwritten > 0 {
        tail.push_str(&format!("\n{}\n\n", md_escape(unwritten_title(&header))));
        // The list stops where the comment would be over its cap anyway.
        let mut listed = 0usize;
        shown.each(|op| {
            for (seller_sku, channel, q) in unwritten(op) {
                if tail.len() > max_chars {
                    return Err(RenderError::Enough);
                }
                tail.push_str(&format!(
                    "- {}: {} (now {q})\n",
                    md_code(seller_sku),
                    md_code(channel)
                ));
                listed += 1;
            }
            Ok(())
        })?;
        if listed < m.unwritten {
            tail.push_str(&format!("- … and {} more\n", m.unwritten - listed));
        }
    }
    // Room kept for the closing tags, the note about what was cut, and the tail.
    let budget = max_chars.saturating_sub(out.len() + tail.len() + 600);
    let mut body = String::new();
    let mut shown_rows = 0usize;
    shown.each(|op| {
        let c = offer_change(op);
        if c.is_write() {
            for r in preview::change_rows(&policy, &c) {
                let line = preview::markdown_row(&r);
                if body.len() + line.len() > budget {
                    return Err(RenderError::Enough);
                }
                body.push_str(&line);
                shown_rows += 1;
            }
        }
        Ok(())
    })?;
    out.push_str(&preview::changes_markdown_parts(
        m.changed, m.rows, shown_rows, &body, max_chars,
    ));
    out.push_str(&tail);
    Ok(out)
}

/// `s` as an inline code span (a backtick in it takes a double-backtick span).
fn md_code(s: &str) -> String {
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' | '*' | '_' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The plan as JSON: exactly the saved plan, as its file has it (without the last newline).
pub fn json(plan: &Plan) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write_json(&Shown::Mem(plan), &mut out);
    let mut text = String::from_utf8_lossy(&out).into_owned();
    text.truncate(text.trim_end().len());
    text
}

/// [`json`], streamed in one pass (the digest printed is recomputed, and equals the verified one).
pub fn write_json(shown: &Shown, w: &mut dyn Write) -> Result<(), RenderError> {
    let mut jw = PlanJsonWriter::new(&shown.header(), w)?;
    shown.each(|op| Ok(jw.operation(op)?))?;
    jw.finish()?;
    Ok(())
}

/// What `--requests` shows: the PATCH requests (patch mode) or the feed documents (feed mode),
/// each made only when it is printed ([`write_requests`]): a feed plan's documents are split
/// and checked first, as `allot apply` does, then made one at a time. Made all at once, the
/// requests of a 1M-SKU plan took several GiB.
pub enum Requests<'p> {
    Patch(&'p Plan),
    Feed(&'p Plan, Vec<encode::FeedSplit>),
}

pub fn requests(plan: &Plan) -> Result<Requests<'_>, PlanError> {
    Ok(match plan.emit {
        Emit::Patch => Requests::Patch(plan),
        Emit::Feed => Requests::Feed(plan, encode::feed_splits(plan)?),
    })
}

/// How `--requests` prints: as text, Markdown or one JSON array (no final newline).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestsFormat {
    Text,
    Markdown,
    Json,
}

fn pretty(v: &Value) -> String {
    // A serde_json::Value has string keys only: printing it cannot fail.
    serde_json::to_string_pretty(v).expect("a JSON value always prints")
}

fn feed_bytes(d: &FeedDocument) -> usize {
    serde_json::to_vec(&d.body).map_or(0, |b| b.len())
}

fn id_range(ids: &[u32]) -> String {
    match (ids.first(), ids.last()) {
        (Some(a), Some(b)) if a == b => format!("operation {a}"),
        (Some(a), Some(b)) => format!("operations {a}..{b} ({} messages)", ids.len()),
        _ => "no operations".to_string(),
    }
}

fn feed_title(i: usize, n: usize, d: &FeedDocument) -> String {
    format!(
        "Feed document {}/{n}: {} (contentType {}), region {}, createFeed marketplaceIds {}, {}, {} bytes",
        i + 1,
        FEED_TYPE,
        FEED_CONTENT_TYPE,
        d.region,
        d.marketplace_ids.join(","),
        id_range(&d.operation_ids),
        feed_bytes(d)
    )
}

/// What `--requests` prints for a plan with nothing to write.
fn write_nothing<W: Write>(w: &mut W, format: RequestsFormat) -> io::Result<()> {
    w.write_all(match format {
        RequestsFormat::Json => b"[]",
        _ => b"Nothing to write.\n",
    })
}

/// Writes `--requests` one item at a time: as text or Markdown, each item's text; as JSON,
/// the array as serde's pretty printer writes it.
struct RequestItems<'w, W: Write> {
    w: &'w mut W,
    format: RequestsFormat,
    first: bool,
}

impl<'w, W: Write> RequestItems<'w, W> {
    fn start(w: &'w mut W, format: RequestsFormat) -> io::Result<Self> {
        if format == RequestsFormat::Json {
            w.write_all(b"[")?;
        }
        Ok(RequestItems {
            w,
            format,
            first: true,
        })
    }

    fn item(&mut self, text: &str) -> io::Result<()> {
        if self.format == RequestsFormat::Json {
            // Each item on its lines, two spaces in (a JSON string holds no raw newline, so
            // every line is the item's).
            self.w.write_all(if self.first { b"\n" } else { b",\n" })?;
            for (i, line) in text.split('\n').enumerate() {
                if i > 0 {
                    self.w.write_all(b"\n")?;
                }
                self.w.write_all(b"  ")?;
                self.w.write_all(line.as_bytes())?;
            }
        } else {
            self.w.write_all(text.as_bytes())?;
        }
        self.first = false;
        Ok(())
    }

    fn finish(self) -> io::Result<()> {
        if self.format == RequestsFormat::Json {
            self.w.write_all(b"\n]")?;
        }
        Ok(())
    }
}

/// Writes each request or feed document as it is made, one at a time.
pub fn write_requests<W: Write>(w: &mut W, r: &Requests, format: RequestsFormat) -> io::Result<()> {
    let empty = match r {
        Requests::Patch(plan) => plan.operations.is_empty(),
        Requests::Feed(_, splits) => splits.is_empty(),
    };
    if empty {
        return write_nothing(w, format);
    }
    let mut items = RequestItems::start(w, format)?;
    match r {
        Requests::Patch(plan) => {
            for op in &plan.operations {
                let req = encode::patch_request(plan, op, false);
                items.item(&patch_text(format, op.id, &req))?;
            }
        }
        Requests::Feed(plan, splits) => {
            for (i, split) in splits.iter().enumerate() {
                let d = encode::feed_document(plan, split);
                items.item(&feed_text(format, i, splits.len(), &d))?;
            }
        }
    }
    items.finish()
}

/// [`write_requests`] of a plan sent as patches, read from its verified file one operation at
/// a time: memory does not grow with the plan. The file is checked again as it is read: one
/// changed since it was verified is an error after the requests before the change.
pub fn write_patch_requests<W: Write>(
    w: &mut W,
    plan: &VerifiedPlan,
    format: RequestsFormat,
) -> Result<(), RenderError> {
    let h = &plan.header;
    debug_assert_eq!(h.emit, Emit::Patch);
    if plan.operations == 0 {
        return Ok(write_nothing(w, format)?);
    }
    let mut items = RequestItems::start(w, format)?;
    plan.for_each(|op| -> Result<(), RenderError> {
        let req = encode::patch_request_for(&h.seller_id, &h.issue_locale, h.patch_op, &op, false);
        Ok(items.item(&patch_text(format, op.id, &req))?)
    })?;
    Ok(items.finish()?)
}

/// [`write_requests`] of a plan sent as feeds, read from its verified file. A pass measures
/// each operation and lays the documents out (with the errors [`encode::feed_splits`] gives,
/// before anything is printed); then the file is read once per region, and each document is
/// made when its last operation is read and printed at once. Memory holds five bytes an
/// operation and one document. As for patches, a file changed since it was verified is an
/// error after the documents before the change.
pub fn write_feed_requests<W: Write>(
    w: &mut W,
    plan: &VerifiedPlan,
    format: RequestsFormat,
) -> Result<(), RenderError> {
    let layout = feed_layout(plan, FEED_MAX_MESSAGES, FEED_MAX_BYTES)?;
    write_feed_documents(w, plan, &layout, format)
}

/// The documents of a verified feed plan, laid out from a pass over its operations. It is
/// a pass of its own, not the verifying one: a plan sent as patches then holds nothing per
/// operation (whether it is sent as feeds is known only once it is verified).
fn feed_layout(
    plan: &VerifiedPlan,
    max_messages: usize,
    max_bytes: usize,
) -> Result<encode::FeedLayout, PlanError> {
    let mut sizer = encode::FeedSizer::default();
    plan.for_each(|op| -> Result<(), PlanError> {
        sizer.see(&op);
        Ok(())
    })?;
    let header = encode::FeedHeader::of(&plan.header);
    sizer.finish(header, max_messages, max_bytes, |i| plan.nth(i))
}

/// The documents of `layout`, made in one more pass over the plan for each region.
fn write_feed_documents<W: Write>(
    w: &mut W,
    plan: &VerifiedPlan,
    layout: &encode::FeedLayout,
    format: RequestsFormat,
) -> Result<(), RenderError> {
    debug_assert_eq!(plan.header.emit, Emit::Feed);
    let n = layout.docs.len();
    if n == 0 {
        return Ok(write_nothing(w, format)?);
    }
    let changed = || {
        RenderError::Plan(PlanError::ChangedWhileReading {
            path: plan.path().to_path_buf(),
        })
    };
    let header = encode::FeedHeader::of(&plan.header);
    let mut items = RequestItems::start(w, format)?;
    // Documents are numbered by region, then in the plan's order: one pass a region prints
    // them in their order, holding one at a time.
    let mut next = 0usize;
    for region in layout.regions() {
        let mut docs = encode::FeedAssembler::new(layout, header, Some(region));
        plan.for_each(|op| -> Result<(), RenderError> {
            // The assembler refuses an operation the layout did not see: a changed file.
            let Some(doc) = docs.push(op).map_err(|_| changed())? else {
                return Ok(());
            };
            if doc.index != next {
                return Err(changed());
            }
            next += 1;
            Ok(items.item(&feed_text(format, doc.index, n, &doc.document))?)
        })?;
        docs.finish().map_err(|_| changed())?;
    }
    if next != n {
        return Err(changed());
    }
    Ok(items.finish()?)
}

/// One request as `format` prints it, with its operation ID.
fn patch_text(format: RequestsFormat, id: u32, req: &Request) -> String {
    match format {
        RequestsFormat::Text => format!(
            "# operation {id}\n{} {}\ncontent-type: application/json\n\n{}\n\n",
            req.method,
            req.path_and_query(),
            pretty(&req.body)
        ),
        RequestsFormat::Markdown => format!(
            "#### Operation {id}\n\n```http\n{} {}\ncontent-type: application/json\n\n{}\n```\n\n",
            req.method,
            req.path_and_query(),
            pretty(&req.body)
        ),
        RequestsFormat::Json => pretty(&json!({
            "operation_id": id,
            "method": req.method,
            "path": req.path_and_query(),
            "body": req.body,
        })),
    }
}

/// Feed document `i` of `n` as `format` prints it, with its title.
fn feed_text(format: RequestsFormat, i: usize, n: usize, d: &FeedDocument) -> String {
    match format {
        RequestsFormat::Text => format!("# {}\n{}\n\n", feed_title(i, n, d), pretty(&d.body)),
        RequestsFormat::Markdown => format!(
            "#### {}\n\n```json\n{}\n```\n\n",
            md_escape(&feed_title(i, n, d)),
            pretty(&d.body)
        ),
        RequestsFormat::Json => pretty(&json!({
            "feed_type": FEED_TYPE,
            "region": d.region,
            "marketplace_ids": d.marketplace_ids,
            "operation_ids": d.operation_ids,
            "bytes": feed_bytes(d),
            "body": d.body,
        })),
    }
}

/// [`write_requests`] into a string.
pub fn requests_string(r: &Requests, format: RequestsFormat) -> String {
    let mut out = Vec::new();
    // Writing into a Vec does not fail; every piece is UTF-8 text.
    let _ = write_requests(&mut out, r, format);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marketplaces::Region;
    use crate::model::{ChangeKind, ChannelQty, Offer, OfferChange, Summary};
    use crate::plan::{BuildOptions, EmitChoice, InputFile, Inputs};

    fn ch(c: &str, q: u64) -> ChannelQty {
        ChannelQty::new(c, q)
    }

    fn plan_with(
        sku: &str,
        previous: Option<Vec<ChannelQty>>,
        op: PatchOp,
        emit: EmitChoice,
    ) -> Plan {
        let change = OfferChange {
            offer: Offer {
                seller_sku: sku.into(),
                region: Region::NA,
                marketplaces: vec!["US".into()].into(),
                marketplace_ids: vec!["ATVPDKIKX0DER".into()].into(),
                channels: vec![ch("DEFAULT", 0), ch("newark", 4)],
                inventory_sku: "I".into(),
                rule: "r|1".into(),
            },
            current: previous,
            kind: ChangeKind::Changed,
            hold: None,
        };
        let file = InputFile {
            path: "x".into(),
            sha256: "0".repeat(64),
        };
        let opts = BuildOptions {
            emit,
            patch_op: op,
            all: false,
            issue_locale: "en_US".into(),
            inputs: Inputs {
                more_policies: Vec::new(),
                policy: file.clone(),
                inventory: file,
                more_inventory: Vec::new(),
                current: None,
            },
            created_at: "2026-11-23T09:30:00Z".into(),
        };
        crate::plan::build("p", "S", &[change], &Summary::default(), opts).unwrap()
    }

    /// `show --requests` of a patch plan read from its file one operation at a time prints
    /// what the plan held in memory prints, in every format, and for an empty plan.
    #[test]
    fn patch_requests_streamed_from_the_file_are_those_of_the_plan_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        for (n, op) in [
            (0, PatchOp::Merge),
            (1, PatchOp::Replace),
            (700, PatchOp::Merge),
        ] {
            let mut plan = plan_with("A", None, op, EmitChoice::Patch);
            let one = plan.operations[0].clone();
            plan.operations = (0..n)
                .map(|i| {
                    let mut o = one.clone();
                    o.seller_sku = format!("SKU \"{i}\"/é");
                    o.id = i + 1;
                    o.channels[1].quantity = u64::from(i) * 3;
                    o
                })
                .collect();
            crate::plan::seal(&mut plan);
            let path = dir.path().join(format!("plan-{n}.json"));
            crate::plan::write(&plan, &path).unwrap();
            let plan = crate::plan::read(&path).unwrap();
            let verified = crate::plan::verify(&path, |_| {}).unwrap();
            for format in [
                RequestsFormat::Text,
                RequestsFormat::Markdown,
                RequestsFormat::Json,
            ] {
                let mut streamed = Vec::new();
                write_patch_requests(&mut streamed, &verified, format).unwrap();
                let mut held = Vec::new();
                write_requests(&mut held, &requests(&plan).unwrap(), format).unwrap();
                assert!(streamed == held, "{n} operations, {format:?}");
            }
        }
    }

    /// A feed plan of `n` operations whose regions interleave in file order (EU, NA, EU, FE,
    /// NA, ...), with SKUs and quantities of many lengths, written and read back.
    fn interleaved_feed_plan(n: u32, op: PatchOp, path: &std::path::Path) -> Plan {
        const DE: &str = "A1PA6795UKMFR9";
        const UK: &str = "A1F83G8C2ARO7P";
        let places: [(Region, &[&str]); 6] = [
            (Region::EU, &[DE]),
            (Region::NA, &["ATVPDKIKX0DER"]),
            (Region::EU, &[UK, DE]),
            (Region::FE, &["A1VC38T7YXB528"]),
            (Region::NA, &["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"]),
            (Region::FE, &["A39IBJ37TRP1C6"]),
        ];
        let mut plan = plan_with("A", None, op, EmitChoice::Feed);
        let one = plan.operations[0].clone();
        plan.operations = (0..n)
            .map(|i| {
                let (region, ids) = places[i as usize % places.len()];
                let mut o = one.clone();
                o.seller_sku = format!("SKU \"{i}\"/é{}", "x".repeat(i as usize % 17));
                o.id = i + 1;
                o.region = region;
                o.marketplace_ids = ids.iter().map(|s| s.to_string()).collect();
                o.channels[1].quantity = u64::from(i).pow(3);
                o
            })
            .collect();
        crate::plan::seal(&mut plan);
        crate::plan::write(&plan, path).unwrap();
        crate::plan::read(path).unwrap()
    }

    /// `show --requests` of a feed plan read from its file once per region prints what the
    /// plan held in memory prints, in every format, for an empty plan, with Amazon's limits
    /// and with small ones that make several documents a region.
    #[test]
    fn feed_requests_streamed_from_the_file_are_those_of_the_plan_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        for (n, op) in [
            (0, PatchOp::Merge),
            (1, PatchOp::Replace),
            (6, PatchOp::Merge),
            (250, PatchOp::Replace),
        ] {
            let path = dir.path().join(format!("plan-{n}.json"));
            let plan = interleaved_feed_plan(n, op, &path);
            for (max_messages, max_bytes) in [
                (FEED_MAX_MESSAGES, FEED_MAX_BYTES),
                (1, 2_000),
                (3, 900),
                (7, 1_500),
                (1_000, 700),
            ] {
                let splits =
                    encode::feed_splits_with_limits(&plan, max_messages, max_bytes).unwrap();
                if n == 250 && max_messages < 1_000 {
                    // Every region takes several documents.
                    for region in [Region::NA, Region::EU, Region::FE] {
                        let docs = splits.iter().filter(|s| s.region == region).count();
                        assert!(docs > 2, "{region}: {docs} documents");
                    }
                }
                let held_requests = Requests::Feed(&plan, splits);
                for format in [
                    RequestsFormat::Text,
                    RequestsFormat::Markdown,
                    RequestsFormat::Json,
                ] {
                    let verified = crate::plan::verify(&path, |_| {}).unwrap();
                    let mut streamed = Vec::new();
                    write_feed_requests_with_limits(
                        &mut streamed,
                        &verified,
                        format,
                        max_messages,
                        max_bytes,
                    )
                    .unwrap();
                    let mut held = Vec::new();
                    write_requests(&mut held, &held_requests, format).unwrap();
                    assert!(
                        streamed == held,
                        "{n} operations, {max_messages} messages, {max_bytes} bytes, {format:?}:\n{}\n---\n{}",
                        String::from_utf8_lossy(&streamed),
                        String::from_utf8_lossy(&held)
                    );
                    if (max_messages, max_bytes) == (FEED_MAX_MESSAGES, FEED_MAX_BYTES) {
                        // The public path, and what `show` printed before it streamed.
                        let verified = crate::plan::verify(&path, |_| {}).unwrap();
                        let mut public = Vec::new();
                        write_feed_requests(&mut public, &verified, format).unwrap();
                        let mut before = Vec::new();
                        write_requests(&mut before, &requests(&plan).unwrap(), format).unwrap();
                        assert!(public == before, "{n} operations, {format:?}");
                    }
                }
            }
        }
    }

    /// Amazon's limits are refused as the plan in memory refuses them, before anything is
    /// printed.
    #[test]
    fn feed_requests_streamed_refuse_what_the_plan_in_memory_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let plan = interleaved_feed_plan(20, PatchOp::Merge, &path);
        let held = encode::feed_splits_with_limits(&plan, 5, 300).unwrap_err();
        let verified = crate::plan::verify(&path, |_| {}).unwrap();
        let mut out = Vec::new();
        let streamed =
            write_feed_requests_with_limits(&mut out, &verified, RequestsFormat::Json, 5, 300);
        match streamed {
            Err(RenderError::Plan(e @ PlanError::MessageTooLarge { .. })) => {
                assert_eq!(format!("{e:?}"), format!("{held:?}"));
            }
            other => panic!("{other:?}"),
        }
        assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    }

    /// [`write_feed_requests`] with other limits: several documents from a small plan.
    fn write_feed_requests_with_limits(
        w: &mut Vec<u8>,
        plan: &VerifiedPlan,
        format: RequestsFormat,
        max_messages: usize,
        max_bytes: usize,
    ) -> Result<(), RenderError> {
        let layout = feed_layout(plan, max_messages, max_bytes)?;
        write_feed_documents(w, plan, &layout, format)
    }

    /// A feed plan edited after it was verified: `show` stops with `changed-while-reading`.
    /// Edited before the layout pass, nothing is printed; edited after it, the reading stops
    /// at the first operation that is not the one laid out, before the document it would
    /// change is printed (a change the layout cannot see is found at the end of the pass, as
    /// for patches).
    #[test]
    fn a_feed_plan_changed_between_the_passes_is_refused_not_printed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let plan = interleaved_feed_plan(12, PatchOp::Merge, &path);
        type Edit = fn(&mut Plan);
        let edits: [(&str, Edit); 4] = [
            // Operation 3 (EU) now in NA: the NA document is not the one laid out.
            ("another region", |p| {
                p.operations[2].region = Region::NA;
                p.operations[2].marketplace_ids = vec!["ATVPDKIKX0DER".into()];
            }),
            ("one more operation", |p| {
                let mut extra = p.operations[0].clone();
                extra.id = p.operations.len() as u32 + 1;
                extra.seller_sku = "EXTRA".into();
                p.operations.push(extra);
            }),
            ("one fewer", |p| {
                p.operations.pop();
            }),
            ("another quantity", |p| {
                p.operations[5].channels[1].quantity = 99
            }),
        ];
        for (what, edit) in edits {
            for after_layout in [false, true] {
                for format in [RequestsFormat::Text, RequestsFormat::Json] {
                    crate::plan::write(&plan, &path).unwrap();
                    let verified = crate::plan::verify(&path, |_| {}).unwrap();
                    let layout =
                        after_layout.then(|| feed_layout(&verified, 2, FEED_MAX_BYTES).unwrap());
                    let mut other = plan.clone();
                    edit(&mut other);
                    crate::plan::seal(&mut other);
                    crate::plan::write(&other, &path).unwrap();
                    let mut out = Vec::new();
                    let r = match &layout {
                        Some(layout) => write_feed_documents(&mut out, &verified, layout, format),
                        None => write_feed_requests(&mut out, &verified, format),
                    };
                    assert!(
                        matches!(
                            r,
                            Err(RenderError::Plan(PlanError::ChangedWhileReading { .. }))
                        ),
                        "{what}, after the layout: {after_layout}: {r:?}"
                    );
                    let out = String::from_utf8(out).unwrap();
                    let printed = match format {
                        RequestsFormat::Json => out.matches("\"feed_type\"").count(),
                        _ => out.matches("# Feed document").count(),
                    };
                    if !after_layout {
                        assert!(out.is_empty(), "{what}: {out}");
                    } else if what == "another region" {
                        // NA's documents come first; its first (operations 2 and 5) never was.
                        assert_eq!(printed, 0, "{what}: {out}");
                    } else if what == "one more operation" {
                        // NA's two documents, then the operation not laid out.
                        assert_eq!(printed, 2, "{what}: {out}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_table_spooled_to_a_file_is_the_table_kept_in_memory() {
        // Offers of every width and kind, some unchanged (named after the rows).
        let operations: Vec<Operation> = (0..3000u64)
            .map(|i| {
                let mut c =
                    plan_with("A", None, PatchOp::Merge, EmitChoice::Patch).operations[0].clone();
                c.seller_sku = format!("SKU-{}{}", "x".repeat((i % 23) as usize), i);
                c.id = i as u32 + 1;
                c.channels[1].quantity = i * i;
                if i % 7 == 0 {
                    c.previous = Some(c.channels.clone());
                }
                c
            })
            .collect();
        let mut plan = plan_with("A", None, PatchOp::Merge, EmitChoice::Patch);
        plan.operations = operations;
        let table_with = |spool: preview::Spool, part: usize| {
            let mut out = Vec::new();
            write_table_spooled(&Shown::Mem(&plan), &mut out, spool, part).unwrap();
            String::from_utf8(out).unwrap()
        };
        let in_memory = table_with(preview::Spool::with_limit(usize::MAX), usize::MAX);
        assert!(
            in_memory
                .contains("SKU-xxxxxxxxx2999               US            newark   - → 8994001"),
            "{in_memory}"
        );
        assert!(in_memory.contains("Also written, unchanged"), "{in_memory}");
        for (limit, part) in [(0, 1), (512, 100), (4096, 1000), (1 << 16, 1 << 14)] {
            assert_eq!(
                table_with(preview::Spool::small(limit), part),
                in_memory,
                "spool limit {limit}, parts of {part}"
            );
            // No room for the temporary file (from the first part or later): printed from
            // another pass, the same table.
            let mut no_file = preview::Spool::small(limit);
            no_file.no_file = true;
            assert_eq!(
                table_with(no_file, part),
                in_memory,
                "no temporary file, spool limit {limit}, parts of {part}"
            );
        }
    }

    #[test]
    fn channels_only_in_the_listing_show_what_happens_to_them() {
        let prev = Some(vec![ch("DEFAULT", 3), ch("reno", 2)]);
        let merge = table(&plan_with(
            "A",
            prev.clone(),
            PatchOp::Merge,
            EmitChoice::Patch,
        ));
        assert!(
            merge.contains(
                "Channels not written (merge leaves them as they are):\n  A: reno (now 2)\n"
            ),
            "{merge}"
        );
        let replace = table(&plan_with("A", prev, PatchOp::Replace, EmitChoice::Patch));
        assert!(
            replace.contains(
                "Channels the listing loses (replace removes them):\n  A: reno (now 2)\n"
            ),
            "{replace}"
        );
        // The preview's change table: one row per written channel, current → new.
        let row = |t: &str, c: &str| {
            t.lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .find(|l| l.contains(c))
        };
        assert_eq!(
            row(&replace, "newark").as_deref(),
            Some("A US newark - → 4 changed r|1"),
            "{replace}"
        );
    }

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        let md = markdown(
            &plan_with(
                "A|B",
                Some(vec![ch("x|y", 1)]),
                PatchOp::Merge,
                EmitChoice::Patch,
            ),
            60_000,
        );
        assert!(md.contains("| `A\\|B` |"), "{md}");
        assert!(md.contains("r\\|1 |"), "{md}");
        assert!(md.contains("- `A|B`: `x|y` (now 1)"), "{md}");
    }

    #[test]
    fn rewrites_of_unchanged_offers_are_named() {
        let same = Some(vec![ch("DEFAULT", 0), ch("newark", 4)]);
        let p = plan_with("A", same, PatchOp::Merge, EmitChoice::Patch);
        // `plan_with` marks the change Changed, but the listing already shows it: unchanged.
        let t = table(&p);
        assert!(t.contains("No offer changes."), "{t}");
        assert!(
            t.contains(
                "Also written, unchanged (the plan was made with --all): 1 offer\n  A (US)\n"
            ),
            "{t}"
        );
        let md = markdown(&p, 60_000);
        assert!(md.contains("- `A` (US)"), "{md}");
    }

    #[test]
    fn an_empty_plan_says_so() {
        let mut p = plan_with("A", None, PatchOp::Merge, EmitChoice::Patch);
        p.operations.clear();
        assert!(table(&p).contains("\nNo offer changes.\n"), "{}", table(&p));
        assert!(markdown(&p, 60_000).contains("0 offers change (0 channel rows)"));
        let r = requests(&p).unwrap();
        assert_eq!(
            requests_string(&r, RequestsFormat::Text),
            "Nothing to write.\n"
        );
        assert_eq!(requests_string(&r, RequestsFormat::Json), "[]");
    }

    /// `--requests` writes one request or document at a time; the JSON is still exactly the
    /// array serde's pretty printer writes, for several requests and several documents (one a
    /// region here).
    #[test]
    fn requests_written_one_at_a_time_are_the_whole_array() {
        for emit in [EmitChoice::Patch, EmitChoice::Feed] {
            let mut p = plan_with("A", None, PatchOp::Merge, emit);
            let mut eu = p.operations[0].clone();
            eu.id = 2;
            eu.seller_sku = "B".into();
            eu.region = Region::EU;
            eu.marketplace_ids = vec!["A1PA6795UKMFR9".into()];
            p.operations.push(eu);
            let r = requests(&p).unwrap();
            let json = requests_string(&r, RequestsFormat::Json);
            let v: Value = serde_json::from_str(&json).unwrap();
            assert_eq!(v.as_array().map(Vec::len), Some(2), "{json}");
            assert_eq!(pretty(&v), json);
            let text = requests_string(&r, RequestsFormat::Text);
            let markdown = requests_string(&r, RequestsFormat::Markdown);
            match emit {
                EmitChoice::Feed => {
                    assert!(text.contains("# Feed document 2/2: "), "{text}");
                    assert!(markdown.contains("#### Feed document 2/2: "), "{markdown}");
                }
                _ => {
                    assert!(text.contains("# operation 2\n"), "{text}");
                    assert!(markdown.contains("#### Operation 2\n"), "{markdown}");
                }
            }
        }
    }

    #[test]
    fn feed_requests_name_the_documents() {
        let p = plan_with("A", None, PatchOp::Merge, EmitChoice::Feed);
        let text = requests_string(&requests(&p).unwrap(), RequestsFormat::Text);
        assert!(
            text.starts_with("# Feed document 1/1: JSON_LISTINGS_FEED (contentType application/json; charset=UTF-8), region NA, createFeed marketplaceIds ATVPDKIKX0DER, operation 1, "),
            "{text}"
        );
    }
}
