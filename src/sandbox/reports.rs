//! Reports API 2021-06-30 for the All Listings report (GET_MERCHANT_LISTINGS_ALL_DATA):
//! reports that move IN_QUEUE → IN_PROGRESS → DONE like feeds, and a tab-separated report
//! document built from the sandbox's listings at the moment the report is done (a snapshot).

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::feeds::{document_url, json_body};
use super::state::{Document, DocumentKind, ProcessingStatus, Report};
use super::{Call, Inner, Outcome, Shared, fmt_time, listings, now_rfc3339, run_op};
use crate::amazon::is_amazon_fulfilled;
use crate::amazon::limits::ApiOp;
use crate::amazon::reports::{
    ALL_LISTINGS_COLUMNS, ALL_LISTINGS_REPORT, REPORT_MAX_MARKETPLACES, REPORT_RETENTION_DAYS,
};
use crate::marketplaces::Region;
use crate::model::DEFAULT_CHANNEL;

/// The report document's Content-Type (Amazon serves the flat-file reports as such).
pub const REPORT_CONTENT_TYPE: &str = "text/tab-separated-values; charset=UTF-8";

/// The fields createReport's body may have (the model's CreateReportSpecification).
const SPEC_FIELDS: [&str; 5] = [
    "reportType",
    "marketplaceIds",
    "dataStartTime",
    "dataEndTime",
    "reportOptions",
];

fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// An optional date-time field of the body: ISO 8601 (RFC 3339), not in the future.
fn body_time(body: &serde_json::Map<String, Value>, name: &str) -> Result<Option<String>, Outcome> {
    match body.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => match parse_time(s) {
            Some(t) if t <= OffsetDateTime::now_utc() => Ok(Some(fmt_time(t))),
            Some(_) => Err(Outcome::invalid_input(&format!(
                "'{name}' must be prior to or equal to the current date and time."
            ))),
            None => Err(Outcome::invalid_input(&format!(
                "'{name}' must be an ISO 8601 date-time such as 2026-01-01T00:00:00Z, got '{s}'."
            ))),
        },
        Some(_) => Err(Outcome::invalid_input(&format!(
            "'{name}' must be a string."
        ))),
    }
}

fn report_json(r: &Report) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        // The sandbox's own note, not part of getReport's answer.
        o.remove("rowsLeftOut");
    }
    v
}

/// `POST /reports/2021-06-30/reports`.
pub async fn create_report(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let shared2 = shared.clone();
    run_op(
        &shared,
        ApiOp::CreateReport,
        req,
        None,
        move |inner: &mut Inner, call: &Call| {
            tri!(call.require_json());
            let body = tri!(json_body(call));
            if let Some(k) = body.keys().find(|k| !SPEC_FIELDS.contains(&k.as_str())) {
                return Outcome::invalid_input(&format!(
                    "Unknown field '{k}': a report specification has {}.",
                    SPEC_FIELDS.join(", ")
                ));
            }
            let report_type = match body.get("reportType") {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                _ => return Outcome::invalid_input("Missing required field 'reportType'."),
            };
            if report_type != ALL_LISTINGS_REPORT {
                return Outcome::invalid_input(&format!(
                    "Report type '{report_type}' is not served by the sandbox; it serves only {ALL_LISTINGS_REPORT}."
                ));
            }
            let ids: Vec<String> = match body.get("marketplaceIds") {
                Some(Value::Array(a)) if a.iter().all(Value::is_string) => a
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                _ => {
                    return Outcome::invalid_input(&format!(
                        "Missing required field 'marketplaceIds' (an array of 1 to {REPORT_MAX_MARKETPLACES} marketplace IDs)."
                    ));
                }
            };
            tri!(listings::resolve(&ids, Some(REPORT_MAX_MARKETPLACES)));
            match body.get("reportOptions") {
                None => {}
                Some(Value::Object(o)) if o.values().all(Value::is_string) => {}
                Some(_) => {
                    return Outcome::invalid_input(
                        "'reportOptions' must be an object of string values.",
                    );
                }
            }
            let start = tri!(body_time(&body, "dataStartTime"));
            let end = tri!(body_time(&body, "dataEndTime"));
            let now = now_rfc3339();
            let report_id = format!("{}", 50_000_000_000u64 + inner.state.next_id());
            inner.state.reports.insert(
                report_id.clone(),
                Report {
                    report_id: report_id.clone(),
                    report_type,
                    marketplace_ids: ids,
                    // The model: both default to now.
                    data_start_time: Some(start.unwrap_or_else(|| now.clone())),
                    data_end_time: Some(end.unwrap_or_else(|| now.clone())),
                    created_time: now,
                    processing_status: ProcessingStatus::InQueue,
                    processing_start_time: None,
                    processing_end_time: None,
                    report_document_id: None,
                    rows_left_out: 0,
                },
            );
            super::spawn_job(inner, &shared2, &REPORT_JOBS, report_id.clone(), true);
            Outcome::json(StatusCode::ACCEPTED, json!({ "reportId": report_id })).applied()
        },
    )
    .await
}

/// `GET /reports/2021-06-30/reports/{reportId}`.
pub async fn get_report(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    run_op(
        &shared,
        ApiOp::GetReport,
        req,
        None,
        |inner: &mut Inner, _call: &Call| match inner.state.reports.get(&id) {
            Some(r) => Outcome::json(StatusCode::OK, report_json(r)),
            None => Outcome::not_found("Report", &id),
        },
    )
    .await
}

/// `DELETE /reports/2021-06-30/reports/{reportId}`: only a report still IN_QUEUE can be
/// cancelled (the model); it stays visible to getReport and getReports as CANCELLED.
pub async fn cancel_report(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    run_op(
        &shared,
        ApiOp::CancelReport,
        req,
        None,
        |inner: &mut Inner, _call: &Call| match inner.state.reports.get_mut(&id) {
            Some(r) if r.processing_status == ProcessingStatus::InQueue => {
                r.processing_status = ProcessingStatus::Cancelled;
                r.processing_end_time = Some(now_rfc3339());
                // The model's 200 has no schema: an empty object, as cancelFeed answers.
                Outcome::json(StatusCode::OK, json!({})).applied()
            }
            Some(r) => Outcome::invalid_input(&format!(
                "Report '{id}' is {}; only a report IN_QUEUE can be cancelled.",
                status_name(r.processing_status)
            )),
            None => Outcome::not_found("Report", &id),
        },
    )
    .await
}

fn status_name(s: ProcessingStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A getReports query, as its `nextToken` carries it (created bounds in unix seconds, fixed at
/// the first call so that later pages see the same window).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct ReportsPage {
    offset: usize,
    page_size: usize,
    types: Vec<String>,
    mkts: Vec<String>,
    statuses: Vec<String>,
    since: i64,
    until: i64,
}

impl ReportsPage {
    fn encode(&self) -> String {
        super::encode_token("reports-", self)
    }

    fn decode(token: &str) -> Option<ReportsPage> {
        let q: ReportsPage = super::decode_token("reports-", token)?;
        ((1..=100).contains(&q.page_size) && !q.types.is_empty()).then_some(q)
    }

    fn from_query(call: &Call) -> Result<ReportsPage, Outcome> {
        let types = call.list("reportTypes");
        if types.is_empty() {
            return Err(Outcome::invalid_input(
                "'reportTypes' is required (unless 'nextToken' is given), e.g. reportTypes=GET_MERCHANT_LISTINGS_ALL_DATA.",
            ));
        }
        if types.len() > 10 {
            return Err(Outcome::invalid_input(&format!(
                "'reportTypes' accepts 1 to 10 values; got {}.",
                types.len()
            )));
        }
        let statuses = call.list("processingStatuses");
        const STATUSES: [&str; 5] = ["CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE"];
        if let Some(s) = statuses.iter().find(|s| !STATUSES.contains(&s.as_str())) {
            return Err(Outcome::invalid_input(&format!(
                "Invalid 'processingStatuses' value '{s}': one of {}.",
                STATUSES.join(", ")
            )));
        }
        let mkts = call.list("marketplaceIds");
        if mkts.len() > 10 {
            return Err(Outcome::invalid_input(&format!(
                "'marketplaceIds' accepts 1 to 10 values; got {}.",
                mkts.len()
            )));
        }
        if let Some(m) = mkts
            .iter()
            .find(|m| crate::marketplaces::by_id(m).is_none())
        {
            return Err(Outcome::invalid_input(&format!(
                "Invalid 'marketplaceIds' value '{m}': not a known Amazon marketplace ID."
            )));
        }
        let page_size = call.page_size(100)?;
        let now = OffsetDateTime::now_utc();
        let time_param = |name: &str, default: OffsetDateTime| {
            match call.param(name) {
            None => Ok(default.unix_timestamp()),
            Some(s) => parse_time(s).map(|t| t.unix_timestamp()).ok_or_else(|| {
                Outcome::invalid_input(&format!(
                    "'{name}' must be an ISO 8601 date-time such as 2026-01-01T00:00:00Z, got '{s}'."
                ))
            }),
        }
        };
        let since = time_param(
            "createdSince",
            now - time::Duration::days(REPORT_RETENTION_DAYS),
        )?;
        let until = time_param("createdUntil", now)?;
        if since > until {
            return Err(Outcome::invalid_input(
                "'createdSince' must not be later than 'createdUntil'.",
            ));
        }
        Ok(ReportsPage {
            offset: 0,
            page_size,
            types,
            mkts,
            statuses,
            since,
            until,
        })
    }

    fn matches(&self, r: &Report) -> bool {
        let created = parse_time(&r.created_time).map_or(0, |t| t.unix_timestamp());
        self.types.contains(&r.report_type)
            && (self.mkts.is_empty() || r.marketplace_ids.iter().any(|m| self.mkts.contains(m)))
            && (self.statuses.is_empty()
                || self.statuses.contains(&status_name(r.processing_status)))
            && (self.since..=self.until).contains(&created)
    }
}

/// `GET /reports/2021-06-30/reports`: the reports of the given types (newest first), filtered
/// by `processingStatuses`, `marketplaceIds` and the created window, paged with `pageSize` and
/// `nextToken`.
pub async fn get_reports(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    run_op(
        &shared,
        ApiOp::GetReports,
        req,
        None,
        |inner: &mut Inner, call: &Call| {
            let q = match tri!(call.next_token(ReportsPage::decode)) {
                Some(q) => q,
                None => tri!(ReportsPage::from_query(call)),
            };
            let reports: Vec<&Report> = inner
                .state
                .reports
                .values()
                .filter(|r| q.matches(r))
                .collect();
            let body = super::newest_first_page(
                "reports",
                reports,
                |r| &r.report_id,
                (q.offset, q.page_size),
                report_json,
                |offset| {
                    ReportsPage {
                        offset,
                        ..q.clone()
                    }
                    .encode()
                },
            );
            Outcome::json(StatusCode::OK, body)
        },
    )
    .await
}

/// `GET /reports/2021-06-30/documents/{reportDocumentId}`.
pub async fn get_report_document(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    run_op(
        &shared,
        ApiOp::GetReportDocument,
        req,
        None,
        |inner: &mut Inner, call: &Call| {
            let base = call.base(&shared);
            match inner.state.documents.get(&id) {
                Some(doc) if doc.kind == DocumentKind::Report => {
                    let mut body =
                        json!({ "reportDocumentId": id, "url": document_url(&base, &id) });
                    if doc.gzip {
                        body["compressionAlgorithm"] = json!("GZIP");
                    }
                    Outcome::json(StatusCode::OK, body)
                }
                _ => Outcome::not_found("Report document", &id),
            }
        },
    )
    .await
}

/// Reports: IN_QUEUE for `report_queue_time`, IN_PROGRESS for `report_processing_time`,
/// then made from the listings at that moment.
pub(crate) static REPORT_JOBS: super::JobKind<Report> = super::JobKind {
    jobs: |s| &mut s.reports,
    status: |r| r.processing_status,
    start: |r, now| {
        r.processing_status = ProcessingStatus::InProgress;
        r.processing_start_time = Some(now);
    },
    queue_time: |o| o.report_queue_time,
    processing_time: |o| o.report_processing_time,
    finish,
};

/// Restart processing of reports left unfinished by a previous run.
pub(crate) fn resume_pending(shared: &Arc<Shared>) {
    super::resume_jobs(shared, &REPORT_JOBS);
}

fn region_code(r: Region) -> &'static str {
    match r {
        Region::NA => "na",
        Region::EU => "eu",
        Region::FE => "fe",
    }
}

fn new_report_document_id(inner: &mut Inner, region: Region) -> String {
    let n = inner.state.next_id();
    format!(
        "amzn1.spdoc.1.4.{}.{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        region_code(region),
        fastrand::u32(..),
        fastrand::u16(..),
        0x4000 | fastrand::u16(..0x1000),
        n % 0x1_0000,
        n
    )
}

/// Finish a report now: write its document from the listings as they are and mark it DONE.
pub(crate) fn finish(inner: &mut Inner, report_id: &str, gzip: bool) {
    let Some(report) = inner.state.reports.get(report_id).cloned() else {
        return;
    };
    if report.processing_status.is_final() {
        return;
    }
    let region = report
        .marketplace_ids
        .first()
        .and_then(|m| crate::marketplaces::by_id(m))
        .map(|m| m.region);
    let now = now_rfc3339();
    let Some(region) = region else {
        // Cannot happen for a report createReport accepted; a hand-edited state file could.
        if let Some(r) = inner.state.reports.get_mut(report_id) {
            r.processing_status = ProcessingStatus::Fatal;
            r.processing_start_time.get_or_insert_with(|| now.clone());
            r.processing_end_time = Some(now);
        }
        return;
    };
    let (content, left_out) = all_listings(&inner.state, region, &report.marketplace_ids);
    let doc_id = new_report_document_id(inner, region);
    inner.state.documents.insert(
        doc_id.clone(),
        Document {
            id: doc_id.clone(),
            kind: DocumentKind::Report,
            content_type: REPORT_CONTENT_TYPE.into(),
            content: Some(content),
            gzip,
            created: now.clone(),
        },
    );
    if let Some(r) = inner.state.reports.get_mut(report_id) {
        r.processing_start_time.get_or_insert_with(|| now.clone());
        r.processing_status = ProcessingStatus::Done;
        r.processing_end_time = Some(now);
        r.report_document_id = Some(doc_id);
        r.rows_left_out = left_out;
    }
}

/// A cell never holds a tab or a line break: a title with one would shift or split the row.
fn cell(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `2026-12-02 08:19:06 UTC`: the shape of Amazon's `open-date` (it writes the seller's time
/// zone; the sandbox has none, so UTC).
fn open_date(created: &str) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    parse_time(created)
        .and_then(|t| t.to_offset(time::UtcOffset::UTC).format(&fmt).ok())
        .map(|s| format!("{s} UTC"))
        .unwrap_or_default()
}

/// The All Listings report of `region` for `marketplaces`: one row per listing of the region
/// listed in one of them, every seller's (the sandbox knows no seller identity), sorted by
/// seller SKU. Returns the bytes and how many listings were left out (a seller SKU with a tab
/// or a line break, which a row cannot hold; the sandbox's own checks refuse such SKUs, so
/// only a hand-edited state file can have one).
pub(crate) fn all_listings(
    state: &super::SandboxState,
    region: Region,
    marketplaces: &[String],
) -> (Vec<u8>, u64) {
    let col = |name: &str| ALL_LISTINGS_COLUMNS.iter().position(|c| *c == name);
    let (c_name, c_sku, c_qty, c_open, c_chan, c_status) = (
        col("item-name"),
        col("seller-sku"),
        col("quantity"),
        col("open-date"),
        col("fulfillment-channel"),
        col("status"),
    );
    let mut rows: Vec<(&str, &str, String)> = Vec::new();
    let mut left_out = 0u64;
    for (key, listing) in &state.amazon.listings {
        if key.region != region
            || !listing
                .marketplaces
                .iter()
                .any(|m| marketplaces.contains(m))
        {
            continue;
        }
        let seller_sku = key.seller_sku.as_str();
        if seller_sku.contains(['\t', '\r', '\n']) {
            left_out += 1;
            continue;
        }
        let item = state.items.get(key);
        let fba = listing
            .channels
            .keys()
            .find(|c| is_amazon_fulfilled(c))
            .map(String::as_str);
        let (qty, channel, active) = match fba {
            // Amazon counts an FBA offer's stock: no quantity in the report.
            Some(code) => (String::new(), code, true),
            None => match listing.channels.get(DEFAULT_CHANNEL) {
                Some(q) => (q.to_string(), DEFAULT_CHANNEL, *q > 0),
                // Location quantities only: how Amazon shows them here is not documented.
                None => (String::new(), DEFAULT_CHANNEL, false),
            },
        };
        let mut cells = vec![String::new(); ALL_LISTINGS_COLUMNS.len()];
        let mut set = |c: Option<usize>, v: String| {
            if let Some(slot) = c.and_then(|i| cells.get_mut(i)) {
                *slot = v;
            }
        };
        let name = item
            .and_then(|i| i.attributes.get("item_name"))
            .and_then(|v| v.get(0))
            .and_then(|v| v.get("value"))
            .and_then(Value::as_str)
            .map(cell)
            .unwrap_or_default();
        set(c_name, name);
        set(c_sku, seller_sku.to_string());
        set(c_qty, qty);
        set(
            c_open,
            item.map(|i| open_date(&i.created)).unwrap_or_default(),
        );
        set(c_chan, channel.to_string());
        set(
            c_status,
            if active { "Active" } else { "Inactive" }.to_string(),
        );
        rows.push((seller_sku, key.seller_id.as_str(), cells.join("\t")));
    }
    rows.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let mut out = ALL_LISTINGS_COLUMNS.join("\t");
    out.push('\n');
    for (_, _, line) in rows {
        out.push_str(&line);
        out.push('\n');
    }
    (out.into_bytes(), left_out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amazon::{Listing, ListingKey};

    fn listing(seller_sku: &str, mkts: &[&str], channels: &[(&str, u64)]) -> (ListingKey, Listing) {
        (
            ListingKey {
                seller_id: "A1".into(),
                region: Region::NA,
                seller_sku: seller_sku.into(),
            },
            Listing {
                marketplaces: mkts.iter().map(|m| m.to_string()).collect(),
                channels: channels.iter().map(|(c, q)| (c.to_string(), *q)).collect(),
            },
        )
    }

    #[test]
    fn all_listings_rows_follow_the_layout() {
        let mut s = super::super::SandboxState::new();
        for (k, l) in [
            listing("B", &["ATVPDKIKX0DER"], &[("DEFAULT", 4)]),
            listing("A", &["ATVPDKIKX0DER"], &[("AMAZON_NA", 9)]),
            listing("C", &["A2EUQ1WTGCTBG2"], &[("DEFAULT", 1)]),
            listing("D", &["ATVPDKIKX0DER"], &[("DEFAULT", 0)]),
            listing("E", &["ATVPDKIKX0DER"], &[("loc-1", 3)]),
            listing("F\tG", &["ATVPDKIKX0DER"], &[("DEFAULT", 1)]),
        ] {
            s.amazon.seed(k, l);
        }
        let (bytes, left_out) = all_listings(&s, Region::NA, &["ATVPDKIKX0DER".to_string()]);
        assert_eq!(left_out, 1);
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
        assert_eq!(lines[0], ALL_LISTINGS_COLUMNS.to_vec());
        assert!(lines.iter().all(|l| l.len() == 29));
        let pick = |l: &Vec<&str>| {
            (
                l[3].to_string(),
                l[5].to_string(),
                l[26].to_string(),
                l[28].to_string(),
            )
        };
        let got: Vec<_> = lines[1..].iter().map(pick).collect();
        let want = [
            ("A", "", "AMAZON_NA", "Active"),
            ("B", "4", "DEFAULT", "Active"),
            ("D", "0", "DEFAULT", "Inactive"),
            ("E", "", "DEFAULT", "Inactive"),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
            .collect();
        assert_eq!(got, want);
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn cells_and_dates() {
        assert_eq!(cell("a\tb\nc"), "a b c");
        assert_eq!(open_date("2026-12-02T08:19:06Z"), "2026-12-02 08:19:06 UTC");
        assert_eq!(open_date("nope"), "");
    }
}
