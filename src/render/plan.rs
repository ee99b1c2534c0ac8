//! Rendering of saved plans (`allot show`): the operations as a table (text or markdown), and the
//! raw requests or feed documents they encode to.

use serde_json::{Value, json};

use crate::model::ChannelQty;
use crate::plan::encode::{self, FeedDocument, HttpRequest};
use crate::plan::{Emit, Plan, PlanError, marketplace_code};
use crate::sim::amazon::PatchOp;

fn patch_op_name(op: PatchOp) -> &'static str {
    match op {
        PatchOp::Merge => "merge",
        PatchOp::Replace => "replace",
    }
}

fn emit_name(e: Emit) -> &'static str {
    match e {
        Emit::Patch => "patch",
        Emit::Feed => "feed",
    }
}

/// The header lines every text rendering starts with.
fn header_lines(plan: &Plan) -> Vec<String> {
    let s = &plan.summary;
    let current = plan.inputs.current.as_ref().map_or_else(
        || "none".to_string(),
        |c| format!("{} (sha256 {})", c.path, short(&c.sha256)),
    );
    vec![
        format!(
            "Plan for policy `{}`, seller {}, made {}",
            plan.policy, plan.seller_id, plan.created_at
        ),
        format!(
            "Format {}, emit {} ({}), issueLocale {}, digest {}",
            plan.format_version,
            emit_name(plan.emit),
            patch_op_name(plan.patch_op),
            plan.issue_locale,
            short(&plan.digest)
        ),
        format!(
            "Inputs: policy {} (sha256 {}), inventory {} (sha256 {}), current listings {}",
            plan.inputs.policy.path,
            short(&plan.inputs.policy.sha256),
            plan.inputs.inventory.path,
            short(&plan.inputs.inventory.sha256),
            current
        ),
        format!(
            "Summary: {} new, {} changed, {} zeroed, {} unchanged offers; {} SKUs skipped (no stock row); exposure {} units",
            s.offers_new,
            s.offers_changed,
            s.offers_zeroed,
            s.offers_unchanged,
            s.skus_skipped_missing,
            s.exposure
        ),
        match plan.operations.len() {
            1 => "1 operation".to_string(),
            n => format!("{n} operations"),
        },
    ]
}

fn short(hex: &str) -> String {
    hex.chars().take(12).collect()
}

const COLUMNS: [&str; 8] = [
    "#",
    "SELLER SKU",
    "REGION",
    "MARKETPLACES",
    "CHANNEL",
    "BEFORE",
    "AFTER",
    "RULE",
];

/// One row per channel; the operation's own cells only on its first row.
fn rows(plan: &Plan) -> Vec<[String; 8]> {
    let mut out = Vec::new();
    for op in &plan.operations {
        let codes: Vec<String> = op
            .marketplace_ids
            .iter()
            .map(|id| marketplace_code(id))
            .collect();
        // Channels written, then channels only the current listings have (untouched by merge,
        // dropped by replace).
        let mut channels: Vec<(String, Option<u64>, Option<u64>)> = op
            .channels
            .iter()
            .map(|c| {
                (
                    c.channel.clone(),
                    before(op.previous.as_deref(), &c.channel),
                    Some(c.quantity),
                )
            })
            .collect();
        for p in op.previous.iter().flatten() {
            if !op.channels.iter().any(|c| c.channel == p.channel) {
                let after = match plan.patch_op {
                    PatchOp::Merge => Some(p.quantity),
                    PatchOp::Replace => None,
                };
                channels.push((p.channel.clone(), Some(p.quantity), after));
            }
        }
        for (i, (channel, before, after)) in channels.into_iter().enumerate() {
            let first = i == 0;
            let cell = |s: String| if first { s } else { String::new() };
            out.push([
                cell(op.id.to_string()),
                cell(op.seller_sku.clone()),
                cell(op.region.to_string()),
                cell(codes.join(" ")),
                channel,
                before.map_or_else(|| "-".to_string(), |q| q.to_string()),
                after.map_or_else(|| "(removed)".to_string(), |q| q.to_string()),
                cell(op.rule.clone()),
            ]);
        }
    }
    out
}

fn before(previous: Option<&[ChannelQty]>, channel: &str) -> Option<u64> {
    previous?
        .iter()
        .find(|c| c.channel == channel)
        .map(|c| c.quantity)
}

/// The plan as a text table.
pub fn table(plan: &Plan) -> String {
    let mut out = header_lines(plan).join("\n");
    out.push_str("\n\n");
    let rows = rows(plan);
    if rows.is_empty() {
        out.push_str("Nothing to write.\n");
        return out;
    }
    let mut widths = COLUMNS.map(|c| c.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let numeric = [true, false, false, false, false, true, true, false];
    let line = |cells: [&str; 8]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(widths)
            .zip(numeric)
            .map(|((c, w), right)| {
                if right {
                    format!("{c:>w$}")
                } else {
                    format!("{c:<w$}")
                }
            })
            .collect();
        let mut l = parts.join("  ");
        l.truncate(l.trim_end().len());
        l.push('\n');
        l
    };
    out.push_str(&line(COLUMNS));
    for r in &rows {
        out.push_str(&line(r.each_ref().map(String::as_str)));
    }
    out
}

/// The plan as GitHub-flavoured markdown (for a pull request comment).
pub fn markdown(plan: &Plan) -> String {
    let mut out = String::from("### allot plan\n\n");
    for l in header_lines(plan) {
        out.push_str(&format!("- {}\n", md_escape(&l)));
    }
    out.push('\n');
    let rows = rows(plan);
    if rows.is_empty() {
        out.push_str("Nothing to write.\n");
        return out;
    }
    out.push_str(&format!("| {} |\n", COLUMNS.join(" | ")));
    out.push_str("|---:|---|---|---|---|---:|---:|---|\n");
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if c.is_empty() || i == 0 || i >= 5 {
                    md_escape(c)
                } else {
                    md_code(c)
                }
            })
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// `s` as an inline code span in a table cell (a backtick in it takes a double-backtick span).
fn md_code(s: &str) -> String {
    let s = s.replace('|', "\\|");
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '|' | '*' | '_' | '<' | '>' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The plan as JSON: exactly the saved plan.
pub fn json(plan: &Plan) -> String {
    // Plain data: always serializes.
    serde_json::to_string_pretty(plan).expect("a Plan always serializes")
}

/// What `--requests` shows: the PATCH requests (patch mode) or the feed documents (feed mode).
pub enum Requests {
    Patch(Vec<(u32, HttpRequest)>),
    Feed(Vec<FeedDocument>),
}

pub fn requests(plan: &Plan) -> Result<Requests, PlanError> {
    Ok(match plan.emit {
        Emit::Patch => Requests::Patch(
            plan.operations
                .iter()
                .map(|op| (op.id, encode::patch_request(plan, op, false)))
                .collect(),
        ),
        Emit::Feed => Requests::Feed(encode::feed_documents(plan)?),
    })
}

fn pretty(v: &Value) -> String {
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
        encode::FEED_TYPE,
        encode::FEED_CONTENT_TYPE,
        d.region,
        d.marketplace_ids.join(","),
        id_range(&d.operation_ids),
        feed_bytes(d)
    )
}

pub fn requests_text(r: &Requests) -> String {
    let mut out = String::new();
    match r {
        Requests::Patch(reqs) if reqs.is_empty() => out.push_str("Nothing to write.\n"),
        Requests::Patch(reqs) => {
            for (id, req) in reqs {
                out.push_str(&format!(
                    "# operation {id}\n{} {}\n",
                    req.method,
                    req.path_and_query()
                ));
                out.push_str("content-type: application/json\n\n");
                out.push_str(&pretty(&req.body));
                out.push_str("\n\n");
            }
        }
        Requests::Feed(docs) if docs.is_empty() => out.push_str("Nothing to write.\n"),
        Requests::Feed(docs) => {
            for (i, d) in docs.iter().enumerate() {
                out.push_str(&format!("# {}\n", feed_title(i, docs.len(), d)));
                out.push_str(&pretty(&d.body));
                out.push_str("\n\n");
            }
        }
    }
    out
}

pub fn requests_markdown(r: &Requests) -> String {
    let mut out = String::new();
    match r {
        Requests::Patch(reqs) if reqs.is_empty() => out.push_str("Nothing to write.\n"),
        Requests::Patch(reqs) => {
            for (id, req) in reqs {
                out.push_str(&format!(
                    "#### Operation {id}\n\n```http\n{} {}\ncontent-type: application/json\n\n{}\n```\n\n",
                    req.method,
                    req.path_and_query(),
                    pretty(&req.body)
                ));
            }
        }
        Requests::Feed(docs) if docs.is_empty() => out.push_str("Nothing to write.\n"),
        Requests::Feed(docs) => {
            for (i, d) in docs.iter().enumerate() {
                out.push_str(&format!(
                    "#### {}\n\n```json\n{}\n```\n\n",
                    md_escape(&feed_title(i, docs.len(), d)),
                    pretty(&d.body)
                ));
            }
        }
    }
    out
}

pub fn requests_json(r: &Requests) -> String {
    let v = match r {
        Requests::Patch(reqs) => Value::Array(
            reqs.iter()
                .map(|(id, req)| {
                    json!({
                        "operation_id": id,
                        "method": req.method,
                        "path": req.path_and_query(),
                        "body": req.body,
                    })
                })
                .collect(),
        ),
        Requests::Feed(docs) => Value::Array(
            docs.iter()
                .map(|d| {
                    json!({
                        "feed_type": encode::FEED_TYPE,
                        "region": d.region,
                        "marketplace_ids": d.marketplace_ids,
                        "operation_ids": d.operation_ids,
                        "bytes": feed_bytes(d),
                        "body": d.body,
                    })
                })
                .collect(),
        ),
    };
    pretty(&v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marketplaces::Region;
    use crate::model::{ChangeKind, Offer, OfferChange, Summary};
    use crate::plan::{BuildOptions, EmitChoice, InputFile, Inputs};

    fn ch(c: &str, q: u64) -> ChannelQty {
        ChannelQty {
            channel: c.into(),
            quantity: q,
        }
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
                marketplaces: vec!["US".into()],
                marketplace_ids: vec!["ATVPDKIKX0DER".into()],
                channels: vec![ch("DEFAULT", 0), ch("newark", 4)],
                inventory_sku: "I".into(),
                rule: "r|1".into(),
            },
            current: previous,
            kind: ChangeKind::Changed,
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
                policy: file.clone(),
                inventory: file,
                current: None,
            },
            created_at: "2026-11-23T09:30:00Z".into(),
        };
        crate::plan::build("p", "S", &[change], &Summary::default(), opts).unwrap()
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
        let row = |t: &str| {
            t.lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .find(|l| l.starts_with("reno"))
        };
        assert_eq!(row(&merge).as_deref(), Some("reno 2 2"), "{merge}");
        let replace = table(&plan_with("A", prev, PatchOp::Replace, EmitChoice::Patch));
        assert_eq!(
            row(&replace).as_deref(),
            Some("reno 2 (removed)"),
            "{replace}"
        );
    }

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        let md = markdown(&plan_with("A|B`C", None, PatchOp::Merge, EmitChoice::Patch));
        assert!(md.contains("| `` A\\|B`C `` |"), "{md}");
        assert!(md.contains("| r\\|1 |"), "{md}");
    }

    #[test]
    fn an_empty_plan_says_so() {
        let mut p = plan_with("A", None, PatchOp::Merge, EmitChoice::Patch);
        p.operations.clear();
        assert!(table(&p).ends_with("Nothing to write.\n"));
        assert!(markdown(&p).ends_with("Nothing to write.\n"));
        let r = requests(&p).unwrap();
        assert_eq!(requests_text(&r), "Nothing to write.\n");
        assert_eq!(requests_json(&r), "[]");
    }

    #[test]
    fn feed_requests_name_the_documents() {
        let p = plan_with("A", None, PatchOp::Merge, EmitChoice::Feed);
        let text = requests_text(&requests(&p).unwrap());
        assert!(
            text.starts_with("# Feed document 1/1: JSON_LISTINGS_FEED (contentType application/json; charset=UTF-8), region NA, createFeed marketplaceIds ATVPDKIKX0DER, operation 1, "),
            "{text}"
        );
    }
}
