//! Reports API 2021-06-30 for `allot plan --current live` at scale: the merchant listings report
//! (GET_MERCHANT_LISTINGS_ALL_DATA, "All Listings"), one per marketplace, read with the
//! current-listings reader that reads a downloaded report (`listings`, format `amazon`).
//!
//! The flow per marketplace: look for a report of the same kind already requested (getReports:
//! one still being made, or a finished one younger than the reuse window), else createReport;
//! poll getReport with growing intervals until DONE, CANCELLED or FATAL; getReportDocument;
//! download (gunzip when Amazon says GZIP; decode the charset the download names). No journal:
//! a run stopped while Amazon makes the report finds that report again on the next run.

use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::SpApiError;
use super::client::{Client, Poll};
use crate::amazon::limits::ApiOp;
use crate::amazon::reports::{
    ALL_LISTINGS_REPORT, REPORT_DOCUMENTS_PATH, REPORTS_PATH, is_final_status,
};
use crate::amazon::request::encode_segment;
use crate::listings::{self, Listings};
use crate::marketplaces::Region;

/// A report still being made (IN_QUEUE, IN_PROGRESS) is waited for rather than requested
/// again if it was requested within this long: its data is taken when Amazon processes it.
pub const PENDING_REUSE: Duration = Duration::from_secs(3600);

/// Pages of getReports read at most when looking for a report to reuse (100 reports a page).
const MAX_REPORT_PAGES: usize = 5;

/// One report as getReport and getReports describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportInfo {
    pub report_id: String,
    pub report_type: String,
    pub marketplace_ids: Vec<String>,
    /// `createdTime` as Amazon wrote it.
    pub created_text: String,
    /// `createdTime`, if it parses as RFC 3339.
    pub created: Option<OffsetDateTime>,
    /// IN_QUEUE, IN_PROGRESS, DONE, CANCELLED or FATAL.
    pub processing_status: String,
    pub document_id: Option<String>,
}

impl ReportInfo {
    pub fn is_final(&self) -> bool {
        is_final_status(&self.processing_status)
    }
}

/// How to get a marketplace's report.
#[derive(Clone, Copy, Debug)]
pub struct ReportOptions {
    /// A finished report requested within this long is reused instead of requesting another
    /// (`--report-reuse`; zero: never).
    pub reuse_done: Duration,
    /// How long to wait for Amazon to make the report (`--report-timeout`).
    pub timeout: Duration,
}

/// What was read for one marketplace, for the preview to say where its current listings come
/// from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRead {
    pub marketplace_id: String,
    /// The marketplace code (Amazon's: `UK`, not `GB`).
    pub code: String,
    pub report_id: String,
    /// The report's `createdTime`: its data is at most as fresh as this.
    pub created: String,
    /// Found with getReports (requested earlier) rather than requested by this run.
    pub reused: bool,
    /// Amazon cancelled it (CANCELLED: no data, i.e. nothing listed there).
    pub no_data: bool,
}

/// createReport's body for the All Listings report of one marketplace (public for the tests
/// that check it against Amazon's model).
pub fn create_body(marketplace_id: &str) -> Value {
    json!({
        "reportType": ALL_LISTINGS_REPORT,
        "marketplaceIds": [marketplace_id],
    })
}

fn decode_err(op: ApiOp, reason: impl Into<String>) -> SpApiError {
    SpApiError::Decode {
        op: op.name(),
        reason: reason.into(),
    }
}

/// A Report object of getReport or getReports.
pub fn parse_report(v: &Value, op: ApiOp) -> Result<ReportInfo, SpApiError> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let need = |k: &str| {
        s(k).filter(|x| !x.is_empty())
            .ok_or_else(|| decode_err(op, format!("a report has no `{k}`")))
    };
    let created_text = need("createdTime")?;
    Ok(ReportInfo {
        report_id: need("reportId")?,
        report_type: need("reportType")?,
        marketplace_ids: super::marketplace_ids(v),
        created: OffsetDateTime::parse(&created_text, &Rfc3339).ok(),
        created_text,
        processing_status: need("processingStatus")?,
        document_id: s("reportDocumentId").filter(|d| !d.is_empty()),
    })
}

/// createReport for one marketplace's All Listings report. Never re-sent after a lost answer
/// or a 5xx ([`SpApiError::AnswerLost`]): the caller looks for the report with
/// [`list_reports`] first, so a lost answer does not become two reports.
pub async fn create_report(
    client: &Client,
    region: Region,
    marketplace_id: &str,
) -> Result<String, SpApiError> {
    let op = ApiOp::CreateReport;
    let body = create_body(marketplace_id);
    let v = client
        .call_not_twice(op, region, "POST", REPORTS_PATH, &[], Some(&body))
        .await?;
    v.get("reportId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| decode_err(op, "the response has no `reportId`"))
}

/// getReport.
pub async fn get_report(
    client: &Client,
    region: Region,
    report_id: &str,
) -> Result<ReportInfo, SpApiError> {
    let op = ApiOp::GetReport;
    let path = format!("{REPORTS_PATH}/{}", encode_segment(report_id));
    let v = client.call(op, region, "GET", &path, &[], None).await?;
    parse_report(&v, op)
}

/// getReports' query for All Listings reports of one marketplace created since `since`, in
/// the given statuses (public for the model tests).
pub fn list_query(marketplace_id: &str, since: OffsetDateTime) -> Vec<(String, String)> {
    let mut q = vec![
        ("reportTypes".to_string(), ALL_LISTINGS_REPORT.to_string()),
        (
            "processingStatuses".to_string(),
            "IN_QUEUE,IN_PROGRESS,DONE".to_string(),
        ),
        ("marketplaceIds".to_string(), marketplace_id.to_string()),
        ("pageSize".to_string(), "100".to_string()),
    ];
    if let Ok(t) = since
        .replace_nanosecond(0)
        .unwrap_or(since)
        .format(&Rfc3339)
    {
        q.push(("createdSince".to_string(), t));
    }
    q
}

/// getReports: the All Listings reports of exactly this one marketplace created since `since`
/// that are not failed, newest first. Errs when more pages remain than it reads.
pub async fn list_reports(
    client: &Client,
    region: Region,
    marketplace_id: &str,
    since: OffsetDateTime,
) -> Result<Vec<ReportInfo>, SpApiError> {
    let op = ApiOp::GetReports;
    let mut query = list_query(marketplace_id, since);
    let mut out = Vec::new();
    for _ in 0..MAX_REPORT_PAGES {
        let v = client
            .call(op, region, "GET", REPORTS_PATH, &query, None)
            .await?;
        let reports = v
            .get("reports")
            .and_then(Value::as_array)
            .ok_or_else(|| decode_err(op, "the response has no `reports` list"))?;
        for r in reports {
            let r = parse_report(r, op)?;
            // The filter matches reports naming at least one of the marketplaces: only a
            // report of exactly this one says where each row is listed.
            if r.report_type == ALL_LISTINGS_REPORT && r.marketplace_ids == [marketplace_id] {
                out.push(r);
            }
        }
        match v.get("nextToken").and_then(Value::as_str) {
            // Amazon: with nextToken, the token is the only parameter.
            Some(t) if !t.is_empty() => query = vec![("nextToken".to_string(), t.to_string())],
            _ => {
                out.sort_by_key(|r| std::cmp::Reverse(r.created));
                return Ok(out);
            }
        }
    }
    Err(SpApiError::Feed(format!(
        "getReports lists more than {} All Listings reports for {marketplace_id} in the last hour; \
         give --report-reuse 0 or try again later",
        MAX_REPORT_PAGES * 100
    )))
}

/// The report to reuse among `found` (newest first): the newest one still being made, or
/// finished within `reuse_done` of `now`.
pub fn reusable(
    found: &[ReportInfo],
    now: OffsetDateTime,
    reuse_done: Duration,
) -> Option<&ReportInfo> {
    let pending = time::Duration::try_from(PENDING_REUSE).unwrap_or(time::Duration::HOUR);
    let done = time::Duration::try_from(reuse_done).unwrap_or(time::Duration::ZERO);
    found.iter().find(|r| {
        let Some(created) = r.created else {
            return false;
        };
        let age = now - created;
        match r.processing_status.as_str() {
            "IN_QUEUE" | "IN_PROGRESS" => age <= pending,
            "DONE" => !done.is_zero() && age <= done,
            _ => false,
        }
    })
}

/// A report of this marketplace to read: one requested earlier and still usable, else a new
/// one. Returns its ID and whether it was reused.
pub async fn find_or_create(
    client: &Client,
    region: Region,
    marketplace_id: &str,
    reuse_done: Duration,
) -> Result<(String, bool), SpApiError> {
    let started = OffsetDateTime::now_utc();
    let window =
        time::Duration::try_from(PENDING_REUSE.max(reuse_done)).unwrap_or(time::Duration::HOUR);
    let found = list_reports(client, region, marketplace_id, started - window).await?;
    if let Some(r) = reusable(&found, started, reuse_done) {
        return Ok((r.report_id.clone(), true));
    }
    let mut lost = None;
    for _ in 0..2 {
        match create_report(client, region, marketplace_id).await {
            Ok(id) => return Ok((id, false)),
            Err(SpApiError::AnswerLost { reason, .. }) => {
                // Amazon may have made it: look before asking again (clocks differ: a margin).
                let since = started - time::Duration::minutes(2);
                let again = list_reports(client, region, marketplace_id, since).await?;
                // Only reports being made or done are listed: any made since is this run's.
                if let Some(r) = again.iter().find(|r| r.created.is_some_and(|c| c >= since)) {
                    // This run's request, whose answer was lost: not one requested earlier.
                    return Ok((r.report_id.clone(), false));
                }
                lost = Some(reason);
            }
            Err(e) => return Err(e),
        }
    }
    Err(SpApiError::AnswerLost {
        op: ApiOp::CreateReport.name(),
        reason: lost.unwrap_or_default(),
    })
}

/// Poll getReport with growing intervals until a final status or `timeout`.
pub async fn wait_for_report(
    client: &Client,
    region: Region,
    report_id: &str,
    timeout: Duration,
    mut on_status: impl FnMut(&str),
) -> Result<ReportInfo, SpApiError> {
    let mut poll = Poll::new(client, 30.0, timeout);
    let mut last = String::new();
    loop {
        let r = get_report(client, region, report_id).await?;
        if r.processing_status != last {
            on_status(&r.processing_status);
            last.clone_from(&r.processing_status);
        }
        if r.is_final() {
            return Ok(r);
        }
        if let Err(elapsed) = poll.wait().await {
            return Err(SpApiError::Feed(format!(
                "report {report_id} is still {} after {:.1}s (--report-timeout); Amazon can \
                 take long under load: run the same command again within the hour and it waits \
                 for this report instead of requesting another",
                r.processing_status,
                elapsed.as_secs_f64()
            )));
        }
    }
}

/// getReportDocument + download (+ gunzip): the report's bytes and the download's
/// Content-Type.
pub async fn download_document(
    client: &Client,
    region: Region,
    document_id: &str,
) -> Result<(Vec<u8>, Option<String>), SpApiError> {
    let op = ApiOp::GetReportDocument;
    let path = format!("{REPORT_DOCUMENTS_PATH}/{}", encode_segment(document_id));
    let v = client.call(op, region, "GET", &path, &[], None).await?;
    let url = v
        .get("url")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| decode_err(op, "the response has no `url`"))?;
    let gzip = match v.get("compressionAlgorithm").and_then(Value::as_str) {
        None => false,
        Some(c) if c.eq_ignore_ascii_case("GZIP") => true,
        Some(c) => {
            return Err(decode_err(
                op,
                format!(
                    "the report is compressed with `{}`, which allot cannot read",
                    crate::diag::clip(c)
                ),
            ));
        }
    };
    let (bytes, content_type) = client
        .download_typed(url, "report document download")
        .await?;
    // The HTTP layer already inflates a `Content-Encoding: gzip` answer; only gunzip what
    // still carries the gzip magic.
    let bytes = if gzip && bytes.starts_with(&[0x1f, 0x8b]) {
        gunzip(&bytes)?
    } else {
        bytes
    };
    Ok((bytes, content_type))
}

fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, SpApiError> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| {
            decode_err(
                ApiOp::GetReportDocument,
                format!("the report is marked GZIP but does not decompress: {e}"),
            )
        })?;
    Ok(out)
}

/// The report's text: UTF-8 as is; another charset named by the Content-Type (Amazon serves
/// some marketplaces' reports in e.g. `Cp1252`, Japan's in Shift_JIS) decoded. Bytes that are
/// not UTF-8 and no charset named are refused, never guessed.
pub fn decode_text(bytes: Vec<u8>, content_type: Option<&str>) -> Result<Vec<u8>, SpApiError> {
    let op = ApiOp::GetReportDocument;
    let charset = content_type.and_then(|ct| {
        ct.split(';')
            .skip(1)
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
            .map(|(_, v)| v.trim().trim_matches('"').to_string())
    });
    let label = match charset.as_deref() {
        None => None,
        Some(c) if c.eq_ignore_ascii_case("utf-8") || c.eq_ignore_ascii_case("utf8") => None,
        // Java's names (`Cp1252`) for what the web calls windows-1252.
        Some(c) if c.len() > 2 && c[..2].eq_ignore_ascii_case("cp") => {
            Some(format!("windows-{}", &c[2..]))
        }
        Some(c) => Some(c.to_string()),
    };
    let Some(label) = label else {
        if std::str::from_utf8(&bytes).is_err() {
            return Err(decode_err(
                op,
                "the report is not UTF-8 and its download names no charset",
            ));
        }
        return Ok(bytes);
    };
    let enc = encoding_rs::Encoding::for_label(label.as_bytes()).ok_or_else(|| {
        decode_err(
            op,
            format!(
                "the report's charset `{}` is not one allot can read",
                crate::diag::clip(&label)
            ),
        )
    })?;
    let (text, _, had_errors) = enc.decode(&bytes);
    if had_errors {
        return Err(decode_err(
            op,
            format!("the report is not valid {}", enc.name()),
        ));
    }
    Ok(text.into_owned().into_bytes())
}

/// The current listings of one marketplace from its All Listings report: found or requested,
/// waited for, downloaded and read. `code` is the marketplace's code as listings data spell it
/// (`UK`); every row is recorded as listed there. `on_status` hears the report's statuses.
pub async fn read_listings(
    client: &Client,
    region: Region,
    (marketplace_id, code): (&str, &str),
    opts: ReportOptions,
    mut on_status: impl FnMut(&str, &str),
) -> Result<(Listings, ReportRead), SpApiError> {
    let (report_id, reused) =
        find_or_create(client, region, marketplace_id, opts.reuse_done).await?;
    on_status(&report_id, if reused { "reused" } else { "requested" });
    let r = wait_for_report(client, region, &report_id, opts.timeout, |s| {
        on_status(&report_id, s)
    })
    .await?;
    let read = |no_data| ReportRead {
        marketplace_id: marketplace_id.to_string(),
        code: code.to_string(),
        report_id: report_id.clone(),
        created: r.created_text.clone(),
        reused,
        no_data,
    };
    match r.processing_status.as_str() {
        "DONE" => {}
        // The model: a report is cancelled automatically when there is no data to return.
        "CANCELLED" => return Ok((Listings::default(), read(true))),
        other => {
            return Err(SpApiError::Feed(format!(
                "Amazon could not make the All Listings report {report_id} for {code} ({other}); \
                 run again later, or read the listings one by one with --live-read items"
            )));
        }
    }
    let doc = r.document_id.as_deref().ok_or_else(|| {
        decode_err(
            ApiOp::GetReport,
            format!("report {report_id} is DONE but has no reportDocumentId"),
        )
    })?;
    let (bytes, content_type) = download_document(client, region, doc).await?;
    let text = decode_text(bytes, content_type.as_deref())?;
    let name = format!("All Listings report {report_id} ({code})");
    let listings = listings::read_from(&name, &text[..], listings::Format::Amazon, Some(code))
        .map_err(|e| SpApiError::Decode {
            op: ApiOp::GetReportDocument.name(),
            reason: client.redact(&e.to_string()),
        })?;
    Ok((listings, read(false)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(id: &str, status: &str, created: &str) -> ReportInfo {
        parse_report(
            &json!({"reportId": id, "reportType": ALL_LISTINGS_REPORT, "createdTime": created,
                    "processingStatus": status, "marketplaceIds": ["ATVPDKIKX0DER"]}),
            ApiOp::GetReport,
        )
        .unwrap()
    }

    #[test]
    fn reuses_a_pending_report_and_a_fresh_finished_one_only() {
        let now = OffsetDateTime::parse("2026-12-02T10:00:00Z", &Rfc3339).unwrap();
        let five = Duration::from_secs(300);
        let done_old = report("1", "DONE", "2026-12-02T09:50:00Z");
        let done_new = report("2", "DONE", "2026-12-02T09:57:00Z");
        let pending = report("3", "IN_PROGRESS", "2026-12-02T09:20:00Z");
        let stale = report("4", "IN_QUEUE", "2026-12-02T08:30:00Z");
        assert_eq!(
            reusable(std::slice::from_ref(&done_new), now, five)
                .unwrap()
                .report_id,
            "2"
        );
        assert!(reusable(std::slice::from_ref(&done_old), now, five).is_none());
        assert!(reusable(&[done_new], now, Duration::ZERO).is_none());
        assert_eq!(
            reusable(&[done_old, pending], now, five).unwrap().report_id,
            "3"
        );
        assert!(reusable(&[stale], now, five).is_none());
        let no_time = report("5", "DONE", "yesterday");
        assert!(reusable(&[no_time], now, five).is_none());
    }

    #[test]
    fn a_report_without_its_fields_is_refused() {
        let e = parse_report(&json!({"reportId": "1"}), ApiOp::GetReport).unwrap_err();
        assert!(e.to_string().contains("createdTime"), "{e}");
    }

    #[test]
    fn decodes_the_charset_the_download_names_and_refuses_a_guess() {
        let latin = b"seller-sku\tquantity\nCAF\xc9\t1\n".to_vec();
        let t = decode_text(latin.clone(), Some("text/plain;charset=Cp1252")).unwrap();
        assert_eq!(
            String::from_utf8(t).unwrap(),
            "seller-sku\tquantity\nCAFÉ\t1\n"
        );
        let e = decode_text(latin.clone(), None).unwrap_err();
        assert!(e.to_string().contains("names no charset"), "{e}");
        let e = decode_text(latin, Some("text/plain; charset=klingon")).unwrap_err();
        assert!(e.to_string().contains("klingon"), "{e}");
        let utf8 = "seller-sku\tquantity\nÉ\t1\n".as_bytes().to_vec();
        assert_eq!(
            decode_text(
                utf8.clone(),
                Some("text/tab-separated-values; charset=UTF-8")
            )
            .unwrap(),
            utf8
        );
        let sjis = decode_text(vec![0x83, 0x65], Some("text/plain; charset=windows-31j")).unwrap();
        assert_eq!(String::from_utf8(sjis).unwrap(), "テ");
    }
}
