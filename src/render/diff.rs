//! Renderers of `allot diff`: a terminal table, a Markdown pull-request comment (capped, as
//! `allot plan`'s), and a versioned JSON document (`schemas/diff.schema.json`).

use std::collections::HashMap;
use std::io::{self, Write};

use serde::Serialize;

use super::preview::{LIST_LIMIT, md_escape};
use crate::sim::diff::{
    ChannelDiff, Counts, Diff, DiffKind, Held, MarketplaceTotal, NotWritten, OfferDiff, Renamed,
    SideView,
};

/// The JSON format's version (major.minor): a new major may change or remove fields.
pub const FORMAT_VERSION: &str = "1.0";

/// What the renderers say about the run besides the comparison.
#[derive(Debug, Default)]
pub struct Labels {
    /// How each side was given (its path) and the names of its policies.
    pub base: SideLabel,
    pub new: SideLabel,
    /// Supply source code → location name, from both sides' policies.
    pub locations: HashMap<String, String>,
    /// Current listings were given: held offers (FBA, not listed) publish nothing.
    pub current_known: bool,
    /// Warnings of both sides and of the inputs, one line each (`base: …`, `new: …`).
    pub warnings: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct SideLabel {
    pub path: String,
    pub policies: Vec<String>,
}

/// Said when no current listings were given.
const CURRENT_UNKNOWN: &str = "no current listings were given (--current): the offers are compared as computed, and FBA offers and seller SKUs Amazon does not list (which `allot plan` does not write) are compared too";

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn qty(q: Option<u64>) -> String {
    q.map_or("-".to_string(), |q| q.to_string())
}

/// `a → b`, or `a` when both are the same.
fn either(a: &str, b: &str) -> String {
    if a == b {
        a.to_string()
    } else {
        format!("{a} → {b}")
    }
}

/// A cell with each side's value, or the one side's.
fn sides(d: &OfferDiff, f: impl Fn(&SideView) -> String) -> String {
    match (&d.base, &d.new) {
        (Some(b), Some(n)) => either(&f(b), &f(n)),
        (Some(v), None) | (None, Some(v)) => f(v),
        (None, None) => String::new(),
    }
}

/// Why a side writes nothing although it computes the offer.
fn note(d: &OfferDiff) -> String {
    let held = |name: &str, v: &Option<SideView>| {
        v.as_ref()
            .and_then(|v| v.held)
            .map(|h: Held| format!("{name}: not written ({})", h.words()))
    };
    [held("base", &d.base), held("new", &d.new)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ")
}

/// The rows of one differing offer, one per channel: seller SKU, inventory SKU, marketplaces,
/// channel, base → new, kind, rule, note.
fn rows(d: &OfferDiff, labels: &Labels) -> Vec<[String; 8]> {
    let inv = sides(d, |v| v.inventory_sku.clone());
    let places = sides(d, |v| v.marketplaces.join(","));
    let rule = sides(d, |v| v.rule.to_string());
    let note = note(d);
    d.channels
        .iter()
        .map(|c: &ChannelDiff| {
            [
                d.key.seller_sku.clone(),
                inv.clone(),
                places.clone(),
                labels
                    .locations
                    .get(&c.channel)
                    .cloned()
                    .unwrap_or_else(|| c.channel.clone()),
                format!("{} → {}", qty(c.base), qty(c.new)),
                d.kind.words().to_string(),
                rule.clone(),
                note.clone(),
            ]
        })
        .collect()
}

fn total_rows(diff: &Diff) -> usize {
    diff.offers.iter().map(|d| d.channels.len()).sum()
}

fn delta(d: i64) -> String {
    if d > 0 {
        format!("+{d}")
    } else {
        d.to_string()
    }
}

/// How the comment shows a summary line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The counts' sentence.
    Head,
    /// What a reviewer must not miss: offers left to Amazon, renamed seller SKUs, zeroes.
    Warning,
    Note,
}

/// The summary in sentences, shared by the table and the comment.
fn summary_lines(diff: &Diff, labels: &Labels) -> Vec<(Level, String)> {
    let c = &diff.counts;
    let mut out = Vec::new();
    if c.differing() == 0 {
        out.push((
            Level::Head,
            format!(
                "No differences: {} publish the same quantities under both.",
                plural(c.unchanged, "offer", "offers")
            ),
        ));
    } else {
        out.push((Level::Head, format!(
            "{} differ{}: {} up, {} down, {} to zero, {} appear{}, {} disappear{}, {} moved; {} unchanged.",
            plural(c.differing(), "offer", "offers"),
            if c.differing() == 1 { "s" } else { "" },
            c.up,
            c.down,
            c.to_zero,
            c.appear,
            if c.appear == 1 { "s" } else { "" },
            c.disappear,
            if c.disappear == 1 { "s" } else { "" },
            c.moved,
            c.unchanged
        )));
    }
    if c.disappear > 0 {
        out.push((Level::Warning, format!(
            "{} only in base: allot will no longer write {}, and {} whatever quantity Amazon has now (publish {} at 0 in the new policy first to stop {} selling).",
            plural(c.disappear, "offer is", "offers are"),
            if c.disappear == 1 { "it" } else { "them" },
            if c.disappear == 1 { "it keeps" } else { "they keep" },
            if c.disappear == 1 { "it" } else { "them" },
            if c.disappear == 1 { "it" } else { "them" },
        )));
    }
    if c.appear > 0 {
        out.push((
            Level::Note,
            format!(
                "{} only in new: allot will start writing {}.",
                plural(c.appear, "offer is", "offers are"),
                if c.appear == 1 { "it" } else { "them" },
            ),
        ));
    }
    if !diff.renamed.is_empty() {
        let examples: Vec<String> = diff
            .renamed
            .iter()
            .take(3)
            .map(|r: &Renamed| {
                format!(
                    "{}: {} → {}",
                    r.inventory_sku, r.base_seller_sku, r.new_seller_sku
                )
            })
            .collect();
        out.push((Level::Warning, format!(
            "{} a new seller SKU ({}{}): a seller SKU template or mapping changed. The old seller SKUs are no longer written and keep their quantity on Amazon; the new ones are written only where Amazon lists them.",
            plural(
                diff.renamed.len() as u64,
                "offer is published under",
                "offers are published under"
            ),
            examples.join(", "),
            if diff.renamed.len() > 3 { ", …" } else { "" }
        )));
    }
    if c.not_written > 0 {
        out.push((Level::Warning, format!(
            "{} only in new but not written by allot (held: Amazon fulfils {} or does not list {}; listed below).",
            plural(c.not_written, "offer is", "offers are"),
            if c.not_written == 1 { "it" } else { "them" },
            if c.not_written == 1 { "it" } else { "them" },
        )));
    }
    if c.to_zero > 0 {
        out.push((
            Level::Warning,
            format!(
                "{} to zero: unbuyable on Amazon while at 0.",
                plural(c.to_zero, "offer goes", "offers go")
            ),
        ));
    }
    if !labels.current_known {
        out.push((Level::Note, format!("Note: {CURRENT_UNKNOWN}.")));
    }
    out
}

/// One offer only new makes and allot does not write: `YOGA-1_US (US; not listed on Amazon;
/// rule "yoga pants")`.
fn not_written_line(n: &NotWritten) -> String {
    format!(
        "{} ({}; {}; rule \"{}\")",
        n.seller_sku,
        n.marketplaces.join(","),
        n.held.words(),
        n.rule
    )
}

/// Cells padded to their column's width (at most 44 characters; longer ones overflow).
fn aligned<W: Write>(w: &mut W, rows: &[Vec<String>]) -> io::Result<()> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count().min(44))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < r.len() {
                let pad = width[i].saturating_sub(cell.chars().count()) + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(w, "{}", line.trim_end())?;
    }
    Ok(())
}

/// The terminal table: the differing offers (one row per channel), the summary, the units per
/// marketplace.
pub fn table<W: Write>(w: &mut W, diff: &Diff, labels: &Labels) -> io::Result<()> {
    let mut lines: Vec<Vec<String>> = Vec::new();
    let noted = diff.offers.iter().any(|d| !note(d).is_empty());
    let head = [
        "SELLER SKU",
        "INVENTORY SKU",
        "MARKETPLACES",
        "CHANNEL",
        "BASE → NEW",
        "KIND",
        "RULE",
        "NOTE",
    ];
    let cols = if noted { 8 } else { 7 };
    if !diff.offers.is_empty() {
        lines.push(head[..cols].iter().map(|s| s.to_string()).collect());
        for d in &diff.offers {
            for r in rows(d, labels) {
                lines.push(r[..cols].to_vec());
            }
        }
        aligned(w, &lines)?;
        writeln!(w)?;
    }
    writeln!(w, "Summary ({} → {})", labels.base.path, labels.new.path)?;
    for (_, l) in summary_lines(diff, labels) {
        writeln!(w, "  {l}")?;
    }
    if !diff.not_written.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "Only in new, not written (no quantity is published for them):"
        )?;
        for n in diff.not_written.iter().take(LIST_LIMIT) {
            writeln!(w, "  {}", not_written_line(n))?;
        }
        if diff.not_written.len() > LIST_LIMIT {
            writeln!(w, "  ... and {} more", diff.not_written.len() - LIST_LIMIT)?;
        }
    }
    if !diff.totals.is_empty() {
        writeln!(w)?;
        writeln!(w, "Units published per marketplace:")?;
        let mut t = vec![vec![
            "  MARKETPLACE".to_string(),
            "BASE".to_string(),
            "NEW".to_string(),
            "DELTA".to_string(),
        ]];
        for m in &diff.totals {
            t.push(vec![
                format!("  {}", m.marketplace),
                m.base_units.to_string(),
                m.new_units.to_string(),
                delta(m.delta),
            ]);
        }
        aligned(w, &t)?;
    }
    Ok(())
}

/// One row of the Markdown table of differing offers.
fn markdown_row(r: &[String; 8]) -> String {
    format!(
        "| `{}` | `{}` | {} | {} | {} | {} | {} | {} |\n",
        md_escape(&r[0]),
        md_escape(&r[1]),
        md_escape(&r[2]),
        md_escape(&r[3]),
        r[4],
        r[5],
        md_escape(&r[6]),
        md_escape(&r[7])
    )
}

/// The Markdown pull-request comment: the summary and the units per marketplace first, then the
/// differing offers in a collapsible section, cut to stay under `max_chars` characters with a
/// note of how many rows were cut (as `allot plan --format markdown`).
pub fn markdown(diff: &Diff, labels: &Labels, max_chars: usize) -> String {
    let c: &Counts = &diff.counts;
    let mut out = String::new();
    out.push_str(&format!(
        "### allot diff: `{}` → `{}`\n\n",
        md_escape(&labels.base.path),
        md_escape(&labels.new.path)
    ));
    out.push_str("| up | down | to zero | appear | disappear | moved | unchanged |\n");
    out.push_str("|---:|---:|---:|---:|---:|---:|---:|\n");
    out.push_str(&format!(
        "| {} | {} | {} | {} | {} | {} | {} |\n\n",
        c.up, c.down, c.to_zero, c.appear, c.disappear, c.moved, c.unchanged
    ));
    let lines = summary_lines(diff, labels);
    for (level, l) in &lines {
        let l = md_escape(l);
        out.push_str(&match level {
            Level::Head => format!("**{l}**\n\n"),
            Level::Warning => format!("> [!WARNING]\n> {l}\n\n"),
            Level::Note => format!("> [!NOTE]\n> {}\n\n", l.trim_start_matches("Note: ")),
        });
    }
    if !diff.totals.is_empty() {
        out.push_str("| marketplace | base units | new units | delta |\n|---|---:|---:|---:|\n");
        for m in &diff.totals {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                md_escape(&m.marketplace),
                m.base_units,
                m.new_units,
                delta(m.delta)
            ));
        }
        out.push('\n');
    }
    // Warnings can be one per SKU: the first few make the point, the rest are counted.
    for warn in labels.warnings.iter().take(LIST_LIMIT) {
        out.push_str(&format!("> [!WARNING]\n> {}\n\n", md_escape(warn)));
    }
    if labels.warnings.len() > LIST_LIMIT {
        out.push_str(&format!(
            "> [!WARNING]\n> … and {} more warnings (`--format table` or `json` lists them all)\n\n",
            labels.warnings.len() - LIST_LIMIT
        ));
    }
    if !diff.not_written.is_empty() {
        let n = diff.not_written.len();
        out.push_str(&format!(
            "<details><summary>{} only in new, not written</summary>\n\n",
            plural(n as u64, "offer", "offers")
        ));
        for x in diff.not_written.iter().take(LIST_LIMIT) {
            out.push_str(&format!("- `{}`\n", md_escape(&not_written_line(x))));
        }
        if n > LIST_LIMIT {
            out.push_str(&format!("- … and {} more\n", n - LIST_LIMIT));
        }
        out.push_str("\n</details>\n\n");
    }
    if diff.offers.is_empty() {
        return out;
    }
    // Room kept for the closing tags and the note about what was cut.
    let budget = max_chars.saturating_sub(out.len() + 600);
    let total = total_rows(diff);
    let mut body = String::new();
    let mut shown = 0usize;
    'offers: for d in &diff.offers {
        for r in rows(d, labels) {
            let line = markdown_row(&r);
            if body.len() + line.len() > budget {
                break 'offers;
            }
            body.push_str(&line);
            shown += 1;
        }
    }
    let n = diff.offers.len();
    out.push_str(&format!(
        "<details><summary>{} differ{} ({})</summary>\n\n",
        plural(n as u64, "offer", "offers"),
        if n == 1 { "s" } else { "" },
        plural(total as u64, "channel row", "channel rows")
    ));
    out.push_str("| seller SKU | inventory SKU | marketplaces | channel | base → new | kind | rule | note |\n");
    out.push_str("|---|---|---|---|---:|---|---|---|\n");
    out.push_str(&body);
    if shown < total {
        out.push_str(&format!(
            "\n_{} of {} rows not shown (the comment is capped at {} characters); run `allot diff` for all._\n",
            total - shown,
            total,
            max_chars
        ));
    }
    out.push_str("\n</details>\n");
    out
}

// ---- JSON (format_version 1.0, schemas/diff.schema.json) ----

#[derive(Serialize)]
struct JsonDiff<'a> {
    format_version: &'static str,
    base: &'a SideLabel,
    new: &'a SideLabel,
    /// False when no current listings were given (offers compared as computed).
    current_known: bool,
    has_differences: bool,
    summary: JsonSummary<'a>,
    marketplaces: &'a [MarketplaceTotal],
    offers: Vec<JsonOffer<'a>>,
    not_written: &'a [NotWritten],
    warnings: &'a [String],
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    differing: u64,
    #[serde(flatten)]
    counts: &'a Counts,
    renamed: &'a [Renamed],
}

#[derive(Serialize)]
struct JsonSide<'a> {
    inventory_sku: &'a str,
    marketplaces: &'a [String],
    rule: &'a str,
    /// Whether allot writes the offer on this side (not held).
    written: bool,
    held: Option<Held>,
    units: u64,
}

#[derive(Serialize)]
struct JsonChannel<'a> {
    channel: &'a str,
    location: Option<&'a str>,
    base: Option<u64>,
    new: Option<u64>,
}

#[derive(Serialize)]
struct JsonOffer<'a> {
    seller_id: &'a str,
    region: &'a str,
    seller_sku: &'a str,
    kind: DiffKind,
    base: Option<JsonSide<'a>>,
    new: Option<JsonSide<'a>>,
    channels: Vec<JsonChannel<'a>>,
}

fn json_side(v: &SideView) -> JsonSide<'_> {
    JsonSide {
        inventory_sku: &v.inventory_sku,
        marketplaces: &v.marketplaces,
        rule: &v.rule,
        written: v.held.is_none(),
        held: v.held,
        units: v.total,
    }
}

/// The whole comparison as one JSON document.
pub fn json<W: Write>(w: &mut W, diff: &Diff, labels: &Labels) -> io::Result<()> {
    let doc = JsonDiff {
        format_version: FORMAT_VERSION,
        base: &labels.base,
        new: &labels.new,
        current_known: labels.current_known,
        has_differences: !diff.offers.is_empty(),
        summary: JsonSummary {
            differing: diff.counts.differing(),
            counts: &diff.counts,
            renamed: &diff.renamed,
        },
        marketplaces: &diff.totals,
        offers: diff
            .offers
            .iter()
            .map(|d| JsonOffer {
                seller_id: &d.key.seller_id,
                region: d.key.region.as_str(),
                seller_sku: &d.key.seller_sku,
                kind: d.kind,
                base: d.base.as_ref().map(json_side),
                new: d.new.as_ref().map(json_side),
                channels: d
                    .channels
                    .iter()
                    .map(|c| JsonChannel {
                        channel: &c.channel,
                        location: labels.locations.get(&c.channel).map(String::as_str),
                        base: c.base,
                        new: c.new,
                    })
                    .collect(),
            })
            .collect(),
        not_written: &diff.not_written,
        warnings: &labels.warnings,
    };
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(io::Error::other)?;
    writeln!(w)
}
