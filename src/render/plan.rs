//! Rendering of saved plans (`allot show`): the operations as a table (text or markdown), and the
//! raw requests or feed documents they encode to.

use serde_json::{Value, json};

use crate::amazon::PatchOp;
use crate::amazon::feeds::{FEED_CONTENT_TYPE, FEED_TYPE, FeedDocument};
use crate::amazon::request::Request;
use crate::marketplaces::Marketplace;
use crate::model::{ChangeKind, OnFba, OnMissing, Policy};
use crate::plan::encode;
use crate::plan::{Emit, Plan, PlanError, offer_changes};
use crate::render::preview;

fn emit_name(e: Emit) -> &'static str {
    match e {
        Emit::Patch => "patch",
        Emit::Feed => "feed",
    }
}

/// What the plan is: policy, seller, when, how it is sent, its digest and inputs.
fn header_lines(plan: &Plan) -> Vec<String> {
    let current = plan.inputs.current.as_ref().map_or_else(
        || "none".to_string(),
        |c| format!("{} (sha256 {})", c.path, short(&c.sha256)),
    );
    let ops = match plan.operations.len() {
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
            short(&plan.digest)
        ),
        format!(
            "Inputs: polic{} {}, inventory {} (sha256 {}), current listings {}",
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
            plan.inputs.inventory.path,
            short(&plan.inputs.inventory.sha256),
            current
        ),
    ]
}

fn short(hex: &str) -> String {
    hex.chars().take(12).collect()
}

/// The preview's counts as the plan recorded them (the plan keeps totals, not the lists).
fn summary_lines(plan: &Plan) -> Vec<String> {
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
/// marketplaces (channel codes stay codes: the plan does not keep location names).
fn policy_stub(plan: &Plan) -> Policy {
    let mut marketplaces: Vec<Marketplace> = Vec::new();
    for op in &plan.operations {
        for id in &op.marketplace_ids {
            if !marketplaces.iter().any(|m| &m.id == id) {
                marketplaces.push(
                    crate::marketplaces::by_id(id).unwrap_or_else(|| Marketplace {
                        code: id.clone(),
                        id: id.clone(),
                        country: String::new(),
                        region: op.region,
                        builtin: false,
                    }),
                );
            }
        }
    }
    Policy {
        name: plan.policy.clone(),
        seller_id: plan.seller_id.clone(),
        marketplaces,
        locations: plan.locations.clone(),
        rules: Vec::new(),
        tests: Vec::new(),
        no_oversell: false,
        on_missing: OnMissing::default(),
        on_fba: OnFba::default(),
        seller_span: Default::default(),
        marketplaces_span: Default::default(),
    }
}

/// Channels the current listing has that an operation does not write: `merge` leaves them as
/// they are, `replace` removes them. (seller SKU, channel, quantity now)
fn unwritten(plan: &Plan) -> Vec<(&str, &str, u64)> {
    let mut out = Vec::new();
    for op in &plan.operations {
        for p in op.previous.iter().flatten() {
            if !op.channels.iter().any(|c| c.channel == p.channel) {
                out.push((op.seller_sku.as_str(), p.channel.as_str(), p.quantity));
            }
        }
    }
    out
}

/// Operations that write what the listing already shows (`--all`): the preview's change table
/// leaves them out, so they are named separately. (seller SKU, marketplace codes)
fn rewrites(plan: &Plan) -> Vec<(String, String)> {
    offer_changes(plan)
        .into_iter()
        .filter(|c| c.kind == ChangeKind::Unchanged)
        .map(|c| (c.offer.seller_sku, c.offer.marketplaces.join(",")))
        .collect()
}

/// How many rewritten SKUs are named before "and N more".
const REWRITE_LIMIT: usize = 20;

fn unwritten_title(plan: &Plan) -> &'static str {
    match plan.patch_op {
        PatchOp::Merge => "Channels not written (merge leaves them as they are):",
        PatchOp::Replace => "Channels the listing loses (replace removes them):",
    }
}

/// The plan as the preview shows it: the same change table, then the plan's summary.
pub fn table(plan: &Plan) -> String {
    let mut out = header_lines(plan).join("\n");
    out.push_str("\n\n");
    let mut buf = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = preview::changes_table(&mut buf, &policy_stub(plan), &offer_changes(plan));
    out.push_str(&String::from_utf8_lossy(&buf));
    let rewrites = rewrites(plan);
    if !rewrites.is_empty() {
        out.push_str(&format!(
            "\nAlso written, unchanged (the plan was made with --all): {} offer{}\n",
            rewrites.len(),
            if rewrites.len() == 1 { "" } else { "s" }
        ));
        for (sku, markets) in rewrites.iter().take(REWRITE_LIMIT) {
            out.push_str(&format!("  {sku} ({markets})\n"));
        }
        if rewrites.len() > REWRITE_LIMIT {
            out.push_str(&format!(
                "  ... and {} more\n",
                rewrites.len() - REWRITE_LIMIT
            ));
        }
    }
    let unwritten = unwritten(plan);
    if !unwritten.is_empty() {
        out.push_str(&format!("\n{}\n", unwritten_title(plan)));
        for (sku, channel, q) in unwritten {
            out.push_str(&format!("  {sku}: {channel} (now {q})\n"));
        }
    }
    out.push_str("\nSummary\n");
    for l in summary_lines(plan) {
        out.push_str(&format!("  {l}\n"));
    }
    out
}

/// The plan as a pull-request comment, as the preview's Markdown (cut at `max_chars`).
pub fn markdown(plan: &Plan, max_chars: usize) -> String {
    let s = &plan.summary;
    let mut out = format!(
        "### allot plan: `{}` (saved plan)\n\n",
        md_escape(&plan.policy)
    );
    for l in header_lines(plan) {
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
    let rewrites = rewrites(plan);
    let mut tail = String::new();
    if !rewrites.is_empty() {
        tail.push_str(&format!(
            "\nAlso written, unchanged (the plan was made with `--all`): {} offer{}\n\n",
            rewrites.len(),
            if rewrites.len() == 1 { "" } else { "s" }
        ));
        for (sku, markets) in rewrites.iter().take(REWRITE_LIMIT) {
            tail.push_str(&format!("- {} ({})\n", md_code(sku), md_escape(markets)));
        }
        if rewrites.len() > REWRITE_LIMIT {
            tail.push_str(&format!(
                "- … and {} more\n",
                rewrites.len() - REWRITE_LIMIT
            ));
        }
    }
    let unwritten = unwritten(plan);
    if !unwritten.is_empty() {
        tail.push_str(&format!("\n{}\n\n", md_escape(unwritten_title(plan))));
        for (sku, channel, q) in unwritten {
            tail.push_str(&format!(
                "- {}: {} (now {q})\n",
                md_code(sku),
                md_code(channel)
            ));
        }
    }
    // Room kept for the closing tags, the note about what was cut, and the tail.
    let budget = max_chars.saturating_sub(out.len() + tail.len() + 600);
    out.push_str(&preview::changes_markdown(
        &policy_stub(plan),
        &offer_changes(plan),
        budget,
        max_chars,
    ));
    out.push_str(&tail);
    out
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

/// The plan as JSON: exactly the saved plan.
pub fn json(plan: &Plan) -> String {
    // Plain data: always serializes.
    serde_json::to_string_pretty(plan).expect("a Plan always serializes")
}

/// What `--requests` shows: the PATCH requests (patch mode) or the feed documents (feed mode).
pub enum Requests {
    Patch(Vec<(u32, Request)>),
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
                        "feed_type": FEED_TYPE,
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
    use crate::model::{ChangeKind, ChannelQty, Offer, OfferChange, Summary};
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
